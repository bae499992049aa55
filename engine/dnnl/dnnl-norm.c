/* dnnl-norm.c: batch and instance normalisation, forward and backward, on plain NCHW data.
 * Instance normalisation is the batch computation on the tensor seen as (1, B*C, H, W).
 *
 * These are OpenMP loops, not oneDNN primitives: oneDNN 2.6's only plain-layout implementation
 * (ncsp_bnorm) measured 283 ms for one training forward over (16,32,176,176) on the 2-core test
 * machine, against 6 ms here (bench/README.md, "## ops"). Statistics are accumulated in double,
 * around a per-channel shift (the channel's first value) so that one pass gives the variance
 * without cancellation. */
#include <math.h>
#include <stddef.h>

#include "dnnl-core-private.h"

/* Statistics of channel c of x viewed as (n_batch, n_ch, hw): mean and biased variance. */
static void channel_stats(int n_batch, int n_ch, long hw, int c, const float *x, double *mean,
                          double *var)
{
    const long stride = (long)n_ch * hw;
    const double shift = x[(long)c * hw], count = (double)n_batch * (double)hw;
    double s = 0, s2 = 0;
    for (int b = 0; b < n_batch; b++) {
        const float *xc = x + b * stride + (long)c * hw;
#pragma omp simd reduction(+ : s, s2)
        for (long i = 0; i < hw; i++) {
            double v = (double)xc[i] - shift;
            s += v;
            s2 += v * v;
        }
    }
    double m = s / count, v = s2 / count - m * m;
    *mean = m + shift;
    *var = v > 0 ? v : 0;
}

/* y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c] over (n_batch, n_ch, hw). */
static void normalize(int n_batch, int n_ch, long hw, float *y, const float *x, const float *mean,
                      const float *invstd, const float *gamma, const float *beta)
{
    const long stride = (long)n_ch * hw;
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n_batch; b++) {
        for (int c = 0; c < n_ch; c++) {
            float g, o;
            mim__dnnl_norm_coef(c, mean, invstd, gamma, beta, &g, &o);
            const float *xc = x + b * stride + (long)c * hw;
            float *yc = y + b * stride + (long)c * hw;
#pragma omp simd
            for (long i = 0; i < hw; i++)
                yc[i] = mim__dnnl_norm_value(xc[i], g, o);
        }
    }
}

/* Accumulating backward over (n_batch, n_ch, hw); batch_stats: through mean and variance. */
static void norm_backward(int n_batch, int n_ch, long hw, int batch_stats, float *dx, float *dgamma,
                          float *dbeta, const float *dy, const float *x, const float *gamma,
                          const float *mean, const float *invstd)
{
    const long stride = (long)n_ch * hw;
    const double count = (double)n_batch * (double)hw;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < n_ch; c++) {
        const float m = mean[c], rstd = invstd[c];
        const float g = gamma ? gamma[c] : 1.0f;
        double sdy = 0, sdyx = 0; /* sum dy, sum dy * (x - mean) */
        if (dgamma || dbeta || (dx && batch_stats)) {
            for (int b = 0; b < n_batch; b++) {
                const float *xc = x + b * stride + (long)c * hw;
                const float *dyc = dy + b * stride + (long)c * hw;
#pragma omp simd reduction(+ : sdy, sdyx)
                for (long i = 0; i < hw; i++) {
                    sdy += dyc[i];
                    sdyx += (double)dyc[i] * (xc[i] - m);
                }
            }
        }
        if (dgamma)
            dgamma[c] += (float)(sdyx * rstd);
        if (dbeta)
            dbeta[c] += (float)sdy;
        if (!dx)
            continue;
        /* batch statistics: dx = g rstd (dy - mean(dy) - xhat mean(dy xhat)); else g rstd dy */
        const float k = g * rstd;
        const float a = batch_stats ? (float)(sdy / count) : 0.0f;
        const float q = batch_stats ? (float)(sdyx / count) * rstd * rstd : 0.0f;
        for (int b = 0; b < n_batch; b++) {
            const float *xc = x + b * stride + (long)c * hw;
            const float *dyc = dy + b * stride + (long)c * hw;
            float *dxc = dx + b * stride + (long)c * hw;
#pragma omp simd
            for (long i = 0; i < hw; i++)
                dxc[i] += k * (dyc[i] - a - (xc[i] - m) * q);
        }
    }
}

static int norm_check(mim__dnnl *d, int n, int c, int hw)
{
    if (n <= 0 || c <= 0 || hw <= 0)
        return mim__dnnl_fail_msg(d, "dnnl norm: inconsistent shape");
    return 0;
}

int mim__dnnl_batchnorm_forward(mim__dnnl *d, int n, int c, int hw, float eps, float momentum,
                                int training, float *y, const float *x, const float *gamma,
                                const float *beta, float *run_mean, float *run_var,
                                float *save_mean, float *save_invstd)
{
    mim__dnnl_begin(d);
    if (norm_check(d, n, c, hw))
        return -1;
    const double count = (double)n * hw;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < c; k++) {
        double m, v;
        if (training) {
            channel_stats(n, c, hw, k, x, &m, &v);
            double unbiased = count > 1 ? v * count / (count - 1) : v;
            run_mean[k] = (float)((1.0 - momentum) * run_mean[k] + momentum * m);
            run_var[k] = (float)((1.0 - momentum) * run_var[k] + momentum * unbiased);
        } else {
            m = run_mean[k];
            v = run_var[k];
        }
        save_mean[k] = (float)m;
        save_invstd[k] = (float)(1.0 / sqrt(v + eps));
    }
    normalize(n, c, hw, y, x, save_mean, save_invstd, gamma, beta);
    return 0;
}

int mim__dnnl_batchnorm_backward(mim__dnnl *d, int n, int c, int hw, int training, float *dx,
                                 float *dgamma, float *dbeta, const float *dy, const float *x,
                                 const float *gamma, const float *save_mean,
                                 const float *save_invstd)
{
    mim__dnnl_begin(d);
    if (norm_check(d, n, c, hw))
        return -1;
    norm_backward(n, c, hw, training, dx, dgamma, dbeta, dy, x, gamma, save_mean, save_invstd);
    return 0;
}

int mim__dnnl_instancenorm_forward(mim__dnnl *d, int n, int c, int hw, float eps, float *y,
                                   const float *x, float *save_mean, float *save_invstd)
{
    mim__dnnl_begin(d);
    if (norm_check(d, n, c, hw))
        return -1;
    const int nc = n * c;
#pragma omp parallel for schedule(static)
    for (int k = 0; k < nc; k++) {
        double m, v;
        channel_stats(1, nc, hw, k, x, &m, &v);
        save_mean[k] = (float)m;
        save_invstd[k] = (float)(1.0 / sqrt(v + eps));
    }
    normalize(1, nc, hw, y, x, save_mean, save_invstd, NULL, NULL);
    return 0;
}

int mim__dnnl_instancenorm_backward(mim__dnnl *d, int n, int c, int hw, float *dx, const float *dy,
                                    const float *x, const float *save_mean,
                                    const float *save_invstd)
{
    mim__dnnl_begin(d);
    if (norm_check(d, n, c, hw))
        return -1;
    norm_backward(1, n * c, hw, 1, dx, NULL, NULL, dy, x, NULL, save_mean, save_invstd);
    return 0;
}
