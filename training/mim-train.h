/* mim-train.h: the joint training iteration of MODEL.md §5 on the engine.
 *
 * One mim_trainer_step: El* <- El; the shared forward (§5 item 2, in its order, BN in training
 * mode per call); the discriminator step (§4.1: L_D, backward, Adam on Dl, Ds, Dt); the
 * generator/task step (§4.2: discriminators recomputed with their new weights, Fau(Fts) then
 * Fau(Fst), every loss with its λ, backward of L_G, Adam on the gen group {Eb, G, Pf, Pl, Pb} and
 * the task group {Ef, El, Fau}). Gradient routing is §4.3's: Eb's inputs and G's attention inputs
 * are detached, El* is frozen (its input gradient flows), reconstruction and contrastive targets
 * are detached, the discriminators get no weight gradient in the generator step.
 *
 * Adam follows PyTorch (mim-adam.h) with one step count per parameter; a parameter that no loss
 * reaches (the projectors without the contrastive terms) is not stepped, like PyTorch's grad None.
 */
#pragma once

#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "aunet/mim-rng.h"

typedef enum { MIM_TRAIN_WEAK, MIM_TRAIN_FULL } mim_train_mode;
typedef enum { MIM_AU_LOSS_BCE, MIM_AU_LOSS_WAL } mim_au_loss;

typedef struct {
    int contrastive;     /* 1: projectors + InfoNCE terms (default); 0: plain ADLD */
    mim_au_loss au_loss; /* BCE (default) or the weighted asymmetric loss */
    mim_train_mode mode; /* weak (default): target AU labels unused */
    double tau;          /* InfoNCE temperature, 0.1 */
    double lambda_au, lambda_land, lambda_land_adv, lambda_feat_adv, lambda_cyc, lambda_self;
    double lambda_con_self, lambda_con_cyc, lambda_con_mid;
} mim_train_config;

/* MODEL.md's values: contrastive, BCE, weak, τ 0.1, λ = 1, 0.6, 400, 1.2, 40, 3, 1, 1, 0.5. */
void mim_train_config_default(mim_train_config *c);

/* One iteration's data, host memory: B source and B target images. */
typedef struct {
    int batch;
    const float *xs, *xt;   /* (B,3,176,176) normalised */
    const int32_t *ls, *lt; /* (B,n_land) flat grid indices */
    const float *ys, *yt;   /* (B,n_au) 0/1; yt used in full mode only */
} mim_train_batch;

typedef struct {
    double d_land, d_src, d_tgt, d_total;
    double land_adv, feat_adv, cyc_l1, self_l1, au, land;
    double con_self, con_cyc, con_mid; /* 0 without the contrastive terms */
    double g_total;
} mim_train_losses;

typedef struct mim_trainer mim_trainer;

/* au_weight: the n_au per-AU loss weights (MODEL.md §8). The trainer borrows m. */
mim_status mim_trainer_new(mim_aunet *m, const mim_train_config *cfg, const float *au_weight,
                           mim_trainer **out);
void mim_trainer_free(mim_trainer *tr);
const char *mim_trainer_last_error(const mim_trainer *tr);
/* The schedule's factor (mim_schedule_lambda) applied to every group's base rate. */
void mim_trainer_set_lr_factor(mim_trainer *tr, double factor);
int64_t mim_trainer_n_steps(const mim_trainer *tr);
/* A generator for the caller's data sampling, saved in checkpoints. */
mim_rng *mim_trainer_rng(mim_trainer *tr);

mim_status mim_trainer_step(mim_trainer *tr, const mim_train_batch *b, mim_train_losses *losses);
/* A tensor of the last step: "Fs" "Ft" "Ms" "Mt" "As" "At" "Hs" "Ht" "Bs" "Bt" "Fst" "Fts" "Rs"
 * "Rt" "Bs2" "Bt2" "Ms2" "Mt2" "Hs2" "Ht2" "Cs" "Ct" "au_s" "au_t" "au_ts" "au_st" (the names of
 * the reference export), valid until the next step or context reset; NULL if unknown. */
mim_tensor *mim_trainer_tensor(const mim_trainer *tr, const char *name);

/* Checkpoints (mim-checkpoint.h): model, Adam state, step count, RNG and the caller's state
 * string (at most 2047 bytes). Loading restores all of them; state may be NULL. */
mim_status mim_trainer_save(mim_trainer *tr, const char *path, const mim_aunet_info *info,
                            const char *state);
mim_status mim_trainer_load(mim_trainer *tr, const char *path, mim_aunet_info *info, char *state,
                            size_t state_size);
