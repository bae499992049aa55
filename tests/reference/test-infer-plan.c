/* test-infer-plan.c: the dnnl backend's inference plan (engine/dnnl/dnnl-infer.c) against the
 * generic ops of mim_aunet_infer (the reference path, mim_aunet_set_plan(m, 0)) on the same model,
 * and against the PyTorch export (../shared/golden/aunet-b2).
 *
 * Tolerances:
 *   fp32 plan vs generic ops, AU probabilities: |Δ| <= 1e-5. Both run fp32 with the convolution
 *     algorithms oneDNN picks for the shape (Winograd F(4×4,3×3) at larger batches); the plan
 *     folds BN into the weights and fuses PReLU and the norms, so it rounds differently: 4.5e-7 at
 *     most measured over the 6 cases below (printed). G without its A input moves them by 4e-4.
 *   landmark argmax: equal, or a near tie: the generic path's logits at the two indices within
 *     1e-3·max(1, |max|) (the cells' distance is printed and counted).
 *   golden (PyTorch) AU probabilities: |Δ| <= 1e-5, as the generic ops in test-golden.c;
 *     landmark indices as test-golden.c: equal, or a near tie in our logits (5e-3).
 *   bf16 plan vs fp32 plan: |Δprob| <= 0.01 (and > 0: it must really round to bf16).
 *   a parameter changed between calls: the next call must give the generic ops' results with the
 *     new values (|Δ| <= 1e-4) and differ from the old ones (probabilities by >= 1e-6 and by 10×
 *     the plan-vs-generic difference, or landmark indices that moved and equal the generic ones).
 * Models use random weights with perturbed BN statistics, affine and PReLU slopes (so that the
 * folding is exercised) and Fau fc weights ×40 (probabilities spread over about (0.23, 0.82)
 * instead of 0.5 ± 0.01), and images U(-1, 1). */
#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "aunet/mim-rng.h"
#include "golden.h"
#include "mim-test.h"
#include "mimica-config.h"

#define NL   49
#define NA   6
#define GG   (MIM_AUNET_GRID * MIM_AUNET_GRID)
#define IMG  (3 * MIM_AUNET_CROP * MIM_AUNET_CROP)
#define TOLP 1e-5 /* plan vs generic ops */
#define TOLG 1e-5 /* plan vs PyTorch */

static void random_images(uint64_t seed, float *x, int batch)
{
    mim_rng r;
    mim_rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)batch * IMG; i++)
        x[i] = (float)(mim_rng_uniform(&r) * 2.0 - 1.0);
}

static float **host_params(const mim_aunet_layout *l)
{
    float **p = calloc((size_t)l->n_params, sizeof *p);
    for (int i = 0; p && i < l->n_params; i++)
        p[i] = malloc(l->params[i].numel * sizeof(float));
    return p;
}

static void free_params(const mim_aunet_layout *l, float **p)
{
    for (int i = 0; p && i < l->n_params; i++)
        free(p[i]);
    free(p);
}

/* BN statistics and affine, PReLU slopes away from their init values. */
static void perturb(mim_aunet *m, uint64_t seed)
{
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    float **p = host_params(l);
    mim_rng r;
    mim_rng_seed(&r, seed);
    MT_CHECK(mim_aunet_get_params(m, p) == MIM_OK);
    for (int i = 0; i < l->n_params; i++) {
        const mim_aunet_param *q = &l->params[i];
        for (size_t k = 0; k < q->numel; k++) {
            double u = mim_rng_uniform(&r);
            switch (q->kind) {
            case MIM_AUNET_BN_MEAN:
                p[i][k] = (float)(0.4 * u - 0.2);
                break;
            case MIM_AUNET_BN_VAR:
                p[i][k] = (float)(0.5 + u);
                break;
            case MIM_AUNET_BN_W:
                p[i][k] = (float)(0.7 + 0.6 * u);
                break;
            case MIM_AUNET_BN_B:
                p[i][k] = (float)(0.2 * u - 0.1);
                break;
            case MIM_AUNET_PRELU:
                p[i][k] = (float)(0.05 + 0.4 * u);
                break;
            case MIM_AUNET_CONV_W:
                /* Fau's fc: larger weights, so that the probabilities spread and respond to
                 * every feature (PyTorch's init leaves them all near 0.5); G's weights on its
                 * attention input A (channel 0 of 65): larger too, A being small (Σ of 49
                 * softmax maps over 1936 cells) */
                if (!strcmp(q->name, "Fau.fc.weight"))
                    p[i][k] *= 40.0f;
                if (!strcmp(q->name, "G.net.0.weight") && (k / 9) % 65 == 0)
                    p[i][k] *= 30.0f;
                break;
            default:
                break;
            }
        }
    }
    MT_CHECK(mim_aunet_set_params(m, (const float *const *)p) == MIM_OK);
    free_params(l, p);
}

