/* mim-backend-impl.h: the private backend table (engine-internal; backends implement it).
 *
 * A backend is a struct mim_backend holding a table of functions over raw pointers (llm.c style:
 * foo_forward / foo_backward with shapes as integers) and an opaque state pointer where the
 * backend keeps what it wants: library handles, plans or primitives cached per shape, work buffers.
 *
 * Contract for every op function:
 * - All pointers are backend memory (device memory for a device backend), float32 unless said,
 *   NCHW contiguous, non-overlapping unless said. Shapes were checked by the engine before the
 *   call; a backend may still assert.
 * - Forward functions overwrite their outputs.
 * - Backward functions ACCUMULATE (+=) into every gradient output (dx, dw, ...); a NULL gradient
 *   output means "not needed": skip it. The engine zeroes gradient buffers when it creates them.
 * - Scalars that the engine produces on the device (dloss for a loss backward) stay there:
 *   `dout` arguments point to one float in backend memory.
 * - Return MIM_OK, or an error status after writing a message with mim__backend_error().
 * - Entries marked [required] must be set. Entries marked [optional] may be NULL: for a host
 *   backend (is_host = 1) the engine then runs the ref implementation on the same pointers. A
 *   device backend (is_host = 0) must set every entry.
 *
 * Stability: backends written by other engineers implement this table; add entries only at the
 * end of the struct and never change an existing signature.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mim.h"

typedef struct mim_backend_i mim_backend_i;

struct mim_backend {
    const mim_backend_i *i;
    void *state;      /* the backend's own (plans cache, handles, ...) */
    const char *name; /* "ref", "dnnl", "cuda" */
    int is_host;      /* data pointers are host memory */
    char err[512];    /* last error of this backend (mim__backend_error) */
};

/* Convolution shape. x (n,c_in,h_in,w_in), w (c_out,c_in/groups,k_h,k_w), b (c_out) or NULL,
 * y (n,c_out,h_out,w_out), h_out = (h_in + 2·pad_h - k_h)/stride_h + 1 (likewise w_out).
 * Symmetric zero padding. Dilation 1. */
typedef struct {
    int n, c_in, h_in, w_in;
    int c_out, h_out, w_out;
    int k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int groups;
} mim_conv_shape;

/* Average pooling shape, no padding: x (n,c,h_in,w_in) -> y (n,c,h_out,w_out),
 * h_out = (h_in - k_h)/stride_h + 1. Divisor k_h·k_w. */
typedef struct {
    int n, c, h_in, w_in, h_out, w_out;
    int k_h, k_w, stride_h, stride_w;
} mim_pool_shape;

typedef enum { MIM_ACT_RELU = 0, MIM_ACT_TANH = 1, MIM_ACT_SIGMOID = 2 } mim_act;

struct mim_backend_i {
    /* ---- memory [all required] ---- */
    void (*destroy)(mim_backend *be); /* frees be->state (not be itself) */
    /* bytes of backend memory, 64-byte aligned; NULL on failure. */
    void *(*alloc)(mim_backend *be, size_t n_bytes);
    void (*free)(mim_backend *be, void *p);
    mim_status (*set)(mim_backend *be, void *dst, const void *host_src, size_t n_bytes);
    mim_status (*get)(mim_backend *be, void *host_dst, const void *src, size_t n_bytes);
    mim_status (*copy)(mim_backend *be, void *dst, const void *src, size_t n_bytes);
    mim_status (*zero)(mim_backend *be, void *dst, size_t n_bytes);
    mim_status (*sync)(mim_backend *be);

    /* ---- convolution [optional] ---- */
    /* y (n,c_out,h_out,w_out) = conv(x (n,c_in,h_in,w_in), w) + b (c_out, may be NULL). */
    mim_status (*conv2d_forward)(mim_backend *be, const mim_conv_shape *s, float *y, const float *x,
                                 const float *w, const float *b);
    /* dx (n,c_in,h_in,w_in) += conv_transpose(dy (n,c_out,h_out,w_out), w). */
    mim_status (*conv2d_backward_data)(mim_backend *be, const mim_conv_shape *s, float *dx,
                                       const float *dy, const float *w);
    /* dw (c_out,c_in/groups,k_h,k_w) += Σ dy ⊗ x; db (c_out) += Σ_{n,h,w} dy. Either may be NULL.
     */
    mim_status (*conv2d_backward_weights)(mim_backend *be, const mim_conv_shape *s, float *dw,
                                          float *db, const float *x, const float *dy);

