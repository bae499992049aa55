/* mim-facegen.c: AU-driven landmark displacement and the piecewise-affine face warp. See
 * mim-facegen.h. */
#include "mim-facegen.h"

#include <math.h>
#include <string.h>

#include "mim.h"

const int mim_facegen_aus[MIM_FACEGEN_N_AU] = {1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26, 45};

int mim_facegen_au_index(int au)
{
    for (int i = 0; i < MIM_FACEGEN_N_AU; i++)
        if (mim_facegen_aus[i] == au)
            return i;
    return -1;
}

/* ---- the face frame ----------------------------------------------------------------------- */

int mim_facegen_face_frame(const float *xy68, mim_facegen_frame *frame)
{
    double e[2][2] = {{0, 0}, {0, 0}};
    for (int k = 0; k < MIM_FACEGEN_N_LANDMARKS; k++) {
        if (!isfinite(xy68[2 * k]) || !isfinite(xy68[2 * k + 1]))
            return -1;
        if (k >= 36 && k < 48) {
            e[k >= 42][0] += xy68[2 * k] / 6.0;
            e[k >= 42][1] += xy68[2 * k + 1] / 6.0;
        }
    }
    double dx = e[1][0] - e[0][0], dy = e[1][1] - e[0][1], iod = hypot(dx, dy);
    if (!(iod >= 1e-3))
        return -1;
    frame->origin[0] = 0.5 * (e[0][0] + e[1][0]);
    frame->origin[1] = 0.5 * (e[0][1] + e[1][1]);
    frame->axis[0] = dx / iod;
    frame->axis[1] = dy / iod;
    frame->iod = iod;
    return 0;
}

/* pixels -> face frame (u along the eye axis, v down the face, in IOD) and back */
static void to_face(const mim_facegen_frame *f, double x, double y, double *u, double *v)
{
    double px = x - f->origin[0], py = y - f->origin[1];
    *u = (px * f->axis[0] + py * f->axis[1]) / f->iod;
    *v = (-px * f->axis[1] + py * f->axis[0]) / f->iod;
}

static void from_face(const mim_facegen_frame *f, double u, double v, double *x, double *y)
{
    *x = f->origin[0] + f->iod * (u * f->axis[0] - v * f->axis[1]);
    *y = f->origin[1] + f->iod * (u * f->axis[1] + v * f->axis[0]);
}

/* ---- displacements ------------------------------------------------------------------------ */

/* iBUG 68 left-right pairs: point i's mirror image is mirror68[i] (midline points map to
 * themselves). */
static const int mirror68[MIM_FACEGEN_N_LANDMARKS] = {
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4, 3, 2, 1, 0, /* jaw */
    26, 25, 24, 23, 22, 21, 20, 19, 18, 17,                        /* brows */
    27, 28, 29, 30, 35, 34, 33, 32, 31,                            /* nose */
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,                /* eyes */
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,                /* outer lips */
    64, 63, 62, 61, 60, 67, 66, 65,                                /* inner lips */
};

/* One landmark's movement at intensity 5, in IOD: `out` away from the face's midline (ignored
 * on midline points), `up` toward the brows. Listed for the image-left half (the subject's right:
 * jaw 0..7, brow 17..21, eye 36..41, lip corner 48/60) and the midline; the mirror point gets
 * the mirrored movement. */
typedef struct {
    int point;
    float out, up;
} move;

typedef struct {
    int au;
    const move *moves;
    int n_moves;
} au_moves;

/* AU1 inner brow raiser (frontalis, medial): the inner ends of the brows rise most. */
static const move au1[] = {
    {21, 0, 0.12f}, {20, 0, 0.09f}, {19, 0, 0.05f}, {18, 0, 0.025f}, {17, 0, 0.01f},
};
/* AU2 outer brow raiser (frontalis, lateral): the outer halves of the brows rise. */
static const move au2[] = {
    {17, 0.01f, 0.11f}, {18, 0, 0.11f}, {19, 0, 0.08f}, {20, 0, 0.04f}, {21, 0, 0.01f},
};
/* AU4 brow lowerer (corrugator, depressor supercilii): brows down and drawn together, most at
 * the inner ends; the lid folds follow a little. */
static const move au4[] = {
    {21, -0.06f, -0.08f}, {20, -0.045f, -0.07f}, {19, -0.03f, -0.05f}, {18, -0.015f, -0.035f},
    {17, 0, -0.02f},      {37, 0, -0.01f},       {38, 0, -0.01f},
};
/* AU5 upper lid raiser (levator palpebrae): the upper lids rise, widening the eyes. */
static const move au5[] = {
    {37, 0, 0.05f},
    {38, 0, 0.05f},
};
/* AU6 cheek raiser (orbicularis oculi, orbital part): cheeks and lower lids up, the eye
 * narrowed from below, the outer eye corners and the lateral brow pulled in. */
static const move au6[] = {
    {41, 0, 0.06f},   {40, 0, 0.06f},   {36, 0, 0.02f},  {39, 0, 0.01f},
    {37, 0, -0.015f}, {38, 0, -0.015f}, {17, 0, -0.02f}, {1, 0, 0.04f},
    {2, 0, 0.04f},    {3, 0, 0.02f},    {31, 0, 0.01f},  {48, 0, 0.01f},
};
/* AU9 nose wrinkler (levator labii superioris alaeque nasi): the nose wings and the upper lip
 * up, the inner brows down, the lower lids pushed up. */
static const move au9[] = {
    {31, 0.01f, 0.05f}, {32, 0, 0.045f},      {33, 0, 0.04f},  {30, 0, 0.03f},  {29, 0, 0.02f},
    {28, 0, 0.01f},     {21, -0.02f, -0.04f}, {20, 0, -0.02f}, {50, 0, 0.05f},  {51, 0, 0.05f},
    {49, 0, 0.04f},     {61, 0, 0.04f},       {62, 0, 0.04f},  {48, 0, 0.015f}, {60, 0, 0.02f},
    {41, 0, 0.02f},     {40, 0, 0.02f},       {39, 0, 0.01f},
};
/* AU12 lip corner puller (zygomaticus major): the corners up and out along the cheek, the lips
 * stretched into a curve that rises toward the corners, the cheeks bulging. */
