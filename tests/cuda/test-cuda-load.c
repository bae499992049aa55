/* test-cuda-load.c: cuBLAS is opened at run time (engine/cuda/cublas-load.c), not linked. This
 * needs no GPU: the library must open from the run path, every entry point the backend calls must
 * resolve, and it must be the major version the backend was compiled against. */
#include <string.h>

#include "mim-test.h"
#include "mimica-config.h"
#if MIM_HAVE_CUDA
#include "cuda/cublas-load.h"
#endif

static void test_cublas_opens(void)
{
#if MIM_HAVE_CUDA
    char err[384] = "";
    const mim_cublas_fns *f = mim__cublas(err, sizeof err);
    if (!f) {
        MT_FAIL("cuBLAS does not open: %s", err);
        return;
    }
    int major = -1, minor = -1;
    MT_CHECK_INT(f->get_property(MAJOR_VERSION, &major), CUBLAS_STATUS_SUCCESS);
    MT_CHECK_INT(f->get_property(MINOR_VERSION, &minor), CUBLAS_STATUS_SUCCESS);
    MT_NOTE("opened cuBLAS %d.%d; compiled against %d.%d", major, minor, CUBLAS_VER_MAJOR,
            CUBLAS_VER_MINOR);
    MT_CHECK_INT(major, CUBLAS_VER_MAJOR);
    const char *s = f->status_string(CUBLAS_STATUS_NOT_INITIALIZED);
    MT_NOTE("status string of CUBLAS_STATUS_NOT_INITIALIZED: %s", s ? s : "(null)");
    MT_CHECK(s && s[0]);
    MT_CHECK(f->create && f->destroy && f->set_stream && f->set_math_mode &&
             f->sgemm_strided_batched);
    MT_CHECK(mim__cublas(NULL, 0) == f); /* loaded once */
#else
    MT_SKIP("this build has no CUDA backend (configure with -Dcuda=enabled)");
#endif
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_cublas_opens);
    return mt_done();
}
