/* mim-cuda.c: the CUDA backend: device, stream and library handles, device memory, the table of
 * mim-backend-impl.h. Convolution, batch norm (cuDNN) and GEMM (cuBLAS) are in cudnn-conv.c; the
 * remaining operations run our own kernels (cuda-elem.cu, cuda-reduce.cu).
 *
 * One backend = one device, one non-blocking stream, one cuDNN and one cuBLAS handle bound to that
 * stream. Every op is enqueued on the stream and returns without waiting; mim_tensor_get (get) and
 * sync wait. Host <-> device copies happen only in set/get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda-private.h"

static const mim_backend_i cuda_i;

/* ---- errors -------------------------------------------------------------------------------- */

static const char *base_name(const char *file)
{
    const char *s = strrchr(file, '/');
    return s ? s + 1 : file;
}

mim_status mim__cuda_err(mim_backend *be, cudaError_t e, const char *what, const char *file,
                         int line)
{
    mim_status st = e == cudaErrorMemoryAllocation ? MIM_ERR_NOMEM : MIM_ERR_BACKEND;
    cudaGetLastError(); /* reported here: the next kernel launch must not report it again */
    return mim__backend_error(be, st, "cuda: %s (%s:%d): %s", what, base_name(file), line,
                              cudaGetErrorString(e));
}

mim_status mim__cudnn_err(mim_backend *be, cudnnStatus_t e, const char *what, const char *file,
                          int line)
{
    mim_status st = e == CUDNN_STATUS_ALLOC_FAILED ? MIM_ERR_NOMEM : MIM_ERR_BACKEND;
    return mim__backend_error(be, st, "cudnn: %s (%s:%d): %s", what, base_name(file), line,
                              cudnnGetErrorString(e));
}

mim_status mim__cublas_err(mim_backend *be, cublasStatus_t e, const char *what, const char *file,
                           int line)
{
    mim_status st = e == CUBLAS_STATUS_ALLOC_FAILED ? MIM_ERR_NOMEM : MIM_ERR_BACKEND;
    return mim__backend_error(be, st, "cublas: %s (%s:%d): %s", what, base_name(file), line,
                              mim__cublas(NULL, 0)->status_string(e));
}

/* A kernel launcher's result. */
static mim_status kern(mim_backend *be, cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return MIM_OK;
    return mim__backend_error(be, MIM_ERR_BACKEND, "cuda: kernel %s: %s", what,
                              cudaGetErrorString(e));
}

#define S(be)      (mim__cuda_state(be)->stream)
#define KERN(call) kern(be, (call), #call)

/* ---- probe and description ------------------------------------------------------------------ */

static mim_status probe_(int device, char *msg, size_t msg_size);

/* The probe's failed runtime calls must not linger as the runtime's last error. */
static mim_status probe(int device, char *msg, size_t msg_size)
{
    mim_status st = probe_(device, msg, msg_size);
    cudaGetLastError();
    return st;
}

