/* mim-landmark-fit.c: landmarks for a fresh detection with a refined box (see mim-landmark.h,
 * mim_landmark_fit_detection). */
#include "mim-landmark.h"
#include "mim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mim_landmark_fit_params_default(mim_landmark_fit_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_scales = 3;
    p->scales[0] = 0.8, p->scales[1] = 1.0, p->scales[2] = 1.2;
    p->n_offsets = 5;
    for (int i = 0; i < 5; i++)
        p->offsets[i] = -0.2 + 0.1 * i;
    p->accept = 0.02f;
}

typedef struct {
    double scale, ox, oy, dist;
} hypothesis;

static int cmp_hyp(const void *a, const void *b)
{
    const hypothesis *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    if (x->scale != y->scale)
        return x->scale < y->scale ? -1 : 1;
    if (x->ox != y->ox)
        return x->ox < y->ox ? -1 : 1;
    return (x->oy > y->oy) - (x->oy < y->oy);
}

int mim_landmark_fit_detection(const mim_shape_predictor *sp, const mim_image *img,
                               const mim_face_box *box, const mim_landmark_fit_params *params,
                               mim_landmark_fit *fit, char *err, size_t err_size)
{
    mim_shape_predictor_info info;
    mim_shape_predictor_get_info(sp, &info);
    if (info.n_landmarks != MIM_LANDMARK_N68)
        return mim_errf(err, err_size, "box refinement needs the 68-point model (this one has %d)",
                        info.n_landmarks);
    mim_landmark_fit_params def;
    if (!params) {
        mim_landmark_fit_params_default(&def);
        params = &def;
    }
    if (params->n_scales < 1 || params->n_scales > MIM_FIT_MAX_STEPS || params->n_offsets < 1 ||
        params->n_offsets > MIM_FIT_MAX_STEPS || !(params->accept >= 0))
        return mim_errf(err, err_size,
                        "box refinement: %d scales, %d offsets, accept %g: out of range",
                        params->n_scales, params->n_offsets, params->accept);
    int bad = 0;
    for (int i = 0; i < params->n_scales; i++)
        bad |= !(params->scales[i] > 0 && params->scales[i] < 100);
    for (int i = 0; i < params->n_offsets; i++)
        bad |= !(fabs(params->offsets[i]) < 100);
    if (bad)
        return mim_errf(
            err, err_size,
            "box refinement: a scale outside (0, 100) or an offset outside (-100, 100)");

    /* hypotheses nearest the detection first: |scale - 1| + |dx| + |dy| */
    hypothesis hyp[MIM_FIT_MAX_STEPS * MIM_FIT_MAX_STEPS * MIM_FIT_MAX_STEPS];
    int n_hyp = 0;
    for (int s = 0; s < params->n_scales; s++)
        for (int i = 0; i < params->n_offsets; i++)
            for (int j = 0; j < params->n_offsets; j++) {
                hypothesis *h = &hyp[n_hyp++];
                h->scale = params->scales[s];
                h->ox = params->offsets[i];
                h->oy = params->offsets[j];
                h->dist = fabs(h->scale - 1) + fabs(h->ox) + fabs(h->oy);
            }
    qsort(hyp, (size_t)n_hyp, sizeof *hyp, cmp_hyp);

    const double side = box->right - box->left, side_y = box->bottom - box->top;
    const double cx = 0.5 * (box->left + box->right), cy = 0.5 * (box->top + box->bottom);
    float xy0[2 * MIM_LANDMARK_N68], xy1[2 * MIM_LANDMARK_N68];
    memset(fit, 0, sizeof *fit);
    fit->mirror_error = INFINITY;
    int have = 0;
    for (int h = 0; h < n_hyp; h++) {
        const double hw = 0.5 * side * hyp[h].scale, hh = 0.5 * side_y * hyp[h].scale;
        const double hx = cx + hyp[h].ox * side, hy = cy + hyp[h].oy * side_y;
        const mim_face_box b0 = {hx - hw, hy - hh, hx + hw, hy + hh};
        mim_shape_predictor_predict(sp, img, &b0, xy0, NULL, NULL);
        mim_face_box b1;
        mim_landmark_box_from_shape(sp, xy0, &b1);
        mim_shape_predictor_predict(sp, img, &b1, xy1, NULL, NULL);
        float score = mim_landmark_mirror_error(sp, img, &b1, xy1);
        fit->n_hypotheses++;
        fit->n_predictions += 3;
        /* a NaN score (degenerate shape) never wins, but the first result is kept regardless */
        if (!have || score < fit->mirror_error) {
            have = 1;
            fit->box = b1;
            memcpy(fit->xy, xy1, sizeof xy1);
            fit->mirror_error = score;
        }
        if (score < params->accept)
            break;
    }
    fit->confidence = mim_landmark_confidence(sp, fit->xy);
    return 0;
}
