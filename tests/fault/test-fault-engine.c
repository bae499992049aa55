/* test-fault-engine.c: allocation and I/O failures in the engine and training layers, injected
 * by fault-shim.c (linked with -Wl,--wrap: the real code paths run, the C library fails under
 * them). For every path and mode, a counting run finds the number of points of a whole run;
 * then, for each N (all of them, or an even spread of `cap` when there are more: --full takes
 * all), the Nth point and every later one fail, and:
 *   - the operation fails (no success once a point has failed),
 *   - with a message: "memory" in it for alloc, else the destination's path and the cause
 *     (strerror of ENOSPC or EIO),
 *   - writers: the destination is byte for byte the previous file (odd N), or absent (even N,
 *     where there was none), and the folder holds no temporary file,
 *   - loaders: no object is returned,
 * and nothing leaks (the ASan build of make check runs this). Paths:
 *   model-write       mim_aunet_file_write (safetensors writer, atomic replace)
 *   net-save          mim_aunet_save (host copies, then the above)
 *   checkpoint-write  mim_checkpoint_write
 *   trainer-save      mim_trainer_save (the trainer's checkpoint: host copies, then the above;
 *                     eio and short only with --full)
 *   pack-write        mim_pack_writer_new, 3 x _add, _finish (_abort on failure, as callers do)
 *   model-read        mim_st_open + mim_aunet_file_info + mim_aunet_file_load (alloc)
 *   net-load          mim_aunet_load (alloc)
 *   checkpoint-read   mim_checkpoint_read (alloc)
 *   trainer-load      mim_trainer_load (alloc)
 *   pack-read         mim_pack_open (alloc: calloc, mmap)
 *   dat-read          mim_shape_predictor_load of libdlib-data's 68-point model (alloc)
 *   cascade-read      mim_cascade_load_named(haarcascade_frontalface_default) (alloc)
 * Each case prints: points of a whole run, points tried, failed cleanly, first mismatch.
 *
 *   test-fault-engine [--full] [NAME-FILTER]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aunet/mim-aunet-file.h"
#include "aunet/mim-aunet.h"
#include "aunet/mim-safetensors.h"
#include "face/mim-cascade.h"
#include "fault-shim.h"
#include "landmark/mim-landmark.h"
#include "mim-checkpoint.h"
#include "mim-pack.h"
#include "mim-test.h"
#include "mim-train.h"

static char tmpdir[256];
static long cap = 48; /* points tried per path and mode (0: all) */
static long total_tried, total_clean;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- files -------------------------------------------------------------------------------- */

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    unsigned char *b = NULL;
    if (!fstat(fileno(f), &st) && (b = malloc((size_t)st.st_size + 1))) {
        *n = fread(b, 1, (size_t)st.st_size, f);
        if (*n != (size_t)st.st_size) {
            free(b);
            b = NULL;
        }
    }
    fclose(f);
    return b;
}

static int put_file(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int same_file(const char *path, const unsigned char *b, size_t n)
{
    size_t got = 0;
    unsigned char *now = read_file(path, &got);
    int same = now && got == n && !memcmp(now, b, n);
    free(now);
    return same;
}

/* The first name in tmpdir other than keep (its base name), or "" when none. */
static void stray_file(const char *keep, char *name, size_t name_size)
{
    const char *base = strrchr(keep, '/') ? strrchr(keep, '/') + 1 : keep;
    name[0] = 0;
    DIR *d = opendir(tmpdir);
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.' && strcmp(de->d_name, base)) {
            snprintf(name, name_size, "%s", de->d_name);
            break;
        }
    if (d)
        closedir(d);
}

/* ---- the paths ---------------------------------------------------------------------------- */

static char model_path[300], ckpt_path[300], trainer_path[300], pack_path[300];
static char sentinel_path[300];
static char dat_path[4096];
static mim_aunet_layout *l6, *l2;
static float **p_old, **p_new, **p_load;
static mim_checkpoint ck_old, ck_new, ck_load;
static mim_ctx *ctx;
static mim_backend *be;
static mim_aunet *net;
static mim_trainer *trainer;
static uint8_t pack_rgb[MIM_PACK_IMAGE_BYTES];
static float pack_xy[2 * MIM_PACK_N_LAND];

static float **alloc_params(const mim_aunet_layout *l)
{
    float **p = calloc((size_t)l->n_params, sizeof *p);
    for (int i = 0; i < l->n_params; i++)
        p[i] = calloc(l->params[i].numel, sizeof(float));
    return p;
}

