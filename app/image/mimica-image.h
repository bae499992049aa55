/* mimica-image.h: decoding one image file to packed RGB8 for the engine (mim-image.h).
 *
 * JPEG goes through libjpeg-turbo with the default decompression settings that OpenCV's imread
 * uses (islow IDCT, fancy upsampling), so the pixels equal cv::imread's (BGR swapped to RGB);
 * PNG through libpng (palette expanded, 16-bit samples reduced to their high byte, alpha
 * dropped, grey replicated); anything else through FFmpeg's image decoders (app/media). A JPEG's
 * EXIF orientation (IFD0 tag 0x0112) is applied, as imread does (FORMATS.md pitfall 26). A missing
 * file is MIMICA_ERROR_NOT_FOUND, a truncated or corrupt one MIMICA_ERROR_CORRUPT, an unreadable
 * one MIMICA_ERROR_IO, a device, pipe or folder MIMICA_ERROR_UNSUPPORTED (never read). */
#pragma once

#include <glib.h>

#include "face/mim-image.h"

G_BEGIN_DECLS

/* A new RGB8 image (free with mim_image_free), or NULL with error set. */
mim_image *mimica_image_load(const char *path, GError **error);
/* The same from bytes in memory (JPEG and PNG only; others MIMICA_ERROR_UNSUPPORTED). */
mim_image *mimica_image_decode(const guint8 *bytes, gsize len, GError **error);

G_END_DECLS
