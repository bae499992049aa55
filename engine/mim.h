/* mim.h: the Mimica compute engine's public API (libmim): status codes, backends, contexts,
 * tensors, graph-building operations with autograd, parameters and an Adam update.
 *
 * Tensors are float32 (or int32 for labels), NCHW, shape ne[4] = (B,C,H,W); a tensor of fewer
 * dimensions keeps the leading ones at 1 where it says so below, e.g. a scalar is (1,1,1,1).
 * Tensor memory belongs to the context's backend (host memory for ref/dnnl, device memory for
 * cuda); mim_tensor_set / mim_tensor_get are the only host<->device crossing.
 *
 * Memory. A context owns two arenas: the persistent one (parameters, their gradients, buffers,
 * optimiser state; never reset) and the step one (activations, their gradients, the tape; reset by
 * mim_ctx_reset_step). Arenas grow only between steps: the first step (or a dry run) measures the
 * high-water mark, a reset consolidates the arena to it, and later steps of the same shapes never
 * call malloc (mim_ctx_stats counts growth events). Within a step, a step tensor's memory goes back
 * to the arena (for the next tensor of its size) once nothing needs it: the caller gave up its
 * handle with mim_tensor_release, and every recorded op whose backward reads the tensor has run
 * that backward. Tensors the caller never releases live until the reset, as do the ones only an
 * op that no backward reaches still reads.
 *
 * Autograd. While grad mode is on (the default), each op whose inputs require grad appends an
 * entry to the context's tape. mim_backward(ctx, loss) walks the tape in reverse, visits only the
 * entries the loss depends on, and accumulates d loss / d t into t->grad of every tensor that
 * requires grad (parameter gradients add up across calls until mim_param_zero_grad; activation
 * gradients are cleared at the start of each backward, and an intermediate activation's gradient
 * is released, its memory reused, as soon as the op that produced the activation has run its
 * backward: read ->grad only of parameters and of tensors marked with
 * mim_tensor_set_requires_grad, which keep theirs). More ops may be appended after a backward
 * and a second backward run on the same tape (MODEL.md §5: discriminator loss, then the generator
 * loss). Ops never modify their inputs; do not change a parameter between its use in a recorded op
 * and a backward that reaches that op.
 *
 * Errors. Calls that can fail return mim_status (0 = MIM_OK) and pass results through out-params;
 * the detail text is read with mim_ctx_last_error(). Our own bugs (NULL tensors, tensors of another
 * context) hit MIM_ASSERT, which aborts with file:line. Nothing here calls exit().
 *
 * Threads: a context and its backend are used by one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ---------------------------------------------------------------------------- */

typedef enum {
    MIM_OK = 0,
    MIM_ERR_NOMEM,       /* host or device allocation failed */
    MIM_ERR_SHAPE,       /* shapes of the operands do not fit the op */
    MIM_ERR_ARG,         /* a bad argument (value out of range, wrong dtype, ...) */
    MIM_ERR_UNSUPPORTED, /* the backend or this build cannot do it */
    MIM_ERR_BACKEND,     /* the backend library failed (oneDNN, CUDA) */
    MIM_ERR_STATE,       /* call out of order (backward of a non-scalar, no tape entry, ...) */
    MIM_ERR_IO,          /* file access failed */
    MIM_ERR_FORMAT,      /* malformed input data */
} mim_status;

const char *mim_status_str(mim_status st); /* static string, never NULL */
/* Writes a message into a caller's error buffer (err may be NULL or err_size 0: nothing is
 * written) and returns -1, for the `char *err, size_t err_size` convention of the file readers. */
int mim_errf(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replaces, in place, every byte of s that does not begin a complete UTF-8 sequence with '?'.
 * mim_errf does it to every message: one that quotes a file's bytes, or is cut by a %.Ns
 * precision or by err_size, still reaches GError and the UI as valid UTF-8. */
void mim_utf8_make_valid(char *s);

/* Abort with file:line and the message (our own bugs). The host may install its own handler
 * (it must not return). */
typedef void (*mim_abort_fn)(const char *file, int line, const char *msg);
void mim_set_abort_handler(mim_abort_fn fn); /* NULL restores the default (stderr + abort) */
void mim__assert_fail(const char *file, int line, const char *msg);
#define MIM_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            mim__assert_fail(__FILE__, __LINE__, "MIM_ASSERT(" #cond ")");                         \
    } while (0)

/* ---- backends --------------------------------------------------------------------------- */

typedef struct mim_backend mim_backend;

