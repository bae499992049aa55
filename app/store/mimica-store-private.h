/* mimica-store-private.h: what the files of app/store share; not for other modules. */
#pragma once

#include <sqlite3.h>

#include "mimica-store.h"

struct _MimicaStore {
    sqlite3 *db;
    char *path; /* for messages: the file name as valid UTF-8 (stray bytes as U+FFFD) */
    char *file; /* the file name as given (mimica_store_get_path) */
    int busy_timeout_ms;
    gboolean read_only; /* opened SQLITE_OPEN_READONLY: writes fail with READ_ONLY */
    GHashTable *stmts;  /* SQL text (static string) -> sqlite3_stmt*, prepared once */
    sqlite3 *json_db;   /* private :memory: connection behind the schema's json_valid() */
    sqlite3_stmt *json_valid;
};

/* Converts an SQLite result code into ERROR with CONTEXT ("adding a label", ...) in front of
 * SQLite's message. The one place where SQLite codes become MimicaStoreError. */
void _mimica_store_set_error(MimicaStore *store, int rc, GError **error, const char *context);

/* A prepared statement for SQL (a string literal: its address is the cache key), reset and
 * with its bindings cleared; NULL with ERROR if it does not compile. */
sqlite3_stmt *_mimica_store_stmt(MimicaStore *store, const char *sql, GError **error);

/* BEGIN IMMEDIATE (waits up to the busy timeout for the write lock) / COMMIT / ROLLBACK. */
gboolean _mimica_store_begin(MimicaStore *store, const char *context, GError **error);
gboolean _mimica_store_commit(MimicaStore *store, const char *context, GError **error);
void _mimica_store_rollback(MimicaStore *store);

/* Id of the annotator NAME, created if CREATE; 0 if absent (not created) or on error (ERROR
 * set only then). Call inside a transaction when CREATE. */
gint64 _mimica_store_annotator_id(MimicaStore *store, const char *name, gboolean create,
                                  GError **error);
/* Checks a name, AU, frame range for a new event against the video (ERROR INVALID). */
gboolean _mimica_store_check_label(MimicaStore *store, gint64 video_id, gint64 frame_start,
                                   gint64 frame_end, int au, const char *annotator, GError **error);

/* Keeps labels_held (the labels that hold) after appending label event EVENT_ID of any kind;
 * call inside the transaction that appended it. */
gboolean _mimica_store_label_event_added(MimicaStore *store, gint64 event_id, GError **error);
/* Recomputes labels_held from all label events in O(n log n); inside a transaction. */
gboolean _mimica_store_labels_rebuild(MimicaStore *store, GError **error);

/* Little-endian float32 blobs (landmarks, AU values). */
void _mimica_store_floats_to_le(const float *src, guint32 *dst, size_t n);
/* Reads N floats; FALSE if the blob is absent or of another size. */
gboolean _mimica_store_floats_from_blob(const void *blob, int bytes, float *dst, size_t n);
/* "1,2,4" -> {1,2,4} (at most MIMICA_MAX_AUS numbers in 1..99); FALSE on anything else. */
gboolean _mimica_store_parse_au_list(const char *text, int *aus, int *n_aus);

/* mimica-store-results.c, shared with mimica-store-analysis.c */
int _mimica_store_model_n_aus(MimicaStore *store, gint64 model_id, GError **error);
/* The faces row of (VIDEO, TRACK), created if CREATE (inside a transaction); 0 on error. */
gint64 _mimica_store_face_id(MimicaStore *store, gint64 video_id, int track, gboolean create,
                             GError **error);
gboolean _mimica_store_put_rows(MimicaStore *store, gint64 video_id, gint64 model_id,
                                const MimicaPrediction *rows, const int *tracks, int track, gsize n,
                                GError **error);
/* A prediction from a row whose columns from COL on are timestamp, confidence, success, box_x,
 * box_y, box_w, box_h, landmarks, au_prob, au_intensity, pose (frame left 0); FALSE when au_prob
 * is not N_AUS values. */
gboolean _mimica_store_prediction_from_row(sqlite3_stmt *st, int col, int n_aus,
                                           MimicaPrediction *out);
/* Runs a prepared INSERT/UPDATE to completion; FALSE with ERROR (CONTEXT in front) on failure. */
gboolean _mimica_store_step_done(MimicaStore *store, sqlite3_stmt *st, const char *context,
                                 GError **error);
/* The first column of every row of SQL (a string literal, no parameters) as gint64 ids; NULL with
 * ERROR on failure. */
GArray *_mimica_store_ids(MimicaStore *store, const char *sql, const char *context, GError **error);
