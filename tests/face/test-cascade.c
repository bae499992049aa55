/* test-cascade.c (suite engine): OpenCV cascade files from opencv-data parsed with the counts of
 * FORMATS.md B.1; loader self-checks; hostile, truncated and malformed XML refused; integral
 * images against brute force; groupRectangles on known cases. The cascades come from
 * $MIMICA_OPENCV_DATA_DIR or /usr/share/opencv4 (Debian opencv-data); absent files skip. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/mim-cascade-private.h"
#include "mim-test.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

typedef struct {
    const char *name;
    mim_cascade_type type;
    int w, h, stages, weak, nodes_per_tree, features, r2, r3, tilted;
} expected;

/* FORMATS.md B.1, "Verified counts" */
static const expected table[] = {
    {"haarcascade_frontalface_default", MIM_CASCADE_HAAR, 24, 24, 25, 2913, 1, 2913, 2356, 557, 0},
    {"haarcascade_frontalface_alt", MIM_CASCADE_HAAR, 20, 20, 22, 2135, 1, 2135, 1775, 360, 0},
    {"haarcascade_frontalface_alt2", MIM_CASCADE_HAAR, 20, 20, 20, 1047, 2, 2094, 1747, 347, 0},
    {"haarcascade_frontalface_alt_tree", MIM_CASCADE_HAAR, 20, 20, 47, 8468, 1, 8468, 6923, 1545,
     0},
    {"haarcascade_profileface", MIM_CASCADE_HAAR, 20, 20, 26, 2609, 1, 2609, 2194, 415, 0},
    {"haarcascade_eye", MIM_CASCADE_HAAR, 20, 20, 24, 1066, 1, 1066, 899, 167, 0},
    {"haarcascade_smile", MIM_CASCADE_HAAR, 36, 18, 20, 569, 1, 569, 462, 107, 117},
    {"lbpcascade_frontalface", MIM_CASCADE_LBP, 24, 24, 20, 139, 1, 136, 0, 0, 0},
    {"lbpcascade_frontalface_improved", MIM_CASCADE_LBP, 45, 45, 19, 149, 1, 142, 0, 0, 0},
    {"lbpcascade_profileface", MIM_CASCADE_LBP, 20, 34, 16, 130, 1, 129, 0, 0, 0},
};

static int load(const char *name, mim_cascade **c)
{
    char err[512];
    if (mim_cascade_load_named(name, c, err, sizeof err) != 0) {
        MT_NOTE("%s", err);
        return -1;
    }
    return 0;
}

static void test_counts(void)
{
    int n_loaded = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const expected *e = &table[i];
        mim_cascade *c;
        char path[4096], err[512];
        MT_CHECK(mim_cascade_path(e->name, path, sizeof path, err, sizeof err) == 0);
        FILE *f = fopen(path, "rb");
        if (!f) {
            MT_NOTE("%s absent", path);
            continue;
        }
        fclose(f);
        if (mim_cascade_load(path, &c, err, sizeof err) != 0) {
            MT_FAIL("%s", err);
            continue;
        }
        n_loaded++;
        mim_cascade_info in;
        mim_cascade_get_info(c, &in);
        MT_NOTE("%-34s %s %dx%d stages %d weak %d nodes/tree %d features %d (2:%d 3:%d) tilted "
                "%d",
                e->name, in.type == MIM_CASCADE_HAAR ? "HAAR" : "LBP ", in.width, in.height,
                in.n_stages, in.n_weak, in.max_nodes_per_tree, in.n_features, in.n_rects2,
                in.n_rects3, in.n_tilted);
        MT_CHECK_INT(in.type, e->type);
        MT_CHECK_INT(in.width, e->w);
        MT_CHECK_INT(in.height, e->h);
        MT_CHECK_INT(in.n_stages, e->stages);
        MT_CHECK_INT(in.n_weak, e->weak);
        MT_CHECK_INT(in.max_nodes_per_tree, e->nodes_per_tree);
        MT_CHECK_INT(in.n_nodes, e->weak * e->nodes_per_tree);
        MT_CHECK_INT(in.n_features, e->features);
        MT_CHECK_INT(in.n_rects2, e->r2);
        MT_CHECK_INT(in.n_rects3, e->r3);
        MT_CHECK_INT(in.n_tilted, e->tilted);
        MT_CHECK_INT(in.max_cat_count, e->type == MIM_CASCADE_LBP ? 256 : 0);
        mim_cascade_free(c);
    }
    if (!n_loaded)
        MT_SKIP("no cascade of opencv-data found under %s", mim_cascade_data_dir());
}

