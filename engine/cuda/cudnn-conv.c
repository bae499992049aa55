/* cudnn-conv.c: convolution forward / backward-data / backward-weights and batch norm on cuDNN's
 * legacy API, batched GEMM on cuBLAS.
 *
 * Convolution plans. The first call of a shape builds its descriptors; the first call of each
 * direction runs cudnnFind*Algorithm once (it times every algorithm) and keeps the fastest one
 * that (a) succeeded, (b) needs at most MAX_WS_BYTES of workspace, (c) is deterministic when the
 * backend is in deterministic mode, (d) uses no tensor cores in strict fp32 (no TF32). Its math
 * type and workspace size are cached with it; later calls only set the math type and run. Should
 * cudnnFind fail, cuDNN's heuristic list (cudnnGet*Algorithm_v7) is filtered the same way.
 *
 * Mixed precision (bf16 / fp16): x, w and dy are converted into the work memory, cuDNN computes
 * with fp32 accumulation (convolution compute type FLOAT) into a half output there, which is then
 * converted back and written (forward) or added (backward) to the fp32 tensors. Weights, their
 * gradients and everything outside convolutions stay fp32.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cuda-private.h"

#define MAX_WS_BYTES ((size_t)2 << 30)

static size_t align256(size_t n)
{
    return (n + 255) / 256 * 256;
}

static void plan_destroy(mim_cuda_conv_plan *p)
{
    if (p->x_desc)
        cudnnDestroyTensorDescriptor(p->x_desc);
    if (p->y_desc)
        cudnnDestroyTensorDescriptor(p->y_desc);
    if (p->w_desc)
        cudnnDestroyFilterDescriptor(p->w_desc);
    if (p->conv_desc)
        cudnnDestroyConvolutionDescriptor(p->conv_desc);
    free(p);
}

void mim__cuda_plans_free(mim_cuda_state *cs)
{
    mim_cuda_conv_plan *p = cs->plans;
    while (p) {
        mim_cuda_conv_plan *next = p->next;
        plan_destroy(p);
        p = next;
    }
    cs->plans = NULL;
}

static int is_mixed(const mim_cuda_state *cs)
{
    return cs->precision == MIM_CUDA_BF16 || cs->precision == MIM_CUDA_FP16;
}

static mim_cu_dtype half_type(const mim_cuda_state *cs)
{
    return cs->precision == MIM_CUDA_BF16 ? MIM_CU_BF16 : MIM_CU_F16;
}

/* The math type a found algorithm runs with, or -1 when this precision must not use it. */
static int usable_math(const mim_cuda_state *cs, cudnnMathType_t m)
{
    if (cs->precision == MIM_CUDA_FP32) {
        if (m == CUDNN_TENSOR_OP_MATH || m == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
            return -1;
        return CUDNN_FMA_MATH;
    }
    return (int)m;
}

static mim_status plan_get(mim_backend *be, const mim_conv_shape *s, mim_cuda_conv_plan **out)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    for (mim_cuda_conv_plan *p = cs->plans; p; p = p->next) {
        if (!memcmp(&p->s, s, sizeof *s)) {
            *out = p;
            return MIM_OK;
        }
    }
    mim_cuda_conv_plan *p = calloc(1, sizeof *p);
    if (!p)
        return mim__backend_error(be, MIM_ERR_NOMEM, "cuda: out of host memory");
    p->s = *s;
    p->dtype = cs->precision == MIM_CUDA_BF16   ? CUDNN_DATA_BFLOAT16
               : cs->precision == MIM_CUDA_FP16 ? CUDNN_DATA_HALF
                                                : CUDNN_DATA_FLOAT;
    MIM_CUDNN_TRY(cudnnCreateTensorDescriptor(&p->x_desc));
    MIM_CUDNN_TRY(cudnnCreateTensorDescriptor(&p->y_desc));
    MIM_CUDNN_TRY(cudnnCreateFilterDescriptor(&p->w_desc));
    MIM_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&p->conv_desc));
    MIM_CUDNN_TRY(cudnnSetTensor4dDescriptor(p->x_desc, CUDNN_TENSOR_NCHW, p->dtype, s->n, s->c_in,
                                             s->h_in, s->w_in));
    MIM_CUDNN_TRY(cudnnSetTensor4dDescriptor(p->y_desc, CUDNN_TENSOR_NCHW, p->dtype, s->n, s->c_out,
                                             s->h_out, s->w_out));
    MIM_CUDNN_TRY(cudnnSetFilter4dDescriptor(p->w_desc, p->dtype, CUDNN_TENSOR_NCHW, s->c_out,
                                             s->c_in / s->groups, s->k_h, s->k_w));
    MIM_CUDNN_TRY(cudnnSetConvolution2dDescriptor(p->conv_desc, s->pad_h, s->pad_w, s->stride_h,
                                                  s->stride_w, 1, 1, CUDNN_CROSS_CORRELATION,
                                                  CUDNN_DATA_FLOAT));
    MIM_CUDNN_TRY(cudnnSetConvolutionGroupCount(p->conv_desc, s->groups));
    MIM_CUDNN_TRY(cudnnSetConvolutionMathType(p->conv_desc, cs->precision == MIM_CUDA_FP32
                                                                ? CUDNN_FMA_MATH
                                                            : is_mixed(cs) ? CUDNN_TENSOR_OP_MATH
                                                                           : CUDNN_DEFAULT_MATH));
    int on, oc, oh, ow;
    MIM_CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(p->conv_desc, p->x_desc, p->w_desc, &on,
                                                        &oc, &oh, &ow));
    if (on != s->n || oc != s->c_out || oh != s->h_out || ow != s->w_out) {
        st = mim__backend_error(be, MIM_ERR_SHAPE,
                                "cuda: conv output (%d,%d,%d,%d) but the shape says (%d,%d,%d,%d)",
                                on, oc, oh, ow, s->n, s->c_out, s->h_out, s->w_out);
        goto out;
    }
    p->next = cs->plans;
    cs->plans = p;
    *out = p;
    return MIM_OK;
