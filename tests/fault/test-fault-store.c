/* test-fault-store.c: I/O failures under the project store. A test VFS ("mimica-fault",
 * registered as SQLite's default, so mimica_store_open uses it without knowing) wraps the
 * default one and, once armed, fails the Nth write and every write after it, as a full disk
 * does:
 *   enospc  xWrite returns SQLITE_FULL (what SQLite's unix VFS returns on ENOSPC)
 *   eio     xWrite returns SQLITE_IOERR_WRITE
 *   short   xWrite writes the first half of the buffer, then returns SQLITE_FULL
 * (xSync and xTruncate fail alike once armed; until then xSync does nothing, for speed). Each
 * scenario is a series of store calls; for each mode and each N from 1 to the number of writes
 * of a whole run (or SAMPLE_POINTS of them spread evenly, without --full) the calls run until one
 * fails, and the failure must be a GError of MIMICA_STORE_ERROR (FULL, or IO for eio) whose
 * message is valid UTF-8 and names the project (a non-ASCII name); the store is closed while the
 * disk still fails. Then, with SQLite's own VFS the default again, the project opens, passes
 * integrity_check and foreign_key_check, and holds exactly what was acknowledged:
 *   labels           20 label sets: every acknowledged label, nothing more
 *   import-labels    two labels CSV imports of 600 rows on a project holding an earlier one
 *                    (mimica_store_import_labels_csv): each file all there (every row in
 *                    labels_held) if acknowledged, else none of it; the earlier one whole
 *   import-openface  the same with OpenFace CSVs of 300 rows (mimica_store_import_openface_csv):
 *                    its model row and every prediction, or neither
 *   analysis         what app/analysis writes, in its order: the model row, the job, the
 *                    analysis row, 6 batches of 50 predictions (2 faces) each followed by a job
 *                    progress update, AU values rewritten by the calibration pass, the
 *                    calibration, the analysis and job finished: next_frame, every prediction
 *                    below it with its values (rewritten or not), the job's progress and state,
 *                    the calibration, as acknowledged
 *   migration        a schema-1 project of 400 label events opened (so migrated to the current
 *                    schema in one transaction): afterwards the file is at schema 1 or the
 *                    current one (read with SQLite alone), never between, and opens with every
 *                    event, video and model, labels_held as a whole migration makes it
 * Leaks are for the ASan build (make check) to see.
 *
 *   /fault/store/{enospc,eio,short}                    the labels scenario
 *   /fault/store/{import-labels,import-openface,analysis,migration}/{enospc,eio,short}
 *   --full  every write of every scenario (suite slow: app-fault-store-full)
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <locale.h>
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

/* The default VFS: the faulty one (TRUE) or SQLite's own, for the checks after a run. */
static void use_fault_vfs(gboolean fault)
{
    g_assert_cmpint(sqlite3_vfs_register(fault ? &fault_vfs : real_vfs, 1), ==, SQLITE_OK);
}

static void remove_project(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        g_autofree char *p = g_strconcat(path, suffixes[i], NULL);
        g_unlink(p);
    }
}

static void copy_file(const char *from, const char *to)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GError *error = NULL;
    g_assert_true(g_file_get_contents(from, &data, &len, &error));
    g_assert_true(g_file_set_contents(to, data, len, &error));
    g_assert_no_error(error);
}

/* Arms the fault at write AT (0: count the writes, never fail). */
static void arm(gint64 at)
{
    n_writes = 0;
    countdown = at > 0 ? at : G_MAXINT64;
}

static gint64 sql_int(MimicaStore *store, const char *sql)
{
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store), sql, -1, &q, NULL), ==,
                    SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    gint64 v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void sql_exec(MimicaStore *store, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(mimica_store_get_db(store), sql, NULL, NULL, &msg) != SQLITE_OK)
        g_error("%s: %s", sql, msg);
}

