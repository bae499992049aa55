/* test-landmark-align.c: MODEL.md §1.1 alignment and §1.3 crop on known transforms. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/mim-align.h"
#include "mim-test.h"

/* A face-like 68-point set: eyes level at y = 40 (right eye around x 30, left around x 70), nose
 * at (50, 60), mouth corners (35, 80) and (65, 80), other points spread deterministically. */
static void canonical68(float *xy)
{
    for (int k = 0; k < 68; k++) {
        xy[2 * k] = (float)(10 + (k * 37) % 80);
        xy[2 * k + 1] = (float)(20 + (k * 53) % 90);
    }
    for (int k = 0; k < 6; k++) {
        double a = k * M_PI / 3;
        xy[2 * (36 + k)] = (float)(30 + 6 * cos(a));
        xy[2 * (36 + k) + 1] = (float)(40 + 3 * sin(a));
        xy[2 * (42 + k)] = (float)(70 + 6 * cos(a));
        xy[2 * (42 + k) + 1] = (float)(40 + 3 * sin(a));
    }
    xy[2 * 30] = 50, xy[2 * 30 + 1] = 60;
    xy[2 * 48] = 35, xy[2 * 48 + 1] = 80;
    xy[2 * 54] = 65, xy[2 * 54 + 1] = 80;
}

static void test_49_mapping(void)
{
    float xy68[136], xy49[98];
    for (int i = 0; i < 136; i++)
        xy68[i] = (float)i;
    mim_align_68_to_49(xy68, xy49);
    MT_CHECK_INT(xy49[0], 34);       /* point 0 = iBUG 17 */
    MT_CHECK_INT(xy49[2 * 13], 60);  /* nose 13 = iBUG 30 */
    MT_CHECK_INT(xy49[2 * 19], 72);  /* eye 19 = iBUG 36 */
    MT_CHECK_INT(xy49[2 * 31], 96);  /* mouth corner 31 = iBUG 48 */
    MT_CHECK_INT(xy49[2 * 37], 108); /* mouth corner 37 = iBUG 54 */
    MT_CHECK_INT(xy49[2 * 43], 122); /* inner lip 43 = iBUG 61 */
    MT_CHECK_INT(xy49[2 * 46], 130); /* inner lip 46 = iBUG 65 (60, 64 left out) */
    MT_CHECK_INT(xy49[2 * 48], 134); /* last = iBUG 67 */
}

static void test_level_face(void)
{
    float xy68[136], xy49[98], al[98];
    double m[6];
    canonical68(xy68);
    mim_align_68_to_49(xy68, xy49);
    MT_CHECK(mim_align_matrix(xy49, 200, m) == 0);
    /* eyes level: no rotation. Anchors eL (30,40), eR (70,40), nose (50,60), mouth (35,80),
     * (65,80): box x 30..70, y 40..80, centre (50,60), half = 0.5·2.8·40 = 56,
     * scale = 199/2/56, translation scale·(56 - 50), scale·(56 - 60). */
    double s = 199.0 / 2 / 56;
    double want[6] = {s, 0, s * 6, 0, s, -s * 4};
    double md = 0;
    for (int i = 0; i < 6; i++)
        md = fmax(md, fabs(m[i] - want[i]));
    MT_NOTE("level face: scale %.9f, max |M - want| %.3g", m[0], md);
    MT_CHECK(md < 1e-12);
    mim_align_transform_points(m, xy49, al, 49);
    /* the anchor box centre lands on the image centre 99.5 */
    double cx = 0, cy = 0;
    for (int i = 19; i < 31; i++)
        cx += al[2 * i] / 12, cy += al[2 * i + 1] / 12;
    MT_CHECK_NEAR(cx, 99.5, 1e-4);
    MT_CHECK_NEAR(al[2 * 13], 99.5, 1e-4);
    MT_CHECK_NEAR(al[2 * 13 + 1], 99.5, 1e-4);
}

