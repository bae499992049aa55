/* mim-backend-reg.c: backend construction and selection. ref is always built; dnnl and cuda
 * when their folders provide mim__backend_dnnl_create / mim__backend_cuda_create (their
 * meson.build adds -DMIM_DNNL_BACKEND=1 / -DMIM_CUDA_BACKEND=1 to engine_c_args). */
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

mim_backend *mim__backend_alloc(const mim_backend_i *i, void *state, const char *name, int is_host)
{
    mim_backend *be = calloc(1, sizeof *be);
    if (!be)
        return NULL;
    be->i = i;
    be->state = state;
    be->name = name;
    be->is_host = is_host;
    return be;
}

mim_backend *mim_backend_ref_new(void)
{
    return mim__backend_alloc(&mim__ref_backend_i, NULL, "ref", 1);
}

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

static mim_backend *open_dnnl(int n_threads, mim_status *st, char *why, size_t n)
{
#if WITH_DNNL
    mim_backend *be = NULL;
    *st = mim__backend_dnnl_create(n_threads, &be, why, n);
    return *st == MIM_OK ? be : NULL;
#else
    (void)n_threads;
    snprintf(why, n,
             "this build has no oneDNN backend (install libdnnl-dev and configure with "
             "-Donednn=enabled)");
    *st = MIM_ERR_UNSUPPORTED;
    return NULL;
#endif
}

static mim_backend *open_cuda(int device, mim_status *st, char *why, size_t n)
{
#if WITH_CUDA
    mim_backend *be = NULL;
    *st = mim__backend_cuda_create(device, &be, why, n);
    return *st == MIM_OK ? be : NULL;
#else
    (void)device;
    snprintf(why, n,
             "this build has no CUDA backend (configure with -Dcuda=enabled; it needs "
             "the CUDA toolkit with cuDNN 9 and cuBLAS)");
    *st = MIM_ERR_UNSUPPORTED;
    return NULL;
#endif
}

static void debug_why(const char *name, const char *why)
{
    if (getenv("MIMICA_DEBUG"))
        fprintf(stderr, "mimica engine: %s backend: %s\n", name, why);
}

mim_backend *mim_backend_dnnl_new(int n_threads)
{
    char why[256] = "";
    mim_status st;
    mim_backend *be = open_dnnl(n_threads, &st, why, sizeof why);
    if (!be && st == MIM_ERR_ARG) /* a wrong setting is said even without MIMICA_DEBUG */
        fprintf(stderr, "mimica engine: dnnl backend: %s\n", why);
    else if (!be)
        debug_why("dnnl", why);
    return be;
}

mim_backend *mim_backend_cuda_new(int device, mim_status *st)
{
    char why[256] = "";
    mim_status s;
    mim_backend *be = open_cuda(device, &s, why, sizeof why);
    if (!be)
        debug_why("cuda", why);
    if (st)
        *st = s;
    return be;
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
        s = be ? MIM_OK : MIM_ERR_NOMEM;
    } else if (!strcmp(name, "dnnl")) {
        be = open_dnnl(0, &s, why, sizeof why);
    } else if (!strcmp(name, "cuda")) {
        be = open_cuda(0, &s, why, sizeof why);
    } else if (!strcmp(name, "auto")) {
        be = open_cuda(0, &s, why, sizeof why);
        if (!be)
            be = open_dnnl(0, &s, why, sizeof why);
        /* a missing library falls back; a wrong setting (MIMICA_DNNL_CONV, MIMICA_PRECISION)
         * is the user's error to see */
        if (!be && s != MIM_ERR_ARG)
            be = mim_backend_ref_new();
        if (s != MIM_ERR_ARG)
            s = be ? MIM_OK : MIM_ERR_NOMEM;
    } else {
        s = MIM_ERR_ARG;
        snprintf(why, sizeof why, "unknown backend (want ref, dnnl, cuda or auto)");
    }
    if (!be && s == MIM_OK)
        s = MIM_ERR_UNSUPPORTED;
    if (st)
        *st = s;
    if (err && err_size)
        err[0] = 0;
    if (!be) {
        if (err && err_size)
            snprintf(err, err_size, "%s%s: %s", from, name, why[0] ? why : mim_status_str(s));
        debug_why(name, why[0] ? why : mim_status_str(s));
    }
    return be;
}

