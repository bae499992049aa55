/* mimica-store.c: opening, creating and migrating a project file; videos; label events with
 * undo and redo. The schema lives in data/sql/NNN-name.sql, compiled in as a GResource. */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#include "mimica-store-private.h"
#include "store/mimica-store-sql.h"

G_DEFINE_QUARK(mimica - store - error - quark, mimica_store_error)

#define SQL_RESOURCE_DIR "/org/mimica/store/sql"

/* Errors ------------------------------------------------------------------------------------ */

void _mimica_store_set_error(MimicaStore *store, int rc, GError **error, const char *context)
{
    const char *msg = store && store->db ? sqlite3_errmsg(store->db) : sqlite3_errstr(rc);
    const char *path = store && store->path ? store->path : "project";
    int sys_errno = store && store->db ? sqlite3_system_errno(store->db) : 0;

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_BUSY,
                    "%s: %s: the project is locked by another program (waited %d ms); "
                    "close it there or try again",
                    path, context, store ? store->busy_timeout_ms : 0);
        return;
    case SQLITE_FULL:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FULL,
                    "%s: %s: the disk is full; free some space and try again", path, context);
        return;
    case SQLITE_IOERR:
        if (sys_errno == ENOSPC || sys_errno == EDQUOT) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FULL,
                        "%s: %s: the disk is full (%s); free some space and try again", path,
                        context, g_strerror(sys_errno));
            return;
        }
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_IO, "%s: %s: I/O error: %s%s%s",
                    path, context, msg, sys_errno ? ": " : "",
                    sys_errno ? g_strerror(sys_errno) : "");
        return;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_READ_ONLY,
                    "%s: %s: cannot write the project: %s", path, context, msg);
        return;
    case SQLITE_CANTOPEN:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_IO,
                    "%s: %s: cannot open the project: %s%s%s", path, context, msg,
                    sys_errno ? ": " : "", sys_errno ? g_strerror(sys_errno) : "");
        return;
    case SQLITE_NOTADB:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT,
                    "%s is not a Mimica project (not an SQLite database)", path);
        return;
    case SQLITE_CORRUPT:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: %s: the project file is damaged: %s", path, context, msg);
        return;
    case SQLITE_CONSTRAINT:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID, "%s: %s: %s", path,
                    context, msg);
        return;
    default:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED, "%s: %s: %s (%s)", path,
                    context, msg, sqlite3_errstr(rc));
        return;
    }
}

/* Statements -------------------------------------------------------------------------------- */

sqlite3_stmt *_mimica_store_stmt(MimicaStore *store, const char *sql, GError **error)
{
    sqlite3_stmt *st = g_hash_table_lookup(store->stmts, sql);
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    int rc = sqlite3_prepare_v3(store->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "preparing a statement");
        return NULL;
    }
    g_hash_table_insert(store->stmts, (gpointer)sql, st);
    return st;
}

static gboolean exec(MimicaStore *store, const char *sql, const char *context, GError **error)
{
    int rc = sqlite3_exec(store->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, context);
        return FALSE;
    }
    return TRUE;
}

gboolean _mimica_store_begin(MimicaStore *store, const char *context, GError **error)
{
    return exec(store, "BEGIN IMMEDIATE", context, error);
}

gboolean _mimica_store_commit(MimicaStore *store, const char *context, GError **error)
{
    return exec(store, "COMMIT", context, error);
}

void _mimica_store_rollback(MimicaStore *store)
{
    if (!sqlite3_get_autocommit(store->db))
        sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs a one-row, one-integer query (PRAGMA or SELECT without parameters). */
static gboolean query_int(MimicaStore *store, const char *sql, gint64 *out, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, sql, error);
    if (!st)
        return FALSE;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return TRUE;
    }
    sqlite3_reset(st);
    _mimica_store_set_error(store, rc == SQLITE_DONE ? SQLITE_ERROR : rc, error, sql);
    return FALSE;
}

/* Opening ----------------------------------------------------------------------------------- */

static void stmt_finalize(gpointer st)
{
    sqlite3_finalize(st);
}

void mimica_store_free(MimicaStore *store)
{
    if (!store)
        return;
    if (store->stmts)
        g_hash_table_destroy(store->stmts);
    if (store->db)
        sqlite3_close(store->db);
    g_free(store->path);
    g_free(store);
}

const char *mimica_store_get_path(MimicaStore *store)
{
    return store->path;
}

