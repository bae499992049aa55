/* mimica-store-io.c: import and export. Labels CSV in and out, OpenFace FeatureExtraction CSV
 * in and out, ELAN .eaf out. Files are read whole and parsed with bounds on every field. */
#include <errno.h>
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "mimica-store-private.h"

const int mimica_openface_aus_r[17] = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45};
const int mimica_openface_aus_c[18] = {1,  2,  4,  5,  6,  7,  9,  10, 12,
                                       14, 15, 17, 20, 23, 25, 26, 28, 45};

#define N_LANDMARKS 68
#define MAX_AUS     99

/* Output ------------------------------------------------------------------------------------ */

static gboolean finish_output(FILE *out, const char *what, GError **error)
{
    if (fflush(out) == 0 && !ferror(out))
        return TRUE;
    int e = errno;
    g_set_error(error, MIMICA_STORE_ERROR,
                e == ENOSPC || e == EDQUOT ? MIMICA_STORE_ERROR_FULL : MIMICA_STORE_ERROR_IO,
                "writing %s: %s", what, g_strerror(e));
    return FALSE;
}

/* A message may quote a field of the file: its bytes need not be UTF-8 (found by
 * tests/fuzz/fuzz-labels-csv). Every message leaves as valid UTF-8. */
static void error_make_valid(GError *e)
{
    if (e && !g_utf8_validate(e->message, -1, NULL)) {
        char *valid = g_utf8_make_valid(e->message, -1);
        g_free(e->message);
        e->message = valid;
    }
}

/* CSV reading ------------------------------------------------------------------------------- */

typedef struct {
    char *path; /* for messages: valid UTF-8 (a name's stray bytes as U+FFFD) */
    char *data;
    const char *p, *end;
    int line; /* line of the record last read (1-based) */
    int next_line;
    GPtrArray *fields; /* char*, owned */
} CsvReader;

static gboolean csv_open(CsvReader *r, const char *path, GError **error)
{
    memset(r, 0, sizeof *r);
    gsize len = 0;
    GError *local = NULL;
    if (!g_file_get_contents(path, &r->data, &len, &local)) {
        g_autofree char *shown = g_utf8_make_valid(path, -1);
        g_set_error(error, MIMICA_STORE_ERROR,
                    local->code == G_FILE_ERROR_NOENT ? MIMICA_STORE_ERROR_NOT_FOUND
                                                      : MIMICA_STORE_ERROR_IO,
                    "%s: cannot read: %s", shown,
                    local->code == G_FILE_ERROR_NOENT   ? "no such file"
                    : local->code == G_FILE_ERROR_ACCES ? "permission denied"
                    : local->code == G_FILE_ERROR_ISDIR ? "it is a folder"
                    : local->code == G_FILE_ERROR_NOMEM ? "too large to read into memory"
                                                        : "read error");
        g_error_free(local);
        return FALSE;
    }
    r->path = g_utf8_make_valid(path, -1);
    r->p = r->data;
    r->end = r->data + len;
    r->next_line = 1;
    r->fields = g_ptr_array_new_with_free_func(g_free);
    /* A UTF-8 byte order mark is skipped. */
    if (len >= 3 && memcmp(r->p, "\xef\xbb\xbf", 3) == 0)
        r->p += 3;
    return TRUE;
}

static void csv_close(CsvReader *r)
{
    g_free(r->data);
    g_free(r->path);
    if (r->fields)
        g_ptr_array_unref(r->fields);
    memset(r, 0, sizeof *r);
}

/* Reads the next non-empty record into r->fields. Separators are ',' optionally followed by
 * spaces (OpenFace writes ", "); fields may be quoted with "" as an escaped quote. Returns FALSE
 * at the end of the file (ERROR unset) or on a malformed record (ERROR set). */
static gboolean csv_next(CsvReader *r, GError **error)
{
    for (;;) {
        g_ptr_array_set_size(r->fields, 0);
        if (r->p >= r->end)
            return FALSE;
        r->line = r->next_line;
        GString *field = g_string_new(NULL);
        gboolean quoted = FALSE, was_quoted = FALSE, record_done = FALSE;
        while (!record_done) {
            if (r->p >= r->end) {
                if (quoted) {
                    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                                "%s:%d: unterminated quoted field", r->path, r->line);
                    g_string_free(field, TRUE);
                    return FALSE;
                }
                record_done = TRUE;
                break;
            }
            char c = *r->p++;
            if (quoted) {
                if (c == '"') {
                    if (r->p < r->end && *r->p == '"') {
                        g_string_append_c(field, '"');
                        r->p++;
                    } else {
                        quoted = FALSE;
                    }
                } else {
                    if (c == '\n')
                        r->next_line++;
                    g_string_append_c(field, c);
                }
                continue;
            }
            if (c == '"' && field->len == 0 && !was_quoted) {
                quoted = was_quoted = TRUE;
            } else if (c == ',') {
                g_ptr_array_add(r->fields, g_string_free(field, FALSE));
                field = g_string_new(NULL);
                was_quoted = FALSE;
                while (r->p < r->end && *r->p == ' ')
                    r->p++;
            } else if (c == '\n') {
                r->next_line++;
                record_done = TRUE;
            } else if (c == '\r') {
                /* CRLF or a lone CR ends the record */
                if (r->p < r->end && *r->p == '\n')
                    r->p++;
                r->next_line++;
                record_done = TRUE;
            } else if (was_quoted) {
                if (c != ' ') {
                    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                                "%s:%d: text after a closing quote", r->path, r->line);
                    g_string_free(field, TRUE);
                    return FALSE;
                }
            } else if (c == '\0') {
                g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: NUL byte in a text file", r->path, r->line);
                g_string_free(field, TRUE);
                return FALSE;
            } else {
                g_string_append_c(field, c);
            }
        }
        /* Unquoted fields lose trailing spaces too (", " variants with padding). */
        if (!was_quoted)
            while (field->len && field->str[field->len - 1] == ' ')
                g_string_truncate(field, field->len - 1);
        g_ptr_array_add(r->fields, g_string_free(field, FALSE));
        if (r->fields->len == 1 && ((char *)r->fields->pdata[0])[0] == '\0')
            continue; /* blank line */
        return TRUE;
    }
}

static const char *csv_field(CsvReader *r, guint i)
{
    return i < r->fields->len ? r->fields->pdata[i] : "";
}

static gboolean parse_int(CsvReader *r, const char *column, const char *text, gint64 min,
                          gint64 max, gint64 *out, GError **error)
{
    GError *local = NULL;
    if (!g_ascii_string_to_signed(text, 10, min, max, out, &local)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE, "%s:%d: %s: %s", r->path,
                    r->line, column, local->message);
        g_error_free(local);
        return FALSE;
    }
    return TRUE;
}

/* An integer column that some writers give as "1.0": any integral number in MIN..MAX. */
static gboolean parse_count(CsvReader *r, const char *column, const char *text, gint64 min,
                            gint64 max, gint64 *out, GError **error)
{
    if (g_ascii_string_to_signed(text, 10, min, max, out, NULL))
        return TRUE;
    char *end = NULL;
    double v = g_ascii_strtod(text, &end);
    if (*text && !*end && isfinite(v) && v == floor(v) && v >= (double)min && v <= (double)max) {
        *out = (gint64)v;
        return TRUE;
    }
    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                "%s:%d: %s: '%s' is not a whole number in %lld..%lld", r->path, r->line, column,
                text, (long long)min, (long long)max);
    return FALSE;
}

