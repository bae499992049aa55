/* mim-train.c: the joint training iteration of MODEL.md §5 (see mim-train.h). */
#include "mim-train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-adam.h"
#include "mim-checkpoint.h"

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != MIM_OK)                                                                          \
            goto out;                                                                              \
    } while (0)

static const char *const tensor_names[] = {
    "Fs", "Ft",  "Ms",  "Mt",  "As",  "At",  "Hs",  "Ht", "Bs", "Bt",   "Fst",  "Fts",   "Rs",
    "Rt", "Bs2", "Bt2", "Ms2", "Mt2", "Hs2", "Ht2", "Cs", "Ct", "au_s", "au_t", "au_ts", "au_st",
};
enum {
    T_FS,
    T_FT,
    T_MS,
    T_MT,
    T_AS,
    T_AT,
    T_HS,
    T_HT,
    T_BS,
    T_BT,
    T_FST,
    T_FTS,
    T_RS,
    T_RT,
    T_BS2,
    T_BT2,
    T_MS2,
    T_MT2,
    T_HS2,
    T_HT2,
    T_CS,
    T_CT,
    T_AU_S,
    T_AU_T,
    T_AU_TS,
    T_AU_ST,
    N_T
};

struct mim_trainer {
    mim_aunet *m;
    mim_ctx *ctx;
    const mim_aunet_layout *l;
    mim_train_config cfg;
    mim_tensor *w; /* (n_au,1,1,1) AU weights */
    float au_weight[MIM_AUNET_MAX_AU];
    mim_tensor **adam_m, **adam_v; /* [n_params], trainable only */
    int64_t *adam_t;
    int64_t n_steps;
    double lr_factor;
    mim_rng rng;
    mim_tensor *t[N_T];
    char err[512];
};

void mim_train_config_default(mim_train_config *c)
{
    memset(c, 0, sizeof *c);
    c->contrastive = 1;
    c->au_loss = MIM_AU_LOSS_BCE;
    c->mode = MIM_TRAIN_WEAK;
    c->tau = 0.1;
    c->lambda_au = 1.0;
    c->lambda_land = 0.6;
    c->lambda_land_adv = 400.0;
    c->lambda_feat_adv = 1.2;
    c->lambda_cyc = 40.0;
    c->lambda_self = 3.0;
    c->lambda_con_self = 1.0;
    c->lambda_con_cyc = 1.0;
    c->lambda_con_mid = 0.5;
}

static void set_err(mim_trainer *tr, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tr->err, sizeof tr->err, fmt, ap);
    va_end(ap);
}

mim_status mim_trainer_new(mim_aunet *m, const mim_train_config *cfg, const float *au_weight,
                           mim_trainer **out)
{
    mim_status st = MIM_OK;
    *out = NULL;
    mim_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return MIM_ERR_NOMEM;
    tr->m = m;
    tr->ctx = mim_aunet_get_ctx(m);
    tr->l = mim_aunet_get_layout(m);
    tr->cfg = *cfg;
    tr->lr_factor = 1.0;
    mim_rng_seed(&tr->rng, 0);
    const mim_aunet_layout *l = tr->l;
    tr->adam_m = calloc((size_t)l->n_params, sizeof *tr->adam_m);
    tr->adam_v = calloc((size_t)l->n_params, sizeof *tr->adam_v);
    tr->adam_t = calloc((size_t)l->n_params, sizeof *tr->adam_t);
    if (!tr->adam_m || !tr->adam_v || !tr->adam_t) {
        st = MIM_ERR_NOMEM;
        goto out;
    }
    for (int p = 0; p < l->n_params; p++) {
        if (!l->params[p].trainable)
            continue;
        const int64_t *ne = mim_aunet_tensor(m, p)->ne;
        TRY(mim_tensor_new_persist(tr->ctx, MIM_F32, ne[0], ne[1], ne[2], ne[3], &tr->adam_m[p]));
        TRY(mim_tensor_new_persist(tr->ctx, MIM_F32, ne[0], ne[1], ne[2], ne[3], &tr->adam_v[p]));
        TRY(mim_tensor_fill(tr->adam_m[p], 0.0f));
        TRY(mim_tensor_fill(tr->adam_v[p], 0.0f));
    }
    TRY(mim_tensor_new_persist(tr->ctx, MIM_F32, l->n_au, 1, 1, 1, &tr->w));
    TRY(mim_tensor_set(tr->w, au_weight, (size_t)l->n_au * sizeof(float)));
    memcpy(tr->au_weight, au_weight, (size_t)l->n_au * sizeof(float));
out:
    if (st != MIM_OK) {
        mim_trainer_free(tr);
        return st;
    }
    *out = tr;
    return MIM_OK;
}

