/* test-ops.c: op semantics beyond gradients: errors for bad shapes and arguments, MIM_ASSERT on
 * bugs, batch-norm running statistics, the Adam rule, GEMM and convolution against direct loops
 * on shapes that cross the blocking edges, backend selection. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine-cases.h"
#include "mim-test.h"

#define OK(x)                                                                                      \
    do {                                                                                           \
        mim_status s_ = (x);                                                                       \
        if (s_) {                                                                                  \
            MT_FAIL("%s: %s: %s", #x, mim_status_str(s_), mim_ctx_last_error(ctx));                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static mim_backend *be;
static mim_ctx *ctx;

static void setup(void)
{
    be = mim_backend_ref_new();
    ctx = mim_ctx_new(be);
    ec_seed(7);
}

static void teardown(void)
{
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

static float *rand_tensor(mim_tensor *t, double lo, double hi)
{
    int64_t n = mim_tensor_numel(t);
    float *h = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++)
        h[i] = (float)(lo + (hi - lo) * ec_unif());
    mim_tensor_set(t, h, sizeof(float) * n);
    return h;
}

#define EXPECT_ERR(call, want, word)                                                               \
    do {                                                                                           \
        mim_tensor *o_ = (mim_tensor *)1;                                                          \
        mim_status s_ = (call);                                                                    \
        (void)o_;                                                                                  \
        MT_NOTE("%-60s -> %s: \"%s\"", #call, mim_status_str(s_), mim_ctx_last_error(ctx));        \
        MT_CHECK_INT(s_, want);                                                                    \
        MT_CHECK(strstr(mim_ctx_last_error(ctx), word) != NULL);                                   \
    } while (0)

static void test_errors(void)
{
    setup();
    mim_tensor *x, *w, *wbad, *a, *b, *lab, *o, *big, *i32;
    OK(mim_tensor_new(ctx, MIM_F32, 2, 3, 5, 5, &x));
    OK(mim_tensor_new(ctx, MIM_F32, 4, 3, 3, 3, &w));
    OK(mim_tensor_new(ctx, MIM_F32, 4, 2, 3, 3, &wbad));
    OK(mim_tensor_new(ctx, MIM_F32, 1, 1, 3, 4, &a));
    OK(mim_tensor_new(ctx, MIM_F32, 1, 1, 5, 2, &b));
    OK(mim_tensor_new(ctx, MIM_I32, 2, 3, 1, 1, &lab));
    OK(mim_tensor_new(ctx, MIM_I32, 2, 3, 5, 5, &i32));
    OK(mim_tensor_new(ctx, MIM_F32, 1, 1, 9, 9, &big));
    free(rand_tensor(x, -1, 1));
    free(rand_tensor(w, -1, 1));
    EXPECT_ERR(mim_conv2d(ctx, x, wbad, NULL, 1, 1, 1, &o), MIM_ERR_SHAPE, "conv2d");
    EXPECT_ERR(mim_conv2d(ctx, x, w, NULL, 0, 1, 1, &o), MIM_ERR_SHAPE, "conv2d");
    EXPECT_ERR(mim_conv2d(ctx, x, w, NULL, 1, 1, 2, &o), MIM_ERR_SHAPE, "conv2d");
    EXPECT_ERR(mim_conv2d(ctx, i32, w, NULL, 1, 1, 1, &o), MIM_ERR_ARG, "float");
    EXPECT_ERR(mim_conv2d(ctx, a, big, NULL, 1, 0, 1, &o), MIM_ERR_SHAPE, "conv2d");
    EXPECT_ERR(mim_matmul(ctx, a, b, 0, 0, &o), MIM_ERR_SHAPE, "matmul");
    EXPECT_ERR(mim_add(ctx, x, w, &o), MIM_ERR_SHAPE, "elementwise");
    EXPECT_ERR(mim_reshape(ctx, x, 2, 3, 5, 4, &o), MIM_ERR_SHAPE, "reshape");
    EXPECT_ERR(mim_slice_batch(ctx, x, 1, 2, &o), MIM_ERR_SHAPE, "slice");
    EXPECT_ERR(mim_avgpool(ctx, x, 6, 1, &o), MIM_ERR_SHAPE, "avgpool");
    EXPECT_ERR(mim_tensor_new(ctx, MIM_F32, 0, 3, 5, 5, &o), MIM_ERR_SHAPE, "shape");
    EXPECT_ERR(mim_tensor_new(ctx, MIM_F32, 1 << 20, 1 << 20, 1 << 20, 1, &o), MIM_ERR_SHAPE,
               "elements");
    EXPECT_ERR(mim_tensor_set(x, a, 12), MIM_ERR_SHAPE, "bytes");
    EXPECT_ERR(mim_batchnorm(ctx, x, w, NULL, a, a, 1, 0.1f, 1e-5f, &o), MIM_ERR_SHAPE,
               "batchnorm");
    EXPECT_ERR(mim_prelu(ctx, x, a, &o), MIM_ERR_SHAPE, "slope");
    EXPECT_ERR(mim_bce_logits(ctx, a, a, w, &o), MIM_ERR_SHAPE, "bce");
    EXPECT_ERR(mim_cross_entropy_positions(ctx, x, x, &o), MIM_ERR_SHAPE, "int32");
    int32_t l[6] = {0, 1, 2, 25, 3, 4};
    OK(mim_tensor_set(lab, l, sizeof l));
    EXPECT_ERR(mim_cross_entropy_positions(ctx, x, lab, &o), MIM_ERR_ARG, "label 25");
    EXPECT_ERR(mim_cross_entropy_diag(ctx, x, &o), MIM_ERR_SHAPE, "diag");
    EXPECT_ERR(mim_backward(ctx, x), MIM_ERR_SHAPE, "one float");
    mim_tensor *t, *w2, *m, *v;
    OK(mim_param_new(ctx, "m", "w", 0, 3, 1, 1, 1, &w2));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 3, 1, 1, 1, &m));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 2, 1, 1, 1, &v));
    EXPECT_ERR(mim_adam_update(ctx, w2, w2->grad, m, v, 1e-3, 0.9, 0.999, 1e-8, 1), MIM_ERR_SHAPE,
               "adam");
    EXPECT_ERR(mim_adam_update(ctx, w2, w2->grad, m, m, 1e-3, 0.9, 0.999, 1e-8, 0), MIM_ERR_ARG,
               "adam");
    (void)t;
    teardown();
}

/* A bug (NULL tensor, tensor of another context) aborts via MIM_ASSERT in a child process. */
static int child_aborts(int which)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        mim_backend *b1 = mim_backend_ref_new();
        mim_ctx *c1 = mim_ctx_new(b1), *c2 = mim_ctx_new(b1);
        mim_tensor *x, *y, *o;
        mim_tensor_new(c1, MIM_F32, 1, 1, 2, 2, &x);
        mim_tensor_new(c2, MIM_F32, 1, 1, 2, 2, &y);
        freopen("/dev/null", "w", stderr);
        if (which == 0)
            mim_tanh(c1, NULL, &o);
        else
            mim_add(c1, x, y, &o);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void test_assert_on_bugs(void)
{
    int a = child_aborts(0), b = child_aborts(1);
    MT_NOTE("NULL tensor aborts: %d; tensor of another context aborts: %d", a, b);
    MT_CHECK(a && b);
}