/* One run of a scenario: what the calls under the fault acknowledged. */
typedef struct {
    const char *dir, *path; /* the project (its name is not ASCII) */
    gint64 at;              /* the failing write, 0 for none */
    gboolean failed;        /* a call failed (and the run stopped there) */
    int n_acked;            /* calls acknowledged before the failure */
    char *msg;              /* the first failure's message */
    /* labels */
    gint64 label_ids[64];
    /* analysis */
    gint64 model, job, job_done, next_frame;
    gboolean begun, updated, calibrated, finished, job_finished;
    /* migration: the schema found after the failure */
    int version_after;
} Run;

/* Checks a call's failure: MIMICA_STORE_ERROR FULL (IO for EIO), valid UTF-8, naming the project.
 * Returns FALSE (the run stops) when there was one. */
static gboolean acked(Run *r, gboolean ok, GError **error, const char *call)
{
    if (ok) {
        g_assert_no_error(*error);
        r->n_acked++;
        return TRUE;
    }
    GError *e = *error;
    if (!e)
        g_error("fault at write %" G_GINT64_FORMAT ": %s failed with no error", r->at, call);
    if (e->domain != MIMICA_STORE_ERROR ||
        e->code != (mode == MODE_EIO ? MIMICA_STORE_ERROR_IO : MIMICA_STORE_ERROR_FULL))
        g_error("fault at write %" G_GINT64_FORMAT ": %s: want %s, got %s %d: %s", r->at, call,
                mode == MODE_EIO ? "IO" : "FULL", g_quark_to_string(e->domain), e->code,
                e->message);
    g_assert_true(g_utf8_validate(e->message, -1, NULL));
    if (!strstr(e->message, r->path))
        g_error("fault at write %" G_GINT64_FORMAT ": %s: the message does not name %s: %s", r->at,
                call, r->path, e->message);
    if (!r->msg)
        r->msg = g_strdup(e->message);
    r->failed = TRUE;
    g_clear_error(error);
    return FALSE;
}

typedef struct {
    const char *name;
    int max_acked; /* calls in a whole run */
    /* makes the template project (disarmed) */
    void (*make)(const char *dir, const char *template);
    /* the calls under the fault: arms it with arm(r->at) and stops at the first failure */
    void (*run)(Run *r);
    /* the checks, the fault disarmed and SQLite's own VFS the default */
    void (*verify)(Run *r);
} Scenario;

static MimicaStore *open_ok(const char *path)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(path, &error);
    g_assert_no_error(error);
    g_assert_true(mimica_store_check(store, &error));
    g_assert_no_error(error);
    return store;
}

static void add_video(MimicaStore *store, gint64 n_frames)
{
    GError *error = NULL;
    MimicaVideoFacts facts = {
        (char *)"/videos/clip.mp4", (char *)"hash", n_frames * 40000, 25, 1, n_frames, 640, 480, 0};
    g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, 1);
}

/* Labels: 20 label sets ---------------------------------------------------------------------- */

#define N_LABELS 20

static void labels_make(const char *dir, const char *template)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(template, &error);
    g_assert_no_error(error);
    add_video(store, 0);
}

static void labels_run(Run *r)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(r->path, &error);
    g_assert_no_error(error);
    arm(r->at);
    for (int i = 0; i < N_LABELS; i++) {
        gint64 id = mimica_store_label_set(store, 1, i * 10, i * 10 + 5, 12, MIMICA_LABEL_PRESENT,
                                           "fault", &error);
        if (!acked(r, id != 0, &error, "label set"))
            break;
        r->label_ids[i] = id;
    }
    mimica_store_free(store); /* still failing: the close must cope */
}

static void labels_verify(Run *r)
{
    g_autoptr(MimicaStore) store = open_ok(r->path);
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store),
                                       "SELECT count(*) FROM label_events WHERE id = ?1", -1, &q,
                                       NULL),
                    ==, SQLITE_OK);
    for (int i = 0; i < r->n_acked; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, r->label_ids[i]);
        g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
        if (sqlite3_column_int(q, 0) != 1)
            g_error("fault at write %" G_GINT64_FORMAT ": acknowledged label %" G_GINT64_FORMAT
                    " lost",
                    r->at, r->label_ids[i]);
    }
    sqlite3_finalize(q);
    /* the failed one is not there either */
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events"), ==, r->n_acked);
}

/* Imports: two files in a row, on a project holding an earlier import -------------------------- */

