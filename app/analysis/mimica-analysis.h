/* mimica-analysis.h: the analysis of one video, every frame to face tracks, 68 landmarks, head
 * pose and AU activations, into the project store.
 *
 *   decode (its own thread, app/media) -> [bounded queue] -> track: detect (OpenCV cascade) and
 *   follow several faces with stable ids, 68 landmarks + confidence, a per-frame face check,
 *   head pose, geometry features or the aligned 176x176 network input (this thread) ->
 *   [bounded queue] -> AUs: batched network inference or the geometry estimator, batched store
 *   transactions (a third thread) -> per-person calibration and optional smoothing (at the end).
 *
 * Rows. Every decoded frame gets a row per face found in it (face_id = the person's track,
 * 0-based, stable while the person stays in view and, heuristically, when one comes back), and
 * a single row with face_id 0 and success 0 when no face is visible, as OpenFace writes.
 *
 * Faces. A tracked face is checked every frame by the cascade in a window around it; a face the
 * check misses on CHECK_FRAMES frames in a row is dropped, and its rows on those frames are
 * taken back (results are held back that many frames), so a face that leaves or is cut away
 * has success 0 from its first missing frame.
 *
 * Resume. Rows are stored with the analysis' next_frame in the same transaction; an analysis
 * interrupted (crash, quit, cancel) starts again at next_frame with fresh tracking, person ids
 * continued from where each face was last seen.
 *
 * Calibration. When every frame is stored, each person's neutral baseline is found in
 * low-activity frames (or taken from a frame segment the caller names) and the AU values are
 * recomputed against it (geometry: from the stored landmarks and pose; networks: intensities
 * minus the person's baseline intensity, probabilities untouched). Smoothing (a centred moving
 * average of `smooth` frames) changes only the stored intensities; landmarks, pose and network
 * probabilities are kept raw.
 */
#pragma once

#include <gio/gio.h>

#include "jobs/mimica-job-runner.h"
#include "store/mimica-store.h"

G_BEGIN_DECLS

#define MIMICA_ANALYSIS_MAX_FACES 16

typedef struct {
    const char *model;                   /* "geometry" (NULL), "default", or a model file */
    const char *backend;                 /* networks: NULL/"auto", "ref", "dnnl", "cuda" */
    int max_faces;                       /* 1..MIMICA_ANALYSIS_MAX_FACES; 0 = 4 */
    int smooth;                          /* frames of the intensity smoothing window; 0/1 = off */
    gint64 baseline_start, baseline_end; /* the neutral segment (frames), -1 = automatic */
    int batch;                           /* network batch; 0 = 8 */
    int min_face;     /* smallest face side to detect, pixels; 0 = max(40, shorter side / 12) */
    gboolean restart; /* a finished analysis of this video and model is redone from frame 0 */
} MimicaAnalysisOptions;

void mimica_analysis_options_init(MimicaAnalysisOptions *o);

/* Stage timings (wall time spent by the stage's thread in the stage), seconds. */
typedef enum {
    MIMICA_STAGE_DECODE, /* the tracking thread waiting for decoded frames */
    MIMICA_STAGE_DETECT, /* cascade: new faces and the per-frame face check */
    MIMICA_STAGE_LANDMARKS,
    MIMICA_STAGE_POSE,
    MIMICA_STAGE_FEATURES, /* geometry features or alignment + network input */
    MIMICA_STAGE_AUS,      /* network inference or the geometry estimator */
    MIMICA_STAGE_STORE,
    MIMICA_STAGE_CALIBRATE,
    MIMICA_N_STAGES,
} MimicaAnalysisStage;
const char *mimica_analysis_stage_name(MimicaAnalysisStage stage);

typedef struct {
    gint64 video_id, model_id, analysis_id;
    gint64 first_frame; /* where this run started (> 0 when resumed) */
    gint64 n_frames;    /* frames analysed and stored by this run */
    gint64 n_total;     /* frames in the video */
    gint64 n_face_rows; /* rows with a face (success 1) stored by this run */
    int n_persons;      /* face tracks of the video */
    gboolean truncated; /* the video ends early or is damaged: results up to there */
    double seconds;     /* wall time of this run */
    double stage_s[MIMICA_N_STAGES];
} MimicaAnalysisStats;

typedef void (*MimicaAnalysisProgressFunc)(gint64 done, gint64 total, const char *text,
                                           gpointer user_data);

/* Analyses VIDEO_ID of STORE (its path as stored) with the model of O, resuming an interrupted
 * run; called on one thread (a job's), which must not use STORE elsewhere meanwhile. PROGRESS is
 * called on this thread. Returns FALSE with ERROR on failure or when cancelled (then
 * G_IO_ERROR_CANCELLED, what was stored stays and resumes next time). A damaged or truncated
 * video gives TRUE with stats->truncated. */
gboolean mimica_analysis_run(MimicaStore *store, gint64 video_id, const MimicaAnalysisOptions *o,
                             GCancellable *cancellable, MimicaAnalysisProgressFunc progress,
                             gpointer user_data, MimicaAnalysisStats *stats, GError **error);

/* Recomputes every person's baseline and the AU values of a finished analysis (e.g. with a
 * segment the user picked: O's baseline_start/end and smooth are used). */
gboolean mimica_analysis_calibrate(MimicaStore *store, gint64 video_id, gint64 model_id,
                                   const MimicaAnalysisOptions *o, GCancellable *cancellable,
                                   GError **error);

/* The stream facts of a video (or image folder) for the store, from the media layer's probe:
 * a demux pass for the frame index and the SHA-256 of its bytes. The path is made absolute so
 * that the project works from any folder; *TRUNCATED (may be NULL) says the file is cut short. */
gboolean mimica_analysis_probe_video(const char *path, MimicaVideoFacts *facts, gboolean *truncated,
                                     GCancellable *cancellable, GError **error);
/* The video of PATH in the project: found by its content hash, or probed and added. */
gint64 mimica_analysis_add_video(MimicaStore *store, const char *path, GCancellable *cancellable,
                                 GError **error);

/* The job kind "analyse" on a runner. Parameters (JSON object): "video_id" (required), "model",
 * "backend", "max_faces", "smooth", "baseline" ([start, end]), "batch", "min_face", "restart".
 * The job's message is a one-line summary; the stats of the last run of this runner's analyse
 * jobs can be read with mimica_analysis_job_stats (owner thread, after "finished"). */
void mimica_analysis_register(MimicaJobRunner *runner);
/* Parameters JSON for an analyse job of VIDEO_ID with O (free it). */
char *mimica_analysis_job_parameters(gint64 video_id, const MimicaAnalysisOptions *o);
/* Copies the stats of the analyse job JOB_ID when this runner ran it; FALSE otherwise. */
gboolean mimica_analysis_job_stats(MimicaJobRunner *runner, gint64 job_id,
                                   MimicaAnalysisStats *out);

G_END_DECLS
