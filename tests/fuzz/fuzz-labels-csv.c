/* fuzz-labels-csv.c: libFuzzer target for the labels CSV importer (mimica-store-io.c) into a
 * fresh in-memory project with one video of 1000 frames, then the export of what went in. */
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
    if (!mimica_store_add_video(store, &facts, NULL))
        abort();
    GError *error = NULL;
    gint64 n = mimica_store_import_labels_csv(store, path, &error);
    if (n < 0 && (!error || !g_utf8_validate(error->message, -1, NULL)))
        abort(); /* a refusal always says why, in UTF-8 */
    g_clear_error(&error);
    FILE *sink = fopen("/dev/null", "w");
    if (!mimica_store_export_labels_csv(store, sink, &error))
        abort();
    fclose(sink);
    mimica_store_free(store);
    return 0;
}
