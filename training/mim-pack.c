/* mim-pack.c: packs (mim-pack.h). */
#define _GNU_SOURCE
#include "mim-pack.h"

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

#include "aunet/mim-aunet-image.h"
#include "mim-sample.h"
#include "mim.h"

#define AU_LIST_OFF  40
#define AU_LIST_SIZE 88
#define DESC_OFF     128
#define DESC_SIZE    128
#define LAND_FLOATS  (2 * MIM_PACK_N_LAND)

struct mim_pack {
    uint8_t *map;
    size_t map_bytes;
    size_t record_bytes;
    long n;
    int n_au;
    int aus[MIM_PACK_MAX_AU];
    char au_list[AU_LIST_SIZE];
    char description[DESC_SIZE];
    long n_labelled;
};

static void set_err(char *err, size_t err_size, const char *fmt, ...)
{
    if (!err || !err_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    mim_utf8_make_valid(err); /* messages quote the header's AU list, whatever its bytes */
}

static size_t record_bytes(int n_au)
{
    size_t b = 8 + 4 * (size_t)(LAND_FLOATS + n_au) + MIM_PACK_IMAGE_BYTES;
    return (b + 7) & ~(size_t)7;
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
    wr32(p, (uint32_t)v);
    wr32(p + 4, (uint32_t)(v >> 32));
}

static int label_ok(float v)
{
    return v == 0.0f || v == 1.0f || v == MIM_AU_MISSING;
}

static int land_ok(float v)
{
    return isfinite(v) && fabsf(v) <= 4.0f * MIM_PACK_SIDE;
}

int mim_pack_parse_au_list(const char *list, int *aus, int max, char *err, size_t err_size)
{
    int n = 0;
    const char *s = list;
    if (!s || !*s) {
        set_err(err, err_size, "empty AU list");
        return -1;
    }
    while (*s) {
        while (*s == ' ')
            s++;
        if (s[0] == 'A' && s[1] == 'U')
            s += 2;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 1 || v > 99) {
            set_err(err, err_size, "bad AU list \"%s\": expected numbers 1..99 separated by commas",
                    list);
            return -1;
        }
        for (int k = 0; k < n; k++)
            if (aus[k] == (int)v) {
                set_err(err, err_size, "AU %ld appears twice in \"%s\"", v, list);
                return -1;
            }
        if (n == max) {
            set_err(err, err_size, "more than %d AUs in \"%s\"", max, list);
            return -1;
        }
        aus[n++] = (int)v;
        s = end;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
        else if (*s) {
            set_err(err, err_size, "bad AU list \"%s\" at \"%s\"", list, s);
            return -1;
        }
    }
    return n;
}

/* ---- reading ----------------------------------------------------------------------------- */

static const uint8_t *rec(const mim_pack *p, long i)
{
    return p->map + MIM_PACK_HEADER_BYTES + (size_t)i * p->record_bytes;
}

