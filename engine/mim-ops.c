/* mim-ops.c: the graph-building ops: shape checks, the forward call into the backend, the tape
 * entry, and each op's backward (which accumulates into its inputs' gradients). */
#include <math.h>
#include <string.h>

#include "mim-private.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((st = (expr)) != MIM_OK)                                                               \
            goto out;                                                                              \
    } while (0)
/* A backend call: on failure the backend's message goes to the context. */
#define BE(op, fn, ...)                                                                            \
    do {                                                                                           \
        if ((st = MIM__CALL(ctx, fn, __VA_ARGS__)) != MIM_OK) {                                    \
            st = mim__be_fail(ctx, st, op);                                                        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define GRAD(t) mim__grad(ctx, (t), &st)
#define SHAPE(t)                                                                                   \
    (long long)(t)->ne[0], (long long)(t)->ne[1], (long long)(t)->ne[2], (long long)(t)->ne[3]
#define SHP "(%lld,%lld,%lld,%lld)"

/* Every tensor argument: non-NULL, of this context (our bugs), float (the caller's error). */
static mim_status arg(mim_ctx *ctx, const mim_tensor *t, const char *op)
{
    MIM_ASSERT(ctx && t && t->ctx == ctx && mim__live(t));
    if (t->dtype != MIM_F32)
        return mim__error(ctx, MIM_ERR_ARG, "%s: float tensor expected", op);
    return MIM_OK;
}

static int same_shape(const mim_tensor *a, const mim_tensor *b)
{
    return !memcmp(a->ne, b->ne, sizeof a->ne);
}

static mim_status new_like(mim_ctx *ctx, int64_t b, int64_t c, int64_t h, int64_t w,
                           mim_tensor **out)
{
    int64_t ne[4] = {b, c, h, w};
    return mim__new(ctx, MIM_F32, ne, out);
}

/* Finishes an op: on failure *out is cleared. */
static mim_status done(mim_status st, mim_tensor *y, mim_tensor **out)
{
    *out = st == MIM_OK ? y : NULL;
    return st;
}

/* ---- views ---- */

mim_tensor *mim_detach(mim_ctx *ctx, mim_tensor *x)
{
    MIM_ASSERT(ctx && x && x->ctx == ctx && mim__live(x));
    mim_tensor *t;
    if (mim__view(ctx, x, 0, x->ne, &t))
        return NULL;
    return t;
}

static mim_status bw_view(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *dx = GRAD(e->in[0]);
    if (dx) {
        int64_t n = mim_tensor_numel(e->out);
        float *d = dx + e->iarg[0] * (int64_t)e->iarg[1]; /* batch offset · batch size */
        BE("view backward", axpby, n, d, 1.0f, d, 1.0f, MIM__F(e->out->grad));
    }
out:
    return st;
}

mim_status mim_reshape(mim_ctx *ctx, mim_tensor *x, int64_t b, int64_t c, int64_t h, int64_t w,
                       mim_tensor **out)
{
    MIM_ASSERT(ctx && x && x->ctx == ctx && mim__live(x));
    int64_t ne[4] = {b, c, h, w};
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st = MIM_OK;
    if (b <= 0 || c <= 0 || h <= 0 || w <= 0 || b * c * h * w != mim_tensor_numel(x)) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "reshape: " SHP " to (%lld,%lld,%lld,%lld)", SHAPE(x),
                        (long long)b, (long long)c, (long long)h, (long long)w);
        goto out;
    }
    TRY(mim__view(ctx, x, 0, ne, &y));
    TRY(mim__record(ctx, "reshape", bw_view, y, &x, 1, &e));
out:
    return done(st, y, out);
}

mim_status mim_slice_batch(mim_ctx *ctx, mim_tensor *x, int64_t b0, int64_t n, mim_tensor **out)
{
    MIM_ASSERT(ctx && x && x->ctx == ctx && mim__live(x));
    int64_t ne[4] = {n, x->ne[1], x->ne[2], x->ne[3]};
    int64_t per = x->ne[1] * x->ne[2] * x->ne[3];
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st = MIM_OK;
    if (b0 < 0 || n <= 0 || b0 + n > x->ne[0]) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "slice_batch: [%lld, %lld) of " SHP, (long long)b0,
                        (long long)(b0 + n), SHAPE(x));
        goto out;
    }
    TRY(mim__view(ctx, x, (size_t)(b0 * per), ne, &y));
    TRY(mim__record(ctx, "slice_batch", bw_view, y, &x, 1, &e));
    if (e) {
        e->iarg[0] = (int)b0;
        e->iarg[1] = (int)per;
    }
out:
    return done(st, y, out);
}

/* ---- convolution ---- */

static mim_status bw_conv(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *dy = MIM__F(e->out->grad);
    float *dx = GRAD(e->in[0]), *dw = GRAD(e->in[1]), *db = GRAD(e->in[2]);
    if (st)
        goto out;
    if ((dw || db) && !mim__live(e->in[0])) {
        st = mim__error(ctx, MIM_ERR_STATE,
                        "conv2d backward: the input was released, not kept (the weights needed "
                        "no gradient when the op was recorded)");
        goto out;
    }
    if (dx)
        BE("conv2d backward data", conv2d_backward_data, &e->conv, dx, dy, MIM__F(e->in[1]));
    if (dw || db)
        BE("conv2d backward weights", conv2d_backward_weights, &e->conv, dw, db, MIM__F(e->in[0]),
           dy);
out:
    return st;
}