static mim_status probe_(int device, char *msg, size_t msg_size)
{
    int drv = 0, count = 0;
    cudaError_t e = cudaDriverGetVersion(&drv);
    if (e != cudaSuccess || drv == 0) {
        snprintf(msg, msg_size, "no CUDA device: no NVIDIA driver is installed (%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "libcuda.so.1 not found");
        return MIM_ERR_UNSUPPORTED;
    }
    e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(msg, msg_size, "no CUDA device: %s (driver %d.%d)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "the driver reports no device",
                 drv / 1000, drv % 1000 / 10);
        return MIM_ERR_UNSUPPORTED;
    }
    if (device < 0 || device >= count) {
        snprintf(msg, msg_size, "no CUDA device: device %d requested, %d present", device, count);
        return MIM_ERR_UNSUPPORTED;
    }
    struct cudaDeviceProp prop;
    e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) {
        snprintf(msg, msg_size, "no CUDA device: device %d: %s", device, cudaGetErrorString(e));
        return MIM_ERR_BACKEND;
    }
    if (prop.major < 8) {
        snprintf(msg, msg_size,
                 "no CUDA device: %s is sm_%d%d; this build has code for sm_80 and newer",
                 prop.name, prop.major, prop.minor);
        return MIM_ERR_UNSUPPORTED;
    }
    size_t dnn_v = cudnnGetVersion();
    if (dnn_v < 90000) {
        snprintf(msg, msg_size, "no CUDA device: cuDNN %zu.%zu found, 9.0 or newer needed",
                 dnn_v / 10000, dnn_v % 10000 / 100);
        return MIM_ERR_UNSUPPORTED;
    }
    char blas_err[384];
    const mim_cublas_fns *blas = mim__cublas(blas_err, sizeof blas_err);
    if (!blas) {
        snprintf(msg, msg_size, "no CUDA device: %s", blas_err);
        return MIM_ERR_UNSUPPORTED;
    }
    int b_major = 0, b_minor = 0, b_patch = 0;
    blas->get_property(MAJOR_VERSION, &b_major);
    blas->get_property(MINOR_VERSION, &b_minor);
    blas->get_property(PATCH_LEVEL, &b_patch);
    snprintf(msg, msg_size,
             "%s (sm_%d%d, %d SMs, %.0f GiB), driver %d.%d, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d",
             prop.name, prop.major, prop.minor, prop.multiProcessorCount,
             (double)prop.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), drv / 1000, drv % 1000 / 10,
             dnn_v / 10000, dnn_v % 10000 / 100, dnn_v % 100, b_major, b_minor, b_patch);
    return MIM_OK;
}

mim_status mim_cuda_probe(int device, char *msg, size_t msg_size)
{
    char tmp[256];
    if (!msg || !msg_size) {
        msg = tmp;
        msg_size = sizeof tmp;
    }
    return probe(device, msg, msg_size);
}

const char *mim_cuda_describe(const mim_backend *be)
{
    if (!be || be->i != &cuda_i)
        return "";
    return ((const mim_cuda_state *)be->state)->describe;
}

const char *mim_cuda_precision_name(mim_cuda_precision prec)
{
    switch (prec) {
    case MIM_CUDA_FP32:
        return "fp32";
    case MIM_CUDA_TF32:
        return "tf32";
    case MIM_CUDA_BF16:
        return "bf16";
    case MIM_CUDA_FP16:
        return "fp16";
    }
    return "?";
}

static mim_status apply_math_mode(mim_backend *be)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    cublasMath_t mode =
        cs->precision == MIM_CUDA_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH;
    MIM_CUBLAS_TRY(mim__cublas(NULL, 0)->set_math_mode(cs->blas, mode));
out:
    return st;
}

mim_status mim_cuda_set_precision(mim_backend *be, mim_cuda_precision prec)
{
    if (!be || be->i != &cuda_i)
        return MIM_ERR_ARG;
    if (prec < MIM_CUDA_FP32 || prec > MIM_CUDA_FP16)
        return mim__backend_error(be, MIM_ERR_ARG, "cuda: unknown precision %d", (int)prec);
    mim_cuda_state *cs = mim__cuda_state(be);
    if (cs->precision != prec) {
        cudaStreamSynchronize(cs->stream);
        mim__cuda_plans_free(cs);
        cs->precision = prec;
    }
    return apply_math_mode(be);
}

mim_cuda_precision mim_cuda_get_precision(const mim_backend *be)
{
    if (!be || be->i != &cuda_i)
        return MIM_CUDA_FP32;
    return ((const mim_cuda_state *)be->state)->precision;
}

mim_status mim_cuda_set_deterministic(mim_backend *be, int on)
{
    if (!be || be->i != &cuda_i)
        return MIM_ERR_ARG;
    mim_cuda_state *cs = mim__cuda_state(be);
    if (cs->deterministic != !!on) {
        cudaStreamSynchronize(cs->stream);
        mim__cuda_plans_free(cs);
        cs->deterministic = !!on;
    }
    return MIM_OK;
}

int mim_cuda_get_deterministic(const mim_backend *be)
{
    if (!be || be->i != &cuda_i)
        return 0;
    return ((const mim_cuda_state *)be->state)->deterministic;
}

/* ---- life cycle -------------------------------------------------------------------------- */

