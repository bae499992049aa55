/* test-facegen.c: the face generator's AU displacements and warp (training/mim-facegen.h).
 *
 * Geometry on dlib's mean face shape (from shape_predictor_68_face_landmarks.dat, put in the
 * face frame: eye midpoint origin, IOD units), placed at several positions, rolls and sizes:
 *   - tables: the mesh tiles the ring polygon exactly (areas add up, every inner edge shared by
 *     two triangles, the outline is the ring), the iBUG mirror pairs;
 *   - directions: each AU alone at 5 moves its landmarks the FACS way (signs checked,
 *     magnitudes in IOD printed), half the intensity moves half as far;
 *   - orientation: no triangle flips for any of the 2^13 on/off AU combinations at 5, nor for
 *     random intensities, on the mean shape, a closed-mouth variant and (when
 *     MIMICA_SHARED_DIR holds the fixtures) dlib's landmarks of the real fixture faces;
 *   - invariance: displace(T x) = T displace(x) for random similarities T;
 * and the warp on a synthetic shaded face drawn from those landmarks:
 *   - identity (dst landmarks = src): the image comes back (max abs difference printed, <= 1);
 *   - expressions: pixels outside the mesh untouched; an open mouth is painted dark with some
 *     teeth, closed eyes hide the iris, the skin vertices carry their colour along.
 * Set MIM_FACEGEN_SAVE_DIR to a folder to get the synthetic images as PPM files. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aunet/mim-json.h"
#include "mim-facegen.h"
#include "mim-test.h"

#define N    68
#define SEED 20240607u

/* dlib's mean shape in the face frame (x, y in IOD), symmetric, the inner lips 0.09 apart. */
static const float mean_face[2 * N] = {
    -1.145, 0.016,  -1.137, 0.319,  -1.105, 0.621,  -1.042, 0.917,  -0.924, 1.192,  -0.743, 1.430,
    -0.521, 1.629,  -0.277, 1.788,  0.000,  1.836,  0.277,  1.788,  0.521,  1.629,  0.743,  1.430,
    0.924,  1.192,  1.042,  0.917,  1.105,  0.621,  1.137,  0.319,  1.145,  0.016,  -0.927, -0.205,
    -0.785, -0.333, -0.585, -0.371, -0.377, -0.341, -0.183, -0.261, 0.183,  -0.261, 0.377,  -0.341,
    0.584,  -0.371, 0.785,  -0.333, 0.927,  -0.205, 0.000,  -0.024, 0.000,  0.171,  0.000,  0.365,
    0.000,  0.564,  -0.232, 0.698,  -0.121, 0.740,  0.000,  0.775,  0.121,  0.740,  0.232,  0.698,
    -0.696, 0.001,  -0.573, -0.070, -0.424, -0.068, -0.294, 0.030,  -0.433, 0.055,  -0.581, 0.053,
    0.294,  0.030,  0.424,  -0.068, 0.572,  -0.070, 0.696,  0.001,  0.581,  0.053,  0.433,  0.055,
    -0.445, 1.060,  -0.281, 0.995,  -0.116, 0.961,  0.000,  0.990,  0.115,  0.961,  0.281,  0.995,
    0.445,  1.060,  0.287,  1.221,  0.125,  1.291,  0.000,  1.305,  -0.126, 1.291,  -0.286, 1.221,
    -0.377, 1.069,  -0.117, 1.058,  0.000,  1.070,  0.117,  1.058,  0.377,  1.069,  0.119,  1.145,
    0.000,  1.159,  -0.119, 1.145,
};

static uint32_t rng_state;
static double rnd(void) /* uniform [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (rng_state >> 8) / 16777216.0;
}

/* face-frame shape -> pixels: eye midpoint at (cx, cy), this IOD, rolled by deg */
static void place(const float *face, double cx, double cy, double iod, double deg, float *xy)
{
    double c = cos(deg * M_PI / 180), s = sin(deg * M_PI / 180);
    for (int k = 0; k < N; k++) {
        double u = face[2 * k] * iod, v = face[2 * k + 1] * iod;
        xy[2 * k] = (float)(cx + c * u - s * v);
        xy[2 * k + 1] = (float)(cy + s * u + c * v);
    }
}

/* the mean shape with the inner lips shut (each upper/lower pair at its midpoint) */
static void close_mouth(float *face)
{
    static const int pairs[3][2] = {{61, 67}, {62, 66}, {63, 65}};
    for (int p = 0; p < 3; p++)
        for (int c = 0; c < 2; c++) {
            float m = 0.5f * (face[2 * pairs[p][0] + c] + face[2 * pairs[p][1] + c]);
            face[2 * pairs[p][0] + c] = face[2 * pairs[p][1] + c] = m;
        }
}

/* displacement of landmark k in the face frame of `from` (IOD units, y down) */
static void moved(const float *from, const float *to, int k, double *du, double *dv)
{
    mim_facegen_frame f;
    mim_facegen_face_frame(from, &f);
    double dx = to[2 * k] - from[2 * k], dy = to[2 * k + 1] - from[2 * k + 1];
    *du = (dx * f.axis[0] + dy * f.axis[1]) / f.iod;
    *dv = (-dx * f.axis[1] + dy * f.axis[0]) / f.iod;
}

