/* mimica-timeline.c: the AU timeline (see the header). The timeline lays out its rows; each row
 * (MimicaTimelineRow, private) draws its AU from the timeline's state and handles the mouse. */
#include "mimica-timeline.h"

#include <glib/gi18n.h>
#include <math.h>

#include "mimica-au-names.h"

#define NAME_WIDTH 64
#define ROW_HEIGHT 24
#define EDGE_GRAB  4 /* pixels around a segment edge that grab it */

struct _MimicaTimeline {
    GtkWidget parent_instance;

    MimicaStore *store;
    gint64 video_id, n_frames;
    char *annotator;
    const MimicaUiCurves *curves;
    GArray *labels; /* MimicaUiLabel of [view_start, view_end] */
    gint64 labels_start, labels_end;

    double view_start; /* first frame at the left of the tracks */
    double fpp;        /* frames per pixel; <= 0 = fit the whole video */
    gint64 position, range_in, range_out;
    int selected_au;
    double threshold;
};

G_DEFINE_FINAL_TYPE(MimicaTimeline, mimica_timeline, GTK_TYPE_WIDGET)

enum { SIGNAL_SEEK, SIGNAL_AU_SELECTED, SIGNAL_LABEL_RANGE, N_SIGNALS };
static guint signals[N_SIGNALS];

/* One row ------------------------------------------------------------------------------------ */

#define MIMICA_TYPE_TIMELINE_ROW (mimica_timeline_row_get_type())
G_DECLARE_FINAL_TYPE(MimicaTimelineRow, mimica_timeline_row, MIMICA, TIMELINE_ROW, GtkWidget)

struct _MimicaTimelineRow {
    GtkWidget parent_instance;
    int au;
    /* a drag in progress */
    gint64 drag_frame;
    gboolean drag_edge; /* nudging a segment's edge */
    MimicaUiLabel drag_label;
    gboolean drag_start_edge; /* the edge is the segment's start */
    double drag_x;
};

G_DEFINE_FINAL_TYPE(MimicaTimelineRow, mimica_timeline_row, GTK_TYPE_WIDGET)

static MimicaTimeline *row_timeline(MimicaTimelineRow *row)
{
    return MIMICA_TIMELINE(gtk_widget_get_parent(GTK_WIDGET(row)));
}

static double timeline_fpp(MimicaTimeline *self)
{
    if (self->fpp > 0)
        return self->fpp;
    double w = MAX(gtk_widget_get_width(GTK_WIDGET(self)) - NAME_WIDTH, 1);
    return MAX((double)self->n_frames / w, 1e-3);
}

static double frame_x(MimicaTimeline *self, double frame)
{
    return NAME_WIDTH + (frame - self->view_start) / timeline_fpp(self);
}

static gint64 x_frame(MimicaTimeline *self, double x)
{
    gint64 f = (gint64)floor(self->view_start + (x - NAME_WIDTH) * timeline_fpp(self));
    return CLAMP(f, 0, MAX(self->n_frames - 1, 0));
}

static void load_visible_labels(MimicaTimeline *self)
{
    double w = MAX(gtk_widget_get_width(GTK_WIDGET(self)) - NAME_WIDTH, 1);
    gint64 start = MAX((gint64)floor(self->view_start), 0);
    gint64 end = (gint64)ceil(self->view_start + w * timeline_fpp(self));
    if (self->labels && start == self->labels_start && end == self->labels_end)
        return;
    g_clear_pointer(&self->labels, g_array_unref);
    self->labels_start = start;
    self->labels_end = end;
    if (!self->store)
        return;
    g_autoptr(GError) error = NULL;
    self->labels = mimica_ui_labels_in_range(self->store, self->video_id, self->annotator, 0, start,
                                             end, &error);
    if (!self->labels)
        g_warning("labels: %s", error->message);
}

