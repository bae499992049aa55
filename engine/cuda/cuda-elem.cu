// cuda-elem.cu: the backend's elementwise kernels (one thread per output element, grid-stride
// loops, no atomics) and their launchers (cuda-kernels.h). Shapes as in mim-backend-impl.h.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "cuda-kernels.h"

namespace
{

constexpr int kThreads = 256;

// Grid-stride loops cover any n; the grid is capped so that launches stay cheap.
unsigned grid_for(int64_t n)
{
    int64_t g = (n + kThreads - 1) / kThreads;
    if (g < 1)
        g = 1;
    if (g > 65535 * 8)
        g = 65535 * 8;
    return (unsigned)g;
}

#define GRID_LOOP(i, n)                                                                            \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                      \
         i += (int64_t)blockDim.x * gridDim.x)

// ---- activations ----------------------------------------------------------------------------

__global__ void act_forward_k(int act, int64_t n, float *y, const float *x)
{
    GRID_LOOP(i, n)
    {
        float v = x[i];
        float r;
        if (act == 0)
            r = v > 0.f ? v : 0.f;
        else if (act == 1)
            r = tanhf(v);
        else
            r = 1.f / (1.f + expf(-v));
        y[i] = r;
    }
}

__global__ void act_backward_k(int act, int64_t n, float *dx, const float *dy, const float *y)
{
    GRID_LOOP(i, n)
    {
        float yv = y[i];
        float d;
        if (act == 0)
            d = yv > 0.f ? 1.f : 0.f;
        else if (act == 1)
            d = 1.f - yv * yv;
        else
            d = yv * (1.f - yv);
        dx[i] += d * dy[i];
    }
}

__global__ void prelu_forward_k(int64_t n, float *y, const float *x, const float *slope)
{
    float a = slope[0];
    GRID_LOOP(i, n)
    {
        float v = x[i];
        y[i] = v > 0.f ? v : a * v;
    }
}

__global__ void prelu_backward_data_k(int64_t n, float *dx, const float *dy, const float *x,
                                      const float *slope)
{
    float a = slope[0];
    GRID_LOOP(i, n)
    {
        dx[i] += x[i] > 0.f ? dy[i] : a * dy[i];
    }
}

// ---- arithmetic -----------------------------------------------------------------------------

__global__ void axpby_k(int64_t n, float *y, float alpha, const float *a, float beta,
                        const float *b)
{
    GRID_LOOP(i, n)
    {
        float r = alpha * a[i];
        if (b)
            r += beta * b[i];
        y[i] = r;
    }
}

__global__ void mul_k(int64_t n, float *y, const float *a, const float *b, int accumulate)
{
    GRID_LOOP(i, n)
    {
        float r = a[i] * b[i];
        if (accumulate)
            y[i] += r;
        else
            y[i] = r;
    }
}

__global__ void add_scalar_grad_k(int64_t n, float *y, float alpha, const float *s0)
{
    float g = alpha * s0[0];
    GRID_LOOP(i, n)
    {
        y[i] += g;
    }
}

__global__ void bias_forward_k(int64_t total, int c, int64_t hw, float *y, const float *b)
{
    GRID_LOOP(i, total)
    {
        y[i] += b[(i / hw) % c];
    }
}

__global__ void channel_copy_k(int64_t total, int c, int64_t hw, float *dst, int dst_c, int dst_off,
                               const float *src, int src_c, int src_off, int accumulate)
{
    GRID_LOOP(i, total)
    {
        int64_t p = i % hw;
        int64_t k = (i / hw) % c;
        int64_t b = i / (hw * c);
        float v = src[(b * src_c + src_off + k) * hw + p];
        float *d = dst + (b * dst_c + dst_off + k) * hw + p;
        if (accumulate)
            *d += v;
        else
            *d = v;
    }
}

__global__ void channel_sum_forward_k(int64_t total, int c, int64_t hw, float *y, const float *x)
{
    GRID_LOOP(i, total)
    {
        int64_t p = i % hw;
        int64_t b = i / hw;
        const float *xp = x + b * c * hw + p;
        float acc = 0.f;
        for (int k = 0; k < c; k++)
            acc += xp[k * hw];
        y[i] = acc;
    }
}

__global__ void channel_sum_backward_k(int64_t total, int c, int64_t hw, float *dx, const float *dy)
{
    GRID_LOOP(i, total)
    {
        int64_t p = i % hw;
        int64_t b = i / (hw * c);
        dx[i] += dy[b * hw + p];
    }
}

// ---- pooling ----------------------------------------------------------------------------------