static double tri_area(const float *v, const int *t)
{
    const float *a = v + 2 * t[0], *b = v + 2 * t[1], *c = v + 2 * t[2];
    return (double)(b[0] - a[0]) * (c[1] - a[1]) - (double)(b[1] - a[1]) * (c[0] - a[0]);
}

/* landmarks + ring as one vertex array */
static void vertices(const float *xy, const float *ring, float *v)
{
    memcpy(v, xy, sizeof(float) * 2 * N);
    memcpy(v + 2 * N, ring, sizeof(float) * 2 * MIM_FACEGEN_N_RING);
}

static void test_tables(void)
{
    MT_CHECK_INT(MIM_FACEGEN_N_AU, 13);
    static const int aus[] = {1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26, 45};
    for (int i = 0; i < MIM_FACEGEN_N_AU; i++) {
        MT_CHECK_INT(mim_facegen_aus[i], aus[i]);
        MT_CHECK_INT(mim_facegen_au_index(aus[i]), i);
    }
    MT_CHECK_INT(mim_facegen_au_index(3), -1);

    int n_tri;
    const mim_facegen_triangle *tri = mim_facegen_triangles(&n_tri);
    float xy[2 * N], ring[2 * MIM_FACEGEN_N_RING], v[2 * MIM_FACEGEN_N_VERTICES];
    place(mean_face, 200, 150, 100, 0, xy);
    MT_CHECK_INT(mim_facegen_ring(xy, ring), 0);
    vertices(xy, ring, v);
    /* every vertex used, every edge in one or two triangles, the one-triangle edges are the
     * ring's outline, and the areas add up to the ring polygon's */
    static int edge_count[MIM_FACEGEN_N_VERTICES][MIM_FACEGEN_N_VERTICES];
    memset(edge_count, 0, sizeof edge_count);
    int used[MIM_FACEGEN_N_VERTICES] = {0}, n_eye = 0, n_mouth = 0;
    double sum = 0, min_area = 1e30;
    for (int t = 0; t < n_tri; t++) {
        const int *p = tri[t].v;
        for (int i = 0; i < 3; i++) {
            int a = p[i], b = p[(i + 1) % 3];
            MT_CHECK(a >= 0 && a < MIM_FACEGEN_N_VERTICES);
            used[a] = 1;
            edge_count[a < b ? a : b][a < b ? b : a]++;
        }
        double ar = tri_area(v, p) / 2;
        sum += ar;
        min_area = fmin(min_area, ar);
        n_eye += tri[t].region == MIM_FACEGEN_EYE;
        n_mouth += tri[t].region == MIM_FACEGEN_MOUTH;
    }
    int n_unused = 0, n_bad_edges = 0, n_outline = 0, n_outline_ring = 0;
    for (int a = 0; a < MIM_FACEGEN_N_VERTICES; a++) {
        n_unused += !used[a];
        for (int b = a + 1; b < MIM_FACEGEN_N_VERTICES; b++) {
            n_bad_edges += edge_count[a][b] > 2;
            if (edge_count[a][b] == 1) {
                n_outline++;
                /* ring i and i+1 (cyclic) */
                n_outline_ring += a >= N && b >= N &&
                                  ((b - a) == 1 || (a == N && b == MIM_FACEGEN_N_VERTICES - 1));
            }
        }
    }
    double ring_area = 0;
    for (int i = 0; i < MIM_FACEGEN_N_RING; i++) {
        const float *p = ring + 2 * i, *q = ring + 2 * ((i + 1) % MIM_FACEGEN_N_RING);
        ring_area += 0.5 * ((double)p[0] * q[1] - (double)q[0] * p[1]);
    }
    MT_NOTE("%d triangles (%d eye, %d mouth); smallest %.1f px^2 at IOD 100; sum %.1f px^2, ring "
            "polygon %.1f px^2; outline edges %d (ring %d)",
            n_tri, n_eye, n_mouth, min_area, sum, fabs(ring_area), n_outline, n_outline_ring);
    MT_CHECK_INT(n_eye, 8);
    MT_CHECK_INT(n_mouth, 6);
    MT_CHECK_INT(n_unused, 0);
    MT_CHECK_INT(n_bad_edges, 0);
    MT_CHECK_INT(n_outline, MIM_FACEGEN_N_RING);
    MT_CHECK_INT(n_outline_ring, MIM_FACEGEN_N_RING);
    MT_CHECK(min_area > 0);
    MT_CHECK_NEAR(sum, fabs(ring_area), 1e-3 * fabs(ring_area));
    /* interiors last */
    for (int t = 0; t < n_tri; t++)
        if (tri[t].region != MIM_FACEGEN_SKIN && t < n_tri - 14)
            MT_FAIL("triangle %d is an interior before the last 14", t);

    /* the mirror image of the mean shape is itself, point for point through the iBUG pairs:
     * the displacement of a symmetric expression is symmetric */
    float in[MIM_FACEGEN_N_AU] = {0}, out[2 * N];
    for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
        in[a] = 3;
    place(mean_face, 0, 0, 100, 0, xy);
    MT_CHECK_INT(mim_facegen_displace(xy, in, out), 0);
    double worst = 0;
    for (int k = 0; k < N; k++) {
        /* the mirror of point k is the point whose x is -x and y equal in the mean shape */
        int m = -1;
        for (int j = 0; j < N; j++)
            if (fabs(mean_face[2 * j] + mean_face[2 * k]) < 2e-3 &&
                fabs(mean_face[2 * j + 1] - mean_face[2 * k + 1]) < 2e-3)
                m = j;
        if (m < 0) {
            MT_FAIL("point %d has no mirror in the mean shape", k);
            continue;
        }
        worst = fmax(worst, fabs((out[2 * k] - xy[2 * k]) + (out[2 * m] - xy[2 * m])));
        worst =
            fmax(worst, fabs((out[2 * k + 1] - xy[2 * k + 1]) - (out[2 * m + 1] - xy[2 * m + 1])));
    }
    MT_NOTE("all AUs at 3: displacement asymmetry %.2g IOD", worst / 100);
    MT_CHECK(worst / 100 < 1e-4);
}

