/* mim-dnnl.c: the dnnl backend's table (mim-backend-impl.h) over the raw-pointer functions of
 * dnnl-core.h. Host memory; every backward accumulates, as the table's contract says. Entries left
 * NULL (losses, reduce_sum, l2norm) run the ref loops on the same pointers. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "dnnl-core.h"
#include "dnnl-infer.h"
#include "mim-backend-impl.h"
#include "mim-private.h"

static mim__dnnl *state(mim_backend *be)
{
    return (mim__dnnl *)be->state;
}

static mim_status fail(mim_backend *be)
{
    return mim__backend_error(be, MIM_ERR_BACKEND, "%s", mim__dnnl_last_error(state(be)));
}

#define TRY(call)                                                                                  \
    do {                                                                                           \
        if ((call) != 0)                                                                           \
            return fail(be);                                                                       \
    } while (0)

/* ---- memory ---- */

static void dn_destroy(mim_backend *be)
{
    mim__dnnl_free(state(be));
    be->state = NULL;
}

/* Large blocks (the step arena's chunks, GBs in training) are aligned to 2 MiB and advised as
 * transparent huge pages where the kernel offers them on request: one fault per 2 MiB instead of
 * one per 4 KiB when a fresh chunk is first touched, and fewer TLB misses on the working set. */
#define DN_HUGE_MIN   (8u << 20)
#define DN_HUGE_ALIGN (2u << 20)

static void *dn_alloc(mim_backend *be, size_t n_bytes)
{
    size_t bytes = (n_bytes + 63) / 64 * 64;
#ifdef MADV_HUGEPAGE
    if (bytes >= DN_HUGE_MIN) {
        bytes = (bytes + DN_HUGE_ALIGN - 1) / DN_HUGE_ALIGN * DN_HUGE_ALIGN;
        void *p = aligned_alloc(DN_HUGE_ALIGN, bytes);
        if (p)
            (void)madvise(p, bytes, MADV_HUGEPAGE); /* advice only: failure changes nothing */
        return p;
    }
#endif
    return aligned_alloc(64, bytes ? bytes : 64);
}

static void dn_free(mim_backend *be, void *p)
{
    free(p);
}

static mim_status dn_set(mim_backend *be, void *dst, const void *host_src, size_t n_bytes)
{
    if (n_bytes)
        memcpy(dst, host_src, n_bytes);
    return MIM_OK;
}

static mim_status dn_copy(mim_backend *be, void *dst, const void *src, size_t n_bytes)
{
    if (n_bytes && dst != src)
        memmove(dst, src, n_bytes);
    return MIM_OK;
}

/* Gradient buffers are zeroed before backward accumulates into them (GBs per training step):
 * both cores share the memset above 1 MiB. */
#define DN_ZERO_BLOCK ((size_t)256 << 10)

static mim_status dn_zero(mim_backend *be, void *dst, size_t n_bytes)
{
    if (n_bytes < ((size_t)1 << 20)) {
        if (n_bytes)
            memset(dst, 0, n_bytes);
        return MIM_OK;
    }
    const long n_blk = (long)((n_bytes + DN_ZERO_BLOCK - 1) / DN_ZERO_BLOCK);
#pragma omp parallel for schedule(static)
    for (long b = 0; b < n_blk; b++) {
        size_t off = (size_t)b * DN_ZERO_BLOCK;
        size_t len = n_bytes - off < DN_ZERO_BLOCK ? n_bytes - off : DN_ZERO_BLOCK;
        memset((char *)dst + off, 0, len);
    }
    return MIM_OK;
}

static mim_status dn_sync(mim_backend *be)
{
    return MIM_OK;
}

/* ---- convolution ---- */

static mim__dnnl_conv conv_shape(const mim_conv_shape *s)
{
    mim__dnnl_conv c = {
        .n_batch = s->n,
        .c_in = s->c_in,
        .h_in = s->h_in,
        .w_in = s->w_in,
        .c_out = s->c_out,
        .h_out = s->h_out,
        .w_out = s->w_out,
        .k_h = s->k_h,
        .k_w = s->k_w,
        .stride_h = s->stride_h,
        .stride_w = s->stride_w,
        .pad_t = s->pad_h,
        .pad_l = s->pad_w,
        .pad_b = s->pad_h,
        .pad_r = s->pad_w,
        .groups = s->groups,
    };
    return c;
}

static mim_status dn_conv2d_forward(mim_backend *be, const mim_conv_shape *s, float *y,
                                    const float *x, const float *w, const float *b)
{
    mim__dnnl_conv c = conv_shape(s);
    TRY(mim__dnnl_conv2d_forward(state(be), &c, x, w, b, y));
    return MIM_OK;
}

