/* mimica-video-view.c: the frame texture, scaled to fit, and the overlays drawn with cairo. */
#include "mimica-video-view.h"

#include <glib/gi18n.h>
#include <math.h>

#include "mimica-au-names.h"

struct _MimicaVideoView {
    GtkWidget parent_instance;

    MimicaFrame *frame;
    GdkTexture *texture;
    GArray *rows;   /* MimicaPrediction */
    GArray *tracks; /* int */
    int n_aus;
    int aus[MIMICA_MAX_AUS];
    int labels[MIMICA_MAX_AUS];
    MimicaOverlays overlays;
    double threshold;
};

G_DEFINE_FINAL_TYPE(MimicaVideoView, mimica_video_view, GTK_TYPE_WIDGET)

void mimica_video_view_project(double w, double h, const double p[3], double *u, double *v)
{
    double f = (500.0 * w / 640.0 + 500.0 * h / 480.0) / 2.0;
    double z = p[2] > 1e-6 ? p[2] : 1e-6;
    *u = f * p[0] / z + w / 2.0;
    *v = f * p[1] / z + h / 2.0;
}

void mimica_video_view_pose_axes(double w, double h, const float pose[6], double length,
                                 double out[4][2])
{
    double cx = cos(pose[3]), sx = sin(pose[3]);
    double cy = cos(pose[4]), sy = sin(pose[4]);
    double cz = cos(pose[5]), sz = sin(pose[5]);
    /* R = Rx(rx) Ry(ry) Rz(rz) */
    double r[3][3] = {
        {cy * cz, -cy * sz, sy},
        {cx * sz + sx * sy * cz, cx * cz - sx * sy * sz, -sx * cy},
        {sx * sz - cx * sy * cz, sx * cz + cx * sy * sz, cx * cy},
    };
    double t[3] = {pose[0], pose[1], pose[2]};
    mimica_video_view_project(w, h, t, &out[0][0], &out[0][1]);
    for (int a = 0; a < 3; a++) {
        double p[3];
        for (int i = 0; i < 3; i++)
            p[i] = t[i] + r[i][a] * length;
        mimica_video_view_project(w, h, p, &out[a + 1][0], &out[a + 1][1]);
    }
}

static void draw_overlays(MimicaVideoView *self, cairo_t *cr, double scale)
{
    static const double track_colours[][3] = {
        {0.10, 0.60, 1.00}, {1.00, 0.60, 0.10}, {0.80, 0.30, 0.90}, {0.20, 0.80, 0.40}};
    double w = self->frame->width, h = self->frame->height;
    for (guint i = 0; i < self->rows->len; i++) {
        const MimicaPrediction *p = &g_array_index(self->rows, MimicaPrediction, i);
        int track = g_array_index(self->tracks, int, i);
        const double *c = track_colours[track % G_N_ELEMENTS(track_colours)];
        if (!p->success)
            continue;
        if ((self->overlays & MIMICA_OVERLAY_BOX) && p->has_box) {
            cairo_set_source_rgb(cr, c[0], c[1], c[2]);
            cairo_set_line_width(cr, 2.0 / scale);
            cairo_rectangle(cr, p->box[0], p->box[1], p->box[2], p->box[3]);
            cairo_stroke(cr);
            char text[32];
            g_snprintf(text, sizeof text, "#%d %.2f", track, p->confidence);
            cairo_set_font_size(cr, 14 / scale);
            cairo_move_to(cr, p->box[0], p->box[1] - 4 / scale);
            cairo_show_text(cr, text);
        }
        if ((self->overlays & MIMICA_OVERLAY_LANDMARKS) && p->has_landmarks) {
            cairo_set_source_rgb(cr, 0.2, 1.0, 0.4);
            for (int k = 0; k < MIMICA_N_LANDMARKS; k++) {
                cairo_arc(cr, p->landmarks[k], p->landmarks[MIMICA_N_LANDMARKS + k], 1.8 / scale, 0,
                          2 * G_PI);
                cairo_fill(cr);
            }
        }
        if ((self->overlays & MIMICA_OVERLAY_POSE) && p->has_pose && p->pose[2] > 1) {
            double axes[4][2];
            static const double axis_colours[3][3] = {
                {1, 0.2, 0.2}, {0.2, 0.9, 0.2}, {0.3, 0.5, 1}};
            mimica_video_view_pose_axes(w, h, p->pose, 60.0, axes);
            cairo_set_line_width(cr, 3.0 / scale);
            for (int a = 0; a < 3; a++) {
                cairo_set_source_rgb(cr, axis_colours[a][0], axis_colours[a][1],
                                     axis_colours[a][2]);
                cairo_move_to(cr, axes[0][0], axes[0][1]);
                cairo_line_to(cr, axes[a + 1][0], axes[a + 1][1]);
                cairo_stroke(cr);
            }
        }
    }
}

