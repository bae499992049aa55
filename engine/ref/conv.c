/* conv.c: reference 2-D convolution by im2col + the blocked GEMM of gemm.c, per image and group.
 * col (Cg·KH·KW, Ho·Wo) holds the receptive fields of one image's group; then
 *   forward:          y_g (Cog, HoWo)     = w_g (Cog, Cg·KH·KW) · col
 *   backward data:    dcol                = w_gᵀ · dy_g, scattered back (col2im) into dx
 *   backward weights: dw_g (Cog, Cg·KH·KW) += dy_g · colᵀ;  db += Σ dy. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <string.h>

#include "ref.h"

static int is_pointwise(const mim_conv_shape *s)
{
    return s->k_h == 1 && s->k_w == 1 && s->stride_h == 1 && s->stride_w == 1 && s->pad_h == 0 &&
           s->pad_w == 0;
}

/* col (cg·kh·kw, ho·wo) from x (cg, h, w) of one image and group. */
static void im2col(const mim_conv_shape *s, int cg, const float *x, float *col)
{
    int hw_out = s->h_out * s->w_out;
    for (int ci = 0; ci < cg; ci++)
        for (int ky = 0; ky < s->k_h; ky++)
            for (int kx = 0; kx < s->k_w; kx++) {
                float *dst = col + ((size_t)(ci * s->k_h + ky) * s->k_w + kx) * hw_out;
                const float *src = x + (size_t)ci * s->h_in * s->w_in;
                for (int oy = 0; oy < s->h_out; oy++) {
                    int iy = oy * s->stride_h - s->pad_h + ky;
                    float *d = dst + oy * s->w_out;
                    if (iy < 0 || iy >= s->h_in) {
                        memset(d, 0, sizeof(float) * s->w_out);
                        continue;
                    }
                    const float *r = src + (size_t)iy * s->w_in;
                    for (int ox = 0; ox < s->w_out; ox++) {
                        int ix = ox * s->stride_w - s->pad_w + kx;
                        d[ox] = (ix >= 0 && ix < s->w_in) ? r[ix] : 0.0f;
                    }
                }
            }
}

/* dx (cg, h, w) += col2im(col). */
static void col2im(const mim_conv_shape *s, int cg, const float *col, float *dx)
{
    int hw_out = s->h_out * s->w_out;
    for (int ci = 0; ci < cg; ci++)
        for (int ky = 0; ky < s->k_h; ky++)
            for (int kx = 0; kx < s->k_w; kx++) {
                const float *src = col + ((size_t)(ci * s->k_h + ky) * s->k_w + kx) * hw_out;
                float *dst = dx + (size_t)ci * s->h_in * s->w_in;
                for (int oy = 0; oy < s->h_out; oy++) {
                    int iy = oy * s->stride_h - s->pad_h + ky;
                    if (iy < 0 || iy >= s->h_in)
                        continue;
                    float *r = dst + (size_t)iy * s->w_in;
                    const float *c = src + oy * s->w_out;
                    for (int ox = 0; ox < s->w_out; ox++) {
                        int ix = ox * s->stride_w - s->pad_w + kx;
                        if (ix >= 0 && ix < s->w_in)
                            r[ix] += c[ox];
                    }
                }
            }
}

/* Work buffer: [col | gemm packing]. */
static float *conv_ws(mim_backend *be, const mim_conv_shape *s, float **gemm_ws)
{
    int g = s->groups, cg = s->c_in / g, cog = s->c_out / g;
    size_t kdim = (size_t)cg * s->k_h * s->k_w, hw_out = (size_t)s->h_out * s->w_out;
    size_t col_n = (kdim * hw_out + 15) / 16 * 16;
    size_t big = (size_t)(cog > (int)kdim ? cog : (int)kdim);
    size_t gw = mim__ref_gemm_ws_floats((int)big, 0, 0);
    float *ws = mim__ref_workspace(be, col_n + gw);
    if (ws)
        *gemm_ws = ws + col_n;
    return ws;
}