static void state_free(mim_cuda_state *cs)
{
    if (!cs)
        return;
    if (cs->stream)
        cudaStreamSynchronize(cs->stream);
    mim__cuda_plans_free(cs);
    if (cs->bn_x_desc)
        cudnnDestroyTensorDescriptor(cs->bn_x_desc);
    if (cs->bn_p_desc)
        cudnnDestroyTensorDescriptor(cs->bn_p_desc);
    if (cs->dnn)
        cudnnDestroy(cs->dnn);
    if (cs->blas)
        mim__cublas(NULL, 0)->destroy(cs->blas);
    cudaFree(cs->ws);
    cudaFree(cs->scratch);
    cudaFree(cs->ones);
    cudaFree(cs->zeros);
    if (cs->stream)
        cudaStreamDestroy(cs->stream);
    free(cs);
}

static void cuda_destroy(mim_backend *be)
{
    state_free(mim__cuda_state(be));
    be->state = NULL;
}

static mim_cuda_precision precision_from_env(void)
{
    const char *p = getenv("MIMICA_CUDA_PRECISION");
    if (!p || !*p || !strcmp(p, "fp32"))
        return MIM_CUDA_FP32;
    if (!strcmp(p, "tf32"))
        return MIM_CUDA_TF32;
    if (!strcmp(p, "bf16"))
        return MIM_CUDA_BF16;
    if (!strcmp(p, "fp16"))
        return MIM_CUDA_FP16;
    return (mim_cuda_precision)-1;
}

mim_status mim__backend_cuda_create(int device, mim_backend **out, char *err, size_t err_size)
{
    char tmp[256];
    if (!err || !err_size) {
        err = tmp;
        err_size = sizeof tmp;
    }
    *out = NULL;
    char desc[256];
    mim_status st = probe(device, desc, sizeof desc);
    if (st != MIM_OK) {
        snprintf(err, err_size, "%s", desc);
        return st;
    }
    mim_cuda_precision prec = precision_from_env();
    if ((int)prec < 0) {
        snprintf(err, err_size, "MIMICA_CUDA_PRECISION=%s: want fp32, tf32, bf16 or fp16",
                 getenv("MIMICA_CUDA_PRECISION"));
        return MIM_ERR_ARG;
    }
    mim_cuda_state *cs = calloc(1, sizeof *cs);
    if (!cs) {
        snprintf(err, err_size, "out of host memory");
        return MIM_ERR_NOMEM;
    }
    cs->device = device;
    cs->precision = prec;
    const char *det = getenv("MIMICA_CUDA_DETERMINISTIC");
    cs->deterministic = det && *det && strcmp(det, "0") != 0;
    snprintf(cs->describe, sizeof cs->describe, "%s", desc);

    const char *what = NULL;
    cudaError_t ce = cudaSetDevice(device);
    if (ce != cudaSuccess) {
        what = cudaGetErrorString(ce);
        goto fail;
    }
    ce = cudaStreamCreateWithFlags(&cs->stream, cudaStreamNonBlocking);
    if (ce == cudaSuccess)
        ce = cudaMalloc(&cs->scratch, MIM_CU_SCRATCH_BYTES);
    if (ce != cudaSuccess) {
        what = cudaGetErrorString(ce);
        goto fail;
    }
    cudnnStatus_t de = cudnnCreate(&cs->dnn);
    if (de == CUDNN_STATUS_SUCCESS)
        de = cudnnSetStream(cs->dnn, cs->stream);
    if (de == CUDNN_STATUS_SUCCESS)
        de = cudnnCreateTensorDescriptor(&cs->bn_x_desc);
    if (de == CUDNN_STATUS_SUCCESS)
        de = cudnnCreateTensorDescriptor(&cs->bn_p_desc);
    if (de != CUDNN_STATUS_SUCCESS) {
        what = cudnnGetErrorString(de);
        goto fail;
    }
    const mim_cublas_fns *blas = mim__cublas(err, err_size);
    if (!blas) {
        state_free(cs);
        return MIM_ERR_UNSUPPORTED;
    }
    cublasStatus_t be_ = blas->create(&cs->blas);
    if (be_ == CUBLAS_STATUS_SUCCESS)
        be_ = blas->set_stream(cs->blas, cs->stream);
    if (be_ != CUBLAS_STATUS_SUCCESS) {
        what = blas->status_string(be_);
        goto fail;
    }
    mim_backend *be = mim__backend_alloc(&cuda_i, cs, "cuda", 0);
    if (!be) {
        snprintf(err, err_size, "out of host memory");
        state_free(cs);
        return MIM_ERR_NOMEM;
    }
    st = apply_math_mode(be);
    if (st != MIM_OK) {
        snprintf(err, err_size, "%s", be->err);
        mim_backend_free(be);
        return st;
    }
    *out = be;
    return MIM_OK;

fail:
    snprintf(err, err_size, "CUDA device %d (%s): setting up failed: %s", device, desc, what);
    state_free(cs);
    return MIM_ERR_BACKEND;
}

