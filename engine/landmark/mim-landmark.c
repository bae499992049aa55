/* mim-landmark.c: dlib shape predictor reader and inference (see mim-landmark.h, FORMATS.md A). */
#include "mim-landmark.h"
#include "mim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Limits on what a file may declare (the Debian file: 68, 15, 500, depth 4, 500). Counts are also
 * checked against the bytes left before anything is allocated. */
#define MAX_LANDMARKS  1000
#define MAX_LEVELS     100
#define MAX_TREES      10000
#define MAX_DEPTH      10
#define MAX_FEATURES   65535
#define PREFETCH_AHEAD 4 /* trees ahead whose leaves are prefetched */

typedef struct {
    uint16_t idx1, idx2;
    float thresh;
} split_feature;

struct mim_shape_predictor {
    int n_landmarks, n_levels, n_trees, depth, n_splits, n_leaves, n_features;
    float *mean;           /* (2L) */
    split_feature *splits; /* (levels, trees, n_splits) */
    float *leaves;         /* (levels, trees, n_leaves, 2L) */
    uint16_t *anchor;      /* (levels, features) */
    float *deltas;         /* (levels, features, 2) */
    uint64_t n_floats, n_bytes;
};

/* ---------------------------------------------------------------------------------------------
 * Portable serialization (FORMATS.md A.1): a cursor over the file image; every read is bounds
 * checked and the first error is kept.
 */

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    uint64_t n_floats;
    char *err;
    size_t err_size;
    int failed;
} cursor;

static int cur_fail(cursor *c, const char *fmt, ...)
{
    if (!c->failed && c->err && c->err_size) {
        int k = snprintf(c->err, c->err_size, "dlib file, byte %zu: ", c->pos);
        if (k >= 0 && (size_t)k < c->err_size) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + k, c->err_size - k, fmt, ap);
            va_end(ap);
        }
    }
    c->failed = 1;
    return -1;
}

static size_t cur_left(const cursor *c)
{
    return c->n - c->pos;
}

/* Integer: control byte (bit 7 sign, bits 3..0 = n bytes), n magnitude bytes little-endian.
 * max_bytes = sizeof the target type. */
static int read_int(cursor *c, int is_signed, int max_bytes, int64_t *out)
{
    if (c->failed)
        return -1;
    if (cur_left(c) < 1)
        return cur_fail(c, "truncated (integer expected, file ends)");
    uint8_t ctl = c->p[c->pos];
    int n = ctl & 0x0f;
    int neg = (ctl & 0x80) != 0;
    if (ctl & 0x70)
        return cur_fail(c, "bad integer control byte 0x%02x", ctl);
    if (n < 1 || n > 8 || n > max_bytes)
        return cur_fail(c, "bad integer length %d (max %d)", n, max_bytes);
    if (neg && !is_signed)
        return cur_fail(c, "negative value for an unsigned field");
    if (cur_left(c) < (size_t)n + 1)
        return cur_fail(c, "truncated (integer of %d bytes, %zu left)", n, cur_left(c) - 1);
    uint64_t mag = 0;
    for (int i = 0; i < n; i++)
        mag |= (uint64_t)c->p[c->pos + 1 + i] << (8 * i);
    if (is_signed && mag > (uint64_t)INT64_MAX)
        return cur_fail(c, "integer magnitude out of range");
    if (!is_signed && mag > (uint64_t)INT64_MAX)
        return cur_fail(c, "unsigned value out of range");
    c->pos += (size_t)n + 1;
    *out = neg ? -(int64_t)mag : (int64_t)mag;
    return 0;
}

/* Unsigned count whose elements take at least min_elem_bytes each: refused when the bytes left
 * cannot hold them (so hostile counts never reach an allocation). */
static int read_count(cursor *c, const char *what, size_t min_elem_bytes, int64_t *out)
{
    if (read_int(c, 0, 8, out))
        return -1;
    if ((uint64_t)*out > cur_left(c) / min_elem_bytes)
        return cur_fail(c, "%s count %lld does not fit in the %zu bytes left", what,
                        (long long)*out, cur_left(c));
    return 0;
}