out:
    plan_destroy(p);
    return st;
}

/* Picks from cudnnFind*'s list (sorted fastest first). The three perf structs share their
 * leading fields' meaning; the macro reads them by name. */
#define PICK(perf, n_found, cs, idx)                                                               \
    do {                                                                                           \
        idx = -1;                                                                                  \
        for (int i_ = 0; i_ < (n_found) && idx < 0; i_++) {                                        \
            if ((perf)[i_].status != CUDNN_STATUS_SUCCESS || (perf)[i_].memory > MAX_WS_BYTES)     \
                continue;                                                                          \
            if ((cs)->deterministic && (perf)[i_].determinism != CUDNN_DETERMINISTIC)              \
                continue;                                                                          \
            if (usable_math((cs), (perf)[i_].mathType) < 0)                                        \
                continue;                                                                          \
            idx = i_;                                                                              \
        }                                                                                          \
    } while (0)

static mim_status no_algo(mim_backend *be, const char *dir, const mim_conv_shape *s,
                          cudnnStatus_t find_status)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    return mim__backend_error(be, MIM_ERR_UNSUPPORTED,
                              "cudnn: no usable %s algorithm (%s%s) for conv x(%d,%d,%d,%d) "
                              "w(%d,%d,%d,%d) stride %d pad %d groups %d (cudnnFind: %s)",
                              dir, mim_cuda_precision_name(cs->precision),
                              cs->deterministic ? ", deterministic" : "", s->n, s->c_in, s->h_in,
                              s->w_in, s->c_out, s->c_in / s->groups, s->k_h, s->k_w, s->stride_h,
                              s->pad_h, s->groups, cudnnGetErrorString(find_status));
}

/* cudnnFind* times every algorithm; when it fails (or leaves nothing usable) the heuristic
 * list of cudnnGet*_v7 is tried before giving up. */
static mim_status find_fwd(mim_backend *be, mim_cuda_conv_plan *p)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n_found = 0, idx = -1;
    cudnnStatus_t e =
        cudnnFindConvolutionForwardAlgorithm(cs->dnn, p->x_desc, p->w_desc, p->conv_desc, p->y_desc,
                                             CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n_found, perf);
    if (e == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0 && cudnnGetConvolutionForwardAlgorithm_v7(
                       cs->dnn, p->x_desc, p->w_desc, p->conv_desc, p->y_desc,
                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n_found, perf) == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0)
        return no_algo(be, "forward", &p->s, e);
    p->fwd_algo = perf[idx].algo;
    p->fwd_math = (cudnnMathType_t)usable_math(cs, perf[idx].mathType);
    p->fwd_ws = perf[idx].memory;
    p->have_fwd = 1;
    return MIM_OK;
}

