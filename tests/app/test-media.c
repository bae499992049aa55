/* test-media.c: the synchronous decoder on clips this test makes (test-media-util.c): every
 * container and codec, constant and variable frame rate, B-frames, rotation, truncated, corrupt
 * and missing files, image folders, probe. Each frame's index is read back from its pixels; each
 * check prints its figures. */
#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "media/mimica-decoder.h"
#include "test-media-util.h"

#define N_FRAMES 40

static char *tmpdir;
static guint32 seed;

/* Irregular frame durations (ms) for the variable frame rate clips. */
static gint64 vfr_pts[N_FRAMES];

static void init_vfr(void)
{
    static const int steps[] = {33, 50, 17, 40, 100, 25, 34, 41};
    gint64 t = 0;
    for (int i = 0; i < N_FRAMES; i++) {
        vfr_pts[i] = t;
        t += steps[i % G_N_ELEMENTS(steps)];
    }
}

typedef struct {
    const char *name;
    const char *ext;
    TmClip clip;
    gboolean vfr;
} Case;

static const Case cases[] = {
    {"mp4-mpeg4", "mp4", {"mp4", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 0, FALSE}, FALSE},
    {"mp4-x264-bframes",
     "mp4",
     {"mp4", "libx264", 0, 0, N_FRAMES, 30, NULL, 0, 12, 2, FALSE},
     FALSE},
    {"mp4-mpeg4-vfr", "mp4", {"mp4", "mpeg4", 0, 0, N_FRAMES, 0, vfr_pts, 0, 10, 0, FALSE}, TRUE},
    {"mkv-ffv1", "mkv", {"matroska", "ffv1", 0, 0, N_FRAMES, 30, NULL, 0, 10, 0, FALSE}, FALSE},
    {"mkv-x264-vfr-bframes",
     "mkv",
     {"matroska", "libx264", 0, 0, N_FRAMES, 0, vfr_pts, 0, 12, 2, FALSE},
     TRUE},
    {"mkv-mpeg4-bframes",
     "mkv",
     {"matroska", "mpeg4", 0, 0, N_FRAMES, 24, NULL, 0, 10, 2, FALSE},
     FALSE},
    {"avi-mpeg4", "avi", {"avi", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 0, FALSE}, FALSE},
    /* AVI packets carry no pts once B-frames reorder them: the index comes from decoding */
    {"avi-mpeg4-bframes",
     "avi",
     {"avi", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 2, FALSE},
     FALSE},
    {"avi-x264-bframes",
     "avi",
     {"avi", "libx264", 0, 0, N_FRAMES, 25, NULL, 0, 12, 2, FALSE},
     FALSE},
    {"avi-mjpeg", "avi", {"avi", "mjpeg", 0, 0, N_FRAMES, 30, NULL, 0, 1, 0, FALSE}, FALSE},
    {"webm-vp8", "webm", {"webm", "libvpx", 0, 0, N_FRAMES, 30, NULL, 0, 10, 0, FALSE}, FALSE},
    {"webm-vp9-vfr",
     "webm",
     {"webm", "libvpx-vp9", 0, 0, N_FRAMES, 0, vfr_pts, 0, 10, 0, FALSE},
     TRUE},
    /* long groups of pictures: seeks decode up to 59 frames forward, requests a little ahead
     * decode on without seeking */
    {"mkv-x264-long-gop",
     "mkv",
     {"matroska", "libx264", 0, 0, 3 * N_FRAMES, 30, NULL, 0, 60, 3, FALSE},
     FALSE},
    {"mov-mjpeg", "mov", {"mov", "mjpeg", 0, 0, N_FRAMES, 24, NULL, 0, 1, 0, FALSE}, FALSE},
    {"mov-mpeg4-bframes",
     "mov",
     {"mov", "mpeg4", 0, 0, N_FRAMES, 30, NULL, 0, 10, 2, FALSE},
     FALSE},
};

