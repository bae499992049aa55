// cuda-reduce.cu: the backend's reductions (losses, per-row softmax and cross-entropy, instance
// norm, per-channel sums) and their launchers (cuda-kernels.h).
//
// Determinism: no atomics. A block reduces with warp shuffles and one shared array in a fixed
// tree; whole-tensor sums run in two passes (per-block partials in `scratch`, then one block over
// the partials), with a grid that depends only on n. Scalar losses accumulate in double.
#include <cuda_runtime.h>
#include <math.h>

#include "cuda-kernels.h"

namespace
{

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

template <typename T> __device__ T warp_sum(T v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

__device__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the block (blockDim.x == kThreads); every thread gets the result. `sh` holds kWarps.
template <typename T> __device__ T block_sum(T v, T *sh)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads(); // sh may still be read by a previous call
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    T r = 0;
    for (int k = 0; k < kWarps; k++)
        r += sh[k];
    return r;
}

__device__ float block_max(float v, float *sh)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0)
        sh[warp] = v;
    __syncthreads();
    float r = sh[0];
    for (int k = 1; k < kWarps; k++)
        r = fmaxf(r, sh[k]);
    return r;
}

unsigned n_partials(int64_t n)
{
    int64_t g = (n + kThreads * 8 - 1) / (kThreads * 8);
    if (g < 1)
        g = 1;
    if (g > MIM_CU_MAX_PARTIALS)
        g = MIM_CU_MAX_PARTIALS;
    return (unsigned)g;
}

// ---- whole-tensor sums: term functors ------------------------------------------------------

struct term_sum {
    const float *x;
    __device__ double operator()(int64_t i) const
    {
        return x[i];
    }
};
struct term_prelu_slope {
    const float *dy, *x;
    __device__ double operator()(int64_t i) const
    {
        float v = x[i];
        return v <= 0.f ? (double)dy[i] * (double)v : 0.0;
    }
};
struct term_l1 {
    const float *a, *b;
    __device__ double operator()(int64_t i) const
    {
        return fabs((double)a[i] - (double)b[i]);
    }
};
struct term_mse {
    const float *a, *b;
    float c;
    __device__ double operator()(int64_t i) const
    {
        double d = (double)a[i] - (double)(b ? b[i] : c);
        return d * d;
    }
};
struct term_bce {
    const float *z, *y, *w;
    int n_class;
    __device__ double operator()(int64_t i) const
    {
        double zv = z[i], yv = y[i];
        double l = fmax(zv, 0.0) - zv * yv + log1p(exp(-fabs(zv)));
        return w ? (double)w[i % n_class] * l : l;
    }
};
struct term_rows {
    const double *r;
    __device__ double operator()(int64_t i) const
    {
        return r[i];
    }
};

template <typename F> __global__ void partial_k(int64_t n, F f, double *partials)
{
    __shared__ double sh[kWarps];
    double acc = 0.0;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (int64_t)blockDim.x * gridDim.x)
        acc += f(i);
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0)
        partials[blockIdx.x] = acc;
}

__global__ void finish_k(int n_part, const double *partials, float *out, double scale,
                         int accumulate)
{
    __shared__ double sh[kWarps];
    double acc = 0.0;
    for (int i = threadIdx.x; i < n_part; i += blockDim.x)
        acc += partials[i];
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0) {
        float r = (float)(acc * scale);
        if (accumulate)
            out[0] += r;
        else
            out[0] = r;
    }
}

template <typename F>
cudaError_t reduce_all(cudaStream_t s, void *scratch, int64_t n, F f, float *out, double scale,
                       int accumulate)
{
    double *partials = (double *)scratch;
    unsigned g = n_partials(n);
    if (n > 0)
        partial_k<<<g, kThreads, 0, s>>>(n, f, partials);
    else
        g = 0;
    finish_k<<<1, kThreads, 0, s>>>((int)g, partials, out, scale, accumulate);
    return cudaGetLastError();
}

// ---- per-channel sums ------------------------------------------------------------------------

// db[k] += Σ_{b,p} dy[b,k,p]: one block per channel.
__global__ void bias_backward_k(int n, int c, int64_t hw, float *db, const float *dy)
{
    __shared__ float sh[kWarps];
    int k = blockIdx.x;
    float acc = 0.f;
    for (int b = 0; b < n; b++) {
        const float *p = dy + ((int64_t)b * c + k) * hw;
        for (int64_t i = threadIdx.x; i < hw; i += blockDim.x)
            acc += p[i];
    }
    acc = block_sum(acc, sh);
    if (threadIdx.x == 0)
        db[k] += acc;
}

