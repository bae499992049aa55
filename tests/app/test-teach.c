/* test-teach.c: teaching from a project (app/teach). A clip of a real fixture face whose
 * expression changes every few frames (AU 1+2, AU 12, both, neutral; face-clips.c) is analysed
 * with a network model file (random initial weights, AUs 1, 2, 12), every frame is labelled
 * from the generator's truth (present iff intensity >= 1.5), and the "fine-tune" job runs in
 * quick mode: the held-out (latest 20 %) mean F1 must rise, the new model must be registered
 * with its parent and the metrics keys the GUI reads, the parent file must be unchanged; then
 * keep/discard. The project import (mimica_teach_import_project) is checked on the way: one
 * labelled record per analysed frame, labels equal to the truth. /teach/fresh-finetune: the same
 * clip analysed with the geometry estimator only (as the demo project) fine-tunes from an
 * untrained network registered beside the project as the parent, and must beat it on the
 * held-out frames; the untrained start serves again; the kept model's analysis refers to its
 * row, and the next fine-tune starts from it. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/mimica-analysis.h"
#include "aunet/mim-json.h"
#include "face-clips.h"
#include "mim-fit.h"
#include "mim-pack.h"
#include "mim-sample.h"
#include "store/mimica-store-models.h"
#include "teach/mimica-finetune.h"
#include "teach/mimica-teach-data.h"
#include "../common/fixture-skip.h"

#define SEGMENT 5

/* frames of the clip: 100, or --frames=N (the slow suite's 500-frame timing run); with
 * --full-resume the test runs full mode twice instead (straight, interrupted + resumed) */
static int N_FRAMES = 100;

static const char *const expressions[4] = {"", "12:4.5", "1:4.5 2:4.5", "1:4 2:4 12:4"};

static void rm_rf(const char *path)
{
    g_autoptr(GFile) f = g_file_new_for_path(path);
    g_autoptr(GFileEnumerator) e =
        g_file_enumerate_children(f, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
    if (e) {
        GFileInfo *info;
        while ((info = g_file_enumerator_next_file(e, NULL, NULL))) {
            g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
            rm_rf(child);
            g_object_unref(info);
        }
    }
    g_remove(path);
}

static char *file_sha(const char *path)
{
    g_autofree char *bytes = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &bytes, &len, NULL))
        return NULL;
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)bytes, len);
}

typedef struct {
    gint64 done;
    gboolean training;
} Watch;

static void on_progress(MimicaJobRunner *runner, const MimicaJobProgress *p, gpointer user)
{
    Watch *w = user;
    w->done = p->done;
    w->training = p->text && g_str_has_prefix(p->text, "training");
}

static gint64 run_full(const char *project, gboolean interrupt, GError **error)
{
    g_autoptr(MimicaJobRunner) runner = mimica_job_runner_new(project, error);
    g_assert_nonnull(runner);
    mimica_finetune_register(runner);
    g_autofree char *params = mimica_finetune_parameters("full", NULL, 3, 0);
    gint64 job = mimica_job_runner_submit(runner, MIMICA_FINETUNE_KIND, params, error);
    g_assert_cmpint(job, >, 0);
    if (interrupt) {
        Watch w = {0};
        gulong h = g_signal_connect(runner, "progress", G_CALLBACK(on_progress), &w);
        while (!(w.training && w.done >= 1))
            g_main_context_iteration(NULL, TRUE);
        g_signal_handler_disconnect(runner, h);
        mimica_job_runner_shutdown(runner); /* as a quit: the job stays queued */
        g_clear_object(&runner);
        g_test_message("interrupted job %" G_GINT64_FORMAT " after step %" G_GINT64_FORMAT, job,
                       w.done);
        runner = mimica_job_runner_new(project, error);
        mimica_finetune_register(runner);
        g_assert_cmpint(mimica_job_runner_resume(runner, error), ==, 1);
    }
    g_autofree char *message = NULL;
    g_autofree char *status = mimica_job_runner_wait(runner, job, &message);
    g_test_message("full fine-tune (%s): %s: %s", interrupt ? "interrupted, resumed" : "straight",
                   status, message);
    g_assert_cmpstr(status, ==, "done");
    g_autoptr(MimicaStore) store = mimica_store_open(project, error);
    return mimica_finetune_job_model(store, job, error);
}

