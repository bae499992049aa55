/* dnnl-act.c: eltwise activations (ReLU, tanh, sigmoid) and softmax with oneDNN on plain
 * layouts (memory-bound: a reorder would cost as much as the op), and average pooling. */
#include <dnnl.h>
#include <string.h>

#include "dnnl-core-private.h"

static dnnl_alg_kind_t act_alg(mim__dnnl_act act)
{
    switch (act) {
    case MIM__DNNL_RELU:
        return dnnl_eltwise_relu_use_dst_for_bwd;
    case MIM__DNNL_TANH:
        return dnnl_eltwise_tanh_use_dst_for_bwd;
    case MIM__DNNL_SIGMOID:
        return dnnl_eltwise_logistic_use_dst_for_bwd;
    }
    return dnnl_alg_kind_undef;
}

static mim__dnnl_entry *act_fwd_entry(mim__dnnl *d, mim__dnnl_act act, long n)
{
    mim__dnnl_key k = {{MIM__DNNL_OP_ACT_FWD, act, n}};
    int found;
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e || found)
        return e;
    dnnl_memory_desc_t md;
    if (n <= 0) {
        mim__dnnl_fail_msg(d, "dnnl activation: empty tensor");
        return NULL;
    }
    if (mim__dnnl_md(d, &md, 1, &n, dnnl_x))
        return NULL;
    dnnl_eltwise_desc_t ed;
    dnnl_status_t st =
        dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training, act_alg(act), &md, 0.f, 0.f);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "eltwise forward descriptor");
        return NULL;
    }
    mim__dnnl_argspec spec[2] = {
        {DNNL_ARG_SRC, 0, dnnl_query_src_md, md},
        {DNNL_ARG_DST, 1, dnnl_query_dst_md, md},
    };
    if (mim__dnnl_build(d, e, &k, &ed, NULL, spec, 2))
        return NULL;
    return e;
}

int mim__dnnl_act_forward(mim__dnnl *d, mim__dnnl_act act, long n, const float *x, float *y)
{
    mim__dnnl_begin(d);
    mim__dnnl_entry *e = act_fwd_entry(d, act, n);
    if (!e)
        return -1;
    void *ptr[2] = {(void *)x, y};
    return mim__dnnl_exec(d, e, ptr, NULL);
}

int mim__dnnl_act_backward(mim__dnnl *d, mim__dnnl_act act, long n, const float *y, const float *dy,
                           float *dx, int accumulate)
{
    mim__dnnl_key k = {{MIM__DNNL_OP_ACT_BWD, act, n}};
    int found;
    mim__dnnl_begin(d);
    mim__dnnl_entry *fe = act_fwd_entry(d, act, n);
    if (!fe)
        return -1;
    const_dnnl_primitive_desc_t hint = fe->pd;
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e)
        return -1;
    if (!found) {
        dnnl_memory_desc_t md;
        if (mim__dnnl_md(d, &md, 1, &n, dnnl_x))
            return -1;
        dnnl_eltwise_desc_t ed;
        dnnl_status_t st = dnnl_eltwise_backward_desc_init(&ed, act_alg(act), &md, &md, 0.f, 0.f);
        if (st != dnnl_success)
            return mim__dnnl_fail(d, st, "eltwise backward descriptor");
        mim__dnnl_argspec spec[3] = {
            {DNNL_ARG_DST, 0, dnnl_query_dst_md, md},
            {DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, md},
            {DNNL_ARG_DIFF_SRC, 1, dnnl_query_diff_src_md, md},
        };
        if (mim__dnnl_build(d, e, &k, &ed, hint, spec, 3))
            return -1;
    }
    void *ptr[3] = {(void *)y, (void *)dy, dx};
    int acc[3] = {0, 0, accumulate};
    return mim__dnnl_exec(d, e, ptr, acc);
}

/* ---- PReLU (one shared slope): plain loops, oneDNN 2.6's PReLU wants a slope tensor ----
 * Branch-free vector code (GCC vector extensions, 4 floats): the sign of an activation is a coin
 * toss, and the scalar select compiled to a branch that mispredicted on about every other element
 * (perf: 34% of a batch-8 training step in these loops). Blocks of PRELU_BLOCK elements are shared
 * between the threads; one parallel region per call, the backward's two outputs in one pass. */

