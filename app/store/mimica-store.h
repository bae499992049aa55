/* mimica-store.h: the project store, one SQLite file per project.
 *
 * One MimicaStore is one connection: use it from one thread only (open another store on the
 * same file in each thread). The file is in WAL mode with foreign keys on and
 * synchronous=FULL, so a write has reached the disk when the call returns. Every write runs in
 * its own transaction. Label events are append-only: undo and redo are events themselves. */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

#define MIMICA_STORE_ERROR (mimica_store_error_quark())

typedef enum {
    MIMICA_STORE_ERROR_FAILED,      /* SQLite failed in an unexpected way */
    MIMICA_STORE_ERROR_NOT_FOUND,   /* project file, video, model or event does not exist */
    MIMICA_STORE_ERROR_EXISTS,      /* project file or video already there */
    MIMICA_STORE_ERROR_NOT_PROJECT, /* not an SQLite database, or not a Mimica project */
    MIMICA_STORE_ERROR_TOO_NEW,     /* written by a newer Mimica */
    MIMICA_STORE_ERROR_BUSY,        /* another program holds the write lock past the timeout */
    MIMICA_STORE_ERROR_FULL,        /* disk (or quota) full */
    MIMICA_STORE_ERROR_READ_ONLY,   /* no permission to write */
    MIMICA_STORE_ERROR_CORRUPT,     /* database damaged */
    MIMICA_STORE_ERROR_IO,          /* operating system I/O error */
    MIMICA_STORE_ERROR_INVALID,     /* bad argument: frame range, AU, value, ... */
    MIMICA_STORE_ERROR_PARSE,       /* bad import file; the message names file:line */
    MIMICA_STORE_ERROR_NOTHING,     /* nothing to undo or redo */
} MimicaStoreError;

GQuark mimica_store_error_quark(void);

/* The schema this build writes; user_version of every file it has opened for writing. */
#define MIMICA_STORE_SCHEMA_VERSION 6
/* PRAGMA application_id of a Mimica project: 'MIMI'. */
#define MIMICA_STORE_APPLICATION_ID 0x4d494d49
/* Default wait for another writer's lock, in milliseconds. */
#define MIMICA_STORE_BUSY_TIMEOUT_MS 5000

typedef struct _MimicaStore MimicaStore;

/* Creates a new project file (fails if FILE exists) at the current schema: built in a temporary
 * file beside it and linked into place, so an interrupted call leaves no stub at FILE. */
MimicaStore *mimica_store_create(const char *path, GError **error);
/* Opens an existing project and migrates it forward to MIMICA_STORE_SCHEMA_VERSION. A file from
 * someone else is untrusted: SQLite's defensive mode, trusted_schema off, values up to 16 MB, and
 * its schema compared with ours (CORRUPT if a trigger, view, table or index was added or
 * changed). Where the file or its folder cannot be written, opens read-only (below). */
MimicaStore *mimica_store_open(const char *path, GError **error);
/* Opens without writing anything: no migration (an older schema fails with READ_ONLY), no
 * pragma that writes; immutable where the folder is read-only. Writes fail with READ_ONLY. */
MimicaStore *mimica_store_open_read_only(const char *path, GError **error);
gboolean mimica_store_is_read_only(MimicaStore *store);
/* Opens a database at schema version UPTO (0 .. MIMICA_STORE_SCHEMA_VERSION) without migrating
 * further: for tests of the migrations. PATH may be ":memory:". Creates the file if absent. */
MimicaStore *mimica_store_open_at_version(const char *path, int upto, GError **error);
void mimica_store_free(MimicaStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaStore, mimica_store_free)

const char *mimica_store_get_path(MimicaStore *store);
int mimica_store_get_schema_version(MimicaStore *store);
void mimica_store_set_busy_timeout(MimicaStore *store, int ms);
/* Sets the busy timeout from MIMICA_BUSY_TIMEOUT_MS when set; FALSE with INVALID (nothing
 * changed) when it is not a whole number in 0..3600000. */