/* El's logits (batch, 49, 44, 44) by the generic ops (eval). */
static int el_logits(mim_aunet *m, const float *x, int batch, float *maps)
{
    mim_ctx *ctx = mim_aunet_get_ctx(m);
    int grad = mim_ctx_set_grad(ctx, 0);
    mim_tensor *t = NULL, *f = NULL, *M = NULL;
    mim_ctx_reset_step(ctx);
    int ok = mim_tensor_new(ctx, MIM_F32, batch, 3, 176, 176, &t) == MIM_OK &&
             mim_tensor_set(t, x, (size_t)batch * IMG * sizeof(float)) == MIM_OK &&
             mim_aunet_ef(m, t, 0, &f) == MIM_OK &&
             mim_aunet_el(m, f, 0, &M, NULL, NULL) == MIM_OK &&
             mim_tensor_get(M, maps, (size_t)batch * NL * GG * sizeof(float)) == MIM_OK;
    mim_ctx_reset_step(ctx);
    mim_ctx_set_grad(ctx, grad);
    return ok;
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        w = e > w || isnan(e) ? (isnan(e) ? INFINITY : e) : w;
    }
    return w;
}

/* Landmark indices got vs want: equal or a near tie in maps (the generic logits). Returns the
 * number of non-tie differences; *n_tie, *n_far (ties more than one cell apart) counted. */
static int cmp_landmarks(const int32_t *got, const int32_t *want, const float *maps, int n,
                         double tie_tol, int *n_tie, int *n_far)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (got[i] == want[i])
            continue;
        const float *r = maps + (size_t)i * GG;
        double gap = fabs((double)r[got[i]] - r[want[i]]);
        double tol = tie_tol * fmax(1.0, fabs(r[want[i]]));
        int dx = abs(got[i] % MIM_AUNET_GRID - want[i] % MIM_AUNET_GRID);
        int dy = abs(got[i] / MIM_AUNET_GRID - want[i] / MIM_AUNET_GRID);
        if (gap <= tol) {
            (*n_tie)++;
            if (dx > 1 || dy > 1)
                (*n_far)++;
            MT_NOTE("  landmark %d: %d vs %d (%d, %d cells apart): logits %.9g / %.9g, a tie", i,
                    got[i], want[i], dx, dy, r[got[i]], r[want[i]]);
        } else {
            bad++;
            MT_FAIL("landmark %d: %d vs %d: logits %.9g / %.9g differ by %.3g > %.3g", i, got[i],
                    want[i], r[got[i]], r[want[i]], gap, tol);
        }
    }
    return bad;
}

