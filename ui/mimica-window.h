/* mimica-window.h: the main window. */
#pragma once

#include <adwaita.h>

#include "mimica-application.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_WINDOW (mimica_window_get_type())
G_DECLARE_FINAL_TYPE(MimicaWindow, mimica_window, MIMICA, WINDOW, AdwApplicationWindow)

MimicaWindow *mimica_window_new(MimicaApplication *application);
gboolean mimica_window_save_screenshot(MimicaWindow *self, const char *path, GError **error);

G_END_DECLS
