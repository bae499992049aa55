/* mimica-au-model.h: the models an analysis can run: `geometry` (AUs from the 68 landmarks,
 * engine/landmark/mim-geometry.h: no network, no training) or an AU-network model file
 * (engine/aunet, MODEL.md; its AU list from the file's metadata) on a compute backend.
 *
 * Outputs per face and frame, for both kinds:
 *   probability p in [0,1] per AU: the network's sigmoid output, or the geometry estimator's
 *     presence score;
 *   presence AUxx_c = p >= threshold (the file's metadata key "au_thresholds", comma-separated
 *     per AU in au_list order; else 0.5);
 *   intensity AUxx_r in 0..5: geometry's own intensity; for a network, which predicts presence
 *     only, mimica_au_intensity_from_prob: 0 below the threshold, then linear from 1 at the
 *     threshold to 5 at p = 1 (FACS A..E ~ 1..5), i.e. r = 1 + 4 (p - t) / (1 - t).
 *
 * A network model's engine context is used by one thread at a time (open it on one thread,
 * infer on another is fine when the first no longer uses it). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIMICA_AU_MODEL_GEOMETRY "geometry"
#define MIMICA_AU_MODEL_DEFAULT  "default"

typedef struct _MimicaAuModel MimicaAuModel;

/* SPEC: "geometry", "default" (the bundled model, when one is installed: data/models), or the
 * path of a model file. BACKEND: "auto"/NULL, "ref", "dnnl", "cuda" (networks only). */
MimicaAuModel *mimica_au_model_open(const char *spec, const char *backend, GError **error);
void mimica_au_model_free(MimicaAuModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaAuModel, mimica_au_model_free)

gboolean mimica_au_model_is_network(const MimicaAuModel *m);
/* "geometry", or the file's name; the file ("geometry" or the absolute path): the models row. */
const char *mimica_au_model_get_name(const MimicaAuModel *m);
const char *mimica_au_model_get_file(const MimicaAuModel *m);
int mimica_au_model_get_n_aus(const MimicaAuModel *m);
const int *mimica_au_model_get_aus(const MimicaAuModel *m);
const float *mimica_au_model_get_thresholds(const MimicaAuModel *m);
/* The backend a network runs on ("dnnl", ...), "" for geometry. */
const char *mimica_au_model_get_backend(const MimicaAuModel *m);
/* The file's provenance metadata, "" for geometry. */
const char *mimica_au_model_get_provenance(const MimicaAuModel *m);
/* metrics JSON for the models row: {"kind": ..., "thresholds": [...], "backend": ...} */
char *mimica_au_model_metrics_json(const MimicaAuModel *m);

/* Network: the batch size inferences run at (default 8): n inputs go in chunks of it, the last
 * padded, so that the backend plans one shape only. */
void mimica_au_model_set_batch(MimicaAuModel *m, int batch);
int mimica_au_model_get_batch(const MimicaAuModel *m);
/* Network: AU probabilities prob (n, n_aus) of n network inputs chw (n, 3, 176, 176)
 * (mim_align_face's tensor); any n. */
gboolean mimica_au_model_infer(MimicaAuModel *m, const float *chw, int n, float *prob,
                               GError **error);

/* The documented probability -> intensity mapping of network models (see above). */
float mimica_au_intensity_from_prob(float p, float threshold);

G_END_DECLS
