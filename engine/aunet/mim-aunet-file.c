/* mim-aunet-file.c: AU-network model files (see mim-aunet-file.h). */
#include "mim-aunet-file.h"
#include "mim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mim_aunet_file_fill(mim_st_writer *w, const mim_aunet_layout *l, const float *const *params,
                        const mim_aunet_info *info, char *err, size_t err_size)
{
    char num[32];
    if (info->n_au != l->n_au || info->n_land != l->n_land)
        return mim_errf(err, err_size,
                        "model file: info says %d AUs / %d landmarks, layout %d / %d", info->n_au,
                        info->n_land, l->n_au, l->n_land);
    int rc = mim_st_writer_set_meta(w, "format", MIM_AUNET_FORMAT, err, err_size);
    rc = rc ? rc : mim_st_writer_set_meta(w, "architecture", MIM_AUNET_ARCH, err, err_size);
    snprintf(num, sizeof num, "%d", l->n_au);
    rc = rc ? rc : mim_st_writer_set_meta(w, "n_au", num, err, err_size);
    rc = rc ? rc
            : mim_st_writer_set_meta(w, "au_list",
                                     info->au_list[0] ? info->au_list : MIM_AUNET_DEFAULT_AUS, err,
                                     err_size);
    snprintf(num, sizeof num, "%d", l->n_land);
    rc = rc ? rc : mim_st_writer_set_meta(w, "n_landmarks", num, err, err_size);
    rc = rc ? rc
            : mim_st_writer_set_meta(w, "landmark_scheme",
                                     info->landmark_scheme[0] ? info->landmark_scheme
                                                              : MIM_AUNET_LANDMARK_SCHEME,
                                     err, err_size);
    rc = rc ? rc
            : mim_st_writer_set_meta(w, "input", "RGB 3x176x176, (v/255-0.5)/0.5", err, err_size);
    rc = rc ? rc : mim_st_writer_set_meta(w, "provenance", info->provenance, err, err_size);
    for (int i = 0; i < l->n_slots && !rc; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        rc = mim_st_writer_add(w, s->name, MIM_ST_F32, s->n_dim, s->shape,
                               params[s->param] + s->offset, err, err_size);
    }
    return rc;
}

int mim_aunet_file_write(const char *path, const mim_aunet_layout *l, const float *const *params,
                         const mim_aunet_info *info, char *err, size_t err_size)
{
    mim_st_writer *w = mim_st_writer_new();
    if (!w)
        return mim_errf(err, err_size, "model file: out of memory");
    int rc = mim_aunet_file_fill(w, l, params, info, err, err_size);
    if (!rc)
        rc = mim_st_writer_write(w, path, err, err_size);
    mim_st_writer_free(w);
    return rc;
}

static int parse_count(const char *s, int lo, int hi, int *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int mim_aunet_file_info(const mim_st_file *f, mim_aunet_info *info, char *err, size_t err_size)
{
    memset(info, 0, sizeof *info);
    const char *format = mim_st_meta(f, "format");
    const char *arch = mim_st_meta(f, "architecture");
    if (!format || strcmp(format, MIM_AUNET_FORMAT))
        return mim_errf(err, err_size, "not a Mimica AU model (metadata format is %s%s%s)",
                        format ? "\"" : "", format ? format : "absent", format ? "\"" : "");
    if (!arch || strcmp(arch, MIM_AUNET_ARCH))
        return mim_errf(err, err_size,
                        "model architecture \"%.60s\" is not the one this build runs (\"%s\")",
                        arch ? arch : "(absent)", MIM_AUNET_ARCH);
    if (parse_count(mim_st_meta(f, "n_au"), 1, MIM_AUNET_MAX_AU, &info->n_au))
        return mim_errf(err, err_size, "model metadata: n_au missing or not in 1..%d",
                        MIM_AUNET_MAX_AU);
    if (parse_count(mim_st_meta(f, "n_landmarks"), 1, 4096, &info->n_land))
        return mim_errf(err, err_size, "model metadata: n_landmarks missing or invalid");
    const char *s = mim_st_meta(f, "au_list");
    snprintf(info->au_list, sizeof info->au_list, "%s", s ? s : "");
    s = mim_st_meta(f, "landmark_scheme");
    snprintf(info->landmark_scheme, sizeof info->landmark_scheme, "%s", s ? s : "");
    s = mim_st_meta(f, "provenance");
    snprintf(info->provenance, sizeof info->provenance, "%s", s ? s : "");
    return 0;
}

int mim_aunet_file_load(const mim_st_file *f, const mim_aunet_layout *l, float *const *params,
                        char *err, size_t err_size)
{
    mim_aunet_info info;
    if (mim_aunet_file_info(f, &info, err, err_size))
        return -1;
    if (info.n_au != l->n_au || info.n_land != l->n_land)
        return mim_errf(err, err_size, "model has %d AUs and %d landmarks, expected %d and %d",
                        info.n_au, info.n_land, l->n_au, l->n_land);
    for (size_t i = 0; i < mim_st_n_tensors(f); i++) {
        const mim_st_tensor *t = mim_st_tensor_at(f, i);
        if (!strncmp(t->name, "optim.", 6))
            continue;
        if (mim_aunet_layout_find_slot(l, t->name) < 0)
            return mim_errf(err, err_size, "model file has an unknown tensor \"%.80s\"", t->name);
    }
    for (int i = 0; i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        const mim_st_tensor *t = mim_st_find(f, s->name);
        if (!t)
            return mim_errf(err, err_size, "model file lacks tensor \"%s\"", s->name);
        if (t->dtype != MIM_ST_F32)
            return mim_errf(err, err_size, "tensor \"%s\" is %s, expected F32", s->name,
                            mim_st_dtype_name(t->dtype));
        int same = t->n_dim == s->n_dim;
        for (int d = 0; same && d < s->n_dim; d++)
            same = t->shape[d] == s->shape[d];
        if (!same)
            return mim_errf(err, err_size, "tensor \"%s\" has the wrong shape", s->name);
        memcpy(params[s->param] + s->offset, t->data, s->numel * sizeof(float));
    }
    return 0;
}
