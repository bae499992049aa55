/* mim-synth.c: generated training faces (mim-synth.h). */
#include "mim-synth.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "landmark/mim-align.h"

#define S  MIM_ALIGN_SIZE
#define PI 3.14159265358979323846

/* The labelled AUs, as indices into mim_facegen_aus (all but AU45). */
static const int labelled_aus[MIM_SYNTH_N_AU] = {1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26};

int mim_synth_domain_parse(const char *name, mim_synth_domain *out)
{
    if (!strcmp(name, "lab"))
        *out = MIM_SYNTH_LAB;
    else if (!strcmp(name, "wild"))
        *out = MIM_SYNTH_WILD;
    else
        return -1;
    return 0;
}

static double uni(mim_rng *r, double a, double b)
{
    return a + (b - a) * mim_rng_uniform(r);
}

static double gauss(mim_rng *r)
{
    double u = mim_rng_uniform(r), v = mim_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2 * PI * v);
}

void mim_synth_draw_aus(mim_rng *rng, float *intensity, float *labels)
{
    for (int i = 0; i < MIM_FACEGEN_N_AU; i++) {
        int active = mim_rng_uniform(rng) < MIM_SYNTH_P_ACTIVE;
        double trace = mim_rng_uniform(rng) < 0.5 ? uni(rng, 0, 0.6) : 0.0;
        double on = uni(rng, 1.5, MIM_FACEGEN_MAX_AU);
        intensity[i] = (float)(active ? on : trace);
    }
    /* AU26 (jaw drop) parts the lips too: FACS codes 25 with it */
    for (int k = 0; k < MIM_SYNTH_N_AU; k++) {
        int i = mim_facegen_au_index(labelled_aus[k]);
        labels[k] = intensity[i] >= 1.5f ? 1.0f : 0.0f;
    }
    if (intensity[mim_facegen_au_index(26)] >= 1.5f)
        for (int k = 0; k < MIM_SYNTH_N_AU; k++)
            if (labelled_aus[k] == 25)
                labels[k] = 1.0f;
}

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || !err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* 2x3 affine product a∘b (apply b, then a). */
static void compose(const double a[6], const double b[6], double out[6])
{
    double r[6] = {a[0] * b[0] + a[1] * b[3],        a[0] * b[1] + a[1] * b[4],
                   a[0] * b[2] + a[1] * b[5] + a[2], a[3] * b[0] + a[4] * b[3],
                   a[3] * b[1] + a[4] * b[4],        a[3] * b[2] + a[4] * b[5] + a[5]};
    memcpy(out, r, sizeof r);
}

/* Value noise on a coarse grid, bilinear, two octaves: (S,S) in [0,1]. */
static void value_noise(mim_rng *rng, float *out)
{
    for (int i = 0; i < S * S; i++)
        out[i] = 0;
    enum { MAX_CELLS = 17 };
    int cells[2] = {5, MAX_CELLS};
    float amp[2] = {0.7f, 0.3f};
    /* on the stack: a failed allocation here used to leave the noise at 0 without a word */
    float grid[(MAX_CELLS + 2) * (MAX_CELLS + 2)];
    for (int o = 0; o < 2; o++) {
        int g = cells[o] + 1;
        for (int i = 0; i < (g + 1) * (g + 1); i++)
            grid[i] = (float)mim_rng_uniform(rng);
        for (int y = 0; y < S; y++) {
            double fy = (double)y / S * cells[o];
            int iy = (int)fy;
            double ty = fy - iy;
            for (int x = 0; x < S; x++) {
                double fx = (double)x / S * cells[o];
                int ix = (int)fx;
                double tx = fx - ix;
                double v = (1 - ty) * ((1 - tx) * grid[iy * (g + 1) + ix] +
                                       tx * grid[iy * (g + 1) + ix + 1]) +
                           ty * ((1 - tx) * grid[(iy + 1) * (g + 1) + ix] +
                                 tx * grid[(iy + 1) * (g + 1) + ix + 1]);
                out[y * S + x] += amp[o] * (float)v;
            }
        }
    }
}

/* The face's soft mask (S,S) in [0,1] from the 68 aligned landmarks: an ellipse around the
 * landmarks' box, raised to take in the forehead. */