static const move au12[] = {
    {48, 0.13f, 0.15f},   {60, 0.12f, 0.15f}, {49, 0.06f, 0.09f}, {59, 0.07f, 0.10f},
    {61, 0.05f, 0.07f},   {67, 0.05f, 0.07f}, {50, 0.02f, 0.04f}, {58, 0.02f, 0.05f},
    {51, 0, 0.02f},       {57, 0, 0.035f},    {62, 0, 0.025f},    {66, 0, 0.03f},
    {31, 0.015f, 0.015f}, {3, 0.02f, 0},      {4, 0.015f, 0},     {41, 0, 0.02f},
    {40, 0, 0.02f},       {1, 0, 0.015f},     {2, 0, 0.015f},
};
/* AU15 lip corner depressor (depressor anguli oris): the corners pulled down. */
static const move au15[] = {
    {48, 0.02f, -0.08f}, {60, 0.015f, -0.07f}, {49, 0, -0.025f}, {59, 0, -0.05f},
    {61, 0, -0.02f},     {67, 0, -0.035f},     {58, 0, -0.02f},
};
/* AU17 chin raiser (mentalis): the chin boss and the lower lip pushed up, the upper lip a
 * little with it, the corners slightly down (the mouth's inverted U). */
static const move au17[] = {
    {8, 0, 0.06f},  {7, 0, 0.05f},   {6, 0, 0.03f},   {5, 0, 0.01f},
    {57, 0, 0.06f}, {58, 0, 0.055f}, {59, 0, 0.04f},  {66, 0, 0.035f},
    {67, 0, 0.03f}, {62, 0, 0.03f},  {61, 0, 0.025f}, {51, 0, 0.025f},
    {50, 0, 0.02f}, {49, 0, 0.01f},  {48, 0, -0.01f}, {60, 0, -0.005f},
};
/* AU20 lip stretcher (risorius): the corners pulled straight out, the lips flattened. */
static const move au20[] = {
    {48, 0.11f, -0.01f}, {60, 0.10f, -0.01f},  {49, 0.05f, 0}, {59, 0.05f, 0},  {61, 0.05f, 0},
    {67, 0.05f, 0},      {50, 0.02f, -0.005f}, {58, 0.02f, 0}, {51, 0, -0.01f}, {57, 0, 0.01f},
    {62, 0, -0.005f},    {66, 0, 0.005f},      {3, 0.01f, 0},
};
/* AU25 lips part (depressor labii, relaxed mentalis): the lower lip drops, the upper lip lifts
 * a little; the jaw stays. */
static const move au25[] = {
    {62, 0, 0.02f},  {61, 0, 0.015f}, {51, 0, 0.015f},  {50, 0, 0.01f},  {49, 0, 0.005f},
    {66, 0, -0.07f}, {67, 0, -0.06f}, {57, 0, -0.055f}, {58, 0, -0.05f}, {59, 0, -0.035f},
};
/* AU26 jaw drop: the mandible swings down about the jaw joints (the chin most, the contour
 * less toward the ears), taking the lower lip along; the corners follow halfway and narrow. */
static const move au26[] = {
    {8, 0, -0.24f},   {7, -0.01f, -0.23f},  {6, 0, -0.20f},        {5, 0, -0.15f},
    {4, 0, -0.10f},   {3, 0, -0.055f},      {2, 0, -0.02f},        {1, 0, -0.005f},
    {57, 0, -0.20f},  {58, 0, -0.19f},      {59, 0, -0.15f},       {66, 0, -0.19f},
    {67, 0, -0.17f},  {60, -0.02f, -0.06f}, {48, -0.025f, -0.05f}, {49, 0, -0.01f},
    {61, 0, -0.005f}, {62, 0, 0.005f},
};
/* AU45 blink: the lower lids rise a little here; the upper lids close after the sum (in
 * mim_facegen_displace). */
#define AU45_LOWER_LID 0.01
static const move au45[] = {
    {41, 0, AU45_LOWER_LID},
    {40, 0, AU45_LOWER_LID},
};

#define AU_MOVES(n)                                                                                \
    {                                                                                              \
        n, au##n, (int)(sizeof au##n / sizeof au##n[0])                                            \
    }
static const au_moves all_moves[MIM_FACEGEN_N_AU] = {
    AU_MOVES(1),  AU_MOVES(2),  AU_MOVES(4),  AU_MOVES(5),  AU_MOVES(6),
    AU_MOVES(9),  AU_MOVES(12), AU_MOVES(15), AU_MOVES(17), AU_MOVES(20),
    AU_MOVES(25), AU_MOVES(26), AU_MOVES(45),
};

/* Upper-lid / lower-lid pairs and upper / lower inner-lip pairs. */
static const int lid_pairs[4][2] = {{37, 41}, {38, 40}, {43, 47}, {44, 46}};
static const int lip_pairs[3][2] = {{61, 67}, {62, 66}, {63, 65}};
#define MIN_LID_GAP 0.012 /* IOD: a shut eye's lids still show as two edges */

/* the side of a landmark: -1 image-left, +1 image-right, 0 midline */
static int side_of(int k)
{
    if (mirror68[k] == k)
        return 0;
    /* image-left: jaw 0..7, brow 17..21, nostril 31, 32, eye 36..41, lips 48..50, 58..61, 67 */
    static const unsigned char left[MIM_FACEGEN_N_LANDMARKS] = {
        [0] = 1,  [1] = 1,  [2] = 1,  [3] = 1,  [4] = 1,  [5] = 1,  [6] = 1,  [7] = 1,
        [17] = 1, [18] = 1, [19] = 1, [20] = 1, [21] = 1, [31] = 1, [32] = 1, [36] = 1,
        [37] = 1, [38] = 1, [39] = 1, [40] = 1, [41] = 1, [48] = 1, [49] = 1, [50] = 1,
        [58] = 1, [59] = 1, [60] = 1, [61] = 1, [67] = 1,
    };
    return left[k] ? -1 : 1;
}

