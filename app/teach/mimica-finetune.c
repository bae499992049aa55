/* mimica-finetune.c: the job kind "fine-tune" (mimica-finetune.h). */
#include "mimica-finetune.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "aunet/mim-json.h"
#include "mim-fit.h"
#include "mim-heads.h"
#include "mim-metrics.h"
#include "mim-pack.h"
#include "mim-sample.h"
#include "mim-version.h"
#include "mimica-error.h"
#include "jobs/mimica-threads.h"
#include "mimica-teach-data.h"
#include "store/mimica-store-models.h"

#define HELDOUT_FRACTION 0.2
#define FEATURE_BATCH    8

static char *json_quote(const char *s)
{
    size_t need = mim_json_quote(NULL, 0, NULL, s, strlen(s)), len = 0;
    char *q = g_malloc(need + 1);
    mim_json_quote(q, need + 1, &len, s, strlen(s));
    q[len] = 0;
    return q;
}

char *mimica_finetune_parameters(const char *mode, const char *backend, gint64 iters,
                                 gint64 parent_id)
{
    GString *s = g_string_new("{");
    const char *sep = "";
    if (mode) {
        g_autofree char *q = json_quote(mode);
        g_string_append_printf(s, "\"mode\": %s", q);
        sep = ", ";
    }
    if (backend) {
        g_autofree char *q = json_quote(backend);
        g_string_append_printf(s, "%s\"backend\": %s", sep, q);
        sep = ", ";
    }
    if (iters > 0) {
        g_string_append_printf(s, "%s\"iters\": %" G_GINT64_FORMAT, sep, iters);
        sep = ", ";
    }
    if (parent_id > 0)
        g_string_append_printf(s, "%s\"parent\": %" G_GINT64_FORMAT, sep, parent_id);
    g_string_append_c(s, '}');
    return g_string_free(s, FALSE);
}

typedef struct {
    gboolean full;
    char *backend;
    gint64 iters, parent;
} Params;

static void params_clear(Params *p)
{
    g_free(p->backend);
}

static gboolean parse_params(const char *text, Params *p, GError **error)
{
    memset(p, 0, sizeof *p);
    mim_json_doc *doc = NULL;
    char err[256];
    if (mim_json_parse(text, strlen(text), &doc, err, sizeof err)) {
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "fine-tune job: bad parameters: %s", err);
        return FALSE;
    }
    const mim_json *root = mim_json_root(doc), *v;
    gboolean ok = root->type == MIM_JSON_OBJECT;
    if (ok && (v = mim_json_get(root, "mode"))) {
        ok = v->type == MIM_JSON_STRING && (!strcmp(v->str, "quick") || !strcmp(v->str, "full"));
        p->full = ok && !strcmp(v->str, "full");
    }
    if (ok && (v = mim_json_get(root, "backend"))) {
        ok = v->type == MIM_JSON_STRING;
        p->backend = ok ? g_strdup(v->str) : NULL;
    }
    if (ok && (v = mim_json_get(root, "iters"))) {
        ok = v->type == MIM_JSON_NUMBER && v->number == floor(v->number) && v->number >= 1 &&
             v->number <= 10000000;
        p->iters = ok ? (gint64)v->number : 0;
    }
    if (ok && (v = mim_json_get(root, "parent"))) {
        ok = v->type == MIM_JSON_NUMBER && v->number == floor(v->number) && v->number >= 1;
        p->parent = ok ? (gint64)v->number : 0;
    }
    mim_json_doc_free(doc);
    if (!ok)
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "fine-tune job: parameters are {\"mode\": \"quick\"|\"full\", \"backend\": "
                    "string, \"iters\": whole number >= 1, \"parent\": model id}");
    return ok;
}

/* The parent: the given id, or the model of the most recent analysis with a model file. TRUE
 * with row->id 0 when no parent was named and no analysis of the project used a network model
 * file (the job then starts from a fresh network, fresh_parent). */
