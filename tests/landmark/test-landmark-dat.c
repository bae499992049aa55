/* test-landmark-dat.c: dlib shape predictor reader (FORMATS.md A.1/A.2) and the inference rules of
 * A.3 on a hand-made model; hostile files refused.
 *
 * The real model (libdlib-data's shape_predictor_68_face_landmarks.dat, $MIMICA_DLIB_DATA_DIR or
 * /usr/share/dlib) is checked against FORMATS.md's counts and anchor values; without it those
 * tests skip. The hand-made model is written here by a small encoder of dlib's portable format. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/mim-landmark.h"
#include "mim-test.h"

/* --- a small writer of dlib's portable serialization ---------------------------------------- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

static void put(buf *o, uint8_t v)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 256;
        o->b = realloc(o->b, o->cap);
        if (!o->b)
            abort();
    }
    o->b[o->n++] = v;
}

static void put_int(buf *o, int64_t v)
{
    uint64_t m = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
    uint8_t bytes[8];
    int n = 0;
    do {
        bytes[n++] = (uint8_t)(m & 0xff);
        m >>= 8;
    } while (m);
    put(o, (uint8_t)(n | (v < 0 ? 0x80 : 0)));
    for (int i = 0; i < n; i++)
        put(o, bytes[i]);
}

static void put_float(buf *o, float v)
{
    int64_t mant = 0;
    int e = 0;
    if (v != 0) {
        double f = frexp(v, &e);
        mant = (int64_t)ldexp(f, 24);
        e -= 24;
        while (mant % 256 == 0) {
            mant /= 256;
            e += 8;
        }
    }
    put_int(o, mant);
    put_int(o, e);
}

/* A model with L landmarks, n_lv levels of n_tr depth-1 trees (1 split, 2 leaves), n_ft features.
 * Leaves: left leaf moves every coordinate by +lv_step, right leaf by -lv_step. */
typedef struct {
    int L, n_lv, n_tr, n_ft;
    float mean[8];
    int idx1, idx2;
    float thresh, step;
    int anchor[4];
    float delta[4][2];
} tiny;

static buf write_tiny(const tiny *m)
{
    buf o = {0};
    put_int(&o, 1);
    put_int(&o, -2 * m->L);
    put_int(&o, -1);
    for (int i = 0; i < 2 * m->L; i++)
        put_float(&o, m->mean[i]);
    put_int(&o, m->n_lv);
    for (int lv = 0; lv < m->n_lv; lv++) {
        put_int(&o, m->n_tr);
        for (int t = 0; t < m->n_tr; t++) {
            put_int(&o, 1); /* splits */
            put_int(&o, m->idx1);
            put_int(&o, m->idx2);
            put_float(&o, m->thresh);
            put_int(&o, 2); /* leaves */
            for (int l = 0; l < 2; l++) {
                put_int(&o, -2 * m->L);
                put_int(&o, -1);
                for (int i = 0; i < 2 * m->L; i++)
                    put_float(&o, l == 0 ? m->step : -m->step);
            }
        }
    }
    put_int(&o, m->n_lv);
    for (int lv = 0; lv < m->n_lv; lv++) {
        put_int(&o, m->n_ft);
        for (int i = 0; i < m->n_ft; i++)
            put_int(&o, m->anchor[i]);
    }
    put_int(&o, m->n_lv);
    for (int lv = 0; lv < m->n_lv; lv++) {
        put_int(&o, m->n_ft);
        for (int i = 0; i < m->n_ft; i++) {
            put_float(&o, m->delta[i][0]);
            put_float(&o, m->delta[i][1]);
        }
    }
    return o;
}

static tiny tiny_default(void)
{
    tiny m = {.L = 2, .n_lv = 2, .n_tr = 3, .n_ft = 2, .idx1 = 0, .idx2 = 1};
    float mean[4] = {0.25f, 0.5f, 0.75f, 0.5f};
    memcpy(m.mean, mean, sizeof mean);
    m.thresh = 10.0f;
    m.step = 0.0625f;
    m.anchor[0] = 0, m.anchor[1] = 1;
    m.delta[0][0] = 0, m.delta[0][1] = 0;
    m.delta[1][0] = 0, m.delta[1][1] = 0;
    return m;
}