#define IMPORT_LABEL_ROWS    600
#define IMPORT_OPENFACE_ROWS 300
#define EARLIER_ROWS         100

static char *labels_csv(const char *dir, const char *annotator, int rows, int offset)
{
    g_autofree char *name = g_strdup_printf("%s.csv", annotator);
    char *path = g_build_filename(dir, name, NULL);
    GString *s = g_string_new("video,frame_start,frame_end,au,value,annotator,time,event\n");
    for (int i = 0; i < rows; i++)
        g_string_append_printf(s, "1,%d,%d,%d,%s,%s,2026-12-07T10:00:%02d.%03dZ,\n", offset + 2 * i,
                               offset + 2 * i + 1, 1 + i % 45, i % 3 ? "present" : "B", annotator,
                               i % 60, i % 1000);
    GError *error = NULL;
    g_assert_true(g_file_set_contents(path, s->str, (gssize)s->len, &error));
    g_string_free(s, TRUE);
    return path;
}

static char *openface_csv(const char *dir, const char *name, int rows)
{
    g_autofree char *file = g_strdup_printf("%s.csv", name);
    char *path = g_build_filename(dir, file, NULL);
    GString *s = g_string_new("frame, face_id, timestamp, confidence, success");
    for (int i = 0; i < 68; i++)
        g_string_append_printf(s, ", x_%d", i);
    for (int i = 0; i < 68; i++)
        g_string_append_printf(s, ", y_%d", i);
    g_string_append(s, ", AU01_r, AU12_r, AU01_c, AU12_c\n");
    for (int i = 0; i < rows; i++) {
        g_string_append_printf(s, "%d, %d, %.3f, 0.9, 1", i / 2 + 1, i % 2, (i / 2) / 25.0);
        for (int k = 0; k < 136; k++)
            g_string_append_printf(s, ", %.3f", 100 + k + i * 0.25);
        g_string_append_printf(s, ", %.2f, %.2f, %d, %d\n", (i % 50) / 10.0, (i % 30) / 10.0, i % 2,
                               (i / 2) % 2);
    }
    GError *error = NULL;
    g_assert_true(g_file_set_contents(path, s->str, (gssize)s->len, &error));
    g_string_free(s, TRUE);
    return path;
}

static void import_make(const char *dir, const char *template, gboolean openface)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(template, &error);
    g_assert_no_error(error);
    add_video(store, 100000);
    /* the earlier import, acknowledged before the fault */
    g_autofree char *earlier = openface ? openface_csv(dir, "earlier", EARLIER_ROWS)
                                        : labels_csv(dir, "earlier", EARLIER_ROWS, 0);
    if (openface) {
        g_assert_cmpint(mimica_store_import_openface_csv(store, 1, earlier, NULL, &error), >, 0);
    } else {
        g_assert_cmpint(mimica_store_import_labels_csv(store, earlier, &error), ==, EARLIER_ROWS);
    }
    g_assert_no_error(error);
}

static void import_labels_make(const char *dir, const char *template)
{
    import_make(dir, template, FALSE);
    g_free(labels_csv(dir, "first", IMPORT_LABEL_ROWS, 10000));
    g_free(labels_csv(dir, "second", IMPORT_LABEL_ROWS, 20000));
}

static void import_openface_make(const char *dir, const char *template)
{
    import_make(dir, template, TRUE);
    g_free(openface_csv(dir, "first", IMPORT_OPENFACE_ROWS));
    g_free(openface_csv(dir, "second", IMPORT_OPENFACE_ROWS));
}

static void import_run(Run *r, gboolean openface)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(r->path, &error);
    g_assert_no_error(error);
    arm(r->at);
    static const char *const names[] = {"first.csv", "second.csv"};
    for (int i = 0; i < 2; i++) {
        g_autofree char *csv = g_build_filename(r->dir, names[i], NULL);
        gboolean ok;
        if (openface) {
            MimicaOpenFaceImport sum = {0};
            ok = mimica_store_import_openface_csv(store, 1, csv, &sum, &error) > 0;
            g_assert_true(!ok || sum.n_rows == IMPORT_OPENFACE_ROWS);
        } else {
            ok = mimica_store_import_labels_csv(store, csv, &error) == IMPORT_LABEL_ROWS;
        }
        if (!acked(r, ok, &error, openface ? "OpenFace import" : "labels import"))
            break;
    }
    mimica_store_free(store);
}

