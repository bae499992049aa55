/* test-landmark-geometry.c: the `geometry` AU model (engine/landmark/mim-geometry.h) on real
 * faces: dlib's 68 landmarks of the fixture photos ($MIMICA_SHARED_DIR/fixtures/faces/reference,
 * dlib.hog[].landmarks_rgb; the faces with an eye-centre distance >= 60 px), deformed the way
 * FACS describes each action.
 *
 * The deformations below are written from the FACS appearance changes, in eye-distance units on
 * the face's own axes (out = away from the midline, up), at FACS E; intensity k moves k/5 of it.
 * They are independent of the estimator's measures: they move the points FACS says move (often
 * several groups at once, e.g. AU9 lowers the inner brows and raises the upper lip as well as the
 * nostrils, strong AU12 pushes the lower lids up), and the estimator must still pick the right AU.
 *
 * How the common expressions show up (test_combinations prints the vectors):
 *  - smile, AU6+12: the corners go up and out (AU12 from their rise against the eyes and the
 *    lips' meeting line; the widening is credited to 12, not 20) and the lower lids rise (AU6);
 *    a strong 12 alone pushes the lids a little, which AU6 discounts.
 *  - raised brows, AU1+2: inner and outer brows up; each AU takes its own part after removing
 *    the share the other one drags along, so both read a little below either alone.
 *  - open mouth, AU25+26: the inner lips part (25) and the chin drops (26); the corners go down
 *    with the jaw but the opening correction keeps AU15 quiet.
 *  - blink, AU45: the upper lids fall to the lower ones; AU6 ignores the lower lid's small rise.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/mim-geometry.h"
#include "mim-test.h"

#define MAX_FACES  64
#define MIN_EYE_PX 60.0 /* fixture faces used: eye-centre distance in pixels */
#define SEED       20240611u
#define JITTER     0.010 /* landmark jitter per coordinate, eye-distance units (1.4 % per point) */
#define N_SEQ      400   /* frames in the simulated videos */
#define SEQ_EYE_PX 30.0  /* their face size */

typedef struct {
    char name[96]; /* fixture file#index */
    float xy[136]; /* (68,2) */
    double eye_px;
} face;

static face g_faces[MAX_FACES];
static int g_n_faces = -1; /* -1: not loaded yet; 0: no fixtures */

/* ---- fixtures ---------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (b) {
        size_t got = fread(b, 1, (size_t)n, f);
        b[got] = 0;
    }
    fclose(f);
    return b;
}

static double eye_distance(const float *xy)
{
    double rx = 0.5 * (xy[72] + xy[78]), ry = 0.5 * (xy[73] + xy[79]);
    double lx = 0.5 * (xy[84] + xy[90]), ly = 0.5 * (xy[85] + xy[91]);
    return hypot(lx - rx, ly - ry);
}

/* The dlib.hog faces of one reference file: each "landmarks_rgb" inside the "hog" array is 68
 * [x, y] pairs. A minimal scan, enough for these generated files. */
static void load_file(const char *dir, const char *file)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *js = slurp(path);
    if (!js)
        return;
    const char *hog = strstr(js, "\"hog\"");
    const char *end = hog ? strchr(hog, '[') : NULL;
    for (int depth = 0; end && *end; end++)
        if (*end == '[')
            depth++;
        else if (*end == ']' && --depth == 0)
            break;
    const char *p = hog;
    for (int idx = 0; p && end && g_n_faces < MAX_FACES; idx++) {
        p = strstr(p, "\"landmarks_rgb\"");
        if (!p || p > end)
            break;
        face *f = &g_faces[g_n_faces];
        int n = 0;
        for (p += 15; *p && n < 136;) {
            if ((*p >= '0' && *p <= '9') || *p == '-') {
                char *q;
                f->xy[n++] = (float)strtod(p, &q);
                p = q;
            } else {
                p++;
            }
        }
        if (n < 136)
            break;
        f->eye_px = eye_distance(f->xy);
        snprintf(f->name, sizeof f->name, "%.70s#%d", file, idx);
        if (f->eye_px >= MIN_EYE_PX)
            g_n_faces++;
    }
    free(js);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int faces_load(void)
{
    if (g_n_faces >= 0)
        return g_n_faces;
    g_n_faces = 0;
    const char *shared = getenv("MIMICA_SHARED_DIR");
    char dir[900];
    snprintf(dir, sizeof dir, "%s/fixtures/faces/reference", shared ? shared : "");
    DIR *d = shared ? opendir(dir) : NULL;
    if (!d)
        return 0;
    char *names[256];
    int n = 0;
    for (struct dirent *de; (de = readdir(d)) && n < 256;)
        if (strstr(de->d_name, ".json"))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str); /* deterministic order */
    for (int i = 0; i < n; i++) {
        load_file(dir, names[i]);
        free(names[i]);
    }
    return g_n_faces;
}

/* MT_SKIP without the fixtures, except under CI where they must be there. */
#define NEED_FACES()                                                                               \
    do {                                                                                           \
        if (faces_load() == 0) {                                                                   \
            const char *ci = getenv("CI");                                                         \
            if (ci && strcmp(ci, "true") == 0) {                                                   \
                MT_FAIL("no fixture faces under $MIMICA_SHARED_DIR/fixtures/faces/reference");     \
                return;                                                                            \
            }                                                                                      \
            MT_SKIP("fixtures not found ($MIMICA_SHARED_DIR/fixtures/faces/reference)");           \
        }                                                                                          \
    } while (0)

static const face *face_named(const char *prefix)
{
    for (int i = 0; i < g_n_faces; i++)
        if (strncmp(g_faces[i].name, prefix, strlen(prefix)) == 0)
            return &g_faces[i];
    return NULL;
}

/* ---- face frame and FACS deformations ----------------------------------------------------- */

/* The face's own axes: origin between the eye centres, x toward the image-right eye, unit = the
 * eye-centre distance in pixels. */
typedef struct {
    double ox, oy, ex, ey, unit;
} frame;

static frame face_frame(const float *xy)
{
    double rx = 0.5 * (xy[72] + xy[78]), ry = 0.5 * (xy[73] + xy[79]);
    double lx = 0.5 * (xy[84] + xy[90]), ly = 0.5 * (xy[85] + xy[91]);
    double d = hypot(lx - rx, ly - ry);
    frame f = {0.5 * (rx + lx), 0.5 * (ry + ly), (lx - rx) / d, (ly - ry) / d, d};
    return f;
}

