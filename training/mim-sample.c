/* mim-sample.c: label transform and AU weights (MODEL.md §1.2, §8). */
#include "mim-sample.h"

#include <math.h>
#include <stdlib.h>

/* reflect_49.txt, 1-based: 10 9 8 7 6 5 4 3 2 1 11 12 13 14 19 18 17 16 15 29 28 27 26 31 30 23
 * 22 21 20 25 24 38 37 36 35 34 33 32 43 42 41 40 39 46 45 44 49 48 47 */
const int mim_reflect_49[49] = {
    9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  10, 11, 12, 13, 18, 17, 16,
    15, 14, 28, 27, 26, 25, 30, 29, 22, 21, 20, 19, 24, 23, 37, 36, 35,
    34, 33, 32, 31, 42, 41, 40, 39, 38, 45, 44, 43, 48, 47, 46,
};

void mim_sample_aug_draw(mim_rng *rng, mim_sample_aug *aug)
{
    aug->offset_x = (int)mim_rng_below(rng, MIM_SAMPLE_MAX_SHIFT + 1);
    aug->offset_y = (int)mim_rng_below(rng, MIM_SAMPLE_MAX_SHIFT + 1);
    aug->flip = (int)mim_rng_below(rng, 2);
}

void mim_sample_landmark_labels(const float *xy, const mim_sample_aug *aug, int32_t *labels)
{
    /* Double precision, like numpy's float64 arrays in ADLD's data_list.py. */
    double x[49], y[49];
    const double scale = (double)MIM_SAMPLE_CROP / MIM_SAMPLE_GRID;
    for (int i = 0; i < 49; i++) {
        x[i] = ((double)xy[2 * i] - aug->offset_x) / scale;
        y[i] = ((double)xy[2 * i + 1] - aug->offset_y) / scale;
    }
    if (aug->flip) {
        double fx[49], fy[49];
        for (int i = 0; i < 49; i++) {
            fx[i] = (MIM_SAMPLE_GRID - 1) - x[mim_reflect_49[i]];
            fy[i] = y[mim_reflect_49[i]];
        }
        for (int i = 0; i < 49; i++) {
            x[i] = fx[i];
            y[i] = fy[i];
        }
    }
    /* AU-centre refinement: the ruler is the inner-eye-corner distance. */
    double ruler = fabs(x[22] - x[25]);
    y[4] -= ruler / 2;
    y[5] -= ruler / 2;
    y[1] -= ruler / 3;
    y[8] -= ruler / 3;
    y[2] += ruler / 3;
    y[7] += ruler / 3;
    y[24] += ruler;
    y[29] += ruler;
    y[15] -= ruler / 2;
    y[17] -= ruler / 2;
    y[39] += ruler / 2;
    y[41] += ruler / 2;
    for (int i = 0; i < 49; i++) {
        double rx = rint(x[i]), ry = rint(y[i]); /* ties to even, as numpy.around */
        rx = rx < 0 ? 0 : rx > MIM_SAMPLE_GRID - 1 ? MIM_SAMPLE_GRID - 1 : rx;
        ry = ry < 0 ? 0 : ry > MIM_SAMPLE_GRID - 1 ? MIM_SAMPLE_GRID - 1 : ry;
        if (isnan(rx))
            rx = 0;
        if (isnan(ry))
            ry = 0;
        labels[i] = (int32_t)ry * MIM_SAMPLE_GRID + (int32_t)rx;
    }
}

void mim_sample_au_weights(const float *labels, long n_images, int n_au, float *weights)
{
    double inv_sum = 0;
    double *inv = malloc((size_t)(n_au > 0 ? n_au : 1) * sizeof *inv);
    if (!inv) {
        for (int c = 0; c < n_au; c++)
            weights[c] = 1.0f;
        return;
    }
    for (int c = 0; c < n_au; c++) {
        long pos = 0, labelled = 0;
        for (long i = 0; i < n_images; i++) {
            float v = labels[i * n_au + c];
            if (v == MIM_AU_MISSING || isnan(v))
                continue;
            labelled++;
            if (v > 0)
                pos++;
        }
        double r = pos ? (double)pos / (double)labelled : 1.0 / (2.0 * (double)labelled + 2.0);
        inv[c] = 1.0 / r;
        inv_sum += inv[c];
    }
    for (int c = 0; c < n_au; c++)
        weights[c] = (float)(inv[c] / inv_sum * n_au);
    free(inv);
}
