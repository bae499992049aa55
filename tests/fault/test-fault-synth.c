/* test-fault-synth.c: allocation and I/O failures under `mimica-cli synth` (app/cli/cmd-synth.c,
 * run in this process through its command table entry), injected by fault-shim.c as in
 * test-fault-engine.c. The command generates 3 "wild" faces from one fixture photo (copied into
 * a temporary faces folder) and writes them as a pack over a previous 2-face pack. For every mode
 * and every point N of a whole run, with the Nth and every later point failing, the command must
 * exit with status 1 and a message on stderr ("memory" in it for alloc; else the pack's path and
 * strerror of the cause), the previous pack must be byte for byte intact (odd N) or the path
 * absent (even N, where there was none), and the output folder must hold no temporary file.
 * Leaks are for the ASan build (make check) to see. Prints, per mode: points, tried, failed
 * cleanly, first mismatch.
 *
 *   /fault/synth/alloc, /fault/synth/enospc, /fault/synth/eio, /fault/synth/short
 */
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault-shim.h"
#include "fixture-skip.h"
#include "mimica-cli.h"

extern const MimicaCliCommand mimica_cli_synth;

#define FACE_JSON  "dlib__Tom_Cruise_avp_2014_4.jpg.json"
#define FACE_IMAGE "Tom_Cruise_avp_2014_4.jpg"

static char *root, *faces, *outdir, *pack;

/* Runs `mimica-cli synth` with stderr captured (stdout dropped: it is the TAP stream); returns
 * its exit status. */
static int run_synth(int n, const char *seed, char **message)
{
    g_autofree char *n_str = g_strdup_printf("%d", n);
    char *argv[] = {"synth",   "--domain", "wild",    "--n", n_str, "--seed", (char *)seed,
                    "--split", "all",      "--faces", faces, "-o",  pack,     NULL};
    g_autofree char *log = g_build_filename(root, "stderr.txt", NULL);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    FILE *f = fopen(log, "w"), *null = fopen("/dev/null", "w");
    g_assert_nonnull(f);
    g_assert_nonnull(null);
    dup2(fileno(f), 2);
    dup2(fileno(null), 1);
    fclose(f);
    fclose(null);
    int status = mimica_cli_synth.run((int)G_N_ELEMENTS(argv) - 1, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(log, &text, NULL, NULL));
    g_unlink(log);
    if (message)
        *message = g_strstrip(g_strdup(text));
    return status;
}

/* The first name in outdir other than the pack's, or NULL. */
static char *stray_file(void)
{
    g_autoptr(GDir) d = g_dir_open(outdir, 0, NULL);
    g_autofree char *base = g_path_get_basename(pack);
    for (const char *n; d && (n = g_dir_read_name(d));)
        if (strcmp(n, base))
            return g_strdup(n);
    return NULL;
}

static gboolean setup(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    g_autofree char *src_json =
        shared ? g_build_filename(shared, "fixtures", "faces", "reference", FACE_JSON, NULL) : NULL;
    g_autofree char *src_image =
        shared ? g_build_filename(shared, "fixtures", "faces", "images", FACE_IMAGE, NULL) : NULL;
    if (!src_json || !g_file_test(src_json, G_FILE_TEST_EXISTS) ||
        !g_file_test(src_image, G_FILE_TEST_EXISTS))
        return FALSE;
    root = g_dir_make_tmp("mim-fault-synth-XXXXXX", NULL);
    g_assert_nonnull(root);
    faces = g_build_filename(root, "faces", NULL);
    outdir = g_build_filename(root, "out", NULL);
    pack = g_build_filename(outdir, "synth.pack", NULL);
    g_autofree char *ref = g_build_filename(faces, "reference", NULL);
    g_autofree char *img = g_build_filename(faces, "images", NULL);
    g_assert_cmpint(g_mkdir_with_parents(ref, 0755), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(img, 0755), ==, 0);
    g_assert_cmpint(g_mkdir_with_parents(outdir, 0755), ==, 0);
    gchar *data = NULL;
    gsize len = 0;
    const char *src[2] = {src_json, src_image};
    g_autofree char *dst_json = g_build_filename(ref, FACE_JSON, NULL);
    g_autofree char *dst_image = g_build_filename(img, FACE_IMAGE, NULL);
    const char *dst[2] = {dst_json, dst_image};
    for (int i = 0; i < 2; i++) {
        g_assert_true(g_file_get_contents(src[i], &data, &len, NULL));
        g_assert_true(g_file_set_contents(dst[i], data, (gssize)len, NULL));
        g_free(data);
    }
    return TRUE;
}

static void remove_tree(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(dir, n, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_DIR))
            remove_tree(p);
        else
            g_unlink(p);
    }
    g_rmdir(dir);
}

