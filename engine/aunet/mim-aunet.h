/* mim-aunet.h: the AU network of MODEL.md on the engine (mim.h): parameters, every module,
 * the El snapshot, inference (§6), model files.
 *
 * A mim_aunet lives in one context: its parameters and BN running statistics are persistent
 * tensors of that context (module names "Ef", "El", ..., the snapshot "El*"), in the layout of
 * mim-aunet-layout.h. Module functions build graph ops (recorded when grad mode is on); tensors
 * are NCHW: images (B,3,176,176), features (B,64,44,44), landmark maps (B,n_land,44,44),
 * attention maps (B,1,44,44), AU logits (B,n_au,1,1), projections (B,1,64,121).
 */
#pragma once

#include <stdint.h>

#include "mim-aunet-file.h"
#include "mim-aunet-layout.h"
#include "mim.h"

typedef struct mim_aunet mim_aunet;

/* Creates the parameters in ctx and initialises them PyTorch-style from seed. */
mim_status mim_aunet_new(mim_ctx *ctx, int n_au, int n_land, uint64_t seed, mim_aunet **out);
/* The tensors stay in (and are freed with) the context; inference plans (mim_aunet_infer) are
 * freed here: free the model before its context's backend. */
void mim_aunet_free(mim_aunet *m);
const mim_aunet_layout *mim_aunet_get_layout(const mim_aunet *m);
mim_ctx *mim_aunet_get_ctx(const mim_aunet *m);
/* The tensor of layout param p (shape padded to 4 dims: (C) -> (C,1,1,1)). */
mim_tensor *mim_aunet_tensor(const mim_aunet *m, int p);

/* All params from / to the reference's flat order (mim-aunet-layout.h, l->n_floats floats). */
mim_status mim_aunet_set_flat(mim_aunet *m, const float *flat);
mim_status mim_aunet_get_flat(const mim_aunet *m, float *flat);
/* Host copies per param: dst[p] / src[p] hold param p's numel floats. */
mim_status mim_aunet_get_params(const mim_aunet *m, float *const *dst);
mim_status mim_aunet_set_params(mim_aunet *m, const float *const *src);

/* The message of the last failed save/load ("" when none). */
const char *mim_aunet_last_error(const mim_aunet *m);

/* Model files (mim-aunet-file.h). Loading checks architecture, AU and landmark counts. */
mim_status mim_aunet_save(const mim_aunet *m, const char *path, const mim_aunet_info *info);
mim_status mim_aunet_load(mim_aunet *m, const char *path, mim_aunet_info *info);

/* ---- modules (training: BN uses and updates batch statistics; else running statistics) ---- */

mim_status mim_aunet_ef(mim_aunet *m, mim_tensor *x, int training, mim_tensor **f);
/* El (snapshot = 0) or El* (snapshot = 1): landmark logits M (B,L,44,44), attention A (B,1,44,44)
 * = sum over landmarks of the spatial softmax of M, landmark-related feature H (B,64,44,44).
 * Any of the outputs may be NULL. */
mim_status mim_aunet_el(mim_aunet *m, mim_tensor *f, int snapshot, mim_tensor **M, mim_tensor **A,
                        mim_tensor **H);
mim_status mim_aunet_eb(mim_aunet *m, mim_tensor *f, mim_tensor **b);
/* G(A, Fb) = net(concat[A, Fb]). */
mim_status mim_aunet_g(mim_aunet *m, mim_tensor *a, mim_tensor *fb, mim_tensor **out);
mim_status mim_aunet_dl(mim_aunet *m, mim_tensor *f, mim_tensor **out);
/* which: MIM_AUNET_DS or MIM_AUNET_DT; out (B,1,1,1). */
mim_status mim_aunet_dfeat(mim_aunet *m, mim_aunet_module which, mim_tensor *f, mim_tensor **out);
mim_status mim_aunet_fau(mim_aunet *m, mim_tensor *f, int training, mim_tensor **logits);
/* which: MIM_AUNET_PF, PL or PB; out (B,1,64,121) unit vectors per cell. */
mim_status mim_aunet_proj(mim_aunet *m, mim_aunet_module which, mim_tensor *f, mim_tensor **out);
/* El* <- El (start of every training iteration). */
mim_status mim_aunet_snapshot(mim_aunet *m);

/* ---- inference (MODEL.md §6), eval mode, no tape ---- */

typedef enum {
    MIM_AUNET_PATH_TARGET, /* Ef, El, Eb, G (self reconstruction), Fau: the default */
    MIM_AUNET_PATH_SOURCE, /* Ef, El, Fau */
} mim_aunet_path;

/* images: host (batch,3,176,176) normalised input (mim_aunet_image_to_input). Outputs (host,
 * any may be NULL): prob (batch,n_au) AU probabilities; land_idx (batch,n_land) argmax on the
 * 44×44 grid (first maximum); land_xy (batch,n_land,2) = 4·(idx mod 44, idx div 44) in crop
 * pixels. Resets the context's step arena before and after. */
mim_status mim_aunet_infer(mim_aunet *m, const float *images, int batch, mim_aunet_path path,
                           float *prob, int32_t *land_idx, float *land_xy);

/* How mim_aunet_infer runs. On the dnnl backend it uses an inference plan (built once per batch
 * size, path and precision, kept with the model, rebuilt when a parameter changed): activations
 * stay in oneDNN's blocked layout, Winograd convolutions where oneDNN picks them, BN folded, IN +
 * PReLU fused. Elsewhere, or where the plan cannot be built, it runs the generic ops above (the
 * reference). mim_aunet_set_plan(m, 0) forces the generic ops (default 1). */
void mim_aunet_set_plan(mim_aunet *m, int enabled);
/* 1 if the last successful mim_aunet_infer ran the plan; 0 if it ran the generic ops, with the
 * reason in mim_aunet_plan_status ("disabled", "backend X has no inference plan", or the error
 * that stopped the plan's build). */
int mim_aunet_plan_used(const mim_aunet *m);
const char *mim_aunet_plan_status(const mim_aunet *m);

/* Precision of the plan's convolutions: MIM_PRECISION_BF16 gives them bf16 weights and
 * activations (fp32 master weights converted into the plan; fp32 accumulation, norms, outputs);
 * emulated by oneDNN where the CPU has no AVX512-BF16/AMX (slower there). By default the plan
 * follows the backend's precision (mim_backend_precision). MIM_ERR_UNSUPPORTED on a backend
 * without plans when asking for bf16 (the generic ops follow mim_backend_set_precision);
 * MIM_ERR_ARG for an unknown value. */
mim_status mim_aunet_set_precision(mim_aunet *m, mim_precision p);
mim_precision mim_aunet_precision(const mim_aunet *m);
