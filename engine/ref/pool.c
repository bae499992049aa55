/* pool.c: reference average pooling (no padding, divisor k_h·k_w). */
#include "ref.h"

mim_status mim__ref_avgpool_forward(mim_backend *be, const mim_pool_shape *s, float *y,
                                    const float *x)
{
    (void)be;
    float inv = 1.0f / (float)(s->k_h * s->k_w);
    for (int i = 0; i < s->n * s->c; i++) {
        const float *xp = x + (size_t)i * s->h_in * s->w_in;
        float *yp = y + (size_t)i * s->h_out * s->w_out;
        for (int oy = 0; oy < s->h_out; oy++)
            for (int ox = 0; ox < s->w_out; ox++) {
                double acc = 0.0;
                for (int ky = 0; ky < s->k_h; ky++)
                    for (int kx = 0; kx < s->k_w; kx++)
                        acc +=
                            xp[(size_t)(oy * s->stride_h + ky) * s->w_in + ox * s->stride_w + kx];
                yp[oy * s->w_out + ox] = (float)acc * inv;
            }
    }
    return MIM_OK;
}

mim_status mim__ref_avgpool_backward(mim_backend *be, const mim_pool_shape *s, float *dx,
                                     const float *dy)
{
    (void)be;
    float inv = 1.0f / (float)(s->k_h * s->k_w);
    for (int i = 0; i < s->n * s->c; i++) {
        float *dxp = dx + (size_t)i * s->h_in * s->w_in;
        const float *dyp = dy + (size_t)i * s->h_out * s->w_out;
        for (int oy = 0; oy < s->h_out; oy++)
            for (int ox = 0; ox < s->w_out; ox++) {
                float g = dyp[oy * s->w_out + ox] * inv;
                for (int ky = 0; ky < s->k_h; ky++)
                    for (int kx = 0; kx < s->k_w; kx++)
                        dxp[(size_t)(oy * s->stride_h + ky) * s->w_in + ox * s->stride_w + kx] += g;
            }
    }
    return MIM_OK;
}
