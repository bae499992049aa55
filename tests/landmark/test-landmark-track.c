/* test-landmark-track.c: the multi-face tracker on a synthetic video.
 *
 * Frames (640x480 RGB) are built here from a real fixture face (Tom_Cruise_avp_2014_4.jpg): the
 * left half of each frame shows the photo under a similarity A_t, the right half under B_t, two
 * known paths (translation on circles, rotation up to ±8°, scale 0.28..0.34). Ground truth = our
 * landmarks on the still photo in dlib's HOG box (which equal dlib's, see test-landmark-fixtures)
 * mapped by A_t / B_t. From frame 60 the right face is gone (flat grey): its track must end, and
 * the left face keep its id. Detector: engine/face's cascade (haarcascade_frontalface_default),
 * boxes mapped per FORMATS.md A.4. Printed: per-face landmark error vs the path, in % of the
 * inter-ocular distance, detector runs, tracking time per frame. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "face/mim-cascade.h"
#include "image/mimica-image.h"
#include "landmark/mim-landmark.h"
#include "landmark/mim-tracker.h"
#include "../common/fixture-skip.h"

#define W        640
#define H        480
#define N_FRAMES 90
#define GONE_AT  60

static void path(int face, int t, double m[6])
{
    double ph = 2 * G_PI * t / 45.0 + face * 1.3;
    double th = (face ? -8 : 8) * G_PI / 180 * sin(ph);
    double sc = 0.31 + 0.03 * sin(0.7 * ph + face);
    /* source face centre (268, 482) (dlib HOG box of the photo) -> frame point */
    double cx = (face ? 480 : 160) + 25 * cos(ph), cy = 240 + 20 * sin(ph);
    double a = sc * cos(th), b = sc * sin(th);
    m[0] = a, m[1] = -b, m[3] = b, m[4] = a;
    m[2] = cx - (a * 268 - b * 482);
    m[5] = cy - (b * 268 + a * 482);
}

static uint8_t bilinear(const mim_image *src, double x, double y, int c)
{
    double fx = floor(x), fy = floor(y);
    int x0 = (int)fx, y0 = (int)fy;
    if (x0 < 0 || y0 < 0 || x0 + 1 >= src->width || y0 + 1 >= src->height)
        return 90;
    double ax = x - fx, ay = y - fy;
    const uint8_t *r0 = mim_image_row8(src, y0) + x0 * 3 + c;
    const uint8_t *r1 = mim_image_row8(src, y0 + 1) + x0 * 3 + c;
    double v = (1 - ay) * ((1 - ax) * r0[0] + ax * r0[3]) + ay * ((1 - ax) * r1[0] + ax * r1[3]);
    return (uint8_t)lrint(v);
}

static void make_frame(const mim_image *src, int t, uint8_t *frame)
{
    double inv[2][6];
    for (int f = 0; f < 2; f++) {
        double m[6];
        path(f, t, m);
        g_assert_cmpint(mim_affine_invert(m, inv[f]), ==, 0);
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int f = x >= W / 2;
            uint8_t *o = frame + ((size_t)y * W + x) * 3;
            if (f && t >= GONE_AT) {
                o[0] = o[1] = o[2] = 90;
                continue;
            }
            const double *iv = inv[f];
            double sx = iv[0] * x + iv[1] * y + iv[2], sy = iv[3] * x + iv[4] * y + iv[5];
            for (int c = 0; c < 3; c++)
                o[c] = bilinear(src, sx, sy, c);
        }
}

static int detect(void *user, const mim_image *frame, mim_face_box *boxes, int max_boxes)
{
    mim_face_rect *r = NULL;
    size_t n = 0;
    char err[256];
    if (mim_cascade_detect(user, frame, NULL, &r, &n, err, sizeof err))
        return -1;
    int k = 0;
    for (size_t i = 0; i < n && k < max_boxes; i++)
        boxes[k++] = mim_face_box_from_cascade(r[i].x, r[i].y, r[i].w, r[i].h);
    free(r);
    return k;
}

static double iod68(const float *xy)
{
    double ex[2] = {0, 0}, ey[2] = {0, 0};
    for (int k = 36; k < 48; k++) {
        ex[k >= 42] += xy[2 * k] / 6.0;
        ey[k >= 42] += xy[2 * k + 1] / 6.0;
    }
    return hypot(ex[1] - ex[0], ey[1] - ey[0]);
}