static void face_mask(const float *p68, float *mask)
{
    double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
    for (int k = 0; k < 68; k++) {
        x0 = fmin(x0, p68[2 * k]);
        x1 = fmax(x1, p68[2 * k]);
        y0 = fmin(y0, p68[2 * k + 1]);
        y1 = fmax(y1, p68[2 * k + 1]);
    }
    double w = x1 - x0, h = y1 - y0;
    double cx = 0.5 * (x0 + x1), cy = 0.5 * (y0 + y1) - 0.17 * h;
    double rx = 0.62 * w + 4, ry = 0.72 * h + 4;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double dx = (x - cx) / rx, dy = (y - cy) / ry;
            double d = sqrt(dx * dx + dy * dy);
            double m = d < 0.88 ? 1.0 : d > 1.0 ? 0.0 : (1.0 - d) / 0.12;
            mask[y * S + x] = (float)m;
        }
}

static void box_blur(uint8_t *img, int r, uint8_t *tmp)
{
    if (r <= 0)
        return;
    for (int pass = 0; pass < 2; pass++) {
        /* horizontal into tmp, vertical back into img */
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < 3; c++) {
                    int s = 0, n = 0;
                    for (int d = -r; d <= r; d++) {
                        int xx = x + d < 0 ? 0 : x + d >= S ? S - 1 : x + d;
                        s += img[(y * S + xx) * 3 + c];
                        n++;
                    }
                    tmp[(y * S + x) * 3 + c] = (uint8_t)((s + n / 2) / n);
                }
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                for (int c = 0; c < 3; c++) {
                    int s = 0, n = 0;
                    for (int d = -r; d <= r; d++) {
                        int yy = y + d < 0 ? 0 : y + d >= S ? S - 1 : y + d;
                        s += tmp[(yy * S + x) * 3 + c];
                        n++;
                    }
                    img[(y * S + x) * 3 + c] = (uint8_t)((s + n / 2) / n);
                }
    }
}

static uint8_t clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lrint(v));
}