/* Float: mantissa (signed 64-bit integer) then exponent (signed 16-bit integer). */
static int read_float(cursor *c, float *out)
{
    int64_t m, e;
    if (!c->failed && cur_left(c) >= 1 && (c->p[c->pos] & 0x70))
        return cur_fail(c, "float in dlib's legacy text form (not supported)");
    if (read_int(c, 1, 8, &m) || read_int(c, 1, 2, &e))
        return -1;
    if (e >= 32000)
        return cur_fail(c, "non-finite float (exponent %lld)", (long long)e);
    double v = ldexp((double)m, (int)e);
    if (!isfinite(v) || fabs(v) > 3.0e38)
        return cur_fail(c, "float out of range (%lld * 2^%lld)", (long long)m, (long long)e);
    float f = (float)v;
    if ((double)f != v && v != 0.0 && fabs(v) >= 1e-30)
        return cur_fail(c, "float %.17g not representable in single precision", v);
    *out = f;
    c->n_floats++;
    return 0;
}

/* matrix<float,0,1>: rows, cols (negated in the new format), then rows*cols floats. */
static int read_column(cursor *c, const char *what, int want_rows, float *dst)
{
    int64_t r, k;
    if (read_int(c, 1, 8, &r) || read_int(c, 1, 8, &k))
        return -1;
    if (r < 0 || k < 0) {
        r = -r;
        k = -k;
    }
    if (r < 0 || k < 0)
        return cur_fail(c, "%s: mixed-sign matrix dimensions", what);
    if (k != 1 || r != want_rows)
        return cur_fail(c, "%s: matrix is %lldx%lld, want %dx1", what, (long long)r, (long long)k,
                        want_rows);
    for (int i = 0; i < want_rows; i++)
        if (read_float(c, &dst[i]))
            return -1;
    return 0;
}

static int expect_count(cursor *c, const char *what, size_t min_elem_bytes, int64_t want)
{
    int64_t n;
    if (read_count(c, what, min_elem_bytes, &n))
        return -1;
    if (n != want)
        return cur_fail(c, "%s count %lld, want %lld (same as the first)", what, (long long)n,
                        (long long)want);
    return 0;
}

void mim_shape_predictor_free(mim_shape_predictor *sp)
{
    if (!sp)
        return;
    free(sp->mean);
    free(sp->splits);
    free(sp->leaves);
    free(sp->anchor);
    free(sp->deltas);
    free(sp);
}

/* Minimal encoded sizes: an integer 2 bytes, a float 4 (2 + 2), a split 8, a leaf column 4 + 4·2L,
 * a tree 2 + 8·splits + 2 + leaves·(4 + 8L). */
