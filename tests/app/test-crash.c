/* test-crash.c: crash safety. A writer is killed with SIGKILL at random moments while it adds
 * labels; every label it acknowledged before the kill must be in the project afterwards, with
 * its values, and the file must pass PRAGMA integrity_check.
 *
 *   /crash/forked-writer  a forked child adding labels through the store API as fast as it can,
 *                         reporting each id on a pipe after the call returns
 *   /crash/cli            the real mimica-cli `label set`, killed at random points of its run;
 *                         an id it printed is acknowledged
 *
 * Each runs for --seconds=S (default 1.5) of kill rounds; the 'slow' suite runs it longer. */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/mimica-store.h"
#include "tmp-folder.h"

static double test_seconds = 1.5;

typedef struct {
    char *dir;
    char *path;
    GArray *acked; /* Ack */
} Fixture;

typedef struct {
    gint64 id, frame;
    int au;
    int value;
} Ack;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    f->dir = tmp_folder_new("mimica-crash-XXXXXX");
    f->path = g_build_filename(f->dir, "project.mimica", NULL);
    f->acked = g_array_new(FALSE, FALSE, sizeof(Ack));
    MimicaStore *store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    MimicaVideoFacts facts = {(char *)"/videos/clip.mp4", (char *)"hash", 0, 25, 1, 0, 640, 480, 0};
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 1);
    mimica_store_free(store);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    tmp_folder_remove(f->dir);
    g_free(f->path);
    g_array_unref(f->acked);
}

/* Opens the project after the kills and checks every acknowledged label and the file. */
static void verify(Fixture *f, const char *what, int n_rounds, int n_killed)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(f->path, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store),
                                       "SELECT frame_start, au, value FROM label_events"
                                       " WHERE id = ?1 AND kind = 'set'",
                                       -1, &st, NULL),
                    ==, SQLITE_OK);
    int n_lost = 0, n_wrong = 0;
    gint64 first_lost = 0;
    for (guint i = 0; i < f->acked->len; i++) {
        Ack *a = &g_array_index(f->acked, Ack, i);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, a->id);
        if (sqlite3_step(st) != SQLITE_ROW) {
            if (!n_lost++)
                first_lost = a->id;
            continue;
        }
        MimicaLabelValue v;
        if (sqlite3_column_int64(st, 0) != a->frame || sqlite3_column_int(st, 1) != a->au ||
            !mimica_label_value_parse((const char *)sqlite3_column_text(st, 2), &v) ||
            (int)v != a->value)
            n_wrong++;
    }
    sqlite3_finalize(st);
    MimicaStoreInfo info;
    g_assert_true(mimica_store_get_info(store, &info, &error));
    g_test_message("%s: %d rounds, %d killed mid-run, %u labels acknowledged, %lld events in the "
                   "file; lost %d (first %lld), wrong %d; integrity_check ok",
                   what, n_rounds, n_killed, f->acked->len, (long long)info.n_events, n_lost,
                   (long long)first_lost, n_wrong);
    g_assert_cmpint(n_lost, ==, 0);
    g_assert_cmpint(n_wrong, ==, 0);
    g_assert_cmpint(info.n_events, >=, f->acked->len);
    g_assert_cmpuint(f->acked->len, >, 0);
}

/* Parses complete "id frame au value" lines from BUF into ACKED. */
static void parse_acks(const char *buf, GArray *acked)
{
    const char *p = buf;
    const char *nl;
    while ((nl = strchr(p, '\n'))) {
        Ack a;
        long long id, frame;
        if (sscanf(p, "%lld %lld %d %d", &id, &frame, &a.au, &a.value) == 4) {
            a.id = id;
            a.frame = frame;
            g_array_append_val(acked, a);
        }
        p = nl + 1;
    }
}

static char *read_all(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        g_string_append_len(s, buf, n);
    }
    return g_string_free(s, FALSE);
}

/* The child: adds labels forever, reporting each acknowledged one. Never returns. */
static void G_GNUC_NORETURN writer_child(const char *path, int fd, guint32 seed)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(path, &error);
    if (!store)
        _exit(3);
    GRand *rand = g_rand_new_with_seed(seed);
    for (;;) {
        gint64 frame = g_rand_int_range(rand, 0, 100000);
        int au = g_rand_int_range(rand, 1, 100), value = g_rand_int_range(rand, 0, 7);
        gint64 id = mimica_store_label_set(store, 1, frame, frame, au, value, "writer", &error);
        if (!id)
            _exit(4);
        char line[96];
        int len = g_snprintf(line, sizeof line, "%lld %lld %d %d\n", (long long)id,
                             (long long)frame, au, value);
        if (write(fd, line, len) != len)
            _exit(5);
    }
}

