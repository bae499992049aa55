/* dnnl-conv.c: 2-D convolution forward, backward-data and backward-weights (+bias) with oneDNN.
 * The primitives choose their own (blocked) layouts; dnnl-core.c reorders from and to NCHW.
 * The algorithm follows d->conv_alg (dnnl-core.h: Winograd where oneDNN picks it, by default);
 * with d->bf16 the inputs of each pass are bf16 (the reorders from the caller's fp32 NCHW round
 * them) and its output fp32. */
#include <dnnl.h>
#include <string.h>

#include "dnnl-core-private.h"

static void conv_key(const mim__dnnl *d, mim__dnnl_key *k, int op, const mim__dnnl_conv *s,
                     int has_bias)
{
    memset(k, 0, sizeof *k);
    k->v[0] = op;
    k->v[1] = s->n_batch;
    k->v[2] = s->c_in;
    k->v[3] = s->h_in;
    k->v[4] = s->w_in;
    k->v[5] = s->c_out;
    k->v[6] = s->h_out;
    k->v[7] = s->w_out;
    k->v[8] = s->k_h;
    k->v[9] = s->k_w;
    k->v[10] = s->stride_h;
    k->v[11] = s->stride_w;
    k->v[12] = s->pad_t;
    k->v[13] = s->pad_l;
    k->v[14] = s->pad_b;
    k->v[15] = s->pad_r;
    k->v[16] = s->groups;
    k->v[17] = has_bias;
    k->v[18] = d->bf16;
}

static int check_shape(mim__dnnl *d, const mim__dnnl_conv *s)
{
    int g = s->groups;
    if (s->n_batch <= 0 || s->c_in <= 0 || s->c_out <= 0 || g <= 0 || s->c_in % g || s->c_out % g ||
        s->k_h <= 0 || s->k_w <= 0 || s->stride_h <= 0 || s->stride_w <= 0 || s->pad_t < 0 ||
        s->pad_l < 0 || s->pad_b < 0 || s->pad_r < 0 || s->h_in + s->pad_t + s->pad_b < s->k_h ||
        s->w_in + s->pad_l + s->pad_r < s->k_w ||
        s->h_out != (s->h_in + s->pad_t + s->pad_b - s->k_h) / s->stride_h + 1 ||
        s->w_out != (s->w_in + s->pad_l + s->pad_r - s->k_w) / s->stride_w + 1)
        return mim__dnnl_fail_msg(d, "dnnl conv2d: inconsistent shape");
    return 0;
}

/* Memory descriptors: `tag` any for the primitive, plain fp32 for the caller. For the
 * primitive of pass `op` under bf16, the pass's inputs are bf16: x and w forward, dy and w
 * backward-data, x and dy backward-weights; its output and the bias stay fp32. */
static int conv_mds(mim__dnnl *d, const mim__dnnl_conv *s, int plain, int op, dnnl_memory_desc_t *x,
                    dnnl_memory_desc_t *w, dnnl_memory_desc_t *b, dnnl_memory_desc_t *y)
{
    long xd[4] = {s->n_batch, s->c_in, s->h_in, s->w_in};
    long yd[4] = {s->n_batch, s->c_out, s->h_out, s->w_out};
    long bd[1] = {s->c_out};
    int g = s->groups, low = !plain && d->bf16;
    dnnl_data_type_t tx = low && op != MIM__DNNL_OP_CONV_BWD_DATA ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t tw = low && op != MIM__DNNL_OP_CONV_BWD_WEIGHTS ? dnnl_bf16 : dnnl_f32;
    dnnl_data_type_t ty = low && op != MIM__DNNL_OP_CONV_FWD ? dnnl_bf16 : dnnl_f32;
    dnnl_format_tag_t act = plain ? dnnl_nchw : dnnl_format_tag_any;
    if (mim__dnnl_md_typed(d, x, 4, xd, act, tx) || mim__dnnl_md_typed(d, y, 4, yd, act, ty) ||
        mim__dnnl_md(d, b, 1, bd, dnnl_x))
        return -1;
    if (g == 1) {
        long wd[4] = {s->c_out, s->c_in, s->k_h, s->k_w};
        return mim__dnnl_md_typed(d, w, 4, wd, plain ? dnnl_oihw : dnnl_format_tag_any, tw);
    }
    long wd[5] = {g, s->c_out / g, s->c_in / g, s->k_h, s->k_w};
    return mim__dnnl_md_typed(d, w, 5, wd, plain ? dnnl_goihw : dnnl_format_tag_any, tw);
}

