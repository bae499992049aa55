/* mimica-video-source.c: a MimicaDecoder on its own thread. Commands replace each other (one
 * slot, latest wins); events go through a bounded queue; the owner pops them or lets a GSource
 * watch deliver them on its main context. One mutex and one condition guard all of it. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "mimica-video-source.h"
#include "mimica-media-private.h"

typedef enum {
    CMD_NONE,
    CMD_REQUEST,
    CMD_PLAY,
    CMD_STOP,
} CmdKind;

/* State shared by the owner, the worker thread and the watch source (refcounted: the watch may
 * outlive the object by a dispatch). The lock and condition are pthread's, not GMutex/GCond:
 * ThreadSanitizer sees pthread calls, not the futexes inside libglib. */
typedef struct {
    gatomicrefcount rc;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* on CLOCK_MONOTONIC, like g_get_monotonic_time */
    guint serial;        /* the current command */
    CmdKind cmd;
    gint64 from, to;
    gboolean cmd_pending;
    gboolean quit;
    GQueue events; /* (MimicaVideoEvent *) of the current command */
    guint capacity;
    GMainContext *watch_context; /* woken on each event; NULL without a watch */
} Shared;

struct _MimicaVideoSource {
    GObject parent_instance;
    MimicaDecoder *decoder; /* used by the worker only, but for the immutable index */
    Shared *shared;
    GThread *thread;
    GSource *watch;
};

G_DEFINE_FINAL_TYPE(MimicaVideoSource, mimica_video_source, G_TYPE_OBJECT)

static void s_lock(Shared *s)
{
    pthread_mutex_lock(&s->lock);
}

static void s_unlock(Shared *s)
{
    pthread_mutex_unlock(&s->lock);
}

static void s_wait(Shared *s)
{
    pthread_cond_wait(&s->cond, &s->lock);
}

/* FALSE once the monotonic time end_us (g_get_monotonic_time's clock) has passed */
static gboolean s_wait_until(Shared *s, gint64 end_us)
{
    struct timespec ts = {end_us / G_USEC_PER_SEC, (end_us % G_USEC_PER_SEC) * 1000};
    return pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT;
}

static void s_broadcast(Shared *s)
{
    pthread_cond_broadcast(&s->cond);
}

static void event_free(MimicaVideoEvent *e)
{
    mimica_video_event_clear(e);
    g_free(e);
}

void mimica_video_event_clear(MimicaVideoEvent *event)
{
    if (!event)
        return;
    g_clear_pointer(&event->frame, mimica_frame_unref);
    g_clear_error(&event->error);
}

static Shared *shared_ref(Shared *s)
{
    g_atomic_ref_count_inc(&s->rc);
    return s;
}

static void shared_unref(Shared *s)
{
    if (!g_atomic_ref_count_dec(&s->rc))
        return;
    g_queue_clear_full(&s->events, (GDestroyNotify)event_free);
    if (s->watch_context)
        g_main_context_unref(s->watch_context);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    g_free(s);
}

/* ---- the worker ---------------------------------------------------------------------------- */

/* Queues an event of command `serial`, waiting for room. Takes ownership of the event's
 * contents. FALSE (event dropped) when the command was superseded meanwhile. */
static gboolean push_event(Shared *s, guint serial, MimicaVideoEventKind kind, MimicaFrame *frame,
                           GError *error)
{
    s_lock(s);
    while (!s->quit && s->serial == serial && s->events.length >= s->capacity)
        s_wait(s);
    gboolean current = !s->quit && s->serial == serial;
    if (current) {
        MimicaVideoEvent *e = g_new0(MimicaVideoEvent, 1);
        e->kind = kind;
        e->serial = serial;
        e->frame = frame;
        e->error = error;
        g_queue_push_tail(&s->events, e);
        s_broadcast(s);
        if (s->watch_context)
            g_main_context_wakeup(s->watch_context);
    }
    s_unlock(s);
    if (!current) {
        mimica_frame_unref(frame);
        if (error)
            g_error_free(error);
    }
    return current;
}

static gboolean superseded(Shared *s, guint serial)
{
    s_lock(s);
    gboolean r = s->quit || s->serial != serial;
    s_unlock(s);
    return r;
}

static void run_request(MimicaDecoder *dec, Shared *s, guint serial, gint64 index)
{
    GError *error = NULL;
    MimicaFrame *f = mimica_decoder_get_frame(dec, index, &error);
    if (f)
        push_event(s, serial, MIMICA_VIDEO_EVENT_FRAME, f, NULL);
    else
        push_event(s, serial, MIMICA_VIDEO_EVENT_ERROR, NULL, error);
}

