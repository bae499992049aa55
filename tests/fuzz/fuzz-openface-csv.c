/* fuzz-openface-csv.c: libFuzzer target for the OpenFace FeatureExtraction CSV importer
 * (mimica-store-io.c), then the OpenFace export of what went in. */
#include "fuzz-common.h"
#include "store/mimica-store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".csv");
    MimicaStore *store =
        mimica_store_open_at_version(":memory:", MIMICA_STORE_SCHEMA_VERSION, NULL);
    if (!store)
        abort();
    MimicaVideoFacts facts = {(char *)"v.mp4", (char *)"h", 40000000, 25, 1, 1000, 64, 48, 0};
    gint64 video = mimica_store_add_video(store, &facts, NULL);
    if (!video)
        abort();
    GError *error = NULL;
    gint64 model = mimica_store_import_openface_csv(store, video, path, NULL, &error);
    if (!model && (!error || !g_utf8_validate(error->message, -1, NULL)))
        abort();
    g_clear_error(&error);
    if (model) {
        FILE *sink = fopen("/dev/null", "w");
        if (!mimica_store_export_openface_csv(store, video, model, sink, &error))
            abort();
        fclose(sink);
    }
    mimica_store_free(store);
    return 0;
}
