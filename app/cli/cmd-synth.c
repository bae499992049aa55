/* cmd-synth.c: `mimica-cli synth --domain lab|wild --n N [--seed S] -o PACK`: a pack of generated
 * faces with exact labels (training/mim-synth.h) from the real fixture faces
 * (MIMICA_SHARED_DIR/fixtures/faces: images/ and the 68 dlib landmarks of reference/). */
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aunet/mim-json.h"
#include "image/mimica-image.h"
#include "mim-pack.h"
#include "mim-synth.h"
#include "mimica-cli.h"

static const char synth_usage[] =
    "Usage: mimica-cli synth --domain lab|wild --n N [--seed S] [--split train|test|all]\n"
    "                        [--faces DIR] -o PACK\n"
    "\n"
    "Generates N aligned faces with exact AU labels (AUs " MIM_SYNTH_AUS ")\n"
    "and exact landmarks: real fixture faces deformed by the face generator at random AU\n"
    "intensities. lab: frontal alignment, plain background, even light; wild: alignment error\n"
    "(roll, scale, shift), textured background, uneven light, occluders, blur, noise.\n"
    "\n"
    "  --domain D     lab or wild\n"
    "  --n N          number of faces\n"
    "  --seed S       random seed (default 0); the same seed gives the same pack\n"
    "  --split P      identities: train (3 of every 4 fixture faces), test (the 4th), all\n"
    "                 (default train); train and test packs share no identity\n"
    "  --faces DIR    the fixture folder (default $MIMICA_SHARED_DIR/fixtures/faces)\n"
    "  -o PACK        the pack to write (atomically)\n"
    "\n"
    "Subject id = fixture face, source id = photo. Faces smaller than 16 pixels between the eyes\n"
    "and weak detections (dlib confidence below 0.5) are not used.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli synth: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", synth_usage);
    return 2;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    int photo; /* index into the photos array */
    float xy[136];
} synth_face;

/* Reads every dlib.hog face with 68 landmarks of the JSON files in dir/reference; the photos are
 * loaded once each. Returns the number of faces (>= 0) or -1. */
static int load_faces(const char *dir, GPtrArray *photos, GArray *faces, GError **error)
{
    g_autofree char *refdir = g_build_filename(dir, "reference", NULL);
    g_autoptr(GDir) d = g_dir_open(refdir, 0, error);
    if (!d)
        return -1;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; (n = g_dir_read_name(d));)
        if (g_str_has_suffix(n, ".json"))
            g_ptr_array_add(names, g_strdup(n));
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        g_autofree char *jpath = g_build_filename(refdir, names->pdata[i], NULL);
        g_autofree char *text = NULL;
        gsize len;
        if (!g_file_get_contents(jpath, &text, &len, error))
            return -1;
        mim_json_doc *doc = NULL;
        char err[256];
        if (mim_json_parse(text, len, &doc, err, sizeof err)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s", jpath, err);
            return -1;
        }
        const mim_json *root = mim_json_root(doc), *img = mim_json_get(root, "image");
        const mim_json *hog = mim_json_get(mim_json_get(root, "dlib"), "hog");
        int photo = -1;
        for (const mim_json *h = hog ? hog->child : NULL; img && img->type == MIM_JSON_STRING && h;
             h = h->next) {
            const mim_json *lm = mim_json_get(h, "landmarks_rgb");
            const mim_json *conf = mim_json_get(h, "confidence");
            /* weak detections are not faces (a badge in a VOC photo scores 0.34) */
            if (!lm || lm->n_children != 68 || !conf || conf->number < 0.5)
                continue;
            synth_face f = {0};
            int k = 0, ok = 1;
            for (const mim_json *p = lm->child; p; p = p->next, k++) {
                if (p->n_children != 2) {
                    ok = 0;
                    break;
                }
                f.xy[2 * k] = (float)p->child->number;
                f.xy[2 * k + 1] = (float)p->child->next->number;
            }
            mim_facegen_frame fr;
            if (!ok || mim_facegen_face_frame(f.xy, &fr) || fr.iod < 16)
                continue;
            if (photo < 0) {
                /* "image" is relative to the fixture folder ("images/x.jpg") */
                g_autofree char *ipath = g_build_filename(dir, img->str, NULL);
                mim_image *im = mimica_image_load(ipath, error);
                if (!im) {
                    mim_json_doc_free(doc);
                    return -1;
                }
                g_ptr_array_add(photos, im);
                photo = (int)photos->len - 1;
            }
            f.photo = photo;
            g_array_append_val(faces, f);
        }
        mim_json_doc_free(doc);
    }
    return (int)faces->len;
}

