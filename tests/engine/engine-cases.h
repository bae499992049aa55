/* engine-cases.h: small seeded cases of every engine op, shared by the finite-difference test
 * and the backend parity test. A case builds one op (or a short chain) from its inputs; the tests
 * project its output onto a fixed random tensor R (loss = Σ out ⊙ R) to get a scalar. */
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim.h"

#define EC_MAX_IN 6

/* xorshift64* with a printed seed. */
static uint64_t ec_rng_state = 88172645463325252ULL;
static inline void ec_seed(uint64_t s)
{
    ec_rng_state = s ? s : 1;
}
static inline double ec_unif(void)
{
    ec_rng_state ^= ec_rng_state >> 12;
    ec_rng_state ^= ec_rng_state << 25;
    ec_rng_state ^= ec_rng_state >> 27;
    return (double)((ec_rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

enum { EC_SYM = 0, EC_POS = 1, EC_UNIT = 2 }; /* U(-1,1), U(0.5,1.5), U(0,1) */

typedef struct {
    const char *name;
    int n_in;
    int64_t ne[EC_MAX_IN][4];
    int grad[EC_MAX_IN]; /* input requires grad */
    int init[EC_MAX_IN];
    mim_status (*build)(mim_ctx *ctx, mim_tensor **in, mim_tensor **out);
    double parity_tol; /* normalised max error allowed between backends */
    int parity_only;   /* model-sized: too big for finite differences */
} ec_case;

#define TRYB(x)                                                                                    \
    do {                                                                                           \
        mim_status s_ = (x);                                                                       \
        if (s_)                                                                                    \
            return s_;                                                                             \
    } while (0)

static mim_status b_conv_a(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], in[2], 1, 1, 1, o);
}
static mim_status b_conv_s2(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], NULL, 2, 1, 1, o);
}
static mim_status b_conv_g(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], in[2], 1, 1, 2, o);
}
static mim_status b_conv_p0(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], in[2], 2, 0, 1, o);
}
static mim_status b_bn_train(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_batchnorm(c, in[0], in[1], in[2], in[3], in[4], 1, 0.1f, 1e-5f, o);
}
static mim_status b_bn_eval(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_batchnorm(c, in[0], in[1], in[2], in[3], in[4], 0, 0.1f, 1e-5f, o);
}
static mim_status b_in(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_instancenorm(c, in[0], 1e-5f, o);
}
static mim_status b_prelu(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_prelu(c, in[0], in[1], o);
}
static mim_status b_relu(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_relu(c, in[0], o);
}
static mim_status b_tanh(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_tanh(c, in[0], o);
}
static mim_status b_sigmoid(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_sigmoid(c, in[0], o);
}
static mim_status b_pool2(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_avgpool(c, in[0], 2, 2, o);
}
static mim_status b_pool4(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_avgpool(c, in[0], 4, 4, o);
}
static mim_status b_gap(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_global_avgpool(c, in[0], o);
}
static mim_status b_softmax(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_softmax_spatial(c, in[0], o);
}
static mim_status b_chsum(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_channel_sum(c, in[0], o);
}
static mim_status b_concat(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_concat_channels(c, in, 3, o);
}
static mim_status b_mm(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_matmul(c, in[0], in[1], 0, 0, o);
}
static mim_status b_mm_ta(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_matmul(c, in[0], in[1], 1, 0, o);
}
static mim_status b_mm_tb(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_matmul(c, in[0], in[1], 0, 1, o);
}
static mim_status b_mm_tatb_bc(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_matmul(c, in[0], in[1], 1, 1, o);
}
static mim_status b_linear(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_linear(c, in[0], in[1], in[2], o);
}
static mim_status b_add(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_add(c, in[0], in[1], o);
}
static mim_status b_sub(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_sub(c, in[0], in[1], o);
}
static mim_status b_mul(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_mul(c, in[0], in[1], o);
}
static mim_status b_scale(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_scale(c, in[0], -2.5f, o);
}
static mim_status b_axpby(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_axpby(c, 0.75f, in[0], -1.5f, in[1], o);
}
static mim_status b_sum(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_sum(c, in[0], o);
}
static mim_status b_mean(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_mean(c, in[0], o);
}
static mim_status b_l2n(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_l2norm_channels(c, in[0], 1e-12f, o);
}
static mim_status b_l1(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_l1_mean(c, in[0], in[1], o);
}
static mim_status b_mse(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_mse_mean(c, in[0], in[1], o);
}
static mim_status b_mse_c(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_mse_mean_const(c, in[0], 1.0f / 1936.0f, o);
}
static mim_status b_bce(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_bce_logits(c, in[0], in[1], in[2], o);
}
static mim_status b_ce(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    mim_tensor *lab;
    int64_t rows = in[0]->ne[0] * in[0]->ne[1], n = in[0]->ne[2] * in[0]->ne[3];
    static int32_t l[4096];
    if (rows > 4096)
        return MIM_ERR_SHAPE;
    for (int64_t r = 0; r < rows; r++)
        l[r] = (int32_t)((r * 7 + 3) % n);
    TRYB(mim_tensor_new(c, MIM_I32, in[0]->ne[0], in[0]->ne[1], 1, 1, &lab));
    TRYB(mim_tensor_set(lab, l, (size_t)rows * 4));
    return mim_cross_entropy_positions(c, in[0], lab, o);
}
static mim_status b_ce_diag(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    mim_tensor *s;
    /* InfoNCE shape: u (B,C,cells) · v -> (B,1,cells,cells) scaled by 1/τ. */
    mim_tensor *u, *v;
    TRYB(mim_reshape(c, in[0], in[0]->ne[0], 1, in[0]->ne[1], in[0]->ne[2] * in[0]->ne[3], &u));
    TRYB(mim_reshape(c, in[1], in[1]->ne[0], 1, in[1]->ne[1], in[1]->ne[2] * in[1]->ne[3], &v));
    TRYB(mim_matmul(c, u, v, 1, 0, &s));
    TRYB(mim_scale(c, s, 10.0f, &s));
    return mim_cross_entropy_diag(c, s, o);
}
static mim_status b_conv_s2b(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], in[2], 2, 1, 1, o);
}
static mim_status b_conv_g6(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    return mim_conv2d(c, in[0], in[1], in[2], 1, 1, 6, o);
}
static mim_status b_softmax_chsum(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    mim_tensor *s;
    TRYB(mim_softmax_spatial(c, in[0], &s));
    return mim_channel_sum(c, s, o);
}
static mim_status b_prelu_tanh(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    mim_tensor *p;
    TRYB(mim_prelu(c, in[0], in[1], &p));
    return mim_tanh(c, p, o);
}
static mim_status b_views(mim_ctx *c, mim_tensor **in, mim_tensor **o)
{
    mim_tensor *a, *b;
    TRYB(mim_slice_batch(c, in[0], 1, 2, &a));
    TRYB(mim_reshape(c, a, 2, 6, 2, 1, &b));
    return mim_tanh(c, b, o);
}