static gboolean find_parent(MimicaStore *store, gint64 wanted, MimicaModelRow *row, GError **error)
{
    memset(row, 0, sizeof *row);
    if (wanted) {
        if (!mimica_store_models_get(store, wanted, row, error))
            return FALSE;
    } else {
        g_autoptr(GArray) ids = mimica_store_list_videos(store, error);
        if (!ids)
            return FALSE;
        gint64 best = 0;
        for (guint i = 0; i < ids->len; i++) {
            gint64 m =
                mimica_store_models_latest_analysis(store, g_array_index(ids, gint64, i), error);
            if (m < 0)
                return FALSE;
            MimicaModelRow r;
            if (m > best && mimica_store_models_get(store, m, &r, NULL)) {
                if (r.file && *r.file && g_file_test(r.file, G_FILE_TEST_IS_REGULAR))
                    best = m;
                mimica_model_row_clear(&r);
            }
        }
        if (!best)
            return TRUE;
        if (!mimica_store_models_get(store, best, row, error))
            return FALSE;
    }
    if (!row->file || !*row->file || !g_file_test(row->file, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND,
                    "model %" G_GINT64_FORMAT " (%s) has no model file to start from", row->id,
                    row->name && *row->name ? row->name : "unnamed");
        mimica_model_row_clear(row);
        return FALSE;
    }
    return TRUE;
}

/* No analysis of the project used a network: the parent is an untrained AU network
 * (mim_aunet_new, seed MIMICA_FINETUNE_FRESH_SEED) for AU_LIST, the AUs the labels use, written
 * beside the project as untrained-seed<S>-au<list>.safetensors and registered as a model without
 * a parent (named like an analysis names a model file, so that analysing with it finds the same
 * row). A file and row of that name that exist already are used again: a resumed job and later
 * fine-tunes of the same AUs start from the same network. */
static gboolean fresh_parent(MimicaStore *store, const char *dir, const char *au_list,
                             const char *backend, MimicaModelRow *row, GError **error)
{
    int aus[MIM_PACK_MAX_AU];
    char err[512];
    int n_aus = mim_pack_parse_au_list(au_list, aus, MIM_PACK_MAX_AU, err, sizeof err);
    if (n_aus < 1 || n_aus > MIM_AUNET_MAX_AU) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "fresh network for AUs %s: %s",
                    au_list, n_aus < 1 ? err : "too many AUs");
        return FALSE;
    }
    g_autofree char *tag = g_strdelimit(g_strdup(au_list), ",", '-');
    g_autofree char *base =
        g_strdup_printf("untrained-seed%d-au%s.safetensors", MIMICA_FINETUNE_FRESH_SEED, tag);
    g_autofree char *path = g_build_filename(dir, base, NULL);
    GError *local = NULL;
    gint64 id = mimica_store_find_model(store, path, base, &local);
    if (local) {
        g_propagate_error(error, local);
        return FALSE;
    }
    if (!id || !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        mim_fit_model fm;
        if (mim_fit_model_open(&fm, backend, NULL, au_list, MIMICA_FINETUNE_FRESH_SEED, err,
                               sizeof err)) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
            return FALSE;
        }
        g_snprintf(fm.info.provenance, sizeof fm.info.provenance,
                   "untrained start, seed %d: a fresh AU network (mimica fine-tune, engine %s) for "
                   "the AUs labelled in %s, none of whose analyses used a network model",
                   MIMICA_FINETUNE_FRESH_SEED, mim_version(), mimica_store_get_path(store));
        mim_status st = mim_aunet_save(fm.net, path, &fm.info);
        if (st != MIM_OK)
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_IO, "%s", mim_aunet_last_error(fm.net));
        mim_fit_model_close(&fm);
        if (st != MIM_OK)
            return FALSE;
    }
    if (!id) {
        g_autofree char *metrics =
            g_strdup_printf("{\"start\": \"untrained\", \"seed\": %d}", MIMICA_FINETUNE_FRESH_SEED);
        id = mimica_store_add_model(store, path, base, 0, aus, n_aus, metrics, error);
        if (!id)
            return FALSE;
    }
    return mimica_store_models_get(store, id, row, error);
}

