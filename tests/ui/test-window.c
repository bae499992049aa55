/* test-window.c: starts the real `mimica` program under Xvfb, checks that its main window
 * appears and draws, and keeps the screenshot in the build folder (ui-main-window.png). */
#include <glib/gstdio.h>
#include <gtk/gtk.h>

static const char *mimica_path;

static void test_main_window_appears(void)
{
    g_autofree char *xvfb_run = g_find_program_in_path("xvfb-run");
    if (!xvfb_run) {
        g_test_skip("xvfb-run is not installed (Debian package xvfb)");
        return;
    }
    const char *build_dir = g_getenv("MIMICA_BUILD_DIR");
    g_assert_nonnull(build_dir);
    g_autofree char *png = g_build_filename(build_dir, "ui-main-window.png", NULL);
    g_autofree char *schemas = g_build_filename(build_dir, "data", NULL);
    g_unlink(png);

    const char *argv[] = {xvfb_run,    "-a",           "-s", "-screen 0 1280x1024x24",
                          mimica_path, "--screenshot", png,  NULL};
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "GSETTINGS_SCHEMA_DIR", schemas, TRUE);
    env = g_environ_setenv(env, "GSETTINGS_BACKEND", "memory", TRUE);
    env = g_environ_setenv(env, "GSK_RENDERER", "cairo", TRUE);
    env = g_environ_setenv(env, "NO_AT_BRIDGE", "1", TRUE);
    env = g_environ_unsetenv(env, "DISPLAY");
    env = g_environ_unsetenv(env, "WAYLAND_DISPLAY");

    g_autofree char *out = NULL, *err = NULL;
    int wait_status = 0;
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &wait_status, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
    g_test_message("mimica ran %.1f s under Xvfb; stdout: %s", (g_get_monotonic_time() - t0) / 1e6,
                   out);
    if (!g_spawn_check_wait_status(wait_status, &error))
        g_test_message("stderr: %s", err);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(out, "window \"Mimica\""));

    g_autoptr(GdkTexture) texture = gdk_texture_new_from_filename(png, &error);
    g_assert_no_error(error);
    int w = gdk_texture_get_width(texture), h = gdk_texture_get_height(texture);
    g_test_message("screenshot %s: %dx%d", png, w, h);
    g_assert_cmpint(w, >=, 600);
    g_assert_cmpint(h, >=, 400);

    /* A drawn window has a header bar, text and an icon: many distinct colours, not a blank. */
    gsize stride = (gsize)w * 4;
    guchar *pixels = g_malloc((gsize)h * stride);
    gdk_texture_download(texture, pixels, stride);
    g_autoptr(GHashTable) colours = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int y = 0; y < h; y += 2)
        for (int x = 0; x < w; x += 2) {
            guint32 px;
            memcpy(&px, pixels + (gsize)y * stride + (gsize)x * 4, 4);
            g_hash_table_add(colours, GUINT_TO_POINTER(px));
        }
    g_free(pixels);
    guint n_colours = g_hash_table_size(colours);
    g_test_message("distinct colours in the screenshot: %u (need >= 16)", n_colours);
    g_assert_cmpuint(n_colours, >=, 16);
}

static void test_version_option(void)
{
    const char *argv[] = {mimica_path, "--version", NULL};
    g_autofree char *out = NULL;
    int wait_status = 0;
    g_autoptr(GError) error = NULL;
    g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &wait_status,
                 &error);
    g_assert_no_error(error);
    g_assert_true(g_spawn_check_wait_status(wait_status, NULL));
    g_assert_true(g_str_has_prefix(out, "mimica "));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    mimica_path = g_getenv("MIMICA_PROGRAM");
    g_assert_nonnull(mimica_path);
    g_test_add_func("/ui/version-option", test_version_option);
    g_test_add_func("/ui/main-window-appears", test_main_window_appears);
    return g_test_run();
}