typedef float prelu_v4f __attribute__((vector_size(16)));
typedef int prelu_v4i __attribute__((vector_size(16)));
typedef double prelu_v4d __attribute__((vector_size(32)));

#define PRELU_BLOCK 8192L

static inline prelu_v4f prelu_load(const float *p)
{
    prelu_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void prelu_store(float *p, prelu_v4f v)
{
    memcpy(p, &v, sizeof v);
}

/* m ? a : b, lane by lane (m lanes are 0 or -1). */
static inline prelu_v4f prelu_sel(prelu_v4i m, prelu_v4f a, prelu_v4f b)
{
    return (prelu_v4f)(((prelu_v4i)a & m) | ((prelu_v4i)b & ~m));
}

void mim__dnnl_prelu_forward(mim__dnnl *d, long n, float *y, const float *x, float slope)
{
    mim__dnnl_begin(d);
    const long n_blk = (n + PRELU_BLOCK - 1) / PRELU_BLOCK;
    const prelu_v4f zero = {0, 0, 0, 0};
#pragma omp parallel for schedule(static)
    for (long b = 0; b < n_blk; b++) {
        long i = b * PRELU_BLOCK, end = i + PRELU_BLOCK < n ? i + PRELU_BLOCK : n;
        for (; i + 4 <= end; i += 4) {
            prelu_v4f xv = prelu_load(x + i);
            prelu_store(y + i, prelu_sel(xv > zero, xv, xv * slope));
        }
        for (; i < end; i++)
            y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    }
}

/* The backward over [0, len), len a multiple of 4: dx += ..., and the lanes of *accv collect the
 * products of the sum over x <= 0 of dy·x (in double, as the scalar loop had them). norm: the
 * inputs are x·g + o (a normalisation's output recomputed from its input x, as the forward wrote
 * it: mim__dnnl_norm_value lane by lane). */
static inline void prelu_backward_vec(long len, float *dx, int want_ds, const float *dy,
                                      const float *x, int norm, float g, float o, float slope,
                                      prelu_v4d *accv)
{
    const prelu_v4f zero = {0, 0, 0, 0};
    for (long i = 0; i < len; i += 4) {
        prelu_v4f xv = prelu_load(x + i), dyv = prelu_load(dy + i);
        if (norm)
            xv = xv * g + o;
        prelu_v4i pos = xv > zero;
        if (dx)
            prelu_store(dx + i, prelu_load(dx + i) + prelu_sel(pos, dyv, dyv * slope));
        if (want_ds) {
            prelu_v4f xn = prelu_sel(pos, zero, xv), dyn = prelu_sel(pos, zero, dyv);
            *accv +=
                __builtin_convertvector(xn, prelu_v4d) * __builtin_convertvector(dyn, prelu_v4d);
        }
    }
}

/* The last len < 4 elements of a block, one by one; s: the block's sum so far. */
static inline double prelu_backward_tail(long len, float *dx, const float *dy, const float *x,
                                         float slope, double s)
{
    for (long i = 0; i < len; i++) {
        if (dx)
            dx[i] += x[i] > 0.0f ? dy[i] : slope * dy[i];
        if (!(x[i] > 0.0f))
            s += (double)dy[i] * x[i];
    }
    return s;
}

static inline double prelu_lanes_sum(const prelu_v4d *v)
{
    return ((*v)[0] + (*v)[1]) + ((*v)[2] + (*v)[3]);
}

void mim__dnnl_prelu_backward(mim__dnnl *d, long n, float *dx, float *dslope, const float *dy,
                              const float *x, float slope)
{
    mim__dnnl_begin(d);
    if (!dx && !dslope)
        return;
    const long n_blk = (n + PRELU_BLOCK - 1) / PRELU_BLOCK;
    double acc = 0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
    for (long b = 0; b < n_blk; b++) {
        long i = b * PRELU_BLOCK, len = i + PRELU_BLOCK < n ? PRELU_BLOCK : n - i, len4 = len & ~3L;
        float *dxb = dx ? dx + i : NULL;
        prelu_v4d accv = {0, 0, 0, 0};
        prelu_backward_vec(len4, dxb, dslope != NULL, dy + i, x + i, 0, 0, 0, slope, &accv);
        acc += prelu_backward_tail(len - len4, dxb ? dxb + len4 : NULL, dy + i + len4, x + i + len4,
                                   slope, prelu_lanes_sum(&accv));
    }
    if (dslope)
        *dslope += (float)acc;
}

/* y[0, len) = the norm's output at flat positions [pos, pos + len) of x (n_ch channels of hw). */
static void norm_recompute(long pos, long len, long hw, int n_ch, float *y, const float *x,
                           const float *mean, const float *invstd, const float *gamma,
                           const float *beta)
{
    for (long j = 0; j < len;) {
        long plane = (pos + j) / hw, end = (plane + 1) * hw - pos;
        if (end > len)
            end = len;
        float g, o;
        mim__dnnl_norm_coef((int)(plane % n_ch), mean, invstd, gamma, beta, &g, &o);
        for (; j + 4 <= end; j += 4)
            prelu_store(y + j, prelu_load(x + pos + j) * g + o);
        for (; j < end; j++)
            y[j] = mim__dnnl_norm_value(x[pos + j], g, o);
    }
}

/* The same blocks, the same order of every operation, with x read instead of the norm's output.
 * Where a plane's size hw is a multiple of 4 (blocks start at multiples of 4), every vector lies in
 * one plane and recomputes its inputs in registers; else a block's inputs are recomputed
 * PRELU_PIECE at a time into a buffer that stays in L1. */
#define PRELU_PIECE 1024L

void mim__dnnl_norm_prelu_backward(mim__dnnl *d, int n_batch, int n_ch, long hw, float *dx,
                                   float *dslope, const float *dy, const float *x,
                                   const float *mean, const float *invstd, const float *gamma,
                                   const float *beta, float slope)
{
    mim__dnnl_begin(d);
    if (!dx && !dslope)
        return;
    const long n = (long)n_batch * n_ch * hw;
    const long n_blk = (n + PRELU_BLOCK - 1) / PRELU_BLOCK;
    double acc = 0;
#pragma omp parallel for schedule(static) reduction(+ : acc)
    for (long b = 0; b < n_blk; b++) {
        float buf[PRELU_PIECE];
        long i = b * PRELU_BLOCK, len = i + PRELU_BLOCK < n ? PRELU_BLOCK : n - i, len4 = len & ~3L;
        prelu_v4d accv = {0, 0, 0, 0};
        if (hw % 4 == 0) {
            for (long j = i; j < i + len4;) {
                long plane = j / hw,
                     end = (plane + 1) * hw < i + len4 ? (plane + 1) * hw : i + len4;
                float g, o;
                mim__dnnl_norm_coef((int)(plane % n_ch), mean, invstd, gamma, beta, &g, &o);
                prelu_backward_vec(end - j, dx ? dx + j : NULL, dslope != NULL, dy + j, x + j, 1, g,
                                   o, slope, &accv);
                j = end;
            }
        } else {
            for (long k = 0; k < len4; k += PRELU_PIECE) {
                long m = len4 - k < PRELU_PIECE ? len4 - k : PRELU_PIECE;
                norm_recompute(i + k, m, hw, n_ch, buf, x, mean, invstd, gamma, beta);
                prelu_backward_vec(m, dx ? dx + i + k : NULL, dslope != NULL, dy + i + k, buf, 0, 0,
                                   0, slope, &accv);
            }
        }
        norm_recompute(i + len4, len - len4, hw, n_ch, buf, x, mean, invstd, gamma, beta);
        acc += prelu_backward_tail(len - len4, dx ? dx + i + len4 : NULL, dy + i + len4, buf, slope,
                                   prelu_lanes_sum(&accv));
    }
    if (dslope)
        *dslope += (float)acc;
}

/* ---- average pooling ----
 * OpenMP loops over (B*C) planes: oneDNN 2.6's plain-layout pooling (simple_nchw) measured
 * 95 ms forward for 2x2 over (16,32,176,176) on the 2-core test machine, these about 10 ms. */

static int pool_check(mim__dnnl *d, const mim__dnnl_pool *s)
{
    if (s->n_batch <= 0 || s->n_ch <= 0 || s->k_h <= 0 || s->k_w <= 0 || s->stride_h <= 0 ||
        s->stride_w <= 0 || s->pad_t < 0 || s->pad_l < 0 || s->pad_b < 0 || s->pad_r < 0 ||
        s->pad_t >= s->k_h || s->pad_b >= s->k_h || s->pad_l >= s->k_w || s->pad_r >= s->k_w ||
        s->h_in + s->pad_t + s->pad_b < s->k_h || s->w_in + s->pad_l + s->pad_r < s->k_w ||
        s->h_out != (s->h_in + s->pad_t + s->pad_b - s->k_h) / s->stride_h + 1 ||
        s->w_out != (s->w_in + s->pad_l + s->pad_r - s->k_w) / s->stride_w + 1)
        return mim__dnnl_fail_msg(d, "dnnl avgpool: inconsistent shape");
    return 0;
}

/* The window of output (oh, ow) clipped to the input: rows [*h0, *h1), columns [*w0, *w1);
 * returns the divisor. */
static float pool_window(const mim__dnnl_pool *s, int oh, int ow, int *h0, int *h1, int *w0,
                         int *w1)
{
    int hs = oh * s->stride_h - s->pad_t, ws = ow * s->stride_w - s->pad_l;
    int he = hs + s->k_h, we = ws + s->k_w;
    /* PyTorch's count_include_pad counts padding cells but not cells beyond it. */
    int hp = he < s->h_in + s->pad_b ? he : s->h_in + s->pad_b;
    int wp = we < s->w_in + s->pad_r ? we : s->w_in + s->pad_r;
    int cnt_pad = (hp - hs) * (wp - ws);
    *h0 = hs > 0 ? hs : 0;
    *w0 = ws > 0 ? ws : 0;
    *h1 = he < s->h_in ? he : s->h_in;
    *w1 = we < s->w_in ? we : s->w_in;
    int cnt = (*h1 - *h0) * (*w1 - *w0);
    return (float)(s->count_pad ? cnt_pad : cnt);
}

int mim__dnnl_avgpool_forward(mim__dnnl *d, const mim__dnnl_pool *s, const float *x, float *y)
{
    mim__dnnl_begin(d);
    if (pool_check(d, s))
        return -1;
    const long n_planes = (long)s->n_batch * s->n_ch;
    const long in_plane = (long)s->h_in * s->w_in, out_plane = (long)s->h_out * s->w_out;
    /* No padding: every window lies inside the input and has k_h * k_w cells. */
    const int plain = !s->pad_t && !s->pad_l && !s->pad_b && !s->pad_r;
    const float inv = 1.0f / (float)(s->k_h * s->k_w);
#pragma omp parallel for schedule(static)
    for (long p = 0; p < n_planes; p++) {
        const float *xp = x + p * in_plane;
        float *yp = y + p * out_plane;
        if (plain) {
            for (int oh = 0; oh < s->h_out; oh++) {
                float *yr = yp + (long)oh * s->w_out;
                for (int ow = 0; ow < s->w_out; ow++)
                    yr[ow] = 0.0f;
                for (int kh = 0; kh < s->k_h; kh++) {
                    const float *xr = xp + (long)(oh * s->stride_h + kh) * s->w_in;
                    for (int ow = 0; ow < s->w_out; ow++)
                        for (int kw = 0; kw < s->k_w; kw++)
                            yr[ow] += xr[ow * s->stride_w + kw];
                }
                for (int ow = 0; ow < s->w_out; ow++)
                    yr[ow] *= inv;
            }
            continue;
        }
        for (int oh = 0; oh < s->h_out; oh++) {
            for (int ow = 0; ow < s->w_out; ow++) {
                int h0, h1, w0, w1;
                float cnt = pool_window(s, oh, ow, &h0, &h1, &w0, &w1), acc = 0.0f;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        acc += xp[(long)h * s->w_in + w];
                yp[(long)oh * s->w_out + ow] = acc / cnt;
            }
        }
    }
    return 0;
}

int mim__dnnl_avgpool_backward(mim__dnnl *d, const mim__dnnl_pool *s, const float *dy, float *dx,
                               int accumulate)
{
    mim__dnnl_begin(d);
    if (pool_check(d, s))
        return -1;
    const long n_planes = (long)s->n_batch * s->n_ch;
    const long in_plane = (long)s->h_in * s->w_in, out_plane = (long)s->h_out * s->w_out;
    /* No padding: every window lies inside the input and has k_h * k_w cells. */
    const int plain = !s->pad_t && !s->pad_l && !s->pad_b && !s->pad_r;
    const float inv = 1.0f / (float)(s->k_h * s->k_w);
#pragma omp parallel for schedule(static)
    for (long p = 0; p < n_planes; p++) {
        const float *dyp = dy + p * out_plane;
        float *dxp = dx + p * in_plane;
        if (!accumulate)
            for (long i = 0; i < in_plane; i++)
                dxp[i] = 0.0f;
        if (plain) {
            for (int oh = 0; oh < s->h_out; oh++) {
                const float *dyr = dyp + (long)oh * s->w_out;
                for (int kh = 0; kh < s->k_h; kh++) {
                    float *dxr = dxp + (long)(oh * s->stride_h + kh) * s->w_in;
                    for (int ow = 0; ow < s->w_out; ow++)
                        for (int kw = 0; kw < s->k_w; kw++)
                            dxr[ow * s->stride_w + kw] += dyr[ow] * inv;
                }
            }
            continue;
        }
        for (int oh = 0; oh < s->h_out; oh++) {
            for (int ow = 0; ow < s->w_out; ow++) {
                int h0, h1, w0, w1;
                float cnt = pool_window(s, oh, ow, &h0, &h1, &w0, &w1);
                float g = dyp[(long)oh * s->w_out + ow] / cnt;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++)
                        dxp[(long)h * s->w_in + w] += g;
            }
        }
    }
    return 0;
}