/* Splits the labelled pack by time per video into train and held-out packs. */
static gboolean split_pack(const char *all, const char *train, const char *heldout, long *n_train,
                           long *n_heldout, GError **error)
{
    char err[512];
    mim_pack *p = mim_pack_open(all, err, sizeof err);
    if (!p) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s", err);
        return FALSE;
    }
    mim_pack_writer *wt =
        mim_pack_writer_new(train, mim_pack_au_list(p), "fine-tune train", err, sizeof err);
    mim_pack_writer *wh = wt ? mim_pack_writer_new(heldout, mim_pack_au_list(p),
                                                   "fine-tune held-out", err, sizeof err)
                             : NULL;
    gboolean ok = wt && wh;
    long n = mim_pack_n(p);
    for (long i0 = 0; ok && i0 < n;) {
        long i1 = i0; /* one video: records [i0, i1), in frame order */
        while (i1 < n && mim_pack_subject(p, i1) == mim_pack_subject(p, i0))
            i1++;
        long len = i1 - i0, n_h = (long)floor(len * HELDOUT_FRACTION + 0.5);
        if (len >= 2 && n_h < 1)
            n_h = 1;
        if (n_h >= len)
            n_h = len - 1;
        for (long i = i0; ok && i < i1; i++) {
            mim_pack_writer *w = i >= i1 - n_h ? wh : wt;
            ok = !mim_pack_writer_add(w, mim_pack_image(p, i), mim_pack_landmarks(p, i),
                                      mim_pack_labels(p, i), mim_pack_subject(p, i),
                                      mim_pack_source(p, i), err, sizeof err);
        }
        i0 = i1;
    }
    if (ok) {
        *n_train = mim_pack_writer_n(wt);
        *n_heldout = mim_pack_writer_n(wh);
    }
    if (ok && (*n_train < 1 || *n_heldout < 1)) {
        g_snprintf(err, sizeof err,
                   "fine-tuning needs at least two corrected frames (one to learn from, one to "
                   "check on); this project has %ld",
                   n);
        ok = FALSE;
    }
    if (ok) {
        int r1 = mim_pack_writer_finish(wt, err, sizeof err);
        int r2 = mim_pack_writer_finish(wh, r1 ? NULL : err, r1 ? 0 : sizeof err);
        wt = wh = NULL;
        ok = !r1 && !r2;
    }
    mim_pack_writer_abort(wt);
    mim_pack_writer_abort(wh);
    mim_pack_close(p);
    if (!ok)
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
    return ok;
}

typedef struct {
    int n_aus;
    int aus[MIM_PACK_MAX_AU];
    double f1[MIM_PACK_MAX_AU];
    long n_labelled[MIM_PACK_MAX_AU];
    double mean;
} Scores;

static void scores_from_counts(const mim_au_counts *c, const int *aus, int n_aus, Scores *s)
{
    memset(s, 0, sizeof *s);
    s->n_aus = n_aus;
    memcpy(s->aus, aus, sizeof(int) * (size_t)n_aus);
    int n = 0;
    for (int a = 0; a < n_aus; a++) {
        s->n_labelled[a] = c->tp[a] + c->fp[a] + c->fn[a] + c->tn[a];
        s->f1[a] = mim_au_f1(c, a);
        if (s->n_labelled[a] > 0) {
            s->mean += s->f1[a];
            n++;
        }
    }
    s->mean = n ? s->mean / n : NAN;
}