/* points moved by a known similarity A: the matrix must be M·A^-1 and the aligned points equal */
static void test_known_similarity(void)
{
    float xy68[136], moved[136], xy49[98], mv49[98], al[98], al2[98];
    canonical68(xy68);
    double worst_m = 0, worst_p = 0;
    const double cases[4][4] = {
        {0.3, 1.7, 120, -35}, {-0.7, 0.45, 3.25, 410}, {M_PI / 2, 2.0, 0, 0}, {2.9, 1.1, -50, 7}};
    for (int c = 0; c < 4; c++) {
        double th = cases[c][0], sc = cases[c][1], tx = cases[c][2], ty = cases[c][3];
        double A[6] = {sc * cos(th), -sc * sin(th), tx, sc * sin(th), sc * cos(th), ty};
        for (int k = 0; k < 68; k++) {
            double x = xy68[2 * k], y = xy68[2 * k + 1];
            moved[2 * k] = (float)(A[0] * x + A[1] * y + A[2]);
            moved[2 * k + 1] = (float)(A[3] * x + A[4] * y + A[5]);
        }
        /* compare against the float-rounded inputs, so only the algorithm is measured */
        double m[6], m2[6], inv[6];
        mim_align_68_to_49(xy68, xy49);
        mim_align_68_to_49(moved, mv49);
        MT_CHECK(mim_align_matrix(xy49, 200, m) == 0);
        MT_CHECK(mim_align_matrix(mv49, 200, m2) == 0);
        MT_CHECK(mim_affine_invert(A, inv) == 0);
        double want[6] = {
            m[0] * inv[0] + m[1] * inv[3],        m[0] * inv[1] + m[1] * inv[4],
            m[0] * inv[2] + m[1] * inv[5] + m[2], m[3] * inv[0] + m[4] * inv[3],
            m[3] * inv[1] + m[4] * inv[4],        m[3] * inv[2] + m[4] * inv[5] + m[5]};
        for (int i = 0; i < 6; i++) {
            double tol = (i == 2 || i == 5) ? 1e-3 : 1e-5;
            double d = fabs(m2[i] - want[i]);
            worst_m = fmax(worst_m, i == 2 || i == 5 ? d / 100 : d);
            if (d > tol)
                MT_FAIL("case %d: M[%d] = %.9g, want %.9g", c, i, m2[i], want[i]);
        }
        mim_align_transform_points(m, xy49, al, 49);
        mim_align_transform_points(m2, mv49, al2, 49);
        for (int i = 0; i < 98; i++)
            worst_p = fmax(worst_p, fabs(al[i] - al2[i]));
    }
    MT_NOTE("recovered matrix: max rel. error %.3g; aligned points: max |diff| %.3g px", worst_m,
            worst_p);
    MT_CHECK(worst_p < 2e-3); /* the moved points are float-rounded (~1e-5 relative) */
}

static void test_degenerate(void)
{
    float xy49[98] = {0};
    double m[6];
    MT_CHECK(mim_align_matrix(xy49, 200, m) == -1);
}

static uint8_t pattern(int x, int y, int c)
{
    return (uint8_t)((x * 7 + y * 13 + c * 50) % 256);
}