/* A number, or "nan"/"-nan" (NaN). */
static gboolean parse_double(CsvReader *r, const char *column, const char *text, double *out,
                             GError **error)
{
    if (g_ascii_strcasecmp(text, "nan") == 0 || g_ascii_strcasecmp(text, "-nan") == 0) {
        *out = NAN;
        return TRUE;
    }
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(text, &end);
    if (!*text || *end || errno == ERANGE || !isfinite(v)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: %s: '%s' is not a finite number", r->path, r->line, column, text);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* A number that must fit a float32 column: finite (or NaN where ALLOW_NAN) and at most MAX_ABS
 * in size; 1e300 would be stored as inf and then refused by our own import. */
static gboolean parse_float(CsvReader *r, const char *column, const char *text, double max_abs,
                            gboolean allow_nan, float *out, GError **error)
{
    double v;
    if (!parse_double(r, column, text, &v, error))
        return FALSE;
    if (isnan(v) ? !allow_nan : fabs(v) > max_abs) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: %s: %s is %s (want a number within +-%g)", r->path, r->line, column,
                    text, isnan(v) ? "not a number" : "out of range", max_abs);
        return FALSE;
    }
    *out = (float)v;
    return TRUE;
}

/* Labels CSV -------------------------------------------------------------------------------- */

static const char *const label_columns[] = {"video", "frame_start", "frame_end", "au",
                                            "value", "annotator",   "time",      "event"};

static void csv_write_text(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n") && s[0] != ' ') {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* Milliseconds since the epoch as ISO 8601 UTC. Seconds are floored, so that a time before 1970
 * (negative) keeps a milliseconds part of 0..999: -500 is 1969-12-31T23:59:59.500Z. Outside
 * years 1..9999 (GDateTime's range) the time is written as empty. */
static char *format_time_ms(gint64 ms)
{
    gint64 sec = ms >= 0 ? ms / 1000 : -((-(ms + 1)) / 1000) - 1;
    int milli = (int)(ms - sec * 1000);
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(sec);
    if (!dt)
        return g_strdup("");
    int y, mo, d;
    g_date_time_get_ymd(dt, &y, &mo, &d);
    /* %Y would write year 1 as "1": ISO 8601 wants four digits. */
    return g_strdup_printf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, mo, d,
                           g_date_time_get_hour(dt), g_date_time_get_minute(dt),
                           g_date_time_get_second(dt), milli);
}

static gboolean write_label_row(const MimicaLabel *l, gpointer user_data)
{
    FILE *out = user_data;
    g_autofree char *time = format_time_ms(l->time_ms);
    fprintf(out, "%lld,%lld,%lld,%d,%s,", (long long)l->video, (long long)l->frame_start,
            (long long)l->frame_end, l->au, mimica_label_value_to_string(l->value));
    csv_write_text(out, l->annotator);
    fprintf(out, ",%s,%lld\n", time, (long long)l->event);
    return !ferror(out);
}

gboolean mimica_store_export_labels_csv(MimicaStore *store, FILE *out, GError **error)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(label_columns); i++)
        fprintf(out, "%s%s", i ? "," : "", label_columns[i]);
    fputc('\n', out);
    if (!mimica_store_foreach_label(store, 0, NULL, write_label_row, out, error))
        return FALSE;
    return finish_output(out, "labels CSV", error);
}

gint64 mimica_store_import_labels_csv(MimicaStore *store, const char *csv_path, GError **error)
{
    CsvReader r;
    if (!csv_open(&r, csv_path, error))
        return -1;
    gint64 n = -1, count = 0;
    GError *local = NULL;
    gboolean in_tx = FALSE;
    if (!csv_next(&r, &local)) {
        if (!local)
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s: empty file (want the header %s,%s,...)", r.path, label_columns[0],
                        label_columns[1]);
        goto out;
    }
    for (unsigned i = 0; i < 7; i++)
        if (strcmp(csv_field(&r, i), label_columns[i]) != 0) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: column %u is '%s', want '%s' (header "
                        "video,frame_start,frame_end,au,value,annotator,time,event)",
                        r.path, r.line, i + 1, csv_field(&r, i), label_columns[i]);
            goto out;
        }
    guint n_columns = r.fields->len;
    if (!(in_tx = _mimica_store_begin(store, "importing labels", &local)))
        goto out;
    sqlite3_stmt *ins = _mimica_store_stmt(
        store,
        "INSERT INTO label_events (kind, video_id, annotator_id, time, au, frame_start,"
        " frame_end, value) VALUES ('import', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &local);
    if (!ins)
        goto out;
    while (csv_next(&r, &local)) {
        gint64 video, fs, fe, au, time_ms;
        MimicaLabelValue value;
        if (r.fields->len != n_columns) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: %u fields, the header has %u", r.path, r.line, r.fields->len,
                        n_columns);
            goto out;
        }
        if (!parse_int(&r, "video", csv_field(&r, 0), 1, G_MAXINT64, &video, &local) ||
            !parse_int(&r, "frame_start", csv_field(&r, 1), 0, G_MAXINT64, &fs, &local) ||
            !parse_int(&r, "frame_end", csv_field(&r, 2), 0, G_MAXINT64, &fe, &local) ||
            !parse_int(&r, "au", csv_field(&r, 3), 1, 99, &au, &local))
            goto out;
        if (!mimica_label_value_parse(csv_field(&r, 4), &value)) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: value '%s' is not absent, present or A-E", r.path, r.line,
                        csv_field(&r, 4));
            goto out;
        }
        const char *annotator = csv_field(&r, 5);
        const char *time = csv_field(&r, 6);
        if (*time) {
            g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
            g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(time, utc);
            if (!dt) {
                g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                            "%s:%d: time '%s' is not ISO 8601", r.path, r.line, time);
                goto out;
            }
            time_ms = g_date_time_to_unix(dt) * 1000 + g_date_time_get_microsecond(dt) / 1000;
        } else {
            time_ms = g_get_real_time() / 1000;
        }
        GError *check = NULL;
        gint64 annotator_id = 0;
        if (!_mimica_store_check_label(store, video, fs, fe, (int)au, annotator, &check) ||
            !(annotator_id = _mimica_store_annotator_id(store, annotator, TRUE, &check))) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE, "%s:%d: %s", r.path,
                        r.line, check->message);
            g_error_free(check);
            goto out;
        }
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, video);
        sqlite3_bind_int64(ins, 2, annotator_id);
        sqlite3_bind_int64(ins, 3, time_ms);
        sqlite3_bind_int64(ins, 4, au);
        sqlite3_bind_int64(ins, 5, fs);
        sqlite3_bind_int64(ins, 6, fe);
        sqlite3_bind_text(ins, 7, mimica_label_value_to_string(value), -1, SQLITE_STATIC);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            g_autofree char *ctx = g_strdup_printf("importing %s line %d", r.path, r.line);
            _mimica_store_set_error(store, rc, &local, ctx);
            goto out;
        }
        if (!_mimica_store_label_event_added(store, sqlite3_last_insert_rowid(store->db), &local))
            goto out;
        count++;
    }
    if (local)
        goto out;
    if (_mimica_store_commit(store, "importing labels", &local))
        n = count;
out:
    if (n < 0) {
        if (in_tx)
            _mimica_store_rollback(store);
        error_make_valid(local);
        g_propagate_error(error, local);
    }
    csv_close(&r);
    return n;
}

/* Float blobs (little-endian float32) -------------------------------------------------------- */

void _mimica_store_floats_to_le(const float *src, guint32 *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        guint32 u;
        memcpy(&u, &src[i], 4);
        dst[i] = GUINT32_TO_LE(u);
    }
}

/* Reads N floats from a blob; FALSE if the blob has another size. */
gboolean _mimica_store_floats_from_blob(const void *blob, int bytes, float *dst, size_t n)
{
    if (!blob || bytes != (int)(n * 4))
        return FALSE;
    const guint8 *b = blob;
    for (size_t i = 0; i < n; i++) {
        guint32 u;
        memcpy(&u, b + 4 * i, 4);
        u = GUINT32_FROM_LE(u);
        memcpy(&dst[i], &u, 4);
    }
    return TRUE;
}