static void append_f1(GString *s, const char *key, const Scores *sc)
{
    g_string_append_printf(s, "\"%s\": {", key);
    const char *sep = "";
    for (int a = 0; a < sc->n_aus; a++)
        if (sc->n_labelled[a] > 0) {
            g_string_append_printf(s, "%s\"%d\": %.6f", sep, sc->aus[a], sc->f1[a]);
            sep = ", ";
        }
    g_string_append(s, "}");
}

typedef struct {
    MimicaJob *job;
    gint64 base, total;
} FullProgress;

static int on_full_progress(void *user, const mim_fit_progress *p)
{
    FullProgress *fp = user;
    g_autofree char *text = g_strdup_printf("training, step %ld of %ld (G %.3f, AU %.3f)", p->step,
                                            p->n_steps, p->losses.g_total, p->losses.au);
    mimica_job_progress(fp->job, fp->base + p->step, fp->total, text);
    return mimica_job_is_cancelled(fp->job);
}

/* Full mode trains every AU of the parent; an AU the corrections never label would learn
 * "absent" everywhere, so its own Fau branch (its rows of every fused Fau parameter, BN
 * statistics included) is put back to the parent's. */
static gboolean restore_unlabelled(mim_fit_model *fm, const char *parent_file,
                                   const gboolean *unlabelled, GError **error)
{
    const mim_aunet_layout *l = mim_aunet_get_layout(fm->net);
    mim_fit_model parent;
    char err[512];
    if (mim_fit_model_open(&parent, "ref", parent_file, NULL, 0, err, sizeof err)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
        return FALSE;
    }
    float **now = g_new0(float *, l->n_params), **old = g_new0(float *, l->n_params);
    for (int i = 0; i < l->n_params; i++) {
        now[i] = g_new(float, l->params[i].numel);
        old[i] = g_new(float, l->params[i].numel);
    }
    gboolean ok = mim_aunet_get_params(fm->net, now) == MIM_OK &&
                  mim_aunet_get_params(parent.net, old) == MIM_OK;
    for (int i = 0; ok && i < l->n_params; i++) {
        if (l->params[i].module != MIM_AUNET_FAU)
            continue;
        size_t block = l->params[i].numel / (size_t)l->n_au; /* fused along the first dim */
        for (int a = 0; a < l->n_au; a++)
            if (unlabelled[a])
                memcpy(now[i] + (size_t)a * block, old[i] + (size_t)a * block,
                       block * sizeof(float));
    }
    ok = ok && mim_aunet_set_params(fm->net, (const float *const *)now) == MIM_OK;
    for (int i = 0; i < l->n_params; i++) {
        g_free(now[i]);
        g_free(old[i]);
    }
    g_free(now);
    g_free(old);
    mim_fit_model_close(&parent);
    if (!ok)
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED,
                    "cannot restore the parent's branches of unlabelled AUs");
    return ok;
}

/* Pooled features (n, A, 64) and mapped labels (n, A) of every record of a pack. */
static gboolean pack_features(MimicaJob *job, mim_fit_model *fm, const mim_pack *p, float **pooled,
                              float **labels, gint64 *done, gint64 total, GError **error)
{
    const int A = fm->n_aus;
    long n = mim_pack_n(p);
    *pooled = g_new(float, (size_t)n *A *MIM_HEADS_DIM);
    *labels = g_new(float, (size_t)n *A);
    for (long i0 = 0; i0 < n; i0 += FEATURE_BATCH) {
        if (mimica_job_is_cancelled(job)) {
            g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_CANCELLED, "cancelled");
            return FALSE;
        }
        long nb = MIN(FEATURE_BATCH, n - i0);
        mim_status st = mim_heads_pack_features(
            fm->net, p, fm->aus, A, i0, nb, MIM_AUNET_PATH_TARGET,
            *pooled + (size_t)i0 * A * MIM_HEADS_DIM, *labels + (size_t)i0 * A);
        if (st != MIM_OK) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "features: %s (%s)",
                        mim_status_str(st), mim_ctx_last_error(fm->ctx));
            return FALSE;
        }
        *done += nb;
        mimica_job_progress(job, *done, total, "computing features");
    }
    return TRUE;
}

