/* mim-adam.h: the three Adam groups of MODEL.md §5 and the Adam step that training runs.
 *
 * PyTorch 1.13 (single-tensor path), per parameter with its own step count t:
 *   t += 1; m = b1·m + (1−b1)·g; v = b2·v + (1−b2)·g²;
 *   p −= (lr / (1 − b1^t)) · m / (sqrt(v) / sqrt(1 − b2^t) + eps)
 * on the context's backend (mim_adam_update, engine/mim.h): element arithmetic in float32, the
 * bias corrections in double and then rounded to float. A parameter that received no gradient in
 * a step is skipped by the caller (its t does not advance), as PyTorch does for grad None. */
#pragma once

#include <stdint.h>

#include "aunet/mim-aunet-layout.h"
#include "mim.h"

typedef struct {
    double lr, beta1, beta2, eps;
} mim_adam_hparams;

/* task: lr 1e-4, betas (0.95, 0.999); gen and disc: lr 5e-5, betas (0.5, 0.9); eps 1e-8. */
extern const mim_adam_hparams mim_adam_groups[MIM_AUNET_N_GROUPS];

/* One Adam step of p with gradient g and state m, v (tensors of p's size, m and v zero before
 * the first step), exactly as mim_trainer_step runs it: *t is incremented first, the rate is
 * h->lr · lr_factor (the schedule's factor). */
mim_status mim_adam_step(mim_ctx *ctx, mim_tensor *p, const mim_tensor *g, mim_tensor *m,
                         mim_tensor *v, const mim_adam_hparams *h, double lr_factor, int64_t *t);