/* Operation ids for mim_backend_supports (one per backend-table pair). */
typedef enum {
    MIM_OP_CONV2D,
    MIM_OP_BATCHNORM,
    MIM_OP_INSTANCENORM,
    MIM_OP_PRELU,
    MIM_OP_ACT, /* relu, tanh, sigmoid */
    MIM_OP_AVGPOOL,
    MIM_OP_SOFTMAX,
    MIM_OP_CHANNEL_SUM,
    MIM_OP_GEMM,
    MIM_OP_CHANNEL_COPY, /* concat / channel slices */
    MIM_OP_ELEMENTWISE,  /* add, sub, scale, mul */
    MIM_OP_BIAS,
    MIM_OP_REDUCE,
    MIM_OP_L1,
    MIM_OP_MSE,
    MIM_OP_BCE_LOGITS,
    MIM_OP_CROSS_ENTROPY,
    MIM_OP_L2NORM,
    MIM_OP_ADAM,
    MIM_OP_COUNT
} mim_op;

mim_backend *mim_backend_ref_new(void);
/* oneDNN CPU backend; n_threads <= 0: all cores. NULL when this build has no oneDNN or it
 * failed to start. */
mim_backend *mim_backend_dnnl_new(int n_threads);
/* CUDA backend on `device`; NULL with *st set (MIM_ERR_UNSUPPORTED without CUDA in the build). */
mim_backend *mim_backend_cuda_new(int device, mim_status *st);
/* MIMICA_BACKEND=ref|dnnl|cuda, else the best available (cuda, dnnl, ref). NULL with *st set when
 * the requested one cannot start. Same as mim_backend_open(NULL, st, NULL, 0). */
mim_backend *mim_backend_default(mim_status *st);
/* Makes the backend `name`: "ref", "dnnl" (all cores), "cuda" (device 0), or "auto" = the best
 * this machine can run (cuda, else dnnl, else ref). NULL or "" reads MIMICA_BACKEND, and means
 * "auto" where that is unset or empty. On failure returns NULL, sets *st (MIM_ERR_ARG for an
 * unknown name, MIM_ERR_UNSUPPORTED when the build or the machine lacks it, MIM_ERR_BACKEND when
 * the library failed) and writes one line "<name>: <reason>" into err ("cuda: no CUDA device:
 * ...", "dnnl: this build has no oneDNN backend ..."), for programs that let a user choose.
 * st and err may be NULL. */
mim_backend *mim_backend_open(const char *name, mim_status *st, char *err, size_t err_size);
/* 1 if the backend `name` ("ref", "dnnl", "cuda") was compiled into this build. */
int mim_backend_compiled(const char *name);
void mim_backend_free(mim_backend *be); /* NULL is fine; free after every context using it */
const char *mim_backend_name(const mim_backend *be); /* "ref", "dnnl", "cuda" */
/* 1 if the backend runs op itself, 0 if it falls back to the reference loops. */
int mim_backend_supports(const mim_backend *be, mim_op op);
int mim_backend_is_host(const mim_backend *be); /* tensor data is host memory */

/* Arithmetic precision of a backend's convolutions. BF16: each convolution pass (forward,
 * backward-data, backward-weights) reads its inputs rounded to bfloat16 and accumulates and
 * writes fp32; parameters (fp32 master weights), gradients, norms, activations and losses stay
 * fp32. dnnl only (MIM_ERR_UNSUPPORTED elsewhere, or on a CPU without AVX-512); fast where the
 * CPU has AVX512-BF16 or AMX (mim_backend_bf16_native), emulated by oneDNN otherwise. A dnnl
 * backend starts in the precision of MIMICA_PRECISION=f32|bf16 (default f32). */
typedef enum {
    MIM_PRECISION_F32,
    MIM_PRECISION_BF16,
} mim_precision;

mim_status mim_backend_set_precision(mim_backend *be, mim_precision p);
mim_precision mim_backend_precision(const mim_backend *be);
/* 1 if this CPU runs bf16 natively (AVX512-BF16 or AMX) and the build has dnnl. */
int mim_backend_bf16_native(void);

/* ---- context ------------------------------------------------------------------------------- */

typedef struct mim_ctx mim_ctx;

/* A context per thread; it borrows be (free the context first). */
mim_ctx *mim_ctx_new(mim_backend *be);
void mim_ctx_free(mim_ctx *ctx); /* frees every tensor of the context */
mim_backend *mim_ctx_backend(mim_ctx *ctx);
const char *mim_ctx_last_error(const mim_ctx *ctx); /* "" when none */
/* Grad mode: when off, ops record nothing (inference). Returns the previous mode. */
int mim_ctx_set_grad(mim_ctx *ctx, int enabled);
/* Drops the tape and every step tensor (activations, their gradients); parameters stay. */
void mim_ctx_reset_step(mim_ctx *ctx);
/* Plans the step arena from a dry run: with the step arena empty (right after a reset), makes
 * room for step_bytes (e.g. mim_ctx_stats.step_high_bytes of a dry run) so that steps up to that
 * size never grow. MIM_ERR_STATE when step tensors exist. */
