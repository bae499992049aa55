/* mimica-job-runner.h: the engine thread. One queue of jobs (analyse, fine-tune, evaluate,
 * export) of one project, run one at a time on a thread of their own; the GUI and mimica-cli use
 * the same runner.
 *
 * Every job is a row of the project's `jobs` table (status queued -> running -> done | failed |
 * cancelled), so a job interrupted by a crash or a quit is still 'queued' or 'running' there and
 * mimica_job_runner_resume() runs it again: the job function reads what it saved (its resume
 * JSON, or its own tables such as `analyses`) and goes on where it stopped.
 *
 * Threads. The runner is created and used on one thread (the owner: the GTK main thread, or the
 * CLI's); its signals are emitted in the thread-default GMainContext of that thread at
 * construction, so the owner must run that context (a GMainLoop, or mimica_job_runner_wait). Job
 * functions run on the runner's thread with their own store connection and must never touch the
 * owner's objects. Cancelling is cooperative: a job polls mimica_job_is_cancelled() between
 * frames or steps.
 *
 * Signals:
 *   "progress" (const MimicaJobProgress *progress): at most every 100 ms per job, and once when
 *       the job ends.
 *   "finished" (gint64 job_id, const char *status, const char *message): status "done",
 *       "failed" (message: the error), "cancelled", or "interrupted" (the runner was shut down
 *       with the job running: it stays queued in the project and resumes next time).
 */
#pragma once

#include <gio/gio.h>

#include "store/mimica-store.h"

G_BEGIN_DECLS

#define MIMICA_JOB_ERROR (mimica_job_error_quark())
typedef enum {
    MIMICA_JOB_ERROR_UNKNOWN_KIND, /* no function registered for the job's kind */
    MIMICA_JOB_ERROR_INVALID,      /* the job's parameters are not what its kind expects */
    MIMICA_JOB_ERROR_CANCELLED,    /* the job stopped because it was cancelled */
} MimicaJobError;
GQuark mimica_job_error_quark(void);

typedef struct {
    gint64 job_id;
    const char *kind;
    gint64 done, total; /* units (frames, steps); total 0 = unknown */
    double rate;        /* units per second since the job (re)started, 0 until known */
    double eta_s;       /* seconds left, -1 unknown */
    const char *text;   /* what the job is doing, for people ("analysing a.mp4"), may be "" */
    gboolean final;     /* the last progress message of the job */
} MimicaJobProgress;

/* The running job, as its function sees it (on the runner's thread). */
typedef struct _MimicaJob MimicaJob;

gint64 mimica_job_get_id(MimicaJob *job);
const char *mimica_job_get_kind(MimicaJob *job);
const char *mimica_job_get_parameters(MimicaJob *job); /* JSON object text */
const char *mimica_job_get_resume(MimicaJob *job);     /* what it saved last time, "{}" at first */
/* The runner thread's own connection to the project. */
MimicaStore *mimica_job_get_store(MimicaJob *job);
GCancellable *mimica_job_get_cancellable(MimicaJob *job);
gboolean mimica_job_is_cancelled(MimicaJob *job);
/* Reports progress; cheap to call every frame (messages are rate-limited, the store row is
 * updated every few seconds). TEXT may be NULL (keeps the last one). */
void mimica_job_progress(MimicaJob *job, gint64 done, gint64 total, const char *text);
/* Persists where to resume (JSON object) in the job's row, now. */
gboolean mimica_job_save_resume(MimicaJob *job, const char *resume_json, GError **error);
/* The one-line result given with "finished" on success ("3 faces, 1200 frames"). */
void mimica_job_set_message(MimicaJob *job, const char *message);

/* A job kind's function: runs the job to its end; FALSE with ERROR on failure. A job that
 * noticed mimica_job_is_cancelled() returns FALSE with MIMICA_JOB_ERROR_CANCELLED (or any
 * error: a cancelled job ends 'cancelled' whatever it returns). */
typedef gboolean (*MimicaJobFunc)(MimicaJob *job, gpointer user_data, GError **error);

#define MIMICA_TYPE_JOB_RUNNER (mimica_job_runner_get_type())
G_DECLARE_FINAL_TYPE(MimicaJobRunner, mimica_job_runner, MIMICA, JOB_RUNNER, GObject)

/* A runner for the project at PATH (opens its own connections; the project must exist). */
MimicaJobRunner *mimica_job_runner_new(const char *project_path, GError **error);
const char *mimica_job_runner_get_project(MimicaJobRunner *self);
/* Registers the function of a kind ("analyse", "fine-tune", "evaluate", "export"). */
void mimica_job_runner_register(MimicaJobRunner *self, const char *kind, MimicaJobFunc func,
                                gpointer user_data, GDestroyNotify destroy);
/* Adds a job to the project's queue and to this runner's; returns its id, 0 with ERROR. */
gint64 mimica_job_runner_submit(MimicaJobRunner *self, const char *kind,
                                const char *parameters_json, GError **error);
/* Queues an existing job row again (an interrupted one); FALSE if it has ended. */
gboolean mimica_job_runner_enqueue(MimicaJobRunner *self, gint64 job_id, GError **error);
/* Queues every job of the project left 'queued' or 'running' (interrupted by a crash or a
 * quit); returns how many, -1 on error. */
int mimica_job_runner_resume(MimicaJobRunner *self, GError **error);
/* Cancels a job (queued or running); 0 = every job of this runner. */
void mimica_job_runner_cancel(MimicaJobRunner *self, gint64 job_id);
/* The running job's id, 0 when idle. Any thread. */
gint64 mimica_job_runner_get_current(MimicaJobRunner *self);
/* Runs the owner's main context until job JOB_ID has finished; returns its status ("done",
 * "failed", "cancelled", "interrupted"; free it) and the message in *MESSAGE (may be NULL). */
char *mimica_job_runner_wait(MimicaJobRunner *self, gint64 job_id, char **message);
/* Stops the thread: the running job is interrupted (it stays queued in the project and resumes
 * next time), queued ones stay queued. Called by dispose; idempotent. */
void mimica_job_runner_shutdown(MimicaJobRunner *self);

G_END_DECLS