static int parse(cursor *c, mim_shape_predictor *sp)
{
    int64_t v;
    if (read_int(c, 1, 8, &v))
        return -1;
    if (v != 1)
        return cur_fail(c, "shape_predictor version %lld, want 1", (long long)v);

    /* initial_shape: matrix<float,0,1> of 2L rows */
    int64_t r, k;
    if (read_int(c, 1, 8, &r) || read_int(c, 1, 8, &k))
        return -1;
    if (r < 0 || k < 0) {
        r = -r;
        k = -k;
    }
    if (k != 1 || r < 2 || r % 2 || r / 2 > MAX_LANDMARKS || r < 0)
        return cur_fail(c, "initial_shape is %lldx%lld, want (2L)x1 with 1 <= L <= %d",
                        (long long)r, (long long)k, MAX_LANDMARKS);
    if ((uint64_t)r > cur_left(c) / 4)
        return cur_fail(c, "initial_shape of %lld floats does not fit in the file", (long long)r);
    int two_l = (int)r;
    sp->n_landmarks = two_l / 2;
    sp->mean = malloc(sizeof(float) * two_l);
    if (!sp->mean)
        return cur_fail(c, "out of memory");
    for (int i = 0; i < two_l; i++)
        if (read_float(c, &sp->mean[i]))
            return -1;

    /* forests: vector<vector<regression_tree>> */
    int64_t n_levels, n_trees, n_splits;
    if (read_count(c, "forests (levels)", 2, &n_levels))
        return -1;
    if (n_levels < 1 || n_levels > MAX_LEVELS)
        return cur_fail(c, "%lld cascade levels (want 1..%d)", (long long)n_levels, MAX_LEVELS);
    sp->n_levels = (int)n_levels;
    for (int lv = 0; lv < sp->n_levels; lv++) {
        if (lv == 0) {
            if (read_count(c, "trees", 4, &n_trees))
                return -1;
            if (n_trees < 1 || n_trees > MAX_TREES)
                return cur_fail(c, "%lld trees per level (want 1..%d)", (long long)n_trees,
                                MAX_TREES);
            sp->n_trees = (int)n_trees;
        } else if (expect_count(c, "trees", 4, sp->n_trees)) {
            return -1;
        }
        for (int t = 0; t < sp->n_trees; t++) {
            if (lv == 0 && t == 0) {
                if (read_count(c, "splits", 8, &n_splits))
                    return -1;
                int d = 0;
                while (d <= MAX_DEPTH && ((int64_t)1 << d) - 1 != n_splits)
                    d++;
                if (d < 1 || d > MAX_DEPTH)
                    return cur_fail(c,
                                    "%lld splits per tree: not a complete tree of depth "
                                    "1..%d",
                                    (long long)n_splits, MAX_DEPTH);
                sp->depth = d;
                sp->n_splits = (int)n_splits;
                sp->n_leaves = (int)n_splits + 1;
                /* everything the declared forests need, at minimal encoding */
                uint64_t tree_min = 2 + 8 * (uint64_t)sp->n_splits + 2 +
                                    (uint64_t)sp->n_leaves * (4 + 4 * (uint64_t)two_l);
                uint64_t n_all = (uint64_t)sp->n_levels * sp->n_trees;
                if (n_all * tree_min > cur_left(c) + 2)
                    return cur_fail(c,
                                    "%d levels x %d trees of depth %d do not fit in the %zu "
                                    "bytes left",
                                    sp->n_levels, sp->n_trees, sp->depth, cur_left(c));
                sp->splits = malloc(sizeof(split_feature) * n_all * sp->n_splits);
                sp->leaves = malloc(sizeof(float) * n_all * sp->n_leaves * two_l);
                if (!sp->splits || !sp->leaves)
                    return cur_fail(c, "out of memory (%llu trees)", (unsigned long long)n_all);
            } else if (expect_count(c, "splits", 8, sp->n_splits)) {
                return -1;
            }
            size_t tree_i = (size_t)lv * sp->n_trees + t;
            split_feature *sf = sp->splits + tree_i * sp->n_splits;
            for (int s = 0; s < sp->n_splits; s++) {
                int64_t i1, i2;
                if (read_int(c, 0, 8, &i1) || read_int(c, 0, 8, &i2) ||
                    read_float(c, &sf[s].thresh))
                    return -1;
                if (i1 > MAX_FEATURES || i2 > MAX_FEATURES)
                    return cur_fail(c, "split pixel index %lld/%lld out of range", (long long)i1,
                                    (long long)i2);
                sf[s].idx1 = (uint16_t)i1;
                sf[s].idx2 = (uint16_t)i2;
            }
            if (expect_count(c, "leaf_values", 4, sp->n_leaves))
                return -1;
            float *lf = sp->leaves + tree_i * sp->n_leaves * two_l;
            for (int l = 0; l < sp->n_leaves; l++)
                if (read_column(c, "leaf value", two_l, lf + (size_t)l * two_l))
                    return -1;
        }
    }

    /* anchor_idx: vector<vector<unsigned long>> */
    if (expect_count(c, "anchor_idx (levels)", 2, sp->n_levels))
        return -1;
    for (int lv = 0; lv < sp->n_levels; lv++) {
        int64_t n_feat;
        if (lv == 0) {
            if (read_count(c, "anchor_idx", 2, &n_feat))
                return -1;
            if (n_feat < 1 || n_feat > MAX_FEATURES)
                return cur_fail(c, "%lld feature pixels per level (want 1..%d)", (long long)n_feat,
                                MAX_FEATURES);
            sp->n_features = (int)n_feat;
            sp->anchor = malloc(sizeof(uint16_t) * sp->n_levels * sp->n_features);
            sp->deltas = malloc(sizeof(float) * 2 * sp->n_levels * sp->n_features);
            if (!sp->anchor || !sp->deltas)
                return cur_fail(c, "out of memory");
        } else if (expect_count(c, "anchor_idx", 2, sp->n_features)) {
            return -1;
        }
        for (int i = 0; i < sp->n_features; i++) {
            if (read_int(c, 0, 8, &v))
                return -1;
            if (v >= sp->n_landmarks)
                return cur_fail(c, "anchor index %lld >= %d landmarks", (long long)v,
                                sp->n_landmarks);
            sp->anchor[(size_t)lv * sp->n_features + i] = (uint16_t)v;
        }
    }

    /* deltas: vector<vector<vector<float,2>>> */
    if (expect_count(c, "deltas (levels)", 2, sp->n_levels))
        return -1;
    for (int lv = 0; lv < sp->n_levels; lv++) {
        if (expect_count(c, "deltas", 8, sp->n_features))
            return -1;
        float *d = sp->deltas + (size_t)2 * lv * sp->n_features;
        for (int i = 0; i < 2 * sp->n_features; i++)
            if (read_float(c, &d[i]))
                return -1;
    }
    if (c->failed)
        return -1;
    if (cur_left(c))
        return cur_fail(c, "%zu unexpected bytes after the model", cur_left(c));

    /* split indices refer to feature pixels */
    size_t n_sf = (size_t)sp->n_levels * sp->n_trees * sp->n_splits;
    for (size_t i = 0; i < n_sf; i++)
        if (sp->splits[i].idx1 >= sp->n_features || sp->splits[i].idx2 >= sp->n_features)
            return cur_fail(c, "split %zu refers to feature pixel %d/%d of %d", i,
                            sp->splits[i].idx1, sp->splits[i].idx2, sp->n_features);
    sp->n_floats = c->n_floats;
    sp->n_bytes = c->pos;
    return 0;
}