/* Moves point k by (right, up) face units. */
static void move(const frame *fr, float *xy, int k, double right, double up)
{
    /* image "up" is the x axis turned a quarter turn against the image's y-down */
    xy[2 * k] += (float)(fr->unit * (right * fr->ex + up * fr->ey));
    xy[2 * k + 1] += (float)(fr->unit * (right * fr->ey - up * fr->ex));
}

/* dlib 68-point left/right partners */
static const int mirror68[68] = {
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  26, 25, 24, 23, 22, 21,
    20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36,
    41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65,
};

typedef struct {
    int k;         /* a point on the image-left side (the subject's right) or on the midline */
    float out, up; /* displacement at FACS E: away from the midline, up */
} disp;

enum { DEF_AU45_LIDS = -1 };

/* FACS E displacements per AU (eye-distance units; 0.1 ~ 6 mm). */
static const disp def_au1[] = {/* inner brow raised, brow oblique */
                               {21, 0, .12f},
                               {20, 0, .10f},
                               {19, 0, .06f},
                               {18, 0, .03f},
                               {17, 0, .01f}};
static const disp def_au2[] = {/* lateral brow raised, arched */
                               {17, 0, .12f},
                               {18, 0, .11f},
                               {19, 0, .07f},
                               {20, 0, .03f},
                               {21, 0, .01f}};
static const disp def_au4[] = {/* brows lowered and drawn together, eye cover fold pushed down */
                               {21, -.06f, -.07f}, {20, -.04f, -.06f}, {19, -.02f, -.045f},
                               {18, 0, -.03f},     {17, 0, -.02f},     {37, 0, -.01f},
                               {38, 0, -.01f}};
static const disp def_au5[] = {/* upper lid raised, lower lid a touch down */
                               {37, 0, .04f},
                               {38, 0, .04f},
                               {40, 0, -.005f},
                               {41, 0, -.005f}};
static const disp def_au6[] = {/* cheek up: lower lid raised (outer part most), outer corner up,
                                * lateral brow pulled down, cheek contour up */
                               {41, 0, .055f},  {40, 0, .045f}, {36, 0, .01f},  {37, 0, -.005f},
                               {38, 0, -.005f}, {17, 0, -.02f}, {18, 0, -.02f}, {1, 0, .02f},
                               {2, 0, .02f},    {3, 0, .015f}};
static const disp def_au9[] = {/* nostril wings and upper lip up, inner brows lowered,
                                * lower lids pushed up a little */
                               {31, 0, .07f},   {32, 0, .06f},   {33, 0, .055f}, {29, 0, .01f},
                               {30, 0, .01f},   {50, 0, .05f},   {51, 0, .05f},  {49, 0, .035f},
                               {48, 0, .015f},  {61, 0, .04f},   {62, 0, .04f},  {60, 0, .01f},
                               {21, 0, -.035f}, {20, 0, -.025f}, {19, 0, -.01f}, {40, 0, .015f},
                               {41, 0, .015f}};
static const disp def_au12[] = {/* corners pulled up and out (zygomaticus), lips follow; strong
                                 * 12 also lifts the lower lids (below) */
                                {48, .09f, .12f}, {60, .07f, .10f}, {49, .04f, .06f},
                                {59, .05f, .07f}, {61, .02f, .03f}, {67, .02f, .04f},
                                {50, .01f, .02f}, {58, .01f, .02f}, {31, .01f, .01f},
                                {3, .01f, 0},     {2, .01f, .005f}};
static const disp def_au15[] = {/* corners pulled down, lower lip sides follow */
                                {48, .01f, -.07f}, {60, .005f, -.06f}, {59, 0, -.04f},
                                {49, 0, -.03f},    {58, 0, -.015f},    {67, 0, -.02f},
                                {61, 0, -.01f}};
static const disp def_au17[] = {/* chin boss up, lower lip pushed up and bulging; the closed
                                 * lips' contact line and the upper lip ride up with it */
                                {57, 0, .11f},  {58, 0, .10f}, {59, 0, .06f},  {66, 0, .05f},
                                {67, 0, .045f}, {62, 0, .05f}, {61, 0, .045f}, {51, 0, .03f},
                                {50, 0, .025f}, {8, 0, .05f},  {7, 0, .05f},   {6, 0, .025f},
                                {48, 0, -.005f}};
static const disp def_au20[] = {/* lips stretched sideways, flattened; corners slightly down */
                                {48, .09f, -.015f}, {60, .08f, -.01f}, {49, .05f, 0},
                                {59, .05f, 0},      {50, .02f, -.01f}, {51, 0, -.01f},
                                {58, .02f, .01f},   {57, 0, .01f},     {61, .03f, 0},
                                {67, .03f, 0},      {5, .01f, 0},      {6, .01f, 0}};
static const disp def_au25[] = {/* lips part: lower lip down, upper inner lip up, jaw still */
                                {57, 0, -.12f}, {58, 0, -.12f}, {59, 0, -.07f}, {66, 0, -.12f},
                                {67, 0, -.10f}, {62, 0, .03f},  {61, 0, .03f}};
static const disp def_au26[] = {/* jaw dropped: the mandible turns down, chin most, lower lip
                                 * with it, corners a little down and in, lips apart */
                                {8, 0, -.22f},      {7, 0, -.20f},  {6, 0, -.17f},
                                {5, 0, -.12f},      {4, 0, -.07f},  {3, 0, -.03f},
                                {57, 0, -.18f},     {58, 0, -.18f}, {59, 0, -.14f},
                                {66, 0, -.17f},     {67, 0, -.16f}, {48, -.02f, -.05f},
                                {60, -.02f, -.06f}, {49, 0, -.005f}};

typedef struct {
    int au_index; /* MIM_GEOM_AU* */
    const disp *d;
    int n;
} deformation;

#define DEF(au, arr)                                                                               \
    {                                                                                              \
        au, arr, (int)(sizeof arr / sizeof arr[0])                                                 \
    }
