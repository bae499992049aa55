/* test-csv.c: import and export. Labels CSV round trip (quoted names, the ", " variant, CRLF),
 * bad label files; OpenFace FeatureExtraction CSV in (", " and "," variants, the full OpenFace
 * 2.2 header) and out (column names and order, values); ELAN .eaf well-formed and exact. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/mimica-store.h"
#include "tmp-folder.h"

typedef struct {
    char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = tmp_folder_new("mimica-csv-XXXXXX");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    tmp_folder_remove(f->dir);
}

static char *fpath(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

/* A project with two videos (ids 1 and 2, 25 fps and 30000/1001 fps, 300 frames). */
static MimicaStore *new_project(Fixture *f, const char *name)
{
    g_autofree char *path = fpath(f, name);
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(path, &error);
    g_assert_no_error(error);
    MimicaVideoFacts a = {
        (char *)"/videos/a b&c.mp4", (char *)"h1", 12000000, 25, 1, 300, 640, 480, 0};
    MimicaVideoFacts b = {
        (char *)"/videos/b.mkv", (char *)"h2", 10010000, 30000, 1001, 300, 1920, 1080, 90};
    g_assert_cmpint(mimica_store_add_video(store, &a, &error), ==, 1);
    g_assert_cmpint(mimica_store_add_video(store, &b, &error), ==, 2);
    return store;
}

/* Runs an exporter into a file and returns the file's text. */
typedef gboolean (*ExportFunc)(MimicaStore *store, FILE *out, gpointer data, GError **error);

static char *export_text(Fixture *f, MimicaStore *store, ExportFunc fn, gpointer data,
                         GError **error)
{
    g_autofree char *path = fpath(f, "export.out");
    FILE *out = fopen(path, "w");
    g_assert_nonnull(out);
    gboolean ok = fn(store, out, data, error);
    fclose(out);
    char *text = NULL;
    if (ok)
        g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_remove(path);
    return text;
}

static gboolean export_labels(MimicaStore *store, FILE *out, gpointer data, GError **error)
{
    return mimica_store_export_labels_csv(store, out, error);
}

static gint64 count_events(MimicaStore *store)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(mimica_store_get_db(store), "SELECT count(*) FROM label_events", -1, &st,
                       NULL);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    gint64 n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Drops the last column (event id) of each line. */
static char *without_event_column(const char *csv)
{
    g_auto(GStrv) lines = g_strsplit(csv, "\n", -1);
    GString *s = g_string_new(NULL);
    for (char **l = lines; *l; l++) {
        char *comma = strrchr(*l, ',');
        if (comma)
            *comma = '\0';
        g_string_append_printf(s, "%s\n", *l);
    }
    return g_string_free(s, FALSE);
}

/* Labels CSV -------------------------------------------------------------------------------- */

static void test_labels_round_trip(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) a = new_project(f, "a.mimica");
    const char *names[] = {"ann", "O'Brien, J.", "say \"hi\"", "Zoë"};
    GRand *rand = g_rand_new_with_seed(7);
    int n_set = 60;
    for (int i = 0; i < n_set; i++) {
        gint64 s = g_rand_int_range(rand, 0, 290);
        gint64 id = mimica_store_label_set(a, 1 + i % 2, s, s + g_rand_int_range(rand, 0, 9),
                                           g_rand_int_range(rand, 1, 30),
                                           g_rand_int_range(rand, 0, 7), names[i % 4], &error);
        g_assert_no_error(error);
        g_assert_cmpint(id, >, 0);
    }
    g_rand_free(rand);
    g_autofree char *first = export_text(f, a, export_labels, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(first, "video,frame_start,frame_end,au,value,annotator,time,"
                                          "event\n"));
    g_assert_nonnull(strstr(first, ",\"O'Brien, J.\","));
    g_assert_nonnull(strstr(first, ",\"say \"\"hi\"\"\","));

    g_autofree char *csv = fpath(f, "labels.csv");
    g_assert_true(g_file_set_contents(csv, first, -1, NULL));
    g_autoptr(MimicaStore) b = new_project(f, "b.mimica");
    gint64 n = mimica_store_import_labels_csv(b, csv, &error);
    g_assert_no_error(error);
    g_autofree char *second = export_text(f, b, export_labels, NULL, &error);
    g_autofree char *first_cut = without_event_column(first);
    g_autofree char *second_cut = without_event_column(second);
    g_assert_cmpstr(first_cut, ==, second_cut);
    int n_lines = 0;
    for (const char *p = first; *p; p++)
        n_lines += *p == '\n';
    g_test_message("%d labels set, %d current rows exported, %lld imported, re-export identical "
                   "(%zu bytes) apart from event ids",
                   n_set, n_lines - 1, (long long)n, strlen(first_cut));
    g_assert_cmpint(n, ==, n_lines - 1);
}