struct sqlite3 *mimica_store_get_db(MimicaStore *store)
{
    return store->db;
}

void mimica_store_set_busy_timeout(MimicaStore *store, int ms)
{
    g_return_if_fail(store && ms >= 0);
    store->busy_timeout_ms = ms;
    sqlite3_busy_timeout(store->db, ms);
}

int mimica_store_get_schema_version(MimicaStore *store)
{
    gint64 v = -1;
    if (!query_int(store, "PRAGMA user_version", &v, NULL))
        return -1;
    return (int)v;
}

static MimicaStore *store_connect(const char *path, int flags, GError **error)
{
    MimicaStore *store = g_new0(MimicaStore, 1);
    store->path = g_strdup(path);
    store->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, stmt_finalize);
    int rc = sqlite3_open_v2(path, &store->db, flags, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "opening");
        mimica_store_free(store);
        return NULL;
    }
    sqlite3_extended_result_codes(store->db, 1);
    mimica_store_set_busy_timeout(store, MIMICA_STORE_BUSY_TIMEOUT_MS);
    return store;
}

/* Durable commits, WAL, foreign keys. */
static gboolean store_configure(MimicaStore *store, GError **error)
{
    if (strcmp(store->path, ":memory:") != 0) {
        sqlite3_stmt *st = _mimica_store_stmt(store, "PRAGMA journal_mode = WAL", error);
        if (!st)
            return FALSE;
        int rc = sqlite3_step(st);
        if (rc != SQLITE_ROW) {
            sqlite3_reset(st);
            _mimica_store_set_error(store, rc, error, "switching to WAL mode");
            return FALSE;
        }
        gboolean wal = g_ascii_strcasecmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
        sqlite3_reset(st);
        if (!wal) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED,
                        "%s: the file system does not support SQLite's WAL mode", store->path);
            return FALSE;
        }
    }
    return exec(store, "PRAGMA synchronous = FULL", "configuring", error) &&
           exec(store, "PRAGMA foreign_keys = ON", "configuring", error);
}

static int compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migrations compiled in, sorted: 001-initial.sql, 002-..., one per schema version. */
static GPtrArray *migration_names(GError **error)
{
    char **children =
        g_resource_enumerate_children(mimica_store_sql_get_resource(), SQL_RESOURCE_DIR, 0, error);
    if (!children)
        return NULL;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    for (char **c = children; *c; c++)
        if (g_str_has_suffix(*c, ".sql"))
            g_ptr_array_add(names, g_strdup(*c));
    g_strfreev(children);
    g_ptr_array_sort(names, compare_names);
    return names;
}

/* Applies migrations FROM+1 .. UPTO in one transaction, foreign keys off (table rebuilds), then
 * checks the foreign keys and sets user_version. */
static gboolean store_migrate(MimicaStore *store, int from, int upto, GError **error)
{
    if (from >= upto)
        return TRUE;
    g_autoptr(GPtrArray) names = migration_names(error);
    if (!names)
        return FALSE;
    if ((int)names->len < upto) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED,
                    "internal: %u migrations compiled in, schema %d wanted", names->len, upto);
        return FALSE;
    }
    if (!exec(store, "PRAGMA foreign_keys = OFF", "migrating", error))
        return FALSE;
    gboolean ok = _mimica_store_begin(store, "migrating", error);
    for (int v = from + 1; ok && v <= upto; v++) {
        const char *name = g_ptr_array_index(names, v - 1);
        char prefix[8];
        g_snprintf(prefix, sizeof prefix, "%03d-", v);
        if (!g_str_has_prefix(name, prefix)) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED,
                        "internal: migration %d is named %s", v, name);
            ok = FALSE;
            break;
        }
        g_autofree char *rpath = g_strconcat(SQL_RESOURCE_DIR "/", name, NULL);
        g_autoptr(GBytes) sql =
            g_resource_lookup_data(mimica_store_sql_get_resource(), rpath, 0, error);
        if (!sql) {
            ok = FALSE;
            break;
        }
        g_autofree char *context = g_strdup_printf("migrating to schema %d (%s)", v, name);
        /* GResource data is NUL-terminated. */
        ok = exec(store, g_bytes_get_data(sql, NULL), context, error);
    }
    if (ok) {
        /* The rebuilt tables must still satisfy every foreign key. */
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(store->db, "PRAGMA foreign_key_check", -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: migrating: table %s row %lld breaks a foreign key", store->path,
                        (const char *)sqlite3_column_text(st, 0),
                        (long long)sqlite3_column_int64(st, 1));
            ok = FALSE;
        } else if (rc != SQLITE_DONE) {
            _mimica_store_set_error(store, rc, error, "migrating");
            ok = FALSE;
        }
        sqlite3_finalize(st);
    }
    if (ok) {
        /* PRAGMA takes no parameters; both numbers are ours. */
        g_autofree char *pragma =
            g_strdup_printf("PRAGMA application_id = %d; PRAGMA user_version = %d",
                            MIMICA_STORE_APPLICATION_ID, upto);
        ok = exec(store, pragma, "migrating", error) &&
             _mimica_store_commit(store, "migrating", error);
    }
    if (!ok)
        _mimica_store_rollback(store);
    /* Statements prepared against the old schema are stale. */
    g_hash_table_remove_all(store->stmts);
    GError *fk_error = NULL;
    if (!exec(store, "PRAGMA foreign_keys = ON", "migrating", ok ? error : &fk_error))
        ok = FALSE;
    g_clear_error(&fk_error);
    return ok;
}

