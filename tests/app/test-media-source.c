/* test-media-source.c: MimicaVideoSource, the decoder on its own thread: play, request, commands
 * superseding each other, a bounded queue that fills up, the main-context watch, truncated files
 * through the thread, and disposal while the worker is blocked. */
#include <glib/gstdio.h>

#include "media/mimica-video-source.h"
#include "test-media-util.h"

#define N_FRAMES 40
#define WAIT_US  (10 * G_USEC_PER_SEC)

static char *tmpdir;
static char *clip;     /* mkv, mpeg4 with B-frames */
static char *cut_clip; /* the same, noisy and cut at half */

/* One decoder thread, except in test_play (FFmpeg's own frame threads): FFmpeg's atomics are
 * invisible to ThreadSanitizer, so only single-threaded decoding gives it a clean view. */
static const MimicaDecoderOptions one_thread = {.n_threads = 1};

static MimicaVideoEvent pop(MimicaVideoSource *src)
{
    MimicaVideoEvent e = {0};
    g_assert_true(mimica_video_source_pop(src, WAIT_US, &e));
    return e;
}

static void test_play(void)
{
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(clip, NULL, 4, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(mimica_video_source_get_info(src)->n_frames, ==, N_FRAMES);
    /* play 5..end, then 10..19 */
    const gint64 from[] = {5, 10}, to[] = {-1, 19};
    for (int r = 0; r < 2; r++) {
        guint serial = mimica_video_source_play(src, from[r], to[r]);
        gint64 want = from[r], last = to[r] < 0 ? N_FRAMES - 1 : to[r];
        int bad = 0;
        for (;;) {
            MimicaVideoEvent e = pop(src);
            g_assert_cmpuint(e.serial, ==, serial);
            if (e.kind == MIMICA_VIDEO_EVENT_END) {
                mimica_video_event_clear(&e);
                break;
            }
            g_assert_cmpint(e.kind, ==, MIMICA_VIDEO_EVENT_FRAME);
            if (e.frame->index != want || tm_read_index(e.frame, 0, 64, 48, NULL) != want ||
                e.frame->pts != mimica_video_source_frame_pts(src, want))
                bad++;
            want++;
            mimica_video_event_clear(&e);
        }
        g_test_message("play %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT
                       ": got up to %" G_GINT64_FORMAT ", %d wrong",
                       from[r], last, want - 1, bad);
        g_assert_cmpint(want, ==, last + 1);
        g_assert_cmpint(bad, ==, 0);
    }
    /* out of range: an error event */
    guint serial = mimica_video_source_play(src, N_FRAMES + 3, -1);
    MimicaVideoEvent e = pop(src);
    g_assert_cmpuint(e.serial, ==, serial);
    g_assert_cmpint(e.kind, ==, MIMICA_VIDEO_EVENT_ERROR);
    g_assert_error(e.error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_OUT_OF_RANGE);
    mimica_video_event_clear(&e);
    g_object_unref(src);
}

static void test_request(void)
{
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(clip, &one_thread, 0, NULL, &error);
    g_assert_no_error(error);
    guint32 seed = g_test_rand_int();
    GRand *r = g_rand_new_with_seed(seed);
    int bad = 0;
    for (int k = 0; k < 2 * N_FRAMES; k++) {
        gint64 i = g_rand_int_range(r, 0, N_FRAMES);
        guint serial = mimica_video_source_request_frame(src, i);
        MimicaVideoEvent e = pop(src);
        g_assert_cmpuint(e.serial, ==, serial);
        g_assert_cmpint(e.kind, ==, MIMICA_VIDEO_EVENT_FRAME);
        if (e.frame->index != i || tm_read_index(e.frame, 0, 64, 48, NULL) != i)
            bad++;
        mimica_video_event_clear(&e);
        /* exactly one event per request */
        g_assert_false(mimica_video_source_pop(src, 0, &e));
    }
    g_rand_free(r);
    g_test_message("%d random requests (seed %u): %d wrong", 2 * N_FRAMES, seed, bad);
    g_assert_cmpint(bad, ==, 0);
    g_object_unref(src);
}

/* A new command while the worker is blocked on a full queue: the old events are gone, the next
 * event is the new command's. */
static void test_supersede(void)
{
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(clip, &one_thread, 2, NULL, &error);
    g_assert_no_error(error);
    int stale = 0;
    for (int round = 0; round < 20; round++) {
        mimica_video_source_play(src, 0, -1);
        if (round % 2)
            g_usleep(2000); /* let the queue fill and the worker block */
        gint64 want = (round * 7) % N_FRAMES;
        guint serial = mimica_video_source_request_frame(src, want);
        MimicaVideoEvent e = pop(src);
        if (e.serial != serial)
            stale++;
        g_assert_cmpint(e.kind, ==, MIMICA_VIDEO_EVENT_FRAME);
        g_assert_cmpint(e.frame->index, ==, want);
        g_assert_cmpint(tm_read_index(e.frame, 0, 64, 48, NULL), ==, want);
        mimica_video_event_clear(&e);
    }
    /* stop: nothing more comes */
    mimica_video_source_play(src, 0, -1);
    g_usleep(2000);
    mimica_video_source_stop(src);
    MimicaVideoEvent e = {0};
    gboolean more = mimica_video_source_pop(src, 50000, &e);
    mimica_video_event_clear(&e);
    g_test_message("20 plays superseded by a request: %d stale events seen; after stop: %s", stale,
                   more ? "an event came" : "silence");
    g_assert_cmpint(stale, ==, 0);
    g_assert_false(more);
    g_object_unref(src);
}

/* Disposal while the worker waits on a full queue must not hang. */
static void test_dispose_blocked(void)
{
    GError *error = NULL;
    for (int k = 0; k < 5; k++) {
        MimicaVideoSource *src = mimica_video_source_new(clip, &one_thread, 1, NULL, &error);
        g_assert_no_error(error);
        mimica_video_source_play(src, 0, -1);
        g_usleep(1000 * k);
        gint64 t0 = g_get_monotonic_time();
        g_object_unref(src);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
    }
}

typedef struct {
    GMainLoop *loop;
    GThread *main_thread;
    gint64 next;
    int bad, wrong_thread, frames;
    gboolean ended;
} WatchState;

static gboolean on_event(MimicaVideoSource *src, const MimicaVideoEvent *e, gpointer data)
{
    WatchState *ws = data;
    if (g_thread_self() != ws->main_thread)
        ws->wrong_thread++;
    if (e->kind == MIMICA_VIDEO_EVENT_FRAME) {
        if (e->frame->index != ws->next || tm_read_index(e->frame, 0, 64, 48, NULL) != ws->next)
            ws->bad++;
        ws->next++;
        ws->frames++;
        return G_SOURCE_CONTINUE;
    }
    ws->ended = e->kind == MIMICA_VIDEO_EVENT_END;
    g_main_loop_quit(ws->loop);
    return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
    g_main_loop_quit(((WatchState *)data)->loop);
    return G_SOURCE_REMOVE;
}

static void test_watch(void)
{
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(clip, &one_thread, 3, NULL, &error);
    g_assert_no_error(error);
    WatchState ws = {g_main_loop_new(ctx, FALSE), g_thread_self(), 0, 0, 0, 0, FALSE};
    guint id = mimica_video_source_add_watch(src, ctx, on_event, &ws, NULL);
    g_assert_cmpuint(id, >, 0);
    GSource *timeout = g_timeout_source_new_seconds(10);
    g_source_set_callback(timeout, on_timeout, &ws, NULL);
    g_source_attach(timeout, ctx);
    mimica_video_source_play(src, 0, -1);
    g_main_loop_run(ws.loop);
    g_test_message("watch: %d frames on the main context, %d wrong, %d on another thread, "
                   "ended %d",
                   ws.frames, ws.bad, ws.wrong_thread, ws.ended);
    g_assert_true(ws.ended);
    g_assert_cmpint(ws.frames, ==, N_FRAMES);
    g_assert_cmpint(ws.bad, ==, 0);
    g_assert_cmpint(ws.wrong_thread, ==, 0);
    g_source_destroy(timeout);
    g_source_unref(timeout);
    g_object_unref(src); /* removes the watch */
    while (g_main_context_iteration(ctx, FALSE))
        ;
    g_main_loop_unref(ws.loop);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
}

static void test_truncated(void)
{
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(cut_clip, &one_thread, 0, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_video_source_get_info(src)->truncated);
    mimica_video_source_play(src, 0, -1);
    int n = 0, bad = 0;
    for (;;) {
        MimicaVideoEvent e = pop(src);
        if (e.kind != MIMICA_VIDEO_EVENT_FRAME) {
            g_test_message("truncated through the thread: %d frames (%d wrong), then %s", n, bad,
                           e.error ? e.error->message : "END");
            g_assert_cmpint(e.kind, ==, MIMICA_VIDEO_EVENT_ERROR);
            g_assert_error(e.error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_TRUNCATED);
            mimica_video_event_clear(&e);
            break;
        }
        if (e.frame->index != n || tm_read_index(e.frame, 0, 64, 48, NULL) != n)
            bad++;
        n++;
        mimica_video_event_clear(&e);
    }
    g_assert_cmpint(n, >=, N_FRAMES / 4);
    g_assert_cmpint(bad, ==, 0);
    g_object_unref(src);
}

static void test_missing(void)
{
    GError *error = NULL;
    char *path = g_build_filename(tmpdir, "nothing.mkv", NULL);
    MimicaVideoSource *src = mimica_video_source_new(path, NULL, 0, NULL, &error);
    g_assert_null(src);
    g_assert_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_NOT_FOUND);
    g_error_free(error);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("mimica-media-source-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    clip = g_build_filename(tmpdir, "clip.mkv", NULL);
    cut_clip = g_build_filename(tmpdir, "cut.mkv", NULL);
    TmClip spec = {"matroska", "mpeg4", 0, 0, N_FRAMES, 25, NULL, 0, 10, 2, FALSE, 0};
    char *skip = NULL;
    GError *error = NULL;
    if (!tm_make_clip(clip, &spec, &skip, &error))
        g_error("making the clip: %s", skip ? skip : error->message);
    spec.noise = 24;
    if (!tm_make_clip(cut_clip, &spec, &skip, &error) || !tm_truncate(cut_clip, 0.5, &error))
        g_error("making the cut clip: %s", skip ? skip : error->message);
    g_test_add_func("/media-source/play", test_play);
    g_test_add_func("/media-source/request", test_request);
    g_test_add_func("/media-source/supersede", test_supersede);
    g_test_add_func("/media-source/dispose-blocked", test_dispose_blocked);
    g_test_add_func("/media-source/watch", test_watch);
    g_test_add_func("/media-source/truncated", test_truncated);
    g_test_add_func("/media-source/missing", test_missing);
    int ret = g_test_run();
    g_remove(clip);
    g_remove(cut_clip);
    g_rmdir(tmpdir);
    g_free(clip);
    g_free(cut_clip);
    g_free(tmpdir);
    return ret;
}
