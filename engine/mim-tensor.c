/* mim-tensor.c: contexts, arenas, tensors, parameters, the tape's backward walk and Adam. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-private.h"

/* ---- arenas ---- */

struct mim__chunk {
    mim__chunk *next;
    void *mem;
    size_t cap, used;
};

#define ALIGN 64

static void *raw_alloc(mim__arena *a, size_t n)
{
    return a->be ? a->be->i->alloc(a->be, n)
                 : aligned_alloc(ALIGN, (n + ALIGN - 1) / ALIGN * ALIGN);
}

static void raw_free(mim__arena *a, void *p)
{
    if (a->be)
        a->be->i->free(a->be, p);
    else
        free(p);
}

static int arena_add_chunk(mim__arena *a, size_t cap)
{
    mim__chunk *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->mem = raw_alloc(a, cap);
    if (!c->mem) {
        free(c);
        return -1;
    }
    c->cap = cap;
    c->next = a->chunks;
    a->chunks = c;
    (*a->n_grow)++;
    return 0;
}

struct mim__free_block {
    mim__free_block *next;
    void *p;
    size_t n;
};

static void *arena_alloc(mim__arena *a, size_t n)
{
    n = (n + ALIGN - 1) / ALIGN * ALIGN;
    if (!n)
        n = ALIGN;
    for (mim__free_block **f = &a->free_list; *f; f = &(*f)->next)
        if ((*f)->n == n) {
            mim__free_block *b = *f;
            *f = b->next;
            b->next = a->spare;
            a->spare = b;
            return b->p;
        }
    mim__chunk *c = a->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = a->min_chunk;
        if (c && c->cap * 2 > cap)
            cap = c->cap * 2;
        if (cap < n)
            cap = n;
        if (arena_add_chunk(a, cap))
            return NULL;
        c = a->chunks;
    }
    void *p = (char *)c->mem + c->used;
    c->used += n;
    a->used += n;
    if (a->used > a->high)
        a->high = a->used;
    return p;
}

/* Gives back a block of n bytes from arena_alloc(a, n) for reuse within this step. */
static void arena_release(mim__arena *a, void *p, size_t n)
{
    n = (n + ALIGN - 1) / ALIGN * ALIGN;
    if (!n)
        n = ALIGN;
    mim__free_block *b = a->spare;
    if (b)
        a->spare = b->next;
    else if (!a->meta || !(b = arena_alloc(a->meta, sizeof *b)))
        return; /* kept until the reset */
    b->p = p;
    b->n = n;
    b->next = a->free_list;
    a->free_list = b;
}

static void arena_free_all(mim__arena *a)
{
    a->free_list = a->spare = NULL;
    while (a->chunks) {
        mim__chunk *c = a->chunks;
        a->chunks = c->next;
        raw_free(a, c->mem);
        free(c);
    }
    a->used = 0;
}

/* Empties the arena; several chunks are consolidated into one of the high-water size so that
 * the next step of the same shapes fits without growing. */
static void arena_reset(mim__arena *a)
{
    a->free_list = a->spare = NULL;
    if (a->chunks && a->chunks->next) {
        size_t high = a->high;
        arena_free_all(a);
        arena_add_chunk(a, high > a->min_chunk ? high : a->min_chunk); /* on failure: lazily */
    }
    if (a->chunks)
        a->chunks->used = 0;
    a->used = 0;
}

/* ---- context ---- */

mim_status mim__error(mim_ctx *ctx, mim_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
    va_end(ap);
    return st;
}

mim_status mim__be_fail(mim_ctx *ctx, mim_status st, const char *op)
{
    const char *msg = ctx->be->err[0] ? ctx->be->err : ctx->ref->err;
    mim__error(ctx, st, "%s (%s backend): %s", op, ctx->be->name,
               msg[0] ? msg : mim_status_str(st));
    ctx->be->err[0] = 0;
    ctx->ref->err[0] = 0;
    return st;
}

