/* mim-safetensors.c: safetensors reader and atomic writer (see mim-safetensors.h). */
#include "mim-safetensors.h"
#include "mim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mim-json.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[MIM_ST_N_DTYPES] = {
    [MIM_ST_BOOL] = {"BOOL", 1}, [MIM_ST_U8] = {"U8", 1},   [MIM_ST_I8] = {"I8", 1},
    [MIM_ST_I16] = {"I16", 2},   [MIM_ST_U16] = {"U16", 2}, [MIM_ST_F16] = {"F16", 2},
    [MIM_ST_BF16] = {"BF16", 2}, [MIM_ST_I32] = {"I32", 4}, [MIM_ST_U32] = {"U32", 4},
    [MIM_ST_F32] = {"F32", 4},   [MIM_ST_F64] = {"F64", 8}, [MIM_ST_I64] = {"I64", 8},
    [MIM_ST_U64] = {"U64", 8},
};

const char *mim_st_dtype_name(mim_st_dtype dt)
{
    return (unsigned)dt < MIM_ST_N_DTYPES ? dtypes[dt].name : "?";
}

size_t mim_st_dtype_size(mim_st_dtype dt)
{
    return (unsigned)dt < MIM_ST_N_DTYPES ? dtypes[dt].size : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Reading
 */

struct mim_st_file {
    unsigned char *bytes; /* the whole file */
    size_t n_bytes;
    mim_json_doc *doc;
    mim_st_tensor *tensors; /* sorted by data offset */
    size_t n_tensors;
    const char **meta_keys, **meta_values;
    size_t n_meta;
};

typedef struct {
    mim_st_tensor t;
    uint64_t begin, end;
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

static int parse_tensor(const mim_json *v, entry *e, char *err, size_t err_size)
{
    const char *name = v->key;
    if (v->type != MIM_JSON_OBJECT)
        return mim_errf(err, err_size, "safetensors: entry \"%.80s\" is not an object", name);
    for (const mim_json *m = v->child; m; m = m->next)
        if (strcmp(m->key, "dtype") && strcmp(m->key, "shape") && strcmp(m->key, "data_offsets"))
            return mim_errf(err, err_size,
                            "safetensors: tensor \"%.80s\" has unknown field \"%.40s\"", name,
                            m->key);
    const mim_json *dt = mim_json_get(v, "dtype");
    const mim_json *shape = mim_json_get(v, "shape");
    const mim_json *off = mim_json_get(v, "data_offsets");
    if (!dt || !shape || !off)
        return mim_errf(err, err_size,
                        "safetensors: tensor \"%.80s\" lacks dtype, shape or data_offsets", name);
    if (dt->type != MIM_JSON_STRING)
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\": dtype is not a string",
                        name);
    int found = -1;
    for (int i = 0; i < MIM_ST_N_DTYPES; i++)
        if (!strcmp(dt->str, dtypes[i].name))
            found = i;
    if (found < 0)
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\": unknown dtype \"%.20s\"",
                        name, dt->str);
    e->t.dtype = (mim_st_dtype)found;
    if (shape->type != MIM_JSON_ARRAY)
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\": shape is not an array",
                        name);
    if (shape->n_children > MIM_ST_MAX_DIM)
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\": %zu dimensions (at most %d)",
                        name, shape->n_children, MIM_ST_MAX_DIM);
    uint64_t n_el = 1;
    int n_dim = 0;
    int overflow = 0;
    for (const mim_json *d = shape->child; d; d = d->next) {
        uint64_t x;
        if (mim_json_u64(d, &x) || x > (uint64_t)INT64_MAX)
            return mim_errf(err, err_size,
                            "safetensors: tensor \"%.80s\": shape entries must be non-negative "
                            "integers",
                            name);
        e->t.shape[n_dim++] = (int64_t)x;
        if (x && n_el > UINT64_MAX / x)
            overflow = 1;
        n_el *= x;
    }
    uint64_t esz = dtypes[found].size;
    if (overflow || (n_el && n_el > UINT64_MAX / esz))
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\": shape too large", name);
    e->t.n_dim = n_dim;
    e->t.n_elements = n_el;
    e->t.n_bytes = n_el * esz;
    if (off->type != MIM_JSON_ARRAY || off->n_children != 2 ||
        mim_json_u64(off->child, &e->begin) || mim_json_u64(off->child->next, &e->end))
        return mim_errf(err, err_size,
                        "safetensors: tensor \"%.80s\": data_offsets must be two non-negative "
                        "integers",
                        name);
    if (e->end < e->begin)
        return mim_errf(err, err_size,
                        "safetensors: tensor \"%.80s\": data_offsets [%llu, %llu] end before they "
                        "begin",
                        name, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end - e->begin != e->t.n_bytes)
        return mim_errf(err, err_size,
                        "safetensors: tensor \"%.80s\": data_offsets [%llu, %llu] span %llu bytes, "
                        "but %s of this shape needs %llu",
                        name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)(e->end - e->begin), dtypes[found].name,
                        (unsigned long long)e->t.n_bytes);
    e->t.name = name;
    return 0;
}

