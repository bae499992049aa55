/* mimica-keys.c: the key bindings (see the header). */
#include "mimica-keys.h"

#include <glib/gi18n.h>

#define KEY "key-bindings"

/* UI.md's keyboard table, in the order of the shortcuts window and of Preferences. */
static const MimicaKeyBinding bindings[] = {
    {"open-project", "win.open-project", "<Control>o", N_("General"), N_("Open Project")},
    {"new-project", "win.new-project", "<Control>n", N_("General"), N_("New Project")},
    {"preferences", "win.preferences", "<Control>comma", N_("General"), N_("Preferences")},
    {"shortcuts", "win.show-help-overlay", "<Control>question", N_("General"), N_("Show Shortcuts"),
     NULL, TRUE},
    {"quit", "app.quit", "<Control>q", N_("General"), N_("Quit"), NULL, TRUE},

    {"play", "win.play", "space", N_("Playback"), N_("Play / Pause")},
    {"shuttle-back", "win.shuttle(-1)", "j", N_("Playback"), N_("Shuttle back faster")},
    {"shuttle-pause", "win.shuttle(0)", "k", N_("Playback"), N_("Shuttle pause")},
    {"shuttle-forward", "win.shuttle(1)", "l", N_("Playback"), N_("Shuttle forward faster")},
    {"step-back", "win.step(-1)", "Left", N_("Playback"), N_("One frame back")},
    {"step-forward", "win.step(1)", "Right", N_("Playback"), N_("One frame forward")},
    {"step-back-10", "win.step(-10)", "<Shift>Left", N_("Playback"), N_("Ten frames back")},
    {"step-forward-10", "win.step(10)", "<Shift>Right", N_("Playback"), N_("Ten frames forward")},
    {"second-back", "win.step-seconds(-1)", "<Alt>Left", N_("Playback"), N_("One second back")},
    {"second-forward", "win.step-seconds(1)", "<Alt>Right", N_("Playback"),
     N_("One second forward")},
    {"goto", "win.goto", "<Control>g", N_("Playback"), N_("Go to frame or time")},
    {"loop", "win.loop", "<Control>l", N_("Playback"), N_("Loop the range")},

    {"edge-back", "win.label-edge(-1)", "<Control>Left", N_("Labels"),
     N_("Previous label edge of the selected AU")},
    {"edge-forward", "win.label-edge(1)", "<Control>Right", N_("Labels"),
     N_("Next label edge of the selected AU")},
    {"disagreement-next", "win.disagreement(1)", "n", N_("Labels"),
     N_("Next disagreement between model and label")},
    {"disagreement-previous", "win.disagreement(-1)", "<Shift>n", N_("Labels"),
     N_("Previous disagreement between model and label")},
    {"range-in", "win.mark(0)", "i", N_("Labels"), N_("Range in at the playhead")},
    {"range-out", "win.mark(1)", "o", N_("Labels"), N_("Range out at the playhead")},
    {"clear-range", "win.clear-range", "Escape", N_("Labels"), N_("Clear the range")},
#define TOGGLE(n, key)                                                                             \
    {                                                                                              \
        "toggle-au-" #n, "win.toggle-au(" #n ")", key, N_("Labels"),                               \
            N_("Toggle the AU in row %s of the panel"), #n, FALSE,                                 \
            N_("Toggle the n-th AU on the frame or range")                                         \
    }
    TOGGLE(1, "1"),
    TOGGLE(2, "2"),
    TOGGLE(3, "3"),
    TOGGLE(4, "4"),
    TOGGLE(5, "5"),
    TOGGLE(6, "6"),
    TOGGLE(7, "7"),
    TOGGLE(8, "8"),
    TOGGLE(9, "9"),
    TOGGLE(10, "0"),
#undef TOGGLE
#define INTENSITY(i, letter, key)                                                                  \
    {                                                                                              \
        "intensity-" key, "win.intensity(" #i ")", key, N_("Labels"),                              \
            N_("Intensity %s of the selected AU"), letter, FALSE,                                  \
            N_("Intensity A–E of the selected AU")                                                 \
    }
    INTENSITY(0, "A", "a"),
    INTENSITY(1, "B", "b"),
    INTENSITY(2, "C", "c"),
    INTENSITY(3, "D", "d"),
    INTENSITY(4, "E", "e"),
#undef INTENSITY
    {"undo", "win.undo", "<Control>z", N_("Labels"), N_("Undo")},
    {"redo", "win.redo", "<Control><Shift>z", N_("Labels"), N_("Redo")},

    {"zoom-in", "win.zoom(1)", "plus equal KP_Add", N_("Timeline"), N_("Zoom the timeline in")},
    {"zoom-out", "win.zoom(-1)", "minus KP_Subtract", N_("Timeline"), N_("Zoom the timeline out")},
};

guint mimica_keys_get_n(void)
{
    return G_N_ELEMENTS(bindings);
}

const MimicaKeyBinding *mimica_keys_get(guint i)
{
    g_return_val_if_fail(i < G_N_ELEMENTS(bindings), NULL);
    return &bindings[i];
}