/* Times before 1970 and in year 1 export as written and import back to the same milliseconds. */
static void test_labels_old_times(Fixture *f, gconstpointer data)
{
    static const struct {
        const char *iso;
        gint64 ms;
    } times[] = {
        {"0001-01-01T00:00:00.000Z", -62135596800000LL},
        {"1899-12-31T23:59:59.999Z", -2208988800001LL},
        {"1969-12-31T23:59:59.500Z", -500},
        {"1969-12-31T23:59:59.999Z", -1},
        {"1970-01-01T00:00:00.000Z", 0},
        {"2026-12-07T04:00:00.123Z", 1796616000123LL},
        {"9999-12-31T23:59:59.999Z", 253402300799999LL},
    };
    GError *error = NULL;
    GString *csv_text = g_string_new("video,frame_start,frame_end,au,value,annotator,time,event\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(times); i++)
        g_string_append_printf(csv_text, "1,%u,%u,12,present,ann,%s,\n", 10 * i, 10 * i + 5,
                               times[i].iso);
    g_autofree char *csv = fpath(f, "times.csv");
    g_assert_true(g_file_set_contents(csv, csv_text->str, -1, NULL));
    g_autoptr(MimicaStore) a = new_project(f, "a.mimica");
    g_assert_cmpint(mimica_store_import_labels_csv(a, csv, &error), ==, G_N_ELEMENTS(times));
    g_assert_no_error(error);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(mimica_store_get_db(a), "SELECT time FROM label_events ORDER BY id", -1, &st,
                       NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(times); i++) {
        g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
        g_assert_cmpint(sqlite3_column_int64(st, 0), ==, times[i].ms);
    }
    sqlite3_finalize(st);
    g_autofree char *out = export_text(f, a, export_labels, NULL, &error);
    g_assert_no_error(error);
    for (unsigned i = 0; i < G_N_ELEMENTS(times); i++) {
        g_autofree char *want = g_strdup_printf(",ann,%s,", times[i].iso);
        if (!strstr(out, want))
            g_error("export lacks %s (ms %lld):\n%s", times[i].iso, (long long)times[i].ms, out);
    }
    /* ... and the export imports back into another project identically. */
    g_assert_true(g_file_set_contents(csv, out, -1, NULL));
    g_autoptr(MimicaStore) b = new_project(f, "b.mimica");
    g_assert_cmpint(mimica_store_import_labels_csv(b, csv, &error), ==, G_N_ELEMENTS(times));
    g_assert_no_error(error);
    g_autofree char *again = export_text(f, b, export_labels, NULL, &error);
    g_autofree char *out_cut = without_event_column(out);
    g_autofree char *again_cut = without_event_column(again);
    g_assert_cmpstr(out_cut, ==, again_cut);
    g_test_message("%u times from %s to %s: stored ms exact, exported as written, re-imported "
                   "identical",
                   (unsigned)G_N_ELEMENTS(times), times[0].iso, times[G_N_ELEMENTS(times) - 1].iso);
    g_string_free(csv_text, TRUE);
}

/* A field that is not UTF-8, quoted back in the message (the input fuzz-labels-csv found): the
 * message is valid UTF-8. */
static void test_labels_bytes(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *csv = fpath(f, "bytes.csv");
    static const char *const texts[] = {
        "video,frame_start\xd9\x99\x8d\x9eme_end,au,value,annotator,time,event\n",
        "video,frame_start,frame_end,au,value,annotator,time,event\n1,0,1,12,pr\xff,ann,,\n",
        "video,frame_start,frame_end,au,value,annotator,time,event\n1,0,1,12,A,ann,\xfe\xfe,\n",
        "video,frame_start,frame_end,au,value,annotator,time,event\n1,\xc3,1,12,A,ann,,\n",
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_assert_true(g_file_set_contents(csv, texts[i], -1, NULL));
        g_assert_cmpint(mimica_store_import_labels_csv(store, csv, &error), ==, -1);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        g_assert_true(g_utf8_validate(error->message, -1, NULL));
        g_test_message("bytes %u: %s", i, error->message);
        g_clear_error(&error);
    }
}

static void test_labels_comma_space(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *csv = fpath(f, "labels.csv");
    const char *text =
        "\xef\xbb\xbfvideo, frame_start, frame_end, au, value, annotator, time, event\r\n"
        "1, 0, 9, 12, present, ann, 2026-01-02T03:04:05.678Z, 17\r\n"
        "\r\n"
        "2, 10, 10, 4, C, \"Smith, A\", 2026-01-02T03:04:06Z, \r\n"
        "1,20,29,6,absent,ann,,\n";
    g_assert_true(g_file_set_contents(csv, text, -1, NULL));
    gint64 n = mimica_store_import_labels_csv(store, csv, &error);
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, 3);
    MimicaLabelValue v;
    g_assert_true(mimica_store_label_at(store, 1, 12, 9, "ann", &v, &error));
    g_assert_cmpint(v, ==, MIMICA_LABEL_PRESENT);
    g_assert_true(mimica_store_label_at(store, 2, 4, 10, "Smith, A", &v, &error));
    g_assert_cmpint(v, ==, MIMICA_LABEL_C);
    g_assert_true(mimica_store_label_at(store, 1, 6, 25, "ann", &v, &error));
    g_assert_cmpint(v, ==, MIMICA_LABEL_ABSENT);
    g_autofree char *out = export_text(f, store, export_labels, NULL, &error);
    g_assert_nonnull(strstr(out, "1,0,9,12,present,ann,2026-01-02T03:04:05.678Z,"));
    g_assert_nonnull(strstr(out, "2,10,10,4,C,\"Smith, A\",2026-01-02T03:04:06.000Z,"));
    g_test_message("', ' + CRLF + BOM + blank line: %lld rows; time kept to the ms", (long long)n);
}

static void test_labels_bad(Fixture *f, gconstpointer data)
{
    const char *header = "video,frame_start,frame_end,au,value,annotator,time,event\n";
    struct {
        const char *body;
        const char *want; /* in the message */
    } bad[] = {
        {"", "empty file"},
        {"video,frame,frame_end,au,value,annotator,time,event\n", "column 2"},
        {"1,0,9,12,present,ann,,\n1,0,9,12,maybe,ann,,\n", ":3: value 'maybe'"},
        {"1,0,9,12,present,ann,,\n9,0,9,12,present,ann,,\n", ":3: "},
        {"1,0,400,12,present,ann,,\n", "outside video"},
        {"1,5,4,12,present,ann,,\n", ":2: "},
        {"1,0,9,120,present,ann,,\n", ":2: au"},
        {"1,0,9,12,present,ann\n", "fields"},
        {"1,0,9,12,present,\"ann,,\n", "unterminated"},
        {"1,0,9,12,present,ann,yesterday,\n", "ISO 8601"},
        {"1,x,9,12,present,ann,,\n", "frame_start"},
        {"1,0,9,12,present,,,\n", "annotator"},
    };
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *csv = fpath(f, "bad.csv");
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *text = g_strconcat(i < 2 ? "" : header, bad[i].body, NULL);
        g_assert_true(g_file_set_contents(csv, text, -1, NULL));
        gint64 n = mimica_store_import_labels_csv(store, csv, &error);
        g_assert_cmpint(n, ==, -1);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        g_test_message("bad %u: %s", i, error->message);
        if (!strstr(error->message, bad[i].want))
            g_error("bad %u: message lacks '%s'", i, bad[i].want);
        g_clear_error(&error);
        g_assert_cmpint(count_events(store), ==, 0); /* all or nothing */
    }
    g_autofree char *missing = fpath(f, "missing.csv");
    g_assert_cmpint(mimica_store_import_labels_csv(store, missing, &error), ==, -1);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
}

/* OpenFace CSV ------------------------------------------------------------------------------ */

static const int aus_r[17] = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 45};
static const int aus_c[18] = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26, 28, 45};

/* The header OpenFace 2.2's FeatureExtraction writes (all blocks). */
static void openface_header(GPtrArray *cols)
{
    const char *head[] = {"frame", "face_id", "timestamp", "confidence", "success"};
    for (unsigned i = 0; i < 5; i++)
        g_ptr_array_add(cols, g_strdup(head[i]));
    for (int e = 0; e < 2; e++)
        for (const char *c = "xyz"; *c; c++)
            g_ptr_array_add(cols, g_strdup_printf("gaze_%d_%c", e, *c));
    g_ptr_array_add(cols, g_strdup("gaze_angle_x"));
    g_ptr_array_add(cols, g_strdup("gaze_angle_y"));
    for (const char *c = "xyXYZ"; *c; c++)
        for (int i = 0; i < 56; i++)
            g_ptr_array_add(cols, g_strdup_printf("eye_lmk_%c_%d", *c, i));
    for (const char *c = "TR"; *c; c++)
        for (const char *d = "xyz"; *d; d++)
            g_ptr_array_add(cols, g_strdup_printf("pose_%c%c", *c, *d));
    for (const char *c = "xyXYZ"; *c; c++)
        for (int i = 0; i < 68; i++)
            g_ptr_array_add(cols, g_strdup_printf("%c_%d", *c, i));
    const char *p[] = {"p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"};
    for (unsigned i = 0; i < 6; i++)
        g_ptr_array_add(cols, g_strdup(p[i]));
    for (int i = 0; i < 34; i++)
        g_ptr_array_add(cols, g_strdup_printf("p_%d", i));
    for (int i = 0; i < 17; i++)
        g_ptr_array_add(cols, g_strdup_printf("AU%02d_r", aus_r[i]));
    for (int i = 0; i < 18; i++)
        g_ptr_array_add(cols, g_strdup_printf("AU%02d_c", aus_c[i]));
}