/* The algorithm of the first try at building a pass of shape s: Winograd is tried only where
 * oneDNN 2.6 has it (3×3, stride 1, one group, 16k channels, fp32); build_pass falls back to
 * direct if it still refuses. */
static dnnl_alg_kind_t conv_alg(const mim__dnnl *d, const mim__dnnl_conv *s)
{
    int wino_shape = s->groups == 1 && s->k_h == 3 && s->k_w == 3 && s->stride_h == 1 &&
                     s->stride_w == 1 && s->c_in % 16 == 0 && s->c_out % 16 == 0 && !d->bf16;
    switch (d->conv_alg) {
    case MIM__DNNL_CONV_DIRECT:
        return dnnl_convolution_direct;
    case MIM__DNNL_CONV_WINOGRAD:
        return wino_shape ? dnnl_convolution_winograd : dnnl_convolution_direct;
    default:
        return wino_shape ? dnnl_convolution_auto : dnnl_convolution_direct;
    }
}

/* Initialises the descriptor of pass op with algorithm alg. */
static dnnl_status_t conv_desc(mim__dnnl *d, const mim__dnnl_conv *s, int op, int has_bias,
                               dnnl_alg_kind_t alg, dnnl_convolution_desc_t *cd)
{
    dnnl_memory_desc_t x, w, b, y;
    if (conv_mds(d, s, 0, op, &x, &w, &b, &y))
        return dnnl_runtime_error;
    dnnl_dims_t strides = {s->stride_h, s->stride_w};
    dnnl_dims_t pad_l = {s->pad_t, s->pad_l}, pad_r = {s->pad_b, s->pad_r};
    const dnnl_memory_desc_t *bias = has_bias ? &b : NULL;
    if (op == MIM__DNNL_OP_CONV_FWD)
        return dnnl_convolution_forward_desc_init(cd, dnnl_forward_training, alg, &x, &w, bias, &y,
                                                  strides, pad_l, pad_r);
    if (op == MIM__DNNL_OP_CONV_BWD_DATA)
        return dnnl_convolution_backward_data_desc_init(cd, alg, &x, &w, &y, strides, pad_l, pad_r);
    return dnnl_convolution_backward_weights_desc_init(cd, alg, &x, &w, bias, &y, strides, pad_l,
                                                       pad_r);
}

/* Builds entry e (the free slot of key k) for pass op: first with conv_alg's choice, then, if
 * oneDNN refuses Winograd for this shape, direct. */
static int build_pass(mim__dnnl *d, mim__dnnl_entry *e, const mim__dnnl_key *k,
                      const mim__dnnl_conv *s, int op, int has_bias,
                      const_dnnl_primitive_desc_t hint, const mim__dnnl_argspec *spec, int n_args)
{
    dnnl_alg_kind_t alg = conv_alg(d, s);
    for (;;) {
        dnnl_convolution_desc_t cd;
        dnnl_status_t st = conv_desc(d, s, op, has_bias, alg, &cd);
        if (st == dnnl_success && !mim__dnnl_build(d, e, k, &cd, hint, spec, n_args))
            return 0;
        if (alg == dnnl_convolution_direct) {
            if (st != dnnl_success && st != dnnl_runtime_error)
                return mim__dnnl_fail(d, st, "convolution descriptor");
            return -1;
        }
        alg = dnnl_convolution_direct;
    }
}

/* The forward primitive of shape s (built on first use): the hint of the backward ones. */
static mim__dnnl_entry *conv_fwd_entry(mim__dnnl *d, const mim__dnnl_conv *s, int has_bias)
{
    mim__dnnl_key k;
    int found;
    conv_key(d, &k, MIM__DNNL_OP_CONV_FWD, s, has_bias);
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e || found)
        return e;
    if (check_shape(d, s))
        return NULL;
    dnnl_memory_desc_t ux, uw, ub, uy;
    if (conv_mds(d, s, 1, MIM__DNNL_OP_CONV_FWD, &ux, &uw, &ub, &uy))
        return NULL;
    mim__dnnl_argspec spec[4] = {
        {DNNL_ARG_SRC, 0, dnnl_query_src_md, ux, 0},
        {DNNL_ARG_WEIGHTS, 0, dnnl_query_weights_md, uw, 0},
        {DNNL_ARG_DST, 1, dnnl_query_dst_md, uy, 0},
        {DNNL_ARG_BIAS, 0, dnnl_query_weights_md, ub, 1},
    };
    if (build_pass(d, e, &k, s, MIM__DNNL_OP_CONV_FWD, has_bias, NULL, spec, has_bias ? 4 : 3))
        return NULL;
    return e;
}