/* Makes the clip once per run; NULL (test skipped) if the encoder is missing. */
static char *clip_path(const char *name, const char *ext, const TmClip *clip)
{
    char *path = g_strdup_printf("%s/%s.%s", tmpdir, name, ext);
    if (g_file_test(path, G_FILE_TEST_EXISTS))
        return path;
    char *skip = NULL;
    GError *error = NULL;
    if (!tm_make_clip(path, clip, &skip, &error)) {
        if (skip) {
            g_test_skip(skip);
            g_free(skip);
        } else {
            g_test_fail_printf("making %s: %s", path, error->message);
            g_error_free(error);
        }
        g_free(path);
        return NULL;
    }
    return path;
}

/* Expected pts of frame i in the stream time base: the written time, rounded to the nearest
 * tick as muxers do (mkv's 1 ms ticks cannot hold 1/30 s exactly). */
static gint64 expected_pts(const Case *c, const MimicaMediaInfo *info, int i)
{
    /* written time in seconds = num_w / den_w */
    gint64 num_w = c->clip.pts_ms ? c->clip.pts_ms[i] : i;
    gint64 den_w = c->clip.pts_ms ? 1000 : c->clip.fps;
    /* pts * tb_num / tb_den = num_w / den_w  ->  pts = num_w * tb_den / (den_w * tb_num) */
    gint64 a = num_w * info->time_base_den, b = den_w * info->time_base_num;
    return (2 * a + b) / (2 * b);
}

/* Reads every frame in order and checks index, pts and pixels. */
static void check_sequential(const Case *c, MimicaDecoder *dec, const MimicaMediaInfo *info)
{
    GError *error = NULL;
    int n = 0, bad_pixels = 0, bad_pts = 0, first_bad = -1;
    double worst_margin = 1e9;
    g_assert_true(mimica_decoder_seek(dec, 0, &error));
    g_assert_no_error(error);
    MimicaFrame *f;
    while ((f = mimica_decoder_next_frame(dec, &error))) {
        double margin = 0;
        int got = tm_read_index(f, info->rotation, info->coded_width, info->coded_height, &margin);
        worst_margin = MIN(worst_margin, margin);
        gint64 want_pts = expected_pts(c, info, n);
        if (f->index != n || got != n) {
            bad_pixels++;
            if (first_bad < 0)
                first_bad = n;
        }
        if (f->pts - info->start_pts != want_pts - expected_pts(c, info, 0) ||
            mimica_decoder_frame_pts(dec, n) != f->pts ||
            mimica_decoder_frame_at_pts(dec, f->pts) != n)
            bad_pts++;
        g_assert_cmpfloat_with_epsilon(
            f->time_s,
            (double)(f->pts - info->start_pts) * info->time_base_num / info->time_base_den, 1e-9);
        n++;
        mimica_frame_unref(f);
    }
    g_assert_no_error(error);
    g_test_message("%s: sequential: %d frames (want %d), wrong frame %d (first %d), wrong pts %d, "
                   "worst block margin %.1f (threshold 40)",
                   c->name, n, c->clip.n_frames, bad_pixels, first_bad, bad_pts, worst_margin);
    g_assert_cmpint(n, ==, c->clip.n_frames);
    g_assert_cmpint(bad_pixels, ==, 0);
    g_assert_cmpint(bad_pts, ==, 0);
    g_assert_cmpint(mimica_decoder_get_n_skipped(dec), ==, 0);
}

/* get_frame(i) for every i in the given order; the pixels must say i. */
static void check_seeks(const Case *c, MimicaDecoder *dec, const MimicaMediaInfo *info,
                        const int *order, int n, const char *what)
{
    int bad = 0, first_bad = -1, first_got = -1;
    gint64 t0 = g_get_monotonic_time();
    for (int k = 0; k < n; k++) {
        GError *error = NULL;
        int i = order[k];
        MimicaFrame *f = mimica_decoder_get_frame(dec, i, &error);
        g_assert_no_error(error);
        g_assert_nonnull(f);
        int got = tm_read_index(f, info->rotation, info->coded_width, info->coded_height, NULL);
        if (got != i || f->index != i || f->pts != mimica_decoder_frame_pts(dec, i)) {
            if (first_bad < 0) {
                first_bad = i;
                first_got = got;
            }
            bad++;
        }
        mimica_frame_unref(f);
    }
    g_test_message("%s: %s seeks: %d frames, %d wrong (first: wanted %d, got %d), %.1f ms", c->name,
                   what, n, bad, first_bad, first_got, (g_get_monotonic_time() - t0) / 1000.0);
    g_assert_cmpint(bad, ==, 0);
}