/* A synthetic OpenFace CSV: N_FRAMES frames x 2 faces, values from a seeded RNG, written with
 * SEP between fields. Also returns the values of the columns we keep, per row. */
typedef struct {
    int frame, face;
    double ts, conf;
    int success;
    double pose[6], x[68], y[68], r[17], c[18];
} OfRow;

static char *make_openface(int n_frames, const char *sep, guint32 seed, GArray *rows)
{
    g_autoptr(GPtrArray) cols = g_ptr_array_new_with_free_func(g_free);
    openface_header(cols);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < cols->len; i++)
        g_string_append_printf(s, "%s%s", i ? sep : "", (char *)cols->pdata[i]);
    g_string_append_c(s, '\n');
    GRand *rand = g_rand_new_with_seed(seed);
    for (int fr = 1; fr <= n_frames; fr++)
        for (int face = 0; face < 2; face++) {
            OfRow row = {fr, face, (fr - 1) * 0.04, 0.9 + 0.01 * face, fr % 7 != 0};
            for (int i = 0; i < 6; i++)
                row.pose[i] = i < 3 ? g_rand_double_range(rand, -300, 900)
                                    : g_rand_double_range(rand, -1.5, 1.5);
            for (int i = 0; i < 68; i++) {
                row.x[i] = round(g_rand_double_range(rand, 0, 640) * 10) / 10;
                row.y[i] = round(g_rand_double_range(rand, 0, 480) * 10) / 10;
            }
            for (int i = 0; i < 17; i++)
                row.r[i] = round(g_rand_double_range(rand, 0, 5) * 100) / 100;
            for (int i = 0; i < 18; i++)
                row.c[i] = g_rand_boolean(rand);
            if (rows)
                g_array_append_val(rows, row);
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            for (guint i = 0; i < cols->len; i++) {
                const char *name = cols->pdata[i];
                double v = 0.5; /* gaze, 3-D, p_*: kept verbatim */
                int k;
                if (strcmp(name, "frame") == 0)
                    v = fr;
                else if (strcmp(name, "face_id") == 0)
                    v = face;
                else if (strcmp(name, "timestamp") == 0)
                    v = row.ts;
                else if (strcmp(name, "confidence") == 0)
                    v = row.conf;
                else if (strcmp(name, "success") == 0)
                    v = row.success;
                else if (g_str_has_prefix(name, "pose_"))
                    v = row.pose[(name[5] == 'R' ? 3 : 0) + (name[6] - 'x')];
                else if (sscanf(name, "x_%d", &k) == 1 && name[0] == 'x')
                    v = row.x[k];
                else if (sscanf(name, "y_%d", &k) == 1 && name[0] == 'y')
                    v = row.y[k];
                else if (sscanf(name, "AU%d_r", &k) == 1 && g_str_has_suffix(name, "_r")) {
                    for (int a = 0; a < 17; a++)
                        if (aus_r[a] == k)
                            v = row.r[a];
                } else if (sscanf(name, "AU%d_c", &k) == 1 && g_str_has_suffix(name, "_c")) {
                    for (int a = 0; a < 18; a++)
                        if (aus_c[a] == k)
                            v = row.c[a];
                }
                /* OpenFace writes frame, face_id and success as integers */
                gboolean whole = i == 0 || i == 1 || i == 4;
                g_string_append_printf(
                    s, "%s%s", i ? sep : "",
                    g_ascii_formatd(buf, sizeof buf, whole ? "%.0f" : "%.3f", v));
            }
            g_string_append_c(s, '\n');
        }
    g_rand_free(rand);
    return g_string_free(s, FALSE);
}

typedef struct {
    gint64 video, model;
} OfExport;

static gboolean export_openface(MimicaStore *store, FILE *out, gpointer data, GError **error)
{
    OfExport *e = data;
    return mimica_store_export_openface_csv(store, e->video, e->model, out, error);
}

static guint column_of(GStrv header, const char *name)
{
    for (guint i = 0; header[i]; i++)
        if (strcmp(header[i], name) == 0)
            return i;
    g_error("no column '%s' in the export", name);
}

/* Parses our export (", " separated) and compares it with the rows written: the header is the
 * file's (OpenFace 2.2's, 714 columns), values of Mimica's columns by name, the other columns
 * (0.5 in make_openface) as written. */
static void check_openface_export(const char *text, GArray *rows)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_auto(GStrv) header = g_strsplit(lines[0], ", ", -1);
    g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func(g_free);
    openface_header(want);
    g_assert_cmpuint(g_strv_length(header), ==, want->len);
    for (guint i = 0; i < want->len; i++)
        if (strcmp(header[i], want->pdata[i]) != 0)
            g_error("column %u is '%s', want '%s'", i, header[i], (char *)want->pdata[i]);
    guint c_ts = column_of(header, "timestamp"), c_pose = column_of(header, "pose_Tx");
    guint c_x = column_of(header, "x_0"), c_y = column_of(header, "y_0");
    guint c_r = column_of(header, "AU01_r"), c_c = column_of(header, "AU01_c");
    double max_lm = 0, max_r = 0, max_ts = 0, max_pose = 0, max_extra = 0;
    int c_mismatch = 0, n_extra = 0;
    guint n = 0;
    for (; lines[n + 1] && *lines[n + 1]; n++) {
        g_auto(GStrv) v = g_strsplit(lines[n + 1], ", ", -1);
        g_assert_cmpuint(g_strv_length(v), ==, want->len);
        g_assert_cmpuint(n, <, rows->len);
        OfRow *r = &g_array_index(rows, OfRow, n);
        g_assert_cmpint(atoi(v[0]), ==, r->frame);
        g_assert_cmpint(atoi(v[1]), ==, r->face);
        g_assert_cmpint(atoi(v[4]), ==, r->success);
        max_ts = fmax(max_ts, fabs(g_ascii_strtod(v[c_ts], NULL) - r->ts));
        /* pose as the file gave it, also where the face was not found */
        for (int i = 0; i < 6; i++)
            max_pose = fmax(max_pose, fabs(g_ascii_strtod(v[c_pose + i], NULL) - r->pose[i]));
        for (int i = 0; i < 68; i++) {
            max_lm = fmax(max_lm, fabs(g_ascii_strtod(v[c_x + i], NULL) - r->x[i]));
            max_lm = fmax(max_lm, fabs(g_ascii_strtod(v[c_y + i], NULL) - r->y[i]));
        }
        for (int i = 0; i < 17; i++)
            max_r = fmax(max_r, fabs(g_ascii_strtod(v[c_r + i], NULL) - r->r[i]));
        for (int i = 0; i < 18; i++)
            c_mismatch += g_ascii_strtod(v[c_c + i], NULL) != r->c[i];
        for (guint i = 5; i < want->len; i++)
            if ((i < c_pose || (i >= c_y + 68 && i < c_r)) && ++n_extra)
                max_extra = fmax(max_extra, fabs(g_ascii_strtod(v[i], NULL) - 0.5));
    }
    g_assert_cmpuint(n, ==, rows->len);
    g_test_message("%u rows x %u columns; max |diff| landmarks %.3g (tol 0.05), AU_r %.3g "
                   "(tol 0.005), timestamp %.3g (tol 5e-4), pose %.3g (tol 1e-3: 3 decimals in, "
                   "float32 kept), %d gaze/3-D/p_* values %.3g (tol 5e-4); AU_c mismatches %d",
                   n, want->len, max_lm, max_r, max_ts, max_pose, n_extra, max_extra, c_mismatch);
    g_assert_cmpint(n_extra, ==, (int)(n * (want->len - 182)));
    g_assert_cmpfloat(max_pose, <=, 1e-3);
    g_assert_cmpfloat(max_lm, <=, 0.05 + 1e-4);
    g_assert_cmpfloat(max_r, <=, 0.005 + 1e-6);
    g_assert_cmpfloat(max_ts, <=, 5e-4);
    g_assert_cmpfloat(max_extra, <=, 5e-4);
    g_assert_cmpint(c_mismatch, ==, 0);
}

