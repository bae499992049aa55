/* mim-geometry.c: FACS action units from 68-landmark geometry (see mim-geometry.h).
 *
 * Frame. The eye centres (midpoints of each eye's corners 36|39 and 42|45: the canthi sit on
 * bone and barely move with any AU, unlike the lids) fix roll, origin and scale: x along the eye
 * line, y up, one unit = the eye-centre distance (~6 cm on an adult). Given yaw and pitch, each
 * point is moved back to a frontal view with a coarse depth of that landmark (depth_cm below):
 * x = (u + sin(yaw) z) / cos(yaw), y = (v - sin(pitch) z) / cos(pitch). Without this, 20 deg of
 * pitch moves the nose base (2.5 cm in front of the eyes) by 0.14 units relative to the eyes,
 * the size of a strong AU9, and shortens brow-eye distances like AU4.
 *
 * AU rules. Each AU has a signed evidence e in eye-distance units (AU45: a closure fraction) from
 * the features' change against the baseline (d = feature - baseline), and
 * intensity = 5 (e - dead) / (full - dead) clamped to 0..5; presence = 1 - 2^-intensity.
 *   AU1  inner brow up (relative to the eye line, so lids and pose do not enter):
 *        (d.brow_inner + 0.4 together+)+ - 0.2 d.brow_outer+. FACS: AU2 lifts the inner brow a
 *        little; the last term keeps a pure outer raise from reading as AU1 (and AU1 lifts the
 *        outer brow ~0.3, below). AU4 lowers the inner brow while drawing it in (together =
 *        -d.brow_gap); that share is added back so AU1+4, the oblique sad brow, keeps its AU1.
 *   AU2  outer brow up: d.brow_outer+ - 0.3 d.brow_inner+.
 *   AU4  brows drawn together (d.brow_gap < 0) and lowered. Lowering alone is weak evidence: head
 *        pitch and AU9 lower the brows relative to the eyes too, and the gap is immune to both.
 *        e = max(together, (together + lowered) / 2) with lowered = -(0.7 d.brow_inner +
 *        0.3 d.brow_outer) - 0.5 d.nose_base+ (AU9 pulls the inner brows down as it lifts the
 *        nose; FACS). Lowering alone thus counts half; AU1+4 (inner brows up yet together, the
 *        sad brow) still reads through the gap.
 *   AU5  upper lid up: d.lid_upper - 0.1 (brows raised) (raising the brows lifts the lid skin).
 *   AU6  lower lid up (cheek raised, eye narrowed from below): d.lid_lower, minus what a blink
 *        (0.2 x the upper lid's drop beyond 0.03; a smile lowers the upper lid a little too)
 *        pushes up. FACS notes that a strong 12 raises the cheeks
 *        and narrows the eye by itself; landmarks cannot tell that from 6 (and in smiles the two
 *        mostly come together), so a broad smile may read some AU6. AU7 (lid tightener, not
 *        estimated) also raises the lower lid and reads as AU6 here.
 *   AU9  nose base up (nostril wings lifted), with the upper lip: 0.7 d.nose_base + 0.3
 *        d.lip_upper. Head pitch moves the nose base most of all points: pass the pitch.
 *   AU12 corners up: rise = the mean of the corner height against the eyes (d.lip_corner, immune
 *        to AU9/10 lifting the upper lip and AU17 lifting the lower one) and against the lips'
 *        meeting line (d.corner_lift, immune to pitch and to the face's length), each corrected
 *        for mouth opening: a jaw drop lowers the corners by ~0.3 of the lip gap, i.e.
 *        d.lip_corner + 0.3 d.lip_gap+ and d.corner_lift - 0.2 d.lip_gap+ (the meeting line
 *        drops by half the gap). Without it every open mouth reads as AU15 and hides AU12.
 *   AU15 corners down: -rise.
 *   AU17 lower lip and chin boss pushed up: 0.7 d.lip_lower + 0.3 d.chin. A jaw drop moves both
 *        down (negative evidence), so AU26 and AU17 cannot be confused.
 *   AU20 mouth widened without the corners rising: d.mouth_w - 1.8 rise+ (AU12 pulls the
 *        corners out as well as up: about 0.9 units out per unit up on each side).
 *   AU25 lips apart: min(lip_gap, d.lip_gap): the gap must be there in absolute terms (closed
 *        lips read ~0 in dlib's inner-lip points) and new against the person's neutral (people
 *        who rest with parted lips stay at 0 after their own baseline).
 *   AU26 jaw drop: the chin moving down, -d.chin, which lip parting alone (AU25) leaves in place.
 *        The brief's "with lips apart": with the lips closed the evidence counts 0.6 (a lowered
 *        chin with closed lips is as often pitch or a longer face); full from a 0.05 lip gap.
 *   AU45 blink: the upper lid's drop as a fraction of the neutral eye opening,
 *        -d.lid_upper / (lid_upper - lid_lower)_baseline. The upper lid closes the eye; AU6 narrows
 *        it from below and does not count. Gaze down also lowers the upper lid (a confound
 *        geometry cannot resolve).
 * Confounds left: AU7 reads as AU6; AU10 as part of AU9; gaze down as part of AU45; pitch
 * changes within a video as AU4/AU9/AU17 when the pose is not passed in.
 *
 * Single images (baseline NULL) compare with mim_geom_neutral, so the person's own proportions
 * count as action unless removed: AU12/15 use the corners against the lips only, AU26 the lip
 * gap beyond what lips alone open (LIPS_ONLY_GAP), and every other evidence is reduced by how
 * far real neutral faces spread around the population face (single_margin). Expect brows, nose
 * and chin to read only strong actions there; pass the pose, as pitch is not averaged out.
 *
 * Dead zones. Measured with this engine's dlib predictor on the 28 fixture faces with an
 * eye-centre distance >= 33 px, each downscaled to 30 px and predicted 40 times with the box
 * moved by up to 1 % and pixel noise of sigma 2 (median point jitter 1.3 % of the eye distance,
 * the jitter of small faces in video). dead = max(3 sigma of the median face, 2 sigma of the
 * 90th-percentile face) of each AU's evidence, or the 3-sigma tail under independent jitter of
 * 1.5 % per point where that is larger (au_scale), so a neutral frame rarely leaves 0 and
 * reaches intensity 1 (dead + (full - dead) / 5) only far out in the tail. dlib's
 * jitter hardly shrinks with face size (the regressor moves with its box: the same measurement at
 * 45, 60 and 90 px gave 70-100 % of the 30 px sigmas), so one set serves every size.
 */
