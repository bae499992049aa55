/* fuzz-image.c: libFuzzer target for JPEG and PNG decoding (app/image/mimica-image.c). */
#include "face/mim-image.h"
#include "fuzz-common.h"
#include "image/mimica-image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *error = NULL;
    mim_image *img = mimica_image_decode(data, size, &error);
    if (!img && !error)
        abort();
    g_clear_error(&error);
    mim_image_free(img);
    return 0;
}