/* Reads application_id and user_version: is this a project this build can use? */
static gboolean store_identify(MimicaStore *store, gint64 *version, GError **error)
{
    gint64 app_id = 0;
    if (!query_int(store, "PRAGMA application_id", &app_id, error) ||
        !query_int(store, "PRAGMA user_version", version, error))
        return FALSE;
    if (app_id != MIMICA_STORE_APPLICATION_ID) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT,
                    "%s is not a Mimica project (an SQLite database of another program)",
                    store->path);
        return FALSE;
    }
    if (*version > MIMICA_STORE_SCHEMA_VERSION) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_TOO_NEW,
                    "%s was written by a newer Mimica (schema %lld; this one knows up to %d)",
                    store->path, (long long)*version, MIMICA_STORE_SCHEMA_VERSION);
        return FALSE;
    }
    if (*version < 1) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT,
                    "%s is not a Mimica project (schema version %lld)", store->path,
                    (long long)*version);
        return FALSE;
    }
    return TRUE;
}

MimicaStore *mimica_store_open(const char *path, GError **error)
{
    g_return_val_if_fail(path, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: no such file (create a project with `mimica-cli project new`)", path);
        return NULL;
    }
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT,
                    "%s is a folder, not a Mimica project", path);
        return NULL;
    }
    MimicaStore *store = store_connect(path, SQLITE_OPEN_READWRITE, error);
    if (!store)
        return NULL;
    gint64 version = 0;
    if (!store_identify(store, &version, error) || !store_configure(store, error) ||
        !store_migrate(store, (int)version, MIMICA_STORE_SCHEMA_VERSION, error)) {
        mimica_store_free(store);
        return NULL;
    }
    return store;
}

MimicaStore *mimica_store_create(const char *path, GError **error)
{
    g_return_val_if_fail(path, NULL);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        g_set_error(error, MIMICA_STORE_ERROR,
                    e == EEXIST   ? MIMICA_STORE_ERROR_EXISTS
                    : e == ENOSPC ? MIMICA_STORE_ERROR_FULL
                                  : MIMICA_STORE_ERROR_IO,
                    e == EEXIST ? "%s: already exists (not overwritten)" : "%s: cannot create: %s",
                    path, g_strerror(e));
        return NULL;
    }
    close(fd);
    MimicaStore *store = store_connect(path, SQLITE_OPEN_READWRITE, error);
    if (!store || !store_configure(store, error) ||
        !store_migrate(store, 0, MIMICA_STORE_SCHEMA_VERSION, error)) {
        mimica_store_free(store);
        /* Only remove what this call created. */
        g_autofree char *wal = g_strconcat(path, "-wal", NULL);
        g_autofree char *shm = g_strconcat(path, "-shm", NULL);
        unlink(wal);
        unlink(shm);
        unlink(path);
        return NULL;
    }
    return store;
}

MimicaStore *mimica_store_open_at_version(const char *path, int upto, GError **error)
{
    g_return_val_if_fail(path && upto >= 0 && upto <= MIMICA_STORE_SCHEMA_VERSION, NULL);
    MimicaStore *store = store_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, error);
    if (!store)
        return NULL;
    gint64 version = 0;
    if (!query_int(store, "PRAGMA user_version", &version, error) ||
        !store_configure(store, error) || !store_migrate(store, (int)version, upto, error)) {
        mimica_store_free(store);
        return NULL;
    }
    return store;
}

