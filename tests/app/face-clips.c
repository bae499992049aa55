/* face-clips.c: see face-clips.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "aunet/mim-json.h"
#include "face-clips.h"
#include "image/mimica-image.h"

#define N68 MIM_FACEGEN_N_LANDMARKS

/* ---- containers ------------------------------------------------------------------------------ */

typedef struct {
    const char *name, *ext, *format, *encoder;
    gboolean vfr; /* can carry variable frame rate */
    int b_frames; /* requested B-frames */
} ContainerInfo;

static const ContainerInfo containers[] = {
    [FC_CONTAINER_WMV] = {"wmv", "wmv", "asf", "wmv2", TRUE, 0},
    [FC_CONTAINER_WMV_MSMPEG4] = {"wmv-msmpeg4", "wmv", "asf", "msmpeg4", TRUE, 0},
    [FC_CONTAINER_AVI] = {"avi", "avi", "avi", "mpeg4", FALSE, 0},
    [FC_CONTAINER_MP4_H264] = {"mp4-h264", "mp4", "mp4", "libx264", TRUE, 2},
    [FC_CONTAINER_MOV_HEVC] = {"mov-hevc", "mov", "mov", "libx265", TRUE, 2},
};

const char *fc_container_name(FcContainer c)
{
    g_return_val_if_fail((unsigned)c < G_N_ELEMENTS(containers), NULL);
    return containers[c].name;
}

const char *fc_container_ext(FcContainer c)
{
    g_return_val_if_fail((unsigned)c < G_N_ELEMENTS(containers), NULL);
    return containers[c].ext;
}

/* ---- scenes ---------------------------------------------------------------------------------- */

static void render_background(FcScene *s);

FcScene *fc_scene_new(int width, int height, int n_frames)
{
    g_return_val_if_fail(width > 0 && height > 0 && n_frames > 0, NULL);
    FcScene *s = g_new0(FcScene, 1);
    s->width = width;
    s->height = height;
    s->n_frames = n_frames;
    s->pts = g_new0(gint64, n_frames);
    s->container = FC_CONTAINER_MP4_H264;
    s->bg = mim_image_new(width, height, MIM_IMAGE_RGB8);
    fc_scene_set_cfr(s, 30);
    fc_scene_set_background(s, FC_BACKGROUND_PLAIN, 1);
    return s;
}

static void face_free(FcFace *f)
{
    if (!f)
        return;
    g_free(f->label);
    mim_image_free(f->crop);
    g_array_unref(f->places);
    g_array_unref(f->expressions);
    g_free(f);
}

void fc_scene_free(FcScene *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_faces; i++)
        face_free(s->faces[i]);
    mim_image_free(s->bg);
    g_free(s->pts);
    g_free(s);
}

void fc_scene_set_cfr(FcScene *s, int fps)
{
    g_return_if_fail(fps > 0);
    for (int i = 0; i < s->n_frames; i++)
        s->pts[i] = i;
    s->tb_num = 1;
    s->tb_den = fps;
    s->fps = fps;
}

void fc_scene_set_vfr(FcScene *s, const int *steps_ms, int n_steps, int fps)
{
    g_return_if_fail(n_steps > 0 && fps > 0);
    gint64 t = 0;
    for (int i = 0; i < s->n_frames; i++) {
        s->pts[i] = t;
        g_return_if_fail(steps_ms[i % n_steps] > 0);
        t += steps_ms[i % n_steps];
    }
    s->tb_num = 1;
    s->tb_den = 1000;
    s->fps = fps;
}

static gboolean scene_is_cfr(const FcScene *s)
{
    for (int i = 0; i < s->n_frames; i++)
        if (s->pts[i] != i)
            return FALSE;
    return s->tb_num == 1 && s->tb_den == s->fps;
}

/* Value noise: a seeded lattice of random values, bilinearly smoothed (smoothstep weights). */
static double lattice(guint32 seed, int i, int j)
{
    guint32 h = seed * 0x9E3779B1u ^ (guint32)i * 0x85EBCA77u ^ (guint32)j * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    return (h & 0xFFFFFF) / 16777215.0;
}

static double value_noise(guint32 seed, double x, double y)
{
    int i = (int)floor(x), j = (int)floor(y);
    double fx = x - i, fy = y - j;
    fx = fx * fx * (3 - 2 * fx);
    fy = fy * fy * (3 - 2 * fy);
    double a = lattice(seed, i, j), b = lattice(seed, i + 1, j);
    double c = lattice(seed, i, j + 1), d = lattice(seed, i + 1, j + 1);
    return (a + fx * (b - a)) + fy * ((c + fx * (d - c)) - (a + fx * (b - a)));
}

/* Muted colours that no face detector takes for a face: a diagonal gradient between two hues
 * of the seed; textured adds blotches (two octaves of value noise) and fine grain. */
static void render_background(FcScene *s)
{
    double hue = lattice(s->seed, 7, 3) * 2 * G_PI;
    double c0[3], c1[3];
    for (int c = 0; c < 3; c++) {
        c0[c] = 105 + 45 * cos(hue + c * 2.1);
        c1[c] = 90 + 40 * cos(hue + 2.5 + c * 2.1);
    }
    gboolean tex = s->background == FC_BACKGROUND_TEXTURED;
    for (int y = 0; y < s->height; y++) {
        guint8 *row = mim_image_row8(s->bg, y);
        for (int x = 0; x < s->width; x++) {
            double t = (double)(x + y) / (s->width + s->height);
            double n = 0, grain = 0;
            if (tex) {
                n = value_noise(s->seed, x / 57.0, y / 57.0) - 0.5 +
                    0.5 * (value_noise(s->seed + 1, x / 13.0, y / 13.0) - 0.5);
                grain = lattice(s->seed + 2, x, y) - 0.5;
            }
            for (int c = 0; c < 3; c++) {
                double v = c0[c] + t * (c1[c] - c0[c]) + 30 * n * (c == 1 ? 0.8 : 1.0) + 8 * grain;
                row[3 * x + c] = (guint8)CLAMP(lrint(v), 0, 255);
            }
        }
    }
}

void fc_scene_set_background(FcScene *s, FcBackground kind, guint32 seed)
{
    s->background = kind;
    s->seed = seed;
    render_background(s);
}

/* ---- faces from the fixtures ----------------------------------------------------------------- */

