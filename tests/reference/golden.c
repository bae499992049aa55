/* golden.c: the reference export reader (see golden.h). */
#include "golden.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int say(char *why, size_t n, const char *fmt, ...)
{
    if (why && n) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Parses "2,3,176,176" into shape; returns the number of dims or -1. */
static int parse_shape(const char *s, int64_t *shape, size_t *numel)
{
    int n = 0;
    size_t total = 1;
    while (*s) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || v < 0 || errno || n >= 8)
            return -1;
        shape[n++] = v;
        total *= (size_t)v;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    *numel = total;
    return n;
}

static char *read_file(const char *path, size_t *len, char *why, size_t why_size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        say(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n < 0) {
        fclose(fp);
        say(why, why_size, "cannot size %s", path);
        return NULL;
    }
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        say(why, why_size, "cannot read %s", path);
        return NULL;
    }
    fclose(fp);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

int golden_open(golden *g, char *why, size_t why_size)
{
    memset(g, 0, sizeof *g);
    const char *dir = getenv("MIMICA_GOLDEN_DIR");
    if (dir && *dir) {
        snprintf(g->dir, sizeof g->dir, "%s", dir);
    } else {
        const char *shared = getenv("MIMICA_SHARED_DIR");
        if (!shared || !*shared) {
            say(why, why_size, "neither MIMICA_GOLDEN_DIR nor MIMICA_SHARED_DIR is set");
            return 1;
        }
        snprintf(g->dir, sizeof g->dir, "%s/golden/aunet-b2", shared);
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/INDEX.txt", g->dir);
    struct stat st;
    if (stat(path, &st)) {
        say(why, why_size, "golden export absent: %s not found", path);
        return 1;
    }
    size_t len;
    char *text = read_file(path, &len, why, why_size);
    if (!text)
        return -1;
    int cap = 64;
    g->entries = calloc((size_t)cap, sizeof *g->entries);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char *f[4];
        char *s2 = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, "\t", &s2); t && nf < 4; t = strtok_r(NULL, "\t", &s2))
            f[nf++] = t;
        if (nf != 4) {
            free(text);
            golden_close(g);
            return say(why, why_size, "%s: a line without 4 tab-separated fields", path);
        }
        if (g->n_entries == cap) {
            cap *= 2;
            golden_entry *e = realloc(g->entries, (size_t)cap * sizeof *e);
            if (!e) {
                free(text);
                golden_close(g);
                return say(why, why_size, "out of memory");
            }
            g->entries = e;
        }
        golden_entry *e = &g->entries[g->n_entries];
        memset(e, 0, sizeof *e);
        snprintf(e->name, sizeof e->name, "%s", f[0]);
        snprintf(e->file, sizeof e->file, "%s", f[1]);
        e->is_int = !strcmp(f[2], "int32");
        if (!e->is_int && strcmp(f[2], "float32")) {
            free(text);
            golden_close(g);
            return say(why, why_size, "%s: unknown dtype %s", path, f[2]);
        }
        char *sp = strchr(f[3], ' '); /* "2902137 (see weights_init.index.txt)" */
        if (sp)
            *sp = 0;
        e->n_dim = parse_shape(f[3], e->shape, &e->numel);
        if (e->n_dim < 0) {
            free(text);
            golden_close(g);
            return say(why, why_size, "%s: bad shape for %s", path, e->name);
        }
        g->n_entries++;
    }
    free(text);
    return 0;
}

void golden_close(golden *g)
{
    free(g->entries);
    g->entries = NULL;
    g->n_entries = 0;
}

const golden_entry *golden_find(const golden *g, const char *name)
{
    for (int i = 0; i < g->n_entries; i++)
        if (!strcmp(g->entries[i].name, name))
            return &g->entries[i];
    return NULL;
}

static void *read_raw(const golden *g, const char *name, int want_int, size_t *numel, char *why,
                      size_t why_size)
{
    const golden_entry *e = golden_find(g, name);
    if (!e) {
        say(why, why_size, "%s is not in INDEX.txt", name);
        return NULL;
    }
    if (e->is_int != want_int) {
        say(why, why_size, "%s is %s", name, e->is_int ? "int32" : "float32");
        return NULL;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g->dir, e->file);
    size_t len;
    char *buf = read_file(path, &len, why, why_size);
    if (!buf)
        return NULL;
    if (len != e->numel * 4) {
        say(why, why_size, "%s has %zu bytes, INDEX.txt says %zu elements", path, len, e->numel);
        free(buf);
        return NULL;
    }
    *numel = e->numel;
    return buf;
}

float *golden_read_f32(const golden *g, const char *name, size_t *numel, char *why, size_t why_size)
{
    return read_raw(g, name, 0, numel, why, why_size);
}

int32_t *golden_read_i32(const golden *g, const char *name, size_t *numel, char *why,
                         size_t why_size)
{
    return read_raw(g, name, 1, numel, why, why_size);
}

golden_weight *golden_read_weight_index(const golden *g, const char *which, int *n, char *why,
                                        size_t why_size)
{
    char name[128];
    snprintf(name, sizeof name, "weights_%s", which);
    return golden_read_param_index(g, name, n, why, why_size);
}

golden_weight *golden_read_param_index(const golden *g, const char *stem, int *n, char *why,
                                       size_t why_size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.index.txt", g->dir, stem);
    size_t len;
    char *text = read_file(path, &len, why, why_size);
    if (!text)
        return NULL;
    int cap = 256, count = 0;
    golden_weight *w = calloc((size_t)cap, sizeof *w);
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char *f[5];
        char *s2 = NULL;
        int nf = 0;
        for (char *t = strtok_r(line, "\t", &s2); t && nf < 5; t = strtok_r(NULL, "\t", &s2))
            f[nf++] = t;
        if (nf < 4 || (nf == 5 && strcmp(f[4], "grad") && strcmp(f[4], "none"))) {
            free(w);
            free(text);
            say(why, why_size, "%s: a line without 4 fields (or a 5th other than grad|none)", path);
            return NULL;
        }
        if (count == cap) {
            cap *= 2;
            golden_weight *nw = realloc(w, (size_t)cap * sizeof *w);
            if (!nw) {
                free(w);
                free(text);
                say(why, why_size, "out of memory");
                return NULL;
            }
            w = nw;
        }
        golden_weight *x = &w[count];
        memset(x, 0, sizeof *x);
        snprintf(x->name, sizeof x->name, "%s", f[0]);
        x->offset = strtoull(f[1], NULL, 10);
        size_t numel = strtoull(f[2], NULL, 10), check;
        x->n_dim = parse_shape(f[3], x->shape, &check);
        if (x->n_dim < 0 || check != numel) {
            free(w);
            free(text);
            say(why, why_size, "%s: bad shape for %s", path, x->name);
            return NULL;
        }
        x->numel = numel;
        x->has_grad = nf < 5 || !strcmp(f[4], "grad");
        count++;
    }
    free(text);
    *n = count;
    return w;
}

char *golden_read_text(const golden *g, const char *file, size_t *len, char *why, size_t why_size)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", g->dir, file);
    return read_file(path, len, why, why_size);
}
