/* dnnl-core.h: the oneDNN 2.6 CPU backend's private core (no mim.h types here).
 *
 * A mim__dnnl owns one oneDNN engine and stream, a cache of primitives keyed by operation and
 * shape, and grow-only work buffers. Every operation is a free function over raw float pointers
 * in plain NCHW layout with its shape passed as integers (STYLE.md: foo_forward / foo_backward).
 * Convolutions run in the blocked layouts that oneDNN chooses (format_tag_any): the user's NCHW
 * tensors are reordered in and out around each call into the backend's work buffers, so nothing is
 * allocated after the first call of a shape.
 *
 * Each function returns 0 on success, or -1 with a message readable by mim__dnnl_last_error().
 * Where a function has an `accumulate` argument, its output is overwritten when it is 0 and added
 * to (gradient accumulation) otherwise; the norm and PReLU backward functions always add.
 */
#pragma once

#include <stddef.h>

typedef struct mim__dnnl mim__dnnl;

/* How convolutions are computed. AUTO (the default) lets oneDNN choose per shape: on AVX-512 it
 * takes Winograd F(4×4, 3×3) (`jit_wino_4x3`) for 3×3 stride-1 convolutions of 16k channels at
 * batch sizes where it is faster, direct otherwise. DIRECT never uses Winograd; WINOGRAD uses it
 * wherever oneDNN has it (any batch size), direct elsewhere. Chosen by the environment variable
 * MIMICA_DNNL_CONV = auto | direct | winograd (tests and benchmarks). */
typedef enum {
    MIM__DNNL_CONV_AUTO,
    MIM__DNNL_CONV_DIRECT,
    MIM__DNNL_CONV_WINOGRAD,
} mim__dnnl_conv_alg;

/* 0 if MIMICA_DNNL_CONV and MIMICA_PRECISION are unset or valid (and bf16 is possible here);
 * -1 with the reason in err otherwise: a configuration error, not a missing library. */
int mim__dnnl_env_check(char *err, size_t err_size);
/* n_threads <= 0: OpenMP's default. Returns NULL on failure with the reason in err (also where
 * mim__dnnl_env_check fails). */
mim__dnnl *mim__dnnl_new(int n_threads, char *err, size_t err_size);
/* bf16 = 1: convolutions (forward, backward-data, backward-weights) read their inputs (x, w, dy)
 * rounded to bfloat16 and accumulate and write in fp32; everything else, the weights kept by the
 * caller (fp32 master weights) and the gradients stay fp32. Where the CPU has no AVX512-BF16 or
 * AMX, oneDNN emulates the bf16 arithmetic (correct, slower). Also set at creation by
 * MIMICA_PRECISION = f32 | bf16. Returns -1 where oneDNN cannot run bf16 on this CPU. */
int mim__dnnl_set_bf16(mim__dnnl *d, int bf16);
int mim__dnnl_get_bf16(const mim__dnnl *d);
/* 1 if the CPU computes bf16 natively (AVX512-BF16 or AMX), 0 if oneDNN emulates it. */
int mim__dnnl_bf16_native(void);
void mim__dnnl_free(mim__dnnl *d);
const char *mim__dnnl_last_error(const mim__dnnl *d);
int mim__dnnl_n_threads(const mim__dnnl *d);
/* Number of primitives created so far (cache misses); a hot loop must leave it unchanged. */
long mim__dnnl_n_created(const mim__dnnl *d);
/* Sets the calling thread's OpenMP team size to the backend's (every entry point calls it). */
void mim__dnnl_begin(mim__dnnl *d);

/* 2-D convolution. Shapes: x (B,Ci,H,W), w (Co,Ci/groups,KH,KW), b (Co) or NULL,
 * y (B,Co,Ho,Wo) with Ho = (H + pad_t + pad_b - KH) / stride_h + 1 (likewise Wo). */
typedef struct {
    int n_batch, c_in, h_in, w_in;
    int c_out, h_out, w_out;
    int k_h, k_w, stride_h, stride_w;
    int pad_t, pad_l, pad_b, pad_r;
    int groups;
} mim__dnnl_conv;

int mim__dnnl_conv2d_forward(mim__dnnl *d, const mim__dnnl_conv *s, const float *x, const float *w,
                             const float *b, float *y);
/* dx (B,Ci,H,W) from dy (B,Co,Ho,Wo) and w. */
int mim__dnnl_conv2d_backward_data(mim__dnnl *d, const mim__dnnl_conv *s, const float *dy,
                                   const float *w, float *dx, int accumulate);
/* dw (Co,Ci/groups,KH,KW) and db (Co, may be NULL) from x and dy. */
int mim__dnnl_conv2d_backward_weights(mim__dnnl *d, const mim__dnnl_conv *s, const float *x,
                                      const float *dy, float *dw, float *db, int accumulate);

