/* mim-image.c: image struct, colour conversion, bit-exact resize, affine warp (mim-image.h). */
#include "mim-image.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int format_channels(mim_image_format f)
{
    return (f == MIM_IMAGE_RGB8 || f == MIM_IMAGE_RGBF) ? 3 : 1;
}

static size_t format_sample_bytes(mim_image_format f)
{
    return (f == MIM_IMAGE_GREYF || f == MIM_IMAGE_RGBF) ? sizeof(float) : 1;
}

static int is_float(const mim_image *img)
{
    return img->format == MIM_IMAGE_GREYF || img->format == MIM_IMAGE_RGBF;
}

mim_image *mim_image_new(int width, int height, mim_image_format format)
{
    if (width <= 0 || height <= 0)
        return NULL;
    size_t stride = (size_t)width * (size_t)format_channels(format) * format_sample_bytes(format);
    if (stride > ((size_t)1 << 31) / (size_t)height)
        return NULL;
    mim_image *img = calloc(1, sizeof *img);
    if (!img)
        return NULL;
    img->data = calloc((size_t)height, stride);
    if (!img->data) {
        free(img);
        return NULL;
    }
    img->width = width;
    img->height = height;
    img->channels = format_channels(format);
    img->stride = stride;
    img->owns_data = 1;
    img->format = format;
    return img;
}

mim_image mim_image_view(void *data, int width, int height, size_t stride, mim_image_format format)
{
    mim_image img = {
        .width = width,
        .height = height,
        .channels = format_channels(format),
        .stride = stride,
        .data = data,
        .owns_data = 0,
        .format = format,
    };
    return img;
}

void mim_image_free(mim_image *img)
{
    if (!img)
        return;
    if (img->owns_data)
        free(img->data);
    free(img);
}

/* ---- colour conversion ---------------------------------------------------------------------- */

void mim_image_rgb_to_grey(const mim_image *src, mim_image *dst)
{
    assert(src->format == MIM_IMAGE_RGB8 && dst->format == MIM_IMAGE_GREY8);
    assert(src->width == dst->width && src->height == dst->height);
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = mim_image_row8(src, y);
        uint8_t *d = mim_image_row8(dst, y);
        for (int x = 0; x < src->width; x++, s += 3)
            d[x] = (uint8_t)((9798u * s[0] + 19235u * s[1] + 3735u * s[2] + 16384u) >> 15);
    }
}

void mim_image_rgb_to_grey_mean(const mim_image *src, mim_image *dst)
{
    assert(src->format == MIM_IMAGE_RGB8 && dst->format == MIM_IMAGE_GREY8);
    assert(src->width == dst->width && src->height == dst->height);
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = mim_image_row8(src, y);
        uint8_t *d = mim_image_row8(dst, y);
        for (int x = 0; x < src->width; x++, s += 3)
            d[x] = (uint8_t)(((unsigned)s[0] + s[1] + s[2]) / 3u);
    }
}

void mim_image_grey_to_rgb(const mim_image *src, mim_image *dst)
{
    assert(src->format == MIM_IMAGE_GREY8 && dst->format == MIM_IMAGE_RGB8);
    assert(src->width == dst->width && src->height == dst->height);
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = mim_image_row8(src, y);
        uint8_t *d = mim_image_row8(dst, y);
        for (int x = 0; x < src->width; x++, d += 3)
            d[0] = d[1] = d[2] = s[x];
    }
}

void mim_image_to_float(const mim_image *src, mim_image *dst, float scale, float offset)
{
    assert(!is_float(src) && is_float(dst) && src->channels == dst->channels);
    assert(src->width == dst->width && src->height == dst->height);
    int n = src->width * src->channels;
    for (int y = 0; y < src->height; y++) {
        const uint8_t *s = mim_image_row8(src, y);
        float *d = mim_image_rowf(dst, y);
        for (int i = 0; i < n; i++)
            d[i] = (float)s[i] * scale + offset;
    }
}

/* ---- resize --------------------------------------------------------------------------------- */

/* One axis of the bilinear map (FORMATS.md B.3): for each destination index, the source index
 * of the left sample and its Q8 weights; borders repeat the edge sample with weight 256. */
