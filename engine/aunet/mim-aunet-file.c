/* mim-aunet-file.c: AU-network model files (see mim-aunet-file.h). */
#include "mim-aunet-file.h"
#include "mim.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IEEE 754 binary16 <-> binary32, round to nearest even; values beyond the half range become
 * infinities, which the writer refuses (see mim_aunet_file_fill). */
static uint16_t f32_to_f16(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu, man = u & 0x7fffffu;
    if (exp == 0xffu) /* inf or NaN (a NaN keeps a payload bit) */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal half, or zero */
        if (e < -10)
            return sign;
        man |= 0x800000u;
        unsigned shift = (unsigned)(14 - e);
        uint32_t h = man >> shift, rest = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13), rest = man & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the correct rounding, up to infinity */
    return (uint16_t)(sign | h);
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0x1fu)
        u = sign | 0x7f800000u | (man << 13);
    else if (exp)
        u = sign | ((exp - 15 + 127) << 23) | (man << 13);
    else if (!man)
        u = sign;
    else { /* subnormal: normalise */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400u));
        u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

static int add_f16(mim_st_writer *w, const mim_aunet_slot *s, const float *src, char *err,
                   size_t err_size)
{
    uint16_t *h = malloc((s->numel ? s->numel : 1u) * sizeof *h);
    if (!h)
        return mim_errf(err, err_size, "model file: out of memory");
    for (size_t i = 0; i < s->numel; i++) {
        h[i] = f32_to_f16(src[i]);
        if (isfinite(src[i]) && (h[i] & 0x7c00u) == 0x7c00u) {
            free(h);
            return mim_errf(err, err_size,
                            "tensor \"%s\": %g does not fit a half float; write F32 instead",
                            s->name, (double)src[i]);
        }
    }
    int rc = mim_st_writer_add(w, s->name, MIM_ST_F16, s->n_dim, s->shape, h, err, err_size);
    free(h);
    return rc;
}

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
        const float *src = params[s->param] + s->offset;
        rc = info->half ? add_f16(w, s, src, err, err_size)
                        : mim_st_writer_add(w, s->name, MIM_ST_F32, s->n_dim, s->shape, src, err,
                                            err_size);
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
        if (t->dtype != MIM_ST_F32 && t->dtype != MIM_ST_F16)
            return mim_errf(err, err_size, "tensor \"%s\" is %s, expected F32 or F16", s->name,
                            mim_st_dtype_name(t->dtype));
        int same = t->n_dim == s->n_dim;
        for (int d = 0; same && d < s->n_dim; d++)
            same = t->shape[d] == s->shape[d];
        if (!same)
            return mim_errf(err, err_size, "tensor \"%s\" has the wrong shape", s->name);
        float *dst = params[s->param] + s->offset;
        if (t->dtype == MIM_ST_F32) {
            memcpy(dst, t->data, s->numel * sizeof(float));
            continue;
        }
        const unsigned char *b = t->data; /* F16, little-endian as safetensors stores it */
        for (size_t j = 0; j < s->numel; j++)
            dst[j] = f16_to_f32((uint16_t)(b[2 * j] | (b[2 * j + 1] << 8)));
    }
    return 0;
}