/* Each AU alone at 5 on the mean shape (rolled 30 degrees, so that the frame matters). */
static void test_directions(void)
{
    float xy[2 * N], out[2 * N], half[2 * N];
    place(mean_face, 320, 240, 80, 30, xy);
    typedef struct {
        int au, point;
        double min_out, min_up; /* required movement outward (away from the midline) and up, IOD;
                                   negative = at least that far inward / down; 0 = not checked */
        const char *what;
    } expect;
    static const expect ex[] = {
        {1, 21, 0, 0.1, "inner brow up"},
        {1, 22, 0, 0.1, "inner brow up"},
        {2, 17, 0, 0.1, "outer brow up"},
        {2, 26, 0, 0.1, "outer brow up"},
        {4, 21, -0.05, -0.07, "inner brow down and in"},
        {4, 22, -0.05, -0.07, "inner brow down and in"},
        {5, 37, 0, 0.04, "upper lid up"},
        {5, 44, 0, 0.04, "upper lid up"},
        {6, 41, 0, 0.03, "lower lid up"},
        {6, 46, 0, 0.03, "lower lid up"},
        {6, 1, 0, 0.02, "cheek up"},
        {9, 31, 0, 0.04, "nose wing up"},
        {9, 51, 0, 0.04, "upper lip up"},
        {12, 48, 0.1, 0.08, "lip corner up and out"},
        {12, 54, 0.1, 0.08, "lip corner up and out"},
        {15, 48, 0, -0.07, "lip corner down"},
        {15, 54, 0, -0.07, "lip corner down"},
        {17, 8, 0, 0.05, "chin up"},
        {17, 57, 0, 0.05, "lower lip up"},
        {20, 48, 0.1, 0, "lip corner out"},
        {20, 54, 0.1, 0, "lip corner out"},
        {25, 66, 0, -0.06, "lower inner lip down"},
        {25, 62, 0, 0.01, "upper inner lip up"},
        {26, 8, 0, -0.2, "chin down"},
        {26, 66, 0, -0.15, "lower inner lip down"},
        {45, 37, 0, -0.1, "upper lid down"},
        {45, 44, 0, -0.1, "upper lid down"},
    };
    mim_facegen_frame f;
    mim_facegen_face_frame(xy, &f);
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        float in[MIM_FACEGEN_N_AU] = {0};
        in[mim_facegen_au_index(ex[i].au)] = 5;
        MT_CHECK_INT(mim_facegen_displace(xy, in, out), 0);
        double du, dv;
        moved(xy, out, ex[i].point, &du, &dv);
        /* outward: away from the midline, i.e. the sign of the point's own x in the face */
        double side = mean_face[2 * ex[i].point] < 0 ? -1 : 1;
        double d_out = du * side, d_up = -dv;
        MT_NOTE("AU%-2d point %2d %-24s out %+.3f up %+.3f IOD", ex[i].au, ex[i].point, ex[i].what,
                d_out, d_up);
        if (ex[i].min_out != 0 &&
            (ex[i].min_out > 0 ? d_out < ex[i].min_out : d_out > ex[i].min_out))
            MT_FAIL("AU%d point %d: out %.3f, want beyond %.3f", ex[i].au, ex[i].point, d_out,
                    ex[i].min_out);
        if (ex[i].min_up != 0 && (ex[i].min_up > 0 ? d_up < ex[i].min_up : d_up > ex[i].min_up))
            MT_FAIL("AU%d point %d: up %.3f, want beyond %.3f", ex[i].au, ex[i].point, d_up,
                    ex[i].min_up);
        /* half the intensity, half the movement (AU45 is a fraction of the way to shut: also
         * linear) */
        in[mim_facegen_au_index(ex[i].au)] = 2.5f;
        mim_facegen_displace(xy, in, half);
        double hu, hv;
        moved(xy, half, ex[i].point, &hu, &hv);
        MT_CHECK_NEAR(hu, 0.5 * du, 1e-5);
        MT_CHECK_NEAR(hv, 0.5 * dv, 1e-5);
    }
    /* openings: lips apart with AU25 / AU26, eyes shut with AU45, wider with AU5 */
    static const struct {
        int au, up, lo;
        double gap_min, gap_max; /* IOD, after */
    } gaps[] = {
        {25, 62, 66, 0.17, 0.2},    {26, 62, 66, 0.27, 0.3}, {45, 37, 41, 0.011, 0.013},
        {45, 43, 47, 0.011, 0.013}, {5, 38, 40, 0.17, 0.18}, {0, 38, 40, 0.12, 0.13},
    };
    for (size_t i = 0; i < sizeof gaps / sizeof gaps[0]; i++) {
        float in[MIM_FACEGEN_N_AU] = {0};
        if (gaps[i].au)
            in[mim_facegen_au_index(gaps[i].au)] = 5;
        mim_facegen_displace(xy, in, out);
        double gx = out[2 * gaps[i].lo] - out[2 * gaps[i].up];
        double gy = out[2 * gaps[i].lo + 1] - out[2 * gaps[i].up + 1];
        double gap = (-gx * f.axis[1] + gy * f.axis[0]) / f.iod;
        MT_NOTE("AU%-2d at 5: gap %d-%d %.3f IOD", gaps[i].au, gaps[i].up, gaps[i].lo, gap);
        MT_CHECK(gap >= gaps[i].gap_min && gap <= gaps[i].gap_max);
    }
}

