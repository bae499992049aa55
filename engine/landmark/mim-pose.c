/* mim-pose.c: head pose from 68 landmarks, OpenFace 2.2's convention (see mim-pose.h).
 *
 * The fit: a weak-perspective start (affine least squares, rows orthonormalised) and then
 * Levenberg-Marquardt on (rotation, translation), with the rotation updated on the left by the
 * exponential of a small axis-angle step, minimising sum_i w_i |project(R X_i + t) - x_i|^2 in
 * pixels. Six unknowns and 60 weighted points: each iteration is one pass over the points and a
 * 6x6 Cholesky solve.
 */
#include "mim-pose.h"

#include "mim.h"

#include <math.h>
#include <string.h>

/* The generic shape, mm (see mim-pose.h for the source and the offline steps). Each row names the
 * vertices of MediaPipe's canonical_face_model.obj (0-based) it comes from; "a+b" is their mean. */
static const float pose_model[MIM_POSE_N_POINTS * 3] = {
    -77.43f, -32.23f, 57.82f,  /*  0 jaw: MP 127 */
    -76.64f, -15.07f, 61.06f,  /*  1: MP 234 */
    -75.42f, 2.12f,   59.93f,  /*  2: MP 93 */
    -69.95f, 29.70f,  53.87f,  /*  3: MP 132+58 */
    -63.30f, 45.82f,  44.73f,  /*  4: MP 58+172 */
    -50.85f, 61.31f,  24.69f,  /*  5: MP 136 */
    -40.69f, 68.68f,  12.10f,  /*  6: MP 150 */
    -23.09f, 77.42f,  -5.33f,  /*  7: MP 176 */
    0.00f,   81.29f,  -12.14f, /*  8 chin: MP 152 */
    23.09f,  77.42f,  -5.33f,  /*  9: MP 400 */
    40.69f,  68.68f,  12.10f,  /* 10: MP 379 */
    50.85f,  61.31f,  24.69f,  /* 11: MP 365 */
    63.30f,  45.82f,  44.73f,  /* 12: MP 288+397 */
    69.95f,  29.70f,  53.87f,  /* 13: MP 361+288 */
    75.42f,  2.12f,   59.93f,  /* 14: MP 323 */
    76.64f,  -15.07f, 61.06f,  /* 15: MP 454 */
    77.43f,  -32.23f, 57.82f,  /* 16: MP 356 */
    -57.21f, -54.12f, 10.75f,  /* 17 right brow, outer: MP 70 */
    -49.86f, -60.17f, 1.90f,   /* 18: MP 63 */
    -39.87f, -63.68f, -5.04f,  /* 19: MP 105 */
    -27.60f, -63.94f, -10.53f, /* 20: MP 66 */
    -13.96f, -63.24f, -13.58f, /* 21 right brow, inner: MP 107 */
    13.96f,  -63.24f, -13.58f, /* 22 left brow, inner: MP 336 */
    27.60f,  -63.94f, -10.53f, /* 23: MP 296 */
    39.87f,  -63.68f, -5.04f,  /* 24: MP 334 */
    49.86f,  -60.17f, 1.90f,   /* 25: MP 293 */
    57.21f,  -54.12f, 10.75f,  /* 26 left brow, outer: MP 300 */
    0.00f,   -42.01f, -16.88f, /* 27 nose bridge, top: MP 168+6 */
    0.00f,   -27.90f, -28.13f, /* 28: MP 197+195 */
    0.00f,   -18.08f, -35.73f, /* 29: MP 5 */
    0.00f,   -10.02f, -39.68f, /* 30 nose tip: MP 4 */
    -10.44f, 1.18f,   -21.11f, /* 31 nostril base: MP 75 */
    -5.97f,  6.53f,   -23.49f, /* 32: MP 97 */
    0.00f,   7.16f,   -25.45f, /* 33 subnasale: MP 2 */
    5.97f,   6.53f,   -23.49f, /* 34: MP 326 */
    10.44f,  1.18f,   -21.11f, /* 35: MP 305 */
    -44.46f, -38.46f, 6.33f,   /* 36 right eye, outer corner: MP 33 */
    -36.70f, -41.44f, 1.00f,   /* 37: MP 160 */
    -27.24f, -41.87f, -0.45f,  /* 38: MP 158 */
    -18.56f, -38.04f, 0.45f,   /* 39 right eye, inner corner: MP 133 */
    -27.24f, -35.37f, 0.08f,   /* 40: MP 153 */
    -36.70f, -35.72f, 1.53f,   /* 41: MP 144 */
    18.56f,  -38.04f, 0.45f,   /* 42 left eye, inner corner: MP 362 */
    27.24f,  -41.87f, -0.45f,  /* 43: MP 385 */
    36.70f,  -41.44f, 1.00f,   /* 44: MP 387 */
    44.46f,  -38.46f, 6.33f,   /* 45 left eye, outer corner: MP 263 */
    36.70f,  -35.72f, 1.53f,   /* 46: MP 373 */
    27.24f,  -35.37f, 0.08f,   /* 47: MP 380 */
    -24.56f, 30.77f,  -9.15f,  /* 48 mouth corner, right: MP 61 */
    -14.32f, 21.61f,  -20.72f, /* 49: MP 39 */
    -7.11f,  19.66f,  -24.42f, /* 50: MP 37 */
    0.00f,   20.36f,  -25.49f, /* 51 upper lip, top: MP 0 */
    7.11f,   19.66f,  -24.42f, /* 52: MP 267 */
    14.32f,  21.61f,  -20.72f, /* 53: MP 269 */
    24.56f,  30.77f,  -9.15f,  /* 54 mouth corner, left: MP 291 */
    18.39f,  35.28f,  -14.85f, /* 55: MP 321 */
    7.00f,   39.51f,  -21.37f, /* 56: MP 314 */
    0.00f,   40.19f,  -22.29f, /* 57 lower lip, bottom: MP 17 */
    -7.00f,  39.51f,  -21.37f, /* 58: MP 84 */
    -18.39f, 35.28f,  -14.85f, /* 59: MP 91 */
    -21.53f, 30.26f,  -6.66f,  /* 60 inner corner, right: MP 78 */
    -5.33f,  26.75f,  -17.46f, /* 61: MP 82 */
    0.00f,   26.71f,  -18.27f, /* 62: MP 13 */
    5.33f,   26.75f,  -17.46f, /* 63: MP 312 */
    21.53f,  30.26f,  -6.66f,  /* 64 inner corner, left: MP 308 */
    5.83f,   31.86f,  -19.80f, /* 65: MP 317 */
    0.00f,   32.06f,  -20.47f, /* 66: MP 14 */
    -5.83f,  31.86f,  -19.80f, /* 67: MP 87 */
};

