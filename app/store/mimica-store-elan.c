/* mimica-store-elan.c: ELAN .eaf in (the rules are in mimica-store.h, mimica_store_import_elan).
 * The file is read in chunks through GMarkup into time slots, tiers and annotations, checked as
 * it goes (structure, ids); then the times are resolved (unaligned slots, REF_ANNOTATION
 * chains), mapped to frames at the video's frame rate and written in one transaction. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mimica-store-private.h"

#define MAX_DEPTH   32                /* EAF nests 5 deep (.../ALIGNABLE_ANNOTATION/VALUE) */
#define MAX_TIME_MS ((gint64)1 << 40) /* 34 years: TIME_VALUE and TIME_ORIGIN bound */
#define CHUNK       (64 * 1024)       /* bytes read and parsed at a time */
#define MAX_LISTED  20                /* unknown tiers named in the summary */
#define SHOWN       80                /* characters of an id or value quoted in a message */
#define UNPLACED    G_MININT64        /* an unaligned slot not (yet) given a time */

typedef struct {
    char *id;
    gint64 time; /* ms, or UNPLACED */
    int line;
    gboolean interpolated;
    const char *why; /* why an unaligned slot could not be placed */
} Slot;

typedef struct {
    char *id, *annotator;
    int line;
    int au; /* 0: not an AU tier */
    gint64 n_annotations;
} Tier;

typedef struct {
    char *id;
    char *ref1, *ref2; /* ALIGNABLE: the two slot ids; REF: the parent annotation's id in ref1 */
    GString *value;    /* NULL until its ANNOTATION_VALUE */
    int tier, line;
    gboolean is_ref;
    int state;  /* 0: times unknown, 1: on the walk now (REF chains), 2: t0, t1 known */
    int parent; /* REF: index of the annotation referred to */
    gint64 t0, t1;
    gboolean interpolated;
} Ann;

typedef enum {
    E_OTHER,
    E_DOC,
    E_HEADER,
    E_MEDIA,
    E_TIME_ORDER,
    E_SLOT,
    E_TIER,
    E_ANNOTATION,
    E_ALIGNABLE,
    E_REF,
    E_VALUE,
} Element;

static const struct {
    const char *name;
    Element parent, parent2; /* where it may be; E_OTHER in parent: the root */
} elements[] = {
    [E_DOC] = {"ANNOTATION_DOCUMENT", E_OTHER, E_OTHER},
    [E_HEADER] = {"HEADER", E_DOC, E_DOC},
    [E_MEDIA] = {"MEDIA_DESCRIPTOR", E_HEADER, E_HEADER},
    [E_TIME_ORDER] = {"TIME_ORDER", E_DOC, E_DOC},
    [E_SLOT] = {"TIME_SLOT", E_TIME_ORDER, E_TIME_ORDER},
    [E_TIER] = {"TIER", E_DOC, E_DOC},
    [E_ANNOTATION] = {"ANNOTATION", E_TIER, E_TIER},
    [E_ALIGNABLE] = {"ALIGNABLE_ANNOTATION", E_ANNOTATION, E_ANNOTATION},
    [E_REF] = {"REF_ANNOTATION", E_ANNOTATION, E_ANNOTATION},
    [E_VALUE] = {"ANNOTATION_VALUE", E_ALIGNABLE, E_REF},
};

typedef struct {
    char *path; /* for messages: valid UTF-8 */
    char *video_name;
    GMarkupParseContext *ctx;
    Element stack[MAX_DEPTH + 1];
    int depth;
    gboolean root_seen;
    gboolean started; /* something (an element, a declaration, a comment) was read */
    GArray *slots, *tiers, *anns;
    GHashTable *slot_ids, *tier_ids, *ann_ids; /* id -> index + 1 */
    int tier, ann;                             /* current ones, or -1 */
    gboolean ann_done;                         /* the current ANNOTATION has its one child */
    char *media;
    int media_rank; /* 3: the video's file name, 2: a video MIME type, 1: any other */
    gint64 origin;
} Eaf;

/* An id or value as a message quotes it: at most SHOWN characters. */
static char *shown(const char *s)
{
    if (g_utf8_strlen(s, -1) <= SHOWN)
        return g_strdup(s);
    g_autofree char *cut = g_utf8_substring(s, 0, SHOWN);
    return g_strconcat(cut, "...", NULL);
}

/* GMarkup's line where it is now (in a callback: just after the tag). GMarkup counts a line as
 * begun when it steps onto the '\n' ending the one before (char 1), so that one is corrected;
 * and it misses a '\n' at the start of a chunk, so the file is parsed in one chunk. */
static int fix_line(int line, int ch)
{
    return ch == 1 && line > 1 ? line - 1 : line;
}

static int current_line(Eaf *e)
{
    int line = 0, ch = 0;
    g_markup_parse_context_get_position(e->ctx, &line, &ch);
    return fix_line(line, ch);
}

