/* mimica-store-analysis.c: what the analysis pipeline and the job runner keep in a project:
 * analyses (how far each video's analysis by a model got), per-person calibrations, reading
 * predictions back in bulk, and the job queue. */
#include <math.h>
#include <string.h>

#include "mimica-store-private.h"

static gint64 now_ms(void)
{
    return g_get_real_time() / 1000;
}

gint64 mimica_store_find_model(MimicaStore *store, const char *file, const char *name,
                               GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store, "SELECT max(id) FROM models WHERE file = ?1 AND name = ?2", error);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        _mimica_store_set_error(store, rc, error, "finding a model");
    return id;
}

int mimica_store_get_model_aus(MimicaStore *store, gint64 model_id, int *aus, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store, "SELECT aus FROM models WHERE id = ?1", error);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st), n = -1;
    if (rc == SQLITE_ROW &&
        !_mimica_store_parse_au_list((const char *)sqlite3_column_text(st, 0), aus, &n)) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                    "%s: model %lld has no valid AU list", store->path, (long long)model_id);
        n = -1;
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "%s: no model %lld",
                    store->path, (long long)model_id);
    else if (rc != SQLITE_ROW)
        _mimica_store_set_error(store, rc, error, "reading a model");
    return n;
}

gint64 mimica_store_find_video(MimicaStore *store, const char *content_hash, GError **error)
{
    sqlite3_stmt *st =
        _mimica_store_stmt(store, "SELECT id FROM videos WHERE content_hash = ?1", error);
    if (!st)
        return 0;
    sqlite3_bind_text(st, 1, content_hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        _mimica_store_set_error(store, rc, error, "finding a video");
    return id;
}

/* Analyses ---------------------------------------------------------------------------------- */

void mimica_analysis_row_clear(MimicaAnalysisRow *row)
{
    g_clear_pointer(&row->parameters, g_free);
}

static gboolean analysis_read(MimicaStore *store, gint64 video_id, gint64 model_id,
                              MimicaAnalysisRow *out, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "SELECT id, parameters, state, next_frame, n_frames"
                                          " FROM analyses WHERE video_id = ?1 AND model_id = ?2",
                                          error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, model_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = sqlite3_column_int64(st, 0);
        out->video_id = video_id;
        out->model_id = model_id;
        out->parameters = g_strdup((const char *)sqlite3_column_text(st, 1));
        out->done = strcmp((const char *)sqlite3_column_text(st, 2), "done") == 0;
        out->next_frame = sqlite3_column_int64(st, 3);
        out->n_frames = sqlite3_column_int64(st, 4);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: video %lld has no analysis by model %lld", store->path,
                    (long long)video_id, (long long)model_id);
    else if (rc != SQLITE_ROW)
        _mimica_store_set_error(store, rc, error, "reading an analysis");
    return rc == SQLITE_ROW;
}

gboolean mimica_store_analysis_get(MimicaStore *store, gint64 video_id, gint64 model_id,
                                   MimicaAnalysisRow *out, GError **error)
{
    return analysis_read(store, video_id, model_id, out, error);
}

