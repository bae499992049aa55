/* test-analysis.c: `mimica-cli analyze` on real face videos, as a user runs it.
 *
 * The clips come from face-clips.c: fixture photos (real faces) moved, scaled, rolled, cut out
 * of the frame and back, deformed into expressions by the face generator, encoded as WMV, AVI,
 * MP4/H.264 and MOV/HEVC with variable frame rates. The truth of every frame is known: which
 * faces are visible, their 68 landmarks (dlib's landmarks of the photo under the frame's
 * transform) and AU intensities. Each test runs the real mimica-cli on the clip and checks the
 * CSV it writes:
 *   - a row for every decoded frame and face; exactly one row with success 0 where no face is
 *     visible, none where a face is (frames where a face is partly out of the frame: either);
 *   - landmarks of neutral faces within 3 % of the inter-ocular distance of dlib's (mean over the
 *     68 points, averaged over the frames; the distribution is printed);
 *   - one face_id per person (also when a face leaves and comes back);
 *   - geometry AUs that follow the expressions: a smile raises 6 and 12, raised brows 1 and 2,
 *     an open mouth 25 and 26, a blink 45 (mean intensity where the expression is held, against
 *     the same face's neutral frames);
 * and the project it wrote (integrity, the analysis done, its faces and calibrations). Other
 * tests: exit statuses (2 usage, 3 unreadable input, 4 truncated input), an AU-network model
 * file in the same pipeline, and an analysis killed midway that resumes where it stopped. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/wait.h>

#include "aunet/mim-aunet.h"
#include "face-clips.h"
#include "landmark/mim-landmark.h"
#include "media/mimica-decoder.h"
#include "store/mimica-store.h"
#include "cli-fixture.h"

typedef CliFixture Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    cli_fixture_init(f, "analysis");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    cli_fixture_clear(f);
}

typedef struct {
    int status;
    char *out, *err;
} Run;

static void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static Run cli(Fixture *f, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, f->cli);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    Run r = {0};
    GError *error = NULL;
    int wait = 0;
    g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                 &wait, &error);
    g_assert_no_error(error);
    r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128 + WTERMSIG(wait);
    return r;
}

/* The clip of a preset scene in the fixture's folder; NULL (skipped) without its encoder. */
static char *make_clip(Fixture *f, const char *preset, FcScene **scene)
{
    GError *error = NULL;
    FcScene *s = fc_scene_preset(preset, f->shared, &error);
    g_assert_no_error(error);
    g_autofree char *name = g_strdup_printf("%s.%s", preset, fc_container_ext(s->container));
    char *path = g_build_filename(f->dir, name, NULL);
    char *skip = NULL;
    if (!fc_make_clip(path, s, &skip, &error)) {
        g_assert_no_error(error);
        g_test_skip(skip);
        g_free(skip);
        fc_scene_free(s);
        g_free(path);
        return NULL;
    }
    *scene = s;
    return path;
}

/* One CSV row: the columns we check. */
typedef struct {
    int frame, face_id, success;
    double confidence;
    double pose[6];
    float xy[2 * 68]; /* (68,2) */
    GHashTable *au_r; /* AU number -> intensity (gdouble *) */
} CsvRow;

typedef struct {
    GArray *rows; /* CsvRow */
    int n_columns;
    int au_r_cols[100], au_c_cols[100]; /* column of AUnn_r / AUnn_c or -1 */
    GPtrArray *lines;
} Csv;

static void csv_free(Csv *c)
{
    for (guint i = 0; i < c->rows->len; i++)
        g_hash_table_destroy(g_array_index(c->rows, CsvRow, i).au_r);
    g_array_unref(c->rows);
}

static double csv_au_r(const CsvRow *r, int au)
{
    double *v = g_hash_table_lookup(r->au_r, GINT_TO_POINTER(au));
    return v ? *v : NAN;
}