static const deformation g_defs[MIM_GEOM_N_AU] = {
    DEF(MIM_GEOM_AU1, def_au1),           DEF(MIM_GEOM_AU2, def_au2),
    DEF(MIM_GEOM_AU4, def_au4),           DEF(MIM_GEOM_AU5, def_au5),
    DEF(MIM_GEOM_AU6, def_au6),           DEF(MIM_GEOM_AU9, def_au9),
    DEF(MIM_GEOM_AU12, def_au12),         DEF(MIM_GEOM_AU15, def_au15),
    DEF(MIM_GEOM_AU17, def_au17),         DEF(MIM_GEOM_AU20, def_au20),
    DEF(MIM_GEOM_AU25, def_au25),         DEF(MIM_GEOM_AU26, def_au26),
    {MIM_GEOM_AU45, NULL, DEF_AU45_LIDS},
};

/* Applies AU i's deformation at amount a (intensity / 5) to xy (in place). */
static void deform(int i, double a, float *xy)
{
    frame fr = face_frame(xy);
    const deformation *df = &g_defs[i];
    if (df->n == DEF_AU45_LIDS) {
        /* blink: each upper lid point falls toward the lower lid point below it (95 % of the
         * way at E: the lids meet), the lower lid rises a hair */
        static const int up[4] = {37, 38, 43, 44}, lo[4] = {41, 40, 47, 46};
        for (int j = 0; j < 4; j++) {
            double dx = (xy[2 * lo[j]] - xy[2 * up[j]]) / fr.unit;
            double dy = (xy[2 * lo[j] + 1] - xy[2 * up[j] + 1]) / fr.unit;
            double along = dx * fr.ex + dy * fr.ey, down = -(dx * fr.ey - dy * fr.ex);
            move(&fr, xy, up[j], 0.95 * a * along, -0.95 * a * down);
            move(&fr, xy, lo[j], 0, 0.01 * a);
        }
        return;
    }
    for (int j = 0; j < df->n; j++) {
        int k = df->d[j].k, m = mirror68[k];
        move(&fr, xy, k, -a * df->d[j].out, a * df->d[j].up);
        if (m != k)
            move(&fr, xy, m, a * df->d[j].out, a * df->d[j].up);
    }
    if (df->au_index == MIM_GEOM_AU12) {
        /* FACS: a strong 12 raises the cheeks and narrows the eyes from below (from C on) */
        double push = 0.025 * fmax(0, (a - 0.5) / 0.5);
        static const int lids[4] = {40, 41, 46, 47};
        for (int j = 0; j < 4; j++)
            move(&fr, xy, lids[j], 0, push);
    }
}

/* ---- helpers ------------------------------------------------------------------------------ */

static uint64_t g_rng;

static double rnd_uniform(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) / 9007199254740992.0;
}

