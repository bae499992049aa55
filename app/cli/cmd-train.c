/* cmd-train.c: `mimica-cli train`: the joint training of MODEL.md §5 on packs (training/mim-fit.h),
 * with progress, atomic checkpoints and exact resume. */
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mim-fit.h"
#include "mim-heads.h"
#include "mim-sample.h"
#include "mim-version.h"
#include "mimica-cli.h"

static const char train_usage[] =
    "Usage: mimica-cli train --source PACK --target PACK -o MODEL [--iters N | --epochs E]\n"
    "                        [--batch B] [--aus LIST] [--backend X] [--no-contrastive]\n"
    "                        [--seed S] [--init MODEL] [--checkpoint FILE]\n"
    "                        [--checkpoint-every N] [--resume CKPT] [--half]\n"
    "       mimica-cli train --heads-only --init MODEL --source PACK -o MODEL [--half]\n"
    "\n"
    "Trains the AU network (MODEL.md) on a labelled source pack and an unlabelled target pack\n"
    "(weak mode: the target's AU labels are not used).\n"
    "\n"
    "  --source PACK         labelled training pack (mimica-cli pack / synth)\n"
    "  --target PACK         target-domain pack (may be the source pack)\n"
    "  -o MODEL              the trained model file (safetensors), written atomically\n"
    "  --iters N             iterations (default: --epochs)\n"
    "  --epochs E            passes over the source (default 10); the learning rate decays\n"
    "                        linearly from half way (ADLD's schedule)\n"
    "  --batch B             source and target images per iteration (default 16)\n"
    "  --aus LIST            AUs to learn, e.g. 1,2,4,6,12,17 (default; with --init: its list)\n"
    "  --backend X           ref, dnnl, cuda or auto (default; MIMICA_BACKEND)\n"
    "  --no-contrastive      plain ADLD (no projectors, no InfoNCE terms)\n"
    "  --seed S              initialisation, shuffles, crops and flips (default 0)\n"
    "  --init MODEL          start from a model file instead of random weights\n"
    "  --checkpoint FILE     checkpoint path (default MODEL.ckpt)\n"
    "  --checkpoint-every N  iterations between checkpoints (default 100; one at the end)\n"
    "  --resume CKPT         continue a run from its checkpoint (same packs and options):\n"
    "                        the result equals the uninterrupted run's on the same backend\n"
    "  --heads-only          quick mode on a pack: every encoder of --init frozen, the AU heads\n"
    "                        refit on the source's labels (a logistic regression per AU over\n"
    "                        the pooled features, as finetune --mode quick); no --target\n"
    "  --half                write MODEL's weights as IEEE half floats (F16: half the size;\n"
    "                        read back into float; checkpoints stay F32)\n"
    "\n"
    "A missing source label trains as absent. Ctrl-C writes a checkpoint and stops.\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli train: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", train_usage);
    return 2;
}

typedef struct {
    gboolean tty;
} progress_state;

static int on_progress(void *user, const mim_fit_progress *p)
{
    progress_state *ps = user;
    if (ps->tty || p->step % 50 == 0 || p->step == p->n_steps || p->step == 1) {
        fprintf(stderr,
                "%sstep %ld/%ld epoch %d/%d lr x%.3f  G %.4f (au %.4f land %.4f)  D %.4f  "
                "%.1f s%s",
                ps->tty ? "\r" : "", p->step, p->n_steps, p->epoch + 1, p->n_epochs, p->lr_factor,
                p->losses.g_total, p->losses.au, p->losses.land, p->losses.d_total, p->seconds,
                ps->tty ? "   " : "\n");
        fflush(stderr);
    }
    return interrupted;
}