static void test_stage_counts(void)
{
    static const int def[] = {9,   16,  27,  32,  52,  53,  62,  72,  83,  91,  99,  115, 127,
                              135, 136, 137, 159, 155, 169, 196, 197, 181, 199, 211, 200};
    static const int lbp[] = {6, 6, 7, 8, 8, 8, 10, 9, 9, 9, 8, 9, 9, 9, 9, 9, 7, 7, 2};
    mim_cascade *c;
    if (load("haarcascade_frontalface_default", &c) != 0)
        MT_SKIP("haarcascade_frontalface_default absent (Debian package opencv-data)");
    for (int s = 0; s < 25; s++)
        MT_CHECK_INT(mim_cascade_stage_n_weak(c, s), def[s]);
    MT_CHECK_INT(mim_cascade_stage_n_weak(c, 25), -1);
    /* self-check of FORMATS.md B.1: first weight −1, upright weighted areas sum to zero */
    int bad_first = 0, bad_area = 0;
    for (int i = 0; i < c->n_features; i++) {
        const mim__haar_feature *f = &c->haar[i];
        bad_first += f->weight[0] != -1.f;
        double area = 0;
        for (int k = 0; k < f->n_rects; k++)
            area += (double)f->weight[k] * f->w[k] * f->h[k];
        bad_area += !f->tilted && area != 0;
    }
    MT_NOTE("default: %d features, first weight != -1: %d, weighted area != 0: %d", c->n_features,
            bad_first, bad_area);
    MT_CHECK_INT(bad_first, 0);
    MT_CHECK_INT(bad_area, 0);
    /* stage threshold lowered by 1e-5f in float: stage 0 is -5.0425500869750977e+00 */
    MT_CHECK(c->stages[0].threshold == (float)-5.0425500869750977e+00 - 1e-5f);
    mim_cascade_free(c);
    if (load("lbpcascade_frontalface_improved", &c) != 0)
        MT_SKIP("lbpcascade_frontalface_improved absent");
    for (int s = 0; s < 19; s++)
        MT_CHECK_INT(mim_cascade_stage_n_weak(c, s), lbp[s]);
    mim_cascade_free(c);
}

static void test_missing_file(void)
{
    mim_cascade *c = (mim_cascade *)1;
    char err[512] = "";
    MT_CHECK(mim_cascade_load("/nonexistent/dir/haarcascade_x.xml", &c, err, sizeof err) != 0);
    MT_CHECK(c == NULL);
    MT_NOTE("missing file: %s", err);
    MT_CHECK(strstr(err, "opencv-data") != NULL);
    MT_CHECK(mim_cascade_path("facecascade", err, sizeof err, err, sizeof err) != 0);
    char path[4096];
    MT_CHECK(mim_cascade_path("lbpcascade_frontalface_improved", path, sizeof path, err,
                              sizeof err) == 0);
    MT_CHECK(strstr(path, "/lbpcascades/lbpcascade_frontalface_improved.xml") != NULL);
    MT_CHECK(mim_cascade_path("x/y.xml", path, sizeof path, err, sizeof err) == 0 &&
             strcmp(path, "x/y.xml") == 0);
    MT_CHECK(mim_cascade_path("haarcascade_eye", path, 10, err, sizeof err) != 0);
}

