/* mim-aunet.c: the AU network's modules, snapshot, inference and files on the engine API. */
#include "mim-aunet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-private.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != MIM_OK)                                                                          \
            goto out;                                                                              \
    } while (0)

enum { NORM_NONE, NORM_BN, NORM_IN };
enum { ACT_NONE, ACT_PRELU };

/* One conv layer with its optional norm and activation; indices are layout params (-1: none). */
typedef struct {
    int w, b, stride, pad, groups;
    int norm, bn_w, bn_b, bn_m, bn_v;
    int act, slope;
} layer;

#define MAX_LAYERS 6

typedef struct {
    layer l[MAX_LAYERS];
    int n;
} stack;

struct mim_aunet {
    mim_ctx *ctx;
    mim_aunet_layout *layout;
    mim_tensor **p;    /* [n_params] */
    mim_tensor **snap; /* [n_params]: El* copies of El's params, NULL elsewhere */
    stack ef, el, eb, g, dl, ds, dt, fau, proj[3];
    int el_head, dl_head, fau_fc_w, fau_fc_b;
    char err[512];
    /* inference plan (mim__backend_ext.aunet_infer) */
    mim_backend *be; /* the context's, which holds the plans' memory */
    void *plan_cache;
    int plan_off, plan_used, precision; /* precision: -1 follows the backend */
    char plan_why[512];
};

static int P(const mim_aunet *m, const char *fmt, ...)
{
    char name[MIM_AUNET_NAME_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int i = mim_aunet_layout_find_param(m->layout, name);
    MIM_ASSERT(i >= 0);
    return i;
}

static layer conv_layer(const mim_aunet *m, const char *prefix, int stride, int pad, int groups)
{
    layer L = {.stride = stride,
               .pad = pad,
               .groups = groups,
               .bn_w = -1,
               .bn_b = -1,
               .bn_m = -1,
               .bn_v = -1,
               .slope = -1};
    L.w = P(m, "%s.weight", prefix);
    L.b = P(m, "%s.bias", prefix);
    return L;
}

static void with_bn(const mim_aunet *m, layer *L, const char *prefix)
{
    L->norm = NORM_BN;
    L->bn_w = P(m, "%s.weight", prefix);
    L->bn_b = P(m, "%s.bias", prefix);
    L->bn_m = P(m, "%s.running_mean", prefix);
    L->bn_v = P(m, "%s.running_var", prefix);
}

static void with_prelu(const mim_aunet *m, layer *L, const char *name)
{
    L->act = ACT_PRELU;
    L->slope = P(m, "%s", name);
}

static void build_stacks(mim_aunet *m)
{
    char a[64], b[64];
    static const int ef_at[4] = {0, 3, 7, 10};
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "Ef.net.%d", ef_at[i]);
        layer L = conv_layer(m, a, 1, 1, 1);
        snprintf(a, sizeof a, "Ef.net.%d", ef_at[i] + 1);
        with_bn(m, &L, a);
        snprintf(b, sizeof b, "Ef.net.%d.weight", ef_at[i] + 2);
        with_prelu(m, &L, b);
        m->ef.l[m->ef.n++] = L;
    }
    struct {
        stack *s;
        const char *prefix;
    } in4[3] = {{&m->el, "El.body"}, {&m->eb, "Eb.net"}, {&m->dl, "Dl.net"}};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++) {
            snprintf(a, sizeof a, "%s.%d", in4[k].prefix, 3 * i);
            layer L = conv_layer(m, a, 1, 1, 1);
            L.norm = NORM_IN;
            snprintf(b, sizeof b, "%s.%d.weight", in4[k].prefix, 3 * i + 2);
            with_prelu(m, &L, b);
            in4[k].s->l[in4[k].s->n++] = L;
        }
    m->el_head = P(m, "El.head.weight");
    m->dl_head = P(m, "Dl.net.12.weight");
    for (int i = 0; i < 5; i++) {
        snprintf(a, sizeof a, "G.net.%d", 3 * i);
        layer L = conv_layer(m, a, 1, 1, 1);
        L.norm = NORM_IN;
        snprintf(b, sizeof b, "G.net.%d.weight", 3 * i + 2);
        with_prelu(m, &L, b);
        m->g.l[m->g.n++] = L;
    }
    stack *d[2] = {&m->ds, &m->dt};
    const char *dn[2] = {"Ds", "Dt"};
    static const int conv_at[4] = {0, 3, 6, 9}, prelu_at[4] = {2, 5, 8, 10};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 4; i++) {
            snprintf(a, sizeof a, "%s.net.%d", dn[k], conv_at[i]);
            layer L = conv_layer(m, a, 2, i < 3 ? 1 : 0, 1);
            L.norm = i < 3 ? NORM_IN : NORM_NONE;
            snprintf(b, sizeof b, "%s.net.%d.weight", dn[k], prelu_at[i]);
            with_prelu(m, &L, b);
            d[k]->l[d[k]->n++] = L;
        }
        snprintf(a, sizeof a, "%s.net.11", dn[k]);
        d[k]->l[d[k]->n++] = conv_layer(m, a, 1, 0, 1);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(a, sizeof a, "Fau.c%d", i + 1);
        layer L = conv_layer(m, a, 1, 1, 1);
        if (i < 3) {
            snprintf(a, sizeof a, "Fau.bn%d", i + 1);
            with_bn(m, &L, a);
            snprintf(b, sizeof b, "Fau.prelu%d.weight", i + 1);
            with_prelu(m, &L, b);
        }
        m->fau.l[m->fau.n++] = L;
    }
    m->fau_fc_w = P(m, "Fau.fc.weight");
    m->fau_fc_b = P(m, "Fau.fc.bias");
    const char *pn[3] = {"Pf", "Pl", "Pb"};
    for (int k = 0; k < 3; k++) {
        snprintf(a, sizeof a, "%s.fc1", pn[k]);
        m->proj[k].l[m->proj[k].n++] = conv_layer(m, a, 1, 0, 1);
        snprintf(a, sizeof a, "%s.fc2", pn[k]);
        m->proj[k].l[m->proj[k].n++] = conv_layer(m, a, 1, 0, 1);
    }
}

