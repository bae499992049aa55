/* mim-adam.c: Adam groups and the Adam step of training (see mim-adam.h). */
#include "mim-adam.h"

const mim_adam_hparams mim_adam_groups[MIM_AUNET_N_GROUPS] = {
    [MIM_AUNET_GROUP_TASK] = {1e-4, 0.95, 0.999, 1e-8},
    [MIM_AUNET_GROUP_GEN] = {5e-5, 0.5, 0.9, 1e-8},
    [MIM_AUNET_GROUP_DISC] = {5e-5, 0.5, 0.9, 1e-8},
};

mim_status mim_adam_step(mim_ctx *ctx, mim_tensor *p, const mim_tensor *g, mim_tensor *m,
                         mim_tensor *v, const mim_adam_hparams *h, double lr_factor, int64_t *t)
{
    *t += 1;
    return mim_adam_update(ctx, p, g, m, v, h->lr * lr_factor, h->beta1, h->beta2, h->eps, *t);
}
