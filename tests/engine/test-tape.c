/* test-tape.c: autograd bookkeeping: stop-gradient, frozen parameters, a module applied twice,
 * two backward passes in one step (MODEL.md §5), arena reset without regrowth, grad mode. */
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
    ec_seed(99);
}

static void teardown(void)
{
    mim_ctx_free(ctx);
    mim_backend_free(be);
}

static void fill_rand(mim_tensor *t)
{
    int64_t n = mim_tensor_numel(t);
    float *h = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++)
        h[i] = (float)(2 * ec_unif() - 1);
    mim_tensor_set(t, h, sizeof(float) * n);
    free(h);
}

static float *get(mim_tensor *t)
{
    int64_t n = mim_tensor_numel(t);
    float *h = malloc(sizeof(float) * n);
    mim_tensor_get(t, h, sizeof(float) * n);
    return h;
}

static double max_abs(const float *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void test_detach(void)
{
    setup();
    mim_tensor *x, *y, *z, *s, *l;
    OK(mim_param_new(ctx, "m", "x", 0, 2, 3, 4, 4, &x));
    fill_rand(x);
    OK(mim_tanh(ctx, mim_detach(ctx, x), &y));
    OK(mim_mean(ctx, y, &l));
    MT_CHECK_INT(mim_backward(ctx, l), MIM_ERR_STATE);
    MT_NOTE("backward of a detached-only loss: \"%s\"", mim_ctx_last_error(ctx));
    /* tanh(x) + tanh(sg x): gradient counts the first term only */
    OK(mim_tanh(ctx, x, &z));
    OK(mim_add(ctx, z, y, &s));
    OK(mim_mean(ctx, s, &l));
    OK(mim_backward(ctx, l));
    float *gx = get(x->grad), *zx = get(z);
    int64_t n = mim_tensor_numel(x);
    double err = 0;
    for (int64_t i = 0; i < n; i++)
        err = fmax(err, fabs(gx[i] - (1.0 - (double)zx[i] * zx[i]) / n));
    MT_NOTE("d mean(tanh x + tanh sg x)/dx vs (1 - tanh²)/n: max err %.2e (tol 1e-7)", err);
    MT_CHECK(err <= 1e-7);
    free(gx);
    free(zx);
    teardown();
}

static void conv_loss(mim_tensor *x, mim_tensor *w, mim_tensor *r, mim_tensor **loss)
{
    mim_tensor *y, *p;
    OK(mim_conv2d(ctx, x, w, NULL, 1, 1, 1, &y));
    OK(mim_mul(ctx, y, r, &p));
    OK(mim_sum(ctx, p, loss));
}

static void test_frozen_param(void)
{
    setup();
    mim_tensor *x, *w, *r, *l;
    OK(mim_tensor_new_persist(ctx, MIM_F32, 2, 3, 5, 5, &x));
    OK(mim_param_new(ctx, "El", "w", 0, 4, 3, 3, 3, &w));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 2, 4, 5, 5, &r));
    fill_rand(x);
    fill_rand(w);
    fill_rand(r);
    mim_tensor_set_requires_grad(x, 1);
    conv_loss(x, w, r, &l);
    OK(mim_backward(ctx, l));
    float *dx0 = get(x->grad), *dw0 = get(w->grad);
    MT_CHECK(max_abs(dw0, 108) > 0);
    mim_ctx_reset_step(ctx);
    mim_param_zero_grad(ctx, "El", -1);
    mim_param_set_frozen(w, 1);
    conv_loss(x, w, r, &l);
    OK(mim_backward(ctx, l));
    float *dx1 = get(x->grad), *dw1 = get(w->grad);
    MT_NOTE("frozen w: max |dw| %.2e (want 0), max |dx - dx unfrozen| %.2e (want 0)",
            max_abs(dw1, 108), max_diff(dx1, dx0, 150));
    MT_CHECK(max_abs(dw1, 108) == 0);
    MT_CHECK(max_diff(dx1, dx0, 150) == 0);
    /* the El* pattern: unfrozen w applied through a detached view */
    mim_param_set_frozen(w, 0);
    mim_ctx_reset_step(ctx);
    conv_loss(x, mim_detach(ctx, w), r, &l);
    OK(mim_backward(ctx, l));
    float *dx2 = get(x->grad), *dw2 = get(w->grad);
    MT_NOTE("detached w view: max |dw| %.2e, max |dx - dx unfrozen| %.2e", max_abs(dw2, 108),
            max_diff(dx2, dx0, 150));
    MT_CHECK(max_abs(dw2, 108) == 0 && max_diff(dx2, dx0, 150) == 0);
    /* frozen w and an input needing no grad: nothing recorded */
    mim_param_set_frozen(w, 1);
    mim_tensor_set_requires_grad(x, 0);
    mim_ctx_reset_step(ctx);
    conv_loss(x, w, r, &l);
    MT_CHECK(!(l->flags & MIM_TENSOR_REQUIRES_GRAD));
    mim_ctx_stats st;
    mim_ctx_stats_get(ctx, &st);
    MT_CHECK_INT(st.n_tape, 0);
    MT_CHECK(mim_param_list(ctx, "El", -1, NULL, 0) == 1);
    free(dx0);
    free(dw0);
    free(dx1);
    free(dw1);
    free(dx2);
    free(dw2);
    teardown();
}

