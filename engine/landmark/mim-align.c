/* mim-align.c: MODEL.md §1.1 alignment and §1.3 crop (see mim-align.h). */
#include "mim-align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const int mim_align_49_from_68[MIM_ALIGN_N49] = {
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26,         /* 0-9 eyebrows */
    27, 28, 29, 30,                                 /* 10-13 nose ridge */
    31, 32, 33, 34, 35,                             /* 14-18 lower nose */
    36, 37, 38, 39, 40, 41,                         /* 19-24 right eye */
    42, 43, 44, 45, 46, 47,                         /* 25-30 left eye */
    48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, /* 31-42 outer lip */
    61, 62, 63, 65, 66, 67,                         /* 43-48 inner lip */
};

void mim_align_68_to_49(const float *xy68, float *xy49)
{
    for (int i = 0; i < MIM_ALIGN_N49; i++) {
        xy49[2 * i] = xy68[2 * mim_align_49_from_68[i]];
        xy49[2 * i + 1] = xy68[2 * mim_align_49_from_68[i] + 1];
    }
}

int mim_align_matrix(const float *xy49, int size, double m[6])
{
    double el[2] = {0, 0}, er[2] = {0, 0};
    for (int i = 19; i <= 24; i++) {
        el[0] += xy49[2 * i], el[1] += xy49[2 * i + 1];
        er[0] += xy49[2 * (i + 6)], er[1] += xy49[2 * (i + 6) + 1];
    }
    el[0] /= 6, el[1] /= 6, er[0] /= 6, er[1] /= 6;
    double dx = er[0] - el[0], dy = er[1] - el[1], len = hypot(dx, dy);
    if (!(len > 0))
        return -1;
    double c = dx / len, s = dy / len;
    /* anchors: eL, eR, nose 13, mouth corners 31 and 37, rotated by R = [[c, s], [-s, c]] */
    double ax[5] = {el[0], er[0], xy49[26], xy49[62], xy49[74]};
    double ay[5] = {el[1], er[1], xy49[27], xy49[63], xy49[75]};
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int i = 0; i < 5; i++) {
        double rx = c * ax[i] + s * ay[i], ry = -s * ax[i] + c * ay[i];
        x0 = fmin(x0, rx), x1 = fmax(x1, rx), y0 = fmin(y0, ry), y1 = fmax(y1, ry);
    }
    double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1);
    double half = 0.5 * MIM_ALIGN_ENLARGE * fmax(x1 - x0, y1 - y0);
    if (!(half > 0))
        return -1;
    double scale = (size - 1) / 2.0 / half;
    /* M = T R, T = [[scale, 0, scale (half - cx)], [0, scale, scale (half - cy)]] */
    m[0] = scale * c, m[1] = scale * s, m[2] = scale * (half - cx);
    m[3] = -scale * s, m[4] = scale * c, m[5] = scale * (half - cy);
    return 0;
}

void mim_align_transform_points(const double m[6], const float *src, float *dst, int n)
{
    for (int i = 0; i < n; i++) {
        double x = src[2 * i], y = src[2 * i + 1];
        dst[2 * i] = (float)(m[0] * x + m[1] * y + m[2]);
        dst[2 * i + 1] = (float)(m[3] * x + m[4] * y + m[5]);
    }
}

void mim_align_warp_rgb(const mim_image *src, const double m[6], uint8_t *dst, int size,
                        uint8_t border)
{
    mim_image out = mim_image_view(dst, size, size, (size_t)size * 3, MIM_IMAGE_RGB8);
    const double bv[3] = {border, border, border};
    if (mim_image_warp_affine(src, &out, m, bv))
        memset(dst, border, (size_t)size * size * 3);
}

void mim_align_crop_chw(const uint8_t *rgb, int size, int off, int crop, float *chw)
{
    const size_t plane = (size_t)crop * crop;
    for (int y = 0; y < crop; y++)
        for (int x = 0; x < crop; x++) {
            const uint8_t *p = rgb + ((size_t)(y + off) * size + (x + off)) * 3;
            for (int ch = 0; ch < 3; ch++) {
                float v = (float)p[ch] / 255.0f;
                chw[ch * plane + (size_t)y * crop + x] = (v - 0.5f) / 0.5f;
            }
        }
}

int mim_align_face(const mim_image *rgb, const float *xy68, uint8_t *aligned200,
                   float *xy49_aligned, float *chw176)
{
    float xy49[2 * MIM_ALIGN_N49];
    double m[6];
    mim_align_68_to_49(xy68, xy49);
    if (mim_align_matrix(xy49, MIM_ALIGN_SIZE, m))
        return -1;
    if (xy49_aligned)
        mim_align_transform_points(m, xy49, xy49_aligned, MIM_ALIGN_N49);
    if (aligned200 || chw176) {
        uint8_t *img = aligned200;
        if (!img && !(img = malloc((size_t)MIM_ALIGN_SIZE * MIM_ALIGN_SIZE * 3)))
            return -1;
        mim_align_warp_rgb(rgb, m, img, MIM_ALIGN_SIZE, MIM_ALIGN_BORDER);
        if (chw176)
            mim_align_crop_chw(img, MIM_ALIGN_SIZE, MIM_ALIGN_CROP_OFF, MIM_ALIGN_CROP, chw176);
        if (img != aligned200)
            free(img);
    }
    return 0;
}