mim_status mim_conv2d(mim_ctx *ctx, mim_tensor *x, mim_tensor *w, mim_tensor *bias, int stride,
                      int pad, int groups, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "conv2d"));
    TRY(arg(ctx, w, "conv2d"));
    if (bias)
        TRY(arg(ctx, bias, "conv2d"));
    if (stride < 1 || pad < 0 || groups < 1 || x->ne[1] % groups || w->ne[0] % groups ||
        w->ne[1] * groups != x->ne[1] || (bias && mim_tensor_numel(bias) != w->ne[0]) ||
        x->ne[2] + 2 * pad < w->ne[2] || x->ne[3] + 2 * pad < w->ne[3]) {
        st = mim__error(ctx, MIM_ERR_SHAPE,
                        "conv2d: x " SHP " w " SHP " bias %lld stride %d pad %d groups %d",
                        SHAPE(x), SHAPE(w), bias ? (long long)mim_tensor_numel(bias) : -1LL, stride,
                        pad, groups);
        goto out;
    }
    mim_conv_shape s = {
        .n = (int)x->ne[0],
        .c_in = (int)x->ne[1],
        .h_in = (int)x->ne[2],
        .w_in = (int)x->ne[3],
        .c_out = (int)w->ne[0],
        .k_h = (int)w->ne[2],
        .k_w = (int)w->ne[3],
        .stride_h = stride,
        .stride_w = stride,
        .pad_h = pad,
        .pad_w = pad,
        .groups = groups,
    };
    s.h_out = (s.h_in + 2 * pad - s.k_h) / stride + 1;
    s.w_out = (s.w_in + 2 * pad - s.k_w) / stride + 1;
    TRY(new_like(ctx, s.n, s.c_out, s.h_out, s.w_out, &y));
    BE("conv2d", conv2d_forward, &s, MIM__F(y), MIM__F(x), MIM__F(w), bias ? MIM__F(bias) : NULL);
    mim_tensor *in[3] = {x, w, bias};
    TRY(mim__record(ctx, "conv2d", bw_conv, y, in, 3, &e));
    if (e) {
        e->conv = s;
        /* the weight gradient reads x, the input gradient w */
        if ((w->flags & MIM_TENSOR_REQUIRES_GRAD) ||
            (bias && (bias->flags & MIM_TENSOR_REQUIRES_GRAD)))
            mim__keep(e, x);
        if (x->flags & MIM_TENSOR_REQUIRES_GRAD)
            mim__keep(e, w);
    }
out:
    return done(st, y, out);
}

/* ---- normalisation ---- */

static mim_status bw_bn(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0], *g = e->in[1];
    float *dx = GRAD(x), *dg = GRAD(g), *db = GRAD(e->in[2]);
    if (st)
        goto out;
    BE("batchnorm backward", batchnorm_backward, (int)x->ne[0], (int)x->ne[1],
       (int)(x->ne[2] * x->ne[3]), e->iarg[0], dx, dg, db, MIM__F(e->out->grad), MIM__F(x),
       g ? MIM__F(g) : NULL, MIM__F(e->saved[0]), MIM__F(e->saved[1]));
out:
    return st;
}

mim_status mim_batchnorm(mim_ctx *ctx, mim_tensor *x, mim_tensor *gamma, mim_tensor *beta,
                         mim_tensor *run_mean, mim_tensor *run_var, int training, float momentum,
                         float eps, mim_tensor **out)
{
    mim_tensor *y = NULL, *sm, *si;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "batchnorm"));
    TRY(arg(ctx, run_mean, "batchnorm"));
    TRY(arg(ctx, run_var, "batchnorm"));
    int64_t c = x->ne[1];
    if ((gamma && (st = arg(ctx, gamma, "batchnorm"))) ||
        (beta && (st = arg(ctx, beta, "batchnorm"))))
        goto out;
    if ((gamma && mim_tensor_numel(gamma) != c) || (beta && mim_tensor_numel(beta) != c) ||
        mim_tensor_numel(run_mean) != c || mim_tensor_numel(run_var) != c) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "batchnorm: x " SHP " needs %lld-float parameters",
                        SHAPE(x), (long long)c);
        goto out;
    }
    if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
        st = mim__error(ctx, MIM_ERR_ARG, "batchnorm: eps %g momentum %g", eps, momentum);
        goto out;
    }
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    TRY(new_like(ctx, c, 1, 1, 1, &sm));
    TRY(new_like(ctx, c, 1, 1, 1, &si));
    BE("batchnorm", batchnorm_forward, (int)x->ne[0], (int)c, (int)(x->ne[2] * x->ne[3]), eps,
       momentum, training != 0, MIM__F(y), MIM__F(x), gamma ? MIM__F(gamma) : NULL,
       beta ? MIM__F(beta) : NULL, MIM__F(run_mean), MIM__F(run_var), MIM__F(sm), MIM__F(si));
    mim_tensor *in[3] = {x, gamma, beta};
    TRY(mim__record(ctx, "batchnorm", bw_bn, y, in, 3, &e));
    if (e) {
        e->saved[0] = sm;
        e->saved[1] = si;
        e->iarg[0] = training != 0;
        mim__keep(e, x);
        mim__keep(e, gamma);
        mim__keep(e, beta); /* with the rest: a PReLU's backward may recompute y */
        mim__keep(e, sm);
        mim__keep(e, si);
        y->producer = e;
    }
    mim_tensor_release(sm);
    mim_tensor_release(si);
