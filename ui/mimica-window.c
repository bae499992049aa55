/* mimica-window.c: the main window. Remembers its size in GSettings. */
#include "mimica-window.h"

#include <glib/gi18n.h>

#include "mim-version.h"
#include "mimica-config.h"

struct _MimicaWindow {
    AdwApplicationWindow parent_instance;

    AdwStatusPage *status_page;
    GtkLabel *engine_label;
};

G_DEFINE_FINAL_TYPE(MimicaWindow, mimica_window, ADW_TYPE_APPLICATION_WINDOW)

static GSettings *window_settings(MimicaWindow *self)
{
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    return app ? mimica_application_get_settings(MIMICA_APPLICATION(app)) : NULL;
}

static gboolean mimica_window_close_request(GtkWindow *window)
{
    MimicaWindow *self = MIMICA_WINDOW(window);
    GSettings *settings = window_settings(self);
    if (settings) {
        int w = 0, h = 0;
        gtk_window_get_default_size(window, &w, &h);
        g_settings_set_int(settings, "window-width", w);
        g_settings_set_int(settings, "window-height", h);
        g_settings_set_boolean(settings, "window-maximized", gtk_window_is_maximized(window));
    }
    return GTK_WINDOW_CLASS(mimica_window_parent_class)->close_request(window);
}

static void mimica_window_class_init(MimicaWindowClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

    window_class->close_request = mimica_window_close_request;

    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/org/mimica/Mimica/mimica-window.ui");
    gtk_widget_class_bind_template_child(widget_class, MimicaWindow, status_page);
    gtk_widget_class_bind_template_child(widget_class, MimicaWindow, engine_label);
}

static void mimica_window_init(MimicaWindow *self)
{
    gtk_widget_init_template(GTK_WIDGET(self));
    g_autofree char *text = g_strdup_printf(_("Engine %s"), mim_version());
    gtk_label_set_text(self->engine_label, text);
}

MimicaWindow *mimica_window_new(MimicaApplication *application)
{
    MimicaWindow *self = g_object_new(MIMICA_TYPE_WINDOW, "application", application, NULL);
    GSettings *settings = mimica_application_get_settings(application);
    if (settings) {
        gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(settings, "window-width"),
                                    g_settings_get_int(settings, "window-height"));
        if (g_settings_get_boolean(settings, "window-maximized"))
            gtk_window_maximize(GTK_WINDOW(self));
    }
    if (g_str_has_suffix(MIMICA_APP_ID, ".Devel"))
        gtk_widget_add_css_class(GTK_WIDGET(self), "devel");
    return self;
}

/* Renders the window as it is on screen into a PNG file (used by the ui tests). */
gboolean mimica_window_save_screenshot(MimicaWindow *self, const char *path, GError **error)
{
    g_return_val_if_fail(MIMICA_IS_WINDOW(self), FALSE);
    g_return_val_if_fail(path != NULL, FALSE);

    int width = gtk_widget_get_width(GTK_WIDGET(self));
    int height = gtk_widget_get_height(GTK_WIDGET(self));
    if (width <= 0 || height <= 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window has no size yet");
        return FALSE;
    }
    g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(GTK_WIDGET(self));
    GtkSnapshot *snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snapshot, width, height);
    g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snapshot);
    if (!node) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window drew nothing");
        return FALSE;
    }
    GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(self));
    graphene_rect_t viewport = GRAPHENE_RECT_INIT(0, 0, width, height);
    g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(renderer, node, &viewport);
    if (!gdk_texture_save_to_png(texture, path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
        return FALSE;
    }
    return TRUE;
}