int mim__dnnl_conv2d_forward(mim__dnnl *d, const mim__dnnl_conv *s, const float *x, const float *w,
                             const float *b, float *y)
{
    mim__dnnl_begin(d);
    mim__dnnl_entry *e = conv_fwd_entry(d, s, b != NULL);
    if (!e)
        return -1;
    void *ptr[4] = {(void *)x, (void *)w, y, (void *)b};
    return mim__dnnl_exec(d, e, ptr, NULL);
}

int mim__dnnl_conv2d_backward_data(mim__dnnl *d, const mim__dnnl_conv *s, const float *dy,
                                   const float *w, float *dx, int accumulate)
{
    mim__dnnl_key k;
    int found;
    mim__dnnl_begin(d);
    mim__dnnl_entry *fe = conv_fwd_entry(d, s, 0);
    if (!fe)
        return -1;
    const_dnnl_primitive_desc_t hint = fe->pd;
    conv_key(d, &k, MIM__DNNL_OP_CONV_BWD_DATA, s, 0);
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e)
        return -1;
    if (!found) {
        dnnl_memory_desc_t ux, uw, ub, uy;
        if (conv_mds(d, s, 1, MIM__DNNL_OP_CONV_BWD_DATA, &ux, &uw, &ub, &uy))
            return -1;
        mim__dnnl_argspec spec[3] = {
            {DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, uy},
            {DNNL_ARG_WEIGHTS, 0, dnnl_query_weights_md, uw},
            {DNNL_ARG_DIFF_SRC, 1, dnnl_query_diff_src_md, ux},
        };
        if (build_pass(d, e, &k, s, MIM__DNNL_OP_CONV_BWD_DATA, 0, hint, spec, 3))
            return -1;
    }
    void *ptr[3] = {(void *)dy, (void *)w, dx};
    int acc[3] = {0, 0, accumulate};
    return mim__dnnl_exec(d, e, ptr, acc);
}

int mim__dnnl_conv2d_backward_weights(mim__dnnl *d, const mim__dnnl_conv *s, const float *x,
                                      const float *dy, float *dw, float *db, int accumulate)
{
    mim__dnnl_key k;
    int found, has_bias = db != NULL;
    mim__dnnl_begin(d);
    mim__dnnl_entry *fe = conv_fwd_entry(d, s, has_bias);
    if (!fe)
        return -1;
    const_dnnl_primitive_desc_t hint = fe->pd;
    conv_key(d, &k, MIM__DNNL_OP_CONV_BWD_WEIGHTS, s, has_bias);
    mim__dnnl_entry *e = mim__dnnl_lookup(d, &k, &found);
    if (!e)
        return -1;
    if (!found) {
        dnnl_memory_desc_t ux, uw, ub, uy;
        if (conv_mds(d, s, 1, MIM__DNNL_OP_CONV_BWD_WEIGHTS, &ux, &uw, &ub, &uy))
            return -1;
        mim__dnnl_argspec spec[4] = {
            {DNNL_ARG_SRC, 0, dnnl_query_src_md, ux},
            {DNNL_ARG_DIFF_DST, 0, dnnl_query_diff_dst_md, uy},
            {DNNL_ARG_DIFF_WEIGHTS, 1, dnnl_query_diff_weights_md, uw},
            {DNNL_ARG_DIFF_BIAS, 1, dnnl_query_diff_weights_md, ub, 1},
        };
        if (build_pass(d, e, &k, s, MIM__DNNL_OP_CONV_BWD_WEIGHTS, has_bias, hint, spec,
                       has_bias ? 4 : 3))
            return -1;
    }
    void *ptr[4] = {(void *)x, (void *)dy, dw, db};
    int acc[4] = {0, 0, accumulate, accumulate};
    return mim__dnnl_exec(d, e, ptr, acc);
}