static void mimica_timeline_row_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
    MimicaTimelineRow *row = MIMICA_TIMELINE_ROW(widget);
    MimicaTimeline *tl = row_timeline(row);
    double w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
    load_visible_labels(tl);
    cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, w, h));
    GdkRGBA fg;
    gtk_style_context_get_color(gtk_widget_get_style_context(widget), &fg);
    gboolean selected = row->au == tl->selected_au;

    if (selected) {
        cairo_set_source_rgba(cr, 0.21, 0.52, 0.89, 0.18);
        cairo_rectangle(cr, 0, 0, w, h);
        cairo_fill(cr);
    }
    cairo_set_source_rgba(cr, fg.red, fg.green, fg.blue, 0.12);
    cairo_rectangle(cr, 0, h - 1, w, 1);
    cairo_fill(cr);
    char name[16];
    g_snprintf(name, sizeof name, "AU%02d", row->au);
    gdk_cairo_set_source_rgba(cr, &fg);
    cairo_set_font_size(cr, 12);
    cairo_move_to(cr, 6, h / 2 + 4);
    cairo_show_text(cr, name);

    cairo_rectangle(cr, NAME_WIDTH, 0, w - NAME_WIDTH, h);
    cairo_clip(cr);
    double fpp = timeline_fpp(tl);

    /* I/O range */
    if (tl->range_in >= 0 && tl->range_out >= tl->range_in) {
        cairo_set_source_rgba(cr, 0.5, 0.5, 0.5, 0.18);
        double x0 = frame_x(tl, tl->range_in), x1 = frame_x(tl, tl->range_out + 1);
        cairo_rectangle(cr, x0, 0, x1 - x0, h);
        cairo_fill(cr);
    }
    /* human labels: orange bars for present/intensities (darker = stronger), blue for absent */
    for (guint i = 0; tl->labels && i < tl->labels->len; i++) {
        const MimicaUiLabel *l = &g_array_index(tl->labels, MimicaUiLabel, i);
        if (l->au != row->au)
            continue;
        double x0 = frame_x(tl, l->frame_start), x1 = frame_x(tl, l->frame_end + 1);
        if (l->value == MIMICA_LABEL_ABSENT) {
            cairo_set_source_rgba(cr, 0.25, 0.55, 1.0, 0.55);
            cairo_rectangle(cr, x0, h - 7, MAX(x1 - x0, 1), 5);
        } else {
            double a = l->value == MIMICA_LABEL_PRESENT ? 0.55 : 0.35 + 0.13 * (l->value - 1);
            cairo_set_source_rgba(cr, 0.95, 0.55, 0.1, MIN(a, 1.0));
            cairo_rectangle(cr, x0, 3, MAX(x1 - x0, 1), h - 6);
        }
        cairo_fill(cr);
        if (l->value >= MIMICA_LABEL_A && x1 - x0 > 12) {
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_move_to(cr, x0 + 3, h / 2 + 4);
            cairo_show_text(cr, mimica_label_value_to_string(l->value));
        }
    }
    /* the model's curve, and marks where it disagrees with the label */
    int col = mimica_ui_curves_column(tl->curves, row->au);
    if (col >= 0) {
        gboolean pen = FALSE;
        cairo_set_line_width(cr, 1.5);
        gdk_cairo_set_source_rgba(cr, &fg);
        for (double x = NAME_WIDTH; x < w; x += 1) {
            gint64 f = (gint64)floor(tl->view_start + (x - NAME_WIDTH) * fpp);
            if (f < 0 || f >= tl->n_frames)
                continue;
            float p = tl->curves->prob[f * tl->curves->n_aus + col];
            if (isnan(p)) {
                pen = FALSE;
                continue;
            }
            double y = h - 2 - CLAMP(p, 0, 1) * (h - 4);
            if (pen)
                cairo_line_to(cr, x, y);
            else
                cairo_move_to(cr, x, y);
            pen = TRUE;
        }
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
        for (double x = NAME_WIDTH; x < w && tl->labels; x += MAX(1, 1 / fpp)) {
            gint64 f = (gint64)floor(tl->view_start + (x - NAME_WIDTH) * fpp);
            MimicaLabelValue v;
            if (f < 0 || f >= tl->n_frames ||
                !mimica_ui_labels_value_at(tl->labels, row->au, f, &v))
                continue;
            float p = tl->curves->prob[f * tl->curves->n_aus + col];
            if (!isnan(p) && (p >= tl->threshold) != mimica_label_value_is_present(v)) {
                cairo_rectangle(cr, x, 0, MAX(1, 1 / fpp), 3);
                cairo_fill(cr);
            }
        }
    }
    /* playhead */
    cairo_set_source_rgb(cr, 0.9, 0.2, 0.2);
    double px = frame_x(tl, tl->position + 0.5);
    cairo_rectangle(cr, px - 0.75, 0, 1.5, h);
    cairo_fill(cr);
    cairo_destroy(cr);
}

