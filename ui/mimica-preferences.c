/* mimica-preferences.c: an AdwPreferencesWindow bound to GSettings. */
#include "mimica-preferences.h"

#include <glib/gi18n.h>

static const char *const backends[] = {"auto", "ref", "dnnl", "cuda", NULL};

static gboolean backend_get(GValue *value, GVariant *variant, gpointer data)
{
    const char *nick = g_variant_get_string(variant, NULL);
    for (guint i = 0; backends[i]; i++)
        if (g_str_equal(nick, backends[i])) {
            g_value_set_uint(value, i);
            return TRUE;
        }
    return FALSE;
}

static GVariant *backend_set(const GValue *value, const GVariantType *type, gpointer data)
{
    guint i = g_value_get_uint(value);
    return g_variant_new_string(i < G_N_ELEMENTS(backends) - 1 ? backends[i] : "auto");
}

GtkWidget *mimica_preferences_new(GtkWindow *parent, GSettings *settings)
{
    GtkWidget *win = adw_preferences_window_new();
    gtk_window_set_transient_for(GTK_WINDOW(win), parent);
    gtk_window_set_modal(GTK_WINDOW(win), TRUE);
    AdwPreferencesPage *page = ADW_PREFERENCES_PAGE(adw_preferences_page_new());
    AdwPreferencesGroup *compute = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
    adw_preferences_group_set_title(compute, _("Analysis"));
    AdwPreferencesGroup *labels = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
    adw_preferences_group_set_title(labels, _("Labelling"));

    const char *names[] = {_("Automatic"), _("Reference (slow)"), _("CPU (oneDNN)"),
                           _("GPU (CUDA)"), NULL};
    GtkWidget *backend = adw_combo_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(backend), _("Backend"));
    g_autoptr(GtkStringList) model = gtk_string_list_new(names);
    adw_combo_row_set_model(ADW_COMBO_ROW(backend), G_LIST_MODEL(model));
    adw_preferences_group_add(compute, backend);

    GtkWidget *threshold = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(threshold), _("Presence Threshold"));
    adw_action_row_set_subtitle(ADW_ACTION_ROW(threshold),
                                _("Model values at or above it count as present"));
    GtkWidget *spin = gtk_spin_button_new_with_range(0.05, 0.95, 0.05);
    gtk_widget_set_valign(spin, GTK_ALIGN_CENTER);
    gtk_accessible_update_property(GTK_ACCESSIBLE(spin), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Presence Threshold"), -1);
    adw_action_row_add_suffix(ADW_ACTION_ROW(threshold), spin);
    adw_preferences_group_add(compute, threshold);

    GtkWidget *annotator = adw_entry_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(annotator), _("Annotator Name"));
    adw_preferences_group_add(labels, annotator);

    if (settings) {
        g_settings_bind_with_mapping(settings, "backend", backend, "selected",
                                     G_SETTINGS_BIND_DEFAULT, backend_get, backend_set, NULL, NULL);
        g_settings_bind(settings, "au-threshold", spin, "value", G_SETTINGS_BIND_DEFAULT);
        g_settings_bind(settings, "annotator", annotator, "text", G_SETTINGS_BIND_DEFAULT);
    } else {
        adw_preferences_group_set_description(compute, _("Settings are not kept: the settings "
                                                         "schema is not installed."));
    }
    adw_preferences_page_add(page, compute);
    adw_preferences_page_add(page, labels);
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(win), page);
    return win;
}
