/* test-store.c: the project store. Schema and pragmas, migrations from every older schema
 * version, errors (missing file, not a project, newer schema, locked, disk full), undo and
 * redo over the append-only label events. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/mimica-store-private.h"
#include "store/mimica-store.h"

typedef struct {
    char *dir;
    char *path;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    f->dir = g_dir_make_tmp("mimica-store-XXXXXX", &error);
    g_assert_no_error(error);
    f->path = g_build_filename(f->dir, "project.mimica", NULL);
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_remove(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    remove_dir(f->dir);
    g_free(f->dir);
    g_free(f->path);
}

static gint64 add_video(MimicaStore *store, const char *hash, gint64 n_frames)
{
    MimicaVideoFacts facts = {
        .path = (char *)"/videos/clip.mp4",
        .content_hash = (char *)hash,
        .duration_us = n_frames * 40000,
        .frame_rate_num = 25,
        .frame_rate_den = 1,
        .n_frames = n_frames,
        .width = 640,
        .height = 480,
        .rotation = 90,
    };
    GError *error = NULL;
    gint64 id = mimica_store_add_video(store, &facts, &error);
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
    return id;
}

static gint64 sql_int(MimicaStore *store, const char *sql)
{
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store), sql, -1, &st, NULL), ==,
                    SQLITE_OK);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    gint64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *sql_text(MimicaStore *store, const char *sql)
{
    sqlite3_stmt *st = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store), sql, -1, &st, NULL), ==,
                    SQLITE_OK);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    char *v = g_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

static void sql_exec(MimicaStore *store, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(mimica_store_get_db(store), sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        g_error("%s: %s", sql, msg);
}

/* Schema ------------------------------------------------------------------------------------ */

static void test_create(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(mimica_store_get_schema_version(store), ==, MIMICA_STORE_SCHEMA_VERSION);
    g_assert_cmpint(sql_int(store, "PRAGMA application_id"), ==, MIMICA_STORE_APPLICATION_ID);
    g_assert_cmpint(sql_int(store, "PRAGMA foreign_keys"), ==, 1);
    g_assert_cmpint(sql_int(store, "PRAGMA synchronous"), ==, 2); /* FULL */
    g_autofree char *mode = sql_text(store, "PRAGMA journal_mode");
    g_assert_cmpstr(mode, ==, "wal");
    const char *tables[] = {"videos",           "annotators",      "label_events",
                            "models",           "training_runs",   "faces",
                            "predictions",      "labels_current",  "label_events_active",
                            "openface_imports", "openface_columns"};
    for (unsigned i = 0; i < G_N_ELEMENTS(tables); i++) {
        sqlite3_stmt *st = NULL;
        sqlite3_prepare_v2(mimica_store_get_db(store),
                           "SELECT count(*) FROM sqlite_schema WHERE name = ?1", -1, &st, NULL);
        sqlite3_bind_text(st, 1, tables[i], -1, SQLITE_STATIC);
        g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
        g_assert_cmpint(sqlite3_column_int(st, 0), ==, 1);
        sqlite3_finalize(st);
    }
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    g_test_message("schema %d, %d tables/views checked, journal_mode %s",
                   mimica_store_get_schema_version(store), (int)G_N_ELEMENTS(tables), mode);

    /* A second create must not overwrite. */
    MimicaStore *again = mimica_store_create(f->path, &error);
    g_assert_null(again);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_EXISTS);
    g_test_message("create over existing: %s", error->message);
    g_clear_error(&error);
}