void mim_trainer_free(mim_trainer *tr)
{
    if (!tr)
        return;
    free(tr->adam_m);
    free(tr->adam_v);
    free(tr->adam_t);
    free(tr);
}

const char *mim_trainer_last_error(const mim_trainer *tr)
{
    return tr->err;
}

void mim_trainer_set_lr_factor(mim_trainer *tr, double factor)
{
    tr->lr_factor = factor;
}

int64_t mim_trainer_n_steps(const mim_trainer *tr)
{
    return tr->n_steps;
}

mim_rng *mim_trainer_rng(mim_trainer *tr)
{
    return &tr->rng;
}

mim_tensor *mim_trainer_tensor(const mim_trainer *tr, const char *name)
{
    for (int i = 0; i < N_T; i++)
        if (!strcmp(tensor_names[i], name))
            return tr->t[i];
    return NULL;
}

/* ---- pieces of the step ---- */

static mim_status half_sum(mim_ctx *ctx, mim_tensor *a, mim_tensor *b, mim_tensor **out)
{
    /* 0.5·(a + b), as the reference writes it */
    mim_status st = MIM_OK;
    mim_tensor *s = NULL;
    TRY(mim_add(ctx, a, b, &s));
    TRY(mim_scale(ctx, s, 0.5f, out));
out:
    return st;
}

static mim_status scalar(mim_tensor *t, double *v)
{
    float f = 0;
    mim_status st = mim_tensor_get(t, &f, sizeof f);
    *v = f;
    return st;
}

/* Cell-level InfoNCE of X against sg(Y) through projector P (MODEL.md §4.2). */
static mim_status info_nce(mim_trainer *tr, mim_tensor *x, mim_tensor *y, mim_aunet_module proj,
                           mim_tensor **out)
{
    mim_status st = MIM_OK;
    mim_tensor *u = NULL, *v = NULL, *s = NULL, *sy = NULL, *q = NULL;
    TRY(mim_aunet_proj(tr->m, proj, x, &u));
    sy = mim_detach(tr->ctx, y);
    TRY(mim_aunet_proj(tr->m, proj, sy, &v));
    TRY(mim_matmul(tr->ctx, u, v, 1, 0, &s)); /* (B,1,121,121) = uᵀv per image */
    TRY(mim_scale(tr->ctx, s, (float)(1.0 / tr->cfg.tau), &q));
    TRY(mim_cross_entropy_diag(tr->ctx, q, out));
out:
    /* what the ops' backward needs they keep */
    mim_tensor_release(u);
    mim_tensor_release(v);
    mim_tensor_release(sy);
    mim_tensor_release(s);
    mim_tensor_release(q);
    return st;
}

