/* mimica-transport.c: frame-exact playback driven by the frame clock.
 *
 * Frames come from the video's decoding thread (MimicaVideoSource) through a watch on the main
 * context and wait in a ring keyed by frame index. Playing asks the source for chunks of frames
 * ahead of the playhead; stepping back asks for the chunk that ends at the wanted frame, so the
 * frames behind the playhead stay in the ring and stepping back within it is instant. On every
 * frame-clock tick the frame whose time has come is shown: at 1x and below at most one frame
 * further each tick, so no frame is skipped; a frame that has not been decoded yet holds the
 * clock rather than being dropped. */
#include "mimica-transport.h"

#include <glib/gi18n.h>
#include <math.h>

#define CHUNK        32 /* frames asked for at once */
#define READ_AHEAD   24 /* ask for more when fewer than this are decoded ahead */
#define KEEP_BEHIND  48 /* frames kept behind the playhead */
#define RING_BYTES   (256u << 20)
#define TICK_LOG_MAX 100000

static const double speeds[] = {0.1, 0.25, 0.5, 1.0, 2.0, 4.0};

struct _MimicaTransport {
    GtkWidget parent_instance;

    GtkWidget *start_button, *back_button, *play_button, *forward_button, *end_button;
    GtkWidget *speed_label, *time_label, *frame_label, *loop_button;

    MimicaVideoSource *source;
    guint watch_id;
    gint64 n_frames;
    double fps;
    GHashTable *ring; /* index -> MimicaFrame */
    guint ring_capacity;

    MimicaFrame *frame; /* on screen */
    gint64 position;
    gint64 want;       /* frame to show as soon as it arrives (steps, seeks), -1 none */
    gint64 chunk_from; /* the source's current command covers [chunk_from, chunk_to] */
    gint64 chunk_to;
    gboolean decoding; /* the current command has not ended */

    gboolean playing;
    double speed; /* signed */
    guint tick_id;
    gint64 anchor_clock_us;
    double anchor_media_s;
    gint64 range_in, range_out;
    gboolean loop;
    GArray *tick_log; /* gint64 pairs: clock us, frame */
};

G_DEFINE_FINAL_TYPE(MimicaTransport, mimica_transport, GTK_TYPE_WIDGET)

enum { SIGNAL_FRAME_CHANGED, SIGNAL_STATE_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static double frame_time(MimicaTransport *self, gint64 index)
{
    const MimicaMediaInfo *info = mimica_video_source_get_info(self->source);
    gint64 pts = mimica_video_source_frame_pts(self->source, index);
    return (double)(pts - info->start_pts) * info->time_base_num / info->time_base_den;
}

static void update_labels(MimicaTransport *self)
{
    gboolean fwd = self->playing && self->speed > 0;
    gtk_button_set_icon_name(GTK_BUTTON(self->play_button), self->playing
                                                                ? "media-playback-pause-symbolic"
                                                                : "media-playback-start-symbolic");
    const char *name = self->playing ? _("Pause") : _("Play");
    gtk_widget_set_tooltip_text(self->play_button, name);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->play_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   name, -1);
    char buf[64];
    g_snprintf(buf, sizeof buf, "%s%.2g×", self->playing && !fwd ? "−" : "", fabs(self->speed));
    gtk_label_set_text(GTK_LABEL(self->speed_label), buf);
    if (!self->source) {
        gtk_label_set_text(GTK_LABEL(self->time_label), "--:--.---");
        gtk_label_set_text(GTK_LABEL(self->frame_label), "");
        return;
    }
    double t = frame_time(self, self->position);
    int minutes = (int)(t / 60);
    g_snprintf(buf, sizeof buf, "%02d:%06.3f", minutes, t - minutes * 60);
    gtk_label_set_text(GTK_LABEL(self->time_label), buf);
    /* TRANSLATORS: frame N of M */
    g_autofree char *text =
        g_strdup_printf(_("frame %lld/%lld"), (long long)self->position, (long long)self->n_frames);
    gtk_label_set_text(GTK_LABEL(self->frame_label), text);
}

