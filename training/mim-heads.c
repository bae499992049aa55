/* mim-heads.c: quick fine-tuning of the AU heads (mim-heads.h). */
#include "mim-heads.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F MIM_HEADS_DIM

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((st = (x)) != MIM_OK)                                                                  \
            goto out;                                                                              \
    } while (0)

static mim_tensor *param(const mim_aunet *m, const char *name)
{
    int p = mim_aunet_layout_find_param(mim_aunet_get_layout(m), name);
    return p < 0 ? NULL : mim_aunet_tensor(m, p);
}

/* Fau branch a up to the global average pool, eval mode (the arithmetic of the engine's own
 * branch: the branch's rows of the fused weights, conv + BN + PReLU ×3, conv, pool). */
static mim_status branch_pooled(mim_aunet *m, mim_tensor *f, int a, mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_ctx *ctx = mim_aunet_get_ctx(m);
    mim_tensor *h = f, *w, *b, *g, *be, *rm, *rv, *s;
    char name[64];
    for (int i = 1; i <= 4; i++) {
        snprintf(name, sizeof name, "Fau.c%d.weight", i);
        mim_tensor *W = param(m, name);
        snprintf(name, sizeof name, "Fau.c%d.bias", i);
        mim_tensor *B = param(m, name);
        if (!W || !B)
            return MIM_ERR_STATE;
        TRY(mim_slice_batch(ctx, W, (int64_t)a * F, F, &w));
        TRY(mim_slice_batch(ctx, B, (int64_t)a * F, F, &b));
        TRY(mim_conv2d(ctx, h, w, b, 1, 1, 1, &h));
        if (i == 4)
            break;
        mim_tensor *bn[4];
        static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int k = 0; k < 4; k++) {
            snprintf(name, sizeof name, "Fau.bn%d.%s", i, suffix[k]);
            if (!(bn[k] = param(m, name)))
                return MIM_ERR_STATE;
        }
        TRY(mim_slice_batch(ctx, bn[0], (int64_t)a * F, F, &g));
        TRY(mim_slice_batch(ctx, bn[1], (int64_t)a * F, F, &be));
        TRY(mim_slice_batch(ctx, bn[2], (int64_t)a * F, F, &rm));
        TRY(mim_slice_batch(ctx, bn[3], (int64_t)a * F, F, &rv));
        TRY(mim_batchnorm(ctx, h, g, be, rm, rv, 0, 0.1f, 1e-5f, &h));
        snprintf(name, sizeof name, "Fau.prelu%d.weight", i);
        mim_tensor *P = param(m, name);
        if (!P)
            return MIM_ERR_STATE;
        TRY(mim_slice_batch(ctx, P, a, 1, &s));
        TRY(mim_prelu(ctx, h, s, &h));
    }
    TRY(mim_global_avgpool(ctx, h, out));
out:
    return st;
}

mim_status mim_heads_features(mim_aunet *m, const float *images, int batch, mim_aunet_path path,
                              float *pooled)
{
    mim_status st = MIM_OK;
    mim_ctx *ctx = mim_aunet_get_ctx(m);
    const int A = mim_aunet_get_layout(m)->n_au;
    const int64_t S = 176;
    int grad = mim_ctx_set_grad(ctx, 0);
    float *tmp = malloc(sizeof(float) * (size_t)batch * F);
    mim_tensor *x = NULL, *f = NULL, *att = NULL, *b = NULL, *h = NULL;
    mim_ctx_reset_step(ctx);
    if (!tmp) {
        st = MIM_ERR_NOMEM;
        goto out;
    }
    TRY(mim_tensor_new(ctx, MIM_F32, batch, 3, S, S, &x));
    TRY(mim_tensor_set(x, images, (size_t)batch * 3 * S * S * sizeof(float)));
    TRY(mim_aunet_ef(m, x, 0, &f));
    if (path == MIM_AUNET_PATH_TARGET) {
        TRY(mim_aunet_el(m, f, 0, NULL, &att, NULL));
        TRY(mim_aunet_eb(m, f, &b));
        TRY(mim_aunet_g(m, att, b, &f));
    }
    for (int a = 0; a < A; a++) {
        TRY(branch_pooled(m, f, a, &h));
        TRY(mim_tensor_get(h, tmp, sizeof(float) * (size_t)batch * F));
        for (int i = 0; i < batch; i++)
            memcpy(pooled + ((size_t)i * A + a) * F, tmp + (size_t)i * F, sizeof(float) * F);
    }
out:
    free(tmp);
    mim_ctx_reset_step(ctx);
    mim_ctx_set_grad(ctx, grad);
    return st;
}