static void shape4(const mim_aunet_param *q, int64_t ne[4])
{
    for (int d = 0; d < 4; d++)
        ne[d] = d < q->n_dim ? q->shape[d] : 1;
}

mim_status mim_aunet_new(mim_ctx *ctx, int n_au, int n_land, uint64_t seed, mim_aunet **out)
{
    mim_status st = MIM_OK;
    *out = NULL;
    mim_aunet *m = calloc(1, sizeof *m);
    float **host = NULL;
    if (!m)
        return MIM_ERR_NOMEM;
    m->ctx = ctx;
    m->be = mim_ctx_backend(ctx);
    m->precision = -1;
    m->layout = mim_aunet_layout_new(n_au, n_land);
    if (!m->layout) {
        free(m);
        return MIM_ERR_ARG;
    }
    const mim_aunet_layout *l = m->layout;
    m->p = calloc((size_t)l->n_params, sizeof *m->p);
    m->snap = calloc((size_t)l->n_params, sizeof *m->snap);
    host = calloc((size_t)l->n_params, sizeof *host);
    if (!m->p || !m->snap || !host) {
        st = MIM_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < l->n_params; i++) {
        const mim_aunet_param *q = &l->params[i];
        int64_t ne[4];
        shape4(q, ne);
        const char *mod = mim_aunet_module_name(q->module);
        if (q->trainable)
            TRY(mim_param_new(ctx, mod, q->name, (int)mim_aunet_module_group(q->module), ne[0],
                              ne[1], ne[2], ne[3], &m->p[i]));
        else
            TRY(mim_buffer_new(ctx, mod, q->name, ne[0], ne[1], ne[2], ne[3], &m->p[i]));
        if (q->module == MIM_AUNET_EL) {
            TRY(mim_param_new(ctx, "El*", q->name, -1, ne[0], ne[1], ne[2], ne[3], &m->snap[i]));
            mim_param_set_frozen(m->snap[i], 1);
        }
        host[i] = malloc(q->numel * sizeof(float));
        if (!host[i]) {
            st = MIM_ERR_NOMEM;
            goto out;
        }
    }
    mim_rng rng;
    mim_rng_seed(&rng, seed);
    mim_aunet_layout_init(l, &rng, host);
    TRY(mim_aunet_set_params(m, (const float *const *)host));
    build_stacks(m);
out:
    if (host)
        for (int i = 0; i < l->n_params; i++)
            free(host[i]);
    free(host);
    if (st != MIM_OK) {
        mim_aunet_free(m);
        return st;
    }
    *out = m;
    return MIM_OK;
}

