/* bench-ops.c: `mimica-bench ops`: GFLOP/s of the model's hot convolutions (forward,
 * backward-data, backward-weights) on each backend, called through the backend table exactly as
 * the engine calls it, printed beside the machine's fp32 GEMM roof measured here with the same
 * thread count. Ends with one JSON line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mim-backend-impl.h"
#include "mim.h"
#include "mimica-bench.h"

typedef struct {
    const char *name;
    int n, c_in, c_out, size;
} ops_shape;

/* MODEL.md §3: 64->64 3x3 pad 1 on 44x44 (El, Eb, Dl, Fau, G: most of the step's MACs) and
 * 32->32 3x3 pad 1 on 176x176 (Ef layer 2), batch 16. */
static const ops_shape shapes[] = {
    {"conv64_44", 16, 64, 64, 44},
    {"conv32_176", 16, 32, 32, 176},
};
#define N_SHAPES  ((int)(sizeof shapes / sizeof shapes[0]))
#define MAX_ITERS 1000

static const char *const pass_names[3] = {"fwd", "bwd_data", "bwd_weights"};

typedef struct {
    const char *backend, *shape, *pass;
    double ms, ms_median, gflops; /* ms: best call; gflops from it (as the roof: best of N) */
} ops_result;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(rng_state >> 40) / (float)(1 << 24) - 0.5f;
}

/* A backend buffer of n floats filled with uniform noise in [-0.5, 0.5). */
static float *buf_new(mim_backend *be, size_t n)
{
    float *host = malloc(n * sizeof *host);
    float *p = be->i->alloc(be, n * sizeof(float));
    if (!host || !p) {
        free(host);
        if (p)
            be->i->free(be, p);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        host[i] = rnd();
    mim_status st = be->i->set(be, p, host, n * sizeof(float));
    free(host);
    if (st != MIM_OK) {
        be->i->free(be, p);
        return NULL;
    }
    return p;
}

/* The table entry, or ref's where the backend leaves it to ref (as the engine does). */
static const mim_backend_i *table_for(const mim_backend *be, int pass)
{
    const mim_backend_i *i = be->i;
    int has = pass == 0   ? i->conv2d_forward != NULL
              : pass == 1 ? i->conv2d_backward_data != NULL
                          : i->conv2d_backward_weights != NULL;
    return has ? i : &mim__ref_backend_i;
}

static mim_status run_pass(mim_backend *be, int pass, const mim_conv_shape *s, float *x, float *w,
                           float *b, float *y, float *dx, float *dw, float *db)
{
    const mim_backend_i *t = table_for(be, pass);
    if (pass == 0)
        return t->conv2d_forward(be, s, y, x, w, b);
    if (pass == 1)
        return t->conv2d_backward_data(be, s, dx, y, w);
    return t->conv2d_backward_weights(be, s, dw, db, x, y);
}

/* Times one shape on one backend: one warm-up call (builds and caches primitives), then iters
 * calls; the best and the median go to res[0..2]. The best call is compared with the best GEMM
 * call: on this shared 2-core machine other processes only ever make a call slower. */
static int bench_shape(mim_backend *be, const ops_shape *sh, int iters, ops_result *res)
{
    mim_conv_shape s = {
        .n = sh->n,
        .c_in = sh->c_in,
        .h_in = sh->size,
        .w_in = sh->size,
        .c_out = sh->c_out,
        .h_out = sh->size,
        .w_out = sh->size,
        .k_h = 3,
        .k_w = 3,
        .stride_h = 1,
        .stride_w = 1,
        .pad_h = 1,
        .pad_w = 1,
        .groups = 1,
    };
    size_t n_x = (size_t)s.n * s.c_in * s.h_in * s.w_in;
    size_t n_y = (size_t)s.n * s.c_out * s.h_out * s.w_out;
    size_t n_w = (size_t)s.c_out * s.c_in * s.k_h * s.k_w;
    double flop = 2.0 * (double)n_y * s.c_in * s.k_h * s.k_w;
    float *x = buf_new(be, n_x), *dx = buf_new(be, n_x), *y = buf_new(be, n_y);
    float *w = buf_new(be, n_w), *dw = buf_new(be, n_w), *b = buf_new(be, (size_t)s.c_out);
    float *db = buf_new(be, (size_t)s.c_out);
    float *bufs[] = {x, dx, y, w, dw, b, db};
    int rc = -1;
    if (!x || !dx || !y || !w || !dw || !b || !db) {
        fprintf(stderr, "mimica-bench ops: out of memory (%s)\n", sh->name);
        goto out;
    }
    for (int pass = 0; pass < 3; pass++) {
        double t[MAX_ITERS];
        mim_status st = run_pass(be, pass, &s, x, w, b, y, dx, dw, db);
        for (int k = 0; k < iters && st == MIM_OK; k++) {
            double t0 = now_s();
            st = run_pass(be, pass, &s, x, w, b, y, dx, dw, db);
            if (st == MIM_OK)
                st = be->i->sync(be);
            t[k] = now_s() - t0;
        }
        if (st != MIM_OK) {
            fprintf(stderr, "mimica-bench ops: %s %s %s: %s: %s\n", be->name, sh->name,
                    pass_names[pass], mim_status_str(st), be->err);
            goto out;
        }
        qsort(t, (size_t)iters, sizeof t[0], cmp_double);
        double med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
        res[pass] = (ops_result){be->name,   sh->name,  pass_names[pass],
                                 t[0] * 1e3, med * 1e3, flop / t[0] * 1e-9};
    }
    rc = 0;
out:
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i])
            be->i->free(be, bufs[i]);
    return rc;
}

