/* mim-aunet-image.h: from an aligned face to the network input (MODEL.md §1.2, §1.3). */
#pragma once

#include <stdint.h>

/* Crops the 176×176 window at (offset_x, offset_y) out of an aligned RGB image (rows of `stride`
 * bytes, 3 bytes per pixel, at least offset + 176 pixels each way), optionally mirrors it
 * horizontally (after the crop), and writes (v/255 − 0.5)/0.5 as planar float RGB:
 * out (3,176,176). Test time uses offset (12, 12) of the 200×200 face, no flip. */
void mim_aunet_image_to_input(const uint8_t *rgb, int stride, int offset_x, int offset_y, int flip,
                              float *out);
