/* mimica-preferences.c: an AdwPreferencesWindow bound to GSettings: a General page (backend,
 * threshold, annotator) and a Keyboard page (every key binding: change by pressing the new keys,
 * reset to the default). */
#include "mimica-preferences.h"

#include <glib/gi18n.h>

#include "mimica-keys.h"

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

/* The Keyboard page ------------------------------------------------------------------------- */

typedef struct {
    const MimicaKeyBinding *binding;
    GtkWidget *button; /* shows the keys; clicked: capture */
    GtkWidget *shortcut;
    GtkWidget *reset;
} KeyRow;

typedef struct {
    GSettings *settings;
    GArray *rows; /* KeyRow */
} KeyPage;

static void key_page_free(gpointer data)
{
    KeyPage *page = data;
    g_clear_object(&page->settings);
    g_array_unref(page->rows);
    g_free(page);
}

static void key_rows_refresh(KeyPage *page)
{
    for (guint i = 0; i < page->rows->len; i++) {
        KeyRow *r = &g_array_index(page->rows, KeyRow, i);
        g_auto(GStrv) accels = mimica_keys_dup_accels(page->settings, r->binding);
        g_autofree char *joined = g_strjoinv(" ", accels);
        gtk_shortcut_label_set_accelerator(GTK_SHORTCUT_LABEL(r->shortcut), joined);
        /* the keys as words for screen readers: "Shift+Right" */
        g_autoptr(GString) words = g_string_new(NULL);
        for (guint j = 0; accels[j]; j++) {
            guint keyval = 0;
            GdkModifierType mods = 0;
            gtk_accelerator_parse(accels[j], &keyval, &mods);
            g_autofree char *label = gtk_accelerator_get_label(keyval, mods);
            g_string_append_printf(words, "%s%s", j ? ", " : "", label);
        }
        gtk_accessible_update_property(GTK_ACCESSIBLE(r->button),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, words->str, -1);
        gtk_widget_set_tooltip_text(r->button, words->str);
        gtk_widget_set_sensitive(r->reset, !mimica_keys_is_default(page->settings, r->binding));
    }
}

static void on_key_bindings_changed(GSettings *settings, const char *key, GObject *win)
{
    KeyPage *page = g_object_get_data(win, "key-page");
    if (page)
        key_rows_refresh(page);
}

typedef struct {
    GSettings *settings;
    const MimicaKeyBinding *binding;
    char *title;
} Capture;

static void capture_free(gpointer data)
{
    Capture *c = data;
    g_clear_object(&c->settings);
    g_free(c->title);
    g_free(c);
}

static gboolean on_capture_key(GtkEventControllerKey *ctrl, guint keyval, guint keycode,
                               GdkModifierType state, AdwMessageDialog *dialog)
{
    Capture *c = g_object_get_data(G_OBJECT(dialog), "capture");
    GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask();
    if (keyval == GDK_KEY_Escape && !mods) {
        gtk_window_close(GTK_WINDOW(dialog));
        return TRUE;
    }
    g_autofree char *accel = mimica_keys_accel_from_event(keyval, state);
    if (!accel)
        return FALSE; /* a modifier alone: wait for the key */
    g_autoptr(GError) error = NULL;
    if (!mimica_keys_set(c->settings, c->binding, accel, &error)) {
        /* refused: say why and wait for other keys */
        g_autofree char *body =
            g_strdup_printf("%s\n%s", error->message, _("Press other keys, or Escape to cancel."));
        adw_message_dialog_set_body(dialog, body);
        gtk_widget_add_css_class(GTK_WIDGET(dialog), "key-conflict");
        gtk_widget_error_bell(GTK_WIDGET(dialog));
        return TRUE;
    }
    gtk_window_close(GTK_WINDOW(dialog));
    return TRUE;
}

static void on_key_button_clicked(GtkButton *button, KeyPage *page)
{
    const MimicaKeyBinding *b = g_object_get_data(G_OBJECT(button), "binding");
    Capture *c = g_new0(Capture, 1);
    c->settings = page->settings ? g_object_ref(page->settings) : NULL;
    c->binding = b;
    c->title = mimica_keys_dup_title(b);
    g_autofree char *body =
        g_strdup_printf(_("Press the new keys for “%s”, or Escape to cancel."), c->title);
    GtkWidget *dialog = adw_message_dialog_new(GTK_WINDOW(gtk_widget_get_root(GTK_WIDGET(button))),
                                               _("Set Shortcut"), body);
    adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"));
    g_object_set_data_full(G_OBJECT(dialog), "capture", c, capture_free);
    GtkEventController *keys = gtk_event_controller_key_new();
    gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
    g_signal_connect(keys, "key-pressed", G_CALLBACK(on_capture_key), dialog);
    gtk_widget_add_controller(dialog, keys);
    gtk_window_present(GTK_WINDOW(dialog));
}