static void mimica_timeline_row_measure(GtkWidget *widget, GtkOrientation orientation, int for_size,
                                        int *minimum, int *natural, int *minimum_baseline,
                                        int *natural_baseline)
{
    *minimum = *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? NAME_WIDTH + 100 : ROW_HEIGHT;
}

static void row_drag_begin(GtkGestureDrag *gesture, double x, double y, MimicaTimelineRow *row)
{
    MimicaTimeline *tl = row_timeline(row);
    if (x < NAME_WIDTH) {
        row->drag_frame = -1;
        mimica_timeline_set_selected_au(tl, row->au);
        g_signal_emit(tl, signals[SIGNAL_AU_SELECTED], 0, row->au);
        return;
    }
    row->drag_frame = x_frame(tl, x);
    row->drag_x = x;
    row->drag_edge = FALSE;
    for (guint i = tl->labels ? tl->labels->len : 0; i-- > 0;) {
        const MimicaUiLabel *l = &g_array_index(tl->labels, MimicaUiLabel, i);
        if (l->au != row->au)
            continue;
        double xs = frame_x(tl, l->frame_start), xe = frame_x(tl, l->frame_end + 1);
        if (fabs(x - xs) <= EDGE_GRAB || fabs(x - xe) <= EDGE_GRAB) {
            row->drag_edge = TRUE;
            row->drag_label = *l;
            row->drag_start_edge = fabs(x - xs) < fabs(x - xe);
            break;
        }
    }
}

static void row_drag_end(GtkGestureDrag *gesture, double dx, double dy, MimicaTimelineRow *row)
{
    MimicaTimeline *tl = row_timeline(row);
    if (row->drag_frame < 0)
        return;
    gint64 end_frame = x_frame(tl, row->drag_x + dx);
    if (fabs(dx) < 3) {
        mimica_timeline_set_selected_au(tl, row->au);
        g_signal_emit(tl, signals[SIGNAL_AU_SELECTED], 0, row->au);
        g_signal_emit(tl, signals[SIGNAL_SEEK], 0, row->drag_frame);
        return;
    }
    if (row->drag_edge) {
        const MimicaUiLabel *l = &row->drag_label;
        gint64 edge = x_frame(tl, row->drag_x + dx + timeline_fpp(tl) / 2);
        if (row->drag_start_edge) {
            if (edge < l->frame_start)
                g_signal_emit(tl, signals[SIGNAL_LABEL_RANGE], 0, row->au, edge, l->frame_start - 1,
                              (int)l->value);
            else if (edge > l->frame_start)
                g_signal_emit(tl, signals[SIGNAL_LABEL_RANGE], 0, row->au, l->frame_start,
                              MIN(edge - 1, l->frame_end), (int)MIMICA_LABEL_ABSENT);
        } else {
            if (edge > l->frame_end + 1)
                g_signal_emit(tl, signals[SIGNAL_LABEL_RANGE], 0, row->au, l->frame_end + 1,
                              edge - 1, (int)l->value);
            else if (edge <= l->frame_end)
                g_signal_emit(tl, signals[SIGNAL_LABEL_RANGE], 0, row->au,
                              MAX(edge, l->frame_start), l->frame_end, (int)MIMICA_LABEL_ABSENT);
        }
        return;
    }
    GdkModifierType mods =
        gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(gesture));
    int value = mods & GDK_SHIFT_MASK ? MIMICA_LABEL_ABSENT : MIMICA_LABEL_PRESENT;
    g_signal_emit(tl, signals[SIGNAL_LABEL_RANGE], 0, row->au, MIN(row->drag_frame, end_frame),
                  MAX(row->drag_frame, end_frame), value);
}