static gboolean read_box(const mim_json *rect, double box[4])
{
    if (!rect || rect->type != MIM_JSON_ARRAY || rect->n_children < 4)
        return FALSE;
    const mim_json *c = rect->child;
    for (int i = 0; i < 4; i++, c = c->next)
        box[i] = c->number;
    return TRUE;
}

/* The reference file of a photo: reference/<origin>__<image>.json for whichever origin. */
static char *find_reference(const char *dir, const char *image)
{
    static const char *origins[] = {"dlib", "faceapi", "opencv"};
    for (size_t i = 0; i < G_N_ELEMENTS(origins); i++) {
        char *name = g_strdup_printf("%s__%s.json", origins[i], image);
        char *path = g_build_filename(dir, "reference", name, NULL);
        g_free(name);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return path;
        g_free(path);
    }
    return NULL;
}

/* Area resampling (each output pixel the mean of the input it covers, fractional edges
 * weighted) of src's rectangle [x0, x0 + w) x [y0, y0 + h) to out_w x out_h. */
static mim_image *area_resample(const mim_image *src, int x0, int y0, int w, int h, int out_w,
                                int out_h)
{
    mim_image *out = mim_image_new(out_w, out_h, MIM_IMAGE_RGB8);
    if (!out)
        return NULL;
    double sx = (double)w / out_w, sy = (double)h / out_h;
    float *tmp = g_new0(float, (gsize)out_w *h * 3); /* horizontal pass: out_w x h */
    for (int y = 0; y < h; y++) {
        const guint8 *row = mim_image_row8(src, y0 + y) + 3 * x0;
        for (int i = 0; i < out_w; i++) {
            double a = i * sx, b = (i + 1) * sx, acc[3] = {0, 0, 0};
            for (int x = (int)floor(a); x < (int)ceil(b) && x < w; x++) {
                double wgt = fmin(b, x + 1.0) - fmax(a, (double)x);
                for (int c = 0; c < 3; c++)
                    acc[c] += wgt * row[3 * x + c];
            }
            for (int c = 0; c < 3; c++)
                tmp[((gsize)y * out_w + i) * 3 + c] = (float)(acc[c] / sx);
        }
    }
    for (int j = 0; j < out_h; j++) {
        double a = j * sy, b = (j + 1) * sy;
        guint8 *orow = mim_image_row8(out, j);
        for (int i = 0; i < out_w; i++) {
            double acc[3] = {0, 0, 0};
            for (int y = (int)floor(a); y < (int)ceil(b) && y < h; y++) {
                double wgt = fmin(b, y + 1.0) - fmax(a, (double)y);
                for (int c = 0; c < 3; c++)
                    acc[c] += wgt * tmp[((gsize)y * out_w + i) * 3 + c];
            }
            for (int c = 0; c < 3; c++)
                orow[3 * i + c] = (guint8)CLAMP(lrint(acc[c] / sy), 0, 255);
        }
    }
    g_free(tmp);
    return out;
}

/* Superellipse distance of (dx, dy) from the mask centre with per-side radii: < 1 inside. */
static double mask_dist(const double r[4], double dx, double dy)
{
    double rx = dx < 0 ? r[0] : r[1], ry = dy < 0 ? r[2] : r[3];
    double u = dx / rx, v = dy / ry;
    u *= u;
    v *= v;
    return sqrt(sqrt(u * u + v * v));
}

#define MASK_FADE 0.8 /* the soft edge runs from this fraction of the radii to the mask's edge */

static double mask_alpha(const FcFace *f, double x, double y)
{
    double d = mask_dist(f->mask_r, x - f->mask_c[0], y - f->mask_c[1]);
    if (d <= MASK_FADE)
        return 1;
    if (d >= 1)
        return 0;
    double t = (d - MASK_FADE) / (1 - MASK_FADE);
    return 1 - t * t * (3 - 2 * t);
}

/* The mask in photo pixels: centred a little above the landmarks' box centre (the forehead),
 * radii region/2 face sizes, cut at the photo's edges and short of the other faces' boxes,
 * but never so short that the soft edge reaches into the landmarks. */
static void plan_mask(const float *xy, const double (*others)[4], int n_others, double region,
                      int photo_w, int photo_h, double c[2], double r[4])
{
    double bx0 = 1e30, by0 = 1e30, bx1 = -1e30, by1 = -1e30;
    for (int k = 0; k < N68; k++) {
        bx0 = fmin(bx0, xy[2 * k]);
        bx1 = fmax(bx1, xy[2 * k]);
        by0 = fmin(by0, xy[2 * k + 1]);
        by1 = fmax(by1, xy[2 * k + 1]);
    }
    double size = fmax(bx1 - bx0, by1 - by0);
    c[0] = 0.5 * (bx0 + bx1);
    c[1] = 0.5 * (by0 + by1) - 0.15 * size;
    double half = 0.5 * region * size;
    r[0] = fmin(half, c[0]);
    r[1] = fmin(half, photo_w - 1 - c[0]);
    r[2] = fmin(half, c[1]);
    r[3] = fmin(half, photo_h - 1 - c[1]);
    /* the smallest radii: the landmarks (and the forehead above the brows) inside the
     * unfaded part */
    double need[4] = {(c[0] - bx0 + 0.05 * size) / MASK_FADE,
                      (bx1 - c[0] + 0.05 * size) / MASK_FADE, (c[1] - by0 + 0.3 * size) / MASK_FADE,
                      (by1 - c[1] + 0.05 * size) / MASK_FADE};
    for (int i = 0; i < n_others; i++) {
        /* another face's box, a little enlarged: keep it out along the axis that costs less */
        const double *b = others[i];
        double m = 0.15 * (b[2] - b[0]);
        double l = b[0] - m, t = b[1] - m, rr = b[2] + m, bb = b[3] + m;
        double gx = rr < c[0] ? c[0] - rr : l > c[0] ? l - c[0] : 0;
        double gy = bb < c[1] ? c[1] - bb : t > c[1] ? t - c[1] : 0;
        int sx = rr < c[0] ? 0 : 1, sy = bb < c[1] ? 2 : 3;
        /* the box's point nearest the centre: inside the mask? */
        double nx = CLAMP(c[0], l, rr) - c[0], ny = CLAMP(c[1], t, bb) - c[1];
        if (mask_dist(r, nx, ny) >= 1)
            continue;
        if (gx > 0 && (gy <= 0 || gx / r[sx] >= gy / r[sy]))
            r[sx] = fmin(r[sx], gx);
        else if (gy > 0)
            r[sy] = fmin(r[sy], gy);
    }
    for (int i = 0; i < 4; i++)
        r[i] = fmax(r[i], fmin(need[i], i == 0   ? c[0]
                                        : i == 1 ? photo_w - 1 - c[0]
                                        : i == 2 ? c[1]
                                                 : photo_h - 1 - c[1]));
}