void mim_aunet_free(mim_aunet *m)
{
    if (!m)
        return;
    if (m->plan_cache) {
        const mim__backend_ext *ext = mim__backend_ext_of(m->be);
        if (ext && ext->aunet_infer_free)
            ext->aunet_infer_free(m->be, m->plan_cache);
    }
    free(m->p);
    free(m->snap);
    mim_aunet_layout_free(m->layout);
    free(m);
}

const mim_aunet_layout *mim_aunet_get_layout(const mim_aunet *m)
{
    return m->layout;
}

mim_ctx *mim_aunet_get_ctx(const mim_aunet *m)
{
    return m->ctx;
}

mim_tensor *mim_aunet_tensor(const mim_aunet *m, int p)
{
    return m->p[p];
}

const char *mim_aunet_last_error(const mim_aunet *m)
{
    return m->err;
}

mim_status mim_aunet_set_params(mim_aunet *m, const float *const *src)
{
    mim_status st = MIM_OK;
    for (int i = 0; i < m->layout->n_params; i++) {
        size_t n = m->layout->params[i].numel * sizeof(float);
        TRY(mim_tensor_set(m->p[i], src[i], n));
    }
out:
    return st;
}

mim_status mim_aunet_get_params(const mim_aunet *m, float *const *dst)
{
    mim_status st = MIM_OK;
    for (int i = 0; i < m->layout->n_params; i++) {
        size_t n = m->layout->params[i].numel * sizeof(float);
        TRY(mim_tensor_get(m->p[i], dst[i], n));
    }
out:
    return st;
}

static float **alloc_host(const mim_aunet_layout *l)
{
    float **h = calloc((size_t)l->n_params, sizeof *h);
    if (!h)
        return NULL;
    for (int i = 0; i < l->n_params; i++) {
        h[i] = malloc(l->params[i].numel * sizeof(float));
        if (!h[i]) {
            for (int j = 0; j < i; j++)
                free(h[j]);
            free(h);
            return NULL;
        }
    }
    return h;
}

static void free_host(const mim_aunet_layout *l, float **h)
{
    if (!h)
        return;
    for (int i = 0; i < l->n_params; i++)
        free(h[i]);
    free(h);
}

mim_status mim_aunet_set_flat(mim_aunet *m, const float *flat)
{
    float **h = alloc_host(m->layout);
    if (!h)
        return MIM_ERR_NOMEM;
    mim_aunet_layout_scatter(m->layout, flat, h);
    mim_status st = mim_aunet_set_params(m, (const float *const *)h);
    free_host(m->layout, h);
    return st;
}

mim_status mim_aunet_get_flat(const mim_aunet *m, float *flat)
{
    float **h = alloc_host(m->layout);
    if (!h)
        return MIM_ERR_NOMEM;
    mim_status st = mim_aunet_get_params(m, h);
    if (st == MIM_OK)
        mim_aunet_layout_gather(m->layout, (const float *const *)h, flat);
    free_host(m->layout, h);
    return st;
}

mim_status mim_aunet_save(const mim_aunet *m, const char *path, const mim_aunet_info *info)
{
    float **h = alloc_host(m->layout);
    if (!h) {
        mim_errf(((mim_aunet *)m)->err, sizeof m->err, "out of memory saving %s", path);
        return MIM_ERR_NOMEM;
    }
    mim_status st = mim_aunet_get_params(m, h);
    if (st == MIM_OK && mim_aunet_file_write(path, m->layout, (const float *const *)h, info,
                                             ((mim_aunet *)m)->err, sizeof m->err))
        st = MIM_ERR_IO;
    free_host(m->layout, h);
    return st;
}