gboolean mimica_store_apply_busy_timeout_env(MimicaStore *store, GError **error);
/* Runs PRAGMA integrity_check and foreign_key_check; FALSE with the first problem in ERROR. */
gboolean mimica_store_check(MimicaStore *store, GError **error);
/* The connection, for code in app/store and tests; never share it across threads. */
struct sqlite3 *mimica_store_get_db(MimicaStore *store);

/* Videos ------------------------------------------------------------------------------------ */

typedef struct {
    char *path;
    char *content_hash; /* hex digest */
    gint64 duration_us;
    int frame_rate_num; /* frame rate = num / den frames per second */
    int frame_rate_den;
    gint64 n_frames;
    int width, height; /* as stored in the file, before rotation */
    int rotation;      /* 0, 90, 180, 270: clockwise display rotation */
} MimicaVideoFacts;

void mimica_video_facts_clear(MimicaVideoFacts *facts);

/* Adds a video; returns its id (> 0) or 0 with ERROR (EXISTS if its content hash is there). */
gint64 mimica_store_add_video(MimicaStore *store, const MimicaVideoFacts *facts, GError **error);
/* Fills OUT (clear it with mimica_video_facts_clear) or fails with NOT_FOUND. */
gboolean mimica_store_get_video(MimicaStore *store, gint64 video_id, MimicaVideoFacts *out,
                                GError **error);

/* Ids of all videos, ascending (gint64 elements); NULL on error. */
GArray *mimica_store_list_videos(MimicaStore *store, GError **error);

/* Labels ------------------------------------------------------------------------------------ */

typedef enum {
    MIMICA_LABEL_ABSENT,
    MIMICA_LABEL_PRESENT,
    MIMICA_LABEL_A, /* intensities A (trace) .. E (maximum) */
    MIMICA_LABEL_B,
    MIMICA_LABEL_C,
    MIMICA_LABEL_D,
    MIMICA_LABEL_E,
} MimicaLabelValue;

/* "absent", "present", "A".."E"; parse returns FALSE for anything else. */
const char *mimica_label_value_to_string(MimicaLabelValue value);
gboolean mimica_label_value_parse(const char *text, MimicaLabelValue *out);

typedef struct {
    gint64 event;
    gint64 video;
    gint64 frame_start, frame_end; /* inclusive */
    int au;
    MimicaLabelValue value;
    const char *annotator;
    gint64 time_ms; /* ms since the Unix epoch, UTC */
} MimicaLabel;

/* Appends a 'set' event; returns its id once it is on disk, or 0 with ERROR. */
gint64 mimica_store_label_set(MimicaStore *store, gint64 video_id, gint64 frame_start,
                              gint64 frame_end, int au, MimicaLabelValue value,
                              const char *annotator, GError **error);
/* Undoes the annotator's latest edit still in effect; returns the undo event's id, or 0 with
 * ERROR (NOTHING when there is nothing to undo). Sets *UNDONE (may be NULL) to the edit's id. */
gint64 mimica_store_label_undo(MimicaStore *store, const char *annotator, gint64 *undone,
                               GError **error);
/* Redoes the annotator's latest undo, unless an edit was made since. Like _undo. */
gint64 mimica_store_label_redo(MimicaStore *store, const char *annotator, gint64 *redone,
                               GError **error);
/* The label of one frame (latest active event wins); FALSE if none, or on error. */
gboolean mimica_store_label_at(MimicaStore *store, gint64 video_id, int au, gint64 frame,
                               const char *annotator, MimicaLabelValue *out, GError **error);

typedef gboolean (*MimicaLabelFunc)(const MimicaLabel *label, gpointer user_data);
/* Calls FUNC for each label that holds (the labels_current view: video 0 = all, annotator NULL
 * = all), in event order, streaming; FUNC returns FALSE to stop. */
gboolean mimica_store_foreach_label(MimicaStore *store, gint64 video_id, const char *annotator,
                                    MimicaLabelFunc func, gpointer user_data, GError **error);

