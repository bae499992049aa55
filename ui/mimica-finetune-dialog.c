/* mimica-finetune-dialog.c: before/after F1 bars (grey before, blue after), Keep / Discard. */
#include "mimica-finetune-dialog.h"

#include <cairo-pdf.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "store/mimica-store-models.h"
#include "ui-model/mimica-ui-model.h"

struct _MimicaFinetuneDialog {
    AdwWindow parent_instance;
    MimicaUiFinetuneResult result;
    GtkWidget *area;
};

G_DEFINE_FINAL_TYPE(MimicaFinetuneDialog, mimica_finetune_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_DECIDED, N_SIGNALS };
static guint signals[N_SIGNALS];

void mimica_finetune_dialog_draw_chart(MimicaFinetuneDialog *self, cairo_t *cr, int w, int h)
{
    const MimicaUiFinetuneResult *r = &self->result;
    double left = 36, bottom = 24, top = 8;
    double plot_h = h - bottom - top;
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_line_width(cr, 1);
    cairo_set_font_size(cr, 10);
    for (int i = 0; i <= 4; i++) {
        double y = top + plot_h * (1 - i / 4.0);
        cairo_move_to(cr, left, y);
        cairo_line_to(cr, w - 4, y);
        cairo_stroke(cr);
        char t[8];
        g_snprintf(t, sizeof t, "%.2f", i / 4.0);
        cairo_move_to(cr, 2, y + 3);
        cairo_show_text(cr, t);
    }
    if (r->n_aus == 0)
        return;
    double slot = (w - left - 4) / r->n_aus;
    double bar = MAX(2, slot * 0.38);
    for (int i = 0; i < r->n_aus; i++) {
        double x = left + i * slot + slot * 0.1;
        double vals[2] = {r->f1_before[i], r->f1_after[i]};
        for (int k = 0; k < 2; k++) {
            if (isnan(vals[k]))
                continue;
            if (k == 0)
                cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
            else
                cairo_set_source_rgb(cr, 0.21, 0.52, 0.89);
            double bh = plot_h * CLAMP(vals[k], 0, 1);
            cairo_rectangle(cr, x + k * bar, top + plot_h - bh, bar - 1, bh);
            cairo_fill(cr);
        }
        char t[16];
        g_snprintf(t, sizeof t, "AU%d", r->aus[i]);
        cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
        cairo_move_to(cr, x, h - 8);
        cairo_show_text(cr, t);
    }
}

static void draw_func(GtkDrawingArea *area, cairo_t *cr, int w, int h, gpointer data)
{
    mimica_finetune_dialog_draw_chart(MIMICA_FINETUNE_DIALOG(data), cr, w, h);
}

static void decide(MimicaFinetuneDialog *self, gboolean keep)
{
    g_signal_emit(self, signals[SIGNAL_DECIDED], 0, self->result.model_id, keep);
    gtk_window_destroy(GTK_WINDOW(self));
}

static void on_keep(GtkButton *b, MimicaFinetuneDialog *self)
{
    decide(self, TRUE);
}

static void on_discard(GtkButton *b, MimicaFinetuneDialog *self)
{
    decide(self, FALSE);
}

static void on_export_chosen(GtkNativeDialog *dialog, int response, MimicaFinetuneDialog *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autofree char *path = g_file_get_path(file);
        cairo_surface_t *s = g_str_has_suffix(path, ".pdf")
                                 ? cairo_pdf_surface_create(path, 640, 320)
                                 : cairo_image_surface_create(CAIRO_FORMAT_RGB24, 640, 320);
        cairo_t *cr = cairo_create(s);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        mimica_finetune_dialog_draw_chart(self, cr, 640, 320);
        cairo_destroy(cr);
        if (!g_str_has_suffix(path, ".pdf"))
            cairo_surface_write_to_png(s, path);
        cairo_surface_destroy(s);
    }
    gtk_native_dialog_destroy(dialog);
    g_object_unref(dialog);
}