static void csv_read(const char *path, Csv *c)
{
    g_autofree char *text = NULL;
    GError *error = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) head = g_strsplit(lines[0], ", ", -1);
    c->n_columns = (int)g_strv_length(head);
    c->rows = g_array_new(FALSE, TRUE, sizeof(CsvRow));
    /* OpenFace 2.2's order for the blocks we write */
    const char *first[] = {"frame",   "face_id", "timestamp", "confidence", "success", "pose_Tx",
                           "pose_Ty", "pose_Tz", "pose_Rx",   "pose_Ry",    "pose_Rz"};
    for (unsigned i = 0; i < G_N_ELEMENTS(first); i++)
        g_assert_cmpstr(head[i], ==, first[i]);
    for (int i = 0; i < 68; i++) {
        g_autofree char *x = g_strdup_printf("x_%d", i), *y = g_strdup_printf("y_%d", i);
        g_assert_cmpstr(head[11 + i], ==, x);
        g_assert_cmpstr(head[79 + i], ==, y);
    }
    for (int a = 0; a < 100; a++)
        c->au_r_cols[a] = c->au_c_cols[a] = -1;
    int last_r = 0;
    for (int i = 147; i < c->n_columns; i++) {
        int au = 0;
        char kind = 0;
        g_assert_cmpint(sscanf(head[i], "AU%2d_%c", &au, &kind), ==, 2);
        if (kind == 'r') {
            g_assert_cmpint(au, >, last_r); /* ascending, intensities first */
            last_r = au;
            c->au_r_cols[au] = i;
        } else {
            c->au_c_cols[au] = i;
        }
    }
    for (int l = 1; lines[l] && *lines[l]; l++) {
        g_auto(GStrv) v = g_strsplit(lines[l], ", ", -1);
        g_assert_cmpint((int)g_strv_length(v), ==, c->n_columns);
        CsvRow r = {0};
        r.frame = atoi(v[0]);
        r.face_id = atoi(v[1]);
        r.confidence = g_ascii_strtod(v[3], NULL);
        r.success = atoi(v[4]);
        for (int k = 0; k < 6; k++)
            r.pose[k] = g_ascii_strtod(v[5 + k], NULL);
        for (int i = 0; i < 68; i++) {
            r.xy[2 * i] = (float)g_ascii_strtod(v[11 + i], NULL);
            r.xy[2 * i + 1] = (float)g_ascii_strtod(v[79 + i], NULL);
        }
        r.au_r = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
        for (int a = 0; a < 100; a++)
            if (c->au_r_cols[a] >= 0) {
                double *d = g_new(double, 1);
                *d = g_ascii_strtod(v[c->au_r_cols[a]], NULL);
                g_hash_table_insert(r.au_r, GINT_TO_POINTER(a), d);
            }
        g_array_append_val(c->rows, r);
    }
}

static double mean_err_iod(const float *a, const float *b)
{
    double iod = fc_iod68(b), s = 0;
    for (int i = 0; i < 68; i++)
        s += hypot(a[2 * i] - b[2 * i], a[2 * i + 1] - b[2 * i + 1]);
    return s / 68 / iod;
}