/* Triangles that turned over from src to dst (landmarks; the ring is src's): a skin triangle
 * whose area was positive and is no more, an opening's (eye, mouth) whose area fell below
 * min(0, its area in src), i.e. that closed past shut. src == NULL: the skin triangles with no
 * positive area in dst itself. *min_ratio: the smallest area ratio dst / src of the skin
 * triangles. */
static int count_flips(const float *src, const float *dst, const float *ring, double *min_ratio,
                       int *worst_tri)
{
    int n_tri, n = 0;
    const mim_facegen_triangle *tri = mim_facegen_triangles(&n_tri);
    float vs[2 * MIM_FACEGEN_N_VERTICES], vd[2 * MIM_FACEGEN_N_VERTICES];
    vertices(dst, ring, vd);
    if (src)
        vertices(src, ring, vs);
    mim_facegen_frame f;
    mim_facegen_face_frame(dst, &f);
    double tiny = 1e-6 * f.iod * f.iod;
    for (int t = 0; t < n_tri; t++) {
        double a1 = tri_area(vd, tri[t].v);
        int skin = tri[t].region == MIM_FACEGEN_SKIN;
        if (!src) {
            n += skin && a1 <= 0;
            continue;
        }
        double a0 = tri_area(vs, tri[t].v);
        if (skin ? a0 > 0 && a1 <= 0 : a1 < fmin(a0, 0.0) - tiny)
            n++;
        if (skin && a0 > 0 && a1 / a0 < *min_ratio) {
            *min_ratio = a1 / a0;
            *worst_tri = t;
        }
    }
    return n;
}

/* All on/off combinations at 5 and 500 random intensity vectors on one shape; returns the
 * flips; *mean_move: the mean landmark movement (IOD) with every AU at 5. */
static int flips_over_combinations(const float *xy, double *min_ratio, int *worst_tri,
                                   int *worst_combo, double *mean_move)
{
    float ring[2 * MIM_FACEGEN_N_RING], out[2 * N], in[MIM_FACEGEN_N_AU];
    mim_facegen_frame f;
    if (mim_facegen_ring(xy, ring) || mim_facegen_face_frame(xy, &f))
        return -1;
    int flips = 0;
    for (int combo = 0; combo < (1 << MIM_FACEGEN_N_AU) + 500; combo++) {
        for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
            in[a] = combo < (1 << MIM_FACEGEN_N_AU) ? ((combo >> a) & 1) * 5.0f : 5.0f * rnd();
        if (mim_facegen_displace(xy, in, out))
            return -1;
        double before = *min_ratio;
        int n = count_flips(xy, out, ring, min_ratio, worst_tri);
        if (*min_ratio < before)
            *worst_combo = combo;
        if (n && !flips)
            MT_NOTE("first flip: combination 0x%04x, %d triangles", combo, n);
        flips += n;
        if (combo == (1 << MIM_FACEGEN_N_AU) - 1) {
            *mean_move = 0;
            for (int k = 0; k < N; k++)
                *mean_move +=
                    hypot(out[2 * k] - xy[2 * k], out[2 * k + 1] - xy[2 * k + 1]) / (N * f.iod);
        }
    }
    return flips;
}

static void combo_name(int combo, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = 0;
    if (combo >= (1 << MIM_FACEGEN_N_AU)) {
        snprintf(buf, size, "random intensities #%d", combo - (1 << MIM_FACEGEN_N_AU));
        return;
    }
    for (int a = 0; a < MIM_FACEGEN_N_AU && len + 6 < size; a++)
        if ((combo >> a) & 1)
            len += (size_t)snprintf(buf + len, size - len, "%s%d", len ? "+" : "AU",
                                    mim_facegen_aus[a]);
}

/* dlib's landmarks (landmarks_rgb of the HOG detections) of the fixture faces whose box is at
 * least 80 px; returns how many were read into xy (n_max faces at most). */
