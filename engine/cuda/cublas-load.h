/* cublas-load.h: cuBLAS, opened when a CUDA backend is first made rather than linked.
 *
 * libcublas pulls in libcublasLt, whose start-up work took ~0.3 s of every program start
 * (mimica-cli --version included) on a machine that never uses the GPU. The backend calls the
 * few cuBLAS entry points it needs through this table, filled once from
 * libcublas.so.<CUBLAS_VER_MAJOR> (found through the program's run path or LD_LIBRARY_PATH). */
#pragma once

#include <cublas_v2.h>
#include <stddef.h>

typedef struct {
    __typeof__(cublasCreate_v2) *create;
    __typeof__(cublasDestroy_v2) *destroy;
    __typeof__(cublasSetStream_v2) *set_stream;
    __typeof__(cublasSetMathMode) *set_math_mode;
    __typeof__(cublasGetProperty) *get_property;
    __typeof__(cublasGetStatusString) *status_string;
    __typeof__(cublasSgemmStridedBatched) *sgemm_strided_batched;
} mim_cublas_fns;

/* The table, loading the library on the first call (thread-safe). NULL with the reason in err
 * ("cannot load libcublas.so.13: ...") when the library or one of its symbols is missing. */
const mim_cublas_fns *mim__cublas(char *err, size_t err_size);