int mim_shape_predictor_parse(const void *bytes, size_t n_bytes, mim_shape_predictor **out,
                              char *err, size_t err_size)
{
    *out = NULL;
    if (!bytes && n_bytes)
        return mim_errf(err, err_size, "no bytes");
    mim_shape_predictor *sp = calloc(1, sizeof *sp);
    if (!sp)
        return mim_errf(err, err_size, "out of memory");
    cursor c = {.p = bytes, .n = n_bytes, .err = err, .err_size = err_size};
    if (parse(&c, sp)) {
        mim_shape_predictor_free(sp);
        return -1;
    }
    *out = sp;
    return 0;
}

const char *mim_shape_predictor_default_path(char *buf, size_t buf_size)
{
    const char *dir = getenv(MIM_LANDMARK_DAT_ENV);
    if (!dir || !*dir)
        dir = MIM_LANDMARK_DAT_DIR;
    snprintf(buf, buf_size, "%s/%s", dir, MIM_LANDMARK_DAT_NAME);
    return buf;
}

int mim_shape_predictor_load(const char *path, mim_shape_predictor **out, char *err,
                             size_t err_size)
{
    char def[4096];
    *out = NULL;
    if (!path)
        path = mim_shape_predictor_default_path(def, sizeof def);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return mim_errf(err, err_size,
                            "%s: no such file: the 68-point landmark model comes with Debian's "
                            "libdlib-data package (apt-get install libdlib-data), or set %s to "
                            "the folder holding %s",
                            path, MIM_LANDMARK_DAT_ENV, MIM_LANDMARK_DAT_NAME);
        return mim_errf(err, err_size, "%s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return mim_errf(err, err_size, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    if (n == 0) {
        close(fd);
        return mim_errf(err, err_size, "%s: empty file", path);
    }
    void *map = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return mim_errf(err, err_size, "%s: mmap: %s", path, strerror(errno));
    char msg[512];
    int rc = mim_shape_predictor_parse(map, n, out, msg, sizeof msg);
    munmap(map, n);
    if (rc)
        return mim_errf(err, err_size, "%s: %s", path, msg);
    return 0;
}