static void openface_round_trip(Fixture *f, const char *sep)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(OfRow));
    g_autofree char *text = make_openface(12, sep, 42, rows);
    g_autofree char *csv = fpath(f, "openface.csv");
    g_assert_true(g_file_set_contents(csv, text, -1, NULL));
    MimicaOpenFaceImport kept;
    gint64 model = mimica_store_import_openface_csv(store, 1, csv, &kept, &error);
    g_assert_no_error(error);
    g_assert_cmpint(model, >, 0);
    g_assert_cmpint(kept.n_rows, ==, 24);
    /* OpenFace 2.2's 714 columns: 182 in Mimica's fields, 532 kept verbatim */
    g_assert_cmpint(kept.n_columns, ==, 714);
    g_assert_cmpint(kept.n_mimica, ==, 182);
    g_assert_cmpint(kept.n_extra, ==, 532);
    g_assert_cmpint(kept.n_confidence_nan, ==, 0);
    OfExport e = {1, 0};
    g_autofree char *out = export_text(f, store, export_openface, &e, &error);
    g_assert_no_error(error);
    g_test_message("separator '%s': %zu bytes in, %zu bytes out, model %lld", sep, strlen(text),
                   strlen(out), (long long)model);
    check_openface_export(out, rows);
}

static void test_openface_comma_space(Fixture *f, gconstpointer data)
{
    openface_round_trip(f, ", ");
}

static void test_openface_comma(Fixture *f, gconstpointer data)
{
    openface_round_trip(f, ",");
}

static void test_openface_bad(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *good = make_openface(2, ", ", 1, NULL);
    g_autofree char *csv = fpath(f, "bad.csv");
    /* Truncated in the middle of the last row */
    g_assert_true(g_file_set_contents(csv, good, strlen(good) - 200, NULL));
    g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
    g_test_message("truncated: %s", error->message);
    g_clear_error(&error);
    /* A word in a number column */
    g_autofree char *word = g_strdup(good);
    char *second = strchr(word, '\n') + 1;
    memcpy(strstr(second, ", ") + 2, "x", 1);
    g_assert_true(g_file_set_contents(csv, word, -1, NULL));
    g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
    g_test_message("bad number: %s", error->message);
    g_clear_error(&error);
    /* Missing columns, partial landmarks, no AUs, unknown video */
    const char *headers[] = {"face_id, timestamp, success, AU01_c\n",
                             "frame, timestamp, success, x_0, y_0, AU01_c\n",
                             "frame, timestamp, success, confidence\n"};
    for (unsigned i = 0; i < G_N_ELEMENTS(headers); i++) {
        g_assert_true(g_file_set_contents(csv, headers[i], -1, NULL));
        g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), ==, 0);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        g_test_message("header %u: %s", i, error->message);
        g_clear_error(&error);
    }
    g_assert_true(g_file_set_contents(csv, good, -1, NULL));
    g_assert_cmpint(mimica_store_import_openface_csv(store, 9, csv, NULL, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    /* Nothing half-imported */
    MimicaStoreInfo info;
    g_assert_true(mimica_store_get_info(store, &info, &error));
    g_assert_cmpint(info.n_models, ==, 0);
    g_assert_cmpint(info.n_predictions, ==, 0);
    OfExport e = {1, 0};
    g_autofree char *out = export_text(f, store, export_openface, &e, &error);
    g_assert_null(out);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
}

/* A one-row OpenFace CSV with FRAME and the first landmark X0 (text), AU01_c = AU01. */
static char *small_openface(const char *frame, const char *x0, const char *au01)
{
    GString *s = g_string_new("frame, face_id, timestamp, confidence, success");
    for (int i = 0; i < 68; i++)
        g_string_append_printf(s, ", x_%d", i);
    for (int i = 0; i < 68; i++)
        g_string_append_printf(s, ", y_%d", i);
    g_string_append_printf(s, ", AU01_c\n%s, 0, 0.000, 0.98, 1", frame);
    for (int i = 0; i < 136; i++)
        g_string_append_printf(s, ", %s", i == 0 ? x0 : "100.5");
    g_string_append_printf(s, ", %s\n", au01);
    return g_string_free(s, FALSE);
}

/* Frames beyond the video and landmarks no float holds are refused at file:line; a model whose
 * AUs are all NaN still exports its AU columns. */
static void test_openface_bounds(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *csv = fpath(f, "small.csv");
    static const struct {
        const char *frame, *x0, *want;
    } bad[] = {
        {"301", "100.5", ":2: frame 301 is beyond video 1 (frames 1-300)"},
        {"1", "1e300", ":2: x: 1e300 is out of range"},
        {"1", "-4e38", ":2: x: -4e38 is out of range"},
        {"1", "inf", ":2: x: 'inf' is not a finite number"},
        {"1", "nan", ":2: x: nan is not a number"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *text = small_openface(bad[i].frame, bad[i].x0, "1");
        g_assert_true(g_file_set_contents(csv, text, -1, NULL));
        g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), ==, 0);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        if (!strstr(error->message, bad[i].want))
            g_error("bad %u: '%s' lacks '%s'", i, error->message, bad[i].want);
        g_test_message("frame %s, x_0 %s: %s", bad[i].frame, bad[i].x0, error->message);
        g_clear_error(&error);
    }
    g_autofree char *last = small_openface("300", "639.5", "0");
    g_assert_true(g_file_set_contents(csv, last, -1, NULL));
    g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), >, 0);
    g_assert_no_error(error);

    /* A network model whose outputs are all NaN. */
    static const int aus[3] = {1, 2, 4};
    gint64 model = mimica_store_add_model(store, "nan.safetensors", "nan", 0, aus, 3, NULL, &error);
    g_assert_no_error(error);
    MimicaPrediction rows[2];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 2; i++) {
        rows[i].frame = i;
        rows[i].timestamp = i * 0.04;
        rows[i].success = TRUE;
        rows[i].n_aus = 3;
        for (int a = 0; a < 3; a++)
            rows[i].au_prob[a] = NAN;
    }
    g_assert_true(mimica_store_put_predictions(store, 2, 0, model, rows, 2, &error));
    g_assert_no_error(error);
    OfExport e = {2, model};
    g_autofree char *out = export_text(f, store, export_openface, &e, &error);
    g_assert_no_error(error);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_assert_true(g_str_has_suffix(lines[0], ", AU01_c, AU02_c, AU04_c"));
    g_assert_true(g_str_has_suffix(lines[1], ", nan, nan, nan"));
    /* Mimica's own rows have no extra columns: frame .. success, landmarks, 3 AUs */
    g_auto(GStrv) names = g_strsplit(lines[0], ", ", -1);
    g_assert_cmpuint(g_strv_length(names), ==, 5 + 136 + 3);
    g_assert_true(
        g_str_has_prefix(lines[0], "frame, face_id, timestamp, confidence, success, x_0"));
    g_test_message("all-NaN model: header ends '%s', row ends '%s'",
                   lines[0] + strlen(lines[0]) - 24, lines[1] + strlen(lines[1]) - 15);
}

