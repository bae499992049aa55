/* test-fault-store.c: I/O failures under the project store. A test VFS ("mimica-fault",
 * registered as SQLite's default, so mimica_store_open uses it without knowing) wraps the
 * default one and, once armed, fails the Nth write and every write after it, as a full disk
 * does:
 *   enospc  xWrite returns SQLITE_FULL (what SQLite's unix VFS returns on ENOSPC)
 *   eio     xWrite returns SQLITE_IOERR_WRITE
 *   short   xWrite writes the first half of the buffer, then returns SQLITE_FULL
 * (xSync and xTruncate fail alike once armed; until then xSync does nothing, for speed). For each
 * mode and each N from 1 to the number of writes of the whole run, labels are added until one
 * fails; the failure must be a GError of MIMICA_STORE_ERROR (FULL, or IO for eio) whose message is
 * valid UTF-8 and names the project; then, the disk healthy again, the project opens, passes
 * integrity_check, and holds every label acknowledged before the failure. Leaks are for the ASan
 * build (make check) to see.
 *
 *   /fault/store/enospc, /fault/store/eio, /fault/store/short
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

#include "store/mimica-store.h"

typedef enum { MODE_ENOSPC, MODE_EIO, MODE_SHORT } Mode;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static gint64 countdown = -1; /* writes before the first failure; -1: disarmed */
static gint64 n_writes;       /* writes seen while armed */
static gint64 n_failed;
static Mode mode;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* follows this struct */
} FaultFile;

static gboolean fail_now(void)
{
    if (countdown < 0)
        return FALSE;
    n_writes++;
    if (countdown > 0) {
        countdown--;
        return countdown == 0 ? (n_failed++, TRUE) : FALSE;
    }
    n_failed++;
    return TRUE;
}

static int f_close(sqlite3_file *f)
{
    FaultFile *p = (FaultFile *)f;
    int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    return rc;
}
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xRead(p->real, b, n, o);
}
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
    FaultFile *p = (FaultFile *)f;
    if (fail_now()) {
        if (mode == MODE_SHORT && n > 1)
            p->real->pMethods->xWrite(p->real, b, n / 2, o);
        return mode == MODE_EIO ? SQLITE_IOERR_WRITE : SQLITE_FULL;
    }
    return p->real->pMethods->xWrite(p->real, b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    FaultFile *p = (FaultFile *)f;
    if (countdown == 0)
        return mode == MODE_EIO ? SQLITE_IOERR_TRUNCATE : SQLITE_FULL;
    return p->real->pMethods->xTruncate(p->real, size);
}
static int f_sync(sqlite3_file *f, int flags)
{
    FaultFile *p = (FaultFile *)f;
    if (countdown == 0)
        return SQLITE_IOERR_FSYNC;
    (void)p; /* no fsync: nothing here outlives a power cut, and it makes the test slow */
    (void)flags;
    return SQLITE_OK;
}
static int f_size(sqlite3_file *f, sqlite3_int64 *s)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xFileSize(p->real, s);
}
static int f_lock(sqlite3_file *f, int l)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xLock(p->real, l);
}
static int f_unlock(sqlite3_file *f, int l)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xUnlock(p->real, l);
}
static int f_check(sqlite3_file *f, int *out)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}
static int f_fcntl(sqlite3_file *f, int op, void *arg)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}
static int f_sector(sqlite3_file *f)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xSectorSize(p->real);
}
static int f_dev(sqlite3_file *f)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}
static int f_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xShmMap(p->real, pg, sz, ext, pp);
}
static int f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xShmLock(p->real, off, n, flags);
}
static void f_shm_barrier(sqlite3_file *f)
{
    FaultFile *p = (FaultFile *)f;
    p->real->pMethods->xShmBarrier(p->real);
}
static int f_shm_unmap(sqlite3_file *f, int del)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xShmUnmap(p->real, del);
}
static int f_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **pp)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xFetch(p->real, o, n, pp);
}
static int f_unfetch(sqlite3_file *f, sqlite3_int64 o, void *pp)
{
    FaultFile *p = (FaultFile *)f;
    return p->real->pMethods->xUnfetch(p->real, o, pp);
}

static const sqlite3_io_methods fault_io = {
    3,          f_close,       f_read,      f_write, f_truncate, f_sync, f_size,
    f_lock,     f_unlock,      f_check,     f_fcntl, f_sector,   f_dev,  f_shm_map,
    f_shm_lock, f_shm_barrier, f_shm_unmap, f_fetch, f_unfetch,
};

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    FaultFile *p = (FaultFile *)f;
    p->real = (sqlite3_file *)(p + 1);
    int rc = real_vfs->xOpen(real_vfs, name, p->real, flags, out_flags);
    /* xClose is called even when xOpen fails, if pMethods is set */
    p->base.pMethods = p->real->pMethods ? &fault_io : NULL;
    return rc;
}

