/* bench-model.c: `mimica-bench train` and `mimica-bench infer`: the AU network's training
 * iteration (MODEL.md §5, weak mode, contrastive terms on, 6 AUs) and its target-path inference
 * (§6) on random data, like ../shared/peer/torch_ref.py --bench-train / --bench-infer: two
 * warm-up runs, then N timed ones; the median is reported. images_per_s counts source and target
 * images for training (2·B per iteration), as torch_ref.py does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "aunet/mim-aunet.h"
#include "aunet/mim-rng.h"
#include "mim-train.h"
#include "mimica-bench.h"

typedef struct {
    int batch, iters, threads;
    int bf16, generic; /* infer: bf16 plan, generic ops instead of the plan */
    const char *backend;
} opts;

static int parse(int argc, char **argv, opts *o, const char *cmd)
{
    o->batch = 16;
    o->iters = 5;
    o->threads = 0;
    o->bf16 = 0;
    o->generic = 0;
    o->backend = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--batch") && v) {
            o->batch = atoi(v);
            i++;
        } else if (!strcmp(a, "--iters") && v) {
            o->iters = atoi(v);
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            o->threads = atoi(v);
            i++;
        } else if (!strcmp(a, "--backend") && v) {
            o->backend = v;
            i++;
        } else if (!strcmp(cmd, "infer") && !strcmp(a, "--bf16")) {
            o->bf16 = 1;
        } else if (!strcmp(cmd, "infer") && !strcmp(a, "--generic")) {
            o->generic = 1;
        } else {
            fprintf(stderr,
                    "Usage: mimica-bench %s [--batch B] [--iters N] [--backend ref|dnnl|cuda] "
                    "[--threads T]%s\n",
                    cmd, strcmp(cmd, "infer") ? "" : " [--bf16] [--generic]");
            return -1;
        }
    }
    if (o->batch < 1 || o->iters < 1) {
        fprintf(stderr, "mimica-bench %s: --batch and --iters must be >= 1\n", cmd);
        return -1;
    }
    return 0;
}

static mim_backend *open_backend(const opts *o)
{
    char why[512] = "";
    mim_backend *be;
    if (o->backend && !strcmp(o->backend, "dnnl") && o->threads > 0)
        be = mim_backend_dnnl_new(o->threads);
    else
        be = mim_backend_open(o->backend, NULL, why, sizeof why);
    if (!be)
        fprintf(stderr, "mimica-bench: %s\n",
                why[0] ? why : "dnnl: cannot start (MIMICA_DEBUG=1 prints oneDNN's reason)");
    return be;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double max_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

static void report(const char *op, const mim_backend *be, const opts *o, double *times,
                   double images_per_iter)
{
    qsort(times, (size_t)o->iters, sizeof *times, cmp_double);
    double med =
        o->iters % 2 ? times[o->iters / 2] : 0.5 * (times[o->iters / 2 - 1] + times[o->iters / 2]);
    printf("%s: backend %s, batch %d, %d timed runs: median %.3f s, min %.3f s, max %.3f s, "
           "%.2f images/s\n",
           op, mim_backend_name(be), o->batch, o->iters, med, times[0], times[o->iters - 1],
           images_per_iter / med);
    printf("{\"op\": \"%s\", \"backend\": \"%s\", \"batch\": %d, \"median_s\": %.6f, "
           "\"images_per_s\": %.4f, \"max_rss_mb\": %.1f}\n",
           op, mim_backend_name(be), o->batch, med, images_per_iter / med, max_rss_mb());
}

static void random_images(mim_rng *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mim_rng_uniform(r) * 2.0 - 1.0);
}

