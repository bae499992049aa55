/* test-threads.c: the thread count of a compute job (app/jobs/mimica-threads.h): the policy
 * from a CPU count, a reserve and MIMICA_THREADS; invalid MIMICA_THREADS values refused with a
 * message; the count reaches the calling thread's OpenMP setting and a dnnl backend opened after
 * it, and no other thread; the fine-tune job uses it and fails on an invalid MIMICA_THREADS;
 * mimica_threads_wait_passively executes the program again with passive OpenMP workers, which
 * burn no CPU while the thread that leads them sleeps between parallel regions (measured, beside
 * libgomp's default spinning for scale). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include <glib.h>
#include <glib/gstdio.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "jobs/mimica-job-runner.h"
#include "jobs/mimica-threads.h"
#include "mim.h"
#include "mimica-error.h"
#include "teach/mimica-finetune.h"

static char **test_argv; /* main's, before g_test_init took its options out */

static void test_choose(void)
{
    static const struct {
        int cpus, reserved;
        const char *env;
        int want;
    } cases[] = {
        {8, 1, NULL, 7},     /* the GUI: one core for playback and the UI */
        {8, 0, NULL, 8},     /* mimica-cli: every core */
        {2, 1, NULL, 1},     /* this machine in the GUI */
        {1, 1, NULL, 1},     /* never fewer than one */
        {1, 5, "", 1},       /* an empty value is unset */
        {64, 1, "3", 3},     /* MIMICA_THREADS wins over the CPUs ... */
        {2, 1, "16", 16},    /* ... also above them (the user's choice) */
        {4, 0, "1", 1},      /* the smallest */
        {4, 0, "1024", 1024} /* the largest */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        int n = -1;
        GError *error = NULL;
        gboolean ok =
            mimica_threads_choose(cases[i].cpus, cases[i].reserved, cases[i].env, &n, &error);
        g_test_message("%d CPUs, %d reserved, MIMICA_THREADS=%s: %d threads (want %d)",
                       cases[i].cpus, cases[i].reserved, cases[i].env ? cases[i].env : "(unset)", n,
                       cases[i].want);
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_cmpint(n, ==, cases[i].want);
    }
}

static void test_invalid(void)
{
    static const char *const bad[] = {
        "0",   "-1", "abc", "4x", " 4", "4 ", "+4", "4.0", "1e2", "1025", "99999999999999999999",
        "0x10"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        int n = 12345;
        GError *error = NULL;
        gboolean ok = mimica_threads_choose(8, 1, bad[i], &n, &error);
        g_test_message("MIMICA_THREADS=\"%s\": %s", bad[i], error ? error->message : "accepted!");
        g_assert_false(ok);
        g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull(strstr(error->message, "MIMICA_THREADS"));
        g_assert_cmpint(n, ==, 12345); /* untouched */
        g_error_free(error);
    }
}

/* mimica_threads_for_job reads the environment and the CPUs this process may run on. */
static void test_for_job(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    g_assert_cmpint(sched_getaffinity(0, sizeof set, &set), ==, 0);
    int cpus = mimica_threads_available();
    g_test_message("CPUs available: %d (affinity mask: %d), reserved %d", cpus, CPU_COUNT(&set),
                   mimica_threads_get_reserved());
    g_assert_cmpint(cpus, ==, CPU_COUNT(&set));
    g_assert_cmpint(mimica_threads_get_reserved(), ==, 0); /* no mimica_threads_init here */
    int n = 0;
    GError *error = NULL;
    g_unsetenv(MIMICA_THREADS_ENV);
    g_assert_true(mimica_threads_for_job(&n, &error));
    g_assert_cmpint(n, ==, cpus);
    mimica_threads_set_reserved(1); /* as the GUI */
    g_assert_true(mimica_threads_for_job(&n, &error));
    g_test_message("reserving 1 core: %d threads", n);
    g_assert_cmpint(n, ==, MAX(1, cpus - 1));
    g_setenv(MIMICA_THREADS_ENV, "3", TRUE);
    g_assert_true(mimica_threads_for_job(&n, &error));
    g_assert_cmpint(n, ==, 3);
    mimica_threads_set_reserved(0);
    g_setenv(MIMICA_THREADS_ENV, "three", TRUE);
    g_assert_false(mimica_threads_for_job(&n, &error));
    g_test_message("MIMICA_THREADS=three: %s", error->message);
    g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_unsetenv(MIMICA_THREADS_ENV);
}

#ifdef _OPENMP
typedef struct {
    int apply, after_apply, after_op, before;
    gboolean dnnl;
} ApplySeen;

