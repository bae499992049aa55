/* mimica-video-view.h: the frame on screen (a GdkMemoryTexture) and its overlays, drawn from the
 * stored predictions of that frame: face box and id, 68 landmarks, head pose axes, AU bars with
 * the model's value and the human label. */
#pragma once

#include <gtk/gtk.h>

#include "media/mimica-media.h"
#include "store/mimica-store.h"

G_BEGIN_DECLS

typedef enum {
    MIMICA_OVERLAY_BOX = 1 << 0,
    MIMICA_OVERLAY_LANDMARKS = 1 << 1,
    MIMICA_OVERLAY_POSE = 1 << 2,
    MIMICA_OVERLAY_AUS = 1 << 3,
    MIMICA_OVERLAY_ALL = 0xf,
} MimicaOverlays;

#define MIMICA_TYPE_VIDEO_VIEW (mimica_video_view_get_type())
G_DECLARE_FINAL_TYPE(MimicaVideoView, mimica_video_view, MIMICA, VIDEO_VIEW, GtkWidget)

GtkWidget *mimica_video_view_new(void);
/* Shows FRAME (a reference is taken; NULL = nothing) with the faces of that frame: N rows and
 * their tracks (copied). AUS are the model's outputs; LABELS[i] the human label of AUS[i] on this
 * frame (-1 = none). */
void mimica_video_view_set_frame(MimicaVideoView *self, MimicaFrame *frame,
                                 const MimicaPrediction *rows, const int *tracks, guint n,
                                 const int *aus, const int *labels, int n_aus);
void mimica_video_view_set_overlays(MimicaVideoView *self, MimicaOverlays overlays);
MimicaOverlays mimica_video_view_get_overlays(MimicaVideoView *self);
void mimica_video_view_set_threshold(MimicaVideoView *self, double threshold);

/* Projects a point in the camera frame (mm; +x right, +y down, +z forward) to pixels of a W x H
 * picture with the camera OpenFace guesses. */
void mimica_video_view_project(double w, double h, const double p[3], double *u, double *v);
/* Head pose axes: the image points of the pose's origin and of LENGTH mm along its x, y, z. */
void mimica_video_view_pose_axes(double w, double h, const float pose[6], double length,
                                 double out[4][2]);

G_END_DECLS
