/* mimica-au-panel.h: the AU panel: per AU its name, the model's value on the playing frame and
 * the human label. Selecting a row selects the AU that keys A..E and Ctrl+arrows act on.
 * Signal "au-selected" (int au). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define MIMICA_TYPE_AU_PANEL (mimica_au_panel_get_type())
G_DECLARE_FINAL_TYPE(MimicaAuPanel, mimica_au_panel, MIMICA, AU_PANEL, GtkWidget)

GtkWidget *mimica_au_panel_new(void);
void mimica_au_panel_set_aus(MimicaAuPanel *self, const int *aus, int n_aus);
/* VALUES[i]: the model's probability of AUS[i] (NaN unknown); LABELS[i]: MimicaLabelValue or -1. */
void mimica_au_panel_update(MimicaAuPanel *self, const float *values, const int *labels);
void mimica_au_panel_set_selected(MimicaAuPanel *self, int au);

G_END_DECLS
