/* mimica-video-source.h: a video decoded on its own thread, behind a bounded queue.
 *
 * The owner (any thread, usually the GTK main thread) sends commands: request one frame, play
 * from a frame, stop. Each command gets a serial; a new command supersedes the one in progress
 * (the worker abandons it between frames) and drops the events it had queued, so scrubbing
 * never waits for stale frames. The worker puts events (frame, end, error) into a queue of at
 * most `queue_length` events and waits while it is full.
 *
 * Consumers take events either with mimica_video_source_pop() (never blocks when timeout_us is
 * 0: for a thread without a main loop, e.g. the analyzer) or with a watch on a GMainContext
 * (mimica_video_source_add_watch: the callback runs on that context for each event; the worker
 * only wakes the context, so the GTK main loop never blocks on decoding). Use one or the other.
 *
 * Commands and pop may be called from any thread; the watch callback runs on its context. */
#pragma once

#include "mimica-decoder.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_VIDEO_SOURCE (mimica_video_source_get_type())
G_DECLARE_FINAL_TYPE(MimicaVideoSource, mimica_video_source, MIMICA, VIDEO_SOURCE, GObject)

typedef enum {
    MIMICA_VIDEO_EVENT_FRAME, /* ->frame holds the frame (index, pts) */
    MIMICA_VIDEO_EVENT_END,   /* playing reached the last frame (or to_index) */
    MIMICA_VIDEO_EVENT_ERROR, /* ->error; the command stops (a truncated file: after its last
                                 decodable frame, MIMICA_MEDIA_ERROR_TRUNCATED) */
} MimicaVideoEventKind;

typedef struct {
    MimicaVideoEventKind kind;
    guint serial;       /* the command that produced it */
    MimicaFrame *frame; /* owned; FRAME only */
    GError *error;      /* owned; ERROR only */
} MimicaVideoEvent;

void mimica_video_event_clear(MimicaVideoEvent *event);

/* Opens the video (building its index, see mimica-decoder.h) on the calling thread, then starts
 * the decoding thread. queue_length 0 = 8. */
MimicaVideoSource *mimica_video_source_new(const char *path, const MimicaDecoderOptions *opts,
                                           guint queue_length, GCancellable *cancellable,
                                           GError **error);

/* Immutable after construction; callable from any thread. */
const MimicaMediaInfo *mimica_video_source_get_info(MimicaVideoSource *self);
gint64 mimica_video_source_frame_pts(MimicaVideoSource *self, gint64 index);
gint64 mimica_video_source_frame_at_time(MimicaVideoSource *self, double t);

/* Commands; each returns its serial. request_frame delivers exactly frame `index` (or an
 * error); play delivers frames index..to_index (to_index -1 = last frame) then END. */
guint mimica_video_source_request_frame(MimicaVideoSource *self, gint64 index);
guint mimica_video_source_play(MimicaVideoSource *self, gint64 from_index, gint64 to_index);
/* Abandons the current command and drops its queued events. */
guint mimica_video_source_stop(MimicaVideoSource *self);

/* Takes the next event of the current command, waiting at most timeout_us (0: do not wait,
 * -1: wait until one comes). Returns FALSE if none came. The caller clears *event. */
gboolean mimica_video_source_pop(MimicaVideoSource *self, gint64 timeout_us,
                                 MimicaVideoEvent *event);

/* Called on the watch's context for each event; the event is cleared after the callback returns
 * (take ->frame with mimica_frame_ref to keep it). Return G_SOURCE_REMOVE to remove the watch. */
typedef gboolean (*MimicaVideoSourceFunc)(MimicaVideoSource *self, const MimicaVideoEvent *event,
                                          gpointer user_data);

/* Attaches a watch to `context` (NULL = the global default context). Only one watch at a time.
 * Returns the GSource id on that context; g_source_remove(id) or disposing the source ends it. */
guint mimica_video_source_add_watch(MimicaVideoSource *self, GMainContext *context,
                                    MimicaVideoSourceFunc func, gpointer user_data,
                                    GDestroyNotify notify);

G_END_DECLS