static void test_encoding_examples(void)
{
    /* FORMATS.md A.1: 1 -> 01 01; 136 -> 01 88; -136 -> 81 88; 500 -> 02 F4 01; -29 -> 81 1D */
    int64_t v[5] = {1, 136, -136, 500, -29};
    const char *want[5] = {"0101", "0188", "8188", "02f401", "811d"};
    for (int i = 0; i < 5; i++) {
        buf o = {0};
        put_int(&o, v[i]);
        char hex[32] = "";
        for (size_t k = 0; k < o.n; k++)
            sprintf(hex + 2 * k, "%02x", o.b[k]);
        if (strcmp(hex, want[i]))
            MT_FAIL("encode %lld = %s, want %s", (long long)v[i], hex, want[i]);
        free(o.b);
    }
}

static void test_tiny_parse_and_predict(void)
{
    tiny m = tiny_default();
    buf o = write_tiny(&m);
    char err[256];
    mim_shape_predictor *sp;
    if (mim_shape_predictor_parse(o.b, o.n, &sp, err, sizeof err)) {
        MT_FAIL("tiny model refused: %s", err);
        free(o.b);
        return;
    }
    mim_shape_predictor_info info;
    mim_shape_predictor_get_info(sp, &info);
    MT_CHECK_INT(info.n_landmarks, 2);
    MT_CHECK_INT(info.n_levels, 2);
    MT_CHECK_INT(info.n_trees, 3);
    MT_CHECK_INT(info.depth, 1);
    MT_CHECK_INT(info.n_features, 2);
    MT_CHECK_INT(info.n_bytes_read, o.n);

    /* image 9x5: left half 100, right half 0. Box 0..8 x 0..4: landmark 0 at u = 0.25 -> x 2,
     * landmark 1 at x 6. f0 - f1 = 100 > 10: left leaf, +1/16 per tree, 3 trees per level. */
    uint8_t px[9 * 5];
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 9; x++)
            px[y * 9 + x] = x < 4 ? 100 : 0;
    mim_image img = {
        .width = 9, .height = 5, .channels = 1, .stride = 9, .data = px, .format = MIM_IMAGE_GREY8};
    mim_face_box box = {0, 0, 8, 4};
    float xy[4];
    int32_t xi[4];
    mim_shape_predictor_predict(sp, &img, &box, xy, xi, NULL);
    /* level 0: both features as above -> +3/16. level 1: landmark 0 at u = 0.4375 -> X = 3.5,
     * floor(4.0) = 4 -> pixel 0; f0 - f1 = 0 - 0 = 0 > 10 false -> right leaf, -3/16 back. */
    MT_CHECK_NEAR(xy[0], 0.25 * 8, 1e-6);
    MT_CHECK_NEAR(xy[1], 0.5 * 4, 1e-6);
    MT_CHECK_NEAR(xy[2], 0.75 * 8, 1e-6);
    MT_CHECK_INT(xi[0], 2);
    MT_CHECK_INT(xi[1], 2);
    MT_CHECK_INT(xi[3], 2);

    /* the same through an RGB image: (R+G+B)/3 with integer division: 100,101,102 -> 101 */
    uint8_t rgb[9 * 5 * 3];
    for (int i = 0; i < 45; i++) {
        rgb[3 * i] = px[i] ? 100 : 0;
        rgb[3 * i + 1] = px[i] ? 101 : 0;
        rgb[3 * i + 2] = px[i] ? 102 : 0;
    }
    mim_image im3 = {.width = 9,
                     .height = 5,
                     .channels = 3,
                     .stride = 27,
                     .data = rgb,
                     .format = MIM_IMAGE_RGB8};
    float xy3[4];
    mim_shape_predictor_predict(sp, &im3, &box, xy3, NULL, NULL);
    MT_CHECK(!memcmp(xy, xy3, sizeof xy));

    /* a box off the image: every sample reads 0, 0 - 0 > 10 false: right leaves, -6/16 */
    mim_face_box off = {100, 100, 108, 104};
    mim_shape_predictor_predict(sp, &img, &off, xy, NULL, NULL);
    MT_CHECK_NEAR(xy[0], 100 + (0.25 - 6 * 0.0625) * 8, 1e-5);
    MT_CHECK_NEAR(xy[3], 100 + (0.5 - 6 * 0.0625) * 4, 1e-5);
    mim_shape_predictor_free(sp);
    free(o.b);
}

