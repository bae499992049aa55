/* mim-test.h: a tiny TAP test harness for the plain-C suites (engine, training, reference,
 * cuda), which must build without GLib. GLib-based suites (app, ui) use GTest instead.
 *
 *   static void test_foo(void) { MT_CHECK_NEAR(got, want, 1e-6); }
 *   int main(int argc, char **argv) {
 *       mt_init(argc, argv);
 *       MT_RUN(test_foo);
 *       return mt_done();
 *   }
 *
 * Every check prints its numbers on failure (got, want, difference, tolerance); MT_NOTE prints
 * measured figures as TAP comments so a passing run still shows them. A test may skip itself
 * with MT_SKIP("why"). Output is TAP 13, read by meson with protocol: 'tap'.
 */
#pragma once

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n_run, n_failed_tests, n_skipped;
    int cur_failed, cur_skipped;
    char skip_reason[256];
    const char *only; /* run only tests whose name contains this (argv[1]) */
} mt_state;

static mt_state mt_g;

static inline void mt_init(int argc, char **argv)
{
    memset(&mt_g, 0, sizeof mt_g);
    mt_g.only = argc > 1 ? argv[1] : NULL;
    printf("TAP version 13\n");
    fflush(stdout);
}

#define MT_NOTE(...)                                                                               \
    do {                                                                                           \
        printf("# ");                                                                              \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
    } while (0)

#define MT_FAIL(...)                                                                               \
    do {                                                                                           \
        printf("# FAIL %s:%d: ", __FILE__, __LINE__);                                              \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        fflush(stdout);                                                                            \
        mt_g.cur_failed = 1;                                                                       \
    } while (0)

#define MT_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            MT_FAIL("check failed: %s", #cond);                                                    \
    } while (0)

#define MT_CHECK_INT(got, want)                                                                    \
    do {                                                                                           \
        long long mt_g_ = (long long)(got), mt_w_ = (long long)(want);                             \
        if (mt_g_ != mt_w_)                                                                        \
            MT_FAIL("%s = %lld, want %s = %lld", #got, mt_g_, #want, mt_w_);                       \
    } while (0)

#define MT_CHECK_NEAR(got, want, tol)                                                              \
    do {                                                                                           \
        double mt_g_ = (double)(got), mt_w_ = (double)(want), mt_t_ = (double)(tol);               \
        double mt_d_ = fabs(mt_g_ - mt_w_);                                                        \
        if (!(mt_d_ <= mt_t_))                                                                     \
            MT_FAIL("%s = %.9g, want %.9g: |diff| %.3g > tol %.3g", #got, mt_g_, mt_w_, mt_d_,     \
                    mt_t_);                                                                        \
    } while (0)

#define MT_SKIP(...)                                                                               \
    do {                                                                                           \
        snprintf(mt_g.skip_reason, sizeof mt_g.skip_reason, __VA_ARGS__);                          \
        mt_g.cur_skipped = 1;                                                                      \
        return;                                                                                    \
    } while (0)

/* A test whose ../shared fixtures (golden export, face photos) are missing: skipped, except
 * under CI=true, where missing fixtures are a failure (CI must test what the fixtures check). */
#define MT_SKIP_FIXTURES(...)                                                                      \
    do {                                                                                           \
        const char *mt_ci_ = getenv("CI");                                                         \
        if (mt_ci_ && !strcmp(mt_ci_, "true")) {                                                   \
            MT_FAIL("CI=true and a fixture is missing: " __VA_ARGS__);                             \
            return;                                                                                \
        }                                                                                          \
        MT_SKIP(__VA_ARGS__);                                                                      \
    } while (0)

#define MT_RUN(fn) mt_run_one(#fn, fn)

static inline void mt_run_one(const char *name, void (*fn)(void))
{
    if (mt_g.only && !strstr(name, mt_g.only))
        return;
    mt_g.cur_failed = 0;
    mt_g.cur_skipped = 0;
    mt_g.skip_reason[0] = 0;
    printf("# %s\n", name);
    fflush(stdout);
    fn();
    mt_g.n_run++;
    if (mt_g.cur_skipped && !mt_g.cur_failed) {
        mt_g.n_skipped++;
        printf("ok %d %s # SKIP %s\n", mt_g.n_run, name, mt_g.skip_reason);
    } else if (mt_g.cur_failed) {
        mt_g.n_failed_tests++;
        printf("not ok %d %s\n", mt_g.n_run, name);
    } else {
        printf("ok %d %s\n", mt_g.n_run, name);
    }
    fflush(stdout);
}

static inline int mt_done(void)
{
    printf("1..%d\n", mt_g.n_run);
    printf("# %d passed, %d failed, %d skipped\n",
           mt_g.n_run - mt_g.n_failed_tests - mt_g.n_skipped, mt_g.n_failed_tests, mt_g.n_skipped);
    fflush(stdout);
    return mt_g.n_failed_tests ? 1 : 0;
}