mim_status mim_aunet_load(mim_aunet *m, const char *path, mim_aunet_info *info)
{
    mim_st_file *f = NULL;
    if (mim_st_open(path, &f, m->err, sizeof m->err))
        return MIM_ERR_FORMAT;
    mim_status st = MIM_OK;
    float **h = alloc_host(m->layout);
    if (!h) {
        mim_errf(m->err, sizeof m->err, "out of memory loading %s", path);
        st = MIM_ERR_NOMEM;
    } else if (mim_aunet_file_info(f, info, m->err, sizeof m->err) ||
               mim_aunet_file_load(f, m->layout, h, m->err, sizeof m->err)) {
        st = MIM_ERR_FORMAT;
    } else {
        st = mim_aunet_set_params(m, (const float *const *)h);
    }
    free_host(m->layout, h);
    mim_st_close(f);
    return st;
}

/* ---- modules ----
 * Every intermediate tensor is released as soon as the next op has consumed it: the ops keep what
 * their backward reads (a convolution's input, a norm's input, an activation's output), the rest
 * goes back to the step arena at once (a norm's output, read by its PReLU, where the backend
 * recomputes it in the backward; pooled and tanh inputs). The caller's inputs and the module
 * outputs stay the caller's. */

/* Releases x, an intermediate the next op has consumed, unless it is the caller's input (keep). */
static void drop(mim_tensor *x, const mim_tensor *keep)
{
    if (x != keep)
        mim_tensor_release(x);
}

static mim_status run_layer(mim_aunet *m, const layer *L, mim_tensor *const *params, mim_tensor *x,
                            int training, mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_tensor *y = NULL, *z = NULL;
    TRY(mim_conv2d(m->ctx, x, params[L->w], params[L->b], L->stride, L->pad, L->groups, &y));
    if (L->norm == NORM_BN)
        TRY(mim_batchnorm(m->ctx, y, params[L->bn_w], params[L->bn_b], params[L->bn_m],
                          params[L->bn_v], training, 0.1f, 1e-5f, &z));
    else if (L->norm == NORM_IN)
        TRY(mim_instancenorm(m->ctx, y, 1e-5f, &z));
    if (z) {
        mim_tensor_release(y);
        y = z;
    }
    if (L->act == ACT_PRELU) {
        TRY(mim_prelu(m->ctx, y, params[L->slope], &z));
        mim_tensor_release(y);
        y = z;
    }
    *out = y;
out:
    return st;
}

/* The layers of s on x (the caller's, kept). */
static mim_status run_stack(mim_aunet *m, const stack *s, mim_tensor *const *params, mim_tensor *x,
                            int training, mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_tensor *h = x, *y = NULL;
    for (int i = 0; i < s->n; i++) {
        TRY(run_layer(m, &s->l[i], params, h, training, &y));
        drop(h, x);
        h = y;
    }
    *out = h;
out:
    return st;
}

/* out = tanh(h); h released. */
static mim_status tanh_drop(mim_aunet *m, mim_tensor *h, mim_tensor **out)
{
    mim_status st = mim_tanh(m->ctx, h, out);
    if (st == MIM_OK)
        mim_tensor_release(h);
    return st;
}

mim_status mim_aunet_ef(mim_aunet *m, mim_tensor *x, int training, mim_tensor **f)
{
    mim_status st = MIM_OK;
    mim_tensor *y = x, *z = NULL;
    for (int i = 0; i < 4; i++) {
        TRY(run_layer(m, &m->ef.l[i], m->p, y, training, &z));
        drop(y, x);
        y = z;
        if (i == 1 || i == 3) {
            TRY(mim_avgpool(m->ctx, y, 2, 2, &z));
            mim_tensor_release(y);
            y = z;
        }
    }
    TRY(tanh_drop(m, y, f));
out:
    return st;
}

mim_status mim_aunet_el(mim_aunet *m, mim_tensor *f, int snapshot, mim_tensor **M, mim_tensor **A,
                        mim_tensor **H)
{
    mim_status st = MIM_OK;
    mim_tensor *const *params = snapshot ? m->snap : m->p;
    mim_tensor *h = NULL, *logits = NULL, *sm = NULL, *a = NULL;
    TRY(run_stack(m, &m->el, params, f, 1, &h));
    TRY(tanh_drop(m, h, &h));
    TRY(mim_conv2d(m->ctx, h, params[m->el_head], params[m->el_head + 1], 1, 1, 1, &logits));
    if (A) {
        TRY(mim_softmax_spatial(m->ctx, logits, &sm));
        TRY(mim_channel_sum(m->ctx, sm, &a));
        mim_tensor_release(sm);
        *A = a;
    }
    if (M)
        *M = logits;
    else
        mim_tensor_release(logits);
    if (H)
        *H = h;
    else
        mim_tensor_release(h);
out:
    return st;
}

