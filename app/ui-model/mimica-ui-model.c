/* mimica-ui-model.c: the window's read queries over the project store (see the header). */
#include "mimica-ui-model.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "aunet/mim-json.h"

static gboolean sql_fail(MimicaStore *store, GError **error)
{
    g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_FAILED, "%s",
                sqlite3_errmsg(mimica_store_get_db(store)));
    return FALSE;
}

static sqlite3_stmt *prepare(MimicaStore *store, const char *sql, GError **error)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(mimica_store_get_db(store), sql, -1, &st, NULL) != SQLITE_OK) {
        sql_fail(store, error);
        return NULL;
    }
    return st;
}

gint64 mimica_ui_model_latest_model(MimicaStore *store, gint64 video_id, GError **error)
{
    MimicaUiAnalysisState state;
    if (!mimica_ui_model_analysis_state(store, video_id, &state, error))
        return 0;
    return state.model_id;
}

gboolean mimica_ui_model_analysis_state(MimicaStore *store, gint64 video_id,
                                        MimicaUiAnalysisState *out, GError **error)
{
    g_return_val_if_fail(store != NULL && out != NULL, FALSE);
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = prepare(store,
                               "SELECT model_id, state = 'done', next_frame, n_frames FROM analyses"
                               " WHERE video_id = ?1 ORDER BY coalesce(finished, started) DESC,"
                               " id DESC LIMIT 1",
                               error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, video_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->model_id = sqlite3_column_int64(st, 0);
        out->done = sqlite3_column_int(st, 1);
        out->next_frame = sqlite3_column_int64(st, 2);
        out->n_frames = sqlite3_column_int64(st, 3);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sql_fail(store, error);
    return TRUE;
}

gboolean mimica_ui_model_analysis_by(MimicaStore *store, gint64 video_id, gint64 model_id,
                                     MimicaUiAnalysisState *out, GError **error)
{
    g_return_val_if_fail(store != NULL && out != NULL, FALSE);
    memset(out, 0, sizeof *out);
    MimicaAnalysisRow row;
    GError *local = NULL;
    if (!mimica_store_analysis_get(store, video_id, model_id, &row, &local)) {
        /* no analysis by that model: an empty state, not an error */
        gboolean none = g_error_matches(local, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
        if (none)
            g_error_free(local);
        else
            g_propagate_error(error, local);
        return none;
    }
    out->model_id = row.model_id;
    out->done = row.done;
    out->next_frame = row.next_frame;
    out->n_frames = row.n_frames;
    mimica_analysis_row_clear(&row);
    return TRUE;
}

static void annotator_clear(gpointer data)
{
    MimicaUiAnnotator *a = data;
    g_free(a->name);
}

GArray *mimica_ui_annotators(MimicaStore *store, gint64 video_id, GError **error)
{
    g_return_val_if_fail(store != NULL, NULL);
    sqlite3_stmt *st = prepare(store,
                               "SELECT a.id, a.name, (SELECT count(*) FROM labels_current l"
                               "  WHERE l.annotator_id = a.id AND (?1 = 0 OR l.video_id = ?1))"
                               " FROM annotators a ORDER BY a.name",
                               error);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, video_id);
    GArray *out = g_array_new(FALSE, TRUE, sizeof(MimicaUiAnnotator));
    g_array_set_clear_func(out, annotator_clear);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        MimicaUiAnnotator a = {
            .id = sqlite3_column_int64(st, 0),
            .name = g_strdup((const char *)sqlite3_column_text(st, 1)),
            .n_labels = sqlite3_column_int64(st, 2),
        };
        g_array_append_val(out, a);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        g_array_unref(out);
        sql_fail(store, error);
        return NULL;
    }
    return out;
}

static gboolean curves_row(int track, const MimicaPrediction *row, gpointer data)
{
    MimicaUiCurves *c = data;
    if (row->frame < 0 || row->frame >= c->n_frames || !row->success)
        return TRUE;
    float *dst = c->prob + row->frame * c->n_aus;
    for (int i = 0; i < c->n_aus && i < row->n_aus; i++)
        dst[i] = row->au_prob[i];
    return TRUE;
}

MimicaUiCurves *mimica_ui_curves_load(MimicaStore *store, gint64 video_id, gint64 model_id,
                                      int track, gint64 n_frames, GError **error)
{
    g_return_val_if_fail(store != NULL && n_frames >= 0, NULL);
    MimicaUiCurves *c = g_new0(MimicaUiCurves, 1);
    c->n_frames = n_frames;
    c->n_aus = model_id > 0 ? mimica_store_get_model_aus(store, model_id, c->aus, error) : 0;
    if (c->n_aus < 0) {
        g_free(c);
        return NULL;
    }
    gsize n = (gsize)MAX(n_frames, 1) * (gsize)MAX(c->n_aus, 1);
    c->prob = g_new(float, n);
    for (gsize i = 0; i < n; i++)
        c->prob[i] = NAN;
    if (model_id > 0 && c->n_aus > 0 &&
        !mimica_store_foreach_prediction(store, video_id, model_id, track, 0, -1, curves_row, c,
                                         error)) {
        mimica_ui_curves_free(c);
        return NULL;
    }
    return c;
}

