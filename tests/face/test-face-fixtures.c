/* test-face-fixtures.c (suite app): the real faces of ../shared/fixtures/faces against OpenCV
 * 4.6.0's outputs recorded beside them (fixtures/faces/README.md):
 *   - decoded pixels: SHA-256 of the RGB bytes and of the 8-bit grey conversion equal
 *     rgb_sha256 / gray_sha256 (our JPEG decoder gives OpenCV's imread pixels);
 *   - raw candidates (min neighbours 0) of three cascades equal raw_candidates_xywh exactly;
 *   - grouped detections (scale 1.1, min neighbours 3) match faces_xywh_neighbors with
 *     IoU >= 0.9 for >= 95 % of the reference faces (and of ours), neighbour counts compared.
 * Suite app runs the images of at most 1 megapixel (11 of 17); suite slow (--all) every one.
 * Needs the fixtures and opencv-data; skips saying which is missing. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "aunet/mim-json.h"
#include "face/mim-cascade.h"
#include "image/mimica-image.h"
#include "../common/fixture-skip.h"

static const char *const cascades[] = {
    "haarcascade_frontalface_default",
    "haarcascade_frontalface_alt2",
    "lbpcascade_frontalface_improved",
};
#define N_CASCADES 3

typedef struct {
    char *ref_path;
    char *image_path;
    mim_json_doc *doc;
    mim_image *rgb; /* NULL if it did not decode */
} fixture;

static GPtrArray *fixtures; /* fixture* */
static gboolean all_sizes;  /* --all: also the 1920-pixel photos (suite slow) */
static char *skip_reason;   /* set when data is absent */

static void fixture_free(gpointer p)
{
    fixture *f = p;
    g_free(f->ref_path);
    g_free(f->image_path);
    mim_json_doc_free(f->doc);
    mim_image_free(f->rgb);
    g_free(f);
}

static char *faces_dir(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    if (!shared)
        return NULL;
    return g_build_filename(shared, "fixtures", "faces", NULL);
}

static void load_fixtures(void)
{
    fixtures = g_ptr_array_new_with_free_func(fixture_free);
    g_autofree char *dir = faces_dir();
    if (!dir) {
        skip_reason = g_strdup("MIMICA_SHARED_DIR is not set");
        return;
    }
    g_autofree char *refdir = g_build_filename(dir, "reference", NULL);
    GDir *d = g_dir_open(refdir, 0, NULL);
    if (!d) {
        skip_reason = g_strdup_printf("no fixture references in %s", refdir);
        return;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(d)))
        if (g_str_has_suffix(name, ".json"))
            g_ptr_array_add(names, g_strdup(name));
    g_dir_close(d);
    /* sorted by name, so that the report is in a stable order */
    for (guint i = 0; i + 1 < names->len; i++)
        for (guint j = i + 1; j < names->len; j++)
            if (strcmp(names->pdata[i], names->pdata[j]) > 0) {
                gpointer t = names->pdata[i];
                names->pdata[i] = names->pdata[j];
                names->pdata[j] = t;
            }
    for (guint i = 0; i < names->len; i++) {
        fixture *f = g_new0(fixture, 1);
        f->ref_path = g_build_filename(refdir, names->pdata[i], NULL);
        g_autofree char *text = NULL;
        gsize len;
        char err[256];
        g_assert_true(g_file_get_contents(f->ref_path, &text, &len, NULL));
        if (mim_json_parse(text, len, &f->doc, err, sizeof err) != 0)
            g_error("%s: %s", f->ref_path, err);
        const mim_json *img = mim_json_get(mim_json_root(f->doc), "image");
        const mim_json *w = mim_json_get(mim_json_root(f->doc), "width");
        const mim_json *h = mim_json_get(mim_json_root(f->doc), "height");
        g_assert_nonnull(img);
        g_assert_true(w && h);
        if (!all_sizes && w->number * h->number > 1e6) {
            fixture_free(f);
            continue;
        }
        f->image_path = g_build_filename(dir, img->str, NULL);
        GError *error = NULL;
        f->rgb = mimica_image_load(f->image_path, &error);
        if (!f->rgb) {
            g_test_message("%s: %s", f->image_path, error->message);
            g_error_free(error);
        }
        g_ptr_array_add(fixtures, f);
    }
    if (fixtures->len == 0)
        skip_reason = g_strdup_printf("no *.json in %s", refdir);
}