static void show_frame(MimicaTransport *self, MimicaFrame *frame)
{
    if (self->frame == frame)
        return;
    g_clear_pointer(&self->frame, mimica_frame_unref);
    self->frame = mimica_frame_ref(frame);
    self->position = frame->index;
    update_labels(self);
    g_signal_emit(self, signals[SIGNAL_FRAME_CHANGED], 0);
}

/* Drops frames far from the playhead: behind beyond KEEP_BEHIND first, then the farthest. */
static void ring_trim(MimicaTransport *self)
{
    while (g_hash_table_size(self->ring) > self->ring_capacity) {
        GHashTableIter it;
        gpointer key;
        gint64 worst = -1, worst_d = -1;
        g_hash_table_iter_init(&it, self->ring);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
            gint64 i = *(gint64 *)key;
            gint64 d = i < self->position ? (self->position - i) * 2 : i - self->position;
            if (d > worst_d && i != self->position) {
                worst_d = d;
                worst = i;
            }
        }
        if (worst < 0)
            break;
        g_hash_table_remove(self->ring, &worst);
    }
}

static MimicaFrame *ring_get(MimicaTransport *self, gint64 index)
{
    return g_hash_table_lookup(self->ring, &index);
}

static void request_chunk(MimicaTransport *self, gint64 from, gint64 to)
{
    from = CLAMP(from, 0, self->n_frames - 1);
    to = CLAMP(to, from, self->n_frames - 1);
    self->chunk_from = from;
    self->chunk_to = to;
    self->decoding = TRUE;
    mimica_video_source_play(self->source, from, to);
}

/* Makes sure frames ahead of (or, playing backwards, behind) the playhead are being decoded. */
static void keep_fed(MimicaTransport *self)
{
    if (!self->source || self->decoding)
        return;
    if (self->speed >= 0 || !self->playing) {
        gint64 next = self->position + 1;
        while (next < self->n_frames && ring_get(self, next) && next - self->position < READ_AHEAD)
            next++;
        if (next < self->n_frames && !ring_get(self, next))
            request_chunk(self, next, next + CHUNK - 1);
    } else {
        gint64 prev = self->position - 1;
        while (prev >= 0 && ring_get(self, prev) && self->position - prev < READ_AHEAD)
            prev--;
        if (prev >= 0 && !ring_get(self, prev))
            request_chunk(self, prev - CHUNK + 1, prev);
    }
}

static gboolean on_video_event(MimicaVideoSource *source, const MimicaVideoEvent *event,
                               gpointer data)
{
    MimicaTransport *self = MIMICA_TRANSPORT(data);
    switch (event->kind) {
    case MIMICA_VIDEO_EVENT_FRAME: {
        MimicaFrame *f = event->frame;
        gint64 *key = g_new(gint64, 1);
        *key = f->index;
        g_hash_table_replace(self->ring, key, mimica_frame_ref(f));
        if (f->index == self->want) {
            self->want = -1;
            show_frame(self, f);
        }
        ring_trim(self);
        break;
    }
    case MIMICA_VIDEO_EVENT_END:
        self->decoding = FALSE;
        if (!self->playing)
            break;
        keep_fed(self);
        break;
    case MIMICA_VIDEO_EVENT_ERROR:
        self->decoding = FALSE;
        g_warning("decoding: %s", event->error->message);
        break;
    }
    return G_SOURCE_CONTINUE;
}