/* Rigid points count most; points that move with expressions or are silhouettes count less. */
static const float pose_weights[MIM_POSE_N_POINTS] = {
    0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f,       /* 0-8 jaw */
    0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f, 0.25f,              /* 9-16 jaw */
    0.3f,  0.3f,  0.3f,  0.3f,  0.3f,  0.3f,  0.3f,  0.3f,  0.3f,  0.3f, /* 17-26 brows */
    1.0f,  1.0f,  1.0f,  1.0f,                                           /* 27-30 nose bridge */
    1.0f,  1.0f,  1.0f,  1.0f,  1.0f,                                    /* 31-35 nostril base */
    1.0f,  0.5f,  0.5f,  1.0f,  0.5f,  0.5f,                             /* 36-41 right eye */
    1.0f,  0.5f,  0.5f,  1.0f,  0.5f,  0.5f,                             /* 42-47 left eye */
    0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,                             /* 48-53 outer lip */
    0.2f,  0.2f,  0.2f,  0.2f,  0.2f,  0.2f,                             /* 54-59 outer lip */
    0.0f,  0.0f,  0.0f,  0.0f,  0.0f,  0.0f,  0.0f,  0.0f,               /* 60-67 inner lip */
};

#define LM_MAX_ITER   40
#define LM_LAMBDA_MAX 1e10

const float *mim_head_pose_model(void)
{
    return pose_model;
}

const float *mim_head_pose_weights(void)
{
    return pose_weights;
}

void mim_camera_guess(int width, int height, mim_camera *cam)
{
    MIM_ASSERT(cam);
    /* one focal length for both axes: the mean of the two per-axis guesses */
    double f = 0.5 * (500.0 * (width / 640.0) + 500.0 * (height / 480.0));
    cam->fx = f;
    cam->fy = f;
    cam->cx = width / 2.0;
    cam->cy = height / 2.0;
}

