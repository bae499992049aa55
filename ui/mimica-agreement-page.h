/* mimica-agreement-page.h: agreement per AU between annotators and against the model (Cohen's
 * kappa and F1 over the frames both labelled), exportable as CSV. */
#pragma once

#include <adwaita.h>

#include "ui-model/mimica-ui-model.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_AGREEMENT_PAGE (mimica_agreement_page_get_type())
G_DECLARE_FINAL_TYPE(MimicaAgreementPage, mimica_agreement_page, MIMICA, AGREEMENT_PAGE, AdwWindow)

GtkWidget *mimica_agreement_page_new(GtkWindow *parent, MimicaStore *store, gint64 video_id,
                                     const MimicaUiCurves *curves, double threshold,
                                     GError **error);

G_END_DECLS