/* Plan vs generic ops on batch images: probabilities and landmarks. */
static void plan_vs_generic(mim_aunet *m, const float *x, int batch, mim_aunet_path path,
                            const char *what)
{
    float *pp = malloc((size_t)batch * NA * sizeof(float));
    float *pg = malloc((size_t)batch * NA * sizeof(float));
    int32_t *ip = malloc((size_t)batch * NL * sizeof(int32_t));
    int32_t *ig = malloc((size_t)batch * NL * sizeof(int32_t));
    float *maps = malloc((size_t)batch * NL * GG * sizeof(float));
    MT_CHECK(pp && pg && ip && ig && maps);
    if (!pp || !pg || !ip || !ig || !maps)
        goto out;
    mim_aunet_set_plan(m, 1);
    MT_CHECK(mim_aunet_infer(m, x, batch, path, pp, ip, NULL) == MIM_OK);
    MT_CHECK(mim_aunet_plan_used(m) == 1);
    if (!mim_aunet_plan_used(m))
        MT_NOTE("plan not used: %s", mim_aunet_plan_status(m));
    mim_aunet_set_plan(m, 0);
    MT_CHECK(mim_aunet_infer(m, x, batch, path, pg, ig, NULL) == MIM_OK);
    MT_CHECK(mim_aunet_plan_used(m) == 0);
    mim_aunet_set_plan(m, 1);
    double d = max_diff(pp, pg, (size_t)batch * NA), lo = 1, hi = 0;
    for (int i = 0; i < batch * NA; i++) {
        lo = fmin(lo, pp[i]);
        hi = fmax(hi, pp[i]);
    }
    int n_tie = 0, n_far = 0, n_diff = 0;
    MT_CHECK(el_logits(m, x, batch, maps));
    for (int i = 0; i < batch * NL; i++)
        n_diff += ip[i] != ig[i];
    int bad = cmp_landmarks(ip, ig, maps, batch * NL, 1e-3, &n_tie, &n_far);
    MT_NOTE("%-12s batch %2d: prob in [%.3f, %.3f], max |Δprob| %.3g (tol %.0e); landmarks: %d "
            "of %d differ, %d ties (%d more than 1 cell apart)",
            what, batch, lo, hi, d, TOLP, n_diff, batch * NL, n_tie, n_far);
    MT_CHECK(d <= TOLP);
    MT_CHECK_INT(bad, 0);
out:
    free(pp);
    free(pg);
    free(ip);
    free(ig);
    free(maps);
}

static mim_backend *dnnl_or_skip(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    return be;
#else
    return NULL;
#endif
}

/* Batches 1, 2, 16, both paths. */
static void test_plan_vs_generic(void)
{
    mim_backend *be = dnnl_or_skip();
    if (!be)
        MT_SKIP("the oneDNN backend is not available");
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 11, &m) == MIM_OK);
    perturb(m, 12);
    float *x = malloc((size_t)16 * IMG * sizeof(float));
    random_images(13, x, 16);
    const int batches[3] = {1, 2, 16};
    for (int k = 0; k < 3; k++) {
        plan_vs_generic(m, x, batches[k], MIM_AUNET_PATH_TARGET, "target path");
        plan_vs_generic(m, x, batches[k], MIM_AUNET_PATH_SOURCE, "source path");
    }
    free(x);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

/* Batch sizes interleaved: each plan gives the same results as its first call (bitwise), and the
 * batch-1 plan agrees with image 0 of the batch-16 one. */
static void test_interleaved(void)
{
    mim_backend *be = dnnl_or_skip();
    if (!be)
        MT_SKIP("the oneDNN backend is not available");
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 21, &m) == MIM_OK);
    perturb(m, 22);
    float *x = malloc((size_t)16 * IMG * sizeof(float));
    random_images(23, x, 16);
    const int order[7] = {1, 16, 2, 1, 16, 5, 2};
    float first[17][16 * NA], p[16 * NA];
    int32_t idx0[17][16 * NL], idx[16 * NL];
    int seen[17] = {0}, n_exact = 0;
    for (int k = 0; k < 7; k++) {
        int b = order[k];
        MT_CHECK(mim_aunet_infer(m, x, b, MIM_AUNET_PATH_TARGET, p, idx, NULL) == MIM_OK);
        MT_CHECK(mim_aunet_plan_used(m));
        if (!seen[b]) {
            memcpy(first[b], p, sizeof(float) * b * NA);
            memcpy(idx0[b], idx, sizeof(int32_t) * b * NL);
            seen[b] = 1;
        } else {
            int same = !memcmp(first[b], p, sizeof(float) * b * NA) &&
                       !memcmp(idx0[b], idx, sizeof(int32_t) * b * NL);
            MT_CHECK(same);
            n_exact += same;
        }
    }
    double d = max_diff(first[1], first[16], NA);
    double d2 = max_diff(first[2], first[16], 2 * NA);
    MT_NOTE("order 1,16,2,1,16,5,2: %d repeated calls bit-identical; image 0 batch 1 vs 16 max "
            "|Δprob| %.3g, images 0-1 batch 2 vs 16 %.3g (tol %.0e)",
            n_exact, d, d2, TOLP);
    MT_CHECK(d <= TOLP && d2 <= TOLP);
    free(x);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