static void run_play(MimicaDecoder *dec, Shared *s, guint serial, gint64 from, gint64 to)
{
    GError *error = NULL;
    gint64 last = mimica_decoder_get_n_frames(dec) - 1;
    if (to < 0 || to > last)
        to = last;
    if (!mimica_decoder_seek(dec, from, &error)) {
        push_event(s, serial, MIMICA_VIDEO_EVENT_ERROR, NULL, error);
        return;
    }
    for (;;) {
        if (superseded(s, serial))
            return;
        MimicaFrame *f = mimica_decoder_next_frame(dec, &error);
        if (!f) {
            if (error)
                push_event(s, serial, MIMICA_VIDEO_EVENT_ERROR, NULL, error);
            else
                push_event(s, serial, MIMICA_VIDEO_EVENT_END, NULL, NULL);
            return;
        }
        gint64 index = f->index;
        if (!push_event(s, serial, MIMICA_VIDEO_EVENT_FRAME, f, NULL))
            return;
        /* the last frame of a truncated file: go on, the decoder then reports the cut */
        if (index >= to && !(index == last && mimica_decoder_get_info(dec)->truncated)) {
            push_event(s, serial, MIMICA_VIDEO_EVENT_END, NULL, NULL);
            return;
        }
    }
}

typedef struct {
    MimicaDecoder *decoder;
    Shared *shared;
} WorkerArgs;

static gpointer worker_main(gpointer data)
{
    WorkerArgs *args = data;
    MimicaDecoder *dec = args->decoder;
    Shared *s = args->shared;
    g_free(args);
    s_lock(s);
    for (;;) {
        while (!s->quit && !s->cmd_pending)
            s_wait(s);
        if (s->quit)
            break;
        CmdKind cmd = s->cmd;
        guint serial = s->serial;
        gint64 from = s->from, to = s->to;
        s->cmd_pending = FALSE;
        s_unlock(s);
        if (cmd == CMD_REQUEST)
            run_request(dec, s, serial, from);
        else if (cmd == CMD_PLAY)
            run_play(dec, s, serial, from, to);
        s_lock(s);
    }
    s_unlock(s);
    shared_unref(s);
    return NULL;
}

/* ---- the watch ----------------------------------------------------------------------------- */

typedef struct {
    GSource base;
    Shared *shared;
    GWeakRef owner;
} WatchSource;

static gboolean watch_ready(GSource *source)
{
    Shared *s = ((WatchSource *)source)->shared;
    s_lock(s);
    gboolean ready = s->events.length > 0;
    s_unlock(s);
    return ready;
}

static gboolean watch_prepare(GSource *source, gint *timeout)
{
    *timeout = -1;
    return watch_ready(source);
}

static gboolean watch_check(GSource *source)
{
    return watch_ready(source);
}

static gboolean watch_dispatch(GSource *source, GSourceFunc callback, gpointer user_data)
{
    WatchSource *w = (WatchSource *)source;
    MimicaVideoSource *self = g_weak_ref_get(&w->owner);
    if (!self)
        return G_SOURCE_REMOVE;
    MimicaVideoSourceFunc func = (MimicaVideoSourceFunc)(void (*)(void))callback;
    gboolean keep = G_SOURCE_CONTINUE;
    /* at most one queue's worth per dispatch, so other sources get their turn */
    for (guint n = 0; n < w->shared->capacity && keep == G_SOURCE_CONTINUE; n++) {
        MimicaVideoEvent e = {0};
        if (!mimica_video_source_pop(self, 0, &e))
            break;
        keep = func ? func(self, &e, user_data) : G_SOURCE_REMOVE;
        mimica_video_event_clear(&e);
    }
    g_object_unref(self);
    return keep;
}

static void watch_finalize(GSource *source)
{
    WatchSource *w = (WatchSource *)source;
    Shared *s = w->shared;
    s_lock(s);
    g_clear_pointer(&s->watch_context, g_main_context_unref);
    s_unlock(s);
    g_weak_ref_clear(&w->owner);
    shared_unref(s);
}

static GSourceFuncs watch_funcs = {
    .prepare = watch_prepare,
    .check = watch_check,
    .dispatch = watch_dispatch,
    .finalize = watch_finalize,
};

/* ---- GObject ------------------------------------------------------------------------------- */

static void mimica_video_source_dispose(GObject *object)
{
    MimicaVideoSource *self = MIMICA_VIDEO_SOURCE(object);
    if (self->thread) {
        Shared *s = self->shared;
        s_lock(s);
        s->quit = TRUE;
        s->serial++;
        s_broadcast(s);
        s_unlock(s);
        g_thread_join(self->thread);
        self->thread = NULL;
    }
    if (self->watch) {
        g_source_destroy(self->watch);
        g_clear_pointer(&self->watch, g_source_unref);
    }
    G_OBJECT_CLASS(mimica_video_source_parent_class)->dispose(object);
}

static void mimica_video_source_finalize(GObject *object)
{
    MimicaVideoSource *self = MIMICA_VIDEO_SOURCE(object);
    g_clear_pointer(&self->decoder, mimica_decoder_free);
    g_clear_pointer(&self->shared, shared_unref);
    G_OBJECT_CLASS(mimica_video_source_parent_class)->finalize(object);
}

static void mimica_video_source_class_init(MimicaVideoSourceClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    object_class->dispose = mimica_video_source_dispose;
    object_class->finalize = mimica_video_source_finalize;
}

