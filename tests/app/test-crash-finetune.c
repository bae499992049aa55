/* test-crash-finetune.c: crash safety of the fine-tune job. A project (a clip of a real face
 * analysed with the geometry estimator, every frame labelled for AUs 1, 2 and 12 from the
 * generator's truth) is fine-tuned by `mimica-cli finetune P --mode quick`, which writes an
 * untrained parent network beside the project (no analysis used a network), trains the AU
 * heads, writes the new model file and registers it. (Full mode, which also writes checkpoints,
 * takes about 25 s a step on 2 cores: too slow for kill rounds; its resume after an interrupt
 * is app-teach-full-resume.) The command is killed with SIGKILL at a random moment of
 * its run, again and again on the same project; after each kill:
 *   - the project passes PRAGMA integrity_check and foreign_key_check;
 *   - every model file in P.models loads (mim_fit_model_open), and the untrained parent has the
 *     bytes it first had: a model file is the old one or the new one, never torn;
 *   - every registered model's file is there and loads;
 * and the next run resumes the interrupted job. When a run gets to the end, the job is done with
 * one fine-tuned model registered (parent: the untrained network) whose file loads; the
 * project is then made again and the trials go on.
 *
 *   /crash/finetune   --trials=N kill rounds (default 2; the slow suite 200)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/mimica-analysis.h"
#include "face-clips.h"
#include "mim-fit.h"
#include "store/mimica-store-models.h"
#include "store/mimica-store.h"
#include "cli-fixture.h"

static int n_trials = 2;

#define N_FRAMES 30

typedef CliFixture Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    cli_fixture_init(f, "crash-finetune");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    cli_fixture_clear(f);
}

typedef struct {
    gboolean done;        /* the fine-tune job is done */
    char stage[32];       /* its resume stage: "", "training", "done" */
    int n_files, n_other; /* model files in P.models; other files there (temporaries) */
    int n_registered;     /* fine-tuned models registered (parent != 0) */
    int n_unregistered;   /* model files no row names */
} State;

static void read_state(const char *project, const char *parent_sha, State *st)
{
    memset(st, 0, sizeof *st);
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(project, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    sqlite3 *db = mimica_store_get_db(store);
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db,
                                       "SELECT status, resume FROM jobs WHERE kind = 'fine-tune'"
                                       " ORDER BY id DESC LIMIT 1",
                                       -1, &q, NULL),
                    ==, SQLITE_OK);
    if (sqlite3_step(q) == SQLITE_ROW) {
        st->done = !g_strcmp0((const char *)sqlite3_column_text(q, 0), "done");
        const char *r = (const char *)sqlite3_column_text(q, 1);
        const char *p = r ? strstr(r, "\"stage\": \"") : NULL;
        if (p)
            g_strlcpy(st->stage, p + 10, MIN(sizeof st->stage, strcspn(p + 10, "\"") + 1));
    }
    sqlite3_finalize(q);
    g_autoptr(GHashTable) registered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GArray) models = mimica_store_models_list(store, &error);
    g_assert_no_error(error);
    char err[512];
    for (guint i = 0; i < models->len; i++) {
        const MimicaModelRow *row = &g_array_index(models, MimicaModelRow, i);
        if (!g_str_has_suffix(row->file, ".safetensors"))
            continue; /* the geometry estimator has no file */
        g_hash_table_add(registered, g_strdup(row->file));
        if (!cli_model_loads(row->file, err, sizeof err))
            g_error("registered model %" G_GINT64_FORMAT " (%s) does not load: %s", row->id,
                    row->file, err);
        st->n_registered += row->parent_id != 0;
    }
    g_autofree char *dir = g_strdup_printf("%s.models", project);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_DIR))
            continue; /* the job's work folder */
        if (!g_str_has_suffix(name, ".safetensors")) {
            st->n_other++;
            continue;
        }
        st->n_files++;
        if (!cli_model_loads(path, err, sizeof err))
            g_error("model file %s is torn: %s", path, err);
        if (g_str_has_prefix(name, "untrained-") && parent_sha) {
            g_autofree char *sha = cli_file_checksum(path);
            g_assert_cmpstr(sha, ==, parent_sha);
        }
        st->n_unregistered += !g_hash_table_contains(registered, path);
    }
    if (d)
        g_dir_close(d);
}

