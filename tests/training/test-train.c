/* test-train.c: the joint training step beyond the golden iteration: a run resumed from a
 * checkpoint continues exactly as the uninterrupted one (same backend: bit-identical weights,
 * Adam state and losses); the switches (contrastive off = ADLD leaves the projectors untouched;
 * WAL; full mode) and the learning-rate factor. Batch 1, 2 AUs, on dnnl when built (else ref).
 * `test-training-train resume` runs in suite training, `switches` in suite slow. */
#include <stdint.h>
#include <unistd.h>

#include "aunet/mim-aunet.h"
#include "mim-schedule.h"
#include "mim-test.h"
#include "mim-train.h"
#include "mimica-config.h"

#define NA 2
#define NL 49
#define S  (3 * 176 * 176)

typedef struct {
    float xs[S], xt[S], ys[NA], yt[NA];
    int32_t ls[NL], lt[NL];
} batch_data;

static const float au_w[NA] = {1.25f, 0.75f};

static mim_backend *backend(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (be)
        return be;
#endif
    return mim_backend_ref_new();
}

/* A batch drawn from the trainer's RNG (so a resumed run must restore it too). */
static void draw(mim_rng *r, batch_data *d)
{
    for (int i = 0; i < S; i++) {
        d->xs[i] = (float)(2 * mim_rng_uniform(r) - 1);
        d->xt[i] = (float)(2 * mim_rng_uniform(r) - 1);
    }
    for (int i = 0; i < NL; i++) {
        d->ls[i] = (int32_t)mim_rng_below(r, 1936);
        d->lt[i] = (int32_t)mim_rng_below(r, 1936);
    }
    for (int i = 0; i < NA; i++) { /* one positive and one negative label each */
        d->ys[i] = (float)((i + (int)mim_rng_below(r, 2)) % 2);
        d->yt[i] = 1.0f - d->ys[i];
    }
}

typedef struct {
    mim_ctx *ctx;
    mim_aunet *m;
    mim_trainer *tr;
} run;

static int open_run(mim_backend *be, const mim_train_config *cfg, run *r)
{
    memset(r, 0, sizeof *r);
    r->ctx = mim_ctx_new(be);
    if (!r->ctx || mim_aunet_new(r->ctx, NA, NL, 5, &r->m) != MIM_OK ||
        mim_trainer_new(r->m, cfg, au_w, &r->tr) != MIM_OK)
        return -1;
    mim_rng_seed(mim_trainer_rng(r->tr), 77);
    return 0;
}

static void close_run(run *r)
{
    mim_trainer_free(r->tr);
    mim_aunet_free(r->m);
    mim_ctx_free(r->ctx);
}

static int step(run *r, batch_data *d, mim_train_losses *L)
{
    draw(mim_trainer_rng(r->tr), d);
    mim_train_batch b = {1, d->xs, d->xt, d->ls, d->lt, d->ys, d->yt};
    if (mim_trainer_step(r->tr, &b, L) != MIM_OK) {
        MT_FAIL("step: %s", mim_trainer_last_error(r->tr));
        return -1;
    }
    return 0;
}

static float *flat(run *r)
{
    float *f = malloc(mim_aunet_get_layout(r->m)->n_floats * sizeof(float));
    if (f && mim_aunet_get_flat(r->m, f) != MIM_OK) {
        free(f);
        return NULL;
    }
    return f;
}