static void free_params(const mim_aunet_layout *l, float **p)
{
    for (int i = 0; p && i < l->n_params; i++)
        free(p[i]);
    free(p);
}

static mim_aunet_info info_for(int n_au, const char *what)
{
    mim_aunet_info info = {.n_au = n_au, .n_land = 49};
    snprintf(info.provenance, sizeof info.provenance, "test-fault-engine, %s", what);
    return info;
}

static int same_params(const mim_aunet_layout *l, float *const *a, float *const *b)
{
    for (int i = 0; i < l->n_params; i++)
        if (memcmp(a[i], b[i], l->params[i].numel * sizeof(float)))
            return 0;
    return 1;
}

static int op_model_write(char *err, size_t err_size)
{
    mim_aunet_info info = info_for(6, "new");
    return mim_aunet_file_write(model_path, l6, (const float *const *)p_new, &info, err, err_size);
}

static int op_model_read(char *err, size_t err_size)
{
    mim_st_file *f = NULL;
    mim_aunet_info info;
    int rc = mim_st_open(model_path, &f, err, err_size);
    if (!rc)
        rc = mim_aunet_file_info(f, &info, err, err_size) ||
                     mim_aunet_file_load(f, l6, p_load, err, err_size)
                 ? -1
                 : 0;
    mim_st_close(f);
    return rc;
}

/* mim_aunet_save/_load and mim_trainer_save/_load report through a last-error text; a failed
 * load of an absent file first sets it to a known text, so that a failure that leaves it
 * unchanged is seen. */
static void net_sentinel(void)
{
    mim_aunet_info info;
    mim_aunet_load(net, sentinel_path, &info);
}

static void trainer_sentinel(void)
{
    mim_aunet_info info;
    mim_trainer_load(trainer, sentinel_path, &info, NULL, 0);
}

static int last_error(mim_status st, const char *msg, char *err, size_t err_size)
{
    if (st == MIM_OK)
        return 0;
    if (strstr(msg, sentinel_path))
        msg = ""; /* unchanged: this failure set no message */
    snprintf(err, err_size, "%s", msg);
    return -1;
}

static int net_result(mim_status st, char *err, size_t err_size)
{
    return last_error(st, mim_aunet_last_error(net), err, err_size);
}

static int op_net_save(char *err, size_t err_size)
{
    mim_aunet_info info = info_for(6, "new");
    return net_result(mim_aunet_save(net, model_path, &info), err, err_size);
}

static int op_net_load(char *err, size_t err_size)
{
    mim_aunet_info info;
    return net_result(mim_aunet_load(net, model_path, &info), err, err_size);
}

static int op_trainer_save(char *err, size_t err_size)
{
    mim_aunet_info info = info_for(6, "new");
    mim_status st = mim_trainer_save(trainer, trainer_path, &info, "new");
    return last_error(st, mim_trainer_last_error(trainer), err, err_size);
}

static int op_trainer_load(char *err, size_t err_size)
{
    mim_aunet_info info;
    char state[64];
    mim_status st = mim_trainer_load(trainer, trainer_path, &info, state, sizeof state);
    if (st == MIM_OK && strcmp(state, "old"))
        return mim_errf(err, err_size, "loaded state \"%s\", not \"old\"", state);
    return last_error(st, mim_trainer_last_error(trainer), err, err_size);
}

static int op_ckpt_write(char *err, size_t err_size)
{
    mim_aunet_info info = info_for(2, "new");
    return mim_checkpoint_write(ckpt_path, &ck_new, &info, err, err_size);
}

static int op_ckpt_read(char *err, size_t err_size)
{
    mim_aunet_info info;
    return mim_checkpoint_read(ckpt_path, &ck_load, &info, err, err_size);
}

static int write_pack(int n, const char *desc, char *err, size_t err_size)
{
    mim_pack_writer *w = mim_pack_writer_new(pack_path, "1,2,4", desc, err, err_size);
    if (!w)
        return -1;
    for (int i = 0; i < n; i++) {
        float labels[3] = {1.0f, 0.0f, (float)(i % 2)};
        pack_rgb[0] = (uint8_t)i;
        if (mim_pack_writer_add(w, pack_rgb, pack_xy, labels, (uint32_t)i, 7, err, err_size)) {
            mim_pack_writer_abort(w);
            return -1;
        }
    }
    return mim_pack_writer_finish(w, err, err_size);
}