/* A tiny valid cascade: one stage, a stump and a two-node tree, two features. */
static const char tiny[] =
    "<?xml version=\"1.0\"?>\n<!-- c -->\n<opencv_storage>\n<cascade "
    "type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>\n"
    "<featureType>HAAR</featureType><height>4</height><width>4</width>\n"
    "<stageParams><maxWeakCount>2</maxWeakCount></stageParams>\n"
    "<featureParams><maxCatCount>0</maxCatCount></featureParams><stageNum>1</stageNum>\n"
    "<stages><_><maxWeakCount>2</maxWeakCount><stageThreshold>-1.5e-001</stageThreshold>\n"
    "<weakClassifiers><_><internalNodes>0 -1 0 1.5e-01</internalNodes>"
    "<leafValues>-1. 1.</leafValues></_>\n"
    "<_><internalNodes>0 1 0 0.5 -1 -2 1 -0.25</internalNodes>"
    "<leafValues>0.1 0.2 0.3</leafValues></_></weakClassifiers></_></stages>\n"
    "<features><_><rects><_>0 0 4 2 -1.</_><_>0 2 4 2 1.</_></rects></_>\n"
    "<_><rects><_>0 0 4 4 -1.</_><_>1 1 2 2 4.</_></rects><tilted>0</tilted></_></features>"
    "</cascade></opencv_storage>\n";

static int try_load(const char *text, size_t len, char *err, size_t err_size)
{
    mim_cascade *c = NULL;
    int rc = mim_cascade_load_buffer(text, len, &c, err, err_size);
    mim_cascade_free(c);
    return rc;
}

static char *replace(const char *s, const char *from, const char *to)
{
    const char *p = strstr(s, from);
    if (!p)
        return NULL;
    size_t n = strlen(s) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t a = (size_t)(p - s);
    memcpy(out, s, a);
    strcpy(out + a, to);
    strcat(out, p + strlen(from));
    return out;
}