const mim__backend_ext *mim__backend_ext_of(const mim_backend *be)
{
#if defined(MIM_DNNL_BACKEND) && MIM_DNNL_BACKEND
    if (be->i == mim__dnnl_backend_ext.table)
        return &mim__dnnl_backend_ext;
#endif
    (void)be;
    return NULL;
}

mim_backend *mim__pick(mim_ctx *ctx, int has)
{
    if (has)
        return ctx->be;
    MIM_ASSERT(ctx->be->is_host); /* a device backend must implement every entry */
    return ctx->ref;
}

mim_ctx *mim_ctx_new(mim_backend *be)
{
    MIM_ASSERT(be);
    mim_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->be = be;
    ctx->ref = mim_backend_ref_new();
    if (!ctx->ref) {
        free(ctx);
        return NULL;
    }
    mim__arena *ar[4] = {&ctx->persist_data, &ctx->step_data, &ctx->persist_host, &ctx->step_host};
    size_t mins[4] = {1 << 20, 16 << 20, 64 << 10, 1 << 20};
    for (int i = 0; i < 4; i++) {
        ar[i]->be = i < 2 ? be : NULL;
        ar[i]->min_chunk = mins[i];
        ar[i]->n_grow = &ctx->n_grow;
    }
    ctx->step_data.meta = &ctx->step_host;
    ctx->grad_enabled = 1;
    return ctx;
}

void mim_ctx_free(mim_ctx *ctx)
{
    if (!ctx)
        return;
    arena_free_all(&ctx->persist_data);
    arena_free_all(&ctx->step_data);
    arena_free_all(&ctx->persist_host);
    arena_free_all(&ctx->step_host);
    free(ctx->params);
    mim_backend_free(ctx->ref);
    free(ctx);
}

mim_backend *mim_ctx_backend(mim_ctx *ctx)
{
    return ctx->be;
}

const char *mim_ctx_last_error(const mim_ctx *ctx)
{
    return ctx->err;
}

int mim_ctx_set_grad(mim_ctx *ctx, int enabled)
{
    int old = ctx->grad_enabled;
    ctx->grad_enabled = enabled != 0;
    return old;
}

void mim_ctx_reset_step(mim_ctx *ctx)
{
    ctx->tape = NULL;
    ctx->n_tape = 0;
    arena_reset(&ctx->step_data);
    arena_reset(&ctx->step_host);
}

mim_status mim_ctx_reserve_step(mim_ctx *ctx, size_t step_bytes)
{
    if (ctx->step_data.used || ctx->step_host.used || ctx->tape)
        return mim__error(ctx, MIM_ERR_STATE, "reserve_step: the step arena is in use");
    mim__arena *a = &ctx->step_data;
    if (!(a->chunks && !a->chunks->next && a->chunks->cap >= step_bytes)) {
        arena_free_all(a);
        if (arena_add_chunk(a, step_bytes > a->min_chunk ? step_bytes : a->min_chunk))
            return mim__error(ctx, MIM_ERR_NOMEM, "reserve_step: %zu bytes of %s memory",
                              step_bytes, ctx->be->name);
    }
    if (a->high < step_bytes)
        a->high = step_bytes;
    mim__arena *h = &ctx->step_host; /* tensor headers and the tape */
    if (!h->chunks && arena_add_chunk(h, h->min_chunk))
        return mim__error(ctx, MIM_ERR_NOMEM, "reserve_step: host memory");
    return MIM_OK;
}

mim_status mim_ctx_sync(mim_ctx *ctx)
{
    mim_status st = ctx->be->i->sync(ctx->be);
    return st ? mim__be_fail(ctx, st, "sync") : MIM_OK;
}

void mim_ctx_stats_get(const mim_ctx *ctx, mim_ctx_stats *out)
{
    memset(out, 0, sizeof *out);
    out->persist_bytes = ctx->persist_data.used + ctx->persist_host.used;
    out->step_bytes = ctx->step_data.used + ctx->step_host.used;
    out->step_high_bytes = ctx->step_data.high + ctx->step_host.high;
    out->n_grow = ctx->n_grow;
    out->n_tape = ctx->n_tape;
    out->n_tape_visited = ctx->n_visited;
}