mim_status mim_ctx_reserve_step(mim_ctx *ctx, size_t step_bytes);
/* Waits for the backend's queued work (no-op on CPU backends). */
mim_status mim_ctx_sync(mim_ctx *ctx);

typedef struct {
    size_t persist_bytes, step_bytes; /* in use now */
    size_t step_high_bytes;           /* high-water mark of the step arena */
    long n_grow;                      /* chunk allocations so far (both arenas) */
    long n_tape, n_tape_visited;      /* tape length, entries the last backward ran */
} mim_ctx_stats;
void mim_ctx_stats_get(const mim_ctx *ctx, mim_ctx_stats *out);

/* ---- tensors ------------------------------------------------------------------------------- */

typedef enum { MIM_F32 = 0, MIM_I32 = 1 } mim_dtype;

enum {
    MIM_TENSOR_REQUIRES_GRAD = 1 << 0, /* backward computes ->grad */
    MIM_TENSOR_PARAM = 1 << 1,         /* a parameter (persistent, listed) */
    MIM_TENSOR_FROZEN = 1 << 2,        /* a parameter that gets no gradient */
    MIM_TENSOR_PERSIST = 1 << 3,       /* lives in the persistent arena */
    MIM_TENSOR_BUFFER = 1 << 4,        /* a non-trainable listed tensor (BN running stats) */
};

typedef struct mim_tensor mim_tensor;
struct mim_tensor {
    int64_t ne[4];    /* (B,C,H,W) */
    mim_dtype dtype;  /* MIM_F32 unless said otherwise */
    uint32_t flags;   /* MIM_TENSOR_* */
    void *data;       /* backend memory: never dereference unless mim_backend_is_host */
    mim_tensor *grad; /* same shape, or NULL (no gradient reached it yet) */
    const char *name; /* may be NULL; parameters: "module.name" */
    const char *module;
    int group; /* optimiser group of a parameter (caller-defined id), else -1 */
    /* engine-private from here on */
    mim_ctx *ctx;
    mim_tensor *base;  /* a view's owner of the memory, else NULL */
    uint32_t mark;     /* backward visit mark */
    uint32_t grad_gen; /* backward generation in which grad was zeroed */
    int32_t refs;      /* an owner's holders: handles (its own, its views') and tape entries */
    struct mim__entry *producer; /* the tape entry that wrote it, if one was recorded */
};

int64_t mim_tensor_numel(const mim_tensor *t);
/* A new step tensor (uninitialised data, except where said). */
mim_status mim_tensor_new(mim_ctx *ctx, mim_dtype dtype, int64_t b, int64_t c, int64_t h, int64_t w,
                          mim_tensor **out);
mim_status mim_tensor_zeros(mim_ctx *ctx, int64_t b, int64_t c, int64_t h, int64_t w,
                            mim_tensor **out);
/* A tensor in the persistent arena (not a parameter, not listed): constants, loss weights. */
mim_status mim_tensor_new_persist(mim_ctx *ctx, mim_dtype dtype, int64_t b, int64_t c, int64_t h,
                                  int64_t w, mim_tensor **out);
/* Host -> tensor, tensor -> host: n_bytes must equal the tensor's size. */
mim_status mim_tensor_set(mim_tensor *t, const void *src, size_t n_bytes);
mim_status mim_tensor_get(const mim_tensor *t, void *dst, size_t n_bytes);
mim_status mim_tensor_fill(mim_tensor *t, float value); /* F32 only */
/* Marks a non-parameter float tensor (an input) as requiring grad, so that backward fills its
 * ->grad (in the persistent arena for a persistent tensor, else in the step arena). */
void mim_tensor_set_requires_grad(mim_tensor *t, int on);
/* dst = src (same shape and dtype), no tape entry. */
mim_status mim_tensor_copy(mim_tensor *dst, const mim_tensor *src);
/* Gives up the caller's handle on a step tensor (an op's result, a mim_tensor_new, a view): its
 * memory is reused as soon as no recorded backward still needs it (at once when none does, e.g.
 * in grad mode off). The caller must not use t afterwards; ops already recorded keep what their
 * backward reads. A released tensor's ->grad is still filled by backward where it was marked
 * with mim_tensor_set_requires_grad. A second backward through an op whose saved inputs were
 * released and consumed by a first backward fails with MIM_ERR_STATE. Persistent tensors and
 * NULL: nothing happens. */
