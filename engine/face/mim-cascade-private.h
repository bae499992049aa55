/* mim-cascade-private.h: the in-memory cascade shared by the loader (mim-cascade.c) and the
 * detector (mim-detect.c). */
#pragma once

#include <stdint.h>

#include "mim-cascade.h"

typedef struct {
    int first_weak, n_weak;
    float threshold; /* stageThreshold − 1e-5f, in float (as OpenCV stores it) */
} mim__stage;

typedef struct {
    int first_node, n_nodes; /* nodes[first_node .. +n_nodes) */
    int first_leaf;          /* leaves[first_leaf .. +n_nodes+1) */
} mim__weak;

typedef struct {
    int left, right; /* > 0: node of the same tree (always > this node's index); <= 0: −leaf */
    int feature;
    float threshold; /* Haar */
} mim__node;

typedef struct {
    int n_rects;
    int tilted;
    int x[3], y[3], w[3], h[3];
    float weight[3];
} mim__haar_feature;

typedef struct {
    int x, y, w, h;
} mim__lbp_feature;

struct mim_cascade {
    mim_cascade_type type;
    int width, height;
    int max_cat_count, subset_words; /* LBP: 256, 8 */
    int n_stages, n_weak, n_nodes, n_leaves, n_features;
    int max_nodes_per_tree;
    int any_tilted;
    mim__stage *stages;
    mim__weak *weak;
    mim__node *nodes;
    int32_t *subsets; /* (n_nodes, subset_words) */
    float *leaves;
    mim__haar_feature *haar;
    mim__lbp_feature *lbp;
};

/* Integral images of an 8-bit grey image (FORMATS.md B.2 step 4), each (h+1, w+1) with row 0
 * and column 0 zero, wrap-around 32-bit: S sums, Q (may be NULL) sums of squares, and the
 * tilted sum T (-1 when out of memory). Exposed for the tests. */
void mim__integral(const mim_image *img, uint32_t *S, uint32_t *Q);
int mim__tilted_integral(const mim_image *img, uint32_t *T);
