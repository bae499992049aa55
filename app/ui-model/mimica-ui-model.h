/* mimica-ui-model.h: GLib-only queries for the window (no GTK): the model a video was analysed
 * with, its per-frame AU curves, the labels of a window of frames, label edges and the search
 * for frames where the model and the human label disagree.
 *
 * Everything runs on the caller's thread with the caller's store connection; each query is one
 * bounded SQL statement (the timeline asks only for the frames it shows). */
#pragma once

#include "store/mimica-store.h"

G_BEGIN_DECLS

/* The model of the newest analysis of VIDEO_ID (done or running); 0 when there is none. */
gint64 mimica_ui_model_latest_model(MimicaStore *store, gint64 video_id, GError **error);

/* Analysis state of a video under its newest model, for the sidebar. */
typedef struct {
    gint64 model_id; /* 0: never analysed */
    gboolean done;
    gint64 next_frame, n_frames;
} MimicaUiAnalysisState;
gboolean mimica_ui_model_analysis_state(MimicaStore *store, gint64 video_id,
                                        MimicaUiAnalysisState *out, GError **error);

/* The analysis of VIDEO_ID by MODEL_ID (OUT->model_id 0 when there is none). */
gboolean mimica_ui_model_analysis_by(MimicaStore *store, gint64 video_id, gint64 model_id,
                                     MimicaUiAnalysisState *out, GError **error);

/* The sidebar's annotators: each with the number of its labels that hold (labels_current) on
 * VIDEO_ID (0 = the whole project), by name. An array of MimicaUiAnnotator (cleared by it). */
typedef struct {
    gint64 id;
    char *name;
    gint64 n_labels;
} MimicaUiAnnotator;
GArray *mimica_ui_annotators(MimicaStore *store, gint64 video_id, GError **error);

/* The AU curves of VIDEO under MODEL, track TRACK: N_FRAMES x N_AUS probabilities (row-major by
 * frame, NaN where no face or unknown). */
typedef struct {
    gint64 n_frames;
    int n_aus;
    int aus[MIMICA_MAX_AUS];
    float *prob; /* (n_frames, n_aus) */
} MimicaUiCurves;
MimicaUiCurves *mimica_ui_curves_load(MimicaStore *store, gint64 video_id, gint64 model_id,
                                      int track, gint64 n_frames, GError **error);
void mimica_ui_curves_free(MimicaUiCurves *curves);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaUiCurves, mimica_ui_curves_free)
/* Column of AU in the curves, -1 if the model has no such output. */
int mimica_ui_curves_column(const MimicaUiCurves *curves, int au);
/* Probability of AU at FRAME, NaN when unknown. */
float mimica_ui_curves_get(const MimicaUiCurves *curves, gint64 frame, int au);

/* One current label (labels_current) of one annotator. */
typedef struct {
    gint64 event;
    gint64 frame_start, frame_end; /* inclusive */
    int au;
    MimicaLabelValue value;
} MimicaUiLabel;

/* The current labels of ANNOTATOR (NULL = all) on VIDEO that touch frames [START, END], AU 0 =
 * every AU, in event order (later events win where they overlap). An array of MimicaUiLabel. */
GArray *mimica_ui_labels_in_range(MimicaStore *store, gint64 video_id, const char *annotator,
                                  int au, gint64 start, gint64 end, GError **error);
/* The label value of FRAME among LABELS (the last event covering it wins); FALSE if none. */
gboolean mimica_ui_labels_value_at(GArray *labels, int au, gint64 frame, MimicaLabelValue *out);

/* The nearest label edge of AU after FRAME (DIRECTION > 0) or before it (< 0): an edge is a
 * segment's first frame or the frame after its last. -1 when there is none. */
gint64 mimica_ui_label_edge(MimicaStore *store, gint64 video_id, const char *annotator, int au,
                            gint64 frame, int direction, GError **error);

/* The nearest frame after FRAME (DIRECTION > 0) or before it (< 0) where AU is labelled and the
 * label's presence differs from the model's (probability >= THRESHOLD); AU 0 = any AU of the
 * curves. -1 when there is none. Reads the labels in windows of a few thousand frames. */
gint64 mimica_ui_next_disagreement(MimicaStore *store, gint64 video_id, const char *annotator,
                                   const MimicaUiCurves *curves, int au, double threshold,
                                   gint64 frame, int direction, GError **error);

/* The metrics of a fine-tuned model (models.metrics: "f1_before"/"f1_after" objects of AU ->
 * F1, "mean_f1_before"/"mean_f1_after"). */
typedef struct {
    gint64 model_id;
    char *name, *file;
    int n_aus;
    int aus[MIMICA_MAX_AUS];
    double f1_before[MIMICA_MAX_AUS], f1_after[MIMICA_MAX_AUS]; /* NaN where absent */
    double mean_before, mean_after;                             /* NaN where absent */
} MimicaUiFinetuneResult;
/* Reads model MODEL_ID (0 = the newest model of the project) into OUT (clear it). */
gboolean mimica_ui_finetune_result_load(MimicaStore *store, gint64 model_id,
                                        MimicaUiFinetuneResult *out, GError **error);
void mimica_ui_finetune_result_clear(MimicaUiFinetuneResult *r);
/* Parses a metrics JSON text into OUT's AU and mean fields; FALSE with ERROR if not JSON. */
gboolean mimica_ui_finetune_result_parse(const char *json, MimicaUiFinetuneResult *out,
                                         GError **error);

/* The review queue: unlabelled frames ordered by the model's uncertainty (the AU whose
 * probability is nearest THRESHOLD), then by distance from the nearest labelled frame (farthest
 * first). At most MAX_ITEMS items (MimicaUiReviewItem) of ANNOTATOR's labels (NULL = anyone's). */
typedef struct {
    gint64 frame;
    int au;            /* the most uncertain AU there */
    float prob;        /* its probability */
    float uncertainty; /* 1 at THRESHOLD, 0 at 0 or 1 */
    gint64 distance;   /* frames to the nearest labelled frame (G_MAXINT64: none labelled) */
} MimicaUiReviewItem;
GArray *mimica_ui_review_queue(MimicaStore *store, gint64 video_id, const char *annotator,
                               const MimicaUiCurves *curves, double threshold, guint max_items,
                               GError **error);

/* Agreement per AU between each pair of raters over the frames both labelled: every annotator
 * of VIDEO, and the model (rater name "model", present = probability >= THRESHOLD; only with
 * CURVES). Presence only (an intensity counts as present). */
typedef struct {
    int au;
    char *rater_a, *rater_b;
    gint64 n_frames; /* frames both rated */
    double kappa;    /* Cohen's kappa; NaN when undefined (no frames, or one class only) */
    double f1;       /* F1 of B against A as the reference; NaN when A has no positive */
} MimicaUiAgreement;
/* An array of MimicaUiAgreement (cleared by the array), ordered by AU then pair. */
GArray *mimica_ui_agreement(MimicaStore *store, gint64 video_id, const MimicaUiCurves *curves,
                            double threshold, GError **error);
/* CSV: au,rater_a,rater_b,frames,kappa,f1 */
char *mimica_ui_agreement_to_csv(GArray *agreement);
char *mimica_ui_review_queue_to_csv(GArray *queue);

/* Whether a label value means the AU is there (present or an intensity). */
static inline gboolean mimica_label_value_is_present(MimicaLabelValue v)
{
    return v != MIMICA_LABEL_ABSENT;
}

G_END_DECLS
