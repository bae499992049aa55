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
    "            the video, under a new model row; prints the model's id. Columns Mimica does\n"
    "            not model (gaze, eye landmarks, 3-D landmarks, p_*, ...) are kept verbatim and\n"
    "            written back by `export openface`; the summary on stderr counts them\n";

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
    MimicaOpenFaceImport kept = {0};
    gint64 model = 0;
    g_autoptr(MimicaStore) store = mimica_store_open(file, &error);
    if (store && mimica_store_apply_busy_timeout_env(store, &error))
        model = mimica_store_import_openface_csv(store, video_id, csv, &kept, &error);
    if (!model) {
        fprintf(stderr, "mimica-cli import openface: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    printf("%lld\n", (long long)model);
    /* what was kept: nothing of the file is dropped without a word */
    fprintf(stderr,
            "mimica-cli import openface: %lld rows as model %lld; of %d columns %d in Mimica's"
            " fields, %d more kept verbatim for export%s",
            (long long)kept.n_rows, (long long)model, kept.n_columns, kept.n_mimica, kept.n_extra,
            kept.n_extra ? " (gaze, eye and 3-D landmarks, p_*, ...)" : "");
    if (kept.n_confidence_nan)
        fprintf(stderr, "; confidence nan on %lld rows not kept (stored as 0)\n",
                (long long)kept.n_confidence_nan);
    else
        fputs(", none dropped\n", stderr);
    return fflush(stdout) == 0 ? 0 : 1;
}

const MimicaCliCommand mimica_cli_import = {
    .name = "import",
    .summary = "read analyses made elsewhere (OpenFace CSV)",
    .run = import_run,
};