/* AU loss of one logits tensor (B,A,1,1) against labels y (B,A,1,1). */
static mim_status au_loss(mim_trainer *tr, mim_tensor *z, mim_tensor *y, const float *y_host,
                          mim_tensor **out)
{
    mim_status st = MIM_OK;
    if (tr->cfg.au_loss == MIM_AU_LOSS_BCE)
        return mim_bce_logits(tr->ctx, z, y, tr->w, out);
    /* WAL = BCE with per-element weights w_c·(y + (1−y)·sg(p)): as B·A "classes" of one batch.
     * (The reference also clamps p and 1−p at 1e-8, which only matters for |z| > 18.4.) */
    const int64_t B = z->ne[0], A = z->ne[1];
    float *zh = malloc((size_t)(B * A) * sizeof *zh);
    float *wh = malloc((size_t)(B * A) * sizeof *wh);
    mim_tensor *zr = NULL, *yr = NULL, *w = NULL;
    if (!zh || !wh) {
        st = MIM_ERR_NOMEM;
        goto out;
    }
    TRY(mim_tensor_get(z, zh, (size_t)(B * A) * sizeof *zh));
    for (int64_t i = 0; i < B * A; i++) {
        float p = 1.0f / (1.0f + expf(-zh[i]));
        float yy = y_host[i];
        wh[i] = tr->au_weight[i % A] * (yy + (1.0f - yy) * p);
    }
    TRY(mim_tensor_new(tr->ctx, MIM_F32, B * A, 1, 1, 1, &w));
    TRY(mim_tensor_set(w, wh, (size_t)(B * A) * sizeof *wh));
    TRY(mim_reshape(tr->ctx, z, 1, B * A, 1, 1, &zr));
    TRY(mim_reshape(tr->ctx, y, 1, B * A, 1, 1, &yr));
    TRY(mim_bce_logits(tr->ctx, zr, yr, w, out));
out:
    free(zh);
    free(wh);
    return st;
}

static void set_disc_frozen(mim_trainer *tr, int frozen)
{
    for (int p = 0; p < tr->l->n_params; p++)
        if (tr->l->params[p].trainable &&
            mim_aunet_module_group(tr->l->params[p].module) == MIM_AUNET_GROUP_DISC)
            mim_param_set_frozen(mim_aunet_tensor(tr->m, p), frozen);
}

static mim_status adam_group(mim_trainer *tr, mim_aunet_group g)
{
    mim_status st = MIM_OK;
    const mim_adam_hparams *h = &mim_adam_groups[g];
    for (int p = 0; p < tr->l->n_params; p++) {
        const mim_aunet_param *q = &tr->l->params[p];
        if (!q->trainable || mim_aunet_module_group(q->module) != g)
            continue;
        if (!tr->cfg.contrastive &&
            (q->module == MIM_AUNET_PF || q->module == MIM_AUNET_PL || q->module == MIM_AUNET_PB))
            continue; /* no loss reaches the projectors: PyTorch skips grad None */
        mim_tensor *t = mim_aunet_tensor(tr->m, p);
        MIM_ASSERT(t->grad != NULL);
        TRY(mim_adam_step(tr->ctx, t, t->grad, tr->adam_m[p], tr->adam_v[p], h, tr->lr_factor,
                          &tr->adam_t[p]));
    }
out:
    return st;
}

static mim_status input(mim_ctx *ctx, mim_dtype dt, int64_t b, int64_t c, int64_t h, int64_t w,
                        const void *src, mim_tensor **out)
{
    mim_status st = mim_tensor_new(ctx, dt, b, c, h, w, out);
    if (st == MIM_OK)
        st = mim_tensor_set(*out, src, (size_t)(b * c * h * w) * 4);
    return st;
}

static mim_status onehot(mim_ctx *ctx, const int32_t *labels, int64_t B, int64_t L,
                         mim_tensor **out)
{
    const int64_t P = MIM_AUNET_GRID * MIM_AUNET_GRID;
    float *h = calloc((size_t)(B * L * P), sizeof *h);
    if (!h)
        return MIM_ERR_NOMEM;
    for (int64_t i = 0; i < B * L; i++)
        if (labels[i] >= 0 && labels[i] < P)
            h[i * P + labels[i]] = 1.0f;
    mim_status st = input(ctx, MIM_F32, B, L, MIM_AUNET_GRID, MIM_AUNET_GRID, h, out);
    free(h);
    return st;
}

