/* test-face-clips.c: the face clips of face-clips.c, their truth, and how the project's own
 * decoder and face front-end see them.
 *   /face-clips/truth       every preset's truth over all frames: visible iff drawn and all 68
 *                           landmarks in the frame, the inter-ocular distance follows the
 *                           placement's scale, the keyframed AUs and cuts where they were put;
 *                           rendering leaves the background alone away from the faces; bad
 *                           keyframes refused
 *   /face-clips/containers  each preset encoded in its container (WMV wmv2 and msmpeg4, AVI
 *                           mpeg4, MP4 H.264, MOV HEVC) and decoded back with MimicaDecoder:
 *                           frame count, every frame's time (variable frame rates), every decoded
 *                           frame against the rendered one (PSNR), file sizes and times printed
 *   /face-clips/landmarks   on decoded frames: the default cascade + mim_landmark_fit_detection
 *                           (as mimica-cli detect): on neutral frames within 3 % of the IOD of the
 *                           truth (mean over the faces; each within 5 %), on expression frames
 *                           nearer the warped truth than the unwarped landmarks (mean errors of
 *                           both printed)
 * The fixtures come from MIMICA_SHARED_DIR; without them the tests skip (fail if CI=true). With
 * FC_SAVE_DIR set, some frames are written there as PNG (truth landmarks green, found red). */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>

#include "face-clips.h"
#include "face/mim-cascade.h"
#include "landmark/mim-landmark.h"
#include "media/mimica-decoder.h"

static char *tmpdir;

/* The fixture folder, or NULL after skipping (failing on CI) the test. */
static const char *shared_or_skip(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    g_autofree char *probe = shared ? g_build_filename(shared, "fixtures", "faces", "images",
                                                       "Tom_Cruise_avp_2014_4.jpg", NULL)
                                    : NULL;
    if (probe && g_file_test(probe, G_FILE_TEST_IS_REGULAR))
        return shared;
    if (!g_strcmp0(g_getenv("CI"), "true"))
        g_test_fail_printf("face fixtures not found (MIMICA_SHARED_DIR=%s) and CI=true",
                           shared ? shared : "(unset)");
    else
        g_test_skip("face fixtures not found (MIMICA_SHARED_DIR)");
    return NULL;
}

static FcScene *preset_or_fail(const char *name, const char *shared)
{
    g_autoptr(GError) error = NULL;
    FcScene *s = fc_scene_preset(name, shared, &error);
    if (!s)
        g_test_fail_printf("preset %s: %s", name, error->message);
    return s;
}

/* ---- PNG output (FC_SAVE_DIR) ------------------------------------------------------------ */

static void dot(mim_image *img, double x, double y, const guint8 *rgb)
{
    int cx = (int)lrint(x), cy = (int)lrint(y);
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            int px = cx + dx, py = cy + dy;
            if (px >= 0 && py >= 0 && px < img->width && py < img->height)
                memcpy(mim_image_row8(img, py) + 3 * px, rgb, 3);
        }
}

/* Writes img (with the truth's visible landmarks in green and `found` in red, if given) as
 * $FC_SAVE_DIR/<name>.png; nothing without FC_SAVE_DIR. */
static void save_png(const char *name, const mim_image *img, const FcTruth *truth,
                     const float *found, int n_found)
{
    const char *dir = g_getenv("FC_SAVE_DIR");
    if (!dir)
        return;
    mim_image *copy = mim_image_new(img->width, img->height, MIM_IMAGE_RGB8);
    for (int y = 0; y < img->height; y++)
        memcpy(mim_image_row8(copy, y), mim_image_row8(img, y), (gsize)img->width * 3);
    static const guint8 green[3] = {40, 255, 40}, red[3] = {255, 40, 40};
    for (int i = 0; truth && i < truth->n_faces; i++)
        for (int k = 0; truth->face[i].drawn && k < 68; k++)
            dot(copy, truth->face[i].xy[2 * k], truth->face[i].xy[2 * k + 1], green);
    for (int i = 0; i < n_found * 68; i++)
        dot(copy, found[2 * i], found[2 * i + 1], red);
    const AVCodec *png = avcodec_find_encoder(AV_CODEC_ID_PNG);
    AVCodecContext *c = png ? avcodec_alloc_context3(png) : NULL;
    AVFrame *f = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = -1;
    if (c && f && pkt) {
        c->width = f->width = img->width;
        c->height = f->height = img->height;
        c->pix_fmt = AV_PIX_FMT_RGB24;
        f->format = AV_PIX_FMT_RGB24;
        c->time_base = (AVRational){1, 25};
        ret = avcodec_open2(c, png, NULL);
        if (ret >= 0)
            ret = av_frame_get_buffer(f, 0);
        for (int y = 0; ret >= 0 && y < img->height; y++)
            memcpy(f->data[0] + (gsize)y * f->linesize[0], mim_image_row8(copy, y),
                   (gsize)img->width * 3);
        if (ret >= 0)
            ret = avcodec_send_frame(c, f);
        if (ret >= 0)
            ret = avcodec_receive_packet(c, pkt);
    }
    if (ret >= 0) {
        g_autofree char *path = g_strdup_printf("%s/%s.png", dir, name);
        g_autoptr(GError) error = NULL;
        if (g_file_set_contents(path, (const char *)pkt->data, pkt->size, &error))
            g_test_message("wrote %s", path);
        else
            g_test_message("cannot write %s: %s", path, error->message);
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&c);
    mim_image_free(copy);
}

