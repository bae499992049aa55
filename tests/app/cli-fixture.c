/* cli-fixture.c: see cli-fixture.h. */
#include "cli-fixture.h"

#include <glib/gstdio.h>
#include <sys/wait.h>

#include "../common/fixture-skip.h"

void cli_rm_rf(const char *path)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        GDir *d = g_dir_open(path, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(path, name, NULL);
            cli_rm_rf(p);
        }
        if (d)
            g_dir_close(d);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

void cli_fixture_init(CliFixture *f, const char *name)
{
    g_autofree char *tmpl = g_strdup_printf("mimica-%s-XXXXXX", name);
    f->dir = g_dir_make_tmp(tmpl, NULL);
    g_assert_nonnull(f->dir);
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    f->cli = build ? g_build_filename(build, "app", "cli", "mimica-cli", NULL) : NULL;
    f->shared = g_strdup(g_getenv("MIMICA_SHARED_DIR"));
}

void cli_fixture_clear(CliFixture *f)
{
    cli_rm_rf(f->dir);
    g_clear_pointer(&f->dir, g_free);
    g_clear_pointer(&f->cli, g_free);
    g_clear_pointer(&f->shared, g_free);
}

gboolean cli_fixture_ready(CliFixture *f)
{
    if (!f->cli || !g_file_test(f->cli, G_FILE_TEST_IS_EXECUTABLE)) {
        g_test_skip("mimica-cli not found (MIMICA_BUILD_DIR unset: run through meson test)");
        return FALSE;
    }
    g_autofree char *probe =
        f->shared ? g_build_filename(f->shared, "fixtures", "faces", "images", NULL) : NULL;
    if (!probe || !g_file_test(probe, G_FILE_TEST_IS_DIR)) {
        mimica_test_skip_fixtures("face fixtures missing (MIMICA_SHARED_DIR)");
        return FALSE;
    }
    return TRUE;
}

GPid cli_spawn(CliFixture *f, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, f->cli);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    GPid pid;
    GError *error = NULL;
    g_spawn_async(NULL, (char **)argv->pdata, NULL,
                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                      G_SPAWN_STDERR_TO_DEV_NULL,
                  NULL, NULL, &pid, &error);
    g_assert_no_error(error);
    return pid;
}

int cli_wait_status(GPid pid)
{
    int wstatus = 0;
    g_assert_cmpint(waitpid(pid, &wstatus, 0), ==, pid);
    g_spawn_close_pid(pid);
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}