static int fixture_faces(float *xy, int n_max, char names[][64])
{
    const char *shared = getenv("MIMICA_SHARED_DIR");
    static const char *files[] = {
        "dlib__Tom_Cruise_avp_2014_4.jpg.json",
        "faceapi__sample1.jpg.json",
        "faceapi__sample2.jpg.json",
        "faceapi__sample3.jpg.json",
        "faceapi__sample4.jpg.json",
        "faceapi__sample5.jpg.json",
        "faceapi__sample6.jpg.json",
        "dlib__2008_001009.jpg.json",
        "dlib__2008_001322.jpg.json",
        "dlib__2008_002506.jpg.json",
    };
    int n = 0;
    for (size_t i = 0; shared && i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/fixtures/faces/reference/%s", shared, files[i]);
        FILE *fp = fopen(path, "rb");
        if (!fp)
            continue;
        fseek(fp, 0, SEEK_END);
        long len = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        char *text = malloc((size_t)len);
        size_t got = fread(text, 1, (size_t)len, fp);
        fclose(fp);
        mim_json_doc *doc = NULL;
        char err[256];
        if (got != (size_t)len || mim_json_parse(text, got, &doc, err, sizeof err)) {
            free(text);
            continue;
        }
        const mim_json *hog = mim_json_get(mim_json_get(mim_json_root(doc), "dlib"), "hog");
        int face = 0;
        for (const mim_json *h = hog ? hog->child : NULL; h && n < n_max; h = h->next, face++) {
            const mim_json *rect = mim_json_get(h, "rect"), *lm = mim_json_get(h, "landmarks_rgb");
            if (!rect || rect->n_children != 4 || !lm || lm->n_children != N)
                continue;
            double l = rect->child->number, r = rect->child->next->next->number;
            if (r - l + 1 < 80)
                continue;
            int k = 0;
            for (const mim_json *p = lm->child; p; p = p->next, k++) {
                xy[2 * N * n + 2 * k] = (float)p->child->number;
                xy[2 * N * n + 2 * k + 1] = (float)p->child->next->number;
            }
            snprintf(names[n], 64, "%.40s#%d", files[i], face);
            n++;
        }
        mim_json_doc_free(doc);
        free(text);
    }
    return n;
}

static void test_orientation(void)
{
    rng_state = SEED;
    MT_NOTE("seed %u", SEED);
    float xy[2 * N], closed[2 * N];
    memcpy(closed, mean_face, sizeof closed);
    close_mouth(closed);
    static const double poses[][4] = {{320, 240, 100, 0}, {100, 50, 30, 17}, {0, 0, 500, -160}};
    double mean_face_move = 0;
    for (size_t p = 0; p < sizeof poses / sizeof poses[0]; p++) {
        for (int shut = 0; shut < 2; shut++) {
            place(shut ? closed : mean_face, poses[p][0], poses[p][1], poses[p][2], poses[p][3],
                  xy);
            float ring[2 * MIM_FACEGEN_N_RING];
            mim_facegen_ring(xy, ring);
            double min_ratio = 1e30, move = 0;
            int worst_tri = -1, worst_combo = -1;
            int neutral = count_flips(NULL, xy, ring, &min_ratio, &worst_tri);
            int flips = flips_over_combinations(xy, &min_ratio, &worst_tri, &worst_combo, &move);
            mean_face_move = move;
            char name[128];
            combo_name(worst_combo, name, sizeof name);
            MT_NOTE("%s mouth, IOD %.0f roll %+.0f: flips neutral %d, over %d shapes %d; smallest "
                    "area ratio %.3f (triangle %d, %s); all AUs at 5 move the landmarks %.3f IOD "
                    "on average",
                    shut ? "closed" : "mean", poses[p][2], poses[p][3], neutral,
                    (1 << MIM_FACEGEN_N_AU) + 500, flips, min_ratio, worst_tri, name, move);
            MT_CHECK_INT(neutral, 0);
            MT_CHECK_INT(flips, 0);
            /* the mean face needs no damping: the AUs move it as tabled */
            MT_CHECK(min_ratio > 0.2);
        }
    }
    /* real faces: dlib's landmarks of the fixture photos (frontal to half-profile; the mesh of
     * the mean shape may already be turned over on them, and damping may have to shrink a
     * movement: printed as the movement kept relative to the mean face's) */
    enum { MAX_FACES = 40 };
    static float faces[MAX_FACES * 2 * N];
    static char names[MAX_FACES][64];
    int n_faces = fixture_faces(faces, MAX_FACES, names);
    if (n_faces == 0) {
        MT_NOTE("fixture landmarks not found (MIMICA_SHARED_DIR): real faces not checked");
        return;
    }
    int n_bad = 0, n_neutral_flipped = 0;
    for (int i = 0; i < n_faces; i++) {
        const float *f = faces + 2 * N * i;
        float ring[2 * MIM_FACEGEN_N_RING];
        MT_CHECK_INT(mim_facegen_ring(f, ring), 0);
        double min_ratio = 1e30, move = 0;
        int worst_tri = -1, worst_combo = -1;
        int neutral = count_flips(NULL, f, ring, &min_ratio, &worst_tri);
        int flips = flips_over_combinations(f, &min_ratio, &worst_tri, &worst_combo, &move);
        char name[128];
        combo_name(worst_combo, name, sizeof name);
        MT_NOTE("%-40s skin flipped in the photo %d; new flips %d; smallest area ratio %.3f "
                "(triangle %d, %s); movement kept %.2f",
                names[i], neutral, flips, min_ratio, worst_tri, name, move / mean_face_move);
        n_bad += flips > 0;
        n_neutral_flipped += neutral > 0;
    }
    MT_NOTE("%d fixture faces (box >= 80 px): %d with a skin triangle flipped in the photo, %d "
            "with a new flip",
            n_faces, n_neutral_flipped, n_bad);
    MT_CHECK_INT(n_bad, 0);
}