/* OpenFace 2.2's decimals for column NAME (RecorderCSV: fixed notation), -1 for an integer. */
static int openface_decimals(const char *name)
{
    if (!strcmp(name, "frame") || !strcmp(name, "face_id") || !strcmp(name, "success"))
        return -1;
    if (!strcmp(name, "confidence") || g_str_has_suffix(name, "_r"))
        return 2;
    if (g_str_has_prefix(name, "gaze_angle"))
        return 3;
    if (g_str_has_prefix(name, "gaze_"))
        return 6;
    if (g_str_has_prefix(name, "eye_lmk") || g_str_has_prefix(name, "pose_T") ||
        (name[1] == '_' && strchr("xyXYZ", name[0])) || g_str_has_suffix(name, "_c"))
        return 1;
    return 3; /* timestamp, pose_R*, p_* */
}

/* A value for column NAME in OpenFace's range. */
static double openface_value(GRand *rand, const char *name)
{
    if (g_str_has_prefix(name, "gaze_"))
        return g_rand_double_range(rand, -1, 1);
    if (g_str_has_prefix(name, "eye_lmk_x") || name[0] == 'x')
        return g_rand_double_range(rand, 0, 1920);
    if (g_str_has_prefix(name, "eye_lmk_y") || name[0] == 'y')
        return g_rand_double_range(rand, 0, 1080);
    if (g_str_has_prefix(name, "eye_lmk_Z") || name[0] == 'Z' || !strcmp(name, "pose_Tz"))
        return g_rand_double_range(rand, 250, 1500);
    if (g_str_has_prefix(name, "eye_lmk") || name[0] == 'X' || name[0] == 'Y' ||
        g_str_has_prefix(name, "pose_T"))
        return g_rand_double_range(rand, -400, 400);
    if (g_str_has_prefix(name, "pose_R") || !strcmp(name, "p_rx") || !strcmp(name, "p_ry") ||
        !strcmp(name, "p_rz"))
        return g_rand_double_range(rand, -1.6, 1.6);
    if (!strcmp(name, "p_scale"))
        return g_rand_double_range(rand, 0.3, 4);
    if (!strcmp(name, "p_tx") || !strcmp(name, "p_ty"))
        return g_rand_double_range(rand, 0, 1500);
    if (g_str_has_prefix(name, "p_"))
        return g_rand_double_range(rand, -45, 45);
    if (g_str_has_suffix(name, "_r"))
        return g_rand_double_range(rand, 0, 5);
    if (g_str_has_suffix(name, "_c"))
        return g_rand_boolean(rand);
    return g_rand_double_range(rand, 0.5, 1); /* confidence */
}

/* The number of digits after the point of TEXT. */
static int decimals_of(const char *text)
{
    const char *dot = strchr(text, '.');
    return dot ? (int)strlen(dot + 1) : 0;
}

/* A complete OpenFace 2.2 CSV (all 714 columns, names made here in OpenFace's order) with 3
 * frames x 2 faces of varied values at OpenFace's own decimals, the second frame's faces not
 * found (their pose and landmarks as OpenFace leaves them: not zero), imported and exported:
 * every column comes back, in the same order, each value within half its last printed digit
 * (5e-4 for 3 decimals); the export writes landmarks, pose_T* and confidence with 3 decimals and
 * pose_R* with 6. The export imported again exports the same text. */