/* A model whose leaves add 2^30 per tree sends the points past the int32 range: dlib's integer
 * points saturate instead of overflowing the conversion (found by tests/fuzz/fuzz-dlib-dat:
 * 4.4e13 -> int was undefined behaviour). */
static void test_tiny_huge_leaves(void)
{
    tiny m = tiny_default();
    m.step = 1073741824.0f; /* 2^30: 6 trees x 2^30 x box side 8 = 5.2e10 */
    buf o = write_tiny(&m);
    char err[256];
    mim_shape_predictor *sp;
    MT_CHECK(mim_shape_predictor_parse(o.b, o.n, &sp, err, sizeof err) == 0);
    if (!sp) {
        free(o.b);
        return;
    }
    uint8_t px[9 * 5] = {0};
    mim_image img = {
        .width = 9, .height = 5, .channels = 1, .stride = 9, .data = px, .format = MIM_IMAGE_GREY8};
    mim_face_box box = {0, 0, 8, 4};
    float xy[4];
    int32_t xi[4];
    /* every feature reads 0: right leaves, -2^30 per tree */
    mim_shape_predictor_predict(sp, &img, &box, xy, xi, NULL);
    MT_NOTE("x0 %.6g -> %d, y0 %.6g -> %d", xy[0], xi[0], xy[1], xi[1]);
    MT_CHECK(xy[0] < -1e10f && xy[1] < -1e9f);
    MT_CHECK_INT(xi[0], INT32_MIN);
    MT_CHECK_INT(xi[1], INT32_MIN);
    mim_shape_predictor_free(sp);
    free(o.b);

    m.step = -1073741824.0f;
    o = write_tiny(&m);
    MT_CHECK(mim_shape_predictor_parse(o.b, o.n, &sp, err, sizeof err) == 0);
    if (sp) {
        mim_shape_predictor_predict(sp, &img, &box, xy, xi, NULL);
        MT_NOTE("x1 %.6g -> %d, y1 %.6g -> %d", xy[2], xi[2], xy[3], xi[3]);
        MT_CHECK_INT(xi[2], INT32_MAX);
        MT_CHECK_INT(xi[3], INT32_MAX);
        mim_shape_predictor_free(sp);
    }
    free(o.b);
}

static int refused(const void *b, size_t n, char *err, size_t err_size)
{
    mim_shape_predictor *sp = NULL;
    int rc = mim_shape_predictor_parse(b, n, &sp, err, err_size);
    mim_shape_predictor_free(sp);
    return rc != 0 && sp == NULL;
}

static void test_tiny_truncations(void)
{
    tiny m = tiny_default();
    buf o = write_tiny(&m);
    char err[256];
    int n_ok = 0;
    for (size_t n = 0; n < o.n; n++) {
        /* a copy of exactly n bytes, so ASan sees any read past the end */
        uint8_t *c = malloc(n ? n : 1);
        memcpy(c, o.b, n);
        if (refused(c, n, err, sizeof err))
            n_ok++;
        else
            MT_FAIL("prefix of %zu/%zu bytes accepted", n, o.n);
        free(c);
    }
    MT_NOTE("%d of %zu truncations refused; last message: %s", n_ok, o.n, err);
    uint8_t *c = malloc(o.n + 1);
    memcpy(c, o.b, o.n);
    c[o.n] = 0;
    MT_CHECK(refused(c, o.n + 1, err, sizeof err));
    MT_NOTE("trailing byte: %s", err);
    free(c);
    free(o.b);
}