static void test_open_errors(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_assert_null(mimica_store_open(f->path, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_assert_nonnull(strstr(error->message, "no such file"));
    g_test_message("missing: %s", error->message);
    g_clear_error(&error);

    /* Text file */
    g_assert_true(g_file_set_contents(f->path, "frame,face_id\n1,0\n", -1, NULL));
    g_assert_null(mimica_store_open(f->path, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT);
    g_test_message("text file: %s", error->message);
    g_clear_error(&error);
    g_remove(f->path);

    /* An SQLite database of another program */
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint(
        sqlite3_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", NULL, NULL, NULL), ==,
        SQLITE_OK);
    sqlite3_close(db);
    g_assert_null(mimica_store_open(f->path, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT);
    g_assert_nonnull(strstr(error->message, "not a Mimica project"));
    g_test_message("other database: %s", error->message);
    g_clear_error(&error);
    g_remove(f->path);

    /* A project from a newer Mimica */
    MimicaStore *store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    sql_exec(store, "PRAGMA user_version = 99");
    mimica_store_free(store);
    g_assert_null(mimica_store_open(f->path, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_TOO_NEW);
    g_test_message("newer: %s", error->message);
    g_clear_error(&error);

    /* A folder */
    g_assert_null(mimica_store_open(f->dir, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT);
    g_clear_error(&error);
}

/* Fills a database at schema VERSION (1 .. 5) with data of that version's shape. */
static void fill_old(MimicaStore *store, int version)
{
    sql_exec(store, "INSERT INTO annotators (id, name, created) VALUES (1, 'ann', 1000),"
                    " (2, 'bob', 1000)");
    sql_exec(store, "INSERT INTO videos (id, path, content_hash, duration_us, frame_rate_num,"
                    " frame_rate_den, n_frames, width, height, rotation, added) VALUES"
                    " (1, 'a.mp4', 'h1', 4000000, 25, 1, 100, 640, 480, 0, 1000),"
                    " (2, 'b.mkv', 'h2', 2002000, 30000, 1001, 60, 1920, 1080, 90, 1000)");
    sql_exec(store, "INSERT INTO models (id, file, name, aus, created)"
                    " VALUES (1, 'aunet.safetensors', 'base', '1,2,4,6', 1000)");
    /* from version 3 on, an event says what kind it is */
    g_autofree char *events = g_strdup_printf(
        "INSERT INTO label_events (id, video_id, annotator_id, time, au, frame_start,"
        " frame_end, value%s) VALUES (1, 1, 1, 1700000000000, 12, 0, 9, 'present'%s),"
        " (2, 1, 1, 1700000001000, 12, 5, 14, 'absent'%s), (3, 2, 2, 1700000002000, 4, 10,"
        " 20, 'C'%s), (4, 1, 2, 1700000003000, 12, 0, 99, 'A'%s)",
        version >= 3 ? ", kind" : "", version >= 3 ? ", 'set'" : "", version >= 3 ? ", 'set'" : "",
        version >= 3 ? ", 'set'" : "", version >= 3 ? ", 'set'" : "");
    sql_exec(store, events);
    if (version >= 2) {
        sql_exec(store, "INSERT INTO faces (id, video_id, track, first_frame, last_frame)"
                        " VALUES (1, 1, 0, 0, 1)");
        sql_exec(store, "INSERT INTO predictions (face_id, model_id, frame, timestamp,"
                        " confidence, success, au_prob) VALUES (1, 1, 0, 0.0, 0.9, 1,"
                        " zeroblob(16)), (1, 1, 1, 0.04, 0.95, 1, zeroblob(16))");
    }
    /* from version 5 on, the labels that hold are kept in labels_held as events are added */
    if (version >= 5) {
        GError *error = NULL;
        sql_exec(store, "BEGIN");
        g_assert_true(_mimica_store_labels_rebuild(store, &error));
        g_assert_no_error(error);
        sql_exec(store, "COMMIT");
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM labels_held"), ==, 4);
    }
}

static void test_migrations(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    /* The schema made by create (0 -> latest), for comparison. */
    g_autofree char *fresh_path = g_build_filename(f->dir, "fresh.mimica", NULL);
    MimicaStore *fresh = mimica_store_create(fresh_path, &error);
    g_assert_no_error(error);
    g_autofree char *fresh_schema =
        sql_text(fresh, "SELECT group_concat(type || ' ' || name || ': ' || sql, char(10)) FROM"
                        " (SELECT * FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name)");
    mimica_store_free(fresh);

    for (int from = 1; from < MIMICA_STORE_SCHEMA_VERSION; from++) {
        g_autofree char *path = g_strdup_printf("%s/v%d.mimica", f->dir, from);
        MimicaStore *old = mimica_store_open_at_version(path, from, &error);
        g_assert_no_error(error);
        g_assert_cmpint(mimica_store_get_schema_version(old), ==, from);
        fill_old(old, from);
        mimica_store_free(old);

        g_autoptr(MimicaStore) store = mimica_store_open(path, &error);
        g_assert_no_error(error);
        g_assert_cmpint(mimica_store_get_schema_version(store), ==, MIMICA_STORE_SCHEMA_VERSION);
        g_assert_true(mimica_store_check(store, &error));
        g_assert_no_error(error);
        g_autofree char *schema =
            sql_text(store, "SELECT group_concat(type || ' ' || name || ': ' || sql, char(10)) FROM"
                            " (SELECT * FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name)");
        g_assert_cmpstr(schema, ==, fresh_schema);

        /* Every event kept, as 'set', with its values; the views answer. */
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events WHERE kind = 'set'"), ==,
                        4);
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM videos"), ==, 2);
        g_assert_cmpint(sql_int(store, "SELECT sum(frame_end) FROM label_events"), ==,
                        9 + 14 + 20 + 99);
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM labels_current"), ==, 4);
        if (from >= 2)
            g_assert_cmpint(sql_int(store, "SELECT count(*) FROM predictions"), ==, 2);
        /* 6: OpenFace's extra columns; the rows there before have none */
        if (from >= 2)
            g_assert_cmpint(sql_int(store, "SELECT count(*) FROM predictions WHERE extras IS NULL"),
                            ==, 2);
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM openface_columns"), ==, 0);
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM openface_imports"), ==, 0);
        MimicaLabelValue v;
        g_assert_true(mimica_store_label_at(store, 1, 12, 7, "ann", &v, &error));
        g_assert_cmpint(v, ==, MIMICA_LABEL_ABSENT);
        g_assert_true(mimica_store_label_at(store, 2, 4, 15, NULL, &v, &error));
        g_assert_cmpint(v, ==, MIMICA_LABEL_C);

        /* Old events can be undone after the migration. */
        gint64 undone = 0;
        gint64 u = mimica_store_label_undo(store, "ann", &undone, &error);
        g_assert_no_error(error);
        g_assert_cmpint(u, ==, 5);
        g_assert_cmpint(undone, ==, 2);
        g_assert_true(mimica_store_label_at(store, 1, 12, 7, "ann", &v, &error));
        g_assert_cmpint(v, ==, MIMICA_LABEL_PRESENT);
        g_test_message("schema %d -> %d: 4 events, %d predictions kept; undo after migration ok",
                       from, MIMICA_STORE_SCHEMA_VERSION, from >= 2 ? 2 : 0);
    }
}

/* A migration that fails (here: a label pointing at a missing video) changes nothing. */
static void test_migration_rollback(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    MimicaStore *old = mimica_store_open_at_version(f->path, 1, &error);
    g_assert_no_error(error);
    fill_old(old, 1);
    sql_exec(old, "PRAGMA foreign_keys = OFF");
    sql_exec(old, "INSERT INTO label_events (video_id, annotator_id, time, au, frame_start,"
                  " frame_end, value) VALUES (77, 1, 0, 1, 0, 0, 'present')");
    mimica_store_free(old);
    g_assert_null(mimica_store_open(f->path, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT);
    g_test_message("broken v1: %s", error->message);
    g_clear_error(&error);
    old = mimica_store_open_at_version(f->path, 1, &error);
    g_assert_no_error(error);
    g_assert_cmpint(mimica_store_get_schema_version(old), ==, 1);
    g_assert_cmpint(sql_int(old, "SELECT count(*) FROM label_events"), ==, 5);
    mimica_store_free(old);
}

/* Videos ------------------------------------------------------------------------------------ */

static void test_videos(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 a = add_video(store, "aaaa", 100);
    gint64 b = add_video(store, "bbbb", 50);
    g_assert_cmpint(b, ==, a + 1);
    MimicaVideoFacts facts = {.path = (char *)"x.mp4",
                              .content_hash = (char *)"aaaa",
                              .frame_rate_num = 25,
                              .frame_rate_den = 1,
                              .width = 2,
                              .height = 2};
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_EXISTS);
    g_test_message("duplicate: %s", error->message);
    g_clear_error(&error);
    facts.content_hash = (char *)"cccc";
    facts.rotation = 45;
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_clear_error(&error);

    MimicaVideoFacts got;
    g_assert_true(mimica_store_get_video(store, a, &got, &error));
    g_assert_cmpstr(got.content_hash, ==, "aaaa");
    g_assert_cmpint(got.n_frames, ==, 100);
    g_assert_cmpint(got.rotation, ==, 90);
    g_assert_cmpint(got.duration_us, ==, 4000000);
    mimica_video_facts_clear(&got);
    g_assert_false(mimica_store_get_video(store, 99, &got, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
}

/* Labels, undo, redo ------------------------------------------------------------------------ */

/* The label of a frame, -1 for none. */
static int at(MimicaStore *store, gint64 video, int au, gint64 frame, const char *who)
{
    GError *error = NULL;
    MimicaLabelValue v = MIMICA_LABEL_ABSENT;
    if (!mimica_store_label_at(store, video, au, frame, who, &v, &error)) {
        g_assert_no_error(error);
        return -1;
    }
    return (int)v;
}

static void test_label_validation(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 v = add_video(store, "aaaa", 100);
    struct {
        gint64 video, start, end;
        int au;
        const char *who;
        int code;
    } bad[] = {
        {v, 5, 4, 12, "ann", MIMICA_STORE_ERROR_INVALID},
        {v, -1, 4, 12, "ann", MIMICA_STORE_ERROR_INVALID},
        {v, 0, 100, 12, "ann", MIMICA_STORE_ERROR_INVALID}, /* past the last frame (99) */
        {v, 0, 1, 0, "ann", MIMICA_STORE_ERROR_INVALID},
        {v, 0, 1, 100, "ann", MIMICA_STORE_ERROR_INVALID},
        {v, 0, 1, 12, "", MIMICA_STORE_ERROR_INVALID},
        {v, 0, 1, 12, "\xff\xfe", MIMICA_STORE_ERROR_INVALID},
        {v + 1, 0, 1, 12, "ann", MIMICA_STORE_ERROR_NOT_FOUND},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        gint64 id = mimica_store_label_set(store, bad[i].video, bad[i].start, bad[i].end, bad[i].au,
                                           MIMICA_LABEL_PRESENT, bad[i].who, &error);
        g_assert_cmpint(id, ==, 0);
        g_assert_error(error, MIMICA_STORE_ERROR, bad[i].code);
        g_test_message("bad %u: %s", i, error->message);
        g_clear_error(&error);
    }
    g_assert_cmpint(mimica_store_label_set(store, v, 0, 1, 12, (MimicaLabelValue)9, "ann", &error),
                    ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events"), ==, 0);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM annotators"), ==, 0);

    MimicaLabelValue parsed;
    const char *names[] = {"absent", "present", "A", "B", "C", "D", "E"};
    for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
        g_assert_true(mimica_label_value_parse(names[i], &parsed));
        g_assert_cmpint(parsed, ==, i);
        g_assert_cmpstr(mimica_label_value_to_string(parsed), ==, names[i]);
    }
    g_assert_false(mimica_label_value_parse("a", &parsed));
    g_assert_false(mimica_label_value_parse("F", &parsed));
    g_assert_false(mimica_label_value_parse("", &parsed));
}

static void test_undo_redo(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 v = add_video(store, "aaaa", 100);
    gint64 e1 = mimica_store_label_set(store, v, 0, 9, 12, MIMICA_LABEL_PRESENT, "ann", &error);
    gint64 e2 = mimica_store_label_set(store, v, 5, 14, 12, MIMICA_LABEL_ABSENT, "ann", &error);
    gint64 b1 = mimica_store_label_set(store, v, 0, 99, 12, MIMICA_LABEL_B, "bob", &error);
    g_assert_no_error(error);
    g_assert_cmpint(e1, <, e2);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_ABSENT);
    g_assert_cmpint(at(store, v, 12, 3, "ann"), ==, MIMICA_LABEL_PRESENT);
    g_assert_cmpint(at(store, v, 12, 7, "bob"), ==, MIMICA_LABEL_B);
    g_assert_cmpint(at(store, v, 12, 7, NULL), ==, MIMICA_LABEL_B); /* latest of anyone */
    g_autofree char *sup_sql =
        g_strdup_printf("SELECT supersedes FROM label_events WHERE id = %lld", (long long)e2);
    g_assert_cmpint(sql_int(store, sup_sql), ==, e1);

    gint64 n_calls = 3, affected = 0;
    /* undo e2, undo e1, nothing left */
    g_assert_cmpint(mimica_store_label_undo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e2);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_PRESENT);
    g_assert_cmpint(at(store, v, 12, 12, "ann"), ==, -1);
    g_assert_cmpint(mimica_store_label_undo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e1);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, -1);
    g_assert_cmpint(at(store, v, 12, 7, "bob"), ==, MIMICA_LABEL_B); /* untouched */
    g_assert_cmpint(mimica_store_label_undo(store, "ann", &affected, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING);
    g_test_message("third undo: %s", error->message);
    g_clear_error(&error);

    /* redo e1, redo e2, nothing left */
    g_assert_cmpint(mimica_store_label_redo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e1);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_PRESENT);
    g_assert_cmpint(mimica_store_label_redo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e2);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_ABSENT);
    g_assert_cmpint(mimica_store_label_redo(store, "ann", &affected, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING);
    g_clear_error(&error);

    /* undo the redone e2 again (undo of a redo), then redo it once more */
    g_assert_cmpint(mimica_store_label_undo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e2);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_PRESENT);
    g_assert_cmpint(mimica_store_label_redo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    g_assert_cmpint(affected, ==, e2);
    g_assert_cmpint(at(store, v, 12, 7, "ann"), ==, MIMICA_LABEL_ABSENT);

    /* undo, then a new edit: the redo history is gone */
    g_assert_cmpint(mimica_store_label_undo(store, "ann", &affected, &error), >, 0);
    n_calls++;
    gint64 e3 = mimica_store_label_set(store, v, 50, 50, 1, MIMICA_LABEL_E, "ann", &error);
    n_calls++;
    g_assert_cmpint(e3, >, 0);
    g_assert_cmpint(mimica_store_label_redo(store, "ann", &affected, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING);
    g_clear_error(&error);
    /* someone who never labelled */
    g_assert_cmpint(mimica_store_label_undo(store, "carol", &affected, &error), ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING);
    g_clear_error(&error);

    /* Nothing was ever deleted: one row per successful call. */
    gint64 n_events = sql_int(store, "SELECT count(*) FROM label_events");
    g_assert_cmpint(n_events, ==, n_calls);
    /* Current labels: e1 (e2 undone), b1, e3. */
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM labels_current"), ==, 3);
    g_autofree char *ids =
        sql_text(store, "SELECT group_concat(id) FROM (SELECT id FROM labels_current ORDER BY id)");
    g_autofree char *want =
        g_strdup_printf("%lld,%lld,%lld", (long long)e1, (long long)b1, (long long)e3);
    g_assert_cmpstr(ids, ==, want);
    g_test_message("%lld events after %lld calls; current labels %s", (long long)n_events,
                   (long long)n_calls, ids);

    /* Append-only, enforced by the database itself. */
    char *msg = NULL;
    sqlite3 *db = mimica_store_get_db(store);
    g_assert_cmpint(sqlite3_exec(db, "UPDATE label_events SET value = 'E'", NULL, NULL, &msg), !=,
                    SQLITE_OK);
    g_assert_nonnull(strstr(msg, "append-only"));
    sqlite3_free(msg);
    g_assert_cmpint(sqlite3_exec(db, "DELETE FROM label_events", NULL, NULL, &msg), !=, SQLITE_OK);
    sqlite3_free(msg);
    /* An undo of an event that is not in effect is refused by the chain trigger. */
    g_autofree char *bad = g_strdup_printf(
        "INSERT INTO label_events (kind, video_id, annotator_id, time, au, frame_start,"
        " frame_end, target, supersedes) VALUES ('undo', %lld, 1, 0, 12, 5, 14, %lld, %lld)",
        (long long)v, (long long)e2, (long long)e2);
    g_assert_cmpint(sqlite3_exec(db, bad, NULL, NULL, &msg), !=, SQLITE_OK);
    g_test_message("bad undo refused: %s", msg);
    sqlite3_free(msg);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events"), ==, n_events);
    g_assert_true(mimica_store_check(store, &error));
}

/* Undo/redo stays correct over a long random session: a model of the stacks is compared. */
static void test_undo_random(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 v = add_video(store, "aaaa", 1000);
    guint32 seed = 1234;
    GRand *rand = g_rand_new_with_seed(seed);
    GArray *done = g_array_new(FALSE, FALSE, sizeof(gint64));   /* applied edits, in order */
    GArray *undone = g_array_new(FALSE, FALSE, sizeof(gint64)); /* redo stack */
    int n_ops = 300, n_checks = 0;
    for (int op = 0; op < n_ops; op++) {
        int kind = g_rand_int_range(rand, 0, 3);
        gint64 affected = 0;
        if (kind == 0) {
            gint64 s = g_rand_int_range(rand, 0, 990);
            gint64 id = mimica_store_label_set(store, v, s, s + g_rand_int_range(rand, 0, 10),
                                               g_rand_int_range(rand, 1, 4),
                                               g_rand_int_range(rand, 0, 7), "ann", &error);
            g_assert_no_error(error);
            g_array_append_val(done, id);
            g_array_set_size(undone, 0);
        } else if (kind == 1) {
            gint64 id = mimica_store_label_undo(store, "ann", &affected, &error);
            if (done->len == 0) {
                g_assert_cmpint(id, ==, 0);
                g_clear_error(&error);
                continue;
            }
            g_assert_no_error(error);
            gint64 want = g_array_index(done, gint64, done->len - 1);
            g_assert_cmpint(affected, ==, want);
            g_array_set_size(done, done->len - 1);
            g_array_append_val(undone, want);
        } else {
            gint64 id = mimica_store_label_redo(store, "ann", &affected, &error);
            if (undone->len == 0) {
                g_assert_cmpint(id, ==, 0);
                g_clear_error(&error);
                continue;
            }
            g_assert_no_error(error);
            gint64 want = g_array_index(undone, gint64, undone->len - 1);
            g_assert_cmpint(affected, ==, want);
            g_array_set_size(undone, undone->len - 1);
            g_array_append_val(done, want);
        }
        n_checks++;
    }
    /* The active set events are exactly the model's "done" list. */
    g_autoptr(GString) want = g_string_new(NULL);
    g_autofree char *active =
        sql_text(store, "SELECT count(*) || ':' || coalesce(sum(id), 0) FROM label_events_active");
    gint64 sum = 0;
    for (guint i = 0; i < done->len; i++)
        sum += g_array_index(done, gint64, i);
    g_string_printf(want, "%u:%lld", done->len, (long long)sum);
    g_assert_cmpstr(active, ==, want->str);
    g_test_message("seed %u: %d operations, %d checked against the stack model; active %s", seed,
                   n_ops, n_checks, active);
    g_array_unref(done);
    g_array_unref(undone);
    g_rand_free(rand);
}

/* Labels that hold (labels_held, schema 5) ---------------------------------------------------- */

/* The quadratic definition of schema 3's labels_current view: the oracle. */
static const char held_oracle_sql[] =
    "SELECT coalesce(group_concat(id), '') FROM (SELECT a.id FROM label_events_active a"
    " WHERE NOT EXISTS (SELECT 1 FROM label_events_active b WHERE b.video_id = a.video_id"
    " AND b.au = a.au AND b.annotator_id = a.annotator_id AND b.id > a.id"
    " AND b.frame_start <= a.frame_start AND b.frame_end >= a.frame_end) ORDER BY a.id)";

typedef struct {
    GString *ids;
    int n;
} WindowCollect;

static gboolean collect_window(const MimicaLabel *l, gpointer user_data)
{
    WindowCollect *c = user_data;
    g_string_append_printf(c->ids, "%s%lld", c->n++ ? "," : "", (long long)l->event);
    return TRUE;
}

/* Random edits, undos and redos by two annotators over wide, overlapping ranges: after each one
 * the maintained table equals the old view's answer; windows equal a filter of it; a rebuild
 * from the events gives the same rows. */
static void test_labels_held(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    gint64 v = add_video(store, "held", 200);
    guint32 seed = 20261207;
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    const char *who[] = {"ann", "bob"};
    int n_ops = 600, n_sets = 0, n_undos = 0, n_redos = 0, n_windows = 0, n_at = 0, max_held = 0;
    for (int op = 0; op < n_ops; op++) {
        const char *annotator = who[g_rand_int_range(rand, 0, 2)];
        int kind = g_rand_int_range(rand, 0, 10);
        if (kind < 6) {
            gint64 s = g_rand_int_range(rand, 0, 200);
            gint64 len = g_rand_int_range(rand, 0, kind < 2 ? 120 : 12);
            gint64 e = MIN(199, s + len);
            int au = g_rand_int_range(rand, 1, 3);
            mimica_store_label_set(store, v, s, e, au, g_rand_int_range(rand, 0, 7), annotator,
                                   &error);
            g_assert_no_error(error);
            n_sets++;
        } else {
            gboolean redo = kind >= 8;
            gint64 id = redo ? mimica_store_label_redo(store, annotator, NULL, &error)
                             : mimica_store_label_undo(store, annotator, NULL, &error);
            if (!id) {
                g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING);
                g_clear_error(&error);
            } else {
                *(redo ? &n_redos : &n_undos) += 1;
            }
        }
        g_autofree char *want = sql_text(store, held_oracle_sql);
        g_autofree char *got = sql_text(store, "SELECT coalesce(group_concat(id), '') FROM (SELECT "
                                               "id FROM labels_current ORDER BY id)");
        if (g_strcmp0(want, got) != 0)
            g_error("seed %u op %d: labels_held %s, the old view %s", seed, op, got, want);
        max_held = MAX(max_held, (int)sql_int(store, "SELECT count(*) FROM labels_held"));
        if (op % 10 == 0) {
            /* One frame's label, as the old view's latest active event answers it. */
            gint64 frame = g_rand_int_range(rand, 0, 200);
            int au = g_rand_int_range(rand, 1, 3);
            g_autofree char *sql = g_strdup_printf(
                "SELECT coalesce((SELECT value FROM label_events_active WHERE au = %d AND"
                " frame_start <= %lld AND frame_end >= %lld ORDER BY id DESC LIMIT 1), 'none')",
                au, (long long)frame, (long long)frame);
            g_autofree char *want_at = sql_text(store, sql);
            MimicaLabelValue value;
            gboolean found = mimica_store_label_at(store, v, au, frame, NULL, &value, &error);
            g_assert_no_error(error);
            g_assert_cmpstr(found ? mimica_label_value_to_string(value) : "none", ==, want_at);
            n_at++;
        }
        if (op % 20 == 0) {
            gint64 w0 = g_rand_int_range(rand, 0, 200), w1 = MIN(199, w0 + 25);
            g_autofree char *sql = g_strdup_printf(
                "SELECT coalesce(group_concat(id), '') FROM (SELECT id FROM labels_current WHERE"
                " frame_start <= %lld AND frame_end >= %lld ORDER BY id)",
                (long long)w1, (long long)w0);
            g_autofree char *wwant = sql_text(store, sql);
            WindowCollect c = {g_string_new(NULL), 0};
            g_assert_true(
                mimica_store_foreach_label_in(store, v, w0, w1, NULL, collect_window, &c, &error));
            g_assert_no_error(error);
            g_assert_cmpstr(c.ids->str, ==, wwant);
            g_string_free(c.ids, TRUE);
            n_windows++;
        }
    }
    g_autofree char *before = sql_text(
        store,
        "SELECT coalesce(group_concat(id), '') FROM (SELECT id FROM labels_current ORDER BY id)");
    sql_exec(store, "BEGIN");
    g_assert_true(_mimica_store_labels_rebuild(store, &error));
    g_assert_no_error(error);
    sql_exec(store, "COMMIT");
    g_autofree char *after = sql_text(
        store,
        "SELECT coalesce(group_concat(id), '') FROM (SELECT id FROM labels_current ORDER BY id)");
    g_assert_cmpstr(before, ==, after);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    g_test_message("seed %u: %d sets, %d undos, %d redos; labels_held = the old view after each "
                   "(up to %d rows, %lld now); %d windows and %d label_at equal; rebuild equal",
                   seed, n_sets, n_undos, n_redos, max_held,
                   (long long)sql_int(store, "SELECT count(*) FROM labels_held"), n_windows, n_at);
}

/* Read-only projects, interrupted creation, untrusted files ----------------------------------- */

static char *file_digest(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
}

static int count_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (d && g_dir_read_name(d))
        n++;
    if (d)
        g_dir_close(d);
    return n;
}

static gboolean count_one(const MimicaLabel *l, gpointer user_data)
{
    (*(int *)user_data)++;
    return TRUE;
}

/* What a reader of a read-only project can do: read, and get READ_ONLY for a write. */
static void read_only_use(const char *path, gboolean ask, const char *how)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store =
        ask ? mimica_store_open_read_only(path, &error) : mimica_store_open(path, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_is_read_only(store));
    int n = 0;
    g_assert_true(mimica_store_foreach_label(store, 0, NULL, count_one, &n, &error));
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, 2);
    MimicaStoreInfo info;
    g_assert_true(mimica_store_get_info(store, &info, &error));
    g_assert_no_error(error);
    g_assert_cmpint(info.n_labels, ==, 2);
    g_assert_cmpint(mimica_store_label_set(store, 1, 0, 1, 4, MIMICA_LABEL_A, "ann", &error), ==,
                    0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_READ_ONLY);
    g_autofree char *line = g_strdup_printf("%s: %d labels read, %lld events; a write: %s", how, n,
                                            (long long)info.n_events, error->message);
    if (g_test_subprocess())
        g_print("%s\n", line); /* the parent matches it */
    else
        g_test_message("%s", line);
    g_clear_error(&error);
}

