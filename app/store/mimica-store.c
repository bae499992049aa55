/* mimica-store.c: opening, creating and migrating a project file; videos; label events with
 * undo and redo. The schema lives in data/sql/NNN-name.sql, compiled in as a GResource. */
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
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
                    "%s: %s: cannot write the project%s: %s", path, context,
                    store && store->read_only ? " (open read-only)" : "", msg);
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
    if (store->read_only) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_READ_ONLY,
                    "%s: %s: the project is open read-only (no permission to write the file or "
                    "its folder); nothing was changed",
                    store->path, context);
        return FALSE;
    }
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
    sqlite3_finalize(store->json_valid);
    if (store->json_db)
        sqlite3_close(store->json_db);
    g_free(store->path);
    g_free(store->file);
    g_free(store);
}

const char *mimica_store_get_path(MimicaStore *store)
{
    return store->file;
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

gboolean mimica_store_apply_busy_timeout_env(MimicaStore *store, GError **error)
{
    const char *text = g_getenv("MIMICA_BUSY_TIMEOUT_MS");
    guint64 ms = 0;
    if (!text)
        return TRUE;
    if (!g_ascii_string_to_unsigned(text, 10, 0, 3600000, &ms, NULL)) {
        g_autofree char *shown = g_utf8_make_valid(text, (gssize)MIN(strlen(text), 64));
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "MIMICA_BUSY_TIMEOUT_MS='%s' is not a whole number of milliseconds in "
                    "0..3600000",
                    shown);
        return FALSE;
    }
    mimica_store_set_busy_timeout(store, (int)ms);
    return TRUE;
}

int mimica_store_get_schema_version(MimicaStore *store)
{
    gint64 v = -1;
    if (!query_int(store, "PRAGMA user_version", &v, NULL))
        return -1;
    return (int)v;
}

/* The largest string or blob a project may hold: a planted 1 GB record is refused when read
 * instead of allocated. Our biggest values are prediction blobs of a few hundred bytes and job
 * logs. */
#define STORE_MAX_LENGTH (16 * 1024 * 1024)

/* json_valid() for the schema's CHECK constraints (jobs): SQLite 3.40 does not mark its JSON
 * functions innocuous, so with trusted_schema off the schema may not call them. This one is
 * innocuous and asks the built-in one, on a private in-memory connection, outside any schema. */