/* ---- the mesh's ring, the constraints, the safety net ------------------------------------ */

/* The ring in the face frame (u, v of the 68 landmarks -> ru, rv of the 15 ring points). */
static void ring_face(const double *u, const double *v, double *ru, double *rv)
{
    int r = 0;
    /* below and beside the jaw: across the contour (its normal from the neighbours' chord,
     * pointing away from the face: the contour runs from the image-left ear over the chin) */
    for (int j = 0; j <= 16; j += 2, r++) {
        int a = j > 0 ? j - 1 : 0, b = j < 16 ? j + 1 : 16;
        double tu = u[b] - u[a], tv = v[b] - v[a], len = hypot(tu, tv);
        double margin = j == 8 ? 0.5 : 0.35, nu = 0, nv = 1;
        if (len > 1e-9) {
            nu = -tv / len;
            nv = tu / len;
        }
        ru[r] = u[j] + margin * nu;
        rv[r] = v[j] + margin * nv;
    }
    /* above the brows (the forehead), image-right to image-left so the ring stays in order */
    static const struct {
        int point;
        double du, dv;
    } brow[6] = {{26, 0.2, -0.45}, {24, 0, -0.55}, {22, 0, -0.7},
                 {21, 0, -0.7},    {19, 0, -0.55}, {17, -0.2, -0.45}};
    for (int i = 0; i < 6; i++, r++) {
        ru[r] = u[brow[i].point] + brow[i].du;
        rv[r] = v[brow[i].point] + brow[i].dv;
    }
}

int mim_facegen_ring(const float *xy68, float *ring)
{
    mim_facegen_frame f;
    if (mim_facegen_face_frame(xy68, &f))
        return -1;
    double u[MIM_FACEGEN_N_LANDMARKS], v[MIM_FACEGEN_N_LANDMARKS];
    double ru[MIM_FACEGEN_N_RING], rv[MIM_FACEGEN_N_RING];
    for (int k = 0; k < MIM_FACEGEN_N_LANDMARKS; k++)
        to_face(&f, xy68[2 * k], xy68[2 * k + 1], &u[k], &v[k]);
    ring_face(u, v, ru, rv);
    for (int r = 0; r < MIM_FACEGEN_N_RING; r++) {
        double x, y;
        from_face(&f, ru[r], rv[r], &x, &y);
        ring[2 * r] = (float)x;
        ring[2 * r + 1] = (float)y;
    }
    return 0;
}

/* Foreshortening: a face turned away shows one half narrower, and what moves sideways on that
 * half moves less in the picture. Scale of each half (0: image-left, 1: image-right): its width
 * (the midline to the upper jaw contour, points 0..4 / 12..16) over the mean face's (1.071 IOD),
 * kept within 0.25..1.25. */
static void half_scales(const double *u, double scale[2])
{
    static const int midline[] = {8, 27, 28, 29, 30, 33, 51, 57};
    double mid = 0, left = 0, right = 0;
    for (int i = 0; i < 8; i++)
        mid += u[midline[i]] / 8;
    for (int j = 0; j < 5; j++) {
        left += u[j] / 5;
        right += u[16 - j] / 5;
    }
    scale[0] = fmin(fmax((mid - left) / 1.071, 0.25), 1.25);
    scale[1] = fmin(fmax((right - mid) / 1.071, 0.25), 1.25);
}

/* Lids never more than shut, inner lips never crossed (each no further than in the input). */
static void apply_constraints(const double *v0, double *v)
{
    for (int p = 0; p < 4; p++) {
        int up = lid_pairs[p][0], lo = lid_pairs[p][1];
        double floor_gap = fmin(v0[lo] - v0[up], MIN_LID_GAP);
        if (v[lo] - v[up] < floor_gap)
            v[up] = v[lo] - floor_gap;
    }
    for (int p = 0; p < 3; p++) {
        int up = lip_pairs[p][0], lo = lip_pairs[p][1];
        double floor_gap = fmin(v0[lo] - v0[up], 0.0), gap = v[lo] - v[up];
        if (gap < floor_gap) {
            v[up] -= 0.5 * (floor_gap - gap);
            v[lo] += 0.5 * (floor_gap - gap);
        }
    }
}

static double area_uv(const double *u, const double *v, const int *t)
{
    return (u[t[1]] - u[t[0]]) * (v[t[2]] - v[t[0]]) - (v[t[1]] - v[t[0]]) * (u[t[2]] - u[t[0]]);
}

#define MIN_AREA_RATIO 0.2 /* a skin triangle keeps at least this much of its area */
#define DAMP_STEP      0.7
#define DAMP_ROUNDS    40

/* The safety net for faces the mean-shape mesh fits badly (turned heads, low brows): where a
 * skin triangle would keep less than MIN_AREA_RATIO of its area (or flip), the movements of its
 * landmarks shrink by DAMP_STEP, and the check repeats; an opening (eye, mouth) may close to
 * nothing but not turn over further than in the input. Triangles already flipped in the input
 * are left alone. */