gboolean mimica_store_check(MimicaStore *store, GError **error)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        _mimica_store_set_error(store, rc, error, "integrity check");
        return FALSE;
    }
    const char *first = (const char *)sqlite3_column_text(st, 0);
    if (g_strcmp0(first, "ok") != 0) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: integrity check: %s", store->path, first ? first : "(null)");
        sqlite3_finalize(st);
        return FALSE;
    }
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(store->db, "PRAGMA foreign_key_check", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    gboolean ok = rc == SQLITE_DONE;
    if (rc == SQLITE_ROW)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: table %s row %lld breaks a foreign key", store->path,
                    (const char *)sqlite3_column_text(st, 0),
                    (long long)sqlite3_column_int64(st, 1));
    else if (rc != SQLITE_DONE)
        _mimica_store_set_error(store, rc, error, "foreign key check");
    sqlite3_finalize(st);
    return ok;
}

/* Videos ------------------------------------------------------------------------------------ */

void mimica_video_facts_clear(MimicaVideoFacts *facts)
{
    if (!facts)
        return;
    g_free(facts->path);
    g_free(facts->content_hash);
    memset(facts, 0, sizeof *facts);
}

gint64 mimica_store_add_video(MimicaStore *store, const MimicaVideoFacts *f, GError **error)
{
    g_return_val_if_fail(store && f, 0);
    if (!f->path || !*f->path || !f->content_hash || !*f->content_hash || f->duration_us < 0 ||
        f->frame_rate_num <= 0 || f->frame_rate_den <= 0 || f->n_frames < 0 || f->width <= 0 ||
        f->height <= 0 ||
        (f->rotation != 0 && f->rotation != 90 && f->rotation != 180 && f->rotation != 270)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "%s: implausible stream facts (%dx%d, %d/%d fps, rotation %d)",
                    f->path ? f->path : "(no path)", f->width, f->height, f->frame_rate_num,
                    f->frame_rate_den, f->rotation);
        return 0;
    }
    if (!_mimica_store_begin(store, "adding a video", error))
        return 0;
    gint64 id = 0;
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT id FROM videos WHERE content_hash = ?1", error);
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, f->content_hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_EXISTS,
                    "%s: already in the project as video %lld (same content)", f->path,
                    (long long)sqlite3_column_int64(st, 0));
        sqlite3_reset(st);
        goto out;
    }
    sqlite3_reset(st);
    st = _mimica_store_stmt(store,
                            "INSERT INTO videos (path, content_hash, duration_us, frame_rate_num,"
                            " frame_rate_den, n_frames, width, height, rotation, added)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                            error);
    if (!st)
        goto out;
    sqlite3_bind_text(st, 1, f->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->content_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, f->duration_us);
    sqlite3_bind_int(st, 4, f->frame_rate_num);
    sqlite3_bind_int(st, 5, f->frame_rate_den);
    sqlite3_bind_int64(st, 6, f->n_frames);
    sqlite3_bind_int(st, 7, f->width);
    sqlite3_bind_int(st, 8, f->height);
    sqlite3_bind_int(st, 9, f->rotation);
    sqlite3_bind_int64(st, 10, g_get_real_time() / 1000);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "adding a video");
        goto out;
    }
    id = sqlite3_last_insert_rowid(store->db);
    if (!_mimica_store_commit(store, "adding a video", error))
        id = 0;
out:
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

gboolean mimica_store_get_video(MimicaStore *store, gint64 video_id, MimicaVideoFacts *out,
                                GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT path, content_hash, duration_us, frame_rate_num, frame_rate_den, n_frames,"
        " width, height, rotation FROM videos WHERE id = ?1",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                        "%s: no video %lld in the project", store->path, (long long)video_id);
        else
            _mimica_store_set_error(store, rc, error, "reading a video");
        return FALSE;
    }
    memset(out, 0, sizeof *out);
    out->path = g_strdup((const char *)sqlite3_column_text(st, 0));
    out->content_hash = g_strdup((const char *)sqlite3_column_text(st, 1));
    out->duration_us = sqlite3_column_int64(st, 2);
    out->frame_rate_num = sqlite3_column_int(st, 3);
    out->frame_rate_den = sqlite3_column_int(st, 4);
    out->n_frames = sqlite3_column_int64(st, 5);
    out->width = sqlite3_column_int(st, 6);
    out->height = sqlite3_column_int(st, 7);
    out->rotation = sqlite3_column_int(st, 8);
    sqlite3_reset(st);
    return TRUE;
}