void mim_shape_predictor_get_info(const mim_shape_predictor *sp, mim_shape_predictor_info *info)
{
    info->n_landmarks = sp->n_landmarks;
    info->n_levels = sp->n_levels;
    info->n_trees = sp->n_trees;
    info->depth = sp->depth;
    info->n_features = sp->n_features;
    info->n_floats = sp->n_floats;
    info->n_bytes_read = sp->n_bytes;
}

const float *mim_shape_predictor_mean_shape(const mim_shape_predictor *sp)
{
    return sp->mean;
}

void mim_shape_predictor_split(const mim_shape_predictor *sp, int level, int tree, int node,
                               int *idx1, int *idx2, float *thresh)
{
    const split_feature *s =
        sp->splits + ((size_t)level * sp->n_trees + tree) * sp->n_splits + node;
    *idx1 = s->idx1;
    *idx2 = s->idx2;
    *thresh = s->thresh;
}

const float *mim_shape_predictor_leaf(const mim_shape_predictor *sp, int level, int tree, int leaf)
{
    return sp->leaves +
           (((size_t)level * sp->n_trees + tree) * sp->n_leaves + leaf) * 2 * sp->n_landmarks;
}

void mim_shape_predictor_feature(const mim_shape_predictor *sp, int level, int i, int *anchor,
                                 float *dx, float *dy)
{
    size_t k = (size_t)level * sp->n_features + i;
    *anchor = sp->anchor[k];
    *dx = sp->deltas[2 * k];
    *dy = sp->deltas[2 * k + 1];
}

/* ---------------------------------------------------------------------------------------------
 * Inference (FORMATS.md A.3)
 */

/* Linear part of the least-squares similarity from p to q (n points, interleaved), in double. */
static void similarity_2x2(const float *p, const float *q, int n, double m[4])
{
    double mpx = 0, mpy = 0, mqx = 0, mqy = 0;
    for (int i = 0; i < n; i++) {
        mpx += p[2 * i];
        mpy += p[2 * i + 1];
        mqx += q[2 * i];
        mqy += q[2 * i + 1];
    }
    mpx /= n;
    mpy /= n;
    mqx /= n;
    mqy /= n;
    double s = 0, a = 0, b = 0;
    for (int i = 0; i < n; i++) {
        double px = p[2 * i] - mpx, py = p[2 * i + 1] - mpy;
        double qx = q[2 * i] - mqx, qy = q[2 * i + 1] - mqy;
        s += px * px + py * py;
        a += qx * px + qy * py;
        b += qy * px - qx * py;
    }
    s /= n;
    if (s == 0) {
        m[0] = 1, m[1] = 0, m[2] = 0, m[3] = 1;
        return;
    }
    a = a / n / s;
    b = b / n / s;
    m[0] = a, m[1] = -b, m[2] = b, m[3] = a;
}

/* mirror: x is a coordinate of the horizontally mirrored image (column c there is column
 * width - 1 - c of img) */
static inline int sample(const mim_image *img, double x, double y, int mirror)
{
    double fx = floor(x + 0.5), fy = floor(y + 0.5);
    if (!(fx >= 0 && fy >= 0 && fx < img->width && fy < img->height))
        return 0;
    if (mirror)
        fx = img->width - 1 - fx;
    const uint8_t *p =
        (const uint8_t *)img->data + (size_t)fy * img->stride + (size_t)fx * img->channels;
    if (img->channels == 3)
        return (p[0] + p[1] + p[2]) / 3;
    return p[0];
}