static double rnd_normal(void)
{
    double u = rnd_uniform() + 1e-300, v = rnd_uniform();
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void aus_of(const float *xy, const float *baseline, float *intensity)
{
    float feat[MIM_GEOM_N_FEAT], pres[MIM_GEOM_N_AU];
    MT_CHECK(mim_geom_features(xy, 0, 0, feat) == 0);
    mim_geom_aus(feat, baseline, intensity, pres);
}

static void print_au_header(const char *first)
{
    char line[256];
    int o = snprintf(line, sizeof line, "%-14s", first);
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        o += snprintf(line + o, sizeof line - (size_t)o, " %5d", mim_geom_au_ids[a]);
    MT_NOTE("%s", line);
}

static void print_au_row(const char *label, const float *v)
{
    char line[256];
    int o = snprintf(line, sizeof line, "%-14s", label);
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        o += snprintf(line + o, sizeof line - (size_t)o, " %5.2f", v[a]);
    MT_NOTE("%s", line);
}

/* A similarity of the landmarks: scale s, rotation th about the origin, then (tx, ty). */
static void similarity(const float *src, float *dst, double s, double th, double tx, double ty)
{
    double c = s * cos(th), sn = s * sin(th);
    for (int k = 0; k < 68; k++) {
        double x = src[2 * k], y = src[2 * k + 1];
        dst[2 * k] = (float)(c * x - sn * y + tx);
        dst[2 * k + 1] = (float)(sn * x + c * y + ty);
    }
}

/* ---- tests -------------------------------------------------------------------------------- */

/* Each AU's deformation at intensities 1..5 on every face, against that face's undeformed
 * features as baseline: its own AU must not fall as the deformation grows and must be present
 * at E; every other AU must stay absent (< 1), except AU25 under AU26 (a jaw drop parts the
 * lips: FACS scores 25+26) and AU6 under AU12 (a broad smile pushes the cheeks and lower lids up,
 * which landmarks cannot tell from AU6; mim-geometry.c). Prints the mean intensity per step and
 * the cross-talk matrix. */
static int co_reading(int deformed, int read)
{
    return (deformed == MIM_GEOM_AU26 && read == MIM_GEOM_AU25) ||
           (deformed == MIM_GEOM_AU12 && read == MIM_GEOM_AU6);
}

static void test_deformations(void)
{
    NEED_FACES();
    MT_NOTE("%d fixture faces with eye distance >= %.0f px", g_n_faces, MIN_EYE_PX);
    float cross[MIM_GEOM_N_AU][MIM_GEOM_N_AU] = {{0}};
    float cross_max[MIM_GEOM_N_AU][MIM_GEOM_N_AU] = {{0}}; /* max intensity */
    float margin[MIM_GEOM_N_AU][MIM_GEOM_N_AU] = {{0}};    /* max evidence / dead zone */
    int n_fail = 0;
    for (int i = 0; i < MIM_GEOM_N_AU; i++) {
        double own_mean[6] = {0}, own_min5 = 1e9;
        for (int fi = 0; fi < g_n_faces; fi++) {
            const face *f = &g_faces[fi];
            float base[MIM_GEOM_N_FEAT];
            MT_CHECK(mim_geom_features(f->xy, 0, 0, base) == 0);
            float prev = 0;
            for (int k = 1; k <= 5; k++) {
                float xy[136], in[MIM_GEOM_N_AU], feat[MIM_GEOM_N_FEAT], ev[MIM_GEOM_N_AU];
                memcpy(xy, f->xy, sizeof xy);
                deform(i, k / 5.0, xy);
                aus_of(xy, base, in);
                MT_CHECK(mim_geom_features(xy, 0, 0, feat) == 0);
                mim_geom_au_evidence(feat, base, ev);
                for (int j = 0; j < MIM_GEOM_N_AU; j++) {
                    float dead, full;
                    mim_geom_au_scale(j, &dead, &full);
                    margin[i][j] = fmaxf(margin[i][j], ev[j] / dead);
                }
                own_mean[k] += in[i] / g_n_faces;
                if (in[i] < prev - 1e-4f && n_fail++ < 5)
                    MT_FAIL("AU%d not monotone on %s: %.3f at %d < %.3f at %d", mim_geom_au_ids[i],
                            f->name, in[i], k, prev, k - 1);
                prev = in[i];
                for (int j = 0; j < MIM_GEOM_N_AU; j++) {
                    if (k == 5)
                        cross[i][j] += in[j] / g_n_faces;
                    cross_max[i][j] = fmaxf(cross_max[i][j], in[j]);
                    int allowed = j == i || co_reading(i, j);
                    if (!allowed && in[j] >= 1 && n_fail++ < 5)
                        MT_FAIL("deforming AU%d (k=%d) on %s reads AU%d = %.2f (tol < 1)",
                                mim_geom_au_ids[i], k, f->name, mim_geom_au_ids[j], in[j]);
                }
            }
            own_min5 = fmin(own_min5, prev);
            if (prev < 2 && n_fail++ < 5)
                MT_FAIL("AU%d at E on %s = %.2f, want >= 2", mim_geom_au_ids[i], f->name, prev);
        }
        MT_NOTE("AU%-2d own intensity, mean over faces, k=1..5: %.2f %.2f %.2f %.2f %.2f (min at "
                "E %.2f)",
                mim_geom_au_ids[i], own_mean[1], own_mean[2], own_mean[3], own_mean[4], own_mean[5],
                own_min5);
    }
    MT_NOTE("cross-talk: mean intensity at E (row = AU deformed, column = AU read)");
    print_au_header("deformed");
    for (int i = 0; i < MIM_GEOM_N_AU; i++) {
        char label[16];
        snprintf(label, sizeof label, "AU%d", mim_geom_au_ids[i]);
        print_au_row(label, cross[i]);
    }
    MT_NOTE("margin: largest evidence / dead zone over faces and steps (< 1: reads 0)");
    print_au_header("deformed");
    double worst = -1, worst_margin = -1;
    int wi = 0, wj = 0, mi = 0, mj = 0;
    for (int i = 0; i < MIM_GEOM_N_AU; i++) {
        char label[16];
        snprintf(label, sizeof label, "AU%d", mim_geom_au_ids[i]);
        print_au_row(label, margin[i]);
        for (int j = 0; j < MIM_GEOM_N_AU; j++) {
            if (j == i || co_reading(i, j))
                continue;
            if (cross_max[i][j] > worst)
                worst = cross_max[i][j], wi = i, wj = j;
            if (margin[i][j] > worst_margin)
                worst_margin = margin[i][j], mi = i, mj = j;
        }
    }
    MT_NOTE("worst cross-talk over all faces and steps: AU%d = %.2f under AU%d's deformation "
            "(tol < 1); closest to its dead zone: AU%d at %.2f of it under AU%d",
            mim_geom_au_ids[wj], worst, mim_geom_au_ids[wi], mim_geom_au_ids[mj], worst_margin,
            mim_geom_au_ids[mi]);
    MT_CHECK_INT(n_fail, 0);
}

/* Features do not change under translation, scale and in-plane rotation. */
static void test_similarity_invariance(void)
{
    NEED_FACES();
    static const double cases[][4] = {
        {1.0, 0, 123.4, -56.7}, {0.37, 0, 10, 20},     {2.9, 0, -300, 5},
        {1.3, 0.44, 40, -80},   {0.8, -2.8, 900, 700}, {1, M_PI, 0, 0},
    };
    double worst = 0;
    for (int fi = 0; fi < g_n_faces; fi++) {
        float f0[MIM_GEOM_N_FEAT];
        MT_CHECK(mim_geom_features(g_faces[fi].xy, 0, 0, f0) == 0);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            float xy[136], f1[MIM_GEOM_N_FEAT];
            similarity(g_faces[fi].xy, xy, cases[c][0], cases[c][1], cases[c][2], cases[c][3]);
            MT_CHECK(mim_geom_features(xy, 0, 0, f1) == 0);
            for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
                worst = fmax(worst, fabs(f1[f] - f0[f]));
        }
    }
    MT_NOTE("max |feature change| under 6 similarities x %d faces: %.3g (tol 1e-4)", g_n_faces,
            worst);
    MT_CHECK(worst < 1e-4);
}

/* A head model of the test's own (independent of the estimator's depth table): a cylinder-like
 * face surface plus protruding nose, lips, brows and chin; depth toward the camera, eye units. */
static double test_depth(int k, double x)
{
    static const float bump[68] = {
        [27] = .12f, [28] = .20f,  [29] = .30f, [30] = .42f, [31] = .18f, [32] = .25f,  [33] = .28f,
        [34] = .25f, [35] = .18f,  [17] = .02f, [18] = .06f, [19] = .09f, [20] = .10f,  [21] = .10f,
        [22] = .10f, [23] = .10f,  [24] = .09f, [25] = .06f, [26] = .02f, [36] = -.06f, [39] = .04f,
        [42] = .04f, [45] = -.06f, [37] = .04f, [38] = .05f, [40] = .05f, [41] = .04f,  [43] = .05f,
        [44] = .04f, [46] = .04f,  [47] = .05f, [48] = .05f, [49] = .15f, [50] = .22f,  [51] = .25f,
        [52] = .22f, [53] = .15f,  [54] = .05f, [55] = .13f, [56] = .20f, [57] = .22f,  [58] = .20f,
        [59] = .13f, [60] = .05f,  [61] = .18f, [62] = .20f, [63] = .18f, [64] = .05f,  [65] = .17f,
        [66] = .19f, [67] = .17f,  [7] = .06f,  [8] = .10f,  [9] = .06f,
    };
    double r = x / 1.25;
    return 0.35 * sqrt(fmax(0, 1 - r * r)) + bump[k];
}