static void check_all_seeks(const Case *c, MimicaDecoder *dec, const MimicaMediaInfo *info)
{
    int n = (int)info->n_frames;
    int *order = g_new(int, n);
    for (int i = 0; i < n; i++)
        order[i] = i;
    check_seeks(c, dec, info, order, n, "forward");
    for (int i = 0; i < n; i++)
        order[i] = n - 1 - i;
    check_seeks(c, dec, info, order, n, "backward");
    GRand *r = g_rand_new_with_seed(seed);
    for (int i = n - 1; i > 0; i--) {
        int j = g_rand_int_range(r, 0, i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    g_rand_free(r);
    check_seeks(c, dec, info, order, n, "random-order");
    /* every other frame forward, then jumps across keyframes */
    int m = 0;
    for (int i = 0; i < n; i += 3)
        order[m++] = i;
    check_seeks(c, dec, info, order, m, "stride-3");
    g_free(order);
}

static void test_container(gconstpointer data)
{
    const Case *c = data;
    char *path = clip_path(c->name, c->ext, &c->clip);
    if (!path)
        return;
    GError *error = NULL;
    MimicaDecoderOptions opts = {.n_threads = 1};
    MimicaDecoder *dec = mimica_decoder_open(path, &opts, NULL, &error);
    g_assert_no_error(error);
    const MimicaMediaInfo *info = mimica_decoder_get_info(dec);
    double fps = (double)info->fps_num / info->fps_den;
    g_test_message("%s: container %s, codec %s, %" G_GINT64_FORMAT " frames, %.4f s, %d/%d fps "
                   "(%.3f), vfr %d, %dx%d, rotation %d, time base %d/%d, truncated %d",
                   c->name, info->container, info->codec, info->n_frames, info->duration_s,
                   info->fps_num, info->fps_den, fps, info->variable_frame_rate, info->width,
                   info->height, info->rotation, info->time_base_num, info->time_base_den,
                   info->truncated);
    g_assert_cmpint(info->n_frames, ==, c->clip.n_frames);
    g_assert_cmpint(info->width, ==, 64);
    g_assert_cmpint(info->height, ==, 48);
    g_assert_cmpint(info->rotation, ==, 0);
    g_assert_false(info->truncated);
    g_assert_cmpint(info->variable_frame_rate, ==, c->vfr);
    if (c->vfr) {
        int n = c->clip.n_frames;
        double span = (vfr_pts[n - 1] - vfr_pts[0]) / 1000.0;
        g_assert_cmpfloat_with_epsilon(fps, (n - 1) / span, 1e-3 * fps);
    } else {
        g_assert_cmpfloat_with_epsilon(fps, c->clip.fps, 1e-3);
        g_assert_cmpfloat_with_epsilon(info->duration_s, (double)c->clip.n_frames / c->clip.fps,
                                       1.5e-3);
    }
    /* frame_at_time: the written time of frame i maps to i, and half-way to the previous one */
    for (int i = 0; i < c->clip.n_frames; i++) {
        double t = c->clip.pts_ms ? (vfr_pts[i] - vfr_pts[0]) / 1000.0 : (double)i / c->clip.fps;
        g_assert_cmpint(mimica_decoder_frame_at_time(dec, t), ==, i);
        if (i > 0) {
            double tp = c->clip.pts_ms ? (vfr_pts[i - 1] - vfr_pts[0]) / 1000.0
                                       : (double)(i - 1) / c->clip.fps;
            g_assert_cmpint(mimica_decoder_frame_at_time(dec, (t + tp) / 2), ==, i - 1);
        }
    }
    check_sequential(c, dec, info);
    check_all_seeks(c, dec, info);
    mimica_decoder_free(dec);
    g_free(path);
}

/* ---- rotation ------------------------------------------------------------------------------ */

typedef struct {
    const char *format;
    const char *ext;
    const char *encoder;
    int rotation;
} RotCase;

static const RotCase rot_cases[] = {
    {"mp4", "mp4", "mpeg4", 90},
    {"mp4", "mp4", "mpeg4", 180},
    {"mp4", "mp4", "mpeg4", 270},
    {"mov", "mov", "mjpeg", 90},
};

static void test_rotation(gconstpointer data)
{
    const RotCase *rc = data;
    TmClip clip = {rc->format, rc->encoder, 64, 48, 30, 30, NULL, rc->rotation, 10, 0, FALSE};
    char *name = g_strdup_printf("rot%d-%s", rc->rotation, rc->encoder);
    char *path = clip_path(name, rc->ext, &clip);
    g_free(name);
    if (!path)
        return;
    GError *error = NULL;
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_assert_no_error(error);
    const MimicaMediaInfo *info = mimica_decoder_get_info(dec);
    gboolean swap = rc->rotation != 180;
    g_test_message("%s rotation %d: info rotation %d, display %dx%d, coded %dx%d", rc->format,
                   rc->rotation, info->rotation, info->width, info->height, info->coded_width,
                   info->coded_height);
    g_assert_cmpint(info->rotation, ==, rc->rotation);
    g_assert_cmpint(info->width, ==, swap ? 48 : 64);
    g_assert_cmpint(info->height, ==, swap ? 64 : 48);
    int bad = 0, wrong_rot_matches = 0;
    for (int i = 0; i < 30; i++) {
        MimicaFrame *f = mimica_decoder_get_frame(dec, (i * 7) % 30, &error);
        g_assert_no_error(error);
        g_assert_cmpint(f->width, ==, info->width);
        g_assert_cmpint(f->height, ==, info->height);
        if (tm_read_index(f, rc->rotation, 64, 48, NULL) != f->index)
            bad++;
        /* the opposite turn reads other numbers: the test can tell the directions apart */
        int other = (rc->rotation + 180) % 360;
        if (tm_read_index(f, other, 64, 48, NULL) == f->index)
            wrong_rot_matches++;
        mimica_frame_unref(f);
    }
    g_test_message("rotation %d: %d/30 frames wrong; reading with the opposite rotation matched "
                   "%d/30 (a few symmetric indices may)",
                   rc->rotation, bad, wrong_rot_matches);
    g_assert_cmpint(bad, ==, 0);
    g_assert_cmpint(wrong_rot_matches, <, 10);
    mimica_decoder_free(dec);
    g_free(path);
}

/* ---- truncated ----------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *ext;
    TmClip clip;
    double cut; /* keep this fraction of the file */
} TruncCase;

static const TruncCase trunc_cases[] = {
    {"trunc-mkv-ffv1",
     "mkv",
     {"matroska", "ffv1", 0, 0, N_FRAMES, 30, NULL, 0, 10, 0, FALSE, 24},
     0.5},
    {"trunc-mkv-x264",
     "mkv",
     {"matroska", "libx264", 0, 0, N_FRAMES, 30, NULL, 0, 12, 2, FALSE, 24},
     0.5},
    {"trunc-mp4-faststart",
     "mp4",
     {"mp4", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 0, TRUE, 24},
     0.5},
    {"trunc-avi-mpeg4",
     "avi",
     {"avi", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 0, FALSE, 24},
     0.5},
    {"trunc-webm-vp8",
     "webm",
     {"webm", "libvpx", 0, 0, N_FRAMES, 30, NULL, 0, 10, 0, FALSE, 24},
     0.5},
};

static void test_truncated(gconstpointer data)
{
    const TruncCase *tc = data;
    char *path = clip_path(tc->name, tc->ext, &tc->clip);
    if (!path)
        return;
    GError *error = NULL;
    g_assert_true(tm_truncate(path, tc->cut, &error));
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_assert_no_error(error);
    const MimicaMediaInfo *info = mimica_decoder_get_info(dec);
    int n = 0, bad = 0;
    MimicaFrame *f;
    while ((f = mimica_decoder_next_frame(dec, &error))) {
        if (f->index != n || tm_read_index(f, 0, 64, 48, NULL) != n)
            bad++;
        n++;
        mimica_frame_unref(f);
    }
    g_test_message("%s: cut at %.0f%%: index %" G_GINT64_FORMAT " frames, truncated %d, delivered "
                   "%d (%d wrong), skipped %" G_GINT64_FORMAT ", then: %s",
                   tc->name, 100 * tc->cut, info->n_frames, info->truncated, n, bad,
                   mimica_decoder_get_n_skipped(dec), error ? error->message : "(no error)");
    g_assert_true(info->truncated);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_TRUNCATED);
    g_clear_error(&error);
    g_assert_cmpint(n, >=, N_FRAMES / 4);
    g_assert_cmpint(n, <, N_FRAMES);
    g_assert_cmpint(bad, ==, 0);
    /* the error comes once; then a plain end */
    g_assert_null(mimica_decoder_next_frame(dec, &error));
    g_assert_no_error(error);
    /* the frames before the cut can still be sought */
    for (int i = n - 1; i >= 0; i -= 2) {
        f = mimica_decoder_get_frame(dec, i, &error);
        g_assert_no_error(error);
        g_assert_cmpint(tm_read_index(f, 0, 64, 48, NULL), ==, i);
        mimica_frame_unref(f);
    }
    mimica_decoder_free(dec);
    g_free(path);
}