static void damp_flips(const double *u0, const double *v0, double *u, double *v)
{
    int n_tri;
    const mim_facegen_triangle *tri = mim_facegen_triangles(&n_tri);
    double su[MIM_FACEGEN_N_VERTICES], sv[MIM_FACEGEN_N_VERTICES];
    double du[MIM_FACEGEN_N_VERTICES], dv[MIM_FACEGEN_N_VERTICES];
    memcpy(su, u0, sizeof(double) * MIM_FACEGEN_N_LANDMARKS);
    memcpy(sv, v0, sizeof(double) * MIM_FACEGEN_N_LANDMARKS);
    ring_face(u0, v0, su + MIM_FACEGEN_N_LANDMARKS, sv + MIM_FACEGEN_N_LANDMARKS);
    memcpy(du + MIM_FACEGEN_N_LANDMARKS, su + MIM_FACEGEN_N_LANDMARKS,
           sizeof(double) * MIM_FACEGEN_N_RING);
    memcpy(dv + MIM_FACEGEN_N_LANDMARKS, sv + MIM_FACEGEN_N_LANDMARKS,
           sizeof(double) * MIM_FACEGEN_N_RING);
    for (int round = 0; round < DAMP_ROUNDS; round++) {
        apply_constraints(v0, v);
        memcpy(du, u, sizeof(double) * MIM_FACEGEN_N_LANDMARKS);
        memcpy(dv, v, sizeof(double) * MIM_FACEGEN_N_LANDMARKS);
        unsigned char damp[MIM_FACEGEN_N_LANDMARKS] = {0};
        int any = 0;
        for (int t = 0; t < n_tri; t++) {
            double a0 = area_uv(su, sv, tri[t].v), a1 = area_uv(du, dv, tri[t].v);
            int bad = tri[t].region == MIM_FACEGEN_SKIN ? a0 > 0 && a1 < MIN_AREA_RATIO * a0
                                                        : a1 < fmin(a0, 0.0) - 1e-9;
            if (!bad)
                continue;
            any = 1;
            for (int i = 0; i < 3; i++)
                if (tri[t].v[i] < MIM_FACEGEN_N_LANDMARKS)
                    damp[tri[t].v[i]] = 1;
        }
        if (!any)
            return;
        for (int k = 0; k < MIM_FACEGEN_N_LANDMARKS; k++)
            if (damp[k]) {
                u[k] = u0[k] + DAMP_STEP * (u[k] - u0[k]);
                v[k] = v0[k] + DAMP_STEP * (v[k] - v0[k]);
            }
    }
    apply_constraints(v0, v);
}

int mim_facegen_displace(const float *xy68, const float *intensity, float *out68)
{
    mim_facegen_frame f;
    if (mim_facegen_face_frame(xy68, &f))
        return -1;
    for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
        if (!(intensity[a] >= 0 && intensity[a] <= MIM_FACEGEN_MAX_AU))
            return -1;
    double u0[MIM_FACEGEN_N_LANDMARKS], v0[MIM_FACEGEN_N_LANDMARKS];
    double u[MIM_FACEGEN_N_LANDMARKS], v[MIM_FACEGEN_N_LANDMARKS];
    for (int k = 0; k < MIM_FACEGEN_N_LANDMARKS; k++) {
        to_face(&f, xy68[2 * k], xy68[2 * k + 1], &u0[k], &v0[k]);
        u[k] = u0[k];
        v[k] = v0[k];
    }
    double scale[2];
    half_scales(u0, scale);
    /* the AUs' movements add up, each linear in its intensity */
    for (int a = 0; a < MIM_FACEGEN_N_AU; a++) {
        double w = intensity[a] / MIM_FACEGEN_MAX_AU;
        if (w == 0)
            continue;
        const au_moves *am = &all_moves[a];
        for (int i = 0; i < am->n_moves; i++) {
            const move *m = &am->moves[i];
            int pts[2] = {m->point, mirror68[m->point]};
            for (int j = 0; j < (pts[1] != pts[0] ? 2 : 1); j++) {
                int k = pts[j], s = side_of(k);
                v[k] -= w * m->up;
                if (s)
                    u[k] += w * m->out * s * scale[s > 0];
            }
        }
    }
    /* AU45: the upper lids go toward just above the lower lids' closing position (the input's,
     * raised by AU45's own lower-lid movement), shut at 5; linear in the intensity, and it
     * overrides what other AUs did to the upper lids */
    double blink = intensity[mim_facegen_au_index(45)] / MIM_FACEGEN_MAX_AU;
    for (int p = 0; p < 4 && blink > 0; p++) {
        int up = lid_pairs[p][0], lo = lid_pairs[p][1];
        double shut = v0[lo] - AU45_LOWER_LID - MIN_LID_GAP;
        v[up] += blink * (shut - v[up]);
    }
    damp_flips(u0, v0, u, v);
    for (int k = 0; k < MIM_FACEGEN_N_LANDMARKS; k++) {
        double x, y;
        from_face(&f, u[k], v[k], &x, &y);
        out68[2 * k] = (float)x;
        out68[2 * k + 1] = (float)y;
    }
    return 0;
}

/* ---- the mesh ----------------------------------------------------------------------------- */

#define S MIM_FACEGEN_SKIN
#define E MIM_FACEGEN_EYE
#define M MIM_FACEGEN_MOUTH
/* Delaunay triangulation (Bowyer-Watson) of dlib's mean shape (shape_predictor_68 .dat) in the
 * face frame plus its ring, the lid and lip contours (and the lip corners 48-60, 54-64) forced
 * as edges by flips, the eye and mouth interiors replaced by the strips below, each triangle
 * ordered for a positive signed area. */
