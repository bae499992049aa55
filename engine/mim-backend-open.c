/* mim-backend-open.c: backends by name, with reasons (see mim-backend-open.h). */
#include "mim-backend-open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-backend-impl.h"
#include "mimica-config.h"

#ifndef MIM_DNNL_BACKEND
#define MIM_DNNL_BACKEND 0
#endif
#ifndef MIM_CUDA_BACKEND
#define MIM_CUDA_BACKEND 0
#endif
#define WITH_DNNL (MIM_HAVE_DNNL && MIM_DNNL_BACKEND)
#define WITH_CUDA (MIM_HAVE_CUDA && MIM_CUDA_BACKEND)

int mim_backend_compiled(const char *name)
{
    if (!name)
        return 0;
    if (!strcmp(name, "ref"))
        return 1;
    if (!strcmp(name, "dnnl"))
        return WITH_DNNL;
    if (!strcmp(name, "cuda"))
        return WITH_CUDA;
    return 0;
}

static mim_backend *open_dnnl(mim_status *st, char *why, size_t n)
{
#if WITH_DNNL
    mim_backend *be = NULL;
    *st = mim__backend_dnnl_create(0, &be, why, n);
    return *st == MIM_OK ? be : NULL;
#else
    snprintf(why, n,
             "this build has no oneDNN backend (install libdnnl-dev and configure with "
             "-Donednn=enabled)");
    *st = MIM_ERR_UNSUPPORTED;
    return NULL;
#endif
}

static mim_backend *open_cuda(mim_status *st, char *why, size_t n)
{
#if WITH_CUDA
    mim_backend *be = NULL;
    *st = mim__backend_cuda_create(0, &be, why, n);
    return *st == MIM_OK ? be : NULL;
#else
    snprintf(why, n,
             "this build has no CUDA backend (configure with -Dcuda=enabled; it needs "
             "the CUDA toolkit with cuDNN 9 and cuBLAS)");
    *st = MIM_ERR_UNSUPPORTED;
    return NULL;
#endif
}

mim_backend *mim_backend_open(const char *name, mim_status *st, char *err, size_t err_size)
{
    char why[384] = "";
    mim_status s = MIM_OK;
    mim_backend *be = NULL;
    const char *from = "";
    if (!name || !*name) {
        name = getenv("MIMICA_BACKEND");
        from = name && *name ? "MIMICA_BACKEND=" : "";
        if (!name || !*name)
            name = "auto";
    }
    if (!strcmp(name, "ref")) {
        be = mim_backend_ref_new();
        if (!be)
            s = MIM_ERR_NOMEM, snprintf(why, sizeof why, "out of memory");
    } else if (!strcmp(name, "dnnl")) {
        be = open_dnnl(&s, why, sizeof why);
    } else if (!strcmp(name, "cuda")) {
        be = open_cuda(&s, why, sizeof why);
    } else if (!strcmp(name, "auto")) {
        be = open_cuda(&s, why, sizeof why);
        if (!be)
            be = open_dnnl(&s, why, sizeof why);
        if (!be)
            be = mim_backend_ref_new();
        s = be ? MIM_OK : MIM_ERR_NOMEM;
        if (!be)
            snprintf(why, sizeof why, "out of memory");
    } else {
        s = MIM_ERR_ARG;
        snprintf(why, sizeof why, "unknown backend (want ref, dnnl, cuda or auto)");
    }
    if (!be && s == MIM_OK)
        s = MIM_ERR_UNSUPPORTED;
    if (st)
        *st = s;
    if (err && err_size)
        snprintf(err, err_size, "%s", "");
    if (!be && err && err_size)
        snprintf(err, err_size, "%s%s: %s", from, name, why[0] ? why : mim_status_str(s));
    return be;
}
