/* test-grads.c: every parameter's gradient of the first training iteration against the PyTorch
 * reference export (grads_step1, MODEL.md §11; ../shared/golden/aunet-b2, batch 2, seed 0, weak
 * mode, contrastive, BCE), per parameter (per state-dict slot), on every CPU backend. Run per
 * backend: `test-reference-grads ref` / `dnnl` / `winograd` / `bf16` (the argument filters by
 * name; the last two are the dnnl backend in its other modes, below).
 *
 * The gradients are read after mim_trainer_step: Adam reads ->grad and leaves it alone, the
 * discriminators are frozen in the generator step, so each parameter's ->grad is still the one of
 * its own phase (Dl, Ds, Dt: the D step; the rest: the G/task step), as in the export.
 *
 * Metric (the golden README's): e = max|Δ| / max|g_ref| over the slot. Tolerances, from the
 * README's reproducibility figures:
 *   - max|g_ref| >= 1e-5 and more than one value: e <= 3e-2. An independent convolution
 *     implementation inside PyTorch itself (mkldnn off) agrees with the export to 2.1e-2 at worst
 *     and 9e-3 at the 99th percentile; our backends are such implementations (forward tensors
 *     differ by up to 5e-5, as that one's do), so 3e-2 is the worst figure with a 1.4x margin.
 *     In addition, at most 2 % of these slots (2.1e-2 / 9e-3 being the top 1 %) may exceed 1e-2.
 *     A bug of the kind this test exists for (a wrong output channel) shows up as e of several
 *     percent concentrated in one channel: the worst output channel is printed per slot.
 *   - PReLU slopes (one value, a sum over every activation with cancellation): e <= 0.15. Two
 *     PyTorch convolution implementations move them by up to 9 %; the 1 / 2-thread runs by 8e-5.
 *     Measured here (G.net.8.weight, |g| 5e-3): 7.7e-2 ref with the AVX2 GEMM, 1.14e-1 ref with
 *     the portable one, 2.6e-2 dnnl. A slope whose gradient is wrong in sign or scale is caught.
 *   - PReLU-branch ties: a PReLU input that is zero to within float rounding takes the 0.25
 *     branch in one implementation and the identity branch in the other. The difference is then
 *     0.75·dy at that one element: a spike in one channel's upstream gradient, which the IN/BN
 *     backward turns into a·(patch at that position − mean patch) in that output channel's weight
 *     gradient, and nothing anywhere else. Measured (ref, seed 0): Dt.net.0.weight channel 3 is
 *     off by 4.2e-2 of the slot's max, the other 63 channels by 1.7e-6; the error equals
 *     a·(Ft patch at (0, 13, 9) − mean Ft patch) with a relative residual of 2.3e-5; there the IN
 *     output is −1.34e-6 in ours and, computed in float64 from the reference's own Ft, −4.9e-9,
 *     i.e. x − mean = −7e-10 against ulp(x) = 1.5e-8 for x = 0.168: the branch is decided by
 *     rounding alone, and no float32 implementation is bound to pick PyTorch's. (El.body.0 has
 *     two such inputs, −8.8e-7 and +5.5e-7 in float64, in channels 51 and 54; dnnl flips 51, ref
 *     both, each moving the slot by <= 5.1e-3.) Hence: a slot beyond 3e-2 whose error sits in one
 *     output channel (every other channel within 1e-2) passes as a tie up to 0.1, at most 2
 *     slots per run; a wrong channel of a real bug moves far more than one element per sample.
 *   - max|g_ref| < 1e-5 (zero-gradient conv biases before BN/IN, MODEL.md §10 item 8, El's head
 *     bias, and float noise): max|Δ| <= 1e-5, i.e. ours is noise as well.
 *   - `none` in the index (no gradient in its phase): ours must be zero or absent. */
#include <stdint.h>

#include "aunet/mim-aunet.h"
#include "golden.h"
#include "mim-test.h"
#include "mim-train.h"
#include "mimica-config.h"

