/* cuda-private.h: the CUDA backend's state and helpers, shared by mim-cuda.c (memory, kernels'
 * table entries) and cudnn-conv.c (cuDNN convolution and batch norm, cuBLAS GEMM). */
#pragma once

#include <cublas_v2.h>

#include "cublas-load.h"
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "cuda-kernels.h"
#include "mim-backend-impl.h"
#include "mim-cuda.h"

/* One convolution shape's cuDNN plan: descriptors built once, algorithms found once per
 * direction (cudnnFind*, filtered by precision and determinism) and cached with their workspace
 * sizes. Plans are kept in a small list; a model has a few dozen shapes. */
typedef struct mim_cuda_conv_plan mim_cuda_conv_plan;
struct mim_cuda_conv_plan {
    mim_conv_shape s;
    mim_cuda_conv_plan *next;
    cudnnDataType_t dtype; /* x, w, y: FLOAT, or HALF / BFLOAT16 in mixed precision */
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    int have_fwd, have_bwd_data, have_bwd_filter;
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t bwd_data_algo;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo;
    cudnnMathType_t fwd_math, bwd_data_math, bwd_filter_math;
    size_t fwd_ws, bwd_data_ws, bwd_filter_ws;
};

typedef struct {
    int device;
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    mim_cuda_precision precision;
    int deterministic;
    char describe[256];
    /* grow-only work memory (cuDNN workspaces, mixed-precision copies, per-row losses) */
    void *ws;
    size_t ws_bytes;
    void *scratch; /* MIM_CU_SCRATCH_BYTES for two-pass reductions */
    /* batch norm helpers: per-channel ones / zeros (gamma/beta = NULL) and a 4D descriptor pair */
    float *ones, *zeros;
    size_t ones_n;
    cudnnTensorDescriptor_t bn_x_desc, bn_p_desc;
    mim_cuda_conv_plan *plans;
} mim_cuda_state;

static inline mim_cuda_state *mim__cuda_state(mim_backend *be)
{
    return (mim_cuda_state *)be->state;
}

/* Error sites: record "what: why" on the backend and jump to the function's `out:` label with
 * `st` set. Device allocation failures become MIM_ERR_NOMEM, everything else MIM_ERR_BACKEND. */
mim_status mim__cuda_err(mim_backend *be, cudaError_t e, const char *what, const char *file,
                         int line);
mim_status mim__cudnn_err(mim_backend *be, cudnnStatus_t e, const char *what, const char *file,
                          int line);
mim_status mim__cublas_err(mim_backend *be, cublasStatus_t e, const char *what, const char *file,
                           int line);

#define MIM_CUDA_TRY(call)                                                                         \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            st = mim__cuda_err(be, e_, #call, __FILE__, __LINE__);                                 \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define MIM_CUDNN_TRY(call)                                                                        \
    do {                                                                                           \
        cudnnStatus_t e_ = (call);                                                                 \
        if (e_ != CUDNN_STATUS_SUCCESS) {                                                          \
            st = mim__cudnn_err(be, e_, #call, __FILE__, __LINE__);                                \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

#define MIM_CUBLAS_TRY(call)                                                                       \
    do {                                                                                           \
        cublasStatus_t e_ = (call);                                                                \
        if (e_ != CUBLAS_STATUS_SUCCESS) {                                                         \
            st = mim__cublas_err(be, e_, #call, __FILE__, __LINE__);                               \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* The work memory, grown to at least n_bytes (256-byte aligned); NULL after an error (written). */
void *mim__cuda_ws(mim_backend *be, size_t n_bytes);
/* Per-channel constant 1.0 / 0.0 vectors of at least c floats. */
mim_status mim__cuda_ones_zeros(mim_backend *be, int c, const float **ones, const float **zeros);

/* cudnn-conv.c */
void mim__cuda_plans_free(mim_cuda_state *cs);
mim_status mim__cuda_conv2d_forward(mim_backend *be, const mim_conv_shape *s, float *y,
                                    const float *x, const float *w, const float *b);
mim_status mim__cuda_conv2d_backward_data(mim_backend *be, const mim_conv_shape *s, float *dx,
                                          const float *dy, const float *w);
mim_status mim__cuda_conv2d_backward_weights(mim_backend *be, const mim_conv_shape *s, float *dw,
                                             float *db, const float *x, const float *dy);
mim_status mim__cuda_batchnorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                       float momentum, int training, float *y, const float *x,
                                       const float *gamma, const float *beta, float *run_mean,
                                       float *run_var, float *save_mean, float *save_invstd);
mim_status mim__cuda_batchnorm_backward(mim_backend *be, int n, int c, int hw, int training,
                                        float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *gamma, const float *save_mean,
                                        const float *save_invstd);
mim_status mim__cuda_gemm(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                          float alpha, const float *a, int64_t stride_a, const float *b,
                          int64_t stride_b, float beta, float *c, int64_t stride_c);