mim_status mim_heads_get(const mim_aunet *m, mim_heads *h)
{
    const int A = mim_aunet_get_layout(m)->n_au;
    mim_tensor *W = param(m, "Fau.fc.weight"), *B = param(m, "Fau.fc.bias");
    memset(h, 0, sizeof *h);
    if (!W || !B)
        return MIM_ERR_STATE;
    h->n_au = A;
    h->w = malloc(sizeof(float) * (size_t)A * F);
    h->b = malloc(sizeof(float) * (size_t)A);
    if (!h->w || !h->b) {
        mim_heads_clear(h);
        return MIM_ERR_NOMEM;
    }
    mim_status st = mim_tensor_get(W, h->w, sizeof(float) * (size_t)A * F);
    if (st == MIM_OK)
        st = mim_tensor_get(B, h->b, sizeof(float) * (size_t)A);
    if (st != MIM_OK)
        mim_heads_clear(h);
    return st;
}

mim_status mim_heads_set(mim_aunet *m, const mim_heads *h)
{
    mim_tensor *W = param(m, "Fau.fc.weight"), *B = param(m, "Fau.fc.bias");
    if (!W || !B || h->n_au != mim_aunet_get_layout(m)->n_au)
        return MIM_ERR_STATE;
    mim_status st = mim_tensor_set(W, h->w, sizeof(float) * (size_t)h->n_au * F);
    return st == MIM_OK ? mim_tensor_set(B, h->b, sizeof(float) * (size_t)h->n_au) : st;
}

void mim_heads_clear(mim_heads *h)
{
    free(h->w);
    free(h->b);
    memset(h, 0, sizeof *h);
}

void mim_heads_logits(const mim_heads *h, const float *pooled, long n, float *logits)
{
    for (long i = 0; i < n; i++)
        for (int a = 0; a < h->n_au; a++) {
            const float *x = pooled + ((size_t)i * h->n_au + a) * F, *w = h->w + (size_t)a * F;
            double z = h->b[a];
            for (int k = 0; k < F; k++)
                z += (double)w[k] * x[k];
            logits[(size_t)i * h->n_au + a] = (float)z;
        }
}

void mim_heads_options_default(mim_heads_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = 300;
    o->lr = 1e-2;
    o->weight_decay = 1e-3;
}