#define TOL_REL       3e-2
#define TOL_REL_MID   1e-2
#define MAX_SHARE_MID 0.02
#define TOL_PRELU     0.15
#define NOISE_LEVEL   1e-5
#define TOL_TIE       0.1
#define MAX_TIES      2

/* The dnnl backend in its other modes (dnnl-core.h, mim.h), against the same export:
 *   - dnnl-winograd (MIMICA_DNNL_CONV=winograd: Winograd F(4×4, 3×3) for every eligible
 *     convolution, which oneDNN's default picks at large batches only): the same tolerances, but
 *     up to 5 % of the slots may exceed 1e-2. Winograd's input and output transforms add
 *     rounding of their own (measured here: 3 of 136 slots beyond 1e-2, worst 1.75e-2, PReLU
 *     slope 0.131, against 1, 1.13e-2 and 0.026 direct); a wrong channel still fails at 3e-2.
 *   - dnnl-bf16 (mim_backend_set_precision BF16: every convolution pass reads bf16 inputs):
 *     bf16 keeps 8 significant bits, so each conv input is off by up to 2^-9 relative, and the
 *     norms after the convolutions subtract per-channel means that are large against the
 *     spread, which turns that into larger relative errors: measured on this export, the
 *     forward features after Ef are off by up to 3 % of their largest value, El's heatmaps by
 *     13 %; a weight gradient Σ x·dy (dy summing to about zero per channel after the norm)
 *     cancels most of its terms. Per slot the relative L2 error ‖Δ‖/‖g_ref‖ is 0.03–0.27
 *     (median 0.08), all main slots together (one vector) 0.24; the PReLU slopes (sums with
 *     cancellation) and the zero-gradient biases (Σ dy of rounded dy: up to 2.8e-3) carry no
 *     information. What the test holds, with about 1.4× margin on those figures, is that bf16
 *     computes the same gradient up to that rounding (a layout, type or scale mistake in the
 *     bf16 path gives errors of 1 or more): every main slot within 0.4 relative L2, all
 *     together within 0.35, zero-gradient slots within 5e-3 absolute; and inference's AU
 *     probabilities within 0.01 of the reference (issue 15's requirement; measured 1.5e-5). A
 *     wrong channel in the arithmetic shared with fp32 is the fp32 tests' to catch. */
typedef struct {
    const char *name;
    double max_share_mid; /* share of main slots allowed beyond TOL_REL_MID */
    int bf16;             /* L2 criteria instead of the max-based ones (above) */
} tol_mode;

static const tol_mode MODE_F32 = {"f32", MAX_SHARE_MID, 0};
static const tol_mode MODE_WINOGRAD = {"winograd", 0.05, 0};
static const tol_mode MODE_BF16 = {"bf16", MAX_SHARE_MID, 1};
#define BF16_TOL_L2     0.4
#define BF16_TOL_L2_ALL 0.35
#define BF16_NOISE      5e-3
#define BF16_TOL_PROB   0.01

typedef struct {
    golden g;
    float *w_init, *xs, *xt, *ys, *yt, *auw, *grads;
    int32_t *ls, *lt;
    golden_weight *gi;
    int n_gi;
    size_t n_w, n_grads;
} data;