/* "1,2,4" -> {1,2,4}; FALSE on anything else. */
gboolean _mimica_store_parse_au_list(const char *text, int *aus, int *n_aus)
{
    *n_aus = 0;
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    for (char **p = parts; *p; p++) {
        gint64 v;
        if (*n_aus >= MAX_AUS || !g_ascii_string_to_signed(g_strstrip(*p), 10, 1, 99, &v, NULL))
            return FALSE;
        aus[(*n_aus)++] = (int)v;
    }
    return *n_aus > 0;
}

/* OpenFace CSV in ---------------------------------------------------------------------------- */

typedef struct {
    int frame, face_id, timestamp, confidence, success;
    int pose[6]; /* pose_Tx, Ty, Tz, Rx, Ry, Rz, or -1 */
    gboolean have_pose;
    int x[N_LANDMARKS], y[N_LANDMARKS];
    gboolean have_landmarks;
    int n_aus;
    int aus[MAX_AUS];   /* ascending */
    int col_r[MAX_AUS]; /* column of AUnn_r, or -1 */
    int col_c[MAX_AUS]; /* column of AUnn_c, or -1 */
    gboolean have_r;
    /* The columns Mimica does not model, in file order: kept verbatim (006-openface-extras.sql) */
    int n_extra;
    int *extra_col;         /* column in the file */
    guint8 *extra_after;    /* block of ours it follows (EXTRA_AFTER_*) */
    GPtrArray *extra_names; /* char*, owned */
    int *extra_decimals;    /* the most digits after the point seen, 0..MAX_DECIMALS */
} OpenFaceColumns;

/* The blocks of Mimica's columns in the OpenFace export, in OpenFace's order; an extra column
 * goes back after the block it followed in the file (openface_columns.after). */
enum {
    EXTRA_AFTER_NONE,      /* before frame */
    EXTRA_AFTER_FRAME,     /* frame, face_id, timestamp, confidence, success */
    EXTRA_AFTER_POSE,      /* pose_Tx .. pose_Rz */
    EXTRA_AFTER_LANDMARKS, /* x_0 .. y_67 */
    EXTRA_AFTER_AU_R,
    EXTRA_AFTER_AU_C,
    N_EXTRA_AFTER
};

#define MAX_DECIMALS 17
/* An extra value must fit a float32 (the landmark rule: 1e300 and inf are refused). */
#define EXTRA_MAX_ABS 1e38

static void openface_columns_free(OpenFaceColumns *c)
{
    if (!c)
        return;
    g_free(c->extra_col);
    g_free(c->extra_after);
    g_free(c->extra_decimals);
    if (c->extra_names)
        g_ptr_array_unref(c->extra_names);
    g_free(c);
}

static gboolean openface_header(CsvReader *r, OpenFaceColumns *c, GError **error)
{
    c->frame = c->face_id = c->timestamp = c->confidence = c->success = -1;
    static const char *const pose_names[6] = {"pose_Tx", "pose_Ty", "pose_Tz",
                                              "pose_Rx", "pose_Ry", "pose_Rz"};
    for (int k = 0; k < 6; k++)
        c->pose[k] = -1;
    int n_x = 0, n_y = 0;
    for (int i = 0; i < N_LANDMARKS; i++)
        c->x[i] = c->y[i] = -1;
    int au_r[100], au_c[100];
    for (int i = 0; i < 100; i++)
        au_r[i] = au_c[i] = -1;
    c->n_extra = 0;
    c->extra_col = g_new(int, r->fields->len);
    c->extra_after = g_new(guint8, r->fields->len);
    c->extra_decimals = g_new0(int, r->fields->len);
    c->extra_names = g_ptr_array_new_with_free_func(g_free);
    guint8 after = EXTRA_AFTER_NONE;
    for (guint i = 0; i < r->fields->len; i++) {
        const char *name = csv_field(r, i);
        int *slot = NULL;
        gint64 k;
        guint8 block = EXTRA_AFTER_FRAME;
        if (strcmp(name, "frame") == 0)
            slot = &c->frame;
        else if (strcmp(name, "face_id") == 0)
            slot = &c->face_id;
        else if (strcmp(name, "timestamp") == 0)
            slot = &c->timestamp;
        else if (strcmp(name, "confidence") == 0)
            slot = &c->confidence;
        else if (strcmp(name, "success") == 0)
            slot = &c->success;
        else if (g_str_has_prefix(name, "pose_") && strlen(name) == 7) {
            block = EXTRA_AFTER_POSE;
            for (int p = 0; p < 6; p++)
                if (strcmp(name, pose_names[p]) == 0)
                    slot = &c->pose[p];
        } else if ((name[0] == 'x' || name[0] == 'y') && name[1] == '_' &&
                   g_ascii_string_to_signed(name + 2, 10, 0, N_LANDMARKS - 1, &k, NULL)) {
            block = EXTRA_AFTER_LANDMARKS;
            slot = name[0] == 'x' ? &c->x[k] : &c->y[k];
            if (*slot < 0)
                *(name[0] == 'x' ? &n_x : &n_y) += 1;
        } else if (g_str_has_prefix(name, "AU") && strlen(name) == 6 && name[4] == '_' &&
                   (name[5] == 'r' || name[5] == 'c')) {
            char num[3] = {name[2], name[3], 0};
            block = name[5] == 'r' ? EXTRA_AFTER_AU_R : EXTRA_AFTER_AU_C;
            if (g_ascii_string_to_signed(num, 10, 1, 99, &k, NULL))
                slot = name[5] == 'r' ? &au_r[k] : &au_c[k];
        }
        if (!slot) {
            /* gaze, eye landmarks, 3-D landmarks, shape parameters, ...: kept verbatim, to go
             * back after the block of ours that they followed */
            c->extra_col[c->n_extra] = (int)i;
            c->extra_after[c->n_extra++] = after;
            g_ptr_array_add(c->extra_names, g_strdup(name));
            continue;
        }
        after = block;
        if (*slot >= 0) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: column '%s' appears twice", r->path, r->line, name);
            return FALSE;
        }
        *slot = (int)i;
    }
    const char *missing = c->frame < 0       ? "frame"
                          : c->timestamp < 0 ? "timestamp"
                          : c->success < 0   ? "success"
                                             : NULL;
    if (missing) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: no '%s' column: not an OpenFace FeatureExtraction CSV", r->path,
                    r->line, missing);
        return FALSE;
    }
    if ((n_x || n_y) && (n_x != N_LANDMARKS || n_y != N_LANDMARKS)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: %d x_ and %d y_ landmark columns, want 68 of each", r->path, r->line,
                    n_x, n_y);
        return FALSE;
    }
    c->have_landmarks = n_x == N_LANDMARKS;
    c->have_pose = TRUE;
    for (int k = 0; k < 6; k++)
        c->have_pose &= c->pose[k] >= 0;
    c->n_aus = 0;
    c->have_r = FALSE;
    for (int a = 1; a < 100; a++)
        if (au_r[a] >= 0 || au_c[a] >= 0) {
            c->aus[c->n_aus] = a;
            c->col_r[c->n_aus] = au_r[a];
            c->col_c[c->n_aus] = au_c[a];
            c->have_r |= au_r[a] >= 0;
            c->n_aus++;
        }
    if (c->n_aus == 0) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: no AU columns (AUnn_r or AUnn_c)", r->path, r->line);
        return FALSE;
    }
    return TRUE;
}