__global__ void avgpool_forward_k(int64_t total, int h_in, int w_in, int h_out, int w_out, int k_h,
                                  int k_w, int stride_h, int stride_w, float *y, const float *x)
{
    float inv = 1.f / (float)(k_h * k_w);
    GRID_LOOP(i, total)
    {
        int ow = (int)(i % w_out);
        int oh = (int)((i / w_out) % h_out);
        int64_t plane = i / ((int64_t)w_out * h_out);
        const float *xp = x + plane * h_in * w_in + (int64_t)(oh * stride_h) * w_in + ow * stride_w;
        float acc = 0.f;
        for (int a = 0; a < k_h; a++)
            for (int b = 0; b < k_w; b++)
                acc += xp[a * w_in + b];
        y[i] = acc * inv;
    }
}

// One thread per input element: sums the windows that cover it (no scatter, no atomics).
__global__ void avgpool_backward_k(int64_t total, int h_in, int w_in, int h_out, int w_out, int k_h,
                                   int k_w, int stride_h, int stride_w, float *dx, const float *dy)
{
    float inv = 1.f / (float)(k_h * k_w);
    GRID_LOOP(i, total)
    {
        int iw = (int)(i % w_in);
        int ih = (int)((i / w_in) % h_in);
        int64_t plane = i / ((int64_t)w_in * h_in);
        // windows oh with oh·s <= ih < oh·s + k
        int oh0 = ih - k_h + 1 > 0 ? (ih - k_h + stride_h) / stride_h : 0;
        int oh1 = ih / stride_h;
        int ow0 = iw - k_w + 1 > 0 ? (iw - k_w + stride_w) / stride_w : 0;
        int ow1 = iw / stride_w;
        if (oh1 > h_out - 1)
            oh1 = h_out - 1;
        if (ow1 > w_out - 1)
            ow1 = w_out - 1;
        const float *dyp = dy + plane * h_out * w_out;
        float acc = 0.f;
        for (int oh = oh0; oh <= oh1; oh++)
            for (int ow = ow0; ow <= ow1; ow++)
                acc += dyp[oh * w_out + ow];
        dx[i] += acc * inv;
    }
}

// ---- losses (elementwise backward) ------------------------------------------------------------

__global__ void l1_backward_k(int64_t n, float *da, float *db, const float *dout, const float *a,
                              const float *b)
{
    float g = dout[0] / (float)n;
    GRID_LOOP(i, n)
    {
        float d = a[i] - b[i];
        float s = d > 0.f ? g : (d < 0.f ? -g : 0.f);
        if (da)
            da[i] += s;
        if (db)
            db[i] -= s;
    }
}

__global__ void mse_backward_k(int64_t n, float *da, float *db, const float *dout, const float *a,
                               const float *b, float c)
{
    float g = 2.f * dout[0] / (float)n;
    GRID_LOOP(i, n)
    {
        float t = b ? b[i] : c;
        float s = (a[i] - t) * g;
        if (da)
            da[i] += s;
        if (db)
            db[i] -= s;
    }
}

__global__ void bce_logits_backward_k(int64_t total, int n_class, float *dz, const float *dout,
                                      const float *z, const float *y, const float *w)
{
    float g = dout[0] / (float)total;
    GRID_LOOP(i, total)
    {
        float zv = z[i];
        float sig = 1.f / (1.f + expf(-zv));
        float wk = w ? w[i % n_class] : 1.f;
        dz[i] += wk * (sig - y[i]) * g;
    }
}

// ---- L2 normalisation over channels ------------------------------------------------------------

__global__ void l2norm_forward_k(int64_t total, int c, int64_t hw, float eps, float *y,
                                 const float *x, float *norm)
{
    GRID_LOOP(i, total)
    {
        int64_t p = i % hw;
        int64_t b = i / hw;
        const float *xp = x + b * c * hw + p;
        float ss = 0.f;
        for (int k = 0; k < c; k++)
            ss += xp[k * hw] * xp[k * hw];
        float r = sqrtf(ss);
        float d = r > eps ? r : eps;
        norm[i] = d;
        float inv = 1.f / d;
        float *yp = y + b * c * hw + p;
        for (int k = 0; k < c; k++)
            yp[k * hw] = xp[k * hw] * inv;
    }
}

__global__ void l2norm_backward_k(int64_t total, int c, int64_t hw, float eps, float *dx,
                                  const float *dy, const float *y, const float *norm)
{
    GRID_LOOP(i, total)
    {
        int64_t p = i % hw;
        int64_t b = i / hw;
        int64_t base = b * c * hw + p;
        float r = norm[i];
        if (r > eps) {
            float dot = 0.f;
            for (int k = 0; k < c; k++)
                dot += y[base + k * hw] * dy[base + k * hw];
            float inv = 1.f / r;
            for (int k = 0; k < c; k++)
                dx[base + k * hw] += (dy[base + k * hw] - y[base + k * hw] * dot) * inv;
        } else {
            float inv = 1.f / eps;
            for (int k = 0; k < c; k++)
                dx[base + k * hw] += dy[base + k * hw] * inv;
        }
    }
}

