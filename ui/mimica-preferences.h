/* mimica-preferences.h: the preferences window (backend, threshold, annotator), bound to the
 * application's GSettings. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* SETTINGS may be NULL (no schema installed): the window then says so. */
GtkWidget *mimica_preferences_new(GtkWindow *parent, GSettings *settings);

G_END_DECLS