/* The products and sums of A.3 step 3.2 are single precision, rounded one by one: no fused
 * multiply-add (GCC's default fp-contract=fast would fuse on targets that have FMA). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void
predict_norm(const mim_shape_predictor *sp, const mim_image *img, const mim_face_box *box,
             int mirror, float *cur, float *feat, const float **leaf_at)
{
    const int two_l = 2 * sp->n_landmarks;
    const double l = box->left, t = box->top;
    const double sx = box->right - box->left, sy = box->bottom - box->top;
    memcpy(cur, sp->mean, sizeof(float) * two_l);
    for (int lv = 0; lv < sp->n_levels; lv++) {
        double md[4];
        similarity_2x2(sp->mean, cur, sp->n_landmarks, md);
        const float m00 = (float)md[0], m01 = (float)md[1], m10 = (float)md[2], m11 = (float)md[3];
        const uint16_t *anc = sp->anchor + (size_t)lv * sp->n_features;
        const float *dl = sp->deltas + (size_t)2 * lv * sp->n_features;
        for (int i = 0; i < sp->n_features; i++) {
            float dx = dl[2 * i], dy = dl[2 * i + 1];
            float a = m00 * dx, b = m01 * dy, c = m10 * dx, d = m11 * dy;
            float u = a + b, v = c + d;
            u += cur[2 * anc[i]];
            v += cur[2 * anc[i] + 1];
            feat[i] = (float)sample(img, l + u * sx, t + v * sy, mirror);
        }
        const split_feature *sf = sp->splits + (size_t)lv * sp->n_trees * sp->n_splits;
        const float *lf = sp->leaves + (size_t)lv * sp->n_trees * sp->n_leaves * two_l;
        /* the features are fixed for the level: walk every tree first, then add the leaves in
         * tree order (the same float sums as tree by tree) while prefetching the next ones */
        for (int tr = 0; tr < sp->n_trees; tr++) {
            const split_feature *s = sf + (size_t)tr * sp->n_splits;
            int n = 0;
            while (n < sp->n_splits)
                n = (feat[s[n].idx1] - feat[s[n].idx2] > s[n].thresh) ? 2 * n + 1 : 2 * n + 2;
            leaf_at[tr] = lf + ((size_t)tr * sp->n_leaves + (n - sp->n_splits)) * two_l;
        }
        for (int tr = 0; tr < sp->n_trees; tr++) {
#if defined(__GNUC__)
            if (tr + PREFETCH_AHEAD < sp->n_trees) {
                const char *nx = (const char *)leaf_at[tr + PREFETCH_AHEAD];
                for (size_t b = 0; b < sizeof(float) * (size_t)two_l; b += 64)
                    __builtin_prefetch(nx + b);
            }
#endif
            const float *leaf = leaf_at[tr];
            for (int k = 0; k < two_l; k++)
                cur[k] += leaf[k];
        }
    }
}

/* Runs the cascade in box (mirror: box is in the mirrored image's coordinates); cur (2L)
 * receives the normalised shape. */
static void predict_cur(const mim_shape_predictor *sp, const mim_image *img,
                        const mim_face_box *box, int mirror, float *cur_out)
{
    float cur_stack[2 * MIM_LANDMARK_N68], feat_stack[512];
    const float *leaf_stack[512];
    float *cur = cur_stack, *feat = feat_stack;
    const float **leaf_at = leaf_stack;
    void *heap = NULL;
    const int two_l = 2 * sp->n_landmarks;
    if (two_l > 2 * MIM_LANDMARK_N68 || sp->n_features > 512 || sp->n_trees > 512) {
        /* models other than the Debian one: scratch on the heap */
        heap = malloc(sizeof(float *) * sp->n_trees + sizeof(float) * (two_l + sp->n_features));
        if (!heap)
            abort();
        leaf_at = heap;
        cur = (float *)(leaf_at + sp->n_trees);
        feat = cur + two_l;
    }
    predict_norm(sp, img, box, mirror, cur, feat, leaf_at);
    memcpy(cur_out, cur, sizeof(float) * two_l);
    free(heap);
}

