/* cmd-pack.c: `mimica-cli pack`: packs (training/mim-pack.h) from ADLD list files (MODEL.md §8)
 * and from Mimica projects (app/teach/mimica-teach-data.h), and `pack info`. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aunet/mim-aunet-file.h"
#include "image/mimica-image.h"
#include "mim-pack.h"
#include "mim-sample.h"
#include "mimica-cli.h"
#include "teach/mimica-teach-data.h"

static const char pack_usage[] =
    "Usage: mimica-cli pack import-adld PREFIX --root DIR -o PACK [--aus LIST]\n"
    "       mimica-cli pack import-project PROJECT [-o PACK] [--target PACK2] [--model ID]\n"
    "       mimica-cli pack info PACK\n"
    "\n"
    "import-adld: ADLD's list files PREFIX_path.txt (aligned 200x200 images, relative to DIR),\n"
    "  PREFIX_land.txt (98 numbers per line) and PREFIX_AUoccur.txt (1 present, 0 absent, 999\n"
    "  missing). --aus names the label columns (default 1,2,4,6,12,17, ADLD's six). The\n"
    "  subject id is the image path's first two folders (BP4D/F001), the source id the line.\n"
    "import-project: the project's corrected frames (frames with current labels) as a labelled\n"
    "  pack (-o), the other analysed frames as an unlabelled one (--target): landmarks from the\n"
    "  stored predictions, crops aligned (MODEL.md §1.1) from the decoded frames. --model picks\n"
    "  whose predictions (default: the latest analysis per video). With --target and no -o,\n"
    "  every analysed frame goes to the unlabelled pack and the project needs no labels.\n"
    "info: the header and label counts of a pack.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli pack: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", pack_usage);
    return 2;
}

static gboolean read_lines(const char *path, char ***lines, guint *n, GError **error)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, error))
        return FALSE;
    char **l = g_strsplit(text, "\n", -1);
    guint k = g_strv_length(l);
    while (k > 0 && g_strstrip(l[k - 1])[0] == 0) { /* trailing empty lines */
        g_free(l[k - 1]);
        l[--k] = NULL;
    }
    *lines = l;
    *n = k;
    return TRUE;
}

/* Up to max whitespace-separated numbers of a line; the count, or -1 on a bad token. */
static int parse_numbers(const char *line, float *out, int max)
{
    int n = 0;
    const char *s = line;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == '\r')
            s++;
        if (!*s)
            break;
        char *end;
        double v = g_ascii_strtod(s, &end);
        if (end == s || n == max)
            return -1;
        out[n++] = (float)v;
        s = end;
    }
    return n;
}

/* A list names images relative to --root: an absolute path, or a '..' component, would read
 * outside it (lists come with datasets, from elsewhere). Links inside the root are followed. */
static int stays_in_root(const char *rel)
{
    if (!*rel || g_path_is_absolute(rel) || rel[0] == '\\')
        return 0;
    g_auto(GStrv) parts = g_strsplit_set(rel, "/\\", -1);
    for (int i = 0; parts[i]; i++)
        if (!strcmp(parts[i], ".."))
            return 0;
    return 1;
}

