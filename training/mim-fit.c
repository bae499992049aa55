/* mim-fit.c: training runs and evaluation on packs (mim-fit.h). */
#define _GNU_SOURCE
#include "mim-fit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mim-sample.h"
#include "mim-schedule.h"

#define IMG_FLOATS (3 * MIM_SAMPLE_CROP * MIM_SAMPLE_CROP)

void mim_fit_options_default(mim_fit_options *o)
{
    memset(o, 0, sizeof *o);
    static const int aus[6] = {1, 2, 4, 6, 12, 17};
    o->n_aus = 6;
    memcpy(o->aus, aus, sizeof aus);
    o->batch = 16;
    o->epochs = 10;
    o->checkpoint_every = 100;
    mim_train_config_default(&o->train);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The shuffle generator of (seed, kind, index): kind 0 source epochs, 1 target cycles. */
static void shuffle_for(long *order, long n, uint64_t seed, int kind, long index)
{
    mim_rng r;
    mim_rng_seed(&r, seed * 0x9E3779B97F4A7C15ull + (uint64_t)kind * 0xD1B54A32D192ED03ull +
                         (uint64_t)index);
    mim_pack_shuffle(order, n, &r);
}

static void au_list_string(const int *aus, int n, char *out, size_t size)
{
    out[0] = 0;
    for (int k = 0; k < n; k++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s%d", k ? "," : "", aus[k]);
    }
}

mim_status mim_fit_train(mim_aunet *m, const mim_pack *src, const mim_pack *tgt,
                         const mim_fit_options *o, const mim_aunet_info *info, char *err,
                         size_t err_size)
{
    mim_status st = MIM_OK;
    const int B = o->batch, NA = o->n_aus;
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    long n_src = mim_pack_n(src), n_tgt = mim_pack_n(tgt);
    if (B < 1 || NA != l->n_au || l->n_land != MIM_PACK_N_LAND) {
        mim_errf(err, err_size, "batch %d, %d AUs for a model of %d AUs and %d landmarks", B, NA,
                 l->n_au, l->n_land);
        return MIM_ERR_ARG;
    }
    if (n_src < B || n_tgt < B) {
        mim_errf(err, err_size,
                 "a batch of %d needs at least %d records in each pack (source %ld, target %ld)", B,
                 B, n_src, n_tgt);
        return MIM_ERR_ARG;
    }
    long ipe = n_src / B, ipt = n_tgt / B;
    long n_steps = o->iters > 0 ? o->iters : (long)(o->epochs > 0 ? o->epochs : 10) * ipe;
    int n_epochs = (int)((n_steps + ipe - 1) / ipe);
    int decay_start = n_epochs / 2 > 1 ? n_epochs / 2 : 1; /* 10 epochs: 5, as ADLD */

    int map_s[MIM_PACK_MAX_AU], map_t[MIM_PACK_MAX_AU];
    mim_pack_au_map(src, o->aus, NA, map_s);
    mim_pack_au_map(tgt, o->aus, NA, map_t);
    for (int k = 0; k < NA; k++)
        if (map_s[k] < 0 && !o->allow_unlabelled_aus) {
            mim_errf(err, err_size, "the source pack has no labels of AU %d (it has %s)", o->aus[k],
                     mim_pack_au_list(src));
            return MIM_ERR_ARG;
        }

    /* per-AU loss weights over the source labels (MODEL.md §8), missing ones left out */
    float *all = malloc(sizeof(float) * (size_t)n_src * (size_t)NA);
    float w[MIM_PACK_MAX_AU];
    long *order_s = malloc(sizeof(long) * (size_t)n_src);
    long *order_t = malloc(sizeof(long) * (size_t)n_tgt);
    float *xs = malloc(sizeof(float) * (size_t)B * IMG_FLOATS);
    float *xt = malloc(sizeof(float) * (size_t)B * IMG_FLOATS);
    int32_t *ls = malloc(sizeof(int32_t) * (size_t)B * MIM_PACK_N_LAND);
    int32_t *lt = malloc(sizeof(int32_t) * (size_t)B * MIM_PACK_N_LAND);
    float *ys = malloc(sizeof(float) * (size_t)B * NA),
          *yt = malloc(sizeof(float) * (size_t)B * NA);
    mim_trainer *tr = NULL;
    if (!all || !order_s || !order_t || !xs || !xt || !ls || !lt || !ys || !yt) {
        mim_errf(err, err_size, "out of memory for a batch of %d", B);
        st = MIM_ERR_NOMEM;
        goto out;
    }
    for (long i = 0; i < n_src; i++) {
        const float *lab = mim_pack_labels(src, i);
        for (int k = 0; k < NA; k++)
            all[i * NA + k] = map_s[k] >= 0 ? lab[map_s[k]] : MIM_AU_MISSING;
    }
    mim_sample_au_weights(all, n_src, NA, w);

    st = mim_trainer_new(m, &o->train, w, &tr);
    if (st != MIM_OK) {
        mim_errf(err, err_size, "trainer: %s", mim_status_str(st));
        goto out;
    }
    mim_rng_seed(mim_trainer_rng(tr), o->seed + 1);

    char aus_s[256], state[512];
    au_list_string(o->aus, NA, aus_s, sizeof aus_s);
    snprintf(state, sizeof state,
             "mimica-fit 1 seed=%llu batch=%d n_source=%ld n_target=%ld aus=%s steps=%ld "
             "contrastive=%d mode=%d au_loss=%d",
             (unsigned long long)o->seed, B, n_src, n_tgt, aus_s, n_steps, o->train.contrastive,
             (int)o->train.mode, (int)o->train.au_loss);
    if (o->resume) {
        char saved[2048] = "";
        mim_aunet_info got;
        st = mim_trainer_load(tr, o->resume, &got, saved, sizeof saved);
        if (st != MIM_OK) {
            mim_errf(err, err_size, "resume from %s: %s", o->resume, mim_trainer_last_error(tr));
            goto out;
        }
        if (strcmp(saved, state) != 0) {
            mim_errf(err, err_size,
                     "%s is a checkpoint of another run (\"%s\"); this run is \"%s\"", o->resume,
                     saved, state);
            st = MIM_ERR_ARG;
            goto out;
        }
    }

    double t0 = now_s();
    long epoch_loaded = -1, cycle_loaded = -1;
    for (long k = mim_trainer_n_steps(tr); k < n_steps; k++) {
        long epoch = k / ipe, pos = k % ipe, cycle = k / ipt, tpos = k % ipt;
        if (epoch != epoch_loaded) {
            shuffle_for(order_s, n_src, o->seed, 0, epoch);
            epoch_loaded = epoch;
        }
        if (cycle != cycle_loaded) {
            shuffle_for(order_t, n_tgt, o->seed, 1, cycle);
            cycle_loaded = cycle;
        }
        double factor = mim_schedule_lambda((int)epoch, decay_start, n_epochs);
        mim_trainer_set_lr_factor(tr, factor);
        mim_rng *rng = mim_trainer_rng(tr);
        for (int b = 0; b < B; b++) {
            float *y = ys + (size_t)b * NA;
            mim_pack_train_sample(src, order_s[pos * B + b], rng, map_s, NA,
                                  xs + (size_t)b * IMG_FLOATS, ls + (size_t)b * MIM_PACK_N_LAND, y);
            /* a missing source label trains as absent (the trainer's BCE has no mask) */
            for (int a = 0; a < NA; a++)
                if (y[a] == MIM_AU_MISSING)
                    y[a] = 0.0f;
        }
        for (int b = 0; b < B; b++) {
            float *y = yt + (size_t)b * NA;
            mim_pack_train_sample(tgt, order_t[tpos * B + b], rng, map_t, NA,
                                  xt + (size_t)b * IMG_FLOATS, lt + (size_t)b * MIM_PACK_N_LAND, y);
            for (int a = 0; a < NA; a++)
                if (y[a] == MIM_AU_MISSING)
                    y[a] = 0.0f;
        }
        mim_train_batch batch = {B, xs, xt, ls, lt, ys, yt};
        mim_fit_progress p = {.step = k + 1,
                              .n_steps = n_steps,
                              .epoch = (int)epoch,
                              .n_epochs = n_epochs,
                              .lr_factor = factor};
        st = mim_trainer_step(tr, &batch, &p.losses);
        if (st != MIM_OK) {
            mim_errf(err, err_size, "step %ld: %s", k + 1, mim_trainer_last_error(tr));
            goto out;
        }
        p.seconds = now_s() - t0;
        int cancel = o->progress ? o->progress(o->user, &p) : 0;
        int last = k + 1 == n_steps;
        if (o->checkpoint &&
            (last || cancel || (o->checkpoint_every > 0 && (k + 1) % o->checkpoint_every == 0))) {
            st = mim_trainer_save(tr, o->checkpoint, info, state);
            if (st != MIM_OK) {
                mim_errf(err, err_size, "checkpoint %s: %s", o->checkpoint,
                         mim_trainer_last_error(tr));
                goto out;
            }
        }
        if (cancel && !last) {
            mim_errf(err, err_size, "cancelled after step %ld of %ld", k + 1, n_steps);
            st = MIM_ERR_STATE;
            goto out;
        }
    }
out:
    mim_trainer_free(tr);
    free(all);
    free(order_s);
    free(order_t);
    free(xs);
    free(xt);
    free(ls);
    free(lt);
    free(ys);
    free(yt);
    return st;
}

/* ---- models ------------------------------------------------------------------------------ */

int mim_fit_model_open(mim_fit_model *fm, const char *backend, const char *path,
                       const char *au_list, uint64_t seed, char *err, size_t err_size)
{
    memset(fm, 0, sizeof *fm);
    mim_status st;
    if (path) {
        mim_st_file *f = NULL;
        if (mim_st_open(path, &f, err, err_size) ||
            mim_aunet_file_info(f, &fm->info, err, err_size)) {
            mim_st_close(f);
            return -1;
        }
        mim_st_close(f);
        au_list = fm->info.au_list;
    }
    fm->n_aus = mim_pack_parse_au_list(au_list, fm->aus, MIM_PACK_MAX_AU, err, err_size);
    if (fm->n_aus < 0)
        return -1;
    if (path && fm->n_aus != fm->info.n_au) {
        mim_errf(err, err_size, "%s: au_list names %d AUs, n_au says %d", path, fm->n_aus,
                 fm->info.n_au);
        return -1;
    }
    if (!path) {
        fm->info.n_au = fm->n_aus;
        fm->info.n_land = MIM_PACK_N_LAND;
        char norm[256];
        au_list_string(fm->aus, fm->n_aus, norm, sizeof norm);
        snprintf(fm->info.au_list, sizeof fm->info.au_list, "%s", norm);
    }
    fm->be = mim_backend_open(backend ? backend : "auto", &st, err, err_size);
    if (!fm->be)
        return -1;
    fm->ctx = mim_ctx_new(fm->be);
    if (!fm->ctx ||
        (st = mim_aunet_new(fm->ctx, fm->n_aus, MIM_PACK_N_LAND, seed, &fm->net)) != MIM_OK) {
        mim_errf(err, err_size, "cannot make the network: %s",
                 fm->ctx ? mim_ctx_last_error(fm->ctx) : "out of memory");
        mim_fit_model_close(fm);
        return -1;
    }
    if (path && (st = mim_aunet_load(fm->net, path, &fm->info)) != MIM_OK) {
        mim_errf(err, err_size, "%s", mim_aunet_last_error(fm->net));
        mim_fit_model_close(fm);
        return -1;
    }
    return 0;
}

void mim_fit_model_close(mim_fit_model *fm)
{
    mim_aunet_free(fm->net);
    mim_ctx_free(fm->ctx);
    mim_backend_free(fm->be);
    memset(fm, 0, sizeof *fm);
}

/* ---- evaluation ------------------------------------------------------------------------- */

static double eye_distance(const float *xy)
{
    double l[2] = {0, 0}, r[2] = {0, 0};
    for (int i = 0; i < 6; i++) {
        l[0] += xy[2 * (19 + i)] / 6.0;
        l[1] += xy[2 * (19 + i) + 1] / 6.0;
        r[0] += xy[2 * (25 + i)] / 6.0;
        r[1] += xy[2 * (25 + i) + 1] / 6.0;
    }
    return hypot(r[0] - l[0], r[1] - l[1]);
}

mim_status mim_fit_eval_subset(mim_aunet *m, const mim_pack *p, const long *idx, long n_idx,
                               const int *aus, int n_aus, mim_aunet_path path, int batch,
                               mim_fit_eval_result *r, char *err, size_t err_size)
{
    const mim_aunet_layout *l = mim_aunet_get_layout(m);
    memset(r, 0, sizeof *r);
    if (n_aus != l->n_au || n_aus > MIM_PACK_MAX_AU || batch < 1) {
        mim_errf(err, err_size, "%d AUs for a model of %d AUs", n_aus, l->n_au);
        return MIM_ERR_ARG;
    }
    r->n_aus = n_aus;
    memcpy(r->aus, aus, sizeof(int) * (size_t)n_aus);
    mim_au_counts_reset(&r->counts, n_aus);
    int map[MIM_PACK_MAX_AU];
    mim_pack_au_map(p, aus, n_aus, map);
    float *x = malloc(sizeof(float) * (size_t)batch * IMG_FLOATS);
    float *lab = malloc(sizeof(float) * (size_t)batch * n_aus);
    float *prob = malloc(sizeof(float) * (size_t)batch * n_aus);
    int32_t *land = malloc(sizeof(int32_t) * (size_t)batch * MIM_PACK_N_LAND);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)batch * l->n_land);
    mim_status st = MIM_OK;
    double nme_sum = 0;
    long nme_n = 0;
    if (!x || !lab || !prob || !land || !pred) {
        st = MIM_ERR_NOMEM;
        mim_errf(err, err_size, "out of memory");
        goto out;
    }
    for (long i0 = 0; i0 < n_idx; i0 += batch) {
        int nb = (int)(n_idx - i0 < batch ? n_idx - i0 : batch);
        for (int b = 0; b < nb; b++) {
            long i = idx ? idx[i0 + b] : i0 + b;
            mim_pack_test_sample(p, i, map, n_aus, x + (size_t)b * IMG_FLOATS,
                                 land + (size_t)b * MIM_PACK_N_LAND, lab + (size_t)b * n_aus);
        }
        st = mim_aunet_infer(m, x, nb, path, prob, pred, NULL);
        if (st != MIM_OK) {
            mim_errf(err, err_size, "inference: %s (%s)", mim_status_str(st),
                     mim_ctx_last_error(mim_aunet_get_ctx(m)));
            goto out;
        }
        mim_au_counts_add(&r->counts, prob, lab, nb);
        for (int b = 0; b < nb; b++) {
            long i = idx ? idx[i0 + b] : i0 + b;
            double iod = eye_distance(mim_pack_landmarks(p, i)) / 4.0; /* grid cells */
            if (!(iod > 1e-3))
                continue;
            double s = 0;
            for (int k = 0; k < MIM_PACK_N_LAND; k++) {
                int32_t a = pred[(size_t)b * l->n_land + k], t = land[(size_t)b * 49 + k];
                s += hypot(a % 44 - t % 44, a / 44 - t / 44);
            }
            nme_sum += s / MIM_PACK_N_LAND / iod;
            nme_n++;
        }
    }
    r->n_images = n_idx;
    for (int a = 0; a < n_aus; a++) {
        r->f1[a] = mim_au_f1(&r->counts, a);
        r->accuracy[a] = mim_au_accuracy(&r->counts, a);
    }
    /* means over the AUs the pack labels at least once */
    int n_scored = 0;
    r->mean_f1 = r->mean_accuracy = 0;
    for (int a = 0; a < n_aus; a++) {
        const mim_au_counts *c = &r->counts;
        r->n_labelled[a] = c->tp[a] + c->fp[a] + c->fn[a] + c->tn[a];
        if (r->n_labelled[a] > 0) {
            r->mean_f1 += r->f1[a];
            r->mean_accuracy += r->accuracy[a];
            n_scored++;
        }
    }
    r->mean_f1 = n_scored ? r->mean_f1 / n_scored : NAN;
    r->mean_accuracy = n_scored ? r->mean_accuracy / n_scored : NAN;
    r->nme = nme_n ? nme_sum / (double)nme_n : NAN;
out:
    free(x);
    free(lab);
    free(prob);
    free(land);
    free(pred);
    return st;
}

mim_status mim_fit_eval(mim_aunet *m, const mim_pack *p, const int *aus, int n_aus,
                        mim_aunet_path path, int batch, mim_fit_eval_result *r, char *err,
                        size_t err_size)
{
    return mim_fit_eval_subset(m, p, NULL, mim_pack_n(p), aus, n_aus, path, batch, r, err,
                               err_size);
}
