/* cli-fixture.c: see cli-fixture.h. */
#include "cli-fixture.h"

#include <glib/gstdio.h>
#include <sys/wait.h>

#include "../common/fixture-skip.h"
#include "analysis/mimica-analysis.h"
#include "face-clips.h"
#include "mim-fit.h"
#include "store/mimica-store.h"

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

gboolean cli_make_labelled_project(CliFixture *f, const char *project, const char *name,
                                   int n_frames, int n_labelled)
{
    static const char *const expressions[] = {"1:5 2:5", "12:5", "", "1:5 2:5 12:5"};
    static const int aus[3] = {1, 2, 12};
    GError *error = NULL;
    g_autoptr(FcScene) s = fc_scene_new(320, 240, n_frames);
    fc_scene_set_cfr(s, 25);
    s->container = FC_CONTAINER_AVI;
    FcFace *face = fc_scene_add_face(s, f->shared, "2008_002506.jpg", 1, 3.0, 60, &error);
    g_assert_no_error(error);
    fc_face_place(face, 0, 160, 105, 52, 0, TRUE);
    fc_face_place(face, n_frames - 1, 165, 110, 54, 4, TRUE);
    for (int k = 0; k * 5 < n_frames; k++) {
        const char *e = expressions[(k * 3) % 4];
        g_assert_true(fc_face_express(face, k * 5, e));
        if (k * 5 + 4 < n_frames)
            g_assert_true(fc_face_express(face, k * 5 + 4, e));
    }
    g_autofree char *file = g_strdup_printf("%s.avi", name);
    g_autofree char *clip = g_build_filename(f->dir, file, NULL);
    char *skip = NULL;
    if (!fc_make_clip(clip, s, &skip, &error)) {
        g_assert_no_error(error);
        g_test_skip(skip);
        g_free(skip);
        return FALSE;
    }
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
    for (int a = 0; a < 3; a++) {
        for (int fr = 0; fr < MIN(n_labelled, n_frames); fr++) {
            FcTruth t;
            g_assert_true(fc_scene_render(s, fr, NULL, &t, &error));
            MimicaLabelValue v =
                fc_truth_au(&t, 0, aus[a]) >= 1.5f ? MIMICA_LABEL_PRESENT : MIMICA_LABEL_ABSENT;
            g_assert_cmpint(
                mimica_store_label_set(store, video, fr, fr, aus[a], v, "truth", &error), >, 0);
        }
    }
    return TRUE;
}

void cli_copy_file(const char *from, const char *to)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GError *error = NULL;
    g_assert_true(g_file_get_contents(from, &data, &len, &error));
    g_assert_true(g_file_set_contents(to, data, len, &error));
    g_assert_no_error(error);
}

void cli_remove_project(const char *project)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        g_autofree char *p = g_strconcat(project, suffixes[i], NULL);
        g_unlink(p);
    }
}

char *cli_file_checksum(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL))
        return NULL;
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

gboolean cli_model_loads(const char *path, char *err, size_t err_size)
{
    mim_fit_model fm;
    if (mim_fit_model_open(&fm, "ref", path, NULL, 0, err, err_size))
        return FALSE;
    mim_fit_model_close(&fm);
    return TRUE;
}