GArray *mimica_store_list_videos(MimicaStore *store, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, "SELECT id FROM videos ORDER BY id", error);
    if (!st)
        return NULL;
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        gint64 id = sqlite3_column_int64(st, 0);
        g_array_append_val(ids, id);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "listing videos");
        g_array_unref(ids);
        return NULL;
    }
    return ids;
}

/* Labels ------------------------------------------------------------------------------------ */

static const char *const value_names[] = {"absent", "present", "A", "B", "C", "D", "E"};

const char *mimica_label_value_to_string(MimicaLabelValue value)
{
    if ((unsigned)value >= G_N_ELEMENTS(value_names))
        return NULL;
    return value_names[value];
}

gboolean mimica_label_value_parse(const char *text, MimicaLabelValue *out)
{
    for (unsigned i = 0; text && i < G_N_ELEMENTS(value_names); i++)
        if (strcmp(text, value_names[i]) == 0) {
            *out = (MimicaLabelValue)i;
            return TRUE;
        }
    return FALSE;
}

gint64 _mimica_store_annotator_id(MimicaStore *store, const char *name, gboolean create,
                                  GError **error)
{
    if (create) {
        sqlite3_stmt *ins = _mimica_store_stmt(
            store, "INSERT OR IGNORE INTO annotators (name, created) VALUES (?1, ?2)", error);
        if (!ins)
            return 0;
        sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, g_get_real_time() / 1000);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE) {
            _mimica_store_set_error(store, rc, error, "adding an annotator");
            return 0;
        }
    }
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT id FROM annotators WHERE name = ?1", error);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        _mimica_store_set_error(store, rc, error, "finding an annotator");
    else if (create && !id)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED,
                    "internal: annotator '%s' not found after insertion", name);
    return id;
}

gboolean _mimica_store_check_label(MimicaStore *store, gint64 video_id, gint64 frame_start,
                                   gint64 frame_end, int au, const char *annotator, GError **error)
{
    if (!annotator || !*annotator || strlen(annotator) > 200 ||
        !g_utf8_validate(annotator, -1, NULL)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "annotator name must be 1 to 200 bytes of UTF-8");
        return FALSE;
    }
    if (au < 1 || au > 99) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "AU %d out of range (1..99)", au);
        return FALSE;
    }
    if (frame_start < 0 || frame_end < frame_start) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "bad frame range %lld-%lld (want 0 <= start <= end)", (long long)frame_start,
                    (long long)frame_end);
        return FALSE;
    }
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT n_frames FROM videos WHERE id = ?1", error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    int rc = sqlite3_step(st);
    gint64 n_frames = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: no video %lld in the project", store->path, (long long)video_id);
        return FALSE;
    }
    if (rc != SQLITE_ROW) {
        _mimica_store_set_error(store, rc, error, "reading a video");
        return FALSE;
    }
    /* n_frames 0: the container did not say; any frame is accepted. */
    if (n_frames > 0 && frame_end >= n_frames) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "frames %lld-%lld outside video %lld (frames 0-%lld)", (long long)frame_start,
                    (long long)frame_end, (long long)video_id, (long long)(n_frames - 1));
        return FALSE;
    }
    return TRUE;
}

