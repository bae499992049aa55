/* mimica-au-panel.c: a GtkListBox of AU rows. */
#include "mimica-au-panel.h"

#include <glib/gi18n.h>
#include <math.h>

#include "mimica-au-names.h"
#include "store/mimica-store.h"

typedef struct {
    int au;
    GtkWidget *row, *level, *value, *label;
} AuRow;

struct _MimicaAuPanel {
    GtkWidget parent_instance;
    GtkWidget *scrolled, *list;
    GArray *rows; /* AuRow */
    gboolean updating;
};

G_DEFINE_FINAL_TYPE(MimicaAuPanel, mimica_au_panel, GTK_TYPE_WIDGET)

enum { SIGNAL_AU_SELECTED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void on_row_selected(GtkListBox *box, GtkListBoxRow *row, MimicaAuPanel *self)
{
    if (!row || self->updating)
        return;
    int i = gtk_list_box_row_get_index(row);
    if (i >= 0 && (guint)i < self->rows->len)
        g_signal_emit(self, signals[SIGNAL_AU_SELECTED], 0, g_array_index(self->rows, AuRow, i).au);
}

void mimica_au_panel_set_aus(MimicaAuPanel *self, const int *aus, int n_aus)
{
    g_return_if_fail(MIMICA_IS_AU_PANEL(self));
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child(self->list)))
        gtk_list_box_remove(GTK_LIST_BOX(self->list), child);
    g_array_set_size(self->rows, 0);
    for (int i = 0; i < n_aus; i++) {
        AuRow r = {.au = aus[i]};
        g_autofree char *title = mimica_au_dup_title(aus[i]);
        GtkWidget *grid = gtk_grid_new();
        gtk_grid_set_column_spacing(GTK_GRID(grid), 6);
        gtk_widget_set_margin_start(grid, 6);
        gtk_widget_set_margin_end(grid, 6);
        gtk_widget_set_margin_top(grid, 3);
        gtk_widget_set_margin_bottom(grid, 3);
        char key[8];
        g_snprintf(key, sizeof key, "%d", (i + 1) % 10);
        GtkWidget *name = gtk_label_new(title);
        gtk_label_set_xalign(GTK_LABEL(name), 0);
        /* long names (German ones) wrap rather than lose their end */
        gtk_label_set_wrap(GTK_LABEL(name), TRUE);
        gtk_label_set_wrap_mode(GTK_LABEL(name), PANGO_WRAP_WORD_CHAR);
        gtk_label_set_max_width_chars(GTK_LABEL(name), 24);
        gtk_widget_set_hexpand(name, TRUE);
        gtk_grid_attach(GTK_GRID(grid), name, 0, 0, 3, 1);
        if (i < 10) {
            GtkWidget *k = gtk_label_new(key);
            gtk_widget_add_css_class(k, "dim-label");
            gtk_grid_attach(GTK_GRID(grid), k, 3, 0, 1, 1);
        }
        r.level = gtk_level_bar_new_for_interval(0, 1);
        gtk_widget_set_size_request(r.level, 80, -1);
        gtk_accessible_update_property(GTK_ACCESSIBLE(r.level), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       _("Model value"), -1);
        gtk_widget_set_valign(r.level, GTK_ALIGN_CENTER);
        gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(r.level), GTK_LEVEL_BAR_OFFSET_LOW);
        gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(r.level), GTK_LEVEL_BAR_OFFSET_HIGH);
        gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(r.level), GTK_LEVEL_BAR_OFFSET_FULL);
        gtk_grid_attach(GTK_GRID(grid), r.level, 0, 1, 1, 1);
        r.value = gtk_label_new("–");
        gtk_widget_add_css_class(r.value, "numeric");
        gtk_grid_attach(GTK_GRID(grid), r.value, 1, 1, 1, 1);
        r.label = gtk_label_new("");
        gtk_label_set_xalign(GTK_LABEL(r.label), 0);
        gtk_widget_add_css_class(r.label, "caption");
        gtk_grid_attach(GTK_GRID(grid), r.label, 2, 1, 2, 1);
        r.row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(r.row), grid);
        gtk_accessible_update_property(GTK_ACCESSIBLE(r.row), GTK_ACCESSIBLE_PROPERTY_LABEL, title,
                                       -1);
        gtk_list_box_append(GTK_LIST_BOX(self->list), r.row);
        g_array_append_val(self->rows, r);
    }
}