void mimica_ui_curves_free(MimicaUiCurves *curves)
{
    if (!curves)
        return;
    g_free(curves->prob);
    g_free(curves);
}

int mimica_ui_curves_column(const MimicaUiCurves *curves, int au)
{
    for (int i = 0; curves && i < curves->n_aus; i++)
        if (curves->aus[i] == au)
            return i;
    return -1;
}

float mimica_ui_curves_get(const MimicaUiCurves *curves, gint64 frame, int au)
{
    int col = mimica_ui_curves_column(curves, au);
    if (col < 0 || frame < 0 || frame >= curves->n_frames)
        return NAN;
    return curves->prob[frame * curves->n_aus + col];
}

typedef struct {
    GArray *out;
    int au;
} LabelsIn;

static gboolean collect_label(const MimicaLabel *label, gpointer data)
{
    LabelsIn *li = data;
    if (li->au == 0 || label->au == li->au) {
        MimicaUiLabel l = {
            .event = label->event,
            .frame_start = label->frame_start,
            .frame_end = label->frame_end,
            .au = label->au,
            .value = label->value,
        };
        g_array_append_val(li->out, l);
    }
    return TRUE;
}

GArray *mimica_ui_labels_in_range(MimicaStore *store, gint64 video_id, const char *annotator,
                                  int au, gint64 start, gint64 end, GError **error)
{
    g_return_val_if_fail(store != NULL, NULL);
    LabelsIn li = {g_array_new(FALSE, FALSE, sizeof(MimicaUiLabel)), au};
    start = MAX(start, 0);
    end = MAX(end, start);
    /* the store's windowed query: bounded time however many events the project holds */
    if (!mimica_store_foreach_label_in(store, video_id, start, end, annotator, collect_label, &li,
                                       error)) {
        g_array_unref(li.out);
        return NULL;
    }
    return li.out;
}

gboolean mimica_ui_labels_value_at(GArray *labels, int au, gint64 frame, MimicaLabelValue *out)
{
    for (guint i = labels ? labels->len : 0; i-- > 0;) {
        const MimicaUiLabel *l = &g_array_index(labels, MimicaUiLabel, i);
        if (l->au == au && l->frame_start <= frame && frame <= l->frame_end) {
            *out = l->value;
            return TRUE;
        }
    }
    return FALSE;
}

gint64 mimica_ui_label_edge(MimicaStore *store, gint64 video_id, const char *annotator, int au,
                            gint64 frame, int direction, GError **error)
{
    /* edges: a segment's first frame and the frame after its last */
    const char *sql_next = "SELECT min(e) FROM (SELECT l.frame_start AS e"
                           " FROM labels_current l JOIN annotators a ON a.id = l.annotator_id"
                           " WHERE l.video_id = ?1 AND (?2 IS NULL OR a.name = ?2) AND l.au = ?3"
                           " UNION ALL SELECT l.frame_end + 1"
                           " FROM labels_current l JOIN annotators a ON a.id = l.annotator_id"
                           " WHERE l.video_id = ?1 AND (?2 IS NULL OR a.name = ?2) AND l.au = ?3)"
                           " WHERE e > ?4";
    const char *sql_prev = "SELECT max(e) FROM (SELECT l.frame_start AS e"
                           " FROM labels_current l JOIN annotators a ON a.id = l.annotator_id"
                           " WHERE l.video_id = ?1 AND (?2 IS NULL OR a.name = ?2) AND l.au = ?3"
                           " UNION ALL SELECT l.frame_end + 1"
                           " FROM labels_current l JOIN annotators a ON a.id = l.annotator_id"
                           " WHERE l.video_id = ?1 AND (?2 IS NULL OR a.name = ?2) AND l.au = ?3)"
                           " WHERE e < ?4";
    sqlite3_stmt *st = prepare(store, direction > 0 ? sql_next : sql_prev, error);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, video_id);
    if (annotator)
        sqlite3_bind_text(st, 2, annotator, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, au);
    sqlite3_bind_int64(st, 4, frame);
    gint64 edge = -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        edge = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        sql_fail(store, error);
    return edge;
}

#define DISAGREEMENT_WINDOW 4096