static gint64 face_id_for(MimicaStore *store, GHashTable *faces, gint64 video_id, gint64 track,
                          GError **error)
{
    gpointer found = g_hash_table_lookup(faces, GINT_TO_POINTER((int)track));
    if (found)
        return GPOINTER_TO_SIZE(found);
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "INSERT INTO faces (video_id, track) VALUES (?1, ?2) ON CONFLICT (video_id, track)"
        " DO UPDATE SET track = excluded.track RETURNING id",
        error);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, track);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (!id || rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc, error,
                                "adding a face");
        return 0;
    }
    g_hash_table_insert(faces, GINT_TO_POINTER((int)track), GSIZE_TO_POINTER((gsize)id));
    return id;
}

/* Digits after the point that TEXT (a number parse_double took) prints, 0..MAX_DECIMALS: "0.25"
 * 2, "1.5e-05" 6, "2e3" 0; a hexadecimal float gets the most. */
static int text_decimals(const char *text)
{
    if (strpbrk(text, "xX"))
        return MAX_DECIMALS;
    gint64 d = 0;
    const char *dot = strchr(text, '.');
    for (const char *p = dot ? dot + 1 : ""; g_ascii_isdigit(*p); p++)
        d++;
    const char *e = strpbrk(text, "eE");
    if (e)
        d -= CLAMP(g_ascii_strtoll(e + 1, NULL, 10), -1000, 1000);
    return (int)CLAMP(d, 0, MAX_DECIMALS);
}

static const double powers_of_ten[MAX_DECIMALS + 1] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
                                                       1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17};

/* An extra column's value: a finite number within +-EXTRA_MAX_ABS (as landmarks: OpenFace
 * writes no nan in these columns). */
static gboolean parse_extra(CsvReader *r, const char *column, const char *text, double *out,
                            GError **error)
{
    if (!parse_double(r, column, text, out, error))
        return FALSE;
    if (isnan(*out) || fabs(*out) > EXTRA_MAX_ABS) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                    "%s:%d: %s: %s is %s (want a number within +-%g)", r->path, r->line, column,
                    text, isnan(*out) ? "not a number" : "out of range", EXTRA_MAX_ABS);
        return FALSE;
    }
    return TRUE;
}

/* The extra values of a row as a blob (006-openface-extras.sql): float32 when each value comes
 * back from its float32 within a quarter of its last printed digit (so it prints the same),
 * else float64. Returns the blob's size in bytes. */
static int extras_to_blob(const double *v, const int *decimals, int n, guint8 *blob)
{
    gboolean f32 = TRUE;
    for (int j = 0; j < n && f32; j++)
        f32 = fabs((double)(float)v[j] - v[j]) <= 0.25 / powers_of_ten[decimals[j]];
    for (int j = 0; j < n; j++) {
        if (f32) {
            float f = (float)v[j];
            guint32 u;
            memcpy(&u, &f, 4);
            u = GUINT32_TO_LE(u);
            memcpy(blob + 4 * j, &u, 4);
        } else {
            guint64 u;
            memcpy(&u, &v[j], 8);
            u = GUINT64_TO_LE(u);
            memcpy(blob + 8 * j, &u, 8);
        }
    }
    return (f32 ? 4 : 8) * n;
}

/* Value J of an extras blob of N values (float32 or float64, by its size). */
static double extras_value(const guint8 *blob, int bytes, int n, int j)
{
    if (bytes == 4 * n) {
        guint32 u;
        float f;
        memcpy(&u, blob + 4 * j, 4);
        u = GUINT32_FROM_LE(u);
        memcpy(&f, &u, 4);
        return f;
    }
    guint64 u;
    double d;
    memcpy(&u, blob + 8 * j, 8);
    u = GUINT64_FROM_LE(u);
    memcpy(&d, &u, 8);
    return d;
}