gboolean mimica_store_analysis_begin(MimicaStore *store, gint64 video_id, gint64 model_id,
                                     const char *parameters_json, gboolean restart_done,
                                     MimicaAnalysisRow *out, GError **error)
{
    if (!parameters_json)
        parameters_json = "{}";
    if (!_mimica_store_begin(store, "starting an analysis", error))
        return FALSE;
    GError *local = NULL;
    gboolean ok = FALSE, have = analysis_read(store, video_id, model_id, out, &local);
    if (!have && !g_error_matches(local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND)) {
        g_propagate_error(error, local);
        goto out;
    }
    g_clear_error(&local);
    if (have && out->done && restart_done) {
        /* a re-analysis starts from scratch: the old rows of this model go */
        sqlite3_stmt *del = _mimica_store_stmt(
            store,
            "DELETE FROM predictions WHERE model_id = ?2 AND face_id IN (SELECT id FROM faces"
            " WHERE video_id = ?1)",
            error);
        sqlite3_stmt *delc = _mimica_store_stmt(
            store,
            "DELETE FROM calibrations WHERE model_id = ?2 AND face_id IN (SELECT id FROM faces"
            " WHERE video_id = ?1)",
            error);
        sqlite3_stmt *reset = _mimica_store_stmt(
            store,
            "UPDATE analyses SET state = 'running', next_frame = 0, n_frames = 0, parameters ="
            " ?2, started = ?3, finished = NULL WHERE id = ?1",
            error);
        if (!del || !delc || !reset)
            goto out;
        sqlite3_bind_int64(del, 1, video_id);
        sqlite3_bind_int64(del, 2, model_id);
        sqlite3_bind_int64(delc, 1, video_id);
        sqlite3_bind_int64(delc, 2, model_id);
        sqlite3_bind_int64(reset, 1, out->id);
        sqlite3_bind_text(reset, 2, parameters_json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(reset, 3, now_ms());
        if (!_mimica_store_step_done(store, del, "restarting an analysis", error) ||
            !_mimica_store_step_done(store, delc, "restarting an analysis", error) ||
            !_mimica_store_step_done(store, reset, "restarting an analysis", error))
            goto out;
        mimica_analysis_row_clear(out);
        have = FALSE;
        if (!analysis_read(store, video_id, model_id, out, error))
            goto out;
    } else if (!have) {
        sqlite3_stmt *ins = _mimica_store_stmt(
            store,
            "INSERT INTO analyses (video_id, model_id, parameters, state, started)"
            " VALUES (?1, ?2, ?3, 'running', ?4)",
            error);
        if (!ins)
            goto out;
        sqlite3_bind_int64(ins, 1, video_id);
        sqlite3_bind_int64(ins, 2, model_id);
        sqlite3_bind_text(ins, 3, parameters_json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, now_ms());
        if (!_mimica_store_step_done(store, ins, "starting an analysis", error) ||
            !analysis_read(store, video_id, model_id, out, error))
            goto out;
    }
    ok = _mimica_store_commit(store, "starting an analysis", error);
out:
    if (!ok) {
        _mimica_store_rollback(store);
        mimica_analysis_row_clear(out);
    }
    return ok;
}

gboolean mimica_store_analysis_put(MimicaStore *store, const MimicaAnalysisRow *analysis,
                                   const MimicaPrediction *rows, const int *tracks, gsize n,
                                   gint64 next_frame, gint64 n_frames, GError **error)
{
    if (!_mimica_store_begin(store, "storing analysis results", error))
        return FALSE;
    sqlite3_stmt *st = NULL;
    gboolean ok =
        _mimica_store_put_rows(store, analysis->video_id, analysis->model_id, rows, tracks, 0, n,
                               error) &&
        (st = _mimica_store_stmt(
             store, "UPDATE analyses SET next_frame = ?2, n_frames = ?3 WHERE id = ?1", error));
    if (ok) {
        sqlite3_bind_int64(st, 1, analysis->id);
        sqlite3_bind_int64(st, 2, next_frame);
        sqlite3_bind_int64(st, 3, n_frames);
        ok = _mimica_store_step_done(store, st, "storing analysis results", error) &&
             _mimica_store_commit(store, "storing analysis results", error);
    }
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

gboolean mimica_store_analysis_finish(MimicaStore *store, gint64 analysis_id, GError **error)
{
    if (!_mimica_store_begin(store, "finishing an analysis", error))
        return FALSE;
    sqlite3_stmt *st = _mimica_store_stmt(
        store, "UPDATE analyses SET state = 'done', finished = ?2 WHERE id = ?1", error);
    gboolean ok = st != NULL;
    if (ok) {
        sqlite3_bind_int64(st, 1, analysis_id);
        sqlite3_bind_int64(st, 2, now_ms());
        ok = _mimica_store_step_done(store, st, "finishing an analysis", error) &&
             _mimica_store_commit(store, "finishing an analysis", error);
    }
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

/* Predictions in bulk ------------------------------------------------------------------------ */

GArray *mimica_store_list_tracks(MimicaStore *store, gint64 video_id, gint64 model_id,
                                 GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT f.track FROM faces f WHERE f.video_id = ?1 AND EXISTS (SELECT 1 FROM"
        " predictions p WHERE p.face_id = f.id AND p.model_id = ?2 AND p.success = 1)"
        " ORDER BY f.track",
        error);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, model_id);
    GArray *tracks = g_array_new(FALSE, FALSE, sizeof(int));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int t = sqlite3_column_int(st, 0);
        g_array_append_val(tracks, t);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "listing faces");
        g_array_unref(tracks);
        return NULL;
    }
    return tracks;
}

