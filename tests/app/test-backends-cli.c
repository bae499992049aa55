/* test-backends-cli.c: `mimica-cli backends` says, in the engine's own words, which backends run
 * here and why one does not (issue 5: "the CLI says the same when asked for the cuda backend").
 * Each answer of the program is checked against mim_backend_open() called in this process. */
#include <glib.h>
#include <string.h>
#include <sys/wait.h>

#include "mim.h"

static char *cli;

typedef struct {
    int status;
    char *out, *err;
} cli_result;

static gboolean run(cli_result *r, const char *const *args)
{
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, cli);
    for (; *args; args++)
        g_ptr_array_add(argv, (char *)*args);
    g_ptr_array_add(argv, NULL);
    char **env = g_environ_unsetenv(g_get_environ(), "MIMICA_BACKEND");
    int ws = 0;
    GError *error = NULL;
    gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
                               &r->out, &r->err, &ws, &error);
    g_assert_no_error(error);
    g_strfreev(env);
    g_ptr_array_free(argv, TRUE);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    return ok;
}

static void clear(cli_result *r)
{
    g_free(r->out);
    g_free(r->err);
}

static gboolean have_cli(void)
{
    if (!cli || !g_file_test(cli, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("mimica-cli not found (MIMICA_BUILD_DIR unset: run through meson test)");
        return FALSE;
    }
    return TRUE;
}

/* --backend NAME agrees with the engine: exit 0 where it opens, else 1 and its reason */
static void test_each_backend(void)
{
    if (!have_cli())
        return;
    const char *names[] = {"ref", "dnnl", "cuda", "auto"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        char reason[512];
        mim_status st;
        mim_backend *be = mim_backend_open(names[i], &st, reason, sizeof reason);
        cli_result r;
        run(&r, (const char *const[]){"backends", "--backend", names[i], NULL});
        g_test_message("%s: engine says %s; cli exit %d, stdout '%s', stderr '%s'", names[i],
                       be ? mim_backend_name(be) : reason, r.status, g_strchomp(r.out),
                       g_strchomp(r.err));
        if (be) {
            g_assert_cmpint(r.status, ==, 0);
            g_assert_nonnull(strstr(r.out, mim_backend_name(be)));
        } else {
            g_assert_cmpint(r.status, ==, 1);
            g_assert_nonnull(strstr(r.err, reason));
            g_assert_true(g_str_has_prefix(reason, names[i]));
        }
        mim_backend_free(be);
        clear(&r);
    }
    /* ref is always there */
    mim_backend *ref = mim_backend_open("ref", NULL, NULL, 0);
    g_assert_nonnull(ref);
    mim_backend_free(ref);
}

/* cuda, where it cannot run, names the cause: a build without it, or no usable device */
static void test_cuda_reason(void)
{
    if (!have_cli())
        return;
    char reason[512];
    mim_backend *be = mim_backend_open("cuda", NULL, reason, sizeof reason);
    if (be) {
        mim_backend_free(be);
        g_test_skip("this machine runs the cuda backend: nothing to explain");
        return;
    }
    g_test_message("cuda: %s", reason);
    if (mim_backend_compiled("cuda"))
        g_assert_nonnull(strstr(reason, "no CUDA device"));
    else
        g_assert_nonnull(strstr(reason, "this build has no CUDA backend"));
    cli_result r;
    run(&r, (const char *const[]){"backends", "--json", NULL});
    g_test_message("--json: %s", r.out);
    g_assert_cmpint(r.status, ==, 0);
    g_autofree char *line =
        g_strdup_printf("\"name\": \"cuda\", \"compiled\": %s, \"available\": false",
                        mim_backend_compiled("cuda") ? "true" : "false");
    g_assert_nonnull(strstr(r.out, line));
    clear(&r);
}

/* a name that is no backend is a usage error that lists the right ones */
static void test_unknown(void)
{
    if (!have_cli())
        return;
    cli_result r;
    run(&r, (const char *const[]){"backends", "--backend", "tpu", NULL});
    g_test_message("exit %d: %s", r.status, r.err);
    g_assert_cmpint(r.status, ==, 2);
    g_assert_nonnull(strstr(r.err, "want ref, dnnl, cuda or auto"));
    clear(&r);
    run(&r, (const char *const[]){"--help", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "backends"));
    clear(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    if (build)
        cli = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
    g_test_add_func("/cli/backends/each", test_each_backend);
    g_test_add_func("/cli/backends/cuda-reason", test_cuda_reason);
    g_test_add_func("/cli/backends/unknown", test_unknown);
    int rc = g_test_run();
    g_free(cli);
    return rc;
}
