/* test-adam.c: the Adam step that training runs (mim_adam_step, as mim_trainer_step calls it:
 * mim_adam_update on the context's backend) against PyTorch's Adam (values from
 * torch.optim.Adam, 3 steps with gradients of scale 1e-3, 1 and 1e-6), on every CPU backend, for
 * the three groups of MODEL.md §5; and the schedule's factor on the rate. */
#include "mim-adam.h"
#include "mim-test.h"
#include "mimica-config.h"
static const float want_task[8] = {1.541226387e+00f, -2.934589684e-01f, -2.178559303e+00f,
                                   5.684614182e-01f, -1.084552288e+00f, -1.398825765e+00f,
                                   4.033167958e-01f, 8.377960920e-01f};
static const float want_gen[8] = {1.541116834e+00f, -2.934495807e-01f, -2.178668499e+00f,
                                  5.684520006e-01f, -1.084543109e+00f, -1.398716211e+00f,
                                  4.033261538e-01f, 8.379055858e-01f};
static const float p0[8] = {1.540996075e+00f, -2.934288979e-01f, -2.178789377e+00f,
                            5.684312582e-01f, -1.084522367e+00f, -1.398595452e+00f,
                            4.033468366e-01f, 8.380263448e-01f};
static const float grads[3][8] = {
    {-7.192576304e-04f, -4.033435544e-04f, -5.966353929e-04f, 1.820364996e-04f, -8.566746255e-04f,
     1.100604190e-03f, -1.071187435e-03f, 1.227012544e-04f},
    {-5.663174987e-01f, 3.731146455e-01f, -8.919953108e-01f, -1.509107709e+00f, 3.703935444e-01f,
     1.456502557e+00f, 9.398099184e-01f, 7.748488188e-01f},
    {1.918694181e-07f, 1.263794729e-06f, -1.290435080e-06f, -7.911027069e-07f, -2.087947415e-08f,
     -7.184800666e-07f, 5.186367389e-07f, -1.312521931e-06f}};

/* 3 steps of group grp on backend be from p0; p after them into p_out, the step count into t. */
static int steps(mim_backend *be, mim_aunet_group grp, double lr_factor, int n_steps, float *p_out,
                 int64_t *t)
{
    mim_ctx *ctx = mim_ctx_new(be);
    mim_tensor *p = NULL, *g = NULL, *m = NULL, *v = NULL;
    int ok = ctx && mim_tensor_new_persist(ctx, MIM_F32, 8, 1, 1, 1, &p) == MIM_OK &&
             mim_tensor_new_persist(ctx, MIM_F32, 8, 1, 1, 1, &g) == MIM_OK &&
             mim_tensor_new_persist(ctx, MIM_F32, 8, 1, 1, 1, &m) == MIM_OK &&
             mim_tensor_new_persist(ctx, MIM_F32, 8, 1, 1, 1, &v) == MIM_OK &&
             mim_tensor_set(p, p0, sizeof p0) == MIM_OK && mim_tensor_fill(m, 0.0f) == MIM_OK &&
             mim_tensor_fill(v, 0.0f) == MIM_OK;
    *t = 0;
    for (int s = 0; ok && s < n_steps; s++)
        ok = mim_tensor_set(g, grads[s], sizeof grads[s]) == MIM_OK &&
             mim_adam_step(ctx, p, g, m, v, &mim_adam_groups[grp], lr_factor, t) == MIM_OK;
    ok = ok && mim_tensor_get(p, p_out, 8 * sizeof(float)) == MIM_OK;
    if (!ok)
        MT_FAIL("adam on the backend: %s", ctx ? mim_ctx_last_error(ctx) : "no context");
    mim_ctx_free(ctx);
    return ok;
}

static void run(mim_backend *be, const char *be_name, mim_aunet_group grp, const float *want)
{
    float p[8];
    int64_t t;
    if (!steps(be, grp, 1.0, 3, p, &t))
        return;
    double max_err = 0;
    for (int i = 0; i < 8; i++) {
        MT_CHECK_NEAR(p[i], want[i], 2e-7 * fabs(want[i]) + 1e-9);
        max_err = fmax(max_err, fabs(p[i] - want[i]));
    }
    MT_CHECK_INT(t, 3);
    MT_NOTE("%s, group %d after 3 steps: max |ours - torch| %.3g (tol 2e-7 relative)", be_name, grp,
            max_err);
}

static void run_backend(mim_backend *be, const char *be_name)
{
    run(be, be_name, MIM_AUNET_GROUP_TASK, want_task);
    run(be, be_name, MIM_AUNET_GROUP_GEN, want_gen);
    run(be, be_name, MIM_AUNET_GROUP_DISC, want_gen);
    /* the schedule's factor scales the rate: the first step moves by lr·g/(|g| + eps) */
    float p[8];
    int64_t t;
    if (steps(be, MIM_AUNET_GROUP_TASK, 0.5, 1, p, &t))
        for (int i = 0; i < 8; i++) {
            double lr = 0.5 * mim_adam_groups[MIM_AUNET_GROUP_TASK].lr;
            double g = grads[0][i], step = lr * g / (fabs(g) + 1e-8);
            MT_CHECK_NEAR(p[i], p0[i] - step, 2e-7 * fabs(p0[i]) + 1e-9);
        }
    MT_CHECK_INT(t, 1);
}

static void test_adam_ref(void)
{
    mim_backend *be = mim_backend_ref_new();
    MT_CHECK(be != NULL);
    if (be)
        run_backend(be, "ref");
    mim_backend_free(be);
}

static void test_adam_dnnl(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (!be)
        MT_SKIP("the oneDNN backend did not start");
    run_backend(be, "dnnl");
    mim_backend_free(be);
#else
    MT_SKIP("built without oneDNN");
#endif
}

static void test_adam_groups(void)
{
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].lr, 1e-4, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].beta1, 0.95, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].beta2, 0.999, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_GEN].lr, 5e-5, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_GEN].beta1, 0.5, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_DISC].beta2, 0.9, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].eps, 1e-8, 0);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_adam_ref);
    MT_RUN(test_adam_dnnl);
    MT_RUN(test_adam_groups);
    return mt_done();
}