static int load(data *d, char *why, size_t why_size)
{
    memset(d, 0, sizeof *d);
    int rc = golden_open(&d->g, why, why_size);
    if (rc)
        return rc;
    size_t n;
    d->w_init = golden_read_f32(&d->g, "weights_init", &d->n_w, why, why_size);
    d->grads = d->w_init ? golden_read_f32(&d->g, "grads_step1", &d->n_grads, why, why_size) : NULL;
    d->gi =
        d->grads ? golden_read_param_index(&d->g, "grads_step1", &d->n_gi, why, why_size) : NULL;
    d->xs = d->gi ? golden_read_f32(&d->g, "in_xs", &n, why, why_size) : NULL;
    d->xt = d->xs ? golden_read_f32(&d->g, "in_xt", &n, why, why_size) : NULL;
    d->ys = d->xt ? golden_read_f32(&d->g, "in_ys", &n, why, why_size) : NULL;
    d->yt = d->ys ? golden_read_f32(&d->g, "in_yt", &n, why, why_size) : NULL;
    d->auw = d->yt ? golden_read_f32(&d->g, "in_auweight", &n, why, why_size) : NULL;
    d->ls = d->auw ? golden_read_i32(&d->g, "in_ls", &n, why, why_size) : NULL;
    d->lt = d->ls ? golden_read_i32(&d->g, "in_lt", &n, why, why_size) : NULL;
    return d->lt ? 0 : -1;
}

static void unload(data *d)
{
    free(d->w_init);
    free(d->grads);
    free(d->gi);
    free(d->xs);
    free(d->xt);
    free(d->ys);
    free(d->yt);
    free(d->auw);
    free(d->ls);
    free(d->lt);
    golden_close(&d->g);
}

typedef struct {
    const char *name;
    double rel, tol;
} worst_entry;

/* Keeps the 6 largest rel/tol ratios. */
static void keep_worst(worst_entry *w, int n, const char *name, double rel, double tol)
{
    int k = n - 1;
    if (!(rel / tol > w[k].rel / w[k].tol) && w[k].name)
        return;
    w[k] = (worst_entry){name, rel, tol};
    for (; k > 0 && (!w[k - 1].name || w[k].rel / w[k].tol > w[k - 1].rel / w[k - 1].tol); k--) {
        worst_entry t = w[k - 1];
        w[k - 1] = w[k];
        w[k] = t;
    }
}

/* bf16: inference with the initial weights, both paths, against the reference's probabilities. */
static void check_bf16_infer(mim_aunet *m, data *d)
{
    static const struct {
        const char *name;
        mim_aunet_path path;
    } runs[2] = {{"infer_init_target_prob", MIM_AUNET_PATH_TARGET},
                 {"infer_init_source_prob", MIM_AUNET_PATH_SOURCE}};
    MT_CHECK(mim_aunet_set_flat(m, d->w_init) == MIM_OK);
    for (int r = 0; r < 2; r++) {
        char why[256];
        size_t n = 0;
        float prob[12];
        float *want = golden_read_f32(&d->g, runs[r].name, &n, why, sizeof why);
        if (!want || n != 12) {
            MT_FAIL("%s: %s", runs[r].name, want ? "not 12 values" : why);
            free(want);
            continue;
        }
        const float *x = runs[r].path == MIM_AUNET_PATH_TARGET ? d->xt : d->xs;
        MT_CHECK(mim_aunet_infer(m, x, 2, runs[r].path, prob, NULL, NULL) == MIM_OK);
        double worst = 0;
        for (int i = 0; i < 12; i++)
            worst = fmax(worst, fabs((double)prob[i] - want[i]));
        if (!(worst <= BF16_TOL_PROB))
            MT_FAIL("bf16 %s: max |Δ| %.3g > %.2g", runs[r].name, worst, BF16_TOL_PROB);
        else
            MT_NOTE("bf16 %s: max |Δ| %.3g (tol %.2g, 12 values)", runs[r].name, worst,
                    BF16_TOL_PROB);
        free(want);
    }
}