/* AU bars in widget coordinates, at the left edge: model value and the human label. */
static void draw_au_bars(MimicaVideoView *self, cairo_t *cr, double height)
{
    const MimicaPrediction *p = NULL;
    for (guint i = 0; i < self->rows->len && !p; i++)
        if (g_array_index(self->rows, MimicaPrediction, i).success)
            p = &g_array_index(self->rows, MimicaPrediction, i);
    if (!p || self->n_aus == 0)
        return;
    double row_h = MIN(18.0, (height - 8) / self->n_aus);
    cairo_set_font_size(cr, MIN(12.0, row_h - 4));
    cairo_set_source_rgba(cr, 0, 0, 0, 0.55);
    cairo_rectangle(cr, 4, 4, 150, row_h * self->n_aus + 4);
    cairo_fill(cr);
    for (int i = 0; i < self->n_aus && i < p->n_aus; i++) {
        double y = 6 + i * row_h;
        float v = p->au_prob[i];
        char text[16];
        g_snprintf(text, sizeof text, "AU%02d", self->aus[i]);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_move_to(cr, 8, y + row_h - 5);
        cairo_show_text(cr, text);
        if (!isnan(v)) {
            gboolean on = v >= self->threshold;
            /* blue / orange: distinguishable with every common colour-vision deficiency */
            if (on)
                cairo_set_source_rgb(cr, 0.95, 0.55, 0.1);
            else
                cairo_set_source_rgb(cr, 0.3, 0.6, 1.0);
            cairo_rectangle(cr, 50, y + 2, 70 * CLAMP(v, 0, 1), row_h - 5);
            cairo_fill(cr);
        }
        int label = self->labels[i];
        if (label >= 0) {
            const char *mark = label == MIMICA_LABEL_ABSENT ? "–"
                               : label == MIMICA_LABEL_PRESENT
                                   ? "✓"
                                   : mimica_label_value_to_string((MimicaLabelValue)label);
            cairo_set_source_rgb(cr, 1, 1, 1);
            cairo_move_to(cr, 128, y + row_h - 5);
            cairo_show_text(cr, mark);
        }
    }
}

static void mimica_video_view_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
    MimicaVideoView *self = MIMICA_VIDEO_VIEW(widget);
    double ww = gtk_widget_get_width(widget), wh = gtk_widget_get_height(widget);
    GdkRGBA black = {0, 0, 0, 1};
    gtk_snapshot_append_color(snapshot, &black, &GRAPHENE_RECT_INIT(0, 0, ww, wh));
    if (!self->frame || !self->texture)
        return;
    double fw = self->frame->width, fh = self->frame->height;
    double scale = MIN(ww / fw, wh / fh);
    double x0 = (ww - fw * scale) / 2, y0 = (wh - fh * scale) / 2;
    graphene_rect_t area = GRAPHENE_RECT_INIT(x0, y0, fw * scale, fh * scale);
    gtk_snapshot_append_texture(snapshot, self->texture, &area);
    if (self->rows->len == 0 || !(self->overlays & MIMICA_OVERLAY_ALL))
        return;
    cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, ww, wh));
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, scale, scale);
    draw_overlays(self, cr, scale);
    cairo_restore(cr);
    if (self->overlays & MIMICA_OVERLAY_AUS)
        draw_au_bars(self, cr, wh);
    cairo_destroy(cr);
}

