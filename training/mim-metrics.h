/* mim-metrics.h: AU detection metrics (MODEL.md §7, ADLD util.py): per AU, the prediction is
 * positive iff the probability is >= 0.5; F1 of the positive class = 2TP / (2TP + FP + FN) over
 * all frames (0 when that denominator is 0, as sklearn), accuracy = (TP + TN) / labelled frames;
 * frames whose label is 999 (missing) are ignored for that AU. Headline = unweighted means. */
#pragma once

#define MIM_METRICS_MAX_AU 64

typedef struct {
    int n_au;
    long tp[MIM_METRICS_MAX_AU], fp[MIM_METRICS_MAX_AU];
    long fn[MIM_METRICS_MAX_AU], tn[MIM_METRICS_MAX_AU];
} mim_au_counts;

void mim_au_counts_reset(mim_au_counts *c, int n_au);
/* prob (n, n_au) probabilities; labels (n, n_au): 0 absent, > 0 present, 999 missing. */
void mim_au_counts_add(mim_au_counts *c, const float *prob, const float *labels, long n);
double mim_au_f1(const mim_au_counts *c, int au);
double mim_au_accuracy(const mim_au_counts *c, int au);
double mim_au_mean_f1(const mim_au_counts *c);
double mim_au_mean_accuracy(const mim_au_counts *c);
