/* mim-adam.h: the three Adam groups of MODEL.md §5 and PyTorch's Adam rule on host floats.
 *
 * PyTorch 1.13 (single-tensor path), per parameter with its own step count t:
 *   t += 1; m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²;
 *   p −= (lr / (1 − b1^t)) · m / (sqrt(v) / sqrt(1 − b2^t) + eps)
 * computed in float32 with the scalars rounded to float, bias corrections in double. A parameter
 * that received no gradient in a step is skipped (its t does not advance), as PyTorch does for
 * grad None. */
#pragma once

#include <stdint.h>

#include "aunet/mim-aunet-layout.h"

typedef struct {
    double lr, beta1, beta2, eps;
} mim_adam_hparams;

/* task: lr 1e-4, betas (0.95, 0.999); gen and disc: lr 5e-5, betas (0.5, 0.9); eps 1e-8. */
extern const mim_adam_hparams mim_adam_groups[MIM_AUNET_N_GROUPS];

/* One Adam update of n floats; *t is incremented first. lr is the scheduled rate. */
void mim_adam_update_host(float *p, const float *g, float *m, float *v, long n, int64_t *t,
                          double lr, double beta1, double beta2, double eps);
