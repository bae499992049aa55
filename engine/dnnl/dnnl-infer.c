/* dnnl-infer.c: the AU network's inference path (MODEL.md §6) as one plan per (model, batch size,
 * path, precision) on the dnnl backend (mim__backend_ext.aunet_infer, mim-private.h).
 *
 * A plan is a list of steps built once: oneDNN primitives and our own OpenMP passes over fixed
 * buffers. Every activation stays in oneDNN's blocked layout nChw16c from the first convolution
 * (which reads the caller's NCHW images directly) to the outputs; only the landmark logits are
 * reordered to plain NCHW for their softmax and argmax. Convolutions use dnnl_convolution_auto
 * (Winograd where oneDNN picks it) with their bias; eval-mode BN (Ef, Fau) is folded into the
 * weights and bias; PReLU is the convolution's eltwise post-op (relu with alpha = slope) where the
 * chosen implementation takes one, else a pass in place; IN + PReLU is one pass of ours over the
 * blocked layout with the arithmetic of dnnl-norm.c (shifted double statistics, y = x·g + o).
 * G's input concat[A, Eb(F)] is an 80-channel buffer: Eb(F) in channels 0..63, A in 64, zeros
 * after, with G's first weights permuted to match (A first in the model). A separate PReLU
 * followed by Ef's 2×2 average pool is one pass; Fau's last conv, global pool and fc, all linear,
 * are folded into one 576-weight dot product per branch over border-corrected sums of its input
 * (fau_head), so that conv never runs.
 *
 * Buffers are allocated (and touched) when the plan is built and reused by every call. The plan
 * keeps a copy of every parameter value it folded: each call compares them and rebuilds the plan
 * when one changed (a fine-tune step, a load), so a plan is never stale.
 *
 * bf16: the same plan with bf16 weights and activations around each convolution (oneDNN
 * accumulates in fp32); convolution outputs read by our norms, the landmark logits and Fau's last
 * layer stay fp32, and the norms are computed in fp32/double. */
#include <dnnl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl-core-private.h"
#include "dnnl-infer-private.h"
#include "mim-private.h"

#define GRID      44
#define CROP      176
#define FEAT      MIM__INFER_FEAT
#define MAX_PLANS 4
#define CAT_C     80 /* G's input: 64 + A + 15 zero channels */

typedef mim__infer_step step;

typedef struct {
    int batch, target, bf16, n_au, n_land;
    long uses;
    /* the parameters this plan folded: pointer, count, values */
    const float **sp;
    size_t *sn, n_snap, cap_snap;
    float *snap;
    size_t snap_len;
    step *steps;
    int n_steps, cap_steps;
    dnnl_memory_t *mems;
    int n_mems, cap_mems;
    dnnl_primitive_t *prims;
    int n_prims, cap_prims;
    void **allocs;
    int n_allocs, cap_allocs;
    dnnl_memory_t img;  /* the first conv's source (fp32: the caller's images) */
    void *img_bf16;     /* bf16: the images converted */
    dnnl_memory_t *scr; /* scratchpad memories, handle set once built */
    int n_scr, cap_scr;
    size_t scratch_bytes;
    float *logits;     /* (batch, n_au) */
    int32_t *land_out; /* the call's land_idx (S_ARGMAX) */
} plan;

typedef struct {
    plan *p[MAX_PLANS];
    long tick;
} cache;

static mim__dnnl *dnnl_of(mim_backend *be)
{
    return (mim__dnnl *)be->state;
}

/* ---- bookkeeping ---- */

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            int nc_ = (cap) ? 2 * (cap) : 16;                                                      \
            void *np_ = realloc((arr), (size_t)nc_ * sizeof *(arr));                               \
            if (!np_)                                                                              \
                return -1;                                                                         \
            (arr) = np_;                                                                           \
            (cap) = nc_;                                                                           \
        }                                                                                          \
    } while (0)

static int keep_mem(plan *p, dnnl_memory_t m)
{
    GROW(p->mems, p->n_mems, p->cap_mems);
    p->mems[p->n_mems++] = m;
    return 0;
}

static int keep_prim(plan *p, dnnl_primitive_t m)
{
    GROW(p->prims, p->n_prims, p->cap_prims);
    p->prims[p->n_prims++] = m;
    return 0;
}

static int keep_scr(plan *p, dnnl_memory_t m)
{
    GROW(p->scr, p->n_scr, p->cap_scr);
    p->scr[p->n_scr++] = m;
    return 0;
}

