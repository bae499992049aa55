/* bench-share.c: `mimica-bench share`: a fine-tune's training beside video playback on the
 * same machine (issue 15, "Sharing the machine").
 *
 * Scenarios, each in a process of its own (libgomp reads its wait policy once, when it loads;
 * the child is this program again, `mimica-bench share --scenario ...`, with OMP_WAIT_POLICY
 * set or removed):
 *   (a) train alone: the AU network's training step (mim_trainer_step, MODEL.md §5, weak mode, 6
 *       AUs, random data as `mimica-bench train`) at batch B on the dnnl backend, with the
 *       thread count of the GUI's policy (jobs/mimica-threads.h: MIMICA_THREADS, else the CPUs
 *       minus the one core the GUI keeps) and passive waiting, as the GUI's fine-tune job runs;
 *       the same with every core and libgomp's default spinning (the naive policy), for scale;
 *   (b) play alone: the video (default the demo video) through MimicaVideoSource, as the window
 *       opens it, fed like the transport feeds it (chunks of 32 frames asked for when fewer
 *       than 24 are decoded ahead, a ring of decoded frames) and presented at 1x on a thread
 *       that stands for the GTK main thread: each frame at its presentation time; a frame not
 *       decoded by then holds the clock until it comes (as the transport does);
 *   (c) both at once, the training on its own thread with the policy, playback as in (b);
 *   (d) both at once with the naive policy.
 * The training runs throughout a window of S seconds (default 24: the demo video twice);
 * images/s counts source and target images (2·B per step, as `mimica-bench train`) processed
 * in the window (a step that straddles an end of it counts for the part inside). A frame is late
 * when it is shown more than one 60 Hz refresh (16.7 ms) after its time; "not ready" frames were
 * not decoded by their time. Before the window, the training thread pauses 300 ms after a step: the
 * process's CPU time in that pause is what idle OpenMP workers burn (spinning) when the job is
 * between steps. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "aunet/mim-aunet.h"
#include "aunet/mim-rng.h"
#include "jobs/mimica-threads.h"
#include "media/mimica-video-source.h"
#include "mim-train.h"
#include "mimica-bench.h"
#include "mimica-config.h"

#define CHUNK      32    /* the transport's: frames asked for at once */
#define READ_AHEAD 24    /* ask for more when fewer than this are decoded ahead */
#define LATE_US    16667 /* one 60 Hz refresh */
#define IDLE_US    300000
#define RESULT_TAG "share-result"

typedef struct {
    const char *video;
    int batch, seconds, threads; /* threads 0: the policy's */
} Opts;

/* What one scenario measured (the child's result line). */
typedef struct {
    int threads, passive, steps, omp_threads, proc_threads;
    double ips, cpu_cores, idle_cpu_ms;
    long frames, late, not_ready;
    double worst_ms, mean_ms;
} Result;

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* Threads of this process now (/proc/self/status), 0 if unknown. */
static int proc_threads(void)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/self/status", &text, NULL, NULL))
        return 0;
    const char *t = strstr(text, "\nThreads:");
    return t ? atoi(t + strlen("\nThreads:")) : 0;
}

/* ---- the training thread ------------------------------------------------------------------- */

typedef struct {
    int threads, batch;
    gint stop;
    GMutex lock;
    GCond cond;
    gboolean ready, failed;
    char err[512];
    GArray *steps; /* gint64 pairs: start, end (µs) */
    double idle_cpu_ms;
    int omp_threads, proc_threads;
} Train;

static void train_signal(Train *t, gboolean failed)
{
    g_mutex_lock(&t->lock);
    t->ready = TRUE;
    t->failed = failed;
    g_cond_broadcast(&t->cond);
    g_mutex_unlock(&t->lock);
}