out:
    return done(st, y, out);
}

static mim_status bw_in(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0];
    float *dx = GRAD(x);
    if (dx)
        BE("instancenorm backward", instancenorm_backward, (int)x->ne[0], (int)x->ne[1],
           (int)(x->ne[2] * x->ne[3]), dx, MIM__F(e->out->grad), MIM__F(x), MIM__F(e->saved[0]),
           MIM__F(e->saved[1]));
out:
    return st;
}

mim_status mim_instancenorm(mim_ctx *ctx, mim_tensor *x, float eps, mim_tensor **out)
{
    mim_tensor *y = NULL, *sm, *si;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "instancenorm"));
    if (!(eps > 0)) {
        st = mim__error(ctx, MIM_ERR_ARG, "instancenorm: eps %g", eps);
        goto out;
    }
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    TRY(new_like(ctx, x->ne[0], x->ne[1], 1, 1, &sm));
    TRY(new_like(ctx, x->ne[0], x->ne[1], 1, 1, &si));
    BE("instancenorm", instancenorm_forward, (int)x->ne[0], (int)x->ne[1],
       (int)(x->ne[2] * x->ne[3]), eps, MIM__F(y), MIM__F(x), MIM__F(sm), MIM__F(si));
    TRY(mim__record(ctx, "instancenorm", bw_in, y, &x, 1, &e));
    if (e) {
        e->saved[0] = sm;
        e->saved[1] = si;
        mim__keep(e, x);
        mim__keep(e, sm);
        mim__keep(e, si);
        y->producer = e;
    }
    mim_tensor_release(sm);
    mim_tensor_release(si);
out:
    return done(st, y, out);
}

static mim_status bw_l2n(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0];
    float *dx = GRAD(x);
    if (dx)
        BE("l2norm backward", l2norm_backward, (int)x->ne[0], (int)x->ne[1], x->ne[2] * x->ne[3],
           e->farg[0], dx, MIM__F(e->out->grad), MIM__F(e->out), MIM__F(e->saved[0]));
out:
    return st;
}

mim_status mim_l2norm_channels(mim_ctx *ctx, mim_tensor *x, float eps, mim_tensor **out)
{
    mim_tensor *y = NULL, *nr;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "l2norm"));
    if (!(eps > 0)) {
        st = mim__error(ctx, MIM_ERR_ARG, "l2norm: eps %g", eps);
        goto out;
    }
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    TRY(new_like(ctx, x->ne[0], 1, x->ne[2], x->ne[3], &nr));
    BE("l2norm", l2norm_forward, (int)x->ne[0], (int)x->ne[1], x->ne[2] * x->ne[3], eps, MIM__F(y),
       MIM__F(x), MIM__F(nr));
    TRY(mim__record(ctx, "l2norm", bw_l2n, y, &x, 1, &e));
    if (e) {
        e->saved[0] = nr;
        e->farg[0] = eps;
        mim__keep(e, y);
        mim__keep(e, nr);
    }
    mim_tensor_release(nr);
out:
    return done(st, y, out);
}

/* ---- activations ---- */

/* The normalisation entry whose output x is, when this backend can run a PReLU's backward from
 * that norm's input and statistics instead of x (norm_prelu_backward): then the PReLU's entry
 * does not keep x, which the caller may release right after the forward. */
static mim__entry *norm_source(mim_ctx *ctx, mim_tensor *x)
{
    mim__entry *n = x->producer;
    const mim_backend_i *i = ctx->be->i;
    const mim__backend_ext *ext = mim__backend_ext_of(ctx->be);
    if (!n || n->out != x || !ext || !ext->norm_prelu_backward || !i->prelu_forward ||
        !i->prelu_backward)
        return NULL;
    if (n->bw == bw_bn && i->batchnorm_forward)
        return n;
    if (n->bw == bw_in && i->instancenorm_forward)
        return n;
    return NULL;
}

static mim_status bw_prelu(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0];
    float *dx = GRAD(x), *ds = GRAD(e->in[1]);
    if (st)
        goto out;
    if (mim__live(x)) {
        BE("prelu backward", prelu_backward, mim_tensor_numel(x), dx, ds, MIM__F(e->out->grad),
           MIM__F(x), MIM__F(e->in[1]));
    } else {
        /* x was released: the norm that wrote it still holds its input and statistics */
        mim__entry *n = e->src;
        MIM_ASSERT(n); /* without a norm source the entry keeps x */
        mim_tensor *nx = n->in[0];
        int bn = n->bw == bw_bn, planes = (int)(bn ? nx->ne[1] : nx->ne[0] * nx->ne[1]);
        if (!mim__live(nx)) {
            st = mim__error(ctx, MIM_ERR_STATE,
                            "prelu backward: its input was released and the normalisation that "
                            "wrote it was consumed by an earlier backward");
            goto out;
        }
        const mim__backend_ext *ext = mim__backend_ext_of(ctx->be);
        st = ext->norm_prelu_backward(ctx->be, bn ? (int)nx->ne[0] : 1, planes,
                                      nx->ne[2] * nx->ne[3], dx, ds, MIM__F(e->out->grad),
                                      MIM__F(nx), MIM__F(n->saved[0]), MIM__F(n->saved[1]),
                                      bn && n->in[1] ? MIM__F(n->in[1]) : NULL,
                                      bn && n->in[2] ? MIM__F(n->in[2]) : NULL, MIM__F(e->in[1]));
        if (st)
            st = mim__be_fail(ctx, st, "prelu backward");
    }
