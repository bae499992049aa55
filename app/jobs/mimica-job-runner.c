/* mimica-job-runner.c: see mimica-job-runner.h. */
#include "mimica-job-runner.h"

#include <string.h>

G_DEFINE_QUARK(mimica - job - error - quark, mimica_job_error)

#define PROGRESS_INTERVAL_US (100 * 1000)      /* messages to the owner */
#define STORE_INTERVAL_US    (2 * 1000 * 1000) /* done/total into the job's row */
#define QUIT                 GSIZE_TO_POINTER(G_MAXSIZE)

typedef struct {
    MimicaJobFunc func;
    gpointer user_data;
    GDestroyNotify destroy;
} Kind;

static void kind_free(gpointer data)
{
    Kind *k = data;
    if (k->destroy)
        k->destroy(k->user_data);
    g_free(k);
}

struct _MimicaJobRunner {
    GObject parent_instance;
    char *path;
    MimicaStore *store;    /* the owner's connection (submit) */
    GMainContext *context; /* the owner's: signals are emitted there */
    GThread *thread;
    GAsyncQueue *queue; /* job ids (as pointers), QUIT */

    GMutex lock;           /* guards what follows */
    GHashTable *kinds;     /* kind -> Kind */
    GHashTable *cancelled; /* ids cancelled before they ran */
    gint64 current;
    GCancellable *current_cancellable;
    gboolean shutting_down;

    GHashTable *finished; /* owner thread only: id -> status (for _wait) */
};

G_DEFINE_FINAL_TYPE(MimicaJobRunner, mimica_job_runner, G_TYPE_OBJECT)