static int cmp_place(const void *a, const void *b)
{
    return ((const FcPlace *)a)->frame - ((const FcPlace *)b)->frame;
}

static int cmp_expression(const void *a, const void *b)
{
    return ((const FcExpression *)a)->frame - ((const FcExpression *)b)->frame;
}

FcFace *fc_scene_add_face(FcScene *s, const char *shared_dir, const char *image, int hog_index,
                          double region, double max_iod, GError **error)
{
    g_return_val_if_fail(s->n_faces < FC_MAX_FACES, NULL);
    g_return_val_if_fail(region > 1, NULL);
    if (!shared_dir) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "no fixture folder (MIMICA_SHARED_DIR)");
        return NULL;
    }
    g_autofree char *dir = g_build_filename(shared_dir, "fixtures", "faces", NULL);
    g_autofree char *ipath = g_build_filename(dir, "images", image, NULL);
    g_autofree char *jpath = find_reference(dir, image);
    if (!jpath || !g_file_test(ipath, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "fixture %s or its reference missing in %s", image, dir);
        return NULL;
    }
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(jpath, &text, &len, error))
        return NULL;
    mim_json_doc *doc = NULL;
    char err[256];
    if (mim_json_parse(text, len, &doc, err, sizeof err)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", jpath, err);
        return NULL;
    }
    const mim_json *root = mim_json_root(doc);
    const mim_json *hog = mim_json_get(mim_json_get(root, "dlib"), "hog");
    const mim_json *haar =
        mim_json_get(mim_json_get(mim_json_get(root, "opencv"), "haarcascade_frontalface_default"),
                     "faces_xywh_neighbors");
    float xy[2 * N68];
    double own[4] = {0, 0, 0, 0}, others[64][4];
    int n_others = 0, found = 0, i = 0;
    for (const mim_json *h = hog ? hog->child : NULL; h; h = h->next, i++) {
        double box[4];
        if (!read_box(mim_json_get(h, "rect"), box))
            continue;
        if (i != hog_index) {
            if (n_others < 64)
                memcpy(others[n_others++], box, sizeof box);
            continue;
        }
        const mim_json *lm = mim_json_get(h, "landmarks_rgb");
        if (!lm || lm->n_children != N68)
            continue;
        int k = 0;
        for (const mim_json *p = lm->child; p; p = p->next, k++) {
            xy[2 * k] = (float)p->child->number;
            xy[2 * k + 1] = (float)p->child->next->number;
        }
        memcpy(own, box, sizeof own);
        found = 1;
    }
    /* OpenCV's boxes (x, y, w, h, neighbours): the faces dlib missed; weak ones are noise */
    for (const mim_json *h = haar ? haar->child : NULL; h && n_others < 64; h = h->next) {
        double b[5];
        if (!read_box(h, b) || h->n_children < 5)
            continue;
        b[4] = h->child->next->next->next->next->number;
        double box[4] = {b[0], b[1], b[0] + b[2] - 1, b[1] + b[3] - 1};
        double ix = fmin(box[2], own[2]) - fmax(box[0], own[0]);
        double iy = fmin(box[3], own[3]) - fmax(box[1], own[1]);
        if (b[4] >= 8 && !(ix > 0 && iy > 0))
            memcpy(others[n_others++], box, sizeof box);
    }
    mim_json_doc_free(doc);
    if (!found) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "%s has no dlib.hog[%d] with 68 landmarks", jpath, hog_index);
        return NULL;
    }
    mim_image *photo = mimica_image_load(ipath, error);
    if (!photo)
        return NULL;
    double c[2], r[4];
    plan_mask(xy, (const double(*)[4])others, n_others, region, photo->width, photo->height, c, r);
    int x0 = MAX(0, (int)floor(c[0] - r[0])), x1 = MIN(photo->width, (int)ceil(c[0] + r[1]) + 1);
    int y0 = MAX(0, (int)floor(c[1] - r[2])), y1 = MIN(photo->height, (int)ceil(c[1] + r[3]) + 1);
    mim_facegen_frame eyes;
    if (mim_facegen_face_frame(xy, &eyes)) {
        mim_image_free(photo);
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s#%d: degenerate landmarks",
                    image, hog_index);
        return NULL;
    }
    double k = max_iod > 0 ? fmin(1.0, max_iod / eyes.iod) : 1.0;
    int w = MAX(1, (int)lrint((x1 - x0) * k)), h = MAX(1, (int)lrint((y1 - y0) * k));
    double kx = (double)w / (x1 - x0), ky = (double)h / (y1 - y0);
    FcFace *f = g_new0(FcFace, 1);
    f->label = g_strdup_printf("%s#%d", image, hog_index);
    f->crop = area_resample(photo, x0, y0, x1 - x0, y1 - y0, w, h);
    mim_image_free(photo);
    /* photo pixel centre x -> crop pixel centre (x - x0 + 0.5) * k - 0.5 */
    for (int p = 0; p < N68; p++) {
        f->xy[2 * p] = (float)((xy[2 * p] - x0 + 0.5) * kx - 0.5);
        f->xy[2 * p + 1] = (float)((xy[2 * p + 1] - y0 + 0.5) * ky - 0.5);
    }
    f->mask_c[0] = (c[0] - x0 + 0.5) * kx - 0.5;
    f->mask_c[1] = (c[1] - y0 + 0.5) * ky - 0.5;
    f->mask_r[0] = r[0] * kx;
    f->mask_r[1] = r[1] * kx;
    f->mask_r[2] = r[2] * ky;
    f->mask_r[3] = r[3] * ky;
    mim_facegen_face_frame(f->xy, &f->eyes);
    f->places = g_array_new(FALSE, TRUE, sizeof(FcPlace));
    f->expressions = g_array_new(FALSE, TRUE, sizeof(FcExpression));
    s->faces[s->n_faces++] = f;
    return f;
}