static mim_status dn_conv2d_backward_data(mim_backend *be, const mim_conv_shape *s, float *dx,
                                          const float *dy, const float *w)
{
    mim__dnnl_conv c = conv_shape(s);
    if (dx)
        TRY(mim__dnnl_conv2d_backward_data(state(be), &c, dy, w, dx, 1));
    return MIM_OK;
}

static mim_status dn_conv2d_backward_weights(mim_backend *be, const mim_conv_shape *s, float *dw,
                                             float *db, const float *x, const float *dy)
{
    mim__dnnl_conv c = conv_shape(s);
    if (dw) {
        TRY(mim__dnnl_conv2d_backward_weights(state(be), &c, x, dy, dw, db, 1));
    } else if (db) {
        const long hw = (long)s->h_out * s->w_out;
        for (int b = 0; b < s->n; b++) {
            for (int k = 0; k < s->c_out; k++) {
                const float *p = dy + ((long)b * s->c_out + k) * hw;
                double acc = 0;
                for (long i = 0; i < hw; i++)
                    acc += p[i];
                db[k] += (float)acc;
            }
        }
    }
    return MIM_OK;
}

/* ---- normalisation ---- */

static mim_status dn_batchnorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                       float momentum, int training, float *y, const float *x,
                                       const float *gamma, const float *beta, float *run_mean,
                                       float *run_var, float *save_mean, float *save_invstd)
{
    TRY(mim__dnnl_batchnorm_forward(state(be), n, c, hw, eps, momentum, training, y, x, gamma, beta,
                                    run_mean, run_var, save_mean, save_invstd));
    return MIM_OK;
}

static mim_status dn_batchnorm_backward(mim_backend *be, int n, int c, int hw, int training,
                                        float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *gamma, const float *save_mean,
                                        const float *save_invstd)
{
    TRY(mim__dnnl_batchnorm_backward(state(be), n, c, hw, training, dx, dgamma, dbeta, dy, x, gamma,
                                     save_mean, save_invstd));
    return MIM_OK;
}

static mim_status dn_instancenorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                          float *y, const float *x, float *save_mean,
                                          float *save_invstd)
{
    TRY(mim__dnnl_instancenorm_forward(state(be), n, c, hw, eps, y, x, save_mean, save_invstd));
    return MIM_OK;
}

static mim_status dn_instancenorm_backward(mim_backend *be, int n, int c, int hw, float *dx,
                                           const float *dy, const float *x, const float *save_mean,
                                           const float *save_invstd)
{
    if (dx)
        TRY(mim__dnnl_instancenorm_backward(state(be), n, c, hw, dx, dy, x, save_mean,
                                            save_invstd));
    return MIM_OK;
}

/* ---- activations ---- */

static mim_status dn_prelu_forward(mim_backend *be, int64_t n, float *y, const float *x,
                                   const float *slope)
{
    mim__dnnl_prelu_forward(state(be), n, y, x, *slope);
    return MIM_OK;
}

static mim_status dn_prelu_backward(mim_backend *be, int64_t n, float *dx, float *dslope,
                                    const float *dy, const float *x, const float *slope)
{
    mim__dnnl_prelu_backward(state(be), n, dx, dslope, dy, x, *slope);
    return MIM_OK;
}

static mim_status dn_norm_prelu_backward(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                         float *dslope, const float *dy, const float *x,
                                         const float *mean, const float *invstd, const float *gamma,
                                         const float *beta, const float *slope)
{
    mim__dnnl_norm_prelu_backward(state(be), n, c, hw, dx, dslope, dy, x, mean, invstd, gamma, beta,
                                  *slope);
    return MIM_OK;
}

static mim__dnnl_act act_kind(mim_act act)
{
    return act == MIM_ACT_RELU   ? MIM__DNNL_RELU
           : act == MIM_ACT_TANH ? MIM__DNNL_TANH
                                 : MIM__DNNL_SIGMOID;
}

static mim_status dn_act_forward(mim_backend *be, mim_act act, int64_t n, float *y, const float *x)
{
    TRY(mim__dnnl_act_forward(state(be), act_kind(act), n, x, y));
    return MIM_OK;
}

static mim_status dn_act_backward(mim_backend *be, mim_act act, int64_t n, float *dx,
                                  const float *dy, const float *y)
{
    if (dx)
        TRY(mim__dnnl_act_backward(state(be), act_kind(act), n, y, dy, dx, 1));
    return MIM_OK;
}

/* ---- pooling, softmax ---- */

