/* act.c: reference PReLU, ReLU/tanh/sigmoid, softmax, channel sum and copy, elementwise ops,
 * bias, the sum reduction and the Adam update. */
#include <math.h>
#include <string.h>

#include "ref.h"

/* The branch is x > 0, as in PyTorch. An input within rounding of zero may take the other branch
 * than another float32 implementation does; its gradient then differs by 0.75·dy at that one
 * element, which shows as one output channel of the previous conv's weight gradient being off.
 * tests/reference/test-grads.c: Dt.net.0.weight channel 3 (4.2e-2 of the slot's max; the other
 * channels 1.7e-6) comes from the IN output at (0, 3, 13, 9) of Dt(Ft): -1.34e-6 here, -4.9e-9 in
 * float64 from the reference's own Ft, i.e. x - mean = -7e-10 against ulp(x) = 1.5e-8. A tie, not
 * a normalisation bug: the IN/BN statistics are in double (|mean|/std <= 1.8 in that layer), and
 * recomputing them in double for backward changes no gradient. */
mim_status mim__ref_prelu_forward(mim_backend *be, int64_t n, float *y, const float *x,
                                  const float *slope)
{
    (void)be;
    float a = slope[0];
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : a * x[i];
    return MIM_OK;
}

mim_status mim__ref_prelu_backward(mim_backend *be, int64_t n, float *dx, float *dslope,
                                   const float *dy, const float *x, const float *slope)
{
    (void)be;
    float a = slope[0];
    double ds = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] > 0.0f) {
            if (dx)
                dx[i] += dy[i];
        } else {
            if (dx)
                dx[i] += a * dy[i];
            ds += (double)dy[i] * x[i];
        }
    }
    if (dslope)
        dslope[0] += (float)ds;
    return MIM_OK;
}

mim_status mim__ref_act_forward(mim_backend *be, mim_act act, int64_t n, float *y, const float *x)
{
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        switch (act) {
        case MIM_ACT_RELU:
            y[i] = v > 0.0f ? v : 0.0f;
            break;
        case MIM_ACT_TANH:
            y[i] = tanhf(v);
            break;
        case MIM_ACT_SIGMOID:
            y[i] = v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
            break;
        }
    }
    return MIM_OK;
}

mim_status mim__ref_act_backward(mim_backend *be, mim_act act, int64_t n, float *dx,
                                 const float *dy, const float *y)
{
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        float v = y[i];
        switch (act) {
        case MIM_ACT_RELU:
            dx[i] += v > 0.0f ? dy[i] : 0.0f;
            break;
        case MIM_ACT_TANH:
            dx[i] += dy[i] * (1.0f - v * v);
            break;
        case MIM_ACT_SIGMOID:
            dx[i] += dy[i] * v * (1.0f - v);
            break;
        }
    }
    return MIM_OK;
}

mim_status mim__ref_softmax_forward(mim_backend *be, int64_t rows, int64_t n, float *y,
                                    const float *x)
{
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float mx = xr[0];
        for (int64_t j = 1; j < n; j++)
            mx = xr[j] > mx ? xr[j] : mx;
        double s = 0.0;
        for (int64_t j = 0; j < n; j++) {
            yr[j] = expf(xr[j] - mx);
            s += yr[j];
        }
        float inv = (float)(1.0 / s);
        for (int64_t j = 0; j < n; j++)
            yr[j] *= inv;
    }
    return MIM_OK;
}

mim_status mim__ref_softmax_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                     const float *dy, const float *y)
{
    (void)be;
    for (int64_t r = 0; r < rows; r++) {
        const float *yr = y + r * n, *dr = dy + r * n;
        double dot = 0.0;
        for (int64_t j = 0; j < n; j++)
            dot += (double)yr[j] * dr[j];
        for (int64_t j = 0; j < n; j++)
            dx[r * n + j] += yr[j] * (float)(dr[j] - dot);
    }
    return MIM_OK;
}

mim_status mim__ref_channel_sum_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                        const float *x)
{
    (void)be;
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t)b * hw;
        memset(yb, 0, sizeof(float) * hw);
        for (int k = 0; k < c; k++) {
            const float *xp = x + ((size_t)b * c + k) * hw;
            for (int64_t p = 0; p < hw; p++)
                yb[p] += xp[p];
        }
    }
    return MIM_OK;
}

mim_status mim__ref_channel_sum_backward(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                         const float *dy)
{
    (void)be;
    for (int b = 0; b < n; b++)
        for (int k = 0; k < c; k++) {
            float *dp = dx + ((size_t)b * c + k) * hw;
            for (int64_t p = 0; p < hw; p++)
                dp[p] += dy[(size_t)b * hw + p];
        }
    return MIM_OK;
}

mim_status mim__ref_channel_copy(mim_backend *be, int n, int c, int64_t hw, float *dst, int dst_c,
                                 int dst_off, const float *src, int src_c, int src_off,
                                 int accumulate)
{
    (void)be;
    for (int b = 0; b < n; b++) {
        float *d = dst + ((size_t)b * dst_c + dst_off) * hw;
        const float *s = src + ((size_t)b * src_c + src_off) * hw;
        size_t cnt = (size_t)c * hw;
        if (accumulate)
            for (size_t i = 0; i < cnt; i++)
                d[i] += s[i];
        else
            memcpy(d, s, sizeof(float) * cnt);
    }
    return MIM_OK;
}

mim_status mim__ref_axpby(mim_backend *be, int64_t n, float *y, float alpha, const float *a,
                          float beta, const float *b)
{
    (void)be;
    if (b)
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * a[i] + beta * b[i];
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * a[i];
    return MIM_OK;
}

mim_status mim__ref_mul(mim_backend *be, int64_t n, float *y, const float *a, const float *b,
                        int accumulate)
{
    (void)be;
    if (accumulate)
        for (int64_t i = 0; i < n; i++)
            y[i] += a[i] * b[i];
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i] * b[i];
    return MIM_OK;
}

mim_status mim__ref_add_scalar_grad(mim_backend *be, int64_t n, float *y, float alpha,
                                    const float *s)
{
    (void)be;
    float v = alpha * s[0];
    for (int64_t i = 0; i < n; i++)
        y[i] += v;
    return MIM_OK;
}

mim_status mim__ref_bias_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                 const float *b)
{
    (void)be;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            float *yp = y + ((size_t)i * c + k) * hw;
            for (int64_t p = 0; p < hw; p++)
                yp[p] += b[k];
        }
    return MIM_OK;
}

mim_status mim__ref_bias_backward(mim_backend *be, int n, int c, int64_t hw, float *db,
                                  const float *dy)
{
    (void)be;
    for (int k = 0; k < c; k++) {
        double s = 0.0;
        for (int i = 0; i < n; i++) {
            const float *dp = dy + ((size_t)i * c + k) * hw;
            for (int64_t p = 0; p < hw; p++)
                s += dp[p];
        }
        db[k] += (float)s;
    }
    return MIM_OK;
}

mim_status mim__ref_reduce_sum(mim_backend *be, int64_t n, float *out, const float *x, float scale)
{
    (void)be;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += x[i];
    out[0] = (float)(s * scale);
    return MIM_OK;
}

mim_status mim__ref_adam_update(mim_backend *be, int64_t n, float *p, const float *g, float *m,
                                float *v, float beta1, float beta2, float step_size, float bc2_sqrt,
                                float eps)
{
    (void)be;
    for (int64_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
    return MIM_OK;
}