/* ---- softmax over the last axis ---- */

static mim__dnnl_entry *softmax_fwd_entry(mim__dnnl *d, long rows, long n)
{
    mim__dnnl_key k = {{MIM__DNNL_OP_SOFTMAX_FWD, rows, n}};
    int found;
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e || found)
        return e;
    dnnl_memory_desc_t md;
    long dims[2] = {rows, n};
    if (rows <= 0 || n <= 0) {
        mim__dnnl_fail_msg(d, "dnnl softmax: empty tensor");
        return NULL;
    }
    if (mim__dnnl_md(d, &md, 2, dims, dnnl_ab))
        return NULL;
    dnnl_softmax_desc_t sd;
    dnnl_status_t st = dnnl_softmax_forward_desc_init(&sd, dnnl_forward_training, &md, 1);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "softmax forward descriptor");
        return NULL;
    }
    mim__dnnl_argspec spec[2] = {
        {DNNL_ARG_SRC, 0, dnnl_query_src_md, md},
        {DNNL_ARG_DST, 1, dnnl_query_dst_md, md},
    };
    if (mim__dnnl_build(d, e, &k, &sd, NULL, spec, 2))
        return NULL;
    return e;
}

int mim__dnnl_softmax_forward(mim__dnnl *d, long rows, long n, const float *x, float *y)
{
    mim__dnnl_begin(d);
    mim__dnnl_entry *e = softmax_fwd_entry(d, rows, n);
    if (!e)
        return -1;
    void *ptr[2] = {(void *)x, y};
    return mim__dnnl_exec(d, e, ptr, NULL);
}