/* clang-format off */
static const ec_case ec_cases[] = {
    {"conv2d 3x3 s1 p1 bias", 3, {{2,3,5,5},{4,3,3,3},{4,1,1,1}}, {1,1,1}, {0}, b_conv_a, 1e-5},
    {"conv2d 4x4 s2 p1", 2, {{2,4,6,6},{3,4,4,4}}, {1,1}, {0}, b_conv_s2, 1e-5},
    {"conv2d 3x3 groups 2", 3, {{1,4,5,5},{6,2,3,3},{6,1,1,1}}, {1,1,1}, {0}, b_conv_g, 1e-5},
    {"conv2d 4x4 s2 p0 to 1x1", 3, {{2,3,4,4},{2,3,4,4},{2,1,1,1}}, {1,1,1}, {0}, b_conv_p0, 1e-5},
    {"batchnorm train", 5, {{3,4,3,3},{4,1,1,1},{4,1,1,1},{4,1,1,1},{4,1,1,1}}, {1,1,1,0,0},
     {EC_SYM,EC_POS,EC_SYM,EC_SYM,EC_POS}, b_bn_train, 1e-5},
    {"batchnorm eval", 5, {{2,4,3,3},{4,1,1,1},{4,1,1,1},{4,1,1,1},{4,1,1,1}}, {1,1,1,0,0},
     {EC_SYM,EC_POS,EC_SYM,EC_SYM,EC_POS}, b_bn_eval, 1e-5},
    {"instancenorm", 1, {{2,3,4,4}}, {1}, {0}, b_in, 1e-5},
    {"prelu", 2, {{2,3,4,4},{1,1,1,1}}, {1,1}, {EC_SYM,EC_UNIT}, b_prelu, 1e-6},
    {"relu", 1, {{2,3,4,4}}, {1}, {0}, b_relu, 1e-6},
    {"tanh", 1, {{2,3,4,4}}, {1}, {0}, b_tanh, 1e-6},
    {"sigmoid", 1, {{2,3,4,4}}, {1}, {0}, b_sigmoid, 1e-6},
    {"avgpool 2/2", 1, {{2,3,6,6}}, {1}, {0}, b_pool2, 1e-6},
    {"avgpool 4/4", 1, {{1,2,9,8}}, {1}, {0}, b_pool4, 1e-6},
    {"global avgpool", 1, {{2,3,5,4}}, {1}, {0}, b_gap, 1e-6},
    {"softmax spatial", 1, {{2,3,3,4}}, {1}, {0}, b_softmax, 1e-5},
    {"channel sum", 1, {{2,4,3,3}}, {1}, {0}, b_chsum, 1e-6},
    {"concat channels", 3, {{2,1,3,3},{2,3,3,3},{2,2,3,3}}, {1,0,1}, {0}, b_concat, 1e-6},
    {"matmul", 2, {{2,1,3,4},{2,1,4,5}}, {1,1}, {0}, b_mm, 1e-5},
    {"matmul trans_a", 2, {{2,3,4,3},{2,3,4,5}}, {1,1}, {0}, b_mm_ta, 1e-5},
    {"matmul trans_b", 2, {{1,2,3,4},{1,2,5,4}}, {1,1}, {0}, b_mm_tb, 1e-5},
    {"matmul trans_a trans_b broadcast b", 2, {{2,2,4,3},{1,1,5,4}}, {1,1}, {0}, b_mm_tatb_bc, 1e-5},
    {"linear", 3, {{3,5,1,1},{4,5,1,1},{4,1,1,1}}, {1,1,1}, {0}, b_linear, 1e-5},
    {"add", 2, {{2,3,2,2},{2,3,2,2}}, {1,1}, {0}, b_add, 1e-6},
    {"sub", 2, {{2,3,2,2},{2,3,2,2}}, {1,1}, {0}, b_sub, 1e-6},
    {"mul", 2, {{2,3,2,2},{2,3,2,2}}, {1,1}, {0}, b_mul, 1e-6},
    {"scale", 1, {{2,3,2,2}}, {1}, {0}, b_scale, 1e-6},
    {"axpby", 2, {{2,3,2,2},{2,3,2,2}}, {1,1}, {0}, b_axpby, 1e-6},
    {"sum", 1, {{2,3,4,4}}, {1}, {0}, b_sum, 1e-5},
    {"mean", 1, {{2,3,4,4}}, {1}, {0}, b_mean, 1e-5},
    {"l2norm channels", 1, {{2,5,3,3}}, {1}, {0}, b_l2n, 1e-5},
    {"l1 mean", 2, {{2,3,3,3},{2,3,3,3}}, {1,1}, {0}, b_l1, 1e-5},
    {"mse mean", 2, {{2,3,3,3},{2,3,3,3}}, {1,1}, {0}, b_mse, 1e-5},
    {"mse mean const", 1, {{2,3,3,3}}, {1}, {0}, b_mse_c, 1e-5},
    {"bce logits weighted", 3, {{3,6,1,1},{3,6,1,1},{6,1,1,1}}, {1,0,0}, {EC_SYM,EC_UNIT,EC_POS},
     b_bce, 1e-5},
    {"cross entropy positions", 1, {{2,3,4,5}}, {1}, {0}, b_ce, 1e-5},
    {"infonce cross entropy diag", 2, {{2,4,3,3},{2,4,3,3}}, {1,1}, {0}, b_ce_diag, 1e-5},
    {"slice batch + reshape", 1, {{3,3,2,2}}, {1}, {0}, b_views, 1e-6},
    /* model-sized (MODEL.md §3 shapes at batch 2): parity only */
    {"model conv 64->64 3x3 44x44", 3, {{2,64,44,44},{64,64,3,3},{64,1,1,1}}, {1,1,1}, {0},
     b_conv_a, 1e-5, 1},
    {"model conv 3->32 3x3 88x88", 3, {{2,3,88,88},{32,3,3,3},{32,1,1,1}}, {0,1,1}, {0},
     b_conv_a, 1e-5, 1},
    {"model conv 64->64 4/2/1 44->22", 3, {{2,64,44,44},{64,64,4,4},{64,1,1,1}}, {1,1,1}, {0},
     b_conv_s2b, 1e-5, 1},
    {"model conv 6x64 groups 6 22x22", 3, {{2,384,22,22},{384,64,3,3},{384,1,1,1}}, {1,1,1}, {0},
     b_conv_g6, 1e-5, 1},
    {"model batchnorm 64ch 44x44", 5, {{2,64,44,44},{64,1,1,1},{64,1,1,1},{64,1,1,1},{64,1,1,1}},
     {1,1,1,0,0}, {EC_SYM,EC_POS,EC_SYM,EC_SYM,EC_POS}, b_bn_train, 1e-5, 1},
    {"model instancenorm 64ch 44x44", 1, {{2,64,44,44}}, {1}, {0}, b_in, 1e-5, 1},
    {"model prelu + tanh 64ch 44x44", 2, {{2,64,44,44},{1,1,1,1}}, {1,1}, {EC_SYM,EC_UNIT},
     b_prelu_tanh, 1e-5, 1},
    {"model avgpool 2/2 32ch 88x88", 1, {{2,32,88,88}}, {1}, {0}, b_pool2, 1e-6, 1},
    {"model softmax + channel sum 49x44x44", 1, {{2,49,44,44}}, {1}, {0}, b_softmax_chsum, 1e-5, 1},
    {"model cross entropy 49x1936", 1, {{2,49,44,44}}, {1}, {0}, b_ce, 1e-5, 1},
    {"model infonce 64ch 11x11", 2, {{2,64,11,11},{2,64,11,11}}, {1,1}, {0}, b_ce_diag, 1e-5, 1},
};
/* clang-format on */
#define EC_N_CASES ((int)(sizeof ec_cases / sizeof ec_cases[0]))

