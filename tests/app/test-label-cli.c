/* test-label-cli.c: the command-line contract of `mimica-cli project` and `mimica-cli label`
 * (and export/import), run as a real process: outputs, exit statuses (0 ok, 1 error, 2 usage)
 * and the error messages for missing files, non-projects and a locked database. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "store/mimica-store.h"
#include "tmp-folder.h"

typedef struct {
    char *dir;
    char *path;
    char *cli;
} Fixture;

typedef struct {
    int status;
    char *out, *err;
} Run;

static void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
    memset(r, 0, sizeof *r);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = tmp_folder_new("mimica-cli-XXXXXX");
    f->path = g_build_filename(f->dir, "p.mimica", NULL);
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    if (build)
        f->cli = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    tmp_folder_remove(f->dir);
    g_free(f->path);
    g_free(f->cli);
}

static gboolean have_cli(Fixture *f)
{
    if (!f->cli || !g_file_test(f->cli, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("mimica-cli not found (MIMICA_BUILD_DIR unset: run through meson test)");
        return FALSE;
    }
    return TRUE;
}

/* Runs mimica-cli with the NULL-terminated arguments; ENV_TIMEOUT sets MIMICA_BUSY_TIMEOUT_MS. */
static Run cli(Fixture *f, const char *env_timeout, ...)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, f->cli);
    va_list ap;
    va_start(ap, env_timeout);
    const char *a;
    while ((a = va_arg(ap, const char *)))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "MIMICA_ANNOTATOR", "tester", TRUE);
    env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
    if (env_timeout)
        env = g_environ_setenv(env, "MIMICA_BUSY_TIMEOUT_MS", env_timeout, TRUE);
    Run r = {0};
    GError *error = NULL;
    int wait_status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                               &r.err, &wait_status, &error));
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(wait_status));
    r.status = WEXITSTATUS(wait_status);
    return r;
}

#define EXPECT(r, want_status, stream, text)                                                       \
    do {                                                                                           \
        if ((r).status != (want_status) || !strstr((r).stream, (text)))                            \
            g_error("exit %d (want %d), " #stream " lacks '%s':\nstdout: %s\nstderr: %s",          \
                    (r).status, (want_status), (text), (r).out, (r).err);                          \
    } while (0)

/* A project with one video of 100 frames (added through the store: no media needed). */
static void make_project(Fixture *f)
{
    Run r = cli(f, NULL, "project", "new", f->path, NULL);
    EXPECT(r, 0, out, "");
    run_clear(&r);
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(f->path, &error);
    g_assert_no_error(error);
    MimicaVideoFacts facts = {(char *)"/videos/a.mp4", (char *)"h", 4000000, 25, 1, 100, 64, 48, 0};
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 1);
}