static void run_grads(mim_backend *be, const char *be_name, const tol_mode *mode)
{
    data d;
    char why[512];
    int rc = load(&d, why, sizeof why);
    if (rc == 1) {
        unload(&d);
        MT_SKIP_FIXTURES("%.200s", why);
    }
    if (rc) {
        MT_FAIL("%s", why);
        unload(&d);
        return;
    }
    MT_NOTE("backend %s (%s), golden %s", be_name, mode->name, d.g.dir);
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    mim_trainer *tr = NULL;
    float **host = NULL;
    const mim_aunet_layout *l = NULL;
    MT_CHECK(mim_aunet_new(ctx, 6, 49, 0, &m) == MIM_OK);
    if (!m)
        goto out;
    l = mim_aunet_get_layout(m);
    MT_CHECK_INT(l->n_floats, d.n_w);
    MT_CHECK(mim_aunet_set_flat(m, d.w_init) == MIM_OK);
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    MT_CHECK(mim_trainer_new(m, &cfg, d.auw, &tr) == MIM_OK);
    if (!tr)
        goto out;
    mim_train_batch b = {2, d.xs, d.xt, d.ls, d.lt, d.ys, d.yt};
    mim_train_losses L;
    if (mim_trainer_step(tr, &b, &L) != MIM_OK) {
        MT_FAIL("step: %s", mim_trainer_last_error(tr));
        goto out;
    }
    /* every parameter's gradient on the host (NULL: no gradient reached it) */
    host = calloc((size_t)l->n_params, sizeof *host);
    MT_CHECK(host != NULL);
    if (!host)
        goto out;
    for (int p = 0; p < l->n_params; p++) {
        const mim_tensor *t = mim_aunet_tensor(m, p);
        if (!l->params[p].trainable || !t->grad)
            continue;
        host[p] = malloc(l->params[p].numel * sizeof(float));
        MT_CHECK(host[p] &&
                 mim_tensor_get(t->grad, host[p], l->params[p].numel * sizeof(float)) == MIM_OK);
    }

    MT_NOTE("%-30s %8s %10s %10s %9s %8s %8s %10s  %s", "parameter", "numel", "max|g_ref|",
            "max|Δ|", "rel", "tol", "l2 rel", "first bad",
            "worst out-channel (rel to slot max; other channels)");
    int n_main = 0, n_mid = 0, n_fail = 0, n_noise = 0, n_prelu = 0, n_tie = 0;
    double worst_noise = 0, worst_prelu = 0, all_ref = 0, all_err = 0;
    worst_entry worst[6] = {{0}};
    size_t covered = 0;
    for (int i = 0; i < d.n_gi; i++) {
        const golden_weight *gw = &d.gi[i];
        int s = mim_aunet_layout_find_slot(l, gw->name);
        if (s < 0 || l->slots[s].numel != gw->numel || gw->offset + gw->numel > d.n_grads) {
            MT_FAIL("%s: not a slot of our layout, or another size", gw->name);
            n_fail++;
            continue;
        }
        covered += gw->numel;
        const mim_aunet_slot *sl = &l->slots[s];
        const mim_aunet_param *q = &l->params[sl->param];
        const float *want = d.grads + gw->offset;
        const float *got = host[sl->param] ? host[sl->param] + sl->offset : NULL;
        double max_ref = 0, max_err = 0, ss_ref = 0, ss_err = 0;
        for (size_t j = 0; j < gw->numel; j++) {
            max_ref = fmax(max_ref, fabs(want[j]));
            double e = fabs((got ? got[j] : 0.0) - want[j]);
            max_err = isnan(e) || e > max_err ? (isnan(e) ? INFINITY : e) : max_err;
            ss_ref += (double)want[j] * want[j];
            ss_err += e * e;
        }
        double l2 = ss_ref > 0 ? sqrt(ss_err / ss_ref) : sqrt(ss_err);
        if (!gw->has_grad) {
            if (max_err != 0 || max_ref != 0) {
                MT_FAIL("%s: no gradient in the reference, ours max |g| %.3g", gw->name, max_err);
                n_fail++;
            }
            continue;
        }
        const char *kind;
        double tol_abs; /* on max|Δ| */
        double tol;     /* shown: relative, or absolute for noise */
        if (max_ref < NOISE_LEVEL) {
            kind = "noise";
            tol = tol_abs = mode->bf16 ? BF16_NOISE : NOISE_LEVEL;
        } else if (q->kind == MIM_AUNET_PRELU && gw->numel == 1) {
            kind = "prelu";
            tol = TOL_PRELU;
            tol_abs = mode->bf16 ? INFINITY : TOL_PRELU * max_ref;
        } else {
            kind = "main";
            tol = mode->bf16 ? BF16_TOL_L2 : TOL_REL;
            tol_abs = mode->bf16 ? INFINITY : TOL_REL * max_ref;
            all_ref += ss_ref;
            all_err += ss_err;
        }
        size_t first_bad = (size_t)-1;
        for (size_t j = 0; j < gw->numel && first_bad == (size_t)-1; j++) {
            double e = fabs((got ? got[j] : 0.0) - want[j]);
            if (!(e <= tol_abs))
                first_bad = j;
        }
        /* per output channel (dimension 0) of a weight with more than one row */
        char chan[96] = "";
        double chan_worst = INFINITY, chan_other = INFINITY; /* relative to max|g_ref| */
        if (gw->n_dim >= 2 && gw->shape[0] > 1 && got) {
            size_t rows = (size_t)gw->shape[0], per = gw->numel / rows, worst_row = 0;
            double row_worst = -1, other = 0;
            double *row_err = calloc(rows, sizeof *row_err);
            for (size_t r = 0; row_err && r < rows; r++) {
                for (size_t j = 0; j < per; j++)
                    row_err[r] =
                        fmax(row_err[r], fabs((double)got[r * per + j] - want[r * per + j]));
                if (row_err[r] > row_worst) {
                    row_worst = row_err[r];
                    worst_row = r;
                }
            }
            for (size_t r = 0; row_err && r < rows; r++)
                if (r != worst_row)
                    other = fmax(other, row_err[r]);
            free(row_err);
            chan_worst = max_ref > 0 ? row_worst / max_ref : row_worst;
            chan_other = max_ref > 0 ? other / max_ref : other;
            snprintf(chan, sizeof chan, "ch %zu: %.2e; others %.2e", worst_row, chan_worst,
                     chan_other);
        }
        double rel = max_ref > 0 ? max_err / max_ref : max_err;
        int ok = max_err <= tol_abs;
        if (mode->bf16 && !strcmp(kind, "main"))
            ok = l2 <= BF16_TOL_L2;
        if (!ok && !mode->bf16 && !strcmp(kind, "main") && rel <= TOL_TIE &&
            chan_other <= TOL_REL_MID && n_tie < MAX_TIES) {
            /* one output channel off, every other one within 1e-2: a PReLU-branch tie (header) */
            kind = "tie";
            tol = TOL_TIE;
            ok = 1;
            n_tie++;
        }
        char first[24] = "-";
        if (first_bad != (size_t)-1)
            snprintf(first, sizeof first, "%zu", first_bad);
        if (!strcmp(kind, "noise")) {
            n_noise++;
            worst_noise = fmax(worst_noise, max_err);
        } else if (!strcmp(kind, "tie")) {
            n_main++;
            keep_worst(worst, 6, gw->name, rel, TOL_TIE);
        } else if (!strcmp(kind, "prelu")) {
            n_prelu++;
            worst_prelu = fmax(worst_prelu, rel);
            keep_worst(worst, 6, gw->name, rel, tol);
        } else {
            n_main++;
            n_mid += rel > TOL_REL_MID;
            keep_worst(worst, 6, gw->name, mode->bf16 ? l2 : rel, tol);
        }
        if (!ok) {
            n_fail++;
            MT_FAIL("%-30s %8zu %10.3g %10.3g %9.3g %8.3g %8.3g %10s  %s (%s)", gw->name, gw->numel,
                    max_ref, max_err, rel, tol, l2, first, chan, kind);
        } else {
            MT_NOTE("%-30s %8zu %10.3g %10.3g %9.3g %8.3g %8.3g %10s  %s %s", gw->name, gw->numel,
                    max_ref, max_err, rel, tol, l2, first, chan,
                    !strcmp(kind, "main")    ? ""
                    : !strcmp(kind, "prelu") ? "(prelu)"
                    : !strcmp(kind, "tie")   ? "(a PReLU tie, see header)"
                                             : "(noise)");
        }
    }
    MT_CHECK_INT(covered, d.n_grads);
    MT_NOTE("%s: %d slots; %d with max|g_ref| >= 1e-5 (tol %.g rel), %d of them beyond %.g "
            "(at most %.0f%%); %d PReLU slopes, worst %.3g (tol %.2g); %d noise slots, worst "
            "max|Δ| %.3g (tol %.g); %d single-channel PReLU ties (at most %d); %d out of "
            "tolerance",
            be_name, d.n_gi, n_main, TOL_REL, n_mid, TOL_REL_MID, 100 * mode->max_share_mid,
            n_prelu, worst_prelu, TOL_PRELU, n_noise, worst_noise,
            mode->bf16 ? BF16_NOISE : NOISE_LEVEL, n_tie, MAX_TIES, n_fail);
    for (int k = 0; k < 6 && worst[k].name; k++)
        MT_NOTE("%s worst %d: %-30s rel %.3g (tol %.3g)", be_name, k + 1, worst[k].name,
                worst[k].rel, worst[k].tol);
    double l2_all = all_ref > 0 ? sqrt(all_err / all_ref) : 0;
    MT_NOTE("%s: the main slots together: relative L2 error %.3g", be_name, l2_all);
    if (mode->bf16) {
        if (!(l2_all <= BF16_TOL_L2_ALL))
            MT_FAIL("bf16: main slots together %.3g > %.2g relative L2", l2_all, BF16_TOL_L2_ALL);
        check_bf16_infer(m, &d);
    } else if (n_mid > mode->max_share_mid * n_main) {
        MT_FAIL("%d of %d slots beyond %.g relative: more than %.0f%%", n_mid, n_main, TOL_REL_MID,
                100 * mode->max_share_mid);
    }
out:
    if (host)
        for (int p = 0; p < l->n_params; p++)
            free(host[p]);
    free(host);
    mim_trainer_free(tr);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    unload(&d);
}