static void test_read_only(Fixture *f, gconstpointer data)
{
    if (g_test_subprocess()) {
        /* Root writes through any mode bits: be nobody here. */
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            g_error("cannot drop to uid 65534");
        read_only_use(g_getenv("MIMICA_TEST_RO_PATH"), FALSE, "file 0444, folder 0555");
        return;
    }
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    gint64 v = add_video(store, "ro", 100);
    mimica_store_label_set(store, v, 0, 9, 12, MIMICA_LABEL_PRESENT, "ann", &error);
    mimica_store_label_set(store, v, 20, 29, 12, MIMICA_LABEL_B, "ann", &error);
    g_assert_no_error(error);
    mimica_store_free(store);
    g_autofree char *before = file_digest(f->path);

    /* Asked for read-only, in a writable folder (SQLite may add the -wal and -shm files of a
     * reader; a writer's close removes them). */
    read_only_use(f->path, TRUE, "open_read_only");
    g_autofree char *after_ro = file_digest(f->path);
    g_assert_cmpstr(after_ro, ==, before);
    mimica_store_free(mimica_store_open(f->path, NULL));
    int n_files = count_dir(f->dir);

    /* File and folder without write permission, opened as another user. */
    g_assert_cmpint(g_chmod(f->path, 0444), ==, 0);
    g_assert_cmpint(g_chmod(f->dir, 0555), ==, 0);
    g_setenv("MIMICA_TEST_RO_PATH", f->path, TRUE);
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_chmod(f->dir, 0700);
    g_chmod(f->path, 0644);
    g_test_trap_assert_passed();
    g_test_trap_assert_stdout("*file 0444, folder 0555: 2 labels read, 2 events; a write: *"
                              "open read-only*");
    g_test_message("file 0444, folder 0555, uid %d: 2 labels read; a write: READ_ONLY",
                   geteuid() == 0 ? 65534 : (int)geteuid());
    g_autofree char *after = file_digest(f->path);
    g_assert_cmpstr(after, ==, before);
    g_assert_cmpint(count_dir(f->dir), ==, n_files);
    g_test_message("file unchanged (sha256 %.16s...), %d files in the folder before and after",
                   after, n_files);

    /* An old schema read-only: refused with a message, not migrated. */
    g_autofree char *old_path = g_build_filename(f->dir, "old.mimica", NULL);
    MimicaStore *old = mimica_store_open_at_version(old_path, 4, &error);
    g_assert_no_error(error);
    mimica_store_free(old);
    g_autofree char *old_before = file_digest(old_path);
    old = mimica_store_open_read_only(old_path, &error);
    g_assert_null(old);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_READ_ONLY);
    g_test_message("schema 4 read-only: %s", error->message);
    g_clear_error(&error);
    g_autofree char *old_after = file_digest(old_path);
    g_assert_cmpstr(old_after, ==, old_before);
}