enum { SIGNAL_PROGRESS, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

struct _MimicaJob {
    MimicaJobRunner *runner; /* only its thread-safe parts are used from the job's thread */
    MimicaStore *store;
    MimicaJobRow row;
    GCancellable *cancellable;
    char *text, *message;
    gint64 done, total, done0;
    gint64 t0, last_message, last_store;
};

/* Messages to the owner's context -------------------------------------------------------------- */

typedef struct {
    GWeakRef runner;
    gboolean finished;
    MimicaJobProgress progress; /* progress: kind and text owned */
    gint64 job_id;              /* finished */
    char *status, *message;
} Message;

static void message_free(gpointer data)
{
    Message *m = data;
    g_weak_ref_clear(&m->runner);
    g_free((char *)m->progress.kind);
    g_free((char *)m->progress.text);
    g_free(m->status);
    g_free(m->message);
    g_free(m);
}

static gboolean message_dispatch(gpointer data)
{
    Message *m = data;
    g_autoptr(MimicaJobRunner) self = g_weak_ref_get(&m->runner);
    if (!self)
        return G_SOURCE_REMOVE;
    if (m->finished) {
        g_hash_table_insert(self->finished, g_memdup2(&m->job_id, sizeof m->job_id),
                            g_strdup(m->status));
        g_signal_emit(self, signals[SIGNAL_FINISHED], 0, m->job_id, m->status,
                      m->message ? m->message : "");
    } else {
        g_signal_emit(self, signals[SIGNAL_PROGRESS], 0, &m->progress);
    }
    return G_SOURCE_REMOVE;
}

/* Always through a source on the owner's context: g_main_context_invoke would run the callback
 * right here, on the runner's thread, whenever the owner is not iterating at that moment. */
static void post(MimicaJobRunner *self, Message *m)
{
    g_weak_ref_init(&m->runner, self);
    GSource *source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(source, message_dispatch, m, message_free);
    g_source_set_static_name(source, "mimica-job-message");
    g_source_attach(source, self->context);
    g_source_unref(source);
}

static void post_progress(MimicaJob *job, gboolean final)
{
    Message *m = g_new0(Message, 1);
    gint64 now = g_get_monotonic_time();
    double elapsed = (now - job->t0) / 1e6;
    m->progress.job_id = job->row.id;
    m->progress.kind = g_strdup(job->row.kind);
    m->progress.done = job->done;
    m->progress.total = job->total;
    m->progress.rate = elapsed > 0.2 ? (job->done - job->done0) / elapsed : 0;
    m->progress.eta_s = m->progress.rate > 0 && job->total > 0
                            ? MAX(0, job->total - job->done) / m->progress.rate
                            : -1;
    m->progress.text = g_strdup(job->text ? job->text : "");
    m->progress.final = final;
    post(job->runner, m);
    job->last_message = now;
}

/* The job's side ------------------------------------------------------------------------------ */

gint64 mimica_job_get_id(MimicaJob *job)
{
    return job->row.id;
}

const char *mimica_job_get_kind(MimicaJob *job)
{
    return job->row.kind;
}

const char *mimica_job_get_parameters(MimicaJob *job)
{
    return job->row.parameters;
}

const char *mimica_job_get_resume(MimicaJob *job)
{
    return job->row.resume;
}

MimicaStore *mimica_job_get_store(MimicaJob *job)
{
    return job->store;
}

GCancellable *mimica_job_get_cancellable(MimicaJob *job)
{
    return job->cancellable;
}

gboolean mimica_job_is_cancelled(MimicaJob *job)
{
    return g_cancellable_is_cancelled(job->cancellable);
}

void mimica_job_progress(MimicaJob *job, gint64 done, gint64 total, const char *text)
{
    if (job->done0 < 0)
        job->done0 = done; /* rates count from where a resumed job restarted */
    job->done = done;
    job->total = total;
    if (text && g_strcmp0(text, job->text) != 0) {
        g_free(job->text);
        job->text = g_strdup(text);
    }
    gint64 now = g_get_monotonic_time();
    if (now - job->last_message >= PROGRESS_INTERVAL_US)
        post_progress(job, FALSE);
    if (now - job->last_store >= STORE_INTERVAL_US) {
        job->last_store = now;
        GError *error = NULL;
        if (!mimica_store_job_update(job->store, job->row.id, NULL, done, total, NULL, NULL,
                                     &error)) {
            g_warning("job %lld: %s", (long long)job->row.id, error->message);
            g_error_free(error);
        }
    }
}

gboolean mimica_job_save_resume(MimicaJob *job, const char *resume_json, GError **error)
{
    if (!mimica_store_job_update(job->store, job->row.id, NULL, job->done, job->total, resume_json,
                                 NULL, error))
        return FALSE;
    g_free(job->row.resume);
    job->row.resume = g_strdup(resume_json);
    return TRUE;
}

void mimica_job_set_message(MimicaJob *job, const char *message)
{
    g_free(job->message);
    job->message = g_strdup(message);
}

/* The runner's thread ------------------------------------------------------------------------- */

static void run_one(MimicaJobRunner *self, MimicaStore *store, gint64 id)
{
    MimicaJob job = {.runner = self, .store = store, .done0 = -1};
    GError *error = NULL;
    const char *status = "failed";
    Message *fin = g_new0(Message, 1);
    fin->finished = TRUE;
    fin->job_id = id;
    if (!mimica_store_job_get(store, id, &job.row, &error)) {
        fin->message = g_strdup(error->message);
        goto out;
    }
    if (strcmp(job.row.status, "queued") != 0 && strcmp(job.row.status, "running") != 0) {
        /* ended meanwhile (another runner, or cancelled before it ran): nothing to do */
        fin->message =
            g_strdup_printf("job %lld has already ended (%s)", (long long)id, job.row.status);
        status = job.row.status;
        goto out;
    }
    g_mutex_lock(&self->lock);
    gboolean skip = g_hash_table_remove(self->cancelled, &id);
    Kind *kind = g_hash_table_lookup(self->kinds, job.row.kind);
    if (!skip && !self->shutting_down) {
        job.cancellable = g_cancellable_new();
        self->current = id;
        self->current_cancellable = g_object_ref(job.cancellable);
    }
    gboolean quitting = self->shutting_down;
    g_mutex_unlock(&self->lock);
    if (quitting) {
        status = "interrupted";
        goto out;
    }
    if (skip) {
        status = "cancelled";
    } else if (!kind) {
        g_set_error(&error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_UNKNOWN_KIND,
                    "this program cannot run jobs of kind '%s'", job.row.kind);
    } else if (mimica_store_job_update(store, id, "running", -1, -1, NULL, NULL, &error)) {
        job.t0 = g_get_monotonic_time();
        job.last_store = job.t0;
        gboolean ok = kind->func(&job, kind->user_data, &error);
        g_mutex_lock(&self->lock);
        gboolean interrupted = self->shutting_down;
        self->current = 0;
        g_clear_object(&self->current_cancellable);
        g_mutex_unlock(&self->lock);
        if (g_cancellable_is_cancelled(job.cancellable))
            status = interrupted ? "interrupted" : "cancelled";
        else if (ok)
            status = "done";
        post_progress(&job, TRUE);
    }
    if (error && strcmp(status, "failed") == 0)
        fin->message = g_strdup(error->message);
    else
        fin->message = g_strdup(job.message ? job.message : "");
    /* the row: an interrupted job goes back to 'queued' and keeps its resume data */
    GError *store_error = NULL;
    const char *row_status = strcmp(status, "interrupted") == 0 ? "queued" : status;
    if (!mimica_store_job_update(store, id, row_status, job.done0 >= 0 ? job.done : -1,
                                 job.done0 >= 0 ? job.total : -1, NULL, fin->message,
                                 &store_error)) {
        g_warning("job %lld: %s", (long long)id, store_error->message);
        g_error_free(store_error);
    }
out:
    g_mutex_lock(&self->lock);
    if (self->current == id) {
        self->current = 0;
        g_clear_object(&self->current_cancellable);
    }
    g_mutex_unlock(&self->lock);
    fin->status = g_strdup(status);
    post(self, fin);
    g_clear_error(&error);
    g_clear_object(&job.cancellable);
    g_free(job.text);
    g_free(job.message);
    mimica_job_row_clear(&job.row);
}

static gpointer thread_main(gpointer data)
{
    MimicaJobRunner *self = data;
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(self->path, &error);
    for (;;) {
        gpointer item = g_async_queue_pop(self->queue);
        if (item == QUIT)
            break;
        gint64 id = (gint64)GPOINTER_TO_SIZE(item);
        if (store) {
            run_one(self, store, id);
            continue;
        }
        Message *fin = g_new0(Message, 1);
        fin->finished = TRUE;
        fin->job_id = id;
        fin->status = g_strdup("failed");
        fin->message = g_strdup(error->message);
        post(self, fin);
    }
    g_clear_error(&error);
    mimica_store_free(store);
    return NULL;
}

/* The owner's side ---------------------------------------------------------------------------- */

MimicaJobRunner *mimica_job_runner_new(const char *project_path, GError **error)
{
    MimicaStore *store = mimica_store_open(project_path, error);
    if (!store)
        return NULL;
    MimicaJobRunner *self = g_object_new(MIMICA_TYPE_JOB_RUNNER, NULL);
    self->path = g_strdup(project_path);
    self->store = store;
    self->thread = g_thread_new("mimica-jobs", thread_main, self);
    return self;
}

const char *mimica_job_runner_get_project(MimicaJobRunner *self)
{
    return self->path;
}

void mimica_job_runner_register(MimicaJobRunner *self, const char *kind, MimicaJobFunc func,
                                gpointer user_data, GDestroyNotify destroy)
{
    Kind *k = g_new0(Kind, 1);
    k->func = func;
    k->user_data = user_data;
    k->destroy = destroy;
    g_mutex_lock(&self->lock);
    g_hash_table_insert(self->kinds, g_strdup(kind), k);
    g_mutex_unlock(&self->lock);
}

static void push(MimicaJobRunner *self, gint64 id)
{
    g_async_queue_push(self->queue, GSIZE_TO_POINTER((gsize)id));
}

gint64 mimica_job_runner_submit(MimicaJobRunner *self, const char *kind,
                                const char *parameters_json, GError **error)
{
    gint64 id = mimica_store_job_new(self->store, kind, parameters_json, error);
    if (id)
        push(self, id);
    return id;
}

gboolean mimica_job_runner_enqueue(MimicaJobRunner *self, gint64 job_id, GError **error)
{
    MimicaJobRow row;
    if (!mimica_store_job_get(self->store, job_id, &row, error))
        return FALSE;
    gboolean open = !strcmp(row.status, "queued") || !strcmp(row.status, "running");
    if (!open)
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "job %lld has already ended (%s)", (long long)job_id, row.status);
    else
        push(self, job_id);
    mimica_job_row_clear(&row);
    return open;
}