// ---- Adam ----------------------------------------------------------------------------------

__global__ void adam_k(int64_t n, float *p, const float *g, float *m, float *v, float beta1,
                       float beta2, float step_size, float bc2_sqrt, float eps)
{
    GRID_LOOP(i, n)
    {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] -= step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
    }
}

// ---- mixed precision casts -------------------------------------------------------------------

template <typename T> __device__ T from_f32(float v);
template <> __device__ __half from_f32<__half>(float v)
{
    return __float2half_rn(v);
}
template <> __device__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}
__device__ float to_f32(__half v)
{
    return __half2float(v);
}
__device__ float to_f32(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

template <typename T> __global__ void cast_from_f32_k(int64_t n, T *dst, const float *src)
{
    GRID_LOOP(i, n)
    {
        dst[i] = from_f32<T>(src[i]);
    }
}

template <typename T>
__global__ void cast_to_f32_k(int64_t n, float *dst, const T *src, int accumulate)
{
    GRID_LOOP(i, n)
    {
        float v = to_f32(src[i]);
        if (accumulate)
            dst[i] += v;
        else
            dst[i] = v;
    }
}

__global__ void bn_eval_stats_k(int c, float eps, float *save_mean, float *save_invstd,
                                const float *run_mean, const float *run_var)
{
    GRID_LOOP(i, c)
    {
        save_mean[i] = run_mean[i];
        save_invstd[i] = 1.f / sqrtf(run_var[i] + eps);
    }
}

} // namespace

// ---- launchers -----------------------------------------------------------------------------

#define LAUNCH(kernel, n, s, ...)                                                                  \
    do {                                                                                           \
        if ((n) > 0)                                                                               \
            kernel<<<grid_for(n), kThreads, 0, s>>>(__VA_ARGS__);                                  \
        return cudaGetLastError();                                                                 \
    } while (0)

extern "C" cudaError_t mim__cu_act_forward(cudaStream_t s, int act, int64_t n, float *y,
                                           const float *x)
{
    LAUNCH(act_forward_k, n, s, act, n, y, x);
}

extern "C" cudaError_t mim__cu_act_backward(cudaStream_t s, int act, int64_t n, float *dx,
                                            const float *dy, const float *y)
{
    LAUNCH(act_backward_k, n, s, act, n, dx, dy, y);
}

extern "C" cudaError_t mim__cu_prelu_forward(cudaStream_t s, int64_t n, float *y, const float *x,
                                             const float *slope)
{
    LAUNCH(prelu_forward_k, n, s, n, y, x, slope);
}

extern "C" cudaError_t mim__cu_prelu_backward_data(cudaStream_t s, int64_t n, float *dx,
                                                   const float *dy, const float *x,
                                                   const float *slope)
{
    LAUNCH(prelu_backward_data_k, n, s, n, dx, dy, x, slope);
}

extern "C" cudaError_t mim__cu_axpby(cudaStream_t s, int64_t n, float *y, float alpha,
                                     const float *a, float beta, const float *b)
{
    LAUNCH(axpby_k, n, s, n, y, alpha, a, beta, b);
}

extern "C" cudaError_t mim__cu_mul(cudaStream_t s, int64_t n, float *y, const float *a,
                                   const float *b, int accumulate)
{
    LAUNCH(mul_k, n, s, n, y, a, b, accumulate);
}

extern "C" cudaError_t mim__cu_add_scalar_grad(cudaStream_t s, int64_t n, float *y, float alpha,
                                               const float *s0)
{
    LAUNCH(add_scalar_grad_k, n, s, n, y, alpha, s0);
}

extern "C" cudaError_t mim__cu_bias_forward(cudaStream_t s, int n, int c, int64_t hw, float *y,
                                            const float *b)
{
    int64_t total = (int64_t)n * c * hw;
    LAUNCH(bias_forward_k, total, s, total, c, hw, y, b);
}

extern "C" cudaError_t mim__cu_channel_copy(cudaStream_t s, int n, int c, int64_t hw, float *dst,
                                            int dst_c, int dst_off, const float *src, int src_c,
                                            int src_off, int accumulate)
{
    int64_t total = (int64_t)n * c * hw;
    LAUNCH(channel_copy_k, total, s, total, c, hw, dst, dst_c, dst_off, src, src_c, src_off,
           accumulate);
}

extern "C" cudaError_t mim__cu_channel_sum_forward(cudaStream_t s, int n, int c, int64_t hw,
                                                   float *y, const float *x)
{
    int64_t total = (int64_t)n * hw;
    LAUNCH(channel_sum_forward_k, total, s, total, c, hw, y, x);
}