static step *add_step(plan *p, int kind)
{
    if (p->n_steps == p->cap_steps) {
        int nc = p->cap_steps ? 2 * p->cap_steps : 64;
        step *ns = realloc(p->steps, (size_t)nc * sizeof *ns);
        if (!ns)
            return NULL;
        p->steps = ns;
        p->cap_steps = nc;
    }
    step *s = &p->steps[p->n_steps++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

/* Plan memory: 64-byte aligned (huge pages for large blocks, as the backend's alloc), zeroed
 * (touched) here so that no call faults pages in. */
static void *plan_alloc(mim_backend *be, plan *p, size_t bytes)
{
    if (p->n_allocs == p->cap_allocs) {
        int nc = p->cap_allocs ? 2 * p->cap_allocs : 32;
        void **na = realloc(p->allocs, (size_t)nc * sizeof *na);
        if (!na)
            return NULL;
        p->allocs = na;
        p->cap_allocs = nc;
    }
    void *m = be->i->alloc(be, bytes ? bytes : 64);
    if (!m)
        return NULL;
    memset(m, 0, bytes);
    p->allocs[p->n_allocs++] = m;
    return m;
}

static int snap_add(plan *p, const float *ptr, size_t n)
{
    if (!ptr)
        return 0;
    if (p->n_snap == p->cap_snap) {
        size_t nc = p->cap_snap ? 2 * p->cap_snap : 256;
        const float **a = realloc(p->sp, nc * sizeof *a);
        if (!a)
            return -1;
        p->sp = a;
        size_t *b = realloc(p->sn, nc * sizeof *b);
        if (!b)
            return -1;
        p->sn = b;
        p->cap_snap = nc;
    }
    p->sp[p->n_snap] = ptr;
    p->sn[p->n_snap++] = n;
    p->snap_len += n;
    return 0;
}

static int snap_conv(plan *p, const mim_infer_conv *c)
{
    size_t co = (size_t)c->c_out;
    return snap_add(p, c->w, co * (size_t)c->c_in * 9) || snap_add(p, c->b, co) ||
           snap_add(p, c->bn_gamma, co) || snap_add(p, c->bn_beta, co) ||
           snap_add(p, c->bn_mean, co) || snap_add(p, c->bn_var, co) || snap_add(p, c->slope, 1);
}

/* Lists every parameter of the path (pointers and counts). */
static int snap_list(plan *p, const mim_infer_aunet *net)
{
    for (int i = 0; i < 4; i++)
        if (snap_conv(p, &net->ef[i]) || snap_conv(p, &net->el[i]))
            return -1;
    if (snap_conv(p, &net->el_head))
        return -1;
    if (net->target) {
        for (int i = 0; i < 4; i++)
            if (snap_conv(p, &net->eb[i]))
                return -1;
        for (int i = 0; i < 5; i++)
            if (snap_conv(p, &net->g[i]))
                return -1;
    }
    for (int a = 0; a < net->n_au; a++) {
        for (int i = 0; i < 4; i++)
            if (snap_conv(p, &net->fau[a][i]))
                return -1;
        if (snap_add(p, net->fc_w[a], FEAT) || snap_add(p, net->fc_b[a], 1))
            return -1;
    }
    return 0;
}

/* Copies the values of the parameters listed by snap_list. */
static int snap_copy(plan *p)
{
    p->snap = malloc((p->snap_len ? p->snap_len : 1) * sizeof(float));
    if (!p->snap)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < p->n_snap; i++) {
        memcpy(p->snap + off, p->sp[i], p->sn[i] * sizeof(float));
        off += p->sn[i];
    }
    return 0;
}

/* 1 if the parameters still hold the values the plan was built from. */
static int snap_same(const plan *p)
{
    size_t off = 0;
    for (size_t i = 0; i < p->n_snap; i++) {
        if (memcmp(p->snap + off, p->sp[i], p->sn[i] * sizeof(float)))
            return 0;
        off += p->sn[i];
    }
    return 1;
}

static void plan_free(mim_backend *be, plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_prims; i++)
        dnnl_primitive_destroy(p->prims[i]);
    for (int i = 0; i < p->n_mems; i++)
        dnnl_memory_destroy(p->mems[i]);
    for (int i = 0; i < p->n_allocs; i++)
        be->i->free(be, p->allocs[i]);
    free(p->prims);
    free(p->mems);
    free(p->allocs);
    free(p->scr);
    free(p->steps);
    free(p->sp);
    free(p->sn);
    free(p->snap);
    free(p);
}

/* ---- oneDNN helpers ---- */

typedef struct {
    mim_backend *be;
    mim__dnnl *d;
    plan *p;
    dnnl_data_type_t adt; /* activation type around convolutions */
    const mim_infer_aunet *net;
} builder;

static int fail(builder *b, dnnl_status_t st, const char *what)
{
    return mim__dnnl_fail(b->d, st, what);
}

static int md4(builder *b, dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt,
               dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {n, c, h, w};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(md, 4, dims, dt, tag);
    return st == dnnl_success ? 0 : fail(b, st, "memory descriptor");
}

static dnnl_memory_t mem(builder *b, const dnnl_memory_desc_t *md, void *ptr)
{
    dnnl_memory_t m = NULL;
    dnnl_status_t st = dnnl_memory_create(&m, md, b->d->engine, ptr ? ptr : DNNL_MEMORY_NONE);
    if (st != dnnl_success) {
        fail(b, st, "memory object");
        return NULL;
    }
    if (keep_mem(b->p, m)) {
        dnnl_memory_destroy(m);
        mim__dnnl_fail_msg(b->d, "out of memory (plan)");
        return NULL;
    }
    return m;
}

/* Creates the primitive of pd (taking pd) and a step running it with args (kinds[i], mds[i],
 * ptrs[i]); a scratchpad argument is added when the primitive wants one. */
