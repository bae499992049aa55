/* mim-heads.h: "quick" fine-tuning: the AU heads only, every encoder frozen.
 *
 * The network's AU output for AU a is logit_a = w_a · h_a + b_a, where h_a (64 numbers) is the
 * global average of the last conv map of Fau's branch a (MODEL.md §3, Fau layers 1-5) and w_a,
 * b_a are the branch's fully connected layer ("Fau.fc"). Quick fine-tuning freezes everything
 * before the pooling (Ef, El, Eb, G and Fau's convolutions, BN statistics included) and trains
 * only (w_a, b_a): the pooled features of every frame are computed once (inference path, eval
 * mode, test-time crop), then the heads learn by full-batch Adam on the per-AU weighted binary
 * cross-entropy, with missing labels masked out, in standardised feature units (per AU and
 * dimension over the training frames; the heads are mapped back to raw units at the end). That is a
 * logistic regression per AU, started from the parent's weights: seconds of compute after one
 * forward pass per frame. The logits of mim_heads_logits equal mim_aunet_infer's (same arithmetic
 * up to float summation order).
 */
#pragma once

#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "mim-pack.h"

#define MIM_HEADS_DIM 64

/* pooled (batch, n_au, 64): h_a of each image; images (batch,3,176,176) normalised. */
mim_status mim_heads_features(mim_aunet *m, const float *images, int batch, mim_aunet_path path,
                              float *pooled);

/* The model's heads: w (n_au, 64) and b (n_au), host copies. */
typedef struct {
    int n_au;
    float *w, *b;
} mim_heads;

mim_status mim_heads_get(const mim_aunet *m, mim_heads *h); /* allocates w, b */
mim_status mim_heads_set(mim_aunet *m, const mim_heads *h);
void mim_heads_clear(mim_heads *h);

/* logits (n, n_au) = heads applied to pooled (n, n_au, 64). */
void mim_heads_logits(const mim_heads *h, const float *pooled, long n, float *logits);

typedef struct {
    int epochs;             /* full-batch Adam steps (default 300) */
    double lr;              /* default 1e-2 */
    double weight_decay;    /* L2 pull toward the parent's heads (default 1e-3) */
    const float *au_weight; /* (n_au) loss weights, NULL = 1 */
} mim_heads_options;

void mim_heads_options_default(mim_heads_options *o);

/* Trains h in place on pooled (n, n_au, 64) with labels (n, n_au): 0, 1, or 999 = missing
 * (masked). Returns the final mean masked loss. */
double mim_heads_train(mim_heads *h, const float *pooled, const float *labels, long n,
                       const mim_heads_options *o);

/* Pooled features and labels of records [i0, i0 + n) of a pack: the test-time sample of each
 * (mim_pack_test_sample), in batches of up to 8, into pooled (n, n_aus, 64) and labels
 * (n, n_aus) for the AUs aus (999 where the pack lacks one). */
mim_status mim_heads_pack_features(mim_aunet *m, const mim_pack *p, const int *aus, int n_aus,
                                   long i0, long n, mim_aunet_path path, float *pooled,
                                   float *labels);