out:
    return st;
}

mim_status mim_prelu(mim_ctx *ctx, mim_tensor *x, mim_tensor *slope, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "prelu"));
    TRY(arg(ctx, slope, "prelu"));
    if (mim_tensor_numel(slope) != 1) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "prelu: one shared slope expected, got " SHP,
                        SHAPE(slope));
        goto out;
    }
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    BE("prelu", prelu_forward, mim_tensor_numel(x), MIM__F(y), MIM__F(x), MIM__F(slope));
    mim_tensor *in[2] = {x, slope};
    TRY(mim__record(ctx, "prelu", bw_prelu, y, in, 2, &e));
    if (e) {
        mim__keep(e, slope);
        if (!(e->src = norm_source(ctx, x)))
            mim__keep(e, x);
    }
out:
    return done(st, y, out);
}

static mim_status bw_act(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *dx = GRAD(e->in[0]);
    if (dx)
        BE("activation backward", act_backward, (mim_act)e->iarg[0], mim_tensor_numel(e->out), dx,
           MIM__F(e->out->grad), MIM__F(e->out));
out:
    return st;
}

static mim_status act(mim_ctx *ctx, mim_act a, const char *op, mim_tensor *x, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, op));
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    BE(op, act_forward, a, mim_tensor_numel(x), MIM__F(y), MIM__F(x));
    TRY(mim__record(ctx, op, bw_act, y, &x, 1, &e));
    if (e) {
        e->iarg[0] = (int)a;
        mim__keep(e, y);
    }
out:
    return done(st, y, out);
}

mim_status mim_relu(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    return act(ctx, MIM_ACT_RELU, "relu", x, out);
}

mim_status mim_tanh(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    return act(ctx, MIM_ACT_TANH, "tanh", x, out);
}

mim_status mim_sigmoid(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    return act(ctx, MIM_ACT_SIGMOID, "sigmoid", x, out);
}

/* ---- pooling, softmax, channel sum, concat ---- */

static mim_status bw_pool(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *dx = GRAD(e->in[0]);
    if (dx)
        BE("avgpool backward", avgpool_backward, &e->pool, dx, MIM__F(e->out->grad));
out:
    return st;
}

static mim_status pool(mim_ctx *ctx, mim_tensor *x, int kh, int kw, int sh, int sw,
                       mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "avgpool"));
    if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || kh > x->ne[2] || kw > x->ne[3]) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "avgpool: kernel %dx%d stride %d on " SHP, kh, kw, sh,
                        SHAPE(x));
        goto out;
    }
    mim_pool_shape s = {
        .n = (int)x->ne[0],
        .c = (int)x->ne[1],
        .h_in = (int)x->ne[2],
        .w_in = (int)x->ne[3],
        .k_h = kh,
        .k_w = kw,
        .stride_h = sh,
        .stride_w = sw,
    };
    s.h_out = (s.h_in - kh) / sh + 1;
    s.w_out = (s.w_in - kw) / sw + 1;
    TRY(new_like(ctx, s.n, s.c, s.h_out, s.w_out, &y));
    BE("avgpool", avgpool_forward, &s, MIM__F(y), MIM__F(x));
    TRY(mim__record(ctx, "avgpool", bw_pool, y, &x, 1, &e));
    if (e)
        e->pool = s;
out:
    return done(st, y, out);
}

mim_status mim_avgpool(mim_ctx *ctx, mim_tensor *x, int k, int stride, mim_tensor **out)
{
    return pool(ctx, x, k, k, stride, stride, out);
}

mim_status mim_global_avgpool(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    MIM_ASSERT(x);
    return pool(ctx, x, (int)x->ne[2], (int)x->ne[3], (int)x->ne[2], (int)x->ne[3], out);
}

static mim_status bw_softmax(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *y = e->out;
    float *dx = GRAD(e->in[0]);
    if (dx)
        BE("softmax backward", softmax_backward, y->ne[0] * y->ne[1], y->ne[2] * y->ne[3], dx,
           MIM__F(y->grad), MIM__F(y));
out:
    return st;
}

mim_status mim_softmax_spatial(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "softmax"));
    TRY(mim__new(ctx, MIM_F32, x->ne, &y));
    BE("softmax", softmax_forward, x->ne[0] * x->ne[1], x->ne[2] * x->ne[3], MIM__F(y), MIM__F(x));
    TRY(mim__record(ctx, "softmax", bw_softmax, y, &x, 1, &e));
    mim__keep(e, y);
out:
    return done(st, y, out);
}

