/* mim-json.h: a small, strict JSON (RFC 8259) reader for model-file headers and test data.
 *
 * The whole text is parsed into a tree owned by a mim_json_doc. Strict means: one value with
 * optional surrounding white space and nothing else, no trailing commas, no comments, no
 * duplicate object keys, no control characters inside strings, valid UTF-8 only, \u escapes
 * (with surrogate pairs) decoded to UTF-8, nesting at most MIM_JSON_MAX_DEPTH deep. Errors name
 * the byte offset where parsing stopped.
 *
 * Strings are NUL-terminated and also carry their length (a \u0000 escape may embed a NUL).
 * Numbers keep their literal text, so integers larger than 2^53 (file offsets) are read exactly
 * with mim_json_u64().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MIM_JSON_MAX_DEPTH 64

typedef enum {
    MIM_JSON_NULL,
    MIM_JSON_FALSE,
    MIM_JSON_TRUE,
    MIM_JSON_NUMBER,
    MIM_JSON_STRING,
    MIM_JSON_ARRAY,
    MIM_JSON_OBJECT,
} mim_json_type;

typedef struct mim_json mim_json;
struct mim_json {
    mim_json_type type;
    const char *key; /* member name when the parent is an object, else NULL */
    size_t key_len;
    const char *str; /* STRING: decoded text; NUMBER: the literal as written */
    size_t str_len;
    double number;     /* NUMBER */
    size_t n_children; /* ARRAY / OBJECT */
    mim_json *child;   /* first element / member, in document order */
    mim_json *next;    /* next sibling */
};

typedef struct mim_json_doc mim_json_doc;

/* Parses text[0..len). On success *out owns the tree (free with mim_json_doc_free) and 0 is
 * returned; on failure -1 with the reason in err. */
int mim_json_parse(const char *text, size_t len, mim_json_doc **out, char *err, size_t err_size);
void mim_json_doc_free(mim_json_doc *doc);
const mim_json *mim_json_root(const mim_json_doc *doc);

/* The member `key` of an object, or NULL (also when obj is not an object). */
const mim_json *mim_json_get(const mim_json *obj, const char *key);
/* A NUMBER written as a plain non-negative integer (digits only) that fits in 64 bits:
 * 0 and the value in *out, else -1. */
int mim_json_u64(const mim_json *v, uint64_t *out);

/* Appends `s` as a JSON string literal (quotes included, escapes as needed) to buf, whose
 * capacity is cap and current length *len. Returns the number of bytes the literal needs; when it
 * does not fit, nothing is written. Pass buf = NULL to measure. */
size_t mim_json_quote(char *buf, size_t cap, size_t *len, const char *s, size_t s_len);