static void test_invariance(void)
{
    rng_state = SEED + 1;
    MT_NOTE("seed %u", SEED + 1);
    double worst = 0;
    for (int trial = 0; trial < 200; trial++) {
        float xy[2 * N], txy[2 * N], out[2 * N], tout[2 * N], in[MIM_FACEGEN_N_AU];
        place(mean_face, 300 * rnd(), 300 * rnd(), 20 + 200 * rnd(), 360 * rnd() - 180, xy);
        for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
            in[a] = rnd() < 0.5 ? 0 : 5 * (float)rnd();
        /* T: rotation, scale 0.2..5, translation */
        double th = 2 * M_PI * rnd(), sc = exp(log(0.2) + log(25.0) * rnd());
        double a = sc * cos(th), b = sc * sin(th), tx = 1000 * rnd() - 500, ty = 1000 * rnd() - 500;
        for (int k = 0; k < N; k++) {
            txy[2 * k] = (float)(a * xy[2 * k] - b * xy[2 * k + 1] + tx);
            txy[2 * k + 1] = (float)(b * xy[2 * k] + a * xy[2 * k + 1] + ty);
        }
        MT_CHECK_INT(mim_facegen_displace(xy, in, out), 0);
        MT_CHECK_INT(mim_facegen_displace(txy, in, tout), 0);
        mim_facegen_frame f;
        mim_facegen_face_frame(txy, &f);
        for (int k = 0; k < N; k++) {
            double ex = a * out[2 * k] - b * out[2 * k + 1] + tx;
            double ey = b * out[2 * k] + a * out[2 * k + 1] + ty;
            worst = fmax(worst, hypot(ex - tout[2 * k], ey - tout[2 * k + 1]) / f.iod);
        }
    }
    MT_NOTE("200 random similarities: max |displace(T x) - T displace(x)| = %.2g IOD", worst);
    MT_CHECK(worst < 1e-4);

    /* degenerate input */
    float xy[2 * N], out[2 * N], in[MIM_FACEGEN_N_AU] = {0};
    memset(xy, 0, sizeof xy);
    MT_CHECK_INT(mim_facegen_displace(xy, in, out), -1);
    place(mean_face, 100, 100, 50, 0, xy);
    in[0] = 5.5f;
    MT_CHECK_INT(mim_facegen_displace(xy, in, out), -1);
    in[0] = NAN;
    MT_CHECK_INT(mim_facegen_displace(xy, in, out), -1);
    in[0] = 0;
    xy[7] = INFINITY;
    MT_CHECK_INT(mim_facegen_displace(xy, in, out), -1);
}

/* ---- the synthetic face -------------------------------------------------------------------- */

static int inside(const float *xy, const int *poly, int n, double x, double y)
{
    int c = 0;
    for (int i = 0, j = n - 1; i < n; j = i++) {
        double xi = xy[2 * poly[i]], yi = xy[2 * poly[i] + 1];
        double xj = xy[2 * poly[j]], yj = xy[2 * poly[j] + 1];
        if ((yi > y) != (yj > y) && x < xi + (y - yi) * (xj - xi) / (yj - yi))
            c = !c;
    }
    return c;
}

static double dist_polyline(const float *xy, const int *pts, int n, double x, double y)
{
    double best = 1e30;
    for (int i = 0; i + 1 < n; i++) {
        double ax = xy[2 * pts[i]], ay = xy[2 * pts[i] + 1];
        double bx = xy[2 * pts[i + 1]] - ax, by = xy[2 * pts[i + 1] + 1] - ay;
        double l2 = bx * bx + by * by, t = l2 > 0 ? ((x - ax) * bx + (y - ay) * by) / l2 : 0;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        best = fmin(best, hypot(x - ax - t * bx, y - ay - t * by));
    }
    return best;
}

static const int eye_r[6] = {36, 37, 38, 39, 40, 41}, eye_l[6] = {42, 43, 44, 45, 46, 47};
static const int lips_out[12] = {48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59};
static const int lips_in[8] = {60, 61, 62, 63, 64, 65, 66, 67};

/* A shaded face drawn around landmarks xy: skin with light from the upper left, brows, eyes
 * (white, iris, pupil, lid line), nostrils, lips, a dark mouth interior, and a little seeded
 * texture everywhere, so that a warp's interpolation shows. */
