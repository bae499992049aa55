/* test-fit.c: training runs on packs (mim-fit.h). A run cancelled after step 2 and resumed from
 * its checkpoint in a fresh model ends bit-identical to the uninterrupted 3-step run (crossing a
 * source epoch and a target cycle); a checkpoint of another run is refused; evaluation counts
 * every labelled entry once, skips missing ones and gives a finite landmark NME. Batch 1, 2 AUs,
 * dnnl when built (else ref). */
#include <stdint.h>
#include <unistd.h>

#include "aunet/mim-aunet.h"
#include "mim-fit.h"
#include "mim-sample.h"
#include "mim-test.h"
#include "mimica-config.h"

static char dir[200], src_path[256], tgt_path[256], ckpt[256];

static mim_backend *backend(void)
{
#if MIM_HAVE_DNNL
    mim_backend *be = mim_backend_dnnl_new(0);
    if (be)
        return be;
#endif
    return mim_backend_ref_new();
}

/* A pack of n faces-ish images: smooth blobs, landmarks on a plausible layout, labels 0/1. */
static int make_pack(const char *path, int n, int seed, int with_labels)
{
    char err[256];
    mim_pack_writer *w = mim_pack_writer_new(path, "1,12,4", "test", err, sizeof err);
    if (!w) {
        MT_FAIL("%s", err);
        return -1;
    }
    uint8_t *rgb = malloc(MIM_PACK_IMAGE_BYTES);
    float xy[98], lab[3];
    mim_rng r;
    mim_rng_seed(&r, (uint64_t)seed);
    for (int i = 0; i < n; i++) {
        for (int y = 0; y < 200; y++)
            for (int x = 0; x < 200; x++)
                for (int c = 0; c < 3; c++)
                    rgb[(y * 200 + x) * 3 + c] =
                        (uint8_t)(128 + 100 * sin(0.05 * x * (c + 1) + 0.07 * y + i + seed));
        for (int k = 0; k < 49; k++) {
            xy[2 * k] = 40.0f + 120.0f * (float)mim_rng_uniform(&r);
            xy[2 * k + 1] = 40.0f + 120.0f * (float)mim_rng_uniform(&r);
        }
        lab[0] = (float)(i % 2);
        lab[1] = (float)((i / 2) % 2);
        lab[2] = i == 1 ? MIM_AU_MISSING : 1.0f;
        if (mim_pack_writer_add(w, rgb, xy, with_labels ? lab : NULL, (uint32_t)i, 0, err,
                                sizeof err) != 0)
            MT_FAIL("%s", err);
    }
    free(rgb);
    return mim_pack_writer_finish(w, err, sizeof err);
}

typedef struct {
    long cancel_at;
    long n_calls;
    double g_total[8];
} watch;

static int on_progress(void *user, const mim_fit_progress *p)
{
    watch *wt = user;
    if (p->step <= 8)
        wt->g_total[p->step - 1] = p->losses.g_total;
    wt->n_calls++;
    return wt->cancel_at > 0 && p->step == wt->cancel_at;
}

static float *run_flat(mim_backend *be, const mim_pack *s, const mim_pack *t, mim_fit_options *o,
                       mim_status *st, char *err, size_t err_size)
{
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    float *f = NULL;
    if (!ctx || mim_aunet_new(ctx, o->n_aus, 49, 3, &m) != MIM_OK) {
        *st = MIM_ERR_NOMEM;
        goto out;
    }
    mim_aunet_info info = {.n_au = o->n_aus, .n_land = 49};
    snprintf(info.au_list, sizeof info.au_list, "12,1");
    *st = mim_fit_train(m, s, t, o, &info, err, err_size);
    f = malloc(mim_aunet_get_layout(m)->n_floats * sizeof(float));
    if (f)
        mim_aunet_get_flat(m, f);
out:
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    return f;
}