static mim_status bw_chsum(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0];
    float *dx = GRAD(x);
    if (dx)
        BE("channel_sum backward", channel_sum_backward, (int)x->ne[0], (int)x->ne[1],
           x->ne[2] * x->ne[3], dx, MIM__F(e->out->grad));
out:
    return st;
}

mim_status mim_channel_sum(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "channel_sum"));
    TRY(new_like(ctx, x->ne[0], 1, x->ne[2], x->ne[3], &y));
    BE("channel_sum", channel_sum_forward, (int)x->ne[0], (int)x->ne[1], x->ne[2] * x->ne[3],
       MIM__F(y), MIM__F(x));
    TRY(mim__record(ctx, "channel_sum", bw_chsum, y, &x, 1, &e));
out:
    return done(st, y, out);
}

static mim_status bw_concat(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *y = e->out;
    int off = 0;
    for (int i = 0; i < e->n_in; i++) {
        mim_tensor *x = e->in[i];
        float *dx = GRAD(x);
        if (st)
            goto out;
        if (dx)
            BE("concat backward", channel_copy, (int)x->ne[0], (int)x->ne[1], x->ne[2] * x->ne[3],
               dx, (int)x->ne[1], 0, MIM__F(y->grad), (int)y->ne[1], off, 1);
        off += (int)x->ne[1];
    }
out:
    return st;
}

mim_status mim_concat_channels(mim_ctx *ctx, mim_tensor *const *xs, int n, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st = MIM_OK;
    MIM_ASSERT(xs && n >= 1);
    if (n > MIM__MAX_IN) {
        st = mim__error(ctx, MIM_ERR_ARG, "concat: %d tensors (at most %d)", n, MIM__MAX_IN);
        goto out;
    }
    int64_t c = 0;
    for (int i = 0; i < n; i++) {
        TRY(arg(ctx, xs[i], "concat"));
        if (xs[i]->ne[0] != xs[0]->ne[0] || xs[i]->ne[2] != xs[0]->ne[2] ||
            xs[i]->ne[3] != xs[0]->ne[3]) {
            st = mim__error(ctx, MIM_ERR_SHAPE, "concat: " SHP " does not fit " SHP, SHAPE(xs[i]),
                            SHAPE(xs[0]));
            goto out;
        }
        c += xs[i]->ne[1];
    }
    TRY(new_like(ctx, xs[0]->ne[0], c, xs[0]->ne[2], xs[0]->ne[3], &y));
    int off = 0;
    for (int i = 0; i < n; i++) {
        mim_tensor *x = xs[i];
        BE("concat", channel_copy, (int)x->ne[0], (int)x->ne[1], x->ne[2] * x->ne[3], MIM__F(y),
           (int)c, off, MIM__F(x), (int)x->ne[1], 0, 0);
        off += (int)x->ne[1];
    }
    TRY(mim__record(ctx, "concat", bw_concat, y, xs, n, &e));
out:
    return done(st, y, out);
}

/* ---- matmul, linear ---- */

static mim_status bw_matmul(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *a = e->in[0], *b = e->in[1];
    int ta = e->iarg[0], tb = e->iarg[1], M = (int)e->out->ne[2], N = (int)e->out->ne[3];
    int K = ta ? (int)a->ne[2] : (int)a->ne[3];
    int nb = (int)(a->ne[0] * a->ne[1]), bcast = b->ne[0] * b->ne[1] == 1;
    int64_t sa = (int64_t)M * K, sb = bcast ? 0 : (int64_t)K * N, sc = (int64_t)M * N;
    const float *dc = MIM__F(e->out->grad);
    float *da = GRAD(a), *db = GRAD(b);
    if (st)
        goto out;
    if (da) {
        if (!ta)
            BE("matmul backward", gemm, nb, 0, !tb, M, K, N, 1.0f, dc, sc, MIM__F(b), sb, 1.0f, da,
               sa);
        else
            BE("matmul backward", gemm, nb, tb, 1, K, M, N, 1.0f, MIM__F(b), sb, dc, sc, 1.0f, da,
               sa);
    }
    if (db) {
        /* a broadcast b sums over the batches: one call per batch into the same matrix. */
        int calls = bcast ? nb : 1, per = bcast ? 1 : nb;
        for (int i = 0; i < calls; i++) {
            const float *ai = MIM__F(a) + (int64_t)i * sa, *ci = dc + (int64_t)i * sc;
            if (!tb)
                BE("matmul backward", gemm, per, !ta, 0, K, N, M, 1.0f, ai, sa, ci, sc, 1.0f, db,
                   (int64_t)K * N);
            else
                BE("matmul backward", gemm, per, 1, ta, N, K, M, 1.0f, ci, sc, ai, sa, 1.0f, db,
                   (int64_t)K * N);
        }
    }
out:
    return st;
}

