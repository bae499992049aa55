/* ref-backend.c: the reference backend's memory functions and its table. Host memory,
 * 64-byte aligned; one grow-only work buffer (im2col, GEMM packing). */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef struct {
    float *ws;
    size_t ws_n;
} ref_state;

float *mim__ref_workspace(mim_backend *be, size_t n_floats)
{
    ref_state *st = be->state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st)
            return NULL;
        be->state = st;
    }
    if (st->ws_n < n_floats) {
        free(st->ws);
        size_t bytes = (n_floats * sizeof(float) + 63) / 64 * 64;
        st->ws = aligned_alloc(64, bytes);
        st->ws_n = st->ws ? n_floats : 0;
    }
    return st->ws;
}

static void ref_destroy(mim_backend *be)
{
    ref_state *st = be->state;
    if (st) {
        free(st->ws);
        free(st);
    }
    be->state = NULL;
}

static void *ref_alloc(mim_backend *be, size_t n_bytes)
{
    (void)be;
    size_t bytes = (n_bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

static void ref_free(mim_backend *be, void *p)
{
    (void)be;
    free(p);
}

static mim_status ref_copy(mim_backend *be, void *dst, const void *src, size_t n_bytes)
{
    (void)be;
    if (n_bytes)
        memmove(dst, src, n_bytes);
    return MIM_OK;
}

static mim_status ref_zero(mim_backend *be, void *dst, size_t n_bytes)
{
    (void)be;
    if (n_bytes)
        memset(dst, 0, n_bytes);
    return MIM_OK;
}

static mim_status ref_sync(mim_backend *be)
{
    (void)be;
    return MIM_OK;
}

const mim_backend_i mim__ref_backend_i = {
    .destroy = ref_destroy,
    .alloc = ref_alloc,
    .free = ref_free,
    .set = ref_copy,
    .get = ref_copy,
    .copy = ref_copy,
    .zero = ref_zero,
    .sync = ref_sync,
    .conv2d_forward = mim__ref_conv2d_forward,
    .conv2d_backward_data = mim__ref_conv2d_backward_data,
    .conv2d_backward_weights = mim__ref_conv2d_backward_weights,
    .batchnorm_forward = mim__ref_batchnorm_forward,
    .batchnorm_backward = mim__ref_batchnorm_backward,
    .instancenorm_forward = mim__ref_instancenorm_forward,
    .instancenorm_backward = mim__ref_instancenorm_backward,
    .prelu_forward = mim__ref_prelu_forward,
    .prelu_backward = mim__ref_prelu_backward,
    .act_forward = mim__ref_act_forward,
    .act_backward = mim__ref_act_backward,
    .avgpool_forward = mim__ref_avgpool_forward,
    .avgpool_backward = mim__ref_avgpool_backward,
    .softmax_forward = mim__ref_softmax_forward,
    .softmax_backward = mim__ref_softmax_backward,
    .channel_sum_forward = mim__ref_channel_sum_forward,
    .channel_sum_backward = mim__ref_channel_sum_backward,
    .gemm = mim__ref_gemm,
    .channel_copy = mim__ref_channel_copy,
    .axpby = mim__ref_axpby,
    .mul = mim__ref_mul,
    .add_scalar_grad = mim__ref_add_scalar_grad,
    .bias_forward = mim__ref_bias_forward,
    .bias_backward = mim__ref_bias_backward,
    .reduce_sum = mim__ref_reduce_sum,
    .l1_forward = mim__ref_l1_forward,
    .l1_backward = mim__ref_l1_backward,
    .mse_forward = mim__ref_mse_forward,
    .mse_backward = mim__ref_mse_backward,
    .bce_logits_forward = mim__ref_bce_logits_forward,
    .bce_logits_backward = mim__ref_bce_logits_backward,
    .cross_entropy_forward = mim__ref_cross_entropy_forward,
    .cross_entropy_backward = mim__ref_cross_entropy_backward,
    .l2norm_forward = mim__ref_l2norm_forward,
    .l2norm_backward = mim__ref_l2norm_backward,
    .adam_update = mim__ref_adam_update,
};
