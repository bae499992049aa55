/* test-landmark-fixtures.c: 68 landmarks on the real fixture faces against dlib 19.24's recorded
 * output (shared/fixtures/faces/reference/<name>.json, README there).
 *
 * The same pixels first: the image is decoded by app/image (libjpeg-turbo) and its RGB bytes
 * must hash to the fixture's rgb_sha256 (OpenCV's grey to gray_sha256) before any number is
 * compared. Then, on the reference's own boxes:
 *   - dlib.on_haarcascade_frontalface_default[].rect -> landmarks_rgb / landmarks_gray,
 *   - dlib.hog[].rect -> landmarks_rgb / landmarks_gray,
 * the error per point is measured in pixels and in units of the inter-ocular distance (distance of
 * the eye centres, mean of iBUG 36..41 and 42..47, of dlib's points). Bound: 1 % of it per point.
 * Finally the detect-and-landmark path (our cascade, haarcascade_frontalface_default, box mapped
 * per FORMATS.md A.4) against dlib's HOG-box landmarks of the same face: mean and per-face
 * figures reported, the median face bounded by 3 % of the inter-ocular distance (suite slow: the
 * cascade on the large photos takes ~35 s). */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "aunet/mim-json.h"
#include "face/mim-cascade.h"
#include "landmark/mim-landmark.h"
#include "image/mimica-image.h"

static mim_shape_predictor *sp;
static char sp_err[512];
static char *fixture_dir;

typedef struct {
    int n_boxes, n_exact;
    double max_iod, sum_iod, max_px, sum_px;
    long n_points;
} errstat;

static int read_points(const mim_json *arr, int32_t *xy)
{
    if (!arr || arr->type != MIM_JSON_ARRAY || arr->n_children != 68)
        return -1;
    int k = 0;
    for (const mim_json *p = arr->child; p; p = p->next, k++) {
        if (p->type != MIM_JSON_ARRAY || p->n_children != 2)
            return -1;
        xy[2 * k] = (int32_t)p->child->number;
        xy[2 * k + 1] = (int32_t)p->child->next->number;
    }
    return 0;
}

static int read_rect(const mim_json *arr, mim_face_box *b)
{
    if (!arr || arr->type != MIM_JSON_ARRAY || arr->n_children != 4)
        return -1;
    const mim_json *c = arr->child;
    b->left = c->number;
    b->top = c->next->number;
    b->right = c->next->next->number;
    b->bottom = c->next->next->next->number;
    return 0;
}

static double iod_of(const int32_t *xy)
{
    double ex[2] = {0, 0}, ey[2] = {0, 0};
    for (int k = 36; k < 48; k++) {
        ex[k >= 42] += xy[2 * k] / 6.0;
        ey[k >= 42] += xy[2 * k + 1] / 6.0;
    }
    return hypot(ex[1] - ex[0], ey[1] - ey[0]);
}

/* compares one prediction with dlib's integer points; returns the max error in IOD units */
static double compare(const int32_t *got, const float *gotf, const int32_t *want, errstat *st,
                      int use_float)
{
    double iod = iod_of(want), worst = 0;
    int exact = 1;
    for (int k = 0; k < 68; k++) {
        double gx = use_float ? gotf[2 * k] : got[2 * k];
        double gy = use_float ? gotf[2 * k + 1] : got[2 * k + 1];
        double d = hypot(gx - want[2 * k], gy - want[2 * k + 1]);
        exact &= got[2 * k] == want[2 * k] && got[2 * k + 1] == want[2 * k + 1];
        st->max_px = fmax(st->max_px, d);
        st->sum_px += d;
        st->max_iod = fmax(st->max_iod, d / iod);
        st->sum_iod += d / iod;
        worst = fmax(worst, d / iod);
        st->n_points++;
    }
    st->n_boxes++;
    st->n_exact += exact;
    return worst;
}

typedef struct {
    mim_json_doc *doc;
    mim_image *rgb, *grey;
    char *name;
} fixture;

static void fixture_free(fixture *f)
{
    mim_json_doc_free(f->doc);
    mim_image_free(f->rgb);
    mim_image_free(f->grey);
    g_free(f->name);
}