static int prim_step(builder *b, dnnl_primitive_desc_t pd, int n, const int *kinds,
                     const dnnl_memory_desc_t *const *mds, void *const *ptrs,
                     dnnl_memory_t *first_mem)
{
    dnnl_primitive_t prim = NULL;
    dnnl_status_t st = dnnl_primitive_create(&prim, pd);
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t sbytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    dnnl_memory_desc_t scr_md;
    if (smd)
        scr_md = *smd;
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success)
        return fail(b, st, "primitive creation");
    if (keep_prim(b->p, prim)) {
        dnnl_primitive_destroy(prim);
        return mim__dnnl_fail_msg(b->d, "out of memory (plan)");
    }
    b->d->n_created++;
    step *s = add_step(b->p, S_PRIM);
    if (!s)
        return mim__dnnl_fail_msg(b->d, "out of memory (plan)");
    s->prim = prim;
    for (int i = 0; i < n; i++) {
        dnnl_memory_t m = mem(b, mds[i], ptrs[i]);
        if (!m)
            return -1;
        if (i == 0 && first_mem)
            *first_mem = m;
        s->args[s->n_args].arg = kinds[i];
        s->args[s->n_args++].memory = m;
    }
    if (sbytes) {
        dnnl_memory_t m = mem(b, &scr_md, NULL);
        if (!m || keep_scr(b->p, m))
            return m ? mim__dnnl_fail_msg(b->d, "out of memory (plan)") : -1;
        if (sbytes > b->p->scratch_bytes)
            b->p->scratch_bytes = sbytes;
        s->args[s->n_args].arg = DNNL_ARG_SCRATCHPAD;
        s->args[s->n_args++].memory = m;
    }
    return 0;
}

static dnnl_primitive_attr_t new_attr(builder *b, float leaky)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st == dnnl_success && !isnan(leaky)) {
        st = dnnl_post_ops_create(&po);
        if (st == dnnl_success)
            st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, leaky, 0.0f);
        if (st == dnnl_success)
            st = dnnl_primitive_attr_set_post_ops(attr, po);
        if (po)
            dnnl_post_ops_destroy(po);
    }
    if (st != dnnl_success) {
        if (attr)
            dnnl_primitive_attr_destroy(attr);
        fail(b, st, "primitive attributes");
        return NULL;
    }
    return attr;
}

static int pd_create(builder *b, dnnl_primitive_desc_t *pd, const void *desc, float leaky)
{
    dnnl_primitive_attr_t attr = new_attr(b, leaky);
    if (!attr)
        return -1;
    dnnl_status_t st = dnnl_primitive_desc_create(pd, desc, attr, b->d->engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        *pd = NULL;
        return fail(b, st, "primitive descriptor");
    }
    return 0;
}

static int is_wino(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success || !impl)
        return 0;
    return strstr(impl, "wino") != NULL;
}

/* ---- layers ---- */

/* An activation buffer: pointer, layout, shape. */
typedef struct {
    void *ptr;
    dnnl_memory_desc_t md;
    int c, h, bf16;
} act;

static int act_init(builder *b, act *a, void *ptr, int c, int h, int bf16)
{
    a->ptr = ptr;
    a->c = c;
    a->h = h;
    a->bf16 = bf16;
    return md4(b, &a->md, b->p->batch, c, h, h, bf16 ? dnnl_bf16 : dnnl_f32, dnnl_nChw16c);
}

/* Folds BN (if any) into the weights and bias of c: w (c_out, cin_u, 3, 3) in the user's oihw
 * order, permuted for G's concat input when cat is set (the primitive's c_in is then CAT_C). */
static void fold(const mim_infer_conv *c, int cat, float eps, float *w, float *bias)
{
    const int cin = cat ? CAT_C : c->c_in;
    for (int o = 0; o < c->c_out; o++) {
        float g = 1.0f, off = 0.0f;
        if (c->bn_gamma) {
            /* the norm's y = x·g + o of dnnl-norm.c: invstd in double, then float products */
            float invstd = (float)(1.0 / sqrt((double)c->bn_var[o] + eps));
            g = c->bn_gamma[o] * invstd;
            off = c->bn_beta[o] - c->bn_mean[o] * g;
        }
        const float *src = c->w + (size_t)o * c->c_in * 9;
        float *dst = w + (size_t)o * cin * 9;
        for (int i = 0; i < cin; i++) {
            int from = i; /* model channel feeding primitive channel i */
            if (cat)
                from = i < FEAT ? i + 1 : i == FEAT ? 0 : -1;
            for (int k = 0; k < 9; k++)
                dst[i * 9 + k] = from < 0 ? 0.0f : src[from * 9 + k] * g;
        }
        bias[o] = c->b ? c->b[o] * g + off : off;
    }
}

/* Convolution c from src into dst (dst: f32 when out_f32, else the activation type), with its
 * folded BN and bias. PReLU (when c has one and no IN): the post-op where the implementation
 * takes it, else a step after. IN is not done here. */
