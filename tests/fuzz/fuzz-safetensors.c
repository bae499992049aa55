/* fuzz-safetensors.c: libFuzzer target for safetensors files and what is read through them:
 * mim_st_parse (engine/aunet/mim-safetensors.c) with every tensor and metadata entry read back,
 * the AU-model reader (mim_aunet_file_info + mim_aunet_file_load, mim-aunet-file.c) and the
 * checkpoint reader (mim_checkpoint_read, training/mim-checkpoint.c, through mim_st_open), both
 * against the cut layout of fuzz-model.h. */
#include "aunet/mim-aunet-file.h"
#include "aunet/mim-safetensors.h"
#include "fuzz-common.h"
#include "fuzz-model.h"
#include "mim-checkpoint.h"

#include <string.h>

static mim_aunet_layout *full, cut;
static float *params[FUZZ_MODEL_N_PARAMS], *adam_m[FUZZ_MODEL_N_PARAMS],
    *adam_v[FUZZ_MODEL_N_PARAMS];
static int64_t adam_t[FUZZ_MODEL_N_PARAMS];
static volatile uint8_t sink;

static void setup(void)
{
    full = fuzz_model_layout(&cut);
    for (int p = 0; p < FUZZ_MODEL_N_PARAMS; p++) {
        size_t n = cut.params[p].numel;
        params[p] = malloc(n * sizeof(float));
        adam_m[p] = malloc(n * sizeof(float));
        adam_v[p] = malloc(n * sizeof(float));
        if (!params[p] || !adam_m[p] || !adam_v[p])
            abort();
    }
}

/* Every tensor and metadata entry of an accepted file, read back and checked. */
static void walk(const mim_st_file *f, size_t size)
{
    uint64_t total = 0;
    for (size_t i = 0; i < mim_st_n_tensors(f); i++) {
        const mim_st_tensor *t = mim_st_tensor_at(f, i);
        if (!t || !t->name || !g_utf8_validate(t->name, -1, NULL) || mim_st_find(f, t->name) != t)
            abort();
        if (t->n_dim < 0 || t->n_dim > MIM_ST_MAX_DIM ||
            t->n_bytes != t->n_elements * mim_st_dtype_size(t->dtype))
            abort();
        total += t->n_bytes;
        if (total > size)
            abort(); /* tensors must lie inside the file */
        if (t->dtype == MIM_ST_F32) {
            float *dst = malloc(t->n_bytes ? t->n_bytes : 1);
            char err[256];
            if (!dst || mim_st_read_f32(f, t->name, dst, t->n_elements, err, sizeof err))
                abort();
            free(dst);
        } else {
            uint8_t sum = 0; /* every byte, so ASan sees any read out of bounds */
            for (uint64_t k = 0; k < t->n_bytes; k++)
                sum += ((const uint8_t *)t->data)[k];
            sink = sum;
        }
    }
    for (size_t i = 0; i < mim_st_n_meta(f); i++) {
        const char *key, *value;
        mim_st_meta_at(f, i, &key, &value);
        if (!key || !value || !g_utf8_validate(key, -1, NULL) ||
            !g_utf8_validate(value, -1, NULL) || mim_st_meta(f, key) != value)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!full)
        setup();
    char err[512] = "";
    mim_st_file *f = NULL;
    if (mim_st_parse(data, size, &f, err, sizeof err)) {
        fuzz_check_refusal(err);
        return 0;
    }
    walk(f, size);
    mim_aunet_info info;
    err[0] = 0;
    if (mim_aunet_file_info(f, &info, err, sizeof err) ||
        mim_aunet_file_load(f, &cut, params, err, sizeof err))
        fuzz_check_refusal(err);
    mim_st_close(f);

    const char *path = fuzz_write_input(data, size, ".safetensors");
    mim_checkpoint c = {
        .layout = &cut, .params = params, .adam_m = adam_m, .adam_v = adam_v, .adam_t = adam_t};
    err[0] = 0;
    if (mim_checkpoint_read(path, &c, &info, err, sizeof err))
        fuzz_check_refusal(err);
    else if (c.step < 0 || !memchr(c.state, 0, sizeof c.state) ||
             !g_utf8_validate(c.state, -1, NULL))
        abort();
    return 0;
}