mim_status mim_aunet_eb(mim_aunet *m, mim_tensor *f, mim_tensor **b)
{
    mim_status st = MIM_OK;
    mim_tensor *h = NULL;
    TRY(run_stack(m, &m->eb, m->p, f, 1, &h));
    TRY(tanh_drop(m, h, b));
out:
    return st;
}

mim_status mim_aunet_g(mim_aunet *m, mim_tensor *a, mim_tensor *fb, mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_tensor *xs[2] = {a, fb}, *x = NULL, *h = NULL;
    TRY(mim_concat_channels(m->ctx, xs, 2, &x));
    TRY(run_stack(m, &m->g, m->p, x, 1, &h));
    mim_tensor_release(x);
    TRY(tanh_drop(m, h, out));
out:
    return st;
}

mim_status mim_aunet_dl(mim_aunet *m, mim_tensor *f, mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_tensor *h = NULL;
    TRY(run_stack(m, &m->dl, m->p, f, 1, &h));
    TRY(mim_conv2d(m->ctx, h, m->p[m->dl_head], m->p[m->dl_head + 1], 1, 1, 1, out));
    mim_tensor_release(h);
out:
    return st;
}

mim_status mim_aunet_dfeat(mim_aunet *m, mim_aunet_module which, mim_tensor *f, mim_tensor **out)
{
    MIM_ASSERT(which == MIM_AUNET_DS || which == MIM_AUNET_DT);
    return run_stack(m, which == MIM_AUNET_DS ? &m->ds : &m->dt, m->p, f, 1, out);
}

/* Fau runs branch by branch, like the reference: each branch's weights are batch-dimension views
 * of the fused params (branch a owns rows [64a, 64a+64) of every conv weight, bias and BN vector,
 * row a of the PReLU slopes and of the fully connected weight and bias). */
static mim_status fau_branch(mim_aunet *m, mim_tensor *f, int a, int training, mim_tensor **out)
{
    mim_status st = MIM_OK;
    const int64_t F = MIM_AUNET_FEAT;
    mim_tensor *h = f, *y = NULL, *w, *b, *g, *be, *rm, *rv, *s;
    for (int i = 0; i < m->fau.n; i++) {
        const layer *L = &m->fau.l[i];
        TRY(mim_slice_batch(m->ctx, m->p[L->w], a * F, F, &w));
        TRY(mim_slice_batch(m->ctx, m->p[L->b], a * F, F, &b));
        TRY(mim_conv2d(m->ctx, h, w, b, 1, 1, 1, &y));
        drop(h, f);
        h = y;
        if (L->norm == NORM_BN) {
            TRY(mim_slice_batch(m->ctx, m->p[L->bn_w], a * F, F, &g));
            TRY(mim_slice_batch(m->ctx, m->p[L->bn_b], a * F, F, &be));
            TRY(mim_slice_batch(m->ctx, m->p[L->bn_m], a * F, F, &rm));
            TRY(mim_slice_batch(m->ctx, m->p[L->bn_v], a * F, F, &rv));
            TRY(mim_batchnorm(m->ctx, h, g, be, rm, rv, training, 0.1f, 1e-5f, &y));
            mim_tensor_release(h);
            h = y;
        }
        if (L->act == ACT_PRELU) {
            TRY(mim_slice_batch(m->ctx, m->p[L->slope], a, 1, &s));
            TRY(mim_prelu(m->ctx, h, s, &y));
            mim_tensor_release(h);
            h = y;
        }
    }
    TRY(mim_global_avgpool(m->ctx, h, &y));
    drop(h, f);
    h = y;
    TRY(mim_slice_batch(m->ctx, m->p[m->fau_fc_w], a, 1, &w));
    TRY(mim_slice_batch(m->ctx, m->p[m->fau_fc_b], a, 1, &b));
    TRY(mim_linear(m->ctx, h, w, b, out));
    mim_tensor_release(h);
out:
    return st;
}

