/* mim-aunet-layout.h: where every weight of the AU network lives (MODEL.md §3, §11).
 *
 * Two views of the same floats:
 *  - params: the tensors the engine holds, one per conv weight, bias, norm vector or PReLU
 *    slope. Fau's per-AU branches are stored fused (MODEL.md §3 hint): one (64·n_au, 64, 3, 3)
 *    weight, (64·n_au) bias and BN vectors per layer, one (n_au) PReLU vector per layer, and one
 *    (n_au, 64, 1, 1) weight + (n_au) bias for the fully connected layers; branch a owns rows
 *    [64a, 64a+64) (row a of the PReLU and FC tensors), so each branch is a batch-dimension view.
 *  - slots: the PyTorch state-dict entries of ../shared/peer/torch_ref.py in export order
 *    (modules Ef, El, Eb, G, Dl, Ds, Dt, Fau, Pf, Pl, Pb; state-dict order inside each; BN
 *    num_batches_tracked omitted). Each slot names a contiguous piece of one param. Model files
 *    use the slot names and shapes, so the field (and torch_ref.Model.load_state_dict) reads them.
 *
 * Concatenating all slots in order gives exactly the reference's weights_*.bin.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "mim-rng.h"

#define MIM_AUNET_ARCH      "mimica-aunet-1"
#define MIM_AUNET_FEAT      64
#define MIM_AUNET_GRID      44
#define MIM_AUNET_CROP      176
#define MIM_AUNET_N_LAND    49
#define MIM_AUNET_MAX_AU    64
#define MIM_AUNET_NAME_SIZE 48

typedef enum {
    MIM_AUNET_EF,
    MIM_AUNET_EL,
    MIM_AUNET_EB,
    MIM_AUNET_G,
    MIM_AUNET_DL,
    MIM_AUNET_DS,
    MIM_AUNET_DT,
    MIM_AUNET_FAU,
    MIM_AUNET_PF,
    MIM_AUNET_PL,
    MIM_AUNET_PB,
    MIM_AUNET_N_MODULES
} mim_aunet_module;

const char *mim_aunet_module_name(mim_aunet_module m); /* "Ef", ... */

/* The Adam group of a module (MODEL.md §5). */
typedef enum {
    MIM_AUNET_GROUP_TASK, /* Ef, El, Fau */
    MIM_AUNET_GROUP_GEN,  /* Eb, G, Pf, Pl, Pb */
    MIM_AUNET_GROUP_DISC, /* Dl, Ds, Dt */
    MIM_AUNET_N_GROUPS
} mim_aunet_group;

mim_aunet_group mim_aunet_module_group(mim_aunet_module m);

typedef enum {
    MIM_AUNET_CONV_W,  /* (Cout, Cin/groups, KH, KW); linear (out, in) as (out, in, 1, 1) */
    MIM_AUNET_CONV_B,  /* (Cout) */
    MIM_AUNET_BN_W,    /* gamma (C), init 1 */
    MIM_AUNET_BN_B,    /* beta (C), init 0 */
    MIM_AUNET_BN_MEAN, /* running mean (C), init 0, not trainable */
    MIM_AUNET_BN_VAR,  /* running variance (C), init 1, not trainable */
    MIM_AUNET_PRELU,   /* slope(s), init 0.25 */
} mim_aunet_kind;

typedef struct {
    char name[MIM_AUNET_NAME_SIZE]; /* e.g. "Ef.net.0.weight", "Fau.c1.weight" */
    mim_aunet_module module;
    mim_aunet_kind kind;
    int n_dim;
    int64_t shape[4];
    size_t numel;
    int fan_in;    /* conv weights/biases: Cin/groups·KH·KW (PyTorch's init bound 1/sqrt) */
    int trainable; /* 0 for BN running statistics */
    int pre_norm;  /* conv bias directly before a BN/IN: zero true gradient (MODEL.md §10.8) */
} mim_aunet_param;

typedef struct {
    char name[MIM_AUNET_NAME_SIZE]; /* PyTorch state-dict name, e.g. "Fau.branches.3.1.bias" */
    int param;                      /* index into params */
    size_t offset;                  /* in floats, inside the param */
    size_t numel;
    int n_dim;
    int64_t shape[4];
    size_t file_offset; /* in floats, in the reference's weights_*.bin */
} mim_aunet_slot;

typedef struct {
    int n_au, n_land;
    int n_params, n_slots;
    mim_aunet_param *params;
    mim_aunet_slot *slots;
    size_t n_floats; /* all params (= all slots) */
} mim_aunet_layout;

/* Builds the layout for n_au AUs (1..MIM_AUNET_MAX_AU) and n_land landmarks (>= 1). Returns NULL
 * on bad arguments or out of memory. */
mim_aunet_layout *mim_aunet_layout_new(int n_au, int n_land);
void mim_aunet_layout_free(mim_aunet_layout *l);
int mim_aunet_layout_find_param(const mim_aunet_layout *l, const char *name);
int mim_aunet_layout_find_slot(const mim_aunet_layout *l, const char *name);

/* PyTorch's default initialisation with an explicit RNG: conv/linear weights and biases
 * U(-1/sqrt(fan_in), +1/sqrt(fan_in)), BN gamma 1, beta 0, running mean 0, var 1, PReLU 0.25.
 * Slots are drawn in file order. dst[p] points at param p's numel floats. */
void mim_aunet_layout_init(const mim_aunet_layout *l, mim_rng *rng, float *const *dst);

/* Copies between params (dst[p]/src[p] per param) and the reference's flat file order. */
void mim_aunet_layout_scatter(const mim_aunet_layout *l, const float *flat, float *const *dst);
void mim_aunet_layout_gather(const mim_aunet_layout *l, const float *const *src, float *flat);