static char *sha256_hex(const mim_image *img)
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    size_t row = (size_t)img->width * (size_t)img->channels;
    for (int y = 0; y < img->height; y++)
        g_checksum_update(c, mim_image_row8(img, y), row);
    char *hex = g_strdup(g_checksum_get_string(c));
    g_checksum_free(c);
    return hex;
}

static void test_decoded_pixels(void)
{
    if (skip_reason) {
        mimica_test_skip_fixtures(skip_reason);
        return;
    }
    int n_rgb = 0, n_grey = 0, n = 0;
    for (guint i = 0; i < fixtures->len; i++) {
        fixture *f = fixtures->pdata[i];
        const mim_json *root = mim_json_root(f->doc);
        const mim_json *want_rgb = mim_json_get(root, "rgb_sha256");
        const mim_json *want_grey = mim_json_get(root, "gray_sha256");
        const mim_json *w = mim_json_get(root, "width"), *h = mim_json_get(root, "height");
        n++;
        if (!f->rgb) {
            g_test_message("%s: did not decode", f->image_path);
            continue;
        }
        g_autofree char *rgb = sha256_hex(f->rgb);
        mim_image *grey = mim_image_new(f->rgb->width, f->rgb->height, MIM_IMAGE_GREY8);
        mim_image_rgb_to_grey(f->rgb, grey);
        g_autofree char *gr = sha256_hex(grey);
        mim_image_free(grey);
        gboolean size_ok =
            w && h && f->rgb->width == (int)w->number && f->rgb->height == (int)h->number;
        gboolean rgb_ok = size_ok && want_rgb && strcmp(rgb, want_rgb->str) == 0;
        gboolean grey_ok = size_ok && want_grey && strcmp(gr, want_grey->str) == 0;
        n_rgb += rgb_ok;
        n_grey += grey_ok;
        g_test_message("%-28s %4dx%-4d rgb %s grey %s", strrchr(f->image_path, '/') + 1,
                       f->rgb->width, f->rgb->height, rgb_ok ? "equal" : "DIFFERENT",
                       grey_ok ? "equal" : "DIFFERENT");
        if (!rgb_ok)
            g_test_message("  rgb  got %s want %s", rgb, want_rgb ? want_rgb->str : "?");
    }
    g_test_message("decoded pixels: rgb hash equal %d/%d, grey hash equal %d/%d", n_rgb, n, n_grey,
                   n);
    g_assert_cmpint(n_rgb, ==, n);
    g_assert_cmpint(n_grey, ==, n);
}

/* boxes of a reference list: [[x,y,w,h(,n)], ...] */
static int read_boxes(const mim_json *arr, mim_face_rect **out)
{
    g_assert_nonnull(arr);
    g_assert_cmpint(arr->type, ==, MIM_JSON_ARRAY);
    int n = (int)arr->n_children, i = 0;
    *out = g_new0(mim_face_rect, n > 0 ? n : 1);
    for (const mim_json *b = arr->child; b; b = b->next, i++) {
        int v[5] = {0};
        int k = 0;
        for (const mim_json *e = b->child; e && k < 5; e = e->next, k++)
            v[k] = (int)e->number;
        g_assert_cmpint(k, >=, 4);
        (*out)[i] = (mim_face_rect){v[0], v[1], v[2], v[3], v[4]};
    }
    return n;
}

static int rect_cmp(const void *pa, const void *pb)
{
    const mim_face_rect *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x - b->x;
    if (a->y != b->y)
        return a->y - b->y;
    if (a->w != b->w)
        return a->w - b->w;
    return a->h - b->h;
}

static double iou(const mim_face_rect *a, const mim_face_rect *b)
{
    int x0 = MAX(a->x, b->x), y0 = MAX(a->y, b->y);
    int x1 = MIN(a->x + a->w, b->x + b->w), y1 = MIN(a->y + a->h, b->y + b->h);
    double inter = (x1 > x0 && y1 > y0) ? (double)(x1 - x0) * (y1 - y0) : 0;
    double uni = (double)a->w * a->h + (double)b->w * b->h - inter;
    return uni > 0 ? inter / uni : 0;
}

typedef struct {
    int raw_runs, raw_exact_runs;
    long raw_ref, raw_common, raw_missing, raw_extra;
    int ref_faces, ref_matched, ours, ours_matched, same_n;
    double worst_iou;
    const char *worst_where;
    char worst_buf[128];
    double seconds;
} tally;

