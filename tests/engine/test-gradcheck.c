/* test-gradcheck.c: every op's backward (ref backend) against central finite differences of
 * loss = Σ out ⊙ R, accumulated in double. Seed: MIMICA_TEST_SEED or 1234 (printed). */
#include "engine-cases.h"
#include "mim-test.h"

static uint64_t seed = 1234;

static void check_case(const ec_case *c)
{
    mim_backend *be = mim_backend_ref_new();
    mim_ctx *ctx = mim_ctx_new(be);
    ec_inst it;
    ec_seed(seed * 1000003u + (uint64_t)(c - ec_cases));
    mim_status st = ec_inst_init(&it, c, ctx);
    if (st) {
        MT_FAIL("%s: init: %s: %s", c->name, mim_status_str(st), mim_ctx_last_error(ctx));
        goto out;
    }
    float *g[EC_MAX_IN] = {0};
    for (int i = 0; i < c->n_in; i++)
        g[i] = calloc((size_t)ec_numel(c->ne[i]), sizeof(float));
    st = ec_backward(&it, g);
    if (st) {
        MT_FAIL("%s: backward: %s: %s", c->name, mim_status_str(st), mim_ctx_last_error(ctx));
    } else {
        const double h = 1e-3, ascale = 1e-3, rtol = 1e-2;
        for (int i = 0; i < c->n_in; i++) {
            if (!c->grad[i])
                continue;
            int64_t n = ec_numel(c->ne[i]);
            int n_check = n < 40 ? (int)n : 40;
            double max_err = 0.0, max_ref = 0.0, av[40], fv[40];
            int64_t idx[40];
            for (int q = 0; q < n_check; q++) {
                int64_t j = n <= 40 ? q : (int64_t)(ec_unif() * n) % n;
                float keep = it.host[i][j];
                double lp, lm;
                it.host[i][j] = (float)(keep + h);
                mim_tensor_set(it.in[i], it.host[i], sizeof(float) * n);
                st = ec_forward(&it, &lp, NULL);
                it.host[i][j] = (float)(keep - h);
                mim_tensor_set(it.in[i], it.host[i], sizeof(float) * n);
                if (!st)
                    st = ec_forward(&it, &lm, NULL);
                it.host[i][j] = keep;
                mim_tensor_set(it.in[i], it.host[i], sizeof(float) * n);
                if (st) {
                    MT_FAIL("%s: forward: %s", c->name, mim_ctx_last_error(ctx));
                    break;
                }
                /* the perturbation actually applied, in float */
                double hp = (double)(float)(keep + h) - keep, hm = keep - (double)(float)(keep - h);
                idx[q] = j;
                fv[q] = (lp - lm) / (hp + hm);
                av[q] = g[i][j];
                max_ref = fmax(max_ref, fabs(fv[q]));
            }
            /* tolerance relative to each element and to the scale of this input's gradient */
            double atol = ascale * max_ref + 1e-6;
            int64_t worst = -1, n_bad = 0;
            double worst_a = 0, worst_fd = 0, worst_err = 0;
            for (int q = 0; q < n_check && !st; q++) {
                double err = fabs(av[q] - fv[q]);
                double tol = atol + rtol * fmax(fabs(av[q]), fabs(fv[q]));
                if (!(err <= tol)) {
                    n_bad++;
                    if (err > worst_err) {
                        worst_err = err;
                        worst = idx[q];
                        worst_a = av[q];
                        worst_fd = fv[q];
                    }
                }
                max_err = fmax(max_err, err);
            }
            MT_NOTE("%-34s input %d: %2d elements, max |analytic - fd| %.2e (max |fd| %.2e), "
                    "tol %.1e + %.0e·|g|",
                    c->name, i, n_check, max_err, max_ref, atol, rtol);
            if (n_bad)
                MT_FAIL("%s input %d: %lld of %d elements off; worst [%lld] analytic %.6g fd %.6g",
                        c->name, i, (long long)n_bad, n_check, (long long)worst, worst_a, worst_fd);
        }
    }
    for (int i = 0; i < c->n_in; i++)
        free(g[i]);
out:
    ec_inst_free(&it);
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

static void test_gradcheck_all_ops(void)
{
    for (int k = 0; k < EC_N_CASES; k++)
        if (!ec_cases[k].parity_only)
            check_case(&ec_cases[k]);
}

int main(int argc, char **argv)
{
    const char *s = getenv("MIMICA_TEST_SEED");
    if (s && *s)
        seed = strtoull(s, NULL, 10);
    mt_init(argc, argv);
    MT_NOTE("seed %llu (MIMICA_TEST_SEED), %d op cases", (unsigned long long)seed, EC_N_CASES);
    MT_RUN(test_gradcheck_all_ops);
    return mt_done();
}