    /* ---- batch norm over x (n,c,hw) [optional] ---- */
    /* training = 1: batch statistics: save_mean = mean, save_invstd = 1/sqrt(biased var + eps)
     *   (both (c)); y = (x - mean)·invstd·gamma + beta; running stats updated in place:
     *   run_mean = (1-momentum)·run_mean + momentum·mean,
     *   run_var  = (1-momentum)·run_var + momentum·var·N/(N-1)  (N = n·hw; N == 1: var as is).
     * training = 0: mean/var from run_mean/run_var (not modified); save_mean = run_mean,
     *   save_invstd = 1/sqrt(run_var + eps) are still written for the backward.
     * gamma/beta (c) may be NULL (identity affine). */
    mim_status (*batchnorm_forward)(mim_backend *be, int n, int c, int hw, float eps,
                                    float momentum, int training, float *y, const float *x,
                                    const float *gamma, const float *beta, float *run_mean,
                                    float *run_var, float *save_mean, float *save_invstd);
    /* Gradients of the forward above (training selects the batch-statistics formula, which also
     * differentiates through mean and var). dx, dgamma, dbeta (c) accumulated; each may be NULL. */
    mim_status (*batchnorm_backward)(mim_backend *be, int n, int c, int hw, int training, float *dx,
                                     float *dgamma, float *dbeta, const float *dy, const float *x,
                                     const float *gamma, const float *save_mean,
                                     const float *save_invstd);

    /* ---- instance norm over x (n,c,hw), no affine [optional] ---- */
    /* save_mean, save_invstd (n·c): per (sample, channel) biased statistics. */
    mim_status (*instancenorm_forward)(mim_backend *be, int n, int c, int hw, float eps, float *y,
                                       const float *x, float *save_mean, float *save_invstd);
    mim_status (*instancenorm_backward)(mim_backend *be, int n, int c, int hw, float *dx,
                                        const float *dy, const float *x, const float *save_mean,
                                        const float *save_invstd);

    /* ---- PReLU, one shared slope (1 float in backend memory) [optional] ---- */
    mim_status (*prelu_forward)(mim_backend *be, int64_t n, float *y, const float *x,
                                const float *slope);
    /* dx (n) += dy·(x > 0 ? 1 : slope); dslope (1) += Σ_{x <= 0} dy·x. Either may be NULL. */
    mim_status (*prelu_backward)(mim_backend *be, int64_t n, float *dx, float *dslope,
                                 const float *dy, const float *x, const float *slope);

    /* ---- relu / tanh / sigmoid over n elements [optional] ---- */
    mim_status (*act_forward)(mim_backend *be, mim_act act, int64_t n, float *y, const float *x);
    /* dx += f'·dy computed from the forward OUTPUT y: relu y > 0, tanh 1 - y², sigmoid y(1-y). */
    mim_status (*act_backward)(mim_backend *be, mim_act act, int64_t n, float *dx, const float *dy,
                               const float *y);

    /* ---- average pooling [optional] ---- */
    mim_status (*avgpool_forward)(mim_backend *be, const mim_pool_shape *s, float *y,
                                  const float *x);
    mim_status (*avgpool_backward)(mim_backend *be, const mim_pool_shape *s, float *dx,
                                   const float *dy);

    /* ---- softmax over the last axis of a (rows, n) matrix [optional] ---- */
    mim_status (*softmax_forward)(mim_backend *be, int64_t rows, int64_t n, float *y,
                                  const float *x);
    /* dx += y ⊙ (dy - Σ_j y_j dy_j) per row. */
    mim_status (*softmax_backward)(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                   const float *dy, const float *y);

    /* ---- channel sum x (n,c,hw) -> y (n,1,hw) [optional] ---- */
    mim_status (*channel_sum_forward)(mim_backend *be, int n, int c, int64_t hw, float *y,
                                      const float *x);
    /* dx[b,k,p] += dy[b,p]. */
    mim_status (*channel_sum_backward)(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                       const float *dy);