static void mimica_timeline_row_class_init(MimicaTimelineRowClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    widget_class->snapshot = mimica_timeline_row_snapshot;
    widget_class->measure = mimica_timeline_row_measure;
    gtk_widget_class_set_css_name(widget_class, "timelinerow");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_ROW);
}

static void mimica_timeline_row_init(MimicaTimelineRow *row)
{
    GtkGesture *drag = gtk_gesture_drag_new();
    g_signal_connect(drag, "drag-begin", G_CALLBACK(row_drag_begin), row);
    g_signal_connect(drag, "drag-end", G_CALLBACK(row_drag_end), row);
    gtk_widget_add_controller(GTK_WIDGET(row), GTK_EVENT_CONTROLLER(drag));
}

static GtkWidget *mimica_timeline_row_new(int au)
{
    MimicaTimelineRow *row = g_object_new(MIMICA_TYPE_TIMELINE_ROW, NULL);
    row->au = au;
    g_autofree char *title = mimica_au_dup_title(au);
    gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
    gtk_widget_set_tooltip_text(GTK_WIDGET(row), title);
    return GTK_WIDGET(row);
}

/* The timeline ------------------------------------------------------------------------------- */

static void redraw_rows(MimicaTimeline *self)
{
    for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self)); c;
         c = gtk_widget_get_next_sibling(c))
        gtk_widget_queue_draw(c);
}

static void clamp_view(MimicaTimeline *self)
{
    double w = MAX(gtk_widget_get_width(GTK_WIDGET(self)) - NAME_WIDTH, 1);
    double span = w * timeline_fpp(self);
    self->view_start = CLAMP(self->view_start, 0, MAX(0, self->n_frames - span));
}

void mimica_timeline_set_video(MimicaTimeline *self, MimicaStore *store, gint64 video_id,
                               gint64 n_frames, const char *annotator, const MimicaUiCurves *curves)
{
    g_return_if_fail(MIMICA_IS_TIMELINE(self));
    self->store = store;
    self->video_id = video_id;
    self->n_frames = n_frames;
    g_free(self->annotator);
    self->annotator = g_strdup(annotator);
    self->curves = curves;
    self->view_start = 0;
    self->fpp = 0;
    self->position = 0;
    self->range_in = self->range_out = -1;
    mimica_timeline_reload(self);
}

void mimica_timeline_set_aus(MimicaTimeline *self, const int *aus, int n_aus)
{
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
        gtk_widget_unparent(child);
    for (int i = 0; i < n_aus; i++)
        gtk_widget_set_parent(mimica_timeline_row_new(aus[i]), GTK_WIDGET(self));
    if (self->selected_au == 0 && n_aus > 0)
        self->selected_au = aus[0];
}

void mimica_timeline_reload(MimicaTimeline *self)
{
    g_clear_pointer(&self->labels, g_array_unref);
    redraw_rows(self);
}

guint mimica_timeline_get_n_visible_labels(MimicaTimeline *self)
{
    load_visible_labels(self);
    return self->labels ? self->labels->len : 0;
}

void mimica_timeline_set_position(MimicaTimeline *self, gint64 frame)
{
    self->position = frame;
    /* keep the playhead in view: page when it leaves */
    double w = MAX(gtk_widget_get_width(GTK_WIDGET(self)) - NAME_WIDTH, 1);
    double span = w * timeline_fpp(self);
    if (frame < self->view_start || frame >= self->view_start + span) {
        self->view_start = frame - span * 0.1;
        clamp_view(self);
    }
    redraw_rows(self);
}