void fc_face_place(FcFace *f, int frame, double x, double y, double iod, double roll,
                   gboolean shown)
{
    g_return_if_fail(iod > 0);
    FcPlace p = {frame, x, y, iod, roll, shown};
    for (guint i = 0; i < f->places->len; i++)
        if (g_array_index(f->places, FcPlace, i).frame == frame) {
            g_array_index(f->places, FcPlace, i) = p;
            return;
        }
    g_array_append_val(f->places, p);
    g_array_sort(f->places, cmp_place);
}

gboolean fc_face_express(FcFace *f, int frame, const char *aus)
{
    FcExpression e = {frame, {0}};
    g_auto(GStrv) parts = g_strsplit_set(aus, " ", -1);
    for (int i = 0; parts[i]; i++) {
        if (!parts[i][0])
            continue;
        int au = 0;
        double v = -1;
        char tail = 0;
        if (sscanf(parts[i], "%d:%lf%c", &au, &v, &tail) != 2)
            return FALSE;
        int idx = mim_facegen_au_index(au);
        if (idx < 0 || !(v >= 0 && v <= MIM_FACEGEN_MAX_AU))
            return FALSE;
        e.au[idx] = (float)v;
    }
    for (guint i = 0; i < f->expressions->len; i++)
        if (g_array_index(f->expressions, FcExpression, i).frame == frame) {
            g_array_index(f->expressions, FcExpression, i) = e;
            return TRUE;
        }
    g_array_append_val(f->expressions, e);
    g_array_sort(f->expressions, cmp_expression);
    return TRUE;
}

/* ---- rendering ------------------------------------------------------------------------------- */

/* The keyframes around `frame`: *a the last at or before it (else the first), *b the next (or
 * *a), *t the fraction between them. */
static void keys_around(const int *frames, int n, int frame, int *a, int *b, double *t)
{
    int i = 0;
    while (i + 1 < n && frames[i + 1] <= frame)
        i++;
    *a = i;
    *b = i + 1 < n && frames[i] <= frame ? i + 1 : i;
    *t = *b != *a ? (double)(frame - frames[*a]) / (frames[*b] - frames[*a]) : 0;
}

static void place_at(const FcFace *f, int frame, FcPlace *out)
{
    int n = (int)f->places->len, a, b;
    double t;
    if (n == 0) {
        memset(out, 0, sizeof *out);
        return;
    }
    int *frames = g_newa(int, n);
    for (int i = 0; i < n; i++)
        frames[i] = g_array_index(f->places, FcPlace, i).frame;
    keys_around(frames, n, frame, &a, &b, &t);
    const FcPlace *p = &g_array_index(f->places, FcPlace, a);
    const FcPlace *q = &g_array_index(f->places, FcPlace, b);
    out->frame = frame;
    out->x = p->x + t * (q->x - p->x);
    out->y = p->y + t * (q->y - p->y);
    out->iod = p->iod + t * (q->iod - p->iod);
    out->roll = p->roll + t * (q->roll - p->roll);
    out->shown = p->shown;
}

static void expression_at(const FcFace *f, int frame, float *au)
{
    int n = (int)f->expressions->len, a, b;
    double t;
    memset(au, 0, sizeof(float) * MIM_FACEGEN_N_AU);
    if (n == 0)
        return;
    int *frames = g_newa(int, n);
    for (int i = 0; i < n; i++)
        frames[i] = g_array_index(f->expressions, FcExpression, i).frame;
    keys_around(frames, n, frame, &a, &b, &t);
    const FcExpression *p = &g_array_index(f->expressions, FcExpression, a);
    const FcExpression *q = &g_array_index(f->expressions, FcExpression, b);
    for (int i = 0; i < MIM_FACEGEN_N_AU; i++)
        au[i] = (float)(p->au[i] + t * (q->au[i] - p->au[i]));
}

/* crop -> frame: p' = (x, y) + s R(theta) (p - eye midpoint) */
typedef struct {
    double s, cs, sn; /* scale, cos and sin of the rotation */
    double ox, oy;    /* crop eye midpoint */
    double tx, ty;    /* frame eye midpoint */
} Similarity;

static void similarity_of(const FcFace *f, const FcPlace *p, Similarity *m)
{
    /* level the photo's eye line, then roll */
    double theta = p->roll * G_PI / 180 - atan2(f->eyes.axis[1], f->eyes.axis[0]);
    m->s = p->iod / f->eyes.iod;
    m->cs = cos(theta);
    m->sn = sin(theta);
    m->ox = f->eyes.origin[0];
    m->oy = f->eyes.origin[1];
    m->tx = p->x;
    m->ty = p->y;
}

static void map_points(const Similarity *m, const float *in, float *out, int n)
{
    for (int k = 0; k < n; k++) {
        double dx = in[2 * k] - m->ox, dy = in[2 * k + 1] - m->oy;
        out[2 * k] = (float)(m->tx + m->s * (m->cs * dx - m->sn * dy));
        out[2 * k + 1] = (float)(m->ty + m->s * (m->sn * dx + m->cs * dy));
    }
}

static void bilinear(const mim_image *img, double x, double y, double out[3])
{
    x = CLAMP(x, 0, img->width - 1.0);
    y = CLAMP(y, 0, img->height - 1.0);
    int x0 = (int)x, y0 = (int)y;
    int x1 = MIN(x0 + 1, img->width - 1), y1 = MIN(y0 + 1, img->height - 1);
    double fx = x - x0, fy = y - y0;
    const guint8 *r0 = mim_image_row8(img, y0), *r1 = mim_image_row8(img, y1);
    for (int c = 0; c < 3; c++) {
        double a = r0[3 * x0 + c] + fx * (r0[3 * x1 + c] - r0[3 * x0 + c]);
        double b = r1[3 * x0 + c] + fx * (r1[3 * x1 + c] - r1[3 * x0 + c]);
        out[c] = a + fy * (b - a);
    }
}

/* The frame pixels the face's mask can reach at m: its corners mapped, bounding box,
 * clipped to w x h; FALSE when it misses the frame. */
