/* mim-aunet-image.c: crop, flip and normalise an aligned face (see mim-aunet-image.h). */
#include "mim-aunet-image.h"

#include "mim-aunet-layout.h"

void mim_aunet_image_to_input(const uint8_t *rgb, int stride, int offset_x, int offset_y, int flip,
                              float *out)
{
    const int n = MIM_AUNET_CROP;
    for (int y = 0; y < n; y++) {
        const uint8_t *row = rgb + (long)(y + offset_y) * stride + 3L * offset_x;
        for (int x = 0; x < n; x++) {
            int sx = flip ? n - 1 - x : x;
            for (int c = 0; c < 3; c++) {
                float v = (float)row[3 * sx + c] / 255.0f;
                out[((long)c * n + y) * n + x] = (v - 0.5f) / 0.5f;
            }
        }
    }
}