static void test_malformed(void)
{
    char err[512];
    MT_CHECK(try_load(tiny, strlen(tiny), err, sizeof err) == 0);
    mim_cascade *c;
    MT_CHECK(mim_cascade_load_buffer(tiny, strlen(tiny), &c, err, sizeof err) == 0);
    mim_cascade_info in;
    mim_cascade_get_info(c, &in);
    MT_CHECK_INT(in.n_weak, 2);
    MT_CHECK_INT(in.n_nodes, 3);
    MT_CHECK_INT(in.max_nodes_per_tree, 2);
    MT_CHECK(c->stages[0].threshold == (float)-0.15 - 1e-5f);
    MT_CHECK(c->nodes[1].left == 0 && c->nodes[1].right == 1 && c->nodes[2].right == -2);
    mim_cascade_free(c);

    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"0 -1 0 1.5e-01", "0 -1 2 1.5e-01", "feature index past the end"},
        {"0 -1 0 1.5e-01", "0 -1 -1 1.5e-01", "negative feature index"},
        {"0.5 -1 -2 1", "0.5 1 -2 1", "child pointing to itself"},
        {"0 1 0 0.5 -1 -2", "0 1 0 0.5 1 -2", "child pointing backwards (loop)"},
        {"-1 -2 1 -0.25", "-1 -3 1 -0.25", "leaf index past the end"},
        {"0 1 0 0.5 -1 -2 1 -0.25", "0 1 0 0.5 -1 -2 1", "node count not a multiple of 4"},
        {"0.1 0.2 0.3", "0.1 0.2", "too few leaf values"},
        {"1.5e-01", "1.5e-01x", "not a number"},
        {"1.5e-01", "1e999", "infinite threshold"},
        {"<_>0 2 4 2 1.</_>", "<_>0 3 4 2 1.</_>", "rectangle below the window"},
        {"<_>0 2 4 2 1.</_>", "<_>-1 2 4 2 1.</_>", "rectangle left of the window"},
        {"<_>0 2 4 2 1.</_>", "<_>0 2 4 0 1.</_>", "empty rectangle"},
        {"<_>0 2 4 2 1.</_>", "<_>0 2 4 2</_>", "rectangle without weight"},
        {"<_>0 2 4 2 1.</_>", "<_>0 2 4.5 2 1.</_>", "fractional rectangle"},
        {"<tilted>0</tilted>", "<tilted>1</tilted>", "tilted rectangle outside the window"},
        {"<tilted>0</tilted>", "<tilted>2</tilted>", "tilted not 0/1"},
        {"<rects><_>0 0 4 2 -1.</_><_>0 2 4 2 1.</_></rects>", "<rects><_>0 0 4 2 -1.</_></rects>",
         "one rectangle"},
        {"<height>4</height>", "<height>2</height>", "window too small"},
        {"<height>4</height>", "<height>99999999999</height>", "window too large"},
        {"<height>4</height>", "", "no height"},
        {"HAAR</featureType>", "HOG</featureType>", "unknown feature type"},
        {"BOOST", "GAB", "unknown stage type"},
        {"<maxCatCount>0</maxCatCount>", "<maxCatCount>256</maxCatCount>", "Haar with categories"},
        {"</opencv_storage>", "</opencv_storagf>", "mismatched end tag"},
        {"</opencv_storage>\n", "</opencv_storage>\n<x/>", "second root"},
        {"</opencv_storage>\n", "</opencv_storage>\ntext", "text after the root"},
        {"<!-- c -->", "<!-- c ", "unterminated comment"},
        {"<?xml version=\"1.0\"?>", "<!DOCTYPE x [<!ENTITY a \"b\">]>", "DOCTYPE"},
        {"<stageNum>1</stageNum>", "<stageNum>&a;</stageNum>", "entity reference"},
        {"type_id=\"opencv-cascade-classifier\"", "type_id=opencv", "unquoted attribute"},
        {"<stages>", "<stages><![CDATA[x]]>", "CDATA"},
        {"<opencv_storage>", "<opencv_storage_x>", "wrong root"},
        {"<weakClassifiers>", "<weakClassifierz>", "no weak classifiers"},
        {"<features><_><rects>", "<features><_><rectz>", "feature without rects"},
    };
    int refused = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = replace(tiny, cases[i].from, cases[i].to);
        if (!t) {
            MT_FAIL("case %zu: pattern '%s' not in the tiny cascade", i, cases[i].from);
            continue;
        }
        err[0] = 0;
        int rc = try_load(t, strlen(t), err, sizeof err);
        if (rc == 0)
            MT_FAIL("%s: accepted", cases[i].why);
        else
            refused++;
        MT_CHECK(err[0] != 0);
        if (i < 6 || rc == 0)
            MT_NOTE("%-36s -> %s", cases[i].why, err);
        free(t);
    }
    MT_NOTE("%d/%zu malformed variants refused", refused, sizeof cases / sizeof cases[0]);

    /* old format */
    const char *old =
        "<?xml version=\"1.0\"?><opencv_storage><c type_id=\"opencv-haar-classifier\">"
        "<size>20 20</size><stages><_><trees/></_></stages></c></opencv_storage>";
    MT_CHECK(try_load(old, strlen(old), err, sizeof err) != 0);
    MT_NOTE("old format -> %s", err);
    MT_CHECK(strstr(err, "old-format") != NULL);
    /* empty, NUL bytes, deep nesting */
    MT_CHECK(try_load("", 0, err, sizeof err) != 0);
    MT_CHECK(try_load("\0\0\0", 3, err, sizeof err) != 0);
    size_t deep_n = 100000;
    char *deep = malloc(deep_n * 4 + 64);
    size_t k = 0;
    for (size_t i = 0; i < deep_n; i++)
        memcpy(deep + k, "<a>", 3), k += 3;
    MT_CHECK(try_load(deep, k, err, sizeof err) != 0);
    MT_NOTE("100000 nested elements -> %s", err);
    free(deep);
}

/* Integers near INT_MIN/INT_MAX where the loader adds or negates them (found by
 * tests/fuzz/fuzz-cascade: x + w, x - h, x + 3w and -left overflowed int, so a rectangle far
 * outside the window wrapped around into it and the detector read outside its integral images).
 * Each must be refused, with no signed overflow under UBSan. */