static void expect_refused(const char *what, tiny m, const char *needle)
{
    buf o = write_tiny(&m);
    char err[256] = "";
    if (!refused(o.b, o.n, err, sizeof err))
        MT_FAIL("%s: accepted", what);
    else if (needle && !strstr(err, needle))
        MT_FAIL("%s: message '%s' lacks '%s'", what, err, needle);
    else
        MT_NOTE("%s: %s", what, err);
    free(o.b);
}

static void test_tiny_hostile(void)
{
    tiny m = tiny_default();
    m.idx1 = 2; /* only 2 features */
    expect_refused("split index out of range", m, "feature pixel");
    m = tiny_default();
    m.anchor[1] = 2; /* only 2 landmarks */
    expect_refused("anchor out of range", m, "anchor index");

    /* mutate single fields in the encoded bytes */
    tiny t = tiny_default();
    buf o = write_tiny(&t);
    char err[256];
    uint8_t *c = malloc(o.n + 16);
    /* version 2 */
    memcpy(c, o.b, o.n);
    c[1] = 2;
    MT_CHECK(refused(c, o.n, err, sizeof err) && strstr(err, "version"));
    MT_NOTE("version 2: %s", err);
    /* 9-byte integer length */
    memcpy(c, o.b, o.n);
    c[0] = 0x09;
    MT_CHECK(refused(c, o.n, err, sizeof err));
    /* huge level count: replace the forests count (after 1+2+2 + 4 floats) with 2^62 */
    size_t pos = 2 + 2 + 2;
    for (int i = 0; i < 4; i++) { /* skip 4 floats: each = int + int */
        pos += 1 + (c[pos] & 0x0f);
        pos += 1 + (c[pos] & 0x0f);
    }
    MT_CHECK_INT(o.b[pos], 0x01);
    MT_CHECK_INT(o.b[pos + 1], 2);
    size_t n2 = 0;
    memcpy(c, o.b, pos);
    n2 = pos;
    c[n2++] = 0x08;
    for (int i = 0; i < 7; i++)
        c[n2++] = 0;
    c[n2++] = 0x40;
    memcpy(c + n2, o.b + pos + 2, o.n - pos - 2);
    n2 += o.n - pos - 2;
    MT_CHECK(refused(c, n2, err, sizeof err));
    MT_NOTE("2^62 levels: %s", err);
    /* huge tree count (next field): 2^31 */
    memcpy(c, o.b, pos + 2);
    n2 = pos + 2;
    c[n2++] = 0x04, c[n2++] = 0, c[n2++] = 0, c[n2++] = 0, c[n2++] = 0x80;
    memcpy(c + n2, o.b + pos + 4, o.n - pos - 4);
    n2 += o.n - pos - 4;
    MT_CHECK(refused(c, n2, err, sizeof err));
    MT_NOTE("2^31 trees: %s", err);
    /* negative (signed) count */
    memcpy(c, o.b, o.n);
    c[pos] = 0x81;
    MT_CHECK(refused(c, o.n, err, sizeof err) && strstr(err, "unsigned"));
    /* a float in the legacy text form */
    memcpy(c, o.b, o.n);
    c[6] |= 0x10;
    MT_CHECK(refused(c, o.n, err, sizeof err));
    free(c);
    free(o.b);
}

/* --- the real model ------------------------------------------------------------------------ */

static mim_shape_predictor *real_sp;
static char real_err[1024];

static void load_real(void)
{
    if (!real_sp && !real_err[0])
        if (mim_shape_predictor_load(NULL, &real_sp, real_err, sizeof real_err))
            real_sp = NULL;
}