static int compare_doubles(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* What a check of a clip's CSV against its truth found. */
typedef struct {
    int n_frames_csv;
    int missing_rows; /* frames with a visible face but no success row for it */
    int false_faces;  /* success rows for a face that is not drawn */
    int bad_no_face;  /* frames without a visible face whose rows are not exactly (0, success 0) */
    int id_changes;   /* a person seen under another face_id than before */
    GArray *errors;   /* mean landmark error / IOD of each matched neutral face row against
                         dlib's shape predictor run on the same decoded frame */
    GArray *errors_photo; /* the same against dlib's landmarks of the photo, mapped */
    double au_expr[FC_MAX_FACES][MIM_FACEGEN_N_AU][2]; /* [face][au]: sum at >=3, count */
    double au_neutral[FC_MAX_FACES][MIM_FACEGEN_N_AU][2];
} Check;

/* dlib's 68 landmarks on the decoded frame: its shape predictor (ours is dlib-exact, checked
 * against dlib's own outputs on the fixtures) in the box where dlib's mean shape fits the true
 * landmarks, i.e. where dlib's detector would put the face. */
static void dlib_on_frame(const mim_shape_predictor *sp, const MimicaFrame *fr, const float *truth,
                          float *xy)
{
    mim_image img =
        mim_image_view(fr->data, fr->width, fr->height, (size_t)fr->stride, MIM_IMAGE_RGB8);
    mim_face_box box;
    mim_landmark_box_from_shape(sp, truth, &box);
    mim_shape_predictor_predict(sp, &img, &box, xy, NULL, NULL);
}

static void check_clip(const FcScene *s, const char *clip, const Csv *c, Check *k)
{
    memset(k, 0, sizeof *k);
    k->errors = g_array_new(FALSE, FALSE, sizeof(double));
    k->errors_photo = g_array_new(FALSE, FALSE, sizeof(double));
    char err[512];
    mim_shape_predictor *sp = NULL;
    if (mim_shape_predictor_load(NULL, &sp, err, sizeof err))
        g_error("%s", err);
    GError *derr = NULL;
    MimicaDecoder *dec = mimica_decoder_open(clip, NULL, NULL, &derr);
    g_assert_no_error(derr);
    int ids[FC_MAX_FACES];
    for (int i = 0; i < FC_MAX_FACES; i++)
        ids[i] = -1;
    guint row = 0;
    for (int fr = 0; fr < s->n_frames; fr++) {
        FcTruth t;
        GError *error = NULL;
        g_assert_true(fc_scene_render(s, fr, NULL, &t, &error));
        /* this frame's rows */
        guint r0 = row;
        while (row < c->rows->len && g_array_index(c->rows, CsvRow, row).frame == fr + 1)
            row++;
        if (row == r0)
            continue; /* counted below as a frame without rows */
        k->n_frames_csv++;
        int n_vis = fc_truth_n_visible(&t);
        if (n_vis == 0) {
            gboolean drawn = FALSE;
            for (int j = 0; j < t.n_faces; j++)
                drawn |= t.face[j].drawn;
            const CsvRow *r = &g_array_index(c->rows, CsvRow, r0);
            gboolean none = row - r0 == 1 && r->success == 0 && r->face_id == 0;
            if (!none && !drawn)
                k->bad_no_face++;
            if (!drawn)
                continue;
        }
        /* match each visible truth face with the nearest success row */
        gboolean used[64] = {0};
        for (int j = 0; j < t.n_faces; j++) {
            const FcFaceTruth *ft = &t.face[j];
            if (!ft->visible)
                continue;
            int best = -1;
            double best_e = 1e9;
            for (guint q = r0; q < row && q - r0 < 64; q++) {
                const CsvRow *r = &g_array_index(c->rows, CsvRow, q);
                if (!r->success || used[q - r0])
                    continue;
                double e = mean_err_iod(r->xy, ft->xy);
                if (e < best_e)
                    best_e = e, best = (int)q;
            }
            if (best < 0 || best_e > 0.5) {
                k->missing_rows++;
                continue;
            }
            used[best - r0] = TRUE;
            const CsvRow *r = &g_array_index(c->rows, CsvRow, best);
            if (ids[j] >= 0 && ids[j] != r->face_id)
                k->id_changes++;
            ids[j] = r->face_id;
            if (fc_truth_is_neutral(&t, j)) {
                MimicaFrame *frame = mimica_decoder_get_frame(dec, fr, &derr);
                g_assert_no_error(derr);
                float dlib[2 * 68];
                dlib_on_frame(sp, frame, ft->xy, dlib);
                mimica_frame_unref(frame);
                double e = mean_err_iod(r->xy, dlib);
                g_array_append_val(k->errors, e);
                g_array_append_val(k->errors_photo, best_e);
                if (g_getenv("ANALYSIS_TEST_VERBOSE"))
                    g_test_message("frame %d face %d (id %d): %.2f %% IOD from dlib on the frame, "
                                   "%.2f from the photo's; dlib on the frame vs the photo's %.2f",
                                   fr, j, r->face_id, 100 * e, 100 * best_e,
                                   100 * mean_err_iod(dlib, ft->xy));
            }
            for (int a = 0; a < MIM_FACEGEN_N_AU; a++) {
                double v = csv_au_r(r, mim_facegen_aus[a]);
                if (isnan(v))
                    continue;
                if (ft->au[a] >= 3) {
                    k->au_expr[j][a][0] += v;
                    k->au_expr[j][a][1]++;
                } else if (fc_truth_is_neutral(&t, j)) {
                    k->au_neutral[j][a][0] += v;
                    k->au_neutral[j][a][1]++;
                }
            }
        }
        /* success rows left over: a face the truth does not draw */
        for (guint q = r0; q < row && q - r0 < 64; q++) {
            const CsvRow *r = &g_array_index(c->rows, CsvRow, q);
            if (!r->success || used[q - r0])
                continue;
            gboolean any_drawn_unmatched = FALSE;
            for (int j = 0; j < t.n_faces; j++)
                any_drawn_unmatched |= t.face[j].drawn && !t.face[j].visible;
            if (!any_drawn_unmatched)
                k->false_faces++;
        }
    }
    mimica_decoder_free(dec);
    mim_shape_predictor_free(sp);
}

static void report_errors(const char *what, const char *against, GArray *errors, double *mean_out)
{
    double *v = (double *)errors->data;
    gsize n = errors->len;
    g_assert_cmpuint(n, >, 0);
    double sum = 0;
    for (gsize i = 0; i < n; i++)
        sum += v[i];
    qsort(v, n, sizeof *v, compare_doubles);
    *mean_out = sum / n;
    g_test_message("%s: landmarks vs %s over %zu neutral face rows: mean %.2f %% IOD, median "
                   "%.2f, 90th pct %.2f, max %.2f",
                   what, against, n, 100 * *mean_out, 100 * v[n / 2], 100 * v[n * 9 / 10],
                   100 * v[n - 1]);
}

/* Mean intensity of AU `au` for face j: where its expression is held vs neutral. */
static void au_effect(const Check *k, int j, int au, double *expr, double *neutral)
{
    int a = 0;
    while (a < MIM_FACEGEN_N_AU && mim_facegen_aus[a] != au)
        a++;
    g_assert_cmpint(a, <, MIM_FACEGEN_N_AU);
    *expr = k->au_expr[j][a][1] ? k->au_expr[j][a][0] / k->au_expr[j][a][1] : NAN;
    *neutral = k->au_neutral[j][a][1] ? k->au_neutral[j][a][0] / k->au_neutral[j][a][1] : NAN;
}

/* STRONG: present on average (>= 1, FACS A) and at least 0.75 above neutral; else only up (by
 * 0.1 or more): for small faces (eye distance ~50 px), where dlib follows lids and corners only
 * partly, and faces that already smile in their photo. */
static void expect_rise(const Check *k, int j, const char *what, const int *aus, int n,
                        gboolean strong)
{
    for (int i = 0; i < n; i++) {
        double e, z;
        au_effect(k, j, aus[i], &e, &z);
        g_test_message("  face %d %s: AU%02d mean intensity %.2f held vs %.2f neutral", j, what,
                       aus[i], e, z);
        g_assert_false(isnan(e) || isnan(z));
        if (g_getenv("ANALYSIS_TEST_SURVEY"))
            continue;
        if (strong) {
            g_assert_cmpfloat(e, >=, 1.0);
            g_assert_cmpfloat(e, >, z + 0.75);
        } else {
            g_assert_cmpfloat(e, >=, z + 0.1);
        }
    }
}

typedef struct {
    const char *preset;
    int max_faces;
} ClipCase;

static void run_clip(Fixture *f, const ClipCase *cc, FcScene **scene_out, Csv *csv, Check *check,
                     char **project_out)
{
    FcScene *s = NULL;
    g_autofree char *clip = make_clip(f, cc->preset, &s);
    if (!clip)
        return;
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    char *project = g_build_filename(f->dir, "p.mimica", NULL);
    g_autofree char *max = g_strdup_printf("%d", cc->max_faces);
    const char *args[] = {"analyze", clip,          "-o", out, "--project",
                          project,   "--max-faces", max,  NULL};
    gint64 t0 = g_get_monotonic_time();
    Run r = cli(f, args);
    double secs = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("%s (%s, %d frames): exit %d in %.1f s (%.1f frames/s end to end)%s%s",
                   cc->preset, fc_container_name(s->container), s->n_frames, r.status, secs,
                   s->n_frames / secs, *r.err ? "; stderr: " : "", r.err);
    g_assert_cmpint(r.status, ==, 0);
    /* in a pipe, no progress output: stdout and stderr stay empty */
    g_assert_cmpstr(r.out, ==, "");
    g_assert_cmpstr(r.err, ==, "");
    run_clear(&r);
    g_autofree char *name = g_strdup_printf("%s.csv", cc->preset);
    g_autofree char *csv_path = g_build_filename(out, name, NULL);
    csv_read(csv_path, csv);
    check_clip(s, clip, csv, check);
    g_test_message("  %d frames with rows of %d; missing face rows %d, false faces %d, bad no-face "
                   "frames %d, face_id changes %d",
                   check->n_frames_csv, s->n_frames, check->missing_rows, check->false_faces,
                   check->bad_no_face, check->id_changes);
    g_assert_cmpint(check->n_frames_csv, ==, s->n_frames); /* a row for every decoded frame */
    g_assert_cmpint(check->bad_no_face, ==, 0);
    g_assert_cmpint(check->missing_rows, ==, 0);
    g_assert_cmpint(check->false_faces, ==, 0);
    g_assert_cmpint(check->id_changes, ==, 0);
    *scene_out = s;
    *project_out = project;
}

static void check_project(const char *project, int n_faces_min)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) st = mimica_store_open(project, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(st, &error));
    sqlite3 *db = mimica_store_get_db(st);
    sqlite3_stmt *q;
    g_assert_cmpint(sqlite3_prepare_v2(db,
                                       "SELECT (SELECT count(*) FROM analyses WHERE state ="
                                       " 'done'), (SELECT count(*) FROM calibrations),"
                                       " (SELECT count(*) FROM jobs WHERE status = 'done')",
                                       -1, &q, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    int done = sqlite3_column_int(q, 0), cal = sqlite3_column_int(q, 1),
        jobs = sqlite3_column_int(q, 2);
    sqlite3_finalize(q);
    g_test_message("  project: %d analyses done, %d calibrations, %d jobs done", done, cal, jobs);
    g_assert_cmpint(done, ==, 1);
    g_assert_cmpint(jobs, ==, 1);
    g_assert_cmpint(cal, >=, n_faces_min);
}

static void test_clip(Fixture *f, gconstpointer data)
{
    const ClipCase *cc = data;
    if (!cli_fixture_ready(f))
        return;
    FcScene *s = NULL;
    Csv csv = {0};
    Check k = {0};
    g_autofree char *project = NULL;
    run_clip(f, cc, &s, &csv, &k, &project);
    if (!s)
        return;
    double mean, mean_photo;
    report_errors(cc->preset, "dlib's on the same frames (bound: mean 3 %)", k.errors, &mean);
    report_errors(cc->preset, "dlib's of the photo, mapped", k.errors_photo, &mean_photo);
    g_assert_cmpfloat(mean, <=, 0.03);
    check_project(project, s->n_faces);
    /* geometry AUs follow the expressions (the default model) */
    if (!strcmp(cc->preset, "expressions")) {
        expect_rise(&k, 0, "smile", (const int[]){6, 12}, 2, TRUE);
        expect_rise(&k, 0, "raised brows", (const int[]){1, 2}, 2, TRUE);
        expect_rise(&k, 0, "open mouth", (const int[]){25, 26}, 2, TRUE);
        expect_rise(&k, 0, "blink", (const int[]){45}, 1, TRUE);
    } else if (!strcmp(cc->preset, "three-faces")) {
        expect_rise(&k, 0, "wider smile (already smiling)", (const int[]){6, 12}, 2, FALSE);
        expect_rise(&k, 1, "raised brows", (const int[]){1, 2}, 2, TRUE);
        expect_rise(&k, 2, "blink (eye distance 48 px)", (const int[]){45}, 1, FALSE);
    } else if (!strcmp(cc->preset, "blinks")) {
        /* clown make-up: dlib's lid points follow the shut lids only partly */
        expect_rise(&k, 0, "blink", (const int[]){45}, 1, FALSE);
    } else if (!strcmp(cc->preset, "one-face-cut")) {
        expect_rise(&k, 0, "smile", (const int[]){12}, 1, TRUE);
        expect_rise(&k, 0, "smile", (const int[]){6}, 1, FALSE);
    }
    g_array_unref(k.errors);
    g_array_unref(k.errors_photo);
    csv_free(&csv);
    fc_scene_free(s);
}

/* Exit statuses as scripts see them. */
static void test_exit_status(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    Run r = cli(f, (const char *const[]){"analyze", NULL});
    g_assert_cmpint(r.status, ==, 2);
    run_clear(&r);
    r = cli(f, (const char *const[]){"analyze", "x.mp4", "--max-faces", "0", NULL});
    g_assert_cmpint(r.status, ==, 2);
    run_clear(&r);
    /* unreadable: a missing file, a text file */
    g_autofree char *junk = g_build_filename(f->dir, "junk.mp4", NULL);
    g_assert_true(g_file_set_contents(junk, "not a video at all\n", -1, NULL));
    r = cli(f, (const char *const[]){"analyze", "/nonexistent/v.mp4", junk, "-o", out, NULL});
    g_test_message("unreadable inputs: exit %d: %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 3);
    g_assert_nonnull(strstr(r.err, "/nonexistent/v.mp4"));
    g_assert_nonnull(strstr(r.err, "junk.mp4"));
    run_clear(&r);
    /* a bad model file: an error before any input is read */
    r = cli(f, (const char *const[]){"analyze", junk, "--model", junk, "-o", out, NULL});
    g_test_message("bad model: exit %d: %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 1);
    run_clear(&r);
    /* truncated: the frames before the cut, exit 4 (AVI: its frames can be read without the
     * index at the end, unlike an MP4 whose moov comes last) */
    FcScene *s = NULL;
    g_autofree char *clip = make_clip(f, "three-faces", &s);
    if (!clip)
        return;
    g_autofree char *bytes = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(clip, &bytes, &len, NULL));
    g_autofree char *cut = g_build_filename(f->dir, "cut.avi", NULL);
    g_assert_true(g_file_set_contents(cut, bytes, (gssize)(len * 6 / 10), NULL));
    r = cli(f, (const char *const[]){"analyze", cut, "-o", out, "--progress", "json", NULL});
    g_test_message("truncated input: exit %d; last line %s", r.status,
                   strrchr(g_strchomp(r.out), '\n') ? strrchr(r.out, '\n') + 1 : r.out);
    g_assert_cmpint(r.status, ==, 4);
    g_assert_nonnull(strstr(r.out, "\"truncated\": true"));
    run_clear(&r);
    g_autofree char *csv_path = g_build_filename(out, "cut.csv", NULL);
    Csv c = {0};
    csv_read(csv_path, &c);
    int last = g_array_index(c.rows, CsvRow, c.rows->len - 1).frame;
    g_test_message("truncated input: %u rows, frames 1..%d of %d", c.rows->len, last, s->n_frames);
    g_assert_cmpint(last, >, 10);
    g_assert_cmpint(last, <, s->n_frames);
    csv_free(&c);
    fc_scene_free(s);
}

/* An AU-network model file runs in the same pipeline: its AU list and thresholds from the
 * file's metadata (here an untrained network: the values mean nothing, the columns do). */
static void test_network_model(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    g_autofree char *model = g_build_filename(f->dir, "net.safetensors", NULL);
    {
        mim_backend *be = mim_backend_ref_new();
        mim_ctx *ctx = mim_ctx_new(be);
        mim_aunet *m = NULL;
        g_assert_cmpint(mim_aunet_new(ctx, 3, 49, 7, &m), ==, MIM_OK);
        mim_aunet_info info = {.n_au = 3, .n_land = 49};
        g_strlcpy(info.au_list, "4,12,25", sizeof info.au_list);
        g_strlcpy(info.provenance, "test: random weights, seed 7", sizeof info.provenance);
        g_assert_cmpint(mim_aunet_save(m, model, &info), ==, MIM_OK);
        mim_aunet_free(m);
        mim_ctx_free(ctx);
        mim_backend_free(be);
    }
    FcScene *s = fc_scene_preset("blinks", f->shared, NULL);
    g_assert_nonnull(s);
    s->n_frames = 12; /* a short clip: the network is slow on the ref path */
    g_autofree char *clip = g_build_filename(f->dir, "short.wmv", NULL);
    char *skip = NULL;
    GError *error = NULL;
    if (!fc_make_clip(clip, s, &skip, &error)) {
        g_assert_no_error(error);
        g_test_skip(skip);
        g_free(skip);
        fc_scene_free(s);
        return;
    }
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    Run r = cli(f, (const char *const[]){"analyze", clip, "-o", out, "--model", model, "--batch",
                                         "4", NULL});
    g_test_message("network model: exit %d %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *csv_path = g_build_filename(out, "short.csv", NULL);
    Csv c = {0};
    csv_read(csv_path, &c);
    g_assert_cmpint(c.au_r_cols[4], >=, 0);
    g_assert_cmpint(c.au_r_cols[12], >=, 0);
    g_assert_cmpint(c.au_r_cols[25], >=, 0);
    g_assert_cmpint(c.au_c_cols[25], >=, 0);
    int n_aus = 0;
    for (int a = 0; a < 100; a++)
        n_aus += c.au_r_cols[a] >= 0;
    g_assert_cmpint(n_aus, ==, 3);
    int n_success = 0;
    for (guint i = 0; i < c.rows->len; i++) {
        const CsvRow *row = &g_array_index(c.rows, CsvRow, i);
        n_success += row->success;
        for (int a = 4; row->success && a <= 25; a++) {
            double v = csv_au_r(row, a);
            if (!isnan(v))
                g_assert_true(v >= 0 && v <= 5);
        }
    }
    g_test_message("network model: %u rows, %d with a face, AUs 4, 12, 25 from the file",
                   c.rows->len, n_success);
    g_assert_cmpint(n_success, >=, 10);
    csv_free(&c);

    /* the bundled network (data/models/default.safetensors): its 12 AUs, from the file */
    g_autofree char *out2 = g_build_filename(f->dir, "out-default", NULL);
    r = cli(f, (const char *const[]){"analyze", clip, "-o", out2, "--model", "default", NULL});
    g_test_message("--model default: exit %d %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *csv2 = g_build_filename(out2, "short.csv", NULL);
    Csv d = {0};
    csv_read(csv2, &d);
    static const int bundled[] = {1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26};
    int n_bundled = 0;
    for (guint k = 0; k < G_N_ELEMENTS(bundled); k++)
        n_bundled += d.au_r_cols[bundled[k]] >= 0 && d.au_c_cols[bundled[k]] >= 0;
    n_aus = 0;
    for (int a = 0; a < 100; a++)
        n_aus += d.au_r_cols[a] >= 0;
    g_test_message("--model default: %u rows, %d AU columns, %d of the generator's 12", d.rows->len,
                   n_aus, n_bundled);
    g_assert_cmpint(n_aus, ==, 12);
    g_assert_cmpint(n_bundled, ==, 12);
    csv_free(&d);
    fc_scene_free(s);
}

/* Killed midway (SIGKILL, no chance to clean up), run again: it resumes where it stopped and
 * the CSV has every frame. */
static void test_resume(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    FcScene *s = NULL;
    g_autofree char *clip = make_clip(f, "expressions", &s);
    if (!clip)
        return;
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    g_autofree char *project = g_build_filename(f->dir, "p.mimica", NULL);
    GPid pid =
        cli_spawn(f, (const char *const[]){"analyze", clip, "-o", out, "--project", project, NULL});
    /* wait until some frames are stored, then kill */
    gint64 stored = 0, deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
    while (stored < 30 && g_get_monotonic_time() < deadline) {
        g_usleep(20 * 1000);
        sqlite3 *db = NULL;
        if (sqlite3_open_v2(project, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
            sqlite3_stmt *q = NULL;
            if (sqlite3_prepare_v2(db, "SELECT next_frame FROM analyses", -1, &q, NULL) ==
                    SQLITE_OK &&
                sqlite3_step(q) == SQLITE_ROW)
                stored = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
        }
        sqlite3_close(db);
    }
    kill(pid, SIGKILL);
    cli_wait_status(pid);
    g_test_message("killed with %lld of %d frames stored", (long long)stored, s->n_frames);
    g_assert_cmpint(stored, >=, 30);
    g_assert_cmpint(stored, <, s->n_frames);

    Run r = cli(f, (const char *const[]){"analyze", clip, "-o", out, "--project", project,
                                         "--progress", "json", NULL});
    g_assert_cmpint(r.status, ==, 0);
    /* the first progress line starts where the first run stopped, not at 0 */
    int first_done = -1;
    const char *p = strstr(r.out, "\"frames_done\": ");
    if (p)
        first_done = atoi(p + strlen("\"frames_done\": "));
    g_test_message("second run's first progress: %d frames done", first_done);
    g_assert_cmpint(first_done, >=, (int)stored);
    run_clear(&r);
    g_autofree char *csv_path = g_build_filename(out, "expressions.csv", NULL);
    Csv c = {0};
    Check k;
    csv_read(csv_path, &c);
    check_clip(s, clip, &c, &k);
    double mean;
    report_errors("resumed", "dlib's on the same frames", k.errors, &mean);
    g_test_message("  %d frames with rows; missing %d, false %d, bad no-face %d, id changes %d",
                   k.n_frames_csv, k.missing_rows, k.false_faces, k.bad_no_face, k.id_changes);
    g_assert_cmpint(k.n_frames_csv, ==, s->n_frames);
    g_assert_cmpint(k.missing_rows, ==, 0);
    g_assert_cmpint(k.id_changes, ==, 0);
    g_assert_cmpfloat(mean, <=, 0.03);
    check_project(project, 1);
    g_array_unref(k.errors);
    g_array_unref(k.errors_photo);
    csv_free(&c);
    fc_scene_free(s);
}

/* Mean of AU `au`'s intensity over frames [a, b] of a CSV (one face), and its total variation
 * over the whole clip (sum of |r(f+1) - r(f)|). */
static void au_stats(const Csv *c, int au, int a, int b, double *mean, double *variation)
{
    double s = 0, tv = 0, prev = NAN;
    int n = 0;
    for (guint i = 0; i < c->rows->len; i++) {
        const CsvRow *r = &g_array_index(c->rows, CsvRow, i);
        double v = csv_au_r(r, au);
        if (!r->success || isnan(v))
            continue;
        if (!isnan(prev))
            tv += fabs(v - prev);
        prev = v;
        if (r->frame - 1 >= a && r->frame - 1 <= b) {
            s += v;
            n++;
        }
    }
    *mean = n ? s / n : NAN;
    *variation = tv;
}

/* --smooth N changes the intensities only (a centred mean: less variation, the expressions still
 * there), never landmarks or presence; --baseline F:L takes each person's neutral face from those
 * frames: from a neutral stretch the smile reads as before, from the smile itself it reads ~0. */
static void test_smooth_baseline(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    FcScene *s = NULL;
    g_autofree char *clip = make_clip(f, "expressions", &s);
    if (!clip)
        return;
    const char *variants[][4] = {{"plain", NULL, NULL, NULL},
                                 {"smooth", "--smooth", "7", NULL},
                                 {"neutral", "--baseline", "0:9", NULL},
                                 {"smiling", "--baseline", "19:25", NULL}};
    Csv c[4];
    for (int v = 0; v < 4; v++) {
        g_autofree char *out = g_build_filename(f->dir, variants[v][0], NULL);
        const char *args[] = {"analyze", clip, "-o", out, variants[v][1], variants[v][2], NULL};
        Run r = cli(f, args);
        g_assert_cmpint(r.status, ==, 0);
        run_clear(&r);
        g_autofree char *csv_path = g_build_filename(out, "expressions.csv", NULL);
        csv_read(csv_path, &c[v]);
        g_assert_cmpuint(c[v].rows->len, ==, c[0].rows->len);
    }
    double smile[4], tv[4], brows[4], tv1[4];
    for (int v = 0; v < 4; v++) {
        au_stats(&c[v], 12, 19, 25, &smile[v], &tv[v]);
        au_stats(&c[v], 1, 49, 55, &brows[v], &tv1[v]);
        g_test_message("%-8s AU12 held smile %.2f (variation %.1f), AU01 held brows %.2f "
                       "(variation %.1f)",
                       variants[v][0], smile[v], tv[v], brows[v], tv1[v]);
    }
    /* smoothing: raw landmarks and presence kept, intensities less jittery, expressions kept */
    double max_lm = 0;
    for (guint i = 0; i < c[0].rows->len; i++) {
        const CsvRow *a = &g_array_index(c[0].rows, CsvRow, i);
        const CsvRow *b = &g_array_index(c[1].rows, CsvRow, i);
        for (int k = 0; k < 136; k++)
            max_lm = fmax(max_lm, fabs(a->xy[k] - b->xy[k]));
    }
    g_test_message("smoothing: landmarks differ by %.3g px at most (raw kept)", max_lm);
    g_assert_cmpfloat(max_lm, ==, 0);
    g_assert_cmpfloat(tv[1] + tv1[1], <, tv[0] + tv1[0]);
    g_assert_cmpfloat(smile[1], >=, 1.0);
    g_assert_cmpfloat(brows[1], >=, 1.0);
    /* a neutral segment as the baseline: the smile as before; the smile as the baseline: gone */
    g_assert_cmpfloat(smile[2], >=, 1.0);
    g_assert_cmpfloat(fabs(smile[2] - smile[0]), <, 0.75);
    g_assert_cmpfloat(smile[3], <, 0.5);
    for (int v = 0; v < 4; v++)
        csv_free(&c[v]);
    fc_scene_free(s);
}

static void write_png(const mim_image *im, const char *path)
{
    FILE *f = g_fopen(path, "wb");
    g_assert_nonnull(f);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    g_assert_true(p && info && !setjmp(png_jmpbuf(p)));
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)im->width, (png_uint_32)im->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int y = 0; y < im->height; y++)
        png_write_row(p, mim_image_row8(im, y));
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
}

/* An image folder is a frame sequence (frame_1.png .. frame_12.png: numbers sorted as numbers);
 * the CSV is named after the folder. */
static void test_image_folder(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    GError *error = NULL;
    g_autoptr(FcScene) s = fc_scene_preset("one-face-moves", f->shared, &error);
    g_assert_no_error(error);
    s->n_frames = 12;
    g_autofree char *dir = g_build_filename(f->dir, "frames", NULL);
    g_assert_cmpint(g_mkdir(dir, 0700), ==, 0);
    mim_image *im = mim_image_new(s->width, s->height, MIM_IMAGE_RGB8);
    for (int i = 0; i < s->n_frames; i++) {
        g_assert_true(fc_scene_render(s, i, im, NULL, &error));
        g_autofree char *name = g_strdup_printf("frame_%d.png", i + 1);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        write_png(im, path);
    }
    mim_image_free(im);
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    Run r = cli(f, (const char *const[]){"analyze", dir, "-o", out, "--max-faces", "1", NULL});
    g_test_message("image folder: exit %d %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *csv_path = g_build_filename(out, "frames.csv", NULL);
    Csv c = {0};
    csv_read(csv_path, &c);
    g_assert_cmpuint(c.rows->len, ==, (guint)s->n_frames);
    double worst = 0;
    for (guint i = 0; i < c.rows->len; i++) {
        const CsvRow *row = &g_array_index(c.rows, CsvRow, i);
        FcTruth t;
        g_assert_true(fc_scene_render(s, (int)i, NULL, &t, NULL));
        g_assert_cmpint(row->frame, ==, (int)i + 1);
        g_assert_cmpint(row->success, ==, 1);
        worst = fmax(worst, mean_err_iod(row->xy, t.face[0].xy));
    }
    g_test_message("image folder: %u rows, worst frame's landmarks %.2f %% IOD from the photo's",
                   c.rows->len, 100 * worst);
    g_assert_cmpfloat(worst, <, 0.05);
    csv_free(&c);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    static const ClipCase cases[] = {
        {"one-face-moves", 1}, {"one-face-cut", 1}, {"three-faces", 3},
        {"expressions", 1},    {"blinks", 1},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("/analysis/clip/%s", cases[i].preset);
        g_test_add(name, Fixture, &cases[i], fixture_setup, test_clip, fixture_teardown);
    }
    g_test_add("/analysis/exit-status", Fixture, NULL, fixture_setup, test_exit_status,
               fixture_teardown);
    g_test_add("/analysis/network-model", Fixture, NULL, fixture_setup, test_network_model,
               fixture_teardown);
    g_test_add("/analysis/resume", Fixture, NULL, fixture_setup, test_resume, fixture_teardown);
    g_test_add("/analysis/image-folder", Fixture, NULL, fixture_setup, test_image_folder,
               fixture_teardown);
    g_test_add("/analysis/smooth-baseline", Fixture, NULL, fixture_setup, test_smooth_baseline,
               fixture_teardown);
    return g_test_run();
}