static float *model_flat(MimicaStore *store, gint64 id, size_t *n)
{
    MimicaModelRow row;
    GError *error = NULL;
    g_assert_true(mimica_store_models_get(store, id, &row, &error));
    mim_fit_model fm;
    char err[512];
    g_assert_cmpint(mim_fit_model_open(&fm, "auto", row.file, NULL, 0, err, sizeof err), ==, 0);
    *n = mim_aunet_get_layout(fm.net)->n_floats;
    float *f = g_new(float, *n);
    g_assert_cmpint(mim_aunet_get_flat(fm.net, f), ==, MIM_OK);
    mim_fit_model_close(&fm);
    mimica_model_row_clear(&row);
    return f;
}

/* The clip: one face, the expression changing every SEGMENT frames; NULL (the test skipped)
 * when it cannot be made here. */
static FcScene *make_clip(const char *shared, const char *clip, int n_frames)
{
    GError *error = NULL;
    FcScene *s = fc_scene_new(320, 240, n_frames);
    fc_scene_set_cfr(s, 25);
    s->container = FC_CONTAINER_AVI;
    FcFace *face = fc_scene_add_face(s, shared, "2008_002506.jpg", 1, 3.0, 60, &error);
    g_assert_no_error(error);
    fc_face_place(face, 0, 160, 105, 52, 0, TRUE);
    fc_face_place(face, n_frames - 1, 165, 110, 54, 4, TRUE);
    for (int k = 0; k * SEGMENT < n_frames; k++) {
        /* a pseudo-random order, so the latest frames hold every expression too */
        const char *e = expressions[(k * 7 + k / 4) % 4];
        g_assert_true(fc_face_express(face, k * SEGMENT, e));
        g_assert_true(fc_face_express(face, k * SEGMENT + SEGMENT - 1, e));
    }
    char *skip = NULL;
    if (!fc_make_clip(clip, s, &skip, &error)) {
        g_assert_no_error(error);
        g_test_skip(skip);
        g_free(skip);
        fc_scene_free(s);
        return NULL;
    }
    return s;
}

/* Labels AUs 1, 2 and 12 of every frame from the generator's truth (present iff intensity
 * >= 1.5), runs of equal values as one event. */
static const int aus[3] = {1, 2, 12};

static void label_from_truth(MimicaStore *store, gint64 video, FcScene *s, int n_frames)
{
    GError *error = NULL;
    long n_pos[3] = {0};
    for (int a = 0; a < 3; a++) {
        int start = 0;
        MimicaLabelValue cur = MIMICA_LABEL_ABSENT;
        for (int f = 0; f <= n_frames; f++) {
            MimicaLabelValue v = MIMICA_LABEL_ABSENT;
            if (f < n_frames) {
                FcTruth t;
                g_assert_true(fc_scene_render(s, f, NULL, &t, &error));
                v = fc_truth_au(&t, 0, aus[a]) >= 1.5f ? MIMICA_LABEL_PRESENT : MIMICA_LABEL_ABSENT;
                n_pos[a] += v == MIMICA_LABEL_PRESENT;
            }
            if (f > 0 && (f == n_frames || v != cur)) {
                g_assert_cmpint(mimica_store_label_set(store, video, start, f - 1, aus[a], cur,
                                                       "truth", &error),
                                >, 0);
                start = f;
            }
            cur = v;
        }
    }
    g_test_message("labels: AU1 %ld, AU2 %ld, AU12 %ld of %d frames present", n_pos[0], n_pos[1],
                   n_pos[2], n_frames);
}

static gboolean full_resume;