static const char *attr(const char **names, const char **values, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return values[i];
    return NULL;
}

/* A required id attribute, unique among its kind: ITEMS (Slot, Tier or Ann, whose int line is at
 * LINE_AT) get the new item at INDEX; IDS maps an id to its index + 1. */
static gboolean take_id(Eaf *e, GHashTable *ids, GArray *items, gsize line_at, const char *element,
                        const char *name, const char *value, int line, GError **error)
{
    if (!value || !*value) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE, "%s:%d: %s without %s",
                    e->path, line, element, name);
        return FALSE;
    }
    gpointer seen = g_hash_table_lookup(ids, value);
    if (seen) {
        g_autofree char *id = shown(value);
        const char *item =
            items->data + (gsize)(GPOINTER_TO_INT(seen) - 1) * g_array_get_element_size(items);
        int first;
        memcpy(&first, item + line_at, sizeof first);
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: duplicate %s '%s' (first on line %d)", e->path, line, name, id, first);
        return FALSE;
    }
    g_hash_table_insert(ids, g_strdup(value), GINT_TO_POINTER(items->len + 1));
    return TRUE;
}

static gboolean parse_ms(Eaf *e, int line, const char *name, const char *text, gint64 min,
                         gint64 *out, GError **error)
{
    if (!g_ascii_string_to_signed(text, 10, min, MAX_TIME_MS, out, NULL)) {
        g_autofree char *t = shown(text);
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: %s '%s' is not a whole number of milliseconds in %lld..%lld", e->path,
                    line, name, t, (long long)min, (long long)MAX_TIME_MS);
        return FALSE;
    }
    return TRUE;
}

/* "AU12", "AU 12", "au_06", "AU-6" (spaces around trimmed) -> 12, 6; 0 for anything else. */
static int tier_au(const char *id)
{
    while (*id == ' ')
        id++;
    if (g_ascii_tolower(id[0]) != 'a' || g_ascii_tolower(id[1]) != 'u')
        return 0;
    const char *p = id + 2;
    if (*p == ' ' || *p == '_' || *p == '-')
        p++;
    int au = 0, digits = 0;
    for (; g_ascii_isdigit(*p) && digits < 4; p++, digits++)
        au = au * 10 + (*p - '0');
    while (*p == ' ')
        p++;
    return digits && !*p && au >= 1 && au <= 99 ? au : 0;
}

/* The file name of a MEDIA_URL ("file:///x/a%20b.mp4") or RELATIVE_MEDIA_URL ("./a b.mp4"). */
static char *url_file_name(const char *url)
{
    const char *slash = strrchr(url, '/');
    g_autofree char *raw = g_strdup(slash ? slash + 1 : url);
    char *name = g_uri_unescape_string(raw, NULL);
    return name ? name : g_steal_pointer(&raw);
}

static void media_descriptor(Eaf *e, const char **names, const char **values, int line,
                             GError **error)
{
    const char *url = attr(names, values, "MEDIA_URL");
    const char *rel = attr(names, values, "RELATIVE_MEDIA_URL");
    const char *mime = attr(names, values, "MIME_TYPE");
    const char *origin = attr(names, values, "TIME_ORIGIN");
    const char *used = url && *url ? url : rel ? rel : "";
    g_autofree char *a = url_file_name(used);
    g_autofree char *b = rel ? url_file_name(rel) : NULL;
    int rank =
        (e->video_name && (strcmp(a, e->video_name) == 0 || (b && strcmp(b, e->video_name) == 0)))
            ? 3
        : mime && g_str_has_prefix(mime, "video/") ? 2
                                                   : 1;
    gint64 t = 0;
    if (origin && !parse_ms(e, line, "TIME_ORIGIN", origin, -MAX_TIME_MS, &t, error))
        return;
    if (rank > e->media_rank) {
        e->media_rank = rank;
        e->origin = t;
        g_free(e->media);
        e->media = g_strdup(used);
    }
}