static void test_int_overflow(void)
{
    static const struct {
        const char *from, *to, *why;
    } cases[] = {
        {"<_>0 2 4 2 1.</_>", "<_>2147483647 2 4 2 1.</_>", "x + w past INT_MAX"},
        {"<_>0 2 4 2 1.</_>", "<_>0 2147483646 4 2 1.</_>", "y + h past INT_MAX"},
        {"<_>0 0 4 4 -1.</_><_>1 1 2 2 4.</_></rects><tilted>0</tilted>",
         "<_>-2147483648 0 1 1 -1.</_><_>1 1 2 2 4.</_></rects><tilted>1</tilted>",
         "tilted x - h below INT_MIN"},
        {"<_>0 0 4 4 -1.</_><_>1 1 2 2 4.</_></rects><tilted>0</tilted>",
         "<_>1 2147483646 1 1 -1.</_><_>1 1 2 2 4.</_></rects><tilted>1</tilted>",
         "tilted y + w + h past INT_MAX"},
        {"0 -1 0 1.5e-01", "-2147483648 -1 0 1.5e-01", "leaf index -INT_MIN"},
        {"0 -1 0 1.5e-01", "0 -2147483648 0 1.5e-01", "right leaf index -INT_MIN"},
    };
    char err[512];
    int refused = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *t = replace(tiny, cases[i].from, cases[i].to);
        MT_CHECK(t != NULL);
        if (!t)
            continue;
        err[0] = 0;
        if (try_load(t, strlen(t), err, sizeof err) == 0)
            MT_FAIL("%s: accepted", cases[i].why);
        else
            refused++;
        MT_NOTE("%-30s -> %s", cases[i].why, err);
        free(t);
    }
    /* an LBP feature reads a 3w x 3h block */
    static const char lbp[] =
        "<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType>"
        "<height>24</height><width>24</width><featureParams><maxCatCount>256</maxCatCount>"
        "</featureParams><stages><_><stageThreshold>-1</stageThreshold><weakClassifiers><_>"
        "<internalNodes>0 -1 0 -1 -1 -1 -1 -1 -1 -1 -1</internalNodes><leafValues>-1 1"
        "</leafValues></_></weakClassifiers></_></stages><features><_><rect>4 5 W 4</rect></_>"
        "</features></cascade></opencv_storage>";
    static const char *const widths[] = {"5", "1000000000", "715827883"};
    const char *at = strstr(lbp, "5 W 4");
    for (size_t i = 0; i < 3; i++) {
        char doc[sizeof lbp + 32];
        snprintf(doc, sizeof doc, "%.*s5 %s 4%s", (int)(at - lbp), lbp, widths[i], at + 5);
        err[0] = 0;
        int rc = try_load(doc, strlen(doc), err, sizeof err);
        MT_NOTE("LBP rect width %-10s -> %s", widths[i], rc ? err : "loaded");
        if (i == 0)
            MT_CHECK(rc == 0);
        else if (rc == 0)
            MT_FAIL("LBP width %s: accepted", widths[i]);
        else
            refused++;
    }
    MT_NOTE("%d/%zu overflowing variants refused", refused, sizeof cases / sizeof cases[0] + 2);
    MT_CHECK_INT(refused, sizeof cases / sizeof cases[0] + 2);
}

/* Every prefix of the tiny file, and every byte of it replaced by a few hostile values: the
 * loader either refuses or loads a consistent cascade, and (under ASan) never reads out of
 * bounds. The text is copied into an exact-size heap buffer without a terminator. */