static const mim_facegen_triangle mesh[] = {
    {{0, 1, 68}, S},
    {{0, 17, 36}, S},
    {{0, 36, 1}, S},
    {{0, 68, 82}, S},
    {{0, 82, 17}, S},
    {{1, 2, 69}, S},
    {{1, 36, 41}, S},
    {{1, 41, 2}, S},
    {{1, 69, 68}, S},
    {{2, 3, 69}, S},
    {{2, 31, 3}, S},
    {{2, 41, 31}, S},
    {{3, 4, 70}, S},
    {{3, 31, 48}, S},
    {{3, 48, 4}, S},
    {{3, 70, 69}, S},
    {{4, 5, 70}, S},
    {{4, 48, 5}, S},
    {{5, 6, 71}, S},
    {{5, 48, 59}, S},
    {{5, 59, 6}, S},
    {{5, 71, 70}, S},
    {{6, 7, 71}, S},
    {{6, 58, 7}, S},
    {{6, 59, 58}, S},
    {{7, 8, 72}, S},
    {{7, 58, 8}, S},
    {{7, 72, 71}, S},
    {{8, 9, 72}, S},
    {{8, 56, 9}, S},
    {{8, 57, 56}, S},
    {{8, 58, 57}, S},
    {{9, 10, 73}, S},
    {{9, 56, 10}, S},
    {{9, 73, 72}, S},
    {{10, 11, 73}, S},
    {{10, 55, 11}, S},
    {{10, 56, 55}, S},
    {{11, 12, 74}, S},
    {{11, 54, 12}, S},
    {{11, 55, 54}, S},
    {{11, 74, 73}, S},
    {{12, 13, 74}, S},
    {{12, 54, 13}, S},
    {{13, 14, 75}, S},
    {{13, 35, 14}, S},
    {{13, 54, 35}, S},
    {{13, 75, 74}, S},
    {{14, 15, 75}, S},
    {{14, 35, 46}, S},
    {{14, 46, 15}, S},
    {{15, 16, 76}, S},
    {{15, 45, 16}, S},
    {{15, 46, 45}, S},
    {{15, 76, 75}, S},
    {{16, 26, 77}, S},
    {{16, 45, 26}, S},
    {{16, 77, 76}, S},
    {{17, 18, 36}, S},
    {{17, 82, 18}, S},
    {{18, 19, 37}, S},
    {{18, 37, 36}, S},
    {{18, 81, 19}, S},
    {{18, 82, 81}, S},
    {{19, 20, 37}, S},
    {{19, 81, 20}, S},
    {{20, 21, 38}, S},
    {{20, 38, 37}, S},
    {{20, 80, 21}, S},
    {{20, 81, 80}, S},
    {{21, 22, 27}, S},
    {{21, 27, 39}, S},
    {{21, 39, 38}, S},
    {{21, 80, 22}, S},
    {{22, 23, 43}, S},
    {{22, 42, 27}, S},
    {{22, 43, 42}, S},
    {{22, 79, 23}, S},
    {{22, 80, 79}, S},
    {{23, 24, 44}, S},
    {{23, 44, 43}, S},
    {{23, 78, 24}, S},
    {{23, 79, 78}, S},
    {{24, 25, 44}, S},
    {{24, 78, 25}, S},
    {{25, 26, 45}, S},
    {{25, 45, 44}, S},
    {{25, 77, 26}, S},
    {{25, 78, 77}, S},
    {{27, 28, 39}, S},
    {{27, 42, 28}, S},
    {{28, 29, 39}, S},
    {{28, 42, 29}, S},
    {{29, 30, 31}, S},
    {{29, 31, 40}, S},
    {{29, 35, 30}, S},
    {{29, 40, 39}, S},
    {{29, 42, 47}, S},
    {{29, 47, 35}, S},
    {{30, 32, 31}, S},
    {{30, 33, 32}, S},
    {{30, 34, 33}, S},
    {{30, 35, 34}, S},
    {{31, 32, 49}, S},
    {{31, 41, 40}, S},
    {{31, 49, 48}, S},
    {{32, 33, 50}, S},
    {{32, 50, 49}, S},
    {{33, 34, 52}, S},
    {{33, 51, 50}, S},
    {{33, 52, 51}, S},
    {{34, 35, 53}, S},
    {{34, 53, 52}, S},
    {{35, 47, 46}, S},
    {{35, 54, 53}, S},
    {{48, 49, 60}, S},
    {{48, 60, 59}, S},
    {{49, 50, 61}, S},
    {{49, 61, 60}, S},
    {{50, 51, 61}, S},
    {{51, 52, 63}, S},
    {{51, 62, 61}, S},
    {{51, 63, 62}, S},
    {{52, 53, 63}, S},
    {{53, 54, 64}, S},
    {{53, 64, 63}, S},
    {{54, 55, 64}, S},
    {{55, 56, 65}, S},
    {{55, 65, 64}, S},
    {{56, 57, 66}, S},
    {{56, 66, 65}, S},
    {{57, 58, 66}, S},
    {{58, 59, 67}, S},
    {{58, 67, 66}, S},
    {{59, 60, 67}, S},
    /* eye interiors: a strip between the upper lid (36..39) and the lower lid (39..41, 36) */
    {{36, 37, 41}, E},
    {{37, 38, 40}, E},
    {{37, 40, 41}, E},
    {{38, 39, 40}, E},
    {{42, 43, 47}, E},
    {{43, 44, 46}, E},
    {{43, 46, 47}, E},
    {{44, 45, 46}, E},
    /* mouth interior: a strip between the upper inner lip (60..64) and the lower (64..67, 60) */
    {{60, 61, 67}, M},
    {{61, 62, 66}, M},
    {{61, 66, 67}, M},
    {{62, 63, 65}, M},
    {{62, 65, 66}, M},
    {{63, 64, 65}, M},
};
#undef S
#undef E
#undef M

const mim_facegen_triangle *mim_facegen_triangles(int *n_triangles)
{
    *n_triangles = (int)(sizeof mesh / sizeof mesh[0]);
    return mesh;
}

/* ---- the warp ----------------------------------------------------------------------------- */

/* Bilinear sample of an RGB8 image at (x, y), edges clamped. */
static void sample_rgb(const mim_image *img, double x, double y, double out[3])
{
    x = fmin(fmax(x, 0.0), img->width - 1.0);
    y = fmin(fmax(y, 0.0), img->height - 1.0);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < img->width ? x0 + 1 : x0, y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    const uint8_t *r0 = mim_image_row8(img, y0), *r1 = mim_image_row8(img, y1);
    for (int c = 0; c < 3; c++) {
        double top = r0[3 * x0 + c] + fx * (r0[3 * x1 + c] - r0[3 * x0 + c]);
        double bot = r1[3 * x0 + c] + fx * (r1[3 * x1 + c] - r1[3 * x0 + c]);
        out[c] = top + fy * (bot - top);
    }
}

static void put_rgb(uint8_t *px, const double rgb[3])
{
    for (int c = 0; c < 3; c++) {
        double v = rgb[c] < 0 ? 0 : rgb[c] > 255 ? 255 : rgb[c];
        px[c] = (uint8_t)lrint(v);
    }
}

