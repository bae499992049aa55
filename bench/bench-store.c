/* bench-store.c: `mimica-bench store [--events N] [--hours H] [--dir DIR] [--keep]`: the project
 * store at the scale of years of labels. Builds a project with N label events (default
 * 1,000,000, imported from a labels CSV: 3 annotators, 12 AUs, ranges of 1 to 90 frames over
 * the video; --one-group: one annotator and one AU, the old view's worst case) and H hours (default
 * 10) of per-frame predictions at 30 frames/s (one face, 12 AUs, 68 landmarks, pose), then times
 * what a user waits for: open      mimica_store_open of the closed project (median of 5) info
 * `project info`'s counts (mimica_store_get_info) window    the labels of a 10-second window, what
 * the timeline draws (200 random windows) export    `label export`: every label that holds,
 * streamed to a CSV file edit      label set, undo, redo at that size (median of 20 each) rebuild
 * the O(n log n) recomputation of the labels that hold (schema 5's migration) Prints the figures,
 * then one JSON line. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimica-bench.h"
#include "store/mimica-store-private.h"
#include "store/mimica-store.h"

static const char usage[] =
    "Usage: mimica-bench store [--events N] [--hours H] [--one-group] [--dir DIR] [--keep]\n";

static const int bench_aus[12] = {1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24};

static double now_s(void)
{
    return g_get_monotonic_time() / 1e6;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, compare_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static gboolean count_label(const MimicaLabel *l, gpointer user_data)
{
    (void)l;
    (*(gint64 *)user_data)++;
    return TRUE;
}

static gboolean fail(const char *what, GError *error)
{
    fprintf(stderr, "mimica-bench store: %s: %s\n", what, error ? error->message : "failed");
    g_clear_error(&error);
    return FALSE;
}

/* The labels CSV of N events over a video of N_FRAMES frames. */
static gboolean write_labels_csv(const char *path, gint64 n, gint64 n_frames, gboolean one_group,
                                 guint32 seed)
{
    FILE *out = fopen(path, "w");
    if (!out)
        return FALSE;
    static const char *const values[] = {"absent", "present", "A", "B", "C", "D", "E"};
    static const char *const who[] = {"ann", "bob", "cat"};
    GRand *rand = g_rand_new_with_seed(seed);
    fputs("video,frame_start,frame_end,au,value,annotator,time,event\n", out);
    for (gint64 i = 0; i < n; i++) {
        gint64 len = g_rand_int_range(rand, 1, 91);
        gint64 s = (gint64)(g_rand_double(rand) * (double)(n_frames - len));
        gint64 ms = 1700000000000LL + i * 1000;
        fprintf(out, "1,%lld,%lld,%d,%s,%s,", (long long)s, (long long)(s + len - 1),
                bench_aus[one_group ? 6 : g_rand_int_range(rand, 0, 12)],
                values[g_rand_int_range(rand, 0, 7)],
                who[one_group ? 0 : g_rand_int_range(rand, 0, 3)]);
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(ms / 1000);
        g_autofree char *t = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
        fprintf(out, "%s.%03dZ,\n", t, (int)(ms % 1000));
    }
    g_rand_free(rand);
    return fclose(out) == 0;
}

static gboolean put_predictions(MimicaStore *store, gint64 video, gint64 model, gint64 n_frames,
                                GError **error)
{
    const gsize batch = 3000;
    MimicaPrediction *rows = g_new0(MimicaPrediction, batch);
    gboolean ok = TRUE;
    for (gint64 f0 = 0; ok && f0 < n_frames; f0 += (gint64)batch) {
        gsize n = (gsize)MIN((gint64)batch, n_frames - f0);
        for (gsize i = 0; i < n; i++) {
            MimicaPrediction *p = &rows[i];
            gint64 f = f0 + (gint64)i;
            p->frame = f;
            p->timestamp = (double)f / 30.0;
            p->confidence = 0.98f;
            p->success = TRUE;
            p->has_box = TRUE;
            p->box[0] = 200, p->box[1] = 120, p->box[2] = 180, p->box[3] = 180;
            p->has_landmarks = TRUE;
            for (int k = 0; k < 2 * MIMICA_N_LANDMARKS; k++)
                p->landmarks[k] = 200.0f + (float)k + 0.01f * (float)(f % 97);
            p->n_aus = 12;
            for (int k = 0; k < 12; k++)
                p->au_prob[k] = 0.5f + 0.4f * sinf((float)(f + 31 * k) * 0.01f);
            p->has_pose = TRUE;
            for (int k = 0; k < 6; k++)
                p->pose[k] = 0.1f * (float)k;
        }
        ok = mimica_store_put_predictions(store, video, 0, model, rows, n, error);
    }
    g_free(rows);
    return ok;
}