void mimica_timeline_set_range(MimicaTimeline *self, gint64 in, gint64 out)
{
    self->range_in = in;
    self->range_out = out;
    redraw_rows(self);
}

void mimica_timeline_set_selected_au(MimicaTimeline *self, int au)
{
    self->selected_au = au;
    for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self)); c;
         c = gtk_widget_get_next_sibling(c))
        gtk_accessible_update_state(GTK_ACCESSIBLE(c), GTK_ACCESSIBLE_STATE_SELECTED,
                                    MIMICA_TIMELINE_ROW(c)->au == au, -1);
    redraw_rows(self);
}

int mimica_timeline_get_selected_au(MimicaTimeline *self)
{
    return self->selected_au;
}

void mimica_timeline_set_threshold(MimicaTimeline *self, double threshold)
{
    self->threshold = threshold;
    redraw_rows(self);
}

void mimica_timeline_zoom(MimicaTimeline *self, double factor)
{
    double fpp = timeline_fpp(self);
    double w = MAX(gtk_widget_get_width(GTK_WIDGET(self)) - NAME_WIDTH, 1);
    double new_fpp = CLAMP(fpp / factor, 1.0 / 32, MAX((double)self->n_frames / w, 1.0 / 32));
    /* keep the playhead where it is on screen */
    double px = (self->position - self->view_start) / fpp;
    self->fpp = new_fpp;
    self->view_start = self->position - px * new_fpp;
    clamp_view(self);
    redraw_rows(self);
}

static gboolean on_scroll(GtkEventControllerScroll *controller, double dx, double dy,
                          MimicaTimeline *self)
{
    GdkModifierType mods =
        gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(controller));
    if (mods & GDK_CONTROL_MASK) {
        mimica_timeline_zoom(self, dy < 0 ? 1.25 : 0.8);
        return TRUE;
    }
    double d = (mods & GDK_SHIFT_MASK) ? dy : dx;
    if (d == 0)
        return FALSE;
    self->view_start += d * 40 * timeline_fpp(self);
    clamp_view(self);
    redraw_rows(self);
    return TRUE;
}

static void mimica_timeline_dispose(GObject *object)
{
    MimicaTimeline *self = MIMICA_TIMELINE(object);
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
        gtk_widget_unparent(child);
    g_clear_pointer(&self->labels, g_array_unref);
    g_clear_pointer(&self->annotator, g_free);
    G_OBJECT_CLASS(mimica_timeline_parent_class)->dispose(object);
}

static void mimica_timeline_class_init(MimicaTimelineClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->dispose = mimica_timeline_dispose;
    signals[SIGNAL_SEEK] = g_signal_new("seek", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT64);
    signals[SIGNAL_AU_SELECTED] =
        g_signal_new("au-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 1, G_TYPE_INT);
    signals[SIGNAL_LABEL_RANGE] =
        g_signal_new("label-range", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 4, G_TYPE_INT, G_TYPE_INT64, G_TYPE_INT64, G_TYPE_INT);
    gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BOX_LAYOUT);
    gtk_widget_class_set_css_name(widget_class, "timeline");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_LIST);
}

static void mimica_timeline_init(MimicaTimeline *self)
{
    gtk_orientable_set_orientation(GTK_ORIENTABLE(gtk_widget_get_layout_manager(GTK_WIDGET(self))),
                                   GTK_ORIENTATION_VERTICAL);
    self->range_in = self->range_out = -1;
    self->threshold = 0.5;
    gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Timeline"), -1);
    GtkEventController *scroll = gtk_event_controller_scroll_new(
        GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES | GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
    g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), self);
    gtk_widget_add_controller(GTK_WIDGET(self), scroll);
}

GtkWidget *mimica_timeline_new(void)
{
    return g_object_new(MIMICA_TYPE_TIMELINE, NULL);
}