static void score_heads(const mim_heads *h, const float *pooled, const float *labels, long n,
                        const int *aus, Scores *s)
{
    const int A = h->n_au;
    float *z = g_new(float, (size_t)n *A);
    mim_heads_logits(h, pooled, n, z);
    for (long i = 0; i < n * A; i++)
        z[i] = (float)(1.0 / (1.0 + exp(-(double)z[i])));
    mim_au_counts c;
    mim_au_counts_reset(&c, A);
    mim_au_counts_add(&c, z, labels, n);
    scores_from_counts(&c, aus, A, s);
    g_free(z);
}

/* Writes the new model file beside the project and registers it; its id, or 0. */
static gint64 save_and_register(MimicaJob *job, mim_fit_model *fm, const MimicaModelRow *parent,
                                gboolean fresh, const Params *p, const Scores *before,
                                const Scores *after, long n_train, long n_held, const char *dir,
                                GError **error)
{
    MimicaStore *store = mimica_job_get_store(job);
    const char *project = mimica_store_get_path(store);
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autofree char *stamp = g_date_time_format(now, "%Y%m%d-%H%M%S");
    g_autofree char *model_path =
        g_strdup_printf("%s/finetune-%" G_GINT64_FORMAT "-%s-job%" G_GINT64_FORMAT ".safetensors",
                        dir, parent->id, stamp, mimica_job_get_id(job));
    mim_aunet_info info = fm->info;
    g_snprintf(info.provenance, sizeof info.provenance,
               "mimica fine-tune (%s, engine %s, backend %s) of model %" G_GINT64_FORMAT
               " (%s) on %ld corrected frames of %s; held-out mean F1 %.4f -> %.4f on %ld frames",
               p->full ? "full" : "quick", mim_version(), mim_backend_name(fm->be), parent->id,
               parent->file, n_train, project, before->mean, after->mean, n_held);
    if (mim_aunet_save(fm->net, model_path, &info) != MIM_OK) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_IO, "%s", mim_aunet_last_error(fm->net));
        return 0;
    }
    g_autoptr(GString) metrics = g_string_new("{");
    append_f1(metrics, "f1_before", before);
    g_string_append(metrics, ", ");
    append_f1(metrics, "f1_after", after);
    g_string_append_printf(metrics,
                           ", \"mean_f1_before\": %.6f, \"mean_f1_after\": %.6f, \"n_train\": %ld, "
                           "\"n_heldout\": %ld, \"mode\": \"%s\", \"decision\": \"pending\"}",
                           isfinite(before->mean) ? before->mean : 0.0,
                           isfinite(after->mean) ? after->mean : 0.0, n_train, n_held,
                           p->full ? "full" : "quick");
    /* named as an analysis names a model file (its base name), so that analysing a video with
     * the kept model finds this row instead of registering the file again */
    g_autofree char *name = g_path_get_basename(model_path);
    gint64 id = mimica_store_add_model(store, model_path, name, parent->id, fm->aus, fm->n_aus,
                                       metrics->str, error);
    if (!id) {
        g_unlink(model_path);
        return 0;
    }
    g_autofree char *start =
        fresh ? g_strdup_printf(
                    "no analysis of this project used a network model, so this "
                    "started from an untrained network for AUs %s (model %" G_GINT64_FORMAT
                    ", seed %d); ",
                    parent->aus, parent->id, MIMICA_FINETUNE_FRESH_SEED)
              : g_strdup("");
    g_autofree char *msg = g_strdup_printf(
        "%smean F1 %.3f -> %.3f on %ld held-out frames (%ld trained); model %" G_GINT64_FORMAT,
        start, before->mean, after->mean, n_held, n_train, id);
    mimica_job_set_message(job, msg);
    return id;
}

