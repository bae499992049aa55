/* mim-metrics.c: AU F1 and accuracy (see mim-metrics.h). */
#include "mim-metrics.h"

#include <math.h>
#include <string.h>

#include "mim-sample.h"

void mim_au_counts_reset(mim_au_counts *c, int n_au)
{
    memset(c, 0, sizeof *c);
    c->n_au = n_au < 0 ? 0 : n_au > MIM_METRICS_MAX_AU ? MIM_METRICS_MAX_AU : n_au;
}

void mim_au_counts_add(mim_au_counts *c, const float *prob, const float *labels, long n)
{
    for (long i = 0; i < n; i++)
        for (int a = 0; a < c->n_au; a++) {
            float y = labels[i * c->n_au + a];
            if (y == MIM_AU_MISSING || isnan(y))
                continue;
            int pred = prob[i * c->n_au + a] >= 0.5f;
            int truth = y > 0;
            if (pred && truth)
                c->tp[a]++;
            else if (pred)
                c->fp[a]++;
            else if (truth)
                c->fn[a]++;
            else
                c->tn[a]++;
        }
}

double mim_au_f1(const mim_au_counts *c, int au)
{
    long den = 2 * c->tp[au] + c->fp[au] + c->fn[au];
    return den ? 2.0 * (double)c->tp[au] / (double)den : 0.0;
}

double mim_au_accuracy(const mim_au_counts *c, int au)
{
    long n = c->tp[au] + c->fp[au] + c->fn[au] + c->tn[au];
    return n ? (double)(c->tp[au] + c->tn[au]) / (double)n : 0.0;
}

double mim_au_mean_f1(const mim_au_counts *c)
{
    double s = 0;
    for (int a = 0; a < c->n_au; a++)
        s += mim_au_f1(c, a);
    return c->n_au ? s / c->n_au : 0.0;
}

double mim_au_mean_accuracy(const mim_au_counts *c)
{
    double s = 0;
    for (int a = 0; a < c->n_au; a++)
        s += mim_au_accuracy(c, a);
    return c->n_au ? s / c->n_au : 0.0;
}
