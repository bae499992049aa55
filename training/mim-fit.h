/* mim-fit.h: training runs and evaluation on packs (mim-pack.h) with the joint step
 * (mim-train.h).
 *
 * A run: the source pack (labelled) and the target pack (unlabelled in weak mode) are sampled
 * in batches of B. An epoch is floor(n_source / B) iterations over a fresh shuffle of the source
 * (the partial last batch is dropped); the target is reshuffled and restarted every
 * floor(n_target / B) iterations (MODEL.md §5). The shuffles come from generators seeded by
 * (seed, epoch) and (seed, target cycle), so the order at step k is a function of k; crops and
 * flips draw from the trainer's generator, which checkpoints save. A run resumed from its
 * checkpoint therefore continues exactly as the uninterrupted run (same backend). The learning
 * rate follows ADLD's lambda schedule over the run's epochs (decay from half way, at the
 * earliest after the first epoch).
 */
#pragma once

#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "mim-metrics.h"
#include "mim-pack.h"
#include "mim-train.h"

typedef struct {
    long step, n_steps; /* iterations done / in the run */
    int epoch, n_epochs;
    double lr_factor;
    double seconds; /* wall time of this process's part of the run */
    mim_train_losses losses;
} mim_fit_progress;

typedef struct {
    int n_aus; /* AUs trained (the model's list); labels mapped from the packs by number */
    int aus[MIM_PACK_MAX_AU];
    int batch;
    long iters;    /* > 0: this many iterations; else `epochs` epochs */
    int epochs;    /* default 10 */
    uint64_t seed; /* shuffles; the trainer's generator is seeded with seed + 1 */
    mim_train_config train;
    const char *checkpoint; /* written atomically every checkpoint_every steps and at the end */
    long checkpoint_every;  /* 0: only at the end (and on cancel) */
    const char *resume;     /* a checkpoint of the same run to continue, or NULL */
    /* 0: every AU must have labels in the source pack; 1: an AU the source pack lacks trains
     * as absent (a fine-tune restores such AUs' own branches afterwards) */
    int allow_unlabelled_aus;
    /* Called after every step; a non-zero return cancels the run (a checkpoint is written
     * first when one is configured). */
    int (*progress)(void *user, const mim_fit_progress *p);
    void *user;
} mim_fit_options;

/* Defaults: 6 AUs 1,2,4,6,12,17, batch 16, 10 epochs, seed 0, mim_train_config_default,
 * checkpoint every 100 steps. */
void mim_fit_options_default(mim_fit_options *o);

/* Trains m (created by the caller, initialised or loaded; its n_au must equal o->n_aus) on
 * src/tgt. info: written into checkpoints. Returns MIM_OK when the run completed; cancelled runs
 * return MIM_ERR_STATE with "cancelled" in err. */
mim_status mim_fit_train(mim_aunet *m, const mim_pack *src, const mim_pack *tgt,
                         const mim_fit_options *o, const mim_aunet_info *info, char *err,
                         size_t err_size);

/* ---- a model with its backend and context ---------------------------------------------- */

typedef struct {
    mim_backend *be;
    mim_ctx *ctx;
    mim_aunet *net;
    mim_aunet_info info; /* the file's (loaded) or the new model's */
    int n_aus;
    int aus[MIM_PACK_MAX_AU];
} mim_fit_model;

/* Opens backend `backend` (mim_backend_open: "ref", "dnnl", "cuda", "auto"; NULL = "auto") and
 * either loads the model file `path` or, when path is NULL, makes a new network for `au_list`
 * initialised from `seed`. Returns 0, or -1 with err (fm then holds nothing). */
int mim_fit_model_open(mim_fit_model *fm, const char *backend, const char *path,
                       const char *au_list, uint64_t seed, char *err, size_t err_size);
void mim_fit_model_close(mim_fit_model *fm);

/* ---- evaluation ------------------------------------------------------------------------- */

typedef struct {
    int n_aus;
    int aus[MIM_PACK_MAX_AU];
    long n_images;
    mim_au_counts counts;
    double f1[MIM_PACK_MAX_AU], accuracy[MIM_PACK_MAX_AU];
    long n_labelled[MIM_PACK_MAX_AU]; /* frames with a label (not missing) per AU */
    double mean_f1, mean_accuracy;    /* over the AUs with n_labelled > 0 (NaN if none) */
    /* landmark NME: mean over images and the 49 points of |predicted - labelled| (grid cells of
     * the §1.3 crop, the 12 refined points as AU centres) / inter-ocular distance (eye centres
     * of the labelled points 19..24 and 25..30) */
    double nme;
} mim_fit_eval_result;

/* Runs the inference path over every record of p (test transform, batches of `batch`) and
 * scores the probabilities against the pack's labels of the model's AUs (aus, n_aus = m's AU
 * list; AUs the pack lacks count as missing). */
mim_status mim_fit_eval(mim_aunet *m, const mim_pack *p, const int *aus, int n_aus,
                        mim_aunet_path path, int batch, mim_fit_eval_result *r, char *err,
                        size_t err_size);
/* The same over the records idx[0..n_idx) only. */
mim_status mim_fit_eval_subset(mim_aunet *m, const mim_pack *p, const long *idx, long n_idx,
                               const int *aus, int n_aus, mim_aunet_path path, int batch,
                               mim_fit_eval_result *r, char *err, size_t err_size);
