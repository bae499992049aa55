/* mimica-teach-data.c: a project's frames as packs (mimica-teach-data.h). */
#include "mimica-teach-data.h"

#include <string.h>

#include "aunet/mim-aunet-file.h"
#include "landmark/mim-align.h"
#include "media/mimica-decoder.h"
#include "mim-pack.h"
#include "mim-sample.h"
#include "mimica-error.h"
#include "store/mimica-store-models.h"
#include "store/mimica-store.h"

#define N_AU_SLOTS (MIMICA_MAX_AUS + 1)

typedef struct {
    gint64 video;
    GHashTable *frames; /* frame (gint64*) -> gint8[N_AU_SLOTS]: -1 missing, 0, 1 */
    gboolean seen[N_AU_SLOTS];
} label_map;

static gboolean on_label(const MimicaLabel *l, gpointer user)
{
    GHashTable *videos = user; /* video (gint64*) -> label_map* */
    label_map *lm = g_hash_table_lookup(videos, &l->video);
    if (!lm) {
        lm = g_new0(label_map, 1);
        lm->video = l->video;
        lm->frames = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
        g_hash_table_insert(videos, g_memdup2(&l->video, sizeof(gint64)), lm);
    }
    if (l->au < 1 || l->au > MIMICA_MAX_AUS)
        return TRUE;
    for (gint64 f = l->frame_start; f <= l->frame_end; f++) {
        gint8 *v = g_hash_table_lookup(lm->frames, &f);
        if (!v) {
            v = g_malloc(N_AU_SLOTS);
            memset(v, -1, N_AU_SLOTS);
            g_hash_table_insert(lm->frames, g_memdup2(&f, sizeof f), v);
        }
        v[l->au] = l->value == MIMICA_LABEL_ABSENT ? 0 : 1;
    }
    return TRUE;
}

static void label_map_free(gpointer p)
{
    label_map *lm = p;
    g_hash_table_unref(lm->frames);
    g_free(lm);
}

static gboolean on_prediction(int track, const MimicaPrediction *row, gpointer user)
{
    GHashTable *land = user; /* frame -> float[136] interleaved */
    if (!row->success || !row->has_landmarks)
        return TRUE;
    float *xy = g_new(float, 2 * MIMICA_N_LANDMARKS);
    for (int k = 0; k < MIMICA_N_LANDMARKS; k++) {
        xy[2 * k] = row->landmarks[k];
        xy[2 * k + 1] = row->landmarks[MIMICA_N_LANDMARKS + k];
    }
    g_hash_table_insert(land, g_memdup2(&row->frame, sizeof(gint64)), xy);
    return TRUE;
}

static gboolean pack_error(GError **error, const char *err)
{
    g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_IO, "%s", err);
    return FALSE;
}