mim_status mim_matmul(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, int trans_a, int trans_b,
                      mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, a, "matmul"));
    TRY(arg(ctx, b, "matmul"));
    int64_t M = trans_a ? a->ne[3] : a->ne[2], K = trans_a ? a->ne[2] : a->ne[3];
    int64_t Kb = trans_b ? b->ne[3] : b->ne[2], N = trans_b ? b->ne[2] : b->ne[3];
    int bcast = b->ne[0] * b->ne[1] == 1;
    if (K != Kb || (!bcast && (b->ne[0] != a->ne[0] || b->ne[1] != a->ne[1]))) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "matmul: a " SHP "%s · b " SHP "%s", SHAPE(a),
                        trans_a ? "ᵀ" : "", SHAPE(b), trans_b ? "ᵀ" : "");
        goto out;
    }
    TRY(new_like(ctx, a->ne[0], a->ne[1], M, N, &y));
    BE("matmul", gemm, (int)(a->ne[0] * a->ne[1]), trans_a != 0, trans_b != 0, (int)M, (int)N,
       (int)K, 1.0f, MIM__F(a), M * K, MIM__F(b), bcast ? 0 : K * N, 0.0f, MIM__F(y), M * N);
    mim_tensor *in[2] = {a, b};
    TRY(mim__record(ctx, "matmul", bw_matmul, y, in, 2, &e));
    if (e) {
        e->iarg[0] = trans_a != 0;
        e->iarg[1] = trans_b != 0;
        mim__keep(e, a);
        mim__keep(e, b);
    }
out:
    return done(st, y, out);
}

static mim_status bw_linear(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0], *w = e->in[1], *bias = e->in[2];
    int B = (int)x->ne[0], O = (int)w->ne[0], I = (int)(mim_tensor_numel(x) / B);
    const float *dy = MIM__F(e->out->grad);
    float *dx = GRAD(x), *dw = GRAD(w), *db = GRAD(bias);
    if (st)
        goto out;
    if (dx)
        BE("linear backward", gemm, 1, 0, 0, B, I, O, 1.0f, dy, 0, MIM__F(w), 0, 1.0f, dx, 0);
    if (dw)
        BE("linear backward", gemm, 1, 1, 0, O, I, B, 1.0f, dy, 0, MIM__F(x), 0, 1.0f, dw, 0);
    if (db)
        BE("linear backward", bias_backward, B, O, 1, db, dy);
out:
    return st;
}

mim_status mim_linear(mim_ctx *ctx, mim_tensor *x, mim_tensor *w, mim_tensor *bias,
                      mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "linear"));
    TRY(arg(ctx, w, "linear"));
    if (bias)
        TRY(arg(ctx, bias, "linear"));
    int64_t B = x->ne[0], I = mim_tensor_numel(x) / B, O = w->ne[0];
    if (mim_tensor_numel(w) != O * I || (bias && mim_tensor_numel(bias) != O)) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "linear: x " SHP " w " SHP " bias %lld", SHAPE(x),
                        SHAPE(w), bias ? (long long)mim_tensor_numel(bias) : -1LL);
        goto out;
    }
    TRY(new_like(ctx, B, O, 1, 1, &y));
    BE("linear", gemm, 1, 0, 1, (int)B, (int)O, (int)I, 1.0f, MIM__F(x), 0, MIM__F(w), 0, 0.0f,
       MIM__F(y), 0);
    if (bias)
        BE("linear", bias_forward, (int)B, (int)O, 1, MIM__F(y), MIM__F(bias));
    mim_tensor *in[3] = {x, w, bias};
    TRY(mim__record(ctx, "linear", bw_linear, y, in, 3, &e));
    if (e) {
        mim__keep(e, x);
        mim__keep(e, w);
    }
out:
    return done(st, y, out);
}

/* ---- elementwise ---- */

static mim_status bw_axpby(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    int64_t n = mim_tensor_numel(e->out);
    const float *dy = MIM__F(e->out->grad);
    for (int i = 0; i < e->n_in; i++) {
        float *dx = GRAD(e->in[i]);
        if (st)
            goto out;
        if (dx)
            BE("axpby backward", axpby, n, dx, 1.0f, dx, e->farg[i], dy);
    }
out:
    return st;
}

mim_status mim_axpby(mim_ctx *ctx, float alpha, mim_tensor *a, float beta, mim_tensor *b,
                     mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, a, "axpby"));
    if (b) {
        TRY(arg(ctx, b, "axpby"));
        if (!same_shape(a, b)) {
            st =
                mim__error(ctx, MIM_ERR_SHAPE, "elementwise: " SHP " and " SHP, SHAPE(a), SHAPE(b));
            goto out;
        }
    }
    TRY(mim__new(ctx, MIM_F32, a->ne, &y));
    BE("axpby", axpby, mim_tensor_numel(a), MIM__F(y), alpha, MIM__F(a), beta,
       b ? MIM__F(b) : NULL);
    mim_tensor *in[2] = {a, b};
    TRY(mim__record(ctx, "axpby", bw_axpby, y, in, b ? 2 : 1, &e));
    if (e) {
        e->farg[0] = alpha;
        e->farg[1] = beta;
    }
out:
    return done(st, y, out);
}

mim_status mim_add(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    MIM_ASSERT(b);
    return mim_axpby(ctx, 1.0f, a, 1.0f, b, out);
}

mim_status mim_sub(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    MIM_ASSERT(b);
    return mim_axpby(ctx, 1.0f, a, -1.0f, b, out);
}

mim_status mim_scale(mim_ctx *ctx, mim_tensor *a, float alpha, mim_tensor **out)
{
    return mim_axpby(ctx, alpha, a, 0.0f, NULL, out);
}