/* Calls FUNC for each label that holds on VIDEO and meets frames [FRAME_START, FRAME_END]
 * (what a timeline draws; annotator NULL = all), in event order; FUNC returns FALSE to stop.
 * An R*-tree query: well under a millisecond per window with a million events. */
gboolean mimica_store_foreach_label_in(MimicaStore *store, gint64 video_id, gint64 frame_start,
                                       gint64 frame_end, const char *annotator,
                                       MimicaLabelFunc func, gpointer user_data, GError **error);

/* Counts for `project info` */
typedef struct {
    int schema_version;
    gint64 n_videos, n_annotators, n_events, n_labels, n_models, n_predictions, n_training_runs;
} MimicaStoreInfo;
gboolean mimica_store_get_info(MimicaStore *store, MimicaStoreInfo *out, GError **error);

/* Models, predictions, training runs (mimica-store-results.c) ------------------------------- */

#define MIMICA_N_LANDMARKS 68
#define MIMICA_MAX_AUS     99

/* Registers a model file; AUS are its outputs in order; METRICS is JSON (NULL = {}); PARENT 0
 * for none. Returns the id or 0. */
gint64 mimica_store_add_model(MimicaStore *store, const char *file, const char *name,
                              gint64 parent_id, const int *aus, int n_aus, const char *metrics_json,
                              GError **error);

/* One face in one frame, as the analysis computes it. */
typedef struct {
    gint64 frame;     /* 0-based frame index */
    double timestamp; /* seconds since frame 0 */
    float confidence;
    gboolean success;
    gboolean has_box;
    float box[4]; /* x, y, w, h in pixels */
    gboolean has_landmarks;
    float landmarks[2 * MIMICA_N_LANDMARKS]; /* x_0..x_67 then y_0..y_67 */
    int n_aus;                               /* = the model's AU count */
    float au_prob[MIMICA_MAX_AUS];           /* NaN where unknown */
    gboolean has_intensity;
    float au_intensity[MIMICA_MAX_AUS];
    gboolean has_pose;
    float pose[6]; /* OpenFace's pose_Tx, Ty, Tz (mm), pose_Rx, Ry, Rz (radians) */
} MimicaPrediction;

/* Stores N rows for face TRACK of the video under MODEL in one transaction; a row already there
 * (same face, model, frame) is replaced: re-analysis overwrites. */
gboolean mimica_store_put_predictions(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, const MimicaPrediction *rows, gsize n,
                                      GError **error);
/* Reads one row; FALSE with NOT_FOUND if absent. */
gboolean mimica_store_get_prediction(MimicaStore *store, gint64 video_id, int track,
                                     gint64 model_id, gint64 frame, MimicaPrediction *out,
                                     GError **error);

/* A training run: created 'queued' with its parameters (JSON); then its status ('running',
 * 'done', 'failed', 'cancelled'), the model it produced (0 = unchanged) and log lines. */
gint64 mimica_store_training_run_new(MimicaStore *store, gint64 model_in,
                                     const char *parameters_json, GError **error);
gboolean mimica_store_training_run_update(MimicaStore *store, gint64 run_id, const char *status,
                                          gint64 model_out, const char *log_append, GError **error);

/* Analyses, calibrations, jobs (mimica-store-analysis.c) ------------------------------------ */

/* The video with this content hash; 0 (no error) when the project has none. */
gint64 mimica_store_find_video(MimicaStore *store, const char *content_hash, GError **error);
/* A model row by file and name; 0 (no error) when there is none. */
gint64 mimica_store_find_model(MimicaStore *store, const char *file, const char *name,
                               GError **error);
/* The AU list of a model: fills AUS (MIMICA_MAX_AUS) and returns the count, -1 on error. */
int mimica_store_get_model_aus(MimicaStore *store, gint64 model_id, int *aus, GError **error);

typedef struct {
    gint64 id, video_id, model_id;
    char *parameters; /* JSON */
    gboolean done;    /* state 'done': every frame stored and calibrated */
    gint64 next_frame, n_frames;
} MimicaAnalysisRow;
void mimica_analysis_row_clear(MimicaAnalysisRow *row);