gboolean mimica_store_foreach_prediction(MimicaStore *store, gint64 video_id, gint64 model_id,
                                         int track, gint64 frame_start, gint64 frame_end,
                                         MimicaPredictionFunc func, gpointer user_data,
                                         GError **error)
{
    int n_aus = _mimica_store_model_n_aus(store, model_id, error);
    if (n_aus <= 0)
        return FALSE;
    /* its own statement (not the cache): FUNC may call back into the store */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        store->db,
        "SELECT f.track, p.frame, p.timestamp, p.confidence, p.success, p.box_x, p.box_y,"
        " p.box_w, p.box_h, p.landmarks, p.au_prob, p.au_intensity, p.pose"
        " FROM predictions p JOIN faces f ON f.id = p.face_id"
        " WHERE f.video_id = ?1 AND p.model_id = ?2 AND (?3 < 0 OR f.track = ?3)"
        " AND p.frame >= ?4 AND (?5 < 0 OR p.frame <= ?5) ORDER BY p.frame, f.track",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        _mimica_store_set_error(store, rc, error, "reading predictions");
        return FALSE;
    }
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int64(st, 2, model_id);
    sqlite3_bind_int(st, 3, track);
    sqlite3_bind_int64(st, 4, frame_start);
    sqlite3_bind_int64(st, 5, frame_end);
    gboolean in_tx = sqlite3_get_autocommit(store->db) &&
                     sqlite3_exec(store->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    MimicaPrediction *p = g_new0(MimicaPrediction, 1);
    gboolean ok = TRUE;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int t = sqlite3_column_int(st, 0);
        if (!_mimica_store_prediction_from_row(st, 2, n_aus, p))
            for (int a = 0; a < n_aus; a++)
                p->au_prob[a] = NAN;
        p->frame = sqlite3_column_int64(st, 1);
        if (!func(t, p, user_data))
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        _mimica_store_set_error(store, rc, error, "reading predictions");
        ok = FALSE;
    }
    g_free(p);
    sqlite3_finalize(st);
    if (in_tx)
        sqlite3_exec(store->db, "COMMIT", NULL, NULL, NULL);
    return ok;
}

gboolean mimica_store_update_aus(MimicaStore *store, gint64 video_id, int track, gint64 model_id,
                                 const MimicaPrediction *rows, gsize n, GError **error)
{
    int n_aus = _mimica_store_model_n_aus(store, model_id, error);
    if (n_aus <= 0 || !_mimica_store_begin(store, "updating AU values", error))
        return FALSE;
    gboolean ok = FALSE;
    gint64 face = _mimica_store_face_id(store, video_id, track, FALSE, error);
    sqlite3_stmt *st = face ? _mimica_store_stmt(store,
                                                 "UPDATE predictions SET au_prob = ?4,"
                                                 " au_intensity = ?5 WHERE face_id = ?1 AND"
                                                 " model_id = ?2 AND frame = ?3",
                                                 error)
                            : NULL;
    if (!st)
        goto out;
    guint32 prob[MIMICA_MAX_AUS], inten[MIMICA_MAX_AUS];
    for (gsize i = 0; i < n; i++) {
        const MimicaPrediction *p = &rows[i];
        if (p->n_aus != n_aus) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                        "%d AU values for a model of %d", p->n_aus, n_aus);
            goto out;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, face);
        sqlite3_bind_int64(st, 2, model_id);
        sqlite3_bind_int64(st, 3, p->frame);
        _mimica_store_floats_to_le(p->au_prob, prob, n_aus);
        sqlite3_bind_blob(st, 4, prob, 4 * n_aus, SQLITE_STATIC);
        if (p->has_intensity) {
            _mimica_store_floats_to_le(p->au_intensity, inten, n_aus);
            sqlite3_bind_blob(st, 5, inten, 4 * n_aus, SQLITE_STATIC);
        }
        if (!_mimica_store_step_done(store, st, "updating AU values", error))
            goto out;
    }
    ok = _mimica_store_commit(store, "updating AU values", error);