static void on_start(GMarkupParseContext *ctx, const char *name, const char **names,
                     const char **values, gpointer data, GError **error)
{
    Eaf *e = data;
    int line = current_line(e);
    e->started = TRUE;
    Element el = E_OTHER;
    for (int i = E_DOC; i <= E_VALUE; i++)
        if (strcmp(name, elements[i].name) == 0)
            el = i;
    Element parent = e->depth ? e->stack[e->depth - 1] : E_OTHER;
    g_autofree char *n = shown(name);
    if (e->depth == 0) {
        if (e->root_seen) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: element <%s> after the end of the document", e->path, line, n);
            return;
        }
        if (el != E_DOC) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: not an ELAN file: the root element is <%s>, want "
                        "<ANNOTATION_DOCUMENT>",
                        e->path, line, n);
            return;
        }
        e->root_seen = TRUE;
    } else if (e->depth >= MAX_DEPTH) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: elements nested more than %d deep (an ELAN file nests 5)", e->path,
                    line, MAX_DEPTH);
        return;
    } else if (parent == E_VALUE) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: element <%s> inside ANNOTATION_VALUE (want text only)", e->path, line,
                    n);
        return;
    } else if (el != E_OTHER && parent != elements[el].parent && parent != elements[el].parent2) {
        g_set_error(
            error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
            "%s:%d: <%s> inside <%s>, want it inside <%s>%s%s", e->path, line, n,
            parent == E_OTHER ? "another element" : elements[parent].name,
            elements[el].parent == E_OTHER ? "nothing (the root)"
                                           : elements[elements[el].parent].name,
            elements[el].parent2 != elements[el].parent ? " or " : "",
            elements[el].parent2 != elements[el].parent ? elements[elements[el].parent2].name : "");
        return;
    }
    e->stack[e->depth++] = el;

    switch (el) {
    case E_DOC: {
        const char *format = attr(names, values, "FORMAT");
        const char *version = format ? format : attr(names, values, "VERSION");
        if (version) {
            gint64 major = 0;
            const char *dot = strchr(version, '.');
            g_autofree char *head = dot ? g_strndup(version, dot - version) : g_strdup(version);
            g_autofree char *v = shown(version);
            if (!g_ascii_string_to_signed(head, 10, 0, 99, &major, NULL) || major < 2 ||
                major > 3) {
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: EAF %s '%s' is not a version this import reads (2.x, 3.0)",
                            e->path, line, format ? "FORMAT" : "VERSION", v);
                return;
            }
        }
        break;
    }
    case E_HEADER: {
        const char *units = attr(names, values, "TIME_UNITS");
        if (units && strcmp(units, "milliseconds") != 0) {
            g_autofree char *u = shown(units);
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: TIME_UNITS '%s' is not supported (want milliseconds, what ELAN "
                        "writes)",
                        e->path, line, u);
            return;
        }
        break;
    }
    case E_MEDIA:
        media_descriptor(e, names, values, line, error);
        break;
    case E_SLOT: {
        Slot s = {NULL, UNPLACED, line, FALSE, NULL};
        const char *id = attr(names, values, "TIME_SLOT_ID");
        const char *value = attr(names, values, "TIME_VALUE");
        if (!take_id(e, e->slot_ids, e->slots, G_STRUCT_OFFSET(Slot, line), "TIME_SLOT",
                     "TIME_SLOT_ID", id, line, error))
            return;
        s.id = g_strdup(id);
        g_array_append_val(e->slots, s);
        if (value && !parse_ms(e, line, "TIME_VALUE", value, 0,
                               &g_array_index(e->slots, Slot, e->slots->len - 1).time, error))
            return;
        break;
    }
    case E_TIER: {
        const char *id = attr(names, values, "TIER_ID");
        if (!take_id(e, e->tier_ids, e->tiers, G_STRUCT_OFFSET(Tier, line), "TIER", "TIER_ID", id,
                     line, error))
            return;
        const char *who = attr(names, values, "ANNOTATOR");
        g_autofree char *trimmed = g_strstrip(g_strdup(who ? who : ""));
        Tier t = {g_strdup(id), *trimmed ? g_strdup(who) : NULL, line, tier_au(id), 0};
        g_array_append_val(e->tiers, t);
        e->tier = e->tiers->len - 1;
        break;
    }
    case E_ANNOTATION:
        e->ann_done = FALSE;
        break;
    case E_ALIGNABLE:
    case E_REF: {
        if (e->ann_done) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: a second annotation inside one <ANNOTATION>", e->path, line);
            return;
        }
        e->ann_done = TRUE;
        const char *id = attr(names, values, "ANNOTATION_ID");
        if (!take_id(e, e->ann_ids, e->anns, G_STRUCT_OFFSET(Ann, line), name, "ANNOTATION_ID", id,
                     line, error))
            return;
        Ann a = {
            .id = g_strdup(id), .tier = e->tier, .line = line, .is_ref = el == E_REF, .parent = -1};
        g_array_append_val(e->anns, a);
        Ann *p = &g_array_index(e->anns, Ann, e->anns->len - 1);
        g_array_index(e->tiers, Tier, e->tier).n_annotations++;
        e->ann = e->anns->len - 1;
        const char *names_needed[2] = {el == E_REF ? "ANNOTATION_REF" : "TIME_SLOT_REF1",
                                       el == E_REF ? NULL : "TIME_SLOT_REF2"};
        for (int k = 0; k < 2 && names_needed[k]; k++) {
            const char *v = attr(names, values, names_needed[k]);
            if (!v || !*v) {
                g_autofree char *i = shown(id);
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: annotation '%s' without %s", e->path, line, i, names_needed[k]);
                return;
            }
            *(k ? &p->ref2 : &p->ref1) = g_strdup(v);
        }
        break;
    }
    case E_VALUE: {
        Ann *a = &g_array_index(e->anns, Ann, e->ann);
        if (a->value) {
            g_autofree char *i = shown(a->id);
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: annotation '%s' has a second ANNOTATION_VALUE", e->path, line, i);
            return;
        }
        a->value = g_string_new(NULL);
        break;
    }
    default:
        break;
    }
}