static gboolean mask_box(const FcFace *f, const Similarity *m, int w, int h, int box[4])
{
    double corners[4][2] = {{f->mask_c[0] - f->mask_r[0], f->mask_c[1] - f->mask_r[2]},
                            {f->mask_c[0] + f->mask_r[1], f->mask_c[1] - f->mask_r[2]},
                            {f->mask_c[0] - f->mask_r[0], f->mask_c[1] + f->mask_r[3]},
                            {f->mask_c[0] + f->mask_r[1], f->mask_c[1] + f->mask_r[3]}};
    double xmin = 1e30, xmax = -1e30, ymin = 1e30, ymax = -1e30;
    for (int i = 0; i < 4; i++) {
        float in[2] = {(float)corners[i][0], (float)corners[i][1]}, out[2];
        map_points(m, in, out, 1);
        xmin = fmin(xmin, out[0]);
        xmax = fmax(xmax, out[0]);
        ymin = fmin(ymin, out[1]);
        ymax = fmax(ymax, out[1]);
    }
    box[0] = MAX(0, (int)floor(xmin));
    box[1] = MAX(0, (int)floor(ymin));
    box[2] = MIN(w - 1, (int)ceil(xmax));
    box[3] = MIN(h - 1, (int)ceil(ymax));
    return box[0] <= box[2] && box[1] <= box[3];
}

/* Draws the face image (crop-sized, possibly warped) over rgb at m, through the soft mask;
 * shrunk faces are supersampled (n x n samples per pixel) so that they do not alias. */
static void composite(const FcFace *f, const mim_image *face, const Similarity *m, mim_image *rgb)
{
    int box[4];
    if (!mask_box(f, m, rgb->width, rgb->height, box))
        return;
    int X0 = box[0], Y0 = box[1], X1 = box[2], Y1 = box[3];
    int n = CLAMP((int)ceil(1 / m->s - 0.05), 1, 4);
    double inv = 1 / m->s;
    for (int Y = Y0; Y <= Y1; Y++) {
        guint8 *row = mim_image_row8(rgb, Y);
        for (int X = X0; X <= X1; X++) {
            double acc[3] = {0, 0, 0}, alpha = 0;
            for (int j = 0; j < n; j++)
                for (int i = 0; i < n; i++) {
                    double dx = X + (i + 0.5) / n - 0.5 - m->tx,
                           dy = Y + (j + 0.5) / n - 0.5 - m->ty;
                    double px = m->ox + inv * (m->cs * dx + m->sn * dy);
                    double py = m->oy + inv * (-m->sn * dx + m->cs * dy);
                    double a = mask_alpha(f, px, py);
                    if (a <= 0)
                        continue;
                    double c[3];
                    bilinear(face, px, py, c);
                    for (int k = 0; k < 3; k++)
                        acc[k] += a * c[k];
                    alpha += a;
                }
            if (alpha <= 0)
                continue;
            double nn = (double)n * n;
            guint8 *p = row + 3 * X;
            for (int k = 0; k < 3; k++)
                p[k] = (guint8)CLAMP(lrint(acc[k] / nn + (1 - alpha / nn) * p[k]), 0, 255);
        }
    }
}

gboolean fc_scene_render(const FcScene *s, int frame, mim_image *rgb, FcTruth *truth,
                         GError **error)
{
    g_return_val_if_fail(frame >= 0 && frame < s->n_frames, FALSE);
    if (rgb &&
        (rgb->format != MIM_IMAGE_RGB8 || rgb->width != s->width || rgb->height != s->height)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "frame image must be RGB8 %dx%d", s->width, s->height);
        return FALSE;
    }
    FcTruth local;
    if (!truth)
        truth = &local;
    memset(truth, 0, sizeof *truth);
    truth->frame = frame;
    truth->pts = s->pts[frame];
    truth->time_s = (double)(s->pts[frame] - s->pts[0]) * s->tb_num / s->tb_den;
    truth->n_faces = s->n_faces;
    if (rgb)
        for (int y = 0; y < s->height; y++)
            memcpy(mim_image_row8(rgb, y), mim_image_row8(s->bg, y), (gsize)s->width * 3);
    for (int i = 0; i < s->n_faces; i++) {
        const FcFace *f = s->faces[i];
        FcFaceTruth *ft = &truth->face[i];
        FcPlace p;
        place_at(f, frame, &p);
        expression_at(f, frame, ft->au);
        ft->label = f->label;
        ft->x = p.x;
        ft->y = p.y;
        ft->iod = p.iod;
        ft->roll = p.roll;
        if (p.iod <= 0)
            continue; /* never placed */
        float moved[2 * N68];
        gboolean neutral = TRUE;
        for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
            neutral &= ft->au[a] == 0;
        if (neutral)
            memcpy(moved, f->xy, sizeof moved);
        else if (mim_facegen_displace(f->xy, ft->au, moved)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot displace", f->label);
            return FALSE;
        }
        Similarity m;
        similarity_of(f, &p, &m);
        map_points(&m, moved, ft->xy, N68);
        map_points(&m, f->xy, ft->xy_neutral, N68);
        /* drawn: the mask's box, mapped, meets the frame */
        int box[4];
        ft->drawn = p.shown && mask_box(f, &m, s->width, s->height, box);
        ft->visible = ft->drawn;
        for (int k = 0; k < N68 && ft->visible; k++)
            ft->visible = ft->xy[2 * k] >= 0 && ft->xy[2 * k] <= s->width - 1 &&
                          ft->xy[2 * k + 1] >= 0 && ft->xy[2 * k + 1] <= s->height - 1;
        if (!rgb || !ft->drawn)
            continue;
        if (neutral) {
            composite(f, f->crop, &m, rgb);
            continue;
        }
        mim_image *warped = mim_image_new(f->crop->width, f->crop->height, MIM_IMAGE_RGB8);
        char err[256];
        if (!warped || mim_facegen_warp(f->crop, f->xy, moved, warped, err, sizeof err)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", f->label,
                        warped ? err : "out of memory");
            mim_image_free(warped);
            return FALSE;
        }
        composite(f, warped, &m, rgb);
        mim_image_free(warped);
    }
    return TRUE;
}

/* ---- encoding -------------------------------------------------------------------------------- */

static void av_fail(GError **error, const char *what, int ret)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    if (ret)
        av_strerror(ret, buf, sizeof buf);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s", what, ret ? ": " : "", buf);
}

/* Drains the encoder into the muxer. Packets get a duration (until the next frame's pts; the
 * last frame as long as the one before) when the encoder leaves it at 0, so that muxers keep
 * the last frame. */