static mim_status bw_mul(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    int64_t n = mim_tensor_numel(e->out);
    const float *dy = MIM__F(e->out->grad);
    float *da = GRAD(e->in[0]), *db = GRAD(e->in[1]);
    if (st)
        goto out;
    if (da)
        BE("mul backward", mul, n, da, dy, MIM__F(e->in[1]), 1);
    if (db)
        BE("mul backward", mul, n, db, dy, MIM__F(e->in[0]), 1);
out:
    return st;
}

mim_status mim_mul(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, a, "mul"));
    TRY(arg(ctx, b, "mul"));
    if (!same_shape(a, b)) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "mul: " SHP " and " SHP, SHAPE(a), SHAPE(b));
        goto out;
    }
    TRY(mim__new(ctx, MIM_F32, a->ne, &y));
    BE("mul", mul, mim_tensor_numel(a), MIM__F(y), MIM__F(a), MIM__F(b), 0);
    mim_tensor *in[2] = {a, b};
    TRY(mim__record(ctx, "mul", bw_mul, y, in, 2, &e));
    if (e) {
        mim__keep(e, a);
        mim__keep(e, b);
    }
out:
    return done(st, y, out);
}

/* ---- reductions ---- */

static mim_status bw_reduce(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *dx = GRAD(e->in[0]);
    if (dx)
        BE("reduce backward", add_scalar_grad, mim_tensor_numel(e->in[0]), dx, e->farg[0],
           MIM__F(e->out->grad));
out:
    return st;
}

static mim_status reduce(mim_ctx *ctx, mim_tensor *x, int mean, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, x, "reduce"));
    float scale = mean ? (float)(1.0 / (double)mim_tensor_numel(x)) : 1.0f;
    TRY(new_like(ctx, 1, 1, 1, 1, &y));
    BE("reduce", reduce_sum, mim_tensor_numel(x), MIM__F(y), MIM__F(x), scale);
    TRY(mim__record(ctx, mean ? "mean" : "sum", bw_reduce, y, &x, 1, &e));
    if (e)
        e->farg[0] = scale;
out:
    return done(st, y, out);
}

mim_status mim_sum(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    return reduce(ctx, x, 0, out);
}

mim_status mim_mean(mim_ctx *ctx, mim_tensor *x, mim_tensor **out)
{
    return reduce(ctx, x, 1, out);
}

/* ---- losses ---- */

static mim_status bw_l1(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    float *da = GRAD(e->in[0]), *db = GRAD(e->in[1]);
    if (st)
        goto out;
    BE("l1 backward", l1_backward, mim_tensor_numel(e->in[0]), da, db, MIM__F(e->out->grad),
       MIM__F(e->in[0]), MIM__F(e->in[1]));
out:
    return st;
}

mim_status mim_l1_mean(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, a, "l1"));
    TRY(arg(ctx, b, "l1"));
    if (!same_shape(a, b)) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "l1: " SHP " and " SHP, SHAPE(a), SHAPE(b));
        goto out;
    }
    TRY(new_like(ctx, 1, 1, 1, 1, &y));
    BE("l1", l1_forward, mim_tensor_numel(a), MIM__F(y), MIM__F(a), MIM__F(b));
    mim_tensor *in[2] = {a, b};
    TRY(mim__record(ctx, "l1", bw_l1, y, in, 2, &e));
    if (e) {
        mim__keep(e, a);
        mim__keep(e, b);
    }
out:
    return done(st, y, out);
}

static mim_status bw_mse(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *b = e->n_in > 1 ? e->in[1] : NULL;
    float *da = GRAD(e->in[0]), *db = GRAD(b);
    if (st)
        goto out;
    BE("mse backward", mse_backward, mim_tensor_numel(e->in[0]), da, db, MIM__F(e->out->grad),
       MIM__F(e->in[0]), b ? MIM__F(b) : NULL, e->farg[0]);
out:
    return st;
}

static mim_status mse(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, float c, mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, a, "mse"));
    if (b) {
        TRY(arg(ctx, b, "mse"));
        if (!same_shape(a, b)) {
            st = mim__error(ctx, MIM_ERR_SHAPE, "mse: " SHP " and " SHP, SHAPE(a), SHAPE(b));
            goto out;
        }
    }
    TRY(new_like(ctx, 1, 1, 1, 1, &y));
    BE("mse", mse_forward, mim_tensor_numel(a), MIM__F(y), MIM__F(a), b ? MIM__F(b) : NULL, c);
    mim_tensor *in[2] = {a, b};
    TRY(mim__record(ctx, "mse", bw_mse, y, in, b ? 2 : 1, &e));
    if (e) {
        e->farg[0] = c;
        mim__keep(e, a);
        mim__keep(e, b);
    }
out:
    return done(st, y, out);
}

mim_status mim_mse_mean(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    MIM_ASSERT(b);
    return mse(ctx, a, b, 0.0f, out);
}

mim_status mim_mse_mean_const(mim_ctx *ctx, mim_tensor *a, float c, mim_tensor **out)
{
    return mse(ctx, a, NULL, c, out);
}