static void on_end(GMarkupParseContext *ctx, const char *name, gpointer data, GError **error)
{
    Eaf *e = data;
    Element el = e->stack[--e->depth];
    if (el == E_ALIGNABLE || el == E_REF) {
        Ann *a = &g_array_index(e->anns, Ann, e->ann);
        if (!a->value) {
            g_autofree char *i = shown(a->id);
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: annotation '%s' has no ANNOTATION_VALUE", e->path, a->line, i);
        }
        e->ann = -1;
    } else if (el == E_ANNOTATION && !e->ann_done) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: <ANNOTATION> without an ALIGNABLE_ANNOTATION or REF_ANNOTATION",
                    e->path, current_line(e));
    } else if (el == E_TIER) {
        e->tier = -1;
    }
}

static void on_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data,
                    GError **error)
{
    Eaf *e = data;
    if (e->depth && e->stack[e->depth - 1] == E_VALUE)
        g_string_append_len(g_array_index(e->anns, Ann, e->ann).value, text, len);
}

/* The XML declaration's encoding: ELAN writes UTF-8, and GMarkup reads nothing else. */
static void on_passthrough(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data,
                           GError **error)
{
    Eaf *e = data;
    gboolean first = !e->started;
    e->started = TRUE;
    /* the declaration is the document's first text (GMarkup reports the line after it) */
    if (!first || len < 5 || strncmp(text, "<?xml", 5) != 0 ||
        (len > 5 && !g_ascii_isspace(text[5])))
        return;
    g_autofree char *decl = g_strndup(text, len);
    const char *enc = strstr(decl, "encoding");
    if (!enc)
        return;
    enc += 8;
    while (g_ascii_isspace(*enc) || *enc == '=')
        enc++;
    char quote = *enc;
    const char *close = quote == '"' || quote == '\'' ? strchr(enc + 1, quote) : NULL;
    if (!close)
        return;
    g_autofree char *name = g_strndup(enc + 1, close - enc - 1);
    if (g_ascii_strcasecmp(name, "UTF-8") != 0 && g_ascii_strcasecmp(name, "UTF8") != 0 &&
        g_ascii_strcasecmp(name, "US-ASCII") != 0 && g_ascii_strcasecmp(name, "ASCII") != 0) {
        g_autofree char *n = shown(name);
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: encoding '%s' is not supported (ELAN writes UTF-8: save the file as "
                    "UTF-8)",
                    e->path, 1, n);
    }
}

static void slot_clear(gpointer p)
{
    g_free(((Slot *)p)->id);
}

static void tier_clear(gpointer p)
{
    Tier *t = p;
    g_free(t->id);
    g_free(t->annotator);
}

static void ann_clear(gpointer p)
{
    Ann *a = p;
    g_free(a->id);
    g_free(a->ref1);
    g_free(a->ref2);
    if (a->value)
        g_string_free(a->value, TRUE);
}

/* A GMarkup error as file:line: message (its own "Error on line N char M: " dropped). */
static void markup_error(Eaf *e, GError *local, GError **error)
{
    if (local->domain == MIMICA_STORE_ERROR) {
        g_propagate_error(error, local);
        return;
    }
    int line = current_line(e), ch = 0, n = 0;
    const char *msg = local->message;
    if (sscanf(msg, "Error on line %d char %d%n", &line, &ch, &n) == 2 ||
        sscanf(msg, "Error on line %d%n", &line, &n) == 1) {
        line = fix_line(line, ch);
        msg = strstr(msg + n, ": ") ? strstr(msg + n, ": ") + 2 : msg;
    }
    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                "%s:%d: not well-formed XML: %s", e->path, line, msg);
    g_error_free(local);
}

/* Reads PATH (at most MIMICA_ELAN_MAX_BYTES, also from a pipe) and parses it in one chunk
 * (fix_line); FALSE with ERROR on a read or parse failure. */