static void json_valid_innocuous(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    MimicaStore *store = sqlite3_user_data(ctx);
    int rc = SQLITE_OK;
    if (!store->json_db)
        rc = sqlite3_open_v2(":memory:", &store->json_db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK && !store->json_valid)
        rc = sqlite3_prepare_v3(store->json_db, "SELECT json_valid(?1)", -1,
                                SQLITE_PREPARE_PERSISTENT, &store->json_valid, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    sqlite3_reset(store->json_valid);
    sqlite3_bind_value(store->json_valid, 1, argv[0]);
    rc = sqlite3_step(store->json_valid);
    if (rc == SQLITE_ROW)
        sqlite3_result_int(ctx, sqlite3_column_int(store->json_valid, 0));
    else
        sqlite3_result_error_code(ctx, rc);
    sqlite3_reset(store->json_valid);
    sqlite3_clear_bindings(store->json_valid);
}

/* Opens PATH (FLAGS: SQLITE_OPEN_*) as SQLite advises for a file from someone else: defensive
 * mode (no writes to the schema or shadow tables through SQL), trusted_schema off (the schema's
 * triggers and views may call only innocuous functions), bounded lengths. URI: PATH is a URI. */
static MimicaStore *store_connect_uri(const char *path, const char *uri, int flags, GError **error)
{
    MimicaStore *store = g_new0(MimicaStore, 1);
    store->file = g_strdup(path);
    store->path = g_utf8_make_valid(path, -1);
    store->read_only = (flags & SQLITE_OPEN_READONLY) != 0;
    store->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, stmt_finalize);
    int rc =
        sqlite3_open_v2(uri ? uri : path, &store->db, flags | (uri ? SQLITE_OPEN_URI : 0), NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(store->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(store->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(store->db, "json_valid", 1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                        store, json_valid_innocuous, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "opening");
        mimica_store_free(store);
        return NULL;
    }
    sqlite3_limit(store->db, SQLITE_LIMIT_LENGTH, STORE_MAX_LENGTH);
    sqlite3_limit(store->db, SQLITE_LIMIT_SQL_LENGTH, 1000000);
    sqlite3_extended_result_codes(store->db, 1);
    mimica_store_set_busy_timeout(store, MIMICA_STORE_BUSY_TIMEOUT_MS);
    return store;
}

static MimicaStore *store_connect(const char *path, int flags, GError **error)
{
    return store_connect_uri(path, NULL, flags, error);
}

/* Durable commits, WAL, foreign keys. */
static gboolean store_configure(MimicaStore *store, GError **error)
{
    if (strcmp(store->path, ":memory:") != 0 && !store->read_only) {
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
        /* 005 made labels_held; fill it from the events already there. */
        if (ok && v == 5)
            ok = _mimica_store_labels_rebuild(store, error);
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

/* The schema our migrations make at VERSION: one "type name table sql" line per object (SQL with
 * runs of white space as one space), sorted; NULL with ERROR. SQLite's own objects are left out,
 * and an index's SQL: an index runs no code, and 003-undo.sql's index changed after projects
 * were made with its first text (2af0b0c). */
static char *schema_text(MimicaStore *store, GError **error)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(store->db,
                                "SELECT type, name, tbl_name, CASE type WHEN 'index' THEN ''"
                                " ELSE coalesce(sql, '') END FROM sqlite_schema"
                                " WHERE substr(name, 1, 7) != 'sqlite_'"
                                " ORDER BY type, name",
                                -1, &st, NULL);
    GString *text = g_string_new(NULL);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        for (int c = 0; c < 4; c++) {
            const char *v = (const char *)sqlite3_column_text(st, c);
            gboolean space = FALSE;
            for (; v && *v; v++) {
                if (g_ascii_isspace(*v)) {
                    space = TRUE;
                    continue;
                }
                if (space && text->len && text->str[text->len - 1] != '\t')
                    g_string_append_c(text, ' ');
                space = FALSE;
                g_string_append_c(text, *v);
            }
            g_string_append_c(text, c < 3 ? '\t' : '\n');
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "reading the schema");
        g_string_free(text, TRUE);
        return NULL;
    }
    return g_string_free(text, FALSE);
}

/* Our schema at each version, made once per process in an in-memory database. */
static char *expected_schema[MIMICA_STORE_SCHEMA_VERSION + 1];
G_LOCK_DEFINE_STATIC(expected_schema);

/* Compares the file's schema with the one our migrations make at VERSION: a trigger, view,
 * table or index that another program added or changed is refused before anything runs it. */
static gboolean store_check_schema(MimicaStore *store, int version, GError **error)
{
    G_LOCK(expected_schema);
    if (!expected_schema[version]) {
        MimicaStore *ref = mimica_store_open_at_version(":memory:", version, error);
        if (ref)
            expected_schema[version] = schema_text(ref, error);
        mimica_store_free(ref);
    }
    const char *want = expected_schema[version];
    G_UNLOCK(expected_schema);
    if (!want)
        return FALSE;
    g_autofree char *have = schema_text(store, error);
    if (!have)
        return FALSE;
    if (strcmp(have, want) == 0)
        return TRUE;
    /* Name an object that differs: one of the file's that ours lacks, else one missing. */
    g_auto(GStrv) h = g_strsplit(have, "\n", -1), w = g_strsplit(want, "\n", -1);
    const char *line = NULL;
    gboolean added = TRUE;
    for (guint i = 0; h[i] && !line; i++)
        if (*h[i] && !g_strv_contains((const char *const *)w, h[i]))
            line = h[i];
    for (guint i = 0; w[i] && !line; i++)
        if (*w[i] && !g_strv_contains((const char *const *)h, w[i]))
            line = w[i], added = FALSE;
    g_auto(GStrv) f = g_strsplit(line ? line : "", "\t", 3);
    g_autofree char *name = g_utf8_make_valid(f[0] && f[1] ? f[1] : "?", -1);
    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                "%s: the project's schema is not Mimica's schema %d (%s '%s' %s); the file was "
                "damaged or changed by another program and is not opened",
                store->path, version, f[0] ? f[0] : "object", name,
                added ? "is added or altered" : "is missing");
    return FALSE;
}

/* A read-only URI for PATH: mode=ro, and immutable=1 where the folder cannot be written and no
 * write-ahead log is pending (SQLite then needs neither locks nor the -shm file). */
static char *read_only_uri(const char *path, gboolean dir_writable)
{
    g_autofree char *abs = g_canonicalize_filename(path, NULL);
    g_autofree char *wal = g_strconcat(path, "-wal", NULL);
    GStatBuf st;
    gboolean wal_pending = g_stat(wal, &st) == 0 && st.st_size > 0;
    GString *uri = g_string_new("file:");
    for (const char *p = abs; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#' || (guchar)*p < 0x20 || (guchar)*p >= 0x7f)
            g_string_append_printf(uri, "%%%02X", (guchar)*p);
        else
            g_string_append_c(uri, *p);
    }
    g_string_append(uri, !dir_writable && !wal_pending ? "?mode=ro&immutable=1" : "?mode=ro");
    return g_string_free(uri, FALSE);
}

static MimicaStore *store_open(const char *path, gboolean read_only, GError **error)
{
    g_return_val_if_fail(path, NULL);
    g_autofree char *shown = g_utf8_make_valid(path, -1);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: no such file (create a project with `mimica-cli project new`)", shown);
        return NULL;
    }
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_PROJECT,
                    "%s is a folder, not a Mimica project", shown);
        return NULL;
    }
    /* WAL writes -wal and -shm beside the file: the folder must be writable too. */
    g_autofree char *dir = g_path_get_dirname(path);
    gboolean dir_writable = access(dir, W_OK) == 0;
    if (access(path, W_OK) != 0 || !dir_writable)
        read_only = TRUE;
    g_autofree char *uri = read_only ? read_only_uri(path, dir_writable) : NULL;
    MimicaStore *store = store_connect_uri(
        path, uri, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, error);
    if (!store)
        return NULL;
    gint64 version = 0;
    if (!store_identify(store, &version, error) ||
        !store_check_schema(store, (int)version, error) || !store_configure(store, error))
        goto fail;
    if (read_only && version < MIMICA_STORE_SCHEMA_VERSION) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_READ_ONLY,
                    "%s is read-only and was written by an older Mimica (schema %lld, this one "
                    "reads %d); copy it where it can be written to upgrade it",
                    shown, (long long)version, MIMICA_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (!store_migrate(store, (int)version, MIMICA_STORE_SCHEMA_VERSION, error))
        goto fail;
    return store;