/* `project new` killed at a random moment: the path holds a whole project or nothing. */
static void test_create_interrupted(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time();
    MimicaStore *store = mimica_store_create(f->path, &error);
    gint64 create_us = g_get_monotonic_time() - t0;
    g_assert_no_error(error);
    mimica_store_free(store);
    guint32 seed = 77;
    g_autoptr(GRand) rand = g_rand_new_with_seed(seed);
    int n_trials = 30, n_absent = 0, n_whole = 0, n_stub = 0;
    for (int i = 0; i < n_trials; i++) {
        g_autofree char *name = g_strdup_printf("p%d.mimica", i);
        g_autofree char *path = g_build_filename(f->dir, name, NULL);
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            MimicaStore *s = mimica_store_create(path, NULL);
            mimica_store_free(s);
            _exit(0);
        }
        g_usleep((gulong)g_rand_int_range(rand, 0, (gint32)(create_us * 3 / 2 + 1)));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            n_absent++;
            continue;
        }
        MimicaStore *s = mimica_store_open(path, &error);
        if (s) {
            n_whole++;
        } else {
            g_test_message("stub after kill %d: %s", i, error->message);
            g_clear_error(&error);
            n_stub++;
        }
        mimica_store_free(s);
    }
    /* The leftovers are temporary files; a new `project new` at any path works. */
    g_autofree char *again = g_build_filename(f->dir, "p0.mimica", NULL);
    if (!g_file_test(again, G_FILE_TEST_EXISTS)) {
        store = mimica_store_create(again, &error);
        g_assert_no_error(error);
        mimica_store_free(store);
    }
    g_test_message("seed %u: create takes %lld us; %d kills: %d absent, %d whole, %d stubs", seed,
                   (long long)create_us, n_trials, n_absent, n_whole, n_stub);
    g_assert_cmpint(n_stub, ==, 0);
}