#include "mim-geometry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mim.h"

const int mim_geom_au_ids[MIM_GEOM_N_AU] = {1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26, 45};

const char *const mim_geom_feat_names[MIM_GEOM_N_FEAT] = {
    "brow_inner", "brow_outer", "brow_gap", "lid_upper", "lid_lower", "eye_ar", "nose_base",
    "lip_upper",  "lip_corner", "mouth_w",  "lip_gap",   "lip_lower", "chin",   "corner_lift",
};

/* The population-neutral face. Upper face and nose: dlib's own mean shape (the mean of its
 * 300-W training faces, shipped in shape_predictor_68_face_landmarks.dat). That mean is slightly
 * smiling with parted lips (lip gap 0.09, mouth width 0.90), so the mouth is the median of the
 * closed, unsmiling fixture faces instead (faceapi sample3 f0, sample4 f2, sample5 f3): lips
 * closed, width 0.85, corners 1.07 below the eyes, lower lip and chin raised to match, corners
 * 0.05 above the lips' meeting line (neutral fixture faces: 0.03-0.08). */
const float mim_geom_neutral[MIM_GEOM_N_FEAT] = {
    0.320f,  /* brow_inner */
    0.287f,  /* brow_outer */
    0.566f,  /* brow_gap */
    0.086f,  /* lid_upper */
    -0.039f, /* lid_lower */
    0.306f,  /* eye_ar */
    -0.722f, /* nose_base */
    -0.965f, /* lip_upper */
    -1.070f, /* lip_corner */
    0.850f,  /* mouth_w */
    0.000f,  /* lip_gap */
    -1.270f, /* lip_lower */
    -1.780f, /* chin */
    0.050f,  /* corner_lift */
};

