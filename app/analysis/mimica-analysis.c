/* mimica-analysis.c: see mimica-analysis.h. */
#include "mimica-analysis.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aunet/mim-json.h"
#include "face/mim-cascade.h"
#include "landmark/mim-align.h"
#include "landmark/mim-geometry.h"
#include "landmark/mim-pose.h"
#include "landmark/mim-tracker.h"
#include "media/mimica-video-source.h"
#include "mimica-au-model.h"
#include "mimica-error.h"

#define N68          MIM_LANDMARK_N68
#define CHECK_FRAMES 3  /* face-check misses in a row that end a face (and the hold-back) */
#define QUEUE_FRAMES 24 /* frames between the tracking and the AU thread */
#define WRITE_FRAMES 50 /* frames per store transaction (at most) */
#define WRITE_US     (1000 * 1000)
#define CROP_FLOATS  (3 * MIM_ALIGN_CROP * MIM_ALIGN_CROP)

void mimica_analysis_options_init(MimicaAnalysisOptions *o)
{
    memset(o, 0, sizeof *o);
    o->baseline_start = o->baseline_end = -1;
}

const char *mimica_analysis_stage_name(MimicaAnalysisStage stage)
{
    static const char *const names[MIMICA_N_STAGES] = {
        "decode", "detect", "landmarks", "pose", "features", "aus", "store", "calibrate"};
    return stage < MIMICA_N_STAGES ? names[stage] : "?";
}

static double now_s(void)
{
    return g_get_monotonic_time() / 1e6;
}

/* Frames between the threads ------------------------------------------------------------------ */

typedef struct {
    int person;
    MimicaPrediction row; /* AU values filled by the AU thread */
    float feat[MIM_GEOM_N_FEAT];
    gboolean has_feat;
    float *chw; /* network input, or NULL */
} FaceItem;

typedef struct {
    gint64 index;
    double time_s;
    int n_faces;
    FaceItem faces[MIMICA_ANALYSIS_MAX_FACES];
    gboolean end; /* no more frames */
} FrameItem;

static void frame_item_free(FrameItem *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n_faces; i++)
        g_free(f->faces[i].chw);
    g_free(f);
}

/* A bounded FIFO of FrameItem (the producer waits while it is full). */
typedef struct {
    GMutex lock;
    GCond cond;
    GQueue items;
    guint max;
    gboolean closed; /* the consumer gave up: producers stop waiting */
} Bounded;

static void bounded_init(Bounded *q, guint max)
{
    memset(q, 0, sizeof *q);
    g_mutex_init(&q->lock);
    g_cond_init(&q->cond);
    g_queue_init(&q->items);
    q->max = max;
}

static void bounded_clear(Bounded *q)
{
    FrameItem *f;
    while ((f = g_queue_pop_head(&q->items)))
        frame_item_free(f);
    g_mutex_clear(&q->lock);
    g_cond_clear(&q->cond);
}

/* FALSE if the consumer has closed the queue (the item is freed). */
static gboolean bounded_push(Bounded *q, FrameItem *f)
{
    g_mutex_lock(&q->lock);
    while (!q->closed && q->items.length >= q->max)
        g_cond_wait(&q->cond, &q->lock);
    gboolean ok = !q->closed;
    if (ok)
        g_queue_push_tail(&q->items, f);
    g_cond_broadcast(&q->cond);
    g_mutex_unlock(&q->lock);
    if (!ok)
        frame_item_free(f);
    return ok;
}

static FrameItem *bounded_pop(Bounded *q)
{
    g_mutex_lock(&q->lock);
    while (q->items.length == 0)
        g_cond_wait(&q->cond, &q->lock);
    FrameItem *f = g_queue_pop_head(&q->items);
    g_cond_broadcast(&q->cond);
    g_mutex_unlock(&q->lock);
    return f;
}

static void bounded_close(Bounded *q)
{
    g_mutex_lock(&q->lock);
    q->closed = TRUE;
    g_cond_broadcast(&q->cond);
    g_mutex_unlock(&q->lock);
}

/* The AU thread ------------------------------------------------------------------------------- */

typedef struct {
    /* set before the thread starts */
    char *store_path;
    MimicaAnalysisRow analysis;
    MimicaAuModel *model;
    int batch;
    Bounded *in;
    /* the thread's results */
    GError *error;
    double stage_s[MIMICA_N_STAGES];
    gint stored_frames; /* atomic: frames stored by this run */
    gint64 n_face_rows;
} AuThread;

/* Fills the AU values of every face of the frames in PENDING (network: one batched inference
 * over their inputs), then appends their rows to ROWS/TRACKS. */
static gboolean au_frames(AuThread *t, GPtrArray *pending, GArray *rows, GArray *tracks)
{
    MimicaAuModel *m = t->model;
    int n_aus = mimica_au_model_get_n_aus(m);
    const float *thr = mimica_au_model_get_thresholds(m);
    double t0 = now_s();
    if (mimica_au_model_is_network(m)) {
        int n = 0;
        for (guint i = 0; i < pending->len; i++) {
            FrameItem *f = pending->pdata[i];
            for (int k = 0; k < f->n_faces; k++)
                n += f->faces[k].chw != NULL;
        }
        if (n > 0) {
            float *in = g_malloc((gsize)n * CROP_FLOATS * sizeof(float));
            float *prob = g_malloc((gsize)n * n_aus * sizeof(float));
            int j = 0;
            for (guint i = 0; i < pending->len; i++) {
                FrameItem *f = pending->pdata[i];
                for (int k = 0; k < f->n_faces; k++)
                    if (f->faces[k].chw)
                        memcpy(in + (gsize)j++ * CROP_FLOATS, f->faces[k].chw,
                               CROP_FLOATS * sizeof(float));
            }
            gboolean ok = mimica_au_model_infer(m, in, n, prob, &t->error);
            j = 0;
            for (guint i = 0; ok && i < pending->len; i++) {
                FrameItem *f = pending->pdata[i];
                for (int k = 0; k < f->n_faces; k++) {
                    MimicaPrediction *r = &f->faces[k].row;
                    if (!f->faces[k].chw)
                        continue;
                    for (int a = 0; a < n_aus; a++) {
                        r->au_prob[a] = prob[(gsize)j * n_aus + a];
                        r->au_intensity[a] = mimica_au_intensity_from_prob(r->au_prob[a], thr[a]);
                    }
                    r->has_intensity = TRUE;
                    j++;
                }
            }
            g_free(in);
            g_free(prob);
            if (!ok)
                return FALSE;
        }
    } else {
        for (guint i = 0; i < pending->len; i++) {
            FrameItem *f = pending->pdata[i];
            for (int k = 0; k < f->n_faces; k++) {
                FaceItem *fi = &f->faces[k];
                if (!fi->has_feat)
                    continue;
                /* against a typical neutral face until the person's baseline is known */
                mim_geom_aus(fi->feat, NULL, fi->row.au_intensity, fi->row.au_prob);
                fi->row.has_intensity = TRUE;
            }
        }
    }
    t->stage_s[MIMICA_STAGE_AUS] += now_s() - t0;
    for (guint i = 0; i < pending->len; i++) {
        FrameItem *f = pending->pdata[i];
        if (f->n_faces == 0) {
            /* OpenFace's row for a frame without a face: face 0, success 0 */
            MimicaPrediction none;
            memset(&none, 0, sizeof none);
            none.frame = f->index;
            none.timestamp = f->time_s;
            none.n_aus = n_aus;
            for (int a = 0; a < n_aus; a++)
                none.au_prob[a] = NAN;
            int zero = 0;
            g_array_append_val(rows, none);
            g_array_append_val(tracks, zero);
        }
        for (int k = 0; k < f->n_faces; k++) {
            g_array_append_val(rows, f->faces[k].row);
            g_array_append_val(tracks, f->faces[k].person);
            t->n_face_rows++;
        }
    }
    return TRUE;
}

