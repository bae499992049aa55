/* mim-tracker.c: multi-face landmark tracking (see mim-tracker.h). */
#include "mim-tracker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DETECTIONS 64

struct mim_tracker {
    const mim_shape_predictor *sp;
    mim_tracker_params p;
    mim_tracker_detect_fn detect;
    void *detect_user;
    mim_track *tracks;      /* (max_faces) */
    mim_face_box *next_box; /* (max_faces) box for the next frame */
    int n_tracks;
    int next_id;
    long frame, last_detect;
    int n_detections;
    int need_detect;
};

void mim_tracker_params_default(mim_tracker_params *p)
{
    p->min_confidence = 0.3f;
    p->max_lost = 2;
    p->redetect_every = 30;
    p->match_iou = 0.3f;
    p->max_faces = 16;
    p->max_missed = 2;
    p->refine = 1;
}

mim_tracker *mim_tracker_new(const mim_shape_predictor *sp, const mim_tracker_params *params,
                             mim_tracker_detect_fn detect, void *detect_user)
{
    mim_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->sp = sp;
    if (params)
        t->p = *params;
    else
        mim_tracker_params_default(&t->p);
    if (t->p.max_faces < 1)
        t->p.max_faces = 1;
    if (t->p.max_faces > 256)
        t->p.max_faces = 256;
    t->detect = detect;
    t->detect_user = detect_user;
    t->tracks = calloc((size_t)t->p.max_faces, sizeof *t->tracks);
    t->next_box = calloc((size_t)t->p.max_faces, sizeof *t->next_box);
    if (!t->tracks || !t->next_box) {
        mim_tracker_free(t);
        return NULL;
    }
    t->next_id = 1;
    t->last_detect = -1;
    t->need_detect = 1;
    return t;
}

void mim_tracker_free(mim_tracker *t)
{
    if (!t)
        return;
    free(t->tracks);
    free(t->next_box);
    free(t);
}

void mim_tracker_reset(mim_tracker *t)
{
    t->n_tracks = 0;
    t->need_detect = 1;
}

int mim_tracker_n_tracks(const mim_tracker *t)
{
    return t->n_tracks;
}

const mim_track *mim_tracker_get(const mim_tracker *t, int i)
{
    return i >= 0 && i < t->n_tracks ? &t->tracks[i] : NULL;
}

int mim_tracker_n_detections(const mim_tracker *t)
{
    return t->n_detections;
}

int mim_tracker_add(mim_tracker *t, const mim_face_box *box)
{
    if (t->n_tracks >= t->p.max_faces)
        return -1;
    mim_track *tr = &t->tracks[t->n_tracks];
    memset(tr, 0, sizeof *tr);
    tr->id = t->next_id++;
    tr->box = *box;
    t->next_box[t->n_tracks] = *box;
    t->n_tracks++;
    return tr->id;
}

static void remove_track(mim_tracker *t, int i);

int mim_tracker_remove(mim_tracker *t, int id)
{
    for (int i = 0; i < t->n_tracks; i++)
        if (t->tracks[i].id == id) {
            remove_track(t, i);
            t->need_detect = 1; /* whatever took its place is looked for at once */
            return 0;
        }
    return -1;
}

static double box_iou(const mim_face_box *a, const mim_face_box *b)
{
    double iw = fmin(a->right, b->right) - fmax(a->left, b->left) + 1;
    double ih = fmin(a->bottom, b->bottom) - fmax(a->top, b->top) + 1;
    if (iw <= 0 || ih <= 0)
        return 0;
    double inter = iw * ih;
    double aa = (a->right - a->left + 1) * (a->bottom - a->top + 1);
    double ab = (b->right - b->left + 1) * (b->bottom - b->top + 1);
    return inter / (aa + ab - inter);
}

/* Does a contain the centre of b? */
static int box_holds_centre(const mim_face_box *a, const mim_face_box *b)
{
    double cx = 0.5 * (b->left + b->right), cy = 0.5 * (b->top + b->bottom);
    return cx >= a->left && cx <= a->right && cy >= a->top && cy <= a->bottom;
}

static void remove_track(mim_tracker *t, int i)
{
    memmove(&t->tracks[i], &t->tracks[i + 1], sizeof *t->tracks * (size_t)(t->n_tracks - i - 1));
    memmove(&t->next_box[i], &t->next_box[i + 1],
            sizeof *t->next_box * (size_t)(t->n_tracks - i - 1));
    t->n_tracks--;
}

/* Predicts in box; the box for the next frame comes from the result. */
static void fit(mim_tracker *t, int i, const mim_image *frame, const mim_face_box *box,
                int detected)
{
    mim_track *tr = &t->tracks[i];
    tr->box = *box;
    mim_shape_predictor_predict(t->sp, frame, box, tr->xy, NULL, &tr->confidence);
    mim_landmark_box_from_shape(t->sp, tr->xy, &t->next_box[i]);
    tr->detected = detected;
}