/* Depth of each landmark toward the camera, in cm relative to the mean depth of the four eye
 * corners, on a typical adult face (coarse anthropometric values: inner canthus ~1.8 cm in front
 * of the outer one, nasion 1 cm in front of the inner canthi, nose tip ~3.7 cm, lips 2-2.5 cm at
 * the centre and ~0.8 cm at the corners, jaw angle ~3.5 cm behind). An error of 0.5 cm moves a
 * point by 0.5 / 6 · sin(10 deg) = 0.014 units at 10 deg of pitch: only the correction's
 * residue. The eye corners pair up to depth 0, so the eye centres stay where they are. */
static const float depth_cm[68] = {
    -3.5f, -3.3f, -2.9f, -2.3f, -1.5f, -0.6f, 0.3f,  0.9f,  1.3f, /* jaw 0..8 */
    0.9f,  0.3f,  -0.6f, -1.5f, -2.3f, -2.9f, -3.3f, -3.5f,       /* jaw 9..16 */
    -1.2f, -0.2f, 0.5f,  1.0f,  1.3f,                             /* right brow 17..21 */
    1.3f,  1.0f,  0.5f,  -0.2f, -1.2f,                            /* left brow 22..26 */
    1.9f,  2.4f,  3.0f,  3.7f,                                    /* nose ridge 27..30 */
    1.7f,  2.2f,  2.5f,  2.2f,  1.7f,                             /* nostrils 31..35 */
    -0.9f, 0.2f,  0.6f,  0.9f,  0.6f,  0.2f,                      /* right eye 36..41 */
    0.9f,  0.6f,  0.2f,  -0.9f, 0.2f,  0.6f,                      /* left eye 42..47 */
    0.8f,  1.6f,  2.2f,  2.5f,  2.2f,  1.6f,                      /* upper lip 48..53 */
    0.8f,  1.5f,  2.0f,  2.2f,  2.0f,  1.5f,                      /* lower lip 54..59 */
    0.9f,  1.8f,  2.1f,  1.8f,  0.9f,  1.7f,  2.0f,  1.7f,        /* inner lip 60..67 */
};
#define EYE_DISTANCE_CM 6.0 /* eye-centre distance of a typical adult: depth_cm -> units */
#define MAX_POSE_RAD    (70.0 * M_PI / 180.0)

/* Landmark jitter of each feature (standard deviation of the median face in the measurement
 * above, eye-distance units; eye_ar dimensionless). The baseline scales distances by at least
 * this, so that a feature dlib holds still does not decide which frames look neutral. */
static const float feat_jitter[MIM_GEOM_N_FEAT] = {
    0.0066f, 0.0089f, 0.0106f, 0.0040f, 0.0025f, 0.0110f, 0.0067f,
    0.0096f, 0.0105f, 0.0139f, 0.0111f, 0.0131f, 0.0175f, 0.0081f,
};

/* Per AU: dead zone and full scale (evidence at intensity 5, FACS E: roughly the largest
 * displacement of that action on an adult face, in units of the 6 cm eye distance, e.g. 0.15 =
 * 9 mm). dead = the largest of: 3 sigma of the median face and 2 sigma of the 90th-percentile
 * face in the dlib jitter measurement at the top, and the 99.87th percentile (one-sided 3 sigma)
 * of the evidence under independent Gaussian jitter of 1.5 % per point (the brief's 1-2 %;
 * median fixture face, 4000 draws), which is harsher than dlib on the lids and the eye line.
 * Comments: dlib sigma median / p90 face, iid quantile. */
