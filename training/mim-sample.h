/* mim-sample.h: the training-time transform of one sample's labels (MODEL.md §1.2) and the
 * per-AU loss weights of the training set (MODEL.md §8).
 *
 * Images themselves are cropped, flipped and normalised by mim_aunet_image_to_input()
 * (engine/aunet/mim-aunet.h), which inference uses too. */
#pragma once

#include <stdint.h>

#include "aunet/mim-rng.h"

#define MIM_SAMPLE_CROP      176 /* network input side */
#define MIM_SAMPLE_ALIGNED   200 /* aligned face side */
#define MIM_SAMPLE_MAX_SHIFT 24  /* crop offsets are uniform in [0, 24] */
#define MIM_SAMPLE_GRID      44  /* landmark grid side: 176 / 4 */
#define MIM_AU_MISSING       999.0f

/* The 49-point mirror permutation, 0-based: after a horizontal flip, point i takes the old point
 * mim_reflect_49[i] (data/list/reflect_49.txt of ADLD minus 1). */
extern const int mim_reflect_49[49];

/* One sample's random crop offsets and flip, drawn in this order from rng: offset_x, offset_y
 * uniform integers in [0, 24], flip with probability 0.5. */
typedef struct {
    int offset_x, offset_y, flip;
} mim_sample_aug;

void mim_sample_aug_draw(mim_rng *rng, mim_sample_aug *aug);

/* Landmark labels of MODEL.md §1.2: xy holds 49 (x, y) pairs in aligned-image pixels (x0 y0 x1
 * y1 ...); labels gets 49 flat indices y*44+x on the 44×44 grid of the crop, after shift,
 * optional flip + reflect_49, the AU-centre refinement of 12 points, rounding half to even and
 * clamping to [0, 43]. */
void mim_sample_landmark_labels(const float *xy, const mim_sample_aug *aug, int32_t *labels);

/* Per-AU weights w_c = (1/r_c) / sum_j (1/r_j) · n_au, where r_c is the fraction of the training
 * images whose label c is positive (> 0). Missing labels (999) count in neither the numerator
 * nor the denominator [deviation from ADLD, whose lists have none]. An AU with no positive (or no
 * labelled) image gets r_c = 1 / (2 · n_labelled + 2), i.e. the weight of half an example.
 * labels is (n_images, n_au). */
void mim_sample_au_weights(const float *labels, long n_images, int n_au, float *weights);