/* The analysis of VIDEO by MODEL: the existing row if there is one (a 'running' one is resumed
 * from next_frame; a 'done' one is restarted from frame 0, its predictions and calibrations
 * deleted, when RESTART_DONE), else a new 'running' row with PARAMETERS. Fills OUT. */
gboolean mimica_store_analysis_begin(MimicaStore *store, gint64 video_id, gint64 model_id,
                                     const char *parameters_json, gboolean restart_done,
                                     MimicaAnalysisRow *out, GError **error);
/* Stores N rows (tracks[i] is row i's face track) and moves next_frame / n_frames forward, all
 * in one transaction: after a crash the analysis resumes at a frame whose rows are all there. */
gboolean mimica_store_analysis_put(MimicaStore *store, const MimicaAnalysisRow *analysis,
                                   const MimicaPrediction *rows, const int *tracks, gsize n,
                                   gint64 next_frame, gint64 n_frames, GError **error);
gboolean mimica_store_analysis_finish(MimicaStore *store, gint64 analysis_id, GError **error);
/* The analysis row of VIDEO by MODEL; FALSE with NOT_FOUND if none. */
gboolean mimica_store_analysis_get(MimicaStore *store, gint64 video_id, gint64 model_id,
                                   MimicaAnalysisRow *out, GError **error);

/* Face tracks with predictions of VIDEO by MODEL (success rows only), ascending; NULL on error. */
GArray *mimica_store_list_tracks(MimicaStore *store, gint64 video_id, gint64 model_id,
                                 GError **error);
typedef gboolean (*MimicaPredictionFunc)(int track, const MimicaPrediction *row,
                                         gpointer user_data);
/* Calls FUNC for each prediction of VIDEO by MODEL (TRACK -1 = all tracks) with frame in
 * [FRAME_START, FRAME_END] (FRAME_END -1 = to the end), in (frame, track) order; FUNC returns
 * FALSE to stop. One read transaction. */
gboolean mimica_store_foreach_prediction(MimicaStore *store, gint64 video_id, gint64 model_id,
                                         int track, gint64 frame_start, gint64 frame_end,
                                         MimicaPredictionFunc func, gpointer user_data,
                                         GError **error);
/* Replaces the AU values of N existing rows of TRACK (rows[i].frame, au_prob, au_intensity and
 * has_intensity are used) in one transaction. */
gboolean mimica_store_update_aus(MimicaStore *store, gint64 video_id, int track, gint64 model_id,
                                 const MimicaPrediction *rows, gsize n, GError **error);

#define MIMICA_CALIBRATION_MAX 128
typedef struct {
    gboolean from_segment;         /* method 'segment' (else 'auto') */
    gint64 frame_start, frame_end; /* the segment, or -1 */
    gint64 n_frames;               /* frames the baseline was made from */
    int n_values;
    float values[MIMICA_CALIBRATION_MAX];
} MimicaCalibration;
gboolean mimica_store_put_calibration(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, const MimicaCalibration *cal,
                                      GError **error);
/* FALSE with NOT_FOUND when the face has none under the model. */
gboolean mimica_store_get_calibration(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, MimicaCalibration *out, GError **error);

/* Jobs: the engine thread's queue (app/jobs). Status: "queued", "running", "done", "failed",
 * "cancelled". */
typedef struct {
    gint64 id;
    char *kind, *parameters, *status, *resume, *message;
    gint64 done, total;
} MimicaJobRow;
void mimica_job_row_clear(MimicaJobRow *row);
gint64 mimica_store_job_new(MimicaStore *store, const char *kind, const char *parameters_json,
                            GError **error);
gboolean mimica_store_job_get(MimicaStore *store, gint64 job_id, MimicaJobRow *out, GError **error);
/* Sets what is non-NULL / >= 0: status (started/finished stamped on 'running' / an end state),
 * done and total, the resume JSON, the message. */
gboolean mimica_store_job_update(MimicaStore *store, gint64 job_id, const char *status, gint64 done,
                                 gint64 total, const char *resume_json, const char *message,
                                 GError **error);