// Batch norm with fixed statistics, backward. One block per channel.
__global__ void bn_eval_backward_k(int n, int c, int hw, float *dx, float *dgamma, float *dbeta,
                                   const float *dy, const float *x, const float *gamma,
                                   const float *mean, const float *invstd)
{
    __shared__ float sh[kWarps];
    int k = blockIdx.x;
    float m = mean[k], is = invstd[k], g = gamma ? gamma[k] : 1.f;
    float s_dy = 0.f, s_dyx = 0.f;
    for (int b = 0; b < n; b++) {
        int64_t off = ((int64_t)b * c + k) * hw;
        for (int i = threadIdx.x; i < hw; i += blockDim.x) {
            float d = dy[off + i];
            s_dy += d;
            s_dyx += d * (x[off + i] - m) * is;
            if (dx)
                dx[off + i] += d * g * is;
        }
    }
    s_dy = block_sum(s_dy, sh);
    s_dyx = block_sum(s_dyx, sh);
    if (threadIdx.x == 0) {
        if (dgamma)
            dgamma[k] += s_dyx;
        if (dbeta)
            dbeta[k] += s_dy;
    }
}

// ---- rows: softmax and cross-entropy -----------------------------------------------------------

__global__ void softmax_forward_k(int64_t n, float *y, const float *x)
{
    __shared__ float sh[kWarps];
    const float *xr = x + (int64_t)blockIdx.x * n;
    float *yr = y + (int64_t)blockIdx.x * n;
    float mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        mx = fmaxf(mx, xr[i]);
    mx = block_max(mx, sh);
    float sum = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float e = expf(xr[i] - mx);
        yr[i] = e;
        sum += e;
    }
    sum = block_sum(sum, sh);
    float inv = 1.f / sum;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        yr[i] *= inv;
}

__global__ void softmax_backward_k(int64_t n, float *dx, const float *dy, const float *y)
{
    __shared__ float sh[kWarps];
    int64_t off = (int64_t)blockIdx.x * n;
    float dot = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        dot += y[off + i] * dy[off + i];
    dot = block_sum(dot, sh);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        dx[off + i] += y[off + i] * (dy[off + i] - dot);
}

__device__ int64_t row_label(int64_t r, const int32_t *labels, int64_t period)
{
    return labels ? (int64_t)labels[r] : r % period;
}

// Row max and log Σ exp(x - max) of row r (every thread gets them).
__device__ void row_lse(const float *xr, int64_t n, float *sh, float *mx_out, float *lse_out)
{
    float mx = -INFINITY;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        mx = fmaxf(mx, xr[i]);
    mx = block_max(mx, sh);
    float sum = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        sum += expf(xr[i] - mx);
    sum = block_sum(sum, sh);
    *mx_out = mx;
    *lse_out = logf(sum);
}

__global__ void cross_entropy_rows_k(int64_t n, double *row_loss, const float *x,
                                     const int32_t *labels, int64_t period)
{
    __shared__ float sh[kWarps];
    int64_t r = blockIdx.x;
    const float *xr = x + r * n;
    float mx, lse;
    row_lse(xr, n, sh, &mx, &lse);
    if (threadIdx.x == 0) {
        int64_t l = row_label(r, labels, period);
        float xl = (l >= 0 && l < n) ? xr[l] : 0.f;
        row_loss[r] = (double)mx + (double)lse - (double)xl;
    }
}

__global__ void cross_entropy_backward_k(int64_t rows, int64_t n, float *dx, const float *dout,
                                         const float *x, const int32_t *labels, int64_t period)
{
    __shared__ float sh[kWarps];
    int64_t r = blockIdx.x;
    const float *xr = x + r * n;
    float *dxr = dx + r * n;
    float mx, lse;
    row_lse(xr, n, sh, &mx, &lse);
    float g = dout[0] / (float)rows;
    int64_t l = row_label(r, labels, period);
    float shift = mx + lse;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        float p = expf(xr[i] - shift);
        dxr[i] += (p - (i == l ? 1.f : 0.f)) * g;
    }
}

// ---- instance norm: one block per (b, c) plane
// ---------------------------------------------------

__global__ void instancenorm_forward_k(int hw, float eps, float *y, const float *x,
                                       float *save_mean, float *save_invstd)
{
    __shared__ float sh[kWarps];
    int64_t off = (int64_t)blockIdx.x * hw;
    const float *xp = x + off;
    float sum = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x)
        sum += xp[i];
    float mean = block_sum(sum, sh) / (float)hw;
    float ss = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float d = xp[i] - mean;
        ss += d * d;
    }
    float var = block_sum(ss, sh) / (float)hw;
    float invstd = 1.f / sqrtf(var + eps);
    for (int i = threadIdx.x; i < hw; i += blockDim.x)
        y[off + i] = (xp[i] - mean) * invstd;
    if (threadIdx.x == 0) {
        save_mean[blockIdx.x] = mean;
        save_invstd[blockIdx.x] = invstd;
    }
}

// dx += invstd·(dy - mean(dy) - x̂·mean(dy·x̂)), x̂ = (x - mean)·invstd.
__global__ void instancenorm_backward_k(int hw, float *dx, const float *dy, const float *x,
                                        const float *save_mean, const float *save_invstd)
{
    __shared__ float sh[kWarps];
    int64_t off = (int64_t)blockIdx.x * hw;
    float mean = save_mean[blockIdx.x], invstd = save_invstd[blockIdx.x];
    float s_dy = 0.f, s_dyx = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float d = dy[off + i];
        s_dy += d;
        s_dyx += d * (x[off + i] - mean) * invstd;
    }
    float m_dy = block_sum(s_dy, sh) / (float)hw;
    float m_dyx = block_sum(s_dyx, sh) / (float)hw;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float xh = (x[off + i] - mean) * invstd;
        dx[off + i] += invstd * (dy[off + i] - m_dy - xh * m_dyx);
    }
}

} // namespace