static int run_store(int argc, char **argv)
{
    gint64 n_events = 1000000;
    double hours = 10;
    const char *dir_arg = NULL;
    gboolean keep = FALSE, one_group = FALSE;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--events")) {
            n_events = g_ascii_strtoll(argv[++i], NULL, 10);
        } else if (i + 1 < argc && !strcmp(argv[i], "--hours")) {
            hours = g_ascii_strtod(argv[++i], NULL);
        } else if (i + 1 < argc && !strcmp(argv[i], "--dir")) {
            dir_arg = argv[++i];
        } else if (!strcmp(argv[i], "--keep")) {
            keep = TRUE;
        } else if (!strcmp(argv[i], "--one-group")) {
            one_group = TRUE;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (n_events < 1 || hours <= 0 || hours > 100) {
        fputs(usage, stderr);
        return 2;
    }
    GError *error = NULL;
    g_autofree char *dir =
        dir_arg ? g_strdup(dir_arg) : g_dir_make_tmp("mimica-bench-store-XXXXXX", &error);
    if (!dir)
        return fail("temporary folder", error), 1;
    g_autofree char *project = g_build_filename(dir, "bench.mimica", NULL);
    g_autofree char *csv = g_build_filename(dir, "labels.csv", NULL);
    g_autofree char *exported = g_build_filename(dir, "export.csv", NULL);
    g_autofree char *wal = g_strconcat(project, "-wal", NULL);
    g_autofree char *shm = g_strconcat(project, "-shm", NULL);
    g_remove(project), g_remove(wal), g_remove(shm);
    const gint64 n_frames = (gint64)(hours * 3600 * 30);
    int rc = 1;

    /* Build ------------------------------------------------------------------------------- */
    double t0 = now_s();
    if (!write_labels_csv(csv, n_events, n_frames, one_group, 42))
        return fail("writing the labels CSV", NULL), 1;
    double t_csv = now_s() - t0;
    MimicaStore *store = mimica_store_create(project, &error);
    if (!store)
        return fail("creating", error), 1;
    MimicaVideoFacts facts = {
        .path = (char *)"/videos/ten-hours.mp4",
        .content_hash = (char *)"bench",
        .duration_us = n_frames * 1000000 / 30,
        .frame_rate_num = 30,
        .frame_rate_den = 1,
        .n_frames = n_frames,
        .width = 1280,
        .height = 720,
    };
    gint64 video = mimica_store_add_video(store, &facts, &error);
    gint64 model = video ? mimica_store_add_model(store, "bench.safetensors", "bench", 0, bench_aus,
                                                  12, NULL, &error)
                         : 0;
    if (!model) {
        fail("adding the video and model", error);
        goto out;
    }
    t0 = now_s();
    gint64 n_imported = mimica_store_import_labels_csv(store, csv, &error);
    double t_import = now_s() - t0;
    if (n_imported != n_events) {
        fail("importing labels", error);
        goto out;
    }
    t0 = now_s();
    if (!put_predictions(store, video, model, n_frames, &error)) {
        fail("storing predictions", error);
        goto out;
    }
    double t_pred = now_s() - t0;
    mimica_store_free(store);
    store = NULL;
    GStatBuf st;
    gint64 bytes = g_stat(project, &st) == 0 ? (gint64)st.st_size : 0;
    printf("project: %lld label events (CSV %.1f s, import %.1f s = %.0f events/s), "
           "%lld prediction rows (%.1f h at 30 fps, %.1f s), %.0f MB\n",
           (long long)n_events, t_csv, t_import, n_events / t_import, (long long)n_frames, hours,
           t_pred, bytes / 1e6);

    /* Open -------------------------------------------------------------------------------- */
    double opens[5];
    for (int i = 0; i < 5; i++) {
        t0 = now_s();
        store = mimica_store_open(project, &error);
        opens[i] = now_s() - t0;
        if (!store) {
            fail("opening", error);
            goto out;
        }
        if (i < 4) {
            mimica_store_free(store);
            store = NULL;
        }
    }
    double t_open = median(opens, 5);
    printf("open:    %.2f ms (median of 5)\n", t_open * 1e3);

    /* Info -------------------------------------------------------------------------------- */
    MimicaStoreInfo info;
    t0 = now_s();
    if (!mimica_store_get_info(store, &info, &error)) {
        fail("project info", error);
        goto out;
    }
    double t_info = now_s() - t0;
    printf("info:    %.0f ms: %lld events, %lld labels hold, %lld predictions\n", t_info * 1e3,
           (long long)info.n_events, (long long)info.n_labels, (long long)info.n_predictions);

    /* Windows ----------------------------------------------------------------------------- */
    enum { N_WINDOWS = 200 };
    double windows[N_WINDOWS], w_max = 0;
    gint64 w_rows = 0;
    GRand *rand = g_rand_new_with_seed(7);
    for (int i = 0; i < N_WINDOWS; i++) {
        gint64 f0 = (gint64)(g_rand_double(rand) * (double)(n_frames - 300));
        gint64 n = 0;
        t0 = now_s();
        gboolean ok = mimica_store_foreach_label_in(store, video, f0, f0 + 299, NULL, count_label,
                                                    &n, &error);
        windows[i] = now_s() - t0;
        if (!ok) {
            g_rand_free(rand);
            fail("window", error);
            goto out;
        }
        w_max = MAX(w_max, windows[i]);
        w_rows += n;
    }
    g_rand_free(rand);
    double t_window = median(windows, N_WINDOWS);
    printf("window:  %.3f ms median, %.3f ms max (%d windows of 300 frames, %.1f labels each)\n",
           t_window * 1e3, w_max * 1e3, N_WINDOWS, (double)w_rows / N_WINDOWS);

    /* Export ------------------------------------------------------------------------------ */
    FILE *out = fopen(exported, "w");
    if (!out) {
        fail("opening the export file", NULL);
        goto out;
    }
    t0 = now_s();
    gboolean exported_ok = mimica_store_export_labels_csv(store, out, &error);
    double t_export = now_s() - t0;
    fclose(out);
    if (!exported_ok) {
        fail("export", error);
        goto out;
    }
    gint64 export_bytes = g_stat(exported, &st) == 0 ? (gint64)st.st_size : 0;
    printf("export:  %.2f s for %lld labels that hold (%.0f MB of CSV)\n", t_export,
           (long long)info.n_labels, export_bytes / 1e6);

    /* Edits ------------------------------------------------------------------------------- */
    enum { N_EDITS = 20 };
    double sets[N_EDITS], undos[N_EDITS], redos[N_EDITS];
    for (int i = 0; i < N_EDITS; i++) {
        gint64 f0 = (n_frames - 601) / N_EDITS * i;
        t0 = now_s();
        gboolean ok = mimica_store_label_set(store, video, f0, f0 + 600, 12, MIMICA_LABEL_C, "ann",
                                             &error) > 0;
        sets[i] = now_s() - t0;
        t0 = now_s();
        ok = ok && mimica_store_label_undo(store, "ann", NULL, &error) > 0;
        undos[i] = now_s() - t0;
        t0 = now_s();
        ok = ok && mimica_store_label_redo(store, "ann", NULL, &error) > 0;
        redos[i] = now_s() - t0;
        if (!ok) {
            fail("editing", error);
            goto out;
        }
    }
    double t_set = median(sets, N_EDITS), t_undo = median(undos, N_EDITS),
           t_redo = median(redos, N_EDITS);
    printf("edit:    set %.2f ms, undo %.2f ms, redo %.2f ms (medians of %d, ranges of 601 "
           "frames)\n",
           t_set * 1e3, t_undo * 1e3, t_redo * 1e3, N_EDITS);

    /* Rebuild ----------------------------------------------------------------------------- */
    gint64 held_before = 0, held_after = 0;
    sqlite3 *db = mimica_store_get_db(store);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    sqlite3_stmt *count = NULL;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM labels_held", -1, &count, NULL);
    if (count && sqlite3_step(count) == SQLITE_ROW)
        held_before = sqlite3_column_int64(count, 0);
    sqlite3_reset(count);
    t0 = now_s();
    gboolean rebuilt = _mimica_store_labels_rebuild(store, &error);
    double t_rebuild = now_s() - t0;
    if (count && sqlite3_step(count) == SQLITE_ROW)
        held_after = sqlite3_column_int64(count, 0);
    sqlite3_finalize(count);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (!rebuilt || held_before != held_after) {
        fail("rebuild", error);
        goto out;
    }
    printf("rebuild: %.2f s for %lld events (%lld hold, equal to the kept table)\n", t_rebuild,
           (long long)info.n_events, (long long)held_after);

    printf("{\"bench\": \"store\", \"events\": %lld, \"hours\": %.1f, \"open_ms\": %.2f, "
           "\"info_ms\": %.0f, \"window_ms\": %.3f, \"window_max_ms\": %.3f, \"export_s\": %.2f, "
           "\"labels\": %lld, \"import_s\": %.1f, \"set_ms\": %.2f, \"undo_ms\": %.2f, "
           "\"redo_ms\": %.2f, \"rebuild_s\": %.2f}\n",
           (long long)n_events, hours, t_open * 1e3, t_info * 1e3, t_window * 1e3, w_max * 1e3,
           t_export, (long long)info.n_labels, t_import, t_set * 1e3, t_undo * 1e3, t_redo * 1e3,
           t_rebuild);
    rc = 0;
out:
    mimica_store_free(store);
    if (!keep) {
        g_remove(csv), g_remove(exported), g_remove(project), g_remove(wal), g_remove(shm);
        if (!dir_arg)
            g_rmdir(dir);
    }
    return rc;
}

const mim_bench_cmd mim_bench_store = {
    .name = "store",
    .summary = "project store at scale: open, info, timeline window, label export, edits",
    .run = run_store,
};