static void test_batchnorm_running_stats(void)
{
    setup();
    mim_tensor *x, *g, *bt, *rm, *rv, *y;
    OK(mim_tensor_new(ctx, MIM_F32, 3, 2, 4, 4, &x));
    OK(mim_param_new(ctx, "bn", "weight", 0, 2, 1, 1, 1, &g));
    OK(mim_param_new(ctx, "bn", "bias", 0, 2, 1, 1, 1, &bt));
    OK(mim_buffer_new(ctx, "bn", "running_mean", 2, 1, 1, 1, &rm));
    OK(mim_buffer_new(ctx, "bn", "running_var", 2, 1, 1, 1, &rv));
    OK(mim_tensor_fill(g, 1.0f));
    OK(mim_tensor_fill(rv, 1.0f));
    float *h = rand_tensor(x, -1, 3);
    OK(mim_batchnorm(ctx, x, g, bt, rm, rv, 1, 0.1f, 1e-5f, &y));
    float m[2], v[2], yh[96];
    OK(mim_tensor_get(rm, m, sizeof m));
    OK(mim_tensor_get(rv, v, sizeof v));
    OK(mim_tensor_get(y, yh, sizeof yh));
    double err = 0, yerr = 0;
    for (int c = 0; c < 2; c++) {
        double s = 0, s2 = 0;
        for (int b = 0; b < 3; b++)
            for (int p = 0; p < 16; p++)
                s += h[(b * 2 + c) * 16 + p];
        double mean = s / 48;
        for (int b = 0; b < 3; b++)
            for (int p = 0; p < 16; p++)
                s2 += pow(h[(b * 2 + c) * 16 + p] - mean, 2);
        err = fmax(err, fabs(m[c] - 0.1 * mean));
        err = fmax(err, fabs(v[c] - (0.9 + 0.1 * s2 / 47)));
        for (int b = 0; b < 3; b++)
            for (int p = 0; p < 16; p++) {
                int i = (b * 2 + c) * 16 + p;
                yerr = fmax(yerr, fabs(yh[i] - (h[i] - mean) / sqrt(s2 / 48 + 1e-5)));
            }
    }
    MT_NOTE("running mean/var (momentum 0.1, unbiased var) max err %.2e; normalised output max err "
            "%.2e (tol 1e-5)",
            err, yerr);
    MT_CHECK(err <= 1e-6 && yerr <= 1e-5);
    /* eval mode uses the running statistics */
    OK(mim_batchnorm(ctx, x, g, bt, rm, rv, 0, 0.1f, 1e-5f, &y));
    OK(mim_tensor_get(y, yh, sizeof yh));
    double eerr = 0;
    for (int i = 0; i < 96; i++) {
        int c = (i / 16) % 2;
        eerr = fmax(eerr, fabs(yh[i] - (h[i] - m[c]) / sqrt(v[c] + 1e-5)));
    }
    float m2[2];
    OK(mim_tensor_get(rm, m2, sizeof m2));
    MT_NOTE("eval output max err %.2e; running mean unchanged by eval: %d", eerr, m2[0] == m[0]);
    MT_CHECK(eerr <= 1e-5 && m2[0] == m[0] && m2[1] == m[1]);
    MT_CHECK_INT(mim_buffer_list(ctx, "bn", NULL, 0), 2);
    MT_CHECK_INT(mim_param_list(ctx, "bn", 0, NULL, 0), 2);
    free(h);
    teardown();
}