static gboolean au_write(AuThread *t, MimicaStore *store, GArray *rows, GArray *tracks,
                         gint64 next_frame, int n_frames)
{
    if (n_frames == 0)
        return TRUE;
    double t0 = now_s();
    gint64 total = t->analysis.n_frames + g_atomic_int_get(&t->stored_frames) + n_frames;
    gboolean ok =
        mimica_store_analysis_put(store, &t->analysis, (MimicaPrediction *)rows->data,
                                  (int *)tracks->data, rows->len, next_frame, total, &t->error);
    t->stage_s[MIMICA_STAGE_STORE] += now_s() - t0;
    if (ok)
        g_atomic_int_add(&t->stored_frames, n_frames);
    g_array_set_size(rows, 0);
    g_array_set_size(tracks, 0);
    return ok;
}

static gpointer au_thread_main(gpointer data)
{
    AuThread *t = data;
    MimicaStore *store = mimica_store_open(t->store_path, &t->error);
    if (!store)
        bounded_close(t->in); /* the producer stops at its next frame */
    GPtrArray *pending = g_ptr_array_new_with_free_func((GDestroyNotify)frame_item_free);
    GArray *rows = g_array_new(FALSE, FALSE, sizeof(MimicaPrediction));
    GArray *tracks = g_array_new(FALSE, FALSE, sizeof(int));
    int n_crops = 0, n_unwritten = 0;
    gint64 next_frame = -1;
    double last_write = now_s();
    gboolean network = mimica_au_model_is_network(t->model);
    for (;;) {
        FrameItem *f = bounded_pop(t->in);
        gboolean end = f->end;
        if (end)
            frame_item_free(f);
        if (!store) { /* failed: drain until the end marker, so the producer never waits */
            if (end)
                break;
            frame_item_free(f);
            continue;
        }
        if (!end) {
            for (int k = 0; k < f->n_faces; k++)
                n_crops += f->faces[k].chw != NULL;
            next_frame = f->index + 1;
            g_ptr_array_add(pending, f);
        }
        gboolean infer_now = end || !network || n_crops >= t->batch ||
                             (pending->len >= (guint)QUEUE_FRAMES && n_crops > 0) ||
                             (n_crops == 0 && pending->len > 0);
        if (infer_now && pending->len > 0) {
            if (!au_frames(t, pending, rows, tracks))
                goto fail;
            n_unwritten += (int)pending->len;
            g_ptr_array_set_size(pending, 0);
            n_crops = 0;
        }
        if (n_unwritten > 0 &&
            (end || n_unwritten >= WRITE_FRAMES || now_s() - last_write >= WRITE_US / 1e6)) {
            if (!au_write(t, store, rows, tracks, next_frame, n_unwritten))
                goto fail;
            n_unwritten = 0;
            last_write = now_s();
        }
        if (end)
            break;
        continue;
    fail:
        /* stop storing, tell the producer, keep draining until its end marker */
        mimica_store_free(store);
        store = NULL;
        bounded_close(t->in);
        g_ptr_array_set_size(pending, 0);
        if (end)
            break;
    }
    g_ptr_array_unref(pending);
    g_array_unref(rows);
    g_array_unref(tracks);
    mimica_store_free(store);
    return NULL;
}

/* Faces: detection, the per-frame check, persons ----------------------------------------------- */

typedef struct {
    const mim_cascade *cascade;
    mim_detect_opts opts; /* for the whole frame, at `scale` */
    double scale;         /* the frame is detected at this scale (<= 1) */
    mim_image *small;
    mim_image *check; /* scratch of face_check */
    double *seconds;
    GError **error;
} Detector;

static void image_release(mim_image **img)
{
    mim_image_free(*img);
    *img = NULL;
}

/* The tracker's detector: the cascade over the whole frame (downscaled when the smallest face
 * sought is much larger than the cascade's window), boxes mapped to dlib's convention. */
static int detect_faces(void *user, const mim_image *frame, mim_face_box *boxes, int max_boxes)
{
    Detector *d = user;
    double t0 = now_s();
    const mim_image *img = frame;
    if (d->scale < 1.0) {
        int w = MAX(1, (int)lround(frame->width * d->scale));
        int h = MAX(1, (int)lround(frame->height * d->scale));
        if (d->small && (d->small->width != w || d->small->height != h))
            image_release(&d->small);
        if (!d->small)
            d->small = mim_image_new(w, h, MIM_IMAGE_RGB8);
        if (!d->small)
            return -1;
        mim_image_resize(frame, d->small);
        img = d->small;
    }
    mim_face_rect *rects = NULL;
    size_t n = 0;
    char err[256];
    if (mim_cascade_detect(d->cascade, img, &d->opts, &rects, &n, err, sizeof err)) {
        g_set_error(d->error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "face detection: %s", err);
        return -1;
    }
    int k = 0;
    double inv = 1.0 / (img == frame ? 1.0 : d->scale);
    for (size_t i = 0; i < n && k < max_boxes; i++)
        boxes[k++] = mim_face_box_from_cascade(rects[i].x * inv, rects[i].y * inv, rects[i].w * inv,
                                               rects[i].h * inv);
    free(rects);
    *d->seconds += now_s() - t0;
    return k;
}