static void test_resume(void)
{
    char err[512] = "";
    MT_CHECK(make_pack(src_path, 2, 1, 1) == 0);
    MT_CHECK(make_pack(tgt_path, 3, 2, 0) == 0);
    mim_pack *s = mim_pack_open(src_path, err, sizeof err);
    mim_pack *t = s ? mim_pack_open(tgt_path, err, sizeof err) : NULL;
    if (!s || !t) {
        MT_FAIL("%s", err);
        mim_pack_close(s);
        return;
    }
    mim_backend *be = backend();
    mim_fit_options o;
    mim_fit_options_default(&o);
    o.n_aus = 2;
    o.aus[0] = 12;
    o.aus[1] = 1;
    o.batch = 1;
    o.iters = 3;
    o.seed = 42;
    o.checkpoint = ckpt;
    o.checkpoint_every = 0;
    watch wa = {0}, wb = {.cancel_at = 2}, wc = {0};
    o.progress = on_progress;
    o.user = &wa;
    mim_status st;
    float *fa = run_flat(be, s, t, &o, &st, err, sizeof err);
    MT_CHECK(st == MIM_OK);
    if (st != MIM_OK)
        MT_NOTE("run a: %s", err);
    o.user = &wb;
    float *fb = run_flat(be, s, t, &o, &st, err, sizeof err);
    MT_CHECK(st == MIM_ERR_STATE && strstr(err, "cancelled after step 2"));
    MT_CHECK_INT(wb.n_calls, 2);
    o.user = &wc;
    o.resume = ckpt;
    free(fb);
    fb = run_flat(be, s, t, &o, &st, err, sizeof err);
    MT_CHECK(st == MIM_OK);
    if (st != MIM_OK)
        MT_NOTE("resumed run: %s", err);
    MT_CHECK_INT(wc.n_calls, 1);
    size_t n = 0, n_diff = 0;
    if (fa && fb) {
        mim_aunet_layout *l = mim_aunet_layout_new(2, 49);
        n = l->n_floats;
        for (size_t i = 0; i < n; i++)
            n_diff += memcmp(&fa[i], &fb[i], sizeof(float)) != 0;
        mim_aunet_layout_free(l);
    }
    MT_CHECK(n > 0 && n_diff == 0);
    MT_CHECK(wc.g_total[2] == wa.g_total[2] && wb.g_total[1] == wa.g_total[1]);
    MT_NOTE("backend %s: 3 steps vs 2 + cancel + checkpoint + fresh model + resume: %zu of %zu "
            "weights differ; G_total %.6f %.6f %.6f, resumed step 3 %.6f",
            mim_backend_name(be), n_diff, n, wa.g_total[0], wa.g_total[1], wa.g_total[2],
            wc.g_total[2]);

    /* a checkpoint of another run (other seed) is refused */
    o.seed = 43;
    float *fd = run_flat(be, s, t, &o, &st, err, sizeof err);
    MT_CHECK(st == MIM_ERR_ARG && strstr(err, "another run"));
    MT_NOTE("other run: %s", err);
    free(fa);
    free(fb);
    free(fd);

    /* evaluation: 2 AUs over 3 target records without labels -> nothing counted; the source
     * pack: AU12 all 4 entries... */
    mim_ctx *ctx = mim_ctx_new(be);
    mim_aunet *m = NULL;
    MT_CHECK(ctx && mim_aunet_new(ctx, 3, 49, 5, &m) == MIM_OK);
    int aus[3] = {1, 4, 26};
    mim_fit_eval_result r;
    MT_CHECK(mim_fit_eval(m, s, aus, 3, MIM_AUNET_PATH_TARGET, 2, &r, err, sizeof err) == MIM_OK);
    long c[3];
    for (int a = 0; a < 3; a++)
        c[a] = r.counts.tp[a] + r.counts.fp[a] + r.counts.fn[a] + r.counts.tn[a];
    MT_CHECK_INT(c[0], 2); /* AU1 labelled in both records */
    MT_CHECK_INT(c[1], 1); /* AU4 missing in record 1 */
    MT_CHECK_INT(c[2], 0); /* AU26 not in the pack */
    MT_CHECK(isfinite(r.nme) && r.nme > 0);
    MT_NOTE("eval of an untrained model on 2 records: F1 AU1 %.3f AU4 %.3f, mean %.3f, NME %.3f",
            r.f1[0], r.f1[1], r.mean_f1, r.nme);
    mim_aunet_free(m);
    mim_ctx_free(ctx);
    mim_pack_close(s);
    mim_pack_close(t);
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s", tmp ? tmp : "/tmp");
    snprintf(src_path, sizeof src_path, "%s/mim-test-fit-%d-s.pack", dir, (int)getpid());
    snprintf(tgt_path, sizeof tgt_path, "%s/mim-test-fit-%d-t.pack", dir, (int)getpid());
    snprintf(ckpt, sizeof ckpt, "%s/mim-test-fit-%d.ckpt", dir, (int)getpid());
    MT_RUN(test_resume);
    unlink(src_path);
    unlink(tgt_path);
    unlink(ckpt);
    return mt_done();
}