void mim_tensor_release(mim_tensor *t);

/* ---- parameters ---------------------------------------------------------------------------- */

/* A trainable parameter in the persistent arena: requires grad, gradient allocated and zeroed,
 * listed under module (e.g. "Ef") and optimiser group. Data zeroed; fill it with mim_tensor_set. */
mim_status mim_param_new(mim_ctx *ctx, const char *module, const char *name, int group, int64_t b,
                         int64_t c, int64_t h, int64_t w, mim_tensor **out);
/* A listed non-trainable tensor (BN running mean/var), persistent. Data zeroed. */
mim_status mim_buffer_new(mim_ctx *ctx, const char *module, const char *name, int64_t b, int64_t c,
                          int64_t h, int64_t w, mim_tensor **out);
/* Frozen: no weight gradient (inputs' gradients still flow through the ops that use it). */
void mim_param_set_frozen(mim_tensor *p, int frozen);
/* Listing, in creation order: module / group filters (NULL / -1 = any). Returns the number of
 * matches; writes at most max of them to out (out may be NULL to count). Buffers are listed by
 * mim_buffer_list. */
int mim_param_list(mim_ctx *ctx, const char *module, int group, mim_tensor **out, int max);
int mim_buffer_list(mim_ctx *ctx, const char *module, mim_tensor **out, int max);
/* Zeroes the gradients of the matching parameters. */
void mim_param_zero_grad(mim_ctx *ctx, const char *module, int group);

/* ---- graph-building ops (record on the tape when an input requires grad) -------------------- */
/* Every op returns a new step tensor through *out and does not modify its inputs. */

/* Stop-gradient: a view of x sharing its data, which requires no grad and records nothing. */
mim_tensor *mim_detach(mim_ctx *ctx, mim_tensor *x);
/* A view of x with the same number of elements (B,C,H,W); gradient flows. */
mim_status mim_reshape(mim_ctx *ctx, mim_tensor *x, int64_t b, int64_t c, int64_t h, int64_t w,
                       mim_tensor **out);
/* Batches [b0, b0+n) of x (B,C,H,W) -> (n,C,H,W), a view; gradient flows. */
mim_status mim_slice_batch(mim_ctx *ctx, mim_tensor *x, int64_t b0, int64_t n, mim_tensor **out);

/* x (B,Ci,H,W), w (Co,Ci/groups,KH,KW), bias (Co,1,1,1) or NULL -> (B,Co,Ho,Wo),
 * Ho = (H + 2·pad - KH)/stride + 1. Zero padding. */
mim_status mim_conv2d(mim_ctx *ctx, mim_tensor *x, mim_tensor *w, mim_tensor *bias, int stride,
                      int pad, int groups, mim_tensor **out);
/* Batch norm over x (B,C,H,W) with gamma, beta (C,1,1,1) (may be NULL: no affine) and running
 * mean/var (C,1,1,1). training: batch statistics (biased for normalising), running stats updated
 * once with momentum: r = (1-m)·r + m·stat, unbiased variance (PyTorch); else running stats. */
mim_status mim_batchnorm(mim_ctx *ctx, mim_tensor *x, mim_tensor *gamma, mim_tensor *beta,
                         mim_tensor *run_mean, mim_tensor *run_var, int training, float momentum,
                         float eps, mim_tensor **out);