static void test_truncations_and_mutations(void)
{
    size_t n = strlen(tiny);
    char err[512];
    int refused = 0, loaded = 0;
    for (size_t len = 0; len < n; len++) {
        char *buf = malloc(len ? len : 1);
        memcpy(buf, tiny, len);
        if (try_load(buf, len, err, sizeof err) != 0)
            refused++;
        else if (len < n - 1)
            MT_FAIL("prefix of %zu bytes accepted", len);
        free(buf);
    }
    MT_NOTE("tiny cascade: %d of %zu truncations refused (only the final newline may go)", refused,
            n);
    MT_CHECK(refused >= (int)n - 1);
    static const char vals[] = {'<', '>', '/', '"', '-', '9', ' ', 0, '&', '_'};
    refused = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t v = 0; v < sizeof vals; v++) {
            char *buf = malloc(n);
            memcpy(buf, tiny, n);
            buf[i] = vals[v];
            mim_cascade *c = NULL;
            if (mim_cascade_load_buffer(buf, n, &c, err, sizeof err) == 0) {
                loaded++;
                mim_cascade_info in;
                mim_cascade_get_info(c, &in);
                /* a loaded cascade is consistent: run it on a small image */
                mim_image *img = mim_image_new(9, 7, MIM_IMAGE_GREY8);
                for (int y = 0; y < 7; y++)
                    for (int x = 0; x < 9; x++)
                        mim_image_row8(img, y)[x] = (uint8_t)(x * 29 + y * 71);
                mim_face_rect *r;
                size_t nr;
                MT_CHECK(mim_cascade_detect(c, img, NULL, &r, &nr, err, sizeof err) == 0);
                free(r);
                mim_image_free(img);
            } else {
                refused++;
            }
            mim_cascade_free(c);
            free(buf);
        }
    MT_NOTE("tiny cascade: %zu single-byte mutations, %d refused, %d loaded (and ran)",
            n * sizeof vals, refused, loaded);

    /* prefixes of a real file */
    char path[4096];
    size_t len;
    MT_CHECK(mim_cascade_path("lbpcascade_frontalface_improved", path, sizeof path, err,
                              sizeof err) == 0);
    char *real = read_file(path, &len);
    if (!real)
        MT_SKIP("lbpcascade_frontalface_improved.xml absent (Debian package opencv-data)");
    refused = 0;
    int tried = 0;
    for (size_t cut = 0; cut + 2 < len; cut += len / 97 + 1, tried++) {
        char *buf = malloc(cut ? cut : 1);
        memcpy(buf, real, cut);
        refused += try_load(buf, cut, err, sizeof err) != 0;
        free(buf);
    }
    MT_NOTE("%s: %d of %d truncations refused; last error: %s", path, refused, tried, err);
    MT_CHECK_INT(refused, tried);
    free(real);
}

static void test_integrals(void)
{
    int w = 13, h = 9;
    mim_image *img = mim_image_new(w, h, MIM_IMAGE_GREY8);
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            seed = seed * 1664525u + 1013904223u;
            mim_image_row8(img, y)[x] = (uint8_t)(seed >> 24);
        }
    size_t st = (size_t)w + 1;
    uint32_t *S = calloc(st * (h + 1), 4), *Q = calloc(st * (h + 1), 4),
             *T = calloc(st * (h + 1), 4);
    mim__integral(img, S, Q);
    MT_CHECK(mim__tilted_integral(img, T) == 0);
    int bad_s = 0, bad_q = 0, bad_t = 0;
    for (int Y = 0; Y <= h; Y++)
        for (int X = 0; X <= w; X++) {
            uint32_t s = 0, q = 0, t = 0;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    uint32_t p = mim_image_row8(img, y)[x];
                    if (y < Y && x < X)
                        s += p, q += p * p;
                    if (y < Y && abs(x - X + 1) <= Y - y - 1)
                        t += p;
                }
            bad_s += S[Y * st + X] != s;
            bad_q += Q[Y * st + X] != q;
            bad_t += T[Y * st + X] != t;
        }
    MT_NOTE("13x9 random image: integral mismatches S %d Q %d tilted %d (of %zu entries each)",
            bad_s, bad_q, bad_t, st * (h + 1));
    MT_CHECK_INT(bad_s + bad_q + bad_t, 0);
    free(S);
    free(Q);
    free(T);
    mim_image_free(img);
}