/* fp32 GEMM roof: best of `reps` square products of size n through the backend's gemm. */
static double gemm_roof(mim_backend *be, int n, int reps)
{
    const mim_backend_i *t = be->i->gemm ? be->i : &mim__ref_backend_i;
    size_t nn = (size_t)n * n;
    float *a = buf_new(be, nn), *b = buf_new(be, nn), *c = buf_new(be, nn);
    double best = 0;
    if (a && b && c && t->gemm(be, 1, 0, 0, n, n, n, 1.0f, a, 0, b, 0, 0.0f, c, 0) == MIM_OK) {
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            if (t->gemm(be, 1, 0, 0, n, n, n, 1.0f, a, 0, b, 0, 0.0f, c, 0) != MIM_OK)
                break;
            be->i->sync(be);
            double gf = 2.0 * n * (double)nn / (now_s() - t0) * 1e-9;
            best = gf > best ? gf : best;
        }
    }
    float *bufs[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (bufs[i])
            be->i->free(be, bufs[i]);
    return best;
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: mimica-bench ops [--backend ref|dnnl|all] [--iters N] [--threads N]\n"
                 "  GFLOP/s of the model's hot convolutions, batch 16, beside the fp32 GEMM roof.\n"
                 "  --iters: timed calls per pass (default 5; the ref backend runs 1 unless\n"
                 "  chosen alone). --threads: dnnl threads (default 2).\n");
}

static int run_ops(int argc, char **argv)
{
    const char *only = "all";
    int iters = 5, threads = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            only = argv[++i];
        } else if (!strcmp(argv[i], "--iters") && i + 1 < argc) {
            iters = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (iters < 1 || iters > MAX_ITERS || threads < 1 ||
        (strcmp(only, "all") && strcmp(only, "ref") && strcmp(only, "dnnl"))) {
        usage(stderr);
        return 2;
    }

    mim_backend *bes[2] = {NULL, NULL};
    int n_be = 0;
    if (!strcmp(only, "all") || !strcmp(only, "dnnl")) {
        bes[n_be] = mim_backend_dnnl_new(threads);
        if (bes[n_be])
            n_be++;
        else if (!strcmp(only, "dnnl")) {
            fprintf(stderr, "mimica-bench ops: the dnnl backend is not available\n");
            return 1;
        }
    }
    if (!strcmp(only, "all") || !strcmp(only, "ref")) {
        bes[n_be] = mim_backend_ref_new();
        if (bes[n_be])
            n_be++;
    }
    if (!n_be) {
        fprintf(stderr, "mimica-bench ops: no backend\n");
        return 1;
    }

    /* The roof on the fastest CPU backend (dnnl's sgemm when built), same threads. */
    int roof_n = strcmp(bes[0]->name, "ref") ? 2048 : 512;
    double roof = gemm_roof(bes[0], roof_n, 5);
    printf("mimica-bench ops: %d threads; fp32 GEMM roof (%s gemm %d^3, best of 5): %.1f GFLOP/s\n",
           threads, bes[0]->name, roof_n, roof);
    printf("%-7s %-11s %-12s %9s %9s %9s %8s\n", "backend", "shape", "pass", "best ms", "median ms",
           "GFLOP/s", "of roof");

    ops_result res[2 * N_SHAPES * 3];
    int n_res = 0, rc = 0;
    for (int b = 0; b < n_be && !rc; b++) {
        int it = (!strcmp(bes[b]->name, "ref") && !strcmp(only, "all")) ? 1 : iters;
        for (int s = 0; s < N_SHAPES && !rc; s++) {
            if (bench_shape(bes[b], &shapes[s], it, &res[n_res])) {
                rc = 1;
                break;
            }
            for (int p = 0; p < 3; p++, n_res++)
                printf("%-7s %-11s %-12s %9.2f %9.2f %9.1f %8.2f\n", res[n_res].backend,
                       res[n_res].shape, res[n_res].pass, res[n_res].ms, res[n_res].ms_median,
                       res[n_res].gflops, roof > 0 ? res[n_res].gflops / roof : 0.0);
            fflush(stdout);
        }
    }
    /* A second roof measurement shows whether the machine's load changed during the run. */
    double roof_end = gemm_roof(bes[0], roof_n, 5);
    printf("GEMM roof at the end: %.1f GFLOP/s%s\n", roof_end,
           roof_end < 0.9 * roof || roof_end > 1.1 * roof
               ? " (differs by more than 10%: the machine's load changed, rerun)"
               : "");
    printf("{\"bench\":\"ops\",\"threads\":%d,\"iters\":%d,\"gemm_roof_gflops\":%.1f,"
           "\"gemm_roof_end_gflops\":%.1f,\"gemm_n\":%d,\"results\":[",
           threads, iters, roof, roof_end, roof_n);
    for (int i = 0; i < n_res; i++)
        printf("%s{\"backend\":\"%s\",\"shape\":\"%s\",\"pass\":\"%s\",\"ms\":%.3f,"
               "\"ms_median\":%.3f,\"gflops\":%.2f,\"of_roof\":%.3f}",
               i ? "," : "", res[i].backend, res[i].shape, res[i].pass, res[i].ms, res[i].ms_median,
               res[i].gflops, roof > 0 ? res[i].gflops / roof : 0.0);
    printf("],\"ok\":%s}\n", rc ? "false" : "true");
    for (int b = 0; b < n_be; b++)
        mim_backend_free(bes[b]);
    return rc;
}

const mim_bench_cmd mim_bench_ops = {
    "ops",
    "GFLOP/s of the model's hot convolutions per backend vs the GEMM roof",
    run_ops,
};