/* An opening of the face (an eye's lids, the inner lips): two chains of landmarks from one
 * corner to the other, the upper and the lower, in the destination and the source. Pixels are
 * placed by their position along the corner-to-corner axis (x') and across it (y', down). */
#define MAX_CHAIN 5
typedef struct {
    int n;
    int up[MAX_CHAIN], lo[MAX_CHAIN];
    double c0[2], ax[2], nrm[2]; /* destination: first corner, unit axis, unit normal (down) */
    double len;                  /* destination corner distance */
    double s_nrm[2];             /* source normal */
    double ux[MAX_CHAIN], uy[MAX_CHAIN], lx[MAX_CHAIN], ly[MAX_CHAIN]; /* dst chains in x',y' */
} opening;

static int opening_init(opening *o, int n, const int *up, const int *lo, const double *vd,
                        const double *vs)
{
    o->n = n;
    memcpy(o->up, up, n * sizeof *up);
    memcpy(o->lo, lo, n * sizeof *lo);
    const double *a = vd + 2 * up[0], *b = vd + 2 * up[n - 1];
    o->len = hypot(b[0] - a[0], b[1] - a[1]);
    const double *sa = vs + 2 * up[0], *sb = vs + 2 * up[n - 1];
    double slen = hypot(sb[0] - sa[0], sb[1] - sa[1]);
    if (!(o->len > 1e-6) || !(slen > 1e-6))
        return -1;
    o->c0[0] = a[0];
    o->c0[1] = a[1];
    o->ax[0] = (b[0] - a[0]) / o->len;
    o->ax[1] = (b[1] - a[1]) / o->len;
    o->nrm[0] = -o->ax[1];
    o->nrm[1] = o->ax[0];
    o->s_nrm[0] = -(sb[1] - sa[1]) / slen;
    o->s_nrm[1] = (sb[0] - sa[0]) / slen;
    for (int i = 0; i < n; i++) {
        const double *p = vd + 2 * up[i], *q = vd + 2 * lo[i];
        o->ux[i] = (p[0] - a[0]) * o->ax[0] + (p[1] - a[1]) * o->ax[1];
        o->uy[i] = (p[0] - a[0]) * o->nrm[0] + (p[1] - a[1]) * o->nrm[1];
        o->lx[i] = (q[0] - a[0]) * o->ax[0] + (q[1] - a[1]) * o->ax[1];
        o->ly[i] = (q[0] - a[0]) * o->nrm[0] + (q[1] - a[1]) * o->nrm[1];
    }
    return 0;
}

/* The chain (dst x', y' per point, landmark ids) at abscissa x: its y' there and the source
 * point at the same place on the source chain (the same fraction of the same segment, so the
 * map agrees with the skin triangles that share the segment). */
static double chain_at(const double *cx, const double *cy, const int *ids, int n, const double *vs,
                       double x, double src[2])
{
    int k = 0;
    while (k < n - 2 && x > cx[k + 1])
        k++;
    double d = cx[k + 1] - cx[k], f = d > 1e-9 ? (x - cx[k]) / d : 0.5;
    f = f < 0 ? 0 : f > 1 ? 1 : f;
    const double *p = vs + 2 * ids[k], *q = vs + 2 * ids[k + 1];
    src[0] = p[0] + f * (q[0] - p[0]);
    src[1] = p[1] + f * (q[1] - p[1]);
    return cy[k] + f * (cy[k + 1] - cy[k]);
}

typedef struct {
    double y, gap;       /* pixel's y' and the lids' / lips' distance in the destination (px) */
    double s;            /* y' between the upper (0) and lower (1) chain */
    double t;            /* x' / corner distance */
    double us[2], ls[2]; /* source points on the upper and lower chain */
    double gap_s;        /* their distance across the source opening (px, may be < 0) */
} opening_pos;

static void opening_locate(const opening *o, const double *vs, double px, double py, opening_pos *p)
{
    double rx = px - o->c0[0], ry = py - o->c0[1];
    double x = rx * o->ax[0] + ry * o->ax[1];
    p->y = rx * o->nrm[0] + ry * o->nrm[1];
    p->t = x / o->len;
    double yu = chain_at(o->ux, o->uy, o->up, o->n, vs, x, p->us);
    double yl = chain_at(o->lx, o->ly, o->lo, o->n, vs, x, p->ls);
    p->gap = yl - yu;
    p->s = p->gap > 1e-9 ? (p->y - yu) / p->gap : 0.5;
    p->s = p->s < 0 ? 0 : p->s > 1 ? 1 : p->s;
    p->gap_s = (p->ls[0] - p->us[0]) * o->s_nrm[0] + (p->ls[1] - p->us[1]) * o->s_nrm[1];
}

/* Colours the painted mouth opening takes from the face: the cavity and the tongue from the lips'
 * hue, the teeth from the skin's brightness, so that they follow the photo's light and white
 * balance. */
typedef struct {
    double lip[3], teeth[3]; /* mean colour of the lips; the teeth's */
    double iod;              /* px */
} mouth_paint;

static void mouth_paint_init(mouth_paint *mp, const mim_image *src, const double *vs, double iod)
{
    /* mid-lip points: halfway between the outer and the inner lip contour */
    static const int lip[6][2] = {{50, 61}, {51, 62}, {52, 63}, {58, 67}, {57, 66}, {56, 65}};
    double lipc[3] = {0, 0, 0}, rgb[3], skin = 0;
    for (int i = 0; i < 6; i++) {
        const double *a = vs + 2 * lip[i][0], *b = vs + 2 * lip[i][1];
        sample_rgb(src, 0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), rgb);
        for (int c = 0; c < 3; c++)
            lipc[c] += rgb[c] / 6;
    }
    /* skin: the nose ridge and the cheeks (halfway between the jaw and the nose wings) */
    static const int cheek[4][2] = {{28, 28}, {29, 29}, {2, 31}, {14, 35}};
    for (int i = 0; i < 4; i++) {
        const double *a = vs + 2 * cheek[i][0], *b = vs + 2 * cheek[i][1];
        sample_rgb(src, 0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1]), rgb);
        skin += (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 4;
    }
    static const double enamel[3] = {0.96, 0.93, 0.85};
    double bright = fmin(255.0, 1.1 * skin);
    for (int c = 0; c < 3; c++) {
        mp->lip[c] = lipc[c];
        mp->teeth[c] = enamel[c] * bright;
    }
    mp->iod = iod;
}