static void test_project(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    Run r = cli(f, NULL, "project", "info", f->path, NULL);
    EXPECT(r, 1, err, "no such file");
    run_clear(&r);
    make_project(f);
    r = cli(f, NULL, "project", "new", f->path, NULL);
    EXPECT(r, 1, err, "already exists");
    run_clear(&r);
    r = cli(f, NULL, "project", "info", f->path, NULL);
    g_autofree char *schema_line =
        g_strdup_printf("schema: %d\nvideos: 1\n", MIMICA_STORE_SCHEMA_VERSION);
    EXPECT(r, 0, out, schema_line);
    EXPECT(r, 0, out, "video 1: /videos/a.mp4  64x48  rotation 0  25/1 fps  100 frames");
    g_test_message("project info:\n%s", r.out);
    run_clear(&r);

    g_autofree char *text = g_build_filename(f->dir, "notes.txt", NULL);
    g_assert_true(
        g_file_set_contents(text, "just some text, long enough for a header\n", -1, NULL));
    r = cli(f, NULL, "project", "info", text, NULL);
    EXPECT(r, 1, err, "not a Mimica project");
    g_test_message("text file: %s", r.err);
    run_clear(&r);

    const char *usage_cases[][4] = {
        {"project", NULL},
        {"project", "frobnicate", "x", NULL},
        {"project", "add", f->path, NULL},
        {"project", "new", f->path, "--force"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(usage_cases); i++) {
        r = cli(f, NULL, usage_cases[i][0], usage_cases[i][1], usage_cases[i][2], usage_cases[i][3],
                NULL);
        EXPECT(r, 2, err, "Usage: mimica-cli project");
        run_clear(&r);
    }
    r = cli(f, NULL, "--help", NULL);
    EXPECT(r, 0, out, "project");
    EXPECT(r, 0, out, "label");
    run_clear(&r);
}

static gint64 parse_id(const Run *r)
{
    gint64 id = 0;
    g_assert_true(g_str_has_suffix(r->out, "\n"));
    g_autofree char *line = g_strndup(r->out, strlen(r->out) - 1);
    if (!g_ascii_string_to_signed(line, 10, 1, G_MAXINT64, &id, NULL))
        g_error("not one id: '%s'", r->out);
    return id;
}

static void test_label(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    make_project(f);
    Run r = cli(f, NULL, "label", "set", f->path, "--video", "1", "--frames", "10-20", "--au", "12",
                "--value", "present", NULL);
    EXPECT(r, 0, out, "");
    gint64 e1 = parse_id(&r);
    run_clear(&r);
    r = cli(f, NULL, "label", "set", f->path, "--video=1", "--frames=15", "--au=12", "--value=C",
            "--annotator", "Smith, A", NULL);
    gint64 e2 = parse_id(&r);
    run_clear(&r);
    r = cli(f, NULL, "label", "set", f->path, "--video", "1", "--frames", "30-31", "--au", "4",
            "--value", "absent", NULL);
    gint64 e3 = parse_id(&r);
    run_clear(&r);
    g_assert_cmpint(e1, <, e2);
    g_assert_cmpint(e2, <, e3);

    r = cli(f, NULL, "label", "export", f->path, NULL);
    EXPECT(r, 0, out, "video,frame_start,frame_end,au,value,annotator,time,event\n");
    g_auto(GStrv) lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 5); /* header, 3 rows, "" */
    g_assert_true(g_str_has_prefix(lines[1], "1,10,20,12,present,tester,"));
    g_assert_true(g_str_has_prefix(lines[2], "1,15,15,12,C,\"Smith, A\","));
    g_autofree char *tail = g_strdup_printf(",%lld", (long long)e3);
    g_assert_true(g_str_has_suffix(lines[3], tail));
    g_test_message("export:\n%s", r.out);
    run_clear(&r);

    /* undo e3 (tester's latest), redo it, undo it again */
    r = cli(f, NULL, "label", "undo", f->path, NULL);
    gint64 u = parse_id(&r);
    g_assert_cmpint(u, >, e3);
    run_clear(&r);
    r = cli(f, NULL, "label", "export", f->path, NULL);
    g_assert_null(strstr(r.out, "30,31,4"));
    g_assert_nonnull(strstr(r.out, "1,10,20,12,present"));
    run_clear(&r);
    r = cli(f, NULL, "label", "redo", f->path, NULL);
    g_assert_cmpint(parse_id(&r), >, u);
    run_clear(&r);
    r = cli(f, NULL, "label", "export", f->path, NULL);
    g_assert_nonnull(strstr(r.out, "1,30,31,4,absent"));
    run_clear(&r);
    r = cli(f, NULL, "label", "undo", f->path, "--annotator", "nobody", NULL);
    EXPECT(r, 1, err, "nothing to undo");
    run_clear(&r);

    /* import what was exported into the same project: 3 more current rows */
    r = cli(f, NULL, "label", "export", f->path, NULL);
    g_autofree char *csv = g_build_filename(f->dir, "labels.csv", NULL);
    g_assert_true(g_file_set_contents(csv, r.out, -1, NULL));
    run_clear(&r);
    r = cli(f, NULL, "label", "import", f->path, csv, NULL);
    EXPECT(r, 0, err, "3 labels imported");
    run_clear(&r);
    g_autofree char *missing = g_build_filename(f->dir, "missing.csv", NULL);
    r = cli(f, NULL, "label", "import", f->path, missing, NULL);
    EXPECT(r, 1, err, "no such file");
    run_clear(&r);

    /* ELAN out; OpenFace out needs predictions */
    r = cli(f, NULL, "export", "elan", f->path, "--video", "1", "--annotator", "tester", NULL);
    EXPECT(r, 0, out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ANNOTATION_DOCUMENT");
    EXPECT(r, 0, out, "TIER_ID=\"AU12\"");
    run_clear(&r);
    r = cli(f, NULL, "export", "openface", f->path, "--video", "1", NULL);
    EXPECT(r, 1, err, "has no predictions");
    run_clear(&r);

    /* Bad arguments: exit 2 with the usage; a missing video: exit 1. */
    const char *bad[][12] = {
        {"label", "set", f->path, "--video", "1", "--frames", "1", "--au", "12", "--value", "Q"},
        {"label", "set", f->path, "--video", "1", "--frames", "1", "--value", "A"},
        {"label", "set", f->path, "--video", "1", "--frames", "5-3", "--au", "12", "--value", "A"},
        {"label", "set", f->path, "--video", "x", "--frames", "1", "--au", "12", "--value", "A"},
        {"label", "set", f->path, "--video", "1", "--frames", "1", "--au", "100", "--value", "A"},
        {"label", "set", f->path, "--video", "1", "--frames", "1", "--au", "12", "--colour", "A"},
        {"label", "set", f->path, "--video", "1", "--frames", "1", "--au", "12", "--value"},
        {"label", "frob", f->path},
        {"label", "export"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        r = cli(f, NULL, bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4], bad[i][5],
                bad[i][6], bad[i][7], bad[i][8], bad[i][9], bad[i][10], NULL);
        EXPECT(r, 2, err, "Usage: mimica-cli label set");
        g_test_message("usage %u: %.*s", i, (int)(strchr(r.err, '\n') - r.err), r.err);
        run_clear(&r);
    }
    r = cli(f, NULL, "label", "set", f->path, "--video", "7", "--frames", "1", "--au", "12",
            "--value", "A", NULL);
    EXPECT(r, 1, err, "no video 7");
    run_clear(&r);
    r = cli(f, NULL, "label", "set", f->path, "--video", "1", "--frames", "99-100", "--au", "12",
            "--value", "A", NULL);
    EXPECT(r, 1, err, "outside video 1 (frames 0-99)");
    run_clear(&r);
}

static void test_locked(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    make_project(f);
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
    gint64 t0 = g_get_monotonic_time();
    Run r = cli(f, "250", "label", "set", f->path, "--video", "1", "--frames", "1", "--au", "12",
                "--value", "A", NULL);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    EXPECT(r, 1, err, "locked by another program (waited 250 ms)");
    g_assert_cmpstr(r.out, ==, "");
    g_test_message("locked: exit %d after %.0f ms: %s", r.status, ms, r.err);
    run_clear(&r);
    /* Reading still works while the other program writes (WAL). */
    r = cli(f, "250", "label", "export", f->path, NULL);
    EXPECT(r, 0, out, "video,frame_start");
    run_clear(&r);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    r = cli(f, "250", "label", "set", f->path, "--video", "1", "--frames", "1", "--au", "12",
            "--value", "A", NULL);
    g_assert_cmpint(parse_id(&r), ==, 1);
    run_clear(&r);
}

/* Writes an image folder of N_FRAMES tiny PPM frames, SHADE making its content unique. */
static char *make_frames(Fixture *f, const char *name, int n_frames, int shade)
{
    char *dir = g_build_filename(f->dir, name, NULL);
    g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
    for (int i = 0; i < n_frames; i++) {
        g_autofree char *file = g_strdup_printf("%s/frame%03d.ppm", dir, i);
        GString *img = g_string_new("P6\n8 6\n255\n");
        for (int p = 0; p < 8 * 6 * 3; p++)
            g_string_append_c(img, (char)((shade + i * 10 + p) & 0xff));
        g_assert_true(g_file_set_contents(file, img->str, img->len, NULL));
        g_string_free(img, TRUE);
    }
    return dir;
}

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_remove(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void test_project_add(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    g_autofree char *a = make_frames(f, "clip-a", 5, 0);
    g_autofree char *b = make_frames(f, "clip-b", 3, 100);
    g_autofree char *c = make_frames(f, "clip-c", 2, 200);
    g_autofree char *missing = g_build_filename(f->dir, "missing.mp4", NULL);
    Run r = cli(f, NULL, "project", "new", f->path, NULL);
    run_clear(&r);
    r = cli(f, NULL, "project", "add", f->path, a, b, NULL);
    EXPECT(r, 0, out, "");
    g_assert_cmpstr(r.out, ==, "1\n2\n");
    run_clear(&r);
    /* A video that cannot be read: nothing is added, not even the good one before it. */
    r = cli(f, NULL, "project", "add", f->path, c, missing, NULL);
    EXPECT(r, 1, err, "missing.mp4");
    g_assert_cmpstr(r.out, ==, "");
    g_test_message("missing video: %s", r.err);
    run_clear(&r);
    r = cli(f, NULL, "project", "add", f->path, a, NULL);
    EXPECT(r, 1, err, "already in the project as video 1");
    run_clear(&r);
    r = cli(f, NULL, "project", "info", f->path, NULL);
    EXPECT(r, 0, out, "videos: 2\n");
    EXPECT(r, 0, out, "8x6  rotation 0");
    EXPECT(r, 0, out, "5 frames");
    EXPECT(r, 0, out, "3 frames");
    g_test_message("project info:\n%s", r.out);
    run_clear(&r);
    /* Labels are checked against the probed frame count. */
    r = cli(f, NULL, "label", "set", f->path, "--video", "2", "--frames", "2-3", "--au", "1",
            "--value", "A", NULL);
    EXPECT(r, 1, err, "outside video 2 (frames 0-2)");
    run_clear(&r);
    r = cli(f, NULL, "label", "set", f->path, "--video", "2", "--frames", "0-2", "--au", "1",
            "--value", "A", NULL);
    EXPECT(r, 0, out, "1\n");
    run_clear(&r);
    remove_tree(a);
    remove_tree(b);
    remove_tree(c);
}

static void test_openface_cli(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    make_project(f);
    g_autofree char *csv = g_build_filename(f->dir, "of.csv", NULL);
    GString *text = g_string_new("frame, face_id, timestamp, confidence, success");
    for (int i = 0; i < 68; i++)
        g_string_append_printf(text, ", x_%d", i);
    for (int i = 0; i < 68; i++)
        g_string_append_printf(text, ", y_%d", i);
    g_string_append(text, ", AU12_r, AU04_r, AU28_c, AU12_c, AU04_c\n");
    for (int fr = 1; fr <= 3; fr++) {
        g_string_append_printf(text, "%d, 0, %.3f, 0.98, 1", fr, (fr - 1) * 0.04);
        for (int i = 0; i < 136; i++)
            g_string_append_printf(text, ", %.1f", 10.0 + i + fr);
        g_string_append_printf(text, ", %.2f, 0.50, 1, %d, 0\n", fr * 1.25, fr % 2);
    }
    g_assert_true(g_file_set_contents(csv, text->str, -1, NULL));
    g_string_free(text, TRUE);
    Run r = cli(f, NULL, "import", "openface", f->path, "--video", "1", csv, NULL);
    EXPECT(r, 0, err, "3 rows as model 1");
    g_assert_cmpstr(r.out, ==, "1\n");
    run_clear(&r);
    r = cli(f, NULL, "export", "openface", f->path, "--video", "1", NULL);
    EXPECT(r, 0, out, "frame, face_id, timestamp, confidence, success, x_0, x_1");
    /* AUs in OpenFace's order (ascending), intensities first, then presence */
    EXPECT(r, 0, out, ", y_66, y_67, AU04_r, AU12_r, AU04_c, AU12_c, AU28_c\n");
    /* confidence and landmarks with OpenFace's 3 decimals */
    EXPECT(r, 0, out, "\n2, 0, 0.040, 0.980, 1, 12.000, 13.000");
    EXPECT(r, 0, out, ", 147.000, 0.50, 2.50, 0.00, 0.00, 1.00\n");
    g_test_message("export: %zu bytes, last line ends '%s'", strlen(r.out),
                   strrchr(g_strchomp(r.out), ',') - 30);
    run_clear(&r);
    r = cli(f, NULL, "import", "openface", f->path, csv, NULL);
    EXPECT(r, 2, err, "--video ID");
    run_clear(&r);
    r = cli(f, NULL, "export", "openface", f->path, "--video", "1", "--model", "5", NULL);
    EXPECT(r, 1, err, "no model 5");
    run_clear(&r);
}

/* Runs CMD with /bin/sh (for pipes); stdout and stderr as cli(). */
static Run sh(const char *cmd)
{
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "MIMICA_ANNOTATOR", "tester", TRUE);
    env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
    Run r = {0};
    GError *error = NULL;
    int wait_status = 0;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                               &r.err, &wait_status, &error));
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(wait_status));
    r.status = WEXITSTATUS(wait_status);
    return r;
}