static int run_train(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o, "train"))
        return 2;
    mim_backend *be = open_backend(&o);
    if (!be)
        return 1;
    const int B = o.batch, NA = 6, NL = 49;
    const size_t n_img = (size_t)B * 3 * MIM_AUNET_CROP * MIM_AUNET_CROP;
    float *xs = malloc(n_img * sizeof(float)), *xt = malloc(n_img * sizeof(float));
    int32_t *ls = malloc((size_t)B * NL * sizeof(int32_t));
    int32_t *lt = malloc((size_t)B * NL * sizeof(int32_t));
    float *ys = malloc((size_t)B * NA * sizeof(float)),
          *yt = malloc((size_t)B * NA * sizeof(float));
    double *times = malloc((size_t)o.iters * sizeof(double));
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    mim_trainer *tr = NULL;
    int rc = 1;
    if (!xs || !xt || !ls || !lt || !ys || !yt || !times || !ctx)
        goto out;
    mim_rng r;
    mim_rng_seed(&r, 0);
    random_images(&r, xs, n_img);
    random_images(&r, xt, n_img);
    for (int i = 0; i < B * NL; i++) {
        ls[i] = (int32_t)mim_rng_below(&r, 44 * 44);
        lt[i] = (int32_t)mim_rng_below(&r, 44 * 44);
    }
    for (int i = 0; i < B * NA; i++) {
        ys[i] = mim_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
        yt[i] = mim_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
    }
    float w[6], isum = 0;
    for (int c = 0; c < NA; c++)
        isum += 1.0f / (0.1f + 0.08f * (float)c); /* torch_ref: rates linspace(0.1, 0.5) */
    for (int c = 0; c < NA; c++)
        w[c] = (1.0f / (0.1f + 0.08f * (float)c)) / isum * NA;
    if (mim_aunet_new(ctx, NA, NL, 0, &m) != MIM_OK)
        goto out;
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    if (mim_trainer_new(m, &cfg, w, &tr) != MIM_OK)
        goto out;
    mim_train_batch b = {B, xs, xt, ls, lt, ys, yt};
    mim_train_losses L;
    for (int i = 0; i < 2 + o.iters; i++) {
        double t0 = now();
        if (mim_trainer_step(tr, &b, &L) != MIM_OK) {
            fprintf(stderr, "mimica-bench train: %s\n", mim_trainer_last_error(tr));
            goto out;
        }
        mim_ctx_sync(ctx);
        double dt = now() - t0;
        if (i >= 2)
            times[i - 2] = dt;
        mim_ctx_stats cs;
        mim_ctx_stats_get(ctx, &cs);
        printf("iteration %d%s: %.3f s, G_total %.5f, D_total %.5f, step arena %.0f MB (high "
               "%.0f MB), %ld arena growths so far\n",
               i, i < 2 ? " (warm-up)" : "", dt, L.g_total, L.d_total, cs.step_bytes / 1048576.0,
               cs.step_high_bytes / 1048576.0, cs.n_grow);
        fflush(stdout);
    }
    report("train", be, &o, times, 2.0 * B);
    rc = 0;
out:
    if (rc && ctx && mim_ctx_last_error(ctx)[0])
        fprintf(stderr, "mimica-bench train: %s\n", mim_ctx_last_error(ctx));
    mim_trainer_free(tr);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
    free(xs);
    free(xt);
    free(ls);
    free(lt);
    free(ys);
    free(yt);
    free(times);
    return rc;
}

static int run_infer(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o, "infer"))
        return 2;
    mim_backend *be = open_backend(&o);
    if (!be)
        return 1;
    const int B = o.batch;
    const size_t n_img = (size_t)B * 3 * MIM_AUNET_CROP * MIM_AUNET_CROP;
    float *x = malloc(n_img * sizeof(float)), *prob = malloc((size_t)B * 6 * sizeof(float));
    float *xy = malloc((size_t)B * 49 * 2 * sizeof(float));
    double *times = malloc((size_t)o.iters * sizeof(double));
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    int rc = 1;
    if (!x || !prob || !xy || !times || !ctx)
        goto out;
    mim_rng r;
    mim_rng_seed(&r, 0);
    random_images(&r, x, n_img);
    if (mim_aunet_new(ctx, 6, 49, 0, &m) != MIM_OK)
        goto out;
    mim_aunet_set_plan(m, !o.generic);
    if (o.bf16 && mim_aunet_set_precision(m, MIM_PRECISION_BF16) != MIM_OK) {
        fprintf(stderr, "mimica-bench infer: %s\n", mim_aunet_last_error(m));
        goto out;
    }
    for (int i = 0; i < 2 + o.iters; i++) {
        double t0 = now();
        if (mim_aunet_infer(m, x, B, MIM_AUNET_PATH_TARGET, prob, NULL, xy) != MIM_OK)
            goto out;
        mim_ctx_sync(ctx);
        double dt = now() - t0;
        if (i >= 2)
            times[i - 2] = dt;
    }
    printf("first image: AU probabilities %.4f %.4f %.4f %.4f %.4f %.4f, landmark 0 at (%g, %g)\n",
           prob[0], prob[1], prob[2], prob[3], prob[4], prob[5], xy[0], xy[1]);
    printf("path: %s, %s\n", mim_aunet_plan_used(m) ? "inference plan" : mim_aunet_plan_status(m),
           mim_aunet_precision(m) == MIM_PRECISION_BF16 ? "bf16" : "fp32");
    report("infer", be, &o, times, (double)B);
    rc = 0;
out:
    if (rc && ctx && mim_ctx_last_error(ctx)[0])
        fprintf(stderr, "mimica-bench infer: %s\n", mim_ctx_last_error(ctx));
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
    free(x);
    free(prob);
    free(xy);
    free(times);
    return rc;
}

const mim_bench_cmd mim_bench_train = {
    "train", "AU network training iteration (--batch B --iters N [--backend X])", run_train};
const mim_bench_cmd mim_bench_infer = {
    "infer",
    "AU network inference, target path (--batch B --iters N [--backend X] [--bf16] [--generic])",
    run_infer};