static int conv(builder *b, const mim_infer_conv *c, int cat, const act *src, act *dst,
                void *dst_ptr, int out_f32)
{
    mim__dnnl *d = b->d;
    plan *p = b->p;
    const int cin = cat ? CAT_C : c->c_in;
    if (c->c_in != (cat ? FEAT + 1 : src->c) || (cat && src->c != CAT_C))
        return mim__dnnl_fail_msg(d, "dnnl infer: channel counts do not chain");
    if (act_init(b, dst, dst_ptr, c->c_out, src->h, !out_f32 && b->adt == dnnl_bf16))
        return -1;
    dnnl_memory_desc_t wmd, bmd;
    dnnl_dims_t wd = {c->c_out, cin, 3, 3}, bd = {c->c_out};
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(&wmd, 4, wd, b->adt, dnnl_format_tag_any);
    if (st == dnnl_success)
        st = dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x);
    if (st != dnnl_success)
        return fail(b, st, "memory descriptor");
    dnnl_alg_kind_t alg = d->conv_alg == MIM__DNNL_CONV_DIRECT     ? dnnl_convolution_direct
                          : d->conv_alg == MIM__DNNL_CONV_WINOGRAD ? dnnl_convolution_winograd
                                                                   : dnnl_convolution_auto;
    dnnl_dims_t strides = {1, 1}, pad = {1, 1};
    dnnl_convolution_desc_t cd;
    st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, &src->md, &wmd, &bmd,
                                            &dst->md, strides, pad, pad);
    if (st != dnnl_success && alg == dnnl_convolution_winograd) {
        alg = dnnl_convolution_direct;
        st = dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, alg, &src->md, &wmd,
                                                &bmd, &dst->md, strides, pad, pad);
    }
    if (st != dnnl_success)
        return fail(b, st, "convolution descriptor");
    dnnl_primitive_desc_t pd = NULL;
    int need_prelu = c->slope && !c->inorm, fused = 0;
    if (pd_create(b, &pd, &cd, NAN))
        return -1;
    if (need_prelu && !is_wino(pd)) {
        /* a direct implementation: PReLU with one slope is relu with alpha = slope */
        dnnl_primitive_desc_t pd2 = NULL;
        if (pd_create(b, &pd2, &cd, *c->slope) == 0) {
            dnnl_primitive_desc_destroy(pd);
            pd = pd2;
            fused = 1;
        }
        d->err[0] = 0;
    }
    /* weights: fold in the user's layout, reorder into the primitive's */
    const dnnl_memory_desc_t *pwmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    size_t wn = (size_t)c->c_out * cin * 9;
    float *wu = malloc(wn * sizeof(float));
    float *bias = plan_alloc(b->be, p, (size_t)c->c_out * sizeof(float));
    void *wp = pwmd ? plan_alloc(b->be, p, dnnl_memory_desc_get_size(pwmd)) : NULL;
    if (!wu || !bias || !wp) {
        free(wu);
        dnnl_primitive_desc_destroy(pd);
        return mim__dnnl_fail_msg(d, "out of memory (plan weights)");
    }
    fold(c, cat, b->net->eps, wu, bias);
    dnnl_memory_desc_t umd;
    dnnl_memory_t um = NULL, pm = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    st = dnnl_memory_desc_init_by_tag(&umd, 4, wd, dnnl_f32, dnnl_oihw);
    if (st == dnnl_success)
        st = dnnl_memory_create(&um, &umd, d->engine, wu);
    if (st == dnnl_success)
        st = dnnl_memory_create(&pm, pwmd, d->engine, wp);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, &umd, d->engine, pwmd, d->engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&r, rpd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, um}, {DNNL_ARG_TO, pm}};
        st = dnnl_primitive_execute(r, d->stream, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(d->stream);
    }
    if (r)
        dnnl_primitive_destroy(r);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (um)
        dnnl_memory_destroy(um);
    if (pm)
        dnnl_memory_destroy(pm);
    free(wu);
    if (st != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return fail(b, st, "weight reorder");
    }
    const int kinds[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST};
    const dnnl_memory_desc_t *mds[4] = {&src->md, pwmd, &bmd, &dst->md};
    void *ptrs[4] = {src->ptr, wp, bias, dst->ptr};
    dnnl_memory_t first = NULL;
    /* pwmd belongs to pd, which prim_step destroys: copy it first */
    dnnl_memory_desc_t pw_copy = *pwmd;
    mds[1] = &pw_copy;
    if (prim_step(b, pd, 4, kinds, mds, ptrs, &first))
        return -1;
    if (!src->ptr)
        p->img = first; /* the caller's images, set per call */
    if (need_prelu && !fused) {
        step *s = add_step(p, S_PRELU);
        if (!s)
            return mim__dnnl_fail_msg(d, "out of memory (plan)");
        s->out = dst->ptr;
        s->count = (long)(dnnl_memory_desc_get_size(&dst->md) / (dst->bf16 ? 2 : 4));
        s->bf16 = dst->bf16;
        s->slope = *c->slope;
    }
    return 0;
}

/* IN (+ PReLU) from y (f32, c channels) into out (channel blocks 0.. of a tensor with out_c
 * channels). */