int mimica_job_runner_resume(MimicaJobRunner *self, GError **error)
{
    g_autoptr(GArray) ids = mimica_store_jobs_unfinished(self->store, error);
    if (!ids)
        return -1;
    for (guint i = 0; i < ids->len; i++)
        push(self, g_array_index(ids, gint64, i));
    return (int)ids->len;
}

void mimica_job_runner_cancel(MimicaJobRunner *self, gint64 job_id)
{
    g_mutex_lock(&self->lock);
    if (job_id == 0 || self->current == job_id) {
        if (self->current_cancellable)
            g_cancellable_cancel(self->current_cancellable);
    }
    if (job_id != 0 && self->current != job_id)
        g_hash_table_add(self->cancelled, g_memdup2(&job_id, sizeof job_id));
    g_mutex_unlock(&self->lock);
    if (job_id == 0) {
        /* the queued ones: drain the queue, cancel each */
        gpointer item;
        g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
        while ((item = g_async_queue_try_pop(self->queue))) {
            if (item == QUIT) {
                g_async_queue_push(self->queue, QUIT);
                break;
            }
            gint64 id = (gint64)GPOINTER_TO_SIZE(item);
            g_array_append_val(ids, id);
        }
        g_mutex_lock(&self->lock);
        for (guint i = 0; i < ids->len; i++)
            g_hash_table_add(self->cancelled,
                             g_memdup2(&g_array_index(ids, gint64, i), sizeof(gint64)));
        g_mutex_unlock(&self->lock);
        for (guint i = 0; i < ids->len; i++)
            push(self, g_array_index(ids, gint64, i));
    }
}