static void euler_to_matrix(const double r[3], double R[9])
{
    double s1 = sin(r[0]), c1 = cos(r[0]);
    double s2 = sin(r[1]), c2 = cos(r[1]);
    double s3 = sin(r[2]), c3 = cos(r[2]);
    /* Rx(r0) Ry(r1) Rz(r2), multiplied out */
    R[0] = c2 * c3, R[1] = -c2 * s3, R[2] = s2;
    R[3] = c1 * s3 + s1 * s2 * c3, R[4] = c1 * c3 - s1 * s2 * s3, R[5] = -s1 * c2;
    R[6] = s1 * s3 - c1 * s2 * c3, R[7] = s1 * c3 + c1 * s2 * s3, R[8] = c1 * c2;
}

void mim_head_pose_rotation(const mim_head_pose *p, double R[9])
{
    MIM_ASSERT(p && R);
    euler_to_matrix(p->r, R);
}

void mim_head_pose_set_rotation(mim_head_pose *p, const double R[9])
{
    MIM_ASSERT(p && R);
    /* R02 = sin ry; R12 / R22 = -tan rx; R01 / R00 = -tan rz (cos ry > 0 divides out) */
    p->r[0] = atan2(-R[5], R[8]);
    p->r[1] = asin(fmax(-1.0, fmin(1.0, R[2])));
    p->r[2] = atan2(-R[1], R[0]);
}

void mim_head_pose_project(const mim_head_pose *p, const mim_camera *cam, const double *X3, int n,
                           float *xy)
{
    MIM_ASSERT(p && cam && (n == 0 || (X3 && xy)));
    double R[9];
    euler_to_matrix(p->r, R);
    for (int i = 0; i < n; i++) {
        const double *X = X3 + 3 * i;
        double x = R[0] * X[0] + R[1] * X[1] + R[2] * X[2] + p->t[0];
        double y = R[3] * X[0] + R[4] * X[1] + R[5] * X[2] + p->t[1];
        double z = R[6] * X[0] + R[7] * X[1] + R[8] * X[2] + p->t[2];
        if (z > 0) {
            xy[2 * i] = (float)(cam->fx * x / z + cam->cx);
            xy[2 * i + 1] = (float)(cam->fy * y / z + cam->cy);
        } else {
            xy[2 * i] = xy[2 * i + 1] = NAN;
        }
    }
}

/* ---- the fit ------------------------------------------------------------------------------- */

/* The problem: landmarks in pixels, the camera, and the model points in double. */
typedef struct {
    double X[MIM_POSE_N_POINTS][3];
    double x[MIM_POSE_N_POINTS][2];
    double w[MIM_POSE_N_POINTS];
    double fx, fy, cx, cy;
    double w_sum;
} pose_problem;

