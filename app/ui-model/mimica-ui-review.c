/* mimica-ui-review.c: the review queue and the agreement view's numbers (see mimica-ui-model.h).
 * Both read every current label of one video once (the store's windowed query over the whole
 * video) and work on per-frame arrays. */
#include <math.h>
#include <stdlib.h>

#include "mimica-ui-model.h"

typedef struct {
    GHashTable *raters; /* name -> index + 1 */
    GPtrArray *names;
    GArray *labels; /* MimicaUiLabel with .event holding the rater index */
} AllLabels;

static gboolean collect_all(const MimicaLabel *label, gpointer data)
{
    AllLabels *al = data;
    gpointer idx = g_hash_table_lookup(al->raters, label->annotator);
    if (!idx) {
        g_ptr_array_add(al->names, g_strdup(label->annotator));
        idx = GUINT_TO_POINTER(al->names->len);
        g_hash_table_insert(al->raters, g_strdup(label->annotator), idx);
    }
    MimicaUiLabel l = {
        .event = GPOINTER_TO_UINT(idx) - 1,
        .frame_start = label->frame_start,
        .frame_end = label->frame_end,
        .au = label->au,
        .value = label->value,
    };
    g_array_append_val(al->labels, l);
    return TRUE;
}

static gboolean read_all(MimicaStore *store, gint64 video_id, gint64 n_frames,
                         const char *annotator, AllLabels *al, GError **error)
{
    al->raters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    al->names = g_ptr_array_new_with_free_func(g_free);
    al->labels = g_array_new(FALSE, FALSE, sizeof(MimicaUiLabel));
    return mimica_store_foreach_label_in(store, video_id, 0, MAX(n_frames - 1, 0), annotator,
                                         collect_all, al, error);
}

static void all_labels_clear(AllLabels *al)
{
    g_clear_pointer(&al->raters, g_hash_table_unref);
    g_clear_pointer(&al->names, g_ptr_array_unref);
    g_clear_pointer(&al->labels, g_array_unref);
}

static int compare_items(const void *pa, const void *pb)
{
    const MimicaUiReviewItem *a = pa, *b = pb;
    if (a->uncertainty != b->uncertainty)
        return a->uncertainty > b->uncertainty ? -1 : 1;
    if (a->distance != b->distance)
        return a->distance > b->distance ? -1 : 1;
    return a->frame < b->frame ? -1 : a->frame > b->frame;
}

GArray *mimica_ui_review_queue(MimicaStore *store, gint64 video_id, const char *annotator,
                               const MimicaUiCurves *curves, double threshold, guint max_items,
                               GError **error)
{
    g_return_val_if_fail(store != NULL && curves != NULL, NULL);
    gint64 n = curves->n_frames;
    AllLabels al = {0};
    if (!read_all(store, video_id, n, annotator, &al, error)) {
        all_labels_clear(&al);
        return NULL;
    }
    /* distance to the nearest labelled frame: two passes over a labelled mask */
    guint8 *labelled = g_malloc0((gsize)MAX(n, 1));
    for (guint i = 0; i < al.labels->len; i++) {
        const MimicaUiLabel *l = &g_array_index(al.labels, MimicaUiLabel, i);
        for (gint64 f = MAX(l->frame_start, 0); f <= l->frame_end && f < n; f++)
            labelled[f] = 1;
    }
    gint64 *dist = g_new(gint64, MAX(n, 1));
    gint64 last = -1;
    for (gint64 f = 0; f < n; f++) {
        if (labelled[f])
            last = f;
        dist[f] = last >= 0 ? f - last : G_MAXINT64;
    }
    last = -1;
    for (gint64 f = n - 1; f >= 0; f--) {
        if (labelled[f])
            last = f;
        if (last >= 0)
            dist[f] = MIN(dist[f], last - f);
    }
    GArray *items = g_array_new(FALSE, FALSE, sizeof(MimicaUiReviewItem));
    double span = MAX(threshold, 1 - threshold);
    for (gint64 f = 0; f < n; f++) {
        if (labelled[f])
            continue;
        MimicaUiReviewItem it = {.frame = f, .au = 0, .uncertainty = -1, .distance = dist[f]};
        for (int a = 0; a < curves->n_aus; a++) {
            float p = curves->prob[f * curves->n_aus + a];
            if (isnan(p))
                continue;
            float u = (float)(1 - fabs(p - threshold) / span);
            if (u > it.uncertainty) {
                it.uncertainty = u;
                it.au = curves->aus[a];
                it.prob = p;
            }
        }
        if (it.au)
            g_array_append_val(items, it);
    }
    g_array_sort(items, compare_items);
    if (items->len > max_items)
        g_array_set_size(items, max_items);
    g_free(dist);
    g_free(labelled);
    all_labels_clear(&al);
    return items;
}

static void agreement_clear(gpointer data)
{
    MimicaUiAgreement *a = data;
    g_free(a->rater_a);
    g_free(a->rater_b);
}