/* ---- memory ---------------------------------------------------------------------------------- */

static void *cuda_alloc(mim_backend *be, size_t n_bytes)
{
    void *p = NULL;
    size_t bytes = n_bytes ? (n_bytes + 255) / 256 * 256 : 256;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        mim__backend_error(be, MIM_ERR_NOMEM, "cuda: cudaMalloc(%zu bytes): %s", bytes,
                           cudaGetErrorString(e));
        cudaGetLastError(); /* clear the sticky-free error state */
        return NULL;
    }
    return p;
}

static void cuda_free(mim_backend *be, void *p)
{
    (void)be;
    if (p)
        cudaFree(p);
}

static mim_status cuda_set(mim_backend *be, void *dst, const void *host_src, size_t n_bytes)
{
    mim_status st = MIM_OK;
    if (!n_bytes)
        return MIM_OK;
    MIM_CUDA_TRY(cudaMemcpyAsync(dst, host_src, n_bytes, cudaMemcpyHostToDevice, S(be)));
    MIM_CUDA_TRY(cudaStreamSynchronize(S(be)));
out:
    return st;
}

static mim_status cuda_get(mim_backend *be, void *host_dst, const void *src, size_t n_bytes)
{
    mim_status st = MIM_OK;
    if (!n_bytes)
        return MIM_OK;
    MIM_CUDA_TRY(cudaMemcpyAsync(host_dst, src, n_bytes, cudaMemcpyDeviceToHost, S(be)));
    MIM_CUDA_TRY(cudaStreamSynchronize(S(be)));
out:
    return st;
}

static mim_status cuda_copy(mim_backend *be, void *dst, const void *src, size_t n_bytes)
{
    mim_status st = MIM_OK;
    if (n_bytes && dst != src)
        MIM_CUDA_TRY(cudaMemcpyAsync(dst, src, n_bytes, cudaMemcpyDeviceToDevice, S(be)));
out:
    return st;
}

static mim_status cuda_zero(mim_backend *be, void *dst, size_t n_bytes)
{
    mim_status st = MIM_OK;
    if (n_bytes)
        MIM_CUDA_TRY(cudaMemsetAsync(dst, 0, n_bytes, S(be)));
out:
    return st;
}

static mim_status cuda_sync(mim_backend *be)
{
    mim_status st = MIM_OK;
    MIM_CUDA_TRY(cudaStreamSynchronize(S(be)));
out:
    return st;
}

void *mim__cuda_ws(mim_backend *be, size_t n_bytes)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    if (cs->ws_bytes >= n_bytes && cs->ws)
        return cs->ws;
    /* cudaFree waits for the device, so work still using the old buffer has finished */
    cudaFree(cs->ws);
    cs->ws = NULL;
    cs->ws_bytes = 0;
    size_t bytes = (n_bytes + (1u << 20) - 1) / (1u << 20) * (1u << 20);
    cudaError_t e = cudaMalloc(&cs->ws, bytes ? bytes : 1u << 20);
    if (e != cudaSuccess) {
        mim__backend_error(be, MIM_ERR_NOMEM, "cuda: work memory of %zu bytes: %s", bytes,
                           cudaGetErrorString(e));
        cudaGetLastError();
        cs->ws = NULL;
        return NULL;
    }
    cs->ws_bytes = bytes ? bytes : 1u << 20;
    return cs->ws;
}