static gboolean read_eaf(Eaf *e, const char *path, GError **error)
{
    int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int err = fd < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : errno;
        if (fd >= 0)
            close(fd);
        g_set_error(error, MIMICA_STORE_ERROR,
                    err == ENOENT ? MIMICA_STORE_ERROR_NOT_FOUND : MIMICA_STORE_ERROR_IO,
                    "%s: cannot read: %s", e->path,
                    err == ENOENT   ? "no such file"
                    : err == EACCES ? "permission denied"
                    : err == EISDIR ? "it is a folder"
                                    : g_strerror(err));
        return FALSE;
    }
    if (S_ISREG(st.st_mode) && st.st_size > MIMICA_ELAN_MAX_BYTES) {
        close(fd);
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s: %lld bytes, more than the %d MiB an ELAN file may have here", e->path,
                    (long long)st.st_size, MIMICA_ELAN_MAX_BYTES >> 20);
        return FALSE;
    }
    GByteArray *bytes = g_byte_array_sized_new(S_ISREG(st.st_mode) ? st.st_size + 1 : CHUNK);
    gboolean ok = TRUE;
    for (;;) {
        guint len = bytes->len;
        g_byte_array_set_size(bytes, len + CHUNK);
        ssize_t n = read(fd, bytes->data + len, CHUNK);
        g_byte_array_set_size(bytes, len + MAX(n, 0));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_IO, "%s: cannot read: %s",
                        e->path, g_strerror(err));
            ok = FALSE;
            break;
        }
        if (n == 0)
            break;
        /* a pipe or device does not say its size; /dev/zero is refused at its first NUL */
        if (bytes->len > MIMICA_ELAN_MAX_BYTES || memchr(bytes->data + len, '\0', n))
            break;
    }
    close(fd);
    const char *p = (const char *)bytes->data, *end = p + bytes->len;
    const char *nul = ok ? memchr(p, '\0', bytes->len) : NULL;
    if (!ok) {
    } else if (bytes->len == 0) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s: empty file (want an ELAN .eaf document)", e->path);
        ok = FALSE;
    } else if (bytes->len >= 2 && (bytes->data[0] == 0xff || bytes->data[0] == 0xfe) &&
               bytes->data[1] == (bytes->data[0] ^ 1)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:1: UTF-16 text (ELAN writes UTF-8: save the file as UTF-8)", e->path);
        ok = FALSE;
    } else if (nul) {
        int line = 1;
        for (const char *q = p; q < nul; q++)
            line += *q == '\n';
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: NUL byte (not a text file)", e->path, line);
        ok = FALSE;
    } else if (bytes->len > MIMICA_ELAN_MAX_BYTES) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s: more than the %d MiB an ELAN file may have here", e->path,
                    MIMICA_ELAN_MAX_BYTES >> 20);
        ok = FALSE;
    }
    const char *bad = NULL;
    if (ok && !g_utf8_validate(p, end - p, &bad)) {
        /* checked here because GMarkup 2.74 notes bad UTF-8 in a comment, DOCTYPE or <?...?>
         * in its GError but parses on, even to success (found by tests/fuzz/fuzz-elan) */
        int line = 1;
        for (const char *q = p; q < bad; q++)
            line += *q == '\n';
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: not UTF-8 text (byte 0x%02X; ELAN writes UTF-8: save the file as "
                    "UTF-8)",
                    e->path, line, (guint8)*bad);
        ok = FALSE;
    }
    if (ok) {
        if (bytes->len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
            p += 3; /* a UTF-8 byte order mark */
        GError *local = NULL;
        if (!g_markup_parse_context_parse(e->ctx, p, end - p, &local) || local ||
            !g_markup_parse_context_end_parse(e->ctx, &local) || local) {
            markup_error(e, local, error);
            ok = FALSE;
        }
    }
    g_byte_array_unref(bytes);
    return ok;
}

/* Places unaligned slots evenly between their aligned neighbours in TIME_ORDER. */
static void place_slots(Eaf *e)
{
    Slot *s = (Slot *)e->slots->data;
    int n = e->slots->len, prev = -1;
    for (int i = 0; i < n; i++) {
        if (s[i].time != UNPLACED) {
            prev = i;
            continue;
        }
        int next = i;
        while (next < n && s[next].time == UNPLACED)
            next++;
        for (int k = i; k < next; k++) {
            s[k].interpolated = TRUE;
            if (prev < 0)
                s[k].why = "no slot with a TIME_VALUE before it in TIME_ORDER";
            else if (next >= n)
                s[k].why = "no slot with a TIME_VALUE after it in TIME_ORDER";
            else if (s[next].time < s[prev].time)
                s[k].why = "the slots with a TIME_VALUE around it are out of order";
            else
                s[k].time = s[prev].time + (gint64)((double)(s[next].time - s[prev].time) *
                                                        (k - prev) / (next - prev) +
                                                    0.5);
        }
        i = next - 1;
    }
}

