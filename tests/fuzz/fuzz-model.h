/* fuzz-model.h: the model layout of the safetensors target and of its seeds (make-seeds.c): the
 * real AU-network layout for 1 AU and 1 landmark cut to its first FUZZ_MODEL_N_PARAMS params
 * (Ef.net.0-2: conv, BN, PReLU; 1,025 floats), so that a complete model or checkpoint of it is a
 * few KB and the readers' whole path (every check, then the copies) is within the fuzzer's
 * reach. The readers walk whatever layout they are given. */
#pragma once

#include <stdlib.h>

#include "aunet/mim-aunet-layout.h"

#define FUZZ_MODEL_N_PARAMS 7

/* Returns the full layout (free it with mim_aunet_layout_free) and fills *cut, which borrows its
 * arrays: the first FUZZ_MODEL_N_PARAMS params and the slots that belong to them (a prefix). */
static inline mim_aunet_layout *fuzz_model_layout(mim_aunet_layout *cut)
{
    mim_aunet_layout *l = mim_aunet_layout_new(1, 1);
    if (!l)
        abort();
    *cut = *l;
    cut->n_params = FUZZ_MODEL_N_PARAMS;
    cut->n_slots = 0;
    while (cut->n_slots < l->n_slots && l->slots[cut->n_slots].param < FUZZ_MODEL_N_PARAMS)
        cut->n_slots++;
    for (int i = cut->n_slots; i < l->n_slots; i++)
        if (l->slots[i].param < FUZZ_MODEL_N_PARAMS)
            abort(); /* the layout changed: pick another cut */
    cut->n_floats = 0;
    for (int p = 0; p < FUZZ_MODEL_N_PARAMS; p++)
        cut->n_floats += l->params[p].numel;
    return l;
}