/* Is there a face where the tracker follows one? The cascade in a window of 2.2 face sides
 * around the box, at sizes 0.6x to 1.7x the cascade box that maps to it (FORMATS.md A.4). The
 * window is first scaled so that the face is about 40 pixels wide (the cascade's window is 24):
 * a check costs the same for every face size. */
#define CHECK_FACE_PX 40.0
static gboolean face_check(Detector *d, const mim_image *frame, const mim_face_box *box)
{
    double side = box->right - box->left + 1;
    double cw = side / 0.876; /* the cascade box of this dlib-convention box */
    double cx = 0.5 * (box->left + box->right), cy = 0.5 * (box->top + box->bottom);
    int half = (int)ceil(1.1 * cw);
    int x0 = MAX(0, (int)floor(cx) - half), y0 = MAX(0, (int)floor(cy) - half);
    int x1 = MIN(frame->width, (int)floor(cx) + half);
    int y1 = MIN(frame->height, (int)floor(cy) + half);
    if (x1 - x0 < 24 || y1 - y0 < 24)
        return FALSE;
    mim_image roi = mim_image_view(mim_image_row8(frame, y0) + (size_t)x0 * 3, x1 - x0, y1 - y0,
                                   frame->stride, MIM_IMAGE_RGB8);
    double scale = MIN(1.0, CHECK_FACE_PX / cw);
    const mim_image *img = &roi;
    if (scale < 1.0) {
        int w = MAX(24, (int)lround(roi.width * scale)),
            h = MAX(24, (int)lround(roi.height * scale));
        if (d->check && (d->check->width != w || d->check->height != h))
            image_release(&d->check);
        if (!d->check)
            d->check = mim_image_new(w, h, MIM_IMAGE_RGB8);
        if (!d->check)
            return TRUE; /* out of memory: keep the face rather than lose it */
        mim_image_resize(&roi, d->check);
        img = d->check;
        scale = (double)w / roi.width;
    }
    double scw = cw * scale;
    mim_detect_opts o;
    mim_detect_opts_init(&o);
    o.min_neighbors = 2;
    o.min_width = o.min_height = MAX(24, (int)(0.6 * scw));
    o.max_width = o.max_height = MAX(o.min_width + 1, (int)ceil(1.7 * scw));
    mim_face_rect *rects = NULL;
    size_t n = 0;
    gboolean found = FALSE;
    if (mim_cascade_detect(d->cascade, img, &o, &rects, &n, NULL, 0) == 0) {
        for (size_t i = 0; i < n && !found; i++) {
            double rx = x0 + (rects[i].x + 0.5 * rects[i].w) / scale;
            double ry = y0 + (rects[i].y + 0.5 * rects[i].h) / scale;
            found = fabs(rx - cx) < 0.5 * cw && fabs(ry - cy) < 0.5 * cw;
        }
    }
    free(rects);
    return found;
}

typedef struct {
    int tracker_id; /* 0: not in view */
    int misses;     /* face checks missed in a row */
    double cx, cy, side;
    gint64 last_frame;
    gboolean has_pose;
    mim_head_pose pose;
} Person;

/* The person a new tracker face is: one out of view whose last place is nearest (within two face
 * sides; anywhere once max_faces persons are known), else a new one. */
static int person_for(GArray *persons, int max_faces, const mim_track *tr)
{
    double side = tr->box.right - tr->box.left + 1;
    double cx = 0.5 * (tr->box.left + tr->box.right), cy = 0.5 * (tr->box.top + tr->box.bottom);
    int best = -1;
    double best_d = G_MAXDOUBLE;
    for (guint i = 0; i < persons->len; i++) {
        Person *p = &g_array_index(persons, Person, i);
        if (p->tracker_id)
            continue;
        double dist = hypot(p->cx - cx, p->cy - cy) / MAX(1.0, MAX(side, p->side));
        if (dist < best_d)
            best_d = dist, best = (int)i;
    }
    if (best >= 0 && (best_d < 2.0 || (int)persons->len >= max_faces))
        return best;
    Person fresh = {0};
    g_array_append_val(persons, fresh);
    return (int)persons->len - 1;
}

/* Reads where each person of a resumed analysis was last seen (the 60 frames before FROM). */
typedef struct {
    GArray *persons;
} ResumeScan;

static gboolean resume_row(int track, const MimicaPrediction *row, gpointer data)
{
    ResumeScan *s = data;
    if (!row->success || !row->has_box)
        return TRUE;
    while ((int)s->persons->len <= track) {
        Person fresh = {0};
        g_array_append_val(s->persons, fresh);
    }
    Person *p = &g_array_index(s->persons, Person, track);
    p->cx = row->box[0] + 0.5 * row->box[2];
    p->cy = row->box[1] + 0.5 * row->box[3];
    p->side = row->box[2];
    p->last_frame = row->frame;
    return TRUE;
}

/* The landmarks as the store keeps them: x_0..x_67 then y_0..y_67. */
static void landmarks_to_row(const float *xy, float *row)
{
    for (int i = 0; i < N68; i++) {
        row[i] = xy[2 * i];
        row[N68 + i] = xy[2 * i + 1];
    }
}

static void landmarks_from_row(const float *row, float *xy)
{
    for (int i = 0; i < N68; i++) {
        xy[2 * i] = row[i];
        xy[2 * i + 1] = row[N68 + i];
    }
}

/* Takes PERSON's face out of frame F. */
static void drop_person(FrameItem *f, int person)
{
    for (int j = f->n_faces - 1; j >= 0; j--)
        if (f->faces[j].person == person) {
            g_free(f->faces[j].chw);
            f->faces[j] = f->faces[f->n_faces - 1];
            f->n_faces--;
        }
}

/* The whole run ---------------------------------------------------------------------------------
 */

typedef struct {
    gint64 video_id;
    MimicaStore *store;
    const MimicaAnalysisOptions *o;
    MimicaAuModel *model;
    gint64 model_id;
    GCancellable *cancellable;
    MimicaAnalysisProgressFunc progress;
    gpointer progress_data;
    MimicaAnalysisStats *stats;
} Run;

