/* mimica-threads.c: see mimica-threads.h. */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "mimica-threads.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mimica-error.h"

/* Set in the environment of the re-executed program beside OMP_WAIT_POLICY: that value is ours,
 * and the program must not execute itself again. Removed again at once. */
#define REEXEC_MARK "MIMICA_OMP_PASSIVE_SET"

static int reserved;
static int passive_state = -2; /* -2: not known yet */

/* What libgomp made of the environment it saw when it loaded (GCC 12's libgomp/env.c):
 * GOMP_SPINCOUNT wins when set; else OMP_WAIT_POLICY=passive means no spinning, active spins for
 * minutes, and unset means 300000 turns (about 3 ms). */
#ifdef _OPENMP
static int passive_from_env(void)
{
    const char *spin = g_getenv("GOMP_SPINCOUNT");
    if (spin && *spin)
        return strspn(spin, " \t0") == strlen(spin) ? 1 : 0;
    const char *policy = g_getenv("OMP_WAIT_POLICY");
    while (policy && g_ascii_isspace(*policy))
        policy++;
    return policy && g_ascii_strncasecmp(policy, "passive", 7) == 0;
}
#endif

void mimica_threads_set_reserved(int cores)
{
    g_atomic_int_set(&reserved, MAX(0, cores));
}

void mimica_threads_wait_passively(char **argv)
{
#ifdef _OPENMP
    /* libgomp reads OMP_WAIT_POLICY once, in a constructor that runs when the library loads,
     * before main(): a setenv() here comes too late, and GCC 12's libgomp has no call that
     * changes the spin count afterwards (gomp_spin_count_var is internal). Its throttled spinning
     * (100 turns) only starts when libgomp's own threads outnumber the CPUs, which a decode
     * thread does not count in. A launcher script would be bypassed by every other way of
     * starting the program (desktop file, D-Bus activation, tests), so the program executes
     * itself again, once, with the variable set: an exec keeps the pid, argv and everything
     * else, and costs one more start (loading the libraries again: 0.03 to 0.25 s, the latter
     * on a loaded 2-core machine). */
    if (g_getenv(REEXEC_MARK)) {
        /* the second start: libgomp has read the value; programs we start get the user's
         * environment back */
        passive_state = 1;
        g_unsetenv("OMP_WAIT_POLICY");
        g_unsetenv(REEXEC_MARK);
        return;
    }
    /* the user's choice stands; a program started as `ld.so PROGRAM` is left as it is (its
     * /proc/self/exe is the loader) */
    g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
    g_autofree char *exe_name = exe ? g_path_get_basename(exe) : NULL;
    if (g_getenv("OMP_WAIT_POLICY") || g_getenv("GOMP_SPINCOUNT") || !argv || !argv[0] ||
        !exe_name || g_str_has_prefix(exe_name, "ld-")) {
        passive_state = passive_from_env();
        return;
    }
    g_setenv("OMP_WAIT_POLICY", "passive", TRUE);
    g_setenv(REEXEC_MARK, "1", TRUE);
    execv("/proc/self/exe", argv);
    int e = errno;
    g_unsetenv("OMP_WAIT_POLICY");
    g_unsetenv(REEXEC_MARK);
    passive_state = 0;
    g_warning("cannot start again with OMP_WAIT_POLICY=passive (%s): idle compute threads will "
              "spin for a few milliseconds after each step",
              g_strerror(e));
#else
    (void)argv;
    passive_state = -1;
#endif
}

int mimica_threads_get_reserved(void)
{
    return g_atomic_int_get(&reserved);
}

int mimica_threads_available(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int n = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        n = CPU_COUNT(&set);
    if (n < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)MIN(online, G_MAXINT) : 1;
    }
    return n;
}

gboolean mimica_threads_choose(int n_cpus, int reserved_cores, const char *env_value,
                               int *n_threads, GError **error)
{
    if (env_value && *env_value) {
        guint64 v = 0;
        GError *local = NULL;
        if (!g_ascii_string_to_unsigned(env_value, 10, 1, MIMICA_THREADS_MAX, &v, &local)) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_INVALID_ARGUMENT,
                        "%s=%s: want a whole number of threads from 1 to %d (%s)",
                        MIMICA_THREADS_ENV, env_value, MIMICA_THREADS_MAX, local->message);
            g_error_free(local);
            return FALSE;
        }
        *n_threads = (int)v;
        return TRUE;
    }
    *n_threads = MAX(1, n_cpus - MAX(0, reserved_cores));
    return TRUE;
}

gboolean mimica_threads_for_job(int *n_threads, GError **error)
{
    return mimica_threads_choose(mimica_threads_available(), mimica_threads_get_reserved(),
                                 g_getenv(MIMICA_THREADS_ENV), n_threads, error);
}

int mimica_threads_apply(int n_threads)
{
#ifdef _OPENMP
    int before = omp_get_max_threads();
    if (n_threads > 0)
        omp_set_num_threads(n_threads);
    return before;
#else
    (void)n_threads;
    return 0;
#endif
}

void mimica_threads_restore(int previous)
{
#ifdef _OPENMP
    if (previous > 0)
        omp_set_num_threads(previous);
#else
    (void)previous;
#endif
}

int mimica_threads_passive(void)
{
#ifdef _OPENMP
    if (passive_state == -2)
        passive_state = passive_from_env();
    return passive_state;
#else
    return -1;
#endif
}
