/* mimica-store-models.h: the models registry of a project (the models table of 001-initial.sql):
 * model rows with their file, parent and metrics, the keep/discard decision on a fine-tuned
 * model, and which model analysed a video.
 *
 * The decision lives in the metrics JSON under the key "decision": "pending" (a new fine-tuned
 * model, not yet judged), "kept" or "discarded"; a row without the key counts as kept (models
 * registered by analysis or import). Discarding never touches the parent. */
#pragma once

#include <glib.h>

#include "mimica-store.h"

G_BEGIN_DECLS

typedef enum {
    MIMICA_MODEL_KEPT,
    MIMICA_MODEL_PENDING,
    MIMICA_MODEL_DISCARDED,
} MimicaModelDecision;

typedef struct {
    gint64 id;
    char *file;
    char *name;
    gint64 parent_id; /* 0 = none */
    char *aus;        /* "1,2,4,6" */
    char *metrics;    /* JSON object */
    gint64 created_ms;
    MimicaModelDecision decision;
} MimicaModelRow;

void mimica_model_row_clear(MimicaModelRow *row);

/* One model; FALSE with MIMICA_STORE_ERROR_NOT_FOUND if there is no such row. */
gboolean mimica_store_models_get(MimicaStore *store, gint64 model_id, MimicaModelRow *out,
                                 GError **error);
/* Every model, ascending id (MimicaModelRow elements, cleared with the array); NULL on error. */
GArray *mimica_store_models_list(MimicaStore *store, GError **error);
/* The model of VIDEO's most recently started analysis, 0 if none, -1 on error. */
gint64 mimica_store_models_latest_analysis(MimicaStore *store, gint64 video_id, GError **error);
/* Marks a model kept or discarded (decision KEPT / DISCARDED; a pending model only: a kept or
 * discarded one fails with MIMICA_STORE_ERROR_INVALID). */
gboolean mimica_store_models_decide(MimicaStore *store, gint64 model_id,
                                    MimicaModelDecision decision, GError **error);
/* Replaces the metrics JSON of a model (must be an object). */
gboolean mimica_store_models_set_metrics(MimicaStore *store, gint64 model_id,
                                         const char *metrics_json, GError **error);

G_END_DECLS
