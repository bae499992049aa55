/* mim-facegen.h: the face generator's geometry and image warp. Real faces (a photo with its 68
 * iBUG landmarks, dlib order) are made to show facial action units (FACS AUs) by moving the
 * landmarks as the AUs move the face (mim_facegen_displace) and moving the pixels with them
 * (mim_facegen_warp). The landmarks of the result are known exactly: they are the displaced
 * landmarks. Plain C on libmim (engine/face's mim_image), no GLib; everything here is
 * thread-safe (no state).
 *
 * The face frame: origin at the midpoint of the eye centres (means of points 36..41 and
 * 42..47), x along the line from the image-left eye centre to the image-right one, y
 * perpendicular, pointing down the face; unit: the inter-ocular distance (IOD) between the two
 * eye centres. Displacements are defined in this frame, so they follow the face's position,
 * roll and size (a similarity transform of the input gives the same transform of the output).
 */
#pragma once

#include <stddef.h>

#include "face/mim-image.h"

#define MIM_FACEGEN_N_LANDMARKS 68
#define MIM_FACEGEN_N_AU        13
#define MIM_FACEGEN_MAX_AU      5.0f /* intensity of a maximal (FACS "E") action */

/* The AUs the generator can show, in the order of the intensity vectors below:
 * 1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26, 45. */
extern const int mim_facegen_aus[MIM_FACEGEN_N_AU];
/* The position of AU `au` in mim_facegen_aus, or -1. */
int mim_facegen_au_index(int au);

/* The face frame of 68 landmarks (see above): origin and unit x axis in pixels, iod in pixels.
 * Returns -1 when the landmarks are not finite or the eyes coincide (iod < 1e-3 px). */
typedef struct {
    double origin[2]; /* eye midpoint */
    double axis[2];   /* unit vector, image-left eye to image-right eye */
    double iod;       /* inter-ocular distance in pixels */
} mim_facegen_frame;

int mim_facegen_face_frame(const float *xy68 /* (68,2) */, mim_facegen_frame *frame);

/* Moves the 68 iBUG landmarks (dlib order, (68,2) pixels) as the AUs at the given intensities
 * (0..5, indexed like mim_facegen_aus) move the face, following the FACS descriptions, in the
 * face's own frame: AU1 inner brows up, AU2 outer brows up, AU4 brows down and together, AU5
 * upper lids up, AU6 cheeks and lower lids up, AU9 nose wrinkle and upper lip up, AU12 lip
 * corners up and out, AU15 corners down, AU17 chin and lower lip up, AU20 corners out, AU25
 * lips apart, AU26 jaw down (lips apart), AU45 lids closed.
 *   - Each AU's displacement grows linearly with its intensity and the AUs add up; sideways
 *     movements on each half of the face are scaled by that half's width against the mean
 *     face's (0.25..1.25: a face turned away shows its far half foreshortened).
 *   - AU45 then brings the upper lids toward the lower lids, shut at 5, whatever other AUs did
 *     to them.
 *   - Constraints: an eye never closes more than shut (upper lid at least 0.012 IOD above the
 *     lower, or as in the input if that was less); the inner lips never cross (or no further
 *     than in the input).
 *   - Safety net for faces the mesh below fits badly (turned heads, low brows): where a skin
 *     triangle of the mesh would keep less than a fifth of its area, the movements of its
 *     landmarks shrink (by 0.7, repeatedly) until none does; an eye or the mouth may close but
 *     not turn over. On dlib's mean face nothing shrinks (tests/training/test-facegen.c).
 * Largest movements at intensity 5, in IOD: brows 0.12 (AU1, AU2), 0.08 down and 0.06 inward
 * (AU4); upper lids 0.05 (AU5); lower lids 0.06 (AU6: about 3.5 mm, the eye narrowed from
 * below); lip corners 0.13 out and 0.15 up (AU12: about 9 mm, a broad smile),
 * 0.08 down (AU15), 0.11 out (AU20); lower lip 0.07 (AU25); chin 0.24 down (AU26), 0.06 up
 * (AU17). xy68 and out68 may be the same array. Returns -1 on degenerate input (see
 * mim_facegen_face_frame) or an intensity outside [0, 5] or not finite (out68 untouched). */
int mim_facegen_displace(const float *xy68 /* (68,2) */, const float *intensity /* (13) */,
                         float *out68 /* (68,2) */);

/* ---- the warp's mesh ---------------------------------------------------------------------- */

/* Fixed points around the face, computed from the landmarks (the same points are used for the
 * source and the destination of a warp, so the mesh's outline does not move): 9 below and
 * beside the jaw line (points 0, 2, .., 16 moved outward across the contour by 0.35 IOD, the
 * chin by 0.5) and 6 above the brows (points 26, 24, 22, 21, 19, 17 raised by 0.45..0.7 IOD).
 * Mesh vertex 68 + i is ring point i. */
#define MIM_FACEGEN_N_RING     15
#define MIM_FACEGEN_N_VERTICES (MIM_FACEGEN_N_LANDMARKS + MIM_FACEGEN_N_RING)

int mim_facegen_ring(const float *xy68 /* (68,2) */, float *ring /* (15,2) */);

typedef enum {
    MIM_FACEGEN_SKIN,  /* moved with its vertices (piecewise affine) */
    MIM_FACEGEN_EYE,   /* inside an eye's lid contour (36..41 or 42..47) */
    MIM_FACEGEN_MOUTH, /* inside the inner lip contour (60..67) */
} mim_facegen_region;

typedef struct {
    int v[3]; /* mesh vertices: landmarks 0..67, ring 68..82 */
    mim_facegen_region region;
} mim_facegen_triangle;

/* The mesh: a fixed list of triangles tiling the polygon of the ring (a Delaunay triangulation
 * of dlib's mean face shape plus its ring, with the eye and lip contours forced as edges). Every
 * triangle has a positive signed area (b - a) x (c - a) in image coordinates (y down) on an
 * upright face; the eye and mouth interiors are the last 14 triangles. */
const mim_facegen_triangle *mim_facegen_triangles(int *n_triangles);

/* dst = src with the face's pixels moved from xy_src to xy_dst: a piecewise-affine warp over
 * the mesh above (pixels outside the ring polygon are untouched, so are pixels of triangles
 * whose destination is flipped or empty). Openings are not stretched:
 *   - eyes: where a lid contour closes (the destination gap between the lids is smaller than the
 *     source's), each pixel keeps its distance above the lower lid, so the upper lid's skin,
 *     stretched down from the brow, covers the eye instead of squeezing it;
 *   - mouth: where the inner lips part further than in the source, the source's own opening
 *     (if any) stays attached to the lips (upper teeth move with the upper lip) and the new
 *     gap between is painted: a dark cavity in the lips' own hue, a hint of upper teeth in the
 *     skin's brightness where the source mouth was closed, lower teeth when it opens wide, with
 *     soft edges.
 * src and dst: RGB8 images of the same size; dst may not alias src. Bilinear sampling, edges
 * clamped. Returns 0, or -1 with the reason in err (wrong formats or sizes, degenerate
 * landmarks). */
int mim_facegen_warp(const mim_image *src, const float *xy_src /* (68,2) */,
                     const float *xy_dst /* (68,2) */, mim_image *dst, char *err, size_t err_size);
