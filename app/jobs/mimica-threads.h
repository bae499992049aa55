/* mimica-threads.h: how many threads a compute job uses, and OpenMP's idle workers, so that a
 * fine-tune job runs beside video playback without starving it.
 *
 * Thread count. A job's compute backend (the dnnl backend and the engine's OpenMP loops) gets
 *   MIMICA_THREADS, when that variable is set (a whole number 1..MIMICA_THREADS_MAX; anything
 *       else is an error, never ignored), else
 *   the CPUs this process may run on (sched_getaffinity) minus the cores the program keeps for
 *       itself (mimica_threads_set_reserved: 1 in the GUI, for playback and the UI; 0 in
 *       mimica-cli, which keeps using every core), at least 1.
 * The count is OpenMP's per-thread setting (omp_set_num_threads) of the thread that runs the
 * job, so it reaches only the backends that thread opens and the parallel regions it starts;
 * playback and the UI, on their own threads, are not limited by it.
 *
 * Idle workers. libgomp's workers spin for a while (GOMP_SPINCOUNT, 300000 turns by default)
 * before they sleep, after every parallel region: between the regions of a training step that
 * keeps every core of the team busy, taking the core a decode thread needs. Passive waiting
 * (OMP_WAIT_POLICY=passive: sleep at once) can only be chosen before libgomp starts, see
 * mimica_threads_wait_passively. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIMICA_THREADS_ENV "MIMICA_THREADS"
#define MIMICA_THREADS_MAX 1024

/* The cores the program keeps for itself (playback and the UI) when a job chooses its thread
 * count: 1 in the GUI; 0 (the default) in mimica-cli, whose jobs use every core. */
void mimica_threads_set_reserved(int cores);
int mimica_threads_get_reserved(void);

/* Called first thing in main(), before any thread is started: makes OpenMP's idle workers wait
 * passively. When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set, the program executes itself
 * again (/proc/self/exe, the same argv) with OMP_WAIT_POLICY=passive, which the new libgomp
 * reads when it loads; the variable is then removed from the environment again so that programs
 * started from this one do not inherit it. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT is
 * kept as it is. If the re-execution fails the program goes on as it is (spinning workers), with
 * a warning. Nothing to do in a build without OpenMP. */
void mimica_threads_wait_passively(char **argv);

/* The CPUs this process may run on (sched_getaffinity; the online CPUs if that fails), >= 1. */
int mimica_threads_available(void);

/* The policy itself: env_value is MIMICA_THREADS' value (NULL or "" = unset). TRUE with
 * *n_threads = env_value when it is set, else MAX(1, n_cpus - reserved_cores); FALSE with
 * MIMICA_ERROR_INVALID_ARGUMENT when env_value is not a whole number 1..MIMICA_THREADS_MAX. */
gboolean mimica_threads_choose(int n_cpus, int reserved_cores, const char *env_value,
                               int *n_threads, GError **error);

/* The thread count of a job starting now: mimica_threads_choose(mimica_threads_available(),
 * mimica_threads_get_reserved(), getenv(MIMICA_THREADS_ENV)). */
gboolean mimica_threads_for_job(int *n_threads, GError **error);

/* Makes the calling thread's OpenMP regions, and the dnnl backends it opens from now on, use
 * n_threads threads; returns the count it had, for mimica_threads_restore. 0 and a no-op without
 * OpenMP. */
int mimica_threads_apply(int n_threads);
void mimica_threads_restore(int previous);

/* 1 when this process's OpenMP workers wait passively (OMP_WAIT_POLICY=passive or
 * GOMP_SPINCOUNT=0 when libgomp loaded), 0 when they spin first, -1 without OpenMP. For reports
 * (the benchmark). */
int mimica_threads_passive(void);

G_END_DECLS