static void test_real_counts(void)
{
    load_real();
    if (!real_sp)
        MT_SKIP("%.200s", real_err);
    mim_shape_predictor_info in;
    mim_shape_predictor_get_info(real_sp, &in);
    MT_NOTE("L %d, levels %d, trees %d, depth %d, features %d, floats %llu, bytes %llu",
            in.n_landmarks, in.n_levels, in.n_trees, in.depth, in.n_features,
            (unsigned long long)in.n_floats, (unsigned long long)in.n_bytes_read);
    MT_CHECK_INT(in.n_landmarks, 68);
    MT_CHECK_INT(in.n_levels, 15);
    MT_CHECK_INT(in.n_trees, 500);
    MT_CHECK_INT(in.depth, 4);
    MT_CHECK_INT(in.n_features, 500);
    MT_CHECK_INT(in.n_floats, 16447636);
    MT_CHECK_INT(in.n_bytes_read, 99693937);
    const float *mean = mim_shape_predictor_mean_shape(real_sp);
    MT_CHECK(mean[0] == (float)ldexp(15808589.0, -29));
    MT_CHECK_NEAR(mean[0], 0.029446, 1e-6);
    MT_CHECK_NEAR(mean[1], 0.321950, 1e-6);
    MT_CHECK_NEAR(mean[2], 0.032626, 1e-6);
    MT_CHECK_NEAR(mean[3], 0.446431, 1e-6);
    MT_CHECK_NEAR(mean[4], 0.045943, 1e-6);
    MT_CHECK_NEAR(mean[5], 0.570428, 1e-6);
    int i1, i2, a;
    float th, dx, dy;
    mim_shape_predictor_split(real_sp, 0, 0, 0, &i1, &i2, &th);
    MT_CHECK_INT(i1, 39);
    MT_CHECK_INT(i2, 132);
    MT_CHECK(th == 34.54365539550781f);
    const float *leaf = mim_shape_predictor_leaf(real_sp, 0, 0, 0);
    MT_CHECK(leaf[0] == -0.0015660937642678618f);
    MT_CHECK(leaf[1] == 0.0006438893033191562f);
    MT_CHECK(leaf[2] == -0.0022553466260433197f);
    MT_CHECK(leaf[3] == 0.0008611381053924561f);
    int want_anchor[5] = {41, 42, 36, 54, 31};
    for (int i = 0; i < 5; i++) {
        mim_shape_predictor_feature(real_sp, 0, i, &a, &dx, &dy);
        MT_CHECK_INT(a, want_anchor[i]);
        if (i == 0) {
            MT_CHECK(dx == -0.04936976730823517f);
            MT_CHECK(dy == 0.07312440872192383f);
        }
    }
    /* ranges of FORMATS.md A.2 */
    int max_split = 0, max_anchor = 0;
    float tmin = 1e9f, tmax = -1e9f;
    for (int lv = 0; lv < in.n_levels; lv++) {
        for (int t = 0; t < in.n_trees; t++)
            for (int s = 0; s < 15; s++) {
                mim_shape_predictor_split(real_sp, lv, t, s, &i1, &i2, &th);
                max_split = i1 > max_split ? i1 : max_split;
                max_split = i2 > max_split ? i2 : max_split;
                tmin = fminf(tmin, th), tmax = fmaxf(tmax, th);
            }
        for (int i = 0; i < in.n_features; i++) {
            mim_shape_predictor_feature(real_sp, lv, i, &a, &dx, &dy);
            max_anchor = a > max_anchor ? a : max_anchor;
        }
    }
    MT_NOTE("largest split index %d, anchor %d, thresholds [%g, %g]", max_split, max_anchor, tmin,
            tmax);
    MT_CHECK_INT(max_split, 499);
    MT_CHECK_INT(max_anchor, 67);
    MT_CHECK_NEAR(tmin, -64.0, 1e-3);
    MT_CHECK_NEAR(tmax, 63.997, 1e-3);
}

/* confidence: the mean shape itself scores 1 in any box, at any rotation; a shape with its eyes
 * and mouth swapped scores near 0; the box from a shape puts the mean shape back where it was */