static void import_labels_run(Run *r)
{
    import_run(r, FALSE);
}

static void import_openface_run(Run *r)
{
    import_run(r, TRUE);
}

/* Rows of the file an import's annotator (labels) or CSV (OpenFace) names, and of labels_held. */
static gint64 import_rows(MimicaStore *store, const char *key, gboolean openface, gint64 *held)
{
    sqlite3_stmt *q = NULL;
    const char *sql =
        openface ? "SELECT count(p.frame), count(DISTINCT m.id), sum(p.frame) FROM models m"
                   " JOIN predictions p ON p.model_id = m.id WHERE m.file = ?1"
                 : "SELECT count(*), (SELECT count(*) FROM labels_held h JOIN annotators a ON"
                   " a.id = h.annotator_id WHERE a.name = ?1), sum(e.frame_start) FROM"
                   " label_events e JOIN annotators a ON a.id = e.annotator_id WHERE a.name = ?1";
    g_assert_cmpint(sqlite3_prepare_v2(mimica_store_get_db(store), sql, -1, &q, NULL), ==,
                    SQLITE_OK);
    sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    gint64 n = sqlite3_column_int64(q, 0);
    *held = sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
    return n;
}

static void import_verify(Run *r, gboolean openface)
{
    g_autoptr(MimicaStore) store = open_ok(r->path);
    static const char *const names[] = {"earlier", "first", "second"};
    const gint64 want_rows[] = {EARLIER_ROWS, openface ? IMPORT_OPENFACE_ROWS : IMPORT_LABEL_ROWS,
                                openface ? IMPORT_OPENFACE_ROWS : IMPORT_LABEL_ROWS};
    for (int i = 0; i < 3; i++) {
        g_autofree char *file = g_strdup_printf("%s.csv", names[i]);
        g_autofree char *csv = g_build_filename(r->dir, file, NULL);
        gint64 held = 0;
        gint64 n = import_rows(store, openface ? csv : names[i], openface, &held);
        /* the earlier import and the acknowledged ones whole; the failed one and the one never
         * started absent */
        gint64 want = i == 0 || i <= r->n_acked ? want_rows[i] : 0;
        if (n != want)
            g_error("fault at write %" G_GINT64_FORMAT ": import of %s: %" G_GINT64_FORMAT
                    " rows, want %" G_GINT64_FORMAT " (%s)",
                    r->at, file, n, want,
                    i == 0            ? "acknowledged before"
                    : i <= r->n_acked ? "acknowledged"
                                      : "failed or not run");
        /* labels: every row held (none covers another); OpenFace: one model row */
        g_assert_cmpint(held, ==, openface ? (n ? 1 : 0) : n);
    }
    if (openface)
        g_assert_cmpint(sql_int(store, "SELECT count(*) FROM models"), ==, 1 + r->n_acked);
}

static void import_labels_verify(Run *r)
{
    import_verify(r, FALSE);
}

static void import_openface_verify(Run *r)
{
    import_verify(r, TRUE);
}

/* Analysis results: what app/analysis writes, in its order ---------------------------------- */

#define AN_BATCHES 6
#define AN_FRAMES  25 /* a batch: frames of 2 faces */
#define AN_N_AUS   3

static float an_value(gint64 frame, int track, int a, gboolean updated)
{
    float v = (float)((frame * 7 + track * 13 + a * 29) % 100) / 100.0f;
    return updated ? 1.0f - v : v;
}

static void an_row(MimicaPrediction *p, gint64 frame, int track, gboolean updated)
{
    memset(p, 0, sizeof *p);
    p->frame = frame;
    p->timestamp = frame / 25.0;
    p->confidence = 0.9f;
    p->success = TRUE;
    p->has_box = TRUE;
    p->box[0] = 10 + track * 200;
    p->box[1] = p->box[2] = p->box[3] = 100;
    p->has_landmarks = TRUE;
    for (int k = 0; k < 2 * MIMICA_N_LANDMARKS; k++)
        p->landmarks[k] = (float)(frame + k * 0.5 + track * 200);
    p->n_aus = AN_N_AUS;
    p->has_intensity = TRUE;
    for (int a = 0; a < AN_N_AUS; a++) {
        p->au_prob[a] = an_value(frame, track, a, updated);
        p->au_intensity[a] = 5 * an_value(frame, track, a, updated);
    }
}