mim_status mim_aunet_fau(mim_aunet *m, mim_tensor *f, int training, mim_tensor **logits)
{
    mim_status st = MIM_OK;
    mim_tensor *outs[MIM_AUNET_MAX_AU];
    const int n_au = m->layout->n_au;
    for (int a = 0; a < n_au; a++)
        TRY(fau_branch(m, f, a, training, &outs[a]));
    /* one concat takes at most 8 tensors (a tape entry's inputs): more AUs are joined 8 at a
     * time, then the groups (the same values in the same order) */
    int n = n_au;
    while (n > 1) {
        int k = 0;
        for (int i = 0; i < n; i += 8, k++) {
            int g = n - i < 8 ? n - i : 8;
            mim_tensor *joined = outs[i];
            if (g > 1) {
                TRY(mim_concat_channels(m->ctx, outs + i, g, &joined));
                for (int j = i; j < i + g; j++)
                    mim_tensor_release(outs[j]);
            }
            outs[k] = joined;
        }
        n = k;
    }
    *logits = outs[0];
out:
    return st;
}

mim_status mim_aunet_proj(mim_aunet *m, mim_aunet_module which, mim_tensor *f, mim_tensor **out)
{
    mim_status st = MIM_OK;
    MIM_ASSERT(which == MIM_AUNET_PF || which == MIM_AUNET_PL || which == MIM_AUNET_PB);
    const stack *s = &m->proj[which - MIM_AUNET_PF];
    mim_tensor *z = NULL, *y = NULL;
    TRY(mim_avgpool(m->ctx, f, 4, 4, &z));
    TRY(run_layer(m, &s->l[0], m->p, z, 1, &y));
    mim_tensor_release(z);
    TRY(mim_relu(m->ctx, y, &z));
    mim_tensor_release(y);
    TRY(run_layer(m, &s->l[1], m->p, z, 1, &y));
    mim_tensor_release(z);
    TRY(mim_l2norm_channels(m->ctx, y, 1e-12f, &z));
    mim_tensor_release(y);
    TRY(mim_reshape(m->ctx, z, z->ne[0], 1, z->ne[1], z->ne[2] * z->ne[3], out));
    mim_tensor_release(z);
out:
    return st;
}

mim_status mim_aunet_snapshot(mim_aunet *m)
{
    mim_status st = MIM_OK;
    for (int i = 0; i < m->layout->n_params; i++)
        if (m->snap[i])
            TRY(mim_tensor_copy(m->snap[i], m->p[i]));
out:
    return st;
}

/* ---- inference ---- */

void mim_aunet_set_plan(mim_aunet *m, int enabled)
{
    m->plan_off = !enabled;
}

int mim_aunet_plan_used(const mim_aunet *m)
{
    return m->plan_used;
}

const char *mim_aunet_plan_status(const mim_aunet *m)
{
    return m->plan_used ? "" : m->plan_why;
}

mim_status mim_aunet_set_precision(mim_aunet *m, mim_precision p)
{
    if (p != MIM_PRECISION_F32 && p != MIM_PRECISION_BF16)
        return MIM_ERR_ARG;
    mim_backend *be = mim_ctx_backend(m->ctx);
    const mim__backend_ext *ext = mim__backend_ext_of(be);
    if (p == MIM_PRECISION_BF16 && !(ext && ext->aunet_infer)) {
        mim_errf(m->err, sizeof m->err, "bf16 inference needs the dnnl backend (this is %s)",
                 mim_backend_name(be));
        return MIM_ERR_UNSUPPORTED;
    }
    m->precision = (int)p;
    return MIM_OK;
}

mim_precision mim_aunet_precision(const mim_aunet *m)
{
    if (m->precision >= 0)
        return (mim_precision)m->precision;
    return mim_backend_precision(mim_ctx_backend(m->ctx));
}

static void plan_conv(const mim_aunet *m, const layer *L, mim_tensor *const *params,
                      mim_infer_conv *c)
{
    const mim_tensor *w = params[L->w];
    memset(c, 0, sizeof *c);
    c->c_out = (int)w->ne[0];
    c->c_in = (int)w->ne[1];
    c->w = MIM__F(w);
    c->b = MIM__F(params[L->b]);
    if (L->norm == NORM_BN) {
        c->bn_gamma = MIM__F(params[L->bn_w]);
        c->bn_beta = MIM__F(params[L->bn_b]);
        c->bn_mean = MIM__F(params[L->bn_m]);
        c->bn_var = MIM__F(params[L->bn_v]);
    }
    c->inorm = L->norm == NORM_IN;
    if (L->act == ACT_PRELU)
        c->slope = MIM__F(params[L->slope]);
}