static gboolean drain(const FcScene *s, AVCodecContext *c, AVFormatContext *oc, AVStream *st,
                      AVPacket *pkt, GError **error)
{
    int ret;
    while ((ret = avcodec_receive_packet(c, pkt)) >= 0) {
        if (pkt->duration <= 0 && pkt->pts != AV_NOPTS_VALUE) {
            gint64 d = s->n_frames > 1 ? s->pts[s->n_frames - 1] - s->pts[s->n_frames - 2] : 1;
            for (int i = 0; i + 1 < s->n_frames; i++)
                if (s->pts[i] == pkt->pts)
                    d = s->pts[i + 1] - s->pts[i];
            pkt->duration = d;
        }
        av_packet_rescale_ts(pkt, c->time_base, st->time_base);
        pkt->stream_index = st->index;
        if ((ret = av_interleaved_write_frame(oc, pkt)) < 0) {
            av_fail(error, "write_frame", ret);
            return FALSE;
        }
    }
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
        av_fail(error, "receive_packet", ret);
        return FALSE;
    }
    return TRUE;
}

gboolean fc_make_clip(const char *path, const FcScene *s, char **skip, GError **error)
{
    const ContainerInfo *ci = &containers[s->container];
    const AVCodec *codec = avcodec_find_encoder_by_name(ci->encoder);
    if (!codec) {
        *skip = g_strdup_printf("this libavcodec has no '%s' encoder", ci->encoder);
        return FALSE;
    }
    if (!av_guess_format(ci->format, NULL, NULL)) {
        *skip = g_strdup_printf("this libavformat has no '%s' muxer", ci->format);
        return FALSE;
    }
    gboolean cfr = scene_is_cfr(s);
    if (!ci->vfr && !cfr) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s holds a constant frame rate only (fc_scene_set_cfr)", ci->name);
        return FALSE;
    }
    AVFormatContext *oc = NULL;
    AVCodecContext *c = NULL;
    AVFrame *yuv = NULL;
    AVPacket *pkt = NULL;
    struct SwsContext *sws = NULL;
    mim_image *rgb = NULL;
    gboolean ok = FALSE;
    int ret = avformat_alloc_output_context2(&oc, NULL, ci->format, path);
    if (ret < 0) {
        av_fail(error, "alloc_output_context", ret);
        goto out;
    }
    AVStream *st = avformat_new_stream(oc, NULL);
    c = avcodec_alloc_context3(codec);
    if (!st || !c) {
        av_fail(error, "out of memory", 0);
        goto out;
    }
    c->width = s->width;
    c->height = s->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){s->tb_num, s->tb_den};
    c->framerate = (AVRational){s->fps, 1};
    c->gop_size = 12;
    c->max_b_frames = ci->b_frames;
    c->thread_count = 1;
    c->colorspace = AVCOL_SPC_SMPTE170M;
    c->color_primaries = AVCOL_PRI_SMPTE170M;
    c->color_trc = AVCOL_TRC_SMPTE170M;
    c->color_range = AVCOL_RANGE_MPEG;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(ci->encoder, "libx264")) {
        av_opt_set(c->priv_data, "preset", "veryfast", 0);
        av_opt_set_int(c->priv_data, "crf", s->crf ? s->crf : 18, 0);
    } else if (!strcmp(ci->encoder, "libx265")) {
        av_opt_set(c->priv_data, "preset", "ultrafast", 0);
        av_opt_set_int(c->priv_data, "crf", s->crf ? s->crf : 20, 0);
        av_opt_set(c->priv_data, "x265-params", "log-level=error", 0);
    } else {
        /* the MPEG-4 family (mpeg4, msmpeg4, wmv2): fixed quantiser, near-transparent */
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 3;
    }
    if ((ret = avcodec_open2(c, codec, NULL)) < 0) {
        av_fail(error, "avcodec_open2", ret);
        goto out;
    }
    if ((ret = avcodec_parameters_from_context(st->codecpar, c)) < 0) {
        av_fail(error, "parameters_from_context", ret);
        goto out;
    }
    st->time_base = c->time_base;
    st->avg_frame_rate = c->framerate;
    if ((ret = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        av_fail(error, "avio_open", ret);
        goto out;
    }
    if ((ret = avformat_write_header(oc, NULL)) < 0) {
        av_fail(error, "write_header", ret);
        goto out;
    }
    yuv = av_frame_alloc();
    pkt = av_packet_alloc();
    rgb = mim_image_new(s->width, s->height, MIM_IMAGE_RGB8);
    sws = sws_getContext(s->width, s->height, AV_PIX_FMT_RGB24, s->width, s->height,
                         AV_PIX_FMT_YUV420P, SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!yuv || !pkt || !rgb || !sws) {
        av_fail(error, "out of memory", 0);
        goto out;
    }
    yuv->format = c->pix_fmt;
    yuv->width = s->width;
    yuv->height = s->height;
    if ((ret = av_frame_get_buffer(yuv, 0)) < 0) {
        av_fail(error, "frame buffer", ret);
        goto out;
    }
    for (int i = 0; i < s->n_frames; i++) {
        if (!fc_scene_render(s, i, rgb, NULL, error))
            goto out;
        if ((ret = av_frame_make_writable(yuv)) < 0) {
            av_fail(error, "frame writable", ret);
            goto out;
        }
        const uint8_t *planes[1] = {rgb->data};
        const int strides[1] = {(int)rgb->stride};
        sws_scale(sws, planes, strides, 0, s->height, yuv->data, yuv->linesize);
        yuv->pts = s->pts[i];
        if ((ret = avcodec_send_frame(c, yuv)) < 0) {
            av_fail(error, "send_frame", ret);
            goto out;
        }
        if (!drain(s, c, oc, st, pkt, error))
            goto out;
    }
    if ((ret = avcodec_send_frame(c, NULL)) < 0) {
        av_fail(error, "flush", ret);
        goto out;
    }
    if (!drain(s, c, oc, st, pkt, error))
        goto out;
    if ((ret = av_write_trailer(oc)) < 0) {
        av_fail(error, "write_trailer", ret);
        goto out;
    }
    ok = TRUE;
out:
    sws_freeContext(sws);
    mim_image_free(rgb);
    av_packet_free(&pkt);
    av_frame_free(&yuv);
    avcodec_free_context(&c);
    if (oc && oc->pb)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    return ok;
}

/* ---- truth ----------------------------------------------------------------------------------- */

const FcFaceTruth *fc_truth_face(const FcTruth *t, int face)
{
    g_return_val_if_fail(face >= 0 && face < t->n_faces, NULL);
    return &t->face[face];
}

float fc_truth_au(const FcTruth *t, int face, int au)
{
    int idx = mim_facegen_au_index(au);
    g_return_val_if_fail(face >= 0 && face < t->n_faces, -1);
    return idx < 0 ? -1 : t->face[face].au[idx];
}