static void test_resume_is_exact(void)
{
    mim_backend *be = backend();
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    batch_data *d = malloc(sizeof *d);
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mim-test-train-%d.ckpt", tmp ? tmp : "/tmp", (int)getpid());
    run a, b;
    mim_train_losses La[2], Lb;
    MT_CHECK(open_run(be, &cfg, &a) == 0);
    MT_CHECK(open_run(be, &cfg, &b) == 0);
    int ok = 1;
    for (int i = 0; i < 2 && ok; i++) {
        mim_trainer_set_lr_factor(a.tr, mim_schedule_lambda(i, 1, 2));
        ok = step(&a, d, &La[i]) == 0;
    }
    /* b: one step, checkpoint, a fresh context and model, load, one more step */
    mim_trainer_set_lr_factor(b.tr, mim_schedule_lambda(0, 1, 2));
    ok = ok && step(&b, d, &Lb) == 0;
    MT_CHECK(Lb.g_total == La[0].g_total);
    mim_aunet_info info = {.n_au = NA, .n_land = NL};
    snprintf(info.au_list, sizeof info.au_list, "1,2");
    MT_CHECK(mim_trainer_save(b.tr, path, &info, "epoch=0") == MIM_OK);
    close_run(&b);
    MT_CHECK(open_run(be, &cfg, &b) == 0);
    mim_rng_seed(mim_trainer_rng(b.tr), 12345); /* must be overwritten by the checkpoint */
    char state[64] = "";
    mim_aunet_info back;
    MT_CHECK(mim_trainer_load(b.tr, path, &back, state, sizeof state) == MIM_OK);
    MT_CHECK(!strcmp(state, "epoch=0"));
    MT_CHECK_INT(mim_trainer_n_steps(b.tr), 1);
    for (int i = 1; i < 2 && ok; i++) {
        mim_trainer_set_lr_factor(b.tr, mim_schedule_lambda(i, 1, 2));
        ok = step(&b, d, &Lb) == 0;
        if (ok && (Lb.g_total != La[i].g_total || Lb.d_total != La[i].d_total))
            MT_FAIL("step %d: resumed G_total %.9g D_total %.9g, uninterrupted %.9g %.9g", i,
                    Lb.g_total, Lb.d_total, La[i].g_total, La[i].d_total);
    }
    float *fa = flat(&a), *fb = flat(&b);
    size_t n = mim_aunet_get_layout(a.m)->n_floats, n_diff = 0;
    if (fa && fb)
        for (size_t i = 0; i < n; i++)
            n_diff += memcmp(&fa[i], &fb[i], sizeof(float)) != 0;
    MT_CHECK(fa && fb && n_diff == 0);
    /* and the optimiser state: both write identical checkpoints */
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s.a", path);
    snprintf(pb, sizeof pb, "%s.b", path);
    MT_CHECK(mim_trainer_save(a.tr, pa, &info, "x") == MIM_OK);
    MT_CHECK(mim_trainer_save(b.tr, pb, &info, "x") == MIM_OK);
    FILE *f1 = fopen(pa, "rb"), *f2 = fopen(pb, "rb");
    long same = f1 && f2, n_bytes = 0;
    while (same) {
        int c1 = fgetc(f1), c2 = fgetc(f2);
        if (c1 != c2)
            same = 0;
        if (c1 == EOF)
            break;
        n_bytes++;
    }
    if (f1)
        fclose(f1);
    if (f2)
        fclose(f2);
    MT_CHECK(same);
    MT_NOTE("backend %s: 2 steps vs 1 + checkpoint + fresh model + 1 (lr factor 1 then 1/2): %zu "
            "of %zu weights differ; checkpoints of %ld bytes %s; G_total per step %.6f %.6f",
            mim_backend_name(be), n_diff, n, n_bytes, same ? "identical" : "DIFFER", La[0].g_total,
            La[1].g_total);
    unlink(path);
    unlink(pa);
    unlink(pb);
    free(fa);
    free(fb);
    close_run(&a);
    close_run(&b);
    free(d);
    mim_backend_free(be);
}

static void test_switches(void)
{
    mim_backend *be = backend();
    batch_data *d = malloc(sizeof *d);
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    cfg.contrastive = 0;
    run r;
    mim_train_losses L;
    MT_CHECK(open_run(be, &cfg, &r) == 0);
    float *before = flat(&r);
    int ok = step(&r, d, &L) == 0;
    float *after = flat(&r);
    const mim_aunet_layout *l = mim_aunet_get_layout(r.m);
    size_t moved_proj = 0, moved_other = 0, n_proj = 0;
    for (int i = 0; ok && before && after && i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        mim_aunet_module mod = l->params[s->param].module;
        int proj = mod == MIM_AUNET_PF || mod == MIM_AUNET_PL || mod == MIM_AUNET_PB;
        for (size_t j = 0; j < s->numel; j++) {
            int moved = before[s->file_offset + j] != after[s->file_offset + j];
            if (proj) {
                moved_proj += moved;
                n_proj++;
            } else {
                moved_other += moved;
            }
        }
    }
    MT_CHECK_INT(moved_proj, 0);
    MT_CHECK(moved_other > 1000000);
    MT_CHECK(L.con_self == 0 && L.con_cyc == 0 && L.con_mid == 0);
    double adld =
        400 * L.land_adv + 1.2 * L.feat_adv + 40 * L.cyc_l1 + 3 * L.self_l1 + L.au + 0.6 * L.land;
    MT_CHECK_NEAR(L.g_total, adld, 1e-5 * adld);
    MT_NOTE("ADLD (no contrastive): %zu of %zu projector weights moved, %zu others moved; G_total "
            "%.6f = weighted sum %.6f",
            moved_proj, n_proj, moved_other, L.g_total, adld);
    free(before);
    free(after);
    close_run(&r);

    /* WAL and full mode on the same data: the AU term changes, the rest does not */
    mim_train_config_default(&cfg);
    mim_train_losses Lb, Lw, Lf;
    MT_CHECK(open_run(be, &cfg, &r) == 0);
    ok = ok && step(&r, d, &Lb) == 0;
    close_run(&r);
    cfg.au_loss = MIM_AU_LOSS_WAL;
    MT_CHECK(open_run(be, &cfg, &r) == 0);
    ok = ok && step(&r, d, &Lw) == 0;
    close_run(&r);
    cfg.au_loss = MIM_AU_LOSS_BCE;
    cfg.mode = MIM_TRAIN_FULL;
    MT_CHECK(open_run(be, &cfg, &r) == 0);
    ok = ok && step(&r, d, &Lf) == 0;
    close_run(&r);
    if (ok) {
        MT_CHECK(isfinite(Lw.au) && Lw.au > 0 && Lw.au < Lb.au); /* negatives down-weighted */
        MT_CHECK(isfinite(Lf.au) && Lf.au != Lb.au);
        MT_CHECK_NEAR(Lw.land, Lb.land, 0);
        MT_CHECK_NEAR(Lf.cyc_l1, Lb.cyc_l1, 0);
        MT_NOTE("AU loss: bce/weak %.6f, wal/weak %.6f, bce/full %.6f; land %.6f in all", Lb.au,
                Lw.au, Lf.au, Lb.land);
    }
    free(d);
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_resume_is_exact);
    MT_RUN(test_switches);
    return mt_done();
}
