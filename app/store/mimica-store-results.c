/* mimica-store-results.c: what the analysis and the trainer write: models, per-frame
 * predictions of each face, training runs. */
#include <math.h>
#include <string.h>

#include "mimica-store-private.h"

static gboolean check_json(MimicaStore *store, const char *json, const char *what, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, "SELECT json_valid(?1)", error);
    if (!st)
        return FALSE;
    sqlite3_bind_text(st, 1, json, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    gboolean valid = rc == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_reset(st);
    if (!valid)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID, "%s is not valid JSON",
                    what);
    return valid;
}

gboolean _mimica_store_step_done(MimicaStore *store, sqlite3_stmt *st, const char *context,
                                 GError **error)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, context);
        return FALSE;
    }
    return TRUE;
}

gint64 mimica_store_add_model(MimicaStore *store, const char *file, const char *name,
                              gint64 parent_id, const int *aus, int n_aus, const char *metrics_json,
                              GError **error)
{
    g_return_val_if_fail(store && file, 0);
    if (n_aus < 1 || n_aus > MIMICA_MAX_AUS) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "a model needs 1 to %d AUs, not %d", MIMICA_MAX_AUS, n_aus);
        return 0;
    }
    g_autoptr(GString) list = g_string_new(NULL);
    for (int i = 0; i < n_aus; i++) {
        if (aus[i] < 1 || aus[i] > 99) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                        "AU %d out of range (1..99)", aus[i]);
            return 0;
        }
        g_string_append_printf(list, "%s%d", i ? "," : "", aus[i]);
    }
    if (!metrics_json)
        metrics_json = "{}";
    if (!check_json(store, metrics_json, "model metrics", error) ||
        !_mimica_store_begin(store, "adding a model", error))
        return 0;
    gint64 id = 0;
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "INSERT INTO models (file, name, parent_id, aus, metrics,"
                                          " created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                          error);
    if (st) {
        sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_STATIC);
        if (parent_id)
            sqlite3_bind_int64(st, 3, parent_id);
        sqlite3_bind_text(st, 4, list->str, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, metrics_json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, g_get_real_time() / 1000);
        if (_mimica_store_step_done(store, st, "adding a model", error)) {
            id = sqlite3_last_insert_rowid(store->db);
            if (!_mimica_store_commit(store, "adding a model", error))
                id = 0;
        }
    }
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

int _mimica_store_model_n_aus(MimicaStore *store, gint64 model_id, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, "SELECT aus FROM models WHERE id = ?1", error);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st);
    int aus[MIMICA_MAX_AUS], n = -1;
    if (rc == SQLITE_ROW &&
        !_mimica_store_parse_au_list((const char *)sqlite3_column_text(st, 0), aus, &n))
        n = -2;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "%s: no model %lld",
                    store->path, (long long)model_id);
    else if (rc != SQLITE_ROW)
        _mimica_store_set_error(store, rc, error, "reading a model");
    else if (n == -2)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: model %lld has no valid AU list", store->path, (long long)model_id);
    return rc == SQLITE_ROW ? n : -1;
}

gint64 _mimica_store_face_id(MimicaStore *store, gint64 video_id, int track, gboolean create,
                             GError **error)
{
    if (create) {
        sqlite3_stmt *ins = _mimica_store_stmt(
            store, "INSERT OR IGNORE INTO faces (video_id, track) VALUES (?1, ?2)", error);
        if (!ins)
            return 0;
        sqlite3_bind_int64(ins, 1, video_id);
        sqlite3_bind_int(ins, 2, track);
        if (!_mimica_store_step_done(store, ins, "adding a face", error))
            return 0;
    }
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT id FROM faces WHERE video_id = ?1 AND track = ?2", error);
    if (!st)
        return 0;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int(st, 2, track);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: video %lld has no face %d", store->path, (long long)video_id, track);
    else if (rc != SQLITE_ROW)
        _mimica_store_set_error(store, rc, error, "finding a face");
    return id;
}

/* Writes N rows (face track tracks[i], or TRACK for all when TRACKS is NULL) of VIDEO by MODEL
 * inside the caller's transaction; the faces' first/last frames (success rows) follow. */