/* label import from a pipe and /dev/stdin; a bad MIMICA_BUSY_TIMEOUT_MS is an error; a video of
 * an impossible size and a file name that is not UTF-8 give real, clean messages. */
static void test_inputs(Fixture *f, gconstpointer data)
{
    if (!have_cli(f))
        return;
    make_project(f);
    const char *rows = "video,frame_start,frame_end,au,value,annotator,time,event\\n"
                       "1,0,9,12,present,ann,2026-01-01T00:00:00.000Z,\\n";
    g_autofree char *cmd =
        g_strdup_printf("printf '%s' | '%s' label import '%s' -", rows, f->cli, f->path);
    Run r = sh(cmd);
    EXPECT(r, 0, err, "1 labels imported");
    run_clear(&r);
    g_autofree char *csv = g_build_filename(f->dir, "in.csv", NULL);
    g_assert_true(g_file_set_contents(csv,
                                      "video,frame_start,frame_end,au,value,annotator,time,"
                                      "event\n1,20,29,12,absent,ann,,\n1,30,39,4,A,ann,,\n",
                                      -1, NULL));
    g_autofree char *cmd2 =
        g_strdup_printf("'%s' label import '%s' /dev/stdin < '%s'", f->cli, f->path, csv);
    r = sh(cmd2);
    EXPECT(r, 0, err, "2 labels imported");
    run_clear(&r);
    g_autofree char *cmd3 =
        g_strdup_printf("cat '%s' | '%s' label import '%s' /dev/stdin", csv, f->cli, f->path);
    r = sh(cmd3);
    EXPECT(r, 0, err, "2 labels imported");
    g_test_message("pipe, /dev/stdin redirected and piped: 1 + 2 + 2 labels imported");
    run_clear(&r);

    static const char *const bad_timeouts[] = {"abc", "-5", "99999999999", ""};
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_timeouts); i++) {
        r = cli(f, bad_timeouts[i], "label", "export", f->path, NULL);
        EXPECT(r, 1, err, "MIMICA_BUSY_TIMEOUT_MS=");
        g_assert_cmpstr(r.out, ==, "");
        if (i == 0)
            g_test_message("MIMICA_BUSY_TIMEOUT_MS=abc: %s", r.err);
        run_clear(&r);
    }
    r = cli(f, "250", "project", "info", f->path, NULL);
    EXPECT(r, 0, out, "videos: 1");
    run_clear(&r);

    /* A y4m header claiming 70000x70000, under a name with a byte that is not UTF-8. */
    g_autofree char *big = g_build_filename(f->dir, "big\xff.y4m", NULL);
    g_assert_true(g_file_set_contents(big,
                                      "YUV4MPEG2 W70000 H70000 F25:1 Ip A1:1 C420jpeg\n"
                                      "FRAME\nabc",
                                      -1, NULL));
    r = cli(f, NULL, "project", "add", f->path, big, NULL);
    EXPECT(r, 1, err, "70000x70000");
    g_assert_null(strstr(r.err, "busy"));
    g_assert_null(strstr(r.err, "@ 0x"));
    g_assert_true(g_utf8_validate(r.err, -1, NULL));
    g_test_message("bad size, name not UTF-8: %s", r.err);
    run_clear(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/label-cli/project", Fixture, NULL, fixture_setup, test_project, fixture_teardown);
    g_test_add("/label-cli/project-add", Fixture, NULL, fixture_setup, test_project_add,
               fixture_teardown);
    g_test_add("/label-cli/label", Fixture, NULL, fixture_setup, test_label, fixture_teardown);
    g_test_add("/label-cli/openface", Fixture, NULL, fixture_setup, test_openface_cli,
               fixture_teardown);
    g_test_add("/label-cli/locked", Fixture, NULL, fixture_setup, test_locked, fixture_teardown);
    g_test_add("/label-cli/inputs", Fixture, NULL, fixture_setup, test_inputs, fixture_teardown);
    return g_test_run();
}