/* Batch normalisation over x (n,c,hw), the semantics of mim_backend_i.batchnorm_forward:
 * training: batch statistics into save_mean/save_invstd (c) and the running statistics updated
 * with momentum (unbiased variance); evaluation: the running statistics are used. gamma/beta may
 * be NULL. */
int mim__dnnl_batchnorm_forward(mim__dnnl *d, int n, int c, int hw, float eps, float momentum,
                                int training, float *y, const float *x, const float *gamma,
                                const float *beta, float *run_mean, float *run_var,
                                float *save_mean, float *save_invstd);
/* Accumulates into dx, dgamma, dbeta (each may be NULL). */
int mim__dnnl_batchnorm_backward(mim__dnnl *d, int n, int c, int hw, int training, float *dx,
                                 float *dgamma, float *dbeta, const float *dy, const float *x,
                                 const float *gamma, const float *save_mean,
                                 const float *save_invstd);
/* Instance normalisation without affine over x (n,c,hw); statistics (n*c). Backward
 * accumulates into dx. */
int mim__dnnl_instancenorm_forward(mim__dnnl *d, int n, int c, int hw, float eps, float *y,
                                   const float *x, float *save_mean, float *save_invstd);
int mim__dnnl_instancenorm_backward(mim__dnnl *d, int n, int c, int hw, float *dx, const float *dy,
                                    const float *x, const float *save_mean,
                                    const float *save_invstd);

typedef enum {
    MIM__DNNL_RELU,
    MIM__DNNL_TANH,
    MIM__DNNL_SIGMOID,
} mim__dnnl_act;

/* y = f(x) over n elements. */
int mim__dnnl_act_forward(mim__dnnl *d, mim__dnnl_act act, long n, const float *x, float *y);
/* dx = f'(x) dy, computed from the forward output y (all three are functions of y). */
int mim__dnnl_act_backward(mim__dnnl *d, mim__dnnl_act act, long n, const float *y, const float *dy,
                           float *dx, int accumulate);

/* PReLU with one shared slope over n elements: y = x > 0 ? x : slope x. Backward accumulates
 * dx += dy (x > 0 ? 1 : slope) and *dslope += sum over x <= 0 of dy x (either may be NULL). */
void mim__dnnl_prelu_forward(mim__dnnl *d, long n, float *y, const float *x, float slope);
void mim__dnnl_prelu_backward(mim__dnnl *d, long n, float *dx, float *dslope, const float *dy,
                              const float *x, float slope);
/* The PReLU backward above on the output of a normalisation over x (n_batch,n_ch,hw) with
 * per-channel mean, invstd, gamma, beta (gamma, beta may be NULL), recomputed on the fly from x
 * as mim__dnnl_batchnorm_forward / _instancenorm_forward wrote it: the same results, bit for bit,
 * as mim__dnnl_prelu_backward on that output. */
void mim__dnnl_norm_prelu_backward(mim__dnnl *d, int n_batch, int n_ch, long hw, float *dx,
                                   float *dslope, const float *dy, const float *x,
                                   const float *mean, const float *invstd, const float *gamma,
                                   const float *beta, float slope);

/* Average pooling x (B,C,H,W) -> y (B,C,Ho,Wo); count_pad: padded cells count in the divisor
 * (PyTorch's count_include_pad). */
typedef struct {
    int n_batch, n_ch, h_in, w_in, h_out, w_out;
    int k_h, k_w, stride_h, stride_w, pad_t, pad_l, pad_b, pad_r;
    int count_pad;
} mim__dnnl_pool;

int mim__dnnl_avgpool_forward(mim__dnnl *d, const mim__dnnl_pool *s, const float *x, float *y);
int mim__dnnl_avgpool_backward(mim__dnnl *d, const mim__dnnl_pool *s, const float *dy, float *dx,
                               int accumulate);

/* Softmax over the last axis of a (rows, n) matrix. Backward uses the forward output y. */
int mim__dnnl_softmax_forward(mim__dnnl *d, long rows, long n, const float *x, float *y);
int mim__dnnl_softmax_backward(mim__dnnl *d, long rows, long n, const float *y, const float *dy,
                               float *dx, int accumulate);

/* c (M,N) = alpha * op(a) op(b) + beta * c, row-major; op transposes when trans_* is set.
 * a is (M,K) or, transposed, (K,M); b is (K,N) or (N,K). */
int mim__dnnl_gemm(mim__dnnl *d, int trans_a, int trans_b, long m, long n, long k, float alpha,
                   const float *a, const float *b, float beta, float *c);
