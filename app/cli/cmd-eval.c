/* cmd-eval.c: `mimica-cli eval --model MODEL --pack PACK [--json]`: per-AU F1 (MODEL.md §7),
 * accuracy and landmark NME of a model on a pack (training/mim-fit.h). */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mim-fit.h"
#include "mimica-cli.h"

static const char eval_usage[] =
    "Usage: mimica-cli eval --model MODEL --pack PACK [--json] [--backend X] [--path "
    "target|source]\n"
    "                       [--batch B]\n"
    "\n"
    "Scores a model file on a pack: test-time crop (MODEL.md §1.3), AU present iff p >= 0.5,\n"
    "per-AU F1 of the positive class over the pack's labelled frames (missing labels ignored;\n"
    "an AU the pack never labels gets null and stays out of the means), accuracy, and the\n"
    "landmark NME (mean distance of the 49 predicted grid points to the labelled ones, the 12\n"
    "refined points as AU centres, divided by the inter-ocular distance).\n"
    "\n"
    "  --json        one object: {\"mean_f1\": x, \"f1\": {\"AU\": F1, ...}, \"accuracy\": x,\n"
    "                \"nme\": x, \"n_images\": n, \"accuracy_per_au\": {...},\n"
    "                \"n_labelled\": {...}}\n"
    "  --backend X   ref, dnnl, cuda or auto (default; MIMICA_BACKEND)\n"
    "  --path P      target (default: Ef, El, Eb, G, Fau) or source (Ef, El, Fau), MODEL.md §6\n"
    "  --batch B     images per inference batch (default 16)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli eval: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", eval_usage);
    return 2;
}

static void json_number(GString *s, double v)
{
    if (isfinite(v))
        g_string_append_printf(s, "%.6g", v);
    else
        g_string_append(s, "null");
}

static int run_eval(int argc, char **argv)
{
    const char *model = NULL, *pack = NULL, *backend = NULL, *path_name = "target";
    gboolean json = FALSE;
    long batch = 16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(eval_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = TRUE;
            continue;
        }
        if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--pack"))
            pack = v;
        else if (!strcmp(a, "--backend"))
            backend = v;
        else if (!strcmp(a, "--path"))
            path_name = v;
        else if (!strcmp(a, "--batch")) {
            char *end;
            batch = strtol(v, &end, 10);
            if (*end || batch < 1 || batch > 4096)
                return usage_error("bad batch '%s'", v);
        } else
            return usage_error("unknown option %s", a);
        i++;
    }
    if (!model || !pack)
        return usage_error("%s", "--model and --pack are required");
    mim_aunet_path path;
    if (!strcmp(path_name, "target"))
        path = MIM_AUNET_PATH_TARGET;
    else if (!strcmp(path_name, "source"))
        path = MIM_AUNET_PATH_SOURCE;
    else
        return usage_error("--path is target or source, not '%s'", path_name);
    if (!backend)
        backend = getenv("MIMICA_BACKEND");

    char err[1024] = "";
    int rc = 1;
    mim_fit_model fm = {0};
    mim_pack *p = mim_pack_open(pack, err, sizeof err);
    mim_fit_eval_result *r = g_new0(mim_fit_eval_result, 1);
    if (!p || mim_fit_model_open(&fm, backend, model, NULL, 0, err, sizeof err)) {
        fprintf(stderr, "mimica-cli eval: %s\n", err);
        goto done;
    }
    if (mim_fit_eval(fm.net, p, fm.aus, fm.n_aus, path, (int)batch, r, err, sizeof err) != MIM_OK) {
        fprintf(stderr, "mimica-cli eval: %s\n", err);
        goto done;
    }
    if (json) {
        g_autoptr(GString) s = g_string_new("{\"mean_f1\": ");
        json_number(s, r->mean_f1);
        g_string_append(s, ", \"f1\": {");
        for (int a = 0; a < r->n_aus; a++) {
            g_string_append_printf(s, "%s\"%d\": ", a ? ", " : "", r->aus[a]);
            json_number(s, r->n_labelled[a] > 0 ? r->f1[a] : NAN);
        }
        g_string_append(s, "}, \"accuracy\": ");
        json_number(s, r->mean_accuracy);
        g_string_append(s, ", \"nme\": ");
        json_number(s, r->nme);
        g_string_append_printf(s, ", \"n_images\": %ld, \"accuracy_per_au\": {", r->n_images);
        for (int a = 0; a < r->n_aus; a++) {
            g_string_append_printf(s, "%s\"%d\": ", a ? ", " : "", r->aus[a]);
            json_number(s, r->n_labelled[a] > 0 ? r->accuracy[a] : NAN);
        }
        g_string_append(s, "}, \"n_labelled\": {");
        for (int a = 0; a < r->n_aus; a++)
            g_string_append_printf(s, "%s\"%d\": %ld", a ? ", " : "", r->aus[a], r->n_labelled[a]);
        g_string_append(s, "}}\n");
        fputs(s->str, stdout);
    } else {
        printf("model %s on %s (%ld images, %s path, backend %s)\n", model, pack, r->n_images,
               path_name, mim_backend_name(fm.be));
        printf("%-6s %8s %8s %8s %6s %6s %6s %6s\n", "AU", "F1", "acc", "labelled", "TP", "FP",
               "FN", "TN");
        for (int a = 0; a < r->n_aus; a++) {
            if (r->n_labelled[a] == 0) {
                printf("AU%-4d %8s %8s %8d\n", r->aus[a], "-", "-", 0);
                continue;
            }
            printf("AU%-4d %8.4f %8.4f %8ld %6ld %6ld %6ld %6ld\n", r->aus[a], r->f1[a],
                   r->accuracy[a], r->n_labelled[a], r->counts.tp[a], r->counts.fp[a],
                   r->counts.fn[a], r->counts.tn[a]);
        }
        printf("mean F1 %.4f, accuracy %.4f, landmark NME %.4f\n", r->mean_f1, r->mean_accuracy,
               r->nme);
    }
    rc = 0;
done:
    g_free(r);
    mim_fit_model_close(&fm);
    mim_pack_close(p);
    return rc;
}

const MimicaCliCommand mimica_cli_eval = {
    "eval",
    "score a model on a pack: per-AU F1, accuracy, landmark NME",
    run_eval,
};