out:
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

/* Calibrations ------------------------------------------------------------------------------- */

gboolean mimica_store_put_calibration(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, const MimicaCalibration *cal, GError **error)
{
    if (cal->n_values < 1 || cal->n_values > MIMICA_CALIBRATION_MAX) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_INVALID,
                    "a calibration holds 1 to %d values, not %d", MIMICA_CALIBRATION_MAX,
                    cal->n_values);
        return FALSE;
    }
    if (!_mimica_store_begin(store, "storing a calibration", error))
        return FALSE;
    gboolean ok = FALSE;
    gint64 face = _mimica_store_face_id(store, video_id, track, TRUE, error);
    sqlite3_stmt *st =
        face ? _mimica_store_stmt(store,
                                  "INSERT OR REPLACE INTO calibrations (face_id, model_id, method,"
                                  " frame_start, frame_end, n_frames, baseline) VALUES (?1, ?2,"
                                  " ?3, ?4, ?5, ?6, ?7)",
                                  error)
             : NULL;
    if (st) {
        guint32 v[MIMICA_CALIBRATION_MAX];
        _mimica_store_floats_to_le(cal->values, v, cal->n_values);
        sqlite3_bind_int64(st, 1, face);
        sqlite3_bind_int64(st, 2, model_id);
        sqlite3_bind_text(st, 3, cal->from_segment ? "segment" : "auto", -1, SQLITE_STATIC);
        if (cal->frame_start >= 0)
            sqlite3_bind_int64(st, 4, cal->frame_start);
        if (cal->frame_end >= 0)
            sqlite3_bind_int64(st, 5, cal->frame_end);
        sqlite3_bind_int64(st, 6, cal->n_frames);
        sqlite3_bind_blob(st, 7, v, 4 * cal->n_values, SQLITE_STATIC);
        ok = _mimica_store_step_done(store, st, "storing a calibration", error) &&
             _mimica_store_commit(store, "storing a calibration", error);
    }
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

gboolean mimica_store_get_calibration(MimicaStore *store, gint64 video_id, int track,
                                      gint64 model_id, MimicaCalibration *out, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "SELECT c.method, c.frame_start, c.frame_end, c.n_frames, c.baseline FROM calibrations c"
        " JOIN faces f ON f.id = c.face_id WHERE f.video_id = ?1 AND f.track = ?2 AND"
        " c.model_id = ?3",
        error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    sqlite3_bind_int(st, 2, track);
    sqlite3_bind_int64(st, 3, model_id);
    int rc = sqlite3_step(st);
    gboolean ok = FALSE;
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->from_segment = strcmp((const char *)sqlite3_column_text(st, 0), "segment") == 0;
        out->frame_start =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 1);
        out->frame_end =
            sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2);
        out->n_frames = sqlite3_column_int64(st, 3);
        int bytes = sqlite3_column_bytes(st, 4);
        out->n_values = bytes / 4;
        ok = bytes % 4 == 0 && out->n_values >= 1 && out->n_values <= MIMICA_CALIBRATION_MAX &&
             _mimica_store_floats_from_blob(sqlite3_column_blob(st, 4), bytes, out->values,
                                            out->n_values);
        if (!ok)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_CORRUPT,
                        "%s: a calibration of face %d has a baseline of %d bytes", store->path,
                        track, bytes);
    } else if (rc == SQLITE_DONE) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND,
                    "%s: face %d of video %lld has no calibration under model %lld", store->path,
                    track, (long long)video_id, (long long)model_id);
    } else {
        _mimica_store_set_error(store, rc, error, "reading a calibration");
    }
    sqlite3_reset(st);
    return ok;
}

/* Jobs --------------------------------------------------------------------------------------- */

