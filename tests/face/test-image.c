/* test-image.c (suite engine): the shared image operations (mim-image.h) on hand-computed
 * cases: OpenCV's grey weights, INTER_LINEAR_EXACT resize (FORMATS.md B.3), affine warps with
 * known transforms (identity, integer and half-pixel shifts, 90° rotation, border), inversion. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "face/mim-image.h"
#include "mim-test.h"

static mim_image *ramp(int w, int h, mim_image_format f, uint32_t seed)
{
    mim_image *img = mim_image_new(w, h, f);
    for (int y = 0; y < h; y++) {
        uint8_t *p = mim_image_row8(img, y);
        for (int i = 0; i < w * img->channels; i++) {
            seed = seed * 1664525u + 1013904223u;
            p[i] = (uint8_t)(seed >> 24);
        }
    }
    return img;
}

static void test_grey(void)
{
    uint8_t px[5 * 3] = {255, 255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    mim_image rgb = mim_image_view(px, 5, 1, sizeof px, MIM_IMAGE_RGB8);
    mim_image *g = mim_image_new(5, 1, MIM_IMAGE_GREY8);
    mim_image_rgb_to_grey(&rgb, g);
    const uint8_t *o = mim_image_row8(g, 0);
    /* (9798 R + 19235 G + 3735 B + 16384) >> 15 */
    MT_CHECK_INT(o[0], 255);
    MT_CHECK_INT(o[1], 76);
    MT_CHECK_INT(o[2], 150);
    MT_CHECK_INT(o[3], 29);
    MT_CHECK_INT(o[4], (9798 * 10 + 19235 * 20 + 3735 * 30 + 16384) >> 15);
    mim_image_rgb_to_grey_mean(&rgb, g);
    MT_CHECK_INT(o[1], 85);
    MT_CHECK_INT(o[4], 20);
    mim_image *back = mim_image_new(5, 1, MIM_IMAGE_RGB8);
    mim_image_grey_to_rgb(g, back);
    MT_CHECK_INT(mim_image_row8(back, 0)[13], 20);
    mim_image_free(back);
    mim_image_free(g);
    MT_CHECK(mim_image_new(0, 5, MIM_IMAGE_GREY8) == NULL);
    MT_CHECK(mim_image_new(70000, 70000, MIM_IMAGE_RGBF) == NULL);
}

static void test_resize(void)
{
    /* 2 -> 4 samples: f = -0.25 (border), 0.25, 0.75, 1.25 (border); c1 = 64, 192 */
    uint8_t a[2] = {0, 100};
    mim_image src = mim_image_view(a, 2, 1, 2, MIM_IMAGE_GREY8);
    mim_image *dst = mim_image_new(4, 1, MIM_IMAGE_GREY8);
    mim_image_resize(&src, dst);
    const uint8_t *o = mim_image_row8(dst, 0);
    MT_NOTE("2->4: %d %d %d %d", o[0], o[1], o[2], o[3]);
    MT_CHECK_INT(o[0], 0);
    MT_CHECK_INT(o[1], (6400 + 128) >> 8);
    MT_CHECK_INT(o[2], (19200 + 128) >> 8);
    MT_CHECK_INT(o[3], 100);
    mim_image_free(dst);

    /* 4x4 -> 2x2: f = 0.5, 2.5 on both axes, weights 128/128 */
    uint8_t b[16] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 251};
    mim_image s2 = mim_image_view(b, 4, 4, 4, MIM_IMAGE_GREY8);
    dst = mim_image_new(2, 2, MIM_IMAGE_GREY8);
    mim_image_resize(&s2, dst);
    /* top-left: h(row0) = 128*0 + 128*10 = 1280, h(row1) = 128*40+128*50 = 11520;
     * (128*1280 + 128*11520 + 32768) >> 16 = 25 */
    MT_CHECK_INT(mim_image_row8(dst, 0)[0], (128 * 1280 + 128 * 11520 + 32768) >> 16);
    int hb0 = 128 * 100 + 128 * 110, hb1 = 128 * 140 + 128 * 251;
    MT_CHECK_INT(mim_image_row8(dst, 1)[1], (128 * hb0 + 128 * hb1 + 32768) >> 16);
    mim_image_free(dst);

    /* equal size copies; RGB resizes each channel as a grey image would */
    mim_image *rgb = ramp(17, 11, MIM_IMAGE_RGB8, 7);
    mim_image *same = mim_image_new(17, 11, MIM_IMAGE_RGB8);
    mim_image_resize(rgb, same);
    MT_CHECK(memcmp(same->data, rgb->data, rgb->stride * 11) == 0);
    mim_image *small = mim_image_new(7, 5, MIM_IMAGE_RGB8);
    mim_image_resize(rgb, small);
    int bad = 0;
    for (int c = 0; c < 3; c++) {
        mim_image *g = mim_image_new(17, 11, MIM_IMAGE_GREY8), *gs;
        for (int y = 0; y < 11; y++)
            for (int x = 0; x < 17; x++)
                mim_image_row8(g, y)[x] = mim_image_row8(rgb, y)[3 * x + c];
        gs = mim_image_new(7, 5, MIM_IMAGE_GREY8);
        mim_image_resize(g, gs);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 7; x++)
                bad += mim_image_row8(gs, y)[x] != mim_image_row8(small, y)[3 * x + c];
        mim_image_free(g);
        mim_image_free(gs);
    }
    MT_CHECK_INT(bad, 0);
    /* float resize agrees with the 8-bit one within rounding */
    mim_image *f = mim_image_new(17, 11, MIM_IMAGE_RGBF), *fs = mim_image_new(7, 5, MIM_IMAGE_RGBF);
    mim_image_to_float(rgb, f, 1.f, 0.f);
    mim_image_resize(f, fs);
    double maxd = 0;
    for (int y = 0; y < 5; y++)
        for (int i = 0; i < 21; i++) {
            double d = mim_image_rowf(fs, y)[i] - mim_image_row8(small, y)[i];
            maxd = d > maxd ? d : -d > maxd ? -d : maxd;
        }
    MT_NOTE("17x11 -> 7x5 RGB: float vs 8-bit bilinear max |diff| %.3f", maxd);
    MT_CHECK_NEAR(maxd, 0, 1.5);
    mim_image_free(f);
    mim_image_free(fs);
    mim_image_free(rgb);
    mim_image_free(same);
    mim_image_free(small);
}