static gint64 model_row(MimicaStore *store, MimicaAuModel *m, GError **error)
{
    const char *file = mimica_au_model_get_file(m), *name = mimica_au_model_get_name(m);
    GError *local = NULL;
    gint64 id = mimica_store_find_model(store, file, name, &local);
    if (local) {
        g_propagate_error(error, local);
        return 0;
    }
    if (id) {
        /* the same file must still have the same outputs */
        int aus[MIMICA_MAX_AUS];
        int n = mimica_store_get_model_aus(store, id, aus, error);
        if (n < 0)
            return 0;
        gboolean same = n == mimica_au_model_get_n_aus(m);
        for (int a = 0; same && a < n; a++)
            same = aus[a] == mimica_au_model_get_aus(m)[a];
        if (same)
            return id;
    }
    g_autofree char *metrics = mimica_au_model_metrics_json(m);
    return mimica_store_add_model(store, file, name, 0, mimica_au_model_get_aus(m),
                                  mimica_au_model_get_n_aus(m), metrics, error);
}

static gboolean track_video(Run *r, const MimicaAnalysisRow *analysis, const char *path,
                            AuThread *au, Bounded *queue, GError **error)
{
    const MimicaAnalysisOptions *o = r->o;
    MimicaAnalysisStats *stats = r->stats;
    gboolean network = mimica_au_model_is_network(r->model);
    char err[1024];
    mim_cascade *cascade = NULL;
    mim_shape_predictor *sp = NULL;
    mim_tracker *tracker = NULL;
    MimicaVideoSource *source = NULL;
    GPtrArray *held = g_ptr_array_new_with_free_func((GDestroyNotify)frame_item_free);
    GArray *persons = g_array_new(FALSE, TRUE, sizeof(Person));
    GError *detect_error = NULL;
    gboolean ok = FALSE;
    Detector det = {0};
    char *text = NULL;

    if (mim_cascade_load_named(NULL, &cascade, err, sizeof err) ||
        mim_shape_predictor_load(NULL, &sp, err, sizeof err)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND, "%s", err);
        goto out;
    }
    MimicaDecoderOptions dopts = {.n_threads = 1};
    source = mimica_video_source_new(path, &dopts, 16, r->cancellable, error);
    if (!source)
        goto out;
    const MimicaMediaInfo *info = mimica_video_source_get_info(source);
    stats->n_total = info->n_frames;

    int max_faces = o->max_faces > 0 ? MIN(o->max_faces, MIMICA_ANALYSIS_MAX_FACES) : 4;
    int min_face = o->min_face > 0 ? o->min_face : MAX(32, MIN(info->width, info->height) / 10);
    det.cascade = cascade;
    mim_detect_opts_init(&det.opts);
    /* the smallest face sought at about the cascade's window (24): the frame is shrunk so */
    det.scale = MIN(1.0, 26.0 / min_face);
    det.opts.min_width = det.opts.min_height = MAX(24, (int)floor(min_face * det.scale));
    det.seconds = &stats->stage_s[MIMICA_STAGE_DETECT];
    det.error = &detect_error;

    mim_tracker_params tp;
    mim_tracker_params_default(&tp);
    tp.max_faces = max_faces;
    tp.redetect_every = 10; /* new faces beside tracked ones: found within 10 frames */
    tp.max_missed = 0;      /* the per-frame face check drops faces instead */
    tracker = mim_tracker_new(sp, &tp, detect_faces, &det);
    if (!tracker) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "out of memory");
        goto out;
    }
    if (analysis->next_frame > 0) {
        ResumeScan scan = {persons};
        if (!mimica_store_foreach_prediction(r->store, r->video_id, r->model_id, -1,
                                             MAX(0, analysis->next_frame - 60),
                                             analysis->next_frame - 1, resume_row, &scan, error))
            goto out;
    }
    if (analysis->next_frame >= info->n_frames) {
        ok = TRUE; /* everything is stored already */
        goto out;
    }
    mimica_video_source_play(source, analysis->next_frame, -1);
    stats->first_frame = analysis->next_frame;
    text = g_strdup_printf("analysing %s", info->path);
    int n_aus = mimica_au_model_get_n_aus(r->model);
    for (;;) {
        if (g_cancellable_set_error_if_cancelled(r->cancellable, error))
            goto out;
        double t0 = now_s();
        MimicaVideoEvent ev;
        if (!mimica_video_source_pop(source, 100 * 1000, &ev))
            continue;
        stats->stage_s[MIMICA_STAGE_DECODE] += now_s() - t0;
        if (ev.kind == MIMICA_VIDEO_EVENT_END) {
            mimica_video_event_clear(&ev);
            break;
        }
        if (ev.kind == MIMICA_VIDEO_EVENT_ERROR) {
            if (g_error_matches(ev.error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_TRUNCATED)) {
                stats->truncated = TRUE;
                g_message("%s", ev.error->message);
                mimica_video_event_clear(&ev);
                break;
            }
            g_propagate_error(error, ev.error);
            ev.error = NULL;
            mimica_video_event_clear(&ev);
            goto out;
        }
        MimicaFrame *fr = ev.frame;
        mim_image img =
            mim_image_view(fr->data, fr->width, fr->height, (size_t)fr->stride, MIM_IMAGE_RGB8);
        /* 68 landmarks of every face (the tracker runs the detector when it needs to) */
        double d0 = *det.seconds;
        t0 = now_s();
        int n = mim_tracker_update(tracker, &img);
        if (n < 0) {
            mimica_video_event_clear(&ev);
            if (detect_error)
                g_propagate_error(error, g_steal_pointer(&detect_error));
            else
                g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "face tracking failed");
            goto out;
        }
        stats->stage_s[MIMICA_STAGE_LANDMARKS] += now_s() - t0 - (*det.seconds - d0);

        FrameItem *item = g_new0(FrameItem, 1);
        item->index = fr->index;
        item->time_s = fr->time_s;
        /* which tracker faces are still here, and who they are */
        for (int i = 0; i < mim_tracker_n_tracks(tracker); i++) {
            const mim_track *tr = mim_tracker_get(tracker, i);
            int pi = -1;
            for (guint k = 0; k < persons->len && pi < 0; k++)
                if (g_array_index(persons, Person, k).tracker_id == tr->id)
                    pi = (int)k;
            if (pi < 0) {
                pi = person_for(persons, max_faces, tr);
                Person *p = &g_array_index(persons, Person, pi);
                p->tracker_id = tr->id;
                p->misses = 0;
                p->has_pose = FALSE;
            }
            Person *p = &g_array_index(persons, Person, pi);
            /* the face check: a face just found by the detector needs none */
            t0 = now_s();
            gboolean here = tr->detected || face_check(&det, &img, &tr->box);
            stats->stage_s[MIMICA_STAGE_DETECT] += now_s() - t0;
            p->misses = here ? 0 : p->misses + 1;
            FaceItem *fi = &item->faces[item->n_faces++];
            fi->person = pi;
            MimicaPrediction *row = &fi->row;
            row->frame = fr->index;
            row->timestamp = fr->time_s;
            row->confidence = tr->confidence;
            row->success = TRUE;
            row->has_box = TRUE;
            row->box[0] = (float)tr->box.left;
            row->box[1] = (float)tr->box.top;
            row->box[2] = (float)(tr->box.right - tr->box.left + 1);
            row->box[3] = (float)(tr->box.bottom - tr->box.top + 1);
            row->has_landmarks = TRUE;
            landmarks_to_row(tr->xy, row->landmarks);
            row->n_aus = n_aus;
            for (int a = 0; a < n_aus; a++)
                row->au_prob[a] = row->au_intensity[a] = NAN;
            p->cx = 0.5 * (tr->box.left + tr->box.right);
            p->cy = 0.5 * (tr->box.top + tr->box.bottom);
            p->side = row->box[2];
            p->last_frame = fr->index;
            /* head pose, from the last frame's when the person was there */
            t0 = now_s();
            mim_camera cam;
            mim_camera_guess(fr->width, fr->height, &cam);
            mim_head_pose pose;
            if (mim_head_pose_estimate(tr->xy, &cam, p->has_pose ? &p->pose : NULL, &pose) == 0) {
                p->pose = pose;
                p->has_pose = TRUE;
                row->has_pose = TRUE;
                for (int k = 0; k < 3; k++) {
                    row->pose[k] = (float)pose.t[k];
                    row->pose[3 + k] = (float)pose.r[k];
                }
            } else {
                p->has_pose = FALSE;
            }
            stats->stage_s[MIMICA_STAGE_POSE] += now_s() - t0;
            t0 = now_s();
            if (network) {
                fi->chw = g_malloc(CROP_FLOATS * sizeof(float));
                if (mim_align_face(&img, tr->xy, NULL, NULL, fi->chw) != 0)
                    g_clear_pointer(&fi->chw, g_free);
            } else {
                fi->has_feat = mim_geom_features(tr->xy, row->has_pose ? pose.r[1] : 0.0,
                                                 row->has_pose ? pose.r[0] : 0.0, fi->feat) == 0;
            }
            stats->stage_s[MIMICA_STAGE_FEATURES] += now_s() - t0;
        }
        /* faces the check missed CHECK_FRAMES times in a row are gone since their first miss:
         * out of this frame and the held-back ones */
        for (int k = item->n_faces - 1; k >= 0; k--) {
            int person = item->faces[k].person;
            Person *p = &g_array_index(persons, Person, person);
            if (p->misses < CHECK_FRAMES)
                continue;
            mim_tracker_remove(tracker, p->tracker_id);
            p->tracker_id = 0;
            p->misses = 0;
            drop_person(item, person);
            for (guint h = 1; h < CHECK_FRAMES && h <= held->len; h++)
                drop_person(held->pdata[held->len - h], person);
        }
        /* out of view: forget the tracker id so that person_for can give the place back */
        for (guint i = 0; i < persons->len; i++) {
            Person *p = &g_array_index(persons, Person, i);
            gboolean in_tracker = FALSE;
            for (int t = 0; t < mim_tracker_n_tracks(tracker) && !in_tracker; t++)
                in_tracker = mim_tracker_get(tracker, t)->id == p->tracker_id;
            if (p->tracker_id && !in_tracker)
                p->tracker_id = 0;
        }
        mimica_video_event_clear(&ev);
        g_ptr_array_add(held, item);
        if (held->len >= CHECK_FRAMES) {
            FrameItem *oldest = g_ptr_array_steal_index(held, 0);
            if (!bounded_push(queue, oldest)) {
                g_propagate_error(error, g_steal_pointer(&au->error));
                if (error && !*error)
                    g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "storing failed");
                goto out;
            }
        }
        if (r->progress) {
            gint64 done = analysis->next_frame + g_atomic_int_get(&au->stored_frames);
            r->progress(done, info->n_frames, text, r->progress_data);
        }
    }
    /* the frames still held back */
    while (held->len > 0) {
        if (!bounded_push(queue, g_ptr_array_steal_index(held, 0)))
            break;
    }
    ok = TRUE;