/* floor(v + 0.5) as dlib rounds, saturated: a hostile model's leaves can send a point past the
 * int32 range (found by tests/fuzz/fuzz-dlib-dat: 4.4e13), and a NaN gives 0. */
static int32_t round_i32(double v)
{
    v = floor(v + 0.5);
    if (!(v == v))
        return 0;
    return v <= INT32_MIN ? INT32_MIN : v >= INT32_MAX ? INT32_MAX : (int32_t)v;
}

void mim_shape_predictor_predict(const mim_shape_predictor *sp, const mim_image *img,
                                 const mim_face_box *box, float *xy, int32_t *xy_dlib,
                                 float *confidence)
{
    float cur_stack[2 * MIM_LANDMARK_N68];
    float *cur = cur_stack, *heap = NULL;
    if (sp->n_landmarks > MIM_LANDMARK_N68) {
        heap = malloc(sizeof(float) * 2 * sp->n_landmarks);
        if (!heap)
            abort();
        cur = heap;
    }
    predict_cur(sp, img, box, 0, cur);
    const double sx = box->right - box->left, sy = box->bottom - box->top;
    for (int k = 0; k < sp->n_landmarks; k++) {
        double x = box->left + cur[2 * k] * sx, y = box->top + cur[2 * k + 1] * sy;
        xy[2 * k] = (float)x;
        xy[2 * k + 1] = (float)y;
        if (xy_dlib) {
            xy_dlib[2 * k] = round_i32(x);
            xy_dlib[2 * k + 1] = round_i32(y);
        }
    }
    if (confidence)
        *confidence = mim_landmark_confidence(sp, xy);
    free(heap);
}

/* iBUG 300-W 68-point scheme: the point a horizontal flip turns point k into (jaw 0..16
 * reversed; brows 17..21 <-> 26..22; nose bridge 27..30 and points 33, 51, 57, 62, 66 on the
 * symmetry axis; eyes 36..41 <-> 45, 44, 43, 42, 47, 46; lips likewise). */
static const uint8_t mirror_68[MIM_LANDMARK_N68] = {
    16, 15, 14, 13, 12, 11, 10, 9,  8,  7,  6,  5,  4,  3,  2,  1,  0,  26, 25, 24, 23, 22, 21,
    20, 19, 18, 17, 27, 28, 29, 30, 35, 34, 33, 32, 31, 45, 44, 43, 42, 47, 46, 39, 38, 37, 36,
    41, 40, 54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65};

int mim_shape_predictor_predict_mirrored(const mim_shape_predictor *sp, const mim_image *img,
                                         const mim_face_box *box, float *xy)
{
    if (sp->n_landmarks != MIM_LANDMARK_N68)
        return -1;
    /* the box in the mirrored image: column c there is column W - 1 - c here */
    const double w1 = img->width - 1;
    const mim_face_box mb = {w1 - box->right, box->top, w1 - box->left, box->bottom};
    float cur[2 * MIM_LANDMARK_N68];
    predict_cur(sp, img, &mb, 1, cur);
    const double sx = mb.right - mb.left, sy = mb.bottom - mb.top;
    for (int k = 0; k < MIM_LANDMARK_N68; k++) {
        int j = mirror_68[k];
        xy[2 * k] = (float)(w1 - (mb.left + cur[2 * j] * sx));
        xy[2 * k + 1] = (float)(mb.top + cur[2 * j + 1] * sy);
    }
    return 0;
}

/* inter-ocular distance: the eye centres (mean of 36..41 and of 42..47) */
static double iod_68(const float *xy)
{
    double ex[2] = {0, 0}, ey[2] = {0, 0};
    for (int k = 36; k < 48; k++) {
        ex[k >= 42] += xy[2 * k] / 6;
        ey[k >= 42] += xy[2 * k + 1] / 6;
    }
    return hypot(ex[1] - ex[0], ey[1] - ey[0]);
}

