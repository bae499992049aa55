/* mim-geometry.h: the `geometry` AU model: FACS action units estimated from the 68 iBUG
 * landmarks by shape alone, with no network and no training. It is the baseline every trained
 * network must beat, and works wherever the landmarks do (single images, small faces in video).
 *
 *   68 points (+ yaw, pitch) --mim_geom_features--> shape features (MIM_GEOM_N_FEAT)
 *   features over a video    --mim_geom_baseline--> the person's neutral features
 *   features - baseline      --mim_geom_aus-------> intensity 0..5 and presence per AU
 *
 * Features are heights and widths in units of the face size (the distance between the two eye
 * centres, each the midpoint of its corners), in a frame with the eyes level, the y axis up and
 * the origin between the eyes. An AU is read from how the features moved away from a neutral
 * baseline: the person's own (a video's quiet frames or a segment the user picked) or, for a
 * single image, a built-in typical neutral face (weaker: identity is not removed, only
 * discounted). AU25 (lips apart) also needs the lips apart in absolute terms. See
 * mim-geometry.c for the rule of each AU, what it confounds and how it is kept apart, and for
 * the measured jitter the dead zones come from.
 *
 * Points are dlib's order: 0-16 jaw, 17-21 right brow (image left), 22-26 left brow, 27-30 nose
 * ridge, 31-35 nostrils, 36-41 right eye, 42-47 left eye, 48-59 outer lip, 60-67 inner lip.
 * Pure functions of their arguments: thread-safe.
 */
#pragma once

#include <stddef.h>

/* AU order of every per-AU array: 1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26, 45. */
#define MIM_GEOM_N_AU 13
/* The AU numbers in that order. (The brief named this table mim_geom_aus too; C allows one
 * symbol per name, and the name stays with the function below.) */
extern const int mim_geom_au_ids[MIM_GEOM_N_AU];

enum {
    MIM_GEOM_AU1,  /* inner brow raiser */
    MIM_GEOM_AU2,  /* outer brow raiser */
    MIM_GEOM_AU4,  /* brow lowerer */
    MIM_GEOM_AU5,  /* upper lid raiser */
    MIM_GEOM_AU6,  /* cheek raiser */
    MIM_GEOM_AU9,  /* nose wrinkler */
    MIM_GEOM_AU12, /* lip corner puller */
    MIM_GEOM_AU15, /* lip corner depressor */
    MIM_GEOM_AU17, /* chin raiser */
    MIM_GEOM_AU20, /* lip stretcher */
    MIM_GEOM_AU25, /* lips part */
    MIM_GEOM_AU26, /* jaw drop */
    MIM_GEOM_AU45, /* blink (eye closure) */
};

/* Feature indices. Heights are y (up) of a point group relative to the line through the eye
 * centres; all lengths in units of the eye-centre distance. */
enum {
    MIM_GEOM_F_BROW_INNER,  /* height of the inner brow (20, 21, 22, 23) */
    MIM_GEOM_F_BROW_OUTER,  /* height of the outer brow (17, 18, 25, 26) */
    MIM_GEOM_F_BROW_GAP,    /* horizontal gap between the inner brow ends (21|22, 20|23) */
    MIM_GEOM_F_LID_UPPER,   /* height of the upper lids (37, 38, 43, 44), > 0 */
    MIM_GEOM_F_LID_LOWER,   /* height of the lower lids (40, 41, 46, 47), < 0 */
    MIM_GEOM_F_EYE_AR,      /* eye aspect ratio, mean of both eyes (dimensionless); for callers
                             * and the baseline: AU45 reads the upper lid alone, as the EAR
                             * also falls when AU6/7 narrow the eye from below */
    MIM_GEOM_F_NOSE_BASE,   /* height of the nostrils (31..35), < 0 */
    MIM_GEOM_F_LIP_UPPER,   /* height of the upper lip's top centre (50, 51, 52) */
    MIM_GEOM_F_LIP_CORNER,  /* height of the mouth corners (48, 54) */
    MIM_GEOM_F_MOUTH_WIDTH, /* corner to corner, horizontal (48|54) */
    MIM_GEOM_F_LIP_GAP,     /* inner lip opening (61|67, 62|66, 63|65), ~0 when closed */
    MIM_GEOM_F_LIP_LOWER,   /* height of the lower lip's bottom centre (56, 57, 58) */
    MIM_GEOM_F_CHIN,        /* height of the chin (7, 8, 9) */
    MIM_GEOM_F_CORNER_LIFT, /* corners (48, 54) above the lips' meeting line (62|66 midpoint) */
};
#define MIM_GEOM_N_FEAT 14

