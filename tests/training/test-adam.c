/* test-adam.c: PyTorch's Adam rule (values from torch.optim.Adam, 3 steps with gradients of
 * scale 1e-3, 1 and 1e-6) and the three groups of MODEL.md §5. */
#include "mim-adam.h"
#include "mim-test.h"

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

static void run(mim_aunet_group grp, const float *want)
{
    float p[8], m[8] = {0}, v[8] = {0};
    int64_t t = 0;
    memcpy(p, p0, sizeof p);
    const mim_adam_hparams *h = &mim_adam_groups[grp];
    for (int s = 0; s < 3; s++)
        mim_adam_update_host(p, grads[s], m, v, 8, &t, h->lr, h->beta1, h->beta2, h->eps);
    double max_err = 0;
    for (int i = 0; i < 8; i++) {
        MT_CHECK_NEAR(p[i], want[i], 2e-7 * fabs(want[i]) + 1e-9);
        max_err = fmax(max_err, fabs(p[i] - want[i]));
    }
    MT_CHECK_INT(t, 3);
    MT_NOTE("group %d after 3 steps: max |ours - torch| %.3g", grp, max_err);
}

static void test_adam_task(void)
{
    run(MIM_AUNET_GROUP_TASK, want_task);
}

static void test_adam_gen_disc(void)
{
    run(MIM_AUNET_GROUP_GEN, want_gen);
    run(MIM_AUNET_GROUP_DISC, want_gen);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].lr, 1e-4, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_GEN].beta1, 0.5, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_DISC].beta2, 0.9, 0);
    MT_CHECK_NEAR(mim_adam_groups[MIM_AUNET_GROUP_TASK].eps, 1e-8, 0);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_adam_task);
    MT_RUN(test_adam_gen_disc);
    return mt_done();
}