static const float au_scale[MIM_GEOM_N_AU][2] = {
    {0.022f, 0.15f}, /* AU1: 0.0042 / 0.0084, 0.022; inner brow up 9 mm */
    {0.022f, 0.15f}, /* AU2: 0.0054 / 0.0089, 0.022; outer brow up 9 mm */
    {0.036f, 0.10f}, /* AU4: 0.0093 / 0.0154, 0.036; brows 6 mm closer */
    {0.021f, 0.05f}, /* AU5: 0.0039 / 0.0057, 0.021; upper lid up 3 mm */
    {0.017f, 0.06f}, /* AU6: 0.0025 / 0.0042, 0.022; lower lid up 3.5 mm (dead zone: 6.8 sigma
                      * of dlib's median face, 4 of the p90 face, below the iid model's 0.022,
                      * which hid the lower lid's rise in smiles as dlib tracks it: 0.03 on the
                      * test clips' smiles; the neutral 30-px sequence stays below 1) */
    {0.032f, 0.08f}, /* AU9: 0.0072 / 0.0159, 0.032; nostrils up 5 mm */
    {0.031f, 0.16f}, /* AU12: 0.0080 / 0.0110, 0.030; corners up 1 cm */
    {0.031f, 0.09f}, /* AU15: 0.0080 / 0.0110, 0.031; corners down 5 mm */
    {0.062f, 0.12f}, /* AU17: 0.0134 / 0.0308, 0.048; lower lip up 7 mm */
    {0.063f, 0.20f}, /* AU20: 0.0162 / 0.0314, 0.054; mouth 12 mm wider */
    {0.041f, 0.20f}, /* AU25: 0.0131 / 0.0204, 0.026; lips 12 mm apart */
    {0.090f, 0.35f}, /* AU26: 0.0164 / 0.0452, 0.061 (dlib's chin contour is its least steady
                      * part); chin down 2 cm */
    {0.180f, 1.00f}, /* AU45: 0.0241 / 0.0550, 0.179 (closure fraction); fully closed */
};

static double mean_y(const double *p, const int *idx, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p[2 * idx[i] + 1];
    return s / n;
}

static double dist(const double *p, int a, int b)
{
    return hypot(p[2 * a] - p[2 * b], p[2 * a + 1] - p[2 * b + 1]);
}