/* The times of every ALIGNABLE_ANNOTATION, then of every REF_ANNOTATION (its parent's). */
static gboolean resolve_times(Eaf *e, GError **error)
{
    Ann *anns = (Ann *)e->anns->data;
    int n = e->anns->len;
    for (int i = 0; i < n; i++) {
        Ann *a = &anns[i];
        if (a->is_ref)
            continue;
        const Slot *s[2];
        const char *refs[2] = {a->ref1, a->ref2};
        for (int k = 0; k < 2; k++) {
            gpointer at = g_hash_table_lookup(e->slot_ids, refs[k]);
            if (!at) {
                g_autofree char *id = shown(a->id), *r = shown(refs[k]);
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: annotation '%s': TIME_SLOT_REF%d '%s' is not a time slot of "
                            "TIME_ORDER",
                            e->path, a->line, id, k + 1, r);
                return FALSE;
            }
            s[k] = &g_array_index(e->slots, Slot, GPOINTER_TO_INT(at) - 1);
            if (s[k]->time == UNPLACED) {
                g_autofree char *id = shown(a->id), *r = shown(refs[k]);
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: annotation '%s': time slot '%s' (line %d) has no TIME_VALUE "
                            "and cannot be placed: %s",
                            e->path, a->line, id, r, s[k]->line, s[k]->why);
                return FALSE;
            }
        }
        if (s[0] == s[1] || s[0]->time >= s[1]->time) {
            g_autofree char *id = shown(a->id), *r1 = shown(a->ref1), *r2 = shown(a->ref2);
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: annotation '%s' %s: TIME_SLOT_REF1 '%s' at %lld ms, "
                        "TIME_SLOT_REF2 '%s' at %lld ms",
                        e->path, a->line, id,
                        s[0]->time == s[1]->time ? "has no duration" : "ends before it starts", r1,
                        (long long)s[0]->time, r2, (long long)s[1]->time);
            return FALSE;
        }
        a->t0 = s[0]->time;
        a->t1 = s[1]->time;
        a->interpolated = s[0]->interpolated || s[1]->interpolated;
        a->state = 2;
    }
    /* REF chains, each walked once: up to an annotation with times, then back down. */
    g_autoptr(GArray) path = g_array_new(FALSE, FALSE, sizeof(int));
    for (int i = 0; i < n; i++) {
        int cur = i;
        g_array_set_size(path, 0);
        while (anns[cur].state != 2) {
            Ann *a = &anns[cur];
            if (a->state == 1) {
                g_autofree char *id = shown(a->id);
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: annotation '%s': its ANNOTATION_REF chain comes back to it "
                            "(a cycle)",
                            e->path, a->line, id);
                return FALSE;
            }
            gpointer at = g_hash_table_lookup(e->ann_ids, a->ref1);
            if (!at) {
                g_autofree char *id = shown(a->id), *r = shown(a->ref1);
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: annotation '%s': ANNOTATION_REF '%s' is not an annotation of "
                            "this file",
                            e->path, a->line, id, r);
                return FALSE;
            }
            a->state = 1;
            a->parent = GPOINTER_TO_INT(at) - 1;
            g_array_append_val(path, cur);
            cur = a->parent;
        }
        for (guint k = path->len; k-- > 0;) {
            Ann *a = &anns[g_array_index(path, int, k)];
            a->t0 = anns[cur].t0;
            a->t1 = anns[cur].t1;
            a->interpolated = anns[cur].interpolated;
            a->state = 2;
        }
    }
    return TRUE;
}

/* Frame boundary nearest to T ms: the inverse of the export's round(frame * 1000 * den / num). */
static gint64 ms_to_frame(gint64 t, int num, int den)
{
    __int128 x = (__int128)2 * t * num + (__int128)1000 * den;
    return (gint64)(x / ((__int128)2000 * den));
}

typedef struct {
    int au;
    gint64 start, end; /* frames, inclusive */
    MimicaLabelValue value;
    const char *annotator;
    int line;
} Event;

/* Values: absent, present, A..E in any case, spaces trimmed; empty = present (*EMPTY set). */
static gboolean parse_value(const char *text, MimicaLabelValue *out, gboolean *empty)
{
    g_autofree char *v = g_strstrip(g_ascii_strdown(text, -1));
    *empty = !*v;
    if (!*v || strcmp(v, "present") == 0)
        *out = MIMICA_LABEL_PRESENT;
    else if (strcmp(v, "absent") == 0)
        *out = MIMICA_LABEL_ABSENT;
    else if (v[0] >= 'a' && v[0] <= 'e' && !v[1])
        *out = MIMICA_LABEL_A + (v[0] - 'a');
    else
        return FALSE;
    return TRUE;
}