gint64 mimica_job_runner_get_current(MimicaJobRunner *self)
{
    g_mutex_lock(&self->lock);
    gint64 id = self->current;
    g_mutex_unlock(&self->lock);
    return id;
}

/* mimica_job_runner_wait keeps the message of the job it waits for */
typedef struct {
    gint64 id;
    char *message;
} WaitCatch;

static void wait_on_finished(MimicaJobRunner *self, gint64 id, const char *status, const char *text,
                             gpointer data)
{
    WaitCatch *c = data;
    if (id == c->id) {
        g_free(c->message);
        c->message = g_strdup(text);
    }
}

char *mimica_job_runner_wait(MimicaJobRunner *self, gint64 job_id, char **message)
{
    g_object_ref(self);
    WaitCatch c = {job_id, NULL};
    gulong handler = g_signal_connect(self, "finished", G_CALLBACK(wait_on_finished), &c);
    while (!g_hash_table_contains(self->finished, &job_id))
        g_main_context_iteration(self->context, TRUE);
    g_signal_handler_disconnect(self, handler);
    char *status = g_strdup(g_hash_table_lookup(self->finished, &job_id));
    if (message)
        *message = c.message;
    else
        g_free(c.message);
    g_object_unref(self);
    return status;
}

void mimica_job_runner_shutdown(MimicaJobRunner *self)
{
    if (!self->thread)
        return;
    g_mutex_lock(&self->lock);
    self->shutting_down = TRUE;
    if (self->current_cancellable)
        g_cancellable_cancel(self->current_cancellable);
    g_mutex_unlock(&self->lock);
    /* queued jobs that have not started stay queued in the project */
    gpointer item;
    while ((item = g_async_queue_try_pop(self->queue)))
        ;
    g_async_queue_push(self->queue, QUIT);
    g_thread_join(self->thread);
    self->thread = NULL;
}

static void mimica_job_runner_dispose(GObject *object)
{
    MimicaJobRunner *self = MIMICA_JOB_RUNNER(object);
    mimica_job_runner_shutdown(self);
    G_OBJECT_CLASS(mimica_job_runner_parent_class)->dispose(object);
}

static void mimica_job_runner_finalize(GObject *object)
{
    MimicaJobRunner *self = MIMICA_JOB_RUNNER(object);
    g_async_queue_unref(self->queue);
    g_hash_table_destroy(self->kinds);
    g_hash_table_destroy(self->cancelled);
    g_hash_table_destroy(self->finished);
    g_mutex_clear(&self->lock);
    mimica_store_free(self->store);
    g_main_context_unref(self->context);
    g_free(self->path);
    G_OBJECT_CLASS(mimica_job_runner_parent_class)->finalize(object);
}

static void mimica_job_runner_class_init(MimicaJobRunnerClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->dispose = mimica_job_runner_dispose;
    object_class->finalize = mimica_job_runner_finalize;
    signals[SIGNAL_PROGRESS] = g_signal_new("progress", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                            0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
    signals[SIGNAL_FINISHED] =
        g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 3, G_TYPE_INT64, G_TYPE_STRING, G_TYPE_STRING);
}

static void mimica_job_runner_init(MimicaJobRunner *self)
{
    g_mutex_init(&self->lock);
    self->queue = g_async_queue_new();
    self->kinds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, kind_free);
    self->cancelled = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    self->finished = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    self->context = g_main_context_ref_thread_default();
}
