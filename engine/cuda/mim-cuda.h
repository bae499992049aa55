/* mim-cuda.h: the CUDA backend's public queries and switches (built with -Dcuda; MIM_HAVE_CUDA).
 * The backend itself is made with mim_backend_cuda_new() of mim.h.
 *
 * Settings are read from the environment when the backend is made and can be changed afterwards:
 *   MIMICA_CUDA_PRECISION = fp32 (default, the golden reference: true fp32 convolutions and GEMMs,
 *                           no TF32) | tf32 | bf16 | fp16 (convolutions in bf16/fp16 on tensor
 *                           cores with fp32 accumulation; everything else and all weights fp32)
 *   MIMICA_CUDA_DETERMINISTIC = 1: only deterministic cuDNN algorithms (our own kernels never use
 *                           atomics), so two runs give bit-identical results.
 *
 * Threads and devices: the backend owns one stream, one cuDNN and one cuBLAS handle; it is used by
 * one thread at a time (mim.h). Making it selects its device (cudaSetDevice) on the calling
 * thread; a backend on a device other than 0 must be used from a thread whose current device is
 * that one (the thread that made it, typically).
 */
#pragma once

#include <stddef.h>

#include "mim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MIM_CUDA_FP32 = 0, /* strict fp32 (FMA), the default */
    MIM_CUDA_TF32 = 1, /* fp32 data, TF32 tensor cores in convolutions and GEMMs */
    MIM_CUDA_BF16 = 2, /* bf16 convolutions, fp32 accumulation */
    MIM_CUDA_FP16 = 3, /* fp16 convolutions, fp32 accumulation */
} mim_cuda_precision;

/* Checks that `device` can run the backend: a driver, a device, cuDNN >= 9. MIM_OK with a one-line
 * description in msg ("NVIDIA H200 (sm_90, 132 SMs, 140 GiB), driver 13.0, cuDNN 9.19.0,
 * cuBLAS 13.0.0"), else MIM_ERR_UNSUPPORTED (no driver or device) or MIM_ERR_BACKEND with
 * "no CUDA device: <reason>" in msg. */
mim_status mim_cuda_probe(int device, char *msg, size_t msg_size);

/* The description of a CUDA backend's device (as mim_cuda_probe); "" for another backend. */
const char *mim_cuda_describe(const mim_backend *be);

/* Switches of a CUDA backend (MIM_ERR_ARG for another backend). Changing them drops the cached
 * convolution plans; call between steps. */
mim_status mim_cuda_set_precision(mim_backend *be, mim_cuda_precision prec);
mim_cuda_precision mim_cuda_get_precision(const mim_backend *be);
mim_status mim_cuda_set_deterministic(mim_backend *be, int on);
int mim_cuda_get_deterministic(const mim_backend *be);
/* "fp32", "tf32", "bf16", "fp16". */
const char *mim_cuda_precision_name(mim_cuda_precision prec);

#ifdef __cplusplus
}
#endif