mim_status mim__cuda_ones_zeros(mim_backend *be, int c, const float **ones, const float **zeros)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    float *h = NULL;
    if (cs->ones_n < (size_t)c) {
        size_t n = (size_t)c < 1024 ? 1024 : (size_t)c;
        cudaFree(cs->ones);
        cudaFree(cs->zeros);
        cs->ones = cs->zeros = NULL;
        cs->ones_n = 0;
        h = malloc(n * sizeof *h);
        if (!h)
            return mim__backend_error(be, MIM_ERR_NOMEM, "cuda: out of host memory");
        for (size_t i = 0; i < n; i++)
            h[i] = 1.f;
        MIM_CUDA_TRY(cudaMalloc((void **)&cs->ones, n * sizeof(float)));
        MIM_CUDA_TRY(cudaMalloc((void **)&cs->zeros, n * sizeof(float)));
        /* on our stream (a non-blocking stream does not wait for the legacy default stream) */
        MIM_CUDA_TRY(
            cudaMemcpyAsync(cs->ones, h, n * sizeof(float), cudaMemcpyHostToDevice, cs->stream));
        MIM_CUDA_TRY(cudaMemsetAsync(cs->zeros, 0, n * sizeof(float), cs->stream));
        MIM_CUDA_TRY(cudaStreamSynchronize(cs->stream)); /* before h is freed */
        cs->ones_n = n;
    }
    *ones = cs->ones;
    *zeros = cs->zeros;
out:
    free(h);
    return st;
}

/* ---- our kernels' table entries ----------------------------------------------------------- */

static mim_status cuda_instancenorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                            float *y, const float *x, float *save_mean,
                                            float *save_invstd)
{
    return KERN(mim__cu_instancenorm_forward(S(be), n, c, hw, eps, y, x, save_mean, save_invstd));
}

static mim_status cuda_instancenorm_backward(mim_backend *be, int n, int c, int hw, float *dx,
                                             const float *dy, const float *x,
                                             const float *save_mean, const float *save_invstd)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_instancenorm_backward(S(be), n, c, hw, dx, dy, x, save_mean, save_invstd));
}

static mim_status cuda_prelu_forward(mim_backend *be, int64_t n, float *y, const float *x,
                                     const float *slope)
{
    return KERN(mim__cu_prelu_forward(S(be), n, y, x, slope));
}

static mim_status cuda_prelu_backward(mim_backend *be, int64_t n, float *dx, float *dslope,
                                      const float *dy, const float *x, const float *slope)
{
    mim_status st = MIM_OK;
    if (dx)
        st = KERN(mim__cu_prelu_backward_data(S(be), n, dx, dy, x, slope));
    if (st == MIM_OK && dslope)
        st = KERN(mim__cu_prelu_slope_grad(S(be), mim__cuda_state(be)->scratch, n, dslope, dy, x));
    return st;
}

static mim_status cuda_act_forward(mim_backend *be, mim_act act, int64_t n, float *y,
                                   const float *x)
{
    return KERN(mim__cu_act_forward(S(be), (int)act, n, y, x));
}

static mim_status cuda_act_backward(mim_backend *be, mim_act act, int64_t n, float *dx,
                                    const float *dy, const float *y)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_act_backward(S(be), (int)act, n, dx, dy, y));
}

static mim_status cuda_avgpool_forward(mim_backend *be, const mim_pool_shape *s, float *y,
                                       const float *x)
{
    return KERN(mim__cu_avgpool_forward(S(be), s->n, s->c, s->h_in, s->w_in, s->h_out, s->w_out,
                                        s->k_h, s->k_w, s->stride_h, s->stride_w, y, x));
}

static mim_status cuda_avgpool_backward(mim_backend *be, const mim_pool_shape *s, float *dx,
                                        const float *dy)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_avgpool_backward(S(be), s->n, s->c, s->h_in, s->w_in, s->h_out, s->w_out,
                                         s->k_h, s->k_w, s->stride_h, s->stride_w, dx, dy));
}

