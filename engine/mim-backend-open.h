/* mim-backend-open.h: making a backend by name, with the reason in words when it cannot be made.
 * mim.h's constructors return NULL and a status; programs that let a user choose a backend
 * (mimica-cli, mimica-bench, the app's preferences) use this to say why a choice is unavailable:
 * "cuda: no CUDA device: ..." on a machine without a GPU, "dnnl: this build has no oneDNN
 * backend ..." in a build without it. */
#pragma once

#include <stddef.h>

#include "mim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the backend `name`: "ref", "dnnl" (all cores), "cuda" (device 0), or "auto" = the best
 * this machine can run (cuda, else dnnl, else ref). NULL or "" reads MIMICA_BACKEND, and means
 * "auto" where that is unset or empty. On failure returns NULL, sets *st (MIM_ERR_ARG for an
 * unknown name, MIM_ERR_UNSUPPORTED when the build or the machine lacks it, MIM_ERR_BACKEND when
 * the library failed) and writes one line "<name>: <reason>" into err. st and err may be NULL. */
mim_backend *mim_backend_open(const char *name, mim_status *st, char *err, size_t err_size);

/* What this build can make, for listings: 1 if the backend `name` was compiled in. */
int mim_backend_compiled(const char *name);

#ifdef __cplusplus
}
#endif
