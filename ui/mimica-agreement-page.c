/* mimica-agreement-page.c: a table of kappa and F1 per AU and pair of raters; Export CSV. */
#include "mimica-agreement-page.h"

#include <glib/gi18n.h>
#include <math.h>

#include "mimica-ui-private.h"

struct _MimicaAgreementPage {
    AdwWindow parent_instance;
    char *csv;
};

G_DEFINE_FINAL_TYPE(MimicaAgreementPage, mimica_agreement_page, ADW_TYPE_WINDOW)

static void on_export(GtkButton *b, MimicaAgreementPage *self)
{
    _mimica_export_csv(GTK_WINDOW(self), self->csv, "agreement.csv");
}

static void mimica_agreement_page_finalize(GObject *object)
{
    g_free(MIMICA_AGREEMENT_PAGE(object)->csv);
    G_OBJECT_CLASS(mimica_agreement_page_parent_class)->finalize(object);
}

static void mimica_agreement_page_class_init(MimicaAgreementPageClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = mimica_agreement_page_finalize;
}

static void mimica_agreement_page_init(MimicaAgreementPage *self)
{
}

static void cell(GtkGrid *grid, const char *text, int col, int row, gboolean heading)
{
    GtkWidget *l = gtk_label_new(text);
    gtk_label_set_xalign(GTK_LABEL(l), col < 3 ? 0 : 1);
    gtk_widget_add_css_class(l, heading ? "heading" : "numeric");
    gtk_grid_attach(grid, l, col, row, 1, 1);
}

static char *number(double v)
{
    return isnan(v) ? g_strdup("–") : g_strdup_printf("%.3f", v);
}

GtkWidget *mimica_agreement_page_new(GtkWindow *parent, MimicaStore *store, gint64 video_id,
                                     const MimicaUiCurves *curves, double threshold, GError **error)
{
    g_autoptr(GArray) rows = mimica_ui_agreement(store, video_id, curves, threshold, error);
    if (!rows)
        return NULL;
    MimicaAgreementPage *self =
        g_object_new(MIMICA_TYPE_AGREEMENT_PAGE, "transient-for", parent, "default-width", 560,
                     "default-height", 480, "title", _("Agreement"), NULL);
    self->csv = mimica_ui_agreement_to_csv(rows);
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *header = adw_header_bar_new();
    GtkWidget *export = gtk_button_new_with_label(_("Export CSV…"));
    g_signal_connect(export, "clicked", G_CALLBACK(on_export), self);
    adw_header_bar_pack_end(ADW_HEADER_BAR(header), export);
    gtk_box_append(GTK_BOX(box), header);
    GtkWidget *grid = gtk_grid_new();
    gtk_grid_set_column_spacing(GTK_GRID(grid), 18);
    gtk_grid_set_row_spacing(GTK_GRID(grid), 4);
    gtk_widget_set_margin_start(grid, 12);
    gtk_widget_set_margin_end(grid, 12);
    gtk_widget_set_margin_top(grid, 12);
    gtk_accessible_update_property(GTK_ACCESSIBLE(grid), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Agreement per action unit"), -1);
    const char *heads[] = {_("AU"), _("Rater A"), _("Rater B"), _("Frames"), _("κ"), _("F1")};
    for (int c = 0; c < 6; c++)
        cell(GTK_GRID(grid), heads[c], c, 0, TRUE);
    for (guint i = 0; i < rows->len; i++) {
        const MimicaUiAgreement *a = &g_array_index(rows, MimicaUiAgreement, i);
        g_autofree char *au = g_strdup_printf("%d", a->au);
        g_autofree char *frames = g_strdup_printf("%lld", (long long)a->n_frames);
        g_autofree char *kappa = number(a->kappa);
        g_autofree char *f1 = number(a->f1);
        cell(GTK_GRID(grid), au, 0, i + 1, FALSE);
        cell(GTK_GRID(grid), a->rater_a, 1, i + 1, FALSE);
        cell(GTK_GRID(grid), strcmp(a->rater_b, "model") ? a->rater_b : _("model"), 2, i + 1,
             FALSE);
        cell(GTK_GRID(grid), frames, 3, i + 1, FALSE);
        cell(GTK_GRID(grid), kappa, 4, i + 1, FALSE);
        cell(GTK_GRID(grid), f1, 5, i + 1, FALSE);
    }
    if (rows->len == 0) {
        GtkWidget *empty = gtk_label_new(_("No frame is labelled by two raters yet."));
        gtk_widget_add_css_class(empty, "dim-label");
        gtk_grid_attach(GTK_GRID(grid), empty, 0, 1, 6, 1);
    }
    GtkWidget *scrolled = gtk_scrolled_window_new();
    gtk_widget_set_vexpand(scrolled, TRUE);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scrolled), grid);
    gtk_box_append(GTK_BOX(box), scrolled);
    adw_window_set_content(ADW_WINDOW(self), box);
    return GTK_WIDGET(self);
}
