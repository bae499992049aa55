/* mim-cascade.h: OpenCV cascade classifiers (the opencv_storage XML of Debian's opencv-data,
 * Haar and LBP) and the multi-scale face detector of cv::CascadeClassifier::detectMultiScale,
 * reproduced per FORMATS.md Part B (grey conversion, INTER_LINEAR_EXACT pyramid, integral
 * images, stage evaluation, groupRectangles).
 *
 * Errors: functions that can fail return 0 or -1 with a one-line reason in err (err may be NULL).
 * A loaded cascade is immutable: one cascade may serve several threads, each with its own
 * calls to mim_cascade_detect().
 */
#pragma once

#include <stddef.h>

#include "mim-image.h"

#define MIM_CASCADE_DEFAULT      "haarcascade_frontalface_default"
#define MIM_CASCADE_DEBIAN_DIR   "/usr/share/opencv4"
#define MIM_CASCADE_PACKAGE      "opencv-data"
#define MIM_CASCADE_DATA_DIR_ENV "MIMICA_OPENCV_DATA_DIR"

typedef struct mim_cascade mim_cascade;

typedef enum { MIM_CASCADE_HAAR, MIM_CASCADE_LBP } mim_cascade_type;

typedef struct {
    mim_cascade_type type;
    int width, height; /* detection window */
    int n_stages;
    int n_weak;  /* weak classifiers (trees) over all stages */
    int n_nodes; /* internal nodes over all trees */
    int max_nodes_per_tree;
    int n_features;
    int n_rects2, n_rects3; /* Haar: features with 2 / 3 rectangles */
    int n_tilted;           /* Haar: tilted features */
    int max_cat_count;      /* 0 (Haar) or 256 (LBP) */
} mim_cascade_info;

/* The opencv-data folder: $MIMICA_OPENCV_DATA_DIR if set and non-empty, else
 * MIM_CASCADE_DEBIAN_DIR. */
const char *mim_cascade_data_dir(void);
/* The file of a cascade name ("haarcascade_frontalface_default", "lbpcascade_frontalface_improved";
 * a name containing '/' or ending in ".xml" is taken as a path): <dir>/haarcascades/<name>.xml
 * or <dir>/lbpcascades/<name>.xml by the name's prefix. -1 if buf is too small or the name is
 * empty or has no known prefix. */
int mim_cascade_path(const char *name, char *buf, size_t buf_size, char *err, size_t err_size);

/* Loads and fully validates a cascade file. A missing file names the Debian package
 * (opencv-data); malformed XML, old-format cascades, bad counts, out-of-range indices or
 * rectangles outside the window are refused. */
int mim_cascade_load(const char *path, mim_cascade **out, char *err, size_t err_size);
/* mim_cascade_path + mim_cascade_load; name NULL means MIM_CASCADE_DEFAULT. */
int mim_cascade_load_named(const char *name, mim_cascade **out, char *err, size_t err_size);
/* Parses an in-memory document (need not be NUL-terminated). */
int mim_cascade_load_buffer(const char *text, size_t len, mim_cascade **out, char *err,
                            size_t err_size);
void mim_cascade_free(mim_cascade *c);

void mim_cascade_get_info(const mim_cascade *c, mim_cascade_info *info);
/* Weak classifiers of stage `stage` (0-based), -1 if out of range. */
int mim_cascade_stage_n_weak(const mim_cascade *c, int stage);

typedef struct {
    double scale_factor;       /* > 1; default 1.1 */
    int min_neighbors;         /* default 3; <= 0 returns the raw candidates (clipped, ungrouped) */
    int min_width, min_height; /* smallest window; default 0 (the cascade's window) */
    int max_width, max_height; /* largest window; default 0 (image size) */
} mim_detect_opts;

void mim_detect_opts_init(mim_detect_opts *opts);

typedef struct {
    int x, y, w, h; /* in image pixels, clipped to the image */
    int neighbors;  /* group size (OpenCV's numDetections); 0 for raw candidates */
} mim_face_rect;

/* Detects with the cascade in an 8-bit image (GREY8 used as is; RGB8 converted with
 * mim_image_rgb_to_grey, OpenCV's weights). opts NULL = defaults. On success *out is a malloc'd
 * array of *n_out boxes (NULL when none; free with free()), sorted by (x, y, w, h). */
int mim_cascade_detect(const mim_cascade *c, const mim_image *img, const mim_detect_opts *opts,
                       mim_face_rect **out, size_t *n_out, char *err, size_t err_size);

/* Steps 1–7 only: every window that passes all stages (the unclipped, ungrouped candidate
 * rectangles, in scan order; opts->min_neighbors is ignored). mim_cascade_detect() is this +
 * mim_face_rects_group + mim_face_rects_clip. */
int mim_cascade_candidates(const mim_cascade *c, const mim_image *img, const mim_detect_opts *opts,
                           mim_face_rect **out, size_t *n_out, char *err, size_t err_size);
/* Clips rectangles to [0,width) × [0,height), drops empty ones and sorts by (x, y, w, h); returns
 * the new count. */
size_t mim_face_rects_clip(mim_face_rect *rects, size_t n, int width, int height);

/* groupRectangles(rects, group_threshold, eps = 0.2) in place on n unclipped rectangles:
 * returns the new count (kept boxes carry their group size in ->neighbors). For tests. */
size_t mim_face_rects_group(mim_face_rect *boxes, size_t n, int group_threshold);