static void on_export(GtkButton *b, MimicaFinetuneDialog *self)
{
    GtkFileChooserNative *dialog =
        gtk_file_chooser_native_new(_("Export Chart"), GTK_WINDOW(self),
                                    GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dialog), "f1-before-after.png");
    g_signal_connect(dialog, "response", G_CALLBACK(on_export_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

/* A plain label: GTK 4.8 names a mnemonic button "_Keep Keep" on the accessibility bus. */
static GtkWidget *button(const char *label, GCallback cb, gpointer data)
{
    GtkWidget *b = gtk_button_new_with_label(label);
    g_signal_connect(b, "clicked", cb, data);
    return b;
}

/* Where the new model started: its parent, or an untrained network (fine-tune's start for a
 * project without a network analysis, whose row's metrics say {"start": "untrained"}). */
static char *parent_text(MimicaStore *store, gint64 model_id)
{
    MimicaModelRow row, parent;
    if (!mimica_store_models_get(store, model_id, &row, NULL))
        return NULL;
    gint64 parent_id = row.parent_id;
    mimica_model_row_clear(&row);
    if (parent_id <= 0 || !mimica_store_models_get(store, parent_id, &parent, NULL))
        return NULL;
    char *text;
    if (parent.metrics && strstr(parent.metrics, "\"start\": \"untrained\""))
        text = g_strdup(_("No analysis of this project used a network model, so the fine-tune "
                          "started from an untrained network for the labelled AUs: “before” is "
                          "that network on the held-out frames."));
    else
        text = g_strdup_printf(_("Fine-tuned from model “%s”."), parent.name ? parent.name : "");
    mimica_model_row_clear(&parent);
    return text;
}

static void mimica_finetune_dialog_finalize(GObject *object)
{
    mimica_ui_finetune_result_clear(&MIMICA_FINETUNE_DIALOG(object)->result);
    G_OBJECT_CLASS(mimica_finetune_dialog_parent_class)->finalize(object);
}

static void mimica_finetune_dialog_class_init(MimicaFinetuneDialogClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = mimica_finetune_dialog_finalize;
    signals[SIGNAL_DECIDED] =
        g_signal_new("decided", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                     G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_BOOLEAN);
}

static void mimica_finetune_dialog_init(MimicaFinetuneDialog *self)
{
}

GtkWidget *mimica_finetune_dialog_new(GtkWindow *parent, MimicaStore *store, gint64 model_id)
{
    MimicaFinetuneDialog *self =
        g_object_new(MIMICA_TYPE_FINETUNE_DIALOG, "transient-for", parent, "modal", TRUE,
                     "default-width", 640, "default-height", 440, "title", _("Fine-tune"), NULL);
    g_autoptr(GError) error = NULL;
    if (!mimica_ui_finetune_result_load(store, model_id, &self->result, &error)) {
        g_warning("fine-tune result: %s", error->message);
        gtk_window_destroy(GTK_WINDOW(self));
        return NULL;
    }
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
    GtkWidget *header = adw_header_bar_new();
    gtk_box_append(GTK_BOX(box), header);
    g_autofree char *summary =
        g_strdup_printf(_("Mean F1 %.3f before, %.3f after (model “%s”)"), self->result.mean_before,
                        self->result.mean_after, self->result.name ? self->result.name : "");
    GtkWidget *label = gtk_label_new(summary);
    gtk_label_set_wrap(GTK_LABEL(label), TRUE);
    gtk_box_append(GTK_BOX(box), label);
    g_autofree char *origin = parent_text(store, self->result.model_id);
    if (origin) {
        GtkWidget *note = gtk_label_new(origin);
        gtk_label_set_wrap(GTK_LABEL(note), TRUE);
        gtk_widget_set_margin_start(note, 12);
        gtk_widget_set_margin_end(note, 12);
        gtk_widget_add_css_class(note, "dim-label");
        gtk_box_append(GTK_BOX(box), note);
    }
    self->area = gtk_drawing_area_new();
    gtk_widget_set_vexpand(self->area, TRUE);
    gtk_widget_set_margin_start(self->area, 12);
    gtk_widget_set_margin_end(self->area, 12);
    gtk_drawing_area_set_draw_func(GTK_DRAWING_AREA(self->area), draw_func, self, NULL);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->area), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("F1 per action unit, before (grey) and after (blue)"), -1);
    gtk_box_append(GTK_BOX(box), self->area);
    GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
    gtk_widget_set_halign(buttons, GTK_ALIGN_END);
    gtk_widget_set_margin_end(buttons, 12);
    gtk_widget_set_margin_bottom(buttons, 12);
    gtk_box_append(GTK_BOX(buttons), button(_("Export Chart…"), G_CALLBACK(on_export), self));
    GtkWidget *discard = button(_("Discard"), G_CALLBACK(on_discard), self);
    gtk_widget_add_css_class(discard, "destructive-action");
    gtk_box_append(GTK_BOX(buttons), discard);
    GtkWidget *keep = button(_("Keep"), G_CALLBACK(on_keep), self);
    gtk_widget_add_css_class(keep, "suggested-action");
    gtk_box_append(GTK_BOX(buttons), keep);
    gtk_box_append(GTK_BOX(box), buttons);
    adw_window_set_content(ADW_WINDOW(self), box);
    return GTK_WIDGET(self);
}
