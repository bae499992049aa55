/* mimica-timeline.h: the AU timeline: one row per AU (each its own accessible child) with the
 * model's curve, the human labels as bars and disagreement marks; playhead, I/O range, zoom and
 * scroll. Reads only the labels of the frames it shows. Edits are asked for with signals:
 *   "seek" (gint64 frame): a click on a row
 *   "au-selected" (int au)
 *   "label-range" (int au, gint64 start, gint64 end, int value): a drag over a row (present; with
 *       Shift absent), or an edge dragged (the frames gained get the segment's value, the frames
 *       given up become absent). */
#pragma once

#include <gtk/gtk.h>

#include "ui-model/mimica-ui-model.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_TIMELINE (mimica_timeline_get_type())
G_DECLARE_FINAL_TYPE(MimicaTimeline, mimica_timeline, MIMICA, TIMELINE, GtkWidget)

GtkWidget *mimica_timeline_new(void);
/* The video shown: STORE (borrowed; outlives the timeline's use) and VIDEO_ID, N_FRAMES, the
 * annotator whose labels are drawn (NULL = all) and the model's curves (borrowed). */
void mimica_timeline_set_video(MimicaTimeline *self, MimicaStore *store, gint64 video_id,
                               gint64 n_frames, const char *annotator,
                               const MimicaUiCurves *curves);
/* Rows for these AUs (in the panel's order). */
void mimica_timeline_set_aus(MimicaTimeline *self, const int *aus, int n_aus);
/* Reads the visible window's labels again (after an edit). */
void mimica_timeline_reload(MimicaTimeline *self);
void mimica_timeline_set_position(MimicaTimeline *self, gint64 frame);
void mimica_timeline_set_range(MimicaTimeline *self, gint64 in, gint64 out);
void mimica_timeline_set_selected_au(MimicaTimeline *self, int au);
int mimica_timeline_get_selected_au(MimicaTimeline *self);
void mimica_timeline_set_threshold(MimicaTimeline *self, double threshold);
/* FACTOR > 1 zooms in around the playhead. */
void mimica_timeline_zoom(MimicaTimeline *self, double factor);
/* Labels read for the visible window (for tests and the AU panel). */
guint mimica_timeline_get_n_visible_labels(MimicaTimeline *self);

G_END_DECLS