static void test_real_confidence(void)
{
    load_real();
    if (!real_sp)
        MT_SKIP("%.200s", real_err);
    const float *mean = mim_shape_predictor_mean_shape(real_sp);
    float xy[136];
    double th = 0.4, sc = 180, tx = 300, ty = 120;
    for (int k = 0; k < 68; k++) {
        double u = mean[2 * k], v = mean[2 * k + 1];
        xy[2 * k] = (float)(sc * (cos(th) * u - sin(th) * v) + tx);
        xy[2 * k + 1] = (float)(sc * (sin(th) * u + cos(th) * v) + ty);
    }
    float c_mean = mim_landmark_confidence(real_sp, xy);
    mim_face_box box;
    mim_landmark_box_from_shape(real_sp, xy, &box);
    /* rotation ignored: the unit box's centre (0.5, 0.5) and side sc */
    double cx = sc * (cos(th) * 0.5 - sin(th) * 0.5) + tx;
    double cy = sc * (sin(th) * 0.5 + cos(th) * 0.5) + ty;
    MT_CHECK_NEAR(0.5 * (box.left + box.right), cx, 1e-3);
    MT_CHECK_NEAR(0.5 * (box.top + box.bottom), cy, 1e-3);
    MT_CHECK_NEAR(box.right - box.left, sc, 1e-3);
    /* swap eyes (36..47) with mouth (48..59) */
    for (int k = 0; k < 12; k++)
        for (int c = 0; c < 2; c++) {
            float t = xy[2 * (36 + k) + c];
            xy[2 * (36 + k) + c] = xy[2 * (48 + k) + c];
            xy[2 * (48 + k) + c] = t;
        }
    float c_bad = mim_landmark_confidence(real_sp, xy);
    MT_NOTE("confidence: mean shape %.4f, eyes/mouth swapped %.4f", c_mean, c_bad);
    MT_CHECK_NEAR(c_mean, 1.0, 1e-6);
    MT_CHECK(c_bad < 0.05f);
}

/* the mirror and the box search need the 68-point model: a tiny one is refused, saying why */
static void test_tiny_fit_refused(void)
{
    tiny m = tiny_default();
    buf o = write_tiny(&m);
    char err[256];
    mim_shape_predictor *sp;
    if (mim_shape_predictor_parse(o.b, o.n, &sp, err, sizeof err)) {
        MT_FAIL("tiny model refused: %s", err);
        free(o.b);
        return;
    }
    uint8_t px[9 * 5] = {0};
    mim_image img = {
        .width = 9, .height = 5, .channels = 1, .stride = 9, .data = px, .format = MIM_IMAGE_GREY8};
    mim_face_box box = {0, 0, 8, 4};
    float xy[136] = {0};
    mim_landmark_fit fit;
    MT_CHECK_INT(mim_shape_predictor_predict_mirrored(sp, &img, &box, xy), -1);
    MT_CHECK(isinf(mim_landmark_mirror_error(sp, &img, &box, xy)));
    err[0] = 0;
    MT_CHECK_INT(mim_landmark_fit_detection(sp, &img, &box, NULL, &fit, err, sizeof err), -1);
    MT_CHECK(strstr(err, "68-point") != NULL);
    MT_NOTE("%s", err);
    mim_shape_predictor_free(sp);
    free(o.b);
}

/* the box search on a synthetic frame: parameters out of range refused; accept = +inf stops at
 * the detection's own box (which is then the box its landmarks imply); accept = 0 tries every
 * hypothesis and keeps the lowest mirror error */
