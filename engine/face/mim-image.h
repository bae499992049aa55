/* mim-image.h: 8-bit and float images and the image operations the engine shares (face
 * detection, landmarks, alignment, network input): colour conversion, resize, affine warp.
 *
 * An image is `height` rows of `stride` bytes; a pixel is `channels` samples of the format's
 * type (uint8_t or float), interleaved (RGB order for 3 channels). mim_image_new() owns its
 * pixels; mim_image_view() describes someone else's buffer (free the struct only, never
 * the pixels). Not thread-safe per image; different images may be used from different threads.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MIM_IMAGE_GREY8, /* 1 × uint8_t */
    MIM_IMAGE_RGB8,  /* 3 × uint8_t, R G B */
    MIM_IMAGE_GREYF, /* 1 × float */
    MIM_IMAGE_RGBF,  /* 3 × float, R G B */
} mim_image_format;

typedef struct {
    int width, height;
    int channels;  /* 1 or 3, from the format */
    size_t stride; /* bytes between rows, >= width * channels * sample size */
    void *data;    /* height rows of stride bytes */
    int owns_data; /* mim_image_free() frees data */
    mim_image_format format;
} mim_image;

/* A new image with zeroed pixels and a tight stride; NULL on a bad size (<= 0, or more than
 * 2^31 bytes) or out of memory. */
mim_image *mim_image_new(int width, int height, mim_image_format format);
/* Describes an existing buffer (not copied, not owned). */
mim_image mim_image_view(void *data, int width, int height, size_t stride, mim_image_format format);
void mim_image_free(mim_image *img);

static inline uint8_t *mim_image_row8(const mim_image *img, int y)
{
    return (uint8_t *)img->data + (size_t)y * img->stride;
}
static inline float *mim_image_rowf(const mim_image *img, int y)
{
    return (float *)(void *)((uint8_t *)img->data + (size_t)y * img->stride);
}

/* Colour conversion, src and dst the same size.
 * rgb_to_grey: OpenCV's fixed-point cvtColor(RGB2GRAY), bit-exact:
 *   Y = (9798·R + 19235·G + 3735·B + 16384) >> 15.
 * rgb_to_grey_mean: dlib's intensity of an RGB pixel, (R + G + B) / 3 (integer division).
 * grey_to_rgb: replicates the grey value. */
void mim_image_rgb_to_grey(const mim_image *src /* RGB8 */, mim_image *dst /* GREY8 */);
void mim_image_rgb_to_grey_mean(const mim_image *src /* RGB8 */, mim_image *dst /* GREY8 */);
void mim_image_grey_to_rgb(const mim_image *src /* GREY8 */, mim_image *dst /* RGB8 */);
/* 8-bit to float: dst = src · scale + offset per sample (same channel count). */
void mim_image_to_float(const mim_image *src, mim_image *dst, float scale, float offset);

/* Resizes src to dst's size (same format). 8-bit images: OpenCV's bit-exact bilinear
 * (cv::resize with INTER_LINEAR_EXACT, FORMATS.md B.3), per channel; float images: the same
 * half-pixel-centre bilinear in float. Equal sizes copy. */
void mim_image_resize(const mim_image *src, mim_image *dst);

/* Affine warp with bilinear interpolation and a constant border.
 * m (2×3, row-major) maps SOURCE pixel coordinates to DESTINATION coordinates:
 *   x' = m[0]·x + m[1]·y + m[2],  y' = m[3]·x + m[4]·y + m[5]
 * (the matrix of cv::warpAffine without WARP_INVERSE_MAP, e.g. MODEL.md §1.1's M). Each dst
 * pixel samples src at the inverse-mapped point; samples outside src read `border` (per
 * channel, up to 3 values; float images use the same values).
 * 8-bit images follow cv::warpAffine(INTER_LINEAR, BORDER_CONSTANT)'s fixed-point scheme: the
 * inverse map in double, source positions quantised to 1/32 pixel (10-bit then 5-bit fixed
 * point, round half to even), weights in 1/32768, (Σ w·p + 16384) >> 15. Written from the
 * OpenCV algorithm; not compared with OpenCV on this machine (no python3-opencv).
 * Float images: exact bilinear at the inverse-mapped point.
 * Returns 0, or -1 when m is singular (dst untouched). */
int mim_image_warp_affine(const mim_image *src, mim_image *dst, const double m[6],
                          const double border[3]);

/* The inverse of an affine 2×3 matrix (as cv::invertAffineTransform); -1 when singular. */
int mim_affine_invert(const double m[6], double inv[6]);
/* Applies m to n points (x0,y0,x1,y1,... as double, in place allowed). */
void mim_affine_apply(const double m[6], const double *pts_in, double *pts_out, int n_points);