/* The face turned by yaw then pitch (the convention of mim_geom_features: yaw > 0 nose toward
 * the image's left, pitch > 0 nose down), projected orthographically into the same frame. */
static void turn_face(const float *src, double yaw, double pitch, float *dst)
{
    frame fr = face_frame(src);
    for (int k = 0; k < 68; k++) {
        double ex = src[2 * k] - fr.ox, ey = src[2 * k + 1] - fr.oy;
        double x = (ex * fr.ex + ey * fr.ey) / fr.unit, y = (-ex * fr.ey + ey * fr.ex) / fr.unit;
        double z = test_depth(k, x);
        double x1 = x * cos(yaw) - z * sin(yaw), z1 = x * sin(yaw) + z * cos(yaw);
        double y1 = y * cos(pitch) + z1 * sin(pitch); /* y down */
        dst[2 * k] = (float)(fr.ox + fr.unit * (x1 * fr.ex - y1 * fr.ey));
        dst[2 * k + 1] = (float)(fr.oy + fr.unit * (x1 * fr.ey + y1 * fr.ex));
    }
}

/* Mild yaw and pitch with the pose passed in read neutral against the frontal face; without the
 * pose they would not (printed for comparison). The frontal face is the same model at 0, 0. */
static void test_pose_correction(void)
{
    NEED_FACES();
    static const double poses[][2] = {{15, 0}, {-15, 0}, {0, 10}, {0, -10}, {12, 8}, {-10, -8}};
    float worst_with[MIM_GEOM_N_AU] = {0}, worst_without[MIM_GEOM_N_AU] = {0};
    for (int fi = 0; fi < g_n_faces; fi++) {
        float front[136], base[MIM_GEOM_N_FEAT];
        turn_face(g_faces[fi].xy, 0, 0, front);
        MT_CHECK(mim_geom_features(front, 0, 0, base) == 0);
        for (size_t p = 0; p < sizeof poses / sizeof poses[0]; p++) {
            double yaw = poses[p][0] * M_PI / 180, pitch = poses[p][1] * M_PI / 180;
            float xy[136], feat[MIM_GEOM_N_FEAT], in[MIM_GEOM_N_AU], pr[MIM_GEOM_N_AU];
            turn_face(g_faces[fi].xy, yaw, pitch, xy);
            MT_CHECK(mim_geom_features(xy, yaw, pitch, feat) == 0);
            mim_geom_aus(feat, base, in, pr);
            for (int a = 0; a < MIM_GEOM_N_AU; a++)
                worst_with[a] = fmaxf(worst_with[a], in[a]);
            MT_CHECK(mim_geom_features(xy, 0, 0, feat) == 0);
            mim_geom_aus(feat, base, in, pr);
            for (int a = 0; a < MIM_GEOM_N_AU; a++)
                worst_without[a] = fmaxf(worst_without[a], in[a]);
        }
    }
    MT_NOTE("yaw +-15, pitch +-10, (12,8), (-10,-8) deg on %d faces: max intensity per AU",
            g_n_faces);
    print_au_header("");
    print_au_row("pose passed", worst_with);
    print_au_row("pose unknown", worst_without);
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        if (worst_with[a] >= 1)
            MT_FAIL("AU%d reads %.2f on a turned neutral face with the pose passed (tol < 1)",
                    mim_geom_au_ids[a], worst_with[a]);
}

/* A video of one face at SEQ_EYE_PX with head motion (scale +-3 %, roll +-0.1 rad, drift) and
 * landmark jitter JITTER per coordinate; each frame i gets expression expr[i] (-1: neutral,
 * else a deformation index, amount 1) first. feats: (n, MIM_GEOM_N_FEAT). */
static void make_sequence(const face *f, int n, const int *expr, float *feats)
{
    float small[136];
    frame fr = face_frame(f->xy);
    similarity(f->xy, small, SEQ_EYE_PX / fr.unit, 0, 0, 0);
    for (int i = 0; i < n; i++) {
        float xy[136], moved[136];
        memcpy(xy, small, sizeof xy);
        if (expr && expr[i] >= 0)
            deform(expr[i], 1.0, xy);
        double s = 1 + 0.03 * (2 * rnd_uniform() - 1), th = 0.1 * (2 * rnd_uniform() - 1);
        similarity(xy, moved, s, th, 200 + 20 * sin(i * 0.05), 150 + 10 * cos(i * 0.03));
        double sigma = JITTER * SEQ_EYE_PX * s;
        for (int k = 0; k < 136; k++)
            moved[k] += (float)(sigma * rnd_normal());
        MT_CHECK(mim_geom_features(moved, 0, 0, feats + (size_t)i * MIM_GEOM_N_FEAT) == 0);
    }
}

/* Reads every frame against baseline; returns the largest intensity, fills per-AU statistics. */
static float read_sequence(const float *feats, int n, const float *baseline, const int *expr,
                           float *max_au, float *frac_nonzero, float *mean_au)
{
    float worst = 0;
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        max_au[a] = frac_nonzero[a] = mean_au[a] = 0;
    int n_neutral = 0;
    for (int i = 0; i < n; i++) {
        if (expr && expr[i] >= 0)
            continue;
        float in[MIM_GEOM_N_AU], pr[MIM_GEOM_N_AU];
        mim_geom_aus(feats + (size_t)i * MIM_GEOM_N_FEAT, baseline, in, pr);
        n_neutral++;
        for (int a = 0; a < MIM_GEOM_N_AU; a++) {
            max_au[a] = fmaxf(max_au[a], in[a]);
            frac_nonzero[a] += in[a] > 0;
            mean_au[a] += in[a];
            worst = fmaxf(worst, in[a]);
            MT_CHECK((in[a] >= 1) == (pr[a] >= 0.5f));
        }
    }
    for (int a = 0; a < MIM_GEOM_N_AU; a++) {
        frac_nonzero[a] /= n_neutral;
        mean_au[a] /= n_neutral;
    }
    return worst;
}

/* A neutral video of a small face with jitter: the baseline from it keeps every frame at
 * intensity ~0 and presence < 0.5. */