fail:
    mimica_store_free(store);
    return NULL;
}

MimicaStore *mimica_store_open(const char *path, GError **error)
{
    return store_open(path, FALSE, error);
}

MimicaStore *mimica_store_open_read_only(const char *path, GError **error)
{
    return store_open(path, TRUE, error);
}

gboolean mimica_store_is_read_only(MimicaStore *store)
{
    return store->read_only;
}

static void set_create_error(const char *path, int e, GError **error)
{
    g_autofree char *shown = g_utf8_make_valid(path, -1);
    g_set_error(error, MIMICA_STORE_ERROR,
                e == EEXIST                  ? MIMICA_STORE_ERROR_EXISTS
                : e == ENOSPC || e == EDQUOT ? MIMICA_STORE_ERROR_FULL
                : e == EACCES || e == EROFS  ? MIMICA_STORE_ERROR_READ_ONLY
                                             : MIMICA_STORE_ERROR_IO,
                e == EEXIST ? "%s: already exists (not overwritten)" : "%s: cannot create: %s",
                shown, g_strerror(e));
}

static gboolean fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return FALSE;
    gboolean ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* The project is built whole in PATH.new-XXXXXX and then linked into place, so that an
 * interrupted `project new` leaves no stub at PATH (at worst a .new- file beside it). link()
 * never replaces a file that appeared meanwhile. */