static mim_status find_bwd_data(mim_backend *be, mim_cuda_conv_plan *p)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n_found = 0, idx = -1;
    cudnnStatus_t e = cudnnFindConvolutionBackwardDataAlgorithm(
        cs->dnn, p->w_desc, p->y_desc, p->conv_desc, p->x_desc,
        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n_found, perf);
    if (e == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0 &&
        cudnnGetConvolutionBackwardDataAlgorithm_v7(
            cs->dnn, p->w_desc, p->y_desc, p->conv_desc, p->x_desc,
            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n_found, perf) == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0)
        return no_algo(be, "backward-data", &p->s, e);
    p->bwd_data_algo = perf[idx].algo;
    p->bwd_data_math = (cudnnMathType_t)usable_math(cs, perf[idx].mathType);
    p->bwd_data_ws = perf[idx].memory;
    p->have_bwd_data = 1;
    return MIM_OK;
}

static mim_status find_bwd_filter(mim_backend *be, mim_cuda_conv_plan *p)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n_found = 0, idx = -1;
    cudnnStatus_t e = cudnnFindConvolutionBackwardFilterAlgorithm(
        cs->dnn, p->x_desc, p->y_desc, p->conv_desc, p->w_desc,
        CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n_found, perf);
    if (e == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0 &&
        cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            cs->dnn, p->x_desc, p->y_desc, p->conv_desc, p->w_desc,
            CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n_found, perf) == CUDNN_STATUS_SUCCESS)
        PICK(perf, n_found, cs, idx);
    if (idx < 0)
        return no_algo(be, "backward-filter", &p->s, e);
    p->bwd_filter_algo = perf[idx].algo;
    p->bwd_filter_math = (cudnnMathType_t)usable_math(cs, perf[idx].mathType);
    p->bwd_filter_ws = perf[idx].memory;
    p->have_bwd_filter = 1;
    return MIM_OK;
}

static mim_status find_dir(mim_backend *be, mim_cuda_conv_plan *p, int dir)
{
    return dir == 0 ? find_fwd(be, p) : dir == 1 ? find_bwd_data(be, p) : find_bwd_filter(be, p);
}

/* Mixed precision: a shape whose half-precision convolution cuDNN cannot run in some direction
 * falls back to fp32 for all three directions (descriptors rebuilt, algorithms found again). */
static mim_status plan_to_fp32(mim_backend *be, mim_cuda_conv_plan *p)
{
    const mim_conv_shape *s = &p->s;
    mim_status st = MIM_OK;
    p->dtype = CUDNN_DATA_FLOAT;
    p->have_fwd = p->have_bwd_data = p->have_bwd_filter = 0;
    MIM_CUDNN_TRY(cudnnSetTensor4dDescriptor(p->x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n,
                                             s->c_in, s->h_in, s->w_in));
    MIM_CUDNN_TRY(cudnnSetTensor4dDescriptor(p->y_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n,
                                             s->c_out, s->h_out, s->w_out));
    MIM_CUDNN_TRY(cudnnSetFilter4dDescriptor(p->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                             s->c_out, s->c_in / s->groups, s->k_h, s->k_w));
    MIM_CUDNN_TRY(cudnnSetConvolutionMathType(p->conv_desc, CUDNN_DEFAULT_MATH));
out:
    return st;
}

/* The algorithm of direction dir (0 forward, 1 backward-data, 2 backward-filter), found once. */
static mim_status plan_find(mim_backend *be, mim_cuda_conv_plan *p, int dir)
{
    int have = dir == 0 ? p->have_fwd : dir == 1 ? p->have_bwd_data : p->have_bwd_filter;
    if (have)
        return MIM_OK;
    mim_status st = find_dir(be, p, dir);
    if (st != MIM_OK && p->dtype != CUDNN_DATA_FLOAT) {
        st = plan_to_fp32(be, p);
        if (st == MIM_OK)
            st = find_dir(be, p, dir);
    }
    return st;
}