out:
    g_free(text);
    g_clear_error(&detect_error);
    g_ptr_array_unref(held);
    g_array_unref(persons);
    image_release(&det.small);
    image_release(&det.check);
    g_clear_object(&source);
    mim_tracker_free(tracker);
    mim_shape_predictor_free(sp);
    mim_cascade_free(cascade);
    return ok;
}

/* Calibration --------------------------------------------------------------------------------- */

typedef struct {
    GArray *frames; /* gint64 */
    GArray *values; /* float, n_values per row: geometry features or AU probabilities */
    int n_values;
    gboolean geometry;
} Collect;

static gboolean collect_row(int track, const MimicaPrediction *row, gpointer data)
{
    Collect *c = data;
    if (!row->success || !row->has_landmarks)
        return TRUE;
    float v[MIMICA_CALIBRATION_MAX];
    if (c->geometry) {
        float xy[2 * N68];
        landmarks_from_row(row->landmarks, xy);
        double yaw = row->has_pose ? row->pose[4] : 0, pitch = row->has_pose ? row->pose[3] : 0;
        if (mim_geom_features(xy, yaw, pitch, v) != 0)
            return TRUE;
    } else {
        for (int a = 0; a < c->n_values; a++)
            v[a] = row->au_prob[a];
    }
    g_array_append_val(c->frames, row->frame);
    g_array_append_vals(c->values, v, c->n_values);
    return TRUE;
}