static int inorm(builder *b, const mim_infer_conv *c, const act *y, act *out, void *out_ptr,
                 int out_c)
{
    if (act_init(b, out, out_ptr, out_c, y->h, b->adt == dnnl_bf16))
        return -1;
    if (y->c % 16)
        return mim__dnnl_fail_msg(b->d, "dnnl infer: IN channels must be a multiple of 16");
    step *s = add_step(b->p, S_IN);
    if (!s)
        return mim__dnnl_fail_msg(b->d, "out of memory (plan)");
    s->in = y->ptr;
    s->out = out_ptr;
    s->n = b->p->batch;
    s->c = y->c;
    s->hw = y->h * y->h;
    s->out_cb = (out_c + 15) / 16;
    s->out_bf16 = out->bf16;
    s->eps = b->net->eps;
    s->has_slope = c->slope != NULL;
    s->slope = c->slope ? *c->slope : 0.0f;
    return 0;
}

static int eltwise(builder *b, const act *a, dnnl_alg_kind_t alg)
{
    dnnl_eltwise_desc_t ed;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st =
        dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, alg, &a->md, 0.0f, 0.0f);
    if (st != dnnl_success)
        return fail(b, st, "eltwise descriptor");
    if (pd_create(b, &pd, &ed, NAN))
        return -1;
    const int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    const dnnl_memory_desc_t *mds[2] = {&a->md, &a->md};
    void *ptrs[2] = {a->ptr, a->ptr};
    return prim_step(b, pd, 2, kinds, mds, ptrs, NULL);
}

/* 2×2 average pool of src into dst. When the step before is a separate PReLU on src (fp32), one
 * pass of ours does both (src read once, not written). */
static int avgpool(builder *b, const act *src, act *dst, void *dst_ptr)
{
    if (act_init(b, dst, dst_ptr, src->c, src->h / 2, src->bf16))
        return -1;
    plan *p = b->p;
    step *last = p->n_steps ? &p->steps[p->n_steps - 1] : NULL;
    if (last && last->kind == S_PRELU && last->out == src->ptr && !last->bf16 && src->h % 2 == 0) {
        float slope = last->slope;
        memset(last, 0, sizeof *last);
        last->kind = S_POOL;
        last->in = src->ptr;
        last->out = dst->ptr;
        last->n = p->batch;
        last->c = src->c;
        last->hw = src->h; /* the input's side */
        last->slope = slope;
        return 0;
    }
    dnnl_pooling_v2_desc_t pdsc;
    dnnl_dims_t k = {2, 2}, s = {2, 2}, dil = {0, 0}, pad = {0, 0};
    dnnl_status_t st = dnnl_pooling_v2_forward_desc_init(&pdsc, dnnl_forward_inference,
                                                         dnnl_pooling_avg_exclude_padding, &src->md,
                                                         &dst->md, s, k, dil, pad, pad);
    if (st != dnnl_success)
        return fail(b, st, "pooling descriptor");
    dnnl_primitive_desc_t pd;
    if (pd_create(b, &pd, &pdsc, NAN))
        return -1;
    const int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    const dnnl_memory_desc_t *mds[2] = {&src->md, &dst->md};
    void *ptrs[2] = {src->ptr, dst->ptr};
    return prim_step(b, pd, 2, kinds, mds, ptrs, NULL);
}

/* Fau's last conv c (64 -> 64, 3×3, pad 1), global average pool and fc (fcw, fcb) are linear:
 * logit = fcb + Σ_o fcw[o]·(b[o] + mean over positions of Σ_{i,ky,kx} w[o,i,ky,kx]·h[i, y+ky-1,
 * x+kx-1]) = c0 + (1/HW)·Σ_{i,ky,kx} v[i,ky,kx]·S[i,ky,kx], with v = Σ_o fcw[o]·w[o], c0 = fcb +
 * Σ_o fcw[o]·b[o], and S[i,ky,kx] the sum of h[i] over the cells that tap (ky,kx) reads: all but
 * the last row (ky = 0) or the first (ky = 2), likewise for columns. One pass over h (with the
 * PReLU of the layer before when that is still pending) gives the logit without the conv. */
static int fau_head(builder *b, const mim_infer_conv *c, const float *fcw, float fcb, const act *h,
                    int au)
{
    plan *p = b->p;
    if (c->slope || c->inorm || c->c_in != FEAT || c->c_out != FEAT || h->c != FEAT)
        return mim__dnnl_fail_msg(b->d, "dnnl infer: Fau's last layer must be a plain conv");
    float *w = malloc((size_t)FEAT * FEAT * 9 * sizeof(float)), bias[FEAT];
    double *v = plan_alloc(b->be, p, (size_t)FEAT * 9 * sizeof(double));
    if (!w || !v) {
        free(w);
        return mim__dnnl_fail_msg(b->d, "out of memory (plan)");
    }
    fold(c, 0, b->net->eps, w, bias);
    double c0 = fcb;
    for (int o = 0; o < FEAT; o++) {
        c0 += (double)fcw[o] * bias[o];
        for (int k = 0; k < FEAT * 9; k++)
            v[k] += (double)fcw[o] * w[(size_t)o * FEAT * 9 + k];
    }
    free(w);
    step *last = p->n_steps ? &p->steps[p->n_steps - 1] : NULL;
    float slope = 0;
    int has_slope = 0;
    if (last && last->kind == S_PRELU && last->out == h->ptr) {
        slope = last->slope;
        has_slope = 1;
        p->n_steps--; /* done by this pass */
    }
    step *s = add_step(p, S_FAU);
    if (!s)
        return mim__dnnl_fail_msg(b->d, "out of memory (plan)");
    s->in = h->ptr;
    s->n = p->batch;
    s->c = FEAT;
    s->hw = h->h; /* the side */
    s->au = au;
    s->bf16_in = h->bf16;
    s->slope = slope;
    s->has_slope = has_slope;
    s->c0 = c0;
    s->v = v;
    return 0;
}