static int parse_image(mim_st_file *f, char *err, size_t err_size)
{
    if (f->n_bytes < 8)
        return mim_errf(err, err_size,
                        "safetensors: file of %zu bytes is too short for the 8-byte header length",
                        f->n_bytes);
    uint64_t n_header = 0;
    for (int i = 7; i >= 0; i--)
        n_header = (n_header << 8) | f->bytes[i];
    if (n_header > MIM_ST_MAX_HEADER)
        return mim_errf(err, err_size, "safetensors: header length %llu exceeds the limit of %llu",
                        (unsigned long long)n_header, (unsigned long long)MIM_ST_MAX_HEADER);
    if (n_header > f->n_bytes - 8)
        return mim_errf(err, err_size,
                        "safetensors: truncated file: the header needs %llu bytes but only %zu "
                        "follow",
                        (unsigned long long)n_header, f->n_bytes - 8);
    if (n_header < 2 || f->bytes[8] != '{')
        return mim_errf(err, err_size, "safetensors: the header is not a JSON object");
    char jerr[200];
    if (mim_json_parse((const char *)f->bytes + 8, (size_t)n_header, &f->doc, jerr, sizeof jerr))
        return mim_errf(err, err_size, "safetensors: header: %s", jerr);
    const mim_json *root = mim_json_root(f->doc);
    if (root->type != MIM_JSON_OBJECT)
        return mim_errf(err, err_size, "safetensors: the header is not a JSON object");

    const unsigned char *buffer = f->bytes + 8 + n_header;
    uint64_t n_buffer = f->n_bytes - 8 - n_header;
    entry *es = calloc(root->n_children ? root->n_children : 1, sizeof *es);
    if (!es)
        return mim_errf(err, err_size, "safetensors: out of memory");
    size_t n = 0;
    int rc = 0;
    for (const mim_json *v = root->child; v && !rc; v = v->next) {
        if (strlen(v->key) != v->key_len) {
            rc = mim_errf(err, err_size, "safetensors: a name contains a NUL character");
            break;
        }
        if (!strcmp(v->key, "__metadata__")) {
            if (v->type != MIM_JSON_OBJECT) {
                rc = mim_errf(err, err_size, "safetensors: __metadata__ is not an object");
                break;
            }
            f->meta_keys = calloc(v->n_children + 1, sizeof *f->meta_keys);
            f->meta_values = calloc(v->n_children + 1, sizeof *f->meta_values);
            if (!f->meta_keys || !f->meta_values) {
                rc = mim_errf(err, err_size, "safetensors: out of memory");
                break;
            }
            for (const mim_json *m = v->child; m; m = m->next) {
                if (m->type != MIM_JSON_STRING) {
                    rc = mim_errf(err, err_size,
                                  "safetensors: __metadata__ value of \"%.60s\" is not a string",
                                  m->key);
                    break;
                }
                if (strlen(m->key) != m->key_len || strlen(m->str) != m->str_len) {
                    rc = mim_errf(err, err_size,
                                  "safetensors: __metadata__ entry contains a NUL character");
                    break;
                }
                f->meta_keys[f->n_meta] = m->key;
                f->meta_values[f->n_meta++] = m->str;
            }
            continue;
        }
        rc = parse_tensor(v, &es[n], err, err_size);
        if (!rc)
            n++;
    }
    if (!rc) {
        qsort(es, n, sizeof *es, entry_cmp);
        uint64_t pos = 0;
        for (size_t i = 0; i < n && !rc; i++) {
            if (es[i].begin != pos) {
                if (es[i].begin < pos)
                    rc = mim_errf(err, err_size,
                                  "safetensors: tensor \"%.80s\" at [%llu, %llu) overlaps the "
                                  "previous one ending at %llu",
                                  es[i].t.name, (unsigned long long)es[i].begin,
                                  (unsigned long long)es[i].end, (unsigned long long)pos);
                else
                    rc = mim_errf(err, err_size,
                                  "safetensors: hole in the byte buffer: [%llu, %llu) before "
                                  "tensor \"%.80s\" belongs to no tensor",
                                  (unsigned long long)pos, (unsigned long long)es[i].begin,
                                  es[i].t.name);
                break;
            }
            if (es[i].end > n_buffer) {
                rc = mim_errf(err, err_size,
                              "safetensors: tensor \"%.80s\" at [%llu, %llu) lies beyond the %llu "
                              "bytes of data (truncated file?)",
                              es[i].t.name, (unsigned long long)es[i].begin,
                              (unsigned long long)es[i].end, (unsigned long long)n_buffer);
                break;
            }
            es[i].t.data = buffer + es[i].begin;
            pos = es[i].end;
        }
        if (!rc && pos != n_buffer)
            rc = mim_errf(err, err_size,
                          "safetensors: %llu bytes after the last tensor belong to no tensor",
                          (unsigned long long)(n_buffer - pos));
    }
    if (!rc) {
        f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
        if (!f->tensors)
            rc = mim_errf(err, err_size, "safetensors: out of memory");
        else
            for (size_t i = 0; i < n; i++)
                f->tensors[i] = es[i].t;
        f->n_tensors = n;
    }
    free(es);
    return rc;
}

