/* mimica-ui-private.h: helpers shared by the ui's files. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Asks for a file and writes CSV (a copy is kept until then) into it. */
void _mimica_export_csv(GtkWindow *parent, const char *csv, const char *suggested_name);

G_END_DECLS
