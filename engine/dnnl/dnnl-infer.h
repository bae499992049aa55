/* dnnl-infer.h: the dnnl backend's whole-network inference plans (dnnl-infer.c), the entries
 * aunet_infer and aunet_infer_free of its extension table (mim-private.h). */
#pragma once

#include <stdint.h>

#include "mim-backend-impl.h"

/* Runs the AU network's path described by net on host images with the plan cached in *cache
 * for (batch, path, precision, counts), building it (or rebuilding it when a parameter changed)
 * first. MIM_ERR_UNSUPPORTED with the reason in be->err where no plan can be built. */
mim_status mim__dnnl_aunet_infer(mim_backend *be, void **cache, const mim_infer_aunet *net,
                                 const float *images, float *prob, int32_t *land_idx);
void mim__dnnl_aunet_infer_free(mim_backend *be, void *cache);