static void mimica_video_source_init(MimicaVideoSource *self)
{
}

MimicaVideoSource *mimica_video_source_new(const char *path, const MimicaDecoderOptions *opts,
                                           guint queue_length, GCancellable *cancellable,
                                           GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    MimicaDecoder *dec = mimica_decoder_open(path, opts, cancellable, error);
    if (!dec)
        return NULL;
    MimicaVideoSource *self = g_object_new(MIMICA_TYPE_VIDEO_SOURCE, NULL);
    self->decoder = dec;
    Shared *s = g_new0(Shared, 1);
    g_atomic_ref_count_init(&s->rc);
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &attr);
    pthread_condattr_destroy(&attr);
    g_queue_init(&s->events);
    s->capacity = queue_length ? queue_length : 8;
    self->shared = s;
    WorkerArgs *args = g_new0(WorkerArgs, 1);
    args->decoder = dec;
    args->shared = shared_ref(s);
    self->thread = g_thread_try_new("mimica-decode", worker_main, args, error);
    if (!self->thread) {
        shared_unref(s);
        g_free(args);
        g_object_unref(self);
        return NULL;
    }
    return self;
}

const MimicaMediaInfo *mimica_video_source_get_info(MimicaVideoSource *self)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), NULL);
    return mimica_decoder_get_info(self->decoder);
}

gint64 mimica_video_source_frame_pts(MimicaVideoSource *self, gint64 index)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), G_MININT64);
    return mimica_decoder_frame_pts(self->decoder, index);
}

gint64 mimica_video_source_frame_at_time(MimicaVideoSource *self, double t)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), -1);
    return mimica_decoder_frame_at_time(self->decoder, t);
}

static guint send_command(MimicaVideoSource *self, CmdKind cmd, gint64 from, gint64 to)
{
    Shared *s = self->shared;
    s_lock(s);
    guint serial = ++s->serial;
    s->cmd = cmd;
    s->from = from;
    s->to = to;
    s->cmd_pending = cmd != CMD_STOP;
    g_queue_clear_full(&s->events, (GDestroyNotify)event_free);
    s_broadcast(s);
    s_unlock(s);
    return serial;
}

guint mimica_video_source_request_frame(MimicaVideoSource *self, gint64 index)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), 0);
    return send_command(self, CMD_REQUEST, index, index);
}

guint mimica_video_source_play(MimicaVideoSource *self, gint64 from_index, gint64 to_index)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), 0);
    return send_command(self, CMD_PLAY, from_index, to_index);
}

guint mimica_video_source_stop(MimicaVideoSource *self)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), 0);
    return send_command(self, CMD_STOP, 0, 0);
}

gboolean mimica_video_source_pop(MimicaVideoSource *self, gint64 timeout_us,
                                 MimicaVideoEvent *event)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), FALSE);
    g_return_val_if_fail(event != NULL, FALSE);
    Shared *s = self->shared;
    gint64 end = timeout_us > 0 ? g_get_monotonic_time() + timeout_us : 0;
    gboolean got = FALSE;
    s_lock(s);
    for (;;) {
        MimicaVideoEvent *e = g_queue_pop_head(&s->events);
        if (e) {
            s_broadcast(s); /* room for the worker */
            if (e->serial != s->serial) {
                event_free(e);
                continue;
            }
            *event = *e;
            g_free(e);
            got = TRUE;
            break;
        }
        if (timeout_us == 0)
            break;
        if (timeout_us < 0)
            s_wait(s);
        else if (!s_wait_until(s, end))
            if (s->events.length == 0)
                break;
    }
    s_unlock(s);
    return got;
}

guint mimica_video_source_add_watch(MimicaVideoSource *self, GMainContext *context,
                                    MimicaVideoSourceFunc func, gpointer user_data,
                                    GDestroyNotify notify)
{
    g_return_val_if_fail(MIMICA_IS_VIDEO_SOURCE(self), 0);
    g_return_val_if_fail(func != NULL, 0);
    if (self->watch && !g_source_is_destroyed(self->watch)) {
        g_critical("mimica_video_source_add_watch: the source already has a watch");
        return 0;
    }
    g_clear_pointer(&self->watch, g_source_unref);
    GSource *source = g_source_new(&watch_funcs, sizeof(WatchSource));
    WatchSource *w = (WatchSource *)source;
    w->shared = shared_ref(self->shared);
    g_weak_ref_init(&w->owner, self);
    g_source_set_name(source, "MimicaVideoSource watch");
    g_source_set_callback(source, (GSourceFunc)(void (*)(void))func, user_data, notify);
    GMainContext *ctx = context ? context : g_main_context_default();
    s_lock(self->shared);
    if (self->shared->watch_context)
        g_main_context_unref(self->shared->watch_context);
    self->shared->watch_context = g_main_context_ref(ctx);
    s_unlock(self->shared);
    guint id = g_source_attach(source, ctx);
    self->watch = source;
    return id;
}