static void draw_face(mim_image *img, const float *xy)
{
    mim_facegen_frame f;
    mim_facegen_face_frame(xy, &f);
    static const int brow_r[5] = {17, 18, 19, 20, 21}, brow_l[5] = {22, 23, 24, 25, 26};
    static const int lid_r[4] = {36, 37, 38, 39}, lid_l[4] = {42, 43, 44, 45};
    double eye_c[2][2] = {{0, 0}, {0, 0}};
    for (int k = 36; k < 48; k++) {
        eye_c[k >= 42][0] += xy[2 * k] / 6;
        eye_c[k >= 42][1] += xy[2 * k + 1] / 6;
    }
    uint32_t h = 12345;
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = mim_image_row8(img, y);
        for (int x = 0; x < img->width; x++) {
            double px = x - f.origin[0], py = y - f.origin[1];
            double u = (px * f.axis[0] + py * f.axis[1]) / f.iod;
            double v = (-px * f.axis[1] + py * f.axis[0]) / f.iod;
            double r = 60 + 0.3 * x, g = 80 + 0.2 * y, b = 110; /* background */
            double e = (u / 1.25) * (u / 1.25) + ((v - 0.55) / 1.45) * ((v - 0.55) / 1.45);
            if (e < 1) {
                double light = 1 - 0.3 * e - 0.1 * u - 0.05 * v;
                r = 205 * light, g = 160 * light, b = 135 * light;
                if (fabs(u) < 0.05 && v > 0.1 && v < 0.7)
                    r *= 1.08, g *= 1.08, b *= 1.08; /* nose ridge highlight */
            }
            double iod = f.iod;
            if (dist_polyline(xy, brow_r, 5, x, y) < 0.035 * iod ||
                dist_polyline(xy, brow_l, 5, x, y) < 0.035 * iod)
                r = 80, g = 55, b = 40;
            for (int s = 0; s < 2; s++) {
                if (!inside(xy, s ? eye_l : eye_r, 6, x, y))
                    continue;
                double d = hypot(x - eye_c[s][0], y - eye_c[s][1]);
                r = 235, g = 232, b = 225;
                if (d < 0.085 * iod)
                    r = 90, g = 62, b = 40;
                if (d < 0.035 * iod)
                    r = 20, g = 15, b = 15;
            }
            if (dist_polyline(xy, lid_r, 4, x, y) < 0.012 * iod ||
                dist_polyline(xy, lid_l, 4, x, y) < 0.012 * iod)
                r = 45, g = 30, b = 30;
            for (int k = 32; k <= 34; k += 2)
                if (hypot(x - xy[2 * k], y - xy[2 * k + 1] + 0.01 * iod) < 0.03 * iod)
                    r = 95, g = 55, b = 50;
            if (inside(xy, lips_out, 12, x, y))
                r = 175, g = 75, b = 80;
            if (inside(xy, lips_in, 8, x, y))
                r = 60, g = 22, b = 26;
            h = h * 1664525u + 1013904223u;
            double n = (double)((h >> 24) % 9) - 4;
            uint8_t *p = row + 3 * x;
            p[0] = (uint8_t)fmin(fmax(r + n, 0), 255);
            p[1] = (uint8_t)fmin(fmax(g + n, 0), 255);
            p[2] = (uint8_t)fmin(fmax(b + n, 0), 255);
        }
    }
}

static void save_ppm(const mim_image *img, const char *name)
{
    const char *dir = getenv("MIM_FACEGEN_SAVE_DIR");
    if (!dir)
        return;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.ppm", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return;
    fprintf(fp, "P6\n%d %d\n255\n", img->width, img->height);
    for (int y = 0; y < img->height; y++)
        fwrite(mim_image_row8(img, y), 1, (size_t)img->width * 3, fp);
    fclose(fp);
    MT_NOTE("wrote %s", path);
}

static double luma(const uint8_t *p)
{
    return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
}

static void test_warp_identity(void)
{
    mim_image *src = mim_image_new(320, 320, MIM_IMAGE_RGB8);
    mim_image *dst = mim_image_new(320, 320, MIM_IMAGE_RGB8);
    float xy[2 * N];
    char err[256];
    for (int shut = 0; shut < 2; shut++) {
        float face[2 * N];
        memcpy(face, mean_face, sizeof face);
        if (shut)
            close_mouth(face);
        place(face, 163.3, 121.7, 97.5, 7, xy);
        draw_face(src, xy);
        MT_CHECK_INT(mim_facegen_warp(src, xy, xy, dst, err, sizeof err), 0);
        int worst = 0;
        long n_diff = 0;
        for (int y = 0; y < src->height; y++)
            for (int x = 0; x < 3 * src->width; x++) {
                int d = abs(mim_image_row8(src, y)[x] - mim_image_row8(dst, y)[x]);
                worst = d > worst ? d : worst;
                n_diff += d != 0;
            }
        MT_NOTE("identity warp (%s mouth): max abs difference %d, %ld samples differ",
                shut ? "closed" : "open", worst, n_diff);
        MT_CHECK(worst <= 1);
    }
    save_ppm(src, "facegen-neutral");
    /* refused */
    MT_CHECK_INT(mim_facegen_warp(src, xy, xy, src, err, sizeof err), -1);
    mim_image *small = mim_image_new(100, 100, MIM_IMAGE_RGB8);
    MT_CHECK_INT(mim_facegen_warp(src, xy, xy, small, err, sizeof err), -1);
    MT_NOTE("refused: %s", err);
    mim_image_free(small);
    mim_image_free(src);
    mim_image_free(dst);
}