static void analysis_make(const char *dir, const char *template)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_create(template, &error);
    g_assert_no_error(error);
    add_video(store, AN_BATCHES * AN_FRAMES);
}

static void analysis_run(Run *r)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(r->path, &error);
    g_assert_no_error(error);
    arm(r->at);
    static const int aus[AN_N_AUS] = {1, 2, 12};
    const gint64 total = AN_BATCHES * AN_FRAMES;
    MimicaAnalysisRow row = {0};
    MimicaPrediction *rows = g_new(MimicaPrediction, 2 * AN_FRAMES);
    int tracks[2 * AN_FRAMES];
    if (!acked(r,
               (r->model = mimica_store_add_model(store, "fault.safetensors", "fault", 0, aus,
                                                  AN_N_AUS, "{\"f1\": 0.5}", &error)) != 0,
               &error, "add model"))
        goto out;
    if (!acked(r, (r->job = mimica_store_job_new(store, "analyse", "{\"video\": 1}", &error)) != 0,
               &error, "job new") ||
        !acked(r, mimica_store_analysis_begin(store, 1, r->model, "{}", FALSE, &row, &error),
               &error, "analysis begin"))
        goto out;
    r->begun = TRUE;
    for (int b = 0; b < AN_BATCHES; b++) {
        for (int i = 0; i < AN_FRAMES; i++)
            for (int t = 0; t < 2; t++) {
                an_row(&rows[2 * i + t], b * AN_FRAMES + i, t, FALSE);
                tracks[2 * i + t] = t;
            }
        gint64 next = (b + 1) * AN_FRAMES;
        if (!acked(r,
                   mimica_store_analysis_put(store, &row, rows, tracks, 2 * AN_FRAMES, next, total,
                                             &error),
                   &error, "analysis put"))
            goto out;
        r->next_frame = next;
        if (!acked(r,
                   mimica_store_job_update(store, r->job, "running", next, total,
                                           "{\"stage\": \"tracking\"}", NULL, &error),
                   &error, "job update"))
            goto out;
        r->job_done = next;
    }
    /* the calibration pass: face 0's first batch rewritten, its baseline stored */
    for (int i = 0; i < AN_FRAMES; i++)
        an_row(&rows[i], i, 0, TRUE);
    if (!acked(r, mimica_store_update_aus(store, 1, 0, r->model, rows, AN_FRAMES, &error), &error,
               "update AUs"))
        goto out;
    r->updated = TRUE;
    MimicaCalibration cal = {FALSE, -1, -1, total, AN_N_AUS, {0.1f, 0.2f, 0.3f}};
    if (!acked(r, mimica_store_put_calibration(store, 1, 0, r->model, &cal, &error), &error,
               "put calibration"))
        goto out;
    r->calibrated = TRUE;
    if (!acked(r, mimica_store_analysis_finish(store, row.id, &error), &error, "analysis finish"))
        goto out;
    r->finished = TRUE;
    if (!acked(r,
               mimica_store_job_update(store, r->job, "done", total, total, "{\"stage\": \"done\"}",
                                       "done", &error),
               &error, "job done"))
        goto out;
    r->job_finished = TRUE;
out:
    g_free(rows);
    mimica_analysis_row_clear(&row);
    mimica_store_free(store);
}

typedef struct {
    Run *r;
    gint64 n;
} AnCheck;