static int adopt(unsigned char *bytes, size_t n_bytes, mim_st_file **out, char *err,
                 size_t err_size)
{
    mim_st_file *f = calloc(1, sizeof *f);
    if (!f) {
        free(bytes);
        return mim_errf(err, err_size, "safetensors: out of memory");
    }
    f->bytes = bytes;
    f->n_bytes = n_bytes;
    if (parse_image(f, err, err_size)) {
        mim_st_close(f);
        return -1;
    }
    *out = f;
    return 0;
}

int mim_st_parse(const void *bytes, size_t n_bytes, mim_st_file **out, char *err, size_t err_size)
{
    *out = NULL;
    unsigned char *copy = malloc(n_bytes ? n_bytes : 1);
    if (!copy)
        return mim_errf(err, err_size, "safetensors: out of memory");
    if (n_bytes)
        memcpy(copy, bytes, n_bytes);
    return adopt(copy, n_bytes, out, err, err_size);
}

int mim_st_open(const char *path, mim_st_file **out, char *err, size_t err_size)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mim_errf(err, err_size, "safetensors: cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return mim_errf(err, err_size, "safetensors: %s is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    unsigned char *bytes = malloc(size ? size : 1);
    if (!bytes) {
        fclose(fp);
        return mim_errf(err, err_size, "safetensors: out of memory for %zu bytes", size);
    }
    size_t got = fread(bytes, 1, size, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (got != size || rerr) {
        free(bytes);
        return mim_errf(err, err_size, "safetensors: read error on %s (%zu of %zu bytes)", path,
                        got, size);
    }
    if (adopt(bytes, size, out, err, err_size)) {
        if (err && err_size) {
            char tmp[400];
            snprintf(tmp, sizeof tmp, "%s", err);
            mim_errf(err, err_size, "%s: %s", path, tmp);
        }
        return -1;
    }
    return 0;
}

void mim_st_close(mim_st_file *f)
{
    if (!f)
        return;
    free(f->bytes);
    mim_json_doc_free(f->doc);
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f);
}

size_t mim_st_n_tensors(const mim_st_file *f)
{
    return f->n_tensors;
}

const mim_st_tensor *mim_st_tensor_at(const mim_st_file *f, size_t i)
{
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const mim_st_tensor *mim_st_find(const mim_st_file *f, const char *name)
{
    for (size_t i = 0; i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name))
            return &f->tensors[i];
    return NULL;
}

const char *mim_st_meta(const mim_st_file *f, const char *key)
{
    for (size_t i = 0; i < f->n_meta; i++)
        if (!strcmp(f->meta_keys[i], key))
            return f->meta_values[i];
    return NULL;
}

size_t mim_st_n_meta(const mim_st_file *f)
{
    return f->n_meta;
}

void mim_st_meta_at(const mim_st_file *f, size_t i, const char **key, const char **value)
{
    *key = i < f->n_meta ? f->meta_keys[i] : NULL;
    *value = i < f->n_meta ? f->meta_values[i] : NULL;
}

