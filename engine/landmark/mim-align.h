/* mim-align.h: face alignment of MODEL.md §1.1 and the test-time crop of §1.3.
 *
 *   68 iBUG points --mim_align_68_to_49--> 49 points --mim_align_matrix--> 2x3 matrix M
 *   --mim_align_warp_rgb--> 200x200 RGB (bilinear, grey 128 outside) --mim_align_crop_chw-->
 *   (3,176,176) float in [-1,1] (centre crop at 12,12, (v/255 - 0.5)/0.5, RGB order).
 *
 * The warp is engine/face's mim_image_warp_affine (cv::warpAffine's INTER_LINEAR fixed-point
 * scheme, BORDER_CONSTANT), as ADLD's face_transform.py warps with OpenCV.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mim-landmark.h"

#define MIM_ALIGN_SIZE     200 /* aligned image side */
#define MIM_ALIGN_CROP     176 /* network input side */
#define MIM_ALIGN_CROP_OFF 12  /* (200 - 176) / 2 */
#define MIM_ALIGN_ENLARGE  2.8 /* box enlargement factor */
#define MIM_ALIGN_BORDER   128 /* grey outside the source image */
#define MIM_ALIGN_N49      49

/* iBUG 68 -> the 49-point scheme: points 17..67 without the inner-mouth corners 60 and 64.
 * in: (68,2); out: (49,2). The index table is mim_align_49_from_68[i] = 68-point index. */
extern const int mim_align_49_from_68[MIM_ALIGN_N49];
void mim_align_68_to_49(const float *xy68, float *xy49);

/* M (2x3, row-major: x' = m[0] x + m[1] y + m[2], y' = m[3] x + m[4] y + m[5]) of §1.1 from 49
 * points (49,2), for an output of side `size` (200). Returns -1 when the eye centres coincide
 * (no rotation defined). Computed in double. */
int mim_align_matrix(const float *xy49, int size, double m[6]);

/* Applies M to n points (n,2) in place (or from src to dst; they may alias). */
void mim_align_transform_points(const double m[6], const float *src, float *dst, int n);

/* dst (size,size,3) RGB = src (RGB8) warped by M (mim_image_warp_affine): dst(x,y) = bilinear
 * src(M^-1 (x,y)); neighbours outside src read `border` (all channels); a singular M gives an
 * all-border image. */
void mim_align_warp_rgb(const mim_image *src, const double m[6], uint8_t *dst, int size,
                        uint8_t border);

/* (3,crop,crop) floats from the (size,size,3) RGB image at offset (off,off):
 * v -> (v/255 - 0.5)/0.5 in float. */
void mim_align_crop_chw(const uint8_t *rgb, int size, int off, int crop, float *chw);

/* The whole front end for one face: 68 landmarks -> aligned 200x200 RGB (may be NULL), the 49
 * landmarks in aligned coordinates (may be NULL) and the (3,176,176) input tensor (may be NULL).
 * Returns -1 if the landmarks give no alignment. */
int mim_align_face(const mim_image *rgb, const float *xy68, uint8_t *aligned200,
                   float *xy49_aligned, float *chw176);