/* The events of the AU tiers, in file order, checked against the video; counts in SUMMARY. */
static gboolean make_events(Eaf *e, MimicaStore *store, const MimicaVideoFacts *facts,
                            gint64 video_id, const char *default_annotator, MimicaElanImport *sum,
                            GArray *events, GError **error)
{
    Tier *tiers = (Tier *)e->tiers->data;
    Ann *anns = (Ann *)e->anns->data;
    /* symbolic subdivision on an AU tier: (tier, parent) -> first child */
    g_autoptr(GHashTable) children =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (guint i = 0; i < e->anns->len; i++) {
        Ann *a = &anns[i];
        Tier *t = &tiers[a->tier];
        if (!t->au)
            continue;
        g_autofree char *id = NULL, *tid = NULL;
#define SHOW_IDS() (id = shown(a->id), tid = shown(t->id))
        if (a->is_ref) {
            gint64 key = ((gint64)a->tier << 32) | (gint64)a->parent;
            gpointer first = g_hash_table_lookup(children, &key);
            if (first) {
                g_autofree char *pid = shown(anns[a->parent].id);
                SHOW_IDS();
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: tier '%s' subdivides annotation '%s' symbolically (also on "
                            "line %d): ELAN stores no times for the parts; use a time-aligned "
                            "tier",
                            e->path, a->line, tid, pid, anns[GPOINTER_TO_INT(first) - 1].line);
                return FALSE;
            }
            g_hash_table_insert(children, g_memdup2(&key, sizeof key), GINT_TO_POINTER(i + 1));
        }
        MimicaLabelValue value;
        gboolean empty;
        if (!parse_value(a->value->str, &value, &empty)) {
            g_autofree char *v = shown(a->value->str);
            SHOW_IDS();
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: tier '%s', annotation '%s': value '%s' is not absent, present or "
                        "A-E (empty: present)",
                        e->path, a->line, tid, id, v);
            return FALSE;
        }
        const char *who = t->annotator ? t->annotator : default_annotator;
        if (!who || !*who) {
            SHOW_IDS();
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: tier '%s' has no ANNOTATOR and no default annotator was given",
                        e->path, t->line, tid);
            return FALSE;
        }
        gint64 t0 = a->t0 + e->origin, t1 = a->t1 + e->origin;
        if (t0 < 0) {
            SHOW_IDS();
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: annotation '%s' starts at %lld ms, before the video (TIME_ORIGIN "
                        "%lld ms)",
                        e->path, a->line, id, (long long)a->t0, (long long)e->origin);
            return FALSE;
        }
        int num = facts->frame_rate_num, den = facts->frame_rate_den;
        gint64 f0 = ms_to_frame(t0, num, den), f1 = ms_to_frame(t1, num, den);
        if (f1 <= f0) { /* shorter than a frame: the frame its middle falls in */
            f0 = (gint64)(((__int128)(t0 + t1) * num) / ((__int128)2000 * den));
            f1 = f0 + 1;
            sum->n_short++;
        }
        if (facts->n_frames > 0 && f1 > facts->n_frames) {
            SHOW_IDS();
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: tier '%s', annotation '%s' (%lld-%lld ms) is frames %lld-%lld, "
                        "beyond video %lld (frames 0-%lld at %d/%d fps)",
                        e->path, a->line, tid, id, (long long)a->t0, (long long)a->t1,
                        (long long)f0, (long long)f1 - 1, (long long)video_id,
                        (long long)facts->n_frames - 1, num, den);
            return FALSE;
        }
        GError *check = NULL;
        if (!_mimica_store_check_label(store, video_id, f0, f1 - 1, t->au, who, &check)) {
            SHOW_IDS();
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: tier '%s', annotation '%s': %s", e->path, a->line, tid, id,
                        check->message);
            g_error_free(check);
            return FALSE;
        }
#undef SHOW_IDS
        Event ev = {t->au, f0, f1 - 1, value, who, a->line};
        g_array_append_val(events, ev);
        sum->n_interpolated += a->interpolated;
        sum->n_ref += a->is_ref;
        sum->n_empty += empty;
    }
    return TRUE;
}

static void summarize(Eaf *e, const char *default_annotator, MimicaElanImport *sum)
{
    Tier *tiers = (Tier *)e->tiers->data;
    sum->n_tiers = e->tiers->len;
    GString *unknown = g_string_new(NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < e->tiers->len; i++) {
        Tier *t = &tiers[i];
        if (!t->au) {
            g_autofree char *tid = shown(t->id);
            if (sum->n_unknown_tiers < MAX_LISTED)
                g_string_append_printf(unknown, "%s%s (%lld annotation%s, line %d)",
                                       unknown->len ? ", " : "", tid, (long long)t->n_annotations,
                                       t->n_annotations == 1 ? "" : "s", t->line);
            sum->n_unknown_tiers++;
            sum->n_unknown_annotations += t->n_annotations;
            continue;
        }
        sum->n_au_tiers++;
        const char *who = t->annotator ? t->annotator : default_annotator;
        sum->n_default_annotator += !t->annotator;
        if (who && t->n_annotations && g_hash_table_add(seen, (gpointer)who))
            g_ptr_array_add(names, (gpointer)who);
    }
    guint n_names = names->len;
    g_ptr_array_set_size(names, MIN(n_names, MAX_LISTED));
    if (sum->n_unknown_tiers > MAX_LISTED)
        g_string_append_printf(unknown, " and %d more", sum->n_unknown_tiers - MAX_LISTED);
    sum->unknown_tiers = g_string_free(unknown, unknown->len == 0);
    if (names->len) {
        g_ptr_array_add(names, NULL);
        g_autofree char *listed = g_strjoinv(", ", (char **)names->pdata);
        sum->annotators = n_names > MAX_LISTED
                              ? g_strdup_printf("%s and %u more", listed, n_names - MAX_LISTED)
                              : g_steal_pointer(&listed);
    }
    sum->media = g_strdup(e->media);
    sum->media_matches = e->media_rank == 3;
    sum->time_origin_ms = e->origin;
}