static void test_module_applied_twice(void)
{
    setup();
    mim_tensor *x1, *x2, *w, *r1, *r2, *l1, *l2, *l;
    OK(mim_tensor_new_persist(ctx, MIM_F32, 1, 3, 6, 6, &x1));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 1, 3, 6, 6, &x2));
    OK(mim_param_new(ctx, "G", "w", 1, 2, 3, 3, 3, &w));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 1, 2, 6, 6, &r1));
    OK(mim_tensor_new_persist(ctx, MIM_F32, 1, 2, 6, 6, &r2));
    fill_rand(x1);
    fill_rand(x2);
    fill_rand(w);
    fill_rand(r1);
    fill_rand(r2);
    conv_loss(x1, w, r1, &l1);
    conv_loss(x2, w, r2, &l2);
    OK(mim_add(ctx, l1, l2, &l));
    OK(mim_backward(ctx, l));
    mim_ctx_stats st;
    mim_ctx_stats_get(ctx, &st);
    MT_NOTE("tape: %ld entries, %ld visited", st.n_tape, st.n_tape_visited);
    MT_CHECK_INT(st.n_tape, 7);
    float *both = get(w->grad);
    mim_param_zero_grad(ctx, NULL, 1);
    OK(mim_backward(ctx, l1));
    OK(mim_backward(ctx, l2)); /* accumulates into the same parameter gradient */
    float *sep = get(w->grad);
    double d = max_diff(both, sep, 54), m = max_abs(both, 54);
    MT_NOTE("dw of two applications vs the sum of the two backward passes: max diff %.2e "
            "(max |dw| %.2e, tol 1e-5)",
            d, m);
    MT_CHECK(d <= 1e-5 * m);
    free(both);
    free(sep);
    teardown();
}

/* MODEL.md §5: a shared forward, a discriminator backward on detached inputs, more forward ops
 * on the same tape and a generator backward; checked against a step that runs only the latter. */
