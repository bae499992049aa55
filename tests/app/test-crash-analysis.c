/* test-crash-analysis.c: crash safety of the analysis. `mimica-cli analyze --project P` on a
 * short clip of a real face (face-clips.h) is killed with SIGKILL at a random moment of its run,
 * again and again on the same project; after each kill:
 *   - the project passes PRAGMA integrity_check and foreign_key_check (mimica_store_check);
 *   - what the analysis acknowledged (analyses.next_frame, committed) never goes back, and
 *     every frame below it has its predictions (the frames a straight run gives predictions);
 * and the next run resumes from there (next_frame only grows). When a run gets to the end, the
 * project has one analysis done, n_frames = the clip's frames, the predictions of the straight
 * run frame for frame, one job done, and the CSV a row per frame; the project is then removed
 * and the trials go on with a new one.
 *
 *   /crash/analysis   --trials=N kill rounds (default 4: a few seconds; the slow suite 200)
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "face-clips.h"
#include "store/mimica-store.h"
#include "cli-fixture.h"

static int n_trials = 4;

#define N_FRAMES 40

typedef CliFixture Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    cli_fixture_init(f, "crash-analysis");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    cli_fixture_clear(f);
}

/* A 320x240 clip of N_FRAMES: one face (faceapi sample6, as in "expressions") drifting a little,
 * smiling in the middle; AVI (mpeg4), 25 fps. NULL (skipped) without the encoder. */
static char *make_clip(Fixture *f)
{
    GError *error = NULL;
    g_autoptr(FcScene) s = fc_scene_new(320, 240, N_FRAMES);
    fc_scene_set_cfr(s, 25);
    s->container = FC_CONTAINER_AVI;
    FcFace *face = fc_scene_add_face(s, f->shared, "sample6.jpg", 3, 3, 70, &error);
    g_assert_no_error(error);
    fc_face_place(face, 0, 155, 100, 64, 0, TRUE);
    fc_face_place(face, N_FRAMES - 1, 165, 105, 60, 3, TRUE);
    fc_face_express(face, 10, "");
    fc_face_express(face, 18, "6:4 12:5");
    fc_face_express(face, 26, "");
    char *path = g_build_filename(f->dir, "clip.avi", NULL);
    char *skip = NULL;
    if (!fc_make_clip(path, s, &skip, &error)) {
        g_assert_no_error(error);
        g_test_skip(skip);
        g_free(skip);
        g_free(path);
        return NULL;
    }
    return path;
}

typedef struct {
    gboolean exists; /* the project file is there and has an analysis row */
    gboolean done;
    gint64 next_frame, n_frames;
    gint64 frames[N_FRAMES]; /* prediction rows per frame */
    gint64 n_beyond;         /* prediction rows at or past next_frame */
    int jobs_done, jobs_other;
} State;