static void test_openface_all_columns(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autoptr(GPtrArray) cols = g_ptr_array_new_with_free_func(g_free);
    openface_header(cols);
    g_assert_cmpuint(cols->len, ==, 714);
    enum { N_ROWS = 6 };
    g_autoptr(GPtrArray) in = g_ptr_array_new_with_free_func(g_free); /* N_ROWS x cols texts */
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < cols->len; i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", (char *)cols->pdata[i]);
    g_string_append_c(s, '\n');
    GRand *rand = g_rand_new_with_seed(2024);
    for (int row = 0; row < N_ROWS; row++) {
        int frame = row / 2 + 1, face = row % 2;
        for (guint i = 0; i < cols->len; i++) {
            const char *name = cols->pdata[i];
            int d = openface_decimals(name);
            char buf[64], fmt[8];
            if (d < 0) {
                g_snprintf(buf, sizeof buf, "%d",
                           i == 0   ? frame
                           : i == 1 ? face
                                    : frame != 2 /* success */);
            } else {
                double v = strcmp(name, "timestamp") == 0 ? (frame - 1) / 30.0
                                                          : openface_value(rand, name);
                g_snprintf(fmt, sizeof fmt, "%%.%df", d);
                g_ascii_formatd(buf, sizeof buf, fmt, v);
            }
            g_ptr_array_add(in, g_strdup(buf));
            g_string_append_printf(s, "%s%s", i ? ", " : "", buf);
        }
        g_string_append_c(s, '\n');
    }
    g_rand_free(rand);
    g_autofree char *csv = fpath(f, "openface-2.2.csv");
    g_assert_true(g_file_set_contents(csv, s->str, -1, NULL));
    gsize in_bytes = s->len;
    g_string_free(s, TRUE);

    MimicaOpenFaceImport kept;
    gint64 model = mimica_store_import_openface_csv(store, 1, csv, &kept, &error);
    g_assert_no_error(error);
    g_assert_cmpint(kept.n_rows, ==, N_ROWS);
    g_assert_cmpint(kept.n_columns, ==, 714);
    g_assert_cmpint(kept.n_extra, ==, 532);
    /* Stored compactly: the names once, 532 float32 a row (OpenFace's values need no float64) */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(mimica_store_get_db(store),
                       "SELECT count(*), min(length(extras)), max(length(extras)), (SELECT"
                       " count(*) FROM openface_columns WHERE model_id = ?1) FROM predictions"
                       " WHERE model_id = ?1",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, model);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(st, 0), ==, N_ROWS);
    g_assert_cmpint(sqlite3_column_int(st, 1), ==, 532 * 4);
    g_assert_cmpint(sqlite3_column_int(st, 2), ==, 532 * 4);
    g_assert_cmpint(sqlite3_column_int(st, 3), ==, 532);
    sqlite3_finalize(st);

    OfExport e = {1, model};
    g_autofree char *out = export_text(f, store, export_openface, &e, &error);
    g_assert_no_error(error);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, N_ROWS + 2); /* header, rows, "" */
    g_auto(GStrv) header = g_strsplit(lines[0], ", ", -1);
    g_assert_cmpuint(g_strv_length(header), ==, cols->len);
    for (guint i = 0; i < cols->len; i++)
        if (strcmp(header[i], cols->pdata[i]) != 0)
            g_error("column %u is '%s', want '%s'", i, header[i], (char *)cols->pdata[i]);
    double max_diff = 0, max_diff3 = 0, max_ratio = 0;
    const char *worst = "none";
    guint n_values = 0, n_same_text = 0, n_three = 0, n_six = 0;
    for (int row = 0; row < N_ROWS; row++) {
        g_auto(GStrv) v = g_strsplit(lines[row + 1], ", ", -1);
        g_assert_cmpuint(g_strv_length(v), ==, cols->len);
        for (guint i = 0; i < cols->len; i++) {
            const char *name = cols->pdata[i], *want = in->pdata[row * cols->len + i];
            int d = openface_decimals(name);
            double diff = fabs(g_ascii_strtod(v[i], NULL) - g_ascii_strtod(want, NULL));
            double tol = d < 0 ? 0 : 0.5 * pow(10, -d);
            if (diff > max_diff)
                max_diff = diff, worst = name;
            if (d == 3)
                max_diff3 = fmax(max_diff3, diff);
            if (tol > 0)
                max_ratio = fmax(max_ratio, diff / tol);
            else
                g_assert_cmpfloat(diff, ==, 0);
            n_values++;
            n_same_text += strcmp(v[i], want) == 0;
            /* Mimica's decimals: landmarks, pose_T*, confidence 3, pose_R* 6 */
            if (!strcmp(name, "confidence") || g_str_has_prefix(name, "pose_T") ||
                ((name[0] == 'x' || name[0] == 'y') && name[1] == '_')) {
                g_assert_cmpint(decimals_of(v[i]), ==, 3);
                n_three++;
            } else if (g_str_has_prefix(name, "pose_R")) {
                g_assert_cmpint(decimals_of(v[i]), ==, 6);
                n_six++;
            }
        }
    }
    g_test_message("OpenFace 2.2, %d rows: %u columns compared (%u values, %u with the same text); "
                   "max |diff| %.3g (%s), 3-decimal columns %.3g (tol 0.0005), max |diff| / half "
                   "a last digit %.3f (tol 1); %u values with 3 decimals (confidence, pose_T*, "
                   "x_*, y_*), %u with 6 (pose_R*); %zu bytes in, %zu out",
                   N_ROWS, cols->len, n_values, n_same_text, max_diff, worst, max_diff3, max_ratio,
                   n_three, n_six, in_bytes, strlen(out));
    g_assert_cmpuint(n_values, ==, N_ROWS * 714);
    g_assert_cmpfloat(max_diff3, <=, 0.0005);
    g_assert_cmpfloat(max_ratio, <=, 1.0);
    g_assert_cmpuint(n_three, ==, N_ROWS * (1 + 3 + 136));
    g_assert_cmpuint(n_six, ==, N_ROWS * 3);
    /* the 532 extra columns come back as OpenFace printed them */
    g_assert_cmpuint(n_same_text, >=, N_ROWS * 532);

    /* Our export is a file we read back as it is */
    g_autofree char *again_csv = fpath(f, "again.csv");
    g_assert_true(g_file_set_contents(again_csv, out, -1, NULL));
    gint64 again = mimica_store_import_openface_csv(store, 2, again_csv, NULL, &error);
    g_assert_no_error(error);
    OfExport e2 = {2, again};
    g_autofree char *out2 = export_text(f, store, export_openface, &e2, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(out2, ==, out);
}

/* Extra columns anywhere (before frame, between, after the AUs) go back where they were; values
 * float32 cannot give back at their decimals are kept as float64; bad values are refused. */
static void test_openface_extras(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *csv = fpath(f, "extras.csv");
    const char *text = "n, frame, timestamp, success, fine, big, AU01_r, AU01_c, tail\n"
                       "0, 1, 0.000, 1, 0.1234567891, 16777217.5, 1.50, 1.0, -0.000\n"
                       "1, 2, 0.040, 1, 0.25, 3.5, 0.00, 0.0, 1.5e-05\n";
    g_assert_true(g_file_set_contents(csv, text, -1, NULL));
    MimicaOpenFaceImport kept;
    gint64 model = mimica_store_import_openface_csv(store, 1, csv, &kept, &error);
    g_assert_no_error(error);
    g_assert_cmpint(kept.n_columns, ==, 9);
    g_assert_cmpint(kept.n_mimica, ==, 5);
    g_assert_cmpint(kept.n_extra, ==, 4);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(mimica_store_get_db(store),
                       "SELECT group_concat(length(extras)) FROM (SELECT extras FROM predictions"
                       " WHERE model_id = ?1 ORDER BY frame)",
                       -1, &st, NULL);
    sqlite3_bind_int64(st, 1, model);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    /* frame 1 holds 0.1234567891 and 16777217.5: float64; frame 2 float32 */
    g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "32,16");
    sqlite3_finalize(st);

    OfExport e = {1, model};
    g_autofree char *out = export_text(f, store, export_openface, &e, &error);
    g_assert_no_error(error);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    g_assert_true(g_str_has_prefix(
        lines[0], "n, frame, face_id, timestamp, confidence, success, fine, big, x_0, x_1"));
    g_assert_true(g_str_has_suffix(lines[0], ", y_67, AU01_r, AU01_c, tail"));
    g_assert_true(
        g_str_has_prefix(lines[1], "0, 1, 0, 0.000, 1.000, 1, 0.1234567891, 16777217.5,"));
    g_assert_true(g_str_has_suffix(lines[1], ", 1.50, 1.00, -0.000000"));
    g_assert_true(g_str_has_prefix(lines[2], "1, 2, 0, 0.040, 1.000, 1, 0.2500000000, 3.5,"));
    g_assert_true(g_str_has_suffix(lines[2], ", 0.00, 0.00, 0.000015"));
    g_test_message("extras out: '%.72s ...' / '... %s'", lines[1], strrchr(lines[1], ',') - 12);

    /* Not a finite number, or none a float32 holds: refused at file:line, nothing stored */
    static const struct {
        const char *value, *want;
    } bad[] = {
        {"nan", ":3: big: nan is not a number"},
        {"-nan", ":3: big: -nan is not a number"},
        {"inf", ":3: big: 'inf' is not a finite number"},
        {"1e300", ":3: big: 1e300 is out of range"},
        {"-4e38", ":3: big: -4e38 is out of range"},
        {"abc", ":3: big: 'abc' is not a finite number"},
        {"", ":3: big: '' is not a finite number"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *t =
            g_strdup_printf("n, frame, timestamp, success, fine, big, AU01_r, AU01_c, tail\n"
                            "0, 1, 0.000, 1, 0.5, 1.5, 1.50, 1.0, 0\n"
                            "1, 2, 0.040, 1, 0.25, %s, 0.00, 0.0, 0\n",
                            bad[i].value);
        g_assert_true(g_file_set_contents(csv, t, -1, NULL));
        g_assert_cmpint(mimica_store_import_openface_csv(store, 1, csv, NULL, &error), ==, 0);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        if (!strstr(error->message, bad[i].want))
            g_error("bad %u: '%s' lacks '%s'", i, error->message, bad[i].want);
        g_test_message("big = '%s': %s", bad[i].value, error->message);
        g_clear_error(&error);
    }
    MimicaStoreInfo info;
    g_assert_true(mimica_store_get_info(store, &info, &error));
    g_assert_cmpint(info.n_models, ==, 1);
    g_assert_cmpint(info.n_predictions, ==, 2);

    /* A damaged extras blob is named, not written as zeros */
    g_assert_cmpint(sqlite3_exec(mimica_store_get_db(store),
                                 "UPDATE predictions SET extras = zeroblob(5) WHERE frame = 1",
                                 NULL, NULL, NULL),
                    ==, SQLITE_OK);
    g_autofree char *damaged = export_text(f, store, export_openface, &e, &error);
    g_assert_null(damaged);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT);
    g_assert_nonnull(strstr(error->message, "frame 2, face 0: 5 bytes of extra OpenFace values"));
    g_test_message("damaged: %s", error->message);
    g_clear_error(&error);
}