/* One case instantiated in a context: persistent inputs (host copies kept), the projection R. */
typedef struct {
    const ec_case *c;
    mim_ctx *ctx;
    mim_tensor *in[EC_MAX_IN];
    float *host[EC_MAX_IN];
    float *r; /* projection, numel of the output */
    int64_t n_out;
    int64_t out_ne[4];
} ec_inst;

static inline int64_t ec_numel(const int64_t ne[4])
{
    return ne[0] * ne[1] * ne[2] * ne[3];
}

/* Creates the inputs from the RNG (call ec_seed first for identical inputs across backends). */
static inline mim_status ec_inst_init(ec_inst *it, const ec_case *c, mim_ctx *ctx)
{
    memset(it, 0, sizeof *it);
    it->c = c;
    it->ctx = ctx;
    for (int i = 0; i < c->n_in; i++) {
        const int64_t *ne = c->ne[i];
        int64_t n = ec_numel(ne);
        TRYB(mim_tensor_new_persist(ctx, MIM_F32, ne[0], ne[1], ne[2], ne[3], &it->in[i]));
        it->host[i] = malloc(sizeof(float) * n);
        for (int64_t j = 0; j < n; j++) {
            double u = ec_unif();
            it->host[i][j] = (float)(c->init[i] == EC_POS    ? 0.5 + u
                                     : c->init[i] == EC_UNIT ? u
                                                             : 2 * u - 1);
        }
        TRYB(mim_tensor_set(it->in[i], it->host[i], sizeof(float) * n));
        if (c->grad[i])
            mim_tensor_set_requires_grad(it->in[i], 1);
    }
    /* output shape from one forward without grad */
    int old = mim_ctx_set_grad(ctx, 0);
    mim_tensor *out;
    mim_status st = c->build(ctx, it->in, &out);
    mim_ctx_set_grad(ctx, old);
    if (st)
        return st;
    memcpy(it->out_ne, out->ne, sizeof it->out_ne);
    it->n_out = mim_tensor_numel(out);
    it->r = malloc(sizeof(float) * it->n_out);
    for (int64_t j = 0; j < it->n_out; j++)
        it->r[j] = (float)(2 * ec_unif() - 1);
    mim_ctx_reset_step(ctx);
    return MIM_OK;
}