static int import_adld(const char *prefix, const char *root, const char *out, const char *aus)
{
    int aus_n[MIM_PACK_MAX_AU];
    char err[512];
    int n_au = mim_pack_parse_au_list(aus, aus_n, MIM_PACK_MAX_AU, err, sizeof err);
    if (n_au < 0) {
        fprintf(stderr, "mimica-cli pack: %s\n", err);
        return 2;
    }
    g_autofree char *p_path = g_strdup_printf("%s_path.txt", prefix);
    g_autofree char *p_land = g_strdup_printf("%s_land.txt", prefix);
    g_autofree char *p_occ = g_strdup_printf("%s_AUoccur.txt", prefix);
    g_auto(GStrv) paths = NULL, lands = NULL, occs = NULL;
    guint n1, n2, n3;
    g_autoptr(GError) error = NULL;
    if (!read_lines(p_path, &paths, &n1, &error) || !read_lines(p_land, &lands, &n2, &error) ||
        !read_lines(p_occ, &occs, &n3, &error)) {
        fprintf(stderr, "mimica-cli pack: %s\n", error->message);
        return 1;
    }
    if (n1 != n2 || n1 != n3) {
        fprintf(stderr,
                "mimica-cli pack: the list files are not line-aligned: %u paths, %u landmark "
                "lines, %u label lines\n",
                n1, n2, n3);
        return 1;
    }
    g_autofree char *desc = g_strdup_printf("adld %s", prefix);
    mim_pack_writer *w = mim_pack_writer_new(out, aus, desc, err, sizeof err);
    if (!w) {
        fprintf(stderr, "mimica-cli pack: %s\n", err);
        return 1;
    }
    g_autoptr(GHashTable) subjects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < n1; i++) {
        float xy[98], lab[MIM_PACK_MAX_AU];
        const char *rel = g_strstrip(paths[i]);
        if (parse_numbers(lands[i], xy, 98) != 98) {
            fprintf(stderr, "mimica-cli pack: %s:%u: expected 98 numbers\n", p_land, i + 1);
            goto fail;
        }
        if (parse_numbers(occs[i], lab, MIM_PACK_MAX_AU) != n_au) {
            fprintf(stderr, "mimica-cli pack: %s:%u: expected %d labels (--aus %s)\n", p_occ, i + 1,
                    n_au, aus);
            goto fail;
        }
        for (int k = 0; k < n_au; k++)
            if (lab[k] != MIM_AU_MISSING)
                lab[k] = lab[k] > 0 ? 1.0f : 0.0f;
        if (!stays_in_root(rel)) {
            g_autofree char *shown = g_utf8_make_valid(rel, -1);
            fprintf(stderr,
                    "mimica-cli pack: %s:%u: '%s' is not a path inside --root (absolute paths "
                    "and '..' are refused)\n",
                    p_path, i + 1, shown);
            goto fail;
        }
        g_autofree char *ipath = g_build_filename(root, rel, NULL);
        mim_image *im = mimica_image_load(ipath, &error);
        if (!im) {
            fprintf(stderr, "mimica-cli pack: %s\n", error->message);
            goto fail;
        }
        if (im->width != MIM_PACK_SIDE || im->height != MIM_PACK_SIDE) {
            fprintf(stderr,
                    "mimica-cli pack: %s is %dx%d, ADLD lists point at aligned 200x200 "
                    "images\n",
                    ipath, im->width, im->height);
            mim_image_free(im);
            goto fail;
        }
        uint8_t *rgb = g_malloc(MIM_PACK_IMAGE_BYTES);
        for (int y = 0; y < MIM_PACK_SIDE; y++)
            memcpy(rgb + (size_t)y * 3 * MIM_PACK_SIDE, mim_image_row8(im, y), 3 * MIM_PACK_SIDE);
        mim_image_free(im);
        /* subject: the first two folders of the relative path */
        g_auto(GStrv) parts = g_strsplit(rel, "/", 3);
        g_autofree char *subj = g_strdup_printf("%s/%s", parts[0] ? parts[0] : "",
                                                parts[0] && parts[1] ? parts[1] : "");
        gpointer id;
        if (!g_hash_table_lookup_extended(subjects, subj, NULL, &id)) {
            id = GUINT_TO_POINTER(g_hash_table_size(subjects));
            g_hash_table_insert(subjects, g_strdup(subj), id);
        }
        int rc = mim_pack_writer_add(w, rgb, xy, lab, GPOINTER_TO_UINT(id), i, err, sizeof err);
        g_free(rgb);
        if (rc) {
            fprintf(stderr, "mimica-cli pack: line %u: %s\n", i + 1, err);
            goto fail;
        }
    }
    if (mim_pack_writer_finish(w, err, sizeof err)) {
        fprintf(stderr, "mimica-cli pack: %s\n", err);
        return 1;
    }
    printf("wrote %s: %u images of %u subjects, AUs %s\n", out, n1, g_hash_table_size(subjects),
           aus);
    return 0;