/* A model file is written to NAME.tmp-XXXXXX, then renamed (mim_st writer): a kill in between
 * leaves the temporary beside the models. Only this job writes names ending in -job<id>, and
 * it runs once at a time, so what is left of its own earlier runs can go. */
static void remove_job_temporaries(const char *dir, gint64 job_id)
{
    g_autofree char *mark = g_strdup_printf("-job%" G_GINT64_FORMAT ".safetensors.tmp-", job_id);
    GDir *d = g_dir_open(dir, 0, NULL);
    if (!d)
        return;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (!strstr(name, mark))
            continue;
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_remove(path) == 0)
            g_debug("removed %s, left by an interrupted run of this job", path);
    }
    g_dir_close(d);
}

static gboolean finetune_job(MimicaJob *job, gpointer user_data, GError **error)
{
    MimicaStore *store = mimica_job_get_store(job);
    const char *project = mimica_store_get_path(store);
    Params p;
    if (!parse_params(mimica_job_get_parameters(job), &p, error))
        return FALSE;
    /* the backends this thread opens (mim_fit_model_open) and the engine's OpenMP loops run on
     * n_threads threads: MIMICA_THREADS, else the cores the program does not keep for playback */
    int n_threads = 0;
    if (!mimica_threads_for_job(&n_threads, error)) {
        g_prefix_error(error, "fine-tune job: ");
        params_clear(&p);
        return FALSE;
    }
    const int threads_before = mimica_threads_apply(n_threads);
    g_debug("fine-tune job %" G_GINT64_FORMAT ": %d compute threads (%d CPUs, %d reserved)",
            mimica_job_get_id(job), n_threads, mimica_threads_available(),
            mimica_threads_get_reserved());
    gboolean ok = FALSE;
    char err[1024] = "";
    MimicaModelRow parent = {0};
    mim_fit_model fm = {0};
    mim_pack *train = NULL, *held = NULL, *target = NULL;
    float *pooled_t = NULL, *labels_t = NULL, *pooled_h = NULL, *labels_h = NULL;
    mim_heads heads = {0};
    g_autofree char *dir = g_strdup_printf("%s.models", project);
    g_autofree char *work =
        g_strdup_printf("%s/finetune-job-%" G_GINT64_FORMAT, dir, mimica_job_get_id(job));
    g_autofree char *all_path = g_build_filename(work, "corrected.pack", NULL);
    g_autofree char *train_path = g_build_filename(work, "train.pack", NULL);
    g_autofree char *held_path = g_build_filename(work, "heldout.pack", NULL);
    g_autofree char *target_path = g_build_filename(work, "target.pack", NULL);
    g_autofree char *ckpt_path = g_build_filename(work, "full.ckpt", NULL);
    const char *resume = mimica_job_get_resume(job);
    gboolean resuming_full = p.full && strstr(resume, "\"stage\": \"training\"") &&
                             g_file_test(ckpt_path, G_FILE_TEST_IS_REGULAR) &&
                             g_file_test(train_path, G_FILE_TEST_IS_REGULAR);

    /* a run killed after it registered its model but before it saved "done": that model is
     * the result (training again would register a second one) */
    {
        g_autofree char *suffix =
            g_strdup_printf("-job%" G_GINT64_FORMAT ".safetensors", mimica_job_get_id(job));
        g_autoptr(GArray) models = mimica_store_models_list(store, error);
        if (!models)
            goto out;
        for (guint i = 0; i < models->len; i++) {
            const MimicaModelRow *m = &g_array_index(models, MimicaModelRow, i);
            if (!g_str_has_suffix(m->file, suffix) || !g_file_test(m->file, G_FILE_TEST_IS_REGULAR))
                continue;
            char resume_done[96];
            g_snprintf(resume_done, sizeof resume_done,
                       "{\"stage\": \"done\", \"model_id\": %" G_GINT64_FORMAT "}", m->id);
            g_autofree char *msg = g_strdup_printf(
                "model %" G_GINT64_FORMAT " was registered before the job was interrupted", m->id);
            mimica_job_set_message(job, msg);
            ok = mimica_job_save_resume(job, resume_done, error);
            goto out;
        }
    }
    remove_job_temporaries(dir, mimica_job_get_id(job));
    if (!find_parent(store, p.parent, &parent, error))
        goto out;
    const gboolean fresh = parent.id == 0;
    if (g_mkdir_with_parents(work, 0777)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_IO, "cannot create %s: %s", work,
                    g_strerror(errno));
        goto out;
    }
    long n_train = 0, n_held = 0;
    if (!resuming_full) {
        mimica_job_progress(job, 0, 0, "collecting the corrected frames");
        MimicaTeachImport imp;
        if (!mimica_teach_import_project(project, 0, all_path, p.full ? target_path : NULL, 4, &imp,
                                         mimica_job_get_cancellable(job), error) ||
            !split_pack(all_path, train_path, held_path, &n_train, &n_held, error))
            goto out;
        g_unlink(all_path);
    }
    if (!(train = mim_pack_open(train_path, err, sizeof err)) ||
        !(held = mim_pack_open(held_path, err, sizeof err))) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s", err);
        goto out;
    }
    n_train = mim_pack_n(train);
    n_held = mim_pack_n(held);
    if (fresh) {
        mimica_job_progress(job, 0, 0,
                            "no network analysis: starting from an untrained network for the "
                            "labelled AUs");
        if (!fresh_parent(store, dir, mim_pack_au_list(train), p.backend, &parent, error))
            goto out;
    }
    if (mim_fit_model_open(&fm, p.backend, parent.file, NULL, 0, err, sizeof err)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
        goto out;
    }
    const int A = fm.n_aus;
    Scores before, after;
    gint64 done = 0;
    if (!p.full) {
        gint64 total = n_train + n_held;
        if (!pack_features(job, &fm, train, &pooled_t, &labels_t, &done, total, error) ||
            !pack_features(job, &fm, held, &pooled_h, &labels_h, &done, total, error))
            goto out;
        if (mim_heads_get(fm.net, &heads) != MIM_OK) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "cannot read the AU heads");
            goto out;
        }
        score_heads(&heads, pooled_h, labels_h, n_held, fm.aus, &before);
        float w[MIM_PACK_MAX_AU];
        mim_sample_au_weights(labels_t, n_train, A, w);
        mim_heads_options ho;
        mim_heads_options_default(&ho);
        if (p.iters > 0)
            ho.epochs = (int)p.iters;
        ho.au_weight = w;
        mimica_job_progress(job, done, total, "training the AU heads");
        mim_heads_train(&heads, pooled_t, labels_t, n_train, &ho);
        score_heads(&heads, pooled_h, labels_h, n_held, fm.aus, &after);
        if (mim_heads_set(fm.net, &heads) != MIM_OK) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "cannot write the AU heads");
            goto out;
        }
    } else {
        mim_fit_eval_result *r = g_new0(mim_fit_eval_result, 1);
        if (mim_fit_eval(fm.net, held, fm.aus, A, MIM_AUNET_PATH_TARGET, 8, r, err, sizeof err) !=
            MIM_OK) {
            g_free(r);
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
            goto out;
        }
        scores_from_counts(&r->counts, fm.aus, A, &before);
        target = mim_pack_open(target_path, err, sizeof err);
        if (target && mim_pack_n(target) < 4) {
            mim_pack_close(target);
            target = NULL;
        }
        mim_fit_options o;
        mim_fit_options_default(&o);
        o.n_aus = A;
        memcpy(o.aus, fm.aus, sizeof o.aus);
        o.batch = (int)MIN(4, n_train);
        o.iters = p.iters > 0 ? p.iters : 200;
        o.checkpoint = ckpt_path;
        o.checkpoint_every = CLAMP(o.iters / 20, 1, 20); /* a crash loses at most 20 steps */
        o.resume = resuming_full ? ckpt_path : NULL;
        o.allow_unlabelled_aus = 1;
        gboolean unlabelled[MIM_PACK_MAX_AU];
        int map[MIM_PACK_MAX_AU];
        mim_pack_au_map(train, fm.aus, A, map);
        for (int a = 0; a < A; a++) {
            unlabelled[a] = TRUE;
            for (long i = 0; map[a] >= 0 && i < n_train && unlabelled[a]; i++)
                unlabelled[a] = mim_pack_labels(train, i)[map[a]] == MIM_AU_MISSING;
        }
        FullProgress fp = {job, 0, o.iters};
        o.progress = on_full_progress;
        o.user = &fp;
        if (!resuming_full && !mimica_job_save_resume(job, "{\"stage\": \"training\"}", error)) {
            g_free(r);
            goto out;
        }
        mim_status st =
            mim_fit_train(fm.net, train, target ? target : train, &o, &fm.info, err, sizeof err);
        if (st != MIM_OK) {
            g_free(r);
            if (mimica_job_is_cancelled(job))
                g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_CANCELLED, "%s", err);
            else
                g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
            goto out;
        }
        if (!restore_unlabelled(&fm, parent.file, unlabelled, error)) {
            g_free(r);
            goto out;
        }
        if (mim_fit_eval(fm.net, held, fm.aus, A, MIM_AUNET_PATH_TARGET, 8, r, err, sizeof err) !=
            MIM_OK) {
            g_free(r);
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
            goto out;
        }
        scores_from_counts(&r->counts, fm.aus, A, &after);
        g_free(r);
    }

    /* the new model beside the project, then its row */
    gint64 id = save_and_register(job, &fm, &parent, fresh, &p, &before, &after, n_train, n_held,
                                  dir, error);
    if (!id)
        goto out;
    char resume_done[96];
    g_snprintf(resume_done, sizeof resume_done,
               "{\"stage\": \"done\", \"model_id\": %" G_GINT64_FORMAT "}", id);
    ok = mimica_job_save_resume(job, resume_done, error);