/* per rater, per frame: -1 unrated, 0 absent, 1 present */
static void compare(GArray *out, int au, const char *name_a, const gint8 *a, const char *name_b,
                    const gint8 *b, gint64 n)
{
    gint64 tp = 0, fp = 0, fn = 0, tn = 0;
    for (gint64 f = 0; f < n; f++) {
        if (a[f] < 0 || b[f] < 0)
            continue;
        tp += a[f] && b[f];
        fp += !a[f] && b[f];
        fn += a[f] && !b[f];
        tn += !a[f] && !b[f];
    }
    gint64 total = tp + fp + fn + tn;
    if (total == 0)
        return;
    double po = (double)(tp + tn) / total;
    double pa = (double)(tp + fn) / total, pb = (double)(tp + fp) / total;
    double pe = pa * pb + (1 - pa) * (1 - pb);
    MimicaUiAgreement r = {
        .au = au,
        .rater_a = g_strdup(name_a),
        .rater_b = g_strdup(name_b),
        .n_frames = total,
        .kappa = pe < 1 ? (po - pe) / (1 - pe) : NAN,
        .f1 = tp + fn > 0 ? 2.0 * tp / (2.0 * tp + fp + fn) : NAN,
    };
    g_array_append_val(out, r);
}

GArray *mimica_ui_agreement(MimicaStore *store, gint64 video_id, const MimicaUiCurves *curves,
                            double threshold, GError **error)
{
    g_return_val_if_fail(store != NULL, NULL);
    MimicaVideoFacts facts = {0};
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return NULL;
    gint64 n = curves ? curves->n_frames : facts.n_frames;
    mimica_video_facts_clear(&facts);
    AllLabels al = {0};
    if (!read_all(store, video_id, n, NULL, &al, error)) {
        all_labels_clear(&al);
        return NULL;
    }
    GArray *out = g_array_new(FALSE, FALSE, sizeof(MimicaUiAgreement));
    g_array_set_clear_func(out, agreement_clear);
    /* the AUs that anyone labelled, ascending */
    gboolean seen[MIMICA_MAX_AUS + 1] = {0};
    for (guint i = 0; i < al.labels->len; i++)
        seen[CLAMP(g_array_index(al.labels, MimicaUiLabel, i).au, 0, MIMICA_MAX_AUS)] = TRUE;
    guint n_raters = al.names->len;
    gint8 *grid = g_malloc((gsize)(n_raters + 1) * (gsize)MAX(n, 1));
    for (int au = 1; au <= MIMICA_MAX_AUS; au++) {
        if (!seen[au])
            continue;
        memset(grid, -1, (gsize)(n_raters + 1) * (gsize)MAX(n, 1));
        /* in event order: later events win where they overlap */
        for (guint i = 0; i < al.labels->len; i++) {
            const MimicaUiLabel *l = &g_array_index(al.labels, MimicaUiLabel, i);
            if (l->au != au)
                continue;
            gint8 *row = grid + l->event * n;
            for (gint64 f = MAX(l->frame_start, 0); f <= l->frame_end && f < n; f++)
                row[f] = mimica_label_value_is_present(l->value);
        }
        gint8 *model = grid + (gsize)n_raters * n;
        int col = mimica_ui_curves_column(curves, au);
        for (gint64 f = 0; col >= 0 && f < n; f++) {
            float p = curves->prob[f * curves->n_aus + col];
            model[f] = isnan(p) ? -1 : p >= threshold;
        }
        for (guint a = 0; a < n_raters; a++) {
            for (guint b = a + 1; b < n_raters; b++)
                compare(out, au, al.names->pdata[a], grid + a * n, al.names->pdata[b], grid + b * n,
                        n);
            if (col >= 0)
                compare(out, au, al.names->pdata[a], grid + a * n, "model", model, n);
        }
    }
    g_free(grid);
    all_labels_clear(&al);
    return out;
}

static void csv_number(GString *s, double v)
{
    if (isnan(v))
        g_string_append(s, ",");
    else
        g_string_append_printf(s, ",%.4f", v);
}

static void csv_text(GString *s, const char *t)
{
    g_string_append_c(s, ',');
    if (strpbrk(t, ",\"\n")) {
        g_string_append_c(s, '"');
        for (; *t; t++) {
            if (*t == '"')
                g_string_append_c(s, '"');
            g_string_append_c(s, *t);
        }
        g_string_append_c(s, '"');
    } else {
        g_string_append(s, t);
    }
}

char *mimica_ui_agreement_to_csv(GArray *agreement)
{
    GString *s = g_string_new("au,rater_a,rater_b,frames,kappa,f1\n");
    for (guint i = 0; agreement && i < agreement->len; i++) {
        const MimicaUiAgreement *a = &g_array_index(agreement, MimicaUiAgreement, i);
        g_string_append_printf(s, "%d", a->au);
        csv_text(s, a->rater_a);
        csv_text(s, a->rater_b);
        g_string_append_printf(s, ",%lld", (long long)a->n_frames);
        csv_number(s, a->kappa);
        csv_number(s, a->f1);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}

char *mimica_ui_review_queue_to_csv(GArray *queue)
{
    GString *s = g_string_new("frame,au,probability,uncertainty,distance\n");
    for (guint i = 0; queue && i < queue->len; i++) {
        const MimicaUiReviewItem *it = &g_array_index(queue, MimicaUiReviewItem, i);
        g_string_append_printf(s, "%lld,%d,%.4f,%.4f,", (long long)it->frame, it->au, it->prob,
                               it->uncertainty);
        if (it->distance != G_MAXINT64)
            g_string_append_printf(s, "%lld", (long long)it->distance);
        g_string_append_c(s, '\n');
    }
    return g_string_free(s, FALSE);
}
