/* bench-landmark.c: `mimica-bench landmark`: the 68-point predictor, the MODEL.md §1.1/§1.3
 * alignment and the tracker, one thread, on 640x480 frames made from a fixture face. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "face/mim-cascade.h"
#include "image/mimica-image.h"
#include "landmark/mim-align.h"
#include "landmark/mim-landmark.h"
#include "landmark/mim-tracker.h"
#include "mimica-bench.h"

#define W 640
#define H 480

/* CPU time of this thread in ms: on a loaded shared machine the wall clock also counts the time
 * other processes hold the core; both are printed. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* frame t: the photo under a similarity (circle path, ±6°, face ~ 170 px), grey outside */
static void make_frame(const mim_image *src, int t, uint8_t *px)
{
    double ph = 2 * G_PI * t / 60.0, th = 6 * G_PI / 180 * sin(ph), sc = 0.45 + 0.03 * sin(ph);
    double a = sc * cos(th), b = sc * sin(th);
    double m[6] = {a, -b, 320 + 40 * cos(ph) - (a * 268 - b * 482),
                   b, a,  240 + 30 * sin(ph) - (b * 268 + a * 482)};
    mim_image dst = mim_image_view(px, W, H, (size_t)W * 3, MIM_IMAGE_RGB8);
    double border[3] = {90, 90, 90};
    mim_image_warp_affine(src, &dst, m, border);
}

