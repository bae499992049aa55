/* mim-private.h: engine internals shared by mim-tensor.c and mim-ops.c (context, arenas, tape). */
#pragma once

#include "mim-backend-impl.h"

/* A chunked bump allocator over backend memory (be != NULL) or host memory (be == NULL), with
 * a list of released blocks that later allocations of the same (aligned) size take first. The
 * list's nodes live in the host arena `meta`, reset together with this one. used and high count
 * bump bytes (released blocks stay counted): the footprint that the next step needs. */
typedef struct mim__chunk mim__chunk;
typedef struct mim__free_block mim__free_block;
typedef struct mim__arena mim__arena;
struct mim__arena {
    mim_backend *be;
    size_t min_chunk;
    mim__chunk *chunks; /* newest first */
    size_t used, high;  /* bytes in use (all chunks), high-water mark */
    long *n_grow;       /* the context's counter */
    mim__arena *meta;   /* host arena for the free-list nodes; NULL: no releasing */
    mim__free_block *free_list, *spare;
};

/* A step tensor flag (beside the public MIM_TENSOR_* bits): mim_tensor_set_requires_grad was
 * called on it, so backward keeps its ->grad; other activation gradients are released as soon as
 * the op that produced the tensor has passed its gradient on. */
#define MIM__TENSOR_KEEP_GRAD (1u << 30)

typedef struct mim__entry mim__entry;
typedef mim_status (*mim__bw_fn)(mim_ctx *ctx, mim__entry *e);

/* Backend entries not (yet) in mim_backend_i (mim-backend-impl.h), for the host backends that
 * have them: mim__backend_ext_of finds a backend's by its table. */
typedef struct {
    const mim_backend_i *table;
    /* prelu_backward(n·c·hw, dx, dslope, dy, y, slope) where y is what this backend's
     * batchnorm_forward (n, c, hw, gamma, beta) or instancenorm_forward (n = 1, c = batch ·
     * channels, gamma = beta = NULL) wrote from x with the statistics it saved (mean, invstd):
     * the results bit for bit, with y recomputed from x. Lets the engine free a norm's output
     * after the forward (its only reader being a PReLU). */
    mim_status (*norm_prelu_backward)(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                      float *dslope, const float *dy, const float *x,
                                      const float *mean, const float *invstd, const float *gamma,
                                      const float *beta, const float *slope);
    /* The AU network's inference path (mim-backend-impl.h) on net->batch host images (B,3,176,176):
     * prob (B,n_au) AU probabilities and land_idx (B,n_land) first-maximum argmax of each landmark
     * map (either may be NULL). *cache holds the backend's plans for this model (NULL at first;
     * freed by aunet_infer_free); plans follow parameter changes. MIM_ERR_UNSUPPORTED (with the
     * reason in be->err) where no plan can be built: the caller then runs the generic ops. */
    mim_status (*aunet_infer)(mim_backend *be, void **cache, const mim_infer_aunet *net,
                              const float *images, float *prob, int32_t *land_idx);
    void (*aunet_infer_free)(mim_backend *be, void *cache);
} mim__backend_ext;

/* engine/dnnl (when built) */
extern const mim__backend_ext mim__dnnl_backend_ext;
/* be's extension entries, or NULL. */
const mim__backend_ext *mim__backend_ext_of(const mim_backend *be);

#define MIM__MAX_IN   8
#define MIM__MAX_KEEP 5

/* One tape entry: an op application whose output requires grad. keep[] are the step tensors whose
 * data its backward reads: each holds a reference (mim__ref) until the first backward that runs
 * the entry has done so (dropped). src: for a PReLU on a normalisation's output, that norm's
 * entry, from whose input and statistics the backward recomputes the output it did not keep. */
struct mim__entry {
    mim__entry *prev;
    mim__bw_fn bw;
    const char *op;
    mim_tensor *out;
    mim_tensor *in[MIM__MAX_IN];
    int n_in;
    mim_tensor *saved[2];
    mim_tensor *keep[MIM__MAX_KEEP];
    int n_keep, dropped;
    mim__entry *src;
    int iarg[4];
    float farg[2];
    mim_conv_shape conv;
    mim_pool_shape pool;
    uint32_t visit;
};

struct mim_ctx {
    mim_backend *be;
    mim_backend *ref; /* fallback for the optional entries of a host backend */
    mim__arena persist_data, step_data, persist_host, step_host;
    long n_grow;
    mim__entry *tape;
    long n_tape, n_visited;
    int grad_enabled;
    uint32_t bw_gen;
    mim_tensor **params; /* parameters and buffers, in creation order */
    int n_params, cap_params;
    char err[512];
};

mim_status mim__error(mim_ctx *ctx, mim_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies the failing backend's message into the context's error. */
mim_status mim__be_fail(mim_ctx *ctx, mim_status st, const char *op);
/* The backend whose table has entry `has` (be itself, or the ref fallback of a host backend). */
mim_backend *mim__pick(mim_ctx *ctx, int has);

/* New step tensor (F32 unless dtype), data uninitialised. */
mim_status mim__new(mim_ctx *ctx, mim_dtype dtype, const int64_t ne[4], mim_tensor **out);
/* A header in the step arena sharing base's data (offset in elements). */
mim_status mim__view(mim_ctx *ctx, mim_tensor *x, size_t off, const int64_t ne[4],
                     mim_tensor **out);
/* Appends a tape entry for out if any input requires grad (and grad mode is on); sets out's
 * REQUIRES_GRAD. *e is NULL when nothing is recorded. */
mim_status mim__record(mim_ctx *ctx, const char *op, mim__bw_fn bw, mim_tensor *out,
                       mim_tensor *const *in, int n_in, mim__entry **e);
/* The gradient buffer of t for the running backward, or NULL when t needs none. */
float *mim__grad(mim_ctx *ctx, mim_tensor *t, mim_status *st);

/* References on the memory of a step tensor (a view's go to its base; persistent tensors have
 * none): a new tensor starts with one, its creator's handle; the memory returns to the step arena
 * when the last one is dropped, and the owner's data becomes NULL. */
void mim__ref(mim_tensor *t);
void mim__unref(mim_ctx *ctx, mim_tensor *t);
/* 0 once t's memory went back to the arena. */
int mim__live(const mim_tensor *t);
/* e's backward will read t's data: e holds a reference until it has run (t may be NULL). */
void mim__keep(mim__entry *e, mim_tensor *t);

#define MIM__BE(ctx, fn)        mim__pick((ctx), (ctx)->be->i->fn != NULL)
#define MIM__CALL(ctx, fn, ...) (MIM__BE(ctx, fn)->i->fn(MIM__BE(ctx, fn), __VA_ARGS__))
#define MIM__F(t)               ((float *)(t)->data)