static gpointer apply_thread(gpointer data)
{
    ApplySeen *s = data;
    s->before = mimica_threads_apply(s->apply);
    s->after_apply = omp_get_max_threads();
    /* a dnnl backend opened now takes the count; it sets it again on every call, so a later
     * change on this thread is undone by its next op */
    mim_backend *be = mim_backend_open("dnnl", NULL, NULL, 0);
    s->dnnl = be != NULL;
    if (be) {
        mim_ctx *ctx = mim_ctx_new(be);
        mim_tensor *x = NULL, *w = NULL, *y = NULL;
        omp_set_num_threads(s->apply + 2);
        g_assert_cmpint(mim_tensor_zeros(ctx, 1, 1, 8, 8, &x), ==, MIM_OK);
        g_assert_cmpint(mim_tensor_zeros(ctx, 1, 1, 3, 3, &w), ==, MIM_OK);
        g_assert_cmpint(mim_conv2d(ctx, x, w, NULL, 1, 1, 1, &y), ==, MIM_OK);
        s->after_op = omp_get_max_threads();
        mim_ctx_free(ctx);
        mim_backend_free(be);
    }
    mimica_threads_restore(s->before);
    return NULL;
}

static void test_apply(void)
{
    const int main_before = omp_get_max_threads();
    ApplySeen s = {.apply = 3};
    g_thread_join(g_thread_new("apply", apply_thread, &s));
    g_test_message("main thread: %d OpenMP threads; the applying thread: %d before, %d after "
                   "mimica_threads_apply(3), %d after a dnnl convolution (set to 5 before it)",
                   main_before, s.before, s.after_apply, s.after_op);
    g_assert_cmpint(s.after_apply, ==, 3);
    if (s.dnnl)
        g_assert_cmpint(s.after_op, ==, 3);
    else
        g_test_message("no dnnl backend in this build or machine: its part is not checked");
    g_assert_cmpint(omp_get_max_threads(), ==, main_before); /* other threads keep theirs */
}
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The CPU time the process burns while this thread sleeps 2 ms after each of `rounds` parallel
 * regions of 2 threads: what the idle worker burns spinning. */
static double idle_cpu_ms(int rounds, double *slept_ms)
{
    static float a[1 << 16];
    double burned = 0;
    gint64 slept = 0;
    omp_set_num_threads(2);
    for (int r = 0; r < rounds; r++) {
#pragma omp parallel for schedule(static)
        for (int i = 0; i < (1 << 16); i++)
            a[i] = a[i] * 0.5f + (float)r;
        double c0 = cpu_seconds();
        gint64 t0 = g_get_monotonic_time();
        g_usleep(2000);
        burned += cpu_seconds() - c0;
        slept += g_get_monotonic_time() - t0;
    }
    *slept_ms = slept / 1e3;
    return burned * 1e3;
}

/* The child: MIMICA_TEST_MODE=passive calls mimica_threads_wait_passively (which executes this
 * child again), =spin keeps libgomp's default; writes "ms slept_ms passive" to MIMICA_TEST_OUT. */
static void wait_child(void)
{
    gboolean passive = g_strcmp0(g_getenv("MIMICA_TEST_MODE"), "passive") == 0;
    if (passive) {
        mimica_threads_wait_passively(test_argv);
        g_assert_null(g_getenv("OMP_WAIT_POLICY")); /* removed again after the re-execution */
        g_assert_cmpint(mimica_threads_passive(), ==, 1);
    } else {
        g_assert_cmpint(mimica_threads_passive(), ==, 0);
    }
    double slept = 0, ms = idle_cpu_ms(50, &slept);
    g_autofree char *text = g_strdup_printf("%.3f %.3f %d\n", ms, slept, mimica_threads_passive());
    g_assert_true(g_file_set_contents(g_getenv("MIMICA_TEST_OUT"), text, -1, NULL));
}