gint64 mimica_store_label_set(MimicaStore *store, gint64 video_id, gint64 frame_start,
                              gint64 frame_end, int au, MimicaLabelValue value,
                              const char *annotator, GError **error)
{
    g_return_val_if_fail(store, 0);
    const char *vname = mimica_label_value_to_string(value);
    if (!vname) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID, "bad label value %d",
                    (int)value);
        return 0;
    }
    if (!_mimica_store_begin(store, "adding a label", error))
        return 0;
    gint64 id = 0, annotator_id = 0, supersedes = 0;
    if (!_mimica_store_check_label(store, video_id, frame_start, frame_end, au, annotator, error) ||
        !(annotator_id = _mimica_store_annotator_id(store, annotator, TRUE, error)))
        goto out;

    /* The label in effect that this one overrides, for the audit trail. */
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT id FROM label_events_active WHERE video_id = ?1 AND au = ?2 AND"
        " annotator_id = ?3 AND frame_start <= ?5 AND frame_end >= ?4 ORDER BY id DESC LIMIT 1",
        error);
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int(st, 2, au);
    sqlite3_bind_int64(st, 3, annotator_id);
    sqlite3_bind_int64(st, 4, frame_start);
    sqlite3_bind_int64(st, 5, frame_end);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        supersedes = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "adding a label");
        goto out;
    }

    st = _mimica_store_stmt(store,
                            "INSERT INTO label_events (kind, video_id, annotator_id, time, au,"
                            " frame_start, frame_end, value, supersedes)"
                            " VALUES ('set', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            error);
    if (!st)
        goto out;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, annotator_id);
    sqlite3_bind_int64(st, 3, g_get_real_time() / 1000);
    sqlite3_bind_int(st, 4, au);
    sqlite3_bind_int64(st, 5, frame_start);
    sqlite3_bind_int64(st, 6, frame_end);
    sqlite3_bind_text(st, 7, vname, -1, SQLITE_STATIC);
    if (supersedes)
        sqlite3_bind_int64(st, 8, supersedes);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "adding a label");
        goto out;
    }
    id = sqlite3_last_insert_rowid(store->db);
    if (!_mimica_store_commit(store, "adding a label", error))
        id = 0;
out:
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

/* Appends an undo or redo event: KIND over event TARGET, after TOP (the chain's current top). */
static gint64 insert_chain_event(MimicaStore *store, const char *kind, gint64 annotator_id,
                                 gint64 target, gint64 top, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "INSERT INTO label_events (kind, video_id, annotator_id, time, au, frame_start,"
        " frame_end, value, target, supersedes)"
        " SELECT ?1, video_id, ?2, ?3, au, frame_start, frame_end, NULL, id, ?5"
        " FROM label_events WHERE id = ?4",
        error);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, annotator_id);
    sqlite3_bind_int64(st, 3, g_get_real_time() / 1000);
    sqlite3_bind_int64(st, 4, target);
    sqlite3_bind_int64(st, 5, top);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, kind);
        return 0;
    }
    return sqlite3_last_insert_rowid(store->db);
}

/* Undo: the annotator's 'set' event in effect that was applied last (made, or redone).
 * Redo: the annotator's last undo that is still the top of its chain, if no edit came after. */
static const char undo_candidate_sql[] =
    "SELECT e.id, coalesce((SELECT max(c.id) FROM label_events c WHERE c.target = e.id), e.id)"
    " AS top FROM label_events e WHERE e.annotator_id = ?1 AND e.kind = 'set' AND"
    " (SELECT count(*) FROM label_events c WHERE c.target = e.id) % 2 = 0"
    " ORDER BY top DESC LIMIT 1";
static const char redo_candidate_sql[] =
    "SELECT t.target, t.id FROM label_events t WHERE t.kind = 'undo' AND t.annotator_id = ?1"
    " AND t.id = (SELECT max(c.id) FROM label_events c WHERE c.target = t.target)"
    " AND t.id > coalesce((SELECT max(s.id) FROM label_events s WHERE s.annotator_id = ?1"
    " AND s.kind = 'set'), 0) ORDER BY t.id DESC LIMIT 1";

static gint64 undo_redo(MimicaStore *store, gboolean redo, const char *annotator, gint64 *affected,
                        GError **error)
{
    const char *what = redo ? "redo" : "undo";
    if (affected)
        *affected = 0;
    if (!annotator || !*annotator) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "%s needs an annotator name", what);
        return 0;
    }
    if (!_mimica_store_begin(store, what, error))
        return 0;
    gint64 id = 0;
    GError *local = NULL;
    gint64 annotator_id = _mimica_store_annotator_id(store, annotator, FALSE, &local);
    if (local) {
        g_propagate_error(error, local);
        goto out;
    }
    gint64 target = 0, top = 0;
    if (annotator_id) {
        sqlite3_stmt *st =
            _mimica_store_stmt(store, redo ? redo_candidate_sql : undo_candidate_sql, error);
        if (!st)
            goto out;
        sqlite3_bind_int64(st, 1, annotator_id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            target = sqlite3_column_int64(st, 0);
            top = sqlite3_column_int64(st, 1);
        }
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            _mimica_store_set_error(store, rc, error, what);
            goto out;
        }
    }
    if (!target) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING,
                    "nothing to %s for annotator '%s'", what, annotator);
        goto out;
    }
    id = insert_chain_event(store, what, annotator_id, target, top, error);
    if (id && !_mimica_store_commit(store, what, error))
        id = 0;
    if (id && affected)
        *affected = target;