int mim_geom_features(const float *xy68, double yaw, double pitch, float *feat)
{
    MIM_ASSERT(xy68 && feat);
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        feat[f] = NAN;
    for (int i = 0; i < 2 * 68; i++)
        if (!isfinite(xy68[i]))
            return -1;
    if (!isfinite(yaw) || !isfinite(pitch) || fabs(yaw) > MAX_POSE_RAD ||
        fabs(pitch) > MAX_POSE_RAD)
        return -1;
    /* eye centres: right eye (image left) 36|39, left eye 42|45 */
    double rx = 0.5 * (xy68[2 * 36] + xy68[2 * 39]),
           ry = 0.5 * (xy68[2 * 36 + 1] + xy68[2 * 39 + 1]);
    double lx = 0.5 * (xy68[2 * 42] + xy68[2 * 45]),
           ly = 0.5 * (xy68[2 * 42 + 1] + xy68[2 * 45 + 1]);
    double dx = lx - rx, dy = ly - ry, d = hypot(dx, dy);
    if (!(d > 1e-6))
        return -1;
    double c = dx / d, s = dy / d, ox = 0.5 * (rx + lx), oy = 0.5 * (ry + ly);
    double cy = cos(yaw), sy = sin(yaw), cp = cos(pitch), sp = sin(pitch);
    /* the eye centres have depth 0, so their distance shrinks by cos(yaw) exactly: one unit of
     * the frontal face is d / cos(yaw) pixels */
    double unit = cy / d;
    double p[2 * 68]; /* (68,2) frontal frame, y up */
    for (int k = 0; k < 68; k++) {
        double ex = xy68[2 * k] - ox, ey = xy68[2 * k + 1] - oy;
        double u = (ex * c + ey * s) * unit, v = (-ex * s + ey * c) * unit; /* v down */
        double z = depth_cm[k] / EYE_DISTANCE_CM;
        p[2 * k] = (u + sy * z) / cy;
        p[2 * k + 1] = -(v - sp * z) / cp;
    }
    static const int brow_in[] = {20, 21, 22, 23}, brow_out[] = {17, 18, 25, 26};
    static const int lid_up[] = {37, 38, 43, 44}, lid_lo[] = {40, 41, 46, 47};
    static const int nose[] = {31, 32, 33, 34, 35}, lip_up[] = {50, 51, 52};
    static const int corner[] = {48, 54}, lip_lo[] = {56, 57, 58}, chin[] = {7, 8, 9};
    feat[MIM_GEOM_F_BROW_INNER] = (float)mean_y(p, brow_in, 4);
    feat[MIM_GEOM_F_BROW_OUTER] = (float)mean_y(p, brow_out, 4);
    feat[MIM_GEOM_F_BROW_GAP] = (float)(0.5 * ((p[2 * 22] - p[2 * 21]) + (p[2 * 23] - p[2 * 20])));
    feat[MIM_GEOM_F_LID_UPPER] = (float)mean_y(p, lid_up, 4);
    feat[MIM_GEOM_F_LID_LOWER] = (float)mean_y(p, lid_lo, 4);
    /* eye aspect ratio (Soukupova & Cech 2016): lid distances over corner distance */
    double ear_r = (dist(p, 37, 41) + dist(p, 38, 40)) / (2 * dist(p, 36, 39));
    double ear_l = (dist(p, 43, 47) + dist(p, 44, 46)) / (2 * dist(p, 42, 45));
    feat[MIM_GEOM_F_EYE_AR] = (float)(0.5 * (ear_r + ear_l));
    feat[MIM_GEOM_F_NOSE_BASE] = (float)mean_y(p, nose, 5);
    feat[MIM_GEOM_F_LIP_UPPER] = (float)mean_y(p, lip_up, 3);
    feat[MIM_GEOM_F_LIP_CORNER] = (float)mean_y(p, corner, 2);
    feat[MIM_GEOM_F_MOUTH_WIDTH] = (float)(p[2 * 54] - p[2 * 48]);
    feat[MIM_GEOM_F_LIP_GAP] =
        (float)(((p[2 * 61 + 1] - p[2 * 67 + 1]) + (p[2 * 62 + 1] - p[2 * 66 + 1]) +
                 (p[2 * 63 + 1] - p[2 * 65 + 1])) /
                3);
    feat[MIM_GEOM_F_LIP_LOWER] = (float)mean_y(p, lip_lo, 3);
    feat[MIM_GEOM_F_CHIN] = (float)mean_y(p, chin, 3);
    feat[MIM_GEOM_F_CORNER_LIFT] =
        (float)(mean_y(p, corner, 2) - 0.5 * (p[2 * 62 + 1] + p[2 * 66 + 1]));
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        if (!isfinite(feat[f])) { /* a degenerate eye (corners coincide) gives eye_ar inf */
            for (int g = 0; g < MIM_GEOM_N_FEAT; g++)
                feat[g] = NAN;
            return -1;
        }
    return 0;
}

static double pos(double v)
{
    return v > 0 ? v : 0;
}

void mim_geom_au_scale(int i, float *dead, float *full)
{
    MIM_ASSERT(i >= 0 && i < MIM_GEOM_N_AU && dead && full);
    *dead = au_scale[i][0];
    *full = au_scale[i][1];
}

/* Single images (baseline NULL): how far one person's neutral face lies from the population's,
 * per AU evidence, subtracted from the evidence so identity does not read as action. Robust
 * spread (1.4826 MAD) of each evidence over the 21 fixture faces with an eye distance >= 40 px
 * against mim_geom_neutral: an upper bound, as those photos also differ in pose and expression.
 * AU12/15 read the corners against the lips there (the face's own proportions drop out; neutral
 * faces spread ~0.02), AU25 is absolute and AU26 reads the lip gap (below): no margin needed. */
static const float single_margin[MIM_GEOM_N_AU] = {
    0.021f, 0.062f, 0.052f, 0.030f, 0.012f, 0.062f, 0.020f,
    0.020f, 0.110f, 0.069f, 0.000f, 0.000f, 0.081f,
};

/* Lips alone (AU25 without AU26) part by up to ~5 mm; a wider gap in a single image means the
 * jaw has dropped (FACS reads 26 in stills from the teeth being apart). */
#define LIPS_ONLY_GAP 0.08

