/* bench-face.c: `mimica-bench face [IMAGE] [--runs N] [--cascade NAME]...`: milliseconds per
 * 640×480 frame for cascade face detection (engine/face), and what the landmark front end adds
 * (engine/landmark: 68 landmarks per face, alignment per face, tracking per frame).
 *
 * The frame is the centre 4:3 part of IMAGE (default: the fixture group photo sample2.jpg of
 * ../shared/fixtures/faces, via $MIMICA_SHARED_DIR or the source tree) resized to 640×480 with
 * mim_image_resize. One thread; CPU time of that thread; medians over the runs. */
#include <glib.h>
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
#include "mimica-config.h"

/* Milliseconds of this thread's CPU time: on a shared machine wall time counts other processes'
 * time slices too (the figures below are CPU time of the one thread doing the work). */
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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static mim_image *frame_640x480(const char *path, GError **error)
{
    mim_image *img = mimica_image_load(path, error);
    if (!img)
        return NULL;
    /* centre 4:3 part */
    int w = img->width, h = img->height, cw = w, ch = h;
    if ((gint64)w * 3 > (gint64)h * 4)
        cw = h * 4 / 3;
    else
        ch = w * 3 / 4;
    mim_image crop = mim_image_view(mim_image_row8(img, (h - ch) / 2) + (size_t)((w - cw) / 2) * 3,
                                    cw, ch, img->stride, MIM_IMAGE_RGB8);
    mim_image *out = mim_image_new(640, 480, MIM_IMAGE_RGB8);
    mim_image_resize(&crop, out);
    mim_image_free(img);
    return out;
}

typedef struct {
    const mim_cascade *cascade;
} det_user;

static int tracker_detect(void *user, const mim_image *frame, mim_face_box *boxes, int max_boxes)
{
    det_user *u = user;
    mim_face_rect *r;
    size_t n;
    if (mim_cascade_detect(u->cascade, frame, NULL, &r, &n, NULL, 0) != 0)
        return -1;
    int k = 0;
    for (size_t i = 0; i < n && k < max_boxes; i++)
        boxes[k++] = mim_face_box_from_cascade(r[i].x, r[i].y, r[i].w, r[i].h);
    free(r);
    return k;
}