/* Plants SQL in a closed project with a plain connection. */
static void plant(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        g_error("%s: %s", sql, msg);
    sqlite3_close(db);
}

static void test_untrusted(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    static const struct {
        const char *what, *sql;
    } planted[] = {
        {"trigger", "CREATE TRIGGER evil AFTER INSERT ON label_events BEGIN"
                    " INSERT INTO annotators (name, created) VALUES ('planted', 0); END"},
        {"view", "CREATE VIEW videos_all AS SELECT * FROM videos"},
        {"dropped trigger", "DROP TRIGGER label_events_no_delete"},
        {"index", "CREATE INDEX sneaky ON videos(path)"},
        {"altered table", "ALTER TABLE openface_columns ADD COLUMN note TEXT"},
        {"trigger on schema 6's table",
         "CREATE TRIGGER evil6 AFTER INSERT ON openface_columns BEGIN"
         " INSERT INTO annotators (name, created) VALUES ('planted', 0); END"},
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(planted); i++) {
        g_autofree char *name = g_strdup_printf("planted%u.mimica", i);
        g_autofree char *path = g_build_filename(f->dir, name, NULL);
        MimicaStore *store = mimica_store_create(path, &error);
        g_assert_no_error(error);
        add_video(store, "v", 100);
        mimica_store_free(store);
        plant(path, planted[i].sql);
        store = mimica_store_open(path, &error);
        g_assert_null(store);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT);
        g_test_message("%s: %s", planted[i].what, error->message);
        g_clear_error(&error);
    }

    /* A project made with 003-undo.sql's first text (its index without the frame range)
     * opens: indexes are compared by name only. */
    g_autofree char *early = g_build_filename(f->dir, "early.mimica", NULL);
    MimicaStore *old = mimica_store_open_at_version(early, 3, &error);
    g_assert_no_error(error);
    mimica_store_free(old);
    plant(early, "DROP INDEX label_events_video;"
                 " CREATE INDEX label_events_video ON label_events(video_id, au, annotator_id)");
    old = mimica_store_open(early, &error);
    g_assert_no_error(error);
    g_assert_cmpint(mimica_store_get_schema_version(old), ==, MIMICA_STORE_SCHEMA_VERSION);
    mimica_store_free(old);

    /* A record of 20 MB (over the 16 MB limit) is refused when read, not allocated. */
    MimicaStore *store = mimica_store_create(f->path, &error);
    g_assert_no_error(error);
    add_video(store, "v", 100);
    mimica_store_free(store);
    plant(f->path, "UPDATE videos SET path = printf('%.*c', 20000000, 'x') WHERE id = 1");
    store = mimica_store_open(f->path, &error);
    g_assert_no_error(error);
    MimicaVideoFacts facts;
    gint64 t0 = g_get_monotonic_time();
    g_assert_false(mimica_store_get_video(store, 1, &facts, &error));
    g_assert_nonnull(error);
    g_test_message("20 MB path: refused in %.1f ms: %s", (g_get_monotonic_time() - t0) / 1e3,
                   error->message);
    g_clear_error(&error);

    /* Defensive mode: the schema cannot be rewritten through the store's connection. */
    sqlite3 *db = mimica_store_get_db(store);
    sqlite3_exec(db, "PRAGMA writable_schema = ON", NULL, NULL, NULL);
    char *msg = NULL;
    int rc = sqlite3_exec(db, "UPDATE sqlite_schema SET sql = 'x' WHERE name = 'videos'", NULL,
                          NULL, &msg);
    g_assert_cmpint(rc, !=, SQLITE_OK);
    g_test_message("writable_schema in defensive mode: %s", msg);
    sqlite3_free(msg);
    mimica_store_free(store);
}