static int parse_long(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == 0 || *end || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* --heads-only: the pooled features of every source record once, then the heads. */
static int train_heads(mim_fit_model *fm, const mim_pack *src, const char *source, const char *init,
                       const char *out, gboolean half)
{
    const int A = fm->n_aus;
    const long n = mim_pack_n(src);
    float *pooled = g_try_new(float, (size_t)n *A *MIM_HEADS_DIM);
    float *labels = g_try_new(float, (size_t)n *A);
    mim_heads h = {0};
    int rc = 1;
    if (!pooled || !labels) {
        fprintf(stderr, "mimica-cli train: out of memory for the features of %ld images\n", n);
        goto out;
    }
    fprintf(stderr, "AU heads %s on %s (%ld images, encoders of %s frozen)\n", fm->info.au_list,
            source, n, init);
    gint64 t0 = g_get_monotonic_time();
    for (long i0 = 0; i0 < n; i0 += 64) {
        long nb = MIN(64, n - i0);
        mim_status st = mim_heads_pack_features(
            fm->net, src, fm->aus, A, i0, nb, MIM_AUNET_PATH_TARGET,
            pooled + (size_t)i0 * A * MIM_HEADS_DIM, labels + (size_t)i0 * A);
        if (st != MIM_OK) {
            fprintf(stderr, "mimica-cli train: features: %s (%s)\n", mim_status_str(st),
                    mim_ctx_last_error(fm->ctx));
            goto out;
        }
    }
    fprintf(stderr, "features of %ld images: %.1f s\n", n, (g_get_monotonic_time() - t0) / 1e6);
    if (mim_heads_get(fm->net, &h) != MIM_OK) {
        fprintf(stderr, "mimica-cli train: cannot read the AU heads\n");
        goto out;
    }
    float w[MIM_PACK_MAX_AU];
    mim_sample_au_weights(labels, n, A, w);
    mim_heads_options ho;
    mim_heads_options_default(&ho);
    ho.au_weight = w;
    double loss = mim_heads_train(&h, pooled, labels, n, &ho);
    fprintf(stderr, "heads: %d full-batch steps, final loss %.4f\n", ho.epochs, loss);
    if (mim_heads_set(fm->net, &h) != MIM_OK) {
        fprintf(stderr, "mimica-cli train: cannot write the AU heads\n");
        goto out;
    }
    mim_aunet_info info = fm->info;
    size_t len = strlen(info.provenance);
    snprintf(info.provenance + len, sizeof info.provenance - len,
             "%sAU heads refit (mimica-cli train --heads-only, engine %s) on %s [%s, %ld images]",
             len ? "; then " : "", mim_version(), source, mim_pack_description(src), n);
    info.half = half;
    if (mim_aunet_save(fm->net, out, &info) != MIM_OK) {
        fprintf(stderr, "mimica-cli train: %s\n", mim_aunet_last_error(fm->net));
        goto out;
    }
    printf("wrote %s%s\n", out, half ? " (F16 weights)" : "");
    rc = 0;
out:
    mim_heads_clear(&h);
    g_free(pooled);
    g_free(labels);
    return rc;
}

static int run_train(int argc, char **argv)
{
    const char *source = NULL, *target = NULL, *out = NULL, *aus = NULL, *backend = NULL;
    const char *init = NULL, *ckpt = NULL, *resume = NULL;
    long iters = 0, epochs = 10, batch = 16, seed = 0, every = 100;
    gboolean contrastive = TRUE, half = FALSE, heads_only = FALSE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(train_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--no-contrastive")) {
            contrastive = FALSE;
            continue;
        } else if (!strcmp(a, "--half")) {
            half = TRUE;
            continue;
        } else if (!strcmp(a, "--heads-only")) {
            heads_only = TRUE;
            continue;
        }
        if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--source"))
            source = v;
        else if (!strcmp(a, "--target"))
            target = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--aus"))
            aus = v;
        else if (!strcmp(a, "--backend"))
            backend = v;
        else if (!strcmp(a, "--init"))
            init = v;
        else if (!strcmp(a, "--checkpoint"))
            ckpt = v;
        else if (!strcmp(a, "--resume"))
            resume = v;
        else {
            long *num = !strcmp(a, "--iters")              ? &iters
                        : !strcmp(a, "--epochs")           ? &epochs
                        : !strcmp(a, "--batch")            ? &batch
                        : !strcmp(a, "--seed")             ? &seed
                        : !strcmp(a, "--checkpoint-every") ? &every
                                                           : NULL;
            if (!num)
                return usage_error("unknown option %s", a);
            if (parse_long(v, num))
                return usage_error("bad number '%s'", v);
        }
        i++;
    }
    if (heads_only && (!init || !source || !out || target || resume))
        return usage_error("%s", "--heads-only takes --init, --source and -o (no --target, "
                                 "no --resume)");
    if (!heads_only && (!source || !target || !out))
        return usage_error("%s", "--source, --target and -o are required");
    if (batch < 1 || batch > 4096 || epochs < 1)
        return usage_error("%s", "--batch and --epochs must be at least 1");
    if (!backend)
        backend = getenv("MIMICA_BACKEND");

    char err[1024] = "";
    int rc = 1;
    mim_pack *src = NULL, *tgt = NULL;
    mim_fit_model fm = {0};
    g_autofree char *ckpt_path = ckpt ? g_strdup(ckpt) : g_strdup_printf("%s.ckpt", out);
    if (!(src = mim_pack_open(source, err, sizeof err)) ||
        (target && !(tgt = mim_pack_open(target, err, sizeof err)))) {
        fprintf(stderr, "mimica-cli train: %s\n", err);
        goto done;
    }
    if (mim_fit_model_open(&fm, backend, init, aus ? aus : MIM_AUNET_DEFAULT_AUS, (uint64_t)seed,
                           err, sizeof err)) {
        fprintf(stderr, "mimica-cli train: %s\n", err);
        goto done;
    }
    if (init && aus) {
        fprintf(stderr, "mimica-cli train: --aus cannot change the AU list of --init (%s)\n",
                fm.info.au_list);
        goto done;
    }
    if (heads_only) {
        rc = train_heads(&fm, src, source, init, out, half);
        goto done;
    }
    mim_fit_options o;
    mim_fit_options_default(&o);
    o.n_aus = fm.n_aus;
    memcpy(o.aus, fm.aus, sizeof o.aus);
    o.batch = (int)batch;
    o.iters = iters;
    o.epochs = (int)epochs;
    o.seed = (uint64_t)seed;
    o.train.contrastive = contrastive;
    o.checkpoint = ckpt_path;
    o.checkpoint_every = every;
    o.resume = resume;
    progress_state ps = {.tty = isatty(2)};
    o.progress = on_progress;
    o.user = &ps;

    mim_aunet_info info = fm.info;
    snprintf(info.provenance, sizeof info.provenance,
             "mimica-cli train (engine %s, backend %s): source %s [%s, %ld images], target %s "
             "[%s, %ld images], %s, batch %ld, %s %ld, seed %ld%s%s",
             mim_version(), mim_backend_name(fm.be), source, mim_pack_description(src),
             mim_pack_n(src), target, mim_pack_description(tgt), mim_pack_n(tgt),
             contrastive ? "joint + contrastive" : "ADLD (no contrastive)", batch,
             iters > 0 ? "iterations" : "epochs", iters > 0 ? iters : epochs, seed,
             init ? ", initialised from " : "", init ? init : "");
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigaction(SIGINT, &sa, &old);
    fprintf(stderr, "training %s on %s (backend %s, %ld + %ld images, batch %ld)\n", info.au_list,
            source, mim_backend_name(fm.be), mim_pack_n(src), mim_pack_n(tgt), batch);
    mim_status st = mim_fit_train(fm.net, src, tgt, &o, &info, err, sizeof err);
    sigaction(SIGINT, &old, NULL);
    if (ps.tty)
        fputc('\n', stderr);
    if (st != MIM_OK) {
        fprintf(stderr, "mimica-cli train: %s%s%s\n", err,
                interrupted ? "; resume with --resume " : "", interrupted ? ckpt_path : "");
        goto done;
    }
    info.half = half;
    if (mim_aunet_save(fm.net, out, &info) != MIM_OK) {
        fprintf(stderr, "mimica-cli train: %s\n", mim_aunet_last_error(fm.net));
        goto done;
    }
    printf("wrote %s%s (checkpoint %s)\n", out, half ? " (F16 weights)" : "", ckpt_path);
    rc = 0;
done:
    mim_fit_model_close(&fm);
    mim_pack_close(src);
    mim_pack_close(tgt);
    return rc;
}

const MimicaCliCommand mimica_cli_train = {
    "train",
    "train the AU network on packs (joint step, checkpoints, resume)",
    run_train,
};
