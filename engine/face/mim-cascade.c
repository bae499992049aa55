/* mim-cascade.c: reading OpenCV cascade XML (FORMATS.md B.1).
 *
 * A small XML tokenizer of our own builds an element tree over the text (names, attribute
 * spans, text spans, children); the loader then walks the opencv_storage structure. Everything
 * is bounds-checked against the buffer: no NUL terminator is assumed, nesting is limited, and
 * any construct we do not need (DOCTYPE, CDATA, processing instructions other than the XML
 * declaration, mismatched tags, text after the root) is refused with the byte offset.
 */
#define _GNU_SOURCE /* strtod_l, newlocale */
#include "mim-cascade-private.h"
#include "mim.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_DEPTH 32
#define MAX_WINDOW    1024

/* ---- XML tokenizer -------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t name_len;
    const char *attrs; /* raw attribute text between the name and '>' */
    size_t attrs_len;
    const char *text; /* content between the start and end tag (leaf elements: the data) */
    size_t text_len;
    int first_child, next_sibling, n_children;
    int has_children;
} xml_elem;

typedef struct {
    const char *s;
    size_t len, pos;
    xml_elem *elems;
    int n_elems, cap_elems;
    char *err;
    size_t err_size;
} xml_doc;

static int xml_fail(xml_doc *d, const char *what)
{
    mim_errf(d->err, d->err_size, "cascade XML: %s at byte %zu", what, d->pos);
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

static int starts(const xml_doc *d, const char *lit)
{
    size_t n = strlen(lit);
    return d->len - d->pos >= n && memcmp(d->s + d->pos, lit, n) == 0;
}

/* Skips to just after `end`; -1 if the text ends first. */
static int skip_past(xml_doc *d, const char *end)
{
    size_t n = strlen(end);
    while (d->len - d->pos >= n) {
        if (memcmp(d->s + d->pos, end, n) == 0) {
            d->pos += n;
            return 0;
        }
        d->pos++;
    }
    d->pos = d->len;
    return -1;
}

/* White space, comments and (before the root) the XML declaration. */
static int skip_misc(xml_doc *d, int allow_decl)
{
    for (;;) {
        while (d->pos < d->len && is_space(d->s[d->pos]))
            d->pos++;
        if (starts(d, "<!--")) {
            d->pos += 4;
            if (skip_past(d, "-->") != 0)
                return xml_fail(d, "unterminated comment");
        } else if (allow_decl && starts(d, "<?xml")) {
            if (skip_past(d, "?>") != 0)
                return xml_fail(d, "unterminated XML declaration");
        } else {
            return 0;
        }
    }
}

static int new_elem(xml_doc *d)
{
    if (d->n_elems == d->cap_elems) {
        int cap = d->cap_elems ? d->cap_elems * 2 : 256;
        if (cap > INT_MAX / 2)
            return -1;
        xml_elem *e = realloc(d->elems, sizeof *e * (size_t)cap);
        if (!e)
            return -1;
        d->elems = e;
        d->cap_elems = cap;
    }
    memset(&d->elems[d->n_elems], 0, sizeof d->elems[0]);
    d->elems[d->n_elems].first_child = -1;
    d->elems[d->n_elems].next_sibling = -1;
    return d->n_elems++;
}

/* Parses one element starting at '<'; returns its index or -1. */
static int parse_elem(xml_doc *d, int depth)
{
    if (depth > XML_MAX_DEPTH)
        return xml_fail(d, "elements nested too deeply");
    if (d->pos >= d->len || d->s[d->pos] != '<')
        return xml_fail(d, "expected '<'");
    d->pos++;
    size_t name_start = d->pos;
    while (d->pos < d->len && is_name_char(d->s[d->pos]))
        d->pos++;
    if (d->pos == name_start)
        return xml_fail(d, "expected an element name");
    int idx = new_elem(d);
    if (idx < 0)
        return xml_fail(d, "out of memory");
    xml_elem *e = &d->elems[idx];
    e->name = d->s + name_start;
    e->name_len = d->pos - name_start;
    /* attributes: name="value" or name='value' */
    size_t attr_start = d->pos;
    for (;;) {
        while (d->pos < d->len && is_space(d->s[d->pos]))
            d->pos++;
        if (d->pos >= d->len)
            return xml_fail(d, "unterminated start tag");
        char c = d->s[d->pos];
        if (c == '>' || c == '/')
            break;
        size_t an = d->pos;
        while (d->pos < d->len && is_name_char(d->s[d->pos]))
            d->pos++;
        if (d->pos == an)
            return xml_fail(d, "bad attribute name");
        while (d->pos < d->len && is_space(d->s[d->pos]))
            d->pos++;
        if (d->pos >= d->len || d->s[d->pos] != '=')
            return xml_fail(d, "attribute without '='");
        d->pos++;
        while (d->pos < d->len && is_space(d->s[d->pos]))
            d->pos++;
        if (d->pos >= d->len || (d->s[d->pos] != '"' && d->s[d->pos] != '\''))
            return xml_fail(d, "attribute value not quoted");
        char q = d->s[d->pos++];
        while (d->pos < d->len && d->s[d->pos] != q && d->s[d->pos] != '<')
            d->pos++;
        if (d->pos >= d->len || d->s[d->pos] != q)
            return xml_fail(d, "unterminated attribute value");
        d->pos++;
    }
    e = &d->elems[idx];
    e->attrs = d->s + attr_start;
    e->attrs_len = d->pos - attr_start;
    if (d->s[d->pos] == '/') {
        if (d->pos + 1 >= d->len || d->s[d->pos + 1] != '>')
            return xml_fail(d, "expected '/>'");
        d->pos += 2;
        e->text = d->s + d->pos;
        e->text_len = 0;
        return idx;
    }
    d->pos++; /* '>' */
    size_t text_start = d->pos;
    int last_child = -1;
    for (;;) {
        /* character data up to the next '<' */
        while (d->pos < d->len && d->s[d->pos] != '<') {
            if (d->s[d->pos] == '&')
                return xml_fail(d, "entity references are not supported");
            d->pos++;
        }
        if (d->pos >= d->len)
            return xml_fail(d, "unterminated element");
        if (starts(d, "<!--")) {
            d->pos += 4;
            if (skip_past(d, "-->") != 0)
                return xml_fail(d, "unterminated comment");
            continue;
        }
        if (starts(d, "</")) {
            size_t text_end = d->pos;
            d->pos += 2;
            e = &d->elems[idx];
            if (d->len - d->pos < e->name_len || memcmp(d->s + d->pos, e->name, e->name_len) != 0)
                return xml_fail(d, "mismatched end tag");
            d->pos += e->name_len;
            while (d->pos < d->len && is_space(d->s[d->pos]))
                d->pos++;
            if (d->pos >= d->len || d->s[d->pos] != '>')
                return xml_fail(d, "mismatched end tag");
            d->pos++;
            e->text = d->s + text_start;
            e->text_len = text_end - text_start;
            return idx;
        }
        if (starts(d, "<!") || starts(d, "<?"))
            return xml_fail(d, "unsupported markup (DOCTYPE, CDATA or processing instruction)");
        int child = parse_elem(d, depth + 1);
        if (child < 0)
            return -1;
        e = &d->elems[idx];
        e->has_children = 1;
        e->n_children++;
        if (last_child < 0)
            e->first_child = child;
        else
            d->elems[last_child].next_sibling = child;
        last_child = child;
    }
}

static int xml_parse(xml_doc *d)
{
    if (d->len >= 3 && (unsigned char)d->s[0] == 0xEF && (unsigned char)d->s[1] == 0xBB &&
        (unsigned char)d->s[2] == 0xBF)
        d->pos = 3; /* UTF-8 byte order mark */
    if (skip_misc(d, 1) != 0)
        return -1;
    if (d->pos >= d->len)
        return xml_fail(d, "no root element (empty file?)");
    if (parse_elem(d, 0) != 0) /* the root is element 0 */
        return -1;
    if (skip_misc(d, 0) != 0)
        return -1;
    if (d->pos != d->len)
        return xml_fail(d, "content after the root element");
    return 0;
}

static int name_is(const xml_elem *e, const char *name)
{
    return e->name_len == strlen(name) && memcmp(e->name, name, e->name_len) == 0;
}

static const xml_elem *child(const xml_doc *d, const xml_elem *e, const char *name)
{
    for (int c = e->first_child; c >= 0; c = d->elems[c].next_sibling)
        if (name_is(&d->elems[c], name))
            return &d->elems[c];
    return NULL;
}

/* ---- numbers -------------------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* Reads whitespace-separated numbers from an element's text. */
typedef struct {
    const char *p, *end;
} num_reader;

/* The next number into *v: 1, 0 at the end, -1 on something that is not a number. */
static int next_number(num_reader *r, double *v)
{
    while (r->p < r->end && is_space(*r->p))
        r->p++;
    if (r->p == r->end)
        return 0;
    const char *tok = r->p;
    while (r->p < r->end && !is_space(*r->p))
        r->p++;
    size_t n = (size_t)(r->p - tok);
    char buf[64];
    if (n >= sizeof buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = tok[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
            return -1;
        buf[i] = c;
    }
    buf[n] = 0;
    pthread_once(&c_locale_once, c_locale_init);
    char *endp;
    errno = 0;
    double x = c_locale ? strtod_l(buf, &endp, c_locale) : strtod(buf, &endp);
    if (endp != buf + n || !isfinite(x))
        return -1;
    *v = x;
    return 1;
}

static int count_numbers(const xml_elem *e, size_t *n)
{
    num_reader r = {e->text, e->text + e->text_len};
    double v;
    int rc;
    *n = 0;
    while ((rc = next_number(&r, &v)) == 1)
        (*n)++;
    return rc;
}

static int is_int(double v)
{
    return v == floor(v) && v >= INT_MIN && v <= INT_MAX;
}

/* A leaf element holding exactly one integer. */
static int read_int(const xml_doc *d, const xml_elem *parent, const char *name, int *out, char *err,
                    size_t err_size)
{
    const xml_elem *e = child(d, parent, name);
    if (!e) {
        mim_errf(err, err_size, "cascade XML: <%s> missing", name);
        return -1;
    }
    num_reader r = {e->text, e->text + e->text_len};
    double v, extra;
    if (e->has_children || next_number(&r, &v) != 1 || !is_int(v) || next_number(&r, &extra)) {
        mim_errf(err, err_size, "cascade XML: <%s> is not one integer", name);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int text_is(const xml_elem *e, const char *word)
{
    const char *p = e->text, *end = e->text + e->text_len;
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    return (size_t)(end - p) == strlen(word) && memcmp(p, word, (size_t)(end - p)) == 0;
}

/* ---- the cascade ---------------------------------------------------------------------------- */

void mim_cascade_free(mim_cascade *c)
{
    if (!c)
        return;
    free(c->stages);
    free(c->weak);
    free(c->nodes);
    free(c->subsets);
    free(c->leaves);
    free(c->haar);
    free(c->lbp);
    free(c);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        mim_errf(err, err_size, __VA_ARGS__);                                                      \
        goto fail;                                                                                 \
    } while (0)

static int load_features(const xml_doc *d, const xml_elem *features, mim_cascade *c, char *err,
                         size_t err_size)
{
    int n = features->n_children;
    if (n <= 0)
        FAIL("cascade XML: <features> is empty");
    c->n_features = n;
    if (c->type == MIM_CASCADE_HAAR)
        c->haar = calloc((size_t)n, sizeof *c->haar);
    else
        c->lbp = calloc((size_t)n, sizeof *c->lbp);
    if (!c->haar && !c->lbp)
        FAIL("cascade: out of memory");
    int fi = 0;
    for (int f = features->first_child; f >= 0; f = d->elems[f].next_sibling, fi++) {
        const xml_elem *fe = &d->elems[f];
        if (c->type == MIM_CASCADE_LBP) {
            const xml_elem *re = child(d, fe, "rect");
            double v[4];
            num_reader r;
            if (!re)
                FAIL("cascade XML: LBP feature %d has no <rect>", fi);
            r = (num_reader){re->text, re->text + re->text_len};
            for (int k = 0; k < 4; k++)
                if (next_number(&r, &v[k]) != 1 || !is_int(v[k]))
                    FAIL("cascade XML: LBP feature %d: <rect> needs 4 integers", fi);
            double extra;
            if (next_number(&r, &extra) != 0)
                FAIL("cascade XML: LBP feature %d: <rect> needs 4 integers", fi);
            mim__lbp_feature *l = &c->lbp[fi];
            l->x = (int)v[0], l->y = (int)v[1], l->w = (int)v[2], l->h = (int)v[3];
            /* in 64 bits: the integers may be anything up to INT_MAX (tests/fuzz/fuzz-cascade) */
            if (l->x < 0 || l->y < 0 || l->w <= 0 || l->h <= 0 || l->x + 3LL * l->w > c->width ||
                l->y + 3LL * l->h > c->height)
                FAIL("cascade XML: LBP feature %d (%d %d %d %d) leaves the %dx%d window", fi, l->x,
                     l->y, l->w, l->h, c->width, c->height);
            continue;
        }
        mim__haar_feature *h = &c->haar[fi];
        const xml_elem *rects = child(d, fe, "rects");
        if (!rects)
            FAIL("cascade XML: Haar feature %d has no <rects>", fi);
        const xml_elem *tilted = child(d, fe, "tilted");
        if (tilted) {
            int t;
            if (read_int(d, fe, "tilted", &t, err, err_size) != 0)
                goto fail;
            if (t != 0 && t != 1)
                FAIL("cascade XML: Haar feature %d: <tilted> is %d", fi, t);
            h->tilted = t;
            c->any_tilted |= t;
        }
        if (rects->n_children < 2 || rects->n_children > 3)
            FAIL("cascade XML: Haar feature %d has %d rectangles (2 or 3 expected)", fi,
                 rects->n_children);
        h->n_rects = rects->n_children;
        int k = 0;
        for (int ri = rects->first_child; ri >= 0; ri = d->elems[ri].next_sibling, k++) {
            const xml_elem *re = &d->elems[ri];
            num_reader r = {re->text, re->text + re->text_len};
            double v[5], extra;
            for (int j = 0; j < 5; j++)
                if (next_number(&r, &v[j]) != 1 || (j < 4 && !is_int(v[j])))
                    FAIL("cascade XML: Haar feature %d rectangle %d: x y w h weight expected", fi,
                         k);
            if (next_number(&r, &extra) != 0)
                FAIL("cascade XML: Haar feature %d rectangle %d: x y w h weight expected", fi, k);
            int x = (int)v[0], y = (int)v[1], w = (int)v[2], hh = (int)v[3];
            long long xl = x, yl = y; /* sums in 64 bits: each integer may be up to INT_MAX */
            int inside;
            if (!h->tilted)
                inside = x >= 0 && y >= 0 && w > 0 && hh > 0 && xl + w <= c->width &&
                         yl + hh <= c->height;
            else
                inside = w > 0 && hh > 0 && y >= 0 && xl - hh >= 0 && xl + w <= c->width &&
                         yl + w + hh <= c->height;
            if (!inside)
                FAIL("cascade XML: Haar feature %d rectangle (%d %d %d %d%s) leaves the %dx%d "
                     "window",
                     fi, x, y, w, hh, h->tilted ? " tilted" : "", c->width, c->height);
            if (fabs(v[4]) > 1e6)
                FAIL("cascade XML: Haar feature %d: weight %g out of range", fi, v[4]);
            h->x[k] = x, h->y[k] = y, h->w[k] = w, h->h[k] = hh;
            h->weight[k] = (float)v[4];
        }
    }
    return 0;
fail:
    return -1;
}

static int load_stages(const xml_doc *d, const xml_elem *stages, mim_cascade *c, char *err,
                       size_t err_size)
{
    int node_step = c->type == MIM_CASCADE_HAAR ? 4 : 3 + c->subset_words;
    c->n_stages = stages->n_children;
    if (c->n_stages <= 0)
        FAIL("cascade XML: <stages> is empty");
    c->stages = calloc((size_t)c->n_stages, sizeof *c->stages);
    if (!c->stages)
        FAIL("cascade: out of memory");
    /* first pass: counts, so that everything is allocated once */
    size_t n_weak = 0, n_nodes = 0;
    int si = 0;
    for (int s = stages->first_child; s >= 0; s = d->elems[s].next_sibling, si++) {
        const xml_elem *st = &d->elems[s];
        const xml_elem *wcs = child(d, st, "weakClassifiers");
        if (!wcs || wcs->n_children <= 0)
            FAIL("cascade XML: stage %d has no <weakClassifiers>", si);
        for (int w = wcs->first_child; w >= 0; w = d->elems[w].next_sibling) {
            const xml_elem *in = child(d, &d->elems[w], "internalNodes");
            size_t cnt;
            if (!in)
                FAIL("cascade XML: stage %d: weak classifier without <internalNodes>", si);
            if (count_numbers(in, &cnt) != 0)
                FAIL("cascade XML: stage %d: <internalNodes> holds something that is not a "
                     "number",
                     si);
            if (cnt == 0 || cnt % (size_t)node_step != 0)
                FAIL("cascade XML: stage %d: %zu numbers in <internalNodes>, not a multiple of "
                     "%d",
                     si, cnt, node_step);
            n_weak++;
            n_nodes += cnt / (size_t)node_step;
        }
    }
    if (n_nodes > 10000000)
        FAIL("cascade XML: %zu nodes is too many", n_nodes);
    c->n_weak = (int)n_weak;
    c->n_nodes = (int)n_nodes;
    c->n_leaves = (int)(n_nodes + n_weak);
    c->weak = calloc(n_weak, sizeof *c->weak);
    c->nodes = calloc(n_nodes, sizeof *c->nodes);
    c->leaves = calloc(n_nodes + n_weak, sizeof *c->leaves);
    if (c->subset_words)
        c->subsets = calloc(n_nodes * (size_t)c->subset_words, sizeof *c->subsets);
    if (!c->weak || !c->nodes || !c->leaves || (c->subset_words && !c->subsets))
        FAIL("cascade: out of memory");

    int wi = 0, ni = 0, li = 0;
    si = 0;
    for (int s = stages->first_child; s >= 0; s = d->elems[s].next_sibling, si++) {
        const xml_elem *st = &d->elems[s];
        const xml_elem *th = child(d, st, "stageThreshold");
        double thr, extra;
        num_reader r;
        if (!th)
            FAIL("cascade XML: stage %d has no <stageThreshold>", si);
        r = (num_reader){th->text, th->text + th->text_len};
        if (next_number(&r, &thr) != 1 || next_number(&r, &extra) != 0)
            FAIL("cascade XML: stage %d: <stageThreshold> is not one number", si);
        c->stages[si].threshold = (float)thr - 1e-5f;
        c->stages[si].first_weak = wi;
        const xml_elem *wcs = child(d, st, "weakClassifiers");
        for (int w = wcs->first_child; w >= 0; w = d->elems[w].next_sibling, wi++) {
            const xml_elem *in = child(d, &d->elems[w], "internalNodes");
            const xml_elem *lv = child(d, &d->elems[w], "leafValues");
            size_t cnt, n_leaf;
            count_numbers(in, &cnt);
            int nn = (int)(cnt / (size_t)node_step);
            if (!lv)
                FAIL("cascade XML: stage %d: weak classifier without <leafValues>", si);
            if (count_numbers(lv, &n_leaf) != 0 || n_leaf != (size_t)nn + 1)
                FAIL("cascade XML: stage %d weak classifier %d: %zu leaf values for %d nodes "
                     "(%d expected)",
                     si, wi - c->stages[si].first_weak, n_leaf, nn, nn + 1);
            c->weak[wi] = (mim__weak){ni, nn, li};
            if (nn > c->max_nodes_per_tree)
                c->max_nodes_per_tree = nn;
            r = (num_reader){in->text, in->text + in->text_len};
            for (int k = 0; k < nn; k++) {
                double v[3 + 8];
                for (int j = 0; j < node_step; j++)
                    next_number(&r, &v[j]); /* counted above */
                if (!is_int(v[0]) || !is_int(v[1]) || !is_int(v[2]))
                    FAIL("cascade XML: stage %d: node indices must be integers", si);
                int left = (int)v[0], right = (int)v[1], feat = (int)v[2];
                /* children: a later node of the same tree (so evaluation ends) or a leaf */
                if ((left > 0 && (left <= k || left >= nn)) ||
                    (left <= 0 && -(long long)left > nn) ||
                    (right > 0 && (right <= k || right >= nn)) ||
                    (right <= 0 && -(long long)right > nn))
                    FAIL("cascade XML: stage %d weak classifier %d node %d: child index out of "
                         "range (%d, %d; %d nodes)",
                         si, wi - c->stages[si].first_weak, k, left, right, nn);
                if (feat < 0 || feat >= c->n_features)
                    FAIL("cascade XML: stage %d: feature index %d out of range (%d features)", si,
                         feat, c->n_features);
                mim__node *node = &c->nodes[ni + k];
                node->left = left, node->right = right, node->feature = feat;
                if (c->type == MIM_CASCADE_HAAR) {
                    node->threshold = (float)v[3];
                } else {
                    for (int j = 0; j < c->subset_words; j++) {
                        if (!is_int(v[3 + j]) || v[3 + j] < -2147483648.0 ||
                            v[3 + j] > 4294967295.0)
                            FAIL("cascade XML: stage %d: category subset word is not a 32-bit "
                                 "integer",
                                 si);
                        int64_t word = (int64_t)v[3 + j];
                        c->subsets[(size_t)(ni + k) * (size_t)c->subset_words + (size_t)j] =
                            (int32_t)(uint32_t)(word & 0xffffffff);
                    }
                }
            }
            r = (num_reader){lv->text, lv->text + lv->text_len};
            for (int k = 0; k <= nn; k++) {
                double v;
                next_number(&r, &v);
                c->leaves[li + k] = (float)v;
            }
            ni += nn;
            li += nn + 1;
        }
        c->stages[si].n_weak = wi - c->stages[si].first_weak;
    }
    return 0;
fail:
    return -1;
}

int mim_cascade_load_buffer(const char *text, size_t len, mim_cascade **out, char *err,
                            size_t err_size)
{
    xml_doc d = {.s = text, .len = len, .err = err, .err_size = err_size};
    mim_cascade *c = NULL;
    *out = NULL;
    if (!text)
        FAIL("cascade XML: no data");
    if (xml_parse(&d) != 0)
        goto fail;
    const xml_elem *root = &d.elems[0];
    if (!name_is(root, "opencv_storage"))
        FAIL("cascade XML: the root element is <%.*s>, not <opencv_storage>",
             (int)(root->name_len > 40 ? 40 : root->name_len), root->name);
    if (root->first_child < 0)
        FAIL("cascade XML: <opencv_storage> is empty");
    const xml_elem *cas = &d.elems[root->first_child];
    const xml_elem *st = child(&d, cas, "stageType");
    const xml_elem *ft = child(&d, cas, "featureType");
    if (!st || !ft || !child(&d, cas, "features")) {
        if (child(&d, cas, "size") || memmem(cas->attrs, cas->attrs_len, "opencv-haar-classifier",
                                             strlen("opencv-haar-classifier")))
            FAIL("cascade XML: old-format cascade (opencv-haar-classifier) is not supported");
        FAIL("cascade XML: <%.*s> lacks <stageType>, <featureType> or <features>",
             (int)(cas->name_len > 40 ? 40 : cas->name_len), cas->name);
    }
    if (!text_is(st, "BOOST"))
        FAIL("cascade XML: stageType is not BOOST");
    c = calloc(1, sizeof *c);
    if (!c)
        FAIL("cascade: out of memory");
    if (text_is(ft, "HAAR"))
        c->type = MIM_CASCADE_HAAR;
    else if (text_is(ft, "LBP"))
        c->type = MIM_CASCADE_LBP;
    else
        FAIL("cascade XML: featureType is neither HAAR nor LBP");
    if (read_int(&d, cas, "width", &c->width, err, err_size) != 0 ||
        read_int(&d, cas, "height", &c->height, err, err_size) != 0)
        goto fail;
    if (c->width < 3 || c->height < 3 || c->width > MAX_WINDOW || c->height > MAX_WINDOW)
        FAIL("cascade XML: window %dx%d out of range (3..%d)", c->width, c->height, MAX_WINDOW);
    const xml_elem *fp = child(&d, cas, "featureParams");
    if (!fp)
        FAIL("cascade XML: <featureParams> missing");
    if (read_int(&d, fp, "maxCatCount", &c->max_cat_count, err, err_size) != 0)
        goto fail;
    if (c->type == MIM_CASCADE_HAAR && c->max_cat_count != 0)
        FAIL("cascade XML: Haar cascade with maxCatCount %d (0 expected)", c->max_cat_count);
    if (c->type == MIM_CASCADE_LBP && c->max_cat_count != 256)
        FAIL("cascade XML: LBP cascade with maxCatCount %d (256 expected)", c->max_cat_count);
    c->subset_words = (c->max_cat_count + 31) / 32;
    const xml_elem *stages = child(&d, cas, "stages");
    if (!stages)
        FAIL("cascade XML: <stages> missing");
    if (load_features(&d, child(&d, cas, "features"), c, err, err_size) != 0 ||
        load_stages(&d, stages, c, err, err_size) != 0)
        goto fail;
    free(d.elems);
    *out = c;
    return 0;
fail:
    free(d.elems);
    mim_cascade_free(c);
    return -1;
}

#undef FAIL

int mim_cascade_load(const char *path, mim_cascade **out, char *err, size_t err_size)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            mim_errf(err, err_size,
                     "%s: no such file (OpenCV cascades come with the Debian package %s; "
                     "set %s to another folder holding haarcascades/ and lbpcascades/)",
                     path, MIM_CASCADE_PACKAGE, MIM_CASCADE_DATA_DIR_ENV);
        else
            mim_errf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)256 << 20) {
                fclose(f);
                free(buf);
                mim_errf(err, err_size, "%s: larger than 256 MiB, not a cascade", path);
                return -1;
            }
            cap = cap ? cap * 2 : 1 << 20;
            char *nb = realloc(buf, cap);
            if (!nb) {
                fclose(f);
                free(buf);
                mim_errf(err, err_size, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int io_err = ferror(f);
    fclose(f);
    if (io_err) {
        free(buf);
        mim_errf(err, err_size, "%s: read error", path);
        return -1;
    }
    char inner[400];
    int rc = mim_cascade_load_buffer(buf, len, out, inner, sizeof inner);
    free(buf);
    if (rc != 0)
        mim_errf(err, err_size, "%s: %s", path, inner);
    return rc;
}

const char *mim_cascade_data_dir(void)
{
    const char *env = getenv(MIM_CASCADE_DATA_DIR_ENV);
    return env && *env ? env : MIM_CASCADE_DEBIAN_DIR;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int mim_cascade_path(const char *name, char *buf, size_t buf_size, char *err, size_t err_size)
{
    if (!name || !*name) {
        mim_errf(err, err_size, "empty cascade name");
        return -1;
    }
    int n;
    if (strchr(name, '/') || ends_with(name, ".xml")) {
        n = snprintf(buf, buf_size, "%s", name);
    } else {
        const char *sub = strncmp(name, "haarcascade_", 12) == 0  ? "haarcascades"
                          : strncmp(name, "lbpcascade_", 11) == 0 ? "lbpcascades"
                                                                  : NULL;
        if (!sub) {
            mim_errf(err, err_size,
                     "unknown cascade '%s' (names start with haarcascade_ or lbpcascade_, e.g. "
                     "%s)",
                     name, MIM_CASCADE_DEFAULT);
            return -1;
        }
        n = snprintf(buf, buf_size, "%s/%s/%s.xml", mim_cascade_data_dir(), sub, name);
    }
    if (n < 0 || (size_t)n >= buf_size) {
        mim_errf(err, err_size, "cascade path too long");
        return -1;
    }
    return 0;
}

int mim_cascade_load_named(const char *name, mim_cascade **out, char *err, size_t err_size)
{
    char path[4096];
    *out = NULL;
    if (mim_cascade_path(name ? name : MIM_CASCADE_DEFAULT, path, sizeof path, err, err_size))
        return -1;
    return mim_cascade_load(path, out, err, err_size);
}

void mim_cascade_get_info(const mim_cascade *c, mim_cascade_info *info)
{
    memset(info, 0, sizeof *info);
    info->type = c->type;
    info->width = c->width;
    info->height = c->height;
    info->n_stages = c->n_stages;
    info->n_weak = c->n_weak;
    info->n_nodes = c->n_nodes;
    info->max_nodes_per_tree = c->max_nodes_per_tree;
    info->n_features = c->n_features;
    info->max_cat_count = c->max_cat_count;
    if (c->haar)
        for (int i = 0; i < c->n_features; i++) {
            info->n_rects2 += c->haar[i].n_rects == 2;
            info->n_rects3 += c->haar[i].n_rects == 3;
            info->n_tilted += c->haar[i].tilted;
        }
}

int mim_cascade_stage_n_weak(const mim_cascade *c, int stage)
{
    return stage >= 0 && stage < c->n_stages ? c->stages[stage].n_weak : -1;
}