static void test_real_fit_search(void)
{
    load_real();
    if (!real_sp)
        MT_SKIP("%.200s", real_err);
    enum { W = 160, H = 160 };
    static uint8_t px[W * H];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) /* a bright disc with two dark eyes and a dark mouth */
            px[y * W + x] =
                (uint8_t)((x - 80) * (x - 80) + (y - 80) * (y - 80) < 50 * 50 ? 200 : 40);
    for (int y = 60; y < 70; y++)
        for (int x = 55; x < 105; x++)
            if (x < 70 || x >= 90)
                px[y * W + x] = 30;
    for (int y = 105; y < 112; y++)
        for (int x = 65; x < 95; x++)
            px[y * W + x] = 60;
    mim_image img = {
        .width = W, .height = H, .channels = 1, .stride = W, .data = px, .format = MIM_IMAGE_GREY8};
    mim_face_box box = {40, 45, 120, 125};
    mim_landmark_fit fit;
    mim_landmark_fit_params p;
    char err[256];

    mim_landmark_fit_params_default(&p);
    MT_CHECK_INT(p.n_scales, 3);
    MT_CHECK_INT(p.n_offsets, 5);
    p.n_scales = 0;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), -1);
    MT_NOTE("0 scales: %s", err);
    mim_landmark_fit_params_default(&p);
    p.n_offsets = MIM_FIT_MAX_STEPS + 1;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), -1);
    mim_landmark_fit_params_default(&p);
    p.scales[1] = -1;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), -1);
    MT_NOTE("negative scale: %s", err);
    mim_landmark_fit_params_default(&p);
    p.offsets[4] = NAN;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), -1);
    mim_landmark_fit_params_default(&p);
    p.accept = NAN;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), -1);

    /* accept anything: one hypothesis, the detection's box; the result is the prediction in the
     * box the first prediction implies */
    mim_landmark_fit_params_default(&p);
    p.accept = INFINITY;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), 0);
    MT_CHECK_INT(fit.n_hypotheses, 1);
    MT_CHECK_INT(fit.n_predictions, 3);
    float xy0[136], xy1[136];
    mim_face_box b1;
    mim_shape_predictor_predict(real_sp, &img, &box, xy0, NULL, NULL);
    mim_landmark_box_from_shape(real_sp, xy0, &b1);
    mim_shape_predictor_predict(real_sp, &img, &b1, xy1, NULL, NULL);
    MT_CHECK(!memcmp(&b1, &fit.box, sizeof b1));
    MT_CHECK(!memcmp(xy1, fit.xy, sizeof xy1));
    MT_CHECK_NEAR(fit.mirror_error, mim_landmark_mirror_error(real_sp, &img, &b1, xy1), 0);
    MT_CHECK_NEAR(fit.confidence, mim_landmark_confidence(real_sp, xy1), 0);
    float first = fit.mirror_error;

    /* accept nothing: all 3 x 5 x 5 hypotheses, the best no worse than the first */
    p.accept = 0;
    MT_CHECK_INT(mim_landmark_fit_detection(real_sp, &img, &box, &p, &fit, err, sizeof err), 0);
    MT_CHECK_INT(fit.n_hypotheses, 75);
    MT_CHECK_INT(fit.n_predictions, 225);
    MT_CHECK(fit.mirror_error <= first);
    MT_CHECK_NEAR(fit.mirror_error, mim_landmark_mirror_error(real_sp, &img, &fit.box, fit.xy), 0);
    MT_NOTE("synthetic face: mirror error %.4f in the detection's box, %.4f after the search "
            "(box [%.1f %.1f %.1f %.1f])",
            first, fit.mirror_error, fit.box.left, fit.box.top, fit.box.right, fit.box.bottom);
}

static void test_missing_file(void)
{
    char err[512];
    mim_shape_predictor *sp;
    MT_CHECK(mim_shape_predictor_load("/nonexistent-mimica/shape.dat", &sp, err, sizeof err));
    MT_CHECK(sp == NULL);
    MT_CHECK(strstr(err, "libdlib-data") != NULL);
    MT_NOTE("%s", err);
}

static void test_real_truncated(void)
{
    char path[4096];
    mim_shape_predictor_default_path(path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        MT_SKIP("%.200s absent (libdlib-data)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n);
    MT_CHECK(fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    /* the end of the file: the last bytes of the last delta; the middle; inside the mean shape */
    long cuts[4] = {n - 1, n / 2, 600, 9};
    for (int i = 0; i < 4; i++) {
        char err[256];
        uint8_t *c = malloc((size_t)cuts[i]);
        memcpy(c, b, (size_t)cuts[i]);
        MT_CHECK(refused(c, (size_t)cuts[i], err, sizeof err));
        MT_NOTE("cut at %ld of %ld: %s", cuts[i], n, err);
        free(c);
    }
    free(b);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_encoding_examples);
    MT_RUN(test_tiny_parse_and_predict);
    MT_RUN(test_tiny_huge_leaves);
    MT_RUN(test_tiny_truncations);
    MT_RUN(test_tiny_hostile);
    MT_RUN(test_missing_file);
    MT_RUN(test_real_counts);
    MT_RUN(test_real_confidence);
    MT_RUN(test_tiny_fit_refused);
    MT_RUN(test_real_fit_search);
    MT_RUN(test_real_truncated);
    mim_shape_predictor_free(real_sp);
    return mt_done();
}