// ---- launchers -----------------------------------------------------------------------------

extern "C" cudaError_t mim__cu_reduce_sum(cudaStream_t s, void *scratch, int64_t n, float *out,
                                          const float *x, float scale, int accumulate)
{
    return reduce_all(s, scratch, n, term_sum{x}, out, (double)scale, accumulate);
}

extern "C" cudaError_t mim__cu_prelu_slope_grad(cudaStream_t s, void *scratch, int64_t n,
                                                float *dslope, const float *dy, const float *x)
{
    return reduce_all(s, scratch, n, term_prelu_slope{dy, x}, dslope, 1.0, 1);
}

extern "C" cudaError_t mim__cu_l1_forward(cudaStream_t s, void *scratch, int64_t n, float *out,
                                          const float *a, const float *b)
{
    return reduce_all(s, scratch, n, term_l1{a, b}, out, n > 0 ? 1.0 / (double)n : 0.0, 0);
}

extern "C" cudaError_t mim__cu_mse_forward(cudaStream_t s, void *scratch, int64_t n, float *out,
                                           const float *a, const float *b, float c)
{
    return reduce_all(s, scratch, n, term_mse{a, b, c}, out, n > 0 ? 1.0 / (double)n : 0.0, 0);
}

extern "C" cudaError_t mim__cu_bce_logits_forward(cudaStream_t s, void *scratch, int n_batch,
                                                  int n_class, float *out, const float *z,
                                                  const float *y, const float *w)
{
    int64_t total = (int64_t)n_batch * n_class;
    return reduce_all(s, scratch, total, term_bce{z, y, w, n_class}, out,
                      total > 0 ? 1.0 / (double)total : 0.0, 0);
}

extern "C" cudaError_t mim__cu_bias_backward(cudaStream_t s, int n, int c, int64_t hw, float *db,
                                             const float *dy)
{
    if (c > 0)
        bias_backward_k<<<c, kThreads, 0, s>>>(n, c, hw, db, dy);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_bn_eval_backward(cudaStream_t s, int n, int c, int hw, float *dx,
                                                float *dgamma, float *dbeta, const float *dy,
                                                const float *x, const float *gamma,
                                                const float *save_mean, const float *save_invstd)
{
    if (c > 0)
        bn_eval_backward_k<<<c, kThreads, 0, s>>>(n, c, hw, dx, dgamma, dbeta, dy, x, gamma,
                                                  save_mean, save_invstd);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_softmax_forward(cudaStream_t s, int64_t rows, int64_t n, float *y,
                                               const float *x)
{
    if (rows > 0)
        softmax_forward_k<<<(unsigned)rows, kThreads, 0, s>>>(n, y, x);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_softmax_backward(cudaStream_t s, int64_t rows, int64_t n, float *dx,
                                                const float *dy, const float *y)
{
    if (rows > 0)
        softmax_backward_k<<<(unsigned)rows, kThreads, 0, s>>>(n, dx, dy, y);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_cross_entropy_forward(cudaStream_t s, void *scratch,
                                                     double *rows_scratch, int64_t rows, int64_t n,
                                                     float *out, const float *x,
                                                     const int32_t *labels, int64_t period)
{
    if (rows > 0)
        cross_entropy_rows_k<<<(unsigned)rows, kThreads, 0, s>>>(n, rows_scratch, x, labels,
                                                                 period);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return e;
    return reduce_all(s, scratch, rows, term_rows{rows_scratch}, out,
                      rows > 0 ? 1.0 / (double)rows : 0.0, 0);
}

extern "C" cudaError_t mim__cu_cross_entropy_backward(cudaStream_t s, int64_t rows, int64_t n,
                                                      float *dx, const float *dout, const float *x,
                                                      const int32_t *labels, int64_t period)
{
    if (rows > 0)
        cross_entropy_backward_k<<<(unsigned)rows, kThreads, 0, s>>>(rows, n, dx, dout, x, labels,
                                                                     period);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_instancenorm_forward(cudaStream_t s, int n, int c, int hw, float eps,
                                                    float *y, const float *x, float *save_mean,
                                                    float *save_invstd)
{
    int64_t planes = (int64_t)n * c;
    if (planes > 0)
        instancenorm_forward_k<<<(unsigned)planes, kThreads, 0, s>>>(hw, eps, y, x, save_mean,
                                                                     save_invstd);
    return cudaGetLastError();
}

extern "C" cudaError_t mim__cu_instancenorm_backward(cudaStream_t s, int n, int c, int hw,
                                                     float *dx, const float *dy, const float *x,
                                                     const float *save_mean,
                                                     const float *save_invstd)
{
    int64_t planes = (int64_t)n * c;
    if (planes > 0)
        instancenorm_backward_k<<<(unsigned)planes, kThreads, 0, s>>>(hw, dx, dy, x, save_mean,
                                                                      save_invstd);
    return cudaGetLastError();
}
