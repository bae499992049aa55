/* mim-aunet-layout.c: the weight layout of the AU network (see mim-aunet-layout.h). */
#include "mim-aunet-layout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const module_names[MIM_AUNET_N_MODULES] = {
    "Ef", "El", "Eb", "G", "Dl", "Ds", "Dt", "Fau", "Pf", "Pl", "Pb",
};

const char *mim_aunet_module_name(mim_aunet_module m)
{
    return (unsigned)m < MIM_AUNET_N_MODULES ? module_names[m] : "?";
}

mim_aunet_group mim_aunet_module_group(mim_aunet_module m)
{
    switch (m) {
    case MIM_AUNET_EF:
    case MIM_AUNET_EL:
    case MIM_AUNET_FAU:
        return MIM_AUNET_GROUP_TASK;
    case MIM_AUNET_DL:
    case MIM_AUNET_DS:
    case MIM_AUNET_DT:
        return MIM_AUNET_GROUP_DISC;
    default:
        return MIM_AUNET_GROUP_GEN;
    }
}

typedef struct {
    mim_aunet_layout *l;
    int cap_p, cap_s;
    int oom;
    mim_aunet_module module;
} builder;

static int add_param(builder *b, mim_aunet_kind kind, int fan_in, int pre_norm, int n_dim,
                     const int64_t *shape, const char *fmt, ...)
{
    mim_aunet_layout *l = b->l;
    if (b->oom)
        return -1;
    if (l->n_params == b->cap_p) {
        int cap = b->cap_p ? 2 * b->cap_p : 128;
        mim_aunet_param *p = realloc(l->params, (size_t)cap * sizeof *p);
        if (!p) {
            b->oom = 1;
            return -1;
        }
        l->params = p;
        b->cap_p = cap;
    }
    mim_aunet_param *p = &l->params[l->n_params];
    memset(p, 0, sizeof *p);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->name, sizeof p->name, fmt, ap);
    va_end(ap);
    p->module = b->module;
    p->kind = kind;
    p->n_dim = n_dim;
    p->numel = 1;
    for (int i = 0; i < n_dim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->fan_in = fan_in;
    p->trainable = kind != MIM_AUNET_BN_MEAN && kind != MIM_AUNET_BN_VAR;
    p->pre_norm = pre_norm;
    l->n_floats += p->numel;
    return l->n_params++;
}

static void add_slot(builder *b, int param, size_t offset, int n_dim, const int64_t *shape,
                     const char *fmt, ...)
{
    mim_aunet_layout *l = b->l;
    if (b->oom || param < 0)
        return;
    if (l->n_slots == b->cap_s) {
        int cap = b->cap_s ? 2 * b->cap_s : 256;
        mim_aunet_slot *s = realloc(l->slots, (size_t)cap * sizeof *s);
        if (!s) {
            b->oom = 1;
            return;
        }
        l->slots = s;
        b->cap_s = cap;
    }
    mim_aunet_slot *s = &l->slots[l->n_slots];
    memset(s, 0, sizeof *s);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->param = param;
    s->offset = offset;
    s->n_dim = n_dim;
    s->numel = 1;
    for (int i = 0; i < n_dim; i++) {
        s->shape[i] = shape[i];
        s->numel *= (size_t)shape[i];
    }
    s->file_offset =
        l->n_slots ? l->slots[l->n_slots - 1].file_offset + l->slots[l->n_slots - 1].numel : 0;
    l->n_slots++;
}

/* A param that is also one whole slot of the same name. */
static void add_whole(builder *b, mim_aunet_kind kind, int fan_in, int pre_norm, int n_dim,
                      const int64_t *shape, const char *name)
{
    int p = add_param(b, kind, fan_in, pre_norm, n_dim, shape, "%s", name);
    add_slot(b, p, 0, n_dim, shape, "%s", name);
}

/* "prefix.weight" (cout, cin, k, k) and "prefix.bias" (cout). */
static void conv(builder *b, const char *prefix, int cin, int cout, int k, int pre_norm)
{
    char name[MIM_AUNET_NAME_SIZE + 16];
    int64_t ws[4] = {cout, cin, k, k}, bs[1] = {cout};
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_whole(b, MIM_AUNET_CONV_W, cin * k * k, 0, 4, ws, name);
    snprintf(name, sizeof name, "%s.bias", prefix);
    add_whole(b, MIM_AUNET_CONV_B, cin * k * k, pre_norm, 1, bs, name);
}

static void prelu(builder *b, const char *prefix)
{
    char name[MIM_AUNET_NAME_SIZE + 16];
    int64_t s[1] = {1};
    snprintf(name, sizeof name, "%s.weight", prefix);
    add_whole(b, MIM_AUNET_PRELU, 0, 0, 1, s, name);
}