/* A project and a CSV whose names are not UTF-8: every message is valid UTF-8 (U+FFFD for the
 * stray byte), and the store still gives back the name as it was given. */
static void test_messages_utf8(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autofree char *path = g_build_filename(f->dir, "caf\xe9.mimica", NULL);
    g_autofree char *missing = g_build_filename(f->dir, "gone\xff.mimica", NULL);
    g_assert_null(mimica_store_open(missing, &error));
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_test_message("missing: %s", error->message);
    g_clear_error(&error);
    g_autoptr(MimicaStore) store = mimica_store_create(path, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(mimica_store_get_path(store), ==, path);
    g_assert_cmpint(mimica_store_label_set(store, 7, 0, 1, 4, MIMICA_LABEL_A, "ann", &error), ==,
                    0);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_test_message("no video: %s", error->message);
    g_clear_error(&error);
    g_autofree char *csv = g_build_filename(f->dir, "bad\xfe.csv", NULL);
    g_assert_true(g_file_set_contents(csv, "video,frame_start\n", -1, NULL));
    g_assert_cmpint(mimica_store_import_labels_csv(store, csv, &error), ==, -1);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_test_message("bad CSV: %s", error->message);
    g_clear_error(&error);
    g_autofree char *nocsv = g_build_filename(f->dir, "none\xfe.csv", NULL);
    g_assert_cmpint(mimica_store_import_labels_csv(store, nocsv, &error), ==, -1);
    g_assert_true(g_utf8_validate(error->message, -1, NULL));
    g_test_message("missing CSV: %s", error->message);
    g_clear_error(&error);
}

/* Errors of the file system and of other programs ------------------------------------------- */

static void test_locked(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) a = mimica_store_create(f->path, &error);
    gint64 v = add_video(a, "aaaa", 100);
    g_autoptr(MimicaStore) b = mimica_store_open(f->path, &error);
    g_assert_no_error(error);
    mimica_store_set_busy_timeout(b, 300);
    sql_exec(a, "BEGIN IMMEDIATE"); /* another program holds the write lock */
    gint64 t0 = g_get_monotonic_time();
    gint64 id = mimica_store_label_set(b, v, 0, 0, 1, MIMICA_LABEL_PRESENT, "ann", &error);
    double waited_ms = (g_get_monotonic_time() - t0) / 1000.0;
    g_assert_cmpint(id, ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_BUSY);
    g_assert_nonnull(strstr(error->message, "locked by another program"));
    g_test_message("locked: waited %.0f ms (timeout 300): %s", waited_ms, error->message);
    g_assert_cmpfloat(waited_ms, >=, 250.0);
    g_clear_error(&error);
    /* Readers are not blocked by the writer (WAL). */
    MimicaStoreInfo info;
    g_assert_true(mimica_store_get_info(b, &info, &error));
    g_assert_cmpint(info.n_videos, ==, 1);
    sql_exec(a, "ROLLBACK");
    id = mimica_store_label_set(b, v, 0, 0, 1, MIMICA_LABEL_PRESENT, "ann", &error);
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
}

