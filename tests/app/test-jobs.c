/* test-jobs.c: the engine thread (app/jobs): jobs run one at a time in order on the runner's
 * thread, progress and the end reach the owner's main context, cancel stops a job between
 * steps, a job interrupted by a shutdown stays queued in the project and resumes where it
 * stopped, an unknown kind fails with a message. A test kind "count" counts to N, one step per
 * millisecond, saving where it is every 10 steps. */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "jobs/mimica-job-runner.h"

typedef struct {
    char *dir, *path;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = g_dir_make_tmp("mimica-jobs-XXXXXX", NULL);
    f->path = g_build_filename(f->dir, "p.mimica", NULL);
    GError *error = NULL;
    MimicaStore *s = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    mimica_store_free(s);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    const char *suffix[] = {"", "-wal", "-shm"};
    for (unsigned i = 0; i < G_N_ELEMENTS(suffix); i++) {
        g_autofree char *p = g_strconcat(f->path, suffix[i], NULL);
        g_unlink(p);
    }
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* What the jobs saw, written on the runner's thread, read after the jobs ended. */
typedef struct {
    GMutex lock;
    GThread *owner;
    gboolean on_owner_thread; /* a job function ran on the owner's thread: wrong */
    int running, max_running; /* jobs running at once */
    GString *order;           /* ids as they started */
    int started_at[8];        /* where each (resumed) run started counting */
    gint64 block_id;          /* this job waits for `release` before counting */
    gboolean release;
} Seen;

static gboolean count_job(MimicaJob *job, gpointer data, GError **error)
{
    Seen *s = data;
    g_mutex_lock(&s->lock);
    s->on_owner_thread |= g_thread_self() == s->owner;
    s->running++;
    s->max_running = MAX(s->max_running, s->running);
    g_string_append_printf(s->order, "%lld ", (long long)mimica_job_get_id(job));
    g_mutex_unlock(&s->lock);
    /* parameters {"n": N}; resume {"at": K} */
    int n = 0, at = 0;
    sscanf(mimica_job_get_parameters(job), "{\"n\": %d}", &n);
    sscanf(mimica_job_get_resume(job), "{\"at\": %d}", &at);
    gint64 id = mimica_job_get_id(job);
    if (id < 8)
        s->started_at[id] = at;
    gboolean ok = TRUE;
    for (int i = at; i < n; i++) {
        for (;;) {
            g_mutex_lock(&s->lock);
            gboolean wait = s->block_id == id && !s->release;
            g_mutex_unlock(&s->lock);
            if (!wait || mimica_job_is_cancelled(job))
                break;
            g_usleep(1000);
        }
        if (mimica_job_is_cancelled(job)) {
            g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_CANCELLED, "cancelled at %d", i);
            ok = FALSE;
            break;
        }
        if (i % 10 == 0) {
            g_autofree char *resume = g_strdup_printf("{\"at\": %d}", i);
            if (!mimica_job_save_resume(job, resume, error)) {
                ok = FALSE;
                break;
            }
        }
        mimica_job_progress(job, i + 1, n, "counting");
        g_usleep(1000);
    }
    if (ok)
        mimica_job_set_message(job, "counted");
    g_mutex_lock(&s->lock);
    s->running--;
    g_mutex_unlock(&s->lock);
    return ok;
}

static Seen *seen_new(void)
{
    Seen *s = g_new0(Seen, 1);
    g_mutex_init(&s->lock);
    s->owner = g_thread_self();
    s->order = g_string_new(NULL);
    return s;
}

static void seen_free(gpointer data)
{
    Seen *s = data;
    g_string_free(s->order, TRUE);
    g_mutex_clear(&s->lock);
    g_free(s);
}

typedef struct {
    int n_progress;
    gboolean final_seen;
    gboolean wrong_thread;
    gint64 last_done;
    gboolean monotone;
    GThread *owner;
} Heard;

static void on_progress(MimicaJobRunner *r, const MimicaJobProgress *p, gpointer data)
{
    Heard *h = data;
    h->wrong_thread |= g_thread_self() != h->owner;
    h->n_progress++;
    h->final_seen |= p->final;
    if (p->done < h->last_done && !p->final)
        h->monotone = FALSE;
    h->last_done = p->done;
}

static char *job_status(const char *path, gint64 id, char **resume)
{
    MimicaStore *s = mimica_store_open(path, NULL);
    MimicaJobRow row;
    g_assert_true(mimica_store_job_get(s, id, &row, NULL));
    char *status = g_strdup(row.status);
    if (resume)
        *resume = g_strdup(row.resume);
    mimica_job_row_clear(&row);
    mimica_store_free(s);
    return status;
}

static void test_order(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaJobRunner) r = mimica_job_runner_new(f->path, &error);
    g_assert_no_error(error);
    Seen *s = seen_new();
    mimica_job_runner_register(r, "analyse", count_job, s, seen_free);
    Heard h = {.monotone = TRUE, .owner = g_thread_self()};
    g_signal_connect(r, "progress", G_CALLBACK(on_progress), &h);
    gint64 ids[3];
    for (int i = 0; i < 3; i++) {
        ids[i] = mimica_job_runner_submit(r, "analyse", "{\"n\": 40}", &error);
        g_assert_no_error(error);
    }
    for (int i = 0; i < 3; i++) {
        g_autofree char *msg = NULL;
        g_autofree char *st = mimica_job_runner_wait(r, ids[i], &msg);
        g_assert_cmpstr(st, ==, "done");
        g_assert_cmpstr(msg, ==, "counted");
        g_autofree char *row = job_status(f->path, ids[i], NULL);
        g_assert_cmpstr(row, ==, "done");
    }
    g_autofree char *want =
        g_strdup_printf("%lld %lld %lld ", (long long)ids[0], (long long)ids[1], (long long)ids[2]);
    g_test_message("started in order '%s'; at most %d at once; %d progress messages, final %d",
                   s->order->str, s->max_running, h.n_progress, h.final_seen);
    g_assert_cmpstr(s->order->str, ==, want);
    g_assert_cmpint(s->max_running, ==, 1);
    g_assert_false(s->on_owner_thread);
    g_assert_false(h.wrong_thread);
    g_assert_true(h.final_seen);
    g_assert_cmpint(h.n_progress, >=, 3);
    /* 40 ms per job at most 10 messages a second: rate-limited, not one per step */
    g_assert_cmpint(h.n_progress, <, 3 * 40);
}