/* Reads the project after a run: integrity first (g_assert), then the analysis' state. */
static void read_state(const char *project, State *st)
{
    memset(st, 0, sizeof *st);
    if (!g_file_test(project, G_FILE_TEST_EXISTS))
        return;
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(project, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    sqlite3 *db = mimica_store_get_db(store);
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(
        sqlite3_prepare_v2(db, "SELECT state, next_frame, n_frames FROM analyses", -1, &q, NULL),
        ==, SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW) {
        st->exists = TRUE;
        st->done = !g_strcmp0((const char *)sqlite3_column_text(q, 0), "done");
        st->next_frame = sqlite3_column_int64(q, 1);
        st->n_frames = sqlite3_column_int64(q, 2);
        g_assert_cmpint(sqlite3_step(q), ==, SQLITE_DONE); /* one video, one model */
    }
    sqlite3_finalize(q);
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT frame, count(*) FROM predictions GROUP BY frame",
                                       -1, &q, NULL),
                    ==, SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        gint64 frame = sqlite3_column_int64(q, 0), n = sqlite3_column_int64(q, 1);
        g_assert_cmpint(frame, >=, 0);
        g_assert_cmpint(frame, <, N_FRAMES);
        st->frames[frame] = n;
        if (frame >= st->next_frame)
            st->n_beyond += n;
    }
    sqlite3_finalize(q);
    g_assert_cmpint(sqlite3_prepare_v2(db,
                                       "SELECT count(*) FILTER (WHERE status = 'done'),"
                                       " count(*) FILTER (WHERE status != 'done') FROM jobs",
                                       -1, &q, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    st->jobs_done = sqlite3_column_int(q, 0);
    st->jobs_other = sqlite3_column_int(q, 1);
    sqlite3_finalize(q);
}

/* Rows of the CSV (after the header) and its distinct frame numbers. */
static int csv_frames(const char *path, int *n_rows)
{
    g_autofree char *text = NULL;
    GError *error = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, &error));
    g_assert_no_error(error);
    gboolean seen[N_FRAMES + 2] = {0};
    int distinct = 0;
    *n_rows = 0;
    char **lines = g_strsplit(text, "\n", -1);
    for (int i = 1; lines[i]; i++) {
        if (!*lines[i])
            continue;
        int frame = atoi(lines[i]); /* OpenFace: 1-based */
        g_assert_cmpint(frame, >=, 1);
        g_assert_cmpint(frame, <=, N_FRAMES);
        (*n_rows)++;
        if (!seen[frame]) {
            seen[frame] = TRUE;
            distinct++;
        }
    }
    g_strfreev(lines);
    return distinct;
}

static void remove_project(const char *project)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        g_autofree char *p = g_strconcat(project, suffixes[i], NULL);
        g_unlink(p);
    }
}

static GPid spawn_analyze(Fixture *f, const char *clip, const char *out, const char *project)
{
    const char *const args[] = {"analyze", clip,         "-o",   out, "--project",
                                project,   "--progress", "none", NULL};
    return cli_spawn(f, args);
}

/* A project whose analysis is done: every frame analysed, the straight run's predictions, one
 * job done, a CSV row for every frame. */
static void check_complete(const State *st, const State *ref, const char *csv)
{
    g_assert_true(st->done);
    g_assert_cmpint(st->n_frames, ==, N_FRAMES);
    g_assert_cmpint(st->next_frame, ==, N_FRAMES);
    for (int i = 0; i < N_FRAMES; i++)
        if (st->frames[i] != ref->frames[i])
            g_error("frame %d: %" G_GINT64_FORMAT
                    " prediction rows, the straight run %" G_GINT64_FORMAT,
                    i, st->frames[i], ref->frames[i]);
    g_assert_cmpint(st->jobs_done, ==, 1);
    int n_rows = 0;
    g_assert_cmpint(csv_frames(csv, &n_rows), ==, N_FRAMES);
}