gint64 mimica_ui_next_disagreement(MimicaStore *store, gint64 video_id, const char *annotator,
                                   const MimicaUiCurves *curves, int au, double threshold,
                                   gint64 frame, int direction, GError **error)
{
    g_return_val_if_fail(store != NULL && curves != NULL, -1);
    int step = direction > 0 ? 1 : -1;
    gint64 f = frame + step;
    while (f >= 0 && f < curves->n_frames) {
        gint64 lo = step > 0 ? f : MAX(0, f - DISAGREEMENT_WINDOW + 1);
        gint64 hi = step > 0 ? MIN(curves->n_frames - 1, f + DISAGREEMENT_WINDOW - 1) : f;
        g_autoptr(GArray) labels =
            mimica_ui_labels_in_range(store, video_id, annotator, au, lo, hi, error);
        if (!labels)
            return -1;
        for (gint64 g = f; g >= lo && g <= hi; g += step) {
            for (guint i = labels->len; i-- > 0;) {
                const MimicaUiLabel *l = &g_array_index(labels, MimicaUiLabel, i);
                if (g < l->frame_start || g > l->frame_end)
                    continue;
                /* the latest label of this AU at g decides; skip older ones of the same AU */
                gboolean newer = FALSE;
                for (guint j = i + 1; j < labels->len && !newer; j++) {
                    const MimicaUiLabel *m = &g_array_index(labels, MimicaUiLabel, j);
                    newer = m->au == l->au && g >= m->frame_start && g <= m->frame_end;
                }
                if (newer)
                    continue;
                float p = mimica_ui_curves_get(curves, g, l->au);
                if (isnan(p))
                    continue;
                if ((p >= threshold) != mimica_label_value_is_present(l->value))
                    return g;
            }
        }
        f = step > 0 ? hi + 1 : lo - 1;
    }
    return -1;
}

/* Fine-tune results -----------------------------------------------------------------------------
 */

static int au_of_key(const char *key)
{
    while (*key && !g_ascii_isdigit(*key))
        key++;
    return *key ? atoi(key) : 0;
}

static int result_column(MimicaUiFinetuneResult *r, int au)
{
    for (int i = 0; i < r->n_aus; i++)
        if (r->aus[i] == au)
            return i;
    if (r->n_aus >= MIMICA_MAX_AUS)
        return -1;
    r->aus[r->n_aus] = au;
    r->f1_before[r->n_aus] = r->f1_after[r->n_aus] = NAN;
    return r->n_aus++;
}

gboolean mimica_ui_finetune_result_parse(const char *json, MimicaUiFinetuneResult *out,
                                         GError **error)
{
    char err[256];
    mim_json_doc *doc = NULL;
    out->n_aus = 0;
    out->mean_before = out->mean_after = NAN;
    if (mim_json_parse(json, strlen(json), &doc, err, sizeof err) != 0) {
        g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE, "model metrics: %s", err);
        return FALSE;
    }
    const mim_json *root = mim_json_root(doc);
    const mim_json *v;
    if ((v = mim_json_get(root, "mean_f1_before")) && v->type == MIM_JSON_NUMBER)
        out->mean_before = v->number;
    if ((v = mim_json_get(root, "mean_f1_after")) && v->type == MIM_JSON_NUMBER)
        out->mean_after = v->number;
    for (int which = 0; which < 2; which++) {
        const mim_json *obj = mim_json_get(root, which ? "f1_after" : "f1_before");
        for (const mim_json *m = obj && obj->type == MIM_JSON_OBJECT ? obj->child : NULL; m;
             m = m->next) {
            int au = au_of_key(m->key);
            int col = m->type == MIM_JSON_NUMBER && au > 0 ? result_column(out, au) : -1;
            if (col < 0)
                continue;
            if (which)
                out->f1_after[col] = m->number;
            else
                out->f1_before[col] = m->number;
        }
    }
    mim_json_doc_free(doc);
    return TRUE;
}

gboolean mimica_ui_finetune_result_load(MimicaStore *store, gint64 model_id,
                                        MimicaUiFinetuneResult *out, GError **error)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = prepare(store,
                               "SELECT id, name, file, metrics FROM models"
                               " WHERE ?1 = 0 OR id = ?1 ORDER BY id DESC LIMIT 1",
                               error);
    if (!st)
        return FALSE;
    sqlite3_bind_int64(st, 1, model_id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            g_set_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND, "no model");
        else
            sql_fail(store, error);
        return FALSE;
    }
    out->model_id = sqlite3_column_int64(st, 0);
    out->name = g_strdup((const char *)sqlite3_column_text(st, 1));
    out->file = g_strdup((const char *)sqlite3_column_text(st, 2));
    g_autofree char *metrics = g_strdup((const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    return mimica_ui_finetune_result_parse(metrics ? metrics : "{}", out, error);
}

void mimica_ui_finetune_result_clear(MimicaUiFinetuneResult *r)
{
    g_clear_pointer(&r->name, g_free);
    g_clear_pointer(&r->file, g_free);
}