static char *sha256_of(const mim_image *img)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    for (int y = 0; y < img->height; y++)
        g_checksum_update(c, mim_image_row8(img, y), (gssize)img->width * img->channels);
    char *s = g_strdup(g_checksum_get_string(c));
    g_checksum_free(c);
    return s;
}

/* loads fixture json `file`; FALSE (test failed) if pixels differ */
static gboolean fixture_load(const char *file, fixture *f)
{
    memset(f, 0, sizeof *f);
    f->name = g_strdup(file);
    g_autofree char *jpath = g_build_filename(fixture_dir, "reference", file, NULL);
    g_autofree char *text = NULL;
    gsize len;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(jpath, &text, &len, &error)) {
        g_test_fail_printf("%s: %s", jpath, error->message);
        return FALSE;
    }
    char err[256];
    if (mim_json_parse(text, len, &f->doc, err, sizeof err)) {
        g_test_fail_printf("%s: %s", jpath, err);
        return FALSE;
    }
    const mim_json *root = mim_json_root(f->doc);
    const mim_json *image = mim_json_get(root, "image");
    const mim_json *rgb_sha = mim_json_get(root, "rgb_sha256");
    const mim_json *grey_sha = mim_json_get(root, "gray_sha256");
    if (!image || image->type != MIM_JSON_STRING || !rgb_sha || !grey_sha) {
        g_test_fail_printf("%s: no image / rgb_sha256 / gray_sha256", jpath);
        return FALSE;
    }
    g_autofree char *ipath = g_build_filename(fixture_dir, image->str, NULL);
    f->rgb = mimica_image_load(ipath, &error);
    if (!f->rgb) {
        g_test_fail_printf("%s: %s", ipath, error->message);
        return FALSE;
    }
    f->grey = mim_image_new(f->rgb->width, f->rgb->height, MIM_IMAGE_GREY8);
    mim_image_rgb_to_grey(f->rgb, f->grey);
    g_autofree char *h1 = sha256_of(f->rgb);
    g_autofree char *h2 = sha256_of(f->grey);
    if (strcmp(h1, rgb_sha->str) || strcmp(h2, grey_sha->str)) {
        g_test_fail_printf("%s: decoded pixels differ from the reference's (rgb %s vs %s, grey "
                           "%s vs %s): landmarks cannot be compared",
                           image->str, h1, rgb_sha->str, h2, grey_sha->str);
        return FALSE;
    }
    return TRUE;
}