static void test_adam(void)
{
    setup();
    mim_tensor *p, *m, *v, *g;
    int n = 50;
    OK(mim_param_new(ctx, "m", "p", 0, n, 1, 1, 1, &p));
    OK(mim_tensor_new_persist(ctx, MIM_F32, n, 1, 1, 1, &m));
    OK(mim_tensor_new_persist(ctx, MIM_F32, n, 1, 1, 1, &v));
    OK(mim_tensor_fill(m, 0.0f));
    OK(mim_tensor_fill(v, 0.0f));
    float *hp = rand_tensor(p, -1, 1);
    double pd[50], md[50] = {0}, vd[50] = {0};
    for (int i = 0; i < n; i++)
        pd[i] = hp[i];
    double lr = 1e-3, b1 = 0.95, b2 = 0.999, eps = 1e-8, err = 0;
    for (int t = 1; t <= 5; t++) {
        g = p->grad;
        float *hg = rand_tensor(g, -2, 2);
        OK(mim_adam_update(ctx, p, g, m, v, lr, b1, b2, eps, t));
        for (int i = 0; i < n; i++) {
            md[i] = b1 * md[i] + (1 - b1) * hg[i];
            vd[i] = b2 * vd[i] + (1 - b2) * (double)hg[i] * hg[i];
            pd[i] -= lr / (1 - pow(b1, t)) * md[i] / (sqrt(vd[i]) / sqrt(1 - pow(b2, t)) + eps);
        }
        free(hg);
    }
    float out[50];
    OK(mim_tensor_get(p, out, sizeof out));
    for (int i = 0; i < n; i++)
        err = fmax(err, fabs(out[i] - pd[i]));
    MT_NOTE("Adam 5 steps vs the PyTorch rule in double: max |p - p_ref| %.2e (tol 1e-6)", err);
    MT_CHECK(err <= 1e-6);
    free(hp);
    teardown();
}

static void gemm_edges(const char *kernel)
{
    setup();
    const int M = 70, K = 300, N = 600;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            mim_tensor *a, *b, *c;
            OK(mim_tensor_new(ctx, MIM_F32, 1, 1, ta ? K : M, ta ? M : K, &a));
            OK(mim_tensor_new(ctx, MIM_F32, 1, 1, tb ? N : K, tb ? K : N, &b));
            float *ha = rand_tensor(a, -1, 1), *hb = rand_tensor(b, -1, 1);
            OK(mim_matmul(ctx, a, b, ta, tb, &c));
            float *hc = malloc(sizeof(float) * M * N);
            OK(mim_tensor_get(c, hc, sizeof(float) * M * N));
            double err = 0;
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int p = 0; p < K; p++)
                        s += (double)(ta ? ha[p * M + i] : ha[i * K + p]) *
                             (tb ? hb[j * K + p] : hb[p * N + j]);
                    err = fmax(err, fabs(hc[i * N + j] - s));
                }
            MT_NOTE("gemm (%s kernel) %dx%dx%d trans_a %d trans_b %d: max err vs double loop "
                    "%.2e (tol 1e-4)",
                    kernel, M, N, K, ta, tb, err);
            MT_CHECK(err <= 1e-4);
            free(ha);
            free(hb);
            free(hc);
            mim_ctx_reset_step(ctx);
        }
    teardown();
}