static void test_grads_ref(void)
{
    mim_backend *be = mim_backend_ref_new();
    MT_CHECK(be != NULL);
    if (be)
        run_grads(be, "ref", &MODE_F32);
    mim_backend_free(be);
}

static void test_grads_dnnl(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (!be)
        MT_SKIP("the oneDNN backend did not start");
    run_grads(be, "dnnl", &MODE_F32);
    mim_backend_free(be);
#else
    MT_SKIP("built without oneDNN");
#endif
}

/* The same backend with Winograd forced wherever oneDNN has it (MIMICA_DNNL_CONV is read when
 * the backend starts). */
static void test_winograd(void)
{
#if MIM_HAVE_DNNL
    setenv("MIMICA_DNNL_CONV", "winograd", 1);
    mim_backend *be = mim_backend_dnnl_new(0);
    unsetenv("MIMICA_DNNL_CONV");
    if (!be)
        MT_SKIP("the oneDNN backend did not start");
    run_grads(be, "dnnl-winograd", &MODE_WINOGRAD);
    mim_backend_free(be);
#else
    MT_SKIP("built without oneDNN");
#endif
}

static void test_bf16(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (!be)
        MT_SKIP("the oneDNN backend did not start");
    if (mim_backend_set_precision(be, MIM_PRECISION_BF16) != MIM_OK) {
        mim_backend_free(be);
        MT_SKIP("no bf16 on this CPU (it needs AVX-512)");
    }
    MT_NOTE("bf16 %s on this CPU", mim_backend_bf16_native() ? "native" : "emulated by oneDNN");
    run_grads(be, "dnnl-bf16", &MODE_BF16);
    mim_backend_free(be);
#else
    MT_SKIP("built without oneDNN");
#endif
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_grads_ref);
    MT_RUN(test_grads_dnnl);
    MT_RUN(test_winograd);
    MT_RUN(test_bf16);
    return mt_done();
}
