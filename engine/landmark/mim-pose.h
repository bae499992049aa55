/* mim-pose.h: head pose from the 68 iBUG landmarks, in the convention of OpenFace 2.2's
 * FeatureExtraction columns pose_Tx, pose_Ty, pose_Tz, pose_Rx, pose_Ry, pose_Rz.
 *
 * A rigid generic 3-D face (68 points, mm) is fitted to the landmarks under a pinhole camera:
 * a weak-perspective (scaled orthographic) solution starts a Levenberg-Marquardt refinement of
 * rotation and translation that minimises the weighted reprojection error in pixels. The model
 * keeps its size (no scale factor), as OpenFace's pose has none.
 *
 * Frames (OpenFace's, checked against its LandmarkDetectorFunc.cpp GetPose and RotationHelpers):
 * - camera: origin at the optical centre, +x to the image right, +y down, +z in front of the
 *   camera; a point X projects to (fx X/Z + cx, fy Y/Z + cy) in pixels, no distortion.
 * - model: the same axes for a face looking straight into the camera: +x towards the image right
 *   (the subject's left), +y down (chin), the nose tip at -z (towards the camera); origin at the
 *   mean of the 68 points, as OpenFace's PDM mean shape is centred.
 * - pose: a model point X is at R X + t in the camera frame. t = (pose_Tx, Ty, Tz) in mm is thus
 *   the position of the 68-point centroid. R = Rx(r[0]) Ry(r[1]) Rz(r[2]) with the usual
 *   right-handed elementary matrices (Rx(a) = [[1,0,0],[0,cos a,-sin a],[0,sin a,cos a]], ...);
 *   OpenFace calls this "XYZ convention, left-handed positive sign" because the camera frame has
 *   y down. Euler angles come back with OpenFace's extraction: ry = asin(R02), rx = atan2(-R12,
 *   R22), rz = atan2(-R01, R00) (its quaternion form is algebraically the same).
 * Signs, for a camera that does not mirror (a selfie preview that is mirrored flips yaw and roll):
 * - pose_Rx > 0: head pitched down (nose moves down in the image, chin towards the chest).
 * - pose_Ry > 0: head turned to its own right (nose moves towards the image left); a head turned
 *   to its own left gives pose_Ry < 0.
 * - pose_Rz > 0: head tilted towards its own left shoulder (the face turns clockwise on screen).
 *
 * The generic shape: 68 points picked from MediaPipe's canonical face model (file
 * mediapipe/modules/face_geometry/data/canonical_face_model.obj of google/mediapipe, Copyright
 * Google LLC, Apache License 2.0; the face-geometry model of Kartynnik et al., "Real-time Facial
 * Surface Geometry from Monocular Video on Mobile GPUs", CVPR Workshops 2019, arXiv:1907.06724).
 * The obj is metric (cm). Modifications, made once offline and stored as the table in mim-pose.c
 * (whose rows name their MediaPipe vertices): each iBUG point is one mesh vertex or the mean of
 * two (the correspondence follows the face-mesh regions and agrees with P. Yan's published
 * MediaPipe-to-dlib table except at jaw point 13, made the mirror of point 3); the subject's left
 * half is the exact mirror of the right half; cm -> mm; axes (x, -y, -z) to the frame above;
 * multiplied by Rx(-3.6 degrees); centred on the 68-point mean. The -3.6 degrees put the model's
 * "looking at the camera" orientation where OpenFace's is: it is the pitch that best aligns this
 * shape with OpenFace 2.2's in-the-wild PDM mean shape under the fit weights below (a measured
 * angle; no OpenFace data is included). Apache-2.0 terms for this derived table: keep this
 * notice and the licence with redistributions (compatible with the project's GPL-3.0-or-later).
 *
 * Points are weighted by how rigid they are on a moving face (an AU tool sees strong
 * expressions): eye corners and nose 1, eyelids 0.5, brows 0.3, jaw contour 0.25 (a silhouette,
 * not a fixed point on the skull), outer lips 0.2, inner lips 0. mim_head_pose_weights() returns
 * the table.
 *
 * Compared with OpenFace, whose PnP uses its own 3-D shape adapted to each face: running this same
 * fit with OpenFace's mean shape instead of this one on the 65 dlib faces of the test fixtures
 * gives pitch 1.2 degrees higher on average, |yaw| 7 % larger (22.6 against 21.0 degrees mean),
 * roll within 0.5 degrees and Tz 3.5 % smaller (this shape is a little larger under the fit
 * weights; depth scales with the model's size). OpenFace's own non-rigid fit differs again, so
 * treat a few degrees and a few per cent as the expected disagreement. Everything is computed in
 * double; nothing allocates; the functions are reentrant.
 */
#pragma once

#define MIM_POSE_N_POINTS 68

typedef struct {
    double fx, fy; /* focal lengths, pixels */
    double cx, cy; /* optical centre, pixels (same pixel grid as the landmarks) */
} mim_camera;

/* OpenFace's guess for an unknown camera (SequenceCapture/ImageCapture::SetCameraIntrinsics):
 * fx = fy = (500 width/640 + 500 height/480) / 2, cx = width/2, cy = height/2. */
void mim_camera_guess(int width, int height, mim_camera *cam);

typedef struct {
    double t[3];  /* pose_Tx, Ty, Tz: the model centroid in the camera frame, mm */
    double r[3];  /* pose_Rx, Ry, Rz: Euler angles, radians, R = Rx Ry Rz (see above) */
    float rms_px; /* weighted reprojection RMS, pixels: sqrt(sum w |e|^2 / sum w) over the points
                     with weight > 0 */
} mim_head_pose;

/* Fits the generic shape to xy68 (68,2) (pixels, dlib/iBUG order) seen by cam. init (may be NULL,
 * may be the same struct as out) is a starting pose, e.g. the previous frame's: it is used when
 * its reprojection error is lower than the weak-perspective start's, so a stale or garbage init
 * costs nothing but time. Returns 0, or -1 with *out untouched on degenerate input: a non-finite
 * coordinate or camera value, a non-positive focal length, a collapsed point set (spanning under a
 * milliradian) or a collinear one, or a fit that ends behind the camera. About 15 us per call at
 * -O2 (5 us from the previous frame's pose). */
int mim_head_pose_estimate(const float *xy68, const mim_camera *cam, const mim_head_pose *init,
                           mim_head_pose *out);

/* R (3,3) row-major = Rx(r[0]) Ry(r[1]) Rz(r[2]) of p. */
void mim_head_pose_rotation(const mim_head_pose *p, double R[9]);

/* The inverse: p->r from a rotation matrix R (3,3) row-major, with OpenFace's extraction
 * (r[1] in [-pi/2, pi/2]). t and rms_px are left alone. */
void mim_head_pose_set_rotation(mim_head_pose *p, const double R[9]);

/* Projects n model-frame points X3 (n,3) in mm into the image: xy (n,2) pixels. For drawing pose
 * axes (e.g. X3 = {0,0,0, 50,0,0, 0,50,0, 0,0,50}) and for tests. A point at or behind the
 * camera plane (Z <= 0) gives NAN. */
void mim_head_pose_project(const mim_head_pose *p, const mim_camera *cam, const double *X3, int n,
                           float *xy);

/* The generic shape (68,3), mm, model frame; static storage. */
const float *mim_head_pose_model(void);
/* The fit weights (68); static storage. */
const float *mim_head_pose_weights(void);