static void mimica_video_view_measure(GtkWidget *widget, GtkOrientation orientation, int for_size,
                                      int *minimum, int *natural, int *minimum_baseline,
                                      int *natural_baseline)
{
    *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 320 : 240;
    *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 640 : 480;
}

void mimica_video_view_set_frame(MimicaVideoView *self, MimicaFrame *frame,
                                 const MimicaPrediction *rows, const int *tracks, guint n,
                                 const int *aus, const int *labels, int n_aus)
{
    g_return_if_fail(MIMICA_IS_VIDEO_VIEW(self));
    if (frame != self->frame) {
        g_clear_object(&self->texture);
        g_clear_pointer(&self->frame, mimica_frame_unref);
        if (frame) {
            self->frame = mimica_frame_ref(frame);
            g_autoptr(GBytes) bytes = g_bytes_new_with_free_func(
                frame->data, (gsize)frame->stride * frame->height,
                (GDestroyNotify)mimica_frame_unref, mimica_frame_ref(frame));
            self->texture = gdk_memory_texture_new(frame->width, frame->height, GDK_MEMORY_R8G8B8,
                                                   bytes, frame->stride);
        }
    }
    g_array_set_size(self->rows, 0);
    g_array_set_size(self->tracks, 0);
    if (n) {
        g_array_append_vals(self->rows, rows, n);
        g_array_append_vals(self->tracks, tracks, n);
    }
    self->n_aus = MIN(n_aus, MIMICA_MAX_AUS);
    for (int i = 0; i < self->n_aus; i++) {
        self->aus[i] = aus[i];
        self->labels[i] = labels ? labels[i] : -1;
    }
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

void mimica_video_view_set_overlays(MimicaVideoView *self, MimicaOverlays overlays)
{
    self->overlays = overlays;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

MimicaOverlays mimica_video_view_get_overlays(MimicaVideoView *self)
{
    return self->overlays;
}

void mimica_video_view_set_threshold(MimicaVideoView *self, double threshold)
{
    self->threshold = threshold;
    gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void mimica_video_view_finalize(GObject *object)
{
    MimicaVideoView *self = MIMICA_VIDEO_VIEW(object);
    g_clear_object(&self->texture);
    g_clear_pointer(&self->frame, mimica_frame_unref);
    g_array_unref(self->rows);
    g_array_unref(self->tracks);
    G_OBJECT_CLASS(mimica_video_view_parent_class)->finalize(object);
}

static void mimica_video_view_class_init(MimicaVideoViewClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->finalize = mimica_video_view_finalize;
    widget_class->snapshot = mimica_video_view_snapshot;
    widget_class->measure = mimica_video_view_measure;
    gtk_widget_class_set_css_name(widget_class, "videoview");
    gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void mimica_video_view_init(MimicaVideoView *self)
{
    self->rows = g_array_new(FALSE, FALSE, sizeof(MimicaPrediction));
    self->tracks = g_array_new(FALSE, FALSE, sizeof(int));
    self->overlays = MIMICA_OVERLAY_ALL;
    self->threshold = 0.5;
    gtk_widget_set_hexpand(GTK_WIDGET(self), TRUE);
    gtk_widget_set_vexpand(GTK_WIDGET(self), TRUE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Video"),
                                   -1);
}

GtkWidget *mimica_video_view_new(void)
{
    return g_object_new(MIMICA_TYPE_VIDEO_VIEW, NULL);
}
