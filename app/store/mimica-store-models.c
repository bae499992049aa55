/* mimica-store-models.c: the models registry (mimica-store-models.h). */
#include "mimica-store-models.h"

#include <sqlite3.h>
#include <string.h>

#include "mimica-store-private.h"

void mimica_model_row_clear(MimicaModelRow *row)
{
    g_free(row->file);
    g_free(row->name);
    g_free(row->aus);
    g_free(row->metrics);
    memset(row, 0, sizeof *row);
}

static MimicaModelDecision decision_parse(const char *s)
{
    if (s && !strcmp(s, "pending"))
        return MIMICA_MODEL_PENDING;
    if (s && !strcmp(s, "discarded"))
        return MIMICA_MODEL_DISCARDED;
    return MIMICA_MODEL_KEPT;
}

#define MODEL_COLUMNS                                                                              \
    "id, file, name, coalesce(parent_id, 0), aus, metrics, created,"                               \
    " json_extract(metrics, '$.decision')"

static void row_read(sqlite3_stmt *st, MimicaModelRow *out)
{
    out->id = sqlite3_column_int64(st, 0);
    out->file = g_strdup((const char *)sqlite3_column_text(st, 1));
    out->name = g_strdup((const char *)sqlite3_column_text(st, 2));
    out->parent_id = sqlite3_column_int64(st, 3);
    out->aus = g_strdup((const char *)sqlite3_column_text(st, 4));
    out->metrics = g_strdup((const char *)sqlite3_column_text(st, 5));
    out->created_ms = sqlite3_column_int64(st, 6);
    out->decision = decision_parse((const char *)sqlite3_column_text(st, 7));
}

gboolean mimica_store_models_get(MimicaStore *store, gint64 model_id, MimicaModelRow *out,
                                 GError **error)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT " MODEL_COLUMNS " FROM models WHERE id = ?1", error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row_read(st, out);
        sqlite3_reset(st);
        return TRUE;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "no model %" G_GINT64_FORMAT, model_id);
    else
        _mimica_store_set_error(store, rc, error, "reading a model");
    return FALSE;
}

GArray *mimica_store_models_list(MimicaStore *store, GError **error)
{
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT " MODEL_COLUMNS " FROM models ORDER BY id", error);
    if (!st)
        return NULL;
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(MimicaModelRow));
    g_array_set_clear_func(rows, (GDestroyNotify)mimica_model_row_clear);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        MimicaModelRow r;
        row_read(st, &r);
        g_array_append_val(rows, r);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "listing models");
        g_array_unref(rows);
        return NULL;
    }
    return rows;
}

gint64 mimica_store_models_latest_analysis(MimicaStore *store, gint64 video_id, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "SELECT model_id FROM analyses WHERE video_id = ?1"
                                          " ORDER BY started DESC, id DESC LIMIT 1",
                                          error);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, video_id);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "finding a video's analysis");
        return -1;
    }
    return id;
}

static gboolean update_metrics(MimicaStore *store, gint64 model_id, const char *sql,
                               const char *value, const char *context, GError **error)
{
    if (!_mimica_store_begin(store, context, error))
        return FALSE;
    sqlite3_stmt *st = _mimica_store_stmt(store, sql, error);
    gboolean ok = FALSE;
    if (st) {
        sqlite3_bind_int64(st, 1, model_id);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            _mimica_store_set_error(store, rc, error, context);
        else if (sqlite3_changes(mimica_store_get_db(store)) != 1)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                        "no model %" G_GINT64_FORMAT, model_id);
        else
            ok = _mimica_store_commit(store, context, error);
    }
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

gboolean mimica_store_models_decide(MimicaStore *store, gint64 model_id,
                                    MimicaModelDecision decision, GError **error)
{
    if (decision == MIMICA_MODEL_PENDING) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "a model can be kept or discarded, not made pending again");
        return FALSE;
    }
    MimicaModelRow row;
    if (!mimica_store_models_get(store, model_id, &row, error))
        return FALSE;
    MimicaModelDecision was = row.decision;
    mimica_model_row_clear(&row);
    if (was != MIMICA_MODEL_PENDING) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "model %" G_GINT64_FORMAT " was already %s", model_id,
                    was == MIMICA_MODEL_KEPT ? "kept" : "discarded");
        return FALSE;
    }
    return update_metrics(store, model_id,
                          "UPDATE models SET metrics = json_set(metrics, '$.decision', ?2)"
                          " WHERE id = ?1",
                          decision == MIMICA_MODEL_KEPT ? "kept" : "discarded",
                          "recording a model decision", error);
}

gboolean mimica_store_models_set_metrics(MimicaStore *store, gint64 model_id,
                                         const char *metrics_json, GError **error)
{
    if (!metrics_json || metrics_json[0] != '{') {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "model metrics must be a JSON object");
        return FALSE;
    }
    return update_metrics(store, model_id, "UPDATE models SET metrics = json(?2) WHERE id = ?1",
                          metrics_json, "setting model metrics", error);
}