static gpointer train_main(gpointer data)
{
    Train *t = data;
    /* as the fine-tune job: the count on this thread, then the backend opened by name */
    mimica_threads_apply(t->threads);
    mim_status st;
    mim_backend *be = mim_backend_open("dnnl", &st, t->err, sizeof t->err);
    const int B = t->batch, NA = 6, NL = 49;
    const size_t n_img = (size_t)B * 3 * MIM_AUNET_CROP * MIM_AUNET_CROP;
    float *xs = g_new(float, n_img), *xt = g_new(float, n_img);
    int32_t *ls = g_new(int32_t, (size_t)B * NL), *lt = g_new(int32_t, (size_t)B * NL);
    float *ys = g_new(float, (size_t)B *NA), *yt = g_new(float, (size_t)B *NA);
    mim_ctx *ctx = be ? mim_ctx_new(be) : NULL;
    mim_aunet *m = NULL;
    mim_trainer *tr = NULL;
    gboolean signalled = FALSE;
    if (!ctx) {
        if (be)
            g_snprintf(t->err, sizeof t->err, "out of memory");
        goto out;
    }
    mim_rng r;
    mim_rng_seed(&r, 0);
    for (size_t i = 0; i < n_img; i++) {
        xs[i] = (float)(mim_rng_uniform(&r) * 2.0 - 1.0);
        xt[i] = (float)(mim_rng_uniform(&r) * 2.0 - 1.0);
    }
    for (int i = 0; i < B * NL; i++) {
        ls[i] = (int32_t)mim_rng_below(&r, 44 * 44);
        lt[i] = (int32_t)mim_rng_below(&r, 44 * 44);
    }
    for (int i = 0; i < B * NA; i++) {
        ys[i] = mim_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
        yt[i] = mim_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
    }
    const float w[6] = {1, 1, 1, 1, 1, 1};
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    if (mim_aunet_new(ctx, NA, NL, 0, &m) != MIM_OK || mim_trainer_new(m, &cfg, w, &tr) != MIM_OK) {
        g_snprintf(t->err, sizeof t->err, "cannot make the network: %s", mim_ctx_last_error(ctx));
        goto out;
    }
    mim_train_batch b = {B, xs, xt, ls, lt, ys, yt};
    mim_train_losses L;
    for (int i = 0; i < 2; i++) { /* warm-up: oneDNN's primitives, first faults */
        if (mim_trainer_step(tr, &b, &L) != MIM_OK) {
            g_snprintf(t->err, sizeof t->err, "%s", mim_trainer_last_error(tr));
            goto out;
        }
    }
#ifdef _OPENMP
    t->omp_threads = omp_get_max_threads(); /* what the backend set on this thread */
#endif
    t->proc_threads = proc_threads();
    /* between steps: what do idle workers burn? */
    double c0 = cpu_seconds();
    g_usleep(IDLE_US);
    t->idle_cpu_ms = (cpu_seconds() - c0) * 1e3;
    train_signal(t, FALSE);
    signalled = TRUE;
    while (!g_atomic_int_get(&t->stop)) {
        gint64 span[2] = {g_get_monotonic_time(), 0};
        if (mim_trainer_step(tr, &b, &L) != MIM_OK) {
            g_snprintf(t->err, sizeof t->err, "%s", mim_trainer_last_error(tr));
            break;
        }
        span[1] = g_get_monotonic_time();
        g_array_append_vals(t->steps, span, 2);
    }
out:
    if (!signalled)
        train_signal(t, TRUE);
    mim_trainer_free(tr);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_backend_free(be);
    g_free(xs);
    g_free(xt);
    g_free(ls);
    g_free(lt);
    g_free(ys);
    g_free(yt);
    return NULL;
}

/* ---- playback at 1x ------------------------------------------------------------------------ */

typedef struct {
    MimicaVideoSource *src;
    GMainContext *ctx;
    gint64 n_frames;
    GHashTable *ring; /* index -> MimicaFrame */
    gboolean decoding;
    gint64 position; /* last frame shown, -1 before the first */
    gboolean failed;
    /* figures */
    long frames, late, not_ready;
    gint64 worst_us, sum_us;
} Play;

static double frame_time(Play *p, gint64 index)
{
    const MimicaMediaInfo *info = mimica_video_source_get_info(p->src);
    gint64 pts = mimica_video_source_frame_pts(p->src, index);
    return (double)(pts - info->start_pts) * info->time_base_num / info->time_base_den;
}

static void keep_fed(Play *p)
{
    if (p->decoding)
        return;
    gint64 next = p->position + 1;
    while (next < p->n_frames && g_hash_table_contains(p->ring, &next) &&
           next - p->position < READ_AHEAD)
        next++;
    if (next < p->n_frames && !g_hash_table_contains(p->ring, &next)) {
        p->decoding = TRUE;
        mimica_video_source_play(p->src, next, MIN(next + CHUNK - 1, p->n_frames - 1));
    }
}