static void test_cancel(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaJobRunner) r = mimica_job_runner_new(f->path, &error);
    Seen *s = seen_new();
    mimica_job_runner_register(r, "analyse", count_job, s, seen_free);
    gint64 a = mimica_job_runner_submit(r, "analyse", "{\"n\": 100000}", &error);
    gint64 b = mimica_job_runner_submit(r, "analyse", "{\"n\": 10}", &error);
    gint64 c = mimica_job_runner_submit(r, "analyse", "{\"n\": 10}", &error);
    g_assert_no_error(error);
    /* cancel the queued one first, then the running one once it runs */
    mimica_job_runner_cancel(r, b);
    while (mimica_job_runner_get_current(r) != a)
        g_usleep(1000);
    gint64 t0 = g_get_monotonic_time();
    mimica_job_runner_cancel(r, a);
    g_autofree char *sa = mimica_job_runner_wait(r, a, NULL);
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    g_autofree char *sb = mimica_job_runner_wait(r, b, NULL);
    g_autofree char *sc = mimica_job_runner_wait(r, c, NULL);
    g_test_message("running job cancelled in %.1f ms; statuses %s %s %s", ms, sa, sb, sc);
    g_assert_cmpstr(sa, ==, "cancelled");
    g_assert_cmpstr(sb, ==, "cancelled");
    g_assert_cmpstr(sc, ==, "done");
    g_autofree char *ra = job_status(f->path, a, NULL);
    g_autofree char *rb = job_status(f->path, b, NULL);
    g_assert_cmpstr(ra, ==, "cancelled");
    g_assert_cmpstr(rb, ==, "cancelled");
    g_assert_cmpfloat(ms, <, 2000);
}

static void test_interrupt_resume(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    gint64 id;
    {
        g_autoptr(MimicaJobRunner) r = mimica_job_runner_new(f->path, &error);
        Seen *s = seen_new();
        mimica_job_runner_register(r, "analyse", count_job, s, seen_free);
        id = mimica_job_runner_submit(r, "analyse", "{\"n\": 200}", &error);
        g_assert_no_error(error);
        /* let it count past a few save points, then quit the runner (as the app does) */
        while (mimica_job_runner_get_current(r) != id)
            g_usleep(1000);
        g_usleep(80 * 1000);
        mimica_job_runner_shutdown(r);
        g_autofree char *st = mimica_job_runner_wait(r, id, NULL);
        g_assert_cmpstr(st, ==, "interrupted");
    }
    g_autofree char *resume = NULL;
    g_autofree char *row = job_status(f->path, id, &resume);
    g_test_message("after the quit: status %s, resume %s", row, resume);
    g_assert_cmpstr(row, ==, "queued");
    int at = -1;
    g_assert_cmpint(sscanf(resume, "{\"at\": %d}", &at), ==, 1);
    g_assert_cmpint(at, >, 0);

    /* a new runner (the next start) resumes it from there */
    g_autoptr(MimicaJobRunner) r2 = mimica_job_runner_new(f->path, &error);
    Seen *s2 = seen_new();
    mimica_job_runner_register(r2, "analyse", count_job, s2, NULL);
    g_assert_cmpint(mimica_job_runner_resume(r2, &error), ==, 1);
    g_autofree char *st2 = mimica_job_runner_wait(r2, id, NULL);
    g_assert_cmpstr(st2, ==, "done");
    g_test_message("resumed at %d of 200", s2->started_at[id]);
    g_assert_cmpint(s2->started_at[id], ==, at);
    g_clear_object(&r2);
    seen_free(s2);
    g_autofree char *row2 = job_status(f->path, id, NULL);
    g_assert_cmpstr(row2, ==, "done");
}

static void test_unknown_kind(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaJobRunner) r = mimica_job_runner_new(f->path, &error);
    gint64 id = mimica_job_runner_submit(r, "export", "{}", &error);
    g_assert_no_error(error);
    g_autofree char *msg = NULL;
    g_autofree char *st = mimica_job_runner_wait(r, id, &msg);
    g_test_message("unknown kind: %s: %s", st, msg);
    g_assert_cmpstr(st, ==, "failed");
    g_assert_nonnull(strstr(msg, "export"));
    /* a kind the schema does not know is refused at submit */
    g_assert_cmpint(mimica_job_runner_submit(r, "frobnicate", "{}", &error), ==, 0);
    g_assert_nonnull(error);
    g_test_message("bad kind: %s", error->message);
    g_clear_error(&error);
    /* so is a project that is not there */
    g_assert_null(mimica_job_runner_new("/nonexistent/p.mimica", &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/jobs/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("order", test_order);
    ADD("cancel", test_cancel);
    ADD("interrupt-resume", test_interrupt_resume);
    ADD("unknown-kind", test_unknown_kind);
    return g_test_run();
}
