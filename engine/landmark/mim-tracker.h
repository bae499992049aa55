/* mim-tracker.h: multi-face landmark tracking across video frames.
 *
 * A face the detector finds (a new one, or one being lost that the detection re-seeds) gets its
 * first landmarks from mim_landmark_fit_detection, which refines the detector's box
 * (params.refine); per frame, each tracked face starts from the box of its previous landmarks
 * (mim_landmark_box_from_shape) and runs the 68-point predictor there. The result's confidence
 * (mim_landmark_confidence) says whether the face is still there; a face whose confidence falls
 * below `min_confidence` is dropped after `max_lost` frames. The detector (a callback, normally
 * the OpenCV cascade of engine/face) runs on the first frame, whenever a face was dropped or is
 * low, and every `redetect_every` frames; a detection that overlaps no tracked face (IoU of the
 * boxes < `match_iou`) starts a new face with a new id; a tracked face that no detection matches
 * `max_missed` detector runs in a row is dropped (the landmark confidence alone cannot tell a
 * face from background). Ids grow from 1 and are never reused; two faces that converge on the
 * same spot are merged (the older id stays).
 *
 * Not thread-safe (one tracker per video, on one thread); the predictor is only read.
 */
#pragma once

#include "mim-landmark.h"

/* The face detector: fills at most max_boxes boxes (dlib convention) found in frame, returns how
 * many (or -1 on error). E.g. an OpenCV cascade mapped with mim_face_box_from_cascade. */
typedef int (*mim_tracker_detect_fn)(void *user, const mim_image *frame, mim_face_box *boxes,
                                     int max_boxes);

typedef struct {
    float min_confidence; /* below it a face counts as lost for this frame (default 0.3) */
    int max_lost;         /* frames a face may stay lost before it is dropped (default 2) */
    int redetect_every;   /* run the detector every N frames, 0 = only when needed (30) */
    float match_iou;      /* detection vs tracked box overlap that means "same face" (0.3) */
    int max_faces;        /* at most this many faces (16, at most 256) */
    int max_missed;       /* detector runs in a row without a match before a drop (2; 0 never) */
    int refine;           /* 1: a new face's landmarks come from mim_landmark_fit_detection (box
                             refined around the detection, ~30 predictor runs, at most 225);
                             0: one prediction in the detector's box (default 1) */
} mim_tracker_params;

typedef struct {
    int id;                         /* stable id, from 1 */
    mim_face_box box;               /* box the landmarks were computed in */
    float xy[2 * MIM_LANDMARK_N68]; /* (68,2) landmarks, pixels */
    float confidence;               /* mim_landmark_confidence of xy */
    int n_frames;                   /* frames tracked so far */
    int n_lost;                     /* consecutive frames below min_confidence */
    int n_missed;                   /* consecutive detector runs that did not find it */
    int detected;                   /* 1 if this frame's box came from the detector */
} mim_track;

typedef struct mim_tracker mim_tracker;

void mim_tracker_params_default(mim_tracker_params *p);
/* params may be NULL (defaults). detect may be NULL: then only faces added with
 * mim_tracker_add are tracked. The predictor must outlive the tracker. */
mim_tracker *mim_tracker_new(const mim_shape_predictor *sp, const mim_tracker_params *params,
                             mim_tracker_detect_fn detect, void *detect_user);
void mim_tracker_free(mim_tracker *t);

/* Processes the next frame; returns the number of faces tracked after it, -1 on error (the
 * detector failed or out of memory). */
int mim_tracker_update(mim_tracker *t, const mim_image *frame);
/* Starts tracking a face in the given box from the next update; returns its id (-1 if full). */
int mim_tracker_add(mim_tracker *t, const mim_face_box *box);
/* Stops tracking face `id` (the caller found it gone, e.g. a face check failed); the detector
 * runs on the next frame. Returns -1 if no such face. */
int mim_tracker_remove(mim_tracker *t, int id);
/* Forgets every face (e.g. after a seek); ids keep growing. */
void mim_tracker_reset(mim_tracker *t);

int mim_tracker_n_tracks(const mim_tracker *t);
const mim_track *mim_tracker_get(const mim_tracker *t, int i); /* borrowed, until next update */
/* Detector runs so far (for tests and benches). */
int mim_tracker_n_detections(const mim_tracker *t);