static int compare_floats(gconstpointer a, gconstpointer b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static float median(float *v, gsize n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, compare_floats);
    return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

/* A network's baseline: per AU, the median intensity over the person's low-activity frames
 * (summed intensity at or below its median). */
static void network_baseline(const float *prob, gsize n, int n_aus, const float *thr,
                             float *baseline)
{
    float *sum = g_new(float, n), *sorted = g_new(float, n), *col = g_new(float, n);
    for (gsize i = 0; i < n; i++) {
        sum[i] = 0;
        for (int a = 0; a < n_aus; a++)
            sum[i] += mimica_au_intensity_from_prob(prob[i * n_aus + a], thr[a]);
        sorted[i] = sum[i];
    }
    float cut = median(sorted, n);
    for (int a = 0; a < n_aus; a++) {
        gsize k = 0;
        for (gsize i = 0; i < n; i++)
            if (sum[i] <= cut)
                col[k++] = mimica_au_intensity_from_prob(prob[i * n_aus + a], thr[a]);
        baseline[a] = median(col, k);
    }
    g_free(sum);
    g_free(sorted);
    g_free(col);
}

static gboolean calibrate_track(MimicaStore *store, gint64 video_id, gint64 model_id, int track,
                                MimicaAuModel *m, const MimicaAnalysisOptions *o, GError **error)
{
    gboolean geometry = !mimica_au_model_is_network(m);
    int n_aus = mimica_au_model_get_n_aus(m);
    Collect c = {g_array_new(FALSE, FALSE, sizeof(gint64)),
                 g_array_new(FALSE, FALSE, sizeof(float)), geometry ? MIM_GEOM_N_FEAT : n_aus,
                 geometry};
    gboolean ok = FALSE;
    GArray *rows = NULL;
    if (!mimica_store_foreach_prediction(store, video_id, model_id, track, 0, -1, collect_row, &c,
                                         error))
        goto out;
    gsize n = c.frames->len;
    if (n == 0) {
        ok = TRUE;
        goto out;
    }
    const float *values = (const float *)c.values->data;
    /* the rows of the segment the user picked, if the person is in it */
    MimicaCalibration cal = {.frame_start = -1, .frame_end = -1, .n_values = c.n_values};
    gsize seg0 = 0, seg_n = 0;
    if (o->baseline_start >= 0) {
        for (gsize i = 0; i < n; i++) {
            gint64 f = g_array_index(c.frames, gint64, i);
            if (f >= o->baseline_start && (o->baseline_end < 0 || f <= o->baseline_end)) {
                if (seg_n == 0)
                    seg0 = i;
                seg_n++;
            }
        }
        if (seg_n == 0)
            g_message("face %d is not in frames %lld..%lld: its baseline is found automatically",
                      track, (long long)o->baseline_start, (long long)o->baseline_end);
    }
    cal.from_segment = seg_n > 0;
    if (cal.from_segment) {
        cal.frame_start = o->baseline_start;
        cal.frame_end = o->baseline_end;
    }
    const float *base_rows = values + seg0 * c.n_values;
    gsize base_n = cal.from_segment ? seg_n : n;
    const float *thr = mimica_au_model_get_thresholds(m);
    if (geometry) {
        size_t used = 0;
        if (mim_geom_baseline(base_rows, base_n, cal.values, &used) != 0) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED,
                        "face %d: no neutral baseline in %zu frames", track, base_n);
            goto out;
        }
        cal.n_frames = (gint64)used;
    } else {
        network_baseline(base_rows, base_n, n_aus, thr, cal.values);
        cal.n_frames = (gint64)base_n;
    }
    /* the AU values of every row against the baseline */
    rows = g_array_sized_new(FALSE, TRUE, sizeof(MimicaPrediction), MIN(n, 2000));
    float *inten = g_new(float, n *n_aus), *prob = g_new(float, n *n_aus);
    for (gsize i = 0; i < n; i++) {
        const float *v = values + i * c.n_values;
        if (geometry) {
            mim_geom_aus(v, cal.values, inten + i * n_aus, prob + i * n_aus);
        } else {
            for (int a = 0; a < n_aus; a++) {
                prob[i * n_aus + a] = v[a];
                float r = mimica_au_intensity_from_prob(v[a], thr[a]) - cal.values[a];
                inten[i * n_aus + a] = r > 0 ? r : 0;
            }
        }
    }
    if (o->smooth > 1) {
        /* centred moving average over the frames within smooth/2 of each row */
        float *sm = g_new(float, n *n_aus);
        gint64 half = o->smooth / 2;
        gsize lo = 0, hi = 0;
        for (gsize i = 0; i < n; i++) {
            gint64 f = g_array_index(c.frames, gint64, i);
            while (g_array_index(c.frames, gint64, lo) < f - half)
                lo++;
            while (hi + 1 < n && g_array_index(c.frames, gint64, hi + 1) <= f + half)
                hi++;
            for (int a = 0; a < n_aus; a++) {
                double s = 0;
                for (gsize k = lo; k <= hi; k++)
                    s += inten[k * n_aus + a];
                sm[i * n_aus + a] = (float)(s / (double)(hi - lo + 1));
            }
        }
        g_free(inten);
        inten = sm;
    }
    ok = TRUE;
    for (gsize i = 0; ok && i < n; i++) {
        g_array_set_size(rows, rows->len + 1);
        MimicaPrediction *p = &g_array_index(rows, MimicaPrediction, rows->len - 1);
        p->frame = g_array_index(c.frames, gint64, i);
        p->n_aus = n_aus;
        memcpy(p->au_prob, prob + i * n_aus, n_aus * sizeof(float));
        memcpy(p->au_intensity, inten + i * n_aus, n_aus * sizeof(float));
        p->has_intensity = TRUE;
        if (rows->len == 2000 || i + 1 == n) {
            ok = mimica_store_update_aus(store, video_id, track, model_id,
                                         (MimicaPrediction *)rows->data, rows->len, error);
            g_array_set_size(rows, 0);
        }
    }
    g_free(inten);
    g_free(prob);
    ok = ok && mimica_store_put_calibration(store, video_id, track, model_id, &cal, error);
out:
    if (rows)
        g_array_unref(rows);
    g_array_unref(c.frames);
    g_array_unref(c.values);
    return ok;
}

static gboolean calibrate_all(MimicaStore *store, gint64 video_id, gint64 model_id,
                              MimicaAuModel *m, const MimicaAnalysisOptions *o,
                              GCancellable *cancellable, int *n_persons, GError **error)
{
    g_autoptr(GArray) tracks = mimica_store_list_tracks(store, video_id, model_id, error);
    if (!tracks)
        return FALSE;
    if (n_persons)
        *n_persons = (int)tracks->len;
    for (guint i = 0; i < tracks->len; i++) {
        if (g_cancellable_set_error_if_cancelled(cancellable, error) ||
            !calibrate_track(store, video_id, model_id, g_array_index(tracks, int, i), m, o, error))
            return FALSE;
    }
    return TRUE;
}