static void test_disk_full(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 v = add_video(store, "aaaa", 1000000);
    /* Cap the file at its current size: SQLite reports SQLITE_FULL as on a full disk. */
    gint64 pages = sql_int(store, "PRAGMA page_count");
    g_autofree char *cap = g_strdup_printf("PRAGMA max_page_count = %lld", (long long)pages);
    sql_exec(store, cap);
    int n_ok = 0;
    gint64 id = 1;
    while (id && n_ok < 100000) {
        id = mimica_store_label_set(store, v, n_ok, n_ok, 1 + n_ok % 99, MIMICA_LABEL_PRESENT,
                                    "ann", &error);
        n_ok += id != 0;
    }
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FULL);
    g_assert_nonnull(strstr(error->message, "disk is full"));
    g_test_message("after %d labels in %lld pages: %s", n_ok, (long long)pages, error->message);
    g_clear_error(&error);
    /* The failed write left nothing behind; every acknowledged label is there. */
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events"), ==, n_ok);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
}

/* Models, predictions, training runs -------------------------------------------------------- */

static void test_results(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    gint64 v = add_video(store, "aaaa", 100);
    const int aus[] = {12, 1, 2, 4, 6}; /* model order, not sorted */
    g_assert_cmpint(mimica_store_add_model(store, "m.safetensors", "m", 0, aus, 5, "{bad", &error),
                    ==, 0);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_clear_error(&error);
    gint64 m =
        mimica_store_add_model(store, "m.safetensors", "base", 0, aus, 5, "{\"f1\": 0.5}", &error);
    g_assert_no_error(error);
    gint64 child =
        mimica_store_add_model(store, "m2.safetensors", "tuned", m, aus, 5, NULL, &error);
    g_assert_cmpint(child, >, m);

    GRand *rand = g_rand_new_with_seed(99);
    MimicaPrediction *rows = g_new0(MimicaPrediction, 10);
    for (int i = 0; i < 10; i++) {
        MimicaPrediction *p = &rows[i];
        p->frame = i;
        p->timestamp = i * 0.04;
        p->confidence = (float)g_rand_double(rand);
        p->success = TRUE;
        p->has_box = i % 2;
        for (int k = 0; k < 4; k++)
            p->box[k] = (float)g_rand_double_range(rand, 0, 500);
        p->has_landmarks = TRUE;
        for (int k = 0; k < 136; k++)
            p->landmarks[k] = (float)g_rand_double_range(rand, 0, 640);
        p->n_aus = 5;
        for (int k = 0; k < 5; k++)
            p->au_prob[k] = (float)g_rand_double(rand);
    }
    g_rand_free(rand);
    g_assert_true(mimica_store_put_predictions(store, v, 0, m, rows, 10, &error));
    g_assert_no_error(error);
    /* Re-analysis replaces rows; a bad row rolls the whole batch back. */
    rows[3].au_prob[0] = 0.25f;
    g_assert_true(mimica_store_put_predictions(store, v, 0, m, rows + 3, 1, &error));
    rows[9].n_aus = 4;
    float orig = rows[2].au_prob[0];
    rows[2].au_prob[0] = 0.75f;
    g_assert_false(mimica_store_put_predictions(store, v, 0, m, rows, 10, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_test_message("bad batch: %s", error->message);
    g_clear_error(&error);
    rows[9].n_aus = 5;
    rows[2].au_prob[0] = orig;
    g_assert_false(mimica_store_put_predictions(store, v, 0, 77, rows, 1, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM predictions"), ==, 10);

    double max_diff = 0;
    for (int i = 0; i < 10; i++) {
        MimicaPrediction got;
        g_assert_true(mimica_store_get_prediction(store, v, 0, m, i, &got, &error));
        g_assert_no_error(error);
        g_assert_cmpint(got.has_box, ==, rows[i].has_box);
        g_assert_true(got.has_landmarks);
        g_assert_false(got.has_intensity);
        g_assert_cmpint(got.n_aus, ==, 5);
        for (int k = 0; k < 136; k++)
            max_diff = fmax(max_diff, fabs(got.landmarks[k] - rows[i].landmarks[k]));
        for (int k = 0; k < 5; k++)
            max_diff = fmax(max_diff, fabs(got.au_prob[k] - rows[i].au_prob[k]));
        max_diff = fmax(max_diff, fabs(got.confidence - rows[i].confidence));
    }
    MimicaPrediction got;
    g_assert_true(mimica_store_get_prediction(store, v, 0, m, 2, &got, &error));
    g_assert_cmpfloat(got.au_prob[0], !=, 0.75f); /* the failed batch left nothing */
    g_assert_false(mimica_store_get_prediction(store, v, 0, m, 10, &got, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_cmpint(sql_int(store, "SELECT first_frame * 1000 + last_frame FROM faces"), ==, 9);
    g_test_message("10 predictions x (136 landmarks + 5 AUs) read back: max |diff| %g (tol 0)",
                   max_diff);
    g_assert_cmpfloat(max_diff, ==, 0.0);
    g_free(rows);

    gint64 run = mimica_store_training_run_new(store, m, "{\"steps\": 100}", &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_training_run_update(store, run, "running", 0, "step 1\n", &error));
    g_assert_true(
        mimica_store_training_run_update(store, run, "done", child, "step 100\n", &error));
    g_assert_no_error(error);
    g_autofree char *row = sql_text(store, "SELECT status || '|' || model_out || '|' || log ||"
                                           " (started IS NOT NULL) || (finished IS NOT NULL)"
                                           " FROM training_runs");
    g_assert_cmpstr(row, ==, "done|2|step 1\nstep 100\n11");
    g_assert_false(mimica_store_training_run_update(store, run, "exploded", 0, NULL, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID);
    g_clear_error(&error);
    g_assert_false(mimica_store_training_run_update(store, 99, "done", 0, NULL, &error));
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(mimica_store_check(store, &error));
}

/* One connection per thread: writers in several threads, each with its own store, all succeed
 * (they wait for each other's write lock within the busy timeout). */
typedef struct {
    const char *path;
    int n, index;
    gint64 first_id, last_id;
    int failures;
} ThreadJob;

static gpointer writer_thread(gpointer data)
{
    ThreadJob *job = data;
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(job->path, &error);
    if (!store) {
        job->failures = job->n;
        g_clear_error(&error);
        return NULL;
    }
    g_autofree char *who = g_strdup_printf("thread-%d", job->index);
    for (int i = 0; i < job->n; i++) {
        gint64 id = mimica_store_label_set(store, 1, i, i, 1 + job->index, MIMICA_LABEL_PRESENT,
                                           who, &error);
        if (!id) {
            job->failures++;
            g_clear_error(&error);
        }
        if (!job->first_id)
            job->first_id = id;
        job->last_id = id;
    }
    mimica_store_free(store);
    return NULL;
}

static void test_threads(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(f->path, &error);
    add_video(store, "aaaa", 1000);
    enum { N_THREADS = 4, N_LABELS = 100 };
    ThreadJob jobs[N_THREADS];
    GThread *threads[N_THREADS];
    gint64 t0 = g_get_monotonic_time();
    for (int t = 0; t < N_THREADS; t++) {
        jobs[t] = (ThreadJob){f->path, N_LABELS, t, 0, 0, 0};
        threads[t] = g_thread_new("writer", writer_thread, &jobs[t]);
    }
    int failures = 0;
    for (int t = 0; t < N_THREADS; t++) {
        g_thread_join(threads[t]);
        failures += jobs[t].failures;
    }
    double ms = (g_get_monotonic_time() - t0) / 1000.0;
    gint64 n = sql_int(store, "SELECT count(*) FROM label_events");
    gint64 n_annotators = sql_int(store, "SELECT count(*) FROM annotators");
    g_test_message("%d threads x %d labels in %.0f ms: %lld events, %lld annotators, %d failures",
                   N_THREADS, N_LABELS, ms, (long long)n, (long long)n_annotators, failures);
    g_assert_cmpint(failures, ==, 0);
    g_assert_cmpint(n, ==, N_THREADS * N_LABELS);
    g_assert_cmpint(n_annotators, ==, N_THREADS);
    g_assert_true(mimica_store_check(store, &error));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/store/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("create", test_create);
    ADD("open-errors", test_open_errors);
    ADD("migrations", test_migrations);
    ADD("migration-rollback", test_migration_rollback);
    ADD("videos", test_videos);
    ADD("label-validation", test_label_validation);
    ADD("undo-redo", test_undo_redo);
    ADD("undo-random", test_undo_random);
    ADD("labels-held", test_labels_held);
    ADD("read-only", test_read_only);
    ADD("create-interrupted", test_create_interrupted);
    ADD("untrusted", test_untrusted);
    ADD("messages-utf8", test_messages_utf8);
    ADD("locked", test_locked);
    ADD("disk-full", test_disk_full);
    ADD("results", test_results);
    ADD("threads", test_threads);
    return g_test_run();
}