static void test_neutral_sequence(void)
{
    NEED_FACES();
    const face *f = face_named("faceapi__sample3.jpg.json#0"); /* a neutral face (by eye) */
    MT_CHECK(f != NULL);
    if (!f)
        return;
    g_rng = SEED;
    float *feats = malloc(sizeof(float) * N_SEQ * MIM_GEOM_N_FEAT);
    make_sequence(f, N_SEQ, NULL, feats);
    float base[MIM_GEOM_N_FEAT], max_au[MIM_GEOM_N_AU], frac[MIM_GEOM_N_AU], mean[MIM_GEOM_N_AU];
    size_t used = 0;
    MT_CHECK(mim_geom_baseline(feats, N_SEQ, base, &used) == 0);
    float worst = read_sequence(feats, N_SEQ, base, NULL, max_au, frac, mean);
    MT_NOTE("seed %u, %d frames of %s at %.0f px, jitter %.1f %% per coordinate; baseline from "
            "%zu frames",
            SEED, N_SEQ, f->name, SEQ_EYE_PX, 100 * JITTER, used);
    print_au_header("");
    print_au_row("max", max_au);
    print_au_row("mean", mean);
    print_au_row("frac > 0", frac);
    MT_NOTE("largest intensity on a neutral frame %.2f (tol < 1, i.e. presence < 0.5)", worst);
    MT_CHECK(worst < 1);
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        if (mean[a] > 0.05f)
            MT_FAIL("AU%d mean intensity %.3f on neutral frames (tol 0.05)", mim_geom_au_ids[a],
                    mean[a]);
    free(feats);
}

/* Another person, another neutral shape: neutral after their own baseline; against the first
 * person's baseline (identity read as action) for comparison. */
static void test_other_identity(void)
{
    NEED_FACES();
    const face *a = face_named("faceapi__sample3.jpg.json#0");
    const face *b = face_named("faceapi__sample5.jpg.json#3"); /* neutral too, other shape */
    MT_CHECK(a && b);
    if (!a || !b)
        return;
    g_rng = SEED + 1;
    float *fa = malloc(sizeof(float) * N_SEQ * MIM_GEOM_N_FEAT);
    float *fb = malloc(sizeof(float) * N_SEQ * MIM_GEOM_N_FEAT);
    make_sequence(a, N_SEQ, NULL, fa);
    make_sequence(b, N_SEQ, NULL, fb);
    float base_a[MIM_GEOM_N_FEAT], base_b[MIM_GEOM_N_FEAT];
    MT_CHECK(mim_geom_baseline(fa, N_SEQ, base_a, NULL) == 0);
    MT_CHECK(mim_geom_baseline(fb, N_SEQ, base_b, NULL) == 0);
    float max_own[MIM_GEOM_N_AU], max_other[MIM_GEOM_N_AU], frac[MIM_GEOM_N_AU],
        mean[MIM_GEOM_N_AU];
    float worst = read_sequence(fb, N_SEQ, base_b, NULL, max_own, frac, mean);
    read_sequence(fb, N_SEQ, base_a, NULL, max_other, frac, mean);
    MT_NOTE("%s read against its own baseline and against %s's", b->name, a->name);
    print_au_header("baseline");
    print_au_row("own: max", max_own);
    print_au_row("other's: max", max_other);
    print_au_row("other's: mean", mean);
    MT_NOTE("largest intensity with its own baseline %.2f (tol < 1)", worst);
    MT_CHECK(worst < 1);
    free(fa);
    free(fb);
}

/* Plain per-feature median of n rows (the naive baseline, for comparison). */
static void plain_median(const float *feats, int n, float *out)
{
    float *col = malloc(sizeof(float) * (size_t)n);
    for (int ft = 0; ft < MIM_GEOM_N_FEAT; ft++) {
        for (int i = 0; i < n; i++)
            col[i] = feats[i * MIM_GEOM_N_FEAT + ft];
        for (int i = 1; i < n; i++) /* insertion sort: a few hundred values */
            for (int j = i; j > 0 && col[j - 1] > col[j]; j--) {
                float t = col[j];
                col[j] = col[j - 1];
                col[j - 1] = t;
            }
        out[ft] = n % 2 ? col[n / 2] : 0.5f * (col[n / 2 - 1] + col[n / 2]);
    }
    free(col);
}

static double max_abs_diff(const float *a, const float *b, int *worst_f)
{
    double err = 0;
    for (int ft = 0; ft < MIM_GEOM_N_FEAT; ft++)
        if (fabs(a[ft] - b[ft]) > err) {
            err = fabs(a[ft] - b[ft]);
            *worst_f = ft;
        }
    return err;
}

/* 30 % of the frames expressive, in runs of 10 frames: (a) a mix of E-level actions (smiles,
 * brows, open mouths, blinks, frowns, ...), (b) smiles only (AU6+12 at E: a happy video, the
 * case that drags a plain median). The baseline matches the median of the truly neutral frames
 * (within the jitter of the median itself), the neutral frames read 0 and the expressive ones
 * read their AU. */