    /* ---- batched GEMM, row-major [optional] ----
     * For i in [0, batch): C_i (m,n) = alpha·op(A_i)·op(B_i) + beta·C_i, op(A) (m,k), op(B) (k,n);
     * A_i is (m,k) or, with trans_a, (k,m) (likewise B_i: (k,n) or (n,k)); A_i = a + i·stride_a
     * (stride 0 broadcasts), same for b and c. Contiguous matrices (leading dim = row length).
     * beta = 0 must ignore C's old contents (it may be uninitialised). */
    mim_status (*gemm)(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                       float alpha, const float *a, int64_t stride_a, const float *b,
                       int64_t stride_b, float beta, float *c, int64_t stride_c);

    /* ---- channel copy (concat and its backward) [optional] ----
     * For every batch b and the c channels: dst[b, dst_off + k, :] (=|+=) src[b, src_off + k, :],
     * where dst has dst_c channels and src has src_c channels, hw floats per channel. */
    mim_status (*channel_copy)(mim_backend *be, int n, int c, int64_t hw, float *dst, int dst_c,
                               int dst_off, const float *src, int src_c, int src_off,
                               int accumulate);

    /* ---- elementwise over n elements [optional] ---- */
    /* y = alpha·a + beta·b (b may be NULL: y = alpha·a). y may alias a or b. */
    mim_status (*axpby)(mim_backend *be, int64_t n, float *y, float alpha, const float *a,
                        float beta, const float *b);
    /* y (=|+=) a ⊙ b. y may alias a or b when not accumulating. */
    mim_status (*mul)(mim_backend *be, int64_t n, float *y, const float *a, const float *b,
                      int accumulate);
    /* y += alpha·(*s) for all n elements (s: 1 float in backend memory): broadcasts a scalar
     * gradient (backward of sum/mean). */
    mim_status (*add_scalar_grad)(mim_backend *be, int64_t n, float *y, float alpha,
                                  const float *s);

    /* ---- bias over channels [optional] ---- */
    /* y (n,c,hw) += b (c) broadcast. */
    mim_status (*bias_forward)(mim_backend *be, int n, int c, int64_t hw, float *y, const float *b);
    /* db (c) += Σ_{n,hw} dy. */
    mim_status (*bias_backward)(mim_backend *be, int n, int c, int64_t hw, float *db,
                                const float *dy);

    /* ---- reduction [optional] ---- */
    /* out (1) = scale·Σ x (n elements), summed in double or pairwise. */
    mim_status (*reduce_sum)(mim_backend *be, int64_t n, float *out, const float *x, float scale);

    /* ---- losses [optional]; out is one float; dout one float (d loss_total / d out) ---- */
    /* out = mean |a - b|.  da += sign(a-b)·dout/n, db -= the same (either may be NULL);
     * sign(0) = 0. */
    mim_status (*l1_forward)(mim_backend *be, int64_t n, float *out, const float *a,
                             const float *b);
    mim_status (*l1_backward)(mim_backend *be, int64_t n, float *da, float *db, const float *dout,
                              const float *a, const float *b);
    /* out = mean (a - t)² with t = b[i], or the constant c when b is NULL.
     * da += 2(a-t)·dout/n; db -= the same (NULL skips). */
    mim_status (*mse_forward)(mim_backend *be, int64_t n, float *out, const float *a,
                              const float *b, float c);
    mim_status (*mse_backward)(mim_backend *be, int64_t n, float *da, float *db, const float *dout,
                               const float *a, const float *b, float c);
    /* z, y (n_batch, n_class); w (n_class) or NULL (all 1). out = mean over all n_batch·n_class of
     * w_k·(max(z,0) - z·y + log(1 + exp(-|z|))). dz += w_k·(σ(z) - y)·dout/(n_batch·n_class). */
    mim_status (*bce_logits_forward)(mim_backend *be, int n_batch, int n_class, float *out,
                                     const float *z, const float *y, const float *w);
    mim_status (*bce_logits_backward)(mim_backend *be, int n_batch, int n_class, float *dz,
                                      const float *dout, const float *z, const float *y,
                                      const float *w);
    /* Row cross-entropy: x (rows, n); label of row r = labels[r] (int32, backend memory) or, when
     * labels is NULL, r % period. out = mean over rows of [logsumexp_j x[r,j] - x[r,label]].
     * dx[r,j] += (softmax(x[r])_j - [j == label])·dout/rows. */
    mim_status (*cross_entropy_forward)(mim_backend *be, int64_t rows, int64_t n, float *out,
                                        const float *x, const int32_t *labels, int64_t period);
    mim_status (*cross_entropy_backward)(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                         const float *dout, const float *x, const int32_t *labels,
                                         int64_t period);