gboolean fc_truth_is_neutral(const FcTruth *t, int face)
{
    g_return_val_if_fail(face >= 0 && face < t->n_faces, FALSE);
    for (int a = 0; a < MIM_FACEGEN_N_AU; a++)
        if (t->face[face].au[a] != 0)
            return FALSE;
    return TRUE;
}

int fc_truth_n_visible(const FcTruth *t)
{
    int n = 0;
    for (int i = 0; i < t->n_faces; i++)
        n += t->face[i].visible;
    return n;
}

double fc_iod68(const float *xy)
{
    double e[2][2] = {{0, 0}, {0, 0}};
    for (int k = 36; k < 48; k++) {
        e[k >= 42][0] += xy[2 * k] / 6.0;
        e[k >= 42][1] += xy[2 * k + 1] / 6.0;
    }
    return hypot(e[1][0] - e[0][0], e[1][1] - e[0][1]);
}

/* ---- presets --------------------------------------------------------------------------------- */

/* Irregular frame steps (ms) of the variable-rate clips: 10 to 60 fps within a clip, 31.5 ms
 * (about 32 fps) on average. */
static const int vfr_steps[] = {33, 50, 17, 40, 25, 34, 41, 16, 33, 26};

static FcScene *preset_one_face_moves(const char *shared, GError **error)
{
    /* Tom Cruise (dlib's example photo, one large face) on a textured background: a slow
     * figure-of-eight across the frame, zooming from IOD 70 to 100 and back, rolling +-10
     * degrees. No expression (he smiles in the photo). */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 90);
    fc_scene_set_vfr(s, vfr_steps, G_N_ELEMENTS(vfr_steps), 30);
    fc_scene_set_background(s, FC_BACKGROUND_TEXTURED, 11);
    s->container = FC_CONTAINER_MP4_H264;
    FcFace *f = fc_scene_add_face(s, shared, "Tom_Cruise_avp_2014_4.jpg", 0, 3, 100, error);
    if (!f)
        return NULL;
    for (int k = 0; k <= 6; k++) {
        int frame = k * 15;
        double ph = k * G_PI / 3;
        fc_face_place(f, frame, 320 + 90 * sin(ph), 210 + 35 * sin(2 * ph), 85 + 15 * sin(ph + 1),
                      10 * sin(ph + 0.5), TRUE);
    }
    return g_steal_pointer(&s);
}

static FcScene *preset_one_face_cut(const char *shared, GError **error)
{
    /* One face (faceapi sample3, the middle person: frontal, light smile): visible and moving for
     * frames 0..29, sliding out across the right edge over 30..44 (partly visible, then gone),
     * off-screen 45..59, cut back in at the left at frame 60 (not drawn at 59, whole at 60),
     * moving right; a smile (AU6+12) builds from 72 to 82 and stays. */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 90);
    fc_scene_set_vfr(s, vfr_steps, G_N_ELEMENTS(vfr_steps), 30);
    fc_scene_set_background(s, FC_BACKGROUND_PLAIN, 5);
    s->container = FC_CONTAINER_WMV;
    FcFace *f = fc_scene_add_face(s, shared, "sample3.jpg", 2, 3, 80, error);
    if (!f)
        return NULL;
    fc_face_place(f, 0, 280, 220, 75, -4, TRUE);
    fc_face_place(f, 30, 360, 200, 80, 3, TRUE);
    fc_face_place(f, 45, 1000, 200, 80, 3, TRUE);
    fc_face_place(f, 59, 1000, 200, 80, 3, FALSE);
    fc_face_place(f, 60, 170, 250, 70, -6, TRUE);
    fc_face_place(f, 89, 330, 230, 78, 2, TRUE);
    fc_face_express(f, 72, "");
    fc_face_express(f, 82, "6:4 12:5");
    return g_steal_pointer(&s);
}

static FcScene *preset_three_faces(const char *shared, GError **error)
{
    /* Three people from three photos side by side on a plain background, each region 2.2 face
     * sizes so that they do not overlap, all drifting and swaying a little:
     *   - faceapi sample3's right person (dark hair, smiling with teeth) smiles wider (AU6 4,
     *     AU12 5) from 20 to 30, holds it to 40, neutral again at 50 (a person's baseline is
     *     found in the frames where the face is calmest: most of them must be neutral);
     *   - faceapi sample6's rightmost person raises her brows (AU1+2 5) from 30 to 45, back by 60;
     *   - a PASCAL VOC face (2008_002506, the left man, box 108 px, shown a little larger than in
     *     his photo) blinks: shut at 53, open at 50 and 56. */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 75);
    fc_scene_set_cfr(s, 25);
    fc_scene_set_background(s, FC_BACKGROUND_PLAIN, 23);
    s->container = FC_CONTAINER_AVI;
    static const struct {
        const char *image;
        int index;
        double x, y, iod;
    } who[3] = {{"sample3.jpg", 1, 115, 230, 52},
                {"sample6.jpg", 3, 325, 250, 56},
                {"2008_002506.jpg", 0, 530, 225, 48}};
    FcFace *f[3];
    for (int i = 0; i < 3; i++) {
        f[i] =
            fc_scene_add_face(s, shared, who[i].image, who[i].index, 2.2, who[i].iod * 1.15, error);
        if (!f[i])
            return NULL;
        for (int k = 0; k <= 5; k++) {
            double ph = k * 1.1 + i * 2;
            fc_face_place(f[i], k * 15, who[i].x + 12 * sin(ph), who[i].y + 15 * cos(ph),
                          who[i].iod * (1 + 0.08 * sin(ph + 0.7)), 6 * sin(ph + 1.3), TRUE);
        }
    }
    fc_face_express(f[0], 20, "");
    fc_face_express(f[0], 30, "6:4 12:5");
    fc_face_express(f[0], 40, "6:4 12:5");
    fc_face_express(f[0], 50, "");
    fc_face_express(f[1], 30, "");
    fc_face_express(f[1], 45, "1:5 2:5");
    fc_face_express(f[1], 60, "");
    fc_face_express(f[2], 50, "");
    fc_face_express(f[2], 53, "45:5");
    fc_face_express(f[2], 56, "");
    return g_steal_pointer(&s);
}

