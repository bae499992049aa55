/* mim-landmark.h: dlib's 68-point shape predictor (ensemble of regression trees, Kazemi &
 * Sullivan 2014), read from dlib's portable serialization (FORMATS.md Part A) and run exactly as
 * dlib 19.24 runs it (FORMATS.md A.3).
 *
 * The model file is shape_predictor_68_face_landmarks.dat from Debian's libdlib-data, found at
 * $MIMICA_DLIB_DATA_DIR/shape_predictor_68_face_landmarks.dat, else
 * /usr/share/dlib/shape_predictor_68_face_landmarks.dat. Loading validates everything: version,
 * counts (against the bytes left, before anything is allocated), tree shape, index ranges,
 * finite values, nothing after the last field. A truncated or hostile file is refused with a
 * message and never read out of bounds.
 *
 * Images are engine/face's mim_image, MIM_IMAGE_GREY8 (intensity as is) or MIM_IMAGE_RGB8
 * (intensity (R+G+B)/3 with integer division, as dlib computes it for an RGB image). Only the
 * sampled pixels are converted, so passing an RGB frame costs nothing extra.
 *
 * Boxes are in dlib's convention: right and bottom inclusive (dlib width = right - left + 1).
 *
 * Functions returning int give 0 on success, -1 on failure with the reason in err (err_size
 * bytes, may be NULL/0). A loaded predictor is immutable: predictions from several threads at
 * once are fine.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "face/mim-image.h"

#define MIM_LANDMARK_N68      68
#define MIM_LANDMARK_DAT_NAME "shape_predictor_68_face_landmarks.dat"
#define MIM_LANDMARK_DAT_DIR  "/usr/share/dlib"
#define MIM_LANDMARK_DAT_ENV  "MIMICA_DLIB_DATA_DIR"

/* A face box, dlib convention: right/bottom inclusive. Doubles, so that boxes derived from
 * landmarks (tracking) need not be rounded; integer values reproduce dlib exactly. */
typedef struct {
    double left, top, right, bottom;
} mim_face_box;

typedef struct mim_shape_predictor mim_shape_predictor;

/* Writes the default model path (env dir or Debian's) into buf; returns buf. */
const char *mim_shape_predictor_default_path(char *buf, size_t buf_size);
/* Loads a .dat file; path NULL = the default path. A missing file says which Debian package
 * (libdlib-data) provides it and where it was looked for. */
int mim_shape_predictor_load(const char *path, mim_shape_predictor **out, char *err,
                             size_t err_size);
/* Parses a file image in memory (the bytes are not kept). */
int mim_shape_predictor_parse(const void *bytes, size_t n_bytes, mim_shape_predictor **out,
                              char *err, size_t err_size);
void mim_shape_predictor_free(mim_shape_predictor *sp);

typedef struct {
    int n_landmarks;       /* L: 68 for the Debian file */
    int n_levels;          /* cascade levels: 15 */
    int n_trees;           /* trees per level: 500 */
    int depth;             /* tree depth: 4 (15 splits, 16 leaves) */
    int n_features;        /* feature pixels per level: 500 */
    uint64_t n_floats;     /* floats read: 16,447,636 */
    uint64_t n_bytes_read; /* bytes consumed = file size */
} mim_shape_predictor_info;

void mim_shape_predictor_get_info(const mim_shape_predictor *sp, mim_shape_predictor_info *info);
/* Borrowed views for tests: mean shape (2L, interleaved x,y); split, leaf, anchor, delta. */
const float *mim_shape_predictor_mean_shape(const mim_shape_predictor *sp);
void mim_shape_predictor_split(const mim_shape_predictor *sp, int level, int tree, int node,
                               int *idx1, int *idx2, float *thresh);
const float *mim_shape_predictor_leaf(const mim_shape_predictor *sp, int level, int tree,
                                      int leaf); /* (2L) */
void mim_shape_predictor_feature(const mim_shape_predictor *sp, int level, int i, int *anchor,
                                 float *dx, float *dy);

/* Landmarks of the face in box: xy (L,2) in pixels (sub-pixel floats); xy_dlib (L,2), may be
 * NULL, the integer points dlib returns (floor(v + 0.5) of the same double values).
 * confidence, may be NULL: see mim_landmark_confidence. */
void mim_shape_predictor_predict(const mim_shape_predictor *sp, const mim_image *img,
                                 const mim_face_box *box, float *xy, int32_t *xy_dlib,
                                 float *confidence);