static inline void ec_inst_free(ec_inst *it)
{
    for (int i = 0; i < EC_MAX_IN; i++)
        free(it->host[i]);
    free(it->r);
}

/* Forward (grad off): loss = Σ out ⊙ R in double; out copied to out_host when non-NULL. */
static inline mim_status ec_forward(ec_inst *it, double *loss, float *out_host)
{
    mim_ctx_reset_step(it->ctx);
    int old = mim_ctx_set_grad(it->ctx, 0);
    mim_tensor *out;
    mim_status st = it->c->build(it->ctx, it->in, &out);
    mim_ctx_set_grad(it->ctx, old);
    if (st)
        return st;
    float *o = out_host ? out_host : malloc(sizeof(float) * it->n_out);
    st = mim_tensor_get(out, o, sizeof(float) * it->n_out);
    double s = 0.0;
    for (int64_t j = 0; j < it->n_out && !st; j++)
        s += (double)o[j] * it->r[j];
    if (!out_host)
        free(o);
    *loss = s;
    return st;
}

/* Forward + backward of Σ out ⊙ R through the engine; grads[i] (numel of input i) receives the
 * gradient of each input that requires grad. */
static inline mim_status ec_backward2(ec_inst *it, float **grads, int twice)
{
    mim_ctx *ctx = it->ctx;
    mim_ctx_reset_step(ctx);
    mim_tensor *out, *r, *p, *loss;
    TRYB(it->c->build(ctx, it->in, &out));
    if (twice) {
        /* the op applied twice: its backward must add to the gradients, not overwrite them */
        mim_tensor *out2;
        TRYB(it->c->build(ctx, it->in, &out2));
        TRYB(mim_add(ctx, out, out2, &out));
    }
    TRYB(mim_tensor_new(ctx, MIM_F32, out->ne[0], out->ne[1], out->ne[2], out->ne[3], &r));
    TRYB(mim_tensor_set(r, it->r, sizeof(float) * it->n_out));
    TRYB(mim_mul(ctx, out, r, &p));
    TRYB(mim_sum(ctx, p, &loss));
    for (int i = 0; i < it->c->n_in; i++)
        if (it->c->grad[i] && it->in[i]->grad)
            TRYB(mim_tensor_fill(it->in[i]->grad, 0.0f));
    TRYB(mim_backward(ctx, loss));
    for (int i = 0; i < it->c->n_in; i++) {
        if (!it->c->grad[i])
            continue;
        if (!it->in[i]->grad)
            return MIM_ERR_STATE;
        TRYB(mim_tensor_get(it->in[i]->grad, grads[i], sizeof(float) * ec_numel(it->c->ne[i])));
    }
    return MIM_OK;
}

static inline mim_status ec_backward(ec_inst *it, float **grads)
{
    return ec_backward2(it, grads, 0);
}