gint64 mimica_store_import_openface_csv(MimicaStore *store, gint64 video_id, const char *csv_path,
                                        MimicaOpenFaceImport *summary, GError **error)
{
    CsvReader r;
    if (summary)
        memset(summary, 0, sizeof *summary);
    if (!csv_open(&r, csv_path, error))
        return 0;
    OpenFaceColumns *c = g_new0(OpenFaceColumns, 1);
    GHashTable *faces = g_hash_table_new(g_direct_hash, g_direct_equal);
    GError *local = NULL;
    gint64 model_id = 0, count = 0, n_confidence_nan = 0;
    double *extra = NULL;
    int *extra_dec = NULL;
    guint8 *extra_blob = NULL;
    gboolean in_tx = FALSE;
    g_autoptr(GString) aus_text = g_string_new(NULL);
    g_autoptr(GString) aus_r = g_string_new(NULL); /* the file's AUnn_r columns: "1,2,4" */
    g_autoptr(GString) aus_c = g_string_new(NULL);
    MimicaVideoFacts facts = {0};

    if (!mimica_store_get_video(store, video_id, &facts, &local))
        goto fail;
    if (!csv_next(&r, &local)) {
        if (!local)
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE, "%s: empty file",
                        r.path);
        goto fail;
    }
    if (!openface_header(&r, c, &local))
        goto fail;
    guint n_columns = r.fields->len;
    for (int a = 0; a < c->n_aus; a++)
        g_string_append_printf(aus_text, "%s%d", a ? "," : "", c->aus[a]);

    if (!(in_tx = _mimica_store_begin(store, "importing OpenFace CSV", &local)))
        goto fail;
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "INSERT INTO models (file, name, aus, metrics, created)"
                                          " VALUES (?1, 'OpenFace import', ?2, '{}', ?3)",
                                          &local);
    if (!st)
        goto fail;
    sqlite3_bind_text(st, 1, csv_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, aus_text->str, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, g_get_real_time() / 1000);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, &local, "importing OpenFace CSV");
        goto fail;
    }
    model_id = sqlite3_last_insert_rowid(store->db);

    sqlite3_stmt *ins = _mimica_store_stmt(
        store,
        "INSERT INTO predictions (face_id, model_id, frame, timestamp, confidence, success,"
        " landmarks, au_prob, au_intensity, pose, extras) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11)",
        &local);
    if (!ins)
        goto fail;
    extra = g_new(double, c->n_extra + 1);
    extra_dec = g_new(int, c->n_extra + 1);
    extra_blob = g_malloc(8 * (gsize)c->n_extra + 1);
    float lm[2 * N_LANDMARKS], prob[MAX_AUS], inten[MAX_AUS], pose[6];
    guint32 lm_le[2 * N_LANDMARKS], prob_le[MAX_AUS], inten_le[MAX_AUS], pose_le[6];
    while (csv_next(&r, &local)) {
        if (r.fields->len != n_columns) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: %u fields, the header has %u", r.path, r.line, r.fields->len,
                        n_columns);
            goto fail;
        }
        gint64 frame, track = 0, success;
        double ts, conf = 1.0;
        if (!parse_count(&r, "frame", csv_field(&r, c->frame), 1, G_MAXINT32, &frame, &local) ||
            (c->face_id >= 0 && !parse_count(&r, "face_id", csv_field(&r, c->face_id), 0,
                                             G_MAXINT32, &track, &local)) ||
            !parse_double(&r, "timestamp", csv_field(&r, c->timestamp), &ts, &local) ||
            (c->confidence >= 0 &&
             !parse_double(&r, "confidence", csv_field(&r, c->confidence), &conf, &local)) ||
            !parse_count(&r, "success", csv_field(&r, c->success), 0, 1, &success, &local))
            goto fail;
        if (isnan(ts) || fabs(ts) > 1e9) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: timestamp %s is not a time in seconds", r.path, r.line,
                        csv_field(&r, c->timestamp));
            goto fail;
        }
        /* n_frames 0: the container did not say. */
        if (facts.n_frames > 0 && frame > facts.n_frames) {
            g_set_error(&local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE,
                        "%s:%d: frame %lld is beyond video %lld (frames 1-%lld)", r.path, r.line,
                        (long long)frame, (long long)video_id, (long long)facts.n_frames);
            goto fail;
        }
        /* Landmarks in pixels: a million pixels off the picture is no face. */
        const double lm_max = 1e6;
        for (int i = 0; c->have_landmarks && i < N_LANDMARKS; i++)
            if (!parse_float(&r, "x", csv_field(&r, c->x[i]), lm_max, FALSE, &lm[i], &local) ||
                !parse_float(&r, "y", csv_field(&r, c->y[i]), lm_max, FALSE, &lm[N_LANDMARKS + i],
                             &local))
                goto fail;
        for (int k = 0; c->have_pose && k < 6; k++)
            if (!parse_float(&r, "pose", csv_field(&r, c->pose[k]), k < 3 ? 1e7 : 100, FALSE,
                             &pose[k], &local))
                goto fail;
        for (int a = 0; a < c->n_aus; a++) {
            prob[a] = inten[a] = NAN;
            if (c->col_c[a] >= 0 &&
                !parse_float(&r, "AU_c", csv_field(&r, c->col_c[a]), 1e3, TRUE, &prob[a], &local))
                goto fail;
            if (c->col_r[a] >= 0 &&
                !parse_float(&r, "AU_r", csv_field(&r, c->col_r[a]), 1e3, TRUE, &inten[a], &local))
                goto fail;
        }
        for (int j = 0; j < c->n_extra; j++) {
            const char *text = csv_field(&r, c->extra_col[j]);
            if (!parse_extra(&r, c->extra_names->pdata[j], text, &extra[j], &local))
                goto fail;
            extra_dec[j] = text_decimals(text);
            c->extra_decimals[j] = MAX(c->extra_decimals[j], extra_dec[j]);
        }
        n_confidence_nan += isnan(conf);
        gint64 face = face_id_for(store, faces, video_id, track, &local);
        if (!face)
            goto fail;
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins); /* pose is bound only on some rows */
        sqlite3_bind_int64(ins, 1, face);
        sqlite3_bind_int64(ins, 2, model_id);
        sqlite3_bind_int64(ins, 3, frame - 1); /* OpenFace counts frames from 1, we from 0 */
        sqlite3_bind_double(ins, 4, ts);
        sqlite3_bind_double(ins, 5, isnan(conf) ? 0.0 : conf);
        sqlite3_bind_int64(ins, 6, success);
        if (c->have_landmarks) {
            _mimica_store_floats_to_le(lm, lm_le, 2 * N_LANDMARKS);
            sqlite3_bind_blob(ins, 7, lm_le, sizeof lm_le, SQLITE_STATIC);
        }
        _mimica_store_floats_to_le(prob, prob_le, c->n_aus);
        sqlite3_bind_blob(ins, 8, prob_le, 4 * c->n_aus, SQLITE_STATIC);
        if (c->have_r) {
            _mimica_store_floats_to_le(inten, inten_le, c->n_aus);
            sqlite3_bind_blob(ins, 9, inten_le, 4 * c->n_aus, SQLITE_STATIC);
        }
        /* The pose as the file gives it, also where the face was not found (OpenFace writes
         * the last estimate or zeros there): the export gives it back. */
        if (c->have_pose) {
            _mimica_store_floats_to_le(pose, pose_le, 6);
            sqlite3_bind_blob(ins, 10, pose_le, sizeof pose_le, SQLITE_STATIC);
        }
        if (c->n_extra > 0)
            sqlite3_bind_blob(ins, 11, extra_blob,
                              extras_to_blob(extra, extra_dec, c->n_extra, extra_blob),
                              SQLITE_STATIC);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            g_autofree char *ctx = g_strdup_printf("%s line %d (frame %lld, face %lld)", r.path,
                                                   r.line, (long long)frame, (long long)track);
            _mimica_store_set_error(store, rc, &local, ctx);
            goto fail;
        }
        count++;
    }
    if (local)
        goto fail;
    /* The AU columns the file had, and the extra columns' names, once for the import */
    for (int a = 0; a < c->n_aus; a++) {
        if (c->col_r[a] >= 0)
            g_string_append_printf(aus_r, "%s%d", aus_r->len ? "," : "", c->aus[a]);
        if (c->col_c[a] >= 0)
            g_string_append_printf(aus_c, "%s%d", aus_c->len ? "," : "", c->aus[a]);
    }
    st = _mimica_store_stmt(
        store, "INSERT INTO openface_imports (model_id, aus_r, aus_c) VALUES (?1, ?2, ?3)", &local);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, aus_r->str, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, aus_c->str, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, &local, "importing OpenFace CSV");
        goto fail;
    }
    st = _mimica_store_stmt(store,
                            "INSERT INTO openface_columns (model_id, idx, name, after, decimals)"
                            " VALUES (?1, ?2, ?3, ?4, ?5)",
                            &local);
    if (!st)
        goto fail;
    for (int j = 0; j < c->n_extra; j++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, model_id);
        sqlite3_bind_int(st, 2, j);
        sqlite3_bind_text(st, 3, c->extra_names->pdata[j], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 4, c->extra_after[j]);
        sqlite3_bind_int(st, 5, c->extra_decimals[j]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            _mimica_store_set_error(store, rc, &local, "importing OpenFace CSV's columns");
            goto fail;
        }
    }
    st = _mimica_store_stmt(store,
                            "UPDATE faces SET first_frame = (SELECT min(frame) FROM predictions"
                            " WHERE face_id = faces.id), last_frame = (SELECT max(frame) FROM"
                            " predictions WHERE face_id = faces.id) WHERE video_id = ?1",
                            &local);
    if (!st)
        goto fail;
    sqlite3_bind_int64(st, 1, video_id);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, &local, "importing OpenFace CSV");
        goto fail;
    }
    if (!_mimica_store_commit(store, "importing OpenFace CSV", &local))
        goto fail;
    if (summary) {
        summary->n_rows = count;
        summary->n_columns = (int)n_columns;
        summary->n_extra = c->n_extra;
        summary->n_mimica = (int)n_columns - c->n_extra;
        summary->n_confidence_nan = n_confidence_nan;
    }
    goto done;
fail:
    if (in_tx)
        _mimica_store_rollback(store);
    error_make_valid(local);
    g_propagate_error(error, local);
    model_id = 0;
done:
    mimica_video_facts_clear(&facts);
    g_hash_table_destroy(faces);
    openface_columns_free(c);
    g_free(extra);
    g_free(extra_dec);
    g_free(extra_blob);
    csv_close(&r);
    return model_id;
}

/* OpenFace CSV out --------------------------------------------------------------------------- */

/* ", " and a number with '.' whatever the locale (the GUI runs in the user's). */
static void put_number(FILE *out, const char *format, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    fputs(", ", out);
    fputs(g_ascii_formatd(buf, sizeof buf, format, v), out);
}

static int compare_ints(gconstpointer a, gconstpointer b)
{
    return *(const int *)a - *(const int *)b;
}

/* The extra columns of an OpenFace import (openface_columns), in file order. */
typedef struct {
    int n;
    GPtrArray *names; /* char*, owned */
    GArray *after;    /* guint8: EXTRA_AFTER_* */
    GArray *format;   /* char[8]: "%.3f" with the column's decimals */
} ExtraColumns;

static void extra_columns_clear(ExtraColumns *x)
{
    if (x->names)
        g_ptr_array_unref(x->names);
    if (x->after)
        g_array_unref(x->after);
    if (x->format)
        g_array_unref(x->format);
    memset(x, 0, sizeof *x);
}