void mimica_job_row_clear(MimicaJobRow *row)
{
    g_clear_pointer(&row->kind, g_free);
    g_clear_pointer(&row->parameters, g_free);
    g_clear_pointer(&row->status, g_free);
    g_clear_pointer(&row->resume, g_free);
    g_clear_pointer(&row->message, g_free);
}

gint64 mimica_store_job_new(MimicaStore *store, const char *kind, const char *parameters_json,
                            GError **error)
{
    if (!_mimica_store_begin(store, "adding a job", error))
        return 0;
    gint64 id = 0;
    sqlite3_stmt *st = _mimica_store_stmt(
        store, "INSERT INTO jobs (kind, parameters, status, created) VALUES (?1, ?2, 'queued', ?3)",
        error);
    if (st) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, parameters_json ? parameters_json : "{}", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_ms());
        if (_mimica_store_step_done(store, st, "adding a job", error)) {
            id = sqlite3_last_insert_rowid(store->db);
            if (!_mimica_store_commit(store, "adding a job", error))
                id = 0;
        }
    }
    if (!id)
        _mimica_store_rollback(store);
    return id;
}

gboolean mimica_store_job_get(MimicaStore *store, gint64 job_id, MimicaJobRow *out, GError **error)
{
    sqlite3_stmt *st = _mimica_store_stmt(store,
                                          "SELECT kind, parameters, status, resume, message,"
                                          " done, total FROM jobs WHERE id = ?1",
                                          error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, job_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof *out);
        out->id = job_id;
        out->kind = g_strdup((const char *)sqlite3_column_text(st, 0));
        out->parameters = g_strdup((const char *)sqlite3_column_text(st, 1));
        out->status = g_strdup((const char *)sqlite3_column_text(st, 2));
        out->resume = g_strdup((const char *)sqlite3_column_text(st, 3));
        out->message = g_strdup((const char *)sqlite3_column_text(st, 4));
        out->done = sqlite3_column_int64(st, 5);
        out->total = sqlite3_column_int64(st, 6);
    } else if (rc == SQLITE_DONE) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "%s: no job %lld",
                    store->path, (long long)job_id);
    } else {
        _mimica_store_set_error(store, rc, error, "reading a job");
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW;
}

gboolean mimica_store_job_update(MimicaStore *store, gint64 job_id, const char *status, gint64 done,
                                 gint64 total, const char *resume_json, const char *message,
                                 GError **error)
{
    if (!_mimica_store_begin(store, "updating a job", error))
        return FALSE;
    sqlite3_stmt *st = _mimica_store_stmt(
        store,
        "UPDATE jobs SET status = coalesce(?2, status), done = coalesce(?3, done),"
        " total = coalesce(?4, total), resume = coalesce(?5, resume),"
        " message = coalesce(?6, message),"
        " started = CASE WHEN ?2 = 'running' AND started IS NULL THEN ?7 ELSE started END,"
        " finished = CASE WHEN ?2 IN ('done', 'failed', 'cancelled') THEN ?7 ELSE finished END"
        " WHERE id = ?1",
        error);
    gboolean ok = FALSE;
    if (st) {
        sqlite3_bind_int64(st, 1, job_id);
        if (status)
            sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
        if (done >= 0)
            sqlite3_bind_int64(st, 3, done);
        if (total >= 0)
            sqlite3_bind_int64(st, 4, total);
        if (resume_json)
            sqlite3_bind_text(st, 5, resume_json, -1, SQLITE_STATIC);
        if (message)
            sqlite3_bind_text(st, 6, message, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, now_ms());
        ok = _mimica_store_step_done(store, st, "updating a job", error);
        if (ok && sqlite3_changes(store->db) == 0) {
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "%s: no job %lld",
                        store->path, (long long)job_id);
            ok = FALSE;
        }
    }
    ok = ok && _mimica_store_commit(store, "updating a job", error);
    if (!ok)
        _mimica_store_rollback(store);
    return ok;
}

GArray *mimica_store_jobs_unfinished(MimicaStore *store, GError **error)
{
    return _mimica_store_ids(
        store, "SELECT id FROM jobs WHERE status IN ('queued', 'running') ORDER BY id",
        "listing jobs", error);
}
