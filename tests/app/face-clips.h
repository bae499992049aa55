/* face-clips.h: videos of real faces with their ground truth, for the analysis tests.
 *
 * A scene is a background and up to FC_MAX_FACES faces cut from the fixture photos
 * (shared/fixtures/faces: images/ and reference/, whose dlib.hog entries give each face's box
 * and dlib's 68 landmarks). Each face is a region of about 3x the face's size around it, with a
 * soft edge (other faces of the group photo kept out of it), composited at a per-frame
 * similarity transform (position, size, roll), after its expression: AU intensities deform it
 * with the face generator (training/mim-facegen.h). Everything between keyframes is linear;
 * a face can be hidden (cut out) from one keyframe to the next.
 *
 * Truth per frame and face: drawn or not, visible or not (all 68 landmarks inside the frame),
 * the 68 landmarks in frame pixels (dlib's landmarks of the photo, displaced by the expression,
 * mapped by the frame's transform; pixel centres at integers, as dlib's and ours), the same
 * without the expression, the AU intensities, and the frame's pts. The AU intensities are
 * those applied on top of the photo: a face that smiles in its photo (Tom_Cruise_avp_2014_4,
 * several faceapi samples) keeps that smile at "all AUs 0".
 *
 * Clips are encoded with libavcodec/libavformat in one of the containers below, from the
 * rendered RGB frames (BT.601 limited range YUV 4:2:0, which the project's decoder converts
 * back with the same matrix; PSNR about 40 dB). Variable frame rate: pts in milliseconds with
 * irregular steps. ASF keeps no frame durations: MimicaDecoder delivers every frame of a .wmv
 * clip and then reports MIMICA_MEDIA_ERROR_TRUNCATED (its header's duration outlasts the 1 ms
 * the demuxer gives the last frame). */
#pragma once

#include <glib.h>

#include "face/mim-image.h"
#include "mim-facegen.h"

G_BEGIN_DECLS

#define FC_MAX_FACES 4

typedef enum {
    FC_CONTAINER_WMV,         /* asf + wmv2 (.wmv); variable frame rate */
    FC_CONTAINER_WMV_MSMPEG4, /* asf + msmpeg4 (v3, "DivX 3"; .wmv); variable frame rate */
    FC_CONTAINER_AVI,         /* avi + mpeg4 (.avi); constant frame rate only */
    FC_CONTAINER_MP4_H264,    /* mp4 + libx264 (.mp4), B-frames; variable frame rate */
    FC_CONTAINER_MOV_HEVC,    /* mov + libx265 (.mov), B-frames; variable frame rate */
} FcContainer;

/* "wmv", "wmv-msmpeg4", "avi", "mp4-h264", "mov-hevc"; the file extension (no dot). */
const char *fc_container_name(FcContainer c);
const char *fc_container_ext(FcContainer c);

typedef enum {
    FC_BACKGROUND_PLAIN,    /* a smooth two-colour gradient */
    FC_BACKGROUND_TEXTURED, /* the gradient with seeded value noise (blotches and grain) */
} FcBackground;

/* A face's placement from `frame` on: eye midpoint (x, y) in frame pixels, inter-ocular
 * distance in pixels, roll in degrees (clockwise on screen; 0 = eyes level). shown FALSE: the
 * face is not drawn from this keyframe until the next one that shows it (a cut). */
typedef struct {
    int frame;
    double x, y, iod, roll;
    gboolean shown;
} FcPlace;

/* A face's expression keyframe: AU intensities 0..5, indexed like mim_facegen_aus. */
typedef struct {
    int frame;
    float au[MIM_FACEGEN_N_AU];
} FcExpression;

typedef struct {
    char *label;     /* "Tom_Cruise_avp_2014_4.jpg#0": photo and dlib.hog index */
    mim_image *crop; /* the region around the face, resampled to the working scale (RGB8) */
    float xy[2 * MIM_FACEGEN_N_LANDMARKS]; /* (68,2) dlib's landmarks in crop pixels */
    mim_facegen_frame eyes;                /* face frame of xy */
    double mask_c[2];                      /* soft edge: centre (crop pixels) and the radii */
    double mask_r[4];                      /* toward left, right, top, bottom */
    GArray *places;                        /* FcPlace, sorted by frame */
    GArray *expressions;                   /* FcExpression, sorted by frame */
} FcFace;

typedef struct {
    int width, height, n_frames;
    gint64 *pts; /* (n_frames) presentation timestamps, increasing */
    int tb_num;  /* their unit: tb_num / tb_den seconds */
    int tb_den;
    int fps; /* nominal rate (constant-rate clips: tb = 1/fps, pts = index) */
    FcContainer container;
    int crf; /* H.264 / HEVC constant rate factor; 0 = 18 (H.264), 20 (HEVC) */
    FcBackground background;
    guint32 seed;  /* background noise */
    mim_image *bg; /* the rendered background (RGB8, width x height) */
    FcFace *faces[FC_MAX_FACES];
    int n_faces;
} FcScene;