int mim__dnnl_softmax_backward(mim__dnnl *d, long rows, long n, const float *y, const float *dy,
                               float *dx, int accumulate)
{
    mim__dnnl_key k = {{MIM__DNNL_OP_SOFTMAX_BWD, rows, n}};
    int found;
    mim__dnnl_begin(d);
    mim__dnnl_entry *fe = softmax_fwd_entry(d, rows, n);
    if (!fe)
        return -1;
    const_dnnl_primitive_desc_t hint = fe->pd;
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e)
        return -1;
    if (!found) {
        dnnl_memory_desc_t md;
        long dims[2] = {rows, n};
        if (mim__dnnl_md(d, &md, 2, dims, dnnl_ab))
            return -1;
        dnnl_softmax_desc_t sd;
        dnnl_status_t st = dnnl_softmax_backward_desc_init(&sd, &md, &md, 1);
        if (st != dnnl_success)
            return mim__dnnl_fail(d, st, "softmax backward descriptor");
        mim__dnnl_argspec spec[3] = {
            {DNNL_ARG_DST, 0, dnnl_query_dst_md, md},
            {DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, md},
            {DNNL_ARG_DIFF_SRC, 1, dnnl_query_diff_src_md, md},
        };
        if (mim__dnnl_build(d, e, &k, &sd, hint, spec, 3))
            return -1;
    }
    void *ptr[3] = {(void *)y, (void *)dy, dx};
    int acc[3] = {0, 0, accumulate};
    return mim__dnnl_exec(d, e, ptr, acc);
}