static void test_grouping(void)
{
    /* five near-identical boxes + two + one far away, threshold 3 */
    mim_face_rect r[] = {
        {100, 100, 50, 50, 0}, {101, 100, 50, 50, 0}, {100, 102, 52, 52, 0}, {99, 99, 50, 50, 0},
        {100, 100, 51, 51, 0}, {300, 300, 40, 40, 0}, {302, 300, 40, 40, 0}, {0, 0, 30, 30, 0},
    };
    size_t n = mim_face_rects_group(r, 8, 3);
    MT_CHECK_INT(n, 1);
    /* averages 500/5 = 100, 501/5 = 100.2 -> 100, 253/5 = 50.6 -> 51 */
    MT_CHECK_INT(r[0].x, 100);
    MT_CHECK_INT(r[0].y, 100);
    MT_CHECK_INT(r[0].w, 51);
    MT_CHECK_INT(r[0].h, 51);
    MT_CHECK_INT(r[0].neighbors, 5);
    /* ties round to even: x mean 0.5 -> 0, 2.5 -> 2 */
    mim_face_rect t[] = {{0, 1, 40, 40, 0}, {1, 2, 40, 40, 0}, {0, 3, 40, 40, 0},
                         {1, 4, 40, 40, 0}, {2, 2, 40, 40, 0}, {2, 3, 40, 40, 0}};
    n = mim_face_rects_group(t, 6, 3);
    MT_CHECK_INT(n, 1);
    MT_CHECK_INT(t[0].x, 1); /* 6/6 */
    MT_CHECK_INT(t[0].y, 2); /* 15/6 = 2.5 -> 2 */
    mim_face_rect u[] = {
        {0, 0, 40, 40, 0}, {1, 1, 40, 40, 0}, {0, 0, 40, 40, 0}, {1, 1, 40, 40, 0}};
    n = mim_face_rects_group(u, 4, 3);
    MT_CHECK_INT(n, 1);
    MT_CHECK_INT(u[0].x, 0); /* 2/4 = 0.5 -> 0 */
    /* a small group inside a big one is dropped when the big one has more neighbours */
    mim_face_rect v[12];
    for (int i = 0; i < 8; i++)
        v[i] = (mim_face_rect){10, 10, 100, 100, 0};
    for (int i = 8; i < 12; i++)
        v[i] = (mim_face_rect){40, 40, 30, 30, 0};
    n = mim_face_rects_group(v, 12, 3);
    MT_CHECK_INT(n, 1);
    MT_CHECK_INT(v[0].w, 100);
    /* threshold 0: untouched */
    MT_CHECK_INT(mim_face_rects_group(v, 12, 0), 12);
}

static void test_detect_args(void)
{
    mim_cascade *c;
    if (load("lbpcascade_frontalface_improved", &c) != 0)
        MT_SKIP("lbpcascade_frontalface_improved absent (Debian package opencv-data)");
    char err[256];
    mim_image *img = mim_image_new(40, 30, MIM_IMAGE_GREY8); /* smaller than the 45x45 window */
    mim_face_rect *r = (mim_face_rect *)1;
    size_t n = 99;
    MT_CHECK(mim_cascade_detect(c, img, NULL, &r, &n, err, sizeof err) == 0);
    MT_CHECK(r == NULL && n == 0);
    mim_detect_opts o;
    mim_detect_opts_init(&o);
    MT_CHECK(o.scale_factor == 1.1 && o.min_neighbors == 3);
    o.scale_factor = 1.0;
    MT_CHECK(mim_cascade_detect(c, img, &o, &r, &n, err, sizeof err) != 0);
    MT_NOTE("scale factor 1.0 -> %s", err);
    mim_image_free(img);
    mim_cascade_free(c);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_counts);
    MT_RUN(test_stage_counts);
    MT_RUN(test_missing_file);
    MT_RUN(test_malformed);
    MT_RUN(test_int_overflow);
    MT_RUN(test_truncations_and_mutations);
    MT_RUN(test_integrals);
    MT_RUN(test_grouping);
    MT_RUN(test_detect_args);
    return mt_done();
}
