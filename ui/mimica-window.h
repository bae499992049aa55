/* mimica-window.h: the main window: a project's videos, the video view with its transport, the
 * AU panel and timeline; the jobs (analysis, fine-tune) of the project run on the window's
 * MimicaJobRunner. */
#pragma once

#include <adwaita.h>

#include "mimica-application.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_WINDOW (mimica_window_get_type())
G_DECLARE_FINAL_TYPE(MimicaWindow, mimica_window, MIMICA, WINDOW, AdwApplicationWindow)

MimicaWindow *mimica_window_new(MimicaApplication *application);
/* Opens (or, with CREATE, creates) the project at PATH; errors are shown in the window too. */
gboolean mimica_window_open_project(MimicaWindow *self, const char *path, gboolean create,
                                    GError **error);
gboolean mimica_window_save_screenshot(MimicaWindow *self, const char *path, GError **error);

G_END_DECLS