mim_status mim_trainer_step(mim_trainer *tr, const mim_train_batch *b, mim_train_losses *L)
{
    mim_status st = MIM_OK;
    mim_ctx *ctx = tr->ctx;
    mim_aunet *m = tr->m;
    const int64_t B = b->batch, NL = tr->l->n_land, NA = tr->l->n_au, S = MIM_AUNET_CROP;
    const int weak = tr->cfg.mode == MIM_TRAIN_WEAK;
    mim_tensor **t = tr->t;
    mim_tensor *xs, *xt, *ls, *lt, *ys, *yt = NULL, *oh_s, *oh_t;
    mim_tensor *a, *c, *d_land, *d_src, *d_tgt, *d_total, *u, *v;
    mim_tensor *land_adv, *feat_adv, *cyc, *self, *au, *land, *total;
    mim_tensor *con_self = NULL, *con_cyc = NULL, *con_mid = NULL;
    memset(L, 0, sizeof *L);
    memset(tr->t, 0, sizeof tr->t);
    tr->err[0] = 0;

    mim_ctx_reset_step(ctx);
    mim_ctx_set_grad(ctx, 1);
    TRY(mim_aunet_snapshot(m));
    TRY(input(ctx, MIM_F32, B, 3, S, S, b->xs, &xs));
    TRY(input(ctx, MIM_F32, B, 3, S, S, b->xt, &xt));
    TRY(input(ctx, MIM_I32, B, NL, 1, 1, b->ls, &ls));
    TRY(input(ctx, MIM_I32, B, NL, 1, 1, b->lt, &lt));
    TRY(input(ctx, MIM_F32, B, NA, 1, 1, b->ys, &ys));
    if (!weak)
        TRY(input(ctx, MIM_F32, B, NA, 1, 1, b->yt, &yt));
    TRY(onehot(ctx, b->ls, B, NL, &oh_s));
    TRY(onehot(ctx, b->lt, B, NL, &oh_t));

    /* 2. shared forward, in the reference's order (BN running statistics) */
    TRY(mim_aunet_ef(m, xs, 1, &t[T_FS]));
    TRY(mim_aunet_el(m, t[T_FS], 0, &t[T_MS], &t[T_AS], &t[T_HS]));
    TRY(mim_aunet_fau(m, t[T_FS], 1, &t[T_AU_S]));
    TRY(mim_aunet_ef(m, xt, 1, &t[T_FT]));
    TRY(mim_aunet_el(m, t[T_FT], 0, &t[T_MT], &t[T_AT], &t[T_HT]));
    if (weak)
        mim_ctx_set_grad(ctx, 0); /* only BN statistics: no loss uses Fau(Ft) */
    TRY(mim_aunet_fau(m, t[T_FT], 1, &t[T_AU_T]));
    mim_ctx_set_grad(ctx, 1);
    TRY(mim_aunet_eb(m, mim_detach(ctx, t[T_FS]), &t[T_BS]));
    TRY(mim_aunet_eb(m, mim_detach(ctx, t[T_FT]), &t[T_BT]));
    mim_tensor *as = mim_detach(ctx, t[T_AS]), *at = mim_detach(ctx, t[T_AT]);
    TRY(mim_aunet_g(m, as, t[T_BT], &t[T_FST]));
    TRY(mim_aunet_g(m, at, t[T_BS], &t[T_FTS]));
    TRY(mim_aunet_g(m, as, t[T_BS], &t[T_RS]));
    TRY(mim_aunet_g(m, at, t[T_BT], &t[T_RT]));
    TRY(mim_aunet_eb(m, mim_detach(ctx, t[T_FTS]), &t[T_BS2]));
    TRY(mim_aunet_eb(m, mim_detach(ctx, t[T_FST]), &t[T_BT2]));
    mim_tensor *as2 = NULL, *at2 = NULL;
    TRY(mim_aunet_el(m, t[T_FTS], 1, &t[T_MT2], &at2, &t[T_HT2]));
    TRY(mim_aunet_el(m, t[T_FST], 1, &t[T_MS2], &as2, &t[T_HS2]));
    TRY(mim_aunet_g(m, mim_detach(ctx, as2), t[T_BS2], &t[T_CS]));
    TRY(mim_aunet_g(m, mim_detach(ctx, at2), t[T_BT2], &t[T_CT]));

    /* 3. discriminator step */
    set_disc_frozen(tr, 0);
    mim_param_zero_grad(ctx, NULL, MIM_AUNET_GROUP_DISC);
    TRY(mim_aunet_dl(m, mim_detach(ctx, t[T_BS]), &u));
    TRY(mim_mse_mean(ctx, u, oh_s, &a));
    mim_tensor_release(u); /* the loss keeps it */
    TRY(mim_aunet_dl(m, mim_detach(ctx, t[T_BT]), &u));
    TRY(mim_mse_mean(ctx, u, oh_t, &c));
    mim_tensor_release(u);
    TRY(half_sum(ctx, a, c, &d_land));
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DS, mim_detach(ctx, t[T_FS]), &u));
    TRY(mim_mse_mean_const(ctx, u, 1.0f, &a));
    mim_tensor_release(u);
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DS, mim_detach(ctx, t[T_FTS]), &u));
    TRY(mim_mse_mean_const(ctx, u, 0.0f, &c));
    mim_tensor_release(u);
    TRY(half_sum(ctx, a, c, &d_src));
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DT, mim_detach(ctx, t[T_FT]), &u));
    TRY(mim_mse_mean_const(ctx, u, 1.0f, &a));
    mim_tensor_release(u);
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DT, mim_detach(ctx, t[T_FST]), &u));
    TRY(mim_mse_mean_const(ctx, u, 0.0f, &c));
    mim_tensor_release(u);
    TRY(half_sum(ctx, a, c, &d_tgt));
    TRY(half_sum(ctx, d_src, d_tgt, &v));
    TRY(mim_add(ctx, d_land, v, &d_total));
    TRY(mim_backward(ctx, d_total));
    TRY(adam_group(tr, MIM_AUNET_GROUP_DISC));

    /* 4. generator / task step: discriminators with their new weights, no weight gradient */
    set_disc_frozen(tr, 1);
    mim_param_zero_grad(ctx, NULL, MIM_AUNET_GROUP_GEN);
    mim_param_zero_grad(ctx, NULL, MIM_AUNET_GROUP_TASK);
    const float uniform = 1.0f / (MIM_AUNET_GRID * MIM_AUNET_GRID);
    TRY(mim_aunet_dl(m, t[T_BS], &u));
    TRY(mim_mse_mean_const(ctx, u, uniform, &a));
    mim_tensor_release(u);
    TRY(mim_aunet_dl(m, t[T_BT], &u));
    TRY(mim_mse_mean_const(ctx, u, uniform, &c));
    mim_tensor_release(u);
    TRY(half_sum(ctx, a, c, &land_adv));
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DS, t[T_FTS], &u));
    TRY(mim_mse_mean_const(ctx, u, 1.0f, &a));
    mim_tensor_release(u);
    TRY(mim_aunet_dfeat(m, MIM_AUNET_DT, t[T_FST], &u));
    TRY(mim_mse_mean_const(ctx, u, 1.0f, &c));
    mim_tensor_release(u);
    TRY(half_sum(ctx, a, c, &feat_adv));
    mim_tensor *fs_sg = mim_detach(ctx, t[T_FS]), *ft_sg = mim_detach(ctx, t[T_FT]);
    TRY(mim_l1_mean(ctx, t[T_CS], fs_sg, &a));
    TRY(mim_l1_mean(ctx, t[T_CT], ft_sg, &c));
    TRY(half_sum(ctx, a, c, &cyc));
    TRY(mim_l1_mean(ctx, t[T_RS], fs_sg, &a));
    TRY(mim_l1_mean(ctx, t[T_RT], ft_sg, &c));
    TRY(half_sum(ctx, a, c, &self));
    if (weak)
        mim_ctx_set_grad(ctx, 0); /* Fau(Fts) reaches no loss in weak mode */
    TRY(mim_aunet_fau(m, t[T_FTS], 1, &t[T_AU_TS]));
    mim_ctx_set_grad(ctx, 1);
    TRY(mim_aunet_fau(m, t[T_FST], 1, &t[T_AU_ST]));
    if (weak) {
        TRY(au_loss(tr, t[T_AU_S], ys, b->ys, &a));
        TRY(au_loss(tr, t[T_AU_ST], ys, b->ys, &c));
        TRY(half_sum(ctx, a, c, &au));
    } else {
        mim_tensor *e, *f;
        TRY(au_loss(tr, t[T_AU_S], ys, b->ys, &a));
        TRY(au_loss(tr, t[T_AU_T], yt, b->yt, &c));
        TRY(mim_add(ctx, a, c, &a));
        TRY(au_loss(tr, t[T_AU_TS], yt, b->yt, &e));
        TRY(mim_add(ctx, a, e, &a));
        TRY(au_loss(tr, t[T_AU_ST], ys, b->ys, &f));
        TRY(mim_add(ctx, a, f, &a));
        TRY(mim_scale(ctx, a, 0.25f, &au));
    }
    {
        mim_tensor *e;
        TRY(mim_cross_entropy_positions(ctx, t[T_MS], ls, &a));
        TRY(mim_cross_entropy_positions(ctx, t[T_MT], lt, &c));
        TRY(mim_add(ctx, a, c, &a));
        TRY(mim_cross_entropy_positions(ctx, t[T_MT2], lt, &e));
        TRY(mim_add(ctx, a, e, &a));
        TRY(mim_cross_entropy_positions(ctx, t[T_MS2], ls, &e));
        TRY(mim_add(ctx, a, e, &a));
        TRY(mim_scale(ctx, a, 0.5f, &land));
    }
    const mim_train_config *k = &tr->cfg;
    TRY(mim_axpby(ctx, (float)k->lambda_land_adv, land_adv, (float)k->lambda_feat_adv, feat_adv,
                  &total));
    TRY(mim_axpby(ctx, 1.0f, total, (float)k->lambda_cyc, cyc, &total));
    TRY(mim_axpby(ctx, 1.0f, total, (float)k->lambda_self, self, &total));
    TRY(mim_axpby(ctx, 1.0f, total, (float)k->lambda_au, au, &total));
    TRY(mim_axpby(ctx, 1.0f, total, (float)k->lambda_land, land, &total));
    if (k->contrastive) {
        mim_tensor *e, *f, *g;
        TRY(info_nce(tr, t[T_RS], t[T_FS], MIM_AUNET_PF, &a));
        TRY(info_nce(tr, t[T_RT], t[T_FT], MIM_AUNET_PF, &c));
        TRY(half_sum(ctx, a, c, &con_self));
        TRY(info_nce(tr, t[T_CS], t[T_FS], MIM_AUNET_PF, &a));
        TRY(info_nce(tr, t[T_CT], t[T_FT], MIM_AUNET_PF, &c));
        TRY(half_sum(ctx, a, c, &con_cyc));
        TRY(info_nce(tr, t[T_HS2], t[T_HS], MIM_AUNET_PL, &a));
        TRY(info_nce(tr, t[T_BS2], t[T_BS], MIM_AUNET_PB, &c));
        TRY(mim_add(ctx, a, c, &a));
        TRY(info_nce(tr, t[T_HT2], t[T_HT], MIM_AUNET_PL, &e));
        TRY(mim_add(ctx, a, e, &a));
        TRY(info_nce(tr, t[T_BT2], t[T_BT], MIM_AUNET_PB, &f));
        TRY(mim_add(ctx, a, f, &a));
        TRY(mim_scale(ctx, a, 0.25f, &con_mid));
        TRY(mim_axpby(ctx, (float)k->lambda_con_self, con_self, (float)k->lambda_con_cyc, con_cyc,
                      &g));
        TRY(mim_axpby(ctx, 1.0f, g, (float)k->lambda_con_mid, con_mid, &g));
        TRY(mim_add(ctx, total, g, &total));
    }
    TRY(mim_backward(ctx, total));
    TRY(adam_group(tr, MIM_AUNET_GROUP_GEN));
    TRY(adam_group(tr, MIM_AUNET_GROUP_TASK));
    set_disc_frozen(tr, 0);
    tr->n_steps++;

    TRY(scalar(d_land, &L->d_land));
    TRY(scalar(d_src, &L->d_src));
    TRY(scalar(d_tgt, &L->d_tgt));
    TRY(scalar(d_total, &L->d_total));
    TRY(scalar(land_adv, &L->land_adv));
    TRY(scalar(feat_adv, &L->feat_adv));
    TRY(scalar(cyc, &L->cyc_l1));
    TRY(scalar(self, &L->self_l1));
    TRY(scalar(au, &L->au));
    TRY(scalar(land, &L->land));
    if (con_self) {
        TRY(scalar(con_self, &L->con_self));
        TRY(scalar(con_cyc, &L->con_cyc));
        TRY(scalar(con_mid, &L->con_mid));
    }
    TRY(scalar(total, &L->g_total));