/* Confidence in [0,1] of a 68-point result: how well the shape fits the predictor's mean shape
 * under a similarity transform. r = RMS residual of the fit in units of the fitted inter-ocular
 * distance; confidence = exp(-(r / 0.25)^2). Measured on the fixtures' 328 predictions on real
 * faces: r median 0.125 (confidence 0.78), 90th percentile 0.23 (0.43), max 0.32 (0.2). It flags
 * contorted shapes (a face leaving the frame, a box far off); it does NOT tell a face from
 * background (the regressor's output is face-shaped anywhere: random boxes score the same), so
 * the tracker also checks its faces against periodic detections. Only for the 68-point model
 * (returns 0 otherwise). xy: (L,2). */
float mim_landmark_confidence(const mim_shape_predictor *sp, const float *xy);

/* The dlib-convention box in which the mean shape best fits the landmarks xy (L,2) (least
 * squares similarity; rotation ignored): what the tracker feeds to the next frame. */
void mim_landmark_box_from_shape(const mim_shape_predictor *sp, const float *xy, mim_face_box *box);

/* An OpenCV cascade box x, y, w, h mapped to a dlib-HOG-like box (FORMATS.md A.4 ratios:
 * l = x + 0.066 w, t = y + 0.146 h, side 0.876 w). */
mim_face_box mim_face_box_from_cascade(double x, double y, double w, double h);
/* A cascade box taken as is: right = x + w - 1, bottom = y + h - 1. */
mim_face_box mim_face_box_from_xywh(double x, double y, double w, double h);

/* The landmarks the predictor finds when the image is mirrored left-right: it runs in the
 * mirrored image (sampled in place, no copy) in the mirror image of box, and the result is mapped
 * back into img's coordinates and into the original point order (iBUG 68 left/right pairs
 * swapped). Only for the 68-point model: returns -1 otherwise, 0 on success. xy: (68,2). */
int mim_shape_predictor_predict_mirrored(const mim_shape_predictor *sp, const mim_image *img,
                                         const mim_face_box *box, float *xy);
/* Mirror consistency of landmarks xy found in box: the mean distance between xy and the
 * mirrored prediction in the same box, in units of xy's inter-ocular distance. On a face the
 * two agree (fixtures, dlib's HOG boxes: median 0.021, 90th percentile 0.048); where the
 * regressor settled off the face they mostly do not (median 0.09 over results more than 30 % IOD
 * off). +inf if not 68 points. */
float mim_landmark_mirror_error(const mim_shape_predictor *sp, const mim_image *img,
                                const mim_face_box *box, const float *xy);

/* Landmarks for a fresh detection, with the box refined (the detector's box decides where the
 * regressor ends up: FORMATS.md A.4; a cascade box that is off-centre or too large on a small
 * face sends it elsewhere). Box hypotheses around the detection (side x scales[i], centre moved
 * by offsets[j], offsets[k] x side), nearest first; for each: predict, take the box the
 * landmarks imply (mim_landmark_box_from_shape), predict there, and score that result by its
 * mirror error. The first hypothesis scoring below `accept` ends the search, else the lowest
 * score over all wins. The constants were chosen on part of the fixtures and checked on the
 * rest (tests/landmark/test-landmark-fixtures.c, detect-path). */
#define MIM_FIT_MAX_STEPS 9
typedef struct {
    int n_scales, n_offsets; /* each 1..MIM_FIT_MAX_STEPS; 1 scale 1.0 and 1 offset 0: no search */
    double scales[MIM_FIT_MAX_STEPS];  /* default 0.8, 1.0, 1.2 */
    double offsets[MIM_FIT_MAX_STEPS]; /* default -0.2, -0.1, 0, 0.1, 0.2 (of the side) */
    float accept;                      /* mirror error that ends the search (default 0.02) */
} mim_landmark_fit_params;

typedef struct {
    mim_face_box box;                /* box the landmarks were computed in */
    float xy[2 * MIM_LANDMARK_N68];  /* (68,2) pixels */
    float confidence;                /* mim_landmark_confidence of xy */
    float mirror_error;              /* mim_landmark_mirror_error of xy (the score) */
    int n_hypotheses, n_predictions; /* boxes tried, predictor runs (3 per box, mirror included) */
} mim_landmark_fit;

void mim_landmark_fit_params_default(mim_landmark_fit_params *p);
/* params NULL = defaults. Returns 0, or -1 (err says why) if the model is not the 68-point one
 * or the params are out of range. Cost: 3 predictor runs per hypothesis (default: 75 at most,
 * about 10 on average on the fixtures). */
int mim_landmark_fit_detection(const mim_shape_predictor *sp, const mim_image *img,
                               const mim_face_box *box, const mim_landmark_fit_params *params,
                               mim_landmark_fit *fit, char *err, size_t err_size);
