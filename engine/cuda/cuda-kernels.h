/* cuda-kernels.h: the launchers of the backend's own CUDA kernels (cuda-elem.cu, cuda-reduce.cu),
 * callable from C. Every pointer is device memory, float32 unless said, NCHW contiguous; shapes
 * as in mim-backend-impl.h. Every launcher enqueues on `s` and returns cudaGetLastError().
 *
 * Accumulating launchers (dx +=) never use atomics: each output element is written by exactly one
 * thread and every sum runs in a fixed order that depends only on the shape, so results are
 * bit-identical from run to run on the same GPU model.
 *
 * `scratch` arguments: device memory of at least MIM_CU_SCRATCH_BYTES (per-block partial sums of
 * the two-pass reductions). `rows_scratch`: rows doubles (per-row losses before their mean).
 */
#pragma once

#include <stdint.h>

#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MIM_CU_MAX_PARTIALS  1024
#define MIM_CU_SCRATCH_BYTES (MIM_CU_MAX_PARTIALS * sizeof(double))

typedef enum { MIM_CU_F32 = 0, MIM_CU_BF16 = 1, MIM_CU_F16 = 2 } mim_cu_dtype;

/* ---- cuda-elem.cu: elementwise ---------------------------------------------------------- */

/* act: 0 relu, 1 tanh, 2 sigmoid (mim_act). */
cudaError_t mim__cu_act_forward(cudaStream_t s, int act, int64_t n, float *y, const float *x);
cudaError_t mim__cu_act_backward(cudaStream_t s, int act, int64_t n, float *dx, const float *dy,
                                 const float *y);
cudaError_t mim__cu_prelu_forward(cudaStream_t s, int64_t n, float *y, const float *x,
                                  const float *slope);
/* dx += dy·(x > 0 ? 1 : slope) (the slope's gradient is mim__cu_prelu_slope_grad). */
cudaError_t mim__cu_prelu_backward_data(cudaStream_t s, int64_t n, float *dx, const float *dy,
                                        const float *x, const float *slope);
/* y = alpha·a + beta·b (b may be NULL); y may alias a or b. */
cudaError_t mim__cu_axpby(cudaStream_t s, int64_t n, float *y, float alpha, const float *a,
                          float beta, const float *b);
cudaError_t mim__cu_mul(cudaStream_t s, int64_t n, float *y, const float *a, const float *b,
                        int accumulate);
/* y += alpha·s0[0]. */
cudaError_t mim__cu_add_scalar_grad(cudaStream_t s, int64_t n, float *y, float alpha,
                                    const float *s0);
/* y (n,c,hw) += b (c). */
cudaError_t mim__cu_bias_forward(cudaStream_t s, int n, int c, int64_t hw, float *y,
                                 const float *b);
cudaError_t mim__cu_channel_copy(cudaStream_t s, int n, int c, int64_t hw, float *dst, int dst_c,
                                 int dst_off, const float *src, int src_c, int src_off,
                                 int accumulate);
/* dx[b,k,p] += dy[b,p] for k < c. */
cudaError_t mim__cu_channel_sum_backward(cudaStream_t s, int n, int c, int64_t hw, float *dx,
                                         const float *dy);
/* y[b,p] = Σ_k x[b,k,p]. */
cudaError_t mim__cu_channel_sum_forward(cudaStream_t s, int n, int c, int64_t hw, float *y,
                                        const float *x);
/* Average pooling without padding; divisor k_h·k_w. */
cudaError_t mim__cu_avgpool_forward(cudaStream_t s, int n, int c, int h_in, int w_in, int h_out,
                                    int w_out, int k_h, int k_w, int stride_h, int stride_w,
                                    float *y, const float *x);
cudaError_t mim__cu_avgpool_backward(cudaStream_t s, int n, int c, int h_in, int w_in, int h_out,
                                     int w_out, int k_h, int k_w, int stride_h, int stride_w,
                                     float *dx, const float *dy);
/* Loss backwards of elementwise form; dout one float. */
cudaError_t mim__cu_l1_backward(cudaStream_t s, int64_t n, float *da, float *db, const float *dout,
                                const float *a, const float *b);
cudaError_t mim__cu_mse_backward(cudaStream_t s, int64_t n, float *da, float *db, const float *dout,
                                 const float *a, const float *b, float c);
cudaError_t mim__cu_bce_logits_backward(cudaStream_t s, int n_batch, int n_class, float *dz,
                                        const float *dout, const float *z, const float *y,
                                        const float *w);