/* mp4 written the usual way has its index (moov) at the end: cut, nothing is left to read. */
static void test_truncated_no_index(void)
{
    TmClip clip = {"mp4", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 0, FALSE};
    char *path = clip_path("trunc-mp4-moov-last", "mp4", &clip);
    if (!path)
        return;
    GError *error = NULL;
    g_assert_true(tm_truncate(path, 0.5, &error));
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_test_message("mp4 with moov at the end, cut at half: %s", error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_CORRUPT);
    g_error_free(error);
    g_free(path);
}

/* ---- corrupt and missing ------------------------------------------------------------------- */

static void test_garbage_file(void)
{
    char *path = g_build_filename(tmpdir, "garbage.mp4", NULL);
    GRand *r = g_rand_new_with_seed(seed);
    char buf[8192];
    for (gsize i = 0; i < sizeof buf; i++)
        buf[i] = (char)g_rand_int_range(r, 0, 256);
    g_rand_free(r);
    GError *error = NULL;
    g_assert_true(g_file_set_contents(path, buf, sizeof buf, &error));
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_test_message("8 KiB of random bytes (seed %u): %s", seed, error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_CORRUPT);
    g_clear_error(&error);
    g_assert_true(g_file_set_contents(path, "", 0, &error));
    dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_test_message("empty file: %s", error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_CORRUPT);
    g_clear_error(&error);
    MimicaMediaInfo *info = mimica_media_probe(path, NULL, &error);
    g_assert_null(info);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_CORRUPT);
    g_clear_error(&error);
    g_free(path);
}