static void run_cascade(int ci, tally *t)
{
    char err[512];
    mim_cascade *c = NULL;
    if (mim_cascade_load_named(cascades[ci], &c, err, sizeof err) != 0) {
        g_test_skip(err);
        return;
    }
    t->worst_iou = 1.0;
    for (guint i = 0; i < fixtures->len; i++) {
        fixture *f = fixtures->pdata[i];
        const char *base = strrchr(f->image_path, '/') + 1;
        g_assert_nonnull(f->rgb);
        const mim_json *ref =
            mim_json_get(mim_json_get(mim_json_get(mim_json_root(f->doc), "opencv"), cascades[ci]),
                         "raw_candidates_xywh");
        const mim_json *grouped_ref =
            mim_json_get(mim_json_get(mim_json_get(mim_json_root(f->doc), "opencv"), cascades[ci]),
                         "faces_xywh_neighbors");
        if (!ref || !grouped_ref)
            continue;
        mim_face_rect *want_raw, *want, *raw, *got;
        int n_want_raw = read_boxes(ref, &want_raw);
        int n_want = read_boxes(grouped_ref, &want);
        size_t n_raw, n_got;
        /* the candidates once: clipped they are the min-neighbours-0 output, grouped (3) and
         * clipped the default output; mim_cascade_detect does exactly this (checked on the
         * first image) */
        gint64 t0 = g_get_monotonic_time();
        g_assert_cmpint(mim_cascade_candidates(c, f->rgb, NULL, &raw, &n_raw, err, sizeof err), ==,
                        0);
        t->seconds += (g_get_monotonic_time() - t0) / 1e6;
        if (i == 0) {
            /* min/max size only drop scales: the candidates are those of the full run whose
             * window lies in [min, max] (compared before clipping) */
            mim_detect_opts o;
            mim_detect_opts_init(&o);
            o.min_width = o.min_height = 40;
            o.max_width = o.max_height = 90;
            mim_face_rect *lim;
            size_t n_lim, n_want_lim = 0;
            g_assert_cmpint(mim_cascade_candidates(c, f->rgb, &o, &lim, &n_lim, err, sizeof err),
                            ==, 0);
            for (size_t k = 0; k < n_raw; k++)
                n_want_lim += raw[k].w >= 40 && raw[k].h >= 40 && raw[k].w <= 90 && raw[k].h <= 90;
            g_test_message("%s: %zu candidates with window 40..90 px, %zu of the full run in that "
                           "range",
                           base, n_lim, n_want_lim);
            g_assert_cmpuint(n_lim, ==, n_want_lim);
            for (size_t k = 0; k < n_lim; k++)
                g_assert_true(lim[k].w >= 40 && lim[k].w <= 90);
            free(lim);
        }
        got = g_memdup2(raw, sizeof *raw * (n_raw ? n_raw : 1));
        n_got = mim_face_rects_group(got, n_raw, 3);
        n_got = mim_face_rects_clip(got, n_got, f->rgb->width, f->rgb->height);
        n_raw = mim_face_rects_clip(raw, n_raw, f->rgb->width, f->rgb->height);
        if (i == 0) {
            mim_face_rect *api;
            size_t n_api;
            g_assert_cmpint(mim_cascade_detect(c, f->rgb, NULL, &api, &n_api, err, sizeof err), ==,
                            0);
            g_assert_cmpuint(n_api, ==, n_got);
            g_assert_true(n_api == 0 || memcmp(api, got, n_api * sizeof *api) == 0);
            free(api);
        }

        /* raw: multiset comparison of sorted lists */
        qsort(want_raw, (size_t)n_want_raw, sizeof *want_raw, rect_cmp);
        size_t a = 0, b = 0;
        long common = 0;
        while (a < n_raw && b < (size_t)n_want_raw) {
            int cmp = rect_cmp(&raw[a], &want_raw[b]);
            if (cmp == 0)
                common++, a++, b++;
            else if (cmp < 0)
                a++;
            else
                b++;
        }
        long missing = n_want_raw - common, extra = (long)n_raw - common;
        t->raw_runs++;
        t->raw_exact_runs += missing == 0 && extra == 0;
        t->raw_ref += n_want_raw;
        t->raw_common += common;
        t->raw_missing += missing;
        t->raw_extra += extra;

        /* grouped: best IoU per reference face and per face of ours */
        int matched = 0, ours_matched = 0, same_n = 0;
        for (int k = 0; k < n_want; k++) {
            double best = 0;
            int best_j = -1;
            for (size_t j = 0; j < n_got; j++) {
                double v = iou(&want[k], &got[j]);
                if (v > best)
                    best = v, best_j = (int)j;
            }
            matched += best >= 0.9;
            if (best_j >= 0 && best == 1.0 && got[best_j].neighbors == want[k].neighbors)
                same_n++;
            if (best < t->worst_iou) {
                t->worst_iou = best;
                g_snprintf(t->worst_buf, sizeof t->worst_buf, "%s ref [%d %d %d %d]", base,
                           want[k].x, want[k].y, want[k].w, want[k].h);
            }
        }
        for (size_t j = 0; j < n_got; j++) {
            double best = 0;
            for (int k = 0; k < n_want; k++)
                best = MAX(best, iou(&want[k], &got[j]));
            ours_matched += best >= 0.9;
            if (best < t->worst_iou) {
                t->worst_iou = best;
                g_snprintf(t->worst_buf, sizeof t->worst_buf, "%s ours [%d %d %d %d]", base,
                           got[j].x, got[j].y, got[j].w, got[j].h);
            }
        }
        t->ref_faces += n_want;
        t->ref_matched += matched;
        t->ours += (int)n_got;
        t->ours_matched += ours_matched;
        t->same_n += same_n;
        g_test_message("%-28s raw %4zu/%-4d common %4ld missing %ld extra %ld | grouped ours %2zu "
                       "ref %2d matched %2d/%d (IoU>=0.9), identical with same n %d",
                       base, n_raw, n_want_raw, common, missing, extra, n_got, n_want, matched,
                       n_want, same_n);
        g_free(want_raw);
        g_free(want);
        free(raw);
        g_free(got);
    }
    mim_cascade_free(c);
}