/* Reads MODEL's extra columns into X (none for a model that is no OpenFace import). */
static gboolean extra_columns_load(MimicaStore *store, gint64 model_id, ExtraColumns *x,
                                   GError **error)
{
    x->n = 0;
    x->names = g_ptr_array_new_with_free_func(g_free);
    x->after = g_array_new(FALSE, FALSE, sizeof(guint8));
    x->format = g_array_new(FALSE, FALSE, 8);
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "SELECT idx, name, after, decimals FROM openface_columns"
                                          " WHERE model_id = ?1 ORDER BY idx",
                                          error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, model_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_int64(st, 0) != x->n) {
            sqlite3_reset(st);
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: model %lld: its OpenFace columns are not numbered 0, 1, 2, ...",
                        store->path, (long long)model_id);
            return FALSE;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        g_ptr_array_add(x->names, g_strdup(name ? name : ""));
        guint8 after = (guint8)CLAMP(sqlite3_column_int(st, 2), 0, N_EXTRA_AFTER - 1);
        g_array_append_val(x->after, after);
        char format[8];
        g_snprintf(format, sizeof format, "%%.%df",
                   CLAMP(sqlite3_column_int(st, 3), 0, MAX_DECIMALS));
        g_array_append_vals(x->format, format, 1);
        x->n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
        return FALSE;
    }
    return TRUE;
}

/* One of openface_imports' AU lists ('' for none) into IN_LIST (per AU of AUS); FALSE if it is
 * no AU list. */
static gboolean au_columns_from_text(const char *text, const int *aus, int n_aus, gboolean *in_list)
{
    int listed[MAX_AUS], n_listed = 0;
    if (*text && !_mimica_store_parse_au_list(text, listed, &n_listed))
        return FALSE;
    for (int a = 0; a < n_aus; a++) {
        in_list[a] = FALSE;
        for (int k = 0; k < n_listed; k++)
            in_list[a] |= listed[k] == aus[a];
    }
    return TRUE;
}

/* For an OpenFace import, its AU columns as the file had them into HAS_R and HAS_C (left as
 * they are for other models). */
static gboolean openface_au_columns(MimicaStore *store, gint64 model_id, const int *aus, int n_aus,
                                    gboolean *has_r, gboolean *has_c, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store, "SELECT aus_r, aus_c FROM openface_imports WHERE model_id = ?1", error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st);
    gboolean ok = rc == SQLITE_DONE;
    if (rc == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        const char *c = (const char *)sqlite3_column_text(st, 1);
        ok = r && c && au_columns_from_text(r, aus, n_aus, has_r) &&
             au_columns_from_text(c, aus, n_aus, has_c);
        if (!ok)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: model %lld: its OpenFace AU columns are not lists of AU numbers",
                        store->path, (long long)model_id);
    } else if (!ok) {
        _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
    }
    sqlite3_reset(st);
    return ok;
}

/* The names of the extra columns that go after block AFTER; *FIRST: nothing written yet. */
static void put_extra_names(FILE *out, const ExtraColumns *x, int after, gboolean *first)
{
    for (int j = 0; j < x->n; j++)
        if (g_array_index(x->after, guint8, j) == after) {
            if (!*first)
                fputs(", ", out);
            *first = FALSE;
            csv_write_text(out, x->names->pdata[j]);
        }
}

/* Their values from a row's extras BLOB of BYTES (checked: 4 or 8 bytes a value). */
static void put_extra_values(FILE *out, const ExtraColumns *x, int after, const guint8 *blob,
                             int bytes, gboolean *first)
{
    char buf[128]; /* 1e38 with 17 decimals */
    for (int j = 0; j < x->n; j++)
        if (g_array_index(x->after, guint8, j) == after) {
            if (!*first)
                fputs(", ", out);
            *first = FALSE;
            fputs(g_ascii_formatd(buf, sizeof buf, &g_array_index(x->format, char, 8 * j),
                                  extras_value(blob, bytes, x->n, j)),
                  out);
        }
}