static void test_synth(gconstpointer data)
{
    fault_mode mode = (fault_mode)GPOINTER_TO_INT(data);
    if (!root) {
        mimica_test_skip_fixtures("face fixtures missing (MIMICA_SHARED_DIR)");
        return;
    }
    /* the previous pack, and the new one's points */
    g_unlink(pack);
    g_autofree char *msg = NULL;
    if (run_synth(2, "7", &msg) != 0)
        g_error("synth without failures: %s", msg);
    g_autofree char *old = NULL;
    gsize n_old = 0;
    g_assert_true(g_file_get_contents(pack, &old, &n_old, NULL));
    g_clear_pointer(&msg, g_free);
    fault_arm(mode, 0, outdir);
    int status = run_synth(3, "1", &msg);
    long n = fault_disarm();
    if (status != 0)
        g_error("synth without failures (%s): %s", fault_mode_name(mode), msg);
    g_autofree char *new_pack = NULL;
    gsize n_new = 0;
    g_assert_true(g_file_get_contents(pack, &new_pack, &n_new, NULL));
    g_assert_cmpuint(n_new, >, n_old);
    g_clear_pointer(&msg, g_free);

    int want_errno = mode == FAULT_EIO ? EIO : ENOSPC;
    long tried = 0, clean = 0, first_bad = 0;
    g_autofree char *first_why = NULL;
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GPtrArray) messages = g_ptr_array_new(); /* distinct, in order of first sight */
    gint64 t0 = g_get_monotonic_time();
    for (long at = 1; at <= n; at++) {
        gboolean had_old = at % 2 == 1;
        g_unlink(pack);
        if (had_old)
            g_assert_true(g_file_set_contents(pack, old, (gssize)n_old, NULL));
        fault_arm(mode, at, outdir);
        status = run_synth(3, "1", &msg);
        fault_disarm();
        tried++;
        g_autofree char *stray = NULL, *now = NULL;
        gsize n_now = 0;
        char *why = NULL;
        if (fault_n_failed() == 0)
            why = g_strdup_printf("point %ld was never reached", at);
        else if (status != 1)
            why = g_strdup_printf("exit status %d, not 1", status);
        else if (!msg[0])
            why = g_strdup("no message");
        else if (mode == FAULT_ALLOC && !strstr(msg, "memory"))
            why = g_strdup_printf("message \"%s\" does not say memory ran out", msg);
        else if (mode != FAULT_ALLOC && (!strstr(msg, pack) || !strstr(msg, strerror(want_errno))))
            why = g_strdup_printf("message \"%s\" does not name %s and %s", msg, pack,
                                  strerror(want_errno));
        else if (had_old && (!g_file_get_contents(pack, &now, &n_now, NULL) || n_now != n_old ||
                             memcmp(now, old, n_old)))
            why = g_strdup("the previous pack was changed");
        else if (!had_old && g_file_test(pack, G_FILE_TEST_EXISTS))
            why = g_strdup("a pack exists although the command failed");
        else if ((stray = stray_file()))
            why = g_strdup_printf("%s left behind", stray);
        if (!why) {
            clean++;
            /* the temporary folder and the writer's pid (pack.tmp-PID) vary: left out */
            g_autoptr(GString) m = g_string_new(msg);
            g_string_replace(m, root, "$TMP", 0);
            g_autofree char *pid = g_strdup_printf(".tmp-%ld", (long)getpid());
            g_string_replace(m, pid, ".tmp-PID", 0);
            if (!g_hash_table_contains(seen, m->str)) {
                char *key = g_strdup(m->str);
                g_hash_table_add(seen, key);
                g_ptr_array_add(messages, key);
            }
        } else if (!first_bad) {
            first_bad = at;
            first_why = why;
        } else {
            g_free(why);
        }
        g_clear_pointer(&msg, g_free);
    }
    g_test_message("synth %-6s %ld points, %ld tried, %ld failed cleanly (%.2f s)%s%s",
                   fault_mode_name(mode), n, tried, clean,
                   (double)(g_get_monotonic_time() - t0) / 1e6,
                   first_bad ? "; first mismatch: " : "", first_bad ? first_why : "");
    for (guint i = 0; i < messages->len; i++)
        g_test_message("synth %-6s message %u: %s", fault_mode_name(mode), i + 1,
                       (const char *)messages->pdata[i]);
    if (first_bad)
        g_error("synth %s: point %ld: %s", fault_mode_name(mode), first_bad, first_why);
    g_assert_cmpint(tried, >, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    gboolean ok = setup();
    static const fault_mode modes[] = {FAULT_ALLOC, FAULT_ENOSPC, FAULT_EIO, FAULT_SHORT};
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        g_autofree char *name = g_strdup_printf("/fault/synth/%s", fault_mode_name(modes[i]));
        g_test_add_data_func(name, GINT_TO_POINTER(modes[i]), test_synth);
    }
    int rc = g_test_run();
    if (ok)
        remove_tree(root);
    g_free(root);
    g_free(faces);
    g_free(outdir);
    g_free(pack);
    return rc;
}