mim_status mim__ref_conv2d_forward(mim_backend *be, const mim_conv_shape *s, float *y,
                                   const float *x, const float *w, const float *b)
{
    int g = s->groups, cg = s->c_in / g, cog = s->c_out / g;
    int kdim = cg * s->k_h * s->k_w, hw_out = s->h_out * s->w_out, hw_in = s->h_in * s->w_in;
    float *gws, *col = conv_ws(be, s, &gws);
    if (!col)
        return mim__backend_error(be, MIM_ERR_NOMEM, "ref conv2d: no memory for im2col");
    for (int bi = 0; bi < s->n; bi++)
        for (int gi = 0; gi < g; gi++) {
            const float *xg = x + ((size_t)bi * s->c_in + (size_t)gi * cg) * hw_in;
            float *yg = y + ((size_t)bi * s->c_out + (size_t)gi * cog) * hw_out;
            const float *src = xg;
            if (!is_pointwise(s)) {
                im2col(s, cg, xg, col);
                src = col;
            }
            mim__ref_gemm1(gws, 0, 0, cog, hw_out, kdim, 1.0f, w + (size_t)gi * cog * kdim, src,
                           0.0f, yg);
            if (b)
                for (int co = 0; co < cog; co++) {
                    float bv = b[gi * cog + co];
                    float *r = yg + (size_t)co * hw_out;
                    for (int p = 0; p < hw_out; p++)
                        r[p] += bv;
                }
        }
    return MIM_OK;
}

mim_status mim__ref_conv2d_backward_data(mim_backend *be, const mim_conv_shape *s, float *dx,
                                         const float *dy, const float *w)
{
    int g = s->groups, cg = s->c_in / g, cog = s->c_out / g;
    int kdim = cg * s->k_h * s->k_w, hw_out = s->h_out * s->w_out, hw_in = s->h_in * s->w_in;
    float *gws, *col = conv_ws(be, s, &gws);
    if (!col)
        return mim__backend_error(be, MIM_ERR_NOMEM, "ref conv2d: no memory for col2im");
    for (int bi = 0; bi < s->n; bi++)
        for (int gi = 0; gi < g; gi++) {
            float *dxg = dx + ((size_t)bi * s->c_in + (size_t)gi * cg) * hw_in;
            const float *dyg = dy + ((size_t)bi * s->c_out + (size_t)gi * cog) * hw_out;
            const float *wg = w + (size_t)gi * cog * kdim;
            if (is_pointwise(s)) {
                mim__ref_gemm1(gws, 1, 0, kdim, hw_out, cog, 1.0f, wg, dyg, 1.0f, dxg);
            } else {
                mim__ref_gemm1(gws, 1, 0, kdim, hw_out, cog, 1.0f, wg, dyg, 0.0f, col);
                col2im(s, cg, col, dxg);
            }
        }
    return MIM_OK;
}

mim_status mim__ref_conv2d_backward_weights(mim_backend *be, const mim_conv_shape *s, float *dw,
                                            float *db, const float *x, const float *dy)
{
    int g = s->groups, cg = s->c_in / g, cog = s->c_out / g;
    int kdim = cg * s->k_h * s->k_w, hw_out = s->h_out * s->w_out, hw_in = s->h_in * s->w_in;
    float *gws, *col = conv_ws(be, s, &gws);
    if (!col)
        return mim__backend_error(be, MIM_ERR_NOMEM, "ref conv2d: no memory for im2col");
    for (int bi = 0; bi < s->n; bi++)
        for (int gi = 0; gi < g; gi++) {
            const float *xg = x + ((size_t)bi * s->c_in + (size_t)gi * cg) * hw_in;
            const float *dyg = dy + ((size_t)bi * s->c_out + (size_t)gi * cog) * hw_out;
            if (dw) {
                const float *src = xg;
                if (!is_pointwise(s)) {
                    im2col(s, cg, xg, col);
                    src = col;
                }
                mim__ref_gemm1(gws, 0, 1, cog, kdim, hw_out, 1.0f, dyg, src, 1.0f,
                               dw + (size_t)gi * cog * kdim);
            }
            if (db)
                for (int co = 0; co < cog; co++) {
                    const float *r = dyg + (size_t)co * hw_out;
                    double acc = 0.0;
                    for (int p = 0; p < hw_out; p++)
                        acc += r[p];
                    db[gi * cog + co] += (float)acc;
                }
        }
    return MIM_OK;
}
