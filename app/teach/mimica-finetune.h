/* mimica-finetune.h: teaching a model from a project's corrections (ARCHITECTURE.md "Correction
 * and teaching"), as the job kind "fine-tune" of the job runner.
 *
 * Parameters (JSON object, all optional):
 *   "mode"    "quick" (default): encoders frozen, the AU heads only (training/mim-heads.h);
 *             "full": the joint step of MODEL.md §5 (training/mim-fit.h) from the parent's
 *             weights, corrected frames as source, the other analysed frames as target (every
 *             4th; the corrected ones when there are none); a parent AU that no correction
 *             labels gets its own Fau branch back from the parent afterwards
 *   "backend" "ref" | "dnnl" | "cuda" | "auto" (default)
 *   "iters"   quick: Adam steps of the heads (default 300); full: iterations (default 200)
 *   "parent"  model id to start from (default: the model of the most recent analysis that has
 *             a model file)
 * Threads: the job's backend and the engine's loops run on mimica_threads_for_job() threads
 * (jobs/mimica-threads.h): MIMICA_THREADS when set (an invalid value fails the job), else the
 * CPUs the process may use minus the cores the program keeps for playback (1 in the GUI, 0 in
 * mimica-cli), at least 1.
 * Without "parent", when no analysis of the project used a network model file (the geometry
 * estimator only, as in the demo project), the job starts from a fresh network instead: an
 * untrained AU network (mim_aunet_new, seed MIMICA_FINETUNE_FRESH_SEED) for the AUs the labels
 * use (at most MIM_PACK_MAX_AU), written as PROJECT.models/untrained-seed<S>-au<A-B-...>
 * .safetensors with the provenance "untrained start, seed S: ..." and registered as a models row
 * without a parent (metrics {"start": "untrained", "seed": S}; no decision: it counts as kept);
 * the same file and row serve again when they exist. The crops come from the landmarks the
 * geometry analysis stored. It is the parent like any other: its "before" F1 is measured on the
 * held-out frames, and the job's message says that it started from an untrained network.
 * The job: the corrected frames (mimica-teach-data.h) are split by time, per video: the
 * earliest 80 % train, the latest 20 % are held out (at least one frame each side when a video
 * has two or more). Per-AU F1 (MODEL.md §7) of the parent and of the new model on the held-out
 * frames; the new model file is written atomically beside the project
 * (PROJECT.models/finetune-<parent>-<time>-job<J>.safetensors) and registered as a models row
 * named by the file's base name (as an analysis with that file names it, so that re-analysing
 * with the kept model refers to this row) with parent_id = the parent and metrics
 *   {"f1_before": {"12": 0.41, ...}, "f1_after": {...}, "mean_f1_before": x,
 *    "mean_f1_after": y, "n_train": n, "n_heldout": m, "mode": "quick", "decision": "pending"}
 * (F1 per AU of the parent's list that has held-out labels; means over those). The parent is
 * never replaced or changed; keep or discard with mimica_store_models_decide
 * (store/mimica-store-models.h). Resumable: the resume JSON names the stage, and full mode's
 * checkpoint (every iters/20 iterations, 1 to 20) continues the run exactly.
 * The job's message: "mean F1 0.412 -> 0.655 on 24 held-out frames (96 trained); model 7",
 * after "no analysis of this project used a network model, so this started from an untrained
 * network for AUs 1,2,12 (model 3, seed 1); " when it started from a fresh network.
 */
#pragma once

#include "jobs/mimica-job-runner.h"

G_BEGIN_DECLS

#define MIMICA_FINETUNE_KIND "fine-tune"
/* The seed of the untrained network a project without a network analysis starts from. */
#define MIMICA_FINETUNE_FRESH_SEED 1

/* Registers the kind "fine-tune" on RUNNER. */
void mimica_finetune_register(MimicaJobRunner *runner);

/* Parameters JSON for a job (mode "quick"/"full" or NULL, backend or NULL, iters 0 = default,
 * parent 0 = default); free with g_free. */
char *mimica_finetune_parameters(const char *mode, const char *backend, gint64 iters,
                                 gint64 parent_id);

/* The new model's id of a finished fine-tune job (read back from the store), 0 if none. */
gint64 mimica_finetune_job_model(MimicaStore *store, gint64 job_id, GError **error);

G_END_DECLS