int mim_st_read_f32(const mim_st_file *f, const char *name, float *dst, uint64_t n, char *err,
                    size_t err_size)
{
    const mim_st_tensor *t = mim_st_find(f, name);
    if (!t)
        return mim_errf(err, err_size, "safetensors: no tensor \"%.80s\"", name);
    if (t->dtype != MIM_ST_F32)
        return mim_errf(err, err_size, "safetensors: tensor \"%.80s\" is %s, expected F32", name,
                        dtypes[t->dtype].name);
    if (t->n_elements != n)
        return mim_errf(err, err_size,
                        "safetensors: tensor \"%.80s\" has %llu elements, expected %llu", name,
                        (unsigned long long)t->n_elements, (unsigned long long)n);
    if (n)
        memcpy(dst, t->data, (size_t)n * sizeof(float));
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Writing
 */

typedef struct {
    char *name;
    mim_st_dtype dtype;
    int n_dim;
    int64_t shape[MIM_ST_MAX_DIM];
    void *data;
    size_t n_bytes;
} wtensor;

struct mim_st_writer {
    wtensor *t;
    size_t n, cap;
    char **meta_k, **meta_v;
    size_t n_meta, cap_meta;
};

mim_st_writer *mim_st_writer_new(void)
{
    return calloc(1, sizeof(mim_st_writer));
}

void mim_st_writer_free(mim_st_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (size_t i = 0; i < w->n_meta; i++) {
        free(w->meta_k[i]);
        free(w->meta_v[i]);
    }
    free(w->t);
    free(w->meta_k);
    free(w->meta_v);
    free(w);
}

static int valid_text(const char *s)
{
    /* valid UTF-8 (NUL-terminated strings cannot hold a NUL) */
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t len;
        if (c < 0x80)
            len = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        else
            return 0;
        for (size_t i = 1; i < len; i++)
            if ((p[i] & 0xc0) != 0x80)
                return 0;
        if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
            return 0;
        if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
            return 0;
        p += len;
    }
    return 1;
}

int mim_st_writer_add(mim_st_writer *w, const char *name, mim_st_dtype dtype, int n_dim,
                      const int64_t *shape, const void *data, char *err, size_t err_size)
{
    if (!name || !*name || !valid_text(name) || !strcmp(name, "__metadata__"))
        return mim_errf(err, err_size, "safetensors: invalid tensor name");
    if ((unsigned)dtype >= MIM_ST_N_DTYPES)
        return mim_errf(err, err_size, "safetensors: invalid dtype for \"%.80s\"", name);
    if (n_dim < 0 || n_dim > MIM_ST_MAX_DIM)
        return mim_errf(err, err_size, "safetensors: \"%.80s\": %d dimensions", name, n_dim);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->t[i].name, name))
            return mim_errf(err, err_size, "safetensors: tensor \"%.80s\" added twice", name);
    uint64_t n_el = 1;
    for (int i = 0; i < n_dim; i++) {
        if (shape[i] < 0)
            return mim_errf(err, err_size, "safetensors: \"%.80s\": negative dimension", name);
        if (shape[i] && n_el > SIZE_MAX / 16 / (uint64_t)shape[i])
            return mim_errf(err, err_size, "safetensors: \"%.80s\": shape too large", name);
        n_el *= (uint64_t)shape[i];
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t)
            return mim_errf(err, err_size, "safetensors: out of memory");
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->n_bytes = (size_t)n_el * dtypes[dtype].size;
    t->name = strdup(name);
    t->data = malloc(t->n_bytes ? t->n_bytes : 1);
    if (!t->name || !t->data) {
        free(t->name);
        free(t->data);
        return mim_errf(err, err_size, "safetensors: out of memory");
    }
    if (t->n_bytes)
        memcpy(t->data, data, t->n_bytes);
    t->dtype = dtype;
    t->n_dim = n_dim;
    for (int i = 0; i < n_dim; i++)
        t->shape[i] = shape[i];
    w->n++;
    return 0;
}

int mim_st_writer_set_meta(mim_st_writer *w, const char *key, const char *value, char *err,
                           size_t err_size)
{
    if (!key || !value || !valid_text(key) || !valid_text(value))
        return mim_errf(err, err_size, "safetensors: metadata must be valid UTF-8 text");
    for (size_t i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta_k[i], key)) {
            char *v = strdup(value);
            if (!v)
                return mim_errf(err, err_size, "safetensors: out of memory");
            free(w->meta_v[i]);
            w->meta_v[i] = v;
            return 0;
        }
    if (w->n_meta == w->cap_meta) {
        size_t cap = w->cap_meta ? 2 * w->cap_meta : 16;
        char **k = realloc(w->meta_k, cap * sizeof *k);
        if (!k)
            return mim_errf(err, err_size, "safetensors: out of memory");
        w->meta_k = k;
        char **v = realloc(w->meta_v, cap * sizeof *v);
        if (!v)
            return mim_errf(err, err_size, "safetensors: out of memory");
        w->meta_v = v;
        w->cap_meta = cap;
    }
    w->meta_k[w->n_meta] = strdup(key);
    w->meta_v[w->n_meta] = strdup(value);
    if (!w->meta_k[w->n_meta] || !w->meta_v[w->n_meta]) {
        free(w->meta_k[w->n_meta]);
        free(w->meta_v[w->n_meta]);
        return mim_errf(err, err_size, "safetensors: out of memory");
    }
    w->n_meta++;
    return 0;
}

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom || b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return;
    }
    b->s = s;
    b->cap = cap;
}

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