static void register_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    fault_vfs = *real_vfs;
    fault_vfs.zName = "mimica-fault";
    fault_vfs.szOsFile = (int)sizeof(FaultFile) + real_vfs->szOsFile;
    fault_vfs.xOpen = v_open;
    fault_vfs.pNext = NULL;
    g_assert_cmpint(sqlite3_vfs_register(&fault_vfs, 1), ==, SQLITE_OK);
}

static void remove_project(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        g_autofree char *p = g_strconcat(path, suffixes[i], NULL);
        g_unlink(p);
    }
}

#define N_LABELS 20

/* One run: N_LABELS labels with the fault armed at `at` (0: never). Returns the writes seen;
 * checks the failure and the project afterwards. */
static gint64 run_once(const char *template, const char *path, gint64 at, int *n_acked_out,
                       char **first_msg)
{
    GError *error = NULL;
    remove_project(path);
    countdown = -1;
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(template, &data, &len, &error));
    g_assert_true(g_file_set_contents(path, data, len, &error));
    g_assert_no_error(error);

    MimicaStore *store = mimica_store_open(path, &error);
    g_assert_no_error(error);
    n_writes = 0;
    countdown = at > 0 ? at : -1;
    if (at == 0)
        countdown = G_MAXINT64; /* count, never fail */
    gint64 acked[N_LABELS];
    int n_acked = 0;
    for (int i = 0; i < N_LABELS; i++) {
        gint64 id = mimica_store_label_set(store, 1, i * 10, i * 10 + 5, 12, MIMICA_LABEL_PRESENT,
                                           "fault", &error);
        if (!id) {
            g_assert_nonnull(error);
            g_assert_true(error->domain == MIMICA_STORE_ERROR);
            g_assert_cmpint(error->code, ==,
                            mode == MODE_EIO ? MIMICA_STORE_ERROR_IO : MIMICA_STORE_ERROR_FULL);
            g_assert_true(g_utf8_validate(error->message, -1, NULL));
            g_assert_nonnull(strstr(error->message, path));
            if (first_msg && !*first_msg)
                *first_msg = g_strdup(error->message);
            g_clear_error(&error);
            break;
        }
        acked[n_acked++] = id;
    }
    gint64 seen = n_writes;
    mimica_store_free(store); /* still failing: the close must cope */
    countdown = -1;

    store = mimica_store_open(path, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store),
                                       "SELECT count(*) FROM label_events WHERE id = ?1", -1, &q,
                                       NULL),
                    ==, SQLITE_OK);
    for (int i = 0; i < n_acked; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, acked[i]);
        g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
        if (sqlite3_column_int(q, 0) != 1)
            g_error("fault at write %" G_GINT64_FORMAT ": acknowledged label %" G_GINT64_FORMAT
                    " lost",
                    at, acked[i]);
    }
    sqlite3_finalize(q);
    mimica_store_free(store);
    *n_acked_out = n_acked;
    return seen;
}

static void test_mode(gconstpointer data)
{
    mode = GPOINTER_TO_INT(data);
    g_autofree char *dir = g_dir_make_tmp("mimica-fault-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "p.mimica", NULL);
    g_autofree char *template = g_build_filename(dir, "template.mimica", NULL);
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(template, &error);
    g_assert_no_error(error);
    MimicaVideoFacts facts = {(char *)"/videos/clip.mp4", (char *)"hash", 0, 25, 1, 0, 640, 480, 0};
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 1);
    mimica_store_free(store);
    int n_acked = 0;
    gint64 total = run_once(template, path, 0, &n_acked, NULL);
    g_assert_cmpint(n_acked, ==, N_LABELS);
    g_autofree char *msg = NULL;
    int min_acked = N_LABELS, max_acked = 0;
    gint64 failed_writes = 0;
    for (gint64 at = 1; at <= total; at++) {
        n_failed = 0;
        run_once(template, path, at, &n_acked, &msg);
        failed_writes += n_failed;
        min_acked = MIN(min_acked, n_acked);
        max_acked = MAX(max_acked, n_acked);
    }
    g_test_message(
        "%s: %d labels make %" G_GINT64_FORMAT " writes; failed at each of them: labels "
        "acknowledged before the failure %d..%d, all kept; integrity_check ok; %" G_GINT64_FORMAT
        " writes refused in all; first message: %s",
        mode == MODE_ENOSPC ? "ENOSPC"
        : mode == MODE_EIO  ? "EIO"
                            : "short write",
        N_LABELS, total, min_acked, max_acked, failed_writes, msg ? msg : "(none)");
    g_assert_nonnull(msg);
    remove_project(path);
    remove_project(template);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    register_vfs();
    g_test_add_data_func("/fault/store/enospc", GINT_TO_POINTER(MODE_ENOSPC), test_mode);
    g_test_add_data_func("/fault/store/eio", GINT_TO_POINTER(MODE_EIO), test_mode);
    g_test_add_data_func("/fault/store/short", GINT_TO_POINTER(MODE_SHORT), test_mode);
    return g_test_run();
}