void mim_geom_au_evidence(const float *feat, const float *baseline, float *e)
{
    MIM_ASSERT(feat && e);
    const float *b = baseline ? baseline : mim_geom_neutral;
    double d[MIM_GEOM_N_FEAT];
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++) {
        double v = (double)feat[f] - b[f];
        d[f] = isfinite(v) ? v : 0;
    }
    double brow_in = d[MIM_GEOM_F_BROW_INNER], brow_out = d[MIM_GEOM_F_BROW_OUTER];
    double lid_up = d[MIM_GEOM_F_LID_UPPER], lid_lo = d[MIM_GEOM_F_LID_LOWER];
    double nose = d[MIM_GEOM_F_NOSE_BASE], open = d[MIM_GEOM_F_LIP_GAP];
    double gap_abs = isfinite(feat[MIM_GEOM_F_LIP_GAP]) ? feat[MIM_GEOM_F_LIP_GAP] : 0;

    /* AU4 lowers the inner brow as it draws it in; with the brows drawn together that lowering
     * (0.4 of the inward pull) is added back, so AU1+4 (the sad, oblique brow) keeps its AU1 */
    double together = -d[MIM_GEOM_F_BROW_GAP];
    e[MIM_GEOM_AU1] = (float)(pos(brow_in + 0.4 * pos(together)) - 0.2 * pos(brow_out));
    e[MIM_GEOM_AU2] = (float)(pos(brow_out) - 0.3 * pos(brow_in));

    double lowered = -(0.7 * brow_in + 0.3 * brow_out) - 0.5 * pos(nose);
    e[MIM_GEOM_AU4] = (float)fmax(together, 0.5 * (together + lowered));

    e[MIM_GEOM_AU5] = (float)(lid_up - 0.1 * pos(0.5 * (brow_in + brow_out)));

    /* corner rise against the eyes (immune to lip movements) and against the lips' meeting
     * line (immune to pitch and face length); each corrected for mouth opening */
    double rise_eyes = d[MIM_GEOM_F_LIP_CORNER] + 0.3 * pos(open);
    double rise_lips = d[MIM_GEOM_F_CORNER_LIFT] - 0.2 * pos(open);
    double rise = baseline ? 0.5 * (rise_eyes + rise_lips) : rise_lips;
    e[MIM_GEOM_AU6] = (float)(lid_lo - 0.2 * pos(-lid_up - 0.03));
    e[MIM_GEOM_AU9] = (float)(0.7 * nose + 0.3 * d[MIM_GEOM_F_LIP_UPPER]);
    e[MIM_GEOM_AU12] = (float)rise;
    e[MIM_GEOM_AU15] = (float)-rise;
    e[MIM_GEOM_AU17] = (float)(0.7 * d[MIM_GEOM_F_LIP_LOWER] + 0.3 * d[MIM_GEOM_F_CHIN]);
    e[MIM_GEOM_AU20] = (float)(d[MIM_GEOM_F_MOUTH_WIDTH] - 1.8 * pos(rise));
    e[MIM_GEOM_AU25] = (float)fmin(gap_abs, open);
    double lips_apart = fmin(1, pos(gap_abs) / 0.05);
    e[MIM_GEOM_AU26] = baseline ? (float)(-d[MIM_GEOM_F_CHIN] * (0.6 + 0.4 * lips_apart))
                                : (float)(gap_abs - LIPS_ONLY_GAP);

    /* the neutral eye opening; floored so a baseline taken with the eyes shut stays finite */
    double aperture = b[MIM_GEOM_F_LID_UPPER] - b[MIM_GEOM_F_LID_LOWER];
    aperture = isfinite(aperture) && aperture > 0.03 ? aperture : 0.03;
    e[MIM_GEOM_AU45] = (float)(pos(-lid_up) / aperture);

    if (!baseline)
        for (int i = 0; i < MIM_GEOM_N_AU; i++)
            e[i] -= single_margin[i];
}