/* Garbage in the middle of real clips: no crash, no read out of bounds (ASan), frames delivered
 * in order with their right index where the pixels survived. */
static void test_garbled_clip(gconstpointer data)
{
    const Case *c = data;
    char *name = g_strdup_printf("garbled-%s", c->name);
    TmClip clip = c->clip;
    clip.noise = 24; /* data, not headers, fills the file: the garbage lands in frames */
    char *path = clip_path(name, c->ext, &clip);
    g_free(name);
    if (!path)
        return;
    GError *error = NULL;
    g_assert_true(tm_garble(path, 0.45, 600, seed, &error));
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    if (!dec) {
        g_test_message("%s garbled: refused: %s", c->name, error->message);
        g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_CORRUPT);
        g_error_free(error);
        g_free(path);
        return;
    }
    int n = 0, readable = 0, wrong = 0, run = 0, longest_run = 0;
    gint64 last = -1, offset = 0;
    MimicaFrame *f;
    while ((f = mimica_decoder_next_frame(dec, &error))) {
        g_assert_cmpint(f->index, >, last);
        last = f->index;
        int got = tm_read_index(f, 0, 64, 48, NULL);
        if (got >= 0) {
            readable++;
            /* a run of frames showing the same wrong number: indices shifted by lost packets
             * (a damaged picture shows a number once, or none) */
            run = got != f->index && got - f->index == offset ? run + 1 : got != f->index;
            offset = got - f->index;
            longest_run = MAX(longest_run, run);
            if (got != f->index) {
                wrong++;
                if (g_test_verbose())
                    g_test_message("frame %" G_GINT64_FORMAT " (pts %" G_GINT64_FORMAT ") shows %d",
                                   f->index, f->pts, got);
            }
        }
        n++;
        mimica_frame_unref(f);
    }
    g_test_message(
        "%s with 600 garbage bytes at 45%% (seed %u): index %" G_GINT64_FORMAT
        ", delivered %d, readable %d, pixels not matching the index %d (damaged pictures, or "
        "packets the demuxer lost shifting later indices), skipped %" G_GINT64_FORMAT ", end: %s",
        c->name, seed, mimica_decoder_get_n_frames(dec), n, readable, wrong,
        mimica_decoder_get_n_skipped(dec), error ? error->message : "clean");
    g_assert_cmpint(n, >, 0);
    /* Frame numbers follow presentation time: lost frames keep their numbers, so no run of
     * frames is shifted. AVI with B-frames has no presentation times (the decoder guesses them
     * from the order): there a loss still shifts the frames after it. */
    gboolean untimed = g_str_has_prefix(c->name, "avi-") && strstr(c->name, "bframes");
    g_test_message("%s: longest run of shifted frames %d%s", c->name, longest_run,
                   untimed ? " (AVI with B-frames: no presentation times, not asserted)" : "");
    if (!untimed)
        g_assert_cmpint(longest_run, <, 3);
    /* frames the demuxer lost are reported: the file says it is damaged */
    if (mimica_decoder_get_n_frames(dec) < clip.n_frames) {
        g_assert_true(mimica_decoder_get_info(dec)->truncated);
        g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_TRUNCATED);
    }
    g_clear_error(&error);
    /* random order seeks on the damaged file must not crash either */
    for (gint64 i = mimica_decoder_get_n_frames(dec) - 1; i >= 0; i -= 3) {
        f = mimica_decoder_get_frame(dec, i, &error);
        g_clear_error(&error);
        mimica_frame_unref(f);
    }
    mimica_decoder_free(dec);
    g_free(path);
}