static int bench_face_run(int argc, char **argv)
{
    const char *image = NULL;
    int runs = 5;
    const char *names[8];
    int n_names = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: mimica-bench face [IMAGE] [--runs N] [--cascade NAME]...\n"
                   "Milliseconds per 640x480 frame: cascade detection (default cascades: "
                   "haarcascade_frontalface_default, haarcascade_frontalface_alt2, "
                   "lbpcascade_frontalface_improved), 68 landmarks and alignment per face, "
                   "tracking per frame. One thread, its CPU time; medians of N runs (5).\n");
            return 0;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--cascade") && i + 1 < argc && n_names < 8) {
            names[n_names++] = argv[++i];
        } else if (argv[i][0] != '-' && !image) {
            image = argv[i];
        } else {
            fprintf(stderr, "face: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 1000) {
        fprintf(stderr, "face: --runs 1..1000\n");
        return 2;
    }
    if (!n_names) {
        names[n_names++] = "haarcascade_frontalface_default";
        names[n_names++] = "haarcascade_frontalface_alt2";
        names[n_names++] = "lbpcascade_frontalface_improved";
    }
    g_autofree char *def = NULL;
    if (!image) {
        const char *shared = g_getenv("MIMICA_SHARED_DIR");
        def = shared ? g_build_filename(shared, "fixtures/faces/images/sample2.jpg", NULL)
                     : g_build_filename(MIMICA_SOURCE_DATADIR, "..", "..", "shared",
                                        "fixtures/faces/images/sample2.jpg", NULL);
        image = def;
    }
    GError *error = NULL;
    mim_image *frame = frame_640x480(image, &error);
    if (!frame) {
        fprintf(stderr, "face: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    printf("face: frame = centre 4:3 of %s resized to 640x480; %d runs, one thread\n", image, runs);

    char err[1024];
    double *t = g_new(double, runs);
    GString *json =
        g_string_new("{\"bench\":\"face\",\"width\":640,\"height\":480,\"detect_ms\":{");
    mim_cascade *first = NULL;
    for (int ci = 0; ci < n_names; ci++) {
        mim_cascade *c;
        if (mim_cascade_load_named(names[ci], &c, err, sizeof err) != 0) {
            fprintf(stderr, "face: %s\n", err);
            continue;
        }
        size_t n = 0;
        for (int r = 0; r < runs; r++) {
            mim_face_rect *faces;
            double t0 = cpu_ms();
            if (mim_cascade_detect(c, frame, NULL, &faces, &n, err, sizeof err) != 0) {
                fprintf(stderr, "face: %s\n", err);
                return 1;
            }
            t[r] = cpu_ms() - t0;
            free(faces);
        }
        double ms = median(t, runs);
        printf("face: detect %-34s %8.2f ms/frame (%zu faces)\n", names[ci], ms, n);
        g_string_append_printf(json, "%s\"%s\":%.3f", ci ? "," : "", names[ci], ms);
        if (!first)
            first = c;
        else
            mim_cascade_free(c);
    }
    g_string_append(json, "}");

    /* the landmark engineer's front end, on the first cascade's faces */
    mim_shape_predictor *sp = NULL;
    if (first && mim_shape_predictor_load(NULL, &sp, err, sizeof err) != 0) {
        printf("face: landmarks not measured: %s\n", err);
    } else if (first) {
        mim_face_rect *faces;
        size_t n;
        mim_cascade_detect(first, frame, NULL, &faces, &n, err, sizeof err);
        if (n > 0) {
            float *xy = g_new(float, 2 * MIM_LANDMARK_N68 * n);
            double *ta = g_new(double, runs);
            for (int r = 0; r < runs; r++) {
                double t0 = cpu_ms();
                for (size_t i = 0; i < n; i++) {
                    mim_face_box box =
                        mim_face_box_from_cascade(faces[i].x, faces[i].y, faces[i].w, faces[i].h);
                    mim_shape_predictor_predict(sp, frame, &box, xy + 2 * MIM_LANDMARK_N68 * i,
                                                NULL, NULL);
                }
                double t1 = cpu_ms();
                static uint8_t aligned[MIM_ALIGN_SIZE * MIM_ALIGN_SIZE * 3];
                static float chw[3 * MIM_ALIGN_CROP * MIM_ALIGN_CROP];
                for (size_t i = 0; i < n; i++)
                    mim_align_face(frame, xy + 2 * MIM_LANDMARK_N68 * i, aligned, NULL, chw);
                double t2 = cpu_ms();
                t[r] = (t1 - t0) / (double)n;
                ta[r] = (t2 - t1) / (double)n;
            }
            double lm = median(t, runs), al = median(ta, runs);
            printf("face: landmarks68 %8.3f ms/face, alignment (200x200 + 176 crop) %8.3f ms/face "
                   "(%zu faces)\n",
                   lm, al, n);
            g_string_append_printf(json,
                                   ",\"landmarks_ms_per_face\":%.4f,"
                                   "\"align_ms_per_face\":%.4f,\"faces\":%zu",
                                   lm, al, n);
            g_free(ta);
            g_free(xy);

            /* tracking: 300 frames of the same picture (detector every 30 frames, default
             * tracker parameters) */
            det_user u = {first};
            mim_tracker *tr = mim_tracker_new(sp, NULL, tracker_detect, &u);
            int n_frames = 300, tracked = 0;
            double t0 = cpu_ms();
            for (int f = 0; f < n_frames; f++)
                tracked = mim_tracker_update(tr, frame);
            double per = (cpu_ms() - t0) / n_frames;
            printf("face: tracking %8.3f ms/frame = %.0f fps (%d faces tracked, detector every "
                   "30 frames)\n",
                   per, 1000.0 / per, tracked);
            g_string_append_printf(json, ",\"track_ms_per_frame\":%.4f,\"tracked\":%d", per,
                                   tracked);
            mim_tracker_free(tr);
        }
        free(faces);
    }
    g_string_append(json, "}");
    printf("%s\n", json->str);
    g_string_free(json, TRUE);
    mim_shape_predictor_free(sp);
    mim_cascade_free(first);
    mim_image_free(frame);
    g_free(t);
    return 0;
}

const mim_bench_cmd mim_bench_face = {
    .name = "face",
    .summary = "ms per 640x480 frame: cascade detection, landmarks, alignment, tracking",
    .run = bench_face_run,
};