gboolean _mimica_store_put_rows(MimicaStore *store, gint64 video_id, gint64 model_id,
                                const MimicaPrediction *rows, const int *tracks, int track, gsize n,
                                GError **error)
{
    int n_aus = _mimica_store_model_n_aus(store, model_id, error);
    if (n_aus <= 0)
        return FALSE;
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "INSERT OR REPLACE INTO predictions (face_id, model_id, frame, timestamp,"
        " confidence, success, box_x, box_y, box_w, box_h, landmarks, au_prob,"
        " au_intensity, pose) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14)",
        error);
    sqlite3_stmt *span =
        _mimica_store_stmt(store,
                           "UPDATE faces SET first_frame = min(coalesce(first_frame, ?2), ?2),"
                           " last_frame = max(coalesce(last_frame, ?3), ?3) WHERE id = ?1",
                           error);
    if (!st || !span)
        return FALSE;
    /* faces met in this batch: track -> (face id, first and last success frame) */
    typedef struct {
        int track;
        gint64 face, first, last;
    } Seen;
    g_autoptr(GArray) seen = g_array_new(FALSE, FALSE, sizeof(Seen));
    guint32 lm[2 * MIMICA_N_LANDMARKS], prob[MIMICA_MAX_AUS], inten[MIMICA_MAX_AUS], pose[6];
    for (gsize i = 0; i < n; i++) {
        const MimicaPrediction *p = &rows[i];
        int t = tracks ? tracks[i] : track;
        if (p->n_aus != n_aus || p->frame < 0 || !isfinite(p->timestamp) || t < 0) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                        "prediction %zu (frame %lld, track %d): %d AU values for a model of %d, "
                        "or a bad frame, timestamp or track",
                        i, (long long)p->frame, t, p->n_aus, n_aus);
            return FALSE;
        }
        Seen *s = NULL;
        for (guint k = 0; k < seen->len && !s; k++)
            if (g_array_index(seen, Seen, k).track == t)
                s = &g_array_index(seen, Seen, k);
        if (!s) {
            Seen fresh = {t, _mimica_store_face_id(store, video_id, t, TRUE, error), -1, -1};
            if (!fresh.face)
                return FALSE;
            g_array_append_val(seen, fresh);
            s = &g_array_index(seen, Seen, seen->len - 1);
        }
        if (p->success) {
            s->first = s->first < 0 ? p->frame : MIN(s->first, p->frame);
            s->last = MAX(s->last, p->frame);
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, s->face);
        sqlite3_bind_int64(st, 2, model_id);
        sqlite3_bind_int64(st, 3, p->frame);
        sqlite3_bind_double(st, 4, p->timestamp);
        sqlite3_bind_double(st, 5, isfinite(p->confidence) ? p->confidence : 0.0);
        sqlite3_bind_int(st, 6, p->success ? 1 : 0);
        for (int k = 0; p->has_box && k < 4; k++)
            sqlite3_bind_double(st, 7 + k, p->box[k]);
        if (p->has_landmarks) {
            _mimica_store_floats_to_le(p->landmarks, lm, 2 * MIMICA_N_LANDMARKS);
            sqlite3_bind_blob(st, 11, lm, sizeof lm, SQLITE_STATIC);
        }
        _mimica_store_floats_to_le(p->au_prob, prob, n_aus);
        sqlite3_bind_blob(st, 12, prob, 4 * n_aus, SQLITE_STATIC);
        if (p->has_intensity) {
            _mimica_store_floats_to_le(p->au_intensity, inten, n_aus);
            sqlite3_bind_blob(st, 13, inten, 4 * n_aus, SQLITE_STATIC);
        }
        if (p->has_pose) {
            _mimica_store_floats_to_le(p->pose, pose, 6);
            sqlite3_bind_blob(st, 14, pose, sizeof pose, SQLITE_STATIC);
        }
        if (!_mimica_store_step_done(store, st, "storing predictions", error))
            return FALSE;
    }
    for (guint k = 0; k < seen->len; k++) {
        const Seen *s = &g_array_index(seen, Seen, k);
        if (s->first < 0)
            continue;
        sqlite3_bind_int64(span, 1, s->face);
        sqlite3_bind_int64(span, 2, s->first);
        sqlite3_bind_int64(span, 3, s->last);
        if (!_mimica_store_step_done(store, span, "storing predictions", error))
            return FALSE;
    }
    return TRUE;
}

gboolean mimica_store_put_predictions(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, const MimicaPrediction *rows, gsize n,
                                      GError **error)
{
    g_return_val_if_fail(store && (rows || n == 0), FALSE);
    if (track < 0) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID, "face track %d < 0",
                    track);
        return FALSE;
    }
    MimicaVideoFacts facts;
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return FALSE;
    mimica_video_facts_clear(&facts);
    if (!_mimica_store_begin(store, "storing predictions", error))
        return FALSE;
    gboolean ok = _mimica_store_put_rows(store, video_id, model_id, rows, NULL, track, n, error) &&
                  _mimica_store_commit(store, "storing predictions", error);
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