static int64_t x_numel(const mim_conv_shape *s)
{
    return (int64_t)s->n * s->c_in * s->h_in * s->w_in;
}
static int64_t y_numel(const mim_conv_shape *s)
{
    return (int64_t)s->n * s->c_out * s->h_out * s->w_out;
}
static int64_t w_numel(const mim_conv_shape *s)
{
    return (int64_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
}

/* Work memory for one call: the algorithm's workspace, then (mixed precision) half copies of
 * three tensors of n0, n1, n2 elements. */
typedef struct {
    void *algo_ws;
    size_t algo_bytes;
    void *h[3];
} conv_ws;

static mim_status get_ws(mim_backend *be, size_t algo_bytes, int mixed, int64_t n0, int64_t n1,
                         int64_t n2, conv_ws *w)
{
    size_t off[4];
    off[0] = align256(algo_bytes);
    off[1] = off[0] + (mixed ? align256((size_t)n0 * 2) : 0);
    off[2] = off[1] + (mixed ? align256((size_t)n1 * 2) : 0);
    off[3] = off[2] + (mixed ? align256((size_t)n2 * 2) : 0);
    char *base = mim__cuda_ws(be, off[3] ? off[3] : 256);
    if (!base)
        return MIM_ERR_NOMEM;
    w->algo_ws = algo_bytes ? base : NULL;
    w->algo_bytes = algo_bytes;
    for (int i = 0; i < 3; i++)
        w->h[i] = mixed ? base + off[i] : NULL;
    return MIM_OK;
}

mim_status mim__cuda_conv2d_forward(mim_backend *be, const mim_conv_shape *s, float *y,
                                    const float *x, const float *w, const float *b)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_cuda_conv_plan *p = NULL;
    mim_status st = plan_get(be, s, &p);
    if (st == MIM_OK)
        st = plan_find(be, p, 0);
    if (st != MIM_OK)
        return st;
    const float one = 1.f, zero = 0.f;
    int mixed = p->dtype != CUDNN_DATA_FLOAT;
    conv_ws ws;
    st = get_ws(be, p->fwd_ws, mixed, x_numel(s), w_numel(s), y_numel(s), &ws);
    if (st != MIM_OK)
        return st;
    MIM_CUDNN_TRY(cudnnSetConvolutionMathType(p->conv_desc, p->fwd_math));
    if (mixed) {
        mim_cu_dtype ht = half_type(cs);
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, x_numel(s), ht, ws.h[0], x));
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, w_numel(s), ht, ws.h[1], w));
        MIM_CUDNN_TRY(cudnnConvolutionForward(cs->dnn, &one, p->x_desc, ws.h[0], p->w_desc, ws.h[1],
                                              p->conv_desc, p->fwd_algo, ws.algo_ws, ws.algo_bytes,
                                              &zero, p->y_desc, ws.h[2]));
        MIM_CUDA_TRY(mim__cu_cast_to_f32(cs->stream, y_numel(s), ht, y, ws.h[2], 0));
    } else {
        MIM_CUDNN_TRY(cudnnConvolutionForward(cs->dnn, &one, p->x_desc, x, p->w_desc, w,
                                              p->conv_desc, p->fwd_algo, ws.algo_ws, ws.algo_bytes,
                                              &zero, p->y_desc, y));
    }
    if (b)
        MIM_CUDA_TRY(
            mim__cu_bias_forward(cs->stream, s->n, s->c_out, (int64_t)s->h_out * s->w_out, y, b));
out:
    return st;
}

mim_status mim__cuda_conv2d_backward_data(mim_backend *be, const mim_conv_shape *s, float *dx,
                                          const float *dy, const float *w)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_cuda_conv_plan *p = NULL;
    if (!dx)
        return MIM_OK;
    mim_status st = plan_get(be, s, &p);
    if (st == MIM_OK)
        st = plan_find(be, p, 1);
    if (st != MIM_OK)
        return st;
    const float one = 1.f, zero = 0.f;
    int mixed = p->dtype != CUDNN_DATA_FLOAT;
    conv_ws ws;
    st = get_ws(be, p->bwd_data_ws, mixed, y_numel(s), w_numel(s), x_numel(s), &ws);
    if (st != MIM_OK)
        return st;
    MIM_CUDNN_TRY(cudnnSetConvolutionMathType(p->conv_desc, p->bwd_data_math));
    if (mixed) {
        mim_cu_dtype ht = half_type(cs);
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, y_numel(s), ht, ws.h[0], dy));
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, w_numel(s), ht, ws.h[1], w));
        MIM_CUDNN_TRY(cudnnConvolutionBackwardData(
            cs->dnn, &one, p->w_desc, ws.h[1], p->y_desc, ws.h[0], p->conv_desc, p->bwd_data_algo,
            ws.algo_ws, ws.algo_bytes, &zero, p->x_desc, ws.h[2]));
        MIM_CUDA_TRY(mim__cu_cast_to_f32(cs->stream, x_numel(s), ht, dx, ws.h[2], 1));
    } else {
        MIM_CUDNN_TRY(cudnnConvolutionBackwardData(cs->dnn, &one, p->w_desc, w, p->y_desc, dy,
                                                   p->conv_desc, p->bwd_data_algo, ws.algo_ws,
                                                   ws.algo_bytes, &one, p->x_desc, dx));
    }
