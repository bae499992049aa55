/* norm.c: reference batch norm, instance norm and L2 normalisation (statistics in double). */
#include <math.h>

#include "ref.h"

mim_status mim__ref_batchnorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                      float momentum, int training, float *y, const float *x,
                                      const float *gamma, const float *beta, float *run_mean,
                                      float *run_var, float *save_mean, float *save_invstd)
{
    (void)be;
    double cnt = (double)n * hw;
    for (int k = 0; k < c; k++) {
        double mean, var;
        if (training) {
            double s = 0.0, s2 = 0.0;
            for (int b = 0; b < n; b++) {
                const float *xp = x + ((size_t)b * c + k) * hw;
                for (int p = 0; p < hw; p++)
                    s += xp[p];
            }
            mean = s / cnt;
            for (int b = 0; b < n; b++) {
                const float *xp = x + ((size_t)b * c + k) * hw;
                for (int p = 0; p < hw; p++)
                    s2 += (xp[p] - mean) * (xp[p] - mean);
            }
            var = s2 / cnt;
            double unbiased = cnt > 1 ? s2 / (cnt - 1) : var;
            run_mean[k] = (float)((1.0 - momentum) * run_mean[k] + momentum * mean);
            run_var[k] = (float)((1.0 - momentum) * run_var[k] + momentum * unbiased);
        } else {
            mean = run_mean[k];
            var = run_var[k];
        }
        double inv = 1.0 / sqrt(var + eps);
        save_mean[k] = (float)mean;
        save_invstd[k] = (float)inv;
        double g = gamma ? gamma[k] : 1.0, bt = beta ? beta[k] : 0.0;
        for (int b = 0; b < n; b++) {
            const float *xp = x + ((size_t)b * c + k) * hw;
            float *yp = y + ((size_t)b * c + k) * hw;
            for (int p = 0; p < hw; p++)
                yp[p] = (float)((xp[p] - mean) * inv * g + bt);
        }
    }
    return MIM_OK;
}

mim_status mim__ref_batchnorm_backward(mim_backend *be, int n, int c, int hw, int training,
                                       float *dx, float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *gamma, const float *save_mean,
                                       const float *save_invstd)
{
    (void)be;
    double cnt = (double)n * hw;
    for (int k = 0; k < c; k++) {
        double mean = save_mean[k], inv = save_invstd[k], g = gamma ? gamma[k] : 1.0;
        double sdy = 0.0, sdyx = 0.0; /* Σ dy, Σ dy·xhat */
        for (int b = 0; b < n; b++) {
            const float *xp = x + ((size_t)b * c + k) * hw, *dp = dy + ((size_t)b * c + k) * hw;
            for (int p = 0; p < hw; p++) {
                sdy += dp[p];
                sdyx += dp[p] * (xp[p] - mean) * inv;
            }
        }
        if (dgamma)
            dgamma[k] += (float)sdyx;
        if (dbeta)
            dbeta[k] += (float)sdy;
        if (!dx)
            continue;
        for (int b = 0; b < n; b++) {
            const float *xp = x + ((size_t)b * c + k) * hw, *dp = dy + ((size_t)b * c + k) * hw;
            float *dxp = dx + ((size_t)b * c + k) * hw;
            for (int p = 0; p < hw; p++) {
                double v = dp[p];
                if (training) {
                    double xh = (xp[p] - mean) * inv;
                    v = v - sdy / cnt - xh * sdyx / cnt;
                }
                dxp[p] += (float)(g * inv * v);
            }
        }
    }
    return MIM_OK;
}

mim_status mim__ref_instancenorm_forward(mim_backend *be, int n, int c, int hw, float eps, float *y,
                                         const float *x, float *save_mean, float *save_invstd)
{
    (void)be;
    for (int i = 0; i < n * c; i++) {
        const float *xp = x + (size_t)i * hw;
        float *yp = y + (size_t)i * hw;
        double s = 0.0, s2 = 0.0;
        for (int p = 0; p < hw; p++)
            s += xp[p];
        double mean = s / hw;
        for (int p = 0; p < hw; p++)
            s2 += (xp[p] - mean) * (xp[p] - mean);
        double inv = 1.0 / sqrt(s2 / hw + eps);
        save_mean[i] = (float)mean;
        save_invstd[i] = (float)inv;
        for (int p = 0; p < hw; p++)
            yp[p] = (float)((xp[p] - mean) * inv);
    }
    return MIM_OK;
}

mim_status mim__ref_instancenorm_backward(mim_backend *be, int n, int c, int hw, float *dx,
                                          const float *dy, const float *x, const float *save_mean,
                                          const float *save_invstd)
{
    (void)be;
    for (int i = 0; i < n * c; i++) {
        const float *xp = x + (size_t)i * hw, *dp = dy + (size_t)i * hw;
        float *dxp = dx + (size_t)i * hw;
        double mean = save_mean[i], inv = save_invstd[i], sdy = 0.0, sdyx = 0.0;
        for (int p = 0; p < hw; p++) {
            sdy += dp[p];
            sdyx += dp[p] * (xp[p] - mean) * inv;
        }
        for (int p = 0; p < hw; p++) {
            double xh = (xp[p] - mean) * inv;
            dxp[p] += (float)(inv * (dp[p] - sdy / hw - xh * sdyx / hw));
        }
    }
    return MIM_OK;
}

mim_status mim__ref_l2norm_forward(mim_backend *be, int n, int c, int64_t hw, float eps, float *y,
                                   const float *x, float *norm)
{
    (void)be;
    for (int b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            const float *xp = x + (size_t)b * c * hw + p;
            float *yp = y + (size_t)b * c * hw + p;
            double s = 0.0;
            for (int k = 0; k < c; k++)
                s += (double)xp[k * hw] * xp[k * hw];
            double r = sqrt(s);
            if (r < eps)
                r = eps;
            norm[b * hw + p] = (float)r;
            for (int k = 0; k < c; k++)
                yp[k * hw] = (float)(xp[k * hw] / r);
        }
    return MIM_OK;
}

mim_status mim__ref_l2norm_backward(mim_backend *be, int n, int c, int64_t hw, float eps, float *dx,
                                    const float *dy, const float *y, const float *norm)
{
    (void)be;
    for (int b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            size_t o = (size_t)b * c * hw + p;
            double r = norm[b * hw + p];
            if (r > eps) {
                double dot = 0.0;
                for (int k = 0; k < c; k++)
                    dot += (double)y[o + k * hw] * dy[o + k * hw];
                for (int k = 0; k < c; k++)
                    dx[o + k * hw] += (float)((dy[o + k * hw] - y[o + k * hw] * dot) / r);
            } else {
                for (int k = 0; k < c; k++)
                    dx[o + k * hw] += (float)(dy[o + k * hw] / eps);
            }
        }
    return MIM_OK;
}
