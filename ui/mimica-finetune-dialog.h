/* mimica-finetune-dialog.h: the result of a fine-tune: per-AU F1 before and after (a bar chart
 * drawn with cairo, exportable as PNG or PDF) and Keep / Discard.
 * Signal "decided" (gint64 model_id, gboolean keep). */
#pragma once

#include <adwaita.h>

#include "store/mimica-store.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_FINETUNE_DIALOG (mimica_finetune_dialog_get_type())
G_DECLARE_FINAL_TYPE(MimicaFinetuneDialog, mimica_finetune_dialog, MIMICA, FINETUNE_DIALOG,
                     AdwWindow)

/* The dialog for model MODEL_ID of STORE (0 = the newest); NULL (and a warning) when its
 * metrics are unreadable. */
GtkWidget *mimica_finetune_dialog_new(GtkWindow *parent, MimicaStore *store, gint64 model_id);
/* Draws the chart into CR (W x H): used on screen and for the PNG/PDF export. */
void mimica_finetune_dialog_draw_chart(MimicaFinetuneDialog *self, cairo_t *cr, int w, int h);

G_END_DECLS
