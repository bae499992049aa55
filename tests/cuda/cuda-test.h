/* cuda-test.h: shared helpers of the cuda suite: the CUDA backend or the reason it is absent
 * ("no CUDA device: ..."), and host/device buffer pairs for comparing a backend-table entry of the
 * CUDA backend with the reference backend's on the same inputs. */
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-backend-impl.h"
#include "mim-test.h"
#include "mimica-config.h"
#if MIM_HAVE_CUDA
#include "cuda/mim-cuda.h"
#endif

static mim_backend *ct_cu;  /* the CUDA backend, or NULL */
static mim_backend *ct_ref; /* the reference backend */
static char ct_why[300];    /* why ct_cu is NULL */

/* Makes both backends; ct_why says why there is no CUDA backend. */
static inline void ct_open(void)
{
    ct_ref = mim_backend_ref_new();
    mim_status st = MIM_OK;
    ct_cu = mim_backend_cuda_new(0, &st);
    if (ct_cu) {
#if MIM_HAVE_CUDA
        MT_NOTE("cuda device: %s", mim_cuda_describe(ct_cu));
#endif
        return;
    }
#if MIM_HAVE_CUDA
    char msg[256];
    if (mim_cuda_probe(0, msg, sizeof msg) != MIM_OK)
        snprintf(ct_why, sizeof ct_why, "%s", msg);
    else
        snprintf(ct_why, sizeof ct_why, "no CUDA device: the backend did not start (%s)",
                 mim_status_str(st));
#else
    snprintf(ct_why, sizeof ct_why,
             "no CUDA device: this build has no CUDA backend (configure with -Dcuda=enabled)");
#endif
    MT_NOTE("%s", ct_why);
}

static inline void ct_close(void)
{
    mim_backend_free(ct_cu);
    mim_backend_free(ct_ref);
    ct_cu = ct_ref = NULL;
}

#define CT_NEED_CUDA()                                                                             \
    do {                                                                                           \
        if (!ct_cu)                                                                                \
            MT_SKIP("%.250s", ct_why);                                                             \
    } while (0)

/* ---- random numbers (xorshift64*, seed printed by the tests) ------------------------------ */

static uint64_t ct_rng = 0x9E3779B97F4A7C15ULL;
static inline double ct_unif(void)
{
    ct_rng ^= ct_rng >> 12;
    ct_rng ^= ct_rng << 25;
    ct_rng ^= ct_rng >> 27;
    return (double)((ct_rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- buffer pairs --------------------------------------------------------------------------- */

/* h: host copy the reference computes on; d: device copy the CUDA backend computes on. */
typedef struct {
    float *h, *d;
    size_t n;
} ct_buf;

enum { CT_SYM, CT_POS, CT_UNIT, CT_ZERO };

static inline ct_buf ct_new(size_t n, int kind)
{
    ct_buf b = {malloc((n ? n : 1) * sizeof(float)), NULL, n};
    for (size_t i = 0; i < n; i++) {
        double u = ct_unif();
        b.h[i] = kind == CT_SYM    ? (float)(2 * u - 1)
                 : kind == CT_POS  ? (float)(0.5 + u)
                 : kind == CT_UNIT ? (float)u
                                   : 0.f;
    }
    if (ct_cu) {
        b.d = ct_cu->i->alloc(ct_cu, (n ? n : 1) * sizeof(float));
        if (b.d && n)
            ct_cu->i->set(ct_cu, b.d, b.h, n * sizeof(float));
    }
    return b;
}

static inline void ct_free(ct_buf *b)
{
    free(b->h);
    if (ct_cu && b->d)
        ct_cu->i->free(ct_cu, b->d);
    b->h = b->d = NULL;
}

/* The device copy, downloaded (free it). */
static inline float *ct_pull(const ct_buf *b)
{
    float *g = malloc((b->n ? b->n : 1) * sizeof(float));
    if (ct_cu->i->get(ct_cu, g, b->d, b->n * sizeof(float)) != MIM_OK)
        MT_FAIL("get: %s", ct_cu->err);
    return g;
}

/* Compares device against host copy: max |Δ| / max(1, max |ref|) <= tol. Prints the figures. */
static inline double ct_cmp(const char *what, const ct_buf *b, double tol)
{
    float *g = ct_pull(b);
    double max_ref = 0, max_err = 0;
    size_t worst = 0, first_bad = (size_t)-1;
    for (size_t i = 0; i < b->n; i++)
        max_ref = fmax(max_ref, fabs(b->h[i]));
    double scale = fmax(1.0, max_ref);
    for (size_t i = 0; i < b->n; i++) {
        double e = fabs((double)g[i] - b->h[i]);
        if (isnan(e))
            e = INFINITY;
        if (e > max_err) {
            max_err = e;
            worst = i;
        }
        if (!(e / scale <= tol) && first_bad == (size_t)-1)
            first_bad = i;
    }
    double rel = max_err / scale;
    if (first_bad != (size_t)-1)
        MT_FAIL("%-34s max |err| %.3g (norm. %.3g) at %zu: got %.9g want %.9g > tol %.1g; first "
                "bad %zu, n %zu",
                what, max_err, rel, worst, b->n ? g[worst] : 0.0, b->n ? b->h[worst] : 0.0, tol,
                first_bad, b->n);
    else
        MT_NOTE("%-34s max |err| %.3g (norm. %.3g, tol %.1g, max|ref| %.3g, n %zu)", what, max_err,
                rel, tol, max_ref, b->n);
    free(g);
    return rel;
}

/* Runs a table entry on both backends: P(b) is the host or device pointer of a pair. */
#define CT_BOTH(fn, ...)                                                                           \
    do {                                                                                           \
        for (int ct_side = 0; ct_side < 2; ct_side++) {                                            \
            mim_backend *ct_be = ct_side ? ct_cu : ct_ref;                                         \
            mim_status ct_st = ct_be->i->fn(ct_be, __VA_ARGS__);                                   \
            if (ct_st != MIM_OK)                                                                   \
                MT_FAIL("%s on %s: %s (%s)", #fn, ct_be->name, mim_status_str(ct_st), ct_be->err); \
        }                                                                                          \
    } while (0)
#define P(b) (ct_side ? (b).d : (b).h)