static gboolean an_check_row(int track, const MimicaPrediction *p, gpointer user_data)
{
    AnCheck *c = user_data;
    MimicaPrediction want;
    an_row(&want, p->frame, track, c->r->updated && track == 0 && p->frame < AN_FRAMES);
    gboolean same = p->frame < c->r->next_frame && p->success && p->has_landmarks &&
                    p->has_intensity && p->n_aus == AN_N_AUS &&
                    memcmp(p->landmarks, want.landmarks, sizeof want.landmarks) == 0;
    for (int a = 0; a < AN_N_AUS; a++)
        same &= p->au_prob[a] == want.au_prob[a] && p->au_intensity[a] == want.au_intensity[a];
    if (!same)
        g_error("fault at write %" G_GINT64_FORMAT ": prediction of frame %" G_GINT64_FORMAT
                " face %d is not what was acknowledged (next_frame %" G_GINT64_FORMAT
                ", AUs %supdated)",
                c->r->at, p->frame, track, c->r->next_frame, c->r->updated ? "" : "not ");
    c->n++;
    return TRUE;
}

static void analysis_verify(Run *r)
{
    g_autoptr(MimicaStore) store = open_ok(r->path);
    GError *error = NULL;
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM models"), ==, r->model ? 1 : 0);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM jobs"), ==, r->job ? 1 : 0);
    if (r->job) {
        MimicaJobRow job;
        g_assert_true(mimica_store_job_get(store, r->job, &job, &error));
        g_assert_cmpint(job.done, ==, r->job_done);
        g_assert_cmpstr(job.status, ==,
                        r->job_finished ? "done"
                        : r->job_done   ? "running"
                                        : "queued");
        mimica_job_row_clear(&job);
    }
    MimicaAnalysisRow row = {0};
    gboolean have = r->model && mimica_store_analysis_get(store, 1, r->model, &row, &error);
    g_clear_error(&error);
    g_assert_cmpint(have, ==, r->begun);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM analyses"), ==, r->begun ? 1 : 0);
    if (have) {
        if (row.next_frame != r->next_frame || row.done != r->finished)
            g_error("fault at write %" G_GINT64_FORMAT ": analysis at frame %" G_GINT64_FORMAT
                    " (%s), acknowledged %" G_GINT64_FORMAT " (%s)",
                    r->at, row.next_frame, row.done ? "done" : "running", r->next_frame,
                    r->finished ? "done" : "running");
        mimica_analysis_row_clear(&row);
    }
    AnCheck c = {r, 0};
    if (r->model)
        g_assert_true(mimica_store_foreach_prediction(store, 1, r->model, -1, 0, -1, an_check_row,
                                                      &c, &error));
    g_assert_no_error(error);
    g_assert_cmpint(c.n, ==, 2 * r->next_frame);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM predictions"), ==, 2 * r->next_frame);
    MimicaCalibration cal;
    gboolean has_cal =
        r->model && mimica_store_get_calibration(store, 1, 0, r->model, &cal, &error);
    g_clear_error(&error);
    g_assert_cmpint(has_cal, ==, r->calibrated);
    if (has_cal)
        g_assert_cmpfloat(cal.values[2], ==, 0.3f);
}

/* Migration: a project of schema 1 opened (and so migrated) under the fault ---------------- */

#define MIG_EVENTS 400

static void migration_make(const char *dir, const char *template)
{
    GError *error = NULL;
    /* as tests/app/test-store.c's fill_old(1), with more events */
    g_autoptr(MimicaStore) old = mimica_store_open_at_version(template, 1, &error);
    g_assert_no_error(error);
    sql_exec(old, "INSERT INTO annotators (id, name, created) VALUES (1, 'ann', 1000),"
                  " (2, 'bob', 1000)");
    sql_exec(old, "INSERT INTO videos (id, path, content_hash, duration_us, frame_rate_num,"
                  " frame_rate_den, n_frames, width, height, rotation, added) VALUES"
                  " (1, 'a.mp4', 'h1', 4000000, 25, 1, 100, 640, 480, 0, 1000),"
                  " (2, 'b.mkv', 'h2', 2002000, 30000, 1001, 60, 1920, 1080, 90, 1000)");
    sql_exec(old, "INSERT INTO models (id, file, name, aus, created)"
                  " VALUES (1, 'aunet.safetensors', 'base', '1,2,4,6', 1000)");
    sql_exec(old, "BEGIN");
    for (int i = 1; i <= MIG_EVENTS; i++) {
        g_autofree char *sql = g_strdup_printf(
            "INSERT INTO label_events (id, video_id, annotator_id, time, au, frame_start,"
            " frame_end, value) VALUES (%d, %d, %d, %d, %d, %d, %d, '%s')",
            i, 1 + i % 2, 1 + (i / 2) % 2, 1700000000 + i, 1 + i % 7, i % 50, i % 50 + i % 9,
            i % 3 ? "present" : "absent");
        sql_exec(old, sql);
    }
    sql_exec(old, "COMMIT");
}