/* The painted opening at band position yb (px from the band's top) of a band hb px high, at
 * fraction t of the mouth's width; teeth (0..1) says how much of the teeth to show. */
static void mouth_paint_at(const mouth_paint *mp, double t, double half_width, double yb, double hb,
                           double teeth, double out[3])
{
    double centre = 2 * t - 1; /* -1 .. 1 corner to corner */
    double across = 1 - (centre / 0.85) * (centre / 0.85);
    /* the cavity: lit a little near the lips, darkest in the depth and toward the corners; the
     * tongue's back shows at the bottom of a wide opening */
    double depth = fmin(yb, hb - yb) / fmax(0.5 * hb, 1.0);
    double shade = (0.32 - 0.17 * fmin(depth, 1.0)) * (1 - 0.35 * centre * centre);
    double tongue = hb > 0.08 * mp->iod ? fmin(fmax((yb / hb - 0.6) / 0.4, 0.0), 1.0) : 0;
    tongue *= 0.6 * fmax(across, 0.0);
    for (int c = 0; c < 3; c++)
        out[c] = (1 - tongue) * mp->lip[c] * shade + tongue * 0.55 * mp->lip[c];
    if (teeth <= 0 || across <= 0)
        return;
    double iod = mp->iod;
    /* upper teeth below the upper lip, lower teeth above the lower lip once the jaw opens */
    double h_up = fmin(0.5 * hb, 0.075 * iod) * sqrt(across);
    double h_lo = fmin(fmax(0.4 * (hb - 0.1 * iod), 0.0), 0.05 * iod) * sqrt(across);
    double a_up = fmin(fmax(h_up - yb + 0.5, 0.0), 1.0);
    double a_lo = fmin(fmax(yb - (hb - h_lo) + 0.5, 0.0), 1.0) * (h_lo > 0);
    double a = teeth * fmax(a_up, a_lo);
    if (a <= 0)
        return;
    /* darker seams between the teeth: incisors, laterals, canines, premolars (IOD units from
     * the middle) */
    static const double seams[] = {0, 0.085, 0.15, 0.21, 0.26};
    double xm = fabs(centre) * half_width / iod, seam = 1e9;
    for (size_t i = 0; i < sizeof seams / sizeof seams[0]; i++)
        seam = fmin(seam, fabs(xm - seams[i]));
    double line = seam * iod < 0.6 ? 0.8 : 1.0;
    double lit = a_up >= a_lo ? 0.85 + 0.15 * fmax(0.0, 1 - yb / fmax(h_up, 1e-9)) : 0.75;
    for (int c = 0; c < 3; c++)
        out[c] = (1 - a) * out[c] + a * mp->teeth[c] * lit * line;
}

#define MOUTH_STRETCH 1.3 /* a source opening stretches up to this much before paint shows */

/* One destination pixel of an opening. eye: covering map; else the mouth's. */
static void opening_pixel(const opening *o, const mouth_paint *mp, const mim_image *src,
                          const double *vs, int is_eye, double px, double py, double out[3])
{
    opening_pos p;
    opening_locate(o, vs, px, py, &p);
    double sx, sy;
    if (is_eye) {
        /* closing: keep the distance above the lower lid (the lid covers the top of the eye);
         * opening: stretch between the lids */
        double k = p.gap_s > 1e-9 && p.gap < p.gap_s ? fmax(p.gap, 0.0) / p.gap_s : 1.0;
        double w = (1 - p.s) * k;
        sx = p.ls[0] + w * (p.us[0] - p.ls[0]);
        sy = p.ls[1] + w * (p.us[1] - p.ls[1]);
        sample_rgb(src, sx, sy, out);
        return;
    }
    /* the source's own opening (teeth) may stretch a little (MOUTH_STRETCH); beyond that it
     * stays with the lips, its upper half with the upper lip and its lower half with the lower,
     * and the new gap between them is painted */
    double gs = fmax(p.gap_s, 0.0), keep = fmin(p.gap, MOUTH_STRETCH * gs);
    double du = p.s * p.gap;
    if (p.gap <= keep + 1e-6 || du < 0.5 * keep || p.gap - du < 0.5 * keep) {
        double f = p.gap <= keep + 1e-6 ? p.s
                   : du < 0.5 * keep    ? du / keep
                                        : 1 - (p.gap - du) / keep;
        sample_rgb(src, p.us[0] + f * (p.ls[0] - p.us[0]), p.us[1] + f * (p.ls[1] - p.us[1]), out);
        return;
    }
    double yb = du - 0.5 * keep, hb = p.gap - keep;
    double base[3], paint[3];
    sample_rgb(src, p.us[0] + 0.5 * (p.ls[0] - p.us[0]), p.us[1] + 0.5 * (p.ls[1] - p.us[1]), base);
    /* teeth only where the source mouth was closed (else its own teeth show above) */
    double teeth = fmin(fmax(1 - gs / (0.03 * mp->iod), 0.0), 1.0);
    mouth_paint_at(mp, p.t, 0.5 * o->len, yb, hb, teeth, paint);
    /* how much of this pixel (one pixel across the band) the band covers: a soft edge, and a
     * sliver of an opening thinner than a pixel only tints it */
    double w = fmax(fmin(yb + 0.5, hb) - fmax(yb - 0.5, 0.0), 0.0);
    for (int c = 0; c < 3; c++)
        out[c] = w * paint[c] + (1 - w) * base[c];
}

