/* mim-json.c: a small, strict JSON reader (see mim-json.h). */
#define _GNU_SOURCE /* strtod_l: numbers are read in the C locale whatever the process uses */
#include "mim-json.h"
#include "mim.h"

#include <locale.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nodes and decoded strings live in a chain of blocks freed together. */
typedef struct block block;
struct block {
    block *next;
    size_t used, cap;
    max_align_t data[];
};

struct mim_json_doc {
    block *blocks;
    mim_json *root;
};

typedef struct {
    const char *p, *end, *start;
    mim_json_doc *doc;
    char *err;
    size_t err_size;
    int failed;
    locale_t c_locale;
} parser;

static void fail(parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = 1;
    if (!ps->err || !ps->err_size)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->err_size, "JSON: %s at byte %zu", msg, (size_t)(ps->p - ps->start));
    mim_utf8_make_valid(ps->err); /* a %.60s key may be cut inside a character */
}

static void *doc_alloc(parser *ps, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    block *b = ps->doc->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 65536 ? size : 65536;
        b = malloc(sizeof *b + cap);
        if (!b) {
            fail(ps, "out of memory");
            return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = ps->doc->blocks;
        ps->doc->blocks = b;
    }
    void *r = (char *)b->data + b->used;
    b->used += size;
    return r;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) {
        fail(ps, "truncated \\u escape");
        return -1;
    }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else {
            fail(ps, "bad hex digit in \\u escape");
            return -1;
        }
    }
    ps->p += 4;
    *out = v;
    return 0;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes available), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        min = 0x10000;
    } else
        return 0;
    if (n < len)
        return 0;
    unsigned v = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    return len;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* ps->p is at the opening quote. The decoded text is never longer than the literal. */
static int parse_string(parser *ps, const char **out, size_t *out_len)
{
    ps->p++;
    const char *q = ps->p;
    while (q < ps->end && *q != '"')
        q += (*q == '\\' && ps->end - q > 1) ? 2 : 1;
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return -1;
    }
    char *o = doc_alloc(ps, (size_t)(q - ps->p) + 1);
    if (!o)
        return -1;
    size_t n = 0;
    while (1) {
        if (ps->p >= ps->end) {
            fail(ps, "unterminated string");
            return -1;
        }
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20) {
            fail(ps, "control character 0x%02x in string", c);
            return -1;
        }
        if (c == '\\') {
            ps->p++;
            if (ps->p >= ps->end) {
                fail(ps, "unterminated escape");
                return -1;
            }
            char e = *ps->p++;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                o[n++] = e;
                break;
            case 'b':
                o[n++] = '\b';
                break;
            case 'f':
                o[n++] = '\f';
                break;
            case 'n':
                o[n++] = '\n';
                break;
            case 'r':
                o[n++] = '\r';
                break;
            case 't':
                o[n++] = '\t';
                break;
            case 'u': {
                unsigned cp;
                if (hex4(ps, &cp))
                    return -1;
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    fail(ps, "lone low surrogate");
                    return -1;
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                        fail(ps, "high surrogate without a low one");
                        return -1;
                    }
                    ps->p += 2;
                    if (hex4(ps, &lo))
                        return -1;
                    if (lo < 0xdc00 || lo > 0xdfff) {
                        fail(ps, "bad low surrogate");
                        return -1;
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                n += put_utf8(o + n, cp);
                break;
            }
            default:
                ps->p--;
                if (e > 0x20 && e < 0x7f)
                    fail(ps, "bad escape '\\%c'", e);
                else /* the file's byte, not text */
                    fail(ps, "bad escape: byte 0x%02x after '\\'", (unsigned char)e);
                return -1;
            }
            continue;
        }
        size_t l = utf8_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (!l) {
            fail(ps, "invalid UTF-8");
            return -1;
        }
        memcpy(o + n, ps->p, l);
        n += l;
        ps->p += l;
    }
    o[n] = 0;
    *out = o;
    *out_len = n;
    return 0;
}

static int parse_number(parser *ps, mim_json *v)
{
    const char *s = ps->p, *p = ps->p, *e = ps->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !(*p >= '0' && *p <= '9')) {
        fail(ps, "bad number");
        return -1;
    }
    if (*p == '0') {
        p++;
    } else {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !(*p >= '0' && *p <= '9')) {
            ps->p = p;
            fail(ps, "bad fraction");
            return -1;
        }
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !(*p >= '0' && *p <= '9')) {
            ps->p = p;
            fail(ps, "bad exponent");
            return -1;
        }
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    size_t n = (size_t)(p - s);
    char *lit = doc_alloc(ps, n + 1);
    if (!lit)
        return -1;
    memcpy(lit, s, n);
    lit[n] = 0;
    v->type = MIM_JSON_NUMBER;
    v->str = lit;
    v->str_len = n;
    /* The grammar above is a subset of strtod's; the C locale makes '.' the decimal point. */
    if (!ps->c_locale)
        ps->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!ps->c_locale) {
        fail(ps, "cannot create the C locale");
        return -1;
    }
    v->number = strtod_l(lit, NULL, ps->c_locale);
    ps->p = p;
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    const mim_json *x = *(mim_json *const *)a, *y = *(mim_json *const *)b;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static mim_json *parse_value(parser *ps, int depth);