/* The description of the path for the backend's plan (mim-backend-impl.h). */
static void plan_net(const mim_aunet *m, int batch, mim_aunet_path path, mim_infer_aunet *net)
{
    const int F = MIM_AUNET_FEAT;
    memset(net, 0, sizeof *net);
    net->batch = batch;
    net->n_au = m->layout->n_au;
    net->n_land = m->layout->n_land;
    net->target = path == MIM_AUNET_PATH_TARGET;
    net->bf16 = mim_aunet_precision(m) == MIM_PRECISION_BF16;
    net->eps = 1e-5f;
    for (int i = 0; i < 4; i++) {
        plan_conv(m, &m->ef.l[i], m->p, &net->ef[i]);
        plan_conv(m, &m->el.l[i], m->p, &net->el[i]);
        plan_conv(m, &m->eb.l[i], m->p, &net->eb[i]);
    }
    for (int i = 0; i < 5; i++)
        plan_conv(m, &m->g.l[i], m->p, &net->g[i]);
    const mim_tensor *hw = m->p[m->el_head];
    net->el_head = (mim_infer_conv){.c_in = (int)hw->ne[1],
                                    .c_out = (int)hw->ne[0],
                                    .w = MIM__F(hw),
                                    .b = MIM__F(m->p[m->el_head + 1])};
    /* Fau branch a: rows [64a, 64a+64) of the fused params (see fau_branch) */
    for (int a = 0; a < net->n_au; a++) {
        for (int i = 0; i < 4; i++) {
            mim_infer_conv *c = &net->fau[a][i];
            plan_conv(m, &m->fau.l[i], m->p, c);
            c->c_out = F;
            c->c_in = F;
            c->w += (size_t)a * F * F * 9;
            c->b += (size_t)a * F;
            if (c->bn_gamma) {
                c->bn_gamma += (size_t)a * F;
                c->bn_beta += (size_t)a * F;
                c->bn_mean += (size_t)a * F;
                c->bn_var += (size_t)a * F;
            }
            if (c->slope)
                c->slope += a;
        }
        net->fc_w[a] = MIM__F(m->p[m->fau_fc_w]) + (size_t)a * F;
        net->fc_b[a] = MIM__F(m->p[m->fau_fc_b]) + a;
    }
}

static void landmarks_xy(int n, const int32_t *idx, float *land_xy)
{
    const int G = MIM_AUNET_GRID;
    const float scale = (float)MIM_AUNET_CROP / G;
    for (int i = 0; i < n; i++) {
        land_xy[2 * i] = (float)(idx[i] % G) * scale;
        land_xy[2 * i + 1] = (float)(idx[i] / G) * scale;
    }
}

/* The plan's run: MIM_OK, or an error with m->plan_why set (the caller falls back). */
static mim_status infer_plan(mim_aunet *m, const float *images, int batch, mim_aunet_path path,
                             float *prob, int32_t *land_idx, float *land_xy)
{
    mim_backend *be = mim_ctx_backend(m->ctx);
    const mim__backend_ext *ext = mim__backend_ext_of(be);
    if (m->plan_off) {
        snprintf(m->plan_why, sizeof m->plan_why, "disabled");
        return MIM_ERR_UNSUPPORTED;
    }
    if (!ext || !ext->aunet_infer) {
        snprintf(m->plan_why, sizeof m->plan_why, "backend %s has no inference plan",
                 mim_backend_name(be));
        return MIM_ERR_UNSUPPORTED;
    }
    mim_infer_aunet *net = malloc(sizeof *net);
    int32_t *idx = NULL;
    if (land_xy && !land_idx)
        idx = malloc((size_t)batch * m->layout->n_land * sizeof *idx);
    if (!net || (land_xy && !land_idx && !idx)) {
        free(net);
        free(idx);
        snprintf(m->plan_why, sizeof m->plan_why, "out of memory");
        return MIM_ERR_NOMEM;
    }
    plan_net(m, batch, path, net);
    int32_t *li = land_idx ? land_idx : idx;
    mim_status st = ext->aunet_infer(be, &m->plan_cache, net, images, prob, li);
    if (st == MIM_OK && land_xy)
        landmarks_xy(batch * m->layout->n_land, li, land_xy);
    if (st != MIM_OK) {
        snprintf(m->plan_why, sizeof m->plan_why, "%s", be->err[0] ? be->err : mim_status_str(st));
        be->err[0] = 0;
    }
    free(net);
    free(idx);
    return st;
}