MimicaStore *mimica_store_create(const char *path, GError **error)
{
    g_return_val_if_fail(path, NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
        set_create_error(path, EEXIST, error);
        return NULL;
    }
    g_autofree char *tmp = g_strconcat(path, ".new-XXXXXX", NULL);
    int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0666);
    if (fd < 0) {
        set_create_error(path, errno, error);
        return NULL;
    }
    close(fd);
    g_autofree char *journal = g_strconcat(tmp, "-journal", NULL);
    MimicaStore *store = store_connect(tmp, SQLITE_OPEN_READWRITE, error);
    gboolean ok = store && exec(store, "PRAGMA synchronous = FULL", "creating", error) &&
                  store_migrate(store, 0, MIMICA_STORE_SCHEMA_VERSION, error);
    mimica_store_free(store);
    if (ok && !fsync_path(tmp)) {
        set_create_error(path, errno, error);
        ok = FALSE;
    }
    if (ok && link(tmp, path) != 0) {
        int e = errno;
        /* No hard links here (some network and FAT file systems): rename, after a last look. */
        if ((e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV) &&
            !g_file_test(path, G_FILE_TEST_EXISTS) && rename(tmp, path) == 0)
            e = 0;
        if (e) {
            set_create_error(path, e, error);
            ok = FALSE;
        }
    }
    unlink(tmp);
    unlink(journal);
    if (!ok)
        return NULL;
    g_autofree char *dir = g_path_get_dirname(path);
    fsync_path(dir);
    return mimica_store_open(path, error);
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

GArray *_mimica_store_ids(MimicaStore *store, const char *sql, const char *context, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, sql, error);
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
        _mimica_store_set_error(store, rc, error, context);
        g_array_unref(ids);
        return NULL;
    }
    return ids;
}