static int op_pack_write(char *err, size_t err_size)
{
    return write_pack(3, "fault new", err, err_size);
}

static int op_pack_read(char *err, size_t err_size)
{
    mim_pack *p = mim_pack_open(pack_path, err, err_size);
    if (!p)
        return -1;
    int rc = mim_pack_n(p) == 2 ? 0 : mim_errf(err, err_size, "pack of %ld records", mim_pack_n(p));
    mim_pack_close(p);
    return rc;
}

static int op_dat_read(char *err, size_t err_size)
{
    mim_shape_predictor *sp = NULL;
    int rc = mim_shape_predictor_load(dat_path, &sp, err, err_size);
    if (rc != 0 && sp)
        rc = mim_errf(err, err_size, "failed but returned a predictor");
    mim_shape_predictor_free(sp);
    return rc;
}

static int op_cascade_read(char *err, size_t err_size)
{
    mim_cascade *c = NULL;
    int rc = mim_cascade_load_named(NULL, &c, err, err_size);
    if (rc != 0 && c)
        rc = mim_errf(err, err_size, "failed but returned a cascade");
    mim_cascade_free(c);
    return rc;
}

/* What a finished write must have left: the new version. */
static int model_is_new(void)
{
    return op_model_read(NULL, 0) == 0 && same_params(l6, p_load, p_new);
}

static int ckpt_is_new(void)
{
    return op_ckpt_read(NULL, 0) == 0 && ck_load.step == ck_new.step &&
           same_params(l2, ck_load.adam_m, ck_new.adam_m);
}

static int trainer_is_new(void)
{
    mim_aunet_info info;
    char state[64] = "";
    return mim_trainer_load(trainer, trainer_path, &info, state, sizeof state) == MIM_OK &&
           !strcmp(state, "new");
}

static int pack_is_new(void)
{
    mim_pack *p = mim_pack_open(pack_path, NULL, 0);
    int ok = p && mim_pack_n(p) == 3 && !strcmp(mim_pack_description(p), "fault new");
    mim_pack_close(p);
    return ok;
}

typedef struct {
    const char *name;
    const char *dest;
    int (*op)(char *err, size_t err_size);
    int (*is_new)(void); /* writers: the destination holds what the op writes */
    unsigned char *old;  /* writers: the previous file; loaders: the file read */
    size_t n_old;
    /* mim_aunet_* and mim_trainer_* report through a last-error text: the sentinel sets it to a
     * known one before each run, so that a failure that sets no message is seen */
    void (*sentinel)(void);
} fault_case;

/* ---- the sweep ---------------------------------------------------------------------------- */

/* Checks one failed-at-`at` run; returns 1 when clean, else 0 with why. */
static int judge(const fault_case *c, fault_mode mode, long at, int had_old, int rc,
                 const char *err, long n_failed, char *why, size_t why_size)
{
    int want_errno = mode == FAULT_EIO ? EIO : ENOSPC;
    char stray[256];
    why[0] = 0;
    if (n_failed == 0)
        snprintf(why, why_size, "point %ld was never reached", at);
    else if (rc == 0)
        snprintf(why, why_size, "succeeded although point %ld (and %ld after it) failed", at,
                 n_failed - 1);
    else if (!err[0])
        snprintf(why, why_size, "failed with an empty message");
    else if (mode == FAULT_ALLOC && !strstr(err, "memory"))
        snprintf(why, why_size, "message \"%s\" does not say memory ran out", err);
    else if (mode != FAULT_ALLOC && !strstr(err, c->dest))
        snprintf(why, why_size, "message \"%s\" does not name %s", err, c->dest);
    else if (mode != FAULT_ALLOC && !strstr(err, strerror(want_errno)))
        snprintf(why, why_size, "message \"%s\" does not give the cause (%s)", err,
                 strerror(want_errno));
    if (n_failed == 0 || rc == 0 || why[0])
        return 0;
    if (c->is_new && had_old && !same_file(c->dest, c->old, c->n_old))
        snprintf(why, why_size, "the previous %s was changed", c->dest);
    else if (c->is_new && !had_old && access(c->dest, F_OK) == 0)
        snprintf(why, why_size, "%s exists although the write failed", c->dest);
    else {
        stray_file(c->dest, stray, sizeof stray);
        if (!stray[0])
            return 1;
        snprintf(why, why_size, "%s left behind", stray);
    }
    return 0;
}