static mim_status cuda_softmax_forward(mim_backend *be, int64_t rows, int64_t n, float *y,
                                       const float *x)
{
    return KERN(mim__cu_softmax_forward(S(be), rows, n, y, x));
}

static mim_status cuda_softmax_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                        const float *dy, const float *y)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_softmax_backward(S(be), rows, n, dx, dy, y));
}

static mim_status cuda_channel_sum_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                           const float *x)
{
    return KERN(mim__cu_channel_sum_forward(S(be), n, c, hw, y, x));
}

static mim_status cuda_channel_sum_backward(mim_backend *be, int n, int c, int64_t hw, float *dx,
                                            const float *dy)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_channel_sum_backward(S(be), n, c, hw, dx, dy));
}

static mim_status cuda_channel_copy(mim_backend *be, int n, int c, int64_t hw, float *dst,
                                    int dst_c, int dst_off, const float *src, int src_c,
                                    int src_off, int accumulate)
{
    return KERN(mim__cu_channel_copy(S(be), n, c, hw, dst, dst_c, dst_off, src, src_c, src_off,
                                     accumulate));
}

static mim_status cuda_axpby(mim_backend *be, int64_t n, float *y, float alpha, const float *a,
                             float beta, const float *b)
{
    return KERN(mim__cu_axpby(S(be), n, y, alpha, a, beta, b));
}

static mim_status cuda_mul(mim_backend *be, int64_t n, float *y, const float *a, const float *b,
                           int accumulate)
{
    return KERN(mim__cu_mul(S(be), n, y, a, b, accumulate));
}

static mim_status cuda_add_scalar_grad(mim_backend *be, int64_t n, float *y, float alpha,
                                       const float *s)
{
    return KERN(mim__cu_add_scalar_grad(S(be), n, y, alpha, s));
}

static mim_status cuda_bias_forward(mim_backend *be, int n, int c, int64_t hw, float *y,
                                    const float *b)
{
    return KERN(mim__cu_bias_forward(S(be), n, c, hw, y, b));
}

static mim_status cuda_bias_backward(mim_backend *be, int n, int c, int64_t hw, float *db,
                                     const float *dy)
{
    if (!db)
        return MIM_OK;
    return KERN(mim__cu_bias_backward(S(be), n, c, hw, db, dy));
}

static mim_status cuda_reduce_sum(mim_backend *be, int64_t n, float *out, const float *x,
                                  float scale)
{
    return KERN(mim__cu_reduce_sum(S(be), mim__cuda_state(be)->scratch, n, out, x, scale, 0));
}

static mim_status cuda_l1_forward(mim_backend *be, int64_t n, float *out, const float *a,
                                  const float *b)
{
    return KERN(mim__cu_l1_forward(S(be), mim__cuda_state(be)->scratch, n, out, a, b));
}

static mim_status cuda_l1_backward(mim_backend *be, int64_t n, float *da, float *db,
                                   const float *dout, const float *a, const float *b)
{
    if (!da && !db)
        return MIM_OK;
    return KERN(mim__cu_l1_backward(S(be), n, da, db, dout, a, b));
}

static mim_status cuda_mse_forward(mim_backend *be, int64_t n, float *out, const float *a,
                                   const float *b, float c)
{
    return KERN(mim__cu_mse_forward(S(be), mim__cuda_state(be)->scratch, n, out, a, b, c));
}

static mim_status cuda_mse_backward(mim_backend *be, int64_t n, float *da, float *db,
                                    const float *dout, const float *a, const float *b, float c)
{
    if (!da && !(db && b))
        return MIM_OK;
    return KERN(mim__cu_mse_backward(S(be), n, da, b ? db : NULL, dout, a, b, c));
}

static mim_status cuda_bce_logits_forward(mim_backend *be, int n_batch, int n_class, float *out,
                                          const float *z, const float *y, const float *w)
{
    return KERN(mim__cu_bce_logits_forward(S(be), mim__cuda_state(be)->scratch, n_batch, n_class,
                                           out, z, y, w));
}

static mim_status cuda_bce_logits_backward(mim_backend *be, int n_batch, int n_class, float *dz,
                                           const float *dout, const float *z, const float *y,
                                           const float *w)
{
    if (!dz)
        return MIM_OK;
    return KERN(mim__cu_bce_logits_backward(S(be), n_batch, n_class, dz, dout, z, y, w));
}