static void test_missing(void)
{
    GError *error = NULL;
    char *path = g_build_filename(tmpdir, "no-such-video.mp4", NULL);
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_test_message("missing: %s", error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_NOT_FOUND);
    g_clear_error(&error);
    MimicaMediaInfo *info = mimica_media_probe(path, NULL, &error);
    g_assert_null(info);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_free(path);

    /* a folder without images */
    char *dir = g_build_filename(tmpdir, "empty-folder", NULL);
    g_mkdir_with_parents(dir, 0700);
    char *txt = g_build_filename(dir, "notes.txt", NULL);
    g_file_set_contents(txt, "no images here", -1, NULL);
    dec = mimica_decoder_open(dir, NULL, NULL, &error);
    g_test_message("folder without images: %s", error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_NO_VIDEO);
    g_clear_error(&error);
    g_free(txt);
    g_free(dir);
}

static void test_cancelled(void)
{
    char *path = clip_path("mp4-mpeg4", "mp4", &cases[0].clip);
    if (!path)
        return;
    GCancellable *c = g_cancellable_new();
    g_cancellable_cancel(c);
    GError *error = NULL;
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, c, &error);
    g_test_message("open with a cancelled GCancellable: %s", error ? error->message : "opened");
    g_assert_null(dec);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&error);
    MimicaMediaInfo *info = mimica_media_probe(path, c, &error);
    g_assert_null(info);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error(&error);
    g_object_unref(c);
    g_free(path);
}

static void test_out_of_range(void)
{
    char *path = clip_path("mp4-mpeg4", "mp4", &cases[0].clip);
    if (!path)
        return;
    GError *error = NULL;
    MimicaDecoder *dec = mimica_decoder_open(path, NULL, NULL, &error);
    g_assert_no_error(error);
    const gint64 bad[] = {-1, N_FRAMES, G_MAXINT64, G_MININT64};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_null(mimica_decoder_get_frame(dec, bad[i], &error));
        g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_OUT_OF_RANGE);
        g_clear_error(&error);
        g_assert_cmpint(mimica_decoder_frame_pts(dec, bad[i]), ==, G_MININT64);
    }
    g_assert_cmpint(mimica_decoder_frame_at_pts(dec, 123456789), ==, -1);
    g_assert_cmpint(mimica_decoder_frame_at_time(dec, -5.0), ==, 0);
    g_assert_cmpint(mimica_decoder_frame_at_time(dec, 1e9), ==, N_FRAMES - 1);
    mimica_decoder_free(dec);
    g_free(path);
}