/* Puts the destination back: the previous file (had_old) or none. */
static void reset_dest(const fault_case *c, int had_old)
{
    if (!c->is_new)
        return; /* loaders: the file read was put in place once */
    unlink(c->dest);
    if (c->is_new && !had_old)
        return;
    if (put_file(c->dest, c->old, c->n_old))
        MT_FAIL("cannot write %s", c->dest);
}

static int picked(long at, long n)
{
    if (cap <= 0 || n <= cap || at <= 16 || at > n - 8)
        return 1;
    long stride = (n - 24 + (cap - 24) - 1) / (cap - 24);
    return (at - 17) % stride == 0;
}

static void sweep(const fault_case *c, fault_mode mode)
{
    char err[1024] = "", why[1400] = "", first_why[1400] = "", stray[256];
    double t0 = now_s();
    reset_dest(c, 1);
    if (c->sentinel)
        c->sentinel();
    fault_arm(mode, 0, tmpdir);
    int rc = c->op(err, sizeof err);
    long n = fault_disarm();
    if (rc) {
        MT_FAIL("%s %s: the run without failures failed: %s", c->name, fault_mode_name(mode), err);
        return;
    }
    if (c->is_new && !c->is_new())
        MT_FAIL("%s %s: the run without failures did not write the new version", c->name,
                fault_mode_name(mode));
    stray_file(c->dest, stray, sizeof stray);
    if (stray[0])
        MT_FAIL("%s %s: the run without failures left %s", c->name, fault_mode_name(mode), stray);
    long tried = 0, clean = 0, first_bad = 0;
    /* odd points over the previous file, then even ones with none: a clean failure leaves the
     * destination as it was, so it is put back only when a pass starts or a run went wrong */
    int put_back = 1;
    for (long i = 0; i < 2 * n; i++) {
        long at = i < n ? i + 1 : i - n + 1;
        int had_old = !c->is_new || at % 2 == 1;
        put_back |= i == n;
        if (!picked(at, n) || (i < n) != had_old)
            continue;
        if (put_back)
            reset_dest(c, had_old);
        put_back = 0;
        if (c->sentinel)
            c->sentinel();
        err[0] = 0;
        fault_arm(mode, at, tmpdir);
        rc = c->op(err, sizeof err);
        fault_disarm();
        tried++;
        if (judge(c, mode, at, had_old, rc, err, fault_n_failed(), why, sizeof why))
            clean++;
        else if ((put_back = 1) && !first_bad) {
            first_bad = at;
            snprintf(first_why, sizeof first_why, "%s", why);
        }
    }
    total_tried += tried;
    total_clean += clean;
    MT_NOTE("%-16s %-6s %5ld points, %4ld tried, %4ld failed cleanly (%.2f s)%s%s", c->name,
            fault_mode_name(mode), n, tried, clean, now_s() - t0,
            first_bad ? "; first mismatch: " : "", first_bad ? first_why : "");
    if (tried == 0)
        MT_FAIL("%s %s: no injection point", c->name, fault_mode_name(mode));
    if (first_bad)
        MT_FAIL("%s %s: point %ld: %s", c->name, fault_mode_name(mode), first_bad, first_why);
    if (c->is_new)
        reset_dest(c, 1);
}