static void goto_frame(MimicaTransport *self, gint64 index)
{
    if (!self->source)
        return;
    index = CLAMP(index, 0, self->n_frames - 1);
    MimicaFrame *f = ring_get(self, index);
    if (f) {
        self->want = -1;
        show_frame(self, f);
        keep_fed(self);
        return;
    }
    self->want = index;
    if (self->decoding && index >= self->chunk_from && index <= self->chunk_to)
        return; /* on its way */
    if (index < self->position)
        request_chunk(self, index - CHUNK + 1, index); /* fills the ring behind the playhead */
    else
        request_chunk(self, index, index + CHUNK - 1);
}

static void anchor_now(MimicaTransport *self, GdkFrameClock *clock)
{
    self->anchor_clock_us = clock ? gdk_frame_clock_get_frame_time(clock) : g_get_monotonic_time();
    self->anchor_media_s = frame_time(self, self->position);
}

static gboolean on_tick(GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
    MimicaTransport *self = MIMICA_TRANSPORT(widget);
    if (!self->playing || !self->source)
        return G_SOURCE_CONTINUE;
    gint64 now = gdk_frame_clock_get_frame_time(clock);
    double t = self->anchor_media_s + (now - self->anchor_clock_us) / 1e6 * self->speed;
    gint64 lo = self->range_in >= 0 && self->loop ? self->range_in : 0;
    gint64 hi = self->range_out >= 0 && self->loop ? self->range_out : self->n_frames - 1;
    gint64 target = mimica_video_source_frame_at_time(self->source, MAX(t, 0));
    if (self->speed > 0) {
        if (fabs(self->speed) <= 1.0)
            target = MIN(target, self->position + 1); /* never skip a frame at 1x or slower */
        if (self->position >= hi && target > hi) {
            if (self->loop) {
                goto_frame(self, lo);
                anchor_now(self, clock);
            } else {
                mimica_transport_pause(self);
            }
            return G_SOURCE_CONTINUE;
        }
        target = MIN(target, hi);
        if (target > self->position) {
            MimicaFrame *f = ring_get(self, target);
            /* above 1x: the newest decoded frame not past its time */
            for (gint64 i = target; !f && i > self->position + 1; i--)
                f = fabs(self->speed) > 1.0 ? ring_get(self, i - 1) : NULL;
            if (f) {
                show_frame(self, f);
            } else {
                /* not decoded yet: hold the clock at this frame's time */
                self->anchor_clock_us = now;
                self->anchor_media_s = frame_time(self, self->position + 1) - 1e-4;
            }
        }
    } else {
        if (self->position <= lo && target < lo) {
            if (self->loop) {
                goto_frame(self, hi);
                anchor_now(self, clock);
            } else {
                mimica_transport_pause(self);
            }
            return G_SOURCE_CONTINUE;
        }
        target = MAX(target, lo);
        if (fabs(self->speed) <= 1.0)
            target = MAX(target, self->position - 1);
        if (target < self->position) {
            MimicaFrame *f = ring_get(self, target);
            for (gint64 i = target; !f && i < self->position - 1; i++)
                f = ring_get(self, i + 1);
            if (f) {
                show_frame(self, f);
            } else {
                self->anchor_clock_us = now;
                self->anchor_media_s = frame_time(self, self->position);
            }
        }
    }
    keep_fed(self);
    if (self->tick_log && self->tick_log->len < 3 * TICK_LOG_MAX) {
        gint64 row[3] = {now, self->position, (gint64)llround(self->speed * 1000)};
        g_array_append_vals(self->tick_log, row, 3);
    }
    return G_SOURCE_CONTINUE;
}

void mimica_transport_play(MimicaTransport *self)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    if (!self->source)
        return;
    if (self->speed == 0)
        self->speed = 1.0;
    if (self->speed > 0 && self->position >= self->n_frames - 1 && !self->loop)
        goto_frame(self, 0);
    self->playing = TRUE;
    anchor_now(self, gtk_widget_get_frame_clock(GTK_WIDGET(self)));
    if (!self->tick_id)
        self->tick_id = gtk_widget_add_tick_callback(GTK_WIDGET(self), on_tick, NULL, NULL);
    keep_fed(self);
    update_labels(self);
    g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
}