/* Names of the features ("brow_inner", ...), for logs and tests. */
extern const char *const mim_geom_feat_names[MIM_GEOM_N_FEAT];

/* The built-in population-neutral baseline used when mim_geom_aus gets baseline NULL. */
extern const float mim_geom_neutral[MIM_GEOM_N_FEAT];

/* Shape features of one face. xy68: (68,2) pixels, dlib order. yaw, pitch: head pose in
 * radians, 0 if unknown (OpenFace's pose_Ry and pose_Rx: R = Rx·Ry·Rz in camera coordinates, x
 * right, y down, z away from the camera; yaw > 0 turns the nose toward the image's left, pitch
 * > 0 turns it down). The eye line fixes roll; yaw and pitch undo the foreshortening (distances
 * shrink by cos) and the shift of points that stand out of the eye plane (nose, lips, brows move
 * by depth · sin), with a coarse typical-face depth per landmark. feat: (MIM_GEOM_N_FEAT).
 * Returns 0, or -1 (feat all NaN) for non-finite input, coinciding eye centres, or a pose
 * beyond 70 degrees (profile landmarks carry no usable expression geometry). */
int mim_geom_features(const float *xy68, double yaw, double pitch, float *feat);

/* A person's neutral baseline from n feature vectors of the same face over a video.
 * feats: (n, MIM_GEOM_N_FEAT), rows with a non-finite value are skipped. Picks the low-activity
 * frames automatically: the half closest to the robust centre (per-feature median, distances
 * scaled by the larger of the robust spread and the landmark jitter), refined once, and returns
 * their per-feature median. Works while at least half of the frames are near-neutral. n may be
 * 1 (a segment the user picked: that frame is the baseline). baseline: (MIM_GEOM_N_FEAT);
 * *n_used (may be NULL): frames the median was taken over. Returns 0, or -1 when n == 0, no
 * row is finite, or out of memory. */
int mim_geom_baseline(const float *feats, size_t n, float *baseline, size_t *n_used);

/* Signed evidence of each AU before dead zone and scaling (intensity = 5 (e - dead) /
 * (full - dead), clamped): displacements in eye-distance units, AU45 a closure fraction.
 * baseline NULL: mim_geom_neutral. Non-finite features read as neutral. evidence:
 * (MIM_GEOM_N_AU). For tests and for measuring jitter. */
void mim_geom_au_evidence(const float *feat, const float *baseline, float *evidence);

/* AU values of one frame relative to a baseline (NULL: mim_geom_neutral, for single images).
 * intensity: (MIM_GEOM_N_AU) in 0..5 (FACS A..E ~ 1..5); presence: (MIM_GEOM_N_AU) in [0,1],
 * 1 - 2^-intensity, so presence >= 0.5 exactly when intensity >= 1. A frame whose features are
 * not finite (mim_geom_features failed) reads 0 everywhere. */
void mim_geom_aus(const float *feat, const float *baseline, float *intensity, float *presence);

/* The dead zone and full-scale (intensity 5) evidence of AU i, in mim_geom_au_evidence's units. */
void mim_geom_au_scale(int i, float *dead, float *full);