/* Instance norm (B,C,H,W), no affine, per-sample per-channel biased statistics. */
mim_status mim_instancenorm(mim_ctx *ctx, mim_tensor *x, float eps, mim_tensor **out);
/* PReLU with one shared slope (1,1,1,1): y = x > 0 ? x : slope·x. */
mim_status mim_prelu(mim_ctx *ctx, mim_tensor *x, mim_tensor *slope, mim_tensor **out);
mim_status mim_relu(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
mim_status mim_tanh(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
mim_status mim_sigmoid(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
/* Average pooling, no padding: (B,C,H,W) -> (B,C,(H-k)/s+1,(W-k)/s+1). */
mim_status mim_avgpool(mim_ctx *ctx, mim_tensor *x, int k, int stride, mim_tensor **out);
/* Global average pooling (B,C,H,W) -> (B,C,1,1). */
mim_status mim_global_avgpool(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
/* Softmax over the H·W positions of each (b,c) map: (B,C,H,W) -> (B,C,H,W). */
mim_status mim_softmax_spatial(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
/* Sum over channels (B,C,H,W) -> (B,1,H,W). */
mim_status mim_channel_sum(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
/* Channel concat of n tensors (B,Ci,H,W) -> (B,ΣCi,H,W). */
mim_status mim_concat_channels(mim_ctx *ctx, mim_tensor *const *xs, int n, mim_tensor **out);
/* Batched matmul over the last two dims: a (B,C,M,K) · b (B,C,K,N) -> (B,C,M,N); trans_a takes a
 * as (B,C,K,M), trans_b takes b as (B,C,N,K). b with B·C = 1 is broadcast over the batches. */
mim_status mim_matmul(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, int trans_a, int trans_b,
                      mim_tensor **out);
/* Fully connected: x (B,In,1,1) (or any (B,...) with In = C·H·W), w (Out,In,1,1), bias (Out,1,1,1)
 * or NULL -> (B,Out,1,1). y = x·wᵀ + bias (PyTorch Linear). */
mim_status mim_linear(mim_ctx *ctx, mim_tensor *x, mim_tensor *w, mim_tensor *bias,
                      mim_tensor **out);
/* Elementwise, equal shapes: a + b, a - b, a ⊙ b, alpha·a. */
mim_status mim_add(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out);
mim_status mim_sub(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out);
mim_status mim_mul(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out);
mim_status mim_scale(mim_ctx *ctx, mim_tensor *a, float alpha, mim_tensor **out);
/* alpha·a + beta·b in one op (weighted loss sums). */
mim_status mim_axpby(mim_ctx *ctx, float alpha, mim_tensor *a, float beta, mim_tensor *b,
                     mim_tensor **out);
/* Reductions of every element to a scalar (1,1,1,1). */
mim_status mim_sum(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
mim_status mim_mean(mim_ctx *ctx, mim_tensor *x, mim_tensor **out);
/* L2 normalisation over channels: y[b,:,h,w] = x / max(‖x[b,:,h,w]‖₂, eps). */
mim_status mim_l2norm_channels(mim_ctx *ctx, mim_tensor *x, float eps, mim_tensor **out);

/* ---- losses (scalar (1,1,1,1) results) ------------------------------------------------------ */

/* mean |a - b| and mean (a - b)² over all elements (b's gradient flows too unless detached). */
mim_status mim_l1_mean(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out);
mim_status mim_mse_mean(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out);
/* mean (a - c)² against a constant. */
mim_status mim_mse_mean_const(mim_ctx *ctx, mim_tensor *a, float c, mim_tensor **out);
/* z logits (B,K,1,1) (or (B,K,...)), y targets in [0,1] same shape, w per-class weights (K,1,1,1)
 * or NULL: mean over batch and classes of w_k·[-y log σ(z) - (1-y) log(1-σ(z))] (stable form).
 * Gradient flows into z only. */
mim_status mim_bce_logits(mim_ctx *ctx, mim_tensor *z, mim_tensor *y, mim_tensor *w,
                          mim_tensor **out);
/* x (B,C,H,W) logits over the H·W positions, labels int32 (B,C,1,1) in [0, H·W): mean over b, c
 * of [logsumexp_p x[b,c,p] - x[b,c,label]]. */
mim_status mim_cross_entropy_positions(mim_ctx *ctx, mim_tensor *x, mim_tensor *labels,
                                       mim_tensor **out);
/* InfoNCE form: s (B,1,R,N) score rows, target of row r is column r (R <= N): mean over b, r of
 * [logsumexp_j s[b,0,r,j] - s[b,0,r,r]]. */
mim_status mim_cross_entropy_diag(mim_ctx *ctx, mim_tensor *s, mim_tensor **out);

/* ---- autograd ---------------------------------------------------------------------------- */

/* d loss / d t into t->grad for every tensor loss depends on that requires grad; loss must be a
 * scalar (1,1,1,1) produced by recorded ops. */
mim_status mim_backward(mim_ctx *ctx, mim_tensor *loss);

/* ---- optimiser building block --------------------------------------------------------------- */

/* PyTorch Adam on p (no weight decay), t = the step count after incrementing (>= 1):
 *   m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²;
 *   p -= (lr / (1 - b1^t)) · m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * p, g, m, v: tensors of equal size (m, v persistent, e.g. mim_tensor_new_persist + zero fill). */
mim_status mim_adam_update(mim_ctx *ctx, mim_tensor *p, const mim_tensor *g, mim_tensor *m,
                           mim_tensor *v, double lr, double beta1, double beta2, double eps,
                           int64_t t);

#ifdef __cplusplus
}
#endif
