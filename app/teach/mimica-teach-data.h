/* mimica-teach-data.h: a project's frames as training data (packs, training/mim-pack.h).
 *
 * Corrected frames (frames where the labels_current view holds a label of some AU) become the
 * labelled source: their AU labels (present = any value but absent; AUs not labelled on that
 * frame = missing). The project's other analysed frames are the unlabelled target. Landmarks
 * come from the stored predictions of the video's latest analysis (or of a given model), first
 * face track; the 200x200 crops are aligned (MODEL.md §1.1) from the decoded frames. Frames
 * without a successful prediction with landmarks are skipped. Records are written in (video,
 * frame) order; subject id = video id, source id = frame index. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
    long n_labelled, n_unlabelled, n_skipped;
    int n_videos;      /* videos with frames in either pack */
    char au_list[256]; /* the labelled pack's AUs, ascending */
} MimicaTeachImport;

/* Writes the labelled pack to labelled_pack and, when target_pack is not NULL, the unlabelled
 * one (every target_stride-th unlabelled frame; stride <= 1: all). model_id 0: each video's
 * latest analysis. Fails when the project has no corrected frames with landmarks, unless
 * labelled_pack is NULL: then only the target is written, of every analysed frame, labelled or
 * not (a project's recordings as the unlabelled target domain). */
gboolean mimica_teach_import_project(const char *project, gint64 model_id,
                                     const char *labelled_pack, const char *target_pack,
                                     int target_stride, MimicaTeachImport *out,
                                     GCancellable *cancellable, GError **error);

G_END_DECLS