static void test_quick_finetune(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    g_autofree char *probe =
        shared ? g_build_filename(shared, "fixtures", "faces", "images", NULL) : NULL;
    if (!probe || !g_file_test(probe, G_FILE_TEST_IS_DIR)) {
        mimica_test_skip_fixtures("face fixtures missing (MIMICA_SHARED_DIR)");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mimica-teach-XXXXXX", NULL);
    GError *error = NULL;
    g_autofree char *clip = g_build_filename(dir, "clip.avi", NULL);
    g_autoptr(FcScene) s = make_clip(shared, clip, N_FRAMES);
    if (!s) {
        rm_rf(dir);
        return;
    }

    /* the parent: a network with random weights */
    g_autofree char *parent_path = g_build_filename(dir, "parent.safetensors", NULL);
    char err[512];
    mim_fit_model fm;
    g_assert_cmpint(mim_fit_model_open(&fm, "auto", NULL, "1,2,12", 3, err, sizeof err), ==, 0);
    g_assert_cmpint(mim_aunet_save(fm.net, parent_path, &fm.info), ==, MIM_OK);
    mim_fit_model_close(&fm);
    g_autofree char *parent_sha = file_sha(parent_path);

    /* the project, analysed with it */
    g_autofree char *project = g_build_filename(dir, "p.mimica", NULL);
    g_autoptr(MimicaStore) store = mimica_store_create(project, &error);
    g_assert_no_error(error);
    gint64 video = mimica_analysis_add_video(store, clip, NULL, &error);
    g_assert_no_error(error);
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o);
    o.model = parent_path;
    o.max_faces = 1;
    MimicaAnalysisStats stats;
    gint64 t0 = g_get_monotonic_time();
    g_assert_true(mimica_analysis_run(store, video, &o, NULL, NULL, NULL, &stats, &error));
    g_assert_no_error(error);
    g_test_message("analysis: %lld frames, %lld with a face, %.1f s", (long long)stats.n_frames,
                   (long long)stats.n_face_rows, (g_get_monotonic_time() - t0) / 1e6);
    g_assert_cmpint(stats.n_face_rows, >=, N_FRAMES * 9 / 10);

    label_from_truth(store, video, s, N_FRAMES);

    /* the import: one labelled record per frame with a face, labels as set */
    g_autofree char *pack_path = g_build_filename(dir, "corrected.pack", NULL);
    g_autofree char *target_path = g_build_filename(dir, "target.pack", NULL);
    MimicaTeachImport imp;
    g_assert_true(
        mimica_teach_import_project(project, 0, pack_path, target_path, 1, &imp, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpstr(imp.au_list, ==, "1,2,12");
    g_assert_cmpint(imp.n_labelled, ==, stats.n_face_rows);
    g_assert_cmpint(imp.n_unlabelled, ==, 0);
    mim_pack *pk = mim_pack_open(pack_path, err, sizeof err);
    g_assert_nonnull(pk);
    long bad = 0;
    for (long i = 0; i < mim_pack_n(pk); i++) {
        FcTruth t;
        g_assert_true(fc_scene_render(s, (int)mim_pack_source(pk, i), NULL, &t, &error));
        for (int a = 0; a < 3; a++)
            bad += mim_pack_labels(pk, i)[a] != (fc_truth_au(&t, 0, aus[a]) >= 1.5f ? 1.0f : 0.0f);
    }
    g_assert_cmpint(bad, ==, 0);
    g_test_message("import: %ld labelled records, %ld skipped", imp.n_labelled, imp.n_skipped);
    mim_pack_close(pk);
    /* target only (no labelled pack): every analysed frame, labelled or not, unlabelled */
    MimicaTeachImport imt;
    g_assert_true(
        mimica_teach_import_project(project, 0, NULL, target_path, 1, &imt, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpint(imt.n_labelled, ==, 0);
    g_assert_cmpint(imt.n_unlabelled, ==, imp.n_labelled);
    pk = mim_pack_open(target_path, err, sizeof err);
    g_assert_nonnull(pk);
    long labelled = 0;
    for (long i = 0; i < mim_pack_n(pk); i++)
        for (int a = 0; a < 3; a++)
            labelled += mim_pack_labels(pk, i)[a] != MIM_AU_MISSING;
    g_test_message("target-only import: %ld records, %ld labels (want 0)", mim_pack_n(pk),
                   labelled);
    g_assert_cmpint(labelled, ==, 0);
    mim_pack_close(pk);

    if (full_resume) {
        /* full mode: straight, then interrupted after its first step and resumed: the same
         * weights, bit for bit (same backend, deterministic data and sampling) */
        gint64 a = run_full(project, FALSE, &error);
        g_assert_no_error(error);
        gint64 b = run_full(project, TRUE, &error);
        g_assert_no_error(error);
        g_assert_cmpint(a, >, 0);
        g_assert_cmpint(b, >, a);
        size_t na, nb, n_diff = 0;
        g_autofree float *fa = model_flat(store, a, &na);
        g_autofree float *fb = model_flat(store, b, &nb);
        g_assert_cmpuint(na, ==, nb);
        for (size_t i = 0; i < na; i++)
            n_diff += memcmp(&fa[i], &fb[i], sizeof(float)) != 0;
        g_test_message("full fine-tune resumed after an interruption: %zu of %zu weights differ "
                       "from the straight run",
                       n_diff, na);
        g_assert_cmpuint(n_diff, ==, 0);
        g_autofree char *parent_sha3 = file_sha(parent_path);
        g_assert_cmpstr(parent_sha, ==, parent_sha3);
        g_clear_pointer(&store, mimica_store_free);
        rm_rf(dir);
        return;
    }

    /* quick fine-tune on the runner */
    gint64 parent_id = mimica_store_models_latest_analysis(store, video, &error);
    g_assert_cmpint(parent_id, >, 0);
    g_autoptr(MimicaJobRunner) runner = mimica_job_runner_new(project, &error);
    g_assert_no_error(error);
    mimica_finetune_register(runner);
    g_autofree char *params = mimica_finetune_parameters("quick", NULL, 0, 0);
    t0 = g_get_monotonic_time();
    gint64 job = mimica_job_runner_submit(runner, MIMICA_FINETUNE_KIND, params, &error);
    g_assert_no_error(error);
    g_autofree char *message = NULL;
    g_autofree char *status = mimica_job_runner_wait(runner, job, &message);
    double seconds = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("fine-tune: %s: %s (%.1f s)", status, message, seconds);
    g_assert_cmpstr(status, ==, "done");
    gint64 id = mimica_finetune_job_model(store, job, &error);
    g_assert_cmpint(id, >, parent_id);
    MimicaModelRow row;
    g_assert_true(mimica_store_models_get(store, id, &row, &error));
    g_assert_cmpint(row.parent_id, ==, parent_id);
    g_assert_cmpint(row.decision, ==, MIMICA_MODEL_PENDING);
    g_assert_cmpstr(row.aus, ==, "1,2,12");
    g_assert_true(g_file_test(row.file, G_FILE_TEST_IS_REGULAR));
    g_test_message("metrics: %s", row.metrics);
    mim_json_doc *doc = NULL;
    g_assert_cmpint(mim_json_parse(row.metrics, strlen(row.metrics), &doc, err, sizeof err), ==, 0);
    const mim_json *m = mim_json_root(doc);
    static const char *const keys[] = {"f1_before",     "f1_after", "mean_f1_before",
                                       "mean_f1_after", "n_train",  "n_heldout"};
    for (guint k = 0; k < G_N_ELEMENTS(keys); k++)
        g_assert_nonnull(mim_json_get(m, keys[k]));
    g_assert_nonnull(mim_json_get(mim_json_get(m, "f1_after"), "12"));
    double before = mim_json_get(m, "mean_f1_before")->number;
    double after = mim_json_get(m, "mean_f1_after")->number;
    double n_train = mim_json_get(m, "n_train")->number;
    double n_held = mim_json_get(m, "n_heldout")->number;
    g_assert_cmpfloat(n_train + n_held, ==, (double)imp.n_labelled);
    g_assert_cmpfloat(n_held, >=, 0.15 * imp.n_labelled);
    g_assert_cmpfloat(after, >, before + 0.1);
    mim_json_doc_free(doc);

    /* the parent is untouched; the new model runs (evaluated on the import's pack) */
    g_autofree char *parent_sha2 = file_sha(parent_path);
    g_assert_cmpstr(parent_sha, ==, parent_sha2);
    g_assert_cmpint(mim_fit_model_open(&fm, "auto", row.file, NULL, 0, err, sizeof err), ==, 0);
    g_assert_cmpstr(fm.info.au_list, ==, "1,2,12");
    mim_fit_model_close(&fm);

    /* keep / discard */
    g_assert_true(mimica_store_models_decide(store, id, MIMICA_MODEL_KEPT, &error));
    g_assert_false(mimica_store_models_decide(store, id, MIMICA_MODEL_DISCARDED, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_clear_error(&error);
    mimica_model_row_clear(&row);
    g_assert_true(mimica_store_models_get(store, id, &row, &error));
    g_assert_cmpint(row.decision, ==, MIMICA_MODEL_KEPT);
    mimica_model_row_clear(&row);
    g_assert_true(mimica_store_models_get(store, parent_id, &row, &error));
    g_assert_cmpint(row.decision, ==, MIMICA_MODEL_KEPT); /* analysis rows count as kept */
    mimica_model_row_clear(&row);
    g_test_message("held-out mean F1 %.3f -> %.3f (%g train, %g held-out frames), %.1f s", before,
                   after, n_train, n_held, seconds);
    g_clear_object(&runner);
    g_clear_pointer(&store, mimica_store_free);
    rm_rf(dir);
}

static int count_models(MimicaStore *store, const char *name_prefix)
{
    GError *error = NULL;
    g_autoptr(GArray) rows = mimica_store_models_list(store, &error);
    g_assert_no_error(error);
    int n = 0;
    for (guint i = 0; i < rows->len; i++)
        n += g_str_has_prefix(g_array_index(rows, MimicaModelRow, i).name, name_prefix);
    return n;
}

static gint64 run_quick(const char *project, char **message, double *seconds)
{
    GError *error = NULL;
    g_autoptr(MimicaJobRunner) runner = mimica_job_runner_new(project, &error);
    g_assert_no_error(error);
    mimica_finetune_register(runner);
    g_autofree char *params = mimica_finetune_parameters("quick", NULL, 0, 0);
    gint64 t0 = g_get_monotonic_time();
    gint64 job = mimica_job_runner_submit(runner, MIMICA_FINETUNE_KIND, params, &error);
    g_assert_no_error(error);
    g_autofree char *status = mimica_job_runner_wait(runner, job, message);
    *seconds = (g_get_monotonic_time() - t0) / 1e6;
    g_test_message("fine-tune job %" G_GINT64_FORMAT ": %s: %s (%.1f s)", job, status, *message,
                   *seconds);
    g_assert_cmpstr(status, ==, "done");
    g_autoptr(MimicaStore) store = mimica_store_open(project, &error);
    g_assert_no_error(error);
    gint64 id = mimica_finetune_job_model(store, job, &error);
    g_assert_no_error(error);
    return id;
}

/* A project analysed with the geometry estimator only (as the demo project): no network to start
 * from, so the fine-tune starts from an untrained network for the labelled AUs, written beside
 * the project and registered as the parent; the crops come from the landmarks the geometry
 * analysis stored. Quick mode trains the AU heads on the frozen random features: the held-out
 * mean F1 must beat the untrained parent's. A second fine-tune starts from the same untrained
 * model; analysing the video with the kept model refers to the fine-tuned model's row, and a
 * fine-tune after that starts from it. */
static void test_fresh_finetune(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    g_autofree char *probe =
        shared ? g_build_filename(shared, "fixtures", "faces", "images", NULL) : NULL;
    if (!probe || !g_file_test(probe, G_FILE_TEST_IS_DIR)) {
        mimica_test_skip_fixtures("face fixtures missing (MIMICA_SHARED_DIR)");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mimica-teach-fresh-XXXXXX", NULL);
    GError *error = NULL;
    g_autofree char *clip = g_build_filename(dir, "clip.avi", NULL);
    g_autoptr(FcScene) s = make_clip(shared, clip, N_FRAMES);
    if (!s) {
        rm_rf(dir);
        return;
    }
    g_autofree char *project = g_build_filename(dir, "p.mimica", NULL);
    g_autoptr(MimicaStore) store = mimica_store_create(project, &error);
    g_assert_no_error(error);
    gint64 video = mimica_analysis_add_video(store, clip, NULL, &error);
    g_assert_no_error(error);
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o); /* the geometry estimator */
    o.max_faces = 1;
    MimicaAnalysisStats stats;
    g_assert_true(mimica_analysis_run(store, video, &o, NULL, NULL, NULL, &stats, &error));
    g_assert_no_error(error);
    gint64 geometry = mimica_store_models_latest_analysis(store, video, &error);
    MimicaModelRow row;
    g_assert_true(mimica_store_models_get(store, geometry, &row, &error));
    g_test_message("geometry analysis: model %" G_GINT64_FORMAT " %s (file %s), %lld frames with "
                   "a face",
                   geometry, row.name, row.file, (long long)stats.n_face_rows);
    g_assert_false(g_file_test(row.file, G_FILE_TEST_IS_REGULAR));
    mimica_model_row_clear(&row);
    g_assert_cmpint(stats.n_face_rows, >=, N_FRAMES * 9 / 10);
    label_from_truth(store, video, s, N_FRAMES);

    /* the fine-tune: parent = a fresh untrained network for AUs 1, 2, 12 */
    g_autofree char *message = NULL;
    double seconds = 0;
    gint64 id = run_quick(project, &message, &seconds);
    g_assert_nonnull(strstr(message, "untrained network"));
    g_assert_true(mimica_store_models_get(store, id, &row, &error));
    gint64 parent_id = row.parent_id;
    g_assert_cmpint(parent_id, >, geometry);
    g_assert_cmpint(row.decision, ==, MIMICA_MODEL_PENDING);
    g_assert_cmpstr(row.aus, ==, "1,2,12");
    g_autofree char *model_file = g_strdup(row.file);
    g_autofree char *base = g_path_get_basename(row.file);
    g_assert_cmpstr(row.name, ==, base);
    g_test_message("metrics: %s", row.metrics);
    char err[512];
    mim_json_doc *doc = NULL;
    g_assert_cmpint(mim_json_parse(row.metrics, strlen(row.metrics), &doc, err, sizeof err), ==, 0);
    const mim_json *m = mim_json_root(doc);
    double before = mim_json_get(m, "mean_f1_before")->number;
    double after = mim_json_get(m, "mean_f1_after")->number;
    double n_train = mim_json_get(m, "n_train")->number;
    double n_held = mim_json_get(m, "n_heldout")->number;
    mim_json_doc_free(doc);
    mimica_model_row_clear(&row);

    /* the untrained parent: beside the project, no parent of its own, counts as kept */
    g_assert_true(mimica_store_models_get(store, parent_id, &row, &error));
    g_autofree char *models_dir = g_strdup_printf("%s.models", project);
    g_autofree char *parent_dir = g_path_get_dirname(row.file);
    g_assert_cmpstr(parent_dir, ==, models_dir);
    g_assert_cmpstr(row.name, ==, "untrained-seed1-au1-2-12.safetensors");
    g_assert_cmpint(row.parent_id, ==, 0);
    g_assert_cmpint(row.decision, ==, MIMICA_MODEL_KEPT);
    g_assert_cmpstr(row.aus, ==, "1,2,12");
    mim_fit_model fm;
    g_assert_cmpint(mim_fit_model_open(&fm, "auto", row.file, NULL, 0, err, sizeof err), ==, 0);
    g_test_message("parent %" G_GINT64_FORMAT " %s: %s", parent_id, row.name, fm.info.provenance);
    g_assert_true(g_str_has_prefix(fm.info.provenance, "untrained start, seed 1"));
    g_assert_cmpstr(fm.info.au_list, ==, "1,2,12");
    mim_fit_model_close(&fm);
    g_autofree char *parent_sha = file_sha(row.file);
    mimica_model_row_clear(&row);
    g_test_message("from an untrained network: held-out mean F1 %.3f -> %.3f (%g train, %g "
                   "held-out frames), %.1f s",
                   before, after, n_train, n_held, seconds);
    g_assert_cmpfloat(n_held, >=, 0.15 * (n_train + n_held));
    g_assert_cmpfloat(after, >, before + 0.1);

    /* again: the same untrained parent, unchanged, no second one */
    g_autofree char *message2 = NULL;
    gint64 id2 = run_quick(project, &message2, &seconds);
    g_assert_cmpint(id2, >, id);
    g_assert_true(mimica_store_models_get(store, id2, &row, &error));
    g_assert_cmpint(row.parent_id, ==, parent_id);
    mimica_model_row_clear(&row);
    g_assert_cmpint(count_models(store, "untrained-"), ==, 1);
    g_assert_true(mimica_store_models_get(store, parent_id, &row, &error));
    g_autofree char *parent_sha2 = file_sha(row.file);
    g_assert_cmpstr(parent_sha, ==, parent_sha2);
    mimica_model_row_clear(&row);

    /* keep the first, analyse with it (as the window's Keep does): the analysis is by its row */
    g_assert_true(mimica_store_models_decide(store, id, MIMICA_MODEL_KEPT, &error));
    o.model = model_file;
    g_assert_true(mimica_analysis_run(store, video, &o, NULL, NULL, NULL, &stats, &error));
    g_assert_no_error(error);
    gint64 analysed = mimica_store_models_latest_analysis(store, video, &error);
    g_test_message("analysis with the kept model: model %" G_GINT64_FORMAT " (fine-tuned model "
                   "%" G_GINT64_FORMAT "), %lld frames with a face",
                   analysed, id, (long long)stats.n_face_rows);
    g_assert_cmpint(analysed, ==, id);
    /* and a fine-tune now starts from that network analysis, not from an untrained one */
    g_autofree char *message3 = NULL;
    gint64 id3 = run_quick(project, &message3, &seconds);
    g_assert_null(strstr(message3, "untrained"));
    g_assert_true(mimica_store_models_get(store, id3, &row, &error));
    g_assert_cmpint(row.parent_id, ==, id);
    mimica_model_row_clear(&row);
    g_clear_pointer(&store, mimica_store_free);
    rm_rf(dir);
}

int main(int argc, char **argv)
{
    gboolean frames_given = FALSE;
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--frames=") && atoi(argv[i] + 9) >= 20) {
            N_FRAMES = atoi(argv[i] + 9);
            frames_given = TRUE;
            argv[i] = (char *)"--tap"; /* g_test_init rejects options it does not know */
        } else if (!strcmp(argv[i], "--full-resume")) {
            full_resume = TRUE;
            argv[i] = (char *)"--tap";
        }
    g_test_init(&argc, &argv, NULL);
    g_test_add_func(full_resume ? "/teach/full-finetune-resume" : "/teach/quick-finetune",
                    test_quick_finetune);
    if (!full_resume && !frames_given)
        g_test_add_func("/teach/fresh-finetune", test_fresh_finetune);
    return g_test_run();
}
