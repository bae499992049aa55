/* cmd-export.c: `mimica-cli export openface|elan FILE --video ID ...`, files for other tools. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mimica-cli.h"
#include "store/mimica-store.h"

static const char export_usage[] =
    "Usage: mimica-cli export openface FILE --video ID [--model ID]\n"
    "       mimica-cli export elan FILE --video ID [--annotator NAME]\n"
    "\n"
    "  openface  the video's predictions as an OpenFace 2.2 FeatureExtraction CSV on stdout\n"
    "            (frame, face_id, timestamp, confidence, success, pose_*, x_0..x_67,\n"
    "            y_0..y_67, AU*_r, AU*_c; an imported OpenFace CSV's other columns, gaze,\n"
    "            3-D landmarks, p_* and the rest, where OpenFace writes them); --model\n"
    "            defaults to the newest model with predictions\n"
    "  elan      the annotator's current labels as an ELAN .eaf document on stdout, one tier\n"
    "            per AU; --annotator may be left out when the video has one annotator\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli export: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", export_usage);
    return 2;
}

static int export_run(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(export_usage, stdout);
        return 0;
    }
    if (argc < 3 || g_str_has_prefix(argv[2], "--"))
        return usage_error("%s", "missing format (openface, elan) or project FILE");
    gboolean openface = strcmp(argv[1], "openface") == 0;
    if (!openface && strcmp(argv[1], "elan") != 0)
        return usage_error("unknown format '%s'", argv[1]);
    const char *video = NULL, *model = NULL, *annotator = NULL;
    for (int i = 3; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--video") == 0                    ? &video
                            : openface && strcmp(argv[i], "--model") == 0      ? &model
                            : !openface && strcmp(argv[i], "--annotator") == 0 ? &annotator
                                                                               : NULL;
        if (!slot)
            return usage_error("unexpected argument '%s'", argv[i]);
        if (i + 1 >= argc)
            return usage_error("option '%s' needs a value", argv[i]);
        *slot = argv[++i];
    }
    gint64 video_id, model_id = 0;
    if (!video || !g_ascii_string_to_signed(video, 10, 1, G_MAXINT64, &video_id, NULL))
        return usage_error("%s", "--video ID (a number from 1) is required");
    if (model && !g_ascii_string_to_signed(model, 10, 1, G_MAXINT64, &model_id, NULL))
        return usage_error("--model '%s' is not a model id", model);

    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(argv[2], &error);
    gboolean ok =
        store && mimica_store_apply_busy_timeout_env(store, &error) &&
        (openface ? mimica_store_export_openface_csv(store, video_id, model_id, stdout, &error)
                  : mimica_store_export_elan(store, video_id, annotator, stdout, &error));
    if (!ok) {
        fprintf(stderr, "mimica-cli export %s: %s\n", argv[1], error->message);
        g_error_free(error);
        return 1;
    }
    return 0;
}

const MimicaCliCommand mimica_cli_export = {
    .name = "export",
    .summary = "write predictions (OpenFace CSV) or labels (ELAN .eaf) for other tools",
    .run = export_run,
};