/* alloc, enospc, eio, short; the first n_modes of them unless --full */
static void sweep_writer(const fault_case *c, size_t n_modes)
{
    static const fault_mode modes[] = {FAULT_ALLOC, FAULT_ENOSPC, FAULT_EIO, FAULT_SHORT};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0] && (i < n_modes || !cap); i++)
        sweep(c, modes[i]);
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static int setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mim-fault-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(model_path, sizeof model_path, "%s/model.safetensors", tmpdir);
    snprintf(ckpt_path, sizeof ckpt_path, "%s/run.ckpt", tmpdir);
    snprintf(trainer_path, sizeof trainer_path, "%s/trainer.ckpt", tmpdir);
    snprintf(pack_path, sizeof pack_path, "%s/train.pack", tmpdir);
    snprintf(sentinel_path, sizeof sentinel_path, "%s/absent-sentinel", tmpdir);
    mim_shape_predictor_default_path(dat_path, sizeof dat_path);

    mim_rng rng;
    l6 = mim_aunet_layout_new(6, 49);
    l2 = mim_aunet_layout_new(2, 49);
    p_old = alloc_params(l6);
    p_new = alloc_params(l6);
    p_load = alloc_params(l6);
    mim_rng_seed(&rng, 1);
    mim_aunet_layout_init(l6, &rng, p_old);
    mim_aunet_layout_init(l6, &rng, p_new);
    mim_checkpoint *cks[3] = {&ck_old, &ck_new, &ck_load};
    for (int k = 0; k < 3; k++) {
        mim_checkpoint *c = cks[k];
        c->layout = l2;
        c->params = alloc_params(l2);
        c->adam_m = alloc_params(l2);
        c->adam_v = alloc_params(l2);
        c->adam_t = calloc((size_t)l2->n_params, sizeof(int64_t));
        mim_rng_seed(&rng, 10 + (uint64_t)k);
        mim_aunet_layout_init(l2, &rng, c->params);
        mim_aunet_layout_init(l2, &rng, c->adam_m);
        mim_aunet_layout_init(l2, &rng, c->adam_v);
        c->step = 100 * (k + 1);
        c->rng = rng;
        snprintf(c->state, sizeof c->state, "{\"epoch\": %d}", k);
    }
    for (int i = 0; i < MIM_PACK_N_LAND; i++) {
        pack_xy[2 * i] = 40.0f + (float)(i % 7) * 15.0f;
        pack_xy[2 * i + 1] = 50.0f + (float)(i / 7) * 14.0f;
    }
    for (int i = 0; i < MIM_PACK_IMAGE_BYTES; i++)
        pack_rgb[i] = (uint8_t)(i * 7);
    be = mim_backend_ref_new();
    ctx = be ? mim_ctx_new(be) : NULL;
    mim_train_config cfg;
    mim_train_config_default(&cfg);
    float au_w[6] = {1, 1, 1, 1, 1, 1};
    return ctx && mim_aunet_new(ctx, 6, 49, 5, &net) == MIM_OK &&
                   mim_trainer_new(net, &cfg, au_w, &trainer) == MIM_OK
               ? 0
               : -1;
}