static char **fixture_files(void)
{
    g_autofree char *dir = g_build_filename(fixture_dir, "reference", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return NULL;
    GPtrArray *a = g_ptr_array_new();
    const char *n;
    while ((n = g_dir_read_name(d)))
        if (g_str_has_suffix(n, ".json"))
            g_ptr_array_add(a, g_strdup(n));
    g_dir_close(d);
    g_ptr_array_add(a, NULL);
    char **v = (char **)g_ptr_array_free(a, FALSE);
    /* sorted by name, so the order (and the messages) are stable */
    for (int i = 0; v[i]; i++)
        for (int j = i + 1; v[j]; j++)
            if (strcmp(v[i], v[j]) > 0) {
                char *t = v[i];
                v[i] = v[j];
                v[j] = t;
            }
    return v;
}

static gboolean need_data(void)
{
    if (!sp) {
        g_test_skip_printf("%s", sp_err);
        return FALSE;
    }
    if (!fixture_dir || !g_file_test(fixture_dir, G_FILE_TEST_IS_DIR)) {
        g_test_skip_printf("fixture folder %s absent", fixture_dir ? fixture_dir : "(unset)");
        return FALSE;
    }
    return TRUE;
}

static void report(const char *what, const errstat *s)
{
    g_test_message("%s: %d boxes, %d exact; error max %.4f %% IOD (%.2f px), mean %.5f %% IOD "
                   "(%.4f px)",
                   what, s->n_boxes, s->n_exact, 100 * s->max_iod, s->max_px,
                   s->n_points ? 100 * s->sum_iod / s->n_points : 0,
                   s->n_points ? s->sum_px / s->n_points : 0);
}

static void test_reference_boxes(void)
{
    if (!need_data())
        return;
    g_auto(GStrv) files = fixture_files();
    errstat st[2][2] = {{{0}}}; /* [haar|hog][rgb|gray] */
    int n_images = 0;
    for (int i = 0; files && files[i]; i++) {
        fixture f;
        if (!fixture_load(files[i], &f)) {
            fixture_free(&f);
            continue;
        }
        n_images++;
        const mim_json *dl = mim_json_get(mim_json_root(f.doc), "dlib");
        const char *keys[2] = {"on_haarcascade_frontalface_default", "hog"};
        for (int s = 0; s < 2; s++) {
            const mim_json *arr = mim_json_get(dl, keys[s]);
            for (const mim_json *e = arr ? arr->child : NULL; e; e = e->next) {
                mim_face_box box;
                int32_t want[136], got[136];
                float gotf[136];
                g_assert_cmpint(read_rect(mim_json_get(e, "rect"), &box), ==, 0);
                for (int c = 0; c < 2; c++) {
                    g_assert_cmpint(
                        read_points(mim_json_get(e, c ? "landmarks_gray" : "landmarks_rgb"), want),
                        ==, 0);
                    mim_shape_predictor_predict(sp, c ? f.grey : f.rgb, &box, gotf, got, NULL);
                    double w = compare(got, gotf, want, &st[s][c], 0);
                    if (w > 0.01)
                        g_test_fail_printf("%s %s box [%g %g %g %g] %s: max error %.3f %% IOD",
                                           f.name, keys[s], box.left, box.top, box.right,
                                           box.bottom, c ? "gray" : "rgb", 100 * w);
                }
            }
        }
        fixture_free(&f);
    }
    g_test_message("%d images with matching pixels", n_images);
    report("haar boxes, rgb", &st[0][0]);
    report("haar boxes, gray", &st[0][1]);
    report("hog boxes, rgb", &st[1][0]);
    report("hog boxes, gray", &st[1][1]);
    g_assert_cmpint(n_images, >, 0);
    g_assert_cmpint(st[0][0].n_boxes + st[1][0].n_boxes, >, 0);
}

static double box_iou(const mim_face_box *a, const mim_face_box *b)
{
    double iw = fmin(a->right, b->right) - fmax(a->left, b->left) + 1;
    double ih = fmin(a->bottom, b->bottom) - fmax(a->top, b->top) + 1;
    if (iw <= 0 || ih <= 0)
        return 0;
    double aa = (a->right - a->left + 1) * (a->bottom - a->top + 1);
    double ab = (b->right - b->left + 1) * (b->bottom - b->top + 1);
    return iw * ih / (aa + ab - iw * ih);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* our cascade's boxes, mapped, then landmarks; matched to dlib's HOG faces by box overlap */
static void test_detect_path(void)
{
    if (!need_data())
        return;
    mim_cascade *cas;
    char err[512];
    if (mim_cascade_load_named(NULL, &cas, err, sizeof err)) {
        g_test_skip_printf("%s", err);
        return;
    }
    g_auto(GStrv) files = fixture_files();
    errstat st = {0}, st_raw = {0}, st_ref = {0};
    int n_hog = 0, n_found = 0;
    double per_face[256];
    int n_pf = 0;
    for (int i = 0; files && files[i]; i++) {
        fixture f;
        if (!fixture_load(files[i], &f)) {
            fixture_free(&f);
            continue;
        }
        mim_face_rect *rects = NULL;
        size_t n_rects = 0;
        if (mim_cascade_detect(cas, f.grey, NULL, &rects, &n_rects, err, sizeof err)) {
            g_test_fail_printf("%s: %s", f.name, err);
            fixture_free(&f);
            continue;
        }
        const mim_json *hog = mim_json_get(mim_json_get(mim_json_root(f.doc), "dlib"), "hog");
        for (const mim_json *e = hog ? hog->child : NULL; e; e = e->next) {
            mim_face_box hb;
            int32_t want[136], got[136];
            float gotf[136];
            read_rect(mim_json_get(e, "rect"), &hb);
            read_points(mim_json_get(e, "landmarks_rgb"), want);
            n_hog++;
            int best = -1;
            double best_iou = 0.3;
            for (size_t r = 0; r < n_rects; r++) {
                mim_face_box mb =
                    mim_face_box_from_cascade(rects[r].x, rects[r].y, rects[r].w, rects[r].h);
                double iou = box_iou(&mb, &hb);
                if (iou > best_iou)
                    best_iou = iou, best = (int)r;
            }
            if (best < 0)
                continue;
            n_found++;
            mim_face_box mb = mim_face_box_from_cascade(rects[best].x, rects[best].y, rects[best].w,
                                                        rects[best].h);
            mim_shape_predictor_predict(sp, f.rgb, &mb, gotf, got, NULL);
            long n0 = st.n_points;
            double s0 = st.sum_iod;
            compare(got, gotf, want, &st, 0);
            double pf = (st.sum_iod - s0) / (st.n_points - n0);
            if (n_pf < 256)
                per_face[n_pf++] = pf;
            if (pf > 0.1)
                g_test_message("%s: HOG box [%g %g %g %g], cascade box %d %d %d %d (%d "
                               "neighbours), IoU %.2f: mean error %.1f %% IOD (IOD %.1f px)",
                               f.name, hb.left, hb.top, hb.right, hb.bottom, rects[best].x,
                               rects[best].y, rects[best].w, rects[best].h, rects[best].neighbors,
                               best_iou, 100 * pf, iod_of(want));
            mim_face_box raw =
                mim_face_box_from_xywh(rects[best].x, rects[best].y, rects[best].w, rects[best].h);
            mim_shape_predictor_predict(sp, f.rgb, &raw, gotf, got, NULL);
            compare(got, gotf, want, &st_raw, 0);
            /* one more pass in the box the first result implies (what the tracker does) */
            mim_shape_predictor_predict(sp, f.rgb, &mb, gotf, got, NULL);
            mim_face_box rb;
            mim_landmark_box_from_shape(sp, gotf, &rb);
            mim_shape_predictor_predict(sp, f.rgb, &rb, gotf, got, NULL);
            compare(got, gotf, want, &st_ref, 0);
        }
        free(rects);
        fixture_free(&f);
    }
    mim_cascade_free(cas);
    g_test_message("dlib HOG faces %d, found by our cascade %d", n_hog, n_found);
    report("cascade box mapped (A.4) vs dlib on its HOG box", &st);
    report("cascade box raw vs dlib on its HOG box", &st_raw);
    report("cascade box mapped, then refitted in the landmarks' box", &st_ref);
    g_assert_cmpint(n_found, >, 0);
    qsort(per_face, n_pf, sizeof *per_face, cmp_double);
    g_test_message("per face mean error (%% IOD): median %.2f, 90th percentile %.2f, max %.2f",
                   100 * per_face[n_pf / 2], 100 * per_face[n_pf * 9 / 10],
                   100 * per_face[n_pf - 1]);
    /* The mean is dominated by a few small or turned faces where the regressor, started from
     * another box, settles elsewhere (listed above); FORMATS.md A.4 reports medians (1.3 % mapped,
     * 1.7 % raw, on 179 faces). Bound: the median face within 3 %. */
    double mean = st.sum_iod / st.n_points;
    g_test_message("mean error %.3f %% IOD over all points, median face %.2f %% (bound 3 %%)",
                   100 * mean, 100 * per_face[n_pf / 2]);
    if (per_face[n_pf / 2] > 0.03)
        g_test_fail_printf("detect-and-landmark median face error %.3f %% IOD > 3 %%",
                           100 * per_face[n_pf / 2]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    if (shared)
        fixture_dir = g_build_filename(shared, "fixtures", "faces", NULL);
    if (mim_shape_predictor_load(NULL, &sp, sp_err, sizeof sp_err))
        sp = NULL;
    g_test_add_func("/landmark/fixtures/reference-boxes", test_reference_boxes);
    g_test_add_func("/landmark/fixtures/detect-path", test_detect_path);
    int rc = g_test_run();
    mim_shape_predictor_free(sp);
    g_free(fixture_dir);
    return rc;
}