gboolean mimica_store_export_openface_csv(MimicaStore *store, gint64 video_id, gint64 model_id,
                                          FILE *out, GError **error)
{
    MimicaVideoFacts facts = {0};
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return FALSE;
    mimica_video_facts_clear(&facts);

    sqlite3_stmt *st;
    int rc;
    if (model_id == 0) {
        st = _mimica_store_stmt(store,
                                "SELECT max(p.model_id) FROM predictions p JOIN faces f ON"
                                " f.id = p.face_id WHERE f.video_id = ?1",
                                error);
        if (!st)
            return FALSE;
        sqlite3_bind_int64(st, 1, video_id);
        rc = sqlite3_step(st);
        model_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW) {
            _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
            return FALSE;
        }
        if (!model_id) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                        "%s: video %lld has no predictions", store->path, (long long)video_id);
            return FALSE;
        }
    }
    st = _mimica_store_stmt(store,
                            "SELECT aus, json_extract(CASE WHEN json_valid(metrics) THEN metrics"
                            " END, '$.thresholds') FROM models WHERE id = ?1",
                            error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, model_id);
    rc = sqlite3_step(st);
    int aus[MAX_AUS], n_aus = 0;
    gboolean aus_ok =
        rc == SQLITE_ROW &&
        _mimica_store_parse_au_list((const char *)sqlite3_column_text(st, 0), aus, &n_aus);
    /* presence thresholds per AU (a network model's file may give them), else 0.5 */
    float threshold[MAX_AUS];
    for (int a = 0; a < MAX_AUS; a++)
        threshold[a] = 0.5f;
    if (aus_ok && sqlite3_column_type(st, 1) == SQLITE_TEXT) {
        g_auto(GStrv) parts = g_strsplit_set((const char *)sqlite3_column_text(st, 1), "[], ", -1);
        int k = 0;
        for (char **q = parts; *q && k < n_aus; q++) {
            char *end;
            double t = g_ascii_strtod(*q, &end);
            if (**q && !*end && t > 0 && t < 1)
                threshold[k++] = (float)t;
        }
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "%s: no model %lld",
                    store->path, (long long)model_id);
        return FALSE;
    }
    if (!aus_ok) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: model %lld has no valid AU list", store->path, (long long)model_id);
        return FALSE;
    }

    /* One pass over the rows to learn which AUs carry intensities and presence values;
     * a second one writes them. Both in one read transaction. */
    sqlite3_stmt *rows = NULL;
    rc = sqlite3_prepare_v2(
        store->db,
        "SELECT p.frame, f.track, p.timestamp, p.confidence, p.success, p.landmarks,"
        " p.au_prob, p.au_intensity, p.pose, p.extras FROM predictions p JOIN faces f ON"
        " f.id = p.face_id WHERE f.video_id = ?1 AND p.model_id = ?2 ORDER BY p.frame, f.track",
        -1, &rows, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
        return FALSE;
    }
    sqlite3_bind_int64(rows, 1, video_id);
    sqlite3_bind_int64(rows, 2, model_id);
    if (sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        _mimica_store_set_error(store, sqlite3_errcode(store->db), error, "exporting");
        sqlite3_finalize(rows);
        return FALSE;
    }
    gboolean has_r[MAX_AUS] = {0}, has_c[MAX_AUS] = {0}, has_pose = FALSE, ok = TRUE;
    float prob[MAX_AUS], inten[MAX_AUS], lm[2 * N_LANDMARKS], pose[6];
    /* The columns an OpenFace import kept beyond ours; every row of it has their values. */
    ExtraColumns x = {0};
    if (!extra_columns_load(store, model_id, &x, error)) {
        ok = FALSE;
        goto out;
    }
    while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
        gboolean blob = sqlite3_column_type(rows, 9) == SQLITE_BLOB;
        int bytes = sqlite3_column_bytes(rows, 9);
        if (x.n && (!blob || (bytes != 4 * x.n && bytes != 8 * x.n))) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: model %lld, frame %lld, face %lld: %d bytes of extra OpenFace"
                        " values, want %d (float32) or %d (float64)",
                        store->path, (long long)model_id,
                        (long long)sqlite3_column_int64(rows, 0) + 1,
                        (long long)sqlite3_column_int64(rows, 1), bytes, 4 * x.n, 8 * x.n);
            ok = FALSE;
            goto out;
        }
        has_pose |= sqlite3_column_type(rows, 8) == SQLITE_BLOB;
        if (_mimica_store_floats_from_blob(sqlite3_column_blob(rows, 6),
                                           sqlite3_column_bytes(rows, 6), prob, n_aus))
            for (int a = 0; a < n_aus; a++)
                has_c[a] |= !isnan(prob[a]);
        if (_mimica_store_floats_from_blob(sqlite3_column_blob(rows, 7),
                                           sqlite3_column_bytes(rows, 7), inten, n_aus))
            for (int a = 0; a < n_aus; a++)
                has_r[a] |= !isnan(inten[a]);
    }
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
        ok = FALSE;
        goto out;
    }
    /* An AU of the model with no value at all (a model whose outputs are all NaN) still gets
     * its presence column, as nan: the columns say what the model is. An OpenFace import's AU
     * columns are the file's, even one that is nan throughout. */
    for (int a = 0; a < n_aus; a++)
        if (!has_c[a] && !has_r[a])
            has_c[a] = TRUE;
    if (!openface_au_columns(store, model_id, aus, n_aus, has_r, has_c, error)) {
        ok = FALSE;
        goto out;
    }
    /* Columns in ascending AU number, as OpenFace writes them. */
    int order[MAX_AUS][2];
    for (int a = 0; a < n_aus; a++) {
        order[a][0] = aus[a];
        order[a][1] = a;
    }
    qsort(order, n_aus, sizeof order[0], compare_ints);

    gboolean first = TRUE;
    put_extra_names(out, &x, EXTRA_AFTER_NONE, &first);
    fprintf(out, "%sframe, face_id, timestamp, confidence, success", first ? "" : ", ");
    first = FALSE;
    put_extra_names(out, &x, EXTRA_AFTER_FRAME, &first);
    if (has_pose)
        fputs(", pose_Tx, pose_Ty, pose_Tz, pose_Rx, pose_Ry, pose_Rz", out);
    put_extra_names(out, &x, EXTRA_AFTER_POSE, &first);
    for (int i = 0; i < N_LANDMARKS; i++)
        fprintf(out, ", x_%d", i);
    for (int i = 0; i < N_LANDMARKS; i++)
        fprintf(out, ", y_%d", i);
    put_extra_names(out, &x, EXTRA_AFTER_LANDMARKS, &first);
    for (int k = 0; k < n_aus; k++)
        if (has_r[order[k][1]])
            fprintf(out, ", AU%02d_r", order[k][0]);
    put_extra_names(out, &x, EXTRA_AFTER_AU_R, &first);
    for (int k = 0; k < n_aus; k++)
        if (has_c[order[k][1]])
            fprintf(out, ", AU%02d_c", order[k][0]);
    put_extra_names(out, &x, EXTRA_AFTER_AU_C, &first);
    fputc('\n', out);

    sqlite3_reset(rows);
    while ((rc = sqlite3_step(rows)) == SQLITE_ROW) {
        const guint8 *xv = sqlite3_column_blob(rows, 9);
        int xbytes = sqlite3_column_bytes(rows, 9);
        first = TRUE;
        put_extra_values(out, &x, EXTRA_AFTER_NONE, xv, xbytes, &first);
        fprintf(out, "%s%lld, %lld", first ? "" : ", ",
                (long long)sqlite3_column_int64(rows, 0) + 1,
                (long long)sqlite3_column_int64(rows, 1));
        first = FALSE;
        put_number(out, "%.3f", sqlite3_column_double(rows, 2));
        put_number(out, "%.3f", sqlite3_column_double(rows, 3));
        fprintf(out, ", %d", sqlite3_column_int(rows, 4));
        put_extra_values(out, &x, EXTRA_AFTER_FRAME, xv, xbytes, &first);
        /* OpenFace writes zeros where tracking failed */
        if (has_pose && !_mimica_store_floats_from_blob(sqlite3_column_blob(rows, 8),
                                                        sqlite3_column_bytes(rows, 8), pose, 6))
            memset(pose, 0, sizeof pose);
        for (int k = 0; has_pose && k < 6; k++)
            put_number(out, k < 3 ? "%.3f" : "%.6f", pose[k]);
        put_extra_values(out, &x, EXTRA_AFTER_POSE, xv, xbytes, &first);
        if (!_mimica_store_floats_from_blob(sqlite3_column_blob(rows, 5),
                                            sqlite3_column_bytes(rows, 5), lm, 2 * N_LANDMARKS))
            memset(lm, 0, sizeof lm);
        for (int i = 0; i < 2 * N_LANDMARKS; i++)
            put_number(out, "%.3f", lm[i]);
        put_extra_values(out, &x, EXTRA_AFTER_LANDMARKS, xv, xbytes, &first);
        gboolean have_p = _mimica_store_floats_from_blob(
            sqlite3_column_blob(rows, 6), sqlite3_column_bytes(rows, 6), prob, n_aus);
        gboolean have_i = _mimica_store_floats_from_blob(
            sqlite3_column_blob(rows, 7), sqlite3_column_bytes(rows, 7), inten, n_aus);
        for (int k = 0; k < n_aus; k++) {
            int a = order[k][1];
            if (!has_r[a])
                continue;
            if (have_i && !isnan(inten[a]))
                put_number(out, "%.2f", inten[a]);
            else
                fputs(", nan", out);
        }
        put_extra_values(out, &x, EXTRA_AFTER_AU_R, xv, xbytes, &first);
        for (int k = 0; k < n_aus; k++) {
            int a = order[k][1];
            if (!has_c[a])
                continue;
            /* presence: OpenFace's 0/1 as imported, or our probability at the model's threshold */
            if (have_p && !isnan(prob[a]))
                put_number(out, "%.2f", prob[a] >= threshold[a] ? 1.0 : 0.0);
            else
                fputs(", nan", out);
        }
        put_extra_values(out, &x, EXTRA_AFTER_AU_C, xv, xbytes, &first);
        fputc('\n', out);
    }
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "exporting OpenFace CSV");
        ok = FALSE;
    }
out:
    extra_columns_clear(&x);
    sqlite3_finalize(rows);
    sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    return ok && finish_output(out, "OpenFace CSV", error);
}

/* ELAN .eaf out ------------------------------------------------------------------------------ */

typedef struct {
    GArray *labels; /* MimicaLabel, annotator not kept */
    GPtrArray *annotators;
} ElanCollect;

static gboolean collect_label(const MimicaLabel *l, gpointer user_data)
{
    ElanCollect *c = user_data;
    MimicaLabel copy = *l;
    copy.annotator = NULL;
    g_array_append_val(c->labels, copy);
    gboolean seen = FALSE;
    for (guint i = 0; i < c->annotators->len; i++)
        seen |= strcmp(c->annotators->pdata[i], l->annotator) == 0;
    if (!seen)
        g_ptr_array_add(c->annotators, g_strdup(l->annotator));
    return TRUE;
}

typedef struct {
    int au;
    gint64 start, end; /* frames, end exclusive */
    MimicaLabelValue value;
} ElanSegment;