gboolean mimica_analysis_calibrate(MimicaStore *store, gint64 video_id, gint64 model_id,
                                   const MimicaAnalysisOptions *o, GCancellable *cancellable,
                                   GError **error)
{
    MimicaAnalysisRow row;
    if (!mimica_store_analysis_get(store, video_id, model_id, &row, error))
        return FALSE;
    mimica_analysis_row_clear(&row);
    /* a network's calibration needs no network: only its thresholds, from the models row */
    int aus[MIMICA_MAX_AUS];
    int n = mimica_store_get_model_aus(store, model_id, aus, error);
    if (n < 0)
        return FALSE;
    g_autoptr(MimicaAuModel) geometry = mimica_au_model_open(MIMICA_AU_MODEL_GEOMETRY, NULL, NULL);
    gboolean is_geometry = n == mimica_au_model_get_n_aus(geometry);
    for (int a = 0; is_geometry && a < n; a++)
        is_geometry = aus[a] == mimica_au_model_get_aus(geometry)[a];
    if (!is_geometry) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED,
                    "recalibrating a network model's analysis: run the analysis again");
        return FALSE;
    }
    return calibrate_all(store, video_id, model_id, geometry, o, cancellable, NULL, error);
}

gboolean mimica_analysis_run(MimicaStore *store, gint64 video_id, const MimicaAnalysisOptions *o,
                             GCancellable *cancellable, MimicaAnalysisProgressFunc progress,
                             gpointer user_data, MimicaAnalysisStats *stats, GError **error)
{
    MimicaAnalysisOptions defaults;
    if (!o) {
        mimica_analysis_options_init(&defaults);
        o = &defaults;
    }
    MimicaAnalysisStats local_stats;
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    double start = now_s();
    MimicaVideoFacts facts = {0};
    if (!mimica_store_get_video(store, video_id, &facts, error))
        return FALSE;
    g_autoptr(MimicaAuModel) model = mimica_au_model_open(o->model, o->backend, error);
    if (!model) {
        mimica_video_facts_clear(&facts);
        return FALSE;
    }
    if (mimica_au_model_is_network(model))
        mimica_au_model_set_batch(model, o->batch > 0 ? o->batch : 8);
    Run r = {video_id, store, o, model, 0, cancellable, progress, user_data, stats};
    r.model_id = model_row(store, model, error);
    stats->video_id = video_id;
    stats->model_id = r.model_id;
    MimicaAnalysisRow analysis = {0};
    g_autofree char *params = mimica_analysis_job_parameters(video_id, o);
    if (!r.model_id || !mimica_store_analysis_begin(store, video_id, r.model_id, params, o->restart,
                                                    &analysis, error)) {
        mimica_video_facts_clear(&facts);
        return FALSE;
    }
    stats->analysis_id = analysis.id;
    gboolean ok = TRUE;
    if (!analysis.done) {
        Bounded queue;
        bounded_init(&queue, QUEUE_FRAMES);
        AuThread au = {.store_path = (char *)mimica_store_get_path(store),
                       .analysis = analysis,
                       .model = model,
                       .batch = o->batch > 0 ? o->batch : 8,
                       .in = &queue};
        GThread *thread = g_thread_new("mimica-aus", au_thread_main, &au);
        ok = track_video(&r, &analysis, facts.path, &au, &queue, error);
        FrameItem *end = g_new0(FrameItem, 1);
        end->end = TRUE;
        g_mutex_lock(&queue.lock);
        g_queue_push_tail(&queue.items, end); /* never refused: the end marker */
        g_cond_broadcast(&queue.cond);
        g_mutex_unlock(&queue.lock);
        g_thread_join(thread);
        bounded_clear(&queue);
        for (int s = 0; s < MIMICA_N_STAGES; s++)
            stats->stage_s[s] += au.stage_s[s];
        stats->n_frames = g_atomic_int_get(&au.stored_frames);
        stats->n_face_rows = au.n_face_rows;
        if (au.error) {
            if (ok)
                g_propagate_error(error, au.error);
            else
                g_error_free(au.error);
            ok = FALSE;
        }
        if (ok && progress)
            progress(analysis.next_frame + stats->n_frames, stats->n_total,
                     "calibrating each person", user_data);
        double t0 = now_s();
        ok = ok &&
             calibrate_all(store, video_id, r.model_id, model, o, cancellable, &stats->n_persons,
                           error) &&
             mimica_store_analysis_finish(store, analysis.id, error);
        stats->stage_s[MIMICA_STAGE_CALIBRATE] += now_s() - t0;
    } else {
        g_autoptr(GArray) tracks = mimica_store_list_tracks(store, video_id, r.model_id, error);
        ok = tracks != NULL;
        stats->n_persons = tracks ? (int)tracks->len : 0;
    }
    stats->seconds = now_s() - start;
    mimica_analysis_row_clear(&analysis);
    mimica_video_facts_clear(&facts);
    return ok;
}

/* Videos --------------------------------------------------------------------------------------- */

gboolean mimica_analysis_probe_video(const char *path, MimicaVideoFacts *facts, gboolean *truncated,
                                     GCancellable *cancellable, GError **error)
{
    memset(facts, 0, sizeof *facts);
    g_autoptr(MimicaMediaInfo) info = mimica_media_probe(path, cancellable, error);
    if (!info)
        return FALSE;
    if (!info->sha256 || info->fps_num <= 0 || info->fps_den <= 0) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                    "%s: no content hash or frame rate from the probe", path);
        return FALSE;
    }
    if (truncated)
        *truncated = info->truncated;
    facts->path = g_canonicalize_filename(path, NULL);
    facts->content_hash = g_strdup(info->sha256);
    facts->duration_us = (gint64)llround(info->duration_s * 1e6);
    facts->frame_rate_num = info->fps_num;
    facts->frame_rate_den = info->fps_den;
    facts->n_frames = info->n_frames;
    facts->width = info->coded_width;
    facts->height = info->coded_height;
    facts->rotation = info->rotation;
    return TRUE;
}

gint64 mimica_analysis_add_video(MimicaStore *store, const char *path, GCancellable *cancellable,
                                 GError **error)
{
    MimicaVideoFacts facts;
    if (!mimica_analysis_probe_video(path, &facts, NULL, cancellable, error))
        return 0;
    GError *local = NULL;
    gint64 id = mimica_store_find_video(store, facts.content_hash, &local);
    if (!id && !local)
        id = mimica_store_add_video(store, &facts, &local);
    if (local)
        g_propagate_error(error, local);
    mimica_video_facts_clear(&facts);
    return id;
}

/* The job kind "analyse" ----------------------------------------------------------------------- */