const MimicaKeyBinding *mimica_keys_lookup(const char *id)
{
    for (guint i = 0; i < G_N_ELEMENTS(bindings); i++)
        if (g_strcmp0(bindings[i].id, id) == 0)
            return &bindings[i];
    return NULL;
}

char *mimica_keys_dup_title(const MimicaKeyBinding *b)
{
    if (b->arg)
        return g_strdup_printf(_(b->title), b->arg);
    return g_strdup(_(b->title));
}

/* "<Ctrl>Q" -> "<Control>q"; NULL if not an accelerator. */
static char *normalise(const char *accel)
{
    guint keyval = 0;
    GdkModifierType mods = 0;
    if (!accel || !gtk_accelerator_parse(accel, &keyval, &mods) || keyval == 0)
        return NULL;
    return gtk_accelerator_name(gdk_keyval_to_lower(keyval), mods);
}

static char **split_normalised(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text ? text : "", " ", -1);
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    for (guint i = 0; parts[i]; i++) {
        g_autofree char *n = normalise(parts[i]);
        if (n)
            g_strv_builder_add(b, n);
    }
    return g_strv_builder_end(b);
}

/* The user's text for B, or NULL where the default applies. */
static char *dup_override(GSettings *settings, const MimicaKeyBinding *b)
{
    if (!settings)
        return NULL;
    g_autoptr(GVariant) dict = g_settings_get_value(settings, KEY);
    char *text = NULL;
    if (!g_variant_lookup(dict, b->id, "s", &text))
        return NULL;
    return text;
}

char **mimica_keys_dup_accels(GSettings *settings, const MimicaKeyBinding *b)
{
    g_return_val_if_fail(b != NULL, NULL);
    g_autofree char *text = dup_override(settings, b);
    return split_normalised(text ? text : b->defaults);
}

gboolean mimica_keys_is_default(GSettings *settings, const MimicaKeyBinding *b)
{
    g_autofree char *text = dup_override(settings, b);
    return text == NULL;
}

const MimicaKeyBinding *mimica_keys_find_conflict(GSettings *settings, const char *accel,
                                                  const MimicaKeyBinding *except)
{
    g_autofree char *want = normalise(accel);
    if (!want)
        return NULL;
    for (guint i = 0; i < G_N_ELEMENTS(bindings); i++) {
        if (&bindings[i] == except)
            continue;
        g_auto(GStrv) accels = mimica_keys_dup_accels(settings, &bindings[i]);
        if (g_strv_contains((const char *const *)accels, want))
            return &bindings[i];
    }
    return NULL;
}

/* Writes the dictionary with B's entry replaced by TEXT (NULL: removed). */
static void store(GSettings *settings, const MimicaKeyBinding *b, const char *text)
{
    g_autoptr(GVariant) old = g_settings_get_value(settings, KEY);
    GVariantBuilder builder;
    g_variant_builder_init(&builder, G_VARIANT_TYPE("a{ss}"));
    GVariantIter it;
    const char *k, *v;
    g_variant_iter_init(&it, old);
    while (g_variant_iter_next(&it, "{&s&s}", &k, &v))
        if (!g_str_equal(k, b->id) && mimica_keys_lookup(k))
            g_variant_builder_add(&builder, "{ss}", k, v);
    if (text)
        g_variant_builder_add(&builder, "{ss}", b->id, text);
    g_settings_set_value(settings, KEY, g_variant_builder_end(&builder));
}

gboolean mimica_keys_set(GSettings *settings, const MimicaKeyBinding *b, const char *accel,
                         GError **error)
{
    g_return_val_if_fail(b != NULL, FALSE);
    g_autofree char *n = normalise(accel);
    if (!n) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    _("“%s” is not a key combination"), accel ? accel : "");
        return FALSE;
    }
    const MimicaKeyBinding *other = mimica_keys_find_conflict(settings, n, b);
    if (other) {
        guint keyval = 0;
        GdkModifierType mods = 0;
        gtk_accelerator_parse(n, &keyval, &mods);
        g_autofree char *label = gtk_accelerator_get_label(keyval, mods);
        g_autofree char *title = mimica_keys_dup_title(other);
        /* TRANSLATORS: a key combination, then the action that has it */
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS, _("%s is already used by “%s”"), label,
                    title);
        return FALSE;
    }
    if (!settings) {
        g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                            _("Settings are not kept: the settings schema is not installed."));
        return FALSE;
    }
    g_auto(GStrv) defaults = split_normalised(b->defaults);
    gboolean is_default = g_strv_length(defaults) == 1 && g_str_equal(defaults[0], n);
    store(settings, b, is_default ? NULL : n);
    return TRUE;
}

void mimica_keys_reset(GSettings *settings, const MimicaKeyBinding *b)
{
    g_return_if_fail(b != NULL);
    if (settings && !mimica_keys_is_default(settings, b))
        store(settings, b, NULL);
}

