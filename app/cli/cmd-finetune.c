/* cmd-finetune.c: `mimica-cli finetune PROJECT [--mode quick|full] [--backend X]`: runs the
 * job "fine-tune" (app/teach/mimica-finetune.h) on the project's corrections and prints the
 * held-out F1 of the parent and of the new model; `--keep ID` / `--discard ID` record the
 * decision on a fine-tuned model. */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimica-cli.h"
#include "store/mimica-store-models.h"
#include "teach/mimica-finetune.h"

static const char finetune_usage[] =
    "Usage: mimica-cli finetune PROJECT [--mode quick|full] [--backend X] [--iters N]\n"
    "                           [--parent MODEL_ID]\n"
    "       mimica-cli finetune PROJECT --keep MODEL_ID | --discard MODEL_ID\n"
    "       mimica-cli finetune PROJECT --list\n"
    "\n"
    "Teaches the model from the project's corrected frames: the earliest 80 % of each video's\n"
    "corrected frames train, the latest 20 % are held out; prints the per-AU F1 of the parent\n"
    "and of the new model there. The new model is written beside the project and registered\n"
    "(pending) with its parent; the parent is never changed. An interrupted fine-tune resumes\n"
    "when the same command runs again.\n"
    "\n"
    "  --mode M        quick (default: encoders frozen, AU heads only; minutes on a CPU) or full\n"
    "                  (the joint training step from the parent's weights; GPU or patience)\n"
    "  --backend X     ref, dnnl, cuda or auto (default)\n"
    "  --iters N       quick: head training steps (300); full: iterations (200)\n"
    "  --parent ID     the model to start from (default: the latest analysis's network model)\n"
    "  --keep ID       keep fine-tuned model ID\n"
    "  --discard ID    discard it (the row stays, marked discarded; its file is deleted)\n"
    "  --list          the project's models with parent, decision and held-out mean F1\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli finetune: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", finetune_usage);
    return 2;
}

typedef struct {
    gboolean tty;
    MimicaJobRunner *runner;
    gboolean interrupted;
} Ui;

static void on_progress(MimicaJobRunner *runner, const MimicaJobProgress *p, gpointer user)
{
    Ui *ui = user;
    if (!ui->tty)
        return;
    if (p->total > 0)
        fprintf(stderr, "\r%-40s %lld/%lld   ", p->text ? p->text : "", (long long)p->done,
                (long long)p->total);
    else
        fprintf(stderr, "\r%-40s           ", p->text ? p->text : "");
    if (p->final)
        fputc('\n', stderr);
}

static gboolean on_sigint(gpointer user)
{
    Ui *ui = user;
    ui->interrupted = TRUE;
    mimica_job_runner_cancel(ui->runner, 0);
    return G_SOURCE_CONTINUE;
}

static const char *decision_name(MimicaModelDecision d)
{
    return d == MIMICA_MODEL_PENDING     ? "pending"
           : d == MIMICA_MODEL_DISCARDED ? "discarded"
                                         : "kept";
}

static int list_models(MimicaStore *store)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) rows = mimica_store_models_list(store, &error);
    if (!rows) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error->message);
        return 1;
    }
    for (guint i = 0; i < rows->len; i++) {
        const MimicaModelRow *r = &g_array_index(rows, MimicaModelRow, i);
        printf("%" G_GINT64_FORMAT "\t%s\tparent %" G_GINT64_FORMAT "\t%s\t%s\t%s\n", r->id,
               r->name, r->parent_id, decision_name(r->decision), r->file, r->metrics);
    }
    return 0;
}

static int decide(MimicaStore *store, gint64 id, MimicaModelDecision d)
{
    g_autoptr(GError) error = NULL;
    MimicaModelRow row;
    if (!mimica_store_models_get(store, id, &row, &error) ||
        !mimica_store_models_decide(store, id, d, &error)) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error->message);
        return 1;
    }
    if (d == MIMICA_MODEL_DISCARDED && row.file && *row.file && remove(row.file) != 0)
        fprintf(stderr,
                "mimica-cli finetune: model %" G_GINT64_FORMAT " discarded, but %s stays: %s\n", id,
                row.file, g_strerror(errno));
    printf("model %" G_GINT64_FORMAT " %s\n", id, decision_name(d));
    mimica_model_row_clear(&row);
    return 0;
}