mim_status mim_backend_set_precision(mim_backend *be, mim_precision p)
{
    if (p != MIM_PRECISION_F32 && p != MIM_PRECISION_BF16)
        return mim__backend_error(be, MIM_ERR_ARG, "unknown precision %d", (int)p);
#if WITH_DNNL
    if (!strcmp(be->name, "dnnl"))
        return mim__backend_dnnl_set_bf16(be, p == MIM_PRECISION_BF16);
#endif
    if (p == MIM_PRECISION_F32)
        return MIM_OK;
    return mim__backend_error(be, MIM_ERR_UNSUPPORTED,
                              "%s backend: bf16 is available on the dnnl backend only", be->name);
}

mim_precision mim_backend_precision(const mim_backend *be)
{
#if WITH_DNNL
    if (!strcmp(be->name, "dnnl") && mim__backend_dnnl_get_bf16(be))
        return MIM_PRECISION_BF16;
#endif
    (void)be;
    return MIM_PRECISION_F32;
}

int mim_backend_bf16_native(void)
{
#if WITH_DNNL
    return mim__backend_dnnl_bf16_native();
#else
    return 0;
#endif
}

mim_backend *mim_backend_default(mim_status *st)
{
    return mim_backend_open(NULL, st, NULL, 0);
}

void mim_backend_free(mim_backend *be)
{
    if (!be)
        return;
    if (be->i->destroy)
        be->i->destroy(be);
    free(be);
}

const char *mim_backend_name(const mim_backend *be)
{
    return be->name;
}

int mim_backend_is_host(const mim_backend *be)
{
    return be->is_host;
}

int mim_backend_supports(const mim_backend *be, mim_op op)
{
    const mim_backend_i *i = be->i;
    switch (op) {
    case MIM_OP_CONV2D:
        return i->conv2d_forward && i->conv2d_backward_data && i->conv2d_backward_weights;
    case MIM_OP_BATCHNORM:
        return i->batchnorm_forward && i->batchnorm_backward;
    case MIM_OP_INSTANCENORM:
        return i->instancenorm_forward && i->instancenorm_backward;
    case MIM_OP_PRELU:
        return i->prelu_forward && i->prelu_backward;
    case MIM_OP_ACT:
        return i->act_forward && i->act_backward;
    case MIM_OP_AVGPOOL:
        return i->avgpool_forward && i->avgpool_backward;
    case MIM_OP_SOFTMAX:
        return i->softmax_forward && i->softmax_backward;
    case MIM_OP_CHANNEL_SUM:
        return i->channel_sum_forward && i->channel_sum_backward;
    case MIM_OP_GEMM:
        return i->gemm != NULL;
    case MIM_OP_CHANNEL_COPY:
        return i->channel_copy != NULL;
    case MIM_OP_ELEMENTWISE:
        return i->axpby && i->mul && i->add_scalar_grad;
    case MIM_OP_BIAS:
        return i->bias_forward && i->bias_backward;
    case MIM_OP_REDUCE:
        return i->reduce_sum != NULL;
    case MIM_OP_L1:
        return i->l1_forward && i->l1_backward;
    case MIM_OP_MSE:
        return i->mse_forward && i->mse_backward;
    case MIM_OP_BCE_LOGITS:
        return i->bce_logits_forward && i->bce_logits_backward;
    case MIM_OP_CROSS_ENTROPY:
        return i->cross_entropy_forward && i->cross_entropy_backward;
    case MIM_OP_L2NORM:
        return i->l2norm_forward && i->l2norm_backward;
    case MIM_OP_ADAM:
        return i->adam_update != NULL;
    case MIM_OP_COUNT:
        break;
    }
    return 0;
}