mim_pack *mim_pack_open(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        set_err(err, err_size, "%s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (st.st_size < MIM_PACK_HEADER_BYTES) {
        set_err(err, err_size, "%s: not a pack (%lld bytes, shorter than the header)", path,
                (long long)st.st_size);
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        set_err(err, err_size, "%s: mmap: %s", path, strerror(errno));
        return NULL;
    }
    mim_pack *p = calloc(1, sizeof *p);
    if (!p) {
        munmap(m, (size_t)st.st_size);
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    p->map = m;
    p->map_bytes = (size_t)st.st_size;
    const uint8_t *h = p->map;
    if (memcmp(h, MIM_PACK_MAGIC, 8) != 0) {
        set_err(err, err_size, "%s: not a pack (bad magic)", path);
        goto fail;
    }
    uint32_t version = rd32(h + 8), hb = rd32(h + 12), rb = rd32(h + 16), n_au = rd32(h + 20);
    uint32_t n_land = rd32(h + 24), side = rd32(h + 28);
    uint64_t n = rd64(h + 32);
    if (version != MIM_PACK_VERSION) {
        set_err(err, err_size, "%s: pack version %u, this program reads version %d", path, version,
                MIM_PACK_VERSION);
        goto fail;
    }
    if (hb != MIM_PACK_HEADER_BYTES || n_au < 1 || n_au > MIM_PACK_MAX_AU ||
        n_land != MIM_PACK_N_LAND || side != MIM_PACK_SIDE || rb != record_bytes((int)n_au)) {
        set_err(err, err_size,
                "%s: bad pack header (header %u bytes, record %u bytes, %u AUs, %u landmarks, "
                "side %u)",
                path, hb, rb, n_au, n_land, side);
        goto fail;
    }
    p->n_au = (int)n_au;
    p->record_bytes = rb;
    size_t body = p->map_bytes - MIM_PACK_HEADER_BYTES;
    if (n > body / rb || body != (size_t)n * rb) {
        set_err(err, err_size,
                "%s: truncated or damaged pack: the header promises %llu records of %u bytes, the "
                "file holds %zu bytes after the header",
                path, (unsigned long long)n, rb, body);
        goto fail;
    }
    p->n = (long)n;
    if (!memchr(h + AU_LIST_OFF, 0, AU_LIST_SIZE) || !memchr(h + DESC_OFF, 0, DESC_SIZE)) {
        set_err(err, err_size, "%s: bad pack header (unterminated strings)", path);
        goto fail;
    }
    memcpy(p->au_list, h + AU_LIST_OFF, AU_LIST_SIZE);
    memcpy(p->description, h + DESC_OFF, DESC_SIZE);
    char e2[160];
    int got = mim_pack_parse_au_list(p->au_list, p->aus, MIM_PACK_MAX_AU, e2, sizeof e2);
    if (got != p->n_au) {
        set_err(err, err_size, "%s: the AU list \"%s\" does not name %d AUs%s%s", path, p->au_list,
                p->n_au, got < 0 ? ": " : "", got < 0 ? e2 : "");
        goto fail;
    }
    for (long i = 0; i < p->n; i++) {
        const float *xy = mim_pack_landmarks(p, i), *lab = mim_pack_labels(p, i);
        for (int k = 0; k < LAND_FLOATS; k++)
            if (!land_ok(xy[k])) {
                set_err(err, err_size, "%s: record %ld: landmark value %g out of range", path, i,
                        (double)xy[k]);
                goto fail;
            }
        int labelled = 0;
        for (int k = 0; k < p->n_au; k++) {
            if (!label_ok(lab[k])) {
                set_err(err, err_size, "%s: record %ld: AU label %g is not 0, 1 or 999", path, i,
                        (double)lab[k]);
                goto fail;
            }
            labelled |= lab[k] != MIM_AU_MISSING;
        }
        p->n_labelled += labelled;
    }
    return p;
fail:
    mim_pack_close(p);
    return NULL;
}

void mim_pack_close(mim_pack *p)
{
    if (!p)
        return;
    if (p->map)
        munmap(p->map, p->map_bytes);
    free(p);
}

long mim_pack_n(const mim_pack *p)
{
    return p->n;
}

int mim_pack_n_au(const mim_pack *p)
{
    return p->n_au;
}

const char *mim_pack_au_list(const mim_pack *p)
{
    return p->au_list;
}

const char *mim_pack_description(const mim_pack *p)
{
    return p->description;
}

int mim_pack_au(const mim_pack *p, int c)
{
    return p->aus[c];
}

long mim_pack_n_labelled(const mim_pack *p)
{
    return p->n_labelled;
}

uint32_t mim_pack_subject(const mim_pack *p, long i)
{
    return rd32(rec(p, i));
}

uint32_t mim_pack_source(const mim_pack *p, long i)
{
    return rd32(rec(p, i) + 4);
}

const float *mim_pack_landmarks(const mim_pack *p, long i)
{
    return (const float *)(const void *)(rec(p, i) + 8);
}

const float *mim_pack_labels(const mim_pack *p, long i)
{
    return (const float *)(const void *)(rec(p, i) + 8 + 4 * LAND_FLOATS);
}

const uint8_t *mim_pack_image(const mim_pack *p, long i)
{
    return rec(p, i) + 8 + 4 * (size_t)(LAND_FLOATS + p->n_au);
}

void mim_pack_au_map(const mim_pack *p, const int *aus, int n_aus, int *map)
{
    for (int k = 0; k < n_aus; k++) {
        map[k] = -1;
        for (int c = 0; c < p->n_au; c++)
            if (p->aus[c] == aus[k])
                map[k] = c;
    }
}

static void sample(const mim_pack *p, long i, const mim_sample_aug *aug, const int *map, int n_aus,
                   float *x, int32_t *land, float *labels)
{
    if (x)
        mim_aunet_image_to_input(mim_pack_image(p, i), 3 * MIM_PACK_SIDE, aug->offset_x,
                                 aug->offset_y, aug->flip, x);
    if (land)
        mim_sample_landmark_labels(mim_pack_landmarks(p, i), aug, land);
    if (labels) {
        const float *lab = mim_pack_labels(p, i);
        for (int k = 0; k < n_aus; k++)
            labels[k] = map[k] >= 0 ? lab[map[k]] : MIM_AU_MISSING;
    }
}

void mim_pack_train_sample(const mim_pack *p, long i, mim_rng *rng, const int *map, int n_aus,
                           float *x, int32_t *land, float *labels)
{
    mim_sample_aug aug;
    mim_sample_aug_draw(rng, &aug);
    sample(p, i, &aug, map, n_aus, x, land, labels);
}

void mim_pack_test_sample(const mim_pack *p, long i, const int *map, int n_aus, float *x,
                          int32_t *land, float *labels)
{
    mim_sample_aug aug = {(MIM_PACK_SIDE - MIM_SAMPLE_CROP) / 2,
                          (MIM_PACK_SIDE - MIM_SAMPLE_CROP) / 2, 0};
    sample(p, i, &aug, map, n_aus, x, land, labels);
}

void mim_pack_shuffle(long *order, long n, mim_rng *rng)
{
    for (long i = 0; i < n; i++)
        order[i] = i;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)mim_rng_below(rng, (uint64_t)i + 1);
        long t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* ---- writing ----------------------------------------------------------------------------- */

struct mim_pack_writer {
    FILE *f;
    char *path, *tmp;
    uint8_t header[MIM_PACK_HEADER_BYTES];
    uint8_t *buf; /* one record */
    int n_au;
    long n;
};

mim_pack_writer *mim_pack_writer_new(const char *path, const char *au_list, const char *description,
                                     char *err, size_t err_size)
{
    int aus[MIM_PACK_MAX_AU];
    int n_au = mim_pack_parse_au_list(au_list, aus, MIM_PACK_MAX_AU, err, err_size);
    if (n_au < 0)
        return NULL;
    if (strlen(au_list) >= AU_LIST_SIZE) {
        set_err(err, err_size, "AU list \"%s\" too long for a pack header", au_list);
        return NULL;
    }
    mim_pack_writer *w = calloc(1, sizeof *w);
    size_t tmp_len = strlen(path) + 32;
    if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(tmp_len)) ||
        !(w->buf = calloc(1, record_bytes(n_au)))) {
        set_err(err, err_size, "out of memory");
        goto fail;
    }
    snprintf(w->tmp, tmp_len, "%s.tmp-%ld", path, (long)getpid());
    w->f = fopen(w->tmp, "wb");
    if (!w->f) {
        set_err(err, err_size, "%s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    w->n_au = n_au;
    uint8_t *h = w->header;
    memcpy(h, MIM_PACK_MAGIC, 8);
    wr32(h + 8, MIM_PACK_VERSION);
    wr32(h + 12, MIM_PACK_HEADER_BYTES);
    wr32(h + 16, (uint32_t)record_bytes(n_au));
    wr32(h + 20, (uint32_t)n_au);
    wr32(h + 24, MIM_PACK_N_LAND);
    wr32(h + 28, MIM_PACK_SIDE);
    /* the AU list as parsed, normalised ("1,2,4") */
    char norm[AU_LIST_SIZE] = "";
    for (int k = 0; k < n_au; k++) {
        size_t len = strlen(norm);
        snprintf(norm + len, sizeof norm - len, "%s%d", k ? "," : "", aus[k]);
    }
    memcpy(h + AU_LIST_OFF, norm, strlen(norm) + 1);
    if (description)
        snprintf((char *)h + DESC_OFF, DESC_SIZE, "%s", description);
    if (fwrite(h, 1, MIM_PACK_HEADER_BYTES, w->f) != MIM_PACK_HEADER_BYTES) {
        set_err(err, err_size, "%s: %s", w->tmp, strerror(errno));
        goto fail;
    }
    return w;
fail:
    mim_pack_writer_abort(w);
    return NULL;
}

int mim_pack_writer_add(mim_pack_writer *w, const uint8_t *rgb, const float *xy,
                        const float *labels, uint32_t subject, uint32_t source, char *err,
                        size_t err_size)
{
    for (int k = 0; k < LAND_FLOATS; k++)
        if (!land_ok(xy[k])) {
            set_err(err, err_size, "record %ld: landmark value %g out of range", w->n,
                    (double)xy[k]);
            return -1;
        }
    for (int k = 0; labels && k < w->n_au; k++)
        if (!label_ok(labels[k])) {
            set_err(err, err_size, "record %ld: AU label %g is not 0, 1 or 999", w->n,
                    (double)labels[k]);
            return -1;
        }
    uint8_t *b = w->buf;
    wr32(b, subject);
    wr32(b + 4, source);
    memcpy(b + 8, xy, 4 * LAND_FLOATS);
    float *lab = (float *)(void *)(b + 8 + 4 * LAND_FLOATS);
    for (int k = 0; k < w->n_au; k++)
        lab[k] = labels ? labels[k] : MIM_AU_MISSING;
    memcpy(b + 8 + 4 * (LAND_FLOATS + w->n_au), rgb, MIM_PACK_IMAGE_BYTES);
    size_t rb = record_bytes(w->n_au);
    if (fwrite(b, 1, rb, w->f) != rb) {
        set_err(err, err_size, "%s: %s", w->tmp, strerror(errno));
        return -1;
    }
    w->n++;
    return 0;
}

long mim_pack_writer_n(const mim_pack_writer *w)
{
    return w->n;
}

int mim_pack_writer_finish(mim_pack_writer *w, char *err, size_t err_size)
{
    wr64(w->header + 32, (uint64_t)w->n);
    int ok = fseek(w->f, 0, SEEK_SET) == 0 &&
             fwrite(w->header, 1, MIM_PACK_HEADER_BYTES, w->f) == MIM_PACK_HEADER_BYTES &&
             fflush(w->f) == 0 && fsync(fileno(w->f)) == 0;
    ok = (fclose(w->f) == 0) && ok;
    w->f = NULL;
    if (!ok || rename(w->tmp, w->path) != 0) {
        set_err(err, err_size, "%s: %s", ok ? w->path : w->tmp, strerror(errno));
        mim_pack_writer_abort(w);
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL;
    mim_pack_writer_abort(w);
    return 0;
}

void mim_pack_writer_abort(mim_pack_writer *w)
{
    if (!w)
        return;
    if (w->f)
        fclose(w->f);
    if (w->tmp)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w->buf);
    free(w);
}