static void test_analysis(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    g_autofree char *clip = make_clip(f);
    if (!clip)
        return;
    g_autofree char *out = g_build_filename(f->dir, "out", NULL);
    g_autofree char *csv = g_build_filename(out, "clip.csv", NULL);
    g_autofree char *ref_out = g_build_filename(f->dir, "ref", NULL);
    g_autofree char *ref_csv = g_build_filename(ref_out, "clip.csv", NULL);
    g_autofree char *ref_project = g_build_filename(f->dir, "ref.mimica", NULL);
    g_autofree char *project = g_build_filename(f->dir, "p.mimica", NULL);

    /* the straight run: the reference, and a run's duration */
    gint64 t0 = g_get_monotonic_time();
    int status = cli_wait_status(spawn_analyze(f, clip, ref_out, ref_project));
    gint64 run_us = g_get_monotonic_time() - t0;
    g_assert_cmpint(status, ==, 0);
    State ref;
    read_state(ref_project, &ref);
    int n_pred_frames = 0;
    for (int i = 0; i < N_FRAMES; i++)
        n_pred_frames += ref.frames[i] > 0;
    g_test_message("straight run: %d frames in %.2f s, %d frames with predictions", N_FRAMES,
                   run_us / 1e6, n_pred_frames);
    check_complete(&ref, &ref, ref_csv);
    g_assert_cmpint(n_pred_frames, >, N_FRAMES / 2);

    guint32 seed = g_test_rand_int();
    GRand *rand = g_rand_new_with_seed(seed);
    g_test_message("seed %u, %d trials", seed, n_trials);
    int killed = 0, finished = 0, completed = 0, no_project = 0, no_analysis = 0, resumed = 0;
    int max_beyond = 0, orphan_jobs = 0;
    gint64 acked = 0;    /* next_frame seen after the previous kill */
    double sum_done = 0; /* next_frame at the kills, for the mean */
    for (int trial = 0; trial < n_trials; trial++) {
        GPid pid = spawn_analyze(f, clip, out, project);
        /* anywhere in a whole run, its start (process, open, create) included */
        g_usleep(g_rand_int_range(rand, 0, (int)MAX(run_us * 11 / 10, 1000)));
        kill(pid, SIGKILL);
        status = cli_wait_status(pid);
        if (status == 128 + SIGKILL)
            killed++;
        else {
            g_assert_cmpint(status, ==, 0);
            finished++;
        }
        State st;
        read_state(project, &st);
        if (!g_file_test(project, G_FILE_TEST_EXISTS)) {
            no_project++;
            continue;
        }
        if (!st.exists) {
            no_analysis++;
            continue;
        }
        /* acknowledged frames stay: next_frame never goes back, each frame below it has the
         * straight run's predictions */
        g_assert_cmpint(st.next_frame, >=, acked);
        if (acked > 0 && st.next_frame > acked)
            resumed++;
        for (int i = 0; i < st.next_frame; i++)
            if (st.frames[i] != ref.frames[i])
                g_error("trial %d: frame %d below next_frame %" G_GINT64_FORMAT
                        " has %" G_GINT64_FORMAT
                        " prediction rows, the straight run %" G_GINT64_FORMAT,
                        trial, i, st.next_frame, st.frames[i], ref.frames[i]);
        max_beyond = MAX(max_beyond, (int)st.n_beyond);
        sum_done += st.next_frame;
        acked = st.next_frame;
        if (st.done) {
            check_complete(&st, &ref, csv);
            orphan_jobs += st.jobs_other;
            completed++;
            remove_project(project);
            g_unlink(csv); /* the next completion writes its own */
            acked = 0;
        }
    }
    /* the last project, run to the end */
    State st;
    read_state(project, &st);
    if (g_file_test(project, G_FILE_TEST_EXISTS) && !st.done) {
        status = cli_wait_status(spawn_analyze(f, clip, out, project));
        g_assert_cmpint(status, ==, 0);
        read_state(project, &st);
        g_assert_cmpint(st.next_frame, >=, acked);
        check_complete(&st, &ref, csv);
        orphan_jobs += st.jobs_other;
        completed++;
    }
    g_rand_free(rand);
    g_test_message(
        "%d trials: %d killed, %d finished first; %d analyses completed (each checked "
        "against the straight run, CSV %d frames); killed before the project existed "
        "%d, before its analysis row %d; %d runs resumed past the previous kill; mean "
        "next_frame at a kill %.1f of %d; prediction rows past next_frame up to %d; "
        "jobs left not done %d; integrity_check ok after every kill",
        n_trials, killed, finished, completed, N_FRAMES, no_project, no_analysis, resumed,
        n_trials - no_project - no_analysis > 0 ? sum_done / (n_trials - no_project - no_analysis)
                                                : 0.0,
        N_FRAMES, max_beyond, orphan_jobs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--trials="))
            n_trials = atoi(argv[i] + 9);
    if (n_trials < 1 || n_trials > 100000)
        n_trials = 4;
    g_test_add("/crash/analysis", Fixture, NULL, fixture_setup, test_analysis, fixture_teardown);
    return g_test_run();
}