char *mimica_analysis_job_parameters(gint64 video_id, const MimicaAnalysisOptions *o)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "{\"video_id\": %lld", (long long)video_id);
    const char *strs[2][2] = {{"model", o->model}, {"backend", o->backend}};
    for (int i = 0; i < 2; i++) {
        if (!strs[i][1])
            continue;
        size_t need = mim_json_quote(NULL, 0, NULL, strs[i][1], strlen(strs[i][1]));
        char *q = g_malloc(need + 1);
        size_t len = 0;
        mim_json_quote(q, need + 1, &len, strs[i][1], strlen(strs[i][1]));
        q[len] = 0;
        g_string_append_printf(s, ", \"%s\": %s", strs[i][0], q);
        g_free(q);
    }
    g_string_append_printf(s,
                           ", \"max_faces\": %d, \"smooth\": %d, \"batch\": %d, \"min_face\": %d",
                           o->max_faces, o->smooth, o->batch, o->min_face);
    if (o->baseline_start >= 0)
        g_string_append_printf(s, ", \"baseline\": [%lld, %lld]", (long long)o->baseline_start,
                               (long long)o->baseline_end);
    if (o->restart)
        g_string_append(s, ", \"restart\": true");
    g_string_append_c(s, '}');
    return g_string_free(s, FALSE);
}

typedef struct {
    GMutex lock;
    GHashTable *stats; /* job id -> MimicaAnalysisStats */
} JobData;

static void job_data_free(gpointer data)
{
    JobData *d = data;
    g_hash_table_destroy(d->stats);
    g_mutex_clear(&d->lock);
    g_free(d);
}

static void job_progress(gint64 done, gint64 total, const char *text, gpointer user_data)
{
    mimica_job_progress(user_data, done, total, text);
}

static gboolean get_int(const mim_json *root, const char *key, gint64 min, gint64 max, gint64 *out,
                        GError **error)
{
    const mim_json *v = mim_json_get(root, key);
    if (!v)
        return TRUE;
    if (v->type != MIM_JSON_NUMBER || v->number != floor(v->number) || v->number < min ||
        v->number > max) {
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "analyse job: '%s' must be a whole number in %lld..%lld", key, (long long)min,
                    (long long)max);
        return FALSE;
    }
    *out = (gint64)v->number;
    return TRUE;
}

static gboolean analyse_job(MimicaJob *job, gpointer user_data, GError **error)
{
    JobData *d = user_data;
    const char *params = mimica_job_get_parameters(job);
    mim_json_doc *doc = NULL;
    char err[256];
    if (mim_json_parse(params, strlen(params), &doc, err, sizeof err)) {
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "analyse job: bad parameters: %s", err);
        return FALSE;
    }
    const mim_json *root = mim_json_root(doc);
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o);
    gint64 video_id = 0, max_faces = 0, smooth = 0, batch = 0, min_face = 0;
    const mim_json *model = mim_json_get(root, "model"), *backend = mim_json_get(root, "backend");
    const mim_json *baseline = mim_json_get(root, "baseline"),
                   *restart = mim_json_get(root, "restart");
    gboolean ok = get_int(root, "video_id", 1, G_MAXINT64, &video_id, error) &&
                  get_int(root, "max_faces", 0, MIMICA_ANALYSIS_MAX_FACES, &max_faces, error) &&
                  get_int(root, "smooth", 0, 1000, &smooth, error) &&
                  get_int(root, "batch", 0, 256, &batch, error) &&
                  get_int(root, "min_face", 0, 100000, &min_face, error);
    if (ok && !video_id) {
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID, "analyse job: no video_id");
        ok = FALSE;
    }
    if (ok && ((model && model->type != MIM_JSON_STRING) ||
               (backend && backend->type != MIM_JSON_STRING))) {
        g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                    "analyse job: model and backend are strings");
        ok = FALSE;
    }
    if (ok && baseline) {
        const mim_json *a = baseline->child, *b = a ? a->next : NULL;
        if (baseline->type != MIM_JSON_ARRAY || baseline->n_children != 2 ||
            a->type != MIM_JSON_NUMBER || b->type != MIM_JSON_NUMBER || a->number < 0 ||
            b->number < a->number) {
            g_set_error(error, MIMICA_JOB_ERROR, MIMICA_JOB_ERROR_INVALID,
                        "analyse job: baseline is [first frame, last frame]");
            ok = FALSE;
        } else {
            o.baseline_start = (gint64)a->number;
            o.baseline_end = (gint64)b->number;
        }
    }
    MimicaAnalysisStats stats;
    if (ok) {
        o.model = model ? model->str : NULL;
        o.backend = backend ? backend->str : NULL;
        o.max_faces = (int)max_faces;
        o.smooth = (int)smooth;
        o.batch = (int)batch;
        o.min_face = (int)min_face;
        o.restart = restart && restart->type == MIM_JSON_TRUE;
        /* a resumed job must not restart what it already did */
        if (strcmp(mimica_job_get_resume(job), "{}") != 0)
            o.restart = FALSE;
        ok = mimica_job_save_resume(job, "{\"started\": true}", error) &&
             mimica_analysis_run(mimica_job_get_store(job), video_id, &o,
                                 mimica_job_get_cancellable(job), job_progress, job, &stats, error);
        g_mutex_lock(&d->lock);
        g_hash_table_insert(d->stats, g_memdup2(&(gint64){mimica_job_get_id(job)}, sizeof(gint64)),
                            g_memdup2(&stats, sizeof stats));
        g_mutex_unlock(&d->lock);
    }
    if (ok) {
        g_autofree char *msg =
            g_strdup_printf("%lld frames, %d face%s, %.1f frames/s%s", (long long)stats.n_frames,
                            stats.n_persons, stats.n_persons == 1 ? "" : "s",
                            stats.seconds > 0 ? stats.n_frames / stats.seconds : 0.0,
                            stats.truncated ? "; the video ends early (damaged or cut short)" : "");
        mimica_job_set_message(job, msg);
    }
    mim_json_doc_free(doc);
    return ok;
}

void mimica_analysis_register(MimicaJobRunner *runner)
{
    JobData *d = g_new0(JobData, 1);
    g_mutex_init(&d->lock);
    d->stats = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_object_set_data_full(G_OBJECT(runner), "mimica-analysis-jobs", d, NULL);
    mimica_job_runner_register(runner, "analyse", analyse_job, d, job_data_free);
}

gboolean mimica_analysis_job_stats(MimicaJobRunner *runner, gint64 job_id, MimicaAnalysisStats *out)
{
    JobData *d = g_object_get_data(G_OBJECT(runner), "mimica-analysis-jobs");
    if (!d)
        return FALSE;
    g_mutex_lock(&d->lock);
    MimicaAnalysisStats *s = g_hash_table_lookup(d->stats, &job_id);
    if (s)
        *out = *s;
    g_mutex_unlock(&d->lock);
    return s != NULL;
}