/* Ids of jobs in state 'queued' or 'running' (interrupted), ascending; NULL on error. */
GArray *mimica_store_jobs_unfinished(MimicaStore *store, GError **error);

/* Import and export (mimica-store-io.c) ----------------------------------------------------- */

/* Labels CSV, header `video,frame_start,frame_end,au,value,annotator,time,event`; time is ISO
 * 8601 UTC with milliseconds. Export writes the labels_current view. */
gboolean mimica_store_export_labels_csv(MimicaStore *store, FILE *out, GError **error);
/* Appends one 'import' event per row, all in one transaction (all or nothing). Separators may
 * be "," or ", "; the event column is ignored. Returns the number of rows, -1 on error. */
gint64 mimica_store_import_labels_csv(MimicaStore *store, const char *csv_path, GError **error);

/* What an OpenFace import kept. Every column of the file is either stored in Mimica's own fields
 * or kept verbatim as an extra column; the counts say which. */
typedef struct {
    gint64 n_rows; /* prediction rows (one per face and frame) */
    int n_columns; /* columns of the file */
    int n_mimica;  /* stored in Mimica's fields: frame, face_id, timestamp, confidence, success,
                    * pose_*, x_0..y_67, AUnn_r, AUnn_c */
    int n_extra;   /* every other column (gaze, eye_lmk_*, X_/Y_/Z_, p_*, ...), values kept
                    * (float32, or float64 where that is needed to give a value back) */
    gint64 n_confidence_nan; /* rows whose confidence was nan: not kept (stored, exported as 0) */
} MimicaOpenFaceImport;

/* OpenFace 2.x FeatureExtraction CSV (',' or ', ' separated). Creates a model row named
 * "OpenFace import" for the AU columns found, a face per face_id, and a prediction per row; the
 * columns Mimica does not model are kept with the row (openface_columns, predictions.extras).
 * A value that is not a finite number within +-1e38 is refused at file:line (AU columns may be
 * nan). Returns the new model's id, 0 on error; *SUMMARY (may be NULL) says what was kept. */
gint64 mimica_store_import_openface_csv(MimicaStore *store, gint64 video_id, const char *csv_path,
                                        MimicaOpenFaceImport *summary, GError **error);
/* Writes the predictions of VIDEO by MODEL (0 = the newest model with predictions for it) with
 * OpenFace 2.2's column names and order: frame, face_id, timestamp, confidence, success,
 * pose_Tx..pose_Rz (where the rows have a pose), x_0..x_67, y_0..y_67, AU*_r (AUs with
 * intensities), AU*_c; separator ", " as OpenFace. Timestamp, confidence, pose_T* and landmarks
 * have 3 decimals, pose_R* 6, AUs 2 (OpenFace 2.2 writes timestamp 3, confidence 2, pose_T* and
 * landmarks 1, pose_R* 3, AU*_r 2, AU*_c 1: nothing it printed is lost). The rows of an
 * OpenFace import also get the file's other columns back, where OpenFace writes them (gaze and
 * eye landmarks after success, 3-D landmarks and p_* after y_67, ...), with the file's decimals. */
gboolean mimica_store_export_openface_csv(MimicaStore *store, gint64 video_id, gint64 model_id,
                                          FILE *out, GError **error);

/* ELAN .eaf (EAF 3.0): one tier per AU with the annotator's current labels, time slots in ms
 * from the video's frame rate. ANNOTATOR NULL = the only annotator of the video (error if
 * several). */
gboolean mimica_store_export_elan(MimicaStore *store, gint64 video_id, const char *annotator,
                                  FILE *out, GError **error);

/* ELAN .eaf in (mimica-store-elan.c) --------------------------------------------------------- */

/* Files above this size are refused before they are parsed. */
#define MIMICA_ELAN_MAX_BYTES (64 << 20)

typedef struct {
    const char *annotator; /* for AU tiers without an ANNOTATOR attribute; NULL: refused */
} MimicaElanImportOptions;