void mimica_transport_pause(MimicaTransport *self)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    self->playing = FALSE;
    if (self->tick_id) {
        gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick_id);
        self->tick_id = 0;
    }
    update_labels(self);
    g_signal_emit(self, signals[SIGNAL_STATE_CHANGED], 0);
}

void mimica_transport_toggle_play(MimicaTransport *self)
{
    if (self->playing)
        mimica_transport_pause(self);
    else
        mimica_transport_play(self);
}

gboolean mimica_transport_is_playing(MimicaTransport *self)
{
    return self->playing;
}

void mimica_transport_seek(MimicaTransport *self, gint64 index)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    goto_frame(self, index);
    if (self->playing)
        anchor_now(self, gtk_widget_get_frame_clock(GTK_WIDGET(self)));
}

void mimica_transport_step(MimicaTransport *self, gint64 delta)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    if (self->playing)
        mimica_transport_pause(self);
    gint64 from = self->want >= 0 ? self->want : self->position;
    goto_frame(self, from + delta);
}

void mimica_transport_step_seconds(MimicaTransport *self, double seconds)
{
    if (!self->source)
        return;
    double t = frame_time(self, self->want >= 0 ? self->want : self->position) + seconds;
    mimica_transport_step(self, mimica_video_source_frame_at_time(self->source, MAX(t, 0) + 1e-6) -
                                    (self->want >= 0 ? self->want : self->position));
}

void mimica_transport_set_speed(MimicaTransport *self, double speed)
{
    self->speed = speed;
    if (self->playing)
        anchor_now(self, gtk_widget_get_frame_clock(GTK_WIDGET(self)));
    update_labels(self);
}

double mimica_transport_get_speed(MimicaTransport *self)
{
    return self->speed;
}

void mimica_transport_shuttle(MimicaTransport *self, int direction)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    if (direction == 0) {
        mimica_transport_pause(self);
        return;
    }
    double speed = 1.0;
    if (self->playing && (self->speed > 0) == (direction > 0)) {
        /* the next speed up in the same direction */
        double s = fabs(self->speed);
        speed = speeds[G_N_ELEMENTS(speeds) - 1];
        for (guint i = 0; i < G_N_ELEMENTS(speeds); i++)
            if (speeds[i] > s + 1e-9) {
                speed = speeds[i];
                break;
            }
    } else if (self->playing) {
        /* the other way: slow down first, then turn */
        double s = fabs(self->speed);
        speed = -1.0;
        for (guint i = G_N_ELEMENTS(speeds); i-- > 0;)
            if (speeds[i] < s - 1e-9) {
                speed = speeds[i];
                break;
            }
        if (speed > 0) {
            mimica_transport_set_speed(self, self->speed > 0 ? speed : -speed);
            return;
        }
        speed = 1.0;
    }
    mimica_transport_set_speed(self, direction > 0 ? speed : -speed);
    if (!self->playing)
        mimica_transport_play(self);
}

void mimica_transport_set_range(MimicaTransport *self, gint64 in, gint64 out)
{
    self->range_in = in;
    self->range_out = out;
}

void mimica_transport_get_range(MimicaTransport *self, gint64 *in, gint64 *out)
{
    if (in)
        *in = self->range_in;
    if (out)
        *out = self->range_out;
}

void mimica_transport_set_loop(MimicaTransport *self, gboolean loop)
{
    self->loop = loop;
    if (gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(self->loop_button)) != loop)
        gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(self->loop_button), loop);
}

gboolean mimica_transport_get_loop(MimicaTransport *self)
{
    return self->loop;
}

MimicaFrame *mimica_transport_get_frame(MimicaTransport *self)
{
    return self->frame;
}

gint64 mimica_transport_get_position(MimicaTransport *self)
{
    return self->position;
}

