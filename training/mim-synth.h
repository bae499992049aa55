/* mim-synth.h: generated training faces with exact labels, the dataset side of the face
 * generator (mim-facegen.h).
 *
 * One sample: a real face (a photo and its 68 landmarks) is given random AU intensities, its
 * landmarks are moved by mim_facegen_displace and its pixels by mim_facegen_warp, and the result
 * is aligned as MODEL.md §1.1 aligns any face (200×200 RGB, 49 landmarks exact, since they are
 * the displaced landmarks mapped by the alignment). Then the domain's look:
 *   lab   the aligned face on a plain background (a soft ellipse around the face keeps the
 *         face, forehead and hair line; outside it a flat colour with a faint gradient), even
 *         light, no other change;
 *   wild  an alignment error (roll ±15°, scale 0.88..1.12, shift ±10 px, applied to image and
 *         landmarks alike), a textured background (value noise in two random colours), uneven
 *         light (gain 0.55..1.35 with a linear gradient and a colour cast), an occluder with
 *         probability 0.35 (a flat or noisy rectangle over 15..35 % of the side, anywhere), a box
 *         blur of radius 0..2 (two passes), Gaussian noise of sigma 0..10 grey levels.
 * Labels: the 12 AUs of MIM_SYNTH_AUS. Each is active with probability MIM_SYNTH_P_ACTIVE at an
 * intensity uniform in [1.5, 5] (label 1); otherwise its intensity is 0 or, half the time, a
 * trace in [0, 0.6] (label 0); AU25 is also labelled present when AU26 is (a dropped jaw parts
 * the lips). AU45 (blink) is drawn the same way but not labelled. The
 * intensities add to whatever expression the photo already shows (a smiling photo keeps its
 * smile at label 0: label noise the pack's users should know about).
 * Plain C, no state: each call draws from the caller's generator only.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "aunet/mim-rng.h"
#include "face/mim-image.h"
#include "mim-facegen.h"

#define MIM_SYNTH_AUS      "1,2,4,5,6,9,12,15,17,20,25,26"
#define MIM_SYNTH_N_AU     12
#define MIM_SYNTH_P_ACTIVE 0.3

typedef enum { MIM_SYNTH_LAB, MIM_SYNTH_WILD } mim_synth_domain;

/* "lab" / "wild" -> 0 and the domain; -1 for anything else. */
int mim_synth_domain_parse(const char *name, mim_synth_domain *out);

/* Draws the 13 facegen intensities (indexed like mim_facegen_aus) and the 12 labels of
 * MIM_SYNTH_AUS as described above. */
void mim_synth_draw_aus(mim_rng *rng, float *intensity /* (13) */, float *labels /* (12) */);

/* One generated sample from photo (RGB8) with its 68 landmarks (photo pixels) and the given
 * intensities: rgb200 (200,200,3) and xy49 (49,2) in aligned pixels. Draws the domain's look
 * from rng. Returns 0, or -1 with err (degenerate landmarks, a warp failure, no memory). */
int mim_synth_render(const mim_image *photo, const float *xy68, const float *intensity,
                     mim_synth_domain domain, mim_rng *rng, uint8_t *rgb200, float *xy49, char *err,
                     size_t err_size);