/* ---- plan building ---- */

static size_t act_bytes(int n, int c, int h, int bf16)
{
    return (size_t)n * (size_t)((c + 15) / 16 * 16) * (size_t)h * h * (bf16 ? 2 : 4);
}

#define ALIGN_UP(x) (((x) + 4095) / 4096 * 4096)

static int plan_steps(builder *b)
{
    plan *p = b->p;
    mim__dnnl *d = b->d;
    const mim_infer_aunet *net = b->net;
    const int B = p->batch, bf = p->bf16, L = p->n_land, hw = GRID * GRID;
    /* Region 0 and 1 hold Ef's large activations, then the 44×44 ones (see the header). */
    size_t big = act_bytes(B, 32, CROP, bf);
    size_t y_b = ALIGN_UP(act_bytes(B, 128, GRID, 0)), t_b = ALIGN_UP(act_bytes(B, 128, GRID, bf));
    size_t f_b = ALIGN_UP(act_bytes(B, FEAT, GRID, bf));
    /* Mb: the landmark logits, then Fau's second scratch activation */
    size_t m_b = ALIGN_UP(act_bytes(B, L, GRID, 0));
    if (m_b < f_b)
        m_b = f_b;
    size_t plain_b = ALIGN_UP((size_t)B * L * hw * sizeof(float));
    size_t r0 = big > y_b + 2 * t_b ? big : y_b + 2 * t_b;
    size_t r1 = big > f_b + m_b + 2 * plain_b ? big : f_b + m_b + 2 * plain_b;
    char *R0 = plan_alloc(b->be, p, r0), *R1 = plan_alloc(b->be, p, r1);
    char *cat = plan_alloc(b->be, p, act_bytes(B, CAT_C, GRID, bf));
    p->logits = plan_alloc(b->be, p, (size_t)B * p->n_au * sizeof(float));
    if (!R0 || !R1 || !cat || !p->logits)
        return mim__dnnl_fail_msg(d, "out of memory (plan buffers)");
    char *Y = R0, *Ta = R0 + y_b, *Tb = R0 + y_b + t_b;
    char *F = R1, *Mb = R1 + f_b, *Mp = R1 + f_b + m_b, *Sp = Mp + plain_b;

    /* Ef */
    act img, a1, a2, a3, a4, a5, a6, f;
    if (bf) {
        p->img_bf16 = plan_alloc(b->be, p, (size_t)B * 3 * CROP * CROP * 2);
        if (!p->img_bf16)
            return mim__dnnl_fail_msg(d, "out of memory (plan buffers)");
        step *s = add_step(p, S_IMG);
        if (!s)
            return mim__dnnl_fail_msg(d, "out of memory (plan)");
        s->out = p->img_bf16;
        s->count = (long)B * 3 * CROP * CROP;
    }
    img.ptr = p->img_bf16; /* NULL in fp32: the caller's images */
    img.c = 3;
    img.h = CROP;
    img.bf16 = bf;
    if (md4(b, &img.md, B, 3, CROP, CROP, b->adt, dnnl_nchw))
        return -1;
    if (conv(b, &net->ef[0], 0, &img, &a1, R0, 0) || conv(b, &net->ef[1], 0, &a1, &a2, R1, 0) ||
        avgpool(b, &a2, &a3, R0) || conv(b, &net->ef[2], 0, &a3, &a4, R1, 0) ||
        conv(b, &net->ef[3], 0, &a4, &a5, R0, 0) || avgpool(b, &a5, &a6, F) ||
        eltwise(b, &a6, dnnl_eltwise_tanh))
        return -1;
    f = a6;

    /* El: 4 × (conv, IN + PReLU), tanh, head -> M */
    act y, ta, tb, m, mp;
    const act *x = &f;
    char *tbuf[2] = {Ta, Tb};
    for (int i = 0; i < 4; i++) {
        if (conv(b, &net->el[i], 0, x, &y, Y, 1) ||
            inorm(b, &net->el[i], &y, i % 2 ? &tb : &ta, tbuf[i % 2], net->el[i].c_out))
            return -1;
        x = i % 2 ? &tb : &ta;
    }
    if (eltwise(b, x, dnnl_eltwise_tanh) || conv(b, &net->el_head, 0, x, &m, Mb, 1))
        return -1;
    /* M to plain for the softmax and the argmax */
    if (md4(b, &mp.md, B, L, GRID, GRID, dnnl_f32, dnnl_nchw))
        return -1;
    mp.ptr = Mp;
    {
        dnnl_primitive_desc_t rpd;
        dnnl_status_t st =
            dnnl_reorder_primitive_desc_create(&rpd, &m.md, d->engine, &mp.md, d->engine, NULL);
        if (st != dnnl_success)
            return fail(b, st, "reorder descriptor");
        const int kinds[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
        const dnnl_memory_desc_t *mds[2] = {&m.md, &mp.md};
        void *ptrs[2] = {Mb, Mp};
        if (prim_step(b, rpd, 2, kinds, mds, ptrs, NULL))
            return -1;
    }
    step *s = add_step(p, S_ARGMAX);
    if (!s)
        return mim__dnnl_fail_msg(d, "out of memory (plan)");
    s->in = Mp;
    s->n = B;
    s->c = L;
    s->hw = hw;

    const act *fau_in = &f;
    act cat_a, r;
    if (p->target) {
        /* A = Σ_k softmax(M_k): oneDNN softmax over (B·L, hw) as the generic op */
        dnnl_memory_desc_t smd;
        dnnl_dims_t sd = {(dnnl_dim_t)B * L, hw};
        dnnl_status_t st = dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_f32, dnnl_ab);
        dnnl_softmax_desc_t sdesc;
        if (st == dnnl_success)
            st = dnnl_softmax_forward_desc_init(&sdesc, dnnl_forward_inference, &smd, 1);
        if (st != dnnl_success)
            return fail(b, st, "softmax descriptor");
        dnnl_primitive_desc_t spd;
        if (pd_create(b, &spd, &sdesc, NAN))
            return -1;
        const int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
        const dnnl_memory_desc_t *mds[2] = {&smd, &smd};
        void *ptrs[2] = {Mp, Sp};
        if (prim_step(b, spd, 2, kinds, mds, ptrs, NULL))
            return -1;
        /* Eb: the last IN writes channels 0..63 of the concat buffer */
        x = &f;
        for (int i = 0; i < 4; i++) {
            act *o = i == 3 ? &cat_a : i % 2 ? &tb : &ta;
            if (conv(b, &net->eb[i], 0, x, &y, Y, 1) ||
                inorm(b, &net->eb[i], &y, o, i == 3 ? (void *)cat : tbuf[i % 2],
                      i == 3 ? CAT_C : net->eb[i].c_out))
                return -1;
            x = o;
        }
        if (eltwise(b, &cat_a, dnnl_eltwise_tanh))
            return -1;
        s = add_step(p, S_ASUM);
        if (!s)
            return mim__dnnl_fail_msg(d, "out of memory (plan)");
        s->in = Sp;
        s->out = cat;
        s->n = B;
        s->c = L;
        s->hw = hw;
        s->out_cb = CAT_C / 16;
        s->out_bf16 = bf;
        /* G */
        x = &cat_a;
        for (int i = 0; i < 5; i++) {
            if (conv(b, &net->g[i], i == 0, x, &y, Y, 1) ||
                inorm(b, &net->g[i], &y, i % 2 ? &tb : &ta, tbuf[i % 2], net->g[i].c_out))
                return -1;
            x = i % 2 ? &tb : &ta;
        }
        if (eltwise(b, x, dnnl_eltwise_tanh))
            return -1;
        r = *x;
        fau_in = &r;
    }

    /* Fau, branch by branch: 3 × (conv + folded BN + PReLU), then conv, global pool and fc as
     * one linear map (fau_head) */
    char *pb[2] = {fau_in->ptr == Tb ? Ta : Tb, Mb};
    for (int a = 0; a < p->n_au; a++) {
        act h1, h2;
        x = fau_in;
        for (int i = 0; i < 3; i++) {
            act *o = i % 2 ? &h2 : &h1;
            if (conv(b, &net->fau[a][i], 0, x, o, pb[i % 2], 0))
                return -1;
            x = o;
        }
        if (fau_head(b, &net->fau[a][3], net->fc_w[a], *net->fc_b[a], x, a))
            return -1;
    }
    return 0;
}