static void cross3(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static double norm3(const double a[3])
{
    return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
}

/* Weighted cost sum w |e|^2 of pose (R,t); with H and g also the Gauss-Newton normal equations
 * H = sum w J^T J (6x6, row-major, only the upper triangle filled) and g = sum w J^T e, J the
 * derivative of the pixel residual e with respect to (omega, dt) where R <- exp([omega]x) R and
 * t <- t + dt. INFINITY when a weighted point is not in front of the camera. */
static double pose_cost(const pose_problem *pp, const double R[9], const double t[3], double *H,
                        double *g)
{
    double cost = 0;
    if (H) {
        memset(H, 0, 36 * sizeof *H);
        memset(g, 0, 6 * sizeof *g);
    }
    for (int i = 0; i < MIM_POSE_N_POINTS; i++) {
        double w = pp->w[i];
        if (w == 0)
            continue;
        const double *X = pp->X[i];
        double a[3] = {R[0] * X[0] + R[1] * X[1] + R[2] * X[2],
                       R[3] * X[0] + R[4] * X[1] + R[5] * X[2],
                       R[6] * X[0] + R[7] * X[1] + R[8] * X[2]};
        double P[3] = {a[0] + t[0], a[1] + t[1], a[2] + t[2]};
        if (!(P[2] > 0))
            return INFINITY;
        double iz = 1.0 / P[2];
        double e[2] = {pp->fx * P[0] * iz + pp->cx - pp->x[i][0],
                       pp->fy * P[1] * iz + pp->cy - pp->x[i][1]};
        cost += w * (e[0] * e[0] + e[1] * e[1]);
        if (!H)
            continue;
        /* d e / d P for each image axis; a step (omega, dt) moves P by omega x a + dt, so
         * d e / d omega = a x (d e / d P) and d e / d dt = d e / d P */
        double dP[2][3] = {{pp->fx * iz, 0, -pp->fx * P[0] * iz * iz},
                           {0, pp->fy * iz, -pp->fy * P[1] * iz * iz}};
        for (int k = 0; k < 2; k++) {
            double J[6];
            cross3(a, dP[k], J);
            J[3] = dP[k][0], J[4] = dP[k][1], J[5] = dP[k][2];
            for (int r = 0; r < 6; r++) {
                g[r] += w * J[r] * e[k];
                for (int c = r; c < 6; c++)
                    H[6 * r + c] += w * J[r] * J[c];
            }
        }
    }
    return cost;
}

/* Solves A x = b for a symmetric positive definite 6x6 A given by its upper triangle (Cholesky).
 * Returns -1 if A is not numerically positive definite. */
static int solve6(const double *A, const double *b, double *x)
{
    double L[6][6] = {{0}};
    for (int j = 0; j < 6; j++) {
        double d = A[6 * j + j];
        for (int k = 0; k < j; k++)
            d -= L[j][k] * L[j][k];
        if (!(d > 0))
            return -1;
        L[j][j] = sqrt(d);
        for (int i = j + 1; i < 6; i++) {
            double s = A[6 * j + i];
            for (int k = 0; k < j; k++)
                s -= L[i][k] * L[j][k];
            L[i][j] = s / L[j][j];
        }
    }
    double y[6];
    for (int i = 0; i < 6; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++)
            s -= L[i][k] * y[k];
        y[i] = s / L[i][i];
    }
    for (int i = 5; i >= 0; i--) {
        double s = y[i];
        for (int k = i + 1; k < 6; k++)
            s -= L[k][i] * x[k];
        x[i] = s / L[i][i];
    }
    return 0;
}

/* R <- exp([omega]x) R (Rodrigues' formula). */
static void rotate_left(const double omega[3], double R[9])
{
    double th = norm3(omega), E[9];
    double k[3] = {0, 0, 0}, s = 0, c1 = 0;
    if (th > 0) {
        k[0] = omega[0] / th, k[1] = omega[1] / th, k[2] = omega[2] / th;
        s = sin(th), c1 = 1 - cos(th);
    }
    /* E = I + s K + c1 K^2, K = [k]x, K^2 = k k^T - I */
    E[0] = 1 + c1 * (k[0] * k[0] - 1), E[1] = -s * k[2] + c1 * k[0] * k[1];
    E[2] = s * k[1] + c1 * k[0] * k[2], E[3] = s * k[2] + c1 * k[1] * k[0];
    E[4] = 1 + c1 * (k[1] * k[1] - 1), E[5] = -s * k[0] + c1 * k[1] * k[2];
    E[6] = -s * k[1] + c1 * k[2] * k[0], E[7] = s * k[0] + c1 * k[2] * k[1];
    E[8] = 1 + c1 * (k[2] * k[2] - 1);
    double out[9];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            out[3 * r + c] = E[3 * r] * R[c] + E[3 * r + 1] * R[3 + c] + E[3 * r + 2] * R[6 + c];
    memcpy(R, out, sizeof out);
}

/* Inverse of a 3x3 matrix by its adjugate (the transposed cofactors). -1 if singular. */
static int invert3(const double A[9], double Ai[9])
{
    double C[9]; /* cofactors, C[3 r + c] of A[3 r + c] */
    C[0] = A[4] * A[8] - A[5] * A[7];
    C[1] = A[5] * A[6] - A[3] * A[8];
    C[2] = A[3] * A[7] - A[4] * A[6];
    C[3] = A[2] * A[7] - A[1] * A[8];
    C[4] = A[0] * A[8] - A[2] * A[6];
    C[5] = A[1] * A[6] - A[0] * A[7];
    C[6] = A[1] * A[5] - A[2] * A[4];
    C[7] = A[2] * A[3] - A[0] * A[5];
    C[8] = A[0] * A[4] - A[1] * A[3];
    double det = A[0] * C[0] + A[1] * C[1] + A[2] * C[2];
    if (!(fabs(det) > 0))
        return -1;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            Ai[3 * r + c] = C[3 * c + r] / det;
    return 0;
}