static void migration_run(Run *r)
{
    GError *error = NULL;
    arm(r->at);
    MimicaStore *store = mimica_store_open(r->path, &error);
    acked(r, store != NULL, &error, "opening (migrating)");
    mimica_store_free(store);
}

static gint64 mig_held_straight = -1; /* labels_held rows after a whole migration */

static void migration_verify(Run *r)
{
    /* which schema the file holds, read with SQLite alone */
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READWRITE, NULL), ==, SQLITE_OK);
    sqlite3_stmt *q = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    r->version_after = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    g_assert_cmpint(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(q, 0), ==, "ok");
    sqlite3_finalize(q);
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT count(*) FROM label_events", -1, &q, NULL), ==,
                    SQLITE_OK);
    g_assert_cmpint(sqlite3_step(q), ==, SQLITE_ROW);
    g_assert_cmpint(sqlite3_column_int(q, 0), ==, MIG_EVENTS);
    sqlite3_finalize(q);
    sqlite3_close(db);
    /* the old schema whole, or the new one: never between */
    if (r->version_after != 1 && r->version_after != MIMICA_STORE_SCHEMA_VERSION)
        g_error("fault at write %" G_GINT64_FORMAT ": the project is at schema %d", r->at,
                r->version_after);
    if (!r->failed && r->version_after != MIMICA_STORE_SCHEMA_VERSION)
        g_error("fault at write %" G_GINT64_FORMAT ": the open succeeded but left schema %d", r->at,
                r->version_after);
    /* opens (an old schema is compared with ours at schema 1 first, then migrated) with every
     * event, each video, the model */
    g_autoptr(MimicaStore) store = open_ok(r->path);
    g_assert_cmpint(mimica_store_get_schema_version(store), ==, MIMICA_STORE_SCHEMA_VERSION);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM label_events WHERE kind = 'set'"), ==,
                    MIG_EVENTS);
    g_assert_cmpint(sql_int(store, "SELECT sum(frame_end) FROM label_events"), ==,
                    sql_int(store, "SELECT sum(frame_start + (id % 9)) FROM label_events"));
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM videos"), ==, 2);
    g_assert_cmpint(sql_int(store, "SELECT count(*) FROM models"), ==, 1);
    gint64 held = sql_int(store, "SELECT count(*) FROM labels_held");
    if (mig_held_straight < 0)
        mig_held_straight = held;
    g_assert_cmpint(held, ==, mig_held_straight);
}

static void rm_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
}

/* The sweep --------------------------------------------------------------------------------- */

static const Scenario scenarios[] = {
    {"labels", N_LABELS, labels_make, labels_run, labels_verify},
    {"import-labels", 2, import_labels_make, import_labels_run, import_labels_verify},
    {"import-openface", 2, import_openface_make, import_openface_run, import_openface_verify},
    {"analysis", 3 + 2 * AN_BATCHES + 4, analysis_make, analysis_run, analysis_verify},
    {"migration", 1, migration_make, migration_run, migration_verify},
};

static gboolean full_sweep;
#define SAMPLE_POINTS 40 /* failure points per scenario and mode without --full */

static void run_once(const Scenario *sc, Run *r, const char *template)
{
    countdown = -1;
    remove_project(r->path);
    copy_file(template, r->path);
    use_fault_vfs(TRUE);
    sc->run(r);
    countdown = -1;
    use_fault_vfs(FALSE);
    sc->verify(r);
    use_fault_vfs(TRUE);
}

typedef struct {
    const Scenario *sc;
    Mode mode;
} Case;