static int check_net(mim__dnnl *d, const mim_infer_aunet *net)
{
    if (net->batch < 1 || net->n_au < 1 || net->n_au > MIM_INFER_MAX_AU || net->n_land < 1)
        return mim__dnnl_fail_msg(d, "dnnl infer: bad batch, AU or landmark count");
    for (int a = 0; a < net->n_au; a++)
        for (int i = 0; i < 4; i++)
            if (net->fau[a][i].c_in != FEAT || net->fau[a][i].c_out != FEAT)
                return mim__dnnl_fail_msg(d, "dnnl infer: Fau layers must be 64 -> 64");
    if (net->target && net->g[0].c_in != FEAT + 1)
        return mim__dnnl_fail_msg(d, "dnnl infer: G must take 65 channels");
    return 0;
}

static plan *plan_build(mim_backend *be, const mim_infer_aunet *net)
{
    mim__dnnl *d = dnnl_of(be);
    if (check_net(d, net))
        return NULL;
    plan *p = calloc(1, sizeof *p);
    if (!p) {
        mim__dnnl_fail_msg(d, "out of memory (plan)");
        return NULL;
    }
    p->batch = net->batch;
    p->target = net->target;
    p->bf16 = net->bf16;
    p->n_au = net->n_au;
    p->n_land = net->n_land;
    builder b = {be, d, p, net->bf16 ? dnnl_bf16 : dnnl_f32, net};
    if (snap_list(p, net) || snap_copy(p)) {
        mim__dnnl_fail_msg(d, "out of memory (plan)");
        plan_free(be, p);
        return NULL;
    }
    if (plan_steps(&b)) {
        plan_free(be, p);
        return NULL;
    }
    if (p->scratch_bytes) {
        void *sc = plan_alloc(be, p, p->scratch_bytes);
        if (!sc) {
            mim__dnnl_fail_msg(d, "out of memory (plan scratchpad)");
            plan_free(be, p);
            return NULL;
        }
        for (int i = 0; i < p->n_scr; i++)
            if (dnnl_memory_set_data_handle(p->scr[i], sc) != dnnl_success) {
                mim__dnnl_fail_msg(d, "oneDNN: set scratchpad handle failed");
                plan_free(be, p);
                return NULL;
            }
    }
    return p;
}