/* Weak-perspective start: in normalised image coordinates u = ((x - cx)/fx, (y - cy)/fy), fit
 * u - u0 = M (X - X0) (weighted least squares, M 2x3; u0, X0 weighted centroids), then M = s [r1;
 * r2] with r1, r2 made orthonormal symmetrically, r3 = r1 x r2, and the centroid X0 placed at depth
 * 1/s on the ray through u0. -1 when the points span under a milliradian or the rows of M are
 * parallel (a collapsed or collinear point set). */
static int pose_weak_perspective(const pose_problem *pp, double R[9], double t[3])
{
    double u0[2] = {0, 0}, X0[3] = {0, 0, 0};
    for (int i = 0; i < MIM_POSE_N_POINTS; i++) {
        double w = pp->w[i] / pp->w_sum;
        u0[0] += w * (pp->x[i][0] - pp->cx) / pp->fx;
        u0[1] += w * (pp->x[i][1] - pp->cy) / pp->fy;
        for (int k = 0; k < 3; k++)
            X0[k] += w * pp->X[i][k];
    }
    double A[9] = {0}, B[2][3] = {{0}}, spread = 0;
    for (int i = 0; i < MIM_POSE_N_POINTS; i++) {
        double w = pp->w[i];
        double d[3] = {pp->X[i][0] - X0[0], pp->X[i][1] - X0[1], pp->X[i][2] - X0[2]};
        double u[2] = {(pp->x[i][0] - pp->cx) / pp->fx - u0[0],
                       (pp->x[i][1] - pp->cy) / pp->fy - u0[1]};
        spread += w * (u[0] * u[0] + u[1] * u[1]);
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++)
                A[3 * r + c] += w * d[r] * d[c];
            B[0][r] += w * u[0] * d[r];
            B[1][r] += w * u[1] * d[r];
        }
    }
    /* a face that spans less than a milliradian (half a pixel at f = 500) has no pose; this also
     * keeps rounding noise of coinciding points from passing for a shape */
    if (!(sqrt(spread / pp->w_sum) > 1e-3))
        return -1;
    double Ai[9], m[2][3];
    if (invert3(A, Ai))
        return -1;
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < 3; r++)
            m[k][r] = Ai[3 * r] * B[k][0] + Ai[3 * r + 1] * B[k][1] + Ai[3 * r + 2] * B[k][2];
    double s1 = norm3(m[0]), s2 = norm3(m[1]);
    if (!(s1 > 0 && s2 > 0))
        return -1;
    /* the nearest orthonormal pair to the unit rows a, b keeps their bisectors: r1, r2 =
     * (p +- q)/sqrt 2 with p, q the unit vectors along a + b and a - b */
    double p[3], q[3];
    for (int k = 0; k < 3; k++)
        p[k] = m[0][k] / s1 + m[1][k] / s2, q[k] = m[0][k] / s1 - m[1][k] / s2;
    double np = norm3(p), nq = norm3(q);
    if (!(np > 1e-6 && nq > 1e-6))
        return -1;
    for (int k = 0; k < 3; k++) {
        R[k] = (p[k] / np + q[k] / nq) / sqrt(2.0);
        R[3 + k] = (p[k] / np - q[k] / nq) / sqrt(2.0);
    }
    cross3(R, R + 3, R + 6);
    double z = 2.0 / (s1 + s2); /* depth of X0: image scale = 1/z */
    double RX0[3];
    for (int k = 0; k < 3; k++)
        RX0[k] = R[3 * k] * X0[0] + R[3 * k + 1] * X0[1] + R[3 * k + 2] * X0[2];
    t[0] = u0[0] * z - RX0[0];
    t[1] = u0[1] * z - RX0[1];
    t[2] = z - RX0[2];
    return 0;
}