static void gen_step(mim_tensor *x, mim_tensor *w1, mim_tensor *w2, mim_tensor *w3, int with_d,
                     float **dw1, float **dw2, float **dw3, long *visited)
{
    mim_tensor *a, *ca, *ta, *d, *ld, *g, *lg, *dg, *ldg, *lsum;
    mim_param_zero_grad(ctx, NULL, -1);
    mim_ctx_reset_step(ctx);
    OK(mim_conv2d(ctx, x, w1, NULL, 1, 1, 1, &ca));
    OK(mim_tanh(ctx, ca, &a));
    if (with_d) {
        OK(mim_conv2d(ctx, mim_detach(ctx, a), w2, NULL, 1, 1, 1, &d));
        OK(mim_mse_mean_const(ctx, d, 1.0f, &ld));
        OK(mim_backward(ctx, ld));
        float *g1 = get(w1->grad), *g2 = get(w2->grad);
        MT_NOTE("after the D backward: max |dw1| %.2e (want 0), max |dw2| %.2e", max_abs(g1, 36),
                max_abs(g2, 18));
        MT_CHECK(max_abs(g1, 36) == 0);
        free(g1);
        free(g2);
        /* the discriminator is then fixed for the G step */
        mim_param_set_frozen(w2, 1);
    }
    OK(mim_conv2d(ctx, a, w3, NULL, 1, 1, 1, &ta));
    OK(mim_mse_mean_const(ctx, ta, 0.5f, &lg));
    OK(mim_conv2d(ctx, a, w2, NULL, 1, 1, 1, &g));
    OK(mim_mse_mean_const(ctx, g, 1.0f, &dg));
    OK(mim_scale(ctx, dg, 0.25f, &ldg));
    OK(mim_add(ctx, lg, ldg, &lsum));
    if (with_d)
        *dw2 = get(w2->grad);
    OK(mim_backward(ctx, lsum));
    mim_param_set_frozen(w2, 0);
    *dw1 = get(w1->grad);
    *dw3 = get(w3->grad);
    mim_ctx_stats st;
    mim_ctx_stats_get(ctx, &st);
    *visited = st.n_tape_visited;
    MT_NOTE("%s: tape %ld entries, the G backward visited %ld", with_d ? "D+G step" : "G only",
            st.n_tape, st.n_tape_visited);
}

static void test_two_backward_passes(void)
{
    setup();
    mim_tensor *x, *w1, *w2, *w3;
    OK(mim_tensor_new_persist(ctx, MIM_F32, 2, 2, 5, 5, &x));
    OK(mim_param_new(ctx, "Ef", "w", 0, 2, 2, 3, 3, &w1));
    OK(mim_param_new(ctx, "Ds", "w", 2, 1, 2, 3, 3, &w2));
    OK(mim_param_new(ctx, "G", "w", 1, 3, 2, 3, 3, &w3));
    fill_rand(x);
    fill_rand(w1);
    fill_rand(w2);
    fill_rand(w3);
    float *a1, *a2, *a3, *b1, *b2 = NULL, *b3;
    long va, vb;
    gen_step(x, w1, w2, w3, 1, &a1, &a2, &a3, &va);
    float *d2_after = get(w2->grad);
    gen_step(x, w1, w2, w3, 0, &b1, &b2, &b3, &vb);
    MT_NOTE("dw2 changed by the G backward: %.2e (want 0); dw1 diff %.2e dw3 diff %.2e vs a G-only "
            "step",
            max_diff(a2, d2_after, 18), max_diff(a1, b1, 36), max_diff(a3, b3, 54));
    MT_CHECK(max_abs(a2, 18) > 0);
    MT_CHECK(max_diff(a2, d2_after, 18) == 0);
    MT_CHECK(max_diff(a1, b1, 36) <= 1e-7 && max_abs(a1, 36) > 0);
    MT_CHECK(max_diff(a3, b3, 54) <= 1e-7 && max_abs(a3, 54) > 0);
    MT_CHECK_INT(va, vb);
    free(a1);
    free(a2);
    free(a3);
    free(b1);
    free(b3);
    free(d2_after);
    teardown();
}

