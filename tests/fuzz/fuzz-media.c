/* fuzz-media.c: libFuzzer target for media open and decode (app/media/mimica-decoder.c): the
 * index, the first 30 frames, and a seek back to frame 0. */
#include "fuzz-common.h"
#include "media/mimica-decoder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".bin");
    GError *error = NULL;
    MimicaDecoderOptions opts = {.n_threads = 1};
    MimicaDecoder *dec = mimica_decoder_open(path, &opts, NULL, &error);
    if (!dec) {
        if (!error || !g_utf8_validate(error->message, -1, NULL))
            abort();
        g_clear_error(&error);
        return 0;
    }
    MimicaFrame *f;
    for (int i = 0; i < 30 && (f = mimica_decoder_next_frame(dec, &error)); i++)
        mimica_frame_unref(f);
    g_clear_error(&error);
    f = mimica_decoder_get_frame(dec, 0, &error);
    g_clear_error(&error);
    mimica_frame_unref(f);
    mimica_decoder_free(dec);
    return 0;
}