/* Levenberg-Marquardt from (R,t), in place. Returns the final cost. */
static double pose_refine(const pose_problem *pp, double R[9], double t[3])
{
    double H[36], g[6], Hn[36], gn[6];
    double cost = pose_cost(pp, R, t, H, g);
    double lambda = 1e-3;
    for (int it = 0; it < LM_MAX_ITER && isfinite(cost); it++) {
        double A[36], step[6], neg_g[6];
        memcpy(A, H, sizeof A);
        for (int k = 0; k < 6; k++) {
            A[7 * k] += lambda * H[7 * k] + 1e-12; /* Marquardt: damp each unknown on its scale */
            neg_g[k] = -g[k];
        }
        if (solve6(A, neg_g, step)) {
            lambda *= 10;
            if (lambda > LM_LAMBDA_MAX)
                break;
            continue;
        }
        /* the decrease the linearised model promises, -(2 g.step + step.H.step): at a minimum
         * it vanishes and no trial step is worth a pass over the points */
        double pred = 0;
        for (int r = 0; r < 6; r++) {
            pred -= 2 * g[r] * step[r] + H[7 * r] * step[r] * step[r];
            for (int c = r + 1; c < 6; c++)
                pred -= 2 * H[6 * r + c] * step[r] * step[c];
        }
        if (pred <= 1e-10 * cost + 1e-14 * pp->w_sum)
            break;
        double Rn[9], tn[3] = {t[0] + step[3], t[1] + step[4], t[2] + step[5]};
        memcpy(Rn, R, sizeof Rn);
        rotate_left(step, Rn);
        double cn = pose_cost(pp, Rn, tn, Hn, gn);
        if (cn < cost) {
            double gain = cost - cn;
            memcpy(R, Rn, sizeof Rn), memcpy(t, tn, sizeof tn);
            memcpy(H, Hn, sizeof H), memcpy(g, gn, sizeof g);
            cost = cn;
            lambda = fmax(lambda * 0.1, 1e-9);
            if (gain <= 1e-10 * cost + 1e-14 * pp->w_sum)
                break; /* converged: the cost no longer moves */
        } else {
            lambda *= 10;
            if (lambda > LM_LAMBDA_MAX)
                break; /* no step along the gradient lowers the cost: a minimum */
        }
    }
    return cost;
}

static int pose_finite(const mim_head_pose *p)
{
    for (int k = 0; k < 3; k++)
        if (!isfinite(p->t[k]) || !isfinite(p->r[k]))
            return 0;
    return 1;
}

int mim_head_pose_estimate(const float *xy68, const mim_camera *cam, const mim_head_pose *init,
                           mim_head_pose *out)
{
    MIM_ASSERT(xy68 && cam && out);
    if (!(isfinite(cam->fx) && isfinite(cam->fy) && isfinite(cam->cx) && isfinite(cam->cy) &&
          cam->fx > 0 && cam->fy > 0))
        return -1;
    pose_problem pp = {.fx = cam->fx, .fy = cam->fy, .cx = cam->cx, .cy = cam->cy};
    for (int i = 0; i < MIM_POSE_N_POINTS; i++) {
        if (!isfinite(xy68[2 * i]) || !isfinite(xy68[2 * i + 1]))
            return -1;
        pp.x[i][0] = xy68[2 * i], pp.x[i][1] = xy68[2 * i + 1];
        for (int k = 0; k < 3; k++)
            pp.X[i][k] = pose_model[3 * i + k];
        pp.w[i] = pose_weights[i];
        pp.w_sum += pp.w[i];
    }

    double R[9], t[3];
    if (pose_weak_perspective(&pp, R, t))
        return -1;
    /* a usable init that already fits better saves iterations and keeps tracking continuous */
    if (init && pose_finite(init) && init->t[2] > 0) {
        double Ri[9], ti[3] = {init->t[0], init->t[1], init->t[2]};
        euler_to_matrix(init->r, Ri);
        if (pose_cost(&pp, Ri, ti, NULL, NULL) < pose_cost(&pp, R, t, NULL, NULL))
            memcpy(R, Ri, sizeof R), memcpy(t, ti, sizeof t);
    }
    double cost = pose_refine(&pp, R, t);

    mim_head_pose res = {.t = {t[0], t[1], t[2]}};
    mim_head_pose_set_rotation(&res, R);
    res.rms_px = (float)sqrt(cost / pp.w_sum);
    if (!isfinite(cost) || !pose_finite(&res) || !(res.t[2] > 0))
        return -1;
    *out = res;
    return 0;
}