out:
    mim_heads_clear(&heads);
    g_free(pooled_t);
    g_free(labels_t);
    g_free(pooled_h);
    g_free(labels_h);
    mim_pack_close(train);
    mim_pack_close(held);
    mim_pack_close(target);
    mim_fit_model_close(&fm);
    mimica_model_row_clear(&parent);
    params_clear(&p);
    mimica_threads_restore(threads_before); /* the runner's thread serves other jobs too */
    if (ok) { /* the work folder is not needed once the model is registered */
        g_unlink(train_path);
        g_unlink(held_path);
        g_unlink(target_path);
        g_unlink(ckpt_path);
        /* and what a killed run left there: the temporary of a checkpoint or pack it was
         * writing (full.ckpt.tmp-*, *.pack.tmp-*), else the folder stays for good */
        GDir *left_dir = g_dir_open(work, 0, NULL);
        const char *left_name;
        while (left_dir && (left_name = g_dir_read_name(left_dir))) {
            g_autofree char *left = g_build_filename(work, left_name, NULL);
            g_unlink(left);
        }
        if (left_dir)
            g_dir_close(left_dir);
        g_rmdir(work);
    }
    return ok;
}

void mimica_finetune_register(MimicaJobRunner *runner)
{
    mimica_job_runner_register(runner, MIMICA_FINETUNE_KIND, finetune_job, NULL, NULL);
}

gint64 mimica_finetune_job_model(MimicaStore *store, gint64 job_id, GError **error)
{
    MimicaJobRow row;
    if (!mimica_store_job_get(store, job_id, &row, error))
        return 0;
    gint64 id = 0;
    const char *k = row.resume ? strstr(row.resume, "\"model_id\": ") : NULL;
    if (k)
        id = g_ascii_strtoll(k + strlen("\"model_id\": "), NULL, 10);
    mimica_job_row_clear(&row);
    return id;
}
