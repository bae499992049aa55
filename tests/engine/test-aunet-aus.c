/* test-aunet-aus.c: the AU network with more AUs than one concat takes (8): Fau joins the
 * branches' logits in groups, and the logits must come out in AU order. Each branch's FC is set
 * to weight 0 and bias (a - n/2) / 2, so logit a is known exactly whatever the image; inference
 * (eval) and a training forward + backward (every FC bias gets d sum / d bias = batch) are
 * checked for 12 and 20 AUs on the ref backend. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "aunet/mim-aunet.h"
#include "mim-test.h"

static void set_fc(mim_aunet *m, int n_au)
{
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    float **p = calloc((size_t)l->n_params, sizeof *p);
    for (int i = 0; i < l->n_params; i++)
        p[i] = malloc(l->params[i].numel * sizeof(float));
    MT_CHECK(mim_aunet_get_params(m, p) == MIM_OK);
    int w = mim_aunet_layout_find_param(l, "Fau.fc.weight");
    int b = mim_aunet_layout_find_param(l, "Fau.fc.bias");
    MT_CHECK(w >= 0 && b >= 0 && (int)l->params[b].numel == n_au);
    for (size_t k = 0; k < l->params[w].numel; k++)
        p[w][k] = 0;
    for (int a = 0; a < n_au; a++)
        p[b][a] = 0.5f * (float)(a - n_au / 2);
    MT_CHECK(mim_aunet_set_params(m, (const float *const *)p) == MIM_OK);
    for (int i = 0; i < l->n_params; i++)
        free(p[i]);
    free(p);
}

static void check_n(int n_au)
{
    const int B = 1, crop = 3 * MIM_AUNET_CROP * MIM_AUNET_CROP;
    mim_backend *be = mim_backend_ref_new();
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(mim_aunet_new(ctx, n_au, 49, 3, &m) == MIM_OK);
    set_fc(m, n_au);
    float *x = malloc((size_t)B * crop * sizeof(float));
    for (int i = 0; i < B * crop; i++)
        x[i] = (float)sin(0.001 * i);
    float prob[64];
    mim_status st = mim_aunet_infer(m, x, B, MIM_AUNET_PATH_SOURCE, prob, NULL, NULL);
    MT_CHECK(st == MIM_OK);
    double worst = 0;
    int first_bad = -1;
    for (int s = 0; st == MIM_OK && s < B; s++)
        for (int a = 0; a < n_au; a++) {
            double want = 1 / (1 + exp(-0.5 * (a - n_au / 2)));
            double d = fabs(prob[s * n_au + a] - want);
            if (d > worst)
                worst = d;
            if (d > 1e-6 && first_bad < 0)
                first_bad = a;
        }
    MT_NOTE("%d AUs: inference, max |p - sigmoid((a - n/2)/2)| %.2g (tol 1e-6), first bad AU %d",
            n_au, worst, first_bad);
    MT_CHECK(worst <= 1e-6);

    /* training forward and backward through the grouped concat */
    mim_tensor *img = NULL, *f = NULL, *logits = NULL, *loss = NULL;
    MT_CHECK(mim_tensor_new(ctx, MIM_F32, B, 3, MIM_AUNET_CROP, MIM_AUNET_CROP, &img) == MIM_OK);
    MT_CHECK(mim_tensor_set(img, x, (size_t)B * crop * sizeof(float)) == MIM_OK);
    MT_CHECK(mim_aunet_ef(m, img, 1, &f) == MIM_OK);
    MT_CHECK(mim_aunet_fau(m, f, 1, &logits) == MIM_OK);
    MT_CHECK(logits && logits->ne[0] == B && logits->ne[1] == n_au);
    float lg[64];
    MT_CHECK(mim_tensor_get(logits, lg, (size_t)B * n_au * sizeof(float)) == MIM_OK);
    double worst_l = 0;
    for (int s = 0; s < B; s++)
        for (int a = 0; a < n_au; a++)
            worst_l = fmax(worst_l, fabs(lg[s * n_au + a] - 0.5 * (a - n_au / 2)));
    MT_CHECK(mim_sum(ctx, logits, &loss) == MIM_OK);
    MT_CHECK(mim_backward(ctx, loss) == MIM_OK);
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    mim_tensor *bias = mim_aunet_tensor(m, mim_aunet_layout_find_param(l, "Fau.fc.bias"));
    float g[64];
    double worst_g = 1e9;
    MT_CHECK(bias->grad != NULL);
    if (bias->grad) {
        MT_CHECK(mim_tensor_get(bias->grad, g, (size_t)n_au * sizeof(float)) == MIM_OK);
        worst_g = 0;
        for (int a = 0; a < n_au; a++)
            worst_g = fmax(worst_g, fabs(g[a] - B));
    }
    MT_NOTE("%d AUs: training, max |logit - (a - n/2)/2| %.2g, max |d sum / d bias_a - %d| %.2g",
            n_au, worst_l, B, worst_g);
    MT_CHECK(worst_l <= 1e-5);
    MT_CHECK(worst_g <= 1e-5);
    free(x);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

static void test_aus(void)
{
    check_n(12); /* 8 + 4 */
    check_n(20); /* 8 + 8 + 4 (6 AUs, one concat, is the golden test's) */
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_aus);
    return mt_done();
}