static mim__dnnl_pool pool_shape(const mim_pool_shape *s)
{
    mim__dnnl_pool p = {
        .n_batch = s->n,
        .n_ch = s->c,
        .h_in = s->h_in,
        .w_in = s->w_in,
        .h_out = s->h_out,
        .w_out = s->w_out,
        .k_h = s->k_h,
        .k_w = s->k_w,
        .stride_h = s->stride_h,
        .stride_w = s->stride_w,
    };
    return p;
}

static mim_status dn_avgpool_forward(mim_backend *be, const mim_pool_shape *s, float *y,
                                     const float *x)
{
    mim__dnnl_pool p = pool_shape(s);
    TRY(mim__dnnl_avgpool_forward(state(be), &p, x, y));
    return MIM_OK;
}

static mim_status dn_avgpool_backward(mim_backend *be, const mim_pool_shape *s, float *dx,
                                      const float *dy)
{
    mim__dnnl_pool p = pool_shape(s);
    if (dx)
        TRY(mim__dnnl_avgpool_backward(state(be), &p, dy, dx, 1));
    return MIM_OK;
}

static mim_status dn_softmax_forward(mim_backend *be, int64_t rows, int64_t n, float *y,
                                     const float *x)
{
    TRY(mim__dnnl_softmax_forward(state(be), rows, n, x, y));
    return MIM_OK;
}

static mim_status dn_softmax_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                      const float *dy, const float *y)
{
    if (dx)
        TRY(mim__dnnl_softmax_backward(state(be), rows, n, y, dy, dx, 1));
    return MIM_OK;
}

/* ---- GEMM ---- */

static mim_status dn_gemm(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                          float alpha, const float *a, int64_t stride_a, const float *b,
                          int64_t stride_b, float beta, float *c, int64_t stride_c)
{
    for (int i = 0; i < batch; i++)
        TRY(mim__dnnl_gemm(state(be), trans_a, trans_b, m, n, k, alpha, a + i * stride_a,
                           b + i * stride_b, beta, c + i * stride_c));
    return MIM_OK;
}

/* ---- memory-bound helpers: the ref loops' arithmetic, spread over the OpenMP threads ---- */

#define PAR_MIN 32768 /* below this many elements one thread is faster than waking the team */

static mim_status dn_channel_sum_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                         const float *x)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)n * c * hw > PAR_MIN)
    for (int b = 0; b < n; b++) {
        for (int64_t p0 = 0; p0 < hw; p0 += 1024) {
            int64_t p1 = p0 + 1024 < hw ? p0 + 1024 : hw;
            float *yb = y + (size_t)b * hw;
            for (int64_t p = p0; p < p1; p++)
                yb[p] = 0.0f;
            for (int k = 0; k < c; k++) {
                const float *xp = x + ((size_t)b * c + k) * hw;
                for (int64_t p = p0; p < p1; p++)
                    yb[p] += xp[p];
            }
        }
    }
    return MIM_OK;
}

static mim_status dn_channel_sum_backward(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                          const float *dy)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)n * c * hw > PAR_MIN)
    for (int b = 0; b < n; b++) {
        for (int k = 0; k < c; k++) {
            float *dp = dx + ((size_t)b * c + k) * hw;
            const float *g = dy + (size_t)b * hw;
            for (int64_t p = 0; p < hw; p++)
                dp[p] += g[p];
        }
    }
    return MIM_OK;
}

static mim_status dn_channel_copy(mim_backend *be, int n, int c, int64_t hw, float *dst, int dst_c,
                                  int dst_off, const float *src, int src_c, int src_off,
                                  int accumulate)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)n * c * hw > PAR_MIN)
    for (int b = 0; b < n; b++) {
        for (int k = 0; k < c; k++) {
            float *d = dst + ((size_t)b * dst_c + dst_off + k) * hw;
            const float *s = src + ((size_t)b * src_c + src_off + k) * hw;
            if (accumulate)
                for (int64_t i = 0; i < hw; i++)
                    d[i] += s[i];
            else
                memcpy(d, s, sizeof(float) * (size_t)hw);
        }
    }
    return MIM_OK;
}

static mim_status dn_axpby(mim_backend *be, int64_t n, float *y, float alpha, const float *a,
                           float beta, const float *b)
{
    mim__dnnl_begin(state(be));
    if (b) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * a[i] + beta * b[i];
    } else {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = alpha * a[i];
    }
    return MIM_OK;
}

static mim_status dn_mul(mim_backend *be, int64_t n, float *y, const float *a, const float *b,
                         int accumulate)
{
    mim__dnnl_begin(state(be));
    if (accumulate) {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] += a[i] * b[i];
    } else {
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i] * b[i];
    }
    return MIM_OK;
}