void mimica_au_panel_update(MimicaAuPanel *self, const float *values, const int *labels)
{
    for (guint i = 0; i < self->rows->len; i++) {
        AuRow *r = &g_array_index(self->rows, AuRow, i);
        float v = values ? values[i] : NAN;
        char buf[16];
        if (isnan(v)) {
            gtk_level_bar_set_value(GTK_LEVEL_BAR(r->level), 0);
            gtk_label_set_text(GTK_LABEL(r->value), "–");
        } else {
            gtk_level_bar_set_value(GTK_LEVEL_BAR(r->level), CLAMP(v, 0, 1));
            g_snprintf(buf, sizeof buf, "%.2f", v);
            gtk_label_set_text(GTK_LABEL(r->value), buf);
        }
        int l = labels ? labels[i] : -1;
        const char *text = "";
        if (l == MIMICA_LABEL_ABSENT)
            text = _("label absent");
        else if (l == MIMICA_LABEL_PRESENT)
            text = _("label present");
        g_autofree char *intensity = NULL;
        if (l >= MIMICA_LABEL_A)
            text = intensity =
                g_strdup_printf(_("label %s"), mimica_label_value_to_string((MimicaLabelValue)l));
        gtk_label_set_text(GTK_LABEL(r->label), text);
    }
}

void mimica_au_panel_set_selected(MimicaAuPanel *self, int au)
{
    self->updating = TRUE;
    for (guint i = 0; i < self->rows->len; i++) {
        AuRow *r = &g_array_index(self->rows, AuRow, i);
        if (r->au == au)
            gtk_list_box_select_row(GTK_LIST_BOX(self->list), GTK_LIST_BOX_ROW(r->row));
    }
    self->updating = FALSE;
}

static void mimica_au_panel_dispose(GObject *object)
{
    MimicaAuPanel *self = MIMICA_AU_PANEL(object);
    g_clear_pointer(&self->scrolled, gtk_widget_unparent);
    G_OBJECT_CLASS(mimica_au_panel_parent_class)->dispose(object);
}

static void mimica_au_panel_finalize(GObject *object)
{
    MimicaAuPanel *self = MIMICA_AU_PANEL(object);
    g_array_unref(self->rows);
    G_OBJECT_CLASS(mimica_au_panel_parent_class)->finalize(object);
}

static void mimica_au_panel_class_init(MimicaAuPanelClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    object_class->dispose = mimica_au_panel_dispose;
    object_class->finalize = mimica_au_panel_finalize;
    signals[SIGNAL_AU_SELECTED] =
        g_signal_new("au-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                     NULL, G_TYPE_NONE, 1, G_TYPE_INT);
    gtk_widget_class_set_layout_manager_type(widget_class, GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_css_name(widget_class, "aupanel");
}

static void mimica_au_panel_init(MimicaAuPanel *self)
{
    self->rows = g_array_new(FALSE, FALSE, sizeof(AuRow));
    self->scrolled = gtk_scrolled_window_new();
    gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(self->scrolled), GTK_POLICY_NEVER,
                                   GTK_POLICY_AUTOMATIC);
    self->list = gtk_list_box_new();
    gtk_widget_add_css_class(self->list, "navigation-sidebar");
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Action Units"), -1);
    g_signal_connect(self->list, "row-selected", G_CALLBACK(on_row_selected), self);
    gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(self->scrolled), self->list);
    gtk_widget_set_parent(self->scrolled, GTK_WIDGET(self));
    gtk_widget_set_size_request(GTK_WIDGET(self), 220, -1);
}

GtkWidget *mimica_au_panel_new(void)
{
    return g_object_new(MIMICA_TYPE_AU_PANEL, NULL);
}