static mim_status bw_bce(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *z = e->in[0];
    float *dz = GRAD(z);
    if (dz)
        BE("bce backward", bce_logits_backward, (int)z->ne[0],
           (int)(mim_tensor_numel(z) / z->ne[0]), dz, MIM__F(e->out->grad), MIM__F(z),
           MIM__F(e->saved[0]), e->saved[1] ? MIM__F(e->saved[1]) : NULL);
out:
    return st;
}

mim_status mim_bce_logits(mim_ctx *ctx, mim_tensor *z, mim_tensor *y, mim_tensor *w,
                          mim_tensor **out)
{
    mim_tensor *r = NULL;
    mim__entry *e;
    mim_status st;
    TRY(arg(ctx, z, "bce"));
    TRY(arg(ctx, y, "bce"));
    int64_t K = mim_tensor_numel(z) / z->ne[0];
    if (w)
        TRY(arg(ctx, w, "bce"));
    if (!same_shape(z, y) || (w && mim_tensor_numel(w) != K)) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "bce: z " SHP " y " SHP " w %lld", SHAPE(z), SHAPE(y),
                        w ? (long long)mim_tensor_numel(w) : -1LL);
        goto out;
    }
    TRY(new_like(ctx, 1, 1, 1, 1, &r));
    BE("bce", bce_logits_forward, (int)z->ne[0], (int)K, MIM__F(r), MIM__F(z), MIM__F(y),
       w ? MIM__F(w) : NULL);
    TRY(mim__record(ctx, "bce", bw_bce, r, &z, 1, &e));
    if (e) {
        e->saved[0] = y;
        e->saved[1] = w;
        mim__keep(e, z);
        mim__keep(e, y);
        mim__keep(e, w);
    }
out:
    return done(st, r, out);
}

static mim_status bw_ce(mim_ctx *ctx, mim__entry *e)
{
    mim_status st = MIM_OK;
    mim_tensor *x = e->in[0];
    float *dx = GRAD(x);
    int64_t n = e->iarg[0], rows = mim_tensor_numel(x) / n;
    if (dx)
        BE("cross_entropy backward", cross_entropy_backward, rows, n, dx, MIM__F(e->out->grad),
           MIM__F(x), e->saved[0] ? (const int32_t *)e->saved[0]->data : NULL, e->iarg[1]);
out:
    return st;
}

/* rows of n logits; labels (rows) int32 or NULL: r % period. */
static mim_status ce(mim_ctx *ctx, mim_tensor *x, mim_tensor *labels, int64_t n, int64_t period,
                     mim_tensor **out)
{
    mim_tensor *y = NULL;
    mim__entry *e;
    mim_status st = MIM_OK;
    int64_t rows = mim_tensor_numel(x) / n;
    if (labels) {
        /* Labels are read on the host when the backend is a host one: check their range. */
        if (ctx->be->is_host) {
            const int32_t *l = labels->data;
            for (int64_t r = 0; r < rows; r++)
                if (l[r] < 0 || l[r] >= n) {
                    st = mim__error(ctx, MIM_ERR_ARG,
                                    "cross_entropy: label %d of row %lld outside [0, %lld)", l[r],
                                    (long long)r, (long long)n);
                    goto out;
                }
        }
    }
    TRY(new_like(ctx, 1, 1, 1, 1, &y));
    BE("cross_entropy", cross_entropy_forward, rows, n, MIM__F(y), MIM__F(x),
       labels ? (const int32_t *)labels->data : NULL, period);
    TRY(mim__record(ctx, "cross_entropy", bw_ce, y, &x, 1, &e));
    if (e) {
        e->saved[0] = labels;
        e->iarg[0] = (int)n;
        e->iarg[1] = (int)period;
        mim__keep(e, x);
        mim__keep(e, labels);
    }
out:
    return done(st, y, out);
}

mim_status mim_cross_entropy_positions(mim_ctx *ctx, mim_tensor *x, mim_tensor *labels,
                                       mim_tensor **out)
{
    mim_status st;
    TRY(arg(ctx, x, "cross_entropy"));
    MIM_ASSERT(labels && labels->ctx == ctx);
    if (labels->dtype != MIM_I32 || mim_tensor_numel(labels) != x->ne[0] * x->ne[1]) {
        st = mim__error(ctx, MIM_ERR_SHAPE,
                        "cross_entropy: x " SHP " needs int32 labels of %lld, got " SHP "%s",
                        SHAPE(x), (long long)(x->ne[0] * x->ne[1]), SHAPE(labels),
                        labels->dtype != MIM_I32 ? " (not int32)" : "");
        goto out;
    }
    return ce(ctx, x, labels, x->ne[2] * x->ne[3], 1, out);
out:
    *out = NULL;
    return st;
}

mim_status mim_cross_entropy_diag(mim_ctx *ctx, mim_tensor *s, mim_tensor **out)
{
    mim_status st;
    TRY(arg(ctx, s, "cross_entropy_diag"));
    if (s->ne[1] != 1 || s->ne[2] > s->ne[3]) {
        st = mim__error(ctx, MIM_ERR_SHAPE, "cross_entropy_diag: (B,1,R,N) with R <= N, got " SHP,
                        SHAPE(s));
        goto out;
    }
    return ce(ctx, s, NULL, s->ne[3], s->ne[2], out);
out:
    *out = NULL;
    return st;
}