static void wait_run(const char *mode, const char *out, double *ms, double *slept)
{
    g_setenv("MIMICA_TEST_MODE", mode, TRUE);
    g_setenv("MIMICA_TEST_OUT", out, TRUE);
    g_test_trap_subprocess(NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_autofree char *text = NULL;
    g_assert_true(g_file_get_contents(out, &text, NULL, NULL));
    int passive = -1;
    g_assert_cmpint(sscanf(text, "%lf %lf %d", ms, slept, &passive), ==, 3);
    g_assert_cmpint(passive, ==, strcmp(mode, "passive") == 0);
    g_unlink(out);
}

static void test_wait_passively(void)
{
    if (g_test_subprocess()) {
        wait_child();
        return;
    }
    if (g_getenv("OMP_WAIT_POLICY") || g_getenv("GOMP_SPINCOUNT")) {
        g_test_skip(
            "OMP_WAIT_POLICY or GOMP_SPINCOUNT is set: the program keeps the user's choice");
        return;
    }
    g_autofree char *dir = g_dir_make_tmp("mimica-threads-XXXXXX", NULL);
    g_autofree char *out = g_build_filename(dir, "out.txt", NULL);
    double passive_ms = 0, passive_slept = 0, spin_ms = 0, spin_slept = 0;
    wait_run("spin", out, &spin_ms, &spin_slept);
    wait_run("passive", out, &passive_ms, &passive_slept);
    g_rmdir(dir);
    g_unsetenv("MIMICA_TEST_MODE");
    g_unsetenv("MIMICA_TEST_OUT");
    g_test_message("CPU burned while the leading thread slept between 50 parallel regions of 2 "
                   "threads: %.1f ms in %.1f ms of sleep with libgomp's default spinning, %.1f ms "
                   "in %.1f ms after mimica_threads_wait_passively (limit: 20%% of the sleep)",
                   spin_ms, spin_slept, passive_ms, passive_slept);
    g_assert_cmpfloat(passive_ms, <, 0.2 * passive_slept);
}
#endif

/* The fine-tune job takes its count from the policy: MIMICA_THREADS=3 shows in its debug line;
 * an invalid value fails the job before it does anything. The project has no corrections, so
 * the job fails anyway after the count is set ("no corrected frames"). */
typedef struct {
    GString *debug;
} LogCatch;

static void on_log(const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
    LogCatch *c = data;
    g_string_append_printf(c->debug, "%s\n", message);
}

static void remove_tree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir) {
        const char *name;
        while ((name = g_dir_read_name(dir))) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            remove_tree(child);
        }
        g_dir_close(dir);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static char *run_finetune(const char *project, const char *threads_env, char **message)
{
    if (threads_env)
        g_setenv(MIMICA_THREADS_ENV, threads_env, TRUE);
    else
        g_unsetenv(MIMICA_THREADS_ENV);
    GError *error = NULL;
    g_autoptr(MimicaJobRunner) runner = mimica_job_runner_new(project, &error);
    g_assert_no_error(error);
    mimica_finetune_register(runner);
    g_autofree char *params = mimica_finetune_parameters("quick", "dnnl", 0, 0);
    gint64 id = mimica_job_runner_submit(runner, MIMICA_FINETUNE_KIND, params, &error);
    g_assert_no_error(error);
    char *status = mimica_job_runner_wait(runner, id, message);
    g_unsetenv(MIMICA_THREADS_ENV);
    return status;
}

static void test_finetune(void)
{
    g_autofree char *dir = g_dir_make_tmp("mimica-threads-XXXXXX", NULL);
    g_autofree char *project = g_build_filename(dir, "p.mimica", NULL);
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(project, &error);
    g_assert_no_error(error);
    mimica_store_free(store);

    LogCatch c = {g_string_new("")};
    guint handler = g_log_set_handler("mimica", G_LOG_LEVEL_DEBUG, on_log, &c);
    g_autofree char *msg = NULL;
    g_autofree char *status = run_finetune(project, "3", &msg);
    g_test_message("MIMICA_THREADS=3: job %s (%s); debug: %s", status, msg, c.debug->str);
    g_assert_nonnull(strstr(c.debug->str, ": 3 compute threads"));
    g_assert_null(strstr(msg, "MIMICA_THREADS"));

    g_string_truncate(c.debug, 0);
    g_autofree char *msg2 = NULL;
    g_autofree char *status2 = run_finetune(project, "lots", &msg2);
    g_test_message("MIMICA_THREADS=lots: job %s: %s", status2, msg2);
    g_assert_cmpstr(status2, ==, "failed");
    g_assert_nonnull(strstr(msg2, "MIMICA_THREADS=lots"));
    g_assert_null(strstr(c.debug->str, "compute threads")); /* refused before it started */

    g_log_remove_handler("mimica", handler);
    g_string_free(c.debug, TRUE);
    remove_tree(dir);
}

int main(int argc, char **argv)
{
    test_argv = g_strdupv(argv);
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/threads/choose", test_choose);
    g_test_add_func("/threads/invalid", test_invalid);
    g_test_add_func("/threads/for-job", test_for_job);
#ifdef _OPENMP
    g_test_add_func("/threads/apply", test_apply);
    g_test_add_func("/threads/wait-passively", test_wait_passively);
#endif
    g_test_add_func("/threads/finetune", test_finetune);
    int rc = g_test_run();
    g_strfreev(test_argv);
    return rc;
}