/* Fields of a line of an unquoted numeric CSV, ',' or ', ' separated. */
static GStrv csv_fields(const char *line)
{
    GStrv v = g_strsplit(line, ",", -1);
    for (char **p = v; *p; p++)
        g_strstrip(*p);
    return v;
}

/* Every column of the OpenFace CSV IN comes back in OUT (our export) under its name, each value
 * within half the last digit IN printed (nan as nan); returns the columns compared and sets the
 * most |diff| / half a digit. */
static guint check_given_back(const char *in, const char *out, double *max_ratio)
{
    g_auto(GStrv) li = g_strsplit(in, "\n", -1), lo = g_strsplit(out, "\n", -1);
    g_auto(GStrv) hi = csv_fields(li[0]), ho = csv_fields(lo[0]);
    *max_ratio = 0;
    guint n_cols = g_strv_length(hi);
    for (guint c = 0; c < n_cols; c++) {
        guint k = 0;
        while (ho[k] && strcmp(ho[k], hi[c]) != 0)
            k++;
        if (!ho[k])
            g_error("column '%s' is not given back", hi[c]);
        for (guint row = 1; li[row] && *li[row]; row++) {
            g_assert_nonnull(lo[row]);
            g_auto(GStrv) vi = csv_fields(li[row]), vo = csv_fields(lo[row]);
            double a = g_ascii_strtod(vi[c], NULL), b = g_ascii_strtod(vo[k], NULL);
            if (isnan(a) || isnan(b)) {
                g_assert_true(isnan(a) && isnan(b));
                continue;
            }
            const char *dot = strchr(vi[c], '.');
            double half = 0.5 * pow(10, -(dot ? (int)strlen(dot + 1) : 0));
            *max_ratio = fmax(*max_ratio, fabs(a - b) / half);
        }
    }
    return n_cols;
}

/* The fuzz seeds (tests/fuzz/corpus/openface-csv*) import, and export every column back. */
static void test_openface_seeds(Fixture *f, gconstpointer data)
{
    const char *src = g_getenv("MIMICA_SOURCE_DIR");
    if (!src) {
        g_test_skip("MIMICA_SOURCE_DIR is not set");
        return;
    }
    g_autofree char *corpus = g_build_filename(src, "tests", "fuzz", "corpus", NULL);
    GDir *dir = g_dir_open(corpus, 0, NULL);
    g_assert_nonnull(dir);
    guint n_files = 0;
    const char *sub;
    while ((sub = g_dir_read_name(dir))) {
        if (!g_str_has_prefix(sub, "openface-csv"))
            continue;
        g_autofree char *subdir = g_build_filename(corpus, sub, NULL);
        GDir *d = g_dir_open(subdir, 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            GError *error = NULL;
            g_autofree char *path = g_build_filename(subdir, name, NULL);
            g_autofree char *project = g_strdup_printf("seed%u.mimica", n_files);
            g_autoptr(MimicaStore) store = new_project(f, project);
            MimicaOpenFaceImport kept;
            gint64 model = mimica_store_import_openface_csv(store, 1, path, &kept, &error);
            g_assert_no_error(error);
            OfExport e = {1, model};
            g_autofree char *out = export_text(f, store, export_openface, &e, &error);
            g_assert_no_error(error);
            g_autofree char *in = NULL;
            g_assert_true(g_file_get_contents(path, &in, NULL, NULL));
            double ratio;
            guint n = check_given_back(in, out, &ratio);
            g_test_message("%s/%s: %lld rows, %d columns (%d Mimica's, %d extra), %u given back, "
                           "max |diff| / half a last digit %.3f (tol 1)",
                           sub, name, (long long)kept.n_rows, kept.n_columns, kept.n_mimica,
                           kept.n_extra, n, ratio);
            g_assert_cmpuint(n, ==, (guint)kept.n_columns);
            g_assert_cmpfloat(ratio, <=, 1.0);
            n_files++;
        }
        if (d)
            g_dir_close(d);
    }
    g_dir_close(dir);
    g_assert_cmpuint(n_files, >, 0);
}

/* ELAN -------------------------------------------------------------------------------------- */

typedef struct {
    GHashTable *slots; /* id -> time (ms) as pointer */
    GPtrArray *tiers;
    GString *annotations; /* "tier:t0-t1=value;" */
    char *tier, *ref1, *ref2;
    gboolean in_value;
    gint64 last_time;
    int depth;
    char *root;
} EafCheck;