static gboolean on_event(MimicaVideoSource *src, const MimicaVideoEvent *e, gpointer data)
{
    Play *p = data;
    if (e->kind == MIMICA_VIDEO_EVENT_FRAME) {
        gint64 *key = g_new(gint64, 1);
        *key = e->frame->index;
        g_hash_table_replace(p->ring, key, mimica_frame_ref(e->frame));
    } else {
        p->decoding = FALSE;
        if (e->kind == MIMICA_VIDEO_EVENT_ERROR) {
            fprintf(stderr, "share: decoding: %s\n", e->error->message);
            p->failed = TRUE;
        }
    }
    return G_SOURCE_CONTINUE;
}

static void show(Play *p, gint64 index)
{
    p->position = index;
    for (gint64 i = index - 1; i >= 0 && g_hash_table_remove(p->ring, &i); i--)
        ;
}

/* A source that only wakes the context at its ready time (the frame clock's tick). */
static gboolean tick_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    g_source_set_ready_time(source, -1);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs tick_funcs = {NULL, NULL, tick_dispatch, NULL, NULL, NULL};

/* Waits on the context until `deadline` (µs, monotonic) or until frame `index` is in the ring,
 * whichever comes first (until_frame) or until the deadline only. */
static void run_until(Play *p, GSource *timer, gint64 deadline, gint64 index)
{
    g_source_set_ready_time(timer, deadline);
    while (!p->failed && g_get_monotonic_time() < deadline &&
           (index < 0 || !g_hash_table_contains(p->ring, &index)))
        g_main_context_iteration(p->ctx, TRUE);
    g_source_set_ready_time(timer, -1);
    while (g_main_context_iteration(p->ctx, FALSE)) /* what came meanwhile */
        ;
}

/* Plays the video from frame 0 at 1x, again and again, until `end_us`. */
static gboolean play(Play *p, gint64 end_us)
{
    GSource *timer = g_source_new(&tick_funcs, sizeof(GSource));
    g_source_attach(timer, p->ctx);
    while (!p->failed && g_get_monotonic_time() < end_us) {
        /* (re)start: frame 0 is sought, not played; the clock starts when it is shown */
        g_hash_table_remove_all(p->ring);
        p->position = -1;
        if (p->decoding)
            mimica_video_source_stop(p->src);
        p->decoding = FALSE;
        keep_fed(p);
        gint64 zero = 0;
        run_until(p, timer, g_get_monotonic_time() + 30 * G_USEC_PER_SEC, zero);
        if (!g_hash_table_contains(p->ring, &zero)) {
            fprintf(stderr, "share: the first frame did not come in 30 s\n");
            p->failed = TRUE;
            break;
        }
        show(p, 0);
        keep_fed(p);
        gint64 anchor_us = g_get_monotonic_time();
        double anchor_s = frame_time(p, 0);
        for (gint64 next = 1; next < p->n_frames && !p->failed; next++) {
            gint64 due = anchor_us + (gint64)llround((frame_time(p, next) - anchor_s) * 1e6);
            if (due >= end_us)
                break;
            run_until(p, timer, due, -1); /* the frame clock's tick */
            if (!g_hash_table_contains(p->ring, &next)) {
                /* not decoded yet: the transport holds the clock until it comes */
                p->not_ready++;
                run_until(p, timer, g_get_monotonic_time() + 30 * G_USEC_PER_SEC, next);
                if (!g_hash_table_contains(p->ring, &next)) {
                    fprintf(stderr, "share: frame %" G_GINT64_FORMAT " did not come in 30 s\n",
                            next);
                    p->failed = TRUE;
                    break;
                }
                anchor_us = g_get_monotonic_time();
                anchor_s = frame_time(p, next);
            }
            gint64 lateness = MAX(0, g_get_monotonic_time() - due);
            show(p, next);
            p->frames++;
            p->sum_us += lateness;
            p->worst_us = MAX(p->worst_us, lateness);
            if (lateness > LATE_US)
                p->late++;
            keep_fed(p);
        }
    }
    g_source_destroy(timer);
    g_source_unref(timer);
    return !p->failed;
}

/* ---- one scenario (the child process) ------------------------------------------------------ */