GArray *mimica_store_list_videos(MimicaStore *store, GError **error)
{
    return _mimica_store_ids(store, "SELECT id FROM videos ORDER BY id", "listing videos", error);
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

/* Labels that hold ---------------------------------------------------------------------------
 *
 * labels_held (data/sql/005-labels-held.sql) has a row per active set/import event that no
 * later active event of its video, AU and annotator covers wholly. It is kept here, in the
 * transaction that appends each event:
 * - set, import (the newest event): drops the held rows it covers, then holds;
 * - undo of T: if T was held, drops it and brings back the events T alone covered: the active
 *   events inside T's range that no held row nor another of them covers (a sweep, below);
 * - redo of T: holds T unless a later held row covers it, dropping the earlier rows it covers.
 * Covering is transitive (A inside B inside C, ids ascending: C covers A), which is why only held
 * rows need to be looked at. The rows meeting a range of frames are found through span_bits (the
 * bit length of a row's span): one index range per bit length, HELD_MEET_SQL.
 * _mimica_store_labels_rebuild recomputes the table from the events in O(n log n): sorted by group
 * and id, newest first, with a prefix-maximum tree over starts. */

/* SELECT_ ... FROM labels_held h JOINS of the rows of VIDEO meeting frames [F0, F1] (SQL
 * expressions), then AND_MORE: per bit length b, rows of span < 2^b that meet F0 start at F0 - (2^b
 * - 1) or later, one range of index labels_held_window. */
#define HELD_MEET_SQL(video, f0, f1, select_, and_more)                                            \
    HELD_MEET_JOIN_SQL(video, f0, f1, select_, "", and_more)
#define HELD_MEET_JOIN_SQL(video, f0, f1, select_, joins, and_more)                                \
    "WITH RECURSIVE lv(b) AS (SELECT 0 UNION ALL SELECT b + 1 FROM lv WHERE b < 63) " select_      \
    " FROM lv CROSS JOIN labels_held h" joins " WHERE h.video_id = " video                         \
    " AND h.span_bits = lv.b"                                                                      \
    " AND h.frame_start BETWEEN (CASE WHEN lv.b >= 62 THEN 0 ELSE " f0 " - ((1 << lv.b) - 1)"      \
    " END) AND " f1 " AND h.frame_end >= " f0 and_more

typedef struct {
    gint64 id, start, end;
    gint64 video, annotator;
    int au;
    gboolean covered;
    gboolean candidate; /* undo: an event that may hold again (else a held row) */
} HeldSpan;

static int compare_span_group_id_desc(gconstpointer pa, gconstpointer pb)
{
    const HeldSpan *a = pa, *b = pb;
    if (a->video != b->video)
        return a->video < b->video ? -1 : 1;
    if (a->au != b->au)
        return a->au < b->au ? -1 : 1;
    if (a->annotator != b->annotator)
        return a->annotator < b->annotator ? -1 : 1;
    return a->id > b->id ? -1 : a->id < b->id ? 1 : 0;
}

static int compare_gint64_asc(gconstpointer pa, gconstpointer pb)
{
    gint64 a = *(const gint64 *)pa, b = *(const gint64 *)pb;
    return a < b ? -1 : a > b;
}

/* Marks spans[i].covered when a span before it (a later event: SPANS is sorted newest first, one
 * group) has start <= its start and end >= its end. O(n log n): a Fenwick tree keeps the largest
 * end seen per rank of start; SCRATCH holds 2 n gint64. */
static void spans_mark_covered(HeldSpan *spans, gsize n, gint64 *scratch)
{
    gint64 *starts = scratch, *tree = scratch + n;
    for (gsize i = 0; i < n; i++)
        starts[i] = spans[i].start;
    qsort(starts, n, sizeof *starts, compare_gint64_asc);
    gsize n_starts = 0;
    for (gsize i = 0; i < n; i++)
        if (n_starts == 0 || starts[i] != starts[n_starts - 1])
            starts[n_starts++] = starts[i];
    for (gsize i = 0; i < n_starts; i++)
        tree[i] = -1;
    for (gsize i = 0; i < n; i++) {
        gint64 *at = bsearch(&spans[i].start, starts, n_starts, sizeof *starts, compare_gint64_asc);
        gsize rank = (gsize)(at - starts) + 1; /* 1-based */
        gint64 best = -1;
        for (gsize k = rank; k > 0; k -= k & -k)
            best = MAX(best, tree[k - 1]);
        spans[i].covered = best >= spans[i].end;
        for (gsize k = rank; k <= n_starts; k += k & -k)
            tree[k - 1] = MAX(tree[k - 1], spans[i].end);
    }
}

/* Runs ST (bound, one statement without rows) and resets it. */
static gboolean held_step(MimicaStore *store, sqlite3_stmt *st, GError **error)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "keeping the labels that hold");
        return FALSE;
    }
    return TRUE;
}

/* Bits of END - START: 0 for one frame, b when the span is below 2^b. */
static int span_bits(gint64 start, gint64 end)
{
    guint64 d = (guint64)(end - start);
    int b = 0;
    while (b < 63 && (d >> b) != 0)
        b++;
    return b;
}

static gboolean held_insert(MimicaStore *store, const HeldSpan *s, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "INSERT INTO labels_held (event_id, video_id, au, annotator_id, frame_start, frame_end,"
        " span_bits) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, s->id);
    sqlite3_bind_int64(st, 2, s->video);
    sqlite3_bind_int(st, 3, s->au);
    sqlite3_bind_int64(st, 4, s->annotator);
    sqlite3_bind_int64(st, 5, s->start);
    sqlite3_bind_int64(st, 6, s->end);
    sqlite3_bind_int(st, 7, span_bits(s->start, s->end));
    return held_step(store, st, error);
}

/* S holds: drop the earlier held rows of its group that it covers, then add it. */
static gboolean held_take(MimicaStore *store, const HeldSpan *s, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "DELETE FROM labels_held WHERE video_id = ?1 AND au = ?2 AND annotator_id = ?3"
        " AND frame_start BETWEEN ?4 AND ?5 AND frame_end <= ?5 AND event_id < ?6",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, s->video);
    sqlite3_bind_int(st, 2, s->au);
    sqlite3_bind_int64(st, 3, s->annotator);
    sqlite3_bind_int64(st, 4, s->start);
    sqlite3_bind_int64(st, 5, s->end);
    sqlite3_bind_int64(st, 6, s->id);
    return held_step(store, st, error) && held_insert(store, s, error);
}