static void eaf_start(GMarkupParseContext *ctx, const char *el, const char **names,
                      const char **values, gpointer data, GError **error)
{
    EafCheck *c = data;
    if (c->depth++ == 0)
        c->root = g_strdup(el);
    const char *id = NULL, *value = NULL, *r1 = NULL, *r2 = NULL, *tier_id = NULL;
    for (int i = 0; names[i]; i++) {
        if (strcmp(names[i], "TIME_SLOT_ID") == 0)
            id = values[i];
        else if (strcmp(names[i], "TIME_VALUE") == 0)
            value = values[i];
        else if (strcmp(names[i], "TIME_SLOT_REF1") == 0)
            r1 = values[i];
        else if (strcmp(names[i], "TIME_SLOT_REF2") == 0)
            r2 = values[i];
        else if (strcmp(names[i], "TIER_ID") == 0)
            tier_id = values[i];
    }
    if (strcmp(el, "TIME_SLOT") == 0) {
        gint64 t = g_ascii_strtoll(value, NULL, 10);
        g_assert_cmpint(t, >, c->last_time); /* ascending, distinct */
        c->last_time = t;
        g_hash_table_insert(c->slots, g_strdup(id), GSIZE_TO_POINTER((gsize)t));
    } else if (strcmp(el, "TIER") == 0) {
        for (guint i = 0; i < c->tiers->len; i++)
            g_assert_cmpstr(c->tiers->pdata[i], !=, tier_id);
        g_ptr_array_add(c->tiers, g_strdup(tier_id));
        g_free(c->tier);
        c->tier = g_strdup(tier_id);
    } else if (strcmp(el, "ALIGNABLE_ANNOTATION") == 0) {
        g_assert_true(g_hash_table_contains(c->slots, r1));
        g_assert_true(g_hash_table_contains(c->slots, r2));
        gsize t0 = GPOINTER_TO_SIZE(g_hash_table_lookup(c->slots, r1));
        gsize t1 = GPOINTER_TO_SIZE(g_hash_table_lookup(c->slots, r2));
        g_assert_cmpuint(t0, <, t1);
        g_string_append_printf(c->annotations, "%s:%zu-%zu=", c->tier, t0, t1);
    } else if (strcmp(el, "ANNOTATION_VALUE") == 0) {
        c->in_value = TRUE;
    }
}

static void eaf_end(GMarkupParseContext *ctx, const char *el, gpointer data, GError **error)
{
    EafCheck *c = data;
    c->depth--;
    if (strcmp(el, "ANNOTATION_VALUE") == 0) {
        c->in_value = FALSE;
        g_string_append_c(c->annotations, ';');
    }
}

static void eaf_text(GMarkupParseContext *ctx, const char *text, gsize len, gpointer data,
                     GError **error)
{
    EafCheck *c = data;
    if (c->in_value)
        g_string_append_len(c->annotations, text, len);
}

typedef struct {
    gint64 video;
    const char *annotator;
} ElanExport;

static gboolean export_elan(MimicaStore *store, FILE *out, gpointer data, GError **error)
{
    ElanExport *e = data;
    return mimica_store_export_elan(store, e->video, e->annotator, out, error);
}

static void test_elan(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    const char *who = "<Ann & \"Bo\">";
    /* AU12: 0-9 present, then 5-14 absent (wins where they overlap); AU1: 50-52 E; on video 2
     * (29.97 fps) AU4 30-59 C; an undone label does not appear. */
    g_assert_cmpint(mimica_store_label_set(store, 1, 0, 9, 12, MIMICA_LABEL_PRESENT, who, &error),
                    >, 0);
    g_assert_cmpint(mimica_store_label_set(store, 1, 5, 14, 12, MIMICA_LABEL_ABSENT, who, &error),
                    >, 0);
    g_assert_cmpint(mimica_store_label_set(store, 1, 50, 52, 1, MIMICA_LABEL_E, who, &error), >, 0);
    g_assert_cmpint(mimica_store_label_set(store, 1, 60, 70, 2, MIMICA_LABEL_A, who, &error), >, 0);
    g_assert_cmpint(mimica_store_label_undo(store, who, NULL, &error), >, 0);
    g_assert_cmpint(mimica_store_label_set(store, 2, 30, 59, 4, MIMICA_LABEL_C, who, &error), >, 0);
    g_assert_no_error(error);

    const struct {
        gint64 video;
        const char *want;
    } cases[] = {
        {1, "AU01:2000-2120=E;AU12:0-200=present;AU12:200-600=absent;"},
        {2, "AU04:1001-2002=C;"},
    };
    for (unsigned k = 0; k < G_N_ELEMENTS(cases); k++) {
        ElanExport e = {cases[k].video, NULL};
        g_autofree char *eaf = export_text(f, store, export_elan, &e, &error);
        g_assert_no_error(error);
        EafCheck c = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
                      g_ptr_array_new_with_free_func(g_free), g_string_new(NULL)};
        c.last_time = -1;
        GMarkupParser parser = {eaf_start, eaf_end, eaf_text, NULL, NULL};
        GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &c, NULL);
        gboolean ok = g_markup_parse_context_parse(ctx, eaf, -1, &error) &&
                      g_markup_parse_context_end_parse(ctx, &error);
        g_assert_no_error(error);
        g_assert_true(ok);
        g_assert_cmpstr(c.root, ==, "ANNOTATION_DOCUMENT");
        g_assert_nonnull(strstr(eaf, "TIME_UNITS=\"milliseconds\""));
        g_assert_nonnull(strstr(eaf, "ANNOTATOR=\"&lt;Ann &amp; &quot;Bo&quot;&gt;\""));
        g_test_message("video %lld: %zu bytes, %u time slots, %u tiers: %s",
                       (long long)cases[k].video, strlen(eaf), g_hash_table_size(c.slots),
                       c.tiers->len, c.annotations->str);
        g_assert_cmpstr(c.annotations->str, ==, cases[k].want);
        g_markup_parse_context_free(ctx);
        g_hash_table_destroy(c.slots);
        g_ptr_array_unref(c.tiers);
        g_string_free(c.annotations, TRUE);
        g_free(c.tier);
        g_free(c.root);
    }
    /* Two annotators: one must be chosen. */
    g_assert_cmpint(mimica_store_label_set(store, 1, 0, 0, 1, MIMICA_LABEL_A, "other", &error), >,
                    0);
    ElanExport e = {1, NULL};
    g_autofree char *none = export_text(f, store, export_elan, &e, &error);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_test_message("two annotators: %s", error->message);
    g_clear_error(&error);
    e.annotator = "other";
    g_autofree char *one = export_text(f, store, export_elan, &e, &error);
    g_assert_no_error(error);
    g_assert_nonnull(strstr(one, "TIER_ID=\"AU01\""));
    g_assert_null(strstr(one, "TIER_ID=\"AU12\""));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/csv/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("labels-round-trip", test_labels_round_trip);
    ADD("labels-comma-space", test_labels_comma_space);
    ADD("labels-bad", test_labels_bad);
    ADD("labels-old-times", test_labels_old_times);
    ADD("labels-bytes", test_labels_bytes);
    ADD("openface-comma-space", test_openface_comma_space);
    ADD("openface-comma", test_openface_comma);
    ADD("openface-bad", test_openface_bad);
    ADD("openface-bounds", test_openface_bounds);
    ADD("openface-all-columns", test_openface_all_columns);
    ADD("openface-extras", test_openface_extras);
    ADD("openface-seeds", test_openface_seeds);
    ADD("elan", test_elan);
    return g_test_run();
}