    /* ---- L2 normalisation over channels of x (n,c,hw) [optional] ---- */
    /* norm (n·hw) = max(‖x[b,:,p]‖₂, eps); y = x / norm. */
    mim_status (*l2norm_forward)(mim_backend *be, int n, int c, int64_t hw, float eps, float *y,
                                 const float *x, float *norm);
    /* With r = ‖x‖₂ (unclamped): if r > eps: dx += (dy - y·Σ_k y_k dy_k)/r, else dx += dy/eps. */
    mim_status (*l2norm_backward)(mim_backend *be, int n, int c, int64_t hw, float eps, float *dx,
                                  const float *dy, const float *y, const float *norm);

    /* ---- Adam [optional] ----
     * m = beta1·m + (1-beta1)·g; v = beta2·v + (1-beta2)·g²;
     * p -= step_size · m / (sqrt(v)/bc2_sqrt + eps), with step_size = lr/(1 - beta1^t) and
     * bc2_sqrt = sqrt(1 - beta2^t) computed by the engine in double and rounded to float. */
    mim_status (*adam_update)(mim_backend *be, int64_t n, float *p, const float *g, float *m,
                              float *v, float beta1, float beta2, float step_size, float bc2_sqrt,
                              float eps);
};

/* ---- whole-network inference plans (the AU network's path of MODEL.md §6) ----
 * A description of the network that engine/aunet hands to a backend's extension entry
 * (mim__backend_ext.aunet_infer, mim-private.h) so that the backend can run the whole path in its
 * own layouts. Every pointer is backend memory holding the current fp32 parameters; every conv is
 * 3×3, stride 1, pad 1. */
typedef struct {
    int c_in, c_out;
    const float *w, *b; /* (c_out, c_in, 3, 3), (c_out) */
    /* eval-mode batch norm after the conv (running statistics, eps), or all NULL */
    const float *bn_gamma, *bn_beta, *bn_mean, *bn_var;
    int inorm;          /* instance norm (no affine, eps) after the conv */
    const float *slope; /* PReLU slope (1 float) after the norm, or NULL */
} mim_infer_conv;

#define MIM_INFER_MAX_AU 64

typedef struct {
    int batch, n_au, n_land;
    int target; /* 1: Ef, El, Eb, G, Fau (target path); 0: Ef, El, Fau (source path) */
    int bf16;   /* convolutions on bf16 activations and weights (fp32 accumulation and norms) */
    float eps;  /* of every BN and IN */
    /* Ef: 2×2 average pools after layers 1 and 3, tanh at the end. El: tanh after the 4 layers,
     * then el_head gives the landmark logits M; A = Σ over landmarks of the spatial softmax of M.
     * Eb, G: tanh at the end; G's input is concat[A, Eb(F)] (g[0].c_in = 65, A first). */
    mim_infer_conv ef[4], el[4], el_head, eb[4], g[5];
    /* Fau branch a: 4 convs (64→64), global average pool, fc (64 weights, 1 bias) -> logit a */
    mim_infer_conv fau[MIM_INFER_MAX_AU][4];
    const float *fc_w[MIM_INFER_MAX_AU], *fc_b[MIM_INFER_MAX_AU];
} mim_infer_aunet;

/* Writes be->err (printf format) and returns st. */
mim_status mim__backend_error(mim_backend *be, mim_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Allocates a backend struct around a table and a state (name must be a static string). */
mim_backend *mim__backend_alloc(const mim_backend_i *i, void *state, const char *name, int is_host);

/* The reference implementation's table (engine/ref): the oracle and the fallback of optional
 * entries for host backends. */
extern const mim_backend_i mim__ref_backend_i;

/* Backend constructors of the optional folders, called by mim-backend-reg.c when built
 * (MIM_HAVE_DNNL, MIM_HAVE_CUDA). They return MIM_OK and the backend through *out, or an error
 * status with the reason written to err (err_size bytes, NUL-terminated). */
mim_status mim__backend_dnnl_create(int n_threads, mim_backend **out, char *err, size_t err_size);
/* Precision of a dnnl backend's convolutions (mim_backend_set_precision). */
mim_status mim__backend_dnnl_set_bf16(mim_backend *be, int bf16);
int mim__backend_dnnl_get_bf16(const mim_backend *be);
int mim__backend_dnnl_bf16_native(void);
mim_status mim__backend_cuda_create(int device, mim_backend **out, char *err, size_t err_size);