static FcScene *preset_expressions(const char *shared, GError **error)
{
    /* One face (faceapi sample6, rightmost person: frontal, mouth closed) large and nearly
     * still, each expression held at full intensity for 8 frames between neutral stretches:
     *   0..9 neutral, smile (AU6 4, AU12 5) 10..18 up, 18..26 held, 26..34 down,
     *   34..41 neutral, raised brows (AU1+2 5) 42..48 up, 48..56 held, 56..62 down,
     *   62..69 neutral, open mouth (AU25 5, AU26 5) 70..76 up, 76..84 held, 84..90 down,
     *   90..99 neutral, blink (AU45) closing 100..102 (shut at 102), open again at 104,
     *   104..119 neutral. */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 120);
    fc_scene_set_vfr(s, vfr_steps, G_N_ELEMENTS(vfr_steps), 30);
    fc_scene_set_background(s, FC_BACKGROUND_PLAIN, 42);
    s->container = FC_CONTAINER_MOV_HEVC;
    FcFace *f = fc_scene_add_face(s, shared, "sample6.jpg", 3, 3, 105, error);
    if (!f)
        return NULL;
    fc_face_place(f, 0, 310, 200, 100, 0, TRUE);
    fc_face_place(f, 60, 330, 210, 96, 4, TRUE);
    fc_face_place(f, 119, 315, 205, 100, -3, TRUE);
    static const struct {
        int frame;
        const char *aus;
    } keys[] = {{10, ""},  {18, "6:4 12:5"},  {26, "6:4 12:5"},  {34, ""},
                {42, ""},  {48, "1:5 2:5"},   {56, "1:5 2:5"},   {62, ""},
                {70, ""},  {76, "25:5 26:5"}, {84, "25:5 26:5"}, {90, ""},
                {100, ""}, {102, "45:5"},     {104, ""}};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        fc_face_express(f, keys[i].frame, keys[i].aus);
    return g_steal_pointer(&s);
}

static FcScene *preset_blinks(const char *shared, GError **error)
{
    /* faceapi sample1, leftmost person (clown make-up, neutral), blinking at 10, 30 and 50
     * (2 frames closing, 2 opening) while turning from roll -8 to +8 degrees; msmpeg4 in ASF. */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 60);
    fc_scene_set_vfr(s, vfr_steps, G_N_ELEMENTS(vfr_steps), 30);
    fc_scene_set_background(s, FC_BACKGROUND_TEXTURED, 77);
    s->container = FC_CONTAINER_WMV_MSMPEG4;
    FcFace *f = fc_scene_add_face(s, shared, "sample1.jpg", 0, 3, 90, error);
    if (!f)
        return NULL;
    fc_face_place(f, 0, 300, 220, 85, -8, TRUE);
    fc_face_place(f, 59, 340, 230, 85, 8, TRUE);
    for (int b = 10; b <= 50; b += 20) {
        fc_face_express(f, b - 2, "");
        fc_face_express(f, b, "45:5");
        fc_face_express(f, b + 2, "");
    }
    return g_steal_pointer(&s);
}

static FcScene *preset_demo(const char *shared, GError **error)
{
    /* The demo video of `make run` (data/demo/mimica-demo.mp4, made by
     * tests/app/make-demo-video): faceapi sample6, rightmost person (MIT, as the face-api
     * package states), 640x480, 25 fps, 300 frames. Moves slowly; neutral 0..39; smile (AU6 4,
     * AU12 5) 40..55 up, held to 80, down by 95; raised brows (AU1+2 5) 110..120 up, held to 140,
     * down by 150; open mouth (AU25+26 5) 165..175 up, held to 190, closed by 200; blinks at
     * 20, 105 and 210; slides out across the right edge 222..236, away until 254, cut back in
     * at the left at 255, neutral to the end. */
    g_autoptr(FcScene) s = fc_scene_new(640, 480, 300);
    fc_scene_set_cfr(s, 25);
    fc_scene_set_background(s, FC_BACKGROUND_PLAIN, 2026);
    s->container = FC_CONTAINER_MP4_H264;
    s->crf = 26;
    FcFace *f = fc_scene_add_face(s, shared, "sample6.jpg", 3, 3, 95, error);
    if (!f)
        return NULL;
    fc_face_place(f, 0, 300, 215, 88, -2, TRUE);
    fc_face_place(f, 100, 340, 205, 94, 3, TRUE);
    fc_face_place(f, 200, 310, 225, 90, -3, TRUE);
    fc_face_place(f, 222, 350, 220, 90, 0, TRUE);
    fc_face_place(f, 236, 900, 220, 90, 0, TRUE);
    fc_face_place(f, 254, 900, 220, 90, 0, FALSE);
    fc_face_place(f, 255, 200, 230, 85, 2, TRUE);
    fc_face_place(f, 299, 300, 215, 88, -1, TRUE);
    static const struct {
        int frame;
        const char *aus;
    } keys[] = {{18, ""},           {20, "45:5"},     {22, ""},  {40, ""},
                {55, "6:4 12:5"},   {80, "6:4 12:5"}, {95, ""},  {103, ""},
                {105, "45:5"},      {107, ""},        {110, ""}, {120, "1:5 2:5"},
                {140, "1:5 2:5"},   {150, ""},        {165, ""}, {175, "25:5 26:5"},
                {190, "25:5 26:5"}, {200, ""},        {208, ""}, {210, "45:5"},
                {212, ""}};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        fc_face_express(f, keys[i].frame, keys[i].aus);
    return g_steal_pointer(&s);
}

static const struct {
    const char *name;
    FcScene *(*make)(const char *shared, GError **error);
} presets[] = {
    {"one-face-moves", preset_one_face_moves},
    {"one-face-cut", preset_one_face_cut},
    {"three-faces", preset_three_faces},
    {"expressions", preset_expressions},
    {"blinks", preset_blinks},
    {"demo", preset_demo},
};

const char *const *fc_scene_preset_names(void)
{
    /* the test scenes; "demo" is made on its own (tests/app/make-demo-video) */
    static const char *const names[] = {"one-face-moves", "one-face-cut", "three-faces",
                                        "expressions",    "blinks",       NULL};
    G_STATIC_ASSERT(G_N_ELEMENTS(names) == G_N_ELEMENTS(presets)); /* + NULL, - demo */
    return names;
}

FcScene *fc_scene_preset(const char *name, const char *shared_dir, GError **error)
{
    for (size_t i = 0; i < G_N_ELEMENTS(presets); i++)
        if (!strcmp(presets[i].name, name))
            return presets[i].make(shared_dir, error);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no preset scene '%s'", name);
    return NULL;
}