static int check_duplicates(parser *ps, mim_json *obj)
{
    if (obj->n_children < 2)
        return 0;
    mim_json **v = malloc(obj->n_children * sizeof *v);
    if (!v) {
        fail(ps, "out of memory");
        return -1;
    }
    size_t i = 0;
    for (mim_json *c = obj->child; c; c = c->next)
        v[i++] = c;
    qsort(v, obj->n_children, sizeof *v, key_cmp);
    int rc = 0;
    for (i = 1; i < obj->n_children; i++)
        if (!key_cmp(&v[i - 1], &v[i])) {
            fail(ps, "duplicate key \"%.60s\" in object", v[i]->key);
            rc = -1;
            break;
        }
    free(v);
    return rc;
}

static mim_json *parse_value(parser *ps, int depth)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "unexpected end of text");
        return NULL;
    }
    mim_json *v = doc_alloc(ps, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    char c = *ps->p;
    if (c == '{' || c == '[') {
        int is_obj = c == '{';
        char close = is_obj ? '}' : ']';
        if (depth >= MIM_JSON_MAX_DEPTH) {
            fail(ps, "nesting deeper than %d", MIM_JSON_MAX_DEPTH);
            return NULL;
        }
        v->type = is_obj ? MIM_JSON_OBJECT : MIM_JSON_ARRAY;
        ps->p++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return v;
        }
        mim_json **tail = &v->child;
        while (1) {
            const char *key = NULL;
            size_t key_len = 0;
            if (is_obj) {
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != '"') {
                    fail(ps, "expected a string key");
                    return NULL;
                }
                if (parse_string(ps, &key, &key_len))
                    return NULL;
                skip_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    fail(ps, "expected ':'");
                    return NULL;
                }
                ps->p++;
            }
            mim_json *item = parse_value(ps, depth + 1);
            if (!item)
                return NULL;
            item->key = key;
            item->key_len = key_len;
            *tail = item;
            tail = &item->next;
            v->n_children++;
            skip_ws(ps);
            if (ps->p >= ps->end) {
                fail(ps, "unexpected end of text");
                return NULL;
            }
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p == close) {
                ps->p++;
                break;
            }
            fail(ps, "expected ',' or '%c'", close);
            return NULL;
        }
        if (is_obj && check_duplicates(ps, v))
            return NULL;
        return v;
    }
    if (c == '"') {
        v->type = MIM_JSON_STRING;
        if (parse_string(ps, &v->str, &v->str_len))
            return NULL;
        return v;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return parse_number(ps, v) ? NULL : v;
    static const struct {
        const char *word;
        mim_json_type type;
    } words[] = {{"null", MIM_JSON_NULL}, {"false", MIM_JSON_FALSE}, {"true", MIM_JSON_TRUE}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, words[i].word, n)) {
            ps->p += n;
            v->type = words[i].type;
            return v;
        }
    }
    fail(ps, "unexpected character 0x%02x", (unsigned char)c);
    return NULL;
}

int mim_json_parse(const char *text, size_t len, mim_json_doc **out, char *err, size_t err_size)
{
    *out = NULL;
    mim_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc) {
        if (err && err_size)
            snprintf(err, err_size, "JSON: out of memory");
        return -1;
    }
    parser ps = {text, text + len, text, doc, err, err_size, 0, (locale_t)0};
    doc->root = parse_value(&ps, 0);
    if (doc->root) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            fail(&ps, "text after the value");
    }
    if (ps.c_locale)
        freelocale(ps.c_locale);
    if (ps.failed) {
        mim_json_doc_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

void mim_json_doc_free(mim_json_doc *doc)
{
    if (!doc)
        return;
    block *b = doc->blocks;
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
    free(doc);
}

const mim_json *mim_json_root(const mim_json_doc *doc)
{
    return doc ? doc->root : NULL;
}

const mim_json *mim_json_get(const mim_json *obj, const char *key)
{
    if (!obj || obj->type != MIM_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (const mim_json *c = obj->child; c; c = c->next)
        if (c->key_len == n && !memcmp(c->key, key, n))
            return c;
    return NULL;
}

int mim_json_u64(const mim_json *v, uint64_t *out)
{
    if (!v || v->type != MIM_JSON_NUMBER || !v->str_len)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v->str_len; i++) {
        char c = v->str[i];
        if (c < '0' || c > '9')
            return -1;
        unsigned d = (unsigned)(c - '0');
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

size_t mim_json_quote(char *buf, size_t cap, size_t *len, const char *s, size_t s_len)
{
    size_t need = 2;
    for (size_t i = 0; i < s_len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f')
            need += 2;
        else if (c < 0x20)
            need += 6;
        else
            need += 1;
    }
    if (!buf || cap - *len < need)
        return need;
    char *o = buf + *len;
    *o++ = '"';
    for (size_t i = 0; i < s_len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            *o++ = '\\';
            *o++ = '"';
            break;
        case '\\':
            *o++ = '\\';
            *o++ = '\\';
            break;
        case '\n':
            *o++ = '\\';
            *o++ = 'n';
            break;
        case '\r':
            *o++ = '\\';
            *o++ = 'r';
            break;
        case '\t':
            *o++ = '\\';
            *o++ = 't';
            break;
        case '\b':
            *o++ = '\\';
            *o++ = 'b';
            break;
        case '\f':
            *o++ = '\\';
            *o++ = 'f';
            break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                *o++ = '\\';
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            } else {
                *o++ = (char)c;
            }
        }
    }
    *o++ = '"';
    *len += need;
    return need;
}
