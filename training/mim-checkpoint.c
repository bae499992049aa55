/* mim-checkpoint.c: training checkpoints (see mim-checkpoint.h). */
#include "mim-checkpoint.h"
#include "mim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mim_checkpoint_write(const char *path, const mim_checkpoint *c, const mim_aunet_info *info,
                         char *err, size_t err_size)
{
    const mim_aunet_layout *l = c->layout;
    mim_st_writer *w = mim_st_writer_new();
    if (!w)
        return mim_errf(err, err_size, "checkpoint: out of memory");
    int rc = mim_aunet_file_fill(w, l, (const float *const *)c->params, info, err, err_size);
    char name[MIM_AUNET_NAME_SIZE + 16];
    for (int p = 0; p < l->n_params && !rc; p++) {
        if (!l->params[p].trainable)
            continue;
        snprintf(name, sizeof name, "optim.m.%s", l->params[p].name);
        rc = mim_st_writer_add(w, name, MIM_ST_F32, l->params[p].n_dim, l->params[p].shape,
                               c->adam_m[p], err, err_size);
        snprintf(name, sizeof name, "optim.v.%s", l->params[p].name);
        rc = rc ? rc
                : mim_st_writer_add(w, name, MIM_ST_F32, l->params[p].n_dim, l->params[p].shape,
                                    c->adam_v[p], err, err_size);
    }
    int64_t n_params = l->n_params;
    rc = rc ? rc
            : mim_st_writer_add(w, "optim.t", MIM_ST_I64, 1, &n_params, c->adam_t, err, err_size);
    char buf[128];
    snprintf(buf, sizeof buf, "%" PRId64, c->step);
    rc = rc ? rc : mim_st_writer_set_meta(w, "checkpoint.step", buf, err, err_size);
    snprintf(buf, sizeof buf, "%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64,
             c->rng.s[0], c->rng.s[1], c->rng.s[2], c->rng.s[3]);
    rc = rc ? rc : mim_st_writer_set_meta(w, "checkpoint.rng", buf, err, err_size);
    rc = rc ? rc : mim_st_writer_set_meta(w, "checkpoint.state", c->state, err, err_size);
    rc = rc ? rc : mim_st_writer_write(w, path, err, err_size);
    mim_st_writer_free(w);
    return rc;
}

static const mim_st_tensor *find_f32(const mim_st_file *f, const char *name,
                                     const mim_aunet_param *p, char *err, size_t err_size)
{
    const mim_st_tensor *t = mim_st_find(f, name);
    if (!t) {
        mim_errf(err, err_size, "checkpoint lacks \"%s\"", name);
        return NULL;
    }
    int same = t->dtype == MIM_ST_F32 && t->n_dim == p->n_dim;
    for (int d = 0; same && d < p->n_dim; d++)
        same = t->shape[d] == p->shape[d];
    if (!same) {
        mim_errf(err, err_size, "checkpoint tensor \"%s\" has the wrong dtype or shape", name);
        return NULL;
    }
    return t;
}

int mim_checkpoint_read(const char *path, mim_checkpoint *c, mim_aunet_info *info, char *err,
                        size_t err_size)
{
    const mim_aunet_layout *l = c->layout;
    mim_st_file *f = NULL;
    if (mim_st_open(path, &f, err, err_size))
        return -1;
    int rc = mim_aunet_file_info(f, info, err, err_size);
    const char *step = mim_st_meta(f, "checkpoint.step");
    const char *rng = mim_st_meta(f, "checkpoint.rng");
    const char *state = mim_st_meta(f, "checkpoint.state");
    int64_t step_v = 0;
    mim_rng rng_v;
    if (!rc && (!step || !rng || !state))
        rc = mim_errf(err, err_size,
                      "%s is a model file, not a checkpoint (no checkpoint.* metadata)", path);
    if (!rc) {
        char *end;
        step_v = strtoll(step, &end, 10);
        if (*end || step_v < 0)
            rc = mim_errf(err, err_size, "checkpoint.step \"%.40s\" is not a count", step);
    }
    if (!rc && sscanf(rng, "%16" SCNx64 ":%16" SCNx64 ":%16" SCNx64 ":%16" SCNx64, &rng_v.s[0],
                      &rng_v.s[1], &rng_v.s[2], &rng_v.s[3]) != 4)
        rc = mim_errf(err, err_size, "checkpoint.rng is malformed");
    if (!rc && strlen(state) >= sizeof c->state)
        rc = mim_errf(err, err_size, "checkpoint.state is too long");
    const mim_st_tensor *tt = NULL;
    if (!rc) {
        tt = mim_st_find(f, "optim.t");
        if (!tt || tt->dtype != MIM_ST_I64 || tt->n_dim != 1 || tt->shape[0] != l->n_params)
            rc = mim_errf(err, err_size, "checkpoint lacks optim.t of %d I64 counts", l->n_params);
    }
    char name[MIM_AUNET_NAME_SIZE + 16];
    for (int p = 0; p < l->n_params && !rc; p++) {
        if (!l->params[p].trainable)
            continue;
        snprintf(name, sizeof name, "optim.m.%s", l->params[p].name);
        if (!find_f32(f, name, &l->params[p], err, err_size))
            rc = -1;
        snprintf(name, sizeof name, "optim.v.%s", l->params[p].name);
        if (!rc && !find_f32(f, name, &l->params[p], err, err_size))
            rc = -1;
    }
    /* everything validated (the model part by mim_aunet_file_load): copy */
    if (!rc)
        rc = mim_aunet_file_load(f, l, c->params, err, err_size);
    for (int p = 0; p < l->n_params && !rc; p++) {
        if (!l->params[p].trainable)
            continue;
        snprintf(name, sizeof name, "optim.m.%s", l->params[p].name);
        memcpy(c->adam_m[p], mim_st_find(f, name)->data, l->params[p].numel * sizeof(float));
        snprintf(name, sizeof name, "optim.v.%s", l->params[p].name);
        memcpy(c->adam_v[p], mim_st_find(f, name)->data, l->params[p].numel * sizeof(float));
    }
    if (!rc) {
        memcpy(c->adam_t, tt->data, (size_t)l->n_params * sizeof(int64_t));
        c->step = step_v;
        c->rng = rng_v;
        snprintf(c->state, sizeof c->state, "%s", state);
    }
    mim_st_close(f);
    return rc;
}