/* 1 if a held row later than S covers it, 0 if none, -1 on error. */
static int held_covered(MimicaStore *store, const HeldSpan *s, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        HELD_MEET_SQL("?1", "?4", "?5", "SELECT 1",
                      " AND h.au = ?2 AND h.annotator_id = ?3 AND h.frame_start <= ?4"
                      " AND h.frame_end >= ?5 AND h.event_id > ?6 LIMIT 1"),
        error);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, s->video);
    sqlite3_bind_int(st, 2, s->au);
    sqlite3_bind_int64(st, 3, s->annotator);
    sqlite3_bind_int64(st, 4, s->start);
    sqlite3_bind_int64(st, 5, s->end);
    sqlite3_bind_int64(st, 6, s->id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "keeping the labels that hold");
        return -1;
    }
    return rc == SQLITE_ROW;
}

/* Appends to SPANS the rows of ST (id, start, end), as candidates or held rows of T's group. ST
 * takes T's video, AU, annotator, start, end, id as ?1..?6 (a statement without ?6 ignores it). */
static gboolean held_collect(MimicaStore *store, sqlite3_stmt *st, const HeldSpan *t,
                             gboolean candidate, GArray *spans, GError **error)
{
    sqlite3_bind_int64(st, 1, t->video);
    sqlite3_bind_int(st, 2, t->au);
    sqlite3_bind_int64(st, 3, t->annotator);
    sqlite3_bind_int64(st, 4, t->start);
    sqlite3_bind_int64(st, 5, t->end);
    sqlite3_bind_int64(st, 6, t->id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        HeldSpan s = *t;
        s.id = sqlite3_column_int64(st, 0);
        s.start = sqlite3_column_int64(st, 1);
        s.end = sqlite3_column_int64(st, 2);
        s.candidate = candidate;
        g_array_append_val(spans, s);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "keeping the labels that hold");
        return FALSE;
    }
    return TRUE;
}

/* T (held) was undone: drop it and let the events it alone covered hold again. */
static gboolean held_release(MimicaStore *store, const HeldSpan *t, GError **error)
{
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "DELETE FROM labels_held WHERE event_id = ?1", error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, t->id);
    if (!held_step(store, st, error))
        return FALSE;
    g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(HeldSpan));
    /* Active events inside T's range, earlier than T, not held. */
    st = _mimica_store_stmt(
        store,
        "SELECT e.id, e.frame_start, e.frame_end FROM label_events e"
        " WHERE e.video_id = ?1 AND e.au = ?2 AND e.annotator_id = ?3"
        " AND e.frame_start BETWEEN ?4 AND ?5 AND e.frame_end <= ?5 AND e.id < ?6"
        " AND e.kind IN ('set', 'import')"
        " AND NOT EXISTS (SELECT 1 FROM labels_held h WHERE h.event_id = e.id)"
        " AND (SELECT count(*) FROM label_events c WHERE c.target = e.id) % 2 = 0",
        error);
    if (!st || !held_collect(store, st, t, TRUE, spans, error))
        return FALSE;
    if (spans->len == 0)
        return TRUE;
    /* Held rows that may cover them: those meeting T's range. */
    st = _mimica_store_stmt(store,
                            HELD_MEET_SQL("?1", "?4", "?5",
                                          "SELECT h.event_id, h.frame_start, h.frame_end",
                                          " AND h.au = ?2 AND h.annotator_id = ?3"),
                            error);
    if (!st || !held_collect(store, st, t, FALSE, spans, error))
        return FALSE;
    g_array_sort(spans, compare_span_group_id_desc);
    g_autofree gint64 *scratch = g_new(gint64, 2 * (gsize)spans->len);
    spans_mark_covered((HeldSpan *)spans->data, spans->len, scratch);
    for (guint i = 0; i < spans->len; i++) {
        const HeldSpan *s = &g_array_index(spans, HeldSpan, i);
        if (s->candidate && !s->covered && !held_insert(store, s, error))
            return FALSE;
    }
    return TRUE;
}