static int plan_run(mim__dnnl *d, plan *p, const float *images, float *prob, int32_t *land_idx)
{
    dnnl_status_t st;
    if (p->img) {
        st = dnnl_memory_set_data_handle(p->img, (void *)images);
        if (st != dnnl_success)
            return mim__dnnl_fail(d, st, "set image handle");
    }
    for (int i = 0; i < p->n_steps; i++) {
        const step *s = &p->steps[i];
        switch (s->kind) {
        case S_PRIM:
            st = dnnl_primitive_execute(s->prim, d->stream, s->n_args, s->args);
            if (st != dnnl_success)
                return mim__dnnl_fail(d, st, "plan primitive execution");
            break;
        case S_IN:
            mim__infer_in(s);
            break;
        case S_PRELU:
            mim__infer_prelu(s);
            break;
        case S_POOL:
            mim__infer_pool(s);
            break;
        case S_IMG:
            mim__infer_img(s, images);
            break;
        case S_ARGMAX:
            mim__infer_argmax(s, land_idx);
            break;
        case S_ASUM:
            mim__infer_asum(s);
            break;
        case S_FAU:
            if (prob)
                mim__infer_fau(s, p->logits, p->n_au);
            break;
        }
    }
    st = dnnl_stream_wait(d->stream);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "stream wait");
    if (prob)
        for (int i = 0; i < p->batch * p->n_au; i++)
            prob[i] = 1.0f / (1.0f + expf(-p->logits[i]));
    return 0;
}

/* ---- extension entries ---- */

mim_status mim__dnnl_aunet_infer(mim_backend *be, void **cachep, const mim_infer_aunet *net,
                                 const float *images, float *prob, int32_t *land_idx)
{
    mim__dnnl *d = dnnl_of(be);
    mim__dnnl_begin(d);
    cache *c = *cachep;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return mim__backend_error(be, MIM_ERR_NOMEM, "out of memory (plan cache)");
        *cachep = c;
    }
    int slot = -1, oldest = 0;
    for (int i = 0; i < MAX_PLANS; i++) {
        plan *q = c->p[i];
        if (q && q->batch == net->batch && q->target == net->target && q->bf16 == net->bf16 &&
            q->n_au == net->n_au && q->n_land == net->n_land) {
            slot = i;
            break;
        }
        if (!q || (c->p[oldest] && q->uses < c->p[oldest]->uses))
            oldest = i;
    }
    if (slot >= 0) {
        plan *q = c->p[slot];
        /* the parameters moved (or are other tensors): rebuild from the new values */
        plan probe = {0};
        int same = snap_list(&probe, net) == 0 && probe.n_snap == q->n_snap &&
                   !memcmp(probe.sp, q->sp, q->n_snap * sizeof *q->sp) &&
                   !memcmp(probe.sn, q->sn, q->n_snap * sizeof *q->sn) && snap_same(q);
        free(probe.sp);
        free(probe.sn);
        if (!same) {
            plan_free(be, q);
            c->p[slot] = NULL;
            oldest = slot;
            slot = -1;
        }
    }
    if (slot < 0) {
        plan_free(be, c->p[oldest]);
        c->p[oldest] = NULL;
        plan *q = plan_build(be, net);
        if (!q)
            return mim__backend_error(be, MIM_ERR_UNSUPPORTED, "%s", mim__dnnl_last_error(d));
        c->p[oldest] = q;
        slot = oldest;
    }
    plan *q = c->p[slot];
    q->uses = ++c->tick;
    if (plan_run(d, q, images, prob, land_idx))
        return mim__backend_error(be, MIM_ERR_BACKEND, "%s", mim__dnnl_last_error(d));
    return MIM_OK;
}

void mim__dnnl_aunet_infer_free(mim_backend *be, void *cachep)
{
    cache *c = cachep;
    if (!c)
        return;
    for (int i = 0; i < MAX_PLANS; i++)
        plan_free(be, c->p[i]);
    free(c);
}