fail:
    mim_pack_writer_abort(w);
    return 1;
}

static int pack_info(const char *path)
{
    char err[512];
    mim_pack *p = mim_pack_open(path, err, sizeof err);
    if (!p) {
        fprintf(stderr, "mimica-cli pack: %s\n", err);
        return 1;
    }
    long n = mim_pack_n(p);
    printf("%s: %ld images, %ld labelled, AUs %s\ndescription: %s\n", path, n,
           mim_pack_n_labelled(p), mim_pack_au_list(p), mim_pack_description(p));
    g_autoptr(GHashTable) subj = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (long i = 0; i < n; i++)
        g_hash_table_add(subj, GUINT_TO_POINTER(mim_pack_subject(p, i) + 1));
    printf("subjects: %u\n", g_hash_table_size(subj));
    for (int a = 0; a < mim_pack_n_au(p); a++) {
        long pos = 0, neg = 0, miss = 0;
        for (long i = 0; i < n; i++) {
            float v = mim_pack_labels(p, i)[a];
            pos += v == 1.0f;
            neg += v == 0.0f;
            miss += v == MIM_AU_MISSING;
        }
        printf("AU%-3d present %6ld absent %6ld missing %6ld\n", mim_pack_au(p, a), pos, neg, miss);
    }
    mim_pack_close(p);
    return 0;
}

static int import_project(const char *project, const char *out, const char *target, long model_id)
{
    g_autoptr(GError) error = NULL;
    MimicaTeachImport r = {0};
    if (!mimica_teach_import_project(project, model_id, out, target, 1, &r, NULL, &error)) {
        fprintf(stderr, "mimica-cli pack: %s\n", error->message);
        return 1;
    }
    if (out)
        printf("wrote %s: %ld corrected frames (AUs %s) of %d videos; ", out, r.n_labelled,
               r.au_list, r.n_videos);
    if (target)
        printf("%s%s: %ld unlabelled frames; ", out ? "" : "wrote ", target, r.n_unlabelled);
    printf("%ld frames without a face skipped\n", r.n_skipped);
    return 0;
}

static int run_pack(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(pack_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *arg = NULL, *root = NULL, *out = NULL, *target = NULL;
    const char *aus = MIM_AUNET_DEFAULT_AUS;
    long model_id = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            if (arg)
                return usage_error("unexpected argument %s", a);
            arg = a;
            continue;
        }
        if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--root"))
            root = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--target"))
            target = v;
        else if (!strcmp(a, "--aus"))
            aus = v;
        else if (!strcmp(a, "--model")) {
            char *end;
            model_id = strtol(v, &end, 10);
            if (*end || model_id < 1)
                return usage_error("bad model id '%s'", v);
        } else
            return usage_error("unknown option %s", a);
        i++;
    }
    if (!arg)
        return usage_error("%s needs an argument", sub);
    if (!strcmp(sub, "info"))
        return pack_info(arg);
    if (!out && !(target && !strcmp(sub, "import-project")))
        return usage_error("%s", "-o PACK is required");
    if (!strcmp(sub, "import-adld")) {
        if (!root)
            return usage_error("%s", "--root DIR is required");
        return import_adld(arg, root, out, aus);
    }
    if (!strcmp(sub, "import-project"))
        return import_project(arg, out, target, model_id);
    return usage_error("unknown pack command '%s'", sub);
}

const MimicaCliCommand mimica_cli_pack = {
    "pack",
    "training packs: import ADLD lists or a project's frames, show a pack",
    run_pack,
};