static void test_warp(void)
{
    double border[3] = {128, 128, 128};
    mim_image *src = ramp(20, 15, MIM_IMAGE_RGB8, 99);
    mim_image *dst = mim_image_new(20, 15, MIM_IMAGE_RGB8);
    const double id[6] = {1, 0, 0, 0, 1, 0};
    MT_CHECK(mim_image_warp_affine(src, dst, id, border) == 0);
    MT_CHECK(memcmp(src->data, dst->data, src->stride * 15) == 0);

    /* integer shift by (3, 2): dst(x, y) = src(x − 3, y − 2), grey border */
    const double sh[6] = {1, 0, 3, 0, 1, 2};
    MT_CHECK(mim_image_warp_affine(src, dst, sh, border) == 0);
    int bad = 0;
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++)
            for (int c = 0; c < 3; c++) {
                int want = (x >= 3 && y >= 2) ? mim_image_row8(src, y - 2)[3 * (x - 3) + c] : 128;
                bad += mim_image_row8(dst, y)[3 * x + c] != want;
            }
    MT_CHECK_INT(bad, 0);

    /* half-pixel shift: the mean of two neighbours, (a + b + 1) >> 1 */
    const double half[6] = {1, 0, -0.5, 0, 1, 0};
    MT_CHECK(mim_image_warp_affine(src, dst, half, border) == 0);
    bad = 0;
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 19; x++)
            for (int c = 0; c < 3; c++) {
                int a = mim_image_row8(src, y)[3 * x + c],
                    b = mim_image_row8(src, y)[3 * x + 3 + c];
                bad += mim_image_row8(dst, y)[3 * x + c] != ((a + b + 1) >> 1);
            }
    MT_CHECK_INT(bad, 0);

    /* 90° rotation: x' = (H − 1) − y, y' = x; dst is 15 wide, 20 high */
    mim_image *rot = mim_image_new(15, 20, MIM_IMAGE_RGB8);
    const double r90[6] = {0, -1, 14, 1, 0, 0};
    MT_CHECK(mim_image_warp_affine(src, rot, r90, border) == 0);
    bad = 0;
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 20; x++)
            for (int c = 0; c < 3; c++)
                bad +=
                    mim_image_row8(rot, x)[3 * (14 - y) + c] != mim_image_row8(src, y)[3 * x + c];
    MT_CHECK_INT(bad, 0);

    /* float warp: the same shifts, exact */
    mim_image *fs = mim_image_new(20, 15, MIM_IMAGE_RGBF),
              *fd = mim_image_new(20, 15, MIM_IMAGE_RGBF);
    mim_image_to_float(src, fs, 1.f, 0.f);
    MT_CHECK(mim_image_warp_affine(fs, fd, half, border) == 0);
    double maxd = 0;
    for (int y = 0; y < 15; y++)
        for (int x = 0; x < 19; x++)
            for (int c = 0; c < 3; c++) {
                double want =
                    0.5 * (mim_image_rowf(fs, y)[3 * x + c] + mim_image_rowf(fs, y)[3 * x + 3 + c]);
                double d = mim_image_rowf(fd, y)[3 * x + c] - want;
                maxd = d > maxd ? d : -d > maxd ? -d : maxd;
            }
    MT_NOTE("float half-pixel shift: max |diff| %.2g", maxd);
    MT_CHECK_NEAR(maxd, 0, 1e-4);
    MT_CHECK(mim_image_warp_affine(fs, fd, sh, border) == 0);
    MT_CHECK_NEAR(mim_image_rowf(fd, 0)[0], 128, 0);
    MT_CHECK_NEAR(mim_image_rowf(fd, 5)[3 * 7 + 1], mim_image_rowf(fs, 3)[3 * 4 + 1], 0);

    /* singular */
    const double sing[6] = {1, 2, 0, 2, 4, 0};
    MT_CHECK(mim_image_warp_affine(src, dst, sing, border) == -1);

    /* inversion and application */
    const double m[6] = {0.8, -0.3, 12.5, 0.4, 1.1, -7};
    double inv[6], p[2] = {3, 4}, q[2], r[2];
    MT_CHECK(mim_affine_invert(m, inv) == 0);
    mim_affine_apply(m, p, q, 1);
    mim_affine_apply(inv, q, r, 1);
    MT_CHECK_NEAR(r[0], 3, 1e-12);
    MT_CHECK_NEAR(r[1], 4, 1e-12);
    mim_image_free(fs);
    mim_image_free(fd);
    mim_image_free(rot);
    mim_image_free(src);
    mim_image_free(dst);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_grey);
    MT_RUN(test_resize);
    MT_RUN(test_warp);
    return mt_done();
}