extern "C" cudaError_t mim__cu_channel_sum_backward(cudaStream_t s, int n, int c, int64_t hw,
                                                    float *dx, const float *dy)
{
    int64_t total = (int64_t)n * c * hw;
    LAUNCH(channel_sum_backward_k, total, s, total, c, hw, dx, dy);
}

extern "C" cudaError_t mim__cu_avgpool_forward(cudaStream_t s, int n, int c, int h_in, int w_in,
                                               int h_out, int w_out, int k_h, int k_w, int stride_h,
                                               int stride_w, float *y, const float *x)
{
    int64_t total = (int64_t)n * c * h_out * w_out;
    LAUNCH(avgpool_forward_k, total, s, total, h_in, w_in, h_out, w_out, k_h, k_w, stride_h,
           stride_w, y, x);
}

extern "C" cudaError_t mim__cu_avgpool_backward(cudaStream_t s, int n, int c, int h_in, int w_in,
                                                int h_out, int w_out, int k_h, int k_w,
                                                int stride_h, int stride_w, float *dx,
                                                const float *dy)
{
    int64_t total = (int64_t)n * c * h_in * w_in;
    LAUNCH(avgpool_backward_k, total, s, total, h_in, w_in, h_out, w_out, k_h, k_w, stride_h,
           stride_w, dx, dy);
}

extern "C" cudaError_t mim__cu_l1_backward(cudaStream_t s, int64_t n, float *da, float *db,
                                           const float *dout, const float *a, const float *b)
{
    LAUNCH(l1_backward_k, n, s, n, da, db, dout, a, b);
}

extern "C" cudaError_t mim__cu_mse_backward(cudaStream_t s, int64_t n, float *da, float *db,
                                            const float *dout, const float *a, const float *b,
                                            float c)
{
    LAUNCH(mse_backward_k, n, s, n, da, db, dout, a, b, c);
}

extern "C" cudaError_t mim__cu_bce_logits_backward(cudaStream_t s, int n_batch, int n_class,
                                                   float *dz, const float *dout, const float *z,
                                                   const float *y, const float *w)
{
    int64_t total = (int64_t)n_batch * n_class;
    LAUNCH(bce_logits_backward_k, total, s, total, n_class, dz, dout, z, y, w);
}

extern "C" cudaError_t mim__cu_l2norm_forward(cudaStream_t s, int n, int c, int64_t hw, float eps,
                                              float *y, const float *x, float *norm)
{
    int64_t total = (int64_t)n * hw;
    LAUNCH(l2norm_forward_k, total, s, total, c, hw, eps, y, x, norm);
}

extern "C" cudaError_t mim__cu_l2norm_backward(cudaStream_t s, int n, int c, int64_t hw, float eps,
                                               float *dx, const float *dy, const float *y,
                                               const float *norm)
{
    int64_t total = (int64_t)n * hw;
    LAUNCH(l2norm_backward_k, total, s, total, c, hw, eps, dx, dy, y, norm);
}

extern "C" cudaError_t mim__cu_adam(cudaStream_t s, int64_t n, float *p, const float *g, float *m,
                                    float *v, float beta1, float beta2, float step_size,
                                    float bc2_sqrt, float eps)
{
    LAUNCH(adam_k, n, s, n, p, g, m, v, beta1, beta2, step_size, bc2_sqrt, eps);
}

extern "C" cudaError_t mim__cu_cast_from_f32(cudaStream_t s, int64_t n, mim_cu_dtype dtype,
                                             void *dst, const float *src)
{
    if (dtype == MIM_CU_BF16)
        LAUNCH(cast_from_f32_k<__nv_bfloat16>, n, s, n, (__nv_bfloat16 *)dst, src);
    else if (dtype == MIM_CU_F16)
        LAUNCH(cast_from_f32_k<__half>, n, s, n, (__half *)dst, src);
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t mim__cu_cast_to_f32(cudaStream_t s, int64_t n, mim_cu_dtype dtype,
                                           float *dst, const void *src, int accumulate)
{
    if (dtype == MIM_CU_BF16)
        LAUNCH(cast_to_f32_k<__nv_bfloat16>, n, s, n, dst, (const __nv_bfloat16 *)src, accumulate);
    else if (dtype == MIM_CU_F16)
        LAUNCH(cast_to_f32_k<__half>, n, s, n, dst, (const __half *)src, accumulate);
    return cudaErrorInvalidValue;
}

extern "C" cudaError_t mim__cu_bn_eval_stats(cudaStream_t s, int c, float eps, float *save_mean,
                                             float *save_invstd, const float *run_mean,
                                             const float *run_var)
{
    LAUNCH(bn_eval_stats_k, c, s, c, eps, save_mean, save_invstd, run_mean, run_var);
}