char *mimica_keys_accel_from_event(guint keyval, GdkModifierType state)
{
    switch (keyval) {
    case GDK_KEY_Shift_L:
    case GDK_KEY_Shift_R:
    case GDK_KEY_Control_L:
    case GDK_KEY_Control_R:
    case GDK_KEY_Alt_L:
    case GDK_KEY_Alt_R:
    case GDK_KEY_Meta_L:
    case GDK_KEY_Meta_R:
    case GDK_KEY_Super_L:
    case GDK_KEY_Super_R:
    case GDK_KEY_Hyper_L:
    case GDK_KEY_Hyper_R:
    case GDK_KEY_Caps_Lock:
    case GDK_KEY_ISO_Level3_Shift:
        return NULL;
    case GDK_KEY_ISO_Left_Tab:
        keyval = GDK_KEY_Tab;
        break;
    default:
        break;
    }
    GdkModifierType mods = state & gtk_accelerator_get_default_mod_mask();
    return gtk_accelerator_name(gdk_keyval_to_lower(keyval), mods);
}

GtkEventController *mimica_keys_controller_new(GSettings *settings)
{
    GtkEventController *ctrl = gtk_shortcut_controller_new();
    GtkShortcutController *c = GTK_SHORTCUT_CONTROLLER(ctrl);
    gtk_event_controller_set_name(ctrl, "mimica-key-bindings");
    gtk_event_controller_set_propagation_phase(ctrl, GTK_PHASE_CAPTURE);
    gtk_shortcut_controller_set_scope(c, GTK_SHORTCUT_SCOPE_LOCAL);
    for (guint i = 0; i < G_N_ELEMENTS(bindings); i++) {
        const MimicaKeyBinding *b = &bindings[i];
        if (b->global)
            continue;
        g_autofree char *name = NULL;
        g_autoptr(GVariant) target = NULL;
        g_autoptr(GError) error = NULL;
        if (!g_action_parse_detailed_name(b->action, &name, &target, &error)) {
            g_critical("binding %s: %s", b->id, error->message);
            continue;
        }
        g_auto(GStrv) accels = mimica_keys_dup_accels(settings, b);
        for (guint j = 0; accels[j]; j++) {
            GtkShortcut *s = gtk_shortcut_new(gtk_shortcut_trigger_parse_string(accels[j]),
                                              gtk_named_action_new(name));
            if (target)
                gtk_shortcut_set_arguments(s, target);
            gtk_shortcut_controller_add_shortcut(c, s);
        }
    }
    return ctrl;
}

void mimica_keys_apply_global(GtkApplication *app, GSettings *settings)
{
    for (guint i = 0; i < G_N_ELEMENTS(bindings); i++) {
        if (!bindings[i].global)
            continue;
        g_auto(GStrv) accels = mimica_keys_dup_accels(settings, &bindings[i]);
        gtk_application_set_accels_for_action(app, bindings[i].action, (const char *const *)accels);
    }
}

GtkWidget *mimica_keys_shortcuts_window_new(GSettings *settings)
{
    g_autofree char *head = g_markup_printf_escaped(
        "<interface><object class='GtkShortcutsWindow' id='window'>"
        "<property name='modal'>True</property><property name='title'>%s</property><child>"
        "<object class='GtkShortcutsSection'>"
        "<property name='section-name'>shortcuts</property>"
        "<property name='max-height'>20</property>",
        _("Keyboard Shortcuts"));
    GString *xml = g_string_new(head);
    const char *group = NULL;
    for (guint i = 0; i < G_N_ELEMENTS(bindings); i++) {
        const MimicaKeyBinding *b = &bindings[i];
        if (g_strcmp0(group, b->group) != 0) {
            if (group)
                g_string_append(xml, "</object></child>");
            group = b->group;
            g_autofree char *s = g_markup_printf_escaped(
                "<child><object class='GtkShortcutsGroup'><property name='title'>%s</property>",
                _(group));
            g_string_append(xml, s);
        }
        /* a family (toggle AU 1..10, intensity A..E) is one line with all its keys */
        g_autoptr(GStrvBuilder) keys = g_strv_builder_new();
        for (guint j = i; j < G_N_ELEMENTS(bindings); j++) {
            if (j > i && (!b->summary || g_strcmp0(bindings[j].summary, b->summary) != 0))
                break;
            g_auto(GStrv) accels = mimica_keys_dup_accels(settings, &bindings[j]);
            g_strv_builder_addv(keys, (const char **)accels);
            if (b->summary)
                i = j;
        }
        g_auto(GStrv) all = g_strv_builder_end(keys);
        g_autofree char *joined = g_strjoinv(" ", all);
        g_autofree char *title = b->summary ? g_strdup(_(b->summary)) : mimica_keys_dup_title(b);
        g_autofree char *s = g_markup_printf_escaped(
            "<child><object class='GtkShortcutsShortcut'><property name='title'>%s</property>"
            "<property name='accelerator'>%s</property></object></child>",
            title, joined);
        g_string_append(xml, s);
    }
    if (group)
        g_string_append(xml, "</object></child>");
    g_string_append(xml, "</object></child></object></interface>");
    g_autoptr(GtkBuilder) builder = gtk_builder_new_from_string(xml->str, (gssize)xml->len);
    g_string_free(xml, TRUE);
    GtkWidget *window = GTK_WIDGET(gtk_builder_get_object(builder, "window"));
    return g_object_ref_sink(window);
}