static void test_arena_reset(void)
{
    setup();
    mim_tensor *w;
    OK(mim_param_new(ctx, "m", "w", 0, 8, 8, 3, 3, &w));
    fill_rand(w);
    long grow[4];
    size_t bytes[4];
    for (int step = 0; step < 4; step++) {
        mim_ctx_reset_step(ctx);
        mim_ctx_stats st;
        mim_ctx_stats_get(ctx, &st);
        MT_CHECK_INT(st.step_bytes, 0);
        mim_tensor *x, *h, *l;
        OK(mim_tensor_new(ctx, MIM_F32, 4, 8, 64, 64, &x)); /* 512 KiB per activation */
        fill_rand(x);
        h = x;
        for (int i = 0; i < 20; i++) /* > 16 MiB: the first step needs several chunks */
            OK(mim_conv2d(ctx, h, w, NULL, 1, 1, 1, &h));
        OK(mim_mean(ctx, h, &l));
        OK(mim_backward(ctx, l));
        mim_ctx_stats_get(ctx, &st);
        grow[step] = st.n_grow;
        bytes[step] = st.step_bytes;
    }
    MT_NOTE("arena growth events after steps 1-4: %ld %ld %ld %ld; step bytes %zu %zu", grow[0],
            grow[1], grow[2], grow[3], bytes[0], bytes[3]);
    MT_CHECK(grow[2] == grow[1] && grow[3] == grow[1]);
    MT_CHECK(bytes[1] == bytes[0] && bytes[3] == bytes[0]);
    /* 21 activations of 512 KiB; their gradients reuse each other's memory as backward walks
     * down the chain (without releasing: 21 more) */
    MT_NOTE("step bytes %zu for 21 activations of 512 KiB (%zu) and their gradients", bytes[0],
            (size_t)21 << 19);
    MT_CHECK(bytes[0] <= ((size_t)24 << 19) + (1 << 20));
    teardown();
    /* planned by a dry run's figure: a fresh context reserves it, and the step does not grow */
    setup();
    OK(mim_param_new(ctx, "m", "w", 0, 8, 8, 3, 3, &w));
    fill_rand(w);
    OK(mim_ctx_reserve_step(ctx, bytes[0]));
    mim_ctx_stats st;
    mim_ctx_stats_get(ctx, &st);
    long g0 = st.n_grow;
    mim_tensor *x, *h, *l;
    OK(mim_tensor_new(ctx, MIM_F32, 4, 8, 64, 64, &x));
    fill_rand(x);
    h = x;
    for (int i = 0; i < 20; i++)
        OK(mim_conv2d(ctx, h, w, NULL, 1, 1, 1, &h));
    OK(mim_mean(ctx, h, &l));
    MT_CHECK_INT(mim_ctx_reserve_step(ctx, 1024), MIM_ERR_STATE);
    OK(mim_backward(ctx, l));
    mim_ctx_stats_get(ctx, &st);
    MT_NOTE("reserved %zu bytes: growth events during the step %ld (want 0)", bytes[0],
            st.n_grow - g0);
    MT_CHECK_INT(st.n_grow - g0, 0);
    teardown();
}

/* mim_tensor_release: a chain of 20 convolutions with frozen weights (their backward reads the
 * weights only) and an input that needs its gradient. Released as soon as the next op has
 * consumed them, the intermediates go back to the arena at once: the step's high-water mark
 * falls from 21 activations to a few, and d loss / dx is bitwise the same. A second backward
 * through an input an op saved, released and consumed by a first backward, is refused
 * (MIM_ERR_STATE). */
static void chain(mim_tensor *x, mim_tensor *w, int release, mim_tensor **loss)
{
    mim_tensor *h = x;
    *loss = NULL;
    for (int i = 0; i < 20; i++) {
        mim_tensor *c = NULL;
        OK(mim_conv2d(ctx, h, w, NULL, 1, 1, 1, &c));
        if (release && h != x)
            mim_tensor_release(h);
        h = c;
    }
    OK(mim_mean(ctx, h, loss));
    if (release)
        mim_tensor_release(h);
}