static void test_baseline_picks_neutral(void)
{
    NEED_FACES();
    const face *f = face_named("faceapi__sample3.jpg.json#0");
    MT_CHECK(f != NULL);
    if (!f)
        return;
    static const int mix[] = {MIM_GEOM_AU12, MIM_GEOM_AU1,  MIM_GEOM_AU2,  MIM_GEOM_AU26,
                              MIM_GEOM_AU45, MIM_GEOM_AU4,  MIM_GEOM_AU15, MIM_GEOM_AU6,
                              MIM_GEOM_AU17, MIM_GEOM_AU25, MIM_GEOM_AU9,  MIM_GEOM_AU20};
    const int n_mix = (int)(sizeof mix / sizeof mix[0]);
    float truth[MIM_GEOM_N_FEAT];
    MT_CHECK(mim_geom_features(f->xy, 0, 0, truth) == 0);
    float *feats = malloc(sizeof(float) * N_SEQ * MIM_GEOM_N_FEAT);
    for (int scenario = 0; scenario < 2; scenario++) {
        g_rng = SEED + 2 + (unsigned)scenario;
        int expr[N_SEQ], n_expressive = 0;
        for (int r = 0; r < N_SEQ / 10; r++) {
            int on = (r * 7) % 10 < 3; /* 3 runs in 10, spread out */
            int kind = !on ? -1 : scenario == 0 ? mix[(r * 5) % n_mix] : MIM_GEOM_AU12;
            for (int j = 0; j < 10; j++)
                expr[r * 10 + j] = kind;
            n_expressive += on ? 10 : 0;
        }
        make_sequence(f, N_SEQ, expr, feats);
        if (scenario == 1) /* smiles: add the cheek raise to the AU12 frames */
            for (int i = 0; i < N_SEQ; i++)
                if (expr[i] >= 0) {
                    /* rebuild those frames as 6+12 (same jitter model) */
                    float small[136], moved[136];
                    frame fr = face_frame(f->xy);
                    similarity(f->xy, small, SEQ_EYE_PX / fr.unit, 0, 0, 0);
                    deform(MIM_GEOM_AU6, 1.0, small);
                    deform(MIM_GEOM_AU12, 1.0, small);
                    similarity(small, moved, 1, 0.05, 200, 150);
                    for (int k = 0; k < 136; k++)
                        moved[k] += (float)(JITTER * SEQ_EYE_PX * rnd_normal());
                    MT_CHECK(mim_geom_features(moved, 0, 0, feats + (size_t)i * MIM_GEOM_N_FEAT) ==
                             0);
                }
        /* the oracle: the median of the frames the test knows are neutral */
        float base[MIM_GEOM_N_FEAT], naive[MIM_GEOM_N_FEAT], oracle[MIM_GEOM_N_FEAT];
        float *neutral = malloc(sizeof(float) * N_SEQ * MIM_GEOM_N_FEAT);
        int n_neutral = 0;
        for (int i = 0; i < N_SEQ; i++)
            if (expr[i] < 0)
                memcpy(neutral + (size_t)n_neutral++ * MIM_GEOM_N_FEAT,
                       feats + (size_t)i * MIM_GEOM_N_FEAT, sizeof(float) * MIM_GEOM_N_FEAT);
        plain_median(neutral, n_neutral, oracle);
        free(neutral);
        size_t used = 0;
        MT_CHECK(mim_geom_baseline(feats, N_SEQ, base, &used) == 0);
        plain_median(feats, N_SEQ, naive);
        int wf = 0, wn = 0, wt = 0;
        double err = max_abs_diff(base, oracle, &wf), err_naive = max_abs_diff(naive, oracle, &wn);
        double err_truth = max_abs_diff(base, truth, &wt);
        MT_NOTE("(%c) %s: %d of %d frames expressive; baseline from %zu frames: max |baseline - "
                "median of the neutral frames| %.4f (%s; tol 0.004), plain median of all frames "
                "%.4f (%s); max |baseline - jitter-free neutral| %.4f (%s)",
                'a' + scenario, scenario == 0 ? "mixed actions" : "smiles 6+12", n_expressive,
                N_SEQ, used, err, mim_geom_feat_names[wf], err_naive, mim_geom_feat_names[wn],
                err_truth, mim_geom_feat_names[wt]);
        MT_CHECK(err < 0.004);

        float max_au[MIM_GEOM_N_AU], frac[MIM_GEOM_N_AU], mean[MIM_GEOM_N_AU];
        float worst = read_sequence(feats, N_SEQ, base, expr, max_au, frac, mean);
        MT_NOTE("    neutral frames: largest intensity %.2f (tol < 1)", worst);
        MT_CHECK(worst < 1);
        /* expressive frames reading their AU present; jitter at 30 px is ~1 intensity unit for
         * the weaker actions (AU9, AU17 reach ~2.5 without jitter), so a few frames may dip */
        int hit[MIM_GEOM_N_AU] = {0}, seen[MIM_GEOM_N_AU] = {0}, n_hit = 0;
        for (int i = 0; i < N_SEQ; i++) {
            if (expr[i] < 0)
                continue;
            float in[MIM_GEOM_N_AU], pr[MIM_GEOM_N_AU];
            mim_geom_aus(feats + (size_t)i * MIM_GEOM_N_FEAT, base, in, pr);
            seen[expr[i]]++;
            hit[expr[i]] += pr[expr[i]] >= 0.5f;
            n_hit += pr[expr[i]] >= 0.5f;
            if (scenario == 1 && pr[MIM_GEOM_AU6] >= 0.5f)
                hit[MIM_GEOM_AU6]++, seen[MIM_GEOM_AU6]++;
            else if (scenario == 1)
                seen[MIM_GEOM_AU6]++;
        }
        char line[256];
        int o = 0;
        for (int a = 0; a < MIM_GEOM_N_AU; a++)
            if (seen[a])
                o += snprintf(line + o, sizeof line - (size_t)o, " AU%d %d/%d", mim_geom_au_ids[a],
                              hit[a], seen[a]);
        MT_NOTE("    expressive frames reading their AU present:%s (tol >= 90 %% overall)", line);
        if (n_hit < 0.9 * n_expressive)
            MT_FAIL("only %d of %d expressive frames read present", n_hit, n_expressive);
    }
    free(feats);
}

/* Baseline edge cases: n = 0, one frame (a picked segment), unusable rows. */
static void test_baseline_edges(void)
{
    float base[MIM_GEOM_N_FEAT], row[2 * MIM_GEOM_N_FEAT];
    size_t used = 99;
    MT_CHECK(mim_geom_baseline(NULL, 0, base, &used) == -1);
    MT_CHECK_INT(used, 0);
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++) {
        row[f] = mim_geom_neutral[f] + 0.01f * f;
        row[MIM_GEOM_N_FEAT + f] = NAN;
    }
    MT_CHECK(mim_geom_baseline(row, 1, base, &used) == 0);
    MT_CHECK_INT(used, 1);
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        MT_CHECK_NEAR(base[f], row[f], 0);
    MT_CHECK(mim_geom_baseline(row, 2, base, &used) == 0); /* the NaN row is skipped */
    MT_CHECK_INT(used, 1);
    MT_CHECK(mim_geom_baseline(row + MIM_GEOM_N_FEAT, 1, base, &used) == -1);
}