static void sb_quote(sbuf *b, const char *s)
{
    size_t need = mim_json_quote(NULL, 0, &b->len, s, strlen(s));
    sb_reserve(b, need);
    if (!b->oom)
        mim_json_quote(b->s, b->cap, &b->len, s, strlen(s));
}

int mim_st_writer_write(const mim_st_writer *w, const char *path, char *err, size_t err_size)
{
    sbuf h = {0};
    char num[64];
    sb_add(&h, "{");
    if (w->n_meta) {
        sb_add(&h, "\"__metadata__\":{");
        for (size_t i = 0; i < w->n_meta; i++) {
            if (i)
                sb_add(&h, ",");
            sb_quote(&h, w->meta_k[i]);
            sb_add(&h, ":");
            sb_quote(&h, w->meta_v[i]);
        }
        sb_add(&h, "}");
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[i];
        if (i || w->n_meta)
            sb_add(&h, ",");
        sb_quote(&h, t->name);
        sb_add(&h, ":{\"dtype\":\"");
        sb_add(&h, dtypes[t->dtype].name);
        sb_add(&h, "\",\"shape\":[");
        for (int d = 0; d < t->n_dim; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)t->shape[d]);
            sb_add(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                 (unsigned long long)(off + t->n_bytes));
        sb_add(&h, num);
        off += t->n_bytes;
    }
    sb_add(&h, "}");
    while (!h.oom && h.len % 8)
        sb_add(&h, " ");
    if (h.oom) {
        free(h.s);
        return mim_errf(err, err_size, "safetensors: out of memory");
    }
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(((uint64_t)h.len >> (8 * i)) & 0xff);
    size_t n_parts = 2 + w->n;
    const void **parts = malloc(n_parts * sizeof *parts);
    size_t *sizes = malloc(n_parts * sizeof *sizes);
    int rc;
    if (!parts || !sizes) {
        rc = mim_errf(err, err_size, "safetensors: out of memory");
    } else {
        parts[0] = len8;
        sizes[0] = 8;
        parts[1] = h.s;
        sizes[1] = h.len;
        for (size_t i = 0; i < w->n; i++) {
            parts[2 + i] = w->t[i].data;
            sizes[2 + i] = w->t[i].n_bytes;
        }
        rc = mim_write_file_atomic(path, parts, sizes, n_parts, err, err_size);
    }
    free(parts);
    free(sizes);
    free(h.s);
    return rc;
}

static int write_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int mim_write_file_atomic(const char *path, const void *const *parts, const size_t *part_sizes,
                          size_t n_parts, char *err, size_t err_size)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dir = strdup(path); /* for the folder's fsync: taken now, so no failure can skip it */
    if (!tmp || !dir) {
        free(tmp);
        free(dir);
        return mim_errf(err, err_size, "out of memory writing %s", path);
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp-XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(dir);
        return mim_errf(err, err_size, "cannot create a temporary file beside %s: %s", path,
                        strerror(e));
    }
    int rc = 0;
    for (size_t i = 0; i < n_parts && !rc; i++)
        if (part_sizes[i] && write_all(fd, parts[i], part_sizes[i]))
            rc = mim_errf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
    if (!rc && fchmod(fd, 0644))
        rc = mim_errf(err, err_size, "cannot set the mode of %s: %s", tmp, strerror(errno));
    if (!rc && fsync(fd))
        rc = mim_errf(err, err_size, "cannot sync %s: %s", tmp, strerror(errno));
    if (close(fd) && !rc)
        rc = mim_errf(err, err_size, "cannot close %s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path))
        rc = mim_errf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (rc) {
        unlink(tmp);
        free(tmp);
        free(dir);
        return rc;
    }
    free(tmp);
    /* Make the rename itself durable. */
    char *slash = strrchr(dir, '/');
    const char *d = ".";
    if (slash) {
        if (slash == dir)
            slash[1] = 0;
        else
            *slash = 0;
        d = dir;
    }
    int dfd = open(d, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
    return 0;
}