out:
    return st;
}

mim_status mim__cuda_conv2d_backward_weights(mim_backend *be, const mim_conv_shape *s, float *dw,
                                             float *db, const float *x, const float *dy)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    if (db)
        MIM_CUDA_TRY(mim__cu_bias_backward(cs->stream, s->n, s->c_out, (int64_t)s->h_out * s->w_out,
                                           db, dy));
    if (!dw)
        return MIM_OK;
    mim_cuda_conv_plan *p = NULL;
    st = plan_get(be, s, &p);
    if (st == MIM_OK)
        st = plan_find(be, p, 2);
    if (st != MIM_OK)
        return st;
    const float one = 1.f, zero = 0.f;
    int mixed = p->dtype != CUDNN_DATA_FLOAT;
    conv_ws ws;
    st = get_ws(be, p->bwd_filter_ws, mixed, x_numel(s), y_numel(s), w_numel(s), &ws);
    if (st != MIM_OK)
        return st;
    MIM_CUDNN_TRY(cudnnSetConvolutionMathType(p->conv_desc, p->bwd_filter_math));
    if (mixed) {
        mim_cu_dtype ht = half_type(cs);
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, x_numel(s), ht, ws.h[0], x));
        MIM_CUDA_TRY(mim__cu_cast_from_f32(cs->stream, y_numel(s), ht, ws.h[1], dy));
        MIM_CUDNN_TRY(cudnnConvolutionBackwardFilter(
            cs->dnn, &one, p->x_desc, ws.h[0], p->y_desc, ws.h[1], p->conv_desc, p->bwd_filter_algo,
            ws.algo_ws, ws.algo_bytes, &zero, p->w_desc, ws.h[2]));
        MIM_CUDA_TRY(mim__cu_cast_to_f32(cs->stream, w_numel(s), ht, dw, ws.h[2], 1));
    } else {
        MIM_CUDNN_TRY(cudnnConvolutionBackwardFilter(cs->dnn, &one, p->x_desc, x, p->y_desc, dy,
                                                     p->conv_desc, p->bwd_filter_algo, ws.algo_ws,
                                                     ws.algo_bytes, &one, p->w_desc, dw));
    }
out:
    return st;
}

/* ---- batch norm ---------------------------------------------------------------------------- */

static mim_status bn_descs(mim_backend *be, int n, int c, int hw)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    MIM_CUDNN_TRY(cudnnSetTensor4dDescriptor(cs->bn_x_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n,
                                             c, hw, 1));
    MIM_CUDNN_TRY(
        cudnnSetTensor4dDescriptor(cs->bn_p_desc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, c, 1, 1));
out:
    return st;
}

mim_status mim__cuda_batchnorm_forward(mim_backend *be, int n, int c, int hw, float eps,
                                       float momentum, int training, float *y, const float *x,
                                       const float *gamma, const float *beta, float *run_mean,
                                       float *run_var, float *save_mean, float *save_invstd)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    const float *ones, *zeros;
    const float one = 1.f, zero = 0.f;
    mim_status st = mim__cuda_ones_zeros(be, c, &ones, &zeros);
    if (st == MIM_OK)
        st = bn_descs(be, n, c, hw);
    if (st != MIM_OK)
        return st;
    if (training) {
        MIM_CUDNN_TRY(cudnnBatchNormalizationForwardTraining(
            cs->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, cs->bn_x_desc, x, cs->bn_x_desc, y,
            cs->bn_p_desc, gamma ? gamma : ones, beta ? beta : zeros, (double)momentum, run_mean,
            run_var, (double)eps, save_mean, save_invstd));
    } else {
        MIM_CUDNN_TRY(cudnnBatchNormalizationForwardInference(
            cs->dnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, cs->bn_x_desc, x, cs->bn_x_desc, y,
            cs->bn_p_desc, gamma ? gamma : ones, beta ? beta : zeros, run_mean, run_var,
            (double)eps));
        if (save_mean && save_invstd)
            MIM_CUDA_TRY(mim__cu_bn_eval_stats(cs->stream, c, eps, save_mean, save_invstd, run_mean,
                                               run_var));
    }
