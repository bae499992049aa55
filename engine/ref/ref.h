/* ref.h: the reference backend's functions (plain loops; the oracle of the tests and the fallback
 * of a host backend's optional entries). Shapes as in mim-backend-impl.h. */
#pragma once

#include "mim-backend-impl.h"

/* Grow-only work buffer of the ref backend (n floats, 64-byte aligned); NULL on failure. */
float *mim__ref_workspace(mim_backend *be, size_t n_floats);

/* Single-matrix row-major GEMM over host memory: C = alpha·op(A)·op(B) + beta·C. ws must hold
 * mim__ref_gemm_ws_floats(m, k) floats. */
size_t mim__ref_gemm_ws_floats(int m, int n, int k);
void mim__ref_gemm1(float *ws, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, const float *b, float beta, float *c);

mim_status mim__ref_gemm(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                         float alpha, const float *a, int64_t stride_a, const float *b,
                         int64_t stride_b, float beta, float *c, int64_t stride_c);
mim_status mim__ref_conv2d_forward(mim_backend *be, const mim_conv_shape *s, float *y,
                                   const float *x, const float *w, const float *b);
mim_status mim__ref_conv2d_backward_data(mim_backend *be, const mim_conv_shape *s, float *dx,
                                         const float *dy, const float *w);
mim_status mim__ref_conv2d_backward_weights(mim_backend *be, const mim_conv_shape *s, float *dw,
                                            float *db, const float *x, const float *dy);

mim_status mim__ref_batchnorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                      float momentum, int training, float *y, const float *x,
                                      const float *gamma, const float *beta, float *run_mean,
                                      float *run_var, float *save_mean, float *save_invstd);
mim_status mim__ref_batchnorm_backward(mim_backend *be, int n, int c, int hw, int training,
                                       float *dx, float *dgamma, float *dbeta, const float *dy,
                                       const float *x, const float *gamma, const float *save_mean,
                                       const float *save_invstd);
mim_status mim__ref_instancenorm_forward(mim_backend *be, int n, int c, int hw, float eps, float *y,
                                         const float *x, float *save_mean, float *save_invstd);
mim_status mim__ref_instancenorm_backward(mim_backend *be, int n, int c, int hw, float *dx,
                                          const float *dy, const float *x, const float *save_mean,
                                          const float *save_invstd);
mim_status mim__ref_l2norm_forward(mim_backend *be, int n, int c, int64_t hw, float eps, float *y,
                                   const float *x, float *norm);
mim_status mim__ref_l2norm_backward(mim_backend *be, int n, int c, int64_t hw, float eps, float *dx,
                                    const float *dy, const float *y, const float *norm);

mim_status mim__ref_prelu_forward(mim_backend *be, int64_t n, float *y, const float *x,
                                  const float *slope);
mim_status mim__ref_prelu_backward(mim_backend *be, int64_t n, float *dx, float *dslope,
                                   const float *dy, const float *x, const float *slope);
mim_status mim__ref_act_forward(mim_backend *be, mim_act act, int64_t n, float *y, const float *x);
mim_status mim__ref_act_backward(mim_backend *be, mim_act act, int64_t n, float *dx,
                                 const float *dy, const float *y);
mim_status mim__ref_softmax_forward(mim_backend *be, int64_t rows, int64_t n, float *y,
                                    const float *x);
mim_status mim__ref_softmax_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                     const float *dy, const float *y);
mim_status mim__ref_channel_sum_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                        const float *x);
mim_status mim__ref_channel_sum_backward(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                         const float *dy);
mim_status mim__ref_channel_copy(mim_backend *be, int n, int c, int64_t hw, float *dst, int dst_c,
                                 int dst_off, const float *src, int src_c, int src_off,
                                 int accumulate);
mim_status mim__ref_axpby(mim_backend *be, int64_t n, float *y, float alpha, const float *a,
                          float beta, const float *b);
mim_status mim__ref_mul(mim_backend *be, int64_t n, float *y, const float *a, const float *b,
                        int accumulate);
mim_status mim__ref_add_scalar_grad(mim_backend *be, int64_t n, float *y, float alpha,
                                    const float *s);
mim_status mim__ref_bias_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                 const float *b);
mim_status mim__ref_bias_backward(mim_backend *be, int n, int c, int64_t hw, float *db,
                                  const float *dy);
mim_status mim__ref_reduce_sum(mim_backend *be, int64_t n, float *out, const float *x, float scale);
mim_status mim__ref_adam_update(mim_backend *be, int64_t n, float *p, const float *g, float *m,
                                float *v, float beta1, float beta2, float step_size, float bc2_sqrt,
                                float eps);

mim_status mim__ref_avgpool_forward(mim_backend *be, const mim_pool_shape *s, float *y,
                                    const float *x);
mim_status mim__ref_avgpool_backward(mim_backend *be, const mim_pool_shape *s, float *dx,
                                     const float *dy);

mim_status mim__ref_l1_forward(mim_backend *be, int64_t n, float *out, const float *a,
                               const float *b);
mim_status mim__ref_l1_backward(mim_backend *be, int64_t n, float *da, float *db, const float *dout,
                                const float *a, const float *b);
mim_status mim__ref_mse_forward(mim_backend *be, int64_t n, float *out, const float *a,
                                const float *b, float c);
mim_status mim__ref_mse_backward(mim_backend *be, int64_t n, float *da, float *db,
                                 const float *dout, const float *a, const float *b, float c);
mim_status mim__ref_bce_logits_forward(mim_backend *be, int n_batch, int n_class, float *out,
                                       const float *z, const float *y, const float *w);
mim_status mim__ref_bce_logits_backward(mim_backend *be, int n_batch, int n_class, float *dz,
                                        const float *dout, const float *z, const float *y,
                                        const float *w);
mim_status mim__ref_cross_entropy_forward(mim_backend *be, int64_t rows, int64_t n, float *out,
                                          const float *x, const int32_t *labels, int64_t period);
mim_status mim__ref_cross_entropy_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                           const float *dout, const float *x, const int32_t *labels,
                                           int64_t period);