/* integer translations and quarter turns map pixel centres onto pixel centres: exact copies */
static void test_warp_exact(void)
{
    int w = 300, h = 250;
    uint8_t *src = malloc((size_t)w * h * 3), *dst = malloc(200 * 200 * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                src[(y * w + x) * 3 + c] = pattern(x, y, c);
    mim_image img = {.width = w,
                     .height = h,
                     .channels = 3,
                     .stride = (size_t)w * 3,
                     .data = src,
                     .format = MIM_IMAGE_RGB8};
    int bad = 0;
    /* translation: dst(x,y) = src(x + 140, y + 100); x + 140 >= 300 reads the border */
    double m[6] = {1, 0, -140, 0, 1, -100};
    mim_align_warp_rgb(&img, m, dst, 200, 128);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++)
            for (int c = 0; c < 3; c++) {
                int sx = x + 140, sy = y + 100;
                int want = sx < w && sy < h ? pattern(sx, sy, c) : 128;
                if (dst[(y * 200 + x) * 3 + c] != want && !bad++)
                    MT_FAIL("translate: (%d,%d,%d) = %d, want %d", x, y, c,
                            dst[(y * 200 + x) * 3 + c], want);
            }
    /* quarter turn: x' = y + 10, y' = -x + 250  =>  src x = 250 - y', src y = x' - 10 */
    double r[6] = {0, 1, 10, -1, 0, 250};
    mim_align_warp_rgb(&img, r, dst, 200, 128);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++)
            for (int c = 0; c < 3; c++) {
                int sx = 250 - y, sy = x - 10;
                int want = sx >= 0 && sx < w && sy >= 0 && sy < h ? pattern(sx, sy, c) : 128;
                if (dst[(y * 200 + x) * 3 + c] != want && !bad++)
                    MT_FAIL("rotate: (%d,%d,%d) = %d, want %d", x, y, c, dst[(y * 200 + x) * 3 + c],
                            want);
            }
    /* half-pixel shift: the mean of two neighbours (bilinear) */
    double hm[6] = {1, 0, -0.5, 0, 1, 0};
    mim_align_warp_rgb(&img, hm, dst, 200, 128);
    int maxd = 0;
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 198; x++) {
            int a = pattern(x, y, 0), b = pattern(x + 1, y, 0);
            if (abs(a - b) > 16)
                continue; /* the pattern wraps at 256 */
            int d = abs(dst[(y * 200 + x) * 3] - (a + b) / 2);
            maxd = d > maxd ? d : maxd;
        }
    MT_NOTE("half-pixel shift: max |got - mean of neighbours| %d", maxd);
    MT_CHECK(maxd <= 1);
    MT_CHECK_INT(bad, 0);
    free(src);
    free(dst);
}

static void test_crop(void)
{
    uint8_t *img = malloc(200 * 200 * 3);
    for (int y = 0; y < 200; y++)
        for (int x = 0; x < 200; x++)
            for (int c = 0; c < 3; c++)
                img[(y * 200 + x) * 3 + c] = pattern(x, y, c);
    img[(12 * 200 + 12) * 3] = 0;
    img[(187 * 200 + 187) * 3 + 2] = 255;
    float *chw = malloc(sizeof(float) * 3 * 176 * 176);
    mim_align_crop_chw(img, 200, 12, 176, chw);
    int bad = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 176; y++)
            for (int x = 0; x < 176; x++) {
                float v = img[((y + 12) * 200 + x + 12) * 3 + c] / 255.0f;
                float want = (v - 0.5f) / 0.5f;
                if (chw[(c * 176 + y) * 176 + x] != want && !bad++)
                    MT_FAIL("crop (%d,%d,%d) = %.9g, want %.9g", c, y, x,
                            chw[(c * 176 + y) * 176 + x], want);
            }
    MT_CHECK(chw[0] == -1.0f);
    MT_CHECK(chw[2 * 176 * 176 + 175 * 176 + 175] == 1.0f);
    MT_CHECK_INT(bad, 0);
    free(img);
    free(chw);
}

/* the whole front end: the aligned image shows the source where the aligned landmarks say */
static void test_align_face(void)
{
    float xy68[136], al49[98];
    canonical68(xy68);
    int w = 160, h = 140;
    uint8_t *src = malloc((size_t)w * h * 3), *al = malloc(200 * 200 * 3);
    for (int i = 0; i < w * h * 3; i++)
        src[i] = pattern((i / 3) % w, (i / 3) / w, i % 3);
    mim_image img = {.width = w,
                     .height = h,
                     .channels = 3,
                     .stride = (size_t)w * 3,
                     .data = src,
                     .format = MIM_IMAGE_RGB8};
    float *chw = malloc(sizeof(float) * 3 * 176 * 176);
    MT_CHECK(mim_align_face(&img, xy68, al, al49, chw) == 0);
    /* nose (49-point 13 = source (50,60)) at the centre 99.5; a 1/scale-pixel check */
    MT_CHECK_NEAR(al49[26], 99.5, 1e-4);
    MT_CHECK_NEAR(al49[27], 99.5, 1e-4);
    float v = al[(12 * 200 + 12) * 3];
    MT_CHECK(chw[0] == (v / 255.0f - 0.5f) / 0.5f);
    free(src);
    free(al);
    free(chw);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_49_mapping);
    MT_RUN(test_level_face);
    MT_RUN(test_known_similarity);
    MT_RUN(test_degenerate);
    MT_RUN(test_warp_exact);
    MT_RUN(test_crop);
    MT_RUN(test_align_face);
    return mt_done();
}