static mim_status dn_add_scalar_grad(mim_backend *be, int64_t n, float *y, float alpha,
                                     const float *s)
{
    const float v = alpha * s[0];
    mim__dnnl_begin(state(be));
#pragma omp parallel for simd schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++)
        y[i] += v;
    return MIM_OK;
}

static mim_status dn_bias_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                  const float *b)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for collapse(2) schedule(static) if ((int64_t)n * c * hw > PAR_MIN)
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < c; k++) {
            float *yp = y + ((size_t)i * c + k) * hw;
            for (int64_t p = 0; p < hw; p++)
                yp[p] += b[k];
        }
    }
    return MIM_OK;
}

static mim_status dn_bias_backward(mim_backend *be, int n, int c, int64_t hw, float *db,
                                   const float *dy)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for schedule(static) if ((int64_t)n * c * hw > PAR_MIN)
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

static mim_status dn_adam_update(mim_backend *be, int64_t n, float *p, const float *g, float *m,
                                 float *v, float beta1, float beta2, float step_size,
                                 float bc2_sqrt, float eps)
{
    mim__dnnl_begin(state(be));
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        m[i] = beta1 * m[i] + (1.0f - beta1) * g[i];
        v[i] = beta2 * v[i] + (1.0f - beta2) * g[i] * g[i];
        p[i] -= step_size * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
    return MIM_OK;
}

static const mim_backend_i dnnl_backend_i = {
    .destroy = dn_destroy,
    .alloc = dn_alloc,
    .free = dn_free,
    .set = dn_set,
    .get = dn_set,
    .copy = dn_copy,
    .zero = dn_zero,
    .sync = dn_sync,
    .conv2d_forward = dn_conv2d_forward,
    .conv2d_backward_data = dn_conv2d_backward_data,
    .conv2d_backward_weights = dn_conv2d_backward_weights,
    .batchnorm_forward = dn_batchnorm_forward,
    .batchnorm_backward = dn_batchnorm_backward,
    .instancenorm_forward = dn_instancenorm_forward,
    .instancenorm_backward = dn_instancenorm_backward,
    .prelu_forward = dn_prelu_forward,
    .prelu_backward = dn_prelu_backward,
    .act_forward = dn_act_forward,
    .act_backward = dn_act_backward,
    .avgpool_forward = dn_avgpool_forward,
    .avgpool_backward = dn_avgpool_backward,
    .softmax_forward = dn_softmax_forward,
    .softmax_backward = dn_softmax_backward,
    .gemm = dn_gemm,
    .channel_sum_forward = dn_channel_sum_forward,
    .channel_sum_backward = dn_channel_sum_backward,
    .channel_copy = dn_channel_copy,
    .axpby = dn_axpby,
    .mul = dn_mul,
    .add_scalar_grad = dn_add_scalar_grad,
    .bias_forward = dn_bias_forward,
    .bias_backward = dn_bias_backward,
    .adam_update = dn_adam_update,
};

const mim__backend_ext mim__dnnl_backend_ext = {
    .table = &dnnl_backend_i,
    .norm_prelu_backward = dn_norm_prelu_backward,
    .aunet_infer = mim__dnnl_aunet_infer,
    .aunet_infer_free = mim__dnnl_aunet_infer_free,
};

mim_status mim__backend_dnnl_set_bf16(mim_backend *be, int bf16)
{
    mim__dnnl *d = state(be);
    if (mim__dnnl_set_bf16(d, bf16))
        return mim__backend_error(be, MIM_ERR_UNSUPPORTED, "%s", mim__dnnl_last_error(d));
    return MIM_OK;
}

int mim__backend_dnnl_get_bf16(const mim_backend *be)
{
    return mim__dnnl_get_bf16((const mim__dnnl *)be->state);
}

int mim__backend_dnnl_bf16_native(void)
{
    return mim__dnnl_bf16_native();
}

mim_status mim__backend_dnnl_create(int n_threads, mim_backend **out, char *err, size_t err_size)
{
    *out = NULL;
    if (mim__dnnl_env_check(err, err_size))
        return MIM_ERR_ARG;
    mim__dnnl *d = mim__dnnl_new(n_threads, err, err_size);
    if (!d)
        return MIM_ERR_BACKEND;
    mim_backend *be = mim__backend_alloc(&dnnl_backend_i, d, "dnnl", 1);
    if (!be) {
        mim__dnnl_free(d);
        snprintf(err, err_size, "out of memory");
        return MIM_ERR_NOMEM;
    }
    *out = be;
    return MIM_OK;
}
