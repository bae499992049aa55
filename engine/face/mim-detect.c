/* mim-detect.c: cv::CascadeClassifier::detectMultiScale (CPU path) per FORMATS.md B.2:
 * scale list, bit-exact pyramid, integral images, Haar/LBP stage evaluation, groupRectangles,
 * clipping. The arithmetic (float features, double stage sums, float scales, round half to even)
 * follows OpenCV so that the candidate lists are identical. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include "mim-cascade-private.h"
#include "mim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mim_detect_opts_init(mim_detect_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->scale_factor = 1.1;
    opts->min_neighbors = 3;
}

/* cvRound: round half to even (the default FP rounding mode). */
static int rnd(double v)
{
    return (int)lrint(v);
}

static int rndf(float v)
{
    return (int)lrintf(v);
}

/* ---- growable box list ---------------------------------------------------------------------- */

typedef struct {
    mim_face_rect *v;
    size_t n, cap;
} rect_list;

static int rect_push(rect_list *l, int x, int y, int w, int h)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        mim_face_rect *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = (mim_face_rect){x, y, w, h, 0};
    return 0;
}

/* ---- integral images --------------------------------------------------------------------------
 */

/* S and Q: (h+1, w+1), row 0 and column 0 zero, wrap-around 32-bit (window sums are exact). */
void mim__integral(const mim_image *img, uint32_t *S, uint32_t *Q)
{
    int w = img->width, h = img->height;
    size_t st = (size_t)w + 1;
    memset(S, 0, st * sizeof *S);
    if (Q)
        memset(Q, 0, st * sizeof *Q);
    for (int y = 0; y < h; y++) {
        const uint8_t *p = mim_image_row8(img, y);
        uint32_t *s0 = S + (size_t)y * st, *s1 = S + (size_t)(y + 1) * st;
        uint32_t rs = 0;
        s1[0] = 0;
        for (int x = 0; x < w; x++) {
            rs += p[x];
            s1[x + 1] = s0[x + 1] + rs;
        }
        if (Q) {
            uint32_t *q0 = Q + (size_t)y * st, *q1 = Q + (size_t)(y + 1) * st;
            uint32_t rq = 0;
            q1[0] = 0;
            for (int x = 0; x < w; x++) {
                rq += (uint32_t)p[x] * p[x];
                q1[x + 1] = q0[x + 1] + rq;
            }
        }
    }
}

/* Tilted sum (FORMATS.md B.2 step 4): T[Y][X] = Σ img[y][x] over y < Y and
 * |x − X + 1| ≤ Y − y − 1, computed as T[Y][X] = T[Y−1][X] + img[Y−1][X−1] + DL(Y−2, X−2) +
 * DR(Y−2, X) with DL(r, c) = Σ_k img[r−k][c−k] and DR(r, c) = Σ_k img[r−k][c+k] (the two
 * diagonals by which the triangle widens each row). */
int mim__tilted_integral(const mim_image *img, uint32_t *T)
{
    int w = img->width, h = img->height;
    size_t st = (size_t)w + 1;
    uint32_t *DL = malloc(sizeof *DL * (size_t)w * (size_t)h);
    uint32_t *DR = malloc(sizeof *DR * (size_t)w * (size_t)h);
    if (!DL || !DR) {
        free(DL);
        free(DR);
        return -1;
    }
    for (int r = 0; r < h; r++) {
        const uint8_t *p = mim_image_row8(img, r);
        for (int c = 0; c < w; c++) {
            DL[(size_t)r * w + c] = p[c] + (r > 0 && c > 0 ? DL[(size_t)(r - 1) * w + c - 1] : 0);
            DR[(size_t)r * w + c] =
                p[c] + (r > 0 && c + 1 < w ? DR[(size_t)(r - 1) * w + c + 1] : 0);
        }
    }
    memset(T, 0, st * sizeof *T);
    for (int Y = 1; Y <= h; Y++) {
        uint32_t *t = T + (size_t)Y * st;
        const uint32_t *tp = T + (size_t)(Y - 1) * st;
        const uint8_t *p = mim_image_row8(img, Y - 1);
        for (int X = 0; X <= w; X++) {
            uint32_t v = tp[X];
            if (X >= 1 && X - 1 < w)
                v += p[X - 1];
            int r = Y - 2;
            if (r >= 0) {
                /* DL(r, X−2): for columns past the right edge, walk back to the last column */
                int c = X - 2;
                if (c >= w) {
                    r -= c - (w - 1);
                    c = w - 1;
                }
                if (c >= 0 && r >= 0)
                    v += DL[(size_t)r * w + c];
                /* DR(Y−2, X): columns left of the image walk forward to column 0 */
                r = Y - 2;
                c = X;
                if (c < 0) {
                    r -= -c;
                    c = 0;
                }
                if (c < w && r >= 0)
                    v += DR[(size_t)r * w + c];
            }
            t[X] = v;
        }
    }
    free(DL);
    free(DR);
    return 0;
}