static GPid spawn_finetune(Fixture *f, const char *project)
{
    const char *const args[] = {"finetune", project, "--mode", "quick", NULL};
    return cli_spawn(f, args);
}

static void reset_project(const char *template, const char *project)
{
    g_autofree char *models = g_strdup_printf("%s.models", project);
    cli_rm_rf(models);
    cli_remove_project(project);
    cli_copy_file(template, project);
}

static void test_finetune(Fixture *f, gconstpointer data)
{
    if (!cli_fixture_ready(f))
        return;
    g_autofree char *template = g_build_filename(f->dir, "template.mimica", NULL);
    if (!cli_make_labelled_project(f, template, "clip", N_FRAMES, N_FRAMES))
        return;
    g_autofree char *project = g_build_filename(f->dir, "p.mimica", NULL);

    /* a straight run: a run's duration and the untrained parent's bytes */
    reset_project(template, project);
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(cli_wait_status(spawn_finetune(f, project)), ==, 0);
    gint64 run_us = g_get_monotonic_time() - t0;
    g_autofree char *parent =
        g_strdup_printf("%s.models/untrained-seed1-au1-2-12.safetensors", project);
    g_autofree char *parent_sha = cli_file_checksum(parent);
    g_assert_nonnull(parent_sha);
    State st;
    read_state(project, parent_sha, &st);
    g_test_message("straight run: %.2f s; %d model files, %d fine-tuned registered", run_us / 1e6,
                   st.n_files, st.n_registered);
    g_assert_true(st.done);
    g_assert_cmpint(st.n_registered, ==, 1);
    g_assert_cmpint(st.n_files, ==, 2);

    guint32 seed = g_test_rand_int();
    GRand *rand = g_rand_new_with_seed(seed);
    g_test_message("seed %u, %d trials", seed, n_trials);
    int killed = 0, finished = 0, completed = 0, resumed_runs = 0, max_orphans = 0, max_other = 0,
        duplicates = 0;
    int at_stage[3] = {0}; /* kills seen at: no stage yet, training, done */
    reset_project(template, project);
    gboolean interrupted = FALSE;
    for (int trial = 0; trial < n_trials; trial++) {
        GPid pid = spawn_finetune(f, project);
        resumed_runs += interrupted;
        g_usleep(g_rand_int_range(rand, 0, (int)MAX(run_us * 11 / 10, 1000)));
        kill(pid, SIGKILL);
        int status = cli_wait_status(pid);
        if (status == 128 + SIGKILL)
            killed++;
        else {
            g_assert_cmpint(status, ==, 0);
            finished++;
        }
        read_state(project, parent_sha, &st);
        at_stage[!st.stage[0] ? 0 : !strcmp(st.stage, "training") ? 1 : 2]++;
        max_orphans = MAX(max_orphans, st.n_unregistered);
        max_other = MAX(max_other, st.n_other);
        interrupted = !st.done;
        if (st.done) {
            duplicates += st.n_registered > 1;
            g_assert_cmpint(st.n_registered, >=, 1);
            completed++;
            reset_project(template, project);
            interrupted = FALSE;
        }
    }
    if (interrupted) {
        g_assert_cmpint(cli_wait_status(spawn_finetune(f, project)), ==, 0);
        read_state(project, parent_sha, &st);
        g_assert_true(st.done);
        duplicates += st.n_registered > 1;
        max_orphans = MAX(max_orphans, st.n_unregistered);
        completed++;
    }
    g_rand_free(rand);
    g_test_message("%d trials: %d killed, %d finished first; stage at the kill: none %d, training "
                   "%d, done %d; %d runs resumed an interrupted job; %d fine-tunes completed, %d "
                   "of them with more than one model registered; unregistered model files up to "
                   "%d, other files beside the models up to %d; every model file loaded, the "
                   "parent's bytes unchanged, integrity_check ok after every kill",
                   n_trials, killed, finished, at_stage[0], at_stage[1], at_stage[2], resumed_runs,
                   completed, duplicates, max_orphans, max_other);
    g_assert_cmpint(duplicates, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--trials="))
            n_trials = atoi(argv[i] + 9);
    if (n_trials < 1 || n_trials > 100000)
        n_trials = 2;
    g_test_add("/crash/finetune", Fixture, NULL, fixture_setup, test_finetune, fixture_teardown);
    return g_test_run();
}