/* Keeps labels_held after appending event EVENT_ID (any kind), inside the same transaction. */
static gboolean labels_held_apply(MimicaStore *store, gint64 event_id, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT e.kind, t.id, t.video_id, t.au, t.annotator_id, t.frame_start, t.frame_end,"
        " (SELECT 1 FROM labels_held h WHERE h.event_id = t.id)"
        " FROM label_events e JOIN label_events t ON t.id = coalesce(e.target, e.id)"
        " WHERE e.id = ?1",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, event_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED,
                        "internal: label event %lld not found after insertion",
                        (long long)event_id);
        else
            _mimica_store_set_error(store, rc, error, "keeping the labels that hold");
        return FALSE;
    }
    const char *kind = (const char *)sqlite3_column_text(st, 0);
    char k = kind ? kind[0] : 0;
    HeldSpan t = {
        .id = sqlite3_column_int64(st, 1),
        .video = sqlite3_column_int64(st, 2),
        .au = sqlite3_column_int(st, 3),
        .annotator = sqlite3_column_int64(st, 4),
        .start = sqlite3_column_int64(st, 5),
        .end = sqlite3_column_int64(st, 6),
    };
    gboolean held = sqlite3_column_type(st, 7) != SQLITE_NULL;
    sqlite3_reset(st);
    switch (k) {
    case 's': /* set */
    case 'i': /* import */
        return held_take(store, &t, error);
    case 'u': /* undo */
        return held ? held_release(store, &t, error) : TRUE;
    case 'r': { /* redo */
        int covered = held_covered(store, &t, error);
        return covered < 0 ? FALSE : covered ? TRUE : held_take(store, &t, error);
    }
    default:
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: label event %lld has an unknown kind", store->path, (long long)event_id);
        return FALSE;
    }
}

gboolean _mimica_store_label_event_added(MimicaStore *store, gint64 event_id, GError **error)
{
    return labels_held_apply(store, event_id, error);
}

gboolean _mimica_store_labels_rebuild(MimicaStore *store, GError **error)
{
    sqlite3_stmt *st = NULL;
    gboolean ok = FALSE;
    g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(HeldSpan));
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT e.id, e.video_id, e.au, e.annotator_id, e.frame_start, e.frame_end"
        " FROM label_events e WHERE e.kind IN ('set', 'import')"
        " AND (SELECT count(*) FROM label_events c WHERE c.target = e.id) % 2 = 0",
        -1, &st, NULL);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        if ((rc = sqlite3_step(st)) != SQLITE_ROW)
            break;
        HeldSpan s = {
            .id = sqlite3_column_int64(st, 0),
            .video = sqlite3_column_int64(st, 1),
            .au = sqlite3_column_int(st, 2),
            .annotator = sqlite3_column_int64(st, 3),
            .start = sqlite3_column_int64(st, 4),
            .end = sqlite3_column_int64(st, 5),
        };
        g_array_append_val(spans, s);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "finding the labels that hold");
        return FALSE;
    }
    if (!exec(store, "DELETE FROM labels_held", "finding the labels that hold", error))
        return FALSE;
    g_array_sort(spans, compare_span_group_id_desc);
    HeldSpan *s = (HeldSpan *)spans->data;
    g_autofree gint64 *scratch = g_new(gint64, 2 * (gsize)spans->len + 2);
    for (gsize i = 0, j; i < spans->len; i = j) {
        for (j = i + 1; j < spans->len && s[j].video == s[i].video && s[j].au == s[i].au &&
                        s[j].annotator == s[i].annotator;
             j++)
            ;
        spans_mark_covered(s + i, j - i, scratch);
    }
    ok = TRUE;
    for (gsize i = 0; ok && i < spans->len; i++)
        if (!s[i].covered)
            ok = held_insert(store, &s[i], error);
    return ok;
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
        HELD_MEET_SQL("?1", "?4", "?5", "SELECT h.event_id",
                      " AND h.au = ?2 AND h.annotator_id = ?3 ORDER BY h.event_id DESC LIMIT 1"),
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
    if (!labels_held_apply(store, id, error) ||
        !_mimica_store_commit(store, "adding a label", error))
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
    gint64 id = sqlite3_last_insert_rowid(store->db);
    return labels_held_apply(store, id, error) ? id : 0;
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
        HELD_MEET_SQL("?1", "?3", "?3",
                      "SELECT (SELECT value FROM label_events WHERE id = h.event_id)",
                      " AND h.au = ?2 AND (?4 IS NULL OR h.annotator_id ="
                      " (SELECT id FROM annotators WHERE name = ?4))"
                      " ORDER BY h.event_id DESC LIMIT 1"),
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

