/* cublas-load.c: see cublas-load.h. */
#include "cublas-load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define STR_(x)       #x
#define STR(x)        STR_(x)
#define CUBLAS_SONAME "libcublas.so." STR(CUBLAS_VER_MAJOR)

static mim_cublas_fns fns;
static char load_err[384];
static int loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int sym(void *lib, const char *name, void **out)
{
    *out = dlsym(lib, name);
    if (!*out) {
        snprintf(load_err, sizeof load_err, "%s has no %s (want cuBLAS %d)", CUBLAS_SONAME, name,
                 CUBLAS_VER_MAJOR);
        return -1;
    }
    return 0;
}

static void load(void)
{
    void *lib = dlopen(CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(load_err, sizeof load_err, "cannot load %s: %s", CUBLAS_SONAME,
                 why ? why : "not found");
        return;
    }
    mim_cublas_fns f;
    if (sym(lib, "cublasCreate_v2", (void **)&f.create) ||
        sym(lib, "cublasDestroy_v2", (void **)&f.destroy) ||
        sym(lib, "cublasSetStream_v2", (void **)&f.set_stream) ||
        sym(lib, "cublasSetMathMode", (void **)&f.set_math_mode) ||
        sym(lib, "cublasGetProperty", (void **)&f.get_property) ||
        sym(lib, "cublasGetStatusString", (void **)&f.status_string) ||
        sym(lib, "cublasSgemmStridedBatched", (void **)&f.sgemm_strided_batched)) {
        dlclose(lib);
        return;
    }
    fns = f; /* the library stays open for the life of the process */
    loaded = 1;
}

const mim_cublas_fns *mim__cublas(char *err, size_t err_size)
{
    pthread_once(&once, load);
    if (!loaded && err && err_size)
        snprintf(err, err_size, "%s", load_err);
    return loaded ? &fns : NULL;
}