static int run_scenario(const char *scenario, const Opts *o)
{
    const gboolean train = !strcmp(scenario, "train") || !strcmp(scenario, "both");
    const gboolean playing = !strcmp(scenario, "play") || !strcmp(scenario, "both");
    if (!train && !playing) {
        fprintf(stderr, "share: unknown scenario '%s' (train, play, both)\n", scenario);
        return 2;
    }
    Result res = {.threads = train ? o->threads : 0, .passive = mimica_threads_passive()};
    Train t = {.threads = o->threads, .batch = o->batch};
    g_mutex_init(&t.lock);
    g_cond_init(&t.cond);
    t.steps = g_array_new(FALSE, FALSE, sizeof(gint64));
    GThread *thread = NULL;
    int rc = 1;
    if (train) {
        thread = g_thread_new("share-train", train_main, &t);
        g_mutex_lock(&t.lock);
        while (!t.ready)
            g_cond_wait(&t.cond, &t.lock);
        g_mutex_unlock(&t.lock);
        if (t.failed) {
            fprintf(stderr, "share: training: %s\n", t.err);
            goto out;
        }
    }
    Play p = {.position = -1};
    GError *error = NULL;
    if (playing) {
        p.ctx = g_main_context_new();
        g_main_context_push_thread_default(p.ctx);
        p.src = mimica_video_source_new(o->video, NULL, 0, NULL, &error); /* as the window does */
        if (!p.src) {
            fprintf(stderr, "share: %s\n", error->message);
            g_error_free(error);
            g_main_context_pop_thread_default(p.ctx);
            g_main_context_unref(p.ctx);
            goto out;
        }
        p.n_frames = mimica_video_source_get_info(p.src)->n_frames;
        p.ring = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify)mimica_frame_unref);
        mimica_video_source_add_watch(p.src, p.ctx, on_event, &p, NULL);
    }
    const gint64 w0 = g_get_monotonic_time(), w1 = w0 + (gint64)o->seconds * G_USEC_PER_SEC;
    const double c0 = cpu_seconds();
    gboolean ok = TRUE;
    if (playing)
        ok = play(&p, w1);
    else
        g_usleep((gulong)(w1 - w0));
    const gint64 w_end = g_get_monotonic_time();
    res.cpu_cores = (cpu_seconds() - c0) / ((w_end - w0) / 1e6);
    if (train) {
        g_atomic_int_set(&t.stop, 1);
        g_thread_join(thread);
        thread = NULL;
        /* the images of every step, in the part of it that fell inside the window */
        double images = 0;
        for (guint i = 0; i + 1 < t.steps->len; i += 2) {
            gint64 s0 = g_array_index(t.steps, gint64, i),
                   s1 = g_array_index(t.steps, gint64, i + 1);
            gint64 in = MIN(s1, w_end) - MAX(s0, w0);
            if (in > 0 && s1 > s0)
                images += 2.0 * o->batch * (double)in / (double)(s1 - s0);
            if (s0 >= w0 && s1 <= w_end)
                res.steps++;
            fprintf(stderr, "share: %s: step %u: %.2f s\n", scenario, i / 2, (s1 - s0) / 1e6);
        }
        res.ips = images / ((w_end - w0) / 1e6);
        res.idle_cpu_ms = t.idle_cpu_ms;
        res.omp_threads = t.omp_threads;
        res.proc_threads = t.proc_threads;
        if (t.err[0]) {
            fprintf(stderr, "share: training: %s\n", t.err);
            ok = FALSE;
        }
        if (res.steps == 0)
            fprintf(stderr,
                    "share: no training step fitted whole in the %d s window (images/s counts "
                    "the parts of the steps inside it): a longer --seconds is surer\n",
                    o->seconds);
    }
    if (playing) {
        res.frames = p.frames;
        res.late = p.late;
        res.not_ready = p.not_ready;
        res.worst_ms = p.worst_us / 1e3;
        res.mean_ms = p.frames ? p.sum_us / 1e3 / p.frames : 0;
        g_object_unref(p.src);
        g_hash_table_destroy(p.ring);
        g_main_context_pop_thread_default(p.ctx);
        g_main_context_unref(p.ctx);
    }
    if (ok) {
        printf(RESULT_TAG " threads=%d passive=%d steps=%d omp_threads=%d proc_threads=%d "
                          "ips=%.4f cpu_cores=%.3f idle_cpu_ms=%.2f frames=%ld late=%ld "
                          "not_ready=%ld worst_ms=%.2f mean_ms=%.3f\n",
               res.threads, res.passive, res.steps, res.omp_threads, res.proc_threads, res.ips,
               res.cpu_cores, res.idle_cpu_ms, res.frames, res.late, res.not_ready, res.worst_ms,
               res.mean_ms);
        rc = 0;
    }