static int run_synth(int argc, char **argv)
{
    const char *domain_name = NULL, *out = NULL, *faces_dir = NULL, *split = "train";
    long n = -1, seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(synth_usage, stdout);
            return 0;
        }
        if (!v)
            return usage_error("%s needs a value", a);
        char *end;
        if (!strcmp(a, "--domain"))
            domain_name = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--faces"))
            faces_dir = v;
        else if (!strcmp(a, "--split"))
            split = v;
        else if (!strcmp(a, "--n")) {
            n = strtol(v, &end, 10);
            if (*end || n < 1)
                return usage_error("bad --n '%s'", v);
        } else if (!strcmp(a, "--seed")) {
            seed = strtol(v, &end, 10);
            if (*end || seed < 0)
                return usage_error("bad --seed '%s'", v);
        } else
            return usage_error("unknown option %s", a);
        i++;
    }
    mim_synth_domain domain;
    if (!domain_name || mim_synth_domain_parse(domain_name, &domain))
        return usage_error("%s", "--domain lab or --domain wild is required");
    if (n < 1 || !out)
        return usage_error("%s", "--n and -o are required");
    int split_mode = !strcmp(split, "train")  ? 0
                     : !strcmp(split, "test") ? 1
                     : !strcmp(split, "all")  ? 2
                                              : -1;
    if (split_mode < 0)
        return usage_error("--split is train, test or all, not '%s'", split);
    g_autofree char *dir = NULL;
    if (faces_dir)
        dir = g_strdup(faces_dir);
    else if (getenv("MIMICA_SHARED_DIR"))
        dir = g_build_filename(getenv("MIMICA_SHARED_DIR"), "fixtures", "faces", NULL);
    else {
        fprintf(stderr, "mimica-cli synth: set MIMICA_SHARED_DIR or pass --faces DIR\n");
        return 2;
    }

    g_autoptr(GPtrArray) photos = g_ptr_array_new_with_free_func((GDestroyNotify)mim_image_free);
    g_autoptr(GArray) all = g_array_new(FALSE, TRUE, sizeof(synth_face));
    g_autoptr(GArray) use = g_array_new(FALSE, TRUE, sizeof(int));
    g_autoptr(GError) error = NULL;
    if (load_faces(dir, photos, all, &error) < 0) {
        fprintf(stderr, "mimica-cli synth: %s\n", error->message);
        return 1;
    }
    for (int i = 0; i < (int)all->len; i++)
        if (split_mode == 2 || (split_mode == 1) == (i % 4 == 3))
            g_array_append_val(use, i);
    if (use->len == 0) {
        fprintf(stderr, "mimica-cli synth: no usable faces in %s\n", dir);
        return 1;
    }

    char err[512];
    g_autofree char *desc = g_strdup_printf("synth %s n=%ld seed=%ld split=%s faces=%u",
                                            domain_name, n, seed, split, use->len);
    mim_pack_writer *w = mim_pack_writer_new(out, MIM_SYNTH_AUS, desc, err, sizeof err);
    if (!w) {
        fprintf(stderr, "mimica-cli synth: %s\n", err);
        return 1;
    }
    uint8_t *rgb = g_malloc(MIM_PACK_IMAGE_BYTES);
    mim_rng rng;
    mim_rng_seed(&rng, (uint64_t)seed);
    long positives[MIM_SYNTH_N_AU] = {0};
    gboolean tty = isatty(2);
    for (long i = 0; i < n; i++) {
        int fi = g_array_index(use, int, (int)mim_rng_below(&rng, use->len));
        const synth_face *f = &g_array_index(all, synth_face, fi);
        float intensity[MIM_FACEGEN_N_AU], labels[MIM_SYNTH_N_AU], xy49[98];
        mim_synth_draw_aus(&rng, intensity, labels);
        if (mim_synth_render(photos->pdata[f->photo], f->xy, intensity, domain, &rng, rgb, xy49,
                             err, sizeof err) ||
            mim_pack_writer_add(w, rgb, xy49, labels, (uint32_t)fi, (uint32_t)f->photo, err,
                                sizeof err)) {
            fprintf(stderr, "mimica-cli synth: face %d: %s\n", fi, err);
            mim_pack_writer_abort(w);
            g_free(rgb);
            return 1;
        }
        for (int k = 0; k < MIM_SYNTH_N_AU; k++)
            positives[k] += labels[k] > 0;
        if (tty && (i % 50 == 0 || i + 1 == n))
            fprintf(stderr, "\r%ld / %ld", i + 1, n);
    }
    g_free(rgb);
    if (tty)
        fputc('\n', stderr);
    if (mim_pack_writer_finish(w, err, sizeof err)) {
        fprintf(stderr, "mimica-cli synth: %s\n", err);
        return 1;
    }
    printf("wrote %s: %ld %s faces from %u identities; positives per AU:", out, n, domain_name,
           use->len);
    int aus[MIM_SYNTH_N_AU];
    mim_pack_parse_au_list(MIM_SYNTH_AUS, aus, MIM_SYNTH_N_AU, NULL, 0);
    for (int k = 0; k < MIM_SYNTH_N_AU; k++)
        printf(" AU%d %ld", aus[k], positives[k]);
    printf("\n");
    return 0;
}

const MimicaCliCommand mimica_cli_synth = {
    "synth",
    "generate a pack of faces with exact AU labels (lab or wild)",
    run_synth,
};