static void test_two_faces(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    if (!shared) {
        mimica_test_skip_fixtures("MIMICA_SHARED_DIR unset");
        return;
    }
    g_autofree char *ipath =
        g_build_filename(shared, "fixtures", "faces", "images", "Tom_Cruise_avp_2014_4.jpg", NULL);
    char err[512];
    mim_shape_predictor *sp;
    if (mim_shape_predictor_load(NULL, &sp, err, sizeof err)) {
        g_test_skip_printf("%s", err);
        return;
    }
    mim_cascade *cas;
    if (mim_cascade_load_named(NULL, &cas, err, sizeof err)) {
        g_test_skip_printf("%s", err);
        mim_shape_predictor_free(sp);
        return;
    }
    g_autoptr(GError) error = NULL;
    mim_image *src = mimica_image_load(ipath, &error);
    if (!src) {
        g_autofree char *why = g_strdup_printf("%s: %s", ipath, error->message);
        mimica_test_skip_fixtures(why);
        mim_cascade_free(cas);
        mim_shape_predictor_free(sp);
        return;
    }
    /* the photo's landmarks in dlib's HOG box [76, 290, 461, 675] (fixture reference) */
    mim_face_box hog = {76, 290, 461, 675};
    float ref[136];
    mim_shape_predictor_predict(sp, src, &hog, ref, NULL, NULL);

    mim_tracker_params p;
    mim_tracker_params_default(&p);
    p.redetect_every = 10;
    mim_tracker *tr = mim_tracker_new(sp, &p, detect, cas);
    uint8_t *px = g_malloc((size_t)W * H * 3);
    mim_image frame = mim_image_view(px, W, H, (size_t)W * 3, MIM_IMAGE_RGB8);
    int id_of[2] = {0, 0}, n_id_changes = 0, max_id = 0;
    double err_sum[2] = {0, 0}, err_max[2] = {0, 0};
    int err_n[2] = {0, 0};
    gint64 track_us = 0;
    int right_gone_frame = -1;
    for (int t = 0; t < N_FRAMES; t++) {
        make_frame(src, t, px);
        gint64 t0 = g_get_monotonic_time();
        int n = mim_tracker_update(tr, &frame);
        track_us += g_get_monotonic_time() - t0;
        g_assert_cmpint(n, >=, 0);
        int seen[2] = {0, 0};
        for (int i = 0; i < n; i++) {
            const mim_track *k = mim_tracker_get(tr, i);
            double cx = 0;
            for (int j = 0; j < 68; j++)
                cx += k->xy[2 * j] / 68;
            int f = cx >= W / 2;
            max_id = MAX(max_id, k->id);
            if (seen[f]++)
                g_test_fail_printf("frame %d: two tracks on face %d", t, f);
            if (id_of[f] == 0)
                id_of[f] = k->id;
            else if (id_of[f] != k->id) {
                n_id_changes++;
                g_test_fail_printf("frame %d: face %d id %d -> %d", t, f, id_of[f], k->id);
                id_of[f] = k->id;
            }
            if (f && t >= GONE_AT)
                continue;
            double m[6], truth[136];
            path(f, t, m);
            double refd[136];
            for (int j = 0; j < 136; j++)
                refd[j] = ref[j];
            mim_affine_apply(m, refd, truth, 68);
            float truthf[136];
            for (int j = 0; j < 136; j++)
                truthf[j] = (float)truth[j];
            double iod = iod68(truthf), e = 0;
            for (int j = 0; j < 68; j++)
                e += hypot(k->xy[2 * j] - truth[2 * j], k->xy[2 * j + 1] - truth[2 * j + 1]);
            e /= 68 * iod;
            err_sum[f] += e, err_n[f]++;
            err_max[f] = fmax(err_max[f], e);
        }
        if (t >= GONE_AT && !seen[1] && right_gone_frame < 0)
            right_gone_frame = t;
        if (t > 0 && t < GONE_AT && (seen[0] != 1 || seen[1] != 1))
            g_test_fail_printf("frame %d: faces seen %d/%d, want 1/1", t, seen[0], seen[1]);
    }
    for (int f = 0; f < 2; f++)
        g_test_message("face %d: id %d, %d frames, mean landmark error %.2f %% IOD, max %.2f %%", f,
                       id_of[f], err_n[f], err_n[f] ? 100 * err_sum[f] / err_n[f] : 0,
                       100 * err_max[f]);
    g_test_message("detector runs %d in %d frames; right face dropped at frame %d (gone from %d);"
                   " highest id %d; tracking %.2f ms/frame incl. detection",
                   mim_tracker_n_detections(tr), N_FRAMES, right_gone_frame, GONE_AT, max_id,
                   track_us / 1000.0 / N_FRAMES);
    g_assert_cmpint(n_id_changes, ==, 0);
    g_assert_cmpint(max_id, ==, 2);
    g_assert_cmpint(right_gone_frame, >=, GONE_AT);
    g_assert_cmpint(right_gone_frame, <=, GONE_AT + 2 * p.redetect_every + p.max_lost + 1);
    for (int f = 0; f < 2; f++) {
        g_assert_cmpint(err_n[f], >, 0);
        if (err_sum[f] / err_n[f] > 0.05)
            g_test_fail_printf("face %d: mean error %.2f %% IOD > 5 %%", f,
                               100 * err_sum[f] / err_n[f]);
    }
    g_free(px);
    mim_tracker_free(tr);
    mim_image_free(src);
    mim_cascade_free(cas);
    mim_shape_predictor_free(sp);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/landmark/track/two-faces", test_two_faces);
    return g_test_run();
}