static void test_warp_expressions(void)
{
    mim_image *src = mim_image_new(320, 320, MIM_IMAGE_RGB8);
    mim_image *dst = mim_image_new(320, 320, MIM_IMAGE_RGB8);
    float face[2 * N], xy[2 * N], out[2 * N], ring[2 * MIM_FACEGEN_N_RING];
    memcpy(face, mean_face, sizeof face);
    close_mouth(face);
    place(face, 160, 110, 90, -6, xy);
    draw_face(src, xy);
    mim_facegen_ring(xy, ring);
    int ring_poly[MIM_FACEGEN_N_RING];
    for (int i = 0; i < MIM_FACEGEN_N_RING; i++)
        ring_poly[i] = i;
    char err[256];
    static const struct {
        const char *name;
        int aus[4];
    } cases[] = {
        {"facegen-smile", {6, 12}},    {"facegen-brows", {1, 2}},      {"facegen-open", {25, 26}},
        {"facegen-blink", {45}},       {"facegen-frown", {4, 15, 17}}, {"facegen-disgust", {9, 4}},
        {"facegen-stretch", {20, 25}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float in[MIM_FACEGEN_N_AU] = {0};
        for (int i = 0; i < 4 && cases[c].aus[i]; i++)
            in[mim_facegen_au_index(cases[c].aus[i])] = 5;
        MT_CHECK_INT(mim_facegen_displace(xy, in, out), 0);
        MT_CHECK_INT(mim_facegen_warp(src, xy, out, dst, err, sizeof err), 0);
        save_ppm(dst, cases[c].name);
        /* outside the ring (with a pixel's margin): untouched */
        long n_outside = 0, n_changed = 0;
        for (int y = 0; y < src->height; y++)
            for (int x = 0; x < src->width; x++) {
                int in_ring = inside(ring, ring_poly, MIM_FACEGEN_N_RING, x, y);
                int near = 0;
                for (int i = 0; i < MIM_FACEGEN_N_RING && !near; i++) {
                    int pts[2] = {i, (i + 1) % MIM_FACEGEN_N_RING};
                    near = dist_polyline(ring, pts, 2, x, y) < 1.0;
                }
                if (in_ring || near)
                    continue;
                n_outside++;
                n_changed +=
                    memcmp(mim_image_row8(src, y) + 3 * x, mim_image_row8(dst, y) + 3 * x, 3) != 0;
            }
        /* skin vertices (jaw, brows, nose) carry their colour: the destination around each
         * moved point looks like the source around the original point */
        double diff = 0;
        int n_pts = 0;
        for (int k = 0; k < 36; k++) {
            int xd = (int)lrint(out[2 * k]), yd = (int)lrint(out[2 * k + 1]);
            int xs = (int)lrint(xy[2 * k]), ys = (int)lrint(xy[2 * k + 1]);
            double sd = 0, ss = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    sd += luma(mim_image_row8(dst, yd + dy) + 3 * (xd + dx));
                    ss += luma(mim_image_row8(src, ys + dy) + 3 * (xs + dx));
                }
            diff += fabs(sd - ss) / 9;
            n_pts++;
        }
        MT_NOTE("%-16s outside the mesh %ld of %ld pixels changed; skin vertices' 3x3 luma "
                "differs by %.1f on average",
                cases[c].name, n_changed, n_outside, diff / n_pts);
        MT_CHECK_INT(n_changed, 0);
        MT_CHECK(diff / n_pts < 8);

        if (in[mim_facegen_au_index(26)] > 0) {
            /* the new opening: dark, with some teeth at the top */
            double sum = 0, lip = 0;
            int n = 0, n_teeth = 0, n_lip = 0;
            for (int y = 0; y < dst->height; y++)
                for (int x = 0; x < dst->width; x++) {
                    const uint8_t *p = mim_image_row8(dst, y) + 3 * x;
                    if (inside(out, lips_in, 8, x, y)) {
                        sum += luma(p);
                        n++;
                        n_teeth += luma(p) > 150;
                    } else if (inside(out, lips_out, 12, x, y)) {
                        lip += luma(p);
                        n_lip++;
                    }
                }
            MT_NOTE("open mouth: %d pixels, mean luma %.1f (lips %.1f), %d teeth-bright "
                    "(%.0f %%)",
                    n, sum / n, lip / n_lip, n_teeth, 100.0 * n_teeth / n);
            MT_CHECK(n > 500);
            MT_CHECK(n_teeth > n / 20 && n_teeth < n / 2);
            MT_CHECK((sum - 200.0 * n_teeth) / (n - n_teeth) < 0.6 * lip / n_lip);
        }
        if (in[mim_facegen_au_index(45)] > 0) {
            /* shut eyes: the iris is gone from the source eye areas */
            int dark_src = 0, dark_dst = 0;
            for (int y = 0; y < dst->height; y++)
                for (int x = 0; x < dst->width; x++) {
                    if (!inside(xy, eye_r, 6, x, y) && !inside(xy, eye_l, 6, x, y))
                        continue;
                    dark_src += luma(mim_image_row8(src, y) + 3 * x) < 80;
                    dark_dst += luma(mim_image_row8(dst, y) + 3 * x) < 80;
                }
            MT_NOTE("blink: dark (iris, lid line) pixels in the eyes %d -> %d", dark_src, dark_dst);
            MT_CHECK(dark_dst < dark_src / 3);
        }
    }
    mim_image_free(src);
    mim_image_free(dst);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_tables);
    MT_RUN(test_directions);
    MT_RUN(test_orientation);
    MT_RUN(test_invariance);
    MT_RUN(test_warp_identity);
    MT_RUN(test_warp_expressions);
    return mt_done();
}