typedef struct {
    int i0, i1;    /* source samples */
    int c0, c1;    /* Q8 weights (c0 + c1 = 256) */
    double f0, f1; /* the same weights exactly (float images) */
} axis_tap;

static void axis_taps(int n, int d, axis_tap *taps)
{
    double inv = (double)d / n;
    double scale = 1.0 / inv;
    for (int k = 0; k < d; k++) {
        double f = scale * (k + 0.5) - 0.5;
        double fi = floor(f);
        axis_tap *t = &taps[k];
        if (fi < 0 || n == 1) {
            *t = (axis_tap){0, 0, 256, 0, 1.0, 0.0};
        } else if (fi >= n - 1) {
            *t = (axis_tap){n - 1, n - 1, 256, 0, 1.0, 0.0};
        } else {
            int i = (int)fi;
            int c1 = (int)lrint((f - fi) * 256.0);
            *t = (axis_tap){i, i + 1, 256 - c1, c1, 1.0 - (f - fi), f - fi};
        }
    }
}

static void resize_u8(const mim_image *src, mim_image *dst)
{
    int cn = src->channels, sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
    axis_tap *tx = malloc(sizeof *tx * (size_t)dw);
    axis_tap *ty = malloc(sizeof *ty * (size_t)dh);
    /* horizontal pass of two source rows at a time (Q8 values, < 2^16) */
    int32_t *h0 = malloc(sizeof *h0 * (size_t)dw * (size_t)cn);
    int32_t *h1 = malloc(sizeof *h1 * (size_t)dw * (size_t)cn);
    if (!tx || !ty || !h0 || !h1) {
        /* out of memory: leave dst black rather than crash (callers size images up front) */
        memset(dst->data, 0, dst->stride * (size_t)dh);
        goto out;
    }
    axis_taps(sw, dw, tx);
    axis_taps(sh, dh, ty);
    int row0 = -1, row1 = -1;
    for (int y = 0; y < dh; y++) {
        const axis_tap *t = &ty[y];
        int need[2] = {t->i0, t->i1};
        for (int r = 0; r < 2; r++) {
            int sy = need[r];
            int32_t *h = r == 0 ? h0 : h1;
            int *have = r == 0 ? &row0 : &row1;
            if (*have == sy)
                continue;
            /* reuse the other buffer's row if it holds this one */
            int *other_have = r == 0 ? &row1 : &row0;
            int32_t *other = r == 0 ? h1 : h0;
            if (*other_have == sy) {
                memcpy(h, other, sizeof *h * (size_t)dw * (size_t)cn);
                *have = sy;
                continue;
            }
            const uint8_t *s = mim_image_row8(src, sy);
            for (int x = 0; x < dw; x++) {
                const axis_tap *a = &tx[x];
                for (int c = 0; c < cn; c++)
                    h[x * cn + c] = a->c0 * s[a->i0 * cn + c] + a->c1 * s[a->i1 * cn + c];
            }
            *have = sy;
        }
        uint8_t *d = mim_image_row8(dst, y);
        int n = dw * cn;
        if (t->i0 == t->i1) { /* border rows */
            for (int i = 0; i < n; i++)
                d[i] = (uint8_t)((h0[i] + 128) >> 8);
        } else {
            for (int i = 0; i < n; i++) {
                int v = (t->c0 * h0[i] + t->c1 * h1[i] + 32768) >> 16;
                d[i] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    }
out:
    free(tx);
    free(ty);
    free(h0);
    free(h1);
}

static void resize_f32(const mim_image *src, mim_image *dst)
{
    int cn = src->channels, dw = dst->width, dh = dst->height;
    axis_tap *tx = malloc(sizeof *tx * (size_t)dw);
    axis_tap *ty = malloc(sizeof *ty * (size_t)dh);
    if (!tx || !ty) {
        memset(dst->data, 0, dst->stride * (size_t)dh);
        goto out;
    }
    axis_taps(src->width, dw, tx);
    axis_taps(src->height, dh, ty);
    for (int y = 0; y < dh; y++) {
        const float *s0 = mim_image_rowf(src, ty[y].i0);
        const float *s1 = mim_image_rowf(src, ty[y].i1);
        double wy0 = ty[y].f0, wy1 = ty[y].f1;
        float *d = mim_image_rowf(dst, y);
        for (int x = 0; x < dw; x++) {
            const axis_tap *a = &tx[x];
            for (int c = 0; c < cn; c++) {
                double top = a->f0 * s0[a->i0 * cn + c] + a->f1 * s0[a->i1 * cn + c];
                double bot = a->f0 * s1[a->i0 * cn + c] + a->f1 * s1[a->i1 * cn + c];
                d[x * cn + c] = (float)(wy0 * top + wy1 * bot);
            }
        }
    }
out:
    free(tx);
    free(ty);
}

void mim_image_resize(const mim_image *src, mim_image *dst)
{
    assert(src->format == dst->format);
    if (src->width == dst->width && src->height == dst->height) {
        size_t row = (size_t)src->width * (size_t)src->channels * format_sample_bytes(src->format);
        for (int y = 0; y < src->height; y++)
            memcpy(mim_image_row8(dst, y), mim_image_row8(src, y), row);
        return;
    }
    if (is_float(src))
        resize_f32(src, dst);
    else
        resize_u8(src, dst);
}

/* ---- affine ---------------------------------------------------------------------------------- */

int mim_affine_invert(const double m[6], double inv[6])
{
    double det = m[0] * m[4] - m[1] * m[3];
    if (det == 0 || !isfinite(det))
        return -1;
    double d = 1.0 / det;
    double a11 = m[4] * d, a22 = m[0] * d, a12 = -m[1] * d, a21 = -m[3] * d;
    double b1 = -a11 * m[2] - a12 * m[5];
    double b2 = -a21 * m[2] - a22 * m[5];
    inv[0] = a11;
    inv[1] = a12;
    inv[2] = b1;
    inv[3] = a21;
    inv[4] = a22;
    inv[5] = b2;
    return 0;
}

void mim_affine_apply(const double m[6], const double *pts_in, double *pts_out, int n_points)
{
    for (int i = 0; i < n_points; i++) {
        double x = pts_in[2 * i], y = pts_in[2 * i + 1];
        pts_out[2 * i] = m[0] * x + m[1] * y + m[2];
        pts_out[2 * i + 1] = m[3] * x + m[4] * y + m[5];
    }
}

/* cvRound of a double into int with saturation (saturate_cast<int>(double)). */
static int round_sat_int(double v)
{
    if (!(v > -2147483648.0))
        return INT32_MIN;
    if (!(v < 2147483647.0))
        return INT32_MAX;
    return (int)lrint(v);
}

static int sat_short(int v)
{
    return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

enum { INTER_BITS = 5, INTER_TAB = 1 << INTER_BITS, AB_BITS = 10, AB_SCALE = 1 << AB_BITS };

static void warp_u8(const mim_image *src, mim_image *dst, const double im[6],
                    const double border[3])
{
    int cn = src->channels, sw = src->width, sh = src->height;
    int cval[3];
    for (int c = 0; c < 3; c++) {
        double b = border ? border[c] : 0.0;
        int v = round_sat_int(b);
        cval[c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    const int round_delta = AB_SCALE / INTER_TAB / 2;
    for (int y = 0; y < dst->height; y++) {
        uint8_t *d = mim_image_row8(dst, y);
        int X0 = round_sat_int((im[1] * y + im[2]) * AB_SCALE) + round_delta;
        int Y0 = round_sat_int((im[4] * y + im[5]) * AB_SCALE) + round_delta;
        for (int x = 0; x < dst->width; x++, d += cn) {
            int adelta = round_sat_int(im[0] * x * AB_SCALE);
            int bdelta = round_sat_int(im[3] * x * AB_SCALE);
            /* int overflow in OpenCV wraps; do the same in unsigned arithmetic */
            int X = (int)((unsigned)X0 + (unsigned)adelta) >> (AB_BITS - INTER_BITS);
            int Y = (int)((unsigned)Y0 + (unsigned)bdelta) >> (AB_BITS - INTER_BITS);
            int sx = sat_short(X >> INTER_BITS), sy = sat_short(Y >> INTER_BITS);
            int fx = X & (INTER_TAB - 1), fy = Y & (INTER_TAB - 1);
            /* bilinear weights in 1/32768: products of k/32 are exact */
            int w00 = (INTER_TAB - fx) * (INTER_TAB - fy) * 32, w01 = fx * (INTER_TAB - fy) * 32;
            int w10 = (INTER_TAB - fx) * fy * 32, w11 = fx * fy * 32;
            if (sx >= 0 && sx < sw - 1 && sy >= 0 && sy < sh - 1) {
                const uint8_t *s0 = mim_image_row8(src, sy) + sx * cn;
                const uint8_t *s1 = mim_image_row8(src, sy + 1) + sx * cn;
                for (int c = 0; c < cn; c++) {
                    int v = (s0[c] * w00 + s0[cn + c] * w01 + s1[c] * w10 + s1[cn + c] * w11 +
                             (1 << 14)) >>
                            15;
                    d[c] = (uint8_t)(v > 255 ? 255 : v);
                }
            } else if (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0) {
                for (int c = 0; c < cn; c++)
                    d[c] = (uint8_t)cval[c];
            } else {
                int x0ok = sx >= 0 && sx < sw, x1ok = sx + 1 >= 0 && sx + 1 < sw;
                int y0ok = sy >= 0 && sy < sh, y1ok = sy + 1 >= 0 && sy + 1 < sh;
                const uint8_t *s0 = y0ok ? mim_image_row8(src, sy) : NULL;
                const uint8_t *s1 = y1ok ? mim_image_row8(src, sy + 1) : NULL;
                for (int c = 0; c < cn; c++) {
                    int v00 = (y0ok && x0ok) ? s0[sx * cn + c] : cval[c];
                    int v01 = (y0ok && x1ok) ? s0[(sx + 1) * cn + c] : cval[c];
                    int v10 = (y1ok && x0ok) ? s1[sx * cn + c] : cval[c];
                    int v11 = (y1ok && x1ok) ? s1[(sx + 1) * cn + c] : cval[c];
                    int v = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + (1 << 14)) >> 15;
                    d[c] = (uint8_t)(v > 255 ? 255 : v);
                }
            }
        }
    }
}

static void warp_f32(const mim_image *src, mim_image *dst, const double im[6],
                     const double border[3])
{
    int cn = src->channels, sw = src->width, sh = src->height;
    for (int y = 0; y < dst->height; y++) {
        float *d = mim_image_rowf(dst, y);
        for (int x = 0; x < dst->width; x++, d += cn) {
            double px = im[0] * x + im[1] * y + im[2];
            double py = im[3] * x + im[4] * y + im[5];
            double fx0 = floor(px), fy0 = floor(py);
            double ax = px - fx0, ay = py - fy0;
            int ok = isfinite(px) && isfinite(py) && fx0 > -2 && fy0 > -2 && fx0 < sw && fy0 < sh;
            int x0 = ok ? (int)fx0 : -2, y0 = ok ? (int)fy0 : -2;
            for (int c = 0; c < cn; c++) {
                double b = border ? border[c] : 0.0;
                double v[4];
                for (int k = 0; k < 4; k++) {
                    int xx = x0 + (k & 1), yy = y0 + (k >> 1);
                    v[k] = (ok && xx >= 0 && xx < sw && yy >= 0 && yy < sh)
                               ? mim_image_rowf(src, yy)[xx * cn + c]
                               : b;
                }
                d[c] = (float)((1 - ay) * ((1 - ax) * v[0] + ax * v[1]) +
                               ay * ((1 - ax) * v[2] + ax * v[3]));
            }
        }
    }
}

int mim_image_warp_affine(const mim_image *src, mim_image *dst, const double m[6],
                          const double border[3])
{
    assert(src->format == dst->format);
    double im[6];
    if (mim_affine_invert(m, im) != 0)
        return -1;
    if (is_float(src))
        warp_f32(src, dst, im, border);
    else
        warp_u8(src, dst, im, border);
    return 0;
}