gboolean _mimica_store_prediction_from_row(sqlite3_stmt *st, int col, int n_aus,
                                           MimicaPrediction *out)
{
    memset(out, 0, sizeof *out);
    out->timestamp = sqlite3_column_double(st, col);
    out->confidence = (float)sqlite3_column_double(st, col + 1);
    out->success = sqlite3_column_int(st, col + 2) != 0;
    out->has_box = sqlite3_column_type(st, col + 3) != SQLITE_NULL;
    for (int k = 0; out->has_box && k < 4; k++)
        out->box[k] = (float)sqlite3_column_double(st, col + 3 + k);
    out->has_landmarks = _mimica_store_floats_from_blob(sqlite3_column_blob(st, col + 7),
                                                        sqlite3_column_bytes(st, col + 7),
                                                        out->landmarks, 2 * MIMICA_N_LANDMARKS);
    out->n_aus = n_aus;
    gboolean prob_ok = _mimica_store_floats_from_blob(
        sqlite3_column_blob(st, col + 8), sqlite3_column_bytes(st, col + 8), out->au_prob, n_aus);
    out->has_intensity =
        _mimica_store_floats_from_blob(sqlite3_column_blob(st, col + 9),
                                       sqlite3_column_bytes(st, col + 9), out->au_intensity, n_aus);
    out->has_pose = _mimica_store_floats_from_blob(
        sqlite3_column_blob(st, col + 10), sqlite3_column_bytes(st, col + 10), out->pose, 6);
    return prob_ok;
}

gboolean mimica_store_get_prediction(MimicaStore *store, gint64 video_id, int track,
                                     gint64 model_id, gint64 frame, MimicaPrediction *out,
                                     GError **error)
{
    int n_aus = _mimica_store_model_n_aus(store, model_id, error);
    if (n_aus <= 0)
        return FALSE;
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT p.timestamp, p.confidence, p.success, p.box_x, p.box_y, p.box_w, p.box_h,"
        " p.landmarks, p.au_prob, p.au_intensity, p.pose FROM predictions p JOIN faces f ON"
        " f.id = p.face_id WHERE f.video_id = ?1 AND f.track = ?2 AND p.model_id = ?3 AND"
        " p.frame = ?4",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int(st, 2, track);
    sqlite3_bind_int64(st, 3, model_id);
    sqlite3_bind_int64(st, 4, frame);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                        "%s: no prediction for video %lld face %d model %lld frame %lld",
                        store->path, (long long)video_id, track, (long long)model_id,
                        (long long)frame);
        else
            _mimica_store_set_error(store, rc, error, "reading a prediction");
        return FALSE;
    }
    gboolean prob_ok = _mimica_store_prediction_from_row(st, 0, n_aus, out);
    out->frame = frame;
    sqlite3_reset(st);
    if (!prob_ok) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: prediction of frame %lld has AU values of the wrong size", store->path,
                    (long long)frame);
        return FALSE;
    }
    return TRUE;
}

gint64 mimica_store_training_run_new(MimicaStore *store, gint64 model_in,
                                     const char *parameters_json, GError **error)
{
    if (!parameters_json)
        parameters_json = "{}";
    if (!check_json(store, parameters_json, "training parameters", error) ||
        !_mimica_store_begin(store, "adding a training run", error))
        return 0;
    gint64 id = 0;
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "INSERT INTO training_runs (model_in, parameters, status)"
                                          " VALUES (?1, ?2, 'queued')",
                                          error);
    if (st) {
        if (model_in)
            sqlite3_bind_int64(st, 1, model_in);
        sqlite3_bind_text(st, 2, parameters_json, -1, SQLITE_STATIC);
        if (_mimica_store_step_done(store, st, "adding a training run", error)) {
            id = sqlite3_last_insert_rowid(store->db);
            if (!_mimica_store_commit(store, "adding a training run", error))
                id = 0;
        }
    }
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

gboolean mimica_store_training_run_update(MimicaStore *store, gint64 run_id, const char *status,
                                          gint64 model_out, const char *log_append, GError **error)
{
    if (!_mimica_store_begin(store, "updating a training run", error))
        return FALSE;
    /* started: when it first runs; finished: when it reaches an end state */
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "UPDATE training_runs SET status = coalesce(?2, status),"
        " model_out = coalesce(?3, model_out), log = log || coalesce(?4, ''),"
        " started = CASE WHEN ?2 = 'running' AND started IS NULL THEN ?5 ELSE started END,"
        " finished = CASE WHEN ?2 IN ('done', 'failed', 'cancelled') THEN ?5 ELSE finished END"
        " WHERE id = ?1",
        error);
    gboolean ok = FALSE;
    if (st) {
        sqlite3_bind_int64(st, 1, run_id);
        if (status)
            sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        if (model_out)
            sqlite3_bind_int64(st, 3, model_out);
        if (log_append)
            sqlite3_bind_text(st, 4, log_append, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, g_get_real_time() / 1000);
        ok = _mimica_store_step_done(store, st, "updating a training run", error);
        if (ok && sqlite3_changes(store->db) == 0) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                        "%s: no training run %lld", store->path, (long long)run_id);
            ok = FALSE;
        }
    }
    ok = ok && _mimica_store_commit(store, "updating a training run", error);
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}