static void test_release(void)
{
    size_t high[2] = {0, 0};
    float *dx[2] = {NULL, NULL};
    for (int release = 0; release < 2; release++) {
        /* a fresh context each time: the step arena's high-water mark is the context's */
        setup();
        mim_tensor *x, *w, *l;
        OK(mim_tensor_new_persist(ctx, MIM_F32, 4, 8, 64, 64, &x)); /* 512 KiB an activation */
        OK(mim_param_new(ctx, "m", "w", 0, 8, 8, 3, 3, &w));
        fill_rand(x);
        fill_rand(w);
        mim_param_set_frozen(w, 1);
        mim_tensor_set_requires_grad(x, 1);
        chain(x, w, release, &l);
        if (!l)
            break;
        OK(mim_backward(ctx, l));
        mim_ctx_stats st;
        mim_ctx_stats_get(ctx, &st);
        high[release] = st.step_high_bytes;
        dx[release] = get(x->grad);
        if (release) {
            /* an op that saved its input for its backward (a conv whose weights need a
             * gradient): released and consumed by the first backward, refused by a second */
            mim_tensor *w2, *a, *b, *l2;
            OK(mim_param_new(ctx, "m2", "w", 0, 8, 8, 3, 3, &w2));
            fill_rand(w2);
            OK(mim_conv2d(ctx, x, w, NULL, 1, 1, 1, &a));
            OK(mim_conv2d(ctx, a, w2, NULL, 1, 1, 1, &b));
            mim_tensor_release(a);
            OK(mim_mean(ctx, b, &l2));
            OK(mim_backward(ctx, l2));
            MT_CHECK_INT(mim_backward(ctx, l2), MIM_ERR_STATE);
        }
        teardown();
    }
    if (!dx[0] || !dx[1]) {
        MT_FAIL("the chain did not run");
        free(dx[0]);
        free(dx[1]);
        return;
    }
    MT_NOTE("step high-water mark: %zu bytes kept, %zu released (activation 524288); max |dx "
            "kept - dx released| %.2e (want 0)",
            high[0], high[1], max_diff(dx[0], dx[1], 4 * 8 * 64 * 64));
    MT_CHECK(max_diff(dx[0], dx[1], 4 * 8 * 64 * 64) == 0);
    MT_CHECK(high[1] * 3 < high[0]);
    free(dx[0]);
    free(dx[1]);
}

static void test_grad_mode_off(void)
{
    setup();
    mim_tensor *w, *x, *y;
    OK(mim_param_new(ctx, "m", "w", 0, 2, 2, 1, 1, &w));
    OK(mim_tensor_new(ctx, MIM_F32, 1, 2, 3, 3, &x));
    fill_rand(x);
    int old = mim_ctx_set_grad(ctx, 0);
    MT_CHECK_INT(old, 1);
    OK(mim_conv2d(ctx, x, w, NULL, 1, 0, 1, &y));
    mim_ctx_stats st;
    mim_ctx_stats_get(ctx, &st);
    MT_CHECK_INT(st.n_tape, 0);
    MT_CHECK(!(y->flags & MIM_TENSOR_REQUIRES_GRAD));
    mim_ctx_set_grad(ctx, 1);
    teardown();
}

/* Two backward passes of one loss: parameter gradients add up, activation gradients restart.
 * An activation's gradient is released once backward has passed it on, unless the caller marked
 * the tensor with mim_tensor_set_requires_grad. */
static void test_activation_grads_restart(void)
{
    setup();
    mim_tensor *w, *x, *y, *t, *l;
    OK(mim_param_new(ctx, "m", "w", 0, 2, 2, 3, 3, &w));
    OK(mim_tensor_new(ctx, MIM_F32, 1, 2, 4, 4, &x));
    fill_rand(w);
    fill_rand(x);
    OK(mim_conv2d(ctx, x, w, NULL, 1, 1, 1, &y));
    mim_tensor_set_requires_grad(y, 1); /* keep y's gradient */
    OK(mim_tanh(ctx, y, &t));
    OK(mim_mean(ctx, t, &l));
    OK(mim_backward(ctx, l));
    MT_CHECK(y->grad != NULL && t->grad == NULL);
    float *g1 = get(w->grad), *gy1 = get(y->grad);
    OK(mim_backward(ctx, l));
    float *g2 = get(w->grad), *gy2 = get(y->grad);
    double e = 0;
    for (int i = 0; i < 36; i++)
        e = fmax(e, fabs(g2[i] - 2 * g1[i]));
    MT_NOTE("second backward: |dw - 2·dw1| %.2e, |dy - dy1| %.2e (want 0)", e,
            max_diff(gy1, gy2, 32));
    MT_CHECK(e <= 1e-7 && max_diff(gy1, gy2, 32) == 0);
    free(g1);
    free(g2);
    free(gy1);
    free(gy2);
    teardown();
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_detach);
    MT_RUN(test_frozen_param);
    MT_RUN(test_module_applied_twice);
    MT_RUN(test_two_backward_passes);
    MT_RUN(test_arena_reset);
    MT_RUN(test_grad_mode_off);
    MT_RUN(test_activation_grads_restart);
    MT_RUN(test_release);
    return mt_done();
}
