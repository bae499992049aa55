/* cmd-import.c: `mimica-cli import openface FILE --video ID CSV`, analyses made elsewhere. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mimica-cli.h"
#include "store/mimica-store.h"

static const char import_usage[] =
    "Usage: mimica-cli import openface FILE --video ID CSV\n"
    "\n"
    "  openface  an OpenFace FeatureExtraction CSV (',' or ', ' separated) as predictions of\n"
    "            the video, under a new model row; prints the model's id\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli import: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", import_usage);
    return 2;
}

static int import_run(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(import_usage, stdout);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "openface") != 0)
        return usage_error("%s", argc < 2 ? "missing format (openface)" : "unknown format");
    const char *file = NULL, *csv = NULL, *video = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--video") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s", "--video needs a value");
            video = argv[++i];
        } else if (g_str_has_prefix(argv[i], "-")) {
            return usage_error("unknown option '%s'", argv[i]);
        } else if (!file) {
            file = argv[i];
        } else if (!csv) {
            csv = argv[i];
        } else {
            return usage_error("unexpected argument '%s'", argv[i]);
        }
    }
    gint64 video_id;
    if (!file || !csv)
        return usage_error("%s", "need the project FILE and the CSV");
    if (!video || !g_ascii_string_to_signed(video, 10, 1, G_MAXINT64, &video_id, NULL))
        return usage_error("%s", "--video ID (a number from 1) is required");

    GError *error = NULL;
    gint64 n_rows = 0, model = 0;
    g_autoptr(MimicaStore) store = mimica_store_open(file, &error);
    if (store && mimica_store_apply_busy_timeout_env(store, &error))
        model = mimica_store_import_openface_csv(store, video_id, csv, &n_rows, &error);
    if (!model) {
        fprintf(stderr, "mimica-cli import openface: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    printf("%lld\n", (long long)model);
    fprintf(stderr, "mimica-cli import openface: %lld rows as model %lld\n", (long long)n_rows,
            (long long)model);
    return fflush(stdout) == 0 ? 0 : 1;
}

const MimicaCliCommand mimica_cli_import = {
    .name = "import",
    .summary = "read analyses made elsewhere (OpenFace CSV)",
    .run = import_run,
};