static mim_status cuda_cross_entropy_forward(mim_backend *be, int64_t rows, int64_t n, float *out,
                                             const float *x, const int32_t *labels, int64_t period)
{
    double *rows_ws = mim__cuda_ws(be, (size_t)(rows > 0 ? rows : 1) * sizeof(double));
    if (!rows_ws)
        return MIM_ERR_NOMEM;
    return KERN(mim__cu_cross_entropy_forward(S(be), mim__cuda_state(be)->scratch, rows_ws, rows, n,
                                              out, x, labels, period));
}

static mim_status cuda_cross_entropy_backward(mim_backend *be, int64_t rows, int64_t n, float *dx,
                                              const float *dout, const float *x,
                                              const int32_t *labels, int64_t period)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_cross_entropy_backward(S(be), rows, n, dx, dout, x, labels, period));
}

static mim_status cuda_l2norm_forward(mim_backend *be, int n, int c, int64_t hw, float eps,
                                      float *y, const float *x, float *norm)
{
    return KERN(mim__cu_l2norm_forward(S(be), n, c, hw, eps, y, x, norm));
}

static mim_status cuda_l2norm_backward(mim_backend *be, int n, int c, int64_t hw, float eps,
                                       float *dx, const float *dy, const float *y,
                                       const float *norm)
{
    if (!dx)
        return MIM_OK;
    return KERN(mim__cu_l2norm_backward(S(be), n, c, hw, eps, dx, dy, y, norm));
}

static mim_status cuda_adam_update(mim_backend *be, int64_t n, float *p, const float *g, float *m,
                                   float *v, float beta1, float beta2, float step_size,
                                   float bc2_sqrt, float eps)
{
    return KERN(mim__cu_adam(S(be), n, p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps));
}

/* A device backend sets every entry (mim-backend-impl.h). */
static const mim_backend_i cuda_i = {
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .free = cuda_free,
    .set = cuda_set,
    .get = cuda_get,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .sync = cuda_sync,
    .conv2d_forward = mim__cuda_conv2d_forward,
    .conv2d_backward_data = mim__cuda_conv2d_backward_data,
    .conv2d_backward_weights = mim__cuda_conv2d_backward_weights,
    .batchnorm_forward = mim__cuda_batchnorm_forward,
    .batchnorm_backward = mim__cuda_batchnorm_backward,
    .instancenorm_forward = cuda_instancenorm_forward,
    .instancenorm_backward = cuda_instancenorm_backward,
    .prelu_forward = cuda_prelu_forward,
    .prelu_backward = cuda_prelu_backward,
    .act_forward = cuda_act_forward,
    .act_backward = cuda_act_backward,
    .avgpool_forward = cuda_avgpool_forward,
    .avgpool_backward = cuda_avgpool_backward,
    .softmax_forward = cuda_softmax_forward,
    .softmax_backward = cuda_softmax_backward,
    .channel_sum_forward = cuda_channel_sum_forward,
    .channel_sum_backward = cuda_channel_sum_backward,
    .gemm = mim__cuda_gemm,
    .channel_copy = cuda_channel_copy,
    .axpby = cuda_axpby,
    .mul = cuda_mul,
    .add_scalar_grad = cuda_add_scalar_grad,
    .bias_forward = cuda_bias_forward,
    .bias_backward = cuda_bias_backward,
    .reduce_sum = cuda_reduce_sum,
    .l1_forward = cuda_l1_forward,
    .l1_backward = cuda_l1_backward,
    .mse_forward = cuda_mse_forward,
    .mse_backward = cuda_mse_backward,
    .bce_logits_forward = cuda_bce_logits_forward,
    .bce_logits_backward = cuda_bce_logits_backward,
    .cross_entropy_forward = cuda_cross_entropy_forward,
    .cross_entropy_backward = cuda_cross_entropy_backward,
    .l2norm_forward = cuda_l2norm_forward,
    .l2norm_backward = cuda_l2norm_backward,
    .adam_update = cuda_adam_update,
};
