/* test-cuda-golden.c: the golden model step (one full training iteration of the AU network
 * against the PyTorch reference export, MODEL.md §11) on the CUDA backend, in fp32 (the golden
 * precision) and in deterministic mode.
 *
 * The comparison itself is the reference suite's (tests/reference/test-golden.c: run_golden and
 * its tolerances), compiled in here unchanged so that both suites check the same things; its own
 * main is renamed away. Without a GPU the test skips with "no CUDA device: <reason>"; without the
 * golden folder run_golden skips, saying so. */
#define main mim__reference_golden_main
#include "../reference/test-golden.c"
#undef main

#include "cuda-test.h"

static void test_golden_cuda(void)
{
    CT_NEED_CUDA();
#if MIM_HAVE_CUDA
    MT_CHECK(mim_cuda_set_precision(ct_cu, MIM_CUDA_FP32) == MIM_OK);
    MT_CHECK(mim_cuda_set_deterministic(ct_cu, 0) == MIM_OK);
#endif
    run_golden(ct_cu, "cuda");
}

static void test_golden_cuda_deterministic(void)
{
    CT_NEED_CUDA();
#if MIM_HAVE_CUDA
    MT_CHECK(mim_cuda_set_deterministic(ct_cu, 1) == MIM_OK);
#endif
    run_golden(ct_cu, "cuda (deterministic)");
#if MIM_HAVE_CUDA
    MT_CHECK(mim_cuda_set_deterministic(ct_cu, 0) == MIM_OK);
#endif
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    ct_open();
    MT_RUN(test_golden_cuda);
    MT_RUN(test_golden_cuda_deterministic);
    ct_close();
    return mt_done();
}