out:
    if (thread) {
        g_atomic_int_set(&t.stop, 1);
        g_thread_join(thread);
    }
    g_array_unref(t.steps);
    g_mutex_clear(&t.lock);
    g_cond_clear(&t.cond);
    return rc;
}

/* ---- the parent: runs the scenarios as children -------------------------------------------- */

static gboolean parse_result(const char *out, Result *r)
{
    const char *line = strstr(out, RESULT_TAG " ");
    return line && sscanf(line,
                          RESULT_TAG " threads=%d passive=%d steps=%d omp_threads=%d "
                                     "proc_threads=%d ips=%lf cpu_cores=%lf idle_cpu_ms=%lf "
                                     "frames=%ld late=%ld not_ready=%ld worst_ms=%lf mean_ms=%lf",
                          &r->threads, &r->passive, &r->steps, &r->omp_threads, &r->proc_threads,
                          &r->ips, &r->cpu_cores, &r->idle_cpu_ms, &r->frames, &r->late,
                          &r->not_ready, &r->worst_ms, &r->mean_ms) == 13;
}

/* Runs `mimica-bench share --scenario NAME` with `threads` training threads, OpenMP's workers
 * waiting passively or spinning (libgomp's default). */
static gboolean child(const char *name, const Opts *o, int threads, gboolean passive, Result *r)
{
    g_autofree char *batch = g_strdup_printf("%d", o->batch);
    g_autofree char *seconds = g_strdup_printf("%d", o->seconds);
    g_autofree char *nthreads = g_strdup_printf("%d", threads);
    char *argv[] = {"/proc/self/exe", "share",   "--scenario", (char *)name, "--video",
                    (char *)o->video, "--batch", batch,        "--seconds",  seconds,
                    "--threads",      nthreads,  NULL};
    char **env = g_get_environ();
    env = g_environ_unsetenv(env, "GOMP_SPINCOUNT");
    env = passive ? g_environ_setenv(env, "OMP_WAIT_POLICY", "passive", TRUE)
                  : g_environ_unsetenv(env, "OMP_WAIT_POLICY");
    g_autofree char *out = NULL;
    int status = 0;
    GError *error = NULL;
    gboolean ok =
        g_spawn_sync(NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
    g_strfreev(env);
    if (!ok) {
        fprintf(stderr, "share: cannot run the scenario %s: %s\n", name, error->message);
        g_error_free(error);
        return FALSE;
    }
    if (!g_spawn_check_wait_status(status, &error) || !parse_result(out, r)) {
        fprintf(stderr, "share: the scenario %s failed%s%s\n", name, error ? ": " : "",
                error ? error->message : "");
        g_clear_error(&error);
        return FALSE;
    }
    return TRUE;
}

static void print_train(const char *label, const Result *r)
{
    printf("share: %-34s %5.2f images/s (%d steps), %d threads (OpenMP %d, process %d), %s "
           "waiting; %.2f cores busy; %.1f ms CPU in a 300 ms pause between steps\n",
           label, r->ips, r->steps, r->threads, r->omp_threads, r->proc_threads,
           r->passive == 1 ? "passive" : "spinning", r->cpu_cores, r->idle_cpu_ms);
}

static void print_play(const char *label, const Result *r)
{
    printf("share: %-34s %ld frames at 1x: %ld late (> %.1f ms), %ld not decoded in time, "
           "worst %.1f ms late, mean %.2f ms\n",
           label, r->frames, r->late, LATE_US / 1e3, r->not_ready, r->worst_ms, r->mean_ms);
}

static int usage(FILE *f)
{
    fprintf(f, "Usage: mimica-bench share [--video FILE] [--batch B] [--seconds S] [--threads T]\n"
               "Training (batch B, default 4, dnnl) beside playback of FILE (default the demo "
               "video) at 1x for S seconds (default 24), each alone and both together, with the "
               "GUI's thread policy (T threads; default: MIMICA_THREADS, else the CPUs minus one) "
               "and with every core and spinning OpenMP workers.\n");
    return f == stdout ? 0 : 2;
}

static int run(int argc, char **argv)
{
    Opts o = {MIMICA_SOURCE_DATADIR "/demo/mimica-demo.mp4", 4, 24, 0};
    const char *scenario = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long n = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(stdout);
        if (!v)
            return usage(stderr);
        if (strcmp(a, "--video") && strcmp(a, "--scenario")) {
            errno = 0;
            n = strtol(v, &end, 10);
            if (errno || end == v || *end || n < 0 || n > 100000) {
                fprintf(stderr, "share: %s wants a whole number, not '%s'\n", a, v);
                return 2;
            }
        }
        if (!strcmp(a, "--video"))
            o.video = v;
        else if (!strcmp(a, "--scenario"))
            scenario = v;
        else if (!strcmp(a, "--batch") && n >= 1)
            o.batch = (int)n;
        else if (!strcmp(a, "--seconds") && n >= 1)
            o.seconds = (int)n;
        else if (!strcmp(a, "--threads") && n >= 1 && n <= MIMICA_THREADS_MAX)
            o.threads = (int)n;
        else
            return usage(stderr);
        i++;
    }
    if (scenario)
        return run_scenario(scenario, &o);

    const int cpus = mimica_threads_available();
    int policy = o.threads;
    GError *error = NULL;
    if (!policy && !mimica_threads_choose(cpus, 1, g_getenv(MIMICA_THREADS_ENV), &policy, &error)) {
        fprintf(stderr, "share: %s\n", error->message);
        g_error_free(error);
        return 2;
    }
    printf("share: %d CPUs; the GUI's policy gives the training %d threads (naive: %d); batch "
           "%d, %d s windows, video %s\n",
           cpus, policy, cpus, o.batch, o.seconds, o.video);
    fflush(stdout);
    Result a = {0}, an = {0}, b = {0}, c = {0}, d = {0};
    if (!child("train", &o, policy, TRUE, &a))
        return 1;
    print_train("(a) training alone, policy:", &a);
    fflush(stdout);
    if (!child("train", &o, cpus, FALSE, &an))
        return 1;
    print_train("(a') training alone, naive:", &an);
    fflush(stdout);
    if (!child("play", &o, policy, TRUE, &b))
        return 1;
    print_play("(b) playback alone:", &b);
    fflush(stdout);
    if (!child("both", &o, policy, TRUE, &c))
        return 1;
    print_train("(c) both, policy: training", &c);
    print_play("(c) both, policy: playback", &c);
    fflush(stdout);
    if (!child("both", &o, cpus, FALSE, &d))
        return 1;
    print_train("(d) both, naive: training", &d);
    print_play("(d) both, naive: playback", &d);
    printf("{\"bench\":\"share\",\"cpus\":%d,\"batch\":%d,\"seconds\":%d,\"policy_threads\":%d,"
           "\"naive_threads\":%d,\"train_alone_ips\":%.3f,\"train_alone_naive_ips\":%.3f,"
           "\"idle_cpu_ms_policy\":%.2f,\"idle_cpu_ms_naive\":%.2f,\"play_frames\":%ld,"
           "\"play_late\":%ld,\"play_worst_ms\":%.2f,\"both_ips\":%.3f,\"both_late\":%ld,"
           "\"both_not_ready\":%ld,\"both_worst_ms\":%.2f,\"naive_ips\":%.3f,\"naive_late\":%ld,"
           "\"naive_not_ready\":%ld,\"naive_worst_ms\":%.2f}\n",
           cpus, o.batch, o.seconds, policy, cpus, a.ips, an.ips, a.idle_cpu_ms, an.idle_cpu_ms,
           b.frames, b.late, b.worst_ms, c.ips, c.late, c.not_ready, c.worst_ms, d.ips, d.late,
           d.not_ready, d.worst_ms);
    return 0;
}

const mim_bench_cmd mim_bench_share = {
    "share",
    "fine-tune training beside 1x video playback: thread policy vs all cores + spinning",
    run,
};