float mim_landmark_mirror_error(const mim_shape_predictor *sp, const mim_image *img,
                                const mim_face_box *box, const float *xy)
{
    float m[2 * MIM_LANDMARK_N68];
    if (mim_shape_predictor_predict_mirrored(sp, img, box, m))
        return INFINITY;
    double iod = iod_68(xy), sum = 0;
    if (!(iod > 0))
        return INFINITY;
    for (int k = 0; k < MIM_LANDMARK_N68; k++)
        sum += hypot(xy[2 * k] - m[2 * k], xy[2 * k + 1] - m[2 * k + 1]);
    return (float)(sum / MIM_LANDMARK_N68 / iod);
}

/* Full least-squares similarity p -> q: q ≈ [[a,-b],[b,a]] p + (tx,ty). */
static void similarity_full(const float *p, const float *q, int n, double *a, double *b, double *tx,
                            double *ty)
{
    double mpx = 0, mpy = 0, mqx = 0, mqy = 0;
    for (int i = 0; i < n; i++) {
        mpx += p[2 * i];
        mpy += p[2 * i + 1];
        mqx += q[2 * i];
        mqy += q[2 * i + 1];
    }
    mpx /= n, mpy /= n, mqx /= n, mqy /= n;
    double s = 0, sa = 0, sb = 0;
    for (int i = 0; i < n; i++) {
        double px = p[2 * i] - mpx, py = p[2 * i + 1] - mpy;
        double qx = q[2 * i] - mqx, qy = q[2 * i + 1] - mqy;
        s += px * px + py * py;
        sa += qx * px + qy * py;
        sb += qy * px - qx * py;
    }
    *a = s > 0 ? sa / s : 1;
    *b = s > 0 ? sb / s : 0;
    *tx = mqx - (*a * mpx - *b * mpy);
    *ty = mqy - (*b * mpx + *a * mpy);
}

float mim_landmark_confidence(const mim_shape_predictor *sp, const float *xy)
{
    if (sp->n_landmarks != MIM_LANDMARK_N68)
        return 0;
    /* fit the mean shape to the result, measure the residual in inter-ocular units */
    double a, b, tx, ty;
    similarity_full(sp->mean, xy, MIM_LANDMARK_N68, &a, &b, &tx, &ty);
    double iod = iod_68(xy);
    double ss = 0;
    for (int k = 0; k < MIM_LANDMARK_N68; k++) {
        double px = sp->mean[2 * k], py = sp->mean[2 * k + 1];
        double fx = a * px - b * py + tx, fy = b * px + a * py + ty;
        double dx = fx - xy[2 * k], dy = fy - xy[2 * k + 1];
        ss += dx * dx + dy * dy;
    }
    if (!(iod > 0))
        return 0;
    double r = sqrt(ss / MIM_LANDMARK_N68) / iod;
    double q = r / 0.25;
    return (float)exp(-q * q);
}

void mim_landmark_box_from_shape(const mim_shape_predictor *sp, const float *xy, mim_face_box *box)
{
    double a, b, tx, ty;
    similarity_full(sp->mean, xy, sp->n_landmarks, &a, &b, &tx, &ty);
    double scale = hypot(a, b);
    /* centre of the unit box (0.5, 0.5) under the similarity; side = scale (dlib: right-left) */
    double cx = a * 0.5 - b * 0.5 + tx, cy = b * 0.5 + a * 0.5 + ty;
    box->left = cx - 0.5 * scale;
    box->right = cx + 0.5 * scale;
    box->top = cy - 0.5 * scale;
    box->bottom = cy + 0.5 * scale;
}

mim_face_box mim_face_box_from_cascade(double x, double y, double w, double h)
{
    double l = x + 0.066 * w, t = y + 0.146 * h, side = 0.876 * w;
    (void)h;
    return (mim_face_box){l, t, l + side - 1, t + side - 1};
}

mim_face_box mim_face_box_from_xywh(double x, double y, double w, double h)
{
    return (mim_face_box){x, y, x + w - 1, y + h - 1};
}