/* A detection's box: the landmarks of a refined box (mim_landmark_fit_detection) if enabled. */
static void fit_detection(mim_tracker *t, int i, const mim_image *frame, const mim_face_box *box)
{
    mim_landmark_fit f;
    if (!t->p.refine || mim_landmark_fit_detection(t->sp, frame, box, NULL, &f, NULL, 0)) {
        fit(t, i, frame, box, 1);
        return;
    }
    mim_track *tr = &t->tracks[i];
    tr->box = f.box;
    memcpy(tr->xy, f.xy, sizeof tr->xy);
    tr->confidence = f.confidence;
    mim_landmark_box_from_shape(t->sp, tr->xy, &t->next_box[i]);
    tr->detected = 1;
}

int mim_tracker_update(mim_tracker *t, const mim_image *frame)
{
    int dropped = 0, low = 0;
    t->frame++;
    for (int i = 0; i < t->n_tracks; i++) {
        mim_face_box box = t->next_box[i];
        fit(t, i, frame, &box, 0);
        mim_track *tr = &t->tracks[i];
        tr->n_frames++;
        if (tr->confidence < t->p.min_confidence) {
            tr->n_lost++;
            low = 1;
        } else {
            tr->n_lost = 0;
        }
    }
    for (int i = t->n_tracks - 1; i >= 0; i--)
        if (t->tracks[i].n_lost > t->p.max_lost) {
            remove_track(t, i);
            dropped = 1;
        }
    /* two faces on one spot: keep the older (ids grow, so the lower index is older) */
    for (int i = 0; i < t->n_tracks; i++)
        for (int j = t->n_tracks - 1; j > i; j--)
            if (box_iou(&t->next_box[i], &t->next_box[j]) > 0.5) {
                if (t->tracks[j].confidence > t->tracks[i].confidence && t->tracks[i].n_lost > 0) {
                    int id = t->tracks[i].id, nf = t->tracks[i].n_frames;
                    t->tracks[i] = t->tracks[j];
                    t->next_box[i] = t->next_box[j];
                    t->tracks[i].id = id;
                    t->tracks[i].n_frames = nf;
                }
                remove_track(t, j);
            }

    int due = t->p.redetect_every > 0 && t->frame - t->last_detect >= t->p.redetect_every;
    if (t->detect && (t->need_detect || dropped || low || t->n_tracks == 0 || due)) {
        mim_face_box det[MAX_DETECTIONS];
        int n = t->detect(t->detect_user, frame, det, MAX_DETECTIONS);
        if (n < 0)
            return -1;
        if (n > MAX_DETECTIONS)
            n = MAX_DETECTIONS;
        t->n_detections++;
        t->last_detect = t->frame;
        t->need_detect = 0;
        int n_old = t->n_tracks;
        unsigned char matched[256] = {0};
        for (int d = 0; d < n; d++) {
            int best = -1;
            double best_iou = 0;
            for (int i = 0; i < t->n_tracks; i++) {
                double iou = box_iou(&det[d], &t->next_box[i]);
                if (iou > best_iou)
                    best_iou = iou, best = i;
            }
            if (best >= 0 && best_iou >= t->p.match_iou) {
                if (best < (int)sizeof matched)
                    matched[best] = 1;
                /* a face being lost: re-seed it from the detection if that fits better */
                mim_track *tr = &t->tracks[best];
                if (tr->n_lost > 0) {
                    mim_track keep = *tr;
                    mim_face_box keep_next = t->next_box[best];
                    fit_detection(t, best, frame, &det[d]);
                    if (tr->confidence >= keep.confidence) {
                        tr->n_lost = tr->confidence < t->p.min_confidence ? keep.n_lost : 0;
                    } else {
                        *tr = keep;
                        t->next_box[best] = keep_next;
                    }
                }
                continue;
            }
            if (t->n_tracks >= t->p.max_faces)
                continue;
            int i = t->n_tracks;
            memset(&t->tracks[i], 0, sizeof t->tracks[i]);
            fit_detection(t, i, frame, &det[d]);
            if (t->tracks[i].confidence < t->p.min_confidence)
                continue;
            /* the fitted face may coincide with a tracked one although the boxes did not, or
             * enclose one (a false detection over a group of faces fits a "face" across them) */
            int dup = 0;
            for (int k = 0; k < t->n_tracks && !dup; k++)
                dup = box_iou(&t->next_box[i], &t->next_box[k]) > 0.5 ||
                      box_holds_centre(&t->tracks[i].box, &t->next_box[k]);
            if (dup)
                continue;
            t->tracks[i].id = t->next_id++;
            t->tracks[i].n_frames = 1;
            t->n_tracks++;
        }
        for (int i = n_old - 1; i >= 0; i--) {
            if (i < (int)sizeof matched && matched[i]) {
                t->tracks[i].n_missed = 0;
            } else if (++t->tracks[i].n_missed >= t->p.max_missed && t->p.max_missed > 0) {
                remove_track(t, i);
            }
        }
    }
    return t->n_tracks;
}