/* ---- evaluation ----------------------------------------------------------------------------- */

/* Per-scale node data: each internal node with its feature's integral-image offsets (window
 * origin at 0) inline, so that a stage walks one array. */
typedef struct {
    int ofs[3][4];
    float weight[3]; /* weight[2] = 0 for two-rectangle features (adds +0.0f: no change) */
    float threshold;
    int child[2];  /* left, right */
    float leaf[2]; /* leaf values when left (0) / right (1) are leaves */
    int tilted;
} haar_node;

typedef struct {
    int ofs[16];
} lbp_ofs;

typedef struct {
    const mim_cascade *c;
    const uint32_t *S, *Q, *T;
    size_t st;
    haar_node *haar; /* (n_nodes) */
    lbp_ofs *lbp;    /* (n_features) */
    int var_ofs[4];
    double var_area;
} scale_ctx;

static void prepare_offsets(scale_ctx *sc)
{
    const mim_cascade *c = sc->c;
    int st = (int)sc->st;
    if (c->type == MIM_CASCADE_HAAR) {
        for (int wi = 0; wi < c->n_weak; wi++) {
            const mim__weak *wk = &c->weak[wi];
            for (int k = 0; k < wk->n_nodes; k++) {
                const mim__node *nd = &c->nodes[wk->first_node + k];
                const mim__haar_feature *f = &c->haar[nd->feature];
                haar_node *o = &sc->haar[wk->first_node + k];
                memset(o, 0, sizeof *o);
                o->threshold = nd->threshold;
                o->child[0] = nd->left;
                o->child[1] = nd->right;
                o->leaf[0] = nd->left <= 0 ? c->leaves[wk->first_leaf - nd->left] : 0.f;
                o->leaf[1] = nd->right <= 0 ? c->leaves[wk->first_leaf - nd->right] : 0.f;
                o->tilted = f->tilted;
                for (int r = 0; r < f->n_rects; r++) {
                    int x = f->x[r], y = f->y[r], w = f->w[r], h = f->h[r];
                    o->weight[r] = f->weight[r];
                    if (!f->tilted) {
                        o->ofs[r][0] = y * st + x;
                        o->ofs[r][1] = y * st + x + w;
                        o->ofs[r][2] = (y + h) * st + x;
                        o->ofs[r][3] = (y + h) * st + x + w;
                    } else {
                        o->ofs[r][0] = y * st + x;
                        o->ofs[r][1] = (y + h) * st + (x - h);
                        o->ofs[r][2] = (y + w) * st + (x + w);
                        o->ofs[r][3] = (y + w + h) * st + (x + w - h);
                    }
                }
                /* a two-rectangle feature reads its first rectangle again with weight 0 */
                if (f->n_rects == 2)
                    memcpy(o->ofs[2], o->ofs[0], sizeof o->ofs[2]);
            }
        }
        int W = c->width, H = c->height;
        sc->var_ofs[0] = 1 * st + 1;
        sc->var_ofs[1] = 1 * st + (W - 1);
        sc->var_ofs[2] = (H - 1) * st + 1;
        sc->var_ofs[3] = (H - 1) * st + (W - 1);
        sc->var_area = (double)(W - 2) * (H - 2);
    } else {
        for (int i = 0; i < c->n_features; i++) {
            const mim__lbp_feature *f = &c->lbp[i];
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 4; k++)
                    sc->lbp[i].ofs[j * 4 + k] = (f->y + j * f->h) * st + (f->x + k * f->w);
        }
    }
}