gint64 mimica_transport_get_n_frames(MimicaTransport *self)
{
    return self->n_frames;
}

double mimica_transport_get_fps(MimicaTransport *self)
{
    return self->fps;
}

MimicaVideoSource *mimica_transport_get_source(MimicaTransport *self)
{
    return self->source;
}

void mimica_transport_set_source(MimicaTransport *self, MimicaVideoSource *source)
{
    g_return_if_fail(MIMICA_IS_TRANSPORT(self));
    mimica_transport_pause(self);
    if (self->watch_id) {
        g_source_remove(self->watch_id);
        self->watch_id = 0;
    }
    g_hash_table_remove_all(self->ring);
    g_clear_pointer(&self->frame, mimica_frame_unref);
    g_clear_object(&self->source);
    self->position = 0;
    self->want = -1;
    self->decoding = FALSE;
    self->range_in = self->range_out = -1;
    self->n_frames = 0;
    if (source) {
        self->source = g_object_ref(source);
        const MimicaMediaInfo *info = mimica_video_source_get_info(source);
        self->n_frames = info->n_frames;
        self->fps = info->fps_den ? (double)info->fps_num / info->fps_den : 25.0;
        gsize frame_bytes = (gsize)MAX(info->width, 1) * MAX(info->height, 1) * 3;
        self->ring_capacity = CLAMP(RING_BYTES / frame_bytes, 16, 160);
        self->watch_id = mimica_video_source_add_watch(source, NULL, on_video_event, self, NULL);
        self->speed = 1.0;
        goto_frame(self, 0);
    }
    gtk_widget_set_sensitive(GTK_WIDGET(self), source != NULL);
    update_labels(self);
    g_signal_emit(self, signals[SIGNAL_FRAME_CHANGED], 0);
}

gboolean mimica_transport_save_tick_log(MimicaTransport *self, const char *path, GError **error)
{
    g_autoptr(GString) text = g_string_new("# clock_us frame speed_x1000\n");
    for (guint i = 0; self->tick_log && i + 2 < self->tick_log->len; i += 3)
        g_string_append_printf(
            text, "%" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
            g_array_index(self->tick_log, gint64, i), g_array_index(self->tick_log, gint64, i + 1),
            g_array_index(self->tick_log, gint64, i + 2));
    return g_file_set_contents(path, text->str, (gssize)text->len, error);
}

static void on_start(GtkButton *b, MimicaTransport *self)
{
    mimica_transport_step(self, -self->n_frames);
}
static void on_back(GtkButton *b, MimicaTransport *self)
{
    mimica_transport_step(self, -1);
}
static void on_play(GtkButton *b, MimicaTransport *self)
{
    mimica_transport_toggle_play(self);
}
static void on_forward(GtkButton *b, MimicaTransport *self)
{
    mimica_transport_step(self, 1);
}
static void on_end(GtkButton *b, MimicaTransport *self)
{
    mimica_transport_step(self, self->n_frames);
}
static void on_loop(GtkToggleButton *b, MimicaTransport *self)
{
    self->loop = gtk_toggle_button_get_active(b);
}