gboolean mimica_teach_import_project(const char *project, gint64 model_id,
                                     const char *labelled_pack, const char *target_pack,
                                     int target_stride, MimicaTeachImport *out,
                                     GCancellable *cancellable, GError **error)
{
    memset(out, 0, sizeof *out);
    g_autoptr(MimicaStore) store = mimica_store_open(project, error);
    if (!store)
        return FALSE;
    g_autoptr(GHashTable) videos =
        g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, label_map_free);
    if (!mimica_store_foreach_label(store, 0, NULL, on_label, videos, error))
        return FALSE;
    gboolean seen[N_AU_SLOTS] = {FALSE};
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, videos);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        label_map *lm = v;
        GHashTableIter fi;
        gpointer fk, fv;
        g_hash_table_iter_init(&fi, lm->frames);
        while (g_hash_table_iter_next(&fi, &fk, &fv))
            for (int a = 1; a < N_AU_SLOTS; a++)
                seen[a] |= ((gint8 *)fv)[a] >= 0;
    }
    int aus[MIM_PACK_MAX_AU], n_au = 0;
    for (int a = 1; a < N_AU_SLOTS && n_au < MIM_PACK_MAX_AU; a++)
        if (seen[a]) {
            aus[n_au++] = a;
            size_t len = strlen(out->au_list);
            g_snprintf(out->au_list + len, sizeof out->au_list - len, "%s%d", n_au > 1 ? "," : "",
                       a);
        }
    if (n_au == 0 && labelled_pack) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND,
                    "%s has no corrected frames (no AU labels)", project);
        return FALSE;
    }
    char err[512];
    g_autofree char *desc = g_strdup_printf("project %s", project);
    mim_pack_writer *wl = NULL;
    if (labelled_pack &&
        !(wl = mim_pack_writer_new(labelled_pack, out->au_list, desc, err, sizeof err)))
        return pack_error(error, err);
    /* a target-only import keeps the labels' AU list in its header, or names the default six
     * when the project has none (its records carry no labels either way) */
    const char *target_aus = n_au ? out->au_list : MIM_AUNET_DEFAULT_AUS;
    mim_pack_writer *wt = NULL;
    if (target_pack &&
        !(wt = mim_pack_writer_new(target_pack, target_aus, desc, err, sizeof err))) {
        mim_pack_writer_abort(wl);
        return pack_error(error, err);
    }
    gboolean ok = FALSE;
    uint8_t *rgb = g_malloc(MIM_PACK_IMAGE_BYTES);
    g_autoptr(GArray) ids = mimica_store_list_videos(store, error);
    if (!ids)
        goto out;
    long n_unlab_seen = 0;
    for (guint i = 0; i < ids->len; i++) {
        gint64 vid = g_array_index(ids, gint64, i);
        label_map *lm = g_hash_table_lookup(videos, &vid);
        if (!lm && !wt)
            continue;
        gint64 model = model_id ? model_id : mimica_store_models_latest_analysis(store, vid, error);
        if (model < 0)
            goto out;
        if (model == 0)
            continue; /* never analysed: no landmarks */
        g_autoptr(GArray) tracks = mimica_store_list_tracks(store, vid, model, error);
        if (!tracks)
            goto out;
        if (tracks->len == 0)
            continue;
        g_autoptr(GHashTable) land =
            g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
        if (!mimica_store_foreach_prediction(store, vid, model, g_array_index(tracks, int, 0), 0,
                                             -1, on_prediction, land, error))
            goto out;
        MimicaVideoFacts facts = {0};
        if (!mimica_store_get_video(store, vid, &facts, error))
            goto out;
        g_autoptr(MimicaDecoder) dec = mimica_decoder_open(facts.path, NULL, cancellable, error);
        mimica_video_facts_clear(&facts);
        if (!dec)
            goto out;
        gboolean used = FALSE;
        for (;;) {
            if (g_cancellable_set_error_if_cancelled(cancellable, error))
                goto out;
            GError *derr = NULL;
            MimicaFrame *fr = mimica_decoder_next_frame(dec, &derr);
            if (!fr) {
                if (derr) {
                    g_propagate_error(error, derr);
                    goto out;
                }
                break;
            }
            gint64 f = fr->index;
            const float *xy68 = g_hash_table_lookup(land, &f);
            const gint8 *lab = lm && wl ? g_hash_table_lookup(lm->frames, &f) : NULL;
            mim_pack_writer *w = lab ? wl : wt;
            if (w && !lab && (target_stride > 1 && n_unlab_seen++ % target_stride != 0))
                w = NULL;
            if (w && !xy68) {
                out->n_skipped++;
                w = NULL;
            }
            if (w) {
                mim_image view = mim_image_view(fr->data, fr->width, fr->height, (size_t)fr->stride,
                                                MIM_IMAGE_RGB8);
                float xy49[98], labels[MIM_PACK_MAX_AU];
                if (mim_align_face(&view, xy68, rgb, xy49, NULL)) {
                    out->n_skipped++;
                } else {
                    for (int a = 0; a < n_au; a++)
                        labels[a] = lab && lab[aus[a]] >= 0 ? (float)lab[aus[a]] : MIM_AU_MISSING;
                    if (mim_pack_writer_add(w, rgb, xy49, lab ? labels : NULL, (uint32_t)vid,
                                            (uint32_t)f, err, sizeof err)) {
                        mimica_frame_unref(fr);
                        pack_error(error, err);
                        goto out;
                    }
                    used = TRUE;
                    if (lab)
                        out->n_labelled++;
                    else
                        out->n_unlabelled++;
                }
            }
            mimica_frame_unref(fr);
        }
        out->n_videos += used;
    }
    if (wl && out->n_labelled == 0) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND,
                    "%s: none of the corrected frames has an analysed face with landmarks",
                    project);
        goto out;
    }
    if (wl) {
        int rc = mim_pack_writer_finish(wl, err, sizeof err);
        wl = NULL;
        if (rc) {
            pack_error(error, err);
            goto out;
        }
    }
    if (wt) {
        int rc = mim_pack_writer_finish(wt, err, sizeof err);
        wt = NULL;
        if (rc) {
            pack_error(error, err);
            goto out;
        }
    }
    ok = TRUE;
out:
    mim_pack_writer_abort(wl);
    mim_pack_writer_abort(wt);
    g_free(rgb);
    return ok;
}
