/* loss.c: reference losses (sums in double): L1, MSE, weighted BCE with logits, row
 * cross-entropy (landmark positions, InfoNCE rows). */
#include <math.h>

#include "ref.h"

mim_status mim__ref_l1_forward(mim_backend *be, int64_t n, float *out, const float *a,
                               const float *b)
{
    (void)be;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += fabs((double)a[i] - b[i]);
    out[0] = (float)(s / n);
    return MIM_OK;
}

mim_status mim__ref_l1_backward(mim_backend *be, int64_t n, float *da, float *db, const float *dout,
                                const float *a, const float *b)
{
    (void)be;
    float g = dout[0] / (float)n;
    for (int64_t i = 0; i < n; i++) {
        float d = a[i] - b[i];
        float v = d > 0.0f ? g : d < 0.0f ? -g : 0.0f;
        if (da)
            da[i] += v;
        if (db)
            db[i] -= v;
    }
    return MIM_OK;
}

mim_status mim__ref_mse_forward(mim_backend *be, int64_t n, float *out, const float *a,
                                const float *b, float c)
{
    (void)be;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? b[i] : c);
        s += d * d;
    }
    out[0] = (float)(s / n);
    return MIM_OK;
}

mim_status mim__ref_mse_backward(mim_backend *be, int64_t n, float *da, float *db,
                                 const float *dout, const float *a, const float *b, float c)
{
    (void)be;
    float g = 2.0f * dout[0] / (float)n;
    for (int64_t i = 0; i < n; i++) {
        float v = g * (a[i] - (b ? b[i] : c));
        if (da)
            da[i] += v;
        if (db)
            db[i] -= v;
    }
    return MIM_OK;
}

mim_status mim__ref_bce_logits_forward(mim_backend *be, int n_batch, int n_class, float *out,
                                       const float *z, const float *y, const float *w)
{
    (void)be;
    double s = 0.0;
    for (int b = 0; b < n_batch; b++)
        for (int k = 0; k < n_class; k++) {
            double zv = z[b * n_class + k], yv = y[b * n_class + k];
            double l = (zv > 0 ? zv : 0.0) - zv * yv + log1p(exp(-fabs(zv)));
            s += (w ? w[k] : 1.0) * l;
        }
    out[0] = (float)(s / ((double)n_batch * n_class));
    return MIM_OK;
}

mim_status mim__ref_bce_logits_backward(mim_backend *be, int n_batch, int n_class, float *dz,
                                        const float *dout, const float *z, const float *y,
                                        const float *w)
{
    (void)be;
    double g = dout[0] / ((double)n_batch * n_class);
    for (int b = 0; b < n_batch; b++)
        for (int k = 0; k < n_class; k++) {
            double zv = z[b * n_class + k];
            double sig = zv >= 0 ? 1.0 / (1.0 + exp(-zv)) : exp(zv) / (1.0 + exp(zv));
            dz[b * n_class + k] += (float)((w ? w[k] : 1.0) * (sig - y[b * n_class + k]) * g);
        }
    return MIM_OK;
}

static double row_lse(const float *x, int64_t n)
{
    double mx = x[0], s = 0.0;
    for (int64_t j = 1; j < n; j++)
        mx = x[j] > mx ? x[j] : mx;
    for (int64_t j = 0; j < n; j++)
        s += exp(x[j] - mx);
    return mx + log(s);
}

mim_status mim__ref_cross_entropy_forward(mim_backend *be, int64_t rows, int64_t n, float *out,
                                          const float *x, const int32_t *labels, int64_t period)
{
    (void)be;
    double s = 0.0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t l = labels ? labels[r] : r % period;
        s += row_lse(x + r * n, n) - x[r * n + l];
    }
    out[0] = (float)(s / rows);
    return MIM_OK;
}

mim_status mim__ref_cross_entropy_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                           const float *dout, const float *x, const int32_t *labels,
                                           int64_t period)
{
    (void)be;
    double g = dout[0] / (double)rows;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        int64_t l = labels ? labels[r] : r % period;
        double lse = row_lse(xr, n);
        for (int64_t j = 0; j < n; j++)
            dx[r * n + j] += (float)((exp(xr[j] - lse) - (j == l ? 1.0 : 0.0)) * g);
    }
    return MIM_OK;
}