/* Degenerate input: no features (NaN, -1), and such a frame reads 0. */
static void test_degenerate(void)
{
    float xy[136] = {0}, feat[MIM_GEOM_N_FEAT], in[MIM_GEOM_N_AU], pr[MIM_GEOM_N_AU];
    MT_CHECK(mim_geom_features(xy, 0, 0, feat) == -1); /* eyes coincide */
    for (int f = 0; f < MIM_GEOM_N_FEAT; f++)
        MT_CHECK(isnan(feat[f]));
    mim_geom_aus(feat, NULL, in, pr);
    for (int a = 0; a < MIM_GEOM_N_AU; a++)
        MT_CHECK(in[a] == 0 && pr[a] == 0);
    if (faces_load() > 0) {
        memcpy(xy, g_faces[0].xy, sizeof xy);
        MT_CHECK(mim_geom_features(xy, 1.4, 0, feat) == -1); /* beyond 70 degrees */
        MT_CHECK(mim_geom_features(xy, 0, NAN, feat) == -1);
        xy[17] = INFINITY;
        MT_CHECK(mim_geom_features(xy, 0, 0, feat) == -1);
    }
    MT_CHECK_INT(mim_geom_au_ids[MIM_GEOM_AU45], 45);
    MT_CHECK_INT(mim_geom_au_ids[MIM_GEOM_AU12], 12);
}

/* Common expressions as combined deformations at D (amount 0.8) on every face: the intended AUs
 * present, the others absent. See the top of the file for how each shows up. */
static void test_combinations(void)
{
    NEED_FACES();
    static const struct {
        const char *name;
        int aus[3], n;
    } combos[] = {
        {"smile 6+12", {MIM_GEOM_AU6, MIM_GEOM_AU12}, 2},
        {"brows 1+2", {MIM_GEOM_AU1, MIM_GEOM_AU2}, 2},
        {"mouth 25+26", {MIM_GEOM_AU25, MIM_GEOM_AU26}, 2},
        {"blink 45", {MIM_GEOM_AU45}, 1},
        {"sad 1+4+15", {MIM_GEOM_AU1, MIM_GEOM_AU4, MIM_GEOM_AU15}, 3},
    };
    print_au_header("mean at D");
    int n_fail = 0;
    for (size_t c = 0; c < sizeof combos / sizeof combos[0]; c++) {
        float mean[MIM_GEOM_N_AU] = {0};
        for (int fi = 0; fi < g_n_faces; fi++) {
            float base[MIM_GEOM_N_FEAT], xy[136], in[MIM_GEOM_N_AU];
            MT_CHECK(mim_geom_features(g_faces[fi].xy, 0, 0, base) == 0);
            memcpy(xy, g_faces[fi].xy, sizeof xy);
            for (int j = 0; j < combos[c].n; j++)
                deform(combos[c].aus[j], 0.8, xy);
            aus_of(xy, base, in);
            for (int a = 0; a < MIM_GEOM_N_AU; a++) {
                mean[a] += in[a] / g_n_faces;
                int want = 0;
                for (int j = 0; j < combos[c].n; j++)
                    want |= combos[c].aus[j] == a;
                if (want != (in[a] >= 1) && n_fail++ < 5)
                    MT_FAIL("%s on %s: AU%d = %.2f, want %s", combos[c].name, g_faces[fi].name,
                            mim_geom_au_ids[a], in[a], want ? ">= 1" : "< 1");
            }
        }
        print_au_row(combos[c].name, mean);
    }
    MT_CHECK_INT(n_fail, 0);
}

/* Single images against the built-in neutral face (baseline NULL): the fixture photos, labelled
 * by eye. Neutral closed-mouth faces read nothing; broad smiles with teeth read AU12 and AU25. */
static void test_single_images(void)
{
    NEED_FACES();
    static const char *neutral[] = {"faceapi__sample3.jpg.json#0", "faceapi__sample5.jpg.json#3",
                                    "faceapi__sample5.jpg.json#4"};
    static const char *smiles[] = {"dlib__Tom_Cruise_avp_2014_4.jpg.json#0",
                                   "faceapi__sample3.jpg.json#1"};
    print_au_header("no baseline");
    for (int fi = 0; fi < g_n_faces; fi++) {
        float in[MIM_GEOM_N_AU];
        aus_of(g_faces[fi].xy, NULL, in);
        /* "dlib__Tom_Cruise_avp_2014_4.jpg.json#0" -> "Tom_Cruise_a#0" */
        const char *n = strstr(g_faces[fi].name, "__"), *h = strchr(g_faces[fi].name, '#');
        char label[24];
        snprintf(label, sizeof label, "%.*s%s", (int)fmin(12, strcspn(n ? n + 2 : "", ".")),
                 n ? n + 2 : "", h ? h : "");
        print_au_row(label, in);
    }
    for (size_t i = 0; i < sizeof neutral / sizeof neutral[0]; i++) {
        const face *f = face_named(neutral[i]);
        float in[MIM_GEOM_N_AU];
        MT_CHECK(f != NULL);
        if (!f)
            continue;
        aus_of(f->xy, NULL, in);
        for (int a = 0; a < MIM_GEOM_N_AU; a++)
            if (in[a] >= 1)
                MT_FAIL("neutral %s reads AU%d = %.2f (tol < 1)", f->name, mim_geom_au_ids[a],
                        in[a]);
    }
    for (size_t i = 0; i < sizeof smiles / sizeof smiles[0]; i++) {
        const face *f = face_named(smiles[i]);
        float in[MIM_GEOM_N_AU];
        MT_CHECK(f != NULL);
        if (!f)
            continue;
        aus_of(f->xy, NULL, in);
        MT_NOTE("smile %s: AU12 %.2f, AU25 %.2f (want >= 1)", f->name, in[MIM_GEOM_AU12],
                in[MIM_GEOM_AU25]);
        MT_CHECK(in[MIM_GEOM_AU12] >= 1 && in[MIM_GEOM_AU25] >= 1);
    }
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_deformations);
    MT_RUN(test_similarity_invariance);
    MT_RUN(test_pose_correction);
    MT_RUN(test_neutral_sequence);
    MT_RUN(test_other_identity);
    MT_RUN(test_baseline_picks_neutral);
    MT_RUN(test_baseline_edges);
    MT_RUN(test_degenerate);
    MT_RUN(test_combinations);
    MT_RUN(test_single_images);
    return mt_done();
}