/* l2 normalisation over channels of x (n,c,hw); norm (n·hw). */
cudaError_t mim__cu_l2norm_forward(cudaStream_t s, int n, int c, int64_t hw, float eps, float *y,
                                   const float *x, float *norm);
cudaError_t mim__cu_l2norm_backward(cudaStream_t s, int n, int c, int64_t hw, float eps, float *dx,
                                    const float *dy, const float *y, const float *norm);
cudaError_t mim__cu_adam(cudaStream_t s, int64_t n, float *p, const float *g, float *m, float *v,
                         float beta1, float beta2, float step_size, float bc2_sqrt, float eps);
/* Mixed precision: dst (dtype) = (dtype) src; and dst (f32) (=|+=) (f32) src (dtype). */
cudaError_t mim__cu_cast_from_f32(cudaStream_t s, int64_t n, mim_cu_dtype dtype, void *dst,
                                  const float *src);
cudaError_t mim__cu_cast_to_f32(cudaStream_t s, int64_t n, mim_cu_dtype dtype, float *dst,
                                const void *src, int accumulate);
/* Batch norm with given statistics: save_mean = run_mean, save_invstd = 1/sqrt(run_var + eps). */
cudaError_t mim__cu_bn_eval_stats(cudaStream_t s, int c, float eps, float *save_mean,
                                  float *save_invstd, const float *run_mean, const float *run_var);

/* ---- cuda-reduce.cu: reductions (fixed order, no atomics) -------------------------------- */

/* out[0] (=|+=) scale·Σ x. */
cudaError_t mim__cu_reduce_sum(cudaStream_t s, void *scratch, int64_t n, float *out, const float *x,
                               float scale, int accumulate);
/* dslope[0] += Σ_{x <= 0} dy·x. */
cudaError_t mim__cu_prelu_slope_grad(cudaStream_t s, void *scratch, int64_t n, float *dslope,
                                     const float *dy, const float *x);
/* out = mean |a - b|; out = mean (a - t)², t = b or c. */
cudaError_t mim__cu_l1_forward(cudaStream_t s, void *scratch, int64_t n, float *out, const float *a,
                               const float *b);
cudaError_t mim__cu_mse_forward(cudaStream_t s, void *scratch, int64_t n, float *out,
                                const float *a, const float *b, float c);
cudaError_t mim__cu_bce_logits_forward(cudaStream_t s, void *scratch, int n_batch, int n_class,
                                       float *out, const float *z, const float *y, const float *w);
/* db (c) += Σ_{n,hw} dy. */
cudaError_t mim__cu_bias_backward(cudaStream_t s, int n, int c, int64_t hw, float *db,
                                  const float *dy);
/* Row softmax and its backward (one block per row). */
cudaError_t mim__cu_softmax_forward(cudaStream_t s, int64_t rows, int64_t n, float *y,
                                    const float *x);
cudaError_t mim__cu_softmax_backward(cudaStream_t s, int64_t rows, int64_t n, float *dx,
                                     const float *dy, const float *y);
/* Row cross-entropy (labels int32 or NULL: r % period); rows_scratch: rows doubles. */
cudaError_t mim__cu_cross_entropy_forward(cudaStream_t s, void *scratch, double *rows_scratch,
                                          int64_t rows, int64_t n, float *out, const float *x,
                                          const int32_t *labels, int64_t period);
cudaError_t mim__cu_cross_entropy_backward(cudaStream_t s, int64_t rows, int64_t n, float *dx,
                                           const float *dout, const float *x, const int32_t *labels,
                                           int64_t period);
/* Instance norm over (n·c) planes of hw. */
cudaError_t mim__cu_instancenorm_forward(cudaStream_t s, int n, int c, int hw, float eps, float *y,
                                         const float *x, float *save_mean, float *save_invstd);
cudaError_t mim__cu_instancenorm_backward(cudaStream_t s, int n, int c, int hw, float *dx,
                                          const float *dy, const float *x, const float *save_mean,
                                          const float *save_invstd);
/* Batch norm backward with fixed statistics (eval mode; gamma NULL = 1): dx += dy·gamma·invstd,
 * dgamma += Σ dy·(x - mean)·invstd, dbeta += Σ dy. Any output may be NULL. */
cudaError_t mim__cu_bn_eval_backward(cudaStream_t s, int n, int c, int hw, float *dx, float *dgamma,
                                     float *dbeta, const float *dy, const float *x,
                                     const float *gamma, const float *save_mean,
                                     const float *save_invstd);

#ifdef __cplusplus
}
#endif