static int compare_gint64(gconstpointer a, gconstpointer b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* The labels of one AU flattened into non-overlapping segments, the later event winning. */
static void flatten_au(GArray *labels, int au, GArray *segments)
{
    g_autoptr(GArray) cuts = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (guint i = 0; i < labels->len; i++) {
        MimicaLabel *l = &g_array_index(labels, MimicaLabel, i);
        if (l->au != au)
            continue;
        gint64 s = l->frame_start, e = l->frame_end + 1;
        g_array_append_val(cuts, s);
        g_array_append_val(cuts, e);
    }
    g_array_sort(cuts, compare_gint64);
    for (guint k = 0; k + 1 < cuts->len; k++) {
        gint64 s = g_array_index(cuts, gint64, k), e = g_array_index(cuts, gint64, k + 1);
        if (s == e)
            continue;
        const MimicaLabel *best = NULL;
        for (guint i = 0; i < labels->len; i++) {
            MimicaLabel *l = &g_array_index(labels, MimicaLabel, i);
            if (l->au == au && l->frame_start <= s && l->frame_end >= s &&
                (!best || l->event > best->event))
                best = l;
        }
        if (!best)
            continue;
        ElanSegment *last =
            segments->len ? &g_array_index(segments, ElanSegment, segments->len - 1) : NULL;
        if (last && last->au == au && last->end == s && last->value == best->value) {
            last->end = e;
        } else {
            ElanSegment seg = {au, s, e, best->value};
            g_array_append_val(segments, seg);
        }
    }
}

static gint64 frame_to_ms(gint64 frame, int num, int den)
{
    /* frame / (num/den) seconds, rounded to the nearest millisecond */
    return (gint64)((frame * 1000 * (gint64)den * 2 + num) / (2 * (gint64)num));
}

/* An attribute value: escaped as text, and tab, newline and carriage return as character
 * references, which XML keeps (written as they are, a reader turns them into spaces: an
 * annotator "a<TAB>b" came back as "a b", found by tests/fuzz/fuzz-elan). */
static char *xml_attr(const char *s)
{
    g_autofree char *text = g_markup_escape_text(s, -1);
    GString *out = g_string_new(NULL);
    for (const char *p = text; *p; p++)
        if (*p == '\t' || *p == '\n' || *p == '\r')
            g_string_append_printf(out, "&#%d;", *p);
        else
            g_string_append_c(out, *p);
    return g_string_free(out, FALSE);
}

/* Writes the document: LABELS (one annotator's) flattened per AU into tiers. */
static void elan_write(FILE *out, const MimicaVideoFacts *facts_in, const char *who, GArray *labels)
{
    const MimicaVideoFacts facts = *facts_in;
    g_autoptr(GArray) segments = g_array_new(FALSE, FALSE, sizeof(ElanSegment));
    g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(gint64));

    for (int au = 1; au <= 99; au++)
        flatten_au(labels, au, segments);
    for (guint i = 0; i < segments->len; i++) {
        ElanSegment *s = &g_array_index(segments, ElanSegment, i);
        gint64 t0 = frame_to_ms(s->start, facts.frame_rate_num, facts.frame_rate_den);
        gint64 t1 = frame_to_ms(s->end, facts.frame_rate_num, facts.frame_rate_den);
        g_array_append_val(times, t0);
        g_array_append_val(times, t1);
    }
    g_array_sort(times, compare_gint64);
    /* unique */
    guint n_times = 0;
    for (guint i = 0; i < times->len; i++)
        if (n_times == 0 ||
            g_array_index(times, gint64, i) != g_array_index(times, gint64, n_times - 1))
            g_array_index(times, gint64, n_times++) = g_array_index(times, gint64, i);
    g_array_set_size(times, n_times);

    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    g_autofree char *date = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S%:z");
    g_autofree char *abs = g_canonicalize_filename(facts.path, NULL);
    g_autofree char *uri = g_filename_to_uri(abs, NULL, NULL);
    g_autofree char *ctype = g_content_type_guess(facts.path, NULL, 0, NULL);
    g_autofree char *mime = ctype ? g_content_type_get_mime_type(ctype) : NULL;
    g_autofree char *base = g_path_get_basename(facts.path);

    g_autofree char *who_x = xml_attr(who), *date_x = xml_attr(date);
    g_autofree char *uri_x = xml_attr(uri ? uri : ""),
                    *mime_x = xml_attr(mime ? mime : "video/mp4");
    g_autofree char *base_x = xml_attr(base);
    g_autofree char *head = g_strdup_printf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ANNOTATION_DOCUMENT AUTHOR=\"%s\" DATE=\"%s\" FORMAT=\"3.0\" VERSION=\"3.0\""
        " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""
        " xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">\n"
        "    <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">\n"
        "        <MEDIA_DESCRIPTOR MEDIA_URL=\"%s\" MIME_TYPE=\"%s\""
        " RELATIVE_MEDIA_URL=\"./%s\"/>\n"
        "        <PROPERTY NAME=\"lastUsedAnnotationId\">%u</PROPERTY>\n"
        "    </HEADER>\n"
        "    <TIME_ORDER>\n",
        who_x, date_x, uri_x, mime_x, base_x, segments->len);
    fputs(head, out);
    for (guint i = 0; i < times->len; i++)
        fprintf(out, "        <TIME_SLOT TIME_SLOT_ID=\"ts%u\" TIME_VALUE=\"%lld\"/>\n", i + 1,
                (long long)g_array_index(times, gint64, i));
    fputs("    </TIME_ORDER>\n", out);

    guint annotation = 0;
    for (guint i = 0; i < segments->len;) {
        int au = g_array_index(segments, ElanSegment, i).au;
        g_autofree char *tier = g_strdup_printf(
            "    <TIER ANNOTATOR=\"%s\" LINGUISTIC_TYPE_REF=\"AU label\" TIER_ID=\"AU%02d\">\n",
            who_x, au);
        fputs(tier, out);
        for (; i < segments->len && g_array_index(segments, ElanSegment, i).au == au; i++) {
            ElanSegment *s = &g_array_index(segments, ElanSegment, i);
            gint64 t0 = frame_to_ms(s->start, facts.frame_rate_num, facts.frame_rate_den);
            gint64 t1 = frame_to_ms(s->end, facts.frame_rate_num, facts.frame_rate_den);
            gint64 *lo = bsearch(&t0, times->data, times->len, sizeof(gint64), compare_gint64);
            gint64 *hi = bsearch(&t1, times->data, times->len, sizeof(gint64), compare_gint64);
            g_assert(lo && hi);
            fprintf(out,
                    "        <ANNOTATION>\n"
                    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a%u\""
                    " TIME_SLOT_REF1=\"ts%u\" TIME_SLOT_REF2=\"ts%u\">\n"
                    "                <ANNOTATION_VALUE>%s</ANNOTATION_VALUE>\n"
                    "            </ALIGNABLE_ANNOTATION>\n"
                    "        </ANNOTATION>\n",
                    ++annotation, (guint)(lo - (gint64 *)times->data) + 1,
                    (guint)(hi - (gint64 *)times->data) + 1,
                    mimica_label_value_to_string(s->value));
        }
        fputs("    </TIER>\n", out);
    }
    fputs("    <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"AU label\""
          " TIME_ALIGNABLE=\"true\"/>\n"
          "</ANNOTATION_DOCUMENT>\n",
          out);
}

gboolean mimica_store_export_elan(MimicaStore *store, gint64 video_id, const char *annotator,
                                  FILE *out, GError **error)
{
    MimicaVideoFacts facts = {0};
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return FALSE;
    ElanCollect c = {g_array_new(FALSE, FALSE, sizeof(MimicaLabel)),
                     g_ptr_array_new_with_free_func(g_free)};
    gboolean ok = FALSE;
    if (!mimica_store_foreach_label(store, video_id, annotator, collect_label, &c, error))
        goto out;
    if (!annotator && c.annotators->len > 1) {
        g_ptr_array_add(c.annotators, NULL);
        g_autofree char *names = g_strjoinv(", ", (char **)c.annotators->pdata);
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "video %lld has labels by several annotators (%s); choose one",
                    (long long)video_id, names);
        goto out;
    }
    const char *who = annotator ? annotator : c.annotators->len ? c.annotators->pdata[0] : "";
    elan_write(out, &facts, who, c.labels);
    ok = finish_output(out, "ELAN file", error);
out:
    g_array_unref(c.labels);
    g_ptr_array_unref(c.annotators);
    mimica_video_facts_clear(&facts);
    return ok;
}
