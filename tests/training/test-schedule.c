/* test-schedule.c: the learning-rate schedule of MODEL.md §5. */
#include "mim-schedule.h"
#include "mim-test.h"

static void test_lambda_schedule_adld(void)
{
    /* MODEL.md §5: 1 for epochs 0-4, then 5/6, 4/6, ..., 1/6 at epoch 9. */
    const double want[10] = {1, 1, 1, 1, 1, 5.0 / 6, 4.0 / 6, 3.0 / 6, 2.0 / 6, 1.0 / 6};
    double max_err = 0;
    for (int e = 0; e < 10; e++) {
        double got = mim_schedule_lambda(e, 5, 10);
        MT_CHECK_NEAR(got, want[e], 1e-15);
        max_err = fmax(max_err, fabs(got - want[e]));
    }
    MT_NOTE("10 epochs, decay from epoch 5: max |error| %.3g (tol 1e-15)", max_err);
}

static void test_lambda_schedule_short_run(void)
{
    /* A fine-tune of 2 epochs that starts decaying at once never reaches zero. */
    MT_CHECK_NEAR(mim_schedule_lambda(0, 0, 2), 2.0 / 3, 1e-15);
    MT_CHECK_NEAR(mim_schedule_lambda(1, 0, 2), 1.0 / 3, 1e-15);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_lambda_schedule_adld);
    MT_RUN(test_lambda_schedule_short_run);
    return mt_done();
}
