/* test-heads.c: quick fine-tuning of the AU heads (mim-heads.h). The pooled features + heads
 * give the logits of mim_aunet_infer (both paths); trained heads learn a separable labelling of
 * those features (masked labels ignored), and written back into the model they are what
 * inference uses. dnnl when built (else ref). */
#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "mim-heads.h"
#include "mim-test.h"
#include "mimica-config.h"

#define NA 3
#define NB 6
#define S  (3 * 176 * 176)

static mim_backend *backend(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (be)
        return be;
#endif
    return mim_backend_ref_new();
}

static double max_logit_diff(mim_aunet *m, const mim_heads *h, const float *x, mim_aunet_path path,
                             float *pooled)
{
    float prob[NB * NA], z[NB * NA];
    if (mim_heads_features(m, x, NB, path, pooled) != MIM_OK ||
        mim_aunet_infer(m, x, NB, path, prob, NULL, NULL) != MIM_OK)
        return INFINITY;
    mim_heads_logits(h, pooled, NB, z);
    double d = 0;
    for (int i = 0; i < NB * NA; i++)
        d = fmax(d, fabs(1.0 / (1.0 + exp(-z[i])) - prob[i]));
    return d;
}

static void test_heads(void)
{
    mim_backend *be = backend();
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(ctx && mim_aunet_new(ctx, NA, 49, 11, &m) == MIM_OK);
    if (!m)
        return;
    float *x = malloc(sizeof(float) * NB * S), pooled[NB * NA * MIM_HEADS_DIM];
    mim_rng r;
    mim_rng_seed(&r, 4);
    for (int i = 0; i < NB * S; i++)
        x[i] = (float)(2 * mim_rng_uniform(&r) - 1);
    mim_heads h;
    MT_CHECK(mim_heads_get(m, &h) == MIM_OK);
    double d_t = max_logit_diff(m, &h, x, MIM_AUNET_PATH_TARGET, pooled);
    double d_s = max_logit_diff(m, &h, x, MIM_AUNET_PATH_SOURCE, pooled);
    MT_CHECK(d_t < 1e-5 && d_s < 1e-5);

    /* labels: image i of AU a is positive iff its feature 0 of branch a is above the median */
    float labels[NB * NA];
    for (int a = 0; a < NA; a++) {
        float v[NB];
        for (int i = 0; i < NB; i++)
            v[i] = pooled[((size_t)i * NA + a) * MIM_HEADS_DIM];
        for (int i = 0; i < NB; i++) {
            int below = 0;
            for (int j = 0; j < NB; j++)
                below += v[j] < v[i];
            labels[i * NA + a] = below >= NB / 2 ? 1.0f : 0.0f;
        }
    }
    labels[0 * NA + 1] = 999.0f; /* masked */
    mim_heads_options o;
    mim_heads_options_default(&o);
    o.epochs = 1;
    double loss0 = mim_heads_train(&h, pooled, labels, NB, &o);
    o.epochs = 2000;
    o.lr = 0.05;
    o.weight_decay = 0;
    double loss1 = mim_heads_train(&h, pooled, labels, NB, &o);
    float z[NB * NA];
    mim_heads_logits(&h, pooled, NB, z);
    int right = 0, n = 0;
    for (int i = 0; i < NB * NA; i++)
        if (labels[i] != 999.0f) {
            right += (z[i] >= 0) == (labels[i] > 0);
            n++;
        }
    MT_CHECK(loss1 < 0.5 * loss0);
    MT_CHECK_INT(right, n);
    MT_CHECK(mim_heads_set(m, &h) == MIM_OK);
    double d_after = max_logit_diff(m, &h, x, MIM_AUNET_PATH_TARGET, pooled);
    MT_CHECK(d_after < 1e-5);
    MT_NOTE("backend %s: |sigmoid(heads(features)) - infer| target %.2g source %.2g; heads "
            "training loss %.4f -> %.4f, %d/%d right; after writing back %.2g",
            mim_backend_name(be), d_t, d_s, loss0, loss1, right, n, d_after);
    mim_heads_clear(&h);
    free(x);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_heads);
    return mt_done();
}
