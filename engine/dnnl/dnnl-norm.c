/* dnnl-norm.c: batch normalisation forward (training / evaluation) and backward on plain NCHW
 * data. Instance normalisation without affine is the same computation on the tensor seen as
 * (1, B*C, H, W), which the caller arranges.
 *
 * These are OpenMP loops, not oneDNN primitives: oneDNN 2.6's only plain-layout implementation
 * (ncsp_bnorm) measured 283 ms for one forward pass over (16,32,176,176) on the 2-core test
 * machine, against about 20 ms here (bench/README.md, "## ops"). Statistics are accumulated in
 * double, around a per-channel shift (the channel's first value) so that one pass gives the
 * variance without cancellation. */
#include <math.h>
#include <stddef.h>

#include "dnnl-core-private.h"

static int bn_check(mim__dnnl *d, int n_batch, int n_ch, int hw)
{
    if (n_batch <= 0 || n_ch <= 0 || hw <= 0)
        return mim__dnnl_fail_msg(d, "dnnl batchnorm: inconsistent shape");
    return 0;
}

int mim__dnnl_batchnorm_forward(mim__dnnl *d, int n_batch, int n_ch, int hw, float eps,
                                int training, const float *x, const float *gamma, const float *beta,
                                float *mean, float *var, float *y)
{
    mim__dnnl_begin(d);
    if (bn_check(d, n_batch, n_ch, hw))
        return -1;
    if ((gamma != NULL) != (beta != NULL))
        return mim__dnnl_fail_msg(d, "dnnl batchnorm: gamma and beta go together");
    const long plane = hw, stride = (long)n_ch * hw;
    const double count = (double)n_batch * hw;
    if (training) {
#pragma omp parallel for schedule(static)
        for (int c = 0; c < n_ch; c++) {
            const double shift = x[(long)c * plane];
            double s = 0, s2 = 0;
            for (int b = 0; b < n_batch; b++) {
                const float *xc = x + b * stride + c * plane;
#pragma omp simd reduction(+ : s, s2)
                for (long i = 0; i < plane; i++) {
                    double v = (double)xc[i] - shift;
                    s += v;
                    s2 += v * v;
                }
            }
            double m = s / count, v = s2 / count - m * m;
            mean[c] = (float)(m + shift);
            var[c] = (float)(v > 0 ? v : 0);
        }
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int b = 0; b < n_batch; b++) {
        for (int c = 0; c < n_ch; c++) {
            const float rstd = 1.0f / sqrtf(var[c] + eps);
            const float g = gamma ? gamma[c] * rstd : rstd;
            const float o = (beta ? beta[c] : 0.0f) - mean[c] * g;
            const float *xc = x + b * stride + c * plane;
            float *yc = y + b * stride + c * plane;
#pragma omp simd
            for (long i = 0; i < plane; i++)
                yc[i] = xc[i] * g + o;
        }
    }
    return 0;
}

int mim__dnnl_batchnorm_backward(mim__dnnl *d, int n_batch, int n_ch, int hw, float eps,
                                 int training, const float *x, const float *gamma,
                                 const float *mean, const float *var, const float *dy, float *dx,
                                 float *dgamma, float *dbeta, int accumulate)
{
    mim__dnnl_begin(d);
    if (bn_check(d, n_batch, n_ch, hw))
        return -1;
    if (gamma && (!dgamma || !dbeta))
        return mim__dnnl_fail_msg(d, "dnnl batchnorm: affine backward needs dgamma and dbeta");
    const long plane = hw, stride = (long)n_ch * hw;
    const double count = (double)n_batch * hw;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < n_ch; c++) {
        const float m = mean[c], rstd = 1.0f / sqrtf(var[c] + eps);
        const float g = gamma ? gamma[c] : 1.0f;
        double sdy = 0, sdyx = 0; /* sum dy, sum dy * (x - mean) */
        for (int b = 0; b < n_batch; b++) {
            const float *xc = x + b * stride + c * plane, *dyc = dy + b * stride + c * plane;
#pragma omp simd reduction(+ : sdy, sdyx)
            for (long i = 0; i < plane; i++) {
                sdy += dyc[i];
                sdyx += (double)dyc[i] * (xc[i] - m);
            }
        }
        if (dgamma) {
            float dg = (float)(sdyx * rstd), db = (float)sdy;
            dgamma[c] = accumulate ? dgamma[c] + dg : dg;
            dbeta[c] = accumulate ? dbeta[c] + db : db;
        }
        /* training: dx = g rstd (dy - mean(dy) - xhat mean(dy xhat)); evaluation: g rstd dy */
        const float k = g * rstd;
        const float a = training ? (float)(sdy / count) : 0.0f;
        const float q = training ? (float)(sdyx / count) * rstd * rstd : 0.0f;
        for (int b = 0; b < n_batch; b++) {
            const float *xc = x + b * stride + c * plane, *dyc = dy + b * stride + c * plane;
            float *dxc = dx + b * stride + c * plane;
            if (accumulate) {
#pragma omp simd
                for (long i = 0; i < plane; i++)
                    dxc[i] += k * (dyc[i] - a - (xc[i] - m) * q);
            } else {
#pragma omp simd
                for (long i = 0; i < plane; i++)
                    dxc[i] = k * (dyc[i] - a - (xc[i] - m) * q);
            }
        }
    }
    return 0;
}