out:
    if (st != MIM_OK) {
        set_disc_frozen(tr, 0);
        set_err(tr, "training step: %s: %s", mim_status_str(st), mim_ctx_last_error(ctx));
    }
    return st;
}

/* ---- checkpoints ---- */

static void free_arrays(int n, float **a)
{
    if (!a)
        return;
    for (int i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

static float **alloc_arrays(const mim_aunet_layout *l)
{
    float **a = calloc((size_t)l->n_params, sizeof *a);
    if (!a)
        return NULL;
    for (int i = 0; i < l->n_params; i++)
        if (!(a[i] = malloc(l->params[i].numel * sizeof(float)))) {
            free_arrays(l->n_params, a);
            return NULL;
        }
    return a;
}

mim_status mim_trainer_save(mim_trainer *tr, const char *path, const mim_aunet_info *info,
                            const char *state)
{
    mim_status st = MIM_OK;
    const mim_aunet_layout *l = tr->l;
    mim_checkpoint c = {.layout = l, .step = tr->n_steps, .rng = tr->rng};
    c.params = alloc_arrays(l);
    c.adam_m = alloc_arrays(l);
    c.adam_v = alloc_arrays(l);
    c.adam_t = tr->adam_t;
    if (!c.params || !c.adam_m || !c.adam_v) {
        set_err(tr, "out of memory saving checkpoint %s", path);
        st = MIM_ERR_NOMEM;
        goto out;
    }
    if (state && strlen(state) >= sizeof c.state) {
        set_err(tr, "checkpoint state string too long");
        st = MIM_ERR_ARG;
        goto out;
    }
    snprintf(c.state, sizeof c.state, "%s", state ? state : "");
    TRY(mim_aunet_get_params(tr->m, c.params));
    for (int p = 0; p < l->n_params; p++) {
        if (!l->params[p].trainable)
            continue;
        size_t n = l->params[p].numel * sizeof(float);
        TRY(mim_tensor_get(tr->adam_m[p], c.adam_m[p], n));
        TRY(mim_tensor_get(tr->adam_v[p], c.adam_v[p], n));
    }
    if (mim_checkpoint_write(path, &c, info, tr->err, sizeof tr->err))
        st = MIM_ERR_IO;
out:
    free_arrays(l->n_params, c.params);
    free_arrays(l->n_params, c.adam_m);
    free_arrays(l->n_params, c.adam_v);
    return st;
}

mim_status mim_trainer_load(mim_trainer *tr, const char *path, mim_aunet_info *info, char *state,
                            size_t state_size)
{
    mim_status st = MIM_OK;
    const mim_aunet_layout *l = tr->l;
    mim_checkpoint c = {.layout = l};
    c.params = alloc_arrays(l);
    c.adam_m = alloc_arrays(l);
    c.adam_v = alloc_arrays(l);
    c.adam_t = calloc((size_t)l->n_params, sizeof *c.adam_t);
    if (!c.params || !c.adam_m || !c.adam_v || !c.adam_t) {
        set_err(tr, "out of memory reading checkpoint %s", path);
        st = MIM_ERR_NOMEM;
        goto out;
    }
    if (mim_checkpoint_read(path, &c, info, tr->err, sizeof tr->err)) {
        st = MIM_ERR_FORMAT;
        goto out;
    }
    TRY(mim_aunet_set_params(tr->m, (const float *const *)c.params));
    for (int p = 0; p < l->n_params; p++) {
        if (!l->params[p].trainable)
            continue;
        size_t n = l->params[p].numel * sizeof(float);
        TRY(mim_tensor_set(tr->adam_m[p], c.adam_m[p], n));
        TRY(mim_tensor_set(tr->adam_v[p], c.adam_v[p], n));
    }
    memcpy(tr->adam_t, c.adam_t, (size_t)l->n_params * sizeof *c.adam_t);
    tr->n_steps = c.step;
    tr->rng = c.rng;
    if (state && state_size)
        snprintf(state, state_size, "%s", c.state);
out:
    free_arrays(l->n_params, c.params);
    free_arrays(l->n_params, c.adam_m);
    free_arrays(l->n_params, c.adam_v);
    free(c.adam_t);
    return st;
}