double mim_heads_train(mim_heads *h, const float *pooled, const float *labels, long n,
                       const mim_heads_options *o)
{
    const int A = h->n_au;
    const size_t np = (size_t)A * (F + 1);
    double *p = calloc(np, sizeof(double)), *p0 = calloc(np, sizeof(double));
    double *g = calloc(np, sizeof(double)), *mm = calloc(np, sizeof(double));
    double *vv = calloc(np, sizeof(double)), *mu = NULL, *sd = NULL;
    double loss = NAN;
    if (!p || !p0 || !g || !mm || !vv)
        goto out;
    /* Features standardised per AU and dimension over the frames (pooled features of one
     * branch vary little between frames; in raw units the regression is badly conditioned),
     * the heads mapped into those units: z = sum w'_k (x_k - mu_k) / sd_k + b', with
     * w'_k = w_k sd_k and b' = b + sum w_k mu_k. Parameters per AU: w'[0..63], b'. */
    mu = calloc((size_t)A * F, sizeof(double));
    sd = calloc((size_t)A * F, sizeof(double));
    if (!mu || !sd)
        goto out;
    for (int a = 0; a < A; a++)
        for (int k = 0; k < F; k++) {
            double s1 = 0, s2 = 0;
            for (long i = 0; i < n; i++) {
                double v = pooled[((size_t)i * A + a) * F + k];
                s1 += v;
                s2 += v * v;
            }
            double m = n ? s1 / (double)n : 0, var = n ? s2 / (double)n - m * m : 0;
            mu[(size_t)a * F + k] = m;
            sd[(size_t)a * F + k] = var > 1e-20 ? sqrt(var) : 1.0;
        }
    for (int a = 0; a < A; a++) {
        double bb = h->b[a];
        for (int k = 0; k < F; k++) {
            double w = h->w[(size_t)a * F + k];
            p[(size_t)a * (F + 1) + k] = w * sd[(size_t)a * F + k];
            bb += w * mu[(size_t)a * F + k];
        }
        p[(size_t)a * (F + 1) + F] = bb;
    }
    memcpy(p0, p, np * sizeof(double));
    long n_lab[64] = {0};
    for (long i = 0; i < n; i++)
        for (int a = 0; a < A && a < 64; a++)
            n_lab[a] += labels[(size_t)i * A + a] != 999.0f;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    for (int t = 1; t <= o->epochs; t++) {
        memset(g, 0, np * sizeof(double));
        double sum = 0;
        long cnt = 0;
        for (long i = 0; i < n; i++)
            for (int a = 0; a < A; a++) {
                float y = labels[(size_t)i * A + a];
                if (y == 999.0f)
                    continue;
                const float *xr = pooled + ((size_t)i * A + a) * F;
                const double *ma = mu + (size_t)a * F, *sa = sd + (size_t)a * F;
                double x[F];
                for (int k = 0; k < F; k++)
                    x[k] = (xr[k] - ma[k]) / sa[k];
                double *pa = p + (size_t)a * (F + 1), *ga = g + (size_t)a * (F + 1);
                double z = pa[F];
                for (int k = 0; k < F; k++)
                    z += pa[k] * x[k];
                double w = o->au_weight ? o->au_weight[a] : 1.0;
                /* stable BCE: max(z,0) - z y + log(1 + e^-|z|) */
                sum += w * (fmax(z, 0) - z * y + log1p(exp(-fabs(z))));
                cnt++;
                double d = w * (1.0 / (1.0 + exp(-z)) - y) / (double)(n_lab[a] ? n_lab[a] : 1);
                for (int k = 0; k < F; k++)
                    ga[k] += d * x[k];
                ga[F] += d;
            }
        loss = cnt ? sum / (double)cnt : 0;
        for (size_t j = 0; j < np; j++) {
            double gj = g[j] + o->weight_decay * (p[j] - p0[j]);
            mm[j] = b1 * mm[j] + (1 - b1) * gj;
            vv[j] = b2 * vv[j] + (1 - b2) * gj * gj;
            double mh = mm[j] / (1 - pow(b1, t)), vh = vv[j] / (1 - pow(b2, t));
            p[j] -= o->lr * mh / (sqrt(vh) + eps);
        }
    }
    for (int a = 0; a < A; a++) {
        double bb = p[(size_t)a * (F + 1) + F];
        for (int k = 0; k < F; k++) {
            double w = p[(size_t)a * (F + 1) + k] / sd[(size_t)a * F + k];
            h->w[(size_t)a * F + k] = (float)w;
            bb -= w * mu[(size_t)a * F + k];
        }
        h->b[a] = (float)bb;
    }
out:
    free(mu);
    free(sd);
    free(p);
    free(p0);
    free(g);
    free(mm);
    free(vv);
    return loss;
}

mim_status mim_heads_pack_features(mim_aunet *m, const mim_pack *p, const int *aus, int n_aus,
                                   long i0, long n, mim_aunet_path path, float *pooled,
                                   float *labels)
{
    enum { BATCH = 8, IMAGE = 3 * 176 * 176 };
    int map[MIM_PACK_MAX_AU];
    if (n_aus < 1 || n_aus > MIM_PACK_MAX_AU || i0 < 0 || n < 0 || i0 + n > mim_pack_n(p))
        return MIM_ERR_ARG;
    mim_pack_au_map(p, aus, n_aus, map);
    float *x = malloc(sizeof(float) * BATCH * IMAGE);
    if (!x)
        return MIM_ERR_NOMEM;
    mim_status st = MIM_OK;
    for (long k = 0; k < n && st == MIM_OK; k += BATCH) {
        int nb = (int)(n - k < BATCH ? n - k : BATCH);
        for (int b = 0; b < nb; b++)
            mim_pack_test_sample(p, i0 + k + b, map, n_aus, x + (size_t)b * IMAGE, NULL,
                                 labels + (size_t)(k + b) * (size_t)n_aus);
        st = mim_heads_features(m, x, nb, path, pooled + (size_t)k * (size_t)n_aus * MIM_HEADS_DIM);
    }
    free(x);
    return st;
}