static inline int32_t box_sum(const uint32_t *p, const int o[4])
{
    return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

/* f32(f32(f32(w0·R0) + f32(w1·R1)) + f32(w2·R2)), as OpenCV's HaarEvaluator::Feature::calc */
static inline float haar_value(const haar_node *o, const uint32_t *p)
{
    float r = o->weight[0] * (float)box_sum(p, o->ofs[0]);
    r = r + o->weight[1] * (float)box_sum(p, o->ofs[1]);
    r = r + o->weight[2] * (float)box_sum(p, o->ofs[2]);
    return r;
}

static inline int lbp_code(const uint32_t *p, const int *o)
{
#define SUM4(a, b, c, d) ((int32_t)(p[o[a]] - p[o[b]] - p[o[c]] + p[o[d]]))
    int32_t cv = SUM4(5, 6, 9, 10);
    return (SUM4(0, 1, 4, 5) >= cv ? 128 : 0) | (SUM4(1, 2, 5, 6) >= cv ? 64 : 0) |
           (SUM4(2, 3, 6, 7) >= cv ? 32 : 0) | (SUM4(6, 7, 10, 11) >= cv ? 16 : 0) |
           (SUM4(10, 11, 14, 15) >= cv ? 8 : 0) | (SUM4(9, 10, 13, 14) >= cv ? 4 : 0) |
           (SUM4(8, 9, 12, 13) >= cv ? 2 : 0) | (SUM4(4, 5, 8, 9) >= cv ? 1 : 0);
#undef SUM4
}

/* 1: accepted; 0: rejected by the first stage; −1: rejected otherwise (variance or a later
 * stage). */
static int eval_window(const scale_ctx *sc, size_t base)
{
    const mim_cascade *c = sc->c;
    if (c->type == MIM_CASCADE_HAAR) {
        const uint32_t *S = sc->S + base, *T = sc->T ? sc->T + base : NULL;
        int32_t sum = box_sum(S, sc->var_ofs);
        uint32_t sq = (uint32_t)box_sum(sc->Q + base, sc->var_ofs);
        double nf = sc->var_area * (double)sq - (double)sum * (double)sum;
        if (!(nf > 0.))
            return -1;
        float inv = (float)(1. / sqrt(nf));
        if (!(sc->var_area * inv < 1e-1))
            return -1;
        const int stumps = c->max_nodes_per_tree == 1 && !T;
        for (int si = 0; si < c->n_stages; si++) {
            const mim__stage *stage = &c->stages[si];
            double ssum = 0;
            if (stumps) {
                /* every tree is one node whose node index is its weak index (one node each) */
                const haar_node *nd = sc->haar + c->weak[stage->first_weak].first_node;
                for (int k = 0; k < stage->n_weak; k++, nd++) {
                    float v = haar_value(nd, S) * inv;
                    /* an index, not a branch: the outcome is unpredictable */
                    ssum += (double)nd->leaf[!(v < nd->threshold)];
                }
            } else {
                for (int wi = stage->first_weak; wi < stage->first_weak + stage->n_weak; wi++) {
                    const mim__weak *wk = &c->weak[wi];
                    const haar_node *nodes = sc->haar + wk->first_node;
                    int idx = 0;
                    do {
                        const haar_node *nd = &nodes[idx];
                        float v = haar_value(nd, nd->tilted ? T : S) * inv;
                        idx = nd->child[!(v < nd->threshold)];
                    } while (idx > 0);
                    ssum += (double)c->leaves[wk->first_leaf - idx];
                }
            }
            if (ssum < (double)stage->threshold)
                return si == 0 ? 0 : -1;
        }
        return 1;
    }
    const uint32_t *S = sc->S + base;
    for (int si = 0; si < c->n_stages; si++) {
        const mim__stage *stage = &c->stages[si];
        double ssum = 0;
        for (int wi = stage->first_weak; wi < stage->first_weak + stage->n_weak; wi++) {
            const mim__weak *wk = &c->weak[wi];
            const mim__node *nodes = c->nodes + wk->first_node;
            int idx = 0;
            do {
                const mim__node *nd = &nodes[idx];
                int code = lbp_code(S, sc->lbp[nd->feature].ofs);
                const int32_t *subset =
                    c->subsets + (size_t)(wk->first_node + idx) * (size_t)c->subset_words;
                idx = ((uint32_t)subset[code >> 5] & (1u << (code & 31))) ? nd->left : nd->right;
            } while (idx > 0);
            ssum += (double)c->leaves[wk->first_leaf - idx];
        }
        if (ssum < (double)stage->threshold)
            return si == 0 ? 0 : -1;
    }
    return 1;
}

/* ---- grouping ------------------------------------------------------------------------------- */

static int find_root(int *parent, int i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static int similar(const mim_face_rect *a, const mim_face_rect *b)
{
    double delta = 0.2 * ((a->w < b->w ? a->w : b->w) + (a->h < b->h ? a->h : b->h)) * 0.5;
    return abs(a->x - b->x) <= delta && abs(a->y - b->y) <= delta &&
           abs(a->x + a->w - b->x - b->w) <= delta && abs(a->y + a->h - b->y - b->h) <= delta;
}

size_t mim_face_rects_group(mim_face_rect *r, size_t n, int group_threshold)
{
    if (group_threshold <= 0 || n == 0)
        return n;
    int *parent = malloc(sizeof *parent * n);
    int *label = malloc(sizeof *label * n);
    long long(*sums)[5] = calloc(n, sizeof *sums);
    mim_face_rect *cls = malloc(sizeof *cls * n);
    size_t n_out = 0;
    if (!parent || !label || !sums || !cls)
        goto out; /* out of memory: no detections */
    for (size_t i = 0; i < n; i++)
        parent[i] = (int)i;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (similar(&r[i], &r[j])) {
                int a = find_root(parent, (int)i), b = find_root(parent, (int)j);
                if (a != b)
                    parent[a] = b;
            }
    /* classes numbered in order of first appearance */
    int n_cls = 0;
    for (size_t i = 0; i < n; i++)
        label[i] = -1;
    int *root_label = malloc(sizeof *root_label * n);
    if (!root_label)
        goto out;
    for (size_t i = 0; i < n; i++)
        root_label[i] = -1;
    for (size_t i = 0; i < n; i++) {
        int root = find_root(parent, (int)i);
        if (root_label[root] < 0)
            root_label[root] = n_cls++;
        int l = root_label[root];
        label[i] = l;
        sums[l][0] += r[i].x;
        sums[l][1] += r[i].y;
        sums[l][2] += r[i].w;
        sums[l][3] += r[i].h;
        sums[l][4]++;
    }
    free(root_label);
    for (int l = 0; l < n_cls; l++) {
        float s = 1.f / (float)sums[l][4];
        cls[l] = (mim_face_rect){rndf((float)sums[l][0] * s), rndf((float)sums[l][1] * s),
                                 rndf((float)sums[l][2] * s), rndf((float)sums[l][3] * s),
                                 (int)sums[l][4]};
    }
    mim_face_rect *kept = r; /* n_cls <= n: write the survivors over the input */
    for (int i = 0; i < n_cls; i++) {
        const mim_face_rect *r1 = &cls[i];
        int n1 = r1->neighbors;
        if (n1 <= group_threshold)
            continue;
        int j;
        for (j = 0; j < n_cls; j++) {
            const mim_face_rect *r2 = &cls[j];
            int n2 = r2->neighbors;
            if (j == i || n2 <= group_threshold)
                continue;
            int dx = rnd(r2->w * 0.2), dy = rnd(r2->h * 0.2);
            if (r1->x >= r2->x - dx && r1->y >= r2->y - dy && r1->x + r1->w <= r2->x + r2->w + dx &&
                r1->y + r1->h <= r2->y + r2->h + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == n_cls)
            kept[n_out++] = *r1;
    }
out:
    free(parent);
    free(label);
    free(sums);
    free(cls);
    return n_out;
}

/* ---- the detector --------------------------------------------------------------------------- */

static int cmp_rect(const void *pa, const void *pb)
{
    const mim_face_rect *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->w != b->w)
        return a->w < b->w ? -1 : 1;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return 0;
}

int mim_cascade_candidates(const mim_cascade *c, const mim_image *img, const mim_detect_opts *opts,
                           mim_face_rect **out, size_t *n_out, char *err, size_t err_size)
{
    mim_detect_opts def;
    int rc = -1;
    mim_image *grey = NULL, *scaled = NULL;
    uint32_t *S = NULL, *Q = NULL, *T = NULL;
    float *scales = NULL;
    rect_list cand = {0};
    scale_ctx sc = {.c = c};

    *out = NULL;
    *n_out = 0;
    if (!opts) {
        mim_detect_opts_init(&def);
        opts = &def;
    }
    if (!(opts->scale_factor > 1.0) || !isfinite(opts->scale_factor)) {
        mim_errf(err, err_size, "detect: scale factor %g must be greater than 1",
                 opts->scale_factor);
        return -1;
    }
    if (img->format != MIM_IMAGE_GREY8 && img->format != MIM_IMAGE_RGB8) {
        mim_errf(err, err_size, "detect: the image must be GREY8 or RGB8");
        return -1;
    }
    int iw = img->width, ih = img->height, W = c->width, H = c->height;
    if (iw <= 0 || ih <= 0) {
        mim_errf(err, err_size, "detect: empty image");
        return -1;
    }
    const mim_image *g = img;
    if (img->format == MIM_IMAGE_RGB8) {
        grey = mim_image_new(iw, ih, MIM_IMAGE_GREY8);
        if (!grey)
            goto oom;
        mim_image_rgb_to_grey(img, grey);
        g = grey;
    }
    int max_w = opts->max_width > 0 ? opts->max_width : iw;
    int max_h = opts->max_height > 0 ? opts->max_height : ih;

    /* the scale list (step 2) */
    size_t n_scales = 0, cap_scales = 0;
    for (double factor = 1.0;; factor *= opts->scale_factor) {
        int ww = rnd(W * factor), wh = rnd(H * factor);
        if (ww > iw || wh > ih)
            break;
        if (n_scales == cap_scales) {
            cap_scales = cap_scales ? cap_scales * 2 : 64;
            float *ns = realloc(scales, sizeof *ns * cap_scales);
            if (!ns)
                goto oom;
            scales = ns;
        }
        scales[n_scales++] = (float)factor;
    }

    size_t n_int = ((size_t)iw + 1) * ((size_t)ih + 1);
    S = malloc(sizeof *S * n_int);
    if (c->type == MIM_CASCADE_HAAR)
        Q = malloc(sizeof *Q * n_int);
    if (c->any_tilted)
        T = malloc(sizeof *T * n_int);
    if (c->type == MIM_CASCADE_HAAR)
        sc.haar = malloc(sizeof *sc.haar * (size_t)c->n_nodes);
    else
        sc.lbp = malloc(sizeof *sc.lbp * (size_t)c->n_features);
    if (!S || (c->type == MIM_CASCADE_HAAR && (!Q || !sc.haar)) || (c->any_tilted && !T) ||
        (c->type == MIM_CASCADE_LBP && !sc.lbp))
        goto oom;

    for (size_t k = 0; k < n_scales; k++) {
        float s = scales[k];
        int ww = rndf((float)W * s), wh = rndf((float)H * s);
        if (ww > max_w || wh > max_h)
            break;
        if (ww < opts->min_width || wh < opts->min_height)
            continue;
        int sw = rndf((float)iw / s), sh = rndf((float)ih / s);
        if (sw < W || sh < H)
            continue;
        mim_image_free(scaled);
        scaled = mim_image_new(sw, sh, MIM_IMAGE_GREY8);
        if (!scaled)
            goto oom;
        mim_image_resize(g, scaled);
        mim__integral(scaled, S, Q);
        if (T && mim__tilted_integral(scaled, T) != 0)
            goto oom;
        sc.S = S;
        sc.Q = Q;
        sc.T = T;
        sc.st = (size_t)sw + 1;
        prepare_offsets(&sc);
        int step = s >= 2 ? 1 : 2;
        for (int y = 0; y < sh + 1 - H; y += step) {
            for (int x = 0; x < sw + 1 - W; x += step) {
                int res = eval_window(&sc, (size_t)y * sc.st + (size_t)x);
                if (res > 0) {
                    if (rect_push(&cand, rndf((float)x * s), rndf((float)y * s), ww, wh) != 0)
                        goto oom;
                } else if (res == 0) {
                    x += step;
                }
            }
        }
    }

    *out = cand.v;
    *n_out = cand.n;
    cand.v = NULL;
    rc = 0;
    goto out;
oom:
    mim_errf(err, err_size, "detect: out of memory (image %dx%d)", iw, ih);
out:
    free(cand.v);
    free(scales);
    free(S);
    free(Q);
    free(T);
    free(sc.haar);
    free(sc.lbp);
    mim_image_free(grey);
    mim_image_free(scaled);
    return rc;
}

size_t mim_face_rects_clip(mim_face_rect *r, size_t n, int width, int height)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int x0 = r[i].x > 0 ? r[i].x : 0, y0 = r[i].y > 0 ? r[i].y : 0;
        int x1 = r[i].x + r[i].w < width ? r[i].x + r[i].w : width;
        int y1 = r[i].y + r[i].h < height ? r[i].y + r[i].h : height;
        if (x1 <= x0 || y1 <= y0)
            continue;
        r[m++] = (mim_face_rect){x0, y0, x1 - x0, y1 - y0, r[i].neighbors};
    }
    if (m)
        qsort(r, m, sizeof *r, cmp_rect);
    return m;
}

int mim_cascade_detect(const mim_cascade *c, const mim_image *img, const mim_detect_opts *opts,
                       mim_face_rect **out, size_t *n_out, char *err, size_t err_size)
{
    mim_detect_opts def;
    if (!opts) {
        mim_detect_opts_init(&def);
        opts = &def;
    }
    if (mim_cascade_candidates(c, img, opts, out, n_out, err, err_size) != 0)
        return -1;
    size_t n = mim_face_rects_group(*out, *n_out, opts->min_neighbors);
    n = mim_face_rects_clip(*out, n, img->width, img->height);
    if (n == 0) {
        free(*out);
        *out = NULL;
    }
    *n_out = n;
    return 0;
}