/* Steps ST (columns: id, video, start, end, AU, value, annotator, time) calling FUNC per row,
 * then finalizes it. */
static gboolean foreach_label_rows(MimicaStore *store, sqlite3_stmt *st, MimicaLabelFunc func,
                                   gpointer user_data, GError **error)
{
    gboolean ok = TRUE;
    int rc;
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
        if (!mimica_label_value_parse((const char *)sqlite3_column_text(st, 5), &l.value) ||
            !l.annotator) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: event %lld has no valid value or annotator", store->path,
                        (long long)l.event);
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

gboolean mimica_store_foreach_label(MimicaStore *store, gint64 video_id, const char *annotator,
                                    MimicaLabelFunc func, gpointer user_data, GError **error)
{
    /* Not cached: FUNC may call back into the store. A scan of labels_held in event order: the
     * rows stream out as they are read. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT e.id, e.video_id, e.frame_start, e.frame_end, e.au, e.value, a.name, e.time"
        " FROM labels_held h JOIN label_events e ON e.id = h.event_id"
        " JOIN annotators a ON a.id = h.annotator_id"
        " WHERE (?1 = 0 OR h.video_id = ?1) AND (?2 IS NULL OR a.name = ?2) ORDER BY h.event_id",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "reading labels");
        return FALSE;
    }
    sqlite3_bind_int64(st, 1, video_id);
    if (annotator)
        sqlite3_bind_text(st, 2, annotator, -1, SQLITE_STATIC);
    return foreach_label_rows(store, st, func, user_data, error);
}

gboolean mimica_store_foreach_label_in(MimicaStore *store, gint64 video_id, gint64 frame_start,
                                       gint64 frame_end, const char *annotator,
                                       MimicaLabelFunc func, gpointer user_data, GError **error)
{
    g_return_val_if_fail(store && func, FALSE);
    if (frame_start < 0 || frame_end < frame_start) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "bad frame range %lld-%lld (want 0 <= start <= end)", (long long)frame_start,
                    (long long)frame_end);
        return FALSE;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        HELD_MEET_JOIN_SQL("?1", "?3", "?4",
                           "SELECT e.id, e.video_id, e.frame_start, e.frame_end, e.au, e.value,"
                           " a.name, e.time",
                           " CROSS JOIN label_events e CROSS JOIN annotators a",
                           " AND e.id = h.event_id AND a.id = h.annotator_id"
                           " AND (?2 IS NULL OR a.name = ?2) ORDER BY h.event_id"),
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "reading labels");
        return FALSE;
    }
    sqlite3_bind_int64(st, 1, video_id);
    if (annotator)
        sqlite3_bind_text(st, 2, annotator, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, frame_start);
    sqlite3_bind_int64(st, 4, frame_end);
    return foreach_label_rows(store, st, func, user_data, error);
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
        query_int(store, "SELECT count(*) FROM labels_held", &out->n_labels, error) &&
        query_int(store, "SELECT count(*) FROM models", &out->n_models, error) &&
        query_int(store, "SELECT count(*) FROM predictions", &out->n_predictions, error) &&
        query_int(store, "SELECT count(*) FROM training_runs", &out->n_training_runs, error);
    _mimica_store_rollback(store);
    return ok;
}
