/* mimica-review-page.h: the review queue of the open video (unlabelled frames, the most
 * uncertain first, then the farthest from any label), exportable as CSV. Activating a row emits
 * "seek" (gint64 frame, int au). */
#pragma once

#include <adwaita.h>

#include "ui-model/mimica-ui-model.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_REVIEW_PAGE (mimica_review_page_get_type())
G_DECLARE_FINAL_TYPE(MimicaReviewPage, mimica_review_page, MIMICA, REVIEW_PAGE, AdwWindow)

/* NULL with ERROR when the queue cannot be read. */
GtkWidget *mimica_review_page_new(GtkWindow *parent, MimicaStore *store, gint64 video_id,
                                  const char *annotator, const MimicaUiCurves *curves,
                                  double threshold, GError **error);

G_END_DECLS