static void test_forked_writer(Fixture *f, gconstpointer data)
{
    guint32 seed = g_test_rand_int();
    GRand *rand = g_rand_new_with_seed(seed);
    g_test_message("seed %u, %.1f s", seed, test_seconds);
    gint64 end = g_get_monotonic_time() + (gint64)(test_seconds * 1e6);
    int rounds = 0, killed = 0;
    while (g_get_monotonic_time() < end || rounds < 3) {
        int fds[2];
        g_assert_cmpint(pipe(fds), ==, 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            close(fds[0]);
            writer_child(f->path, fds[1], seed + rounds);
        }
        close(fds[1]);
        /* 2..60 ms: from inside the open and the first transaction to many labels later */
        g_usleep(g_rand_int_range(rand, 2000, 60000));
        kill(pid, SIGKILL);
        int status = 0;
        g_autofree char *out = read_all(fds[0]);
        close(fds[0]);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        if (WIFEXITED(status))
            g_error("writer exited by itself with status %d", WEXITSTATUS(status));
        killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        parse_acks(out, f->acked);
        rounds++;
    }
    g_rand_free(rand);
    verify(f, "forked writer", rounds, killed);
}

static void test_cli(Fixture *f, gconstpointer data)
{
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    if (!build) {
        g_test_skip("MIMICA_BUILD_DIR is not set (run through meson test)");
        return;
    }
    g_autofree char *cli = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
    if (!g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("mimica-cli was not built");
        return;
    }
    guint32 seed = g_test_rand_int();
    GRand *rand = g_rand_new_with_seed(seed);
    gint64 end = g_get_monotonic_time() + (gint64)(test_seconds * 1e6);
    int rounds = 0, killed = 0, finished = 0;
    gint64 run_us = 0; /* a run's duration, measured on the finished ones */
    while (g_get_monotonic_time() < end || rounds < 5) {
        gint64 frame = g_rand_int_range(rand, 0, 100000);
        int au = g_rand_int_range(rand, 1, 100), value = g_rand_int_range(rand, 0, 7);
        g_autofree char *frames = g_strdup_printf("%lld", (long long)frame);
        g_autofree char *aus = g_strdup_printf("%d", au);
        const char *argv[] = {
            cli,           "label", "set",  f->path, "--video", "1",
            "--frames",    frames,  "--au", aus,     "--value", mimica_label_value_to_string(value),
            "--annotator", "cli",   NULL};
        GPid pid;
        int out_fd;
        GError *error = NULL;
        gint64 t0 = g_get_monotonic_time();
        g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                               NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
        g_assert_no_error(error);
        /* Every 4th run finishes; the others die at a random point of a typical run. */
        gboolean kill_it = rounds % 4 != 0 && run_us > 0;
        if (kill_it) {
            g_usleep(g_rand_int_range(rand, 0, (int)MAX(run_us * 12 / 10, 1000)));
            kill(pid, SIGKILL);
        }
        g_autofree char *out = read_all(out_fd);
        close(out_fd);
        int status = 0;
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_spawn_close_pid(pid);
        if (WIFSIGNALED(status)) {
            killed++;
        } else {
            g_assert_cmpint(WEXITSTATUS(status), ==, 0);
            finished++;
            gint64 us = g_get_monotonic_time() - t0;
            run_us = run_us ? (run_us * 3 + us) / 4 : us;
        }
        long long id;
        if (strchr(out, '\n') && sscanf(out, "%lld", &id) == 1) {
            Ack a = {id, frame, au, value};
            g_array_append_val(f->acked, a);
        }
        rounds++;
    }
    g_rand_free(rand);
    g_test_message("seed %u, %.1f s; %d runs finished (%.1f ms each)", seed, test_seconds, finished,
                   run_us / 1000.0);
    verify(f, "mimica-cli", rounds, killed);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (int i = 1; i < argc; i++)
        if (g_str_has_prefix(argv[i], "--seconds="))
            test_seconds = g_ascii_strtod(argv[i] + 10, NULL);
    if (!(test_seconds > 0 && test_seconds < 3600))
        test_seconds = 1.5;
    g_test_add("/crash/forked-writer", Fixture, NULL, fixture_setup, test_forked_writer,
               fixture_teardown);
    g_test_add("/crash/cli", Fixture, NULL, fixture_setup, test_cli, fixture_teardown);
    return g_test_run();
}