typedef struct {
    const char *label; /* borrowed from the scene */
    gboolean drawn;    /* shown, and the box of its region's mask meets the frame */
    gboolean visible;  /* drawn and all 68 landmarks in [0, width-1] x [0, height-1] */
    float xy[2 * MIM_FACEGEN_N_LANDMARKS];         /* (68,2) landmarks in frame pixels */
    float xy_neutral[2 * MIM_FACEGEN_N_LANDMARKS]; /* (68,2) the same without the expression */
    float au[MIM_FACEGEN_N_AU];                    /* intensities, indexed like mim_facegen_aus */
    double x, y, iod, roll;                        /* the placement (FcPlace) at this frame */
} FcFaceTruth;

typedef struct {
    int frame;
    gint64 pts;    /* in the scene's time base */
    double time_s; /* (pts - pts of frame 0) * time base */
    int n_faces;
    FcFaceTruth face[FC_MAX_FACES];
} FcTruth;

/* ---- scenes ---------------------------------------------------------------------------------- */

/* An empty scene: background plain (seed 1), 30 fps constant rate, container MP4/H.264. */
FcScene *fc_scene_new(int width, int height, int n_frames);
void fc_scene_free(FcScene *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FcScene, fc_scene_free)

void fc_scene_set_background(FcScene *s, FcBackground kind, guint32 seed);
/* Constant frame rate: pts = index, time base 1/fps. */
void fc_scene_set_cfr(FcScene *s, int fps);
/* Variable frame rate: time base 1/1000, pts 0 then the steps (ms, > 0) in turn, cyclically;
 * fps is the nominal rate written to the stream. */
void fc_scene_set_vfr(FcScene *s, const int *steps_ms, int n_steps, int fps);

/* Adds the face dlib.hog[hog_index] of shared_dir/fixtures/faces/images/<image> (its landmarks
 * from reference/<origin>__<image>.json), decoded with mimica_image_load. region: the side of
 * the cut-out square in face sizes (the landmarks' bounding box; 3 is usual, less for crowded
 * scenes); max_iod: the largest inter-ocular distance the face will be shown at (the region is
 * resampled once, by area, to about that size; 0 = the photo's). The soft edge stays clear of
 * the photo's other faces (dlib's and OpenCV's boxes in the reference). G_IO_ERROR_NOT_FOUND if
 * the fixture is missing. The face has no placement yet (add one with fc_face_place). */
FcFace *fc_scene_add_face(FcScene *s, const char *shared_dir, const char *image, int hog_index,
                          double region, double max_iod, GError **error);

/* Keyframes (may be added in any order; a second one at the same frame replaces the first). */
void fc_face_place(FcFace *f, int frame, double x, double y, double iod, double roll,
                   gboolean shown);
/* aus: "AU:intensity" pairs separated by spaces, e.g. "6:4 12:5"; "" is neutral. FALSE (and no
 * keyframe) for an unknown AU or an intensity outside 0..5. */
gboolean fc_face_express(FcFace *f, int frame, const char *aus);

/* The preset scenes (640x480; each with its own container; see face-clips.c for the content):
 *   "one-face-moves"  Tom Cruise's face moved, scaled, rolled; neutral; MP4/H.264, VFR, 90 frames
 *   "one-face-cut"    a face slides out of the frame, stays away, is cut back in elsewhere;
 *                     smiles at the end; WMV (wmv2), VFR, 90 frames
 *   "three-faces"     three people from three photos, moving; a smile, raised brows, a blink;
 *                     AVI (mpeg4), 25 fps, 75 frames
 *   "expressions"     one face, small motion: smile, raised brows, open mouth, blink in turn,
 *                     neutral between; MOV/HEVC, VFR, 120 frames
 *   "blinks"          one face blinking three times while it rolls its head from -8 to +8
 *                     degrees; WMV (msmpeg4), VFR, 60 frames
 * fc_scene_preset_names lists the test scenes (all but "demo"), NULL terminated. */
const char *const *fc_scene_preset_names(void);
FcScene *fc_scene_preset(const char *name, const char *shared_dir, GError **error);

/* ---- frames, truth, clips ----------------------------------------------------------------- */

/* Renders frame `frame` into rgb (RGB8 of the scene's size; NULL: truth only, cheap) and fills
 * truth (may be NULL). */
gboolean fc_scene_render(const FcScene *s, int frame, mim_image *rgb, FcTruth *truth,
                         GError **error);

/* Encodes every frame to path in the scene's container. FALSE with *skip set (a message, no
 * error) when this FFmpeg lacks the encoder or the muxer; FALSE with *error on a failure. */
gboolean fc_make_clip(const char *path, const FcScene *s, char **skip, GError **error);

/* Truth accessors. */
const FcFaceTruth *fc_truth_face(const FcTruth *t, int face);
/* The intensity of AU `au` (FACS number) of a face; -1 if the generator has no such AU. */
float fc_truth_au(const FcTruth *t, int face, int au);
/* TRUE when all of a face's AU intensities are 0. */
gboolean fc_truth_is_neutral(const FcTruth *t, int face);
int fc_truth_n_visible(const FcTruth *t);
/* Inter-ocular distance of 68 landmarks (eye centres = means of 36..41 and 42..47). */
double fc_iod68(const float *xy);

G_END_DECLS