static int detect(void *user, const mim_image *frame, mim_face_box *boxes, int max_boxes)
{
    mim_face_rect *r = NULL;
    size_t n = 0;
    if (mim_cascade_detect(user, frame, NULL, &r, &n, NULL, 0))
        return -1;
    int k = 0;
    for (size_t i = 0; i < n && k < max_boxes; i++)
        boxes[k++] = mim_face_box_from_cascade(r[i].x, r[i].y, r[i].w, r[i].h);
    free(r);
    return k;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ms per frame of the tracker over n_frames (after a first frame that detects) */
static double track_run(const mim_shape_predictor *sp, mim_cascade *cas, uint8_t **frames,
                        int n_distinct, int n_frames, int redetect_every, int *n_det, int *n_faces,
                        double *cpu)
{
    mim_tracker_params p;
    mim_tracker_params_default(&p);
    p.redetect_every = redetect_every;
    mim_tracker *tr = mim_tracker_new(sp, &p, detect, cas);
    mim_image f0 = mim_image_view(frames[0], W, H, (size_t)W * 3, MIM_IMAGE_RGB8);
    mim_tracker_update(tr, &f0);
    int det0 = mim_tracker_n_detections(tr);
    gint64 t0 = g_get_monotonic_time();
    double c0 = cpu_ms();
    int nf = 0;
    for (int t = 1; t <= n_frames; t++) {
        mim_image f = mim_image_view(frames[t % n_distinct], W, H, (size_t)W * 3, MIM_IMAGE_RGB8);
        nf = mim_tracker_update(tr, &f);
    }
    double ms = (g_get_monotonic_time() - t0) / 1000.0 / n_frames;
    *cpu = (cpu_ms() - c0) / n_frames;
    *n_det = mim_tracker_n_detections(tr) - det0;
    *n_faces = nf;
    mim_tracker_free(tr);
    return ms;
}

static int run_landmark(int argc, char **argv)
{
    int n_frames = 300;
    const char *image = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            n_frames = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--image") && i + 1 < argc)
            image = argv[++i];
        else {
            fprintf(stderr, "usage: mimica-bench landmark [--frames N] [--image JPEG]\n");
            return 2;
        }
    }
    g_autofree char *def = NULL;
    if (!image) {
        const char *shared = g_getenv("MIMICA_SHARED_DIR");
        def = shared ? g_build_filename(shared, "fixtures", "faces", "images",
                                        "Tom_Cruise_avp_2014_4.jpg", NULL)
                     : g_strdup("../shared/fixtures/faces/images/Tom_Cruise_avp_2014_4.jpg");
        image = def;
    }
    char err[512];
    mim_shape_predictor *sp;
    gint64 t0 = g_get_monotonic_time();
    if (mim_shape_predictor_load(NULL, &sp, err, sizeof err)) {
        fprintf(stderr, "mimica-bench landmark: %s\n", err);
        return 1;
    }
    double load_s = (g_get_monotonic_time() - t0) / 1e6;
    mim_cascade *cas;
    if (mim_cascade_load_named(NULL, &cas, err, sizeof err)) {
        fprintf(stderr, "mimica-bench landmark: %s\n", err);
        mim_shape_predictor_free(sp);
        return 1;
    }
    g_autoptr(GError) error = NULL;
    mim_image *src = mimica_image_load(image, &error);
    if (!src) {
        fprintf(stderr, "mimica-bench landmark: %s\n", error->message);
        mim_cascade_free(cas);
        mim_shape_predictor_free(sp);
        return 1;
    }
    enum { N_DISTINCT = 60 };
    uint8_t *frames[N_DISTINCT];
    for (int t = 0; t < N_DISTINCT; t++) {
        frames[t] = g_malloc((size_t)W * H * 3);
        make_frame(src, t, frames[t]);
    }
    mim_image f0 = mim_image_view(frames[0], W, H, (size_t)W * 3, MIM_IMAGE_RGB8);

    /* detector once, to get the face box of frame 0 */
    mim_face_box boxes[16];
    double det_ms[5];
    int n_box = 0;
    for (int i = 0; i < 5; i++) {
        gint64 a = g_get_monotonic_time();
        n_box = detect(cas, &f0, boxes, 16);
        det_ms[i] = (g_get_monotonic_time() - a) / 1000.0;
    }
    mim_face_box box = n_box > 0 ? boxes[0] : (mim_face_box){250, 200, 420, 370};

    enum { N_REP = 200 };
    double lm[N_REP], al[N_REP];
    float xy[136], xy49[98];
    float *chw = g_malloc(sizeof(float) * 3 * MIM_ALIGN_CROP * MIM_ALIGN_CROP);
    uint8_t *aligned = g_malloc(MIM_ALIGN_SIZE * MIM_ALIGN_SIZE * 3);
    for (int i = 0; i < N_REP; i++) {
        gint64 a = g_get_monotonic_time();
        mim_shape_predictor_predict(sp, &f0, &box, xy, NULL, NULL);
        gint64 b = g_get_monotonic_time();
        mim_align_face(&f0, xy, aligned, xy49, chw);
        gint64 c = g_get_monotonic_time();
        lm[i] = (b - a) / 1000.0;
        al[i] = (c - b) / 1000.0;
    }
    double lm_ms = median(lm, N_REP), al_ms = median(al, N_REP), d_ms = median(det_ms, 5);
    /* a fresh detection's landmarks with the box refined (what mimica-cli detect and the tracker
     * do for a new face); the whole search (every hypothesis, the most it can cost) as well */
    enum { N_FIT = 20 };
    double fit_ms[N_FIT], full_ms[N_FIT];
    mim_landmark_fit fit = {0}, full = {0};
    mim_landmark_fit_params fp;
    mim_landmark_fit_params_default(&fp);
    fp.accept = 0;
    for (int i = 0; i < N_FIT; i++) {
        gint64 a = g_get_monotonic_time();
        mim_landmark_fit_detection(sp, &f0, &box, NULL, &fit, NULL, 0);
        gint64 b = g_get_monotonic_time();
        mim_landmark_fit_detection(sp, &f0, &box, &fp, &full, NULL, 0);
        gint64 c = g_get_monotonic_time();
        fit_ms[i] = (b - a) / 1000.0;
        full_ms[i] = (c - b) / 1000.0;
    }
    double fit_med = median(fit_ms, N_FIT), full_med = median(full_ms, N_FIT);

    int nd0, nd30, nf0, nf30;
    double cpu0, cpu30;
    double tr0 = track_run(sp, cas, frames, N_DISTINCT, n_frames, 0, &nd0, &nf0, &cpu0);
    double tr30 = track_run(sp, cas, frames, N_DISTINCT, n_frames, 30, &nd30, &nf30, &cpu30);
    /* landmarks on every distinct frame in the tracked box (cold caches, as in a video) */
    double lmv_cpu = 0;
    {
        mim_tracker *tr = mim_tracker_new(sp, NULL, detect, cas);
        mim_tracker_update(tr, &f0);
        mim_face_box tb = mim_tracker_get(tr, 0) ? mim_tracker_get(tr, 0)->box : box;
        mim_tracker_free(tr);
        double c0 = cpu_ms();
        for (int t = 0; t < n_frames; t++) {
            mim_image f =
                mim_image_view(frames[t % N_DISTINCT], W, H, (size_t)W * 3, MIM_IMAGE_RGB8);
            mim_shape_predictor_predict(sp, &f, &tb, xy, NULL, NULL);
        }
        lmv_cpu = (cpu_ms() - c0) / n_frames;
    }

    printf("mimica-bench landmark: one thread, %dx%d RGB frames from %s\n", W, H, image);
    printf("  model load              %8.3f s\n", load_s);
    printf("  cascade detection       %8.3f ms/frame (median of 5; %d faces)\n", d_ms, n_box);
    printf("  68 landmarks (1 face)   %8.3f ms (median of %d, same frame: warm caches)\n", lm_ms,
           N_REP);
    printf("  68 landmarks, video     %8.3f ms CPU (mean over %d frames)\n", lmv_cpu, n_frames);
    printf("  alignment + crop        %8.3f ms (200x200 warp, 176x176 CHW tensor)\n", al_ms);
    printf("  fit of a detection      %8.3f ms (median of %d; %d boxes, %d predictor runs; "
           "whole search %.3f ms, %d runs)\n",
           fit_med, N_FIT, fit.n_hypotheses, fit.n_predictions, full_med, full.n_predictions);
    printf("  tracking, no re-detect  %8.3f ms/frame wall, %.3f ms CPU = %.0f frames/s of CPU "
           "(%d frames, %d detector runs, %d faces)\n",
           tr0, cpu0, 1000 / cpu0, n_frames, nd0, nf0);
    printf("  tracking, re-detect /30 %8.3f ms/frame wall, %.3f ms CPU = %.0f frames/s of CPU "
           "(%d detector runs)\n",
           tr30, cpu30, 1000 / cpu30, nd30);
    printf(
        "{\"bench\":\"landmark\",\"width\":%d,\"height\":%d,\"load_s\":%.3f,\"detect_ms\":%.3f,"
        "\"landmarks_ms\":%.4f,\"align_ms\":%.4f,\"track_ms\":%.4f,\"track_fps\":%.1f,"
        "\"track_redetect30_ms\":%.4f,\"track_redetect30_fps\":%.1f,\"track_cpu_ms\":%.4f,"
        "\"track_cpu_fps\":%.1f,\"track_redetect30_cpu_ms\":%.4f,\"landmarks_video_cpu_ms\":%.4f,"
        "\"fit_ms\":%.3f,\"fit_runs\":%d,\"fit_full_ms\":%.3f,\"faces\":%d}\n",
        W, H, load_s, d_ms, lm_ms, al_ms, tr0, 1000 / tr0, tr30, 1000 / tr30, cpu0, 1000 / cpu0,
        cpu30, lmv_cpu, fit_med, fit.n_predictions, full_med, nf0);
    for (int t = 0; t < N_DISTINCT; t++)
        g_free(frames[t]);
    g_free(chw);
    g_free(aligned);
    mim_image_free(src);
    mim_cascade_free(cas);
    mim_shape_predictor_free(sp);
    return nf0 == 1 ? 0 : 1;
}

const mim_bench_cmd mim_bench_landmark = {
    "landmark", "68 landmarks, alignment, tracking (640x480, 1 thread)", run_landmark};