mim_status mim_aunet_infer(mim_aunet *m, const float *images, int batch, mim_aunet_path path,
                           float *prob, int32_t *land_idx, float *land_xy)
{
    mim_status st = MIM_OK;
    const int L = m->layout->n_land, A = m->layout->n_au, G = MIM_AUNET_GRID;
    const int64_t S = MIM_AUNET_CROP;
    int grad = mim_ctx_set_grad(m->ctx, 0);
    float *maps = NULL;
    mim_tensor *x = NULL, *f = NULL, *M = NULL, *att = NULL, *z = NULL, *p = NULL, *b = NULL;
    if (batch < 1 || !images) {
        mim_ctx_set_grad(m->ctx, grad);
        return mim__error(m->ctx, MIM_ERR_ARG, "mim_aunet_infer: batch %d, images %p", batch,
                          (const void *)images);
    }
    m->plan_used = 0;
    mim_ctx_reset_step(m->ctx); /* the contract of both ways */
    if (infer_plan(m, images, batch, path, prob, land_idx, land_xy) == MIM_OK) {
        m->plan_used = 1;
        mim_ctx_set_grad(m->ctx, grad);
        return MIM_OK;
    }
    if (m->precision == MIM_PRECISION_BF16) {
        /* bf16 was asked for the plan, which could not run: no silent fp32 results */
        mim_ctx_set_grad(m->ctx, grad);
        return mim__error(m->ctx, MIM_ERR_UNSUPPORTED, "bf16 inference: %s", m->plan_why);
    }
    mim_ctx_reset_step(m->ctx);
    TRY(mim_tensor_new(m->ctx, MIM_F32, batch, 3, S, S, &x));
    TRY(mim_tensor_set(x, images, (size_t)batch * 3 * S * S * sizeof(float)));
    /* grad mode off: each tensor's memory is reused once released */
    TRY(mim_aunet_ef(m, x, 0, &f));
    mim_tensor_release(x);
    TRY(mim_aunet_el(m, f, 0, &M, path == MIM_AUNET_PATH_TARGET ? &att : NULL, NULL));
    if (path == MIM_AUNET_PATH_TARGET) {
        mim_tensor *r = NULL;
        TRY(mim_aunet_eb(m, f, &b));
        mim_tensor_release(f);
        TRY(mim_aunet_g(m, att, b, &r));
        mim_tensor_release(att);
        mim_tensor_release(b);
        f = r;
    }
    if (prob) {
        TRY(mim_aunet_fau(m, f, 0, &z));
        TRY(mim_sigmoid(m->ctx, z, &p));
        TRY(mim_tensor_get(p, prob, (size_t)batch * A * sizeof(float)));
    }
    if (land_idx || land_xy) {
        size_t n = (size_t)batch * L * G * G;
        maps = malloc(n * sizeof(float));
        if (!maps) {
            st = MIM_ERR_NOMEM;
            goto out;
        }
        TRY(mim_tensor_get(M, maps, n * sizeof(float)));
        for (int i = 0; i < batch * L; i++) {
            const float *r = maps + (size_t)i * G * G;
            int best = 0;
            for (int k = 1; k < G * G; k++)
                if (r[k] > r[best])
                    best = k;
            if (land_idx)
                land_idx[i] = best;
            if (land_xy) {
                const float scale = (float)MIM_AUNET_CROP / G;
                land_xy[2 * i] = (float)(best % G) * scale;
                land_xy[2 * i + 1] = (float)(best / G) * scale;
            }
        }
    }
out:
    free(maps);
    mim_ctx_reset_step(m->ctx);
    mim_ctx_set_grad(m->ctx, grad);
    return st;
}