static void on_key_reset_clicked(GtkButton *button, KeyPage *page)
{
    mimica_keys_reset(page->settings, g_object_get_data(G_OBJECT(button), "binding"));
}

static AdwPreferencesPage *keyboard_page_new(GtkWidget *win, GSettings *settings)
{
    AdwPreferencesPage *page = ADW_PREFERENCES_PAGE(adw_preferences_page_new());
    adw_preferences_page_set_title(page, _("Keyboard"));
    adw_preferences_page_set_icon_name(page, "input-keyboard-symbolic");
    KeyPage *kp = g_new0(KeyPage, 1);
    kp->settings = settings ? g_object_ref(settings) : NULL;
    kp->rows = g_array_new(FALSE, TRUE, sizeof(KeyRow));
    g_object_set_data_full(G_OBJECT(win), "key-page", kp, key_page_free);

    AdwPreferencesGroup *group = NULL;
    const char *group_name = NULL;
    for (guint i = 0; i < mimica_keys_get_n(); i++) {
        const MimicaKeyBinding *b = mimica_keys_get(i);
        if (g_strcmp0(group_name, b->group) != 0) {
            group_name = b->group;
            group = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
            adw_preferences_group_set_title(group, _(group_name));
            if (i == 0)
                adw_preferences_group_set_description(
                    group, settings ? _("Click a shortcut and press the new keys.")
                                    : _("Settings are not kept: the settings schema is not "
                                        "installed."));
            adw_preferences_page_add(page, group);
        }
        g_autofree char *title = mimica_keys_dup_title(b);
        GtkWidget *row = adw_action_row_new();
        adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
        KeyRow r = {.binding = b};
        r.shortcut = gtk_shortcut_label_new("");
        gtk_shortcut_label_set_disabled_text(GTK_SHORTCUT_LABEL(r.shortcut), _("None"));
        r.button = gtk_button_new();
        gtk_button_set_child(GTK_BUTTON(r.button), r.shortcut);
        gtk_widget_add_css_class(r.button, "flat");
        gtk_widget_set_valign(r.button, GTK_ALIGN_CENTER);
        /* TRANSLATORS: the accessible name of the button that changes an action's keys */
        g_autofree char *name = g_strdup_printf(_("Shortcut for “%s”"), title);
        gtk_accessible_update_property(GTK_ACCESSIBLE(r.button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       name, -1);
        g_object_set_data(G_OBJECT(r.button), "binding", (gpointer)b);
        g_signal_connect(r.button, "clicked", G_CALLBACK(on_key_button_clicked), kp);
        r.reset = gtk_button_new_from_icon_name("edit-undo-symbolic");
        gtk_widget_add_css_class(r.reset, "flat");
        gtk_widget_set_valign(r.reset, GTK_ALIGN_CENTER);
        gtk_widget_set_tooltip_text(r.reset, _("Reset to Default"));
        g_autofree char *reset_name = g_strdup_printf(_("Reset “%s”"), title);
        gtk_accessible_update_property(GTK_ACCESSIBLE(r.reset), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                       reset_name, -1);
        g_object_set_data(G_OBJECT(r.reset), "binding", (gpointer)b);
        g_signal_connect(r.reset, "clicked", G_CALLBACK(on_key_reset_clicked), kp);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), r.button);
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), r.reset);
        adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), r.button);
        /* the row labels the button with its title; the button's own name says it all */
        gtk_accessible_reset_relation(GTK_ACCESSIBLE(r.button),
                                      GTK_ACCESSIBLE_RELATION_LABELLED_BY);
        adw_preferences_group_add(group, row);
        g_array_append_val(kp->rows, r);
    }
    if (settings)
        g_signal_connect_object(settings, "changed::key-bindings",
                                G_CALLBACK(on_key_bindings_changed), win, 0);
    key_rows_refresh(kp);
    return page;
}

GtkWidget *mimica_preferences_new(GtkWindow *parent, GSettings *settings)
{
    GtkWidget *win = adw_preferences_window_new();
    gtk_window_set_transient_for(GTK_WINDOW(win), parent);
    gtk_window_set_modal(GTK_WINDOW(win), TRUE);
    AdwPreferencesPage *page = ADW_PREFERENCES_PAGE(adw_preferences_page_new());
    adw_preferences_page_set_title(page, _("General"));
    adw_preferences_page_set_icon_name(page, "preferences-system-symbolic");
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
    adw_preferences_window_add(ADW_PREFERENCES_WINDOW(win), keyboard_page_new(win, settings));
    return win;
}
