/* mimica-review-page.c: a list of the review queue's frames; Export CSV. */
#include "mimica-review-page.h"

#include <glib/gi18n.h>

#include "mimica-au-names.h"
#include "mimica-ui-private.h"

#define MAX_ITEMS 500

struct _MimicaReviewPage {
    AdwWindow parent_instance;
    GArray *queue; /* MimicaUiReviewItem */
    char *csv;
};

G_DEFINE_FINAL_TYPE(MimicaReviewPage, mimica_review_page, ADW_TYPE_WINDOW)

enum { SIGNAL_SEEK, N_SIGNALS };
static guint signals[N_SIGNALS];

static void on_row_activated(GtkListBox *box, GtkListBoxRow *row, MimicaReviewPage *self)
{
    int i = gtk_list_box_row_get_index(row);
    if (i < 0 || (guint)i >= self->queue->len)
        return;
    const MimicaUiReviewItem *it = &g_array_index(self->queue, MimicaUiReviewItem, i);
    g_signal_emit(self, signals[SIGNAL_SEEK], 0, it->frame, it->au);
}

static void on_export_chosen(GtkNativeDialog *dialog, int response, gpointer data)
{
    const char *csv = data;
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        g_autoptr(GError) error = NULL;
        if (!g_file_replace_contents(file, csv, strlen(csv), NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                     NULL, &error))
            g_warning("export: %s", error->message);
    }
    gtk_native_dialog_destroy(dialog);
    g_object_unref(dialog);
}

void _mimica_export_csv(GtkWindow *parent, const char *csv, const char *name)
{
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        _("Export CSV"), parent, GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
    gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dialog), name);
    g_object_set_data_full(G_OBJECT(dialog), "csv", g_strdup(csv), g_free);
    g_signal_connect(dialog, "response", G_CALLBACK(on_export_chosen),
                     g_object_get_data(G_OBJECT(dialog), "csv"));
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static void on_export(GtkButton *b, MimicaReviewPage *self)
{
    _mimica_export_csv(GTK_WINDOW(self), self->csv, "review-queue.csv");
}

static void mimica_review_page_finalize(GObject *object)
{
    MimicaReviewPage *self = MIMICA_REVIEW_PAGE(object);
    g_clear_pointer(&self->queue, g_array_unref);
    g_free(self->csv);
    G_OBJECT_CLASS(mimica_review_page_parent_class)->finalize(object);
}

static void mimica_review_page_class_init(MimicaReviewPageClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = mimica_review_page_finalize;
    signals[SIGNAL_SEEK] = g_signal_new("seek", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_INT);
}

static void mimica_review_page_init(MimicaReviewPage *self)
{
}

GtkWidget *mimica_review_page_new(GtkWindow *parent, MimicaStore *store, gint64 video_id,
                                  const char *annotator, const MimicaUiCurves *curves,
                                  double threshold, GError **error)
{
    g_autoptr(GArray) queue =
        mimica_ui_review_queue(store, video_id, annotator, curves, threshold, MAX_ITEMS, error);
    if (!queue)
        return NULL;
    MimicaReviewPage *self =
        g_object_new(MIMICA_TYPE_REVIEW_PAGE, "transient-for", parent, "default-width", 420,
                     "default-height", 560, "title", _("Review Queue"), NULL);
    self->queue = g_steal_pointer(&queue);
    self->csv = mimica_ui_review_queue_to_csv(self->queue);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *header = adw_header_bar_new();
    GtkWidget *export = gtk_button_new_with_label(_("Export CSV…"));
    g_signal_connect(export, "clicked", G_CALLBACK(on_export), self);
    adw_header_bar_pack_end(ADW_HEADER_BAR(header), export);
    gtk_box_append(GTK_BOX(box), header);
    GtkWidget *hint = gtk_label_new(
        _("Unlabelled frames where the model is least sure, farthest from your labels first. "
          "Activate a row to go there."));
    gtk_label_set_wrap(GTK_LABEL(hint), TRUE);
    gtk_widget_set_margin_start(hint, 12);
    gtk_widget_set_margin_end(hint, 12);
    gtk_widget_set_margin_top(hint, 6);
    gtk_widget_set_margin_bottom(hint, 6);
    gtk_widget_add_css_class(hint, "dim-label");
    gtk_box_append(GTK_BOX(box), hint);
    GtkWidget *list = gtk_list_box_new();
    gtk_accessible_update_property(GTK_ACCESSIBLE(list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Review Queue"), -1);
    gtk_widget_add_css_class(list, "navigation-sidebar");
    for (guint i = 0; i < self->queue->len; i++) {
        const MimicaUiReviewItem *it = &g_array_index(self->queue, MimicaUiReviewItem, i);
        g_autofree char *au = mimica_au_dup_title(it->au);
        g_autofree char *text =
            g_strdup_printf(_("Frame %lld — %s — model %.2f"), (long long)it->frame, au, it->prob);
        GtkWidget *label = gtk_label_new(text);
        gtk_label_set_xalign(GTK_LABEL(label), 0);
        gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
        GtkWidget *row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), label);
        gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, text,
                                       -1);
        gtk_list_box_append(GTK_LIST_BOX(list), row);
    }
    g_signal_connect(list, "row-activated", G_CALLBACK(on_row_activated), self);
    GtkWidget *scrolled = gtk_scrolled_window_new();
    gtk_widget_set_vexpand(scrolled, TRUE);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scrolled), list);
    gtk_box_append(GTK_BOX(box), scrolled);
    adw_window_set_content(ADW_WINDOW(self), box);
    return GTK_WIDGET(self);
}