static void teardown(void)
{
    free_params(l6, p_old);
    free_params(l6, p_new);
    free_params(l6, p_load);
    mim_checkpoint *cks[3] = {&ck_old, &ck_new, &ck_load};
    for (int k = 0; k < 3; k++) {
        free_params(l2, cks[k]->params);
        free_params(l2, cks[k]->adam_m);
        free_params(l2, cks[k]->adam_v);
        free(cks[k]->adam_t);
    }
    mim_aunet_layout_free(l6);
    mim_aunet_layout_free(l2);
    mim_trainer_free(trainer);
    mim_aunet_free(net);
    mim_ctx_free(ctx);
    mim_backend_free(be);
    DIR *d = opendir(tmpdir);
    char p[600];
    for (struct dirent *de; d && (de = readdir(d));)
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

/* The previous version of a file: written by the code under test (no faults), kept as bytes. */
static unsigned char *old_version(const char *path, int (*write)(void), size_t *n)
{
    unlink(path);
    if (write()) {
        MT_FAIL("cannot write the previous %s", path);
        return NULL;
    }
    unsigned char *b = read_file(path, n);
    if (!b)
        MT_FAIL("cannot read back %s", path);
    return b;
}

static int write_old_model(void)
{
    mim_aunet_info info = info_for(6, "old");
    return mim_aunet_file_write(model_path, l6, (const float *const *)p_old, &info, NULL, 0);
}

static int write_old_ckpt(void)
{
    mim_aunet_info info = info_for(2, "old");
    return mim_checkpoint_write(ckpt_path, &ck_old, &info, NULL, 0);
}

static int write_old_trainer(void)
{
    mim_aunet_info info = info_for(6, "old");
    return mim_trainer_save(trainer, trainer_path, &info, "old") == MIM_OK ? 0 : -1;
}

static int write_old_pack(void)
{
    return write_pack(2, "fault old", NULL, 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_model(void)
{
    fault_case c = {"model-write", model_path, op_model_write, model_is_new};
    c.old = old_version(model_path, write_old_model, &c.n_old);
    if (!c.old)
        return;
    MT_NOTE("model: %d tensors, %zu bytes", l6->n_slots, c.n_old);
    sweep_writer(&c, 4);
    fault_case s = {"net-save", model_path, op_net_save, model_is_new, c.old, c.n_old};
    s.sentinel = net_sentinel;
    /* net-save writes the network's own parameters: they become the "new" version */
    MT_CHECK(mim_aunet_get_params(net, p_new) == MIM_OK);
    sweep_writer(&s, 4);
    /* loaders read the previous version */
    fault_case r = {"model-read", model_path, op_model_read, NULL, c.old, c.n_old};
    put_file(model_path, c.old, c.n_old);
    sweep(&r, FAULT_ALLOC);
    MT_CHECK(same_params(l6, p_load, p_old));
    fault_case nl = {"net-load", model_path, op_net_load, NULL, c.old, c.n_old};
    nl.sentinel = net_sentinel;
    sweep(&nl, FAULT_ALLOC);
    MT_CHECK(mim_aunet_get_params(net, p_load) == MIM_OK && same_params(l6, p_load, p_old));
    unlink(model_path);
    free(c.old);
}

static void test_checkpoint(void)
{
    fault_case c = {"checkpoint-write", ckpt_path, op_ckpt_write, ckpt_is_new};
    c.old = old_version(ckpt_path, write_old_ckpt, &c.n_old);
    if (!c.old)
        return;
    MT_NOTE("checkpoint: %zu bytes", c.n_old);
    sweep_writer(&c, 4);
    fault_case r = {"checkpoint-read", ckpt_path, op_ckpt_read, NULL, c.old, c.n_old};
    put_file(ckpt_path, c.old, c.n_old);
    sweep(&r, FAULT_ALLOC);
    MT_CHECK(ck_load.step == ck_old.step && same_params(l2, ck_load.adam_v, ck_old.adam_v));
    unlink(ckpt_path);
    free(c.old);
}

static void test_trainer(void)
{
    fault_case c = {"trainer-save", trainer_path, op_trainer_save, trainer_is_new};
    c.old = old_version(trainer_path, write_old_trainer, &c.n_old);
    if (!c.old)
        return;
    c.sentinel = trainer_sentinel;
    MT_NOTE("trainer checkpoint: %zu bytes", c.n_old);
    /* its file is written by mim_checkpoint_write, swept above in every mode: eio and short
     * only with --full (35 MB a point) */
    sweep_writer(&c, 2);
    fault_case r = {"trainer-load", trainer_path, op_trainer_load, NULL, c.old, c.n_old};
    r.sentinel = trainer_sentinel;
    put_file(trainer_path, c.old, c.n_old);
    sweep(&r, FAULT_ALLOC);
    unlink(trainer_path);
    free(c.old);
}

static void test_pack(void)
{
    fault_case c = {"pack-write", pack_path, op_pack_write, pack_is_new};
    c.old = old_version(pack_path, write_old_pack, &c.n_old);
    if (!c.old)
        return;
    MT_NOTE("pack: 2 records, %zu bytes (the new one: 3)", c.n_old);
    sweep_writer(&c, 4);
    fault_case r = {"pack-read", pack_path, op_pack_read, NULL, c.old, c.n_old};
    put_file(pack_path, c.old, c.n_old);
    sweep(&r, FAULT_ALLOC);
    unlink(pack_path);
    free(c.old);
}

static void test_dat(void)
{
    if (access(dat_path, R_OK))
        MT_SKIP("%.200s absent (Debian package libdlib-data)", dat_path);
    fault_case r = {"dat-read", dat_path, op_dat_read};
    sweep(&r, FAULT_ALLOC);
}

static void test_cascade(void)
{
    static char path[4096];
    char err[512] = "";
    if (mim_cascade_path(MIM_CASCADE_DEFAULT, path, sizeof path, err, sizeof err) ||
        access(path, R_OK))
        MT_SKIP("%s absent (Debian package opencv-data)", MIM_CASCADE_DEFAULT);
    fault_case r = {"cascade-read", path, op_cascade_read};
    sweep(&r, FAULT_ALLOC);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--full")) {
        cap = 0;
        argv[1] = argv[0];
        argc--;
        argv++;
    }
    mt_init(argc, argv);
    double t0 = now_s();
    if (setup()) {
        printf("Bail out! cannot set up (temporary folder %s, ref backend, network)\n", tmpdir);
        return 1;
    }
    MT_NOTE("points per path and mode: %s",
            cap ? "all up to 48, else 16 + an even spread + 8" : "all (--full)");
    MT_RUN(test_model);
    MT_RUN(test_checkpoint);
    MT_RUN(test_trainer);
    MT_RUN(test_pack);
    MT_RUN(test_dat);
    MT_RUN(test_cascade);
    teardown();
    MT_NOTE("all paths: %ld points tried, %ld failed cleanly, %.1f s", total_tried, total_clean,
            now_s() - t0);
    return mt_done();
}