/* ---- image folders ------------------------------------------------------------------------- */

static void test_image_folder(void)
{
    const int n = 24;
    char *dir = g_build_filename(tmpdir, "images", NULL);
    g_mkdir_with_parents(dir, 0700);
    GError *error = NULL;
    g_assert_true(tm_make_image_folder(dir, "frame", n, 64, 48, &error));
    char *junk = g_build_filename(dir, "README.txt", NULL);
    g_file_set_contents(junk, "not an image", -1, NULL);
    g_free(junk);
    MimicaDecoderOptions opts = {.image_fps_num = 25, .image_fps_den = 1};
    MimicaDecoder *dec = mimica_decoder_open(dir, &opts, NULL, &error);
    g_assert_no_error(error);
    const MimicaMediaInfo *info = mimica_decoder_get_info(dec);
    g_test_message("image folder: %s, codec %s, %" G_GINT64_FORMAT " frames, %dx%d, %d/%d fps, "
                   "%.3f s",
                   info->container, info->codec, info->n_frames, info->width, info->height,
                   info->fps_num, info->fps_den, info->duration_s);
    g_assert_true(info->is_image_folder);
    g_assert_cmpint(info->n_frames, ==, n);
    g_assert_cmpint(info->width, ==, 64);
    g_assert_cmpint(info->height, ==, 48);
    g_assert_cmpfloat_with_epsilon(info->duration_s, n / 25.0, 1e-9);
    int bad = 0;
    MimicaFrame *f;
    int k = 0;
    while ((f = mimica_decoder_next_frame(dec, &error))) {
        /* frame10.png comes after frame9.png */
        if (f->index != k || tm_read_index(f, 0, 64, 48, NULL) != k ||
            fabs(f->time_s - k / 25.0) > 1e-9)
            bad++;
        k++;
        mimica_frame_unref(f);
    }
    g_assert_no_error(error);
    g_assert_cmpint(k, ==, n);
    for (int i = 0; i < n; i++) {
        int j = (i * 11 + 5) % n;
        f = mimica_decoder_get_frame(dec, j, &error);
        g_assert_no_error(error);
        if (tm_read_index(f, 0, 64, 48, NULL) != j)
            bad++;
        mimica_frame_unref(f);
    }
    g_test_message("image folder: %d sequential + %d random frames, %d wrong", n, n, bad);
    g_assert_cmpint(bad, ==, 0);
    mimica_decoder_free(dec);

    /* a broken image is skipped and counted, the others still come */
    char *broken = g_build_filename(dir, "frame5.png", NULL);
    g_file_set_contents(broken, "\x89PNG garbage", -1, NULL);
    g_free(broken);
    dec = mimica_decoder_open(dir, NULL, NULL, &error);
    g_assert_no_error(error);
    k = 0;
    while ((f = mimica_decoder_next_frame(dec, &error))) {
        g_assert_cmpint(tm_read_index(f, 0, 64, 48, NULL), ==, f->index);
        g_assert_cmpint(f->index, !=, 4);
        k++;
        mimica_frame_unref(f);
    }
    g_test_message("image folder with frame5.png broken: %d delivered, %" G_GINT64_FORMAT
                   " skipped",
                   k, mimica_decoder_get_n_skipped(dec));
    g_assert_cmpint(k, ==, n - 1);
    g_assert_cmpint(mimica_decoder_get_n_skipped(dec), ==, 1);
    mimica_decoder_free(dec);
    g_free(dir);
}

/* ---- probe --------------------------------------------------------------------------------- */

