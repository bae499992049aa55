/* mim-adam.c: Adam groups and PyTorch's update rule on host floats (see mim-adam.h). */
#include "mim-adam.h"

#include <math.h>

const mim_adam_hparams mim_adam_groups[MIM_AUNET_N_GROUPS] = {
    [MIM_AUNET_GROUP_TASK] = {1e-4, 0.95, 0.999, 1e-8},
    [MIM_AUNET_GROUP_GEN] = {5e-5, 0.5, 0.9, 1e-8},
    [MIM_AUNET_GROUP_DISC] = {5e-5, 0.5, 0.9, 1e-8},
};

void mim_adam_update_host(float *p, const float *g, float *m, float *v, long n, int64_t *t,
                          double lr, double beta1, double beta2, double eps)
{
    *t += 1;
    double bc1 = 1.0 - pow(beta1, (double)*t);
    double bc2 = 1.0 - pow(beta2, (double)*t);
    const float b1 = (float)beta1, one_b1 = (float)(1.0 - beta1);
    const float b2 = (float)beta2, one_b2 = (float)(1.0 - beta2);
    const float step = (float)(lr / bc1), bc2s = (float)sqrt(bc2), fe = (float)eps;
    for (long i = 0; i < n; i++) {
        m[i] = m[i] * b1 + g[i] * one_b1;
        v[i] = v[i] * b2 + g[i] * g[i] * one_b2;
        float denom = sqrtf(v[i]) / bc2s + fe;
        p[i] = p[i] + (-step) * (m[i] / denom);
    }
}
