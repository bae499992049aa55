/* cmd-project.c: `mimica-cli project new|add|info FILE ...`, the project file itself. */
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimica-cli.h"
#include "analysis/mimica-analysis.h"
#include "mimica-error.h"
#include "store/mimica-store.h"

static const char project_usage[] =
    "Usage: mimica-cli project new FILE\n"
    "       mimica-cli project add FILE VIDEO...\n"
    "       mimica-cli project info FILE\n"
    "\n"
    "  new   create an empty project file (never overwrites)\n"
    "  add   add videos; prints each new video's id, one per line (nothing is added if any\n"
    "        video cannot be read)\n"
    "  info  schema version and counts\n"
    "\n"
    "Environment: MIMICA_BUSY_TIMEOUT_MS  how long to wait for another program's lock "
    "(default 5000)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli project: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", project_usage);
    return 2;
}

static MimicaStore *open_project(const char *path)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(path, &error);
    if (!store) {
        fprintf(stderr, "mimica-cli project: %s\n", error->message);
        g_error_free(error);
        return NULL;
    }
    if (!mimica_store_apply_busy_timeout_env(store, &error)) {
        fprintf(stderr, "mimica-cli project: %s\n", error->message);
        g_error_free(error);
        mimica_store_free(store);
        return NULL;
    }
    return store;
}

static int project_new(const char *path)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(path, &error);
    if (!store) {
        fprintf(stderr, "mimica-cli project new: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    mimica_store_free(store);
    return 0;
}

static int project_add(const char *path, int n_videos, char **videos)
{
    g_autoptr(MimicaStore) store = open_project(path);
    if (!store)
        return 1;
    MimicaVideoFacts *facts = g_new0(MimicaVideoFacts, n_videos);
    int status = 0;
    /* Probe everything first: a video that cannot be read adds nothing. */
    for (int i = 0; i < n_videos && status == 0; i++) {
        GError *error = NULL;
        gboolean truncated = FALSE;
        if (!mimica_analysis_probe_video(videos[i], &facts[i], &truncated, NULL, &error)) {
            fprintf(stderr, "mimica-cli project add: %s\n", error->message);
            g_error_free(error);
            status = 1;
        } else if (truncated) {
            fprintf(stderr,
                    "mimica-cli project add: warning: %s is truncated; %lld frames can be used\n",
                    videos[i], (long long)facts[i].n_frames);
        }
    }
    for (int i = 0; i < n_videos && status == 0; i++) {
        GError *error = NULL;
        gint64 id = mimica_store_add_video(store, &facts[i], &error);
        if (!id) {
            fprintf(stderr, "mimica-cli project add: %s\n", error->message);
            g_error_free(error);
            status = 1;
            break;
        }
        printf("%lld\n", (long long)id);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr,
                    "mimica-cli project add: video %lld is added, but printing its id "
                    "failed: %s\n",
                    (long long)id, g_strerror(errno));
            status = 1;
        }
    }
    for (int i = 0; i < n_videos; i++)
        mimica_video_facts_clear(&facts[i]);
    g_free(facts);
    return status;
}

static int project_info(const char *path)
{
    g_autoptr(MimicaStore) store = open_project(path);
    if (!store)
        return 1;
    GError *error = NULL;
    MimicaStoreInfo info;
    if (!mimica_store_get_info(store, &info, &error)) {
        fprintf(stderr, "mimica-cli project info: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    printf("project: %s\n"
           "schema: %d\n"
           "videos: %lld\n"
           "annotators: %lld\n"
           "label events: %lld\n"
           "current labels: %lld\n"
           "models: %lld\n"
           "predictions: %lld\n"
           "training runs: %lld\n",
           path, info.schema_version, (long long)info.n_videos, (long long)info.n_annotators,
           (long long)info.n_events, (long long)info.n_labels, (long long)info.n_models,
           (long long)info.n_predictions, (long long)info.n_training_runs);
    /* one line per video */
    g_autoptr(GArray) ids = mimica_store_list_videos(store, &error);
    if (!ids) {
        fprintf(stderr, "mimica-cli project info: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    for (guint i = 0; i < ids->len; i++) {
        gint64 id = g_array_index(ids, gint64, i);
        MimicaVideoFacts f;
        if (!mimica_store_get_video(store, id, &f, &error)) {
            fprintf(stderr, "mimica-cli project info: %s\n", error->message);
            g_error_free(error);
            return 1;
        }
        printf("video %lld: %s  %dx%d  rotation %d  %d/%d fps  %lld frames  %.3f s  sha256 %s\n",
               (long long)id, f.path, f.width, f.height, f.rotation, f.frame_rate_num,
               f.frame_rate_den, (long long)f.n_frames, f.duration_us / 1e6, f.content_hash);
        mimica_video_facts_clear(&f);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static int project_run(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(project_usage, stdout);
        return 0;
    }
    if (argc < 3)
        return usage_error("%s",
                           argc < 2 ? "missing action (new, add, info) and FILE" : "missing FILE");
    const char *action = argv[1], *file = argv[2];
    for (int i = 2; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error("unknown option '%s'", argv[i]);
    if (strcmp(action, "new") == 0) {
        if (argc != 3)
            return usage_error("%s", "`project new` takes exactly one FILE");
        return project_new(file);
    }
    if (strcmp(action, "add") == 0) {
        if (argc < 4)
            return usage_error("%s", "`project add` needs at least one VIDEO");
        return project_add(file, argc - 3, argv + 3);
    }
    if (strcmp(action, "info") == 0) {
        if (argc != 3)
            return usage_error("%s", "`project info` takes exactly one FILE");
        return project_info(file);
    }
    return usage_error("unknown action '%s'", action);
}

const MimicaCliCommand mimica_cli_project = {
    .name = "project",
    .summary = "create a project file, add videos, show what it holds",
    .run = project_run,
};