static void test_gemm_blocking_edges(void)
{
    unsetenv("MIMICA_REF_GEMM");
    gemm_edges("default");
    setenv("MIMICA_REF_GEMM", "portable", 1);
    gemm_edges("portable");
    unsetenv("MIMICA_REF_GEMM");
}

static void test_conv_direct(void)
{
    setup();
    const int B = 2, C = 8, H = 13, W = 11, O = 6, G = 2, KH = 3, S = 2, P = 1;
    mim_tensor *x, *w, *bias, *y;
    OK(mim_tensor_new(ctx, MIM_F32, B, C, H, W, &x));
    OK(mim_tensor_new(ctx, MIM_F32, O, C / G, KH, KH, &w));
    OK(mim_tensor_new(ctx, MIM_F32, O, 1, 1, 1, &bias));
    float *hx = rand_tensor(x, -1, 1), *hw = rand_tensor(w, -1, 1), *hb = rand_tensor(bias, -1, 1);
    OK(mim_conv2d(ctx, x, w, bias, S, P, G, &y));
    int Ho = (H + 2 * P - KH) / S + 1, Wo = (W + 2 * P - KH) / S + 1;
    MT_CHECK_INT(y->ne[2], Ho);
    MT_CHECK_INT(y->ne[3], Wo);
    float *hy = malloc(sizeof(float) * B * O * Ho * Wo);
    OK(mim_tensor_get(y, hy, sizeof(float) * B * O * Ho * Wo));
    double err = 0;
    int cg = C / G, og = O / G;
    for (int b = 0; b < B; b++)
        for (int o = 0; o < O; o++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double s = hb[o];
                    int g = o / og;
                    for (int ci = 0; ci < cg; ci++)
                        for (int ky = 0; ky < KH; ky++)
                            for (int kx = 0; kx < KH; kx++) {
                                int iy = oy * S - P + ky, ix = ox * S - P + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                s += (double)hw[((o * cg + ci) * KH + ky) * KH + kx] *
                                     hx[((b * C + g * cg + ci) * H + iy) * W + ix];
                            }
                    err = fmax(err, fabs(hy[((b * O + o) * Ho + oy) * Wo + ox] - s));
                }
    MT_NOTE("grouped strided conv vs direct double loop: max err %.2e (tol 1e-5)", err);
    MT_CHECK(err <= 1e-5);
    free(hx);
    free(hw);
    free(hb);
    free(hy);
    teardown();
}

static void test_backend_selection(void)
{
    mim_status st;
    setenv("MIMICA_BACKEND", "ref", 1);
    mim_backend *b = mim_backend_default(&st);
    MT_CHECK(b && st == MIM_OK && !strcmp(mim_backend_name(b), "ref"));
    for (int op = 0; b && op < MIM_OP_COUNT; op++)
        MT_CHECK(mim_backend_supports(b, (mim_op)op));
    mim_backend_free(b);
    setenv("MIMICA_BACKEND", "nonsense", 1);
    b = mim_backend_default(&st);
    MT_CHECK(!b && st == MIM_ERR_ARG);
    unsetenv("MIMICA_BACKEND");
    b = mim_backend_default(&st);
    MT_CHECK(b && st == MIM_OK);
    MT_NOTE("default backend without MIMICA_BACKEND: %s", b ? mim_backend_name(b) : "(none)");
    mim_backend_free(b);
    for (int s = MIM_OK; s <= MIM_ERR_FORMAT; s++)
        MT_CHECK(mim_status_str((mim_status)s)[0] != 0);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_errors);
    MT_RUN(test_assert_on_bugs);
    MT_RUN(test_batchnorm_running_stats);
    MT_RUN(test_adam);
    MT_RUN(test_gemm_blocking_edges);
    MT_RUN(test_conv_direct);
    MT_RUN(test_backend_selection);
    return mt_done();
}