static int run_finetune(int argc, char **argv)
{
    const char *project = NULL, *mode = NULL, *backend = NULL;
    gint64 iters = 0, parent = 0, keep = 0, discard = 0;
    gboolean list = FALSE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(finetune_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--list")) {
            list = TRUE;
            continue;
        }
        if (a[0] != '-') {
            if (project)
                return usage_error("unexpected argument %s", a);
            project = a;
            continue;
        }
        if (!v)
            return usage_error("%s needs a value", a);
        if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--backend"))
            backend = v;
        else {
            gint64 *num = !strcmp(a, "--iters")     ? &iters
                          : !strcmp(a, "--parent")  ? &parent
                          : !strcmp(a, "--keep")    ? &keep
                          : !strcmp(a, "--discard") ? &discard
                                                    : NULL;
            if (!num)
                return usage_error("unknown option %s", a);
            char *end;
            *num = g_ascii_strtoll(v, &end, 10);
            if (*end || *num < 1)
                return usage_error("bad number '%s'", v);
        }
        i++;
    }
    if (!project)
        return usage_error("%s", "PROJECT is required");
    if (mode && strcmp(mode, "quick") && strcmp(mode, "full"))
        return usage_error("--mode is quick or full, not '%s'", mode);
    g_autoptr(GError) error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(project, &error);
    if (!store) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error->message);
        return 1;
    }
    if (list)
        return list_models(store);
    if (keep)
        return decide(store, keep, MIMICA_MODEL_KEPT);
    if (discard)
        return decide(store, discard, MIMICA_MODEL_DISCARDED);

    g_autoptr(MimicaJobRunner) runner = mimica_job_runner_new(project, &error);
    if (!runner) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error->message);
        return 1;
    }
    mimica_finetune_register(runner);
    Ui ui = {.tty = isatty(2), .runner = runner};
    g_signal_connect(runner, "progress", G_CALLBACK(on_progress), &ui);
    guint sig = g_unix_signal_add(SIGINT, on_sigint, &ui);
    /* an interrupted fine-tune of this project goes on */
    gint64 job = 0;
    g_autoptr(GArray) open_jobs = mimica_store_jobs_unfinished(store, &error);
    for (guint i = 0; open_jobs && i < open_jobs->len && !job; i++) {
        MimicaJobRow row;
        gint64 id = g_array_index(open_jobs, gint64, i);
        if (mimica_store_job_get(store, id, &row, NULL)) {
            if (!strcmp(row.kind, MIMICA_FINETUNE_KIND) &&
                mimica_job_runner_enqueue(runner, id, NULL)) {
                job = id;
                fprintf(stderr, "resuming fine-tune job %" G_GINT64_FORMAT "\n", id);
            }
            mimica_job_row_clear(&row);
        }
    }
    if (!job) {
        g_autofree char *params = mimica_finetune_parameters(mode, backend, iters, parent);
        job = mimica_job_runner_submit(runner, MIMICA_FINETUNE_KIND, params, &error);
    }
    if (!job) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error->message);
        g_source_remove(sig);
        return 1;
    }
    g_autofree char *message = NULL;
    g_autofree char *status = mimica_job_runner_wait(runner, job, &message);
    g_source_remove(sig);
    if (strcmp(status, "done") != 0) {
        fprintf(stderr, "mimica-cli finetune: %s%s%s\n", status, message && *message ? ": " : "",
                message ? message : "");
        return 1;
    }
    gint64 id = mimica_finetune_job_model(store, job, &error);
    MimicaModelRow row;
    if (!id || !mimica_store_models_get(store, id, &row, &error)) {
        fprintf(stderr, "mimica-cli finetune: %s\n", error ? error->message : "no model");
        return 1;
    }
    printf("%s\nmodel %" G_GINT64_FORMAT ": %s (parent %" G_GINT64_FORMAT ")\nmetrics: %s\n"
           "keep it with: mimica-cli finetune %s --keep %" G_GINT64_FORMAT "\n",
           message ? message : "", id, row.file, row.parent_id, row.metrics, project, id);
    mimica_model_row_clear(&row);
    return 0;
}

const MimicaCliCommand mimica_cli_finetune = {
    "finetune",
    "teach the model from a project's corrections (quick or full)",
    run_finetune,
};