/* A parameter changed between two calls is seen by the second: Fau's fc bias (read by the plan's
 * last pass), an Ef BN running variance (folded into the weights), a PReLU slope (a post-op's
 * constant), El's head weight, and a load of another model's parameters. */
static void test_param_change(void)
{
    mim_backend *be = dnnl_or_skip();
    if (!be)
        MT_SKIP("the oneDNN backend is not available");
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL, *m2 = NULL;
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 31, &m) == MIM_OK);
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 32, &m2) == MIM_OK);
    perturb(m, 33);
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    const int B = 2;
    float *x = malloc((size_t)B * IMG * sizeof(float));
    random_images(34, x, B);
    static const struct {
        const char *param;
        size_t at;
        float scale, add;
    } change[5] = {
        {"Fau.fc.bias", 3, 1.0f, 0.8f},       {"Ef.net.4.running_var", 5, 3.0f, 0.0f},
        {"Ef.net.2.weight", 0, 1.0f, 0.2f},   {"El.head.weight", 100, 1.0f, 4.0f},
        {"Fau.prelu2.weight", 1, 1.0f, 1.0f},
    };
    float before[B * NA], after[B * NA], want[B * NA];
    int32_t ib[B * NL], ia[B * NL], iw[B * NL];
    float **h = host_params(l);
    for (int k = 0; k < 5; k++) {
        MT_CHECK(mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, before, ib, NULL) == MIM_OK);
        int pi = mim_aunet_layout_find_param(l, change[k].param);
        MT_CHECK(pi >= 0);
        if (pi < 0)
            continue;
        MT_CHECK(mim_aunet_get_params(m, h) == MIM_OK);
        h[pi][change[k].at] = h[pi][change[k].at] * change[k].scale + change[k].add;
        MT_CHECK(mim_aunet_set_params(m, (const float *const *)h) == MIM_OK);
        MT_CHECK(mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, after, ia, NULL) == MIM_OK);
        MT_CHECK(mim_aunet_plan_used(m));
        mim_aunet_set_plan(m, 0);
        MT_CHECK(mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, want, iw, NULL) == MIM_OK);
        mim_aunet_set_plan(m, 1);
        double moved = max_diff(before, after, B * NA), d = max_diff(after, want, B * NA);
        int lm_moved = memcmp(ib, ia, sizeof ib) != 0, lm_diff = 0;
        for (int i = 0; i < B * NL; i++)
            lm_diff += ia[i] != iw[i];
        MT_NOTE("%-22s changed: prob moved by %.3g, landmarks %s; plan vs generic %.3g (tol "
                "%.0e), %d landmark indices differ",
                change[k].param, moved, lm_moved ? "moved" : "unchanged", d, TOLP, lm_diff);
        MT_CHECK(d <= TOLP);
        /* a stale plan would repeat `before`: the change must show, and match the generic ops */
        MT_CHECK((moved >= 1e-6 && d <= 0.1 * moved) || (lm_moved && lm_diff == 0));
    }
    /* all parameters at once from another model, as a load does */
    MT_CHECK(mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, before, ib, NULL) == MIM_OK);
    MT_CHECK(mim_aunet_get_params(m2, h) == MIM_OK);
    MT_CHECK(mim_aunet_set_params(m, (const float *const *)h) == MIM_OK);
    MT_CHECK(mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, after, ia, NULL) == MIM_OK);
    MT_CHECK(mim_aunet_infer(m2, x, B, MIM_AUNET_PATH_TARGET, want, iw, NULL) == MIM_OK);
    double d = max_diff(after, want, B * NA);
    MT_NOTE("all parameters replaced: prob moved by %.3g; vs the other model's plan %.3g (tol 0)",
            max_diff(before, after, B * NA), d);
    MT_CHECK(d == 0 && !memcmp(ia, iw, sizeof ia));
    free_params(l, h);
    free(x);
    mim_aunet_free(m);
    mim_aunet_free(m2);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

