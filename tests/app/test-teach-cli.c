/* test-teach-cli.c: the training commands of mimica-cli. synth is deterministic per seed and
 * its labels match its summary; pack import-adld reads ADLD list files (written here from a
 * synth pack as PPM images) back into the same records; a truncated pack is refused by every
 * command; train runs two iterations, eval --json gives the keys of the issue. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "aunet/mim-json.h"
#include "aunet/mim-safetensors.h"
#include "mim-pack.h"
#include "../common/fixture-skip.h"

typedef struct {
    char *dir, *cli, *shared;
} Fixture;

typedef struct {
    int status;
    char *out, *err;
} Run;

static void rm_rf(const char *path)
{
    g_autoptr(GFile) f = g_file_new_for_path(path);
    g_autoptr(GFileEnumerator) e =
        g_file_enumerate_children(f, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
    if (e) {
        GFileInfo *info;
        while ((info = g_file_enumerator_next_file(e, NULL, NULL))) {
            g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
            rm_rf(child);
            g_object_unref(info);
        }
    }
    g_remove(path);
}

static Run cli(Fixture *f, const char *const *args)
{
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, f->cli);
    for (const char *const *a = args; *a; a++)
        g_ptr_array_add(argv, (gpointer)*a);
    g_ptr_array_add(argv, NULL);
    Run r = {0};
    GError *error = NULL;
    int wait = 0;
    g_spawn_sync(f->dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &r.out, &r.err,
                 &wait, &error);
    g_assert_no_error(error);
    r.status = WIFEXITED(wait) ? WEXITSTATUS(wait) : 128 + WTERMSIG(wait);
    return r;
}

static void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

static gboolean same_file(const char *a, const char *b)
{
    g_autofree char *x = NULL, *y = NULL;
    gsize nx = 0, ny = 0;
    return g_file_get_contents(a, &x, &nx, NULL) && g_file_get_contents(b, &y, &ny, NULL) &&
           nx == ny && memcmp(x, y, nx) == 0;
}

static void test_cli(void)
{
    Fixture fx = {0};
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    fx.shared = (char *)g_getenv("MIMICA_SHARED_DIR");
    if (!build || !fx.shared) {
        mimica_test_skip_fixtures(
            "MIMICA_BUILD_DIR / MIMICA_SHARED_DIR unset: run through meson test");
        return;
    }
    fx.cli = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
    fx.dir = g_dir_make_tmp("mimica-teach-cli-XXXXXX", NULL);

    /* synth: same seed, same bytes; another seed, other bytes */
    Run r = cli(&fx, (const char *const[]){"synth", "--domain", "lab", "--n", "8", "--seed", "3",
                                           "-o", "a.pack", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_test_message("%s", r.out);
    run_clear(&r);
    r = cli(&fx, (const char *const[]){"synth", "--domain", "lab", "--n", "8", "--seed", "3", "-o",
                                       "b.pack", NULL});
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    r = cli(&fx, (const char *const[]){"synth", "--domain", "wild", "--n", "8", "--seed", "4",
                                       "--split", "test", "-o", "w.pack", NULL});
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *a = g_build_filename(fx.dir, "a.pack", NULL);
    g_autofree char *b = g_build_filename(fx.dir, "b.pack", NULL);
    g_autofree char *w = g_build_filename(fx.dir, "w.pack", NULL);
    g_assert_true(same_file(a, b));
    g_assert_false(same_file(a, w));
    char err[512];
    mim_pack *p = mim_pack_open(a, err, sizeof err);
    g_assert_nonnull(p);
    g_assert_cmpint(mim_pack_n(p), ==, 8);
    g_assert_cmpstr(mim_pack_au_list(p), ==, "1,2,4,5,6,9,12,15,17,20,25,26");

    /* ADLD list files from pack a (PPM images), imported back */
    g_autofree char *imgdir = g_build_filename(fx.dir, "img", "S1", NULL);
    g_mkdir_with_parents(imgdir, 0777);
    g_autoptr(GString) paths = g_string_new(NULL), lands = g_string_new(NULL),
                       occ = g_string_new(NULL);
    for (long i = 0; i < mim_pack_n(p); i++) {
        g_autofree char *name = g_strdup_printf("S1/%ld.ppm", i);
        g_autofree char *full = g_build_filename(fx.dir, "img", name, NULL);
        g_autoptr(GString) ppm = g_string_new("P6\n200 200\n255\n");
        g_string_append_len(ppm, (const char *)mim_pack_image(p, i), MIM_PACK_IMAGE_BYTES);
        g_assert_true(g_file_set_contents(full, ppm->str, (gssize)ppm->len, NULL));
        g_string_append_printf(paths, "%s\n", name);
        for (int k = 0; k < 98; k++)
            g_string_append_printf(lands, "%s%.9g", k ? "\t" : "", mim_pack_landmarks(p, i)[k]);
        g_string_append_c(lands, '\n');
        for (int k = 0; k < 12; k++)
            g_string_append_printf(occ, "%s%g", k ? " " : "", mim_pack_labels(p, i)[k]);
        g_string_append_c(occ, '\n');
    }
    g_autofree char *pp = g_build_filename(fx.dir, "L_path.txt", NULL);
    g_autofree char *pl = g_build_filename(fx.dir, "L_land.txt", NULL);
    g_autofree char *po = g_build_filename(fx.dir, "L_AUoccur.txt", NULL);
    g_assert_true(g_file_set_contents(pp, paths->str, -1, NULL));
    g_assert_true(g_file_set_contents(pl, lands->str, -1, NULL));
    g_assert_true(g_file_set_contents(po, occ->str, -1, NULL));
    r = cli(&fx, (const char *const[]){"pack", "import-adld", "L", "--root", "img", "--aus",
                                       "1,2,4,5,6,9,12,15,17,20,25,26", "-o", "adld.pack", NULL});
    g_test_message("import-adld: %s%s", r.out, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    g_autofree char *ad = g_build_filename(fx.dir, "adld.pack", NULL);
    mim_pack *q = mim_pack_open(ad, err, sizeof err);
    g_assert_nonnull(q);
    g_assert_cmpint(mim_pack_n(q), ==, mim_pack_n(p));
    long bad = 0;
    for (long i = 0; i < mim_pack_n(p); i++) {
        bad += memcmp(mim_pack_image(p, i), mim_pack_image(q, i), MIM_PACK_IMAGE_BYTES) != 0;
        bad += memcmp(mim_pack_landmarks(p, i), mim_pack_landmarks(q, i), 98 * 4) != 0;
        bad += memcmp(mim_pack_labels(p, i), mim_pack_labels(q, i), 12 * 4) != 0;
    }
    g_assert_cmpint(bad, ==, 0);
    mim_pack_close(q);
    mim_pack_close(p);
    /* a path that leaves --root is refused with its line (the 9th, after the 8 images), and
     * no pack is written */
    static const char *const outside[] = {"../a.pack", "S1/../../a.pack", "/etc/hostname",
                                          "S1\\..\\..\\a.pack"};
    size_t first_l = (size_t)(strchr(lands->str, '\n') - lands->str + 1);
    size_t first_o = (size_t)(strchr(occ->str, '\n') - occ->str + 1);
    g_autofree char *l9 = g_strdup_printf("%s%.*s", lands->str, (int)first_l, lands->str);
    g_autofree char *o9 = g_strdup_printf("%s%.*s", occ->str, (int)first_o, occ->str);
    g_assert_true(g_file_set_contents(pl, l9, -1, NULL));
    g_assert_true(g_file_set_contents(po, o9, -1, NULL));
    for (size_t k = 0; k < G_N_ELEMENTS(outside); k++) {
        g_autofree char *list = g_strdup_printf("%s%s\n", paths->str, outside[k]);
        g_assert_true(g_file_set_contents(pp, list, -1, NULL));
        r = cli(&fx,
                (const char *const[]){"pack", "import-adld", "L", "--root", "img", "--aus",
                                      "1,2,4,5,6,9,12,15,17,20,25,26", "-o", "out.pack", NULL});
        g_test_message("import-adld '%s': exit %d: %s", outside[k], r.status, r.err);
        g_assert_cmpint(r.status, ==, 1);
        g_assert_nonnull(strstr(r.err, "_path.txt:9: '"));
        g_assert_nonnull(strstr(r.err, "is not a path inside --root"));
        g_autofree char *outp = g_build_filename(fx.dir, "out.pack", NULL);
        g_assert_false(g_file_test(outp, G_FILE_TEST_EXISTS));
        run_clear(&r);
    }
    g_assert_true(g_file_set_contents(pp, paths->str, -1, NULL));
    g_assert_true(g_file_set_contents(pl, lands->str, -1, NULL));
    /* a mismatched list is refused with the line */
    g_assert_true(g_file_set_contents(po, "1 0 1\n", -1, NULL));
    r = cli(&fx, (const char *const[]){"pack", "import-adld", "L", "--root", "img", "-o", "x.pack",
                                       NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "not line-aligned"));
    run_clear(&r);

    /* train two iterations, eval --json */
    r = cli(&fx, (const char *const[]){"train", "--source", "a.pack", "--target", "w.pack",
                                       "--iters", "2", "--batch", "2", "--aus", "1,12", "-o",
                                       "m.safetensors", NULL});
    g_test_message("train: %s%s", r.out, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    r = cli(&fx, (const char *const[]){"eval", "--model", "m.safetensors", "--pack", "w.pack",
                                       "--json", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_test_message("eval: %s", r.out);
    mim_json_doc *doc = NULL;
    g_assert_cmpint(mim_json_parse(r.out, strlen(r.out), &doc, err, sizeof err), ==, 0);
    const mim_json *root = mim_json_root(doc);
    g_assert_nonnull(mim_json_get(root, "mean_f1"));
    g_assert_nonnull(mim_json_get(mim_json_get(root, "f1"), "12"));
    g_assert_nonnull(mim_json_get(root, "accuracy"));
    g_assert_nonnull(mim_json_get(root, "nme"));
    mim_json_doc_free(doc);
    run_clear(&r);

    /* --heads-only: the AU heads refit on a pack over frozen encoders; every other weight kept */
    r = cli(&fx, (const char *const[]){"train", "--heads-only", "--init", "m.safetensors",
                                       "--source", "a.pack", "-o", "heads.safetensors", NULL});
    g_test_message("heads-only: %s%s", r.out, r.err);
    g_assert_cmpint(r.status, ==, 0);
    run_clear(&r);
    {
        g_autofree char *pm = g_build_filename(fx.dir, "m.safetensors", NULL);
        g_autofree char *ph = g_build_filename(fx.dir, "heads.safetensors", NULL);
        mim_st_file *fa = NULL, *fb = NULL;
        g_assert_cmpint(mim_st_open(pm, &fa, err, sizeof err), ==, 0);
        g_assert_cmpint(mim_st_open(ph, &fb, err, sizeof err), ==, 0);
        long changed = 0, changed_heads = 0;
        for (size_t i = 0; i < mim_st_n_tensors(fa); i++) {
            const mim_st_tensor *ta = mim_st_tensor_at(fa, i);
            const mim_st_tensor *tb = mim_st_find(fb, ta->name);
            g_assert_nonnull(tb);
            if (memcmp(ta->data, tb->data, ta->n_bytes) != 0) {
                changed++;
                changed_heads += strncmp(ta->name, "Fau.fcs.", 8) == 0;
            }
        }
        g_test_message("heads-only: %ld tensors changed, %ld of them Fau.fcs.*", changed,
                       changed_heads);
        g_assert_cmpint(changed, >, 0);
        g_assert_cmpint(changed, ==, changed_heads);
        g_assert_nonnull(strstr(mim_st_meta(fb, "provenance"), "heads refit"));
        mim_st_close(fa);
        mim_st_close(fb);
    }
    r = cli(&fx, (const char *const[]){"train", "--heads-only", "--source", "a.pack", "-o",
                                       "x.safetensors", NULL});
    g_assert_cmpint(r.status, ==, 2); /* needs --init */
    run_clear(&r);

    /* the same run written with F16 weights (--half): a smaller file, the same scores */
    r = cli(&fx, (const char *const[]){"train", "--source", "a.pack", "--target", "w.pack",
                                       "--iters", "2", "--batch", "2", "--aus", "1,12", "--half",
                                       "-o", "mh.safetensors", NULL});
    g_assert_cmpint(r.status, ==, 0);
    g_assert_nonnull(strstr(r.out, "F16"));
    run_clear(&r);
    g_autofree char *m32 = g_build_filename(fx.dir, "m.safetensors", NULL);
    g_autofree char *m16 = g_build_filename(fx.dir, "mh.safetensors", NULL);
    GStatBuf s32, s16;
    g_assert_cmpint(g_stat(m32, &s32), ==, 0);
    g_assert_cmpint(g_stat(m16, &s16), ==, 0);
    g_test_message("model file: F32 %lld bytes, F16 %lld bytes", (long long)s32.st_size,
                   (long long)s16.st_size);
    g_assert_cmpint(s16.st_size * 10, <, s32.st_size * 6);
    double nme[2];
    for (int k = 0; k < 2; k++) {
        r = cli(&fx,
                (const char *const[]){"eval", "--model", k ? "mh.safetensors" : "m.safetensors",
                                      "--pack", "w.pack", "--json", NULL});
        g_assert_cmpint(r.status, ==, 0);
        g_assert_cmpint(mim_json_parse(r.out, strlen(r.out), &doc, err, sizeof err), ==, 0);
        const mim_json *v = mim_json_get(mim_json_root(doc), "nme");
        g_assert_true(v && v->type == MIM_JSON_NUMBER);
        nme[k] = v->number;
        mim_json_doc_free(doc);
        run_clear(&r);
    }
    g_test_message("landmark NME: F32 model %.6f, F16 model %.6f (tol 1e-3 relative)", nme[0],
                   nme[1]);
    g_assert_cmpfloat(fabs(nme[1] - nme[0]), <=, 1e-3 * nme[0]);

    /* a truncated pack is refused by eval and train */
    g_assert_cmpint(truncate(w, 256 + 1000), ==, 0);
    r = cli(&fx,
            (const char *const[]){"eval", "--model", "m.safetensors", "--pack", "w.pack", NULL});
    g_assert_cmpint(r.status, ==, 1);
    g_assert_nonnull(strstr(r.err, "truncated"));
    g_test_message("truncated: %s", r.err);
    run_clear(&r);
    r = cli(&fx, (const char *const[]){"train", "--source", "a.pack", "--target", "w.pack",
                                       "--iters", "1", "-o", "m2.safetensors", NULL});
    g_assert_cmpint(r.status, ==, 1);
    run_clear(&r);
    rm_rf(fx.dir);
    g_free(fx.dir);
    g_free(fx.cli);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/teach/cli", test_cli);
    return g_test_run();
}
