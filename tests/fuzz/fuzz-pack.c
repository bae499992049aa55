/* fuzz-pack.c: libFuzzer target for packs (mim_pack_open, training/mim-pack.c, which maps and
 * validates the file), then every record read back through the accessors and both transforms
 * (training and test sample: crop, flip, normalised input, landmark grid labels, AU labels
 * through a map of 8 AUs, 5 of them ADLD's), and the label weights over the whole pack. */
#include "fuzz-common.h"
#include "mim-pack.h"
#include "mim-sample.h"

#include <math.h>
#include <string.h>

#define N_AUS 8

static float x[3 * MIM_SAMPLE_CROP * MIM_SAMPLE_CROP];
static volatile uint32_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".pack");
    char err[512] = "";
    mim_pack *p = mim_pack_open(path, err, sizeof err);
    if (!p) {
        fuzz_check_refusal(err);
        return 0;
    }
    long n = mim_pack_n(p);
    int n_au = mim_pack_n_au(p);
    if (n < 0 || n_au < 1 || n_au > MIM_PACK_MAX_AU || mim_pack_n_labelled(p) > n ||
        !g_utf8_validate(mim_pack_au_list(p), -1, NULL))
        abort();
    int parsed[MIM_PACK_MAX_AU];
    if (mim_pack_parse_au_list(mim_pack_au_list(p), parsed, MIM_PACK_MAX_AU, err, sizeof err) !=
        n_au)
        abort();
    for (int c = 0; c < n_au; c++)
        if (mim_pack_au(p, c) != parsed[c] || parsed[c] < 1 || parsed[c] > 99)
            abort();
    static const int aus[N_AUS] = {1, 2, 4, 6, 12, 17, 25, 43};
    int map[N_AUS];
    mim_pack_au_map(p, aus, N_AUS, map);
    float *all = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)n_au);
    if (!all)
        abort();
    mim_rng rng;
    mim_rng_seed(&rng, (uint64_t)size);
    for (long i = 0; i < n; i++) {
        uint32_t sum = mim_pack_subject(p, i) + mim_pack_source(p, i);
        const uint8_t *im = mim_pack_image(p, i);
        for (size_t k = 0; k < MIM_PACK_IMAGE_BYTES; k += 997)
            sum += im[k];
        sum += im[MIM_PACK_IMAGE_BYTES - 1];
        sink = sum;
        memcpy(all + (size_t)i * n_au, mim_pack_labels(p, i), sizeof(float) * n_au);
        int32_t land[MIM_PACK_N_LAND];
        float labels[N_AUS];
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 0)
                mim_pack_train_sample(p, i, &rng, map, N_AUS, x, land, labels);
            else
                mim_pack_test_sample(p, i, map, N_AUS, x, land, labels);
            for (int k = 0; k < MIM_PACK_N_LAND; k++)
                if (land[k] < 0 || land[k] >= MIM_SAMPLE_GRID * MIM_SAMPLE_GRID)
                    abort();
            for (int k = 0; k < N_AUS; k++)
                if (labels[k] != 0.0f && labels[k] != 1.0f && labels[k] != MIM_AU_MISSING)
                    abort();
            for (size_t k = 0; k < sizeof x / sizeof x[0]; k += 1009)
                if (!isfinite(x[k]) || fabsf(x[k]) > 1.0f)
                    abort();
        }
    }
    float w[MIM_PACK_MAX_AU];
    mim_sample_au_weights(all, n, n_au, w);
    for (int c = 0; c < n_au; c++)
        if (!isfinite(w[c]) || w[c] < 0)
            abort();
    free(all);
    mim_pack_close(p);
    return 0;
}