static GtkWidget *add_button(MimicaTransport *self, const char *icon, const char *name,
                             GCallback cb)
{
    GtkWidget *b = gtk_button_new_from_icon_name(icon);
    gtk_widget_add_css_class(b, "flat");
    gtk_widget_set_tooltip_text(b, name);
    gtk_widget_set_focus_on_click(b, FALSE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(b), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    g_signal_connect(b, "clicked", cb, self);
    gtk_widget_set_parent(b, GTK_WIDGET(self));
    return b;
}

static GtkWidget *add_label(MimicaTransport *self, const char *name)
{
    GtkWidget *l = gtk_label_new("");
    gtk_widget_add_css_class(l, "numeric");
    gtk_widget_set_margin_start(l, 8);
    gtk_accessible_update_property(GTK_ACCESSIBLE(l), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    gtk_widget_set_parent(l, GTK_WIDGET(self));
    return l;
}

static void mimica_transport_dispose(GObject *object)
{
    MimicaTransport *self = MIMICA_TRANSPORT(object);
    const char *log = g_getenv("MIMICA_TICK_LOG");
    if (log && self->tick_log)
        mimica_transport_save_tick_log(self, log, NULL);
    if (self->watch_id) {
        g_source_remove(self->watch_id);
        self->watch_id = 0;
    }
    if (self->source)
        mimica_video_source_stop(self->source);
    g_clear_object(&self->source);
    g_clear_pointer(&self->frame, mimica_frame_unref);
    g_clear_pointer(&self->ring, g_hash_table_unref);
    g_clear_pointer(&self->tick_log, g_array_unref);
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
        gtk_widget_unparent(child);
    G_OBJECT_CLASS(mimica_transport_parent_class)->dispose(object);
}

static void mimica_transport_class_init(MimicaTransportClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->dispose = mimica_transport_dispose;
    signals[SIGNAL_FRAME_CHANGED] =
        g_signal_new("frame-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 0);
    signals[SIGNAL_STATE_CHANGED] =
        g_signal_new("state-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 0);
    gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BOX_LAYOUT);
    gtk_widget_class_set_css_name(widget_class, "transport");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_TOOLBAR);
}

static void mimica_transport_init(MimicaTransport *self)
{
    self->ring = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                       (GDestroyNotify)mimica_frame_unref);
    self->want = -1;
    self->range_in = self->range_out = -1;
    self->speed = 1.0;
    gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Transport"), -1);
    if (g_getenv("MIMICA_TICK_LOG"))
        self->tick_log = g_array_new(FALSE, FALSE, sizeof(gint64));
    gtk_widget_set_margin_start(GTK_WIDGET(self), 6);
    gtk_widget_set_margin_end(GTK_WIDGET(self), 6);
    gtk_widget_set_margin_top(GTK_WIDGET(self), 3);
    gtk_widget_set_margin_bottom(GTK_WIDGET(self), 3);
    self->start_button =
        add_button(self, "media-skip-backward-symbolic", _("Go to Start"), G_CALLBACK(on_start));
    self->back_button =
        add_button(self, "go-previous-symbolic", _("Step Back"), G_CALLBACK(on_back));
    self->play_button =
        add_button(self, "media-playback-start-symbolic", _("Play"), G_CALLBACK(on_play));
    self->forward_button =
        add_button(self, "go-next-symbolic", _("Step Forward"), G_CALLBACK(on_forward));
    self->end_button =
        add_button(self, "media-skip-forward-symbolic", _("Go to End"), G_CALLBACK(on_end));
    self->speed_label = add_label(self, _("Speed"));
    self->time_label = add_label(self, _("Time"));
    self->frame_label = add_label(self, _("Frame"));
    gtk_widget_set_hexpand(self->frame_label, TRUE);
    gtk_label_set_xalign(GTK_LABEL(self->frame_label), 0);
    self->loop_button = gtk_toggle_button_new();
    gtk_button_set_icon_name(GTK_BUTTON(self->loop_button), "media-playlist-repeat-symbolic");
    gtk_widget_add_css_class(self->loop_button, "flat");
    gtk_widget_set_focus_on_click(self->loop_button, FALSE);
    gtk_widget_set_tooltip_text(self->loop_button, _("Loop"));
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->loop_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Loop"), -1);
    g_signal_connect(self->loop_button, "toggled", G_CALLBACK(on_loop), self);
    gtk_widget_set_parent(self->loop_button, GTK_WIDGET(self));
    update_labels(self);
    gtk_widget_set_sensitive(GTK_WIDGET(self), FALSE);
}

GtkWidget *mimica_transport_new(void)
{
    return g_object_new(MIMICA_TYPE_TRANSPORT, NULL);
}