/* ---- tensors ---- */

int64_t mim_tensor_numel(const mim_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static mim_status check_dims(mim_ctx *ctx, const int64_t ne[4])
{
    for (int i = 0; i < 4; i++)
        if (ne[i] <= 0 || ne[i] > (1LL << 31))
            return mim__error(ctx, MIM_ERR_SHAPE, "tensor: bad shape (%lld,%lld,%lld,%lld)",
                              (long long)ne[0], (long long)ne[1], (long long)ne[2],
                              (long long)ne[3]);
    if (ne[0] * ne[1] * ne[2] * ne[3] > (1LL << 40))
        return mim__error(ctx, MIM_ERR_SHAPE, "tensor: too many elements");
    return MIM_OK;
}

static mim_status new_in(mim_ctx *ctx, int persist, mim_dtype dtype, const int64_t ne[4],
                         mim_tensor **out)
{
    *out = NULL;
    mim_status st = check_dims(ctx, ne);
    if (st)
        return st;
    if (dtype != MIM_F32 && dtype != MIM_I32)
        return mim__error(ctx, MIM_ERR_ARG, "tensor: unknown dtype %d", (int)dtype);
    mim__arena *h = persist ? &ctx->persist_host : &ctx->step_host;
    mim__arena *d = persist ? &ctx->persist_data : &ctx->step_data;
    mim_tensor *t = arena_alloc(h, sizeof *t);
    if (!t)
        return mim__error(ctx, MIM_ERR_NOMEM, "tensor: out of host memory");
    memset(t, 0, sizeof *t);
    memcpy(t->ne, ne, sizeof t->ne);
    t->dtype = dtype;
    t->group = -1;
    t->ctx = ctx;
    t->flags = persist ? MIM_TENSOR_PERSIST : 0;
    t->refs = 1;
    t->data = arena_alloc(d, (size_t)mim_tensor_numel(t) * 4);
    if (!t->data)
        return mim__error(ctx, MIM_ERR_NOMEM, "tensor: out of %s memory (%lld floats)",
                          ctx->be->name, (long long)mim_tensor_numel(t));
    *out = t;
    return MIM_OK;
}

mim_status mim__new(mim_ctx *ctx, mim_dtype dtype, const int64_t ne[4], mim_tensor **out)
{
    return new_in(ctx, 0, dtype, ne, out);
}

mim_status mim__view(mim_ctx *ctx, mim_tensor *x, size_t off, const int64_t ne[4], mim_tensor **out)
{
    mim_tensor *t = arena_alloc(&ctx->step_host, sizeof *t);
    *out = NULL;
    if (!t)
        return mim__error(ctx, MIM_ERR_NOMEM, "view: out of host memory");
    memset(t, 0, sizeof *t);
    memcpy(t->ne, ne, sizeof t->ne);
    t->dtype = x->dtype;
    t->group = -1;
    t->ctx = ctx;
    t->name = x->name;
    t->data = (char *)x->data + off * 4;
    t->base = x->base ? x->base : x;
    mim__ref(t); /* the view's handle holds its base */
    *out = t;
    return MIM_OK;
}

/* ---- step tensor lifetimes ---- */

static mim_tensor *owner(const mim_tensor *t)
{
    return t->base ? t->base : (mim_tensor *)t;
}

void mim__ref(mim_tensor *t)
{
    mim_tensor *o = owner(t);
    if (o->flags & MIM_TENSOR_PERSIST)
        return;
    MIM_ASSERT(o->data && o->refs > 0);
    o->refs++;
}

void mim__unref(mim_ctx *ctx, mim_tensor *t)
{
    mim_tensor *o = owner(t);
    if (o->flags & MIM_TENSOR_PERSIST)
        return;
    MIM_ASSERT(o->refs > 0);
    if (--o->refs)
        return;
    arena_release(&ctx->step_data, o->data, (size_t)mim_tensor_numel(o) * 4);
    o->data = NULL;
}

int mim__live(const mim_tensor *t)
{
    return owner(t)->data != NULL;
}

void mim__keep(mim__entry *e, mim_tensor *t)
{
    if (!e || !t)
        return;
    MIM_ASSERT(e->n_keep < MIM__MAX_KEEP);
    mim__ref(t);
    e->keep[e->n_keep++] = t;
}

void mim_tensor_release(mim_tensor *t)
{
    if (!t || (owner(t)->flags & MIM_TENSOR_PERSIST))
        return;
    mim__unref(t->ctx, t);
}

mim_status mim_tensor_new(mim_ctx *ctx, mim_dtype dtype, int64_t b, int64_t c, int64_t h, int64_t w,
                          mim_tensor **out)
{
    int64_t ne[4] = {b, c, h, w};
    return new_in(ctx, 0, dtype, ne, out);
}

mim_status mim_tensor_zeros(mim_ctx *ctx, int64_t b, int64_t c, int64_t h, int64_t w,
                            mim_tensor **out)
{
    mim_status st = mim_tensor_new(ctx, MIM_F32, b, c, h, w, out);
    if (st == MIM_OK)
        st = mim_tensor_fill(*out, 0.0f);
    return st;
}

mim_status mim_tensor_new_persist(mim_ctx *ctx, mim_dtype dtype, int64_t b, int64_t c, int64_t h,
                                  int64_t w, mim_tensor **out)
{
    int64_t ne[4] = {b, c, h, w};
    return new_in(ctx, 1, dtype, ne, out);
}

mim_status mim_tensor_set(mim_tensor *t, const void *src, size_t n_bytes)
{
    MIM_ASSERT(t && src);
    mim_ctx *ctx = t->ctx;
    if (n_bytes != (size_t)mim_tensor_numel(t) * 4)
        return mim__error(ctx, MIM_ERR_SHAPE, "tensor_set: %zu bytes for a tensor of %lld bytes",
                          n_bytes, (long long)mim_tensor_numel(t) * 4);
    mim_status st = ctx->be->i->set(ctx->be, t->data, src, n_bytes);
    return st ? mim__be_fail(ctx, st, "tensor_set") : MIM_OK;
}

mim_status mim_tensor_get(const mim_tensor *t, void *dst, size_t n_bytes)
{
    MIM_ASSERT(t && dst);
    mim_ctx *ctx = t->ctx;
    if (n_bytes != (size_t)mim_tensor_numel(t) * 4)
        return mim__error(ctx, MIM_ERR_SHAPE, "tensor_get: %zu bytes for a tensor of %lld bytes",
                          n_bytes, (long long)mim_tensor_numel(t) * 4);
    mim_status st = ctx->be->i->get(ctx->be, dst, t->data, n_bytes);
    return st ? mim__be_fail(ctx, st, "tensor_get") : MIM_OK;
}

mim_status mim_tensor_fill(mim_tensor *t, float value)
{
    MIM_ASSERT(t);
    mim_ctx *ctx = t->ctx;
    if (t->dtype != MIM_F32)
        return mim__error(ctx, MIM_ERR_ARG, "tensor_fill: not a float tensor");
    int64_t n = mim_tensor_numel(t);
    mim_status st;
    if (value == 0.0f)
        st = ctx->be->i->zero(ctx->be, t->data, (size_t)n * 4);
    else {
        /* y = 0·y + value: a one-float constant broadcast by add_scalar_grad. */
        st = ctx->be->i->zero(ctx->be, t->data, (size_t)n * 4);
        if (!st)
            st = ctx->be->i->set(ctx->be, t->data, &value, 4);
        if (!st && n > 1) {
            /* t[1..] += t[0] (t[0] already holds value). */
            st = MIM__CALL(ctx, add_scalar_grad, n - 1, MIM__F(t) + 1, 1.0f, MIM__F(t));
        }
    }
    return st ? mim__be_fail(ctx, st, "tensor_fill") : MIM_OK;
}

void mim_tensor_set_requires_grad(mim_tensor *t, int on)
{
    MIM_ASSERT(t && !(t->flags & MIM_TENSOR_PARAM) && t->dtype == MIM_F32);
    if (on)
        t->flags |= MIM_TENSOR_REQUIRES_GRAD | MIM__TENSOR_KEEP_GRAD;
    else
        t->flags &= ~(uint32_t)(MIM_TENSOR_REQUIRES_GRAD | MIM__TENSOR_KEEP_GRAD);
}

mim_status mim_tensor_copy(mim_tensor *dst, const mim_tensor *src)
{
    MIM_ASSERT(dst && src && dst->ctx == src->ctx);
    mim_ctx *ctx = dst->ctx;
    if (memcmp(dst->ne, src->ne, sizeof dst->ne) || dst->dtype != src->dtype)
        return mim__error(ctx, MIM_ERR_SHAPE, "tensor_copy: shapes or dtypes differ");
    mim_status st =
        ctx->be->i->copy(ctx->be, dst->data, src->data, (size_t)mim_tensor_numel(src) * 4);
    return st ? mim__be_fail(ctx, st, "tensor_copy") : MIM_OK;
}

/* ---- parameters ---- */

static const char *pstrdup(mim_ctx *ctx, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(&ctx->persist_host, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static mim_status listed_new(mim_ctx *ctx, int param, const char *module, const char *name,
                             int group, const int64_t ne[4], mim_tensor **out)
{
    *out = NULL;
    mim_tensor *t;
    mim_status st = new_in(ctx, 1, MIM_F32, ne, &t);
    if (st)
        return st;
    if ((st = mim_tensor_fill(t, 0.0f)))
        return st;
    char full[256];
    snprintf(full, sizeof full, "%s.%s", module ? module : "", name ? name : "");
    t->name = pstrdup(ctx, full);
    t->module = pstrdup(ctx, module ? module : "");
    if (!t->name || !t->module)
        return mim__error(ctx, MIM_ERR_NOMEM, "param: out of host memory");
    if (param) {
        t->flags |= MIM_TENSOR_PARAM | MIM_TENSOR_REQUIRES_GRAD;
        t->group = group;
        if ((st = new_in(ctx, 1, MIM_F32, ne, &t->grad)) || (st = mim_tensor_fill(t->grad, 0.0f)))
            return st;
    } else {
        t->flags |= MIM_TENSOR_BUFFER;
    }
    if (ctx->n_params == ctx->cap_params) {
        int cap = ctx->cap_params ? 2 * ctx->cap_params : 64;
        mim_tensor **p = realloc(ctx->params, sizeof *p * cap);
        if (!p)
            return mim__error(ctx, MIM_ERR_NOMEM, "param: out of host memory");
        ctx->params = p;
        ctx->cap_params = cap;
    }
    ctx->params[ctx->n_params++] = t;
    *out = t;
    return MIM_OK;
}

mim_status mim_param_new(mim_ctx *ctx, const char *module, const char *name, int group, int64_t b,
                         int64_t c, int64_t h, int64_t w, mim_tensor **out)
{
    int64_t ne[4] = {b, c, h, w};
    return listed_new(ctx, 1, module, name, group, ne, out);
}

mim_status mim_buffer_new(mim_ctx *ctx, const char *module, const char *name, int64_t b, int64_t c,
                          int64_t h, int64_t w, mim_tensor **out)
{
    int64_t ne[4] = {b, c, h, w};
    return listed_new(ctx, 0, module, name, -1, ne, out);
}

void mim_param_set_frozen(mim_tensor *p, int frozen)
{
    MIM_ASSERT(p && (p->flags & MIM_TENSOR_PARAM));
    if (frozen)
        p->flags = (p->flags | MIM_TENSOR_FROZEN) & ~(uint32_t)MIM_TENSOR_REQUIRES_GRAD;
    else
        p->flags = (p->flags & ~(uint32_t)MIM_TENSOR_FROZEN) | MIM_TENSOR_REQUIRES_GRAD;
}

static int listed_match(const mim_tensor *t, uint32_t kind, const char *module, int group)
{
    return (t->flags & kind) && (!module || !strcmp(module, t->module)) &&
           (group < 0 || group == t->group);
}

static int list(mim_ctx *ctx, uint32_t kind, const char *module, int group, mim_tensor **out,
                int max)
{
    int n = 0;
    for (int i = 0; i < ctx->n_params; i++)
        if (listed_match(ctx->params[i], kind, module, group)) {
            if (out && n < max)
                out[n] = ctx->params[i];
            n++;
        }
    return n;
}

int mim_param_list(mim_ctx *ctx, const char *module, int group, mim_tensor **out, int max)
{
    return list(ctx, MIM_TENSOR_PARAM, module, group, out, max);
}

int mim_buffer_list(mim_ctx *ctx, const char *module, mim_tensor **out, int max)
{
    return list(ctx, MIM_TENSOR_BUFFER, module, -1, out, max);
}

void mim_param_zero_grad(mim_ctx *ctx, const char *module, int group)
{
    for (int i = 0; i < ctx->n_params; i++) {
        mim_tensor *t = ctx->params[i];
        if (listed_match(t, MIM_TENSOR_PARAM, module, group))
            ctx->be->i->zero(ctx->be, t->grad->data, (size_t)mim_tensor_numel(t) * 4);
    }
}

/* ---- tape ---- */

mim_status mim__record(mim_ctx *ctx, const char *op, mim__bw_fn bw, mim_tensor *out,
                       mim_tensor *const *in, int n_in, mim__entry **e)
{
    *e = NULL;
    MIM_ASSERT(n_in <= MIM__MAX_IN);
    if (!ctx->grad_enabled)
        return MIM_OK;
    int need = 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && (in[i]->flags & MIM_TENSOR_REQUIRES_GRAD))
            need = 1;
    if (!need)
        return MIM_OK;
    mim__entry *n = arena_alloc(&ctx->step_host, sizeof *n);
    if (!n)
        return mim__error(ctx, MIM_ERR_NOMEM, "%s: out of host memory for the tape", op);
    memset(n, 0, sizeof *n);
    n->bw = bw;
    n->op = op;
    n->out = out;
    n->n_in = n_in;
    for (int i = 0; i < n_in; i++)
        n->in[i] = in[i];
    n->prev = ctx->tape;
    ctx->tape = n;
    ctx->n_tape++;
    out->flags |= MIM_TENSOR_REQUIRES_GRAD;
    *e = n;
    return MIM_OK;
}

float *mim__grad(mim_ctx *ctx, mim_tensor *t, mim_status *st)
{
    if (!t || !(t->flags & MIM_TENSOR_REQUIRES_GRAD) || t->mark != ctx->bw_gen)
        return NULL;
    if (t->flags & MIM_TENSOR_PARAM)
        return MIM__F(t->grad);
    if (t->grad_gen != ctx->bw_gen || !t->grad) {
        if (!t->grad) {
            mim_status s =
                new_in(ctx, (t->flags & MIM_TENSOR_PERSIST) != 0, MIM_F32, t->ne, &t->grad);
            if (s) {
                *st = s;
                return NULL;
            }
        }
        mim_status s = ctx->be->i->zero(ctx->be, t->grad->data, (size_t)mim_tensor_numel(t) * 4);
        if (s) {
            *st = mim__be_fail(ctx, s, "backward: zero");
            return NULL;
        }
        t->grad_gen = ctx->bw_gen;
    }
    return MIM__F(t->grad);
}

/* After the op that produced t has run its backward, nothing reads t->grad again in this pass
 * (the tape is walked newest first, so every consumer of t came before): an activation gradient
 * goes back to the step arena for the next one of its size, unless the caller asked to keep it.
 * A later backward on the same tape allocates it afresh. */
static void release_grad(mim_ctx *ctx, mim_tensor *t)
{
    if (!t->grad || (t->flags & (MIM_TENSOR_PARAM | MIM_TENSOR_PERSIST | MIM__TENSOR_KEEP_GRAD)))
        return;
    arena_release(&ctx->step_data, t->grad->data, (size_t)mim_tensor_numel(t->grad) * 4);
    t->grad = NULL;
}

mim_status mim_backward(mim_ctx *ctx, mim_tensor *loss)
{
    MIM_ASSERT(ctx && loss && loss->ctx == ctx);
    if (mim_tensor_numel(loss) != 1 || loss->dtype != MIM_F32)
        return mim__error(ctx, MIM_ERR_SHAPE,
                          "backward: the loss must be one float, not (%lld,%lld,%lld,%lld)",
                          (long long)loss->ne[0], (long long)loss->ne[1], (long long)loss->ne[2],
                          (long long)loss->ne[3]);
    if (!(loss->flags & MIM_TENSOR_REQUIRES_GRAD))
        return mim__error(ctx, MIM_ERR_STATE,
                          "backward: the loss depends on nothing that requires grad");
    uint32_t gen = ++ctx->bw_gen;
    if (gen == 0)
        gen = ++ctx->bw_gen;
    loss->mark = gen;
    long n_visit = 0;
    for (mim__entry *e = ctx->tape; e; e = e->prev) {
        if (e->out->mark != gen)
            continue;
        e->visit = gen;
        n_visit++;
        for (int i = 0; i < e->n_in; i++)
            if (e->in[i] && (e->in[i]->flags & MIM_TENSOR_REQUIRES_GRAD))
                e->in[i]->mark = gen;
    }
    ctx->n_visited = n_visit;
    if (loss->flags & MIM_TENSOR_PARAM)
        return mim__error(ctx, MIM_ERR_STATE, "backward: the loss is a parameter");
    mim_status st = MIM_OK;
    float *g = mim__grad(ctx, loss, &st);
    if (!g)
        return st ? st : mim__error(ctx, MIM_ERR_STATE, "backward: no gradient for the loss");
    float one = 1.0f;
    if ((st = ctx->be->i->set(ctx->be, g, &one, 4)))
        return mim__be_fail(ctx, st, "backward: seed");
    for (mim__entry *e = ctx->tape; e; e = e->prev) {
        if (e->visit != gen)
            continue;
        for (int k = 0; k < e->n_keep; k++)
            if (!mim__live(e->keep[k]))
                return mim__error(ctx, MIM_ERR_STATE,
                                  "backward: %s's saved tensors were released and freed by an "
                                  "earlier backward",
                                  e->op);
        if ((st = e->bw(ctx, e)))
            return st;
        release_grad(ctx, e->out);
        /* what this backward read is no longer needed by it */
        if (!e->dropped) {
            e->dropped = 1;
            for (int k = 0; k < e->n_keep; k++)
                mim__unref(ctx, e->keep[k]);
        }
    }
    return MIM_OK;
}

/* ---- Adam ---- */

mim_status mim_adam_update(mim_ctx *ctx, mim_tensor *p, const mim_tensor *g, mim_tensor *m,
                           mim_tensor *v, double lr, double beta1, double beta2, double eps,
                           int64_t t)
{
    MIM_ASSERT(ctx && p && g && m && v);
    int64_t n = mim_tensor_numel(p);
    if (mim_tensor_numel(g) != n || mim_tensor_numel(m) != n || mim_tensor_numel(v) != n)
        return mim__error(ctx, MIM_ERR_SHAPE,
                          "adam: p, g, m, v sizes differ (%lld, %lld, %lld, %lld)", (long long)n,
                          (long long)mim_tensor_numel(g), (long long)mim_tensor_numel(m),
                          (long long)mim_tensor_numel(v));
    if (t < 1 || !(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) ||
        !(eps > 0))
        return mim__error(ctx, MIM_ERR_ARG,
                          "adam: bad hyper-parameters (t %lld, lr %g, betas %g %g, eps %g)",
                          (long long)t, lr, beta1, beta2, eps);
    float step = (float)(lr / (1.0 - pow(beta1, (double)t)));
    float bc2 = (float)sqrt(1.0 - pow(beta2, (double)t));
    mim_status st = MIM__CALL(ctx, adam_update, n, MIM__F(p), (const float *)g->data, MIM__F(m),
                              MIM__F(v), (float)beta1, (float)beta2, step, bc2, (float)eps);
    return st ? mim__be_fail(ctx, st, "adam") : MIM_OK;
}