int mim_synth_render(const mim_image *photo, const float *xy68, const float *intensity,
                     mim_synth_domain domain, mim_rng *rng, uint8_t *rgb200, float *xy49, char *err,
                     size_t err_size)
{
    int rc = -1;
    mim_image *crop = NULL, *warped = NULL;
    float *mask = malloc(sizeof(float) * S * S), *noise = malloc(sizeof(float) * S * S);
    uint8_t *tmp = malloc((size_t)S * S * 3);
    if (!mask || !noise || !tmp) {
        set_err(err, err_size, "out of memory");
        goto out;
    }
    if (photo->format != MIM_IMAGE_RGB8) {
        set_err(err, err_size, "the photo is not RGB8");
        goto out;
    }
    /* the region around the face: 1.4 face sizes on each side of the landmarks' box centre */
    double bx0 = 1e9, bx1 = -1e9, by0 = 1e9, by1 = -1e9;
    for (int k = 0; k < 68; k++) {
        bx0 = fmin(bx0, xy68[2 * k]);
        bx1 = fmax(bx1, xy68[2 * k]);
        by0 = fmin(by0, xy68[2 * k + 1]);
        by1 = fmax(by1, xy68[2 * k + 1]);
    }
    double side = fmax(bx1 - bx0, by1 - by0), cx = 0.5 * (bx0 + bx1), cy = 0.5 * (by0 + by1);
    if (!(side > 4)) {
        set_err(err, err_size, "degenerate landmarks (face of %.1f pixels)", side);
        goto out;
    }
    int x0 = (int)fmax(0, floor(cx - 1.4 * side)), y0 = (int)fmax(0, floor(cy - 1.4 * side));
    int x1 = (int)fmin(photo->width, ceil(cx + 1.4 * side));
    int y1 = (int)fmin(photo->height, ceil(cy + 1.4 * side));
    if (x1 - x0 < 8 || y1 - y0 < 8) {
        set_err(err, err_size, "the face lies outside the photo");
        goto out;
    }
    crop = mim_image_new(x1 - x0, y1 - y0, MIM_IMAGE_RGB8);
    warped = mim_image_new(x1 - x0, y1 - y0, MIM_IMAGE_RGB8);
    if (!crop || !warped) {
        set_err(err, err_size, "out of memory");
        goto out;
    }
    for (int y = y0; y < y1; y++)
        memcpy(mim_image_row8(crop, y - y0), mim_image_row8(photo, y) + 3 * x0,
               3 * (size_t)(x1 - x0));
    float src[136], dst[136];
    for (int k = 0; k < 68; k++) {
        src[2 * k] = xy68[2 * k] - (float)x0;
        src[2 * k + 1] = xy68[2 * k + 1] - (float)y0;
    }
    if (mim_facegen_displace(src, intensity, dst)) {
        set_err(err, err_size, "degenerate landmarks or intensities");
        goto out;
    }
    if (mim_facegen_warp(crop, src, dst, warped, err, err_size))
        goto out;

    /* alignment (MODEL.md §1.1), and in the wild an alignment error on top */
    float d49[98];
    double m[6];
    mim_align_68_to_49(dst, d49);
    if (mim_align_matrix(d49, S, m)) {
        set_err(err, err_size, "no alignment for these landmarks");
        goto out;
    }
    int wild = domain == MIM_SYNTH_WILD;
    if (wild) {
        double a = uni(rng, -15, 15) * PI / 180, s = uni(rng, 0.88, 1.12);
        double tx = uni(rng, -10, 10), ty = uni(rng, -10, 10), c = 0.5 * (S - 1);
        double ca = s * cos(a), sa = s * sin(a);
        double e[6] = {ca, -sa, c - ca * c + sa * c + tx, sa, ca, c - sa * c - ca * c + ty};
        compose(e, m, m);
    }
    mim_align_warp_rgb(warped, m, rgb200, S, MIM_ALIGN_BORDER);
    float p68[136];
    mim_align_transform_points(m, dst, p68, 68);
    mim_align_transform_points(m, d49, xy49, 49);

    /* background */
    face_mask(p68, mask);
    double c1[3], c2[3];
    for (int c = 0; c < 3; c++) {
        double base = uni(rng, 60, 200);
        c1[c] = base + uni(rng, -25, 25);
        c2[c] = wild ? uni(rng, 20, 235) : c1[c] + uni(rng, -20, 20);
    }
    if (wild)
        value_noise(rng, noise);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double t = wild ? noise[y * S + x] : (double)y / (S - 1);
            double mk = mask[y * S + x];
            for (int c = 0; c < 3; c++) {
                double bg = (1 - t) * c1[c] + t * c2[c];
                uint8_t *p = &rgb200[(y * S + x) * 3 + c];
                *p = clamp8(mk * *p + (1 - mk) * bg);
            }
        }
    if (!wild) {
        rc = 0;
        goto out;
    }

    /* light: a gain with a linear gradient and a colour cast */
    double g0 = uni(rng, 0.55, 1.35), gx = uni(rng, -0.35, 0.35), gy = uni(rng, -0.35, 0.35);
    double cast[3];
    for (int c = 0; c < 3; c++)
        cast[c] = uni(rng, 0.88, 1.12);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double g = g0 + gx * (x - 100) / 100.0 + gy * (y - 100) / 100.0;
            if (g < 0.2)
                g = 0.2;
            for (int c = 0; c < 3; c++) {
                uint8_t *p = &rgb200[(y * S + x) * 3 + c];
                *p = clamp8(*p * g * cast[c]);
            }
        }
    /* occluder */
    if (mim_rng_uniform(rng) < 0.35) {
        int w = (int)uni(rng, 0.15 * S, 0.35 * S), h = (int)uni(rng, 0.15 * S, 0.35 * S);
        int ox = (int)uni(rng, 20, S - 20 - w), oy = (int)uni(rng, 20, S - 20 - h);
        double col[3];
        for (int c = 0; c < 3; c++)
            col[c] = uni(rng, 10, 245);
        double grain = mim_rng_uniform(rng) < 0.5 ? uni(rng, 5, 30) : 0;
        for (int y = oy; y < oy + h; y++)
            for (int x = ox; x < ox + w; x++) {
                double n = grain * gauss(rng);
                for (int c = 0; c < 3; c++)
                    rgb200[(y * S + x) * 3 + c] = clamp8(col[c] + n);
            }
    }
    /* blur, noise */
    box_blur(rgb200, (int)mim_rng_below(rng, 3), tmp);
    double sigma = uni(rng, 0, 10);
    for (int i = 0; i < S * S * 3; i++)
        rgb200[i] = clamp8(rgb200[i] + sigma * gauss(rng));
    rc = 0;
out:
    mim_image_free(crop);
    mim_image_free(warped);
    free(mask);
    free(noise);
    free(tmp);
    return rc;
}