out:
    return st;
}

mim_status mim__cuda_batchnorm_backward(mim_backend *be, int n, int c, int hw, int training,
                                        float *dx, float *dgamma, float *dbeta, const float *dy,
                                        const float *x, const float *gamma, const float *save_mean,
                                        const float *save_invstd)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    if (!dx && !dgamma && !dbeta)
        return MIM_OK;
    if (!training) {
        MIM_CUDA_TRY(mim__cu_bn_eval_backward(cs->stream, n, c, hw, dx, dgamma, dbeta, dy, x, gamma,
                                              save_mean, save_invstd));
        return MIM_OK;
    }
    const float *ones, *zeros;
    const float one = 1.f, zero = 0.f;
    st = mim__cuda_ones_zeros(be, c, &ones, &zeros);
    if (st == MIM_OK)
        st = bn_descs(be, n, c, hw);
    if (st != MIM_OK)
        return st;
    /* cuDNN writes all three results: absent ones go to work memory (dx with beta 0, dgamma and
     * dbeta zeroed first and accumulated like the real ones). */
    size_t x_bytes = align256((size_t)n * c * hw * sizeof(float));
    size_t p_bytes = align256((size_t)c * sizeof(float));
    char *w = mim__cuda_ws(be, (dx ? 0 : x_bytes) + 2 * p_bytes);
    if (!w)
        return MIM_ERR_NOMEM;
    float *dx_out = dx;
    if (!dx_out) {
        dx_out = (float *)w;
        w += x_bytes;
    }
    float *dg_out = dgamma, *db_out = dbeta;
    if (!dg_out || !db_out)
        MIM_CUDA_TRY(cudaMemsetAsync(w, 0, 2 * p_bytes, cs->stream));
    if (!dg_out)
        dg_out = (float *)w;
    if (!db_out)
        db_out = (float *)(w + p_bytes);
    MIM_CUDNN_TRY(cudnnBatchNormalizationBackward(
        cs->dnn, CUDNN_BATCHNORM_SPATIAL, &one, dx ? &one : &zero, &one, &one, cs->bn_x_desc, x,
        cs->bn_x_desc, dy, cs->bn_x_desc, dx_out, cs->bn_p_desc, gamma ? gamma : ones, dg_out,
        db_out, 1e-5, save_mean, save_invstd));
out:
    return st;
}

/* ---- GEMM ---------------------------------------------------------------------------------- */

/* Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands. */
mim_status mim__cuda_gemm(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                          float alpha, const float *a, int64_t stride_a, const float *b,
                          int64_t stride_b, float beta, float *c, int64_t stride_c)
{
    mim_cuda_state *cs = mim__cuda_state(be);
    mim_status st = MIM_OK;
    if (batch <= 0 || m <= 0 || n <= 0)
        return MIM_OK;
    if (k <= 0) {
        /* C = beta·C: cuBLAS would do the same, but be explicit for beta = 0 */
        for (int i = 0; i < batch; i++) {
            float *ci = c + (int64_t)i * stride_c;
            if (beta == 0.f)
                MIM_CUDA_TRY(cudaMemsetAsync(ci, 0, (size_t)m * n * sizeof(float), cs->stream));
            else
                MIM_CUDA_TRY(mim__cu_axpby(cs->stream, (int64_t)m * n, ci, beta, ci, 0.f, NULL));
        }
        return MIM_OK;
    }
    cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    int lda = trans_a ? m : k;
    int ldb = trans_b ? k : n;
    MIM_CUBLAS_TRY(mim__cublas(NULL, 0)->sgemm_strided_batched(
        cs->blas, op_b, op_a, n, m, k, &alpha, b, ldb, (long long)stride_b, a, lda,
        (long long)stride_a, &beta, c, n, (long long)stride_c, batch));
out:
    return st;
}