static void test_probe(void)
{
    const Case *c = &cases[2]; /* mp4 vfr */
    char *path = clip_path(c->name, c->ext, &c->clip);
    if (!path)
        return;
    GError *error = NULL;
    MimicaMediaInfo *info = mimica_media_probe(path, NULL, &error);
    g_assert_no_error(error);
    char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
    g_test_message("probe %s: sha256 %s (want %s), %" G_GINT64_FORMAT " frames, %.3f s, "
                   "%d/%d fps, vfr %d, %dx%d, rotation %d",
                   c->name, info->sha256, want, info->n_frames, info->duration_s, info->fps_num,
                   info->fps_den, info->variable_frame_rate, info->width, info->height,
                   info->rotation);
    g_assert_cmpstr(info->sha256, ==, want);
    g_assert_true(info->variable_frame_rate);
    g_assert_cmpint(info->n_frames, ==, N_FRAMES);
    /* duration: first pts to the end of the last frame (its duration is what the muxer stored:
     * between the last step and the mean) */
    double span = (vfr_pts[N_FRAMES - 1] - vfr_pts[0]) / 1000.0;
    g_assert_cmpfloat(info->duration_s, >, span);
    g_assert_cmpfloat(info->duration_s, <, span + 0.101);
    MimicaMediaInfo *copy = mimica_media_info_copy(info);
    g_assert_cmpstr(copy->sha256, ==, info->sha256);
    mimica_media_info_free(copy);
    mimica_media_info_free(info);
    g_free(want);
    g_free(data);
    g_free(path);

    /* folders hash their images' names and bytes: renaming one changes the hash */
    char *dir = g_build_filename(tmpdir, "hash-images", NULL);
    g_mkdir_with_parents(dir, 0700);
    g_assert_true(tm_make_image_folder(dir, "f", 3, 16, 12, &error));
    char *h1 = mimica_media_hash(dir, NULL, &error);
    char *a = g_build_filename(dir, "f3.png", NULL), *b = g_build_filename(dir, "f4.png", NULL);
    g_rename(a, b);
    char *h2 = mimica_media_hash(dir, NULL, &error);
    g_assert_no_error(error);
    g_test_message("folder hash %s, after a rename %s", h1, h2);
    g_assert_cmpuint(strlen(h1), ==, 64);
    g_assert_cmpstr(h1, !=, h2);
    g_free(a);
    g_free(b);
    g_free(h1);
    g_free(h2);
    g_free(dir);
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    if (d) {
        const char *name;
        while ((name = g_dir_read_name(d))) {
            char *p = g_build_filename(path, name, NULL);
            remove_tree(p);
            g_free(p);
        }
        g_dir_close(d);
    }
    g_remove(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    init_vfr();
    seed = g_test_rand_int();
    g_test_message("seed %u (rerun with --seed to repeat the random orders)", seed);
    tmpdir = g_dir_make_tmp("mimica-media-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *p = g_strdup_printf("/media/container/%s", cases[i].name);
        g_test_add_data_func(p, &cases[i], test_container);
        g_free(p);
    }
    for (guint i = 0; i < G_N_ELEMENTS(rot_cases); i++) {
        char *p =
            g_strdup_printf("/media/rotation/%s-%d", rot_cases[i].format, rot_cases[i].rotation);
        g_test_add_data_func(p, &rot_cases[i], test_rotation);
        g_free(p);
    }
    for (guint i = 0; i < G_N_ELEMENTS(trunc_cases); i++) {
        char *p = g_strdup_printf("/media/truncated/%s", trunc_cases[i].name);
        g_test_add_data_func(p, &trunc_cases[i], test_truncated);
        g_free(p);
    }
    g_test_add_func("/media/truncated/mp4-index-at-end", test_truncated_no_index);
    g_test_add_func("/media/corrupt/garbage-file", test_garbage_file);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *p = g_strdup_printf("/media/corrupt/garbled-%s", cases[i].name);
        g_test_add_data_func(p, &cases[i], test_garbled_clip);
        g_free(p);
    }
    g_test_add_func("/media/missing", test_missing);
    g_test_add_func("/media/out-of-range", test_out_of_range);
    g_test_add_func("/media/cancelled", test_cancelled);
    g_test_add_func("/media/image-folder", test_image_folder);
    g_test_add_func("/media/probe", test_probe);
    int ret = g_test_run();
    if (!g_getenv("MIMICA_KEEP_TEST_FILES"))
        remove_tree(tmpdir);
    else
        g_test_message("clips kept in %s", tmpdir);
    g_free(tmpdir);
    return ret;
}
