/* test-parity.c: every op forward and backward on every available backend against ref, with the
 * per-op tolerance printed beside the measured error (max |other - ref| / max |ref|). Backends
 * that this build or machine lacks are reported as skipped. */
#include "engine-cases.h"
#include "mim-test.h"

static uint64_t seed = 4321;

static double norm_err(const float *a, const float *b, int64_t n, int64_t *first_bad, double tol)
{
    double m = 0.0, r = 1e-6;
    for (int64_t i = 0; i < n; i++)
        r = fmax(r, fabs(b[i]));
    *first_bad = -1;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / r;
        if (!(e <= tol) && *first_bad < 0)
            *first_bad = i;
        m = isnan(e) ? INFINITY : fmax(m, e);
    }
    return m;
}

static const char *op_names[MIM_OP_COUNT] = {
    "conv2d",      "batchnorm",  "instancenorm",  "prelu",       "act",  "avgpool", "softmax",
    "channel_sum", "gemm",       "channel_copy",  "elementwise", "bias", "reduce",  "l1",
    "mse",         "bce_logits", "cross_entropy", "l2norm",      "adam",
};

/* twice: every case applies its op twice to the same inputs (gradient accumulation). */
static void compare_backend(mim_backend *other, int twice)
{
    char native[512] = "", fallback[512] = "";
    for (int op = 0; op < MIM_OP_COUNT; op++) {
        char *d = mim_backend_supports(other, (mim_op)op) ? native : fallback;
        strncat(d, " ", sizeof native - strlen(d) - 1);
        strncat(d, op_names[op], sizeof native - strlen(d) - 1);
    }
    MT_NOTE("%s runs natively:%s; falls back to ref:%s", mim_backend_name(other), native,
            fallback[0] ? fallback : " (none)");
    mim_backend *ref = mim_backend_ref_new();
    mim_ctx *cr = mim_ctx_new(ref), *co = mim_ctx_new(other);
    for (int k = 0; k < EC_N_CASES; k++) {
        const ec_case *c = &ec_cases[k];
        ec_inst ir, io;
        ec_seed(seed + k);
        mim_status s1 = ec_inst_init(&ir, c, cr);
        ec_seed(seed + k);
        mim_status s2 = ec_inst_init(&io, c, co);
        if (s1 || s2) {
            MT_FAIL("%s: init: ref %s / %s %s", c->name, mim_ctx_last_error(cr),
                    mim_backend_name(other), mim_ctx_last_error(co));
            goto next;
        }
        float *outr = malloc(sizeof(float) * ir.n_out), *outo = malloc(sizeof(float) * io.n_out);
        double lr, lo;
        s1 = ec_forward(&ir, &lr, outr);
        s2 = ec_forward(&io, &lo, outo);
        if (s1 || s2) {
            MT_FAIL("%s: forward: %s", c->name,
                    s1 ? mim_ctx_last_error(cr) : mim_ctx_last_error(co));
        } else {
            int64_t bad;
            double e = norm_err(outo, outr, ir.n_out, &bad, c->parity_tol);
            MT_NOTE("%-5s %-36s forward   err %.2e  tol %.0e", mim_backend_name(other), c->name, e,
                    c->parity_tol);
            if (bad >= 0)
                MT_FAIL("%s forward: first mismatch [%lld] %s %.8g ref %.8g", c->name,
                        (long long)bad, mim_backend_name(other), outo[bad], outr[bad]);
        }
        float *gr[EC_MAX_IN] = {0}, *go[EC_MAX_IN] = {0};
        for (int i = 0; i < c->n_in; i++) {
            gr[i] = calloc((size_t)ec_numel(c->ne[i]), sizeof(float));
            go[i] = calloc((size_t)ec_numel(c->ne[i]), sizeof(float));
        }
        s1 = ec_backward2(&ir, gr, twice);
        s2 = ec_backward2(&io, go, twice);
        if (s1 || s2) {
            MT_FAIL("%s: backward: %s", c->name,
                    s1 ? mim_ctx_last_error(cr) : mim_ctx_last_error(co));
        } else {
            for (int i = 0; i < c->n_in; i++) {
                if (!c->grad[i])
                    continue;
                int64_t bad;
                double e = norm_err(go[i], gr[i], ec_numel(c->ne[i]), &bad, c->parity_tol * 10);
                MT_NOTE("%-5s %-36s grad in %d err %.2e  tol %.0e%s", mim_backend_name(other),
                        c->name, i, e, c->parity_tol * 10, twice ? "  (op applied twice)" : "");
                if (bad >= 0)
                    MT_FAIL("%s grad of input %d: first mismatch [%lld] %s %.8g ref %.8g", c->name,
                            i, (long long)bad, mim_backend_name(other), go[i][bad], gr[i][bad]);
            }
        }
        for (int i = 0; i < c->n_in; i++) {
            free(gr[i]);
            free(go[i]);
        }
        free(outr);
        free(outo);
    next:
        ec_inst_free(&ir);
        ec_inst_free(&io);
    }
    mim_ctx_free(cr);
    mim_ctx_free(co);
    mim_backend_free(ref);
}

static void test_parity_dnnl(void)
{
    mim_backend *be = mim_backend_dnnl_new(2);
    if (!be)
        MT_SKIP("no dnnl backend in this build (MIM_HAVE_DNNL and the backend's registration)");
    compare_backend(be, 0);
    compare_backend(be, 1);
    mim_backend_free(be);
}

static void test_parity_cuda(void)
{
    mim_status st;
    mim_backend *be = mim_backend_cuda_new(0, &st);
    if (!be)
        MT_SKIP("no cuda backend: %s", mim_status_str(st));
    compare_backend(be, 0);
    compare_backend(be, 1);
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    const char *s = getenv("MIMICA_TEST_SEED");
    if (s && *s)
        seed = strtoull(s, NULL, 10);
    mt_init(argc, argv);
    MT_NOTE("seed %llu (MIMICA_TEST_SEED)", (unsigned long long)seed);
    MT_RUN(test_parity_dnnl);
    MT_RUN(test_parity_cuda);
    return mt_done();
}
