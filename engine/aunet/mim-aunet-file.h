/* mim-aunet-file.h: AU-network model files (safetensors, MODEL.md weight layout).
 *
 * A model file holds every slot of the layout (mim-aunet-layout.h) as an F32 tensor (or, in a
 * file written with info.half, an IEEE F16 one: half the size, read back into float) under its
 * PyTorch state-dict name and shape, plus these __metadata__ strings:
 *   format          "mimica-aunet"
 *   architecture    MIM_AUNET_ARCH ("mimica-aunet-1"); any other value is refused
 *   n_au            e.g. "6"
 *   au_list         FACS numbers, comma-separated, e.g. "1,2,4,6,12,17"
 *   n_landmarks     "49"
 *   landmark_scheme e.g. "adld-49 (12 points refined to AU centres)"
 *   input           "RGB 3x176x176, (v/255-0.5)/0.5"
 *   provenance      free text (training data, steps, parent model, tool version)
 * Checkpoints (training/mim-checkpoint.h) add tensors whose names start with "optim." and
 * metadata keys starting with "checkpoint."; the model reader skips those and refuses any other
 * unknown tensor.
 */
#pragma once

#include <stddef.h>

#include "mim-aunet-layout.h"
#include "mim-safetensors.h"

#define MIM_AUNET_FORMAT "mimica-aunet"

typedef struct {
    int n_au, n_land;
    char au_list[256];         /* "1,2,4,6,12,17" */
    char landmark_scheme[128]; /* defaults to MIM_AUNET_LANDMARK_SCHEME when empty */
    char provenance[1024];
    int half; /* writer: store the weights as F16 (checkpoints never do); reader leaves it 0 */
} mim_aunet_info;

#define MIM_AUNET_LANDMARK_SCHEME "adld-49 (12 points refined to AU centres, 44x44 grid)"
#define MIM_AUNET_DEFAULT_AUS     "1,2,4,6,12,17"

/* Adds the layout's slots (from params[p], p = param index) and the model metadata to a writer;
 * the caller may add more (checkpoint state) and then writes it. */
int mim_aunet_file_fill(mim_st_writer *w, const mim_aunet_layout *l, const float *const *params,
                        const mim_aunet_info *info, char *err, size_t err_size);
/* Writes a model file atomically. */
int mim_aunet_file_write(const char *path, const mim_aunet_layout *l, const float *const *params,
                         const mim_aunet_info *info, char *err, size_t err_size);

/* Reads the model metadata of an opened file and checks format and architecture. */
int mim_aunet_file_info(const mim_st_file *f, mim_aunet_info *info, char *err, size_t err_size);
/* Copies every slot of l from f into params (shapes and dtypes checked; a missing or unknown
 * tensor, or a different n_au / n_landmarks, is refused). */
int mim_aunet_file_load(const mim_st_file *f, const mim_aunet_layout *l, float *const *params,
                        char *err, size_t err_size);