out:
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

gint64 mimica_store_label_undo(MimicaStore *store, const char *annotator, gint64 *undone,
                               GError **error)
{
    return undo_redo(store, FALSE, annotator, undone, error);
}

gint64 mimica_store_label_redo(MimicaStore *store, const char *annotator, gint64 *redone,
                               GError **error)
{
    return undo_redo(store, TRUE, annotator, redone, error);
}

gboolean mimica_store_label_at(MimicaStore *store, gint64 video_id, int au, gint64 frame,
                               const char *annotator, MimicaLabelValue *out, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT value FROM label_events_active WHERE video_id = ?1 AND au = ?2 AND"
        " frame_start <= ?3 AND frame_end >= ?3 AND (?4 IS NULL OR annotator_id ="
        " (SELECT id FROM annotators WHERE name = ?4)) ORDER BY id DESC LIMIT 1",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int(st, 2, au);
    sqlite3_bind_int64(st, 3, frame);
    if (annotator)
        sqlite3_bind_text(st, 4, annotator, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    gboolean found = FALSE;
    if (rc == SQLITE_ROW)
        found = mimica_label_value_parse((const char *)sqlite3_column_text(st, 0), out);
    else if (rc != SQLITE_DONE)
        _mimica_store_set_error(store, rc, error, "reading a label");
    sqlite3_reset(st);
    return found;
}

gboolean mimica_store_foreach_label(MimicaStore *store, gint64 video_id, const char *annotator,
                                    MimicaLabelFunc func, gpointer user_data, GError **error)
{
    /* Not cached: FUNC may call back into the store. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT l.id, l.video_id, l.frame_start, l.frame_end, l.au, l.value, a.name, l.time"
        " FROM labels_current l JOIN annotators a ON a.id = l.annotator_id"
        " WHERE (?1 = 0 OR l.video_id = ?1) AND (?2 IS NULL OR a.name = ?2) ORDER BY l.id",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "reading labels");
        return FALSE;
    }
    sqlite3_bind_int64(st, 1, video_id);
    if (annotator)
        sqlite3_bind_text(st, 2, annotator, -1, SQLITE_STATIC);
    gboolean ok = TRUE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        MimicaLabel l = {
            .event = sqlite3_column_int64(st, 0),
            .video = sqlite3_column_int64(st, 1),
            .frame_start = sqlite3_column_int64(st, 2),
            .frame_end = sqlite3_column_int64(st, 3),
            .au = sqlite3_column_int(st, 4),
            .annotator = (const char *)sqlite3_column_text(st, 6),
            .time_ms = sqlite3_column_int64(st, 7),
        };
        if (!mimica_label_value_parse((const char *)sqlite3_column_text(st, 5), &l.value)) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: event %lld has no valid value", store->path, (long long)l.event);
            ok = FALSE;
            break;
        }
        if (!func(&l, user_data))
            break;
    }
    if (ok && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "reading labels");
        ok = FALSE;
    }
    sqlite3_finalize(st);
    return ok;
}

gboolean mimica_store_get_info(MimicaStore *store, MimicaStoreInfo *out, GError **error)
{
    memset(out, 0, sizeof *out);
    out->schema_version = mimica_store_get_schema_version(store);
    /* One read transaction, so the counts agree with each other. */
    if (!exec(store, "BEGIN", "reading project info", error))
        return FALSE;
    gboolean ok =
        query_int(store, "SELECT count(*) FROM videos", &out->n_videos, error) &&
        query_int(store, "SELECT count(*) FROM annotators", &out->n_annotators, error) &&
        query_int(store, "SELECT count(*) FROM label_events", &out->n_events, error) &&
        query_int(store, "SELECT count(*) FROM labels_current", &out->n_labels, error) &&
        query_int(store, "SELECT count(*) FROM models", &out->n_models, error) &&
        query_int(store, "SELECT count(*) FROM predictions", &out->n_predictions, error) &&
        query_int(store, "SELECT count(*) FROM training_runs", &out->n_training_runs, error);
    _mimica_store_rollback(store);
    return ok;
}
