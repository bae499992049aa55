/* mimica-application.c: the GtkApplication of `mimica`: actions, accelerators, settings,
 * command-line options (--version; `mimica FILE` opens the project FILE; --annotator=NAME sets the
 * annotator; --screenshot=FILE for the ui tests). */
#include "mimica-application.h"

#include <glib/gi18n.h>

#include "mim-version.h"
#include "mimica-config.h"
#include "mimica-keys.h"
#include "mimica-window.h"

struct _MimicaApplication {
    AdwApplication parent_instance;

    GSettings *settings; /* NULL when the schema is not installed */
    char *screenshot_path;
};

static void present_screenshot(MimicaApplication *self);

G_DEFINE_FINAL_TYPE(MimicaApplication, mimica_application, ADW_TYPE_APPLICATION)

GSettings *mimica_application_get_settings(MimicaApplication *self)
{
    g_return_val_if_fail(MIMICA_IS_APPLICATION(self), NULL);
    return self->settings;
}

static gboolean take_screenshot(gpointer data)
{
    MimicaApplication *self = MIMICA_APPLICATION(data);
    GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(self));
    g_autoptr(GError) error = NULL;
    int status = 0;

    if (!window || !gtk_widget_get_mapped(GTK_WIDGET(window))) {
        g_printerr("mimica: no window is mapped\n");
        status = 1;
    } else if (!mimica_window_save_screenshot(MIMICA_WINDOW(window), self->screenshot_path,
                                              &error)) {
        g_printerr("mimica: screenshot failed: %s\n", error->message);
        status = 1;
    } else {
        g_print("window \"%s\" %dx%d saved to %s\n", gtk_window_get_title(window),
                gtk_widget_get_width(GTK_WIDGET(window)), gtk_widget_get_height(GTK_WIDGET(window)),
                self->screenshot_path);
    }
    g_application_quit(G_APPLICATION(self));
    if (status)
        exit(status);
    return G_SOURCE_REMOVE;
}

static void mimica_application_activate(GApplication *app)
{
    MimicaApplication *self = MIMICA_APPLICATION(app);
    GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));

    if (!window)
        window = GTK_WINDOW(mimica_window_new(self));
    gtk_window_present(window);
    present_screenshot(self);
}

static void present_screenshot(MimicaApplication *self)
{
    if (self->screenshot_path) {
        /* give the window time to map and draw its first frames */
        g_timeout_add_full(G_PRIORITY_LOW, 1500, take_screenshot, g_object_ref(self),
                           g_object_unref);
    }
}

static void mimica_application_open(GApplication *app, GFile **files, int n_files, const char *hint)
{
    MimicaApplication *self = MIMICA_APPLICATION(app);
    GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));
    if (!window)
        window = GTK_WINDOW(mimica_window_new(self));
    gtk_window_present(window);
    for (int i = 0; i < n_files; i++) {
        g_autofree char *path = g_file_get_path(files[i]);
        g_autoptr(GError) error = NULL;
        if (!path)
            continue;
        /* a missing file becomes a new project */
        gboolean create = !g_file_test(path, G_FILE_TEST_EXISTS);
        if (!mimica_window_open_project(MIMICA_WINDOW(window), path, create, &error))
            g_printerr("mimica: %s: %s\n", path, error->message);
    }
    present_screenshot(self);
}

static int mimica_application_handle_local_options(GApplication *app, GVariantDict *options)
{
    MimicaApplication *self = MIMICA_APPLICATION(app);

    if (g_variant_dict_contains(options, "version")) {
        g_print("mimica %s (engine %s)\n", MIMICA_VERSION, mim_version());
        return 0;
    }
    g_variant_dict_lookup(options, "screenshot", "^ay", &self->screenshot_path);
    const char *annotator = NULL;
    if (g_variant_dict_lookup(options, "annotator", "&s", &annotator) && self->settings)
        g_settings_set_string(self->settings, "annotator", annotator);
    return -1;
}

static void about_action(GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = GTK_APPLICATION(data);
    const char *developers[] = {"The Mimica developers", NULL};

    adw_show_about_window(gtk_application_get_active_window(app), "application-name", "Mimica",
                          "application-icon", MIMICA_APP_ID, "version", MIMICA_VERSION, "comments",
                          _("Facial action unit review, correction and teaching"), "developers",
                          developers, "license-type", GTK_LICENSE_GPL_3_0, "translator-credits",
                          _("translator-credits"), NULL);
}

static void quit_action(GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = GTK_APPLICATION(data);
    GList *windows = gtk_application_get_windows(app);
    /* close each window so it can save its state */
    while (windows) {
        GList *next = windows->next;
        gtk_window_close(GTK_WINDOW(windows->data));
        windows = next;
    }
    g_application_quit(G_APPLICATION(app));
}

static void on_key_bindings_changed(GSettings *settings, const char *key, gpointer app)
{
    mimica_keys_apply_global(GTK_APPLICATION(app), settings);
}

static void mimica_application_startup(GApplication *app)
{
    static const GActionEntry actions[] = {
        {.name = "about", .activate = about_action},
        {.name = "quit", .activate = quit_action},
    };
    MimicaApplication *self = MIMICA_APPLICATION(app);

    G_APPLICATION_CLASS(mimica_application_parent_class)->startup(app);

    g_action_map_add_action_entries(G_ACTION_MAP(app), actions, G_N_ELEMENTS(actions), app);
    /* Quit and Show Shortcuts work in every window: application accelerators */
    mimica_keys_apply_global(GTK_APPLICATION(app), self->settings);
    if (self->settings)
        g_signal_connect_object(self->settings, "changed::key-bindings",
                                G_CALLBACK(on_key_bindings_changed), app, 0);
}

static void mimica_application_finalize(GObject *object)
{
    MimicaApplication *self = MIMICA_APPLICATION(object);
    g_clear_object(&self->settings);
    g_free(self->screenshot_path);
    G_OBJECT_CLASS(mimica_application_parent_class)->finalize(object);
}

static void mimica_application_class_init(MimicaApplicationClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GApplicationClass *app_class = G_APPLICATION_CLASS(klass);

    object_class->finalize = mimica_application_finalize;
    app_class->activate = mimica_application_activate;
    app_class->open = mimica_application_open;
    app_class->startup = mimica_application_startup;
    app_class->handle_local_options = mimica_application_handle_local_options;
}

static void mimica_application_init(MimicaApplication *self)
{
    static const GOptionEntry entries[] = {
        {"version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and exit"), NULL},
        {"annotator", 0, 0, G_OPTION_ARG_STRING, NULL,
         N_("The name recorded with your label edits"), N_("NAME")},
        {"screenshot", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, NULL,
         "Save a PNG of the main window once it is drawn, then quit (for tests)", "FILE"},
        {NULL},
    };
    g_application_add_main_option_entries(G_APPLICATION(self), entries);

    /* Running from the build folder without an installed schema must still work. */
    GSettingsSchemaSource *source = g_settings_schema_source_get_default();
    g_autoptr(GSettingsSchema) schema =
        source ? g_settings_schema_source_lookup(source, MIMICA_APP_ID, TRUE) : NULL;
    if (schema)
        self->settings = g_settings_new(MIMICA_APP_ID);
    else
        g_warning("settings schema %s is not installed; settings will not be kept", MIMICA_APP_ID);
}

MimicaApplication *mimica_application_new(void)
{
    return g_object_new(MIMICA_TYPE_APPLICATION, "application-id", MIMICA_APP_ID, "flags",
                        G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE, "resource-base-path",
                        "/org/mimica/Mimica", NULL);
}