/* What an ELAN import did; every tier and annotation of the file is counted somewhere. */
typedef struct {
    gint64 n_labels;         /* label events written: one per annotation of an AU tier */
    int n_tiers;             /* tiers in the file */
    int n_au_tiers;          /* imported: TIER_ID "AU12", "AU 12", "au_12", "AU-06" ... */
    int n_default_annotator; /* AU tiers without ANNOTATOR, given options->annotator */
    gint64 n_interpolated;   /* annotations on unaligned time slots, placed between neighbours */
    gint64 n_ref;            /* REF_ANNOTATIONs, which take their parent's times */
    gint64 n_empty;          /* empty values, imported as "present" */
    gint64 n_short;          /* shorter than a frame: the one frame at their middle */
    int n_unknown_tiers;     /* tiers whose TIER_ID names no AU: not imported */
    gint64 n_unknown_annotations;
    char *unknown_tiers;    /* "Smile (2 annotations, line 30), ..." (20, then " and N more") */
    char *annotators;       /* names the labels went under, ", "-separated (20, then " and N
                             * more"); NULL when none */
    char *media;            /* MEDIA_URL (or RELATIVE_MEDIA_URL) used for TIME_ORIGIN, or NULL */
    gboolean media_matches; /* its file name is the video's */
    gint64 time_origin_ms;  /* that descriptor's TIME_ORIGIN, added to every time */
} MimicaElanImport;
void mimica_elan_import_clear(MimicaElanImport *summary);

/* Reads an ELAN .eaf (EAF 2.x or 3.0, TIME_UNITS milliseconds; GMarkup: only XML's five entities
 * and character references, a DOCTYPE's entity definitions are not read, so an entity bomb is
 * refused at its first use) and appends one 'import' label event per annotation of an AU tier,
 * all in one transaction (all or nothing). The rules:
 * - A tier is an AU tier when its TIER_ID, spaces trimmed, is "AU" (any case), an optional
 *   ' ', '_' or '-', and a number 1..99 ("AU12", "AU 12", "au_06"). Every other tier
 *   ("AU12_intensity", "Smile") is not imported and is listed in SUMMARY->unknown_tiers.
 * - A value is absent, present or A..E (any case, spaces trimmed); empty means present. Anything
 *   else is refused.
 * - The annotator is the tier's ANNOTATOR attribute, else OPTIONS->annotator. PARTICIPANT is not
 *   used: in ELAN it names the person observed, not the coder.
 * - A time slot without TIME_VALUE (ELAN's unaligned slots) is placed evenly between the aligned
 *   slots before and after it in TIME_ORDER, as ELAN displays it; with none on one side it is
 *   refused (where an annotation uses it). A REF_ANNOTATION takes the times of the annotation
 *   it refers to (following chains); several REF_ANNOTATIONs of one AU tier under one parent
 *   (symbolic subdivision, whose times ELAN does not store) are refused.
 * - Times (plus the video's MEDIA_DESCRIPTOR TIME_ORIGIN) become frames at the video's frame
 *   rate: start and end snap to the nearest frame boundary (the inverse of
 *   mimica_store_export_elan, exact below 1000 fps); an annotation shorter than that gets the
 *   frame its middle falls in. Frames beyond the video are refused. Where annotations of one AU
 *   and annotator overlap, the later in the file wins.
 * Every refusal is a PARSE error naming file:line (NOT_FOUND / IO for an unreadable file).
 * Returns the number of label events written, -1 on error; SUMMARY (may be NULL; clear it with
 * mimica_elan_import_clear) is filled on success. */
gint64 mimica_store_import_elan(MimicaStore *store, gint64 video_id, const char *eaf_path,
                                const MimicaElanImportOptions *options, MimicaElanImport *summary,
                                GError **error);

/* Writes OpenFace's AU numbers (1, 2, 4, ...) for the _r block (17) and _c block (18). */
extern const int mimica_openface_aus_r[17];
extern const int mimica_openface_aus_c[18];

G_END_DECLS