static void bn(builder *b, const char *prefix, int c)
{
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    static const mim_aunet_kind kinds[4] = {MIM_AUNET_BN_W, MIM_AUNET_BN_B, MIM_AUNET_BN_MEAN,
                                            MIM_AUNET_BN_VAR};
    char name[MIM_AUNET_NAME_SIZE + 16];
    int64_t s[1] = {c};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, suffix[i]);
        add_whole(b, kinds[i], 0, 0, 1, s, name);
    }
}

/* Four 3x3 64->64 conv + IN + PReLU layers at indices 0,3,6,9 (PReLU at 2,5,8,11). */
static void in_stack(builder *b, const char *prefix)
{
    char name[MIM_AUNET_NAME_SIZE];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%d", prefix, 3 * i);
        conv(b, name, MIM_AUNET_FEAT, MIM_AUNET_FEAT, 3, 1);
        snprintf(name, sizeof name, "%s.%d", prefix, 3 * i + 2);
        prelu(b, name);
    }
}

static void feature_disc(builder *b, const char *m)
{
    char name[MIM_AUNET_NAME_SIZE];
    static const int cin[4] = {64, 64, 64, 128}, cout[4] = {64, 64, 128, 128};
    static const int conv_at[4] = {0, 3, 6, 9}, prelu_at[4] = {2, 5, 8, 10};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.net.%d", m, conv_at[i]);
        conv(b, name, cin[i], cout[i], 4, i < 3);
        snprintf(name, sizeof name, "%s.net.%d", m, prelu_at[i]);
        prelu(b, name);
    }
    snprintf(name, sizeof name, "%s.net.11", m);
    conv(b, name, 128, 1, 1, 0);
}

static void au_detector(builder *b, int n_au)
{
    const int F = MIM_AUNET_FEAT;
    const int64_t A = n_au;
    int64_t cw[4] = {A * F, F, 3, 3}, cv[1] = {A * F}, pv[1] = {A};
    int conv_w[4], conv_b[4], bn_p[3][4], pr[3];
    for (int i = 0; i < 4; i++) {
        conv_w[i] = add_param(b, MIM_AUNET_CONV_W, F * 9, 0, 4, cw, "Fau.c%d.weight", i + 1);
        conv_b[i] = add_param(b, MIM_AUNET_CONV_B, F * 9, i < 3, 1, cv, "Fau.c%d.bias", i + 1);
        if (i < 3) {
            bn_p[i][0] = add_param(b, MIM_AUNET_BN_W, 0, 0, 1, cv, "Fau.bn%d.weight", i + 1);
            bn_p[i][1] = add_param(b, MIM_AUNET_BN_B, 0, 0, 1, cv, "Fau.bn%d.bias", i + 1);
            bn_p[i][2] =
                add_param(b, MIM_AUNET_BN_MEAN, 0, 0, 1, cv, "Fau.bn%d.running_mean", i + 1);
            bn_p[i][3] = add_param(b, MIM_AUNET_BN_VAR, 0, 0, 1, cv, "Fau.bn%d.running_var", i + 1);
            pr[i] = add_param(b, MIM_AUNET_PRELU, 0, 0, 1, pv, "Fau.prelu%d.weight", i + 1);
        }
    }
    int64_t fw[4] = {A, F, 1, 1}, fb[1] = {A};
    int fc_w = add_param(b, MIM_AUNET_CONV_W, F, 0, 4, fw, "Fau.fc.weight");
    int fc_b = add_param(b, MIM_AUNET_CONV_B, F, 0, 1, fb, "Fau.fc.bias");

    static const char *const bn_suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    int64_t sw[4] = {F, F, 3, 3}, sv[1] = {F}, s1[1] = {1}, lw[2] = {1, F};
    for (int a = 0; a < n_au; a++) {
        for (int i = 0; i < 4; i++) {
            add_slot(b, conv_w[i], (size_t)a * F * F * 9, 4, sw, "Fau.branches.%d.%d.weight", a,
                     3 * i);
            add_slot(b, conv_b[i], (size_t)a * F, 1, sv, "Fau.branches.%d.%d.bias", a, 3 * i);
            if (i < 3) {
                for (int k = 0; k < 4; k++)
                    add_slot(b, bn_p[i][k], (size_t)a * F, 1, sv, "Fau.branches.%d.%d.%s", a,
                             3 * i + 1, bn_suffix[k]);
                add_slot(b, pr[i], (size_t)a, 1, s1, "Fau.branches.%d.%d.weight", a, 3 * i + 2);
            }
        }
    }
    for (int a = 0; a < n_au; a++) {
        add_slot(b, fc_w, (size_t)a * F, 2, lw, "Fau.fcs.%d.weight", a);
        add_slot(b, fc_b, (size_t)a, 1, s1, "Fau.fcs.%d.bias", a);
    }
}

static void projector(builder *b, const char *m)
{
    char name[MIM_AUNET_NAME_SIZE];
    snprintf(name, sizeof name, "%s.fc1", m);
    conv(b, name, 64, 64, 1, 0);
    snprintf(name, sizeof name, "%s.fc2", m);
    conv(b, name, 64, 64, 1, 0);
}