void mim_geom_aus(const float *feat, const float *baseline, float *intensity, float *presence)
{
    MIM_ASSERT(feat && intensity && presence);
    int ok = 1;
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        ok &= isfinite(feat[f]) != 0;
    float e[MIM_GEOM_N_AU];
    mim_geom_au_evidence(feat, baseline, e);
    for (int i = 0; i < MIM_GEOM_N_AU; i++) {
        double dead = au_scale[i][0], full = au_scale[i][1];
        double v = ok ? 5.0 * (e[i] - dead) / (full - dead) : 0;
        v = v < 0 ? 0 : v > 5 ? 5 : v;
        intensity[i] = (float)v;
        presence[i] = (float)(1 - exp2(-v));
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of feature f over the rows listed in rows[0..n) of feats; tmp: (n) scratch. */
static float column_median(const float *feats, const size_t *rows, size_t n, int f, float *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = feats[rows[i] * MIM_GEOM_N_FEAT + f];
    qsort(tmp, n, sizeof *tmp, cmp_float);
    return n % 2 ? tmp[n / 2] : 0.5f * (tmp[n / 2 - 1] + tmp[n / 2]);
}

/* Keeps in sel the k rows of rows[0..n) closest to centre (squared z-scores over the features,
 * each clipped at 4 sigma so one wild feature cannot outvote the rest); dist2: (2n) scratch.
 * Unused tail entries of sel are set to (size_t)-1. */
static void closest_rows(const float *feats, const size_t *rows, size_t n, const float *centre,
                         const float *scale, size_t k, double *dist2, size_t *sel)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (int f = 0; f < MIM_GEOM_N_FEAT; f++) {
            double z = (feats[rows[i] * MIM_GEOM_N_FEAT + f] - centre[f]) / scale[f];
            s += fmin(z * z, 16.0);
        }
        dist2[i] = s;
    }
    /* the k-th smallest distance, then every row up to it (ties keep a few more) */
    double *sorted = dist2 + n;
    memcpy(sorted, dist2, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double cut = sorted[k - 1];
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (dist2[i] <= cut)
            sel[m++] = rows[i];
    for (size_t i = m; i < n; i++)
        sel[i] = (size_t)-1;
}

int mim_geom_baseline(const float *feats, size_t n, float *baseline, size_t *n_used)
{
    MIM_ASSERT(baseline && (feats || n == 0));
    if (n_used)
        *n_used = 0;
    if (n == 0)
        return -1;
    int rc = -1;
    size_t *rows = malloc(n * sizeof *rows), *sel = malloc(n * sizeof *sel);
    float *tmp = malloc(n * sizeof *tmp);
    double *dist2 = malloc(2 * n * sizeof *dist2);
    if (!rows || !sel || !tmp || !dist2)
        goto out;
    size_t n_ok = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = 1;
        for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
            ok &= isfinite(feats[i * MIM_GEOM_N_FEAT + f]) != 0;
        if (ok)
            rows[n_ok++] = i;
    }
    if (n_ok == 0)
        goto out;

    /* robust centre and spread of all usable frames */
    float centre[MIM_GEOM_N_FEAT], scale[MIM_GEOM_N_FEAT];
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++) {
        centre[f] = column_median(feats, rows, n_ok, f, tmp);
        for (size_t i = 0; i < n_ok; i++)
            tmp[i] = fabsf(feats[rows[i] * MIM_GEOM_N_FEAT + f] - centre[f]);
        qsort(tmp, n_ok, sizeof *tmp, cmp_float);
        float mad = 1.4826f * tmp[n_ok / 2]; /* MAD -> sigma of a normal distribution */
        scale[f] = mad > feat_jitter[f] ? mad : feat_jitter[f];
    }
    /* the closest half is the quiet part of the video while at least half of it is neutral;
     * a second pass around that half's median drops frames the first centre (pulled a little
     * toward the expressions) admitted */
    size_t k = (n_ok + 1) / 2, m = n_ok;
    memcpy(sel, rows, n_ok * sizeof *sel);
    for (int pass = 0; pass < 2 && n_ok > 2; pass++) {
        closest_rows(feats, rows, n_ok, centre, scale, k, dist2, sel);
        for (m = 0; m < n_ok && sel[m] != (size_t)-1; m++)
            ;
        for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
            centre[f] = column_median(feats, sel, m, f, tmp);
    }
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        baseline[f] = column_median(feats, sel, m, f, tmp);
    if (n_used)
        *n_used = m;
    rc = 0;
out:
    free(rows);
    free(sel);
    free(tmp);
    free(dist2);
    return rc;
}