void mimica_elan_import_clear(MimicaElanImport *summary)
{
    g_free(summary->unknown_tiers);
    g_free(summary->annotators);
    g_free(summary->media);
    memset(summary, 0, sizeof *summary);
}

static gboolean write_events(MimicaStore *store, gint64 video_id, GArray *events, const char *path,
                             GError **error)
{
    if (!_mimica_store_begin(store, "importing ELAN labels", error))
        return FALSE;
    gint64 now_ms = g_get_real_time() / 1000;
    sqlite3_stmt *ins = _mimica_store_stmt(
        store,
        "INSERT INTO label_events (kind, video_id, annotator_id, time, au, frame_start,"
        " frame_end, value) VALUES ('import', ?1, ?2, ?3, ?4, ?5, ?6, ?7) /* ELAN */",
        error);
    if (!ins)
        goto fail;
    for (guint i = 0; i < events->len; i++) {
        const Event *ev = &g_array_index(events, Event, i);
        gint64 annotator_id = _mimica_store_annotator_id(store, ev->annotator, TRUE, error);
        if (!annotator_id)
            goto fail;
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, video_id);
        sqlite3_bind_int64(ins, 2, annotator_id);
        sqlite3_bind_int64(ins, 3, now_ms);
        sqlite3_bind_int(ins, 4, ev->au);
        sqlite3_bind_int64(ins, 5, ev->start);
        sqlite3_bind_int64(ins, 6, ev->end);
        sqlite3_bind_text(ins, 7, mimica_label_value_to_string(ev->value), -1, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            g_autofree char *ctx = g_strdup_printf("importing %s line %d", path, ev->line);
            _mimica_store_set_error(store, rc, error, ctx);
            goto fail;
        }
        if (!_mimica_store_label_event_added(store, sqlite3_last_insert_rowid(store->db), error))
            goto fail;
    }
    if (_mimica_store_commit(store, "importing ELAN labels", error))
        return TRUE;
fail:
    _mimica_store_rollback(store);
    return FALSE;
}

gint64 mimica_store_import_elan(MimicaStore *store, gint64 video_id, const char *eaf_path,
                                const MimicaElanImportOptions *options, MimicaElanImport *summary,
                                GError **error)
{
    static const GMarkupParser parser = {on_start, on_end, on_text, on_passthrough, NULL};
    const char *default_annotator = options ? options->annotator : NULL;
    MimicaVideoFacts facts = {0};
    MimicaElanImport sum = {0};
    GError *local = NULL;
    gint64 n = -1;
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return -1;
    Eaf e = {
        .path = g_utf8_make_valid(eaf_path, -1),
        .video_name = facts.path ? g_path_get_basename(facts.path) : NULL,
        .slots = g_array_new(FALSE, FALSE, sizeof(Slot)),
        .tiers = g_array_new(FALSE, FALSE, sizeof(Tier)),
        .anns = g_array_new(FALSE, FALSE, sizeof(Ann)),
        .slot_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .tier_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .ann_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
        .tier = -1,
        .ann = -1,
    };
    g_array_set_clear_func(e.slots, slot_clear);
    g_array_set_clear_func(e.tiers, tier_clear);
    g_array_set_clear_func(e.anns, ann_clear);
    e.ctx = g_markup_parse_context_new(&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &e, NULL);
    g_autoptr(GArray) events = g_array_new(FALSE, FALSE, sizeof(Event));

    if (!read_eaf(&e, eaf_path, &local))
        goto out;
    place_slots(&e);
    if (!resolve_times(&e, &local) ||
        !make_events(&e, store, &facts, video_id, default_annotator, &sum, events, &local) ||
        !write_events(store, video_id, events, e.path, &local))
        goto out;
    sum.n_labels = n = events->len;
    summarize(&e, default_annotator, &sum);
    if (summary)
        *summary = sum;
    else
        mimica_elan_import_clear(&sum);
out:
    if (local) {
        /* a quoted id or name of the file may hold any text; messages leave as valid UTF-8 */
        if (!g_utf8_validate(local->message, -1, NULL)) {
            char *valid = g_utf8_make_valid(local->message, -1);
            g_free(local->message);
            local->message = valid;
        }
        g_propagate_error(error, local);
    }
    g_markup_parse_context_free(e.ctx);
    g_array_unref(e.slots);
    g_array_unref(e.tiers);
    g_array_unref(e.anns);
    g_hash_table_unref(e.slot_ids);
    g_hash_table_unref(e.tier_ids);
    g_hash_table_unref(e.ann_ids);
    g_free(e.media);
    g_free(e.video_name);
    g_free(e.path);
    mimica_video_facts_clear(&facts);
    return n;
}