mim_aunet_layout *mim_aunet_layout_new(int n_au, int n_land)
{
    if (n_au < 1 || n_au > MIM_AUNET_MAX_AU || n_land < 1 || n_land > 4096)
        return NULL;
    mim_aunet_layout *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->n_au = n_au;
    l->n_land = n_land;
    builder b = {.l = l};
    char name[MIM_AUNET_NAME_SIZE];

    b.module = MIM_AUNET_EF;
    static const int ef_cin[4] = {3, 32, 32, 64}, ef_cout[4] = {32, 32, 64, 64};
    static const int ef_at[4] = {0, 3, 7, 10};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "Ef.net.%d", ef_at[i]);
        conv(&b, name, ef_cin[i], ef_cout[i], 3, 1);
        snprintf(name, sizeof name, "Ef.net.%d", ef_at[i] + 1);
        bn(&b, name, ef_cout[i]);
        snprintf(name, sizeof name, "Ef.net.%d", ef_at[i] + 2);
        prelu(&b, name);
    }

    b.module = MIM_AUNET_EL;
    in_stack(&b, "El.body");
    conv(&b, "El.head", MIM_AUNET_FEAT, n_land, 3, 0);

    b.module = MIM_AUNET_EB;
    in_stack(&b, "Eb.net");

    b.module = MIM_AUNET_G;
    static const int g_cin[5] = {65, 128, 128, 64, 64}, g_cout[5] = {128, 128, 64, 64, 64};
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "G.net.%d", 3 * i);
        conv(&b, name, g_cin[i], g_cout[i], 3, 1);
        snprintf(name, sizeof name, "G.net.%d", 3 * i + 2);
        prelu(&b, name);
    }

    b.module = MIM_AUNET_DL;
    in_stack(&b, "Dl.net");
    conv(&b, "Dl.net.12", MIM_AUNET_FEAT, n_land, 3, 0);

    b.module = MIM_AUNET_DS;
    feature_disc(&b, "Ds");
    b.module = MIM_AUNET_DT;
    feature_disc(&b, "Dt");

    b.module = MIM_AUNET_FAU;
    au_detector(&b, n_au);

    b.module = MIM_AUNET_PF;
    projector(&b, "Pf");
    b.module = MIM_AUNET_PL;
    projector(&b, "Pl");
    b.module = MIM_AUNET_PB;
    projector(&b, "Pb");

    if (b.oom) {
        mim_aunet_layout_free(l);
        return NULL;
    }
    return l;
}

void mim_aunet_layout_free(mim_aunet_layout *l)
{
    if (!l)
        return;
    free(l->params);
    free(l->slots);
    free(l);
}

int mim_aunet_layout_find_param(const mim_aunet_layout *l, const char *name)
{
    for (int i = 0; i < l->n_params; i++)
        if (!strcmp(l->params[i].name, name))
            return i;
    return -1;
}

int mim_aunet_layout_find_slot(const mim_aunet_layout *l, const char *name)
{
    for (int i = 0; i < l->n_slots; i++)
        if (!strcmp(l->slots[i].name, name))
            return i;
    return -1;
}

void mim_aunet_layout_init(const mim_aunet_layout *l, mim_rng *rng, float *const *dst)
{
    for (int i = 0; i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        const mim_aunet_param *p = &l->params[s->param];
        float *d = dst[s->param] + s->offset;
        switch (p->kind) {
        case MIM_AUNET_CONV_W:
        case MIM_AUNET_CONV_B: {
            double bound = 1.0 / sqrt((double)p->fan_in);
            for (size_t j = 0; j < s->numel; j++)
                d[j] = (float)((2.0 * mim_rng_uniform(rng) - 1.0) * bound);
            break;
        }
        case MIM_AUNET_BN_W:
        case MIM_AUNET_BN_VAR:
            for (size_t j = 0; j < s->numel; j++)
                d[j] = 1.0f;
            break;
        case MIM_AUNET_BN_B:
        case MIM_AUNET_BN_MEAN:
            for (size_t j = 0; j < s->numel; j++)
                d[j] = 0.0f;
            break;
        case MIM_AUNET_PRELU:
            for (size_t j = 0; j < s->numel; j++)
                d[j] = 0.25f;
            break;
        }
    }
}

void mim_aunet_layout_scatter(const mim_aunet_layout *l, const float *flat, float *const *dst)
{
    for (int i = 0; i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        memcpy(dst[s->param] + s->offset, flat + s->file_offset, s->numel * sizeof(float));
    }
}

void mim_aunet_layout_gather(const mim_aunet_layout *l, const float *const *src, float *flat)
{
    for (int i = 0; i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        memcpy(flat + s->file_offset, src[s->param] + s->offset, s->numel * sizeof(float));
    }
}