int mim_facegen_warp(const mim_image *src, const float *xy_src, const float *xy_dst, mim_image *dst,
                     char *err, size_t err_size)
{
    if (!src || !dst || !xy_src || !xy_dst)
        return mim_errf(err, err_size, "facegen warp: NULL argument");
    if (src->format != MIM_IMAGE_RGB8 || dst->format != MIM_IMAGE_RGB8)
        return mim_errf(err, err_size, "facegen warp: images must be RGB8");
    if (src->width != dst->width || src->height != dst->height)
        return mim_errf(err, err_size, "facegen warp: dst is %dx%d, src %dx%d", dst->width,
                        dst->height, src->width, src->height);
    if (src->data == dst->data)
        return mim_errf(err, err_size, "facegen warp: dst may not alias src");
    mim_facegen_frame fs, fd;
    float ring[2 * MIM_FACEGEN_N_RING];
    if (mim_facegen_face_frame(xy_src, &fs) || mim_facegen_face_frame(xy_dst, &fd) ||
        mim_facegen_ring(xy_src, ring))
        return mim_errf(err, err_size, "facegen warp: degenerate landmarks");
    double vs[2 * MIM_FACEGEN_N_VERTICES], vd[2 * MIM_FACEGEN_N_VERTICES];
    for (int i = 0; i < 2 * MIM_FACEGEN_N_LANDMARKS; i++) {
        vs[i] = xy_src[i];
        vd[i] = xy_dst[i];
    }
    for (int i = 0; i < 2 * MIM_FACEGEN_N_RING; i++)
        vs[2 * MIM_FACEGEN_N_LANDMARKS + i] = vd[2 * MIM_FACEGEN_N_LANDMARKS + i] = ring[i];

    for (int y = 0; y < src->height; y++)
        memcpy(mim_image_row8(dst, y), mim_image_row8(src, y), (size_t)src->width * 3);

    static const int eye_up[2][4] = {{36, 37, 38, 39}, {42, 43, 44, 45}};
    static const int eye_lo[2][4] = {{36, 41, 40, 39}, {42, 47, 46, 45}};
    static const int mouth_up[5] = {60, 61, 62, 63, 64}, mouth_lo[5] = {60, 67, 66, 65, 64};
    opening eyes[2], mouth;
    int eye_ok[2], mouth_ok;
    for (int e = 0; e < 2; e++)
        eye_ok[e] = opening_init(&eyes[e], 4, eye_up[e], eye_lo[e], vd, vs) == 0;
    mouth_ok = opening_init(&mouth, 5, mouth_up, mouth_lo, vd, vs) == 0;
    mouth_paint mp;
    mouth_paint_init(&mp, src, vs, fd.iod);

    int n_tri;
    const mim_facegen_triangle *tri = mim_facegen_triangles(&n_tri);
    for (int t = 0; t < n_tri; t++) {
        const int *v = tri[t].v;
        const double *d0 = vd + 2 * v[0], *d1 = vd + 2 * v[1], *d2 = vd + 2 * v[2];
        double e1x = d1[0] - d0[0], e1y = d1[1] - d0[1], e2x = d2[0] - d0[0], e2y = d2[1] - d0[1];
        double area = e1x * e2y - e1y * e2x;
        if (!(area > 1e-9))
            continue; /* flipped or empty in the destination: nothing of it is visible */
        const opening *op = NULL;
        int is_eye = tri[t].region == MIM_FACEGEN_EYE;
        if (is_eye)
            op = eye_ok[v[0] >= 42] ? &eyes[v[0] >= 42] : NULL;
        else if (tri[t].region == MIM_FACEGEN_MOUTH)
            op = mouth_ok ? &mouth : NULL;
        /* destination -> source affine map of a skin triangle (also the fallback for an
         * opening whose corners coincide) */
        const double *s0 = vs + 2 * v[0], *s1 = vs + 2 * v[1], *s2 = vs + 2 * v[2];
        double f1x = s1[0] - s0[0], f1y = s1[1] - s0[1], f2x = s2[0] - s0[0], f2y = s2[1] - s0[1];
        double i00 = e2y / area, i01 = -e2x / area, i10 = -e1y / area, i11 = e1x / area;
        double m00 = f1x * i00 + f2x * i10, m01 = f1x * i01 + f2x * i11;
        double m10 = f1y * i00 + f2y * i10, m11 = f1y * i01 + f2y * i11;

        double xmin = fmin(d0[0], fmin(d1[0], d2[0])), xmax = fmax(d0[0], fmax(d1[0], d2[0]));
        double ymin = fmin(d0[1], fmin(d1[1], d2[1])), ymax = fmax(d0[1], fmax(d1[1], d2[1]));
        int x0 = (int)fmax(ceil(xmin - 1e-7), 0),
            x1 = (int)fmin(floor(xmax + 1e-7), dst->width - 1);
        int y0 = (int)fmax(ceil(ymin - 1e-7), 0),
            y1 = (int)fmin(floor(ymax + 1e-7), dst->height - 1);
        const double eps = -1e-9;
        for (int y = y0; y <= y1; y++) {
            uint8_t *row = mim_image_row8(dst, y);
            for (int x = x0; x <= x1; x++) {
                /* barycentric coordinates; pixels on an edge belong to both triangles (the
                 * maps agree there), so no pixel falls between two */
                double px = x - d0[0], py = y - d0[1];
                double b1 = (px * e2y - py * e2x) / area, b2 = (e1x * py - e1y * px) / area;
                if (b1 < eps || b2 < eps || 1 - b1 - b2 < eps)
                    continue;
                double rgb[3];
                if (op) {
                    opening_pixel(op, &mp, src, vs, is_eye, x, y, rgb);
                } else {
                    double sx = s0[0] + m00 * px + m01 * py, sy = s0[1] + m10 * px + m11 * py;
                    sample_rgb(src, sx, sy, rgb);
                }
                put_rgb(row + 3 * x, rgb);
            }
        }
    }
    return 0;
}