static void test_case(gconstpointer data)
{
    const Case *c = data;
    const Scenario *sc = c->sc;
    mode = c->mode;
    g_autofree char *dir = g_dir_make_tmp("mimica-fault-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "pr\xc3\xb8ject.mimica", NULL);
    g_autofree char *template = g_build_filename(dir, "template.mimica", NULL);
    countdown = -1;
    use_fault_vfs(FALSE);
    sc->make(dir, template);
    use_fault_vfs(TRUE);

    /* a run without failure: the writes it makes */
    Run r0 = {dir, path, 0};
    run_once(sc, &r0, template);
    gint64 total = n_writes;
    g_assert_false(r0.failed);
    g_assert_cmpint(r0.n_acked, ==, sc->max_acked);
    g_assert_cmpint(total, >, 0);

    gint64 n_points = full_sweep || total <= SAMPLE_POINTS ? total : SAMPLE_POINTS;
    g_autofree char *msg = NULL;
    int min_acked = G_MAXINT, max_acked = -1, n_failed_calls = 0, old_schema = 0, new_schema = 0;
    gint64 failed_writes = 0;
    gint64 t0 = g_get_monotonic_time();
    for (gint64 k = 0; k < n_points; k++) {
        /* every write, or points spread evenly from the first to the last */
        gint64 at = n_points == total ? k + 1 : 1 + k * (total - 1) / (n_points - 1);
        Run r = {dir, path, at};
        n_failed = 0;
        run_once(sc, &r, template);
        failed_writes += n_failed;
        n_failed_calls += r.failed;
        min_acked = MIN(min_acked, r.n_acked);
        max_acked = MAX(max_acked, r.n_acked);
        old_schema += r.failed && r.version_after == 1;
        new_schema += r.version_after == MIMICA_STORE_SCHEMA_VERSION;
        if (r.msg && !msg)
            msg = g_strdup(r.msg);
        g_free(r.msg);
    }
    g_free(r0.msg);
    const char *mode_name = mode == MODE_ENOSPC ? "ENOSPC"
                            : mode == MODE_EIO  ? "EIO"
                                                : "short write";
    g_test_message("%s, %s: a whole run makes %" G_GINT64_FORMAT
                   " writes; failed at %" G_GINT64_FORMAT
                   " of them%s (%.1f s): %d calls failed with the right error, calls acknowledged "
                   "before the failure %d..%d of %d, all kept and nothing else; "
                   "integrity_check ok; %" G_GINT64_FORMAT " writes refused in all",
                   sc->name, mode_name, total, n_points, n_points < total ? " (spread evenly)" : "",
                   (g_get_monotonic_time() - t0) / 1e6, n_failed_calls, min_acked, max_acked,
                   sc->max_acked, failed_writes);
    if (sc->verify == migration_verify)
        g_test_message("%s, %s: after the failure the project held schema 1 %d times (then "
                       "migrated on the next open), schema %d %d times",
                       sc->name, mode_name, old_schema, MIMICA_STORE_SCHEMA_VERSION, new_schema);
    g_test_message("%s, %s: first message: %s", sc->name, mode_name, msg ? msg : "(none)");
    g_assert_nonnull(msg);
    g_assert_cmpint(n_failed_calls, >, 0);
    remove_project(path);
    remove_project(template);
    rm_dir(dir);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--full")) {
            full_sweep = TRUE;
            argv[i] = (char *)"--tap"; /* not GTest's */
        }
    setlocale(LC_ALL, ""); /* the project's name in the messages, as UTF-8 */
    g_test_init(&argc, &argv, NULL);
    register_vfs();
    static const char *const mode_names[] = {"enospc", "eio", "short"};
    static Case cases[G_N_ELEMENTS(scenarios)][3];
    for (guint s = 0; s < G_N_ELEMENTS(scenarios); s++)
        for (int m = 0; m < 3; m++) {
            cases[s][m] = (Case){&scenarios[s], (Mode)m};
            g_autofree char *name =
                s == 0 ? g_strdup_printf("/fault/store/%s", mode_names[m])
                       : g_strdup_printf("/fault/store/%s/%s", scenarios[s].name, mode_names[m]);
            g_test_add_data_func(name, &cases[s][m], test_case);
        }
    return g_test_run();
}
