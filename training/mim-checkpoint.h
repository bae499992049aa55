/* mim-checkpoint.h: training checkpoints: a model file (mim-aunet-file.h) plus the optimiser
 * state and the trainer's position, written atomically (temporary file + fsync + rename).
 *
 * Added tensors: "optim.m.<param>" and "optim.v.<param>" (F32, the param's shape) for every
 * trainable param of the layout (engine names, e.g. "optim.m.Fau.c1.weight"), and "optim.t"
 * (I64, n_params): each param's Adam step count. Added metadata: "checkpoint.step" (iterations
 * done), "checkpoint.rng" (the trainer RNG's four words in hex), "checkpoint.state" (an opaque
 * string the trainer owns: configuration, epoch, sampler position). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "aunet/mim-aunet-file.h"
#include "aunet/mim-aunet-layout.h"
#include "aunet/mim-rng.h"

typedef struct {
    const mim_aunet_layout *layout;
    float **params;           /* [n_params], each numel floats */
    float **adam_m, **adam_v; /* [n_params]; entries of non-trainable params are ignored */
    int64_t *adam_t;          /* [n_params] */
    int64_t step;
    mim_rng rng;
    char state[2048];
} mim_checkpoint;

int mim_checkpoint_write(const char *path, const mim_checkpoint *c, const mim_aunet_info *info,
                         char *err, size_t err_size);
/* Reads into c, whose layout and arrays the caller has set up. The model metadata and every
 * tensor's presence, dtype and shape are checked; on failure c's arrays may be partly written. */
int mim_checkpoint_read(const char *path, mim_checkpoint *c, mim_aunet_info *info, char *err,
                        size_t err_size);