/* ---- truth --------------------------------------------------------------------------------- */

static void test_truth(void)
{
    const char *shared = shared_or_skip();
    if (!shared)
        return;
    for (const char *const *name = fc_scene_preset_names(); *name; name++) {
        g_autoptr(FcScene) s = preset_or_fail(*name, shared);
        if (!s)
            continue;
        int n_visible = 0, n_drawn_invisible = 0, n_expr = 0, bad_iod = 0, bad_vis = 0;
        double worst_iod = 0, iod_min = 1e9, iod_max = 0, expr_iod_dev = 0;
        GString *vis = g_string_new(NULL);
        for (int i = 0; i < s->n_faces; i++) {
            int prev = -1, start = 0;
            g_string_append_printf(vis, "%s%s visible", i ? "; " : "", s->faces[i]->label);
            for (int fr = 0; fr <= s->n_frames; fr++) {
                FcTruth t;
                int v = -1;
                if (fr < s->n_frames) {
                    g_assert_true(fc_scene_render(s, fr, NULL, &t, NULL));
                    g_assert_cmpint(t.n_faces, ==, s->n_faces);
                    g_assert_cmpint(t.pts, ==, s->pts[fr]);
                    if (fr > 0)
                        g_assert_cmpint(s->pts[fr], >, s->pts[fr - 1]);
                    const FcFaceTruth *f = fc_truth_face(&t, i);
                    v = f->visible;
                    /* visible iff drawn and every landmark inside */
                    gboolean inside = TRUE;
                    for (int k = 0; k < 68; k++)
                        inside &= f->xy[2 * k] >= 0 && f->xy[2 * k] <= s->width - 1 &&
                                  f->xy[2 * k + 1] >= 0 && f->xy[2 * k + 1] <= s->height - 1;
                    bad_vis += f->visible != (f->drawn && inside);
                    n_visible += f->visible;
                    n_drawn_invisible += f->drawn && !f->visible;
                    /* the neutral landmarks' IOD is the placement's */
                    double iod = fc_iod68(f->xy_neutral), rel = fabs(iod - f->iod) / f->iod;
                    worst_iod = fmax(worst_iod, rel);
                    bad_iod += rel > 1e-4;
                    iod_min = fmin(iod_min, f->iod);
                    iod_max = fmax(iod_max, f->iod);
                    if (!fc_truth_is_neutral(&t, i)) {
                        n_expr++;
                        expr_iod_dev = fmax(expr_iod_dev, fabs(fc_iod68(f->xy) - iod) / iod);
                    }
                }
                if (v != prev) {
                    if (prev == 1)
                        g_string_append_printf(vis, " %d..%d", start, fr - 1);
                    start = fr;
                    prev = v;
                }
            }
        }
        g_test_message("%-15s %d frames, %s, pts %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
                       " x %d/%d s; %s; face-frames visible %d, drawn but not visible %d, with an "
                       "expression %d; IOD %.0f..%.0f px, neutral landmarks' IOD off by %.1g "
                       "(relative) at most, expressions move it by %.1f %%",
                       *name, s->n_frames, fc_container_name(s->container), s->pts[0],
                       s->pts[s->n_frames - 1], s->tb_num, s->tb_den, vis->str, n_visible,
                       n_drawn_invisible, n_expr, iod_min, iod_max, worst_iod, 100 * expr_iod_dev);
        g_string_free(vis, TRUE);
        g_assert_cmpint(bad_vis, ==, 0);
        g_assert_cmpint(bad_iod, ==, 0);
        g_assert_cmpint(n_visible, >, 0);
    }

    /* the cut: visible 0..29, gone (not drawn) 45..59, whole again at 60 */
    g_autoptr(FcScene) cut = preset_or_fail("one-face-cut", shared);
    g_assert_nonnull(cut);
    FcTruth t;
    for (int fr = 0; fr < cut->n_frames; fr++) {
        fc_scene_render(cut, fr, NULL, &t, NULL);
        if (fr < 30 || fr >= 60)
            g_assert_true(t.face[0].visible);
        if (fr >= 45 && fr < 60)
            g_assert_false(t.face[0].drawn);
    }
    fc_scene_render(cut, 85, NULL, &t, NULL);
    g_assert_cmpfloat(fc_truth_au(&t, 0, 12), ==, 5);
    g_assert_cmpfloat(fc_truth_au(&t, 0, 6), ==, 4);
    g_assert_cmpfloat(fc_truth_au(&t, 0, 3), ==, -1);
    fc_scene_render(cut, 77, NULL, &t, NULL); /* halfway up the smile */
    g_assert_cmpfloat_with_epsilon(fc_truth_au(&t, 0, 12), 2.5, 1e-5);

    /* rendering: away from every face's region the frame is the background, exactly; where a
     * face is, it is not */
    g_autoptr(FcScene) three = preset_or_fail("three-faces", shared);
    g_assert_nonnull(three);
    mim_image *rgb = mim_image_new(three->width, three->height, MIM_IMAGE_RGB8);
    g_assert_true(fc_scene_render(three, 40, rgb, &t, NULL));
    long n_far = 0, n_far_changed = 0, n_face = 0, n_face_changed = 0;
    for (int y = 0; y < rgb->height; y++)
        for (int x = 0; x < rgb->width; x++) {
            double nearest = 1e9;
            int on_face = 0;
            for (int i = 0; i < t.n_faces; i++) {
                const FcFaceTruth *f = &t.face[i];
                nearest = fmin(nearest, hypot(x - f->x, y - f->y) / f->iod);
                on_face |= hypot(x - f->xy[2 * 30], y - f->xy[2 * 30 + 1]) < 0.5 * f->iod;
            }
            int changed = memcmp(mim_image_row8(rgb, y) + 3 * x,
                                 mim_image_row8(three->bg, y) + 3 * x, 3) != 0;
            if (nearest > 4.5) {
                n_far++;
                n_far_changed += changed;
            }
            if (on_face) {
                n_face++;
                n_face_changed += changed;
            }
        }
    g_test_message("three-faces frame 40: %ld of %ld pixels further than 4.5 IOD from every face "
                   "changed, %ld of %ld within 0.5 IOD of a nose tip",
                   n_far_changed, n_far, n_face_changed, n_face);
    g_assert_cmpint(n_far, >, 10000);
    g_assert_cmpint(n_far_changed, ==, 0);
    g_assert_cmpint(n_face_changed, >, n_face * 9 / 10);
    save_png("three-faces-40", rgb, &t, NULL, 0);
    mim_image_free(rgb);

    /* keyframes refused */
    g_assert_false(fc_face_express(three->faces[0], 3, "3:2"));
    g_assert_false(fc_face_express(three->faces[0], 3, "12:6"));
    g_assert_false(fc_face_express(three->faces[0], 3, "12"));
    g_autoptr(GError) error = NULL;
    g_assert_null(fc_scene_preset("no-such-scene", shared, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_null(fc_scene_add_face(three, shared, "no-such.jpg", 0, 3, 0, &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

/* ---- containers ---------------------------------------------------------------------------- */

static double psnr(const mim_image *a, const MimicaFrame *b)
{
    double se = 0;
    for (int y = 0; y < a->height; y++) {
        const guint8 *p = mim_image_row8(a, y), *q = b->data + (gsize)y * b->stride;
        for (int x = 0; x < 3 * a->width; x++)
            se += (double)(p[x] - q[x]) * (p[x] - q[x]);
    }
    double mse = se / (3.0 * a->width * a->height);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
}

static void test_containers(void)
{
    const char *shared = shared_or_skip();
    if (!shared)
        return;
    for (const char *const *name = fc_scene_preset_names(); *name; name++) {
        g_autoptr(FcScene) s = preset_or_fail(*name, shared);
        if (!s)
            continue;
        g_autofree char *file = g_strdup_printf("%s.%s", *name, fc_container_ext(s->container));
        g_autofree char *path = g_build_filename(tmpdir, file, NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *skip = NULL;
        gint64 t0 = g_get_monotonic_time();
        if (!fc_make_clip(path, s, &skip, &error)) {
            if (skip) {
                g_test_message("%s: %s, not tested", *name, skip);
                continue;
            }
            g_test_fail_printf("%s: %s", *name, error->message);
            continue;
        }
        double enc_s = (g_get_monotonic_time() - t0) / 1e6;
        GStatBuf st;
        g_assert_cmpint(g_stat(path, &st), ==, 0);
        t0 = g_get_monotonic_time();
        g_autoptr(MimicaDecoder) dec = mimica_decoder_open(path, NULL, NULL, &error);
        g_assert_no_error(error);
        const MimicaMediaInfo *info = mimica_decoder_get_info(dec);
        gint64 n = mimica_decoder_get_n_frames(dec);
        /* each frame's time since frame 0, as the container gives it back */
        double tb = (double)info->time_base_num / info->time_base_den, worst_dt = 0;
        for (gint64 i = 0; i < n && i < s->n_frames; i++) {
            double got = (mimica_decoder_frame_pts(dec, i) - mimica_decoder_frame_pts(dec, 0)) * tb;
            double want = (double)(s->pts[i] - s->pts[0]) * s->tb_num / s->tb_den;
            worst_dt = fmax(worst_dt, fabs(got - want));
        }
        /* every frame decoded in order, against the rendered one */
        mim_image *rgb = mim_image_new(s->width, s->height, MIM_IMAGE_RGB8);
        double psnr_min = 99, psnr_sum = 0;
        int n_dec = 0;
        MimicaFrame *fr;
        while ((fr = mimica_decoder_next_frame(dec, &error))) {
            if (fr->index < s->n_frames && fr->width == s->width && fr->height == s->height) {
                fc_scene_render(s, (int)fr->index, rgb, NULL, NULL);
                double p = psnr(rgb, fr);
                psnr_min = fmin(psnr_min, p);
                psnr_sum += p;
            }
            n_dec++;
            mimica_frame_unref(fr);
        }
        /* ASF stores no frame durations: the demuxer gives the last packets 1 ms, and the
         * decoder, comparing that end with the header's duration, calls the file truncated
         * after delivering every frame. Tolerated (and printed) when no frame is missing. */
        if (g_error_matches(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_TRUNCATED) &&
            n_dec == s->n_frames) {
            g_test_message("%s: the decoder reports '%s' after all %d frames", *name,
                           error->message, n_dec);
            g_clear_error(&error);
        }
        g_assert_no_error(error);
        double dec_s = (g_get_monotonic_time() - t0) / 1e6;
        g_test_message(
            "%-15s %-11s %s/%s %" G_GINT64_FORMAT " frames (want %d), %d decoded, %dx%d, "
            "%s frame rate, times off by %.2g s at most; PSNR mean %.1f dB, min %.1f dB;"
            " %.0f kB; encode+render %.1f s, decode+render+compare %.1f s",
            *name, fc_container_name(s->container), info->container, info->codec, n, s->n_frames,
            n_dec, info->width, info->height, info->variable_frame_rate ? "variable" : "constant",
            worst_dt, n_dec ? psnr_sum / n_dec : 0, psnr_min, st.st_size / 1024.0, enc_s, dec_s);
        mim_image_free(rgb);
        g_assert_cmpint(n, ==, s->n_frames);
        g_assert_cmpint(n_dec, ==, s->n_frames);
        g_assert_cmpint(info->width, ==, s->width);
        g_assert_cmpint(info->height, ==, s->height);
        g_assert_cmpfloat(worst_dt, <, 1e-3);
        if (s->container != FC_CONTAINER_AVI)
            g_assert_true(info->variable_frame_rate);
        g_assert_cmpfloat(psnr_min, >, 30);
    }
}

/* ---- landmarks on decoded frames ------------------------------------------------------------ */

typedef struct {
    mim_cascade *cascade;
    mim_shape_predictor *sp;
    /* neutral: per-face error sums; expressions: error to the warped and unwarped truth */
    double neutral_sum, neutral_max;
    int n_neutral, n_missed, n_extra;
    double expr_warped, expr_unwarped;
    int n_expr, n_expr_closer;
} Front;

static double mean_err(const float *a, const float *b)
{
    double e = 0;
    for (int k = 0; k < 68; k++)
        e += hypot(a[2 * k] - b[2 * k], a[2 * k + 1] - b[2 * k + 1]);
    return e / 68;
}

/* Detects and fits the faces of one decoded frame and scores them against the truth. */
static void check_frame(Front *fr, const char *scene_name, const FcScene *s, MimicaDecoder *dec,
                        int index)
{
    g_autoptr(GError) error = NULL;
    MimicaFrame *frame = mimica_decoder_get_frame(dec, index, &error);
    g_assert_no_error(error);
    mim_image img =
        mim_image_view(frame->data, frame->width, frame->height, frame->stride, MIM_IMAGE_RGB8);
    FcTruth t;
    g_assert_true(fc_scene_render(s, index, NULL, &t, NULL));
    mim_face_rect *rects = NULL;
    size_t n = 0;
    char err[256];
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(mim_cascade_detect(fr->cascade, &img, NULL, &rects, &n, err, sizeof err), ==,
                    0);
    gint64 t1 = g_get_monotonic_time();
    float *found = g_new0(float, 136 * (n ? n : 1));
    gboolean used[FC_MAX_FACES] = {FALSE};
    for (size_t i = 0; i < n; i++) {
        mim_face_box box =
            mim_face_box_from_cascade(rects[i].x, rects[i].y, rects[i].w, rects[i].h);
        mim_landmark_fit fit;
        g_assert_cmpint(mim_landmark_fit_detection(fr->sp, &img, &box, NULL, &fit, err, sizeof err),
                        ==, 0);
        memcpy(found + 136 * i, fit.xy, sizeof fit.xy);
        /* the truth face this detection belongs to: nearest visible one by nose tip */
        int best = -1;
        double best_d = 1e9;
        for (int f = 0; f < t.n_faces; f++) {
            if (!t.face[f].visible)
                continue;
            double d = hypot(fit.xy[60] - t.face[f].xy[60], fit.xy[61] - t.face[f].xy[61]);
            if (d < best_d && d < 0.5 * t.face[f].iod) {
                best_d = d;
                best = f;
            }
        }
        if (best < 0 || used[best]) {
            fr->n_extra++;
            g_test_message("%s frame %d: detection %d,%d %dx%d matches no visible face", scene_name,
                           index, rects[i].x, rects[i].y, rects[i].w, rects[i].h);
            continue;
        }
        used[best] = TRUE;
        const FcFaceTruth *f = &t.face[best];
        double iod = fc_iod68(f->xy_neutral);
        double e_w = mean_err(fit.xy, f->xy) / iod, e_u = mean_err(fit.xy, f->xy_neutral) / iod;
        if (fc_truth_is_neutral(&t, best)) {
            fr->neutral_sum += e_w;
            fr->neutral_max = fmax(fr->neutral_max, e_w);
            fr->n_neutral++;
            g_test_message("%s frame %d %s: neutral, IOD %.0f px, mean error %.2f %% IOD "
                           "(confidence %.2f, mirror %.3f)",
                           scene_name, index, f->label, iod, 100 * e_w, fit.confidence,
                           fit.mirror_error);
        } else {
            GString *aus = g_string_new(NULL);
            for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
                if (f->au[a] > 0)
                    g_string_append_printf(aus, " AU%d %.1f", mim_facegen_aus[a], f->au[a]);
            fr->expr_warped += e_w;
            fr->expr_unwarped += e_u;
            fr->n_expr++;
            fr->n_expr_closer += e_w < e_u;
            g_test_message("%s frame %d %s:%s, IOD %.0f px, mean error to the warped truth %.2f "
                           "%% IOD, to the unwarped landmarks %.2f %%",
                           scene_name, index, f->label, aus->str, iod, 100 * e_w, 100 * e_u);
            g_string_free(aus, TRUE);
        }
    }
    for (int f = 0; f < t.n_faces; f++)
        if (t.face[f].visible && !used[f]) {
            fr->n_missed++;
            g_test_message("%s frame %d %s: visible (IOD %.0f) but not found", scene_name, index,
                           t.face[f].label, t.face[f].iod);
        }
    g_test_message("%s frame %d: %zu detections, cascade %.0f ms, fits %.0f ms", scene_name, index,
                   n, (t1 - t0) / 1e3, (g_get_monotonic_time() - t1) / 1e3);
    g_autofree char *png = g_strdup_printf("%s-%03d", scene_name, index);
    save_png(png, &img, &t, found, (int)n);
    g_free(found);
    free(rects);
    mimica_frame_unref(frame);
}

static void test_landmarks(void)
{
    const char *shared = shared_or_skip();
    if (!shared)
        return;
    Front fr = {0};
    char err[512];
    if (mim_cascade_load_named(NULL, &fr.cascade, err, sizeof err) ||
        mim_shape_predictor_load(NULL, &fr.sp, err, sizeof err)) {
        if (!g_strcmp0(g_getenv("CI"), "true"))
            g_test_fail_printf("%s", err);
        else
            g_test_skip(err);
        mim_cascade_free(fr.cascade);
        return;
    }
    /* frames: neutral ones across the motion, and each expression at its peak */
    static const struct {
        const char *scene;
        int frames[8];
    } picks[] = {
        {"one-face-moves", {0, 22, 45, 70, -1}}, {"one-face-cut", {10, 40, 60, 85, -1}},
        {"three-faces", {5, 40, 53, -1}},        {"expressions", {5, 22, 38, 52, 66, 80, 95, 102}},
        {"blinks", {4, 10, 20, 50, -1}},
    };
    for (size_t p = 0; p < G_N_ELEMENTS(picks); p++) {
        g_autoptr(FcScene) s = preset_or_fail(picks[p].scene, shared);
        if (!s)
            continue;
        /* the clip as the analysis tests will see it: encoded (by /face-clips/containers if it
         * ran), decoded */
        g_autofree char *file =
            g_strdup_printf("%s.%s", picks[p].scene, fc_container_ext(s->container));
        g_autofree char *path = g_build_filename(tmpdir, file, NULL);
        g_autoptr(GError) error = NULL;
        g_autofree char *skip = NULL;
        if (!g_file_test(path, G_FILE_TEST_IS_REGULAR) && !fc_make_clip(path, s, &skip, &error)) {
            if (skip)
                g_test_message("%s: %s, not tested", picks[p].scene, skip);
            else
                g_test_fail_printf("%s: %s", picks[p].scene, error->message);
            continue;
        }
        g_autoptr(MimicaDecoder) dec = mimica_decoder_open(path, NULL, NULL, &error);
        g_assert_no_error(error);
        for (int i = 0; i < 8 && picks[p].frames[i] >= 0; i++)
            check_frame(&fr, picks[p].scene, s, dec, picks[p].frames[i]);
    }
    g_test_message("neutral: %d faces, mean error %.2f %% IOD, worst %.2f %%; expressions: %d "
                   "faces, mean error to the warped truth %.2f %% IOD, to the unwarped %.2f %%, "
                   "nearer the warped on %d; %d visible faces missed, %d extra detections",
                   fr.n_neutral, fr.n_neutral ? 100 * fr.neutral_sum / fr.n_neutral : 0,
                   100 * fr.neutral_max, fr.n_expr,
                   fr.n_expr ? 100 * fr.expr_warped / fr.n_expr : 0,
                   fr.n_expr ? 100 * fr.expr_unwarped / fr.n_expr : 0, fr.n_expr_closer,
                   fr.n_missed, fr.n_extra);
    g_assert_cmpint(fr.n_neutral, >, 5);
    g_assert_cmpfloat(fr.neutral_sum / fr.n_neutral, <=, 0.03);
    g_assert_cmpfloat(fr.neutral_max, <=, 0.05); /* small faces (IOD 45..55) reach 3.2 % */
    g_assert_cmpint(fr.n_expr, >, 3);
    g_assert_cmpfloat(fr.expr_warped, <, fr.expr_unwarped);
    mim_shape_predictor_free(fr.sp);
    mim_cascade_free(fr.cascade);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void remove_tree(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_remove(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    av_log_set_level(AV_LOG_ERROR); /* libx264's and libx265's statistics */
    tmpdir = g_dir_make_tmp("mimica-face-clips-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/face-clips/truth", test_truth);
    g_test_add_func("/face-clips/containers", test_containers);
    g_test_add_func("/face-clips/landmarks", test_landmarks);
    int rc = g_test_run();
    remove_tree(tmpdir);
    g_free(tmpdir);
    return rc;
}