static void test_cascade(gconstpointer data)
{
    int ci = GPOINTER_TO_INT(data);
    if (skip_reason) {
        mimica_test_skip_fixtures(skip_reason);
        return;
    }
    tally t = {0};
    run_cascade(ci, &t);
    if (g_test_failed() || t.raw_runs == 0) {
        if (t.raw_runs == 0 && !g_test_failed())
            g_test_skip("no reference for this cascade");
        return;
    }
    double frac = t.ref_faces ? (double)t.ref_matched / t.ref_faces : 1.0;
    double frac_ours = t.ours ? (double)t.ours_matched / t.ours : 1.0;
    g_test_message("%s: raw candidates: %d/%d images identical; %ld of %ld reference candidates "
                   "found, %ld missing, %ld extra",
                   cascades[ci], t.raw_exact_runs, t.raw_runs, t.raw_common, t.raw_ref,
                   t.raw_missing, t.raw_extra);
    g_test_message("%s: grouped: %d/%d reference faces matched at IoU >= 0.9 (%.1f %%), %d/%d of "
                   "ours (%.1f %%), %d/%d identical with the same neighbour count; worst IoU %.3f "
                   "(%s); candidates in %.2f s for %d images",
                   cascades[ci], t.ref_matched, t.ref_faces, 100 * frac, t.ours_matched, t.ours,
                   100 * frac_ours, t.same_n, t.ref_faces, t.worst_iou,
                   t.worst_buf[0] ? t.worst_buf : "-", t.seconds, t.raw_runs);
    g_assert_cmpfloat(frac, >=, 0.95);
    g_assert_cmpfloat(frac_ours, >=, 0.95);
    g_assert_cmpint(t.raw_exact_runs, ==, t.raw_runs);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--all"))
            all_sizes = TRUE;
    g_test_init(&argc, &argv, NULL);
    load_fixtures();
    g_test_message("%u fixture images%s", fixtures->len,
                   all_sizes ? " (all sizes)" : " of at most 1 megapixel (--all: every size)");
    g_test_add_func("/face/fixtures/decoded-pixels", test_decoded_pixels);
    for (int ci = 0; ci < N_CASCADES; ci++) {
        g_autofree char *path = g_strdup_printf("/face/fixtures/%s", cascades[ci]);
        g_test_add_data_func(path, GINT_TO_POINTER(ci), test_cascade);
    }
    int rc = g_test_run();
    g_ptr_array_unref(fixtures);
    g_free(skip_reason);
    return rc;
}