/* The generic ops where the backend has no plan; bf16 refused there. */
static void test_fallback(void)
{
    mim_backend *be = mim_backend_ref_new();
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 41, &m) == MIM_OK);
    float *x = malloc((size_t)IMG * sizeof(float)), p[NA];
    random_images(42, x, 1);
    MT_CHECK(mim_aunet_infer(m, x, 1, MIM_AUNET_PATH_SOURCE, p, NULL, NULL) == MIM_OK);
    MT_CHECK(mim_aunet_plan_used(m) == 0);
    MT_NOTE("ref backend: '%s'", mim_aunet_plan_status(m));
    MT_CHECK(strstr(mim_aunet_plan_status(m), "no inference plan") != NULL);
    MT_CHECK_INT(mim_aunet_set_precision(m, MIM_PRECISION_BF16), MIM_ERR_UNSUPPORTED);
    MT_NOTE("bf16 on ref: '%s'", mim_aunet_last_error(m));
    MT_CHECK_INT(mim_aunet_set_precision(m, (mim_precision)7), MIM_ERR_ARG);
    MT_CHECK_INT(mim_aunet_infer(m, x, 0, MIM_AUNET_PATH_SOURCE, p, NULL, NULL), MIM_ERR_ARG);
    free(x);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

/* The golden export: initial weights, batch 2, both paths (plan fp32), then bf16 vs fp32. */
static void test_golden(void)
{
    mim_backend *be = dnnl_or_skip();
    if (!be)
        MT_SKIP("the oneDNN backend is not available");
    golden g;
    char why[512];
    int rc = golden_open(&g, why, sizeof why);
    if (rc == 1) {
        mim_backend_free(be);
        MT_SKIP_FIXTURES("%.200s", why);
    }
    MT_CHECK(rc == 0);
    size_t n;
    float *w = rc ? NULL : golden_read_f32(&g, "weights_init", &n, why, sizeof why);
    float *xt = w ? golden_read_f32(&g, "in_xt", &n, why, sizeof why) : NULL;
    float *xs = xt ? golden_read_f32(&g, "in_xs", &n, why, sizeof why) : NULL;
    float *pt = xs ? golden_read_f32(&g, "infer_init_target_prob", &n, why, sizeof why) : NULL;
    float *ps = pt ? golden_read_f32(&g, "infer_init_source_prob", &n, why, sizeof why) : NULL;
    int32_t *lt = ps ? golden_read_i32(&g, "infer_init_target_landidx", &n, why, sizeof why) : NULL;
    MT_CHECK(lt != NULL);
    if (!lt)
        MT_NOTE("%s", why);
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(mim_aunet_new(ctx, NA, NL, 0, &m) == MIM_OK);
    if (lt && m && mim_aunet_set_flat(m, w) == MIM_OK) {
        float p[2 * NA], q[2 * NA], pb[2 * NA], qb[2 * NA];
        int32_t idx[2 * NL], idxb[2 * NL];
        float *maps = malloc((size_t)2 * NL * GG * sizeof(float));
        MT_CHECK(mim_aunet_infer(m, xt, 2, MIM_AUNET_PATH_TARGET, p, idx, NULL) == MIM_OK);
        MT_CHECK(mim_aunet_plan_used(m));
        MT_CHECK(mim_aunet_infer(m, xs, 2, MIM_AUNET_PATH_SOURCE, q, NULL, NULL) == MIM_OK);
        double dt = max_diff(p, pt, 2 * NA), ds = max_diff(q, ps, 2 * NA);
        int n_tie = 0, n_far = 0, n_diff = 0;
        for (int i = 0; i < 2 * NL; i++)
            n_diff += idx[i] != lt[i];
        MT_CHECK(maps && el_logits(m, xt, 2, maps));
        int bad = cmp_landmarks(idx, lt, maps, 2 * NL, 5e-3, &n_tie, &n_far);
        MT_NOTE("golden, fp32 plan: target prob max |Δ| %.3g, source %.3g (tol %.0e); "
                "landmarks %d of 98 differ, %d near ties",
                dt, ds, TOLG, n_diff, n_tie);
        MT_CHECK(dt <= TOLG && ds <= TOLG);
        MT_CHECK_INT(bad, 0);

        /* bf16 */
        MT_CHECK(mim_aunet_set_precision(m, MIM_PRECISION_BF16) == MIM_OK);
        MT_CHECK(mim_aunet_precision(m) == MIM_PRECISION_BF16);
        MT_CHECK(mim_aunet_infer(m, xt, 2, MIM_AUNET_PATH_TARGET, pb, idxb, NULL) == MIM_OK);
        MT_CHECK(mim_aunet_plan_used(m));
        if (!mim_aunet_plan_used(m))
            MT_NOTE("bf16 plan not used: %s", mim_aunet_plan_status(m));
        MT_CHECK(mim_aunet_infer(m, xs, 2, MIM_AUNET_PATH_SOURCE, qb, NULL, NULL) == MIM_OK);
        double bt = max_diff(pb, p, 2 * NA), bs = max_diff(qb, q, 2 * NA);
        double gt = max_diff(pb, pt, 2 * NA);
        int lm = 0, lm_far = 0;
        for (int i = 0; i < 2 * NL; i++) {
            lm += idxb[i] != idx[i];
            lm_far += abs(idxb[i] % 44 - idx[i] % 44) > 1 || abs(idxb[i] / 44 - idx[i] / 44) > 1;
        }
        MT_NOTE("bf16 plan vs fp32 plan: target prob max |Δ| %.3g, source %.3g (tol 0.01; vs "
                "golden %.3g); landmarks %d of 98 differ, %d by more than 1 cell",
                bt, bs, gt, lm, lm_far);
        MT_CHECK(bt <= 0.01 && bs <= 0.01);
        MT_CHECK(bt > 0 || bs > 0); /* bf16 rounding must show */

        /* random images, batch 3, bf16 vs fp32 */
        float *x = malloc((size_t)3 * IMG * sizeof(float)), r16[3 * NA], r32[3 * NA];
        random_images(51, x, 3);
        MT_CHECK(mim_aunet_infer(m, x, 3, MIM_AUNET_PATH_TARGET, r16, NULL, NULL) == MIM_OK);
        MT_CHECK(mim_aunet_set_precision(m, MIM_PRECISION_F32) == MIM_OK);
        MT_CHECK(mim_aunet_infer(m, x, 3, MIM_AUNET_PATH_TARGET, r32, NULL, NULL) == MIM_OK);
        double br = max_diff(r16, r32, 3 * NA);
        MT_NOTE("bf16 vs fp32 plan, random images batch 3: max |Δprob| %.3g (tol 0.01)", br);
        MT_CHECK(br <= 0.01);
        free(x);
        free(maps);
    }
    free(w);
    free(xt);
    free(xs);
    free(pt);
    free(ps);
    free(lt);
    if (rc == 0)
        golden_close(&g);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_fallback);
    MT_RUN(test_golden);
    MT_RUN(test_param_change);
    MT_RUN(test_interleaved);
    MT_RUN(test_plan_vs_generic);
    return mt_done();
}
