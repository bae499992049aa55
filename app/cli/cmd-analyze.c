/* cmd-analyze.c: `mimica-cli analyze VIDEO|IMAGE_DIR...`: the analysis pipeline (app/analysis)
 * on the job runner (app/jobs), one OpenFace 2.2 CSV per input. */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "analysis/mimica-analysis.h"
#include "analysis/mimica-au-model.h"
#include "aunet/mim-json.h"
#include "mimica-cli.h"
#include "mimica-error.h"

#define EXIT_USAGE      2
#define EXIT_UNREADABLE 3
#define EXIT_PARTIAL    4

static const char analyze_usage[] =
    "Usage: mimica-cli analyze VIDEO|IMAGE_DIR... [-o DIR] [--model FILE|geometry|default]\n"
    "                          [--backend NAME] [--project FILE] [--max-faces N] [--smooth N]\n"
    "                          [--baseline FIRST:LAST] [--min-face PIXELS] [--batch N]\n"
    "                          [--progress auto|bar|json|none] [--summary] [--restart]\n"
    "\n"
    "Analyses every frame of each input: faces (tracked with stable ids), 68 landmarks, head\n"
    "pose and AU activations, and writes DIR/NAME.csv per input (NAME: the file name without\n"
    "its extension, or the folder's name) in OpenFace 2.2 FeatureExtraction's columns and order:\n"
    "frame, face_id, timestamp, confidence, success, pose_Tx..pose_Rz, x_0..x_67, y_0..y_67,\n"
    "AUxx_r..., AUxx_c...; a row per decoded frame and face, and face_id 0 with success 0 where "
    "no\n"
    "face is visible. Image folders are read as frame sequences (sorted by name).\n"
    "\n"
    "  -o, --output DIR     where the CSV files go (default: the current folder)\n"
    "  --model M            geometry (AUs from the landmarks; the default), default (the bundled\n"
    "                       network, when installed) or an AU-network model file (.safetensors)\n"
    "  --backend NAME       auto, ref, dnnl or cuda, for networks (default auto)\n"
    "  --project FILE       also keep the results in this project (created if missing); an\n"
    "                       analysis interrupted there resumes where it stopped\n"
    "  --max-faces N        at most N faces per frame, 1..16 (default 4)\n"
    "  --smooth N           smooth intensities over N frames (centred mean; raw values kept)\n"
    "  --baseline F:L       every person's neutral face from frames F..L (default: found\n"
    "                       automatically in low-activity frames)\n"
    "  --min-face PIXELS    smallest face to find (default: shorter side / 10, at least 32)\n"
    "  --batch N            network batch size (default 8)\n"
    "  --progress MODE      bar on a terminal (auto: a bar when stderr is a terminal, nothing in\n"
    "                       a pipe), json: one JSON object per line on stdout, none\n"
    "  --summary            print each input's per-AU summary (mean intensity, share present)\n"
    "  --restart            analyse again inputs the project has already analysed\n"
    "\n"
    "Exit status: 0 all done, 1 an error (output not writable, bad model, ...), 2 usage, 3 an\n"
    "input could not be read, 4 partial results (a damaged or truncated input, or interrupted).\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli analyze: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", analyze_usage);
    return EXIT_USAGE;
}

typedef enum { PROGRESS_AUTO, PROGRESS_BAR, PROGRESS_JSON, PROGRESS_NONE } ProgressMode;

typedef struct {
    ProgressMode mode;
    const char *name; /* the input being analysed */
    int index, count; /* its number among the inputs */
    gboolean bar_shown;
    gboolean interrupted;
    MimicaJobRunner *runner;
} Ui;

static void json_str(GString *s, const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text, -1);
    size_t need = mim_json_quote(NULL, 0, NULL, valid, strlen(valid));
    char *q = g_malloc(need + 1);
    size_t len = 0;
    mim_json_quote(q, need + 1, &len, valid, strlen(valid));
    g_string_append_len(s, q, (gssize)len);
    g_free(q);
}

static void on_progress(MimicaJobRunner *runner, const MimicaJobProgress *p, gpointer data)
{
    Ui *ui = data;
    if (ui->mode == PROGRESS_JSON) {
        g_autoptr(GString) s = g_string_new("{\"event\": \"progress\", \"input\": ");
        json_str(s, ui->name);
        g_string_append_printf(s, ", \"frames_done\": %lld, \"frames_total\": %lld",
                               (long long)p->done, (long long)p->total);
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf(s, ", \"fps\": %s",
                               g_ascii_formatd(buf, sizeof buf, "%.2f", p->rate));
        if (p->eta_s >= 0)
            g_string_append_printf(s, ", \"eta_s\": %s",
                                   g_ascii_formatd(buf, sizeof buf, "%.1f", p->eta_s));
        else
            g_string_append(s, ", \"eta_s\": null");
        g_string_append(s, "}\n");
        fputs(s->str, stdout);
        fflush(stdout);
    } else if (ui->mode == PROGRESS_BAR) {
        int width = 30;
        double frac = p->total > 0 ? CLAMP((double)p->done / p->total, 0, 1) : 0;
        int fill = (int)(frac * width);
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[width] = 0;
        char eta[32] = "--:--";
        if (p->eta_s >= 0)
            g_snprintf(eta, sizeof eta, "%d:%02d", (int)(p->eta_s / 60), (int)p->eta_s % 60);
        fprintf(stderr, "\r[%d/%d] %s [%s] %3.0f%% %lld/%lld frames %5.1f fps  ETA %s \033[K",
                ui->index, ui->count, ui->name, bar, 100 * frac, (long long)p->done,
                (long long)p->total, p->rate, eta);
        fflush(stderr);
        ui->bar_shown = TRUE;
    }
}

static gboolean on_sigint(gpointer data)
{
    Ui *ui = data;
    ui->interrupted = TRUE;
    mimica_job_runner_cancel(ui->runner, 0);
    return G_SOURCE_CONTINUE;
}

/* DIR/NAME.csv for an input. */
static char *csv_path_for(const char *dir, const char *input)
{
    g_autofree char *trimmed = g_strdup(input);
    gsize len = strlen(trimmed);
    while (len > 1 && trimmed[len - 1] == G_DIR_SEPARATOR)
        trimmed[--len] = 0;
    g_autofree char *base = g_path_get_basename(trimmed);
    if (!g_file_test(trimmed, G_FILE_TEST_IS_DIR)) {
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
            *dot = 0;
    }
    g_autofree char *file = g_strconcat(base, ".csv", NULL);
    return g_build_filename(dir, file, NULL);
}

/* Writes the CSV next to its final name, then renames it: a reader never sees half a file. */
static gboolean write_csv(MimicaStore *store, gint64 video, gint64 model, const char *path,
                          GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".part", NULL);
    FILE *out = g_fopen(tmp, "w");
    if (!out) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot write %s: %s", tmp,
                    g_strerror(e));
        return FALSE;
    }
    gboolean ok = mimica_store_export_openface_csv(store, video, model, out, error);
    if (fclose(out) != 0 && ok) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot write %s: %s", tmp,
                    g_strerror(e));
        ok = FALSE;
    }
    if (ok && g_rename(tmp, path) != 0) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "cannot rename %s to %s: %s",
                    tmp, path, g_strerror(e));
        ok = FALSE;
    }
    if (!ok)
        g_unlink(tmp);
    return ok;
}

/* Per-AU summary of one analysis, per face. */
typedef struct {
    int n_aus;
    const int *aus;
    const float *thresholds;
    GArray *tracks; /* int */
    GArray *sums;   /* per track: n_frames, then (sum r, max r, n present) per AU */
} Summary;

static gboolean summary_row(int track, const MimicaPrediction *row, gpointer data)
{
    Summary *s = data;
    if (!row->success)
        return TRUE;
    guint t = 0;
    while (t < s->tracks->len && g_array_index(s->tracks, int, t) != track)
        t++;
    int stride = 1 + 3 * s->n_aus;
    if (t == s->tracks->len) {
        g_array_append_val(s->tracks, track);
        g_array_set_size(s->sums, s->sums->len + stride);
    }
    double *v = &g_array_index(s->sums, double, t *stride);
    v[0] += 1;
    for (int a = 0; a < s->n_aus; a++) {
        double r = row->has_intensity && isfinite(row->au_intensity[a]) ? row->au_intensity[a] : 0;
        v[1 + 3 * a] += r;
        v[2 + 3 * a] = fmax(v[2 + 3 * a], r);
        v[3 + 3 * a] += row->au_prob[a] >= s->thresholds[a];
    }
    return TRUE;
}

static void print_summary(MimicaStore *store, gint64 video, gint64 model, const int *aus, int n_aus,
                          const float *thresholds)
{
    Summary s = {n_aus, aus, thresholds, g_array_new(FALSE, FALSE, sizeof(int)),
                 g_array_new(FALSE, TRUE, sizeof(double))};
    GError *error = NULL;
    if (!mimica_store_foreach_prediction(store, video, model, -1, 0, -1, summary_row, &s, &error)) {
        fprintf(stderr, "mimica-cli analyze: summary: %s\n", error->message);
        g_error_free(error);
    }
    int stride = 1 + 3 * n_aus;
    for (guint t = 0; t < s.tracks->len; t++) {
        const double *v = &g_array_index(s.sums, double, t *stride);
        printf("  face %d, %.0f frames:   AU  mean_r  max_r  present\n",
               g_array_index(s.tracks, int, t), v[0]);
        for (int a = 0; a < n_aus; a++)
            printf("                          AU%02d  %5.2f  %5.2f  %5.1f%%\n", aus[a],
                   v[1 + 3 * a] / v[0], v[2 + 3 * a], 100 * v[3 + 3 * a] / v[0]);
    }
    if (s.tracks->len == 0)
        printf("  no face found\n");
    g_array_unref(s.tracks);
    g_array_unref(s.sums);
}

/* An unfinished analyse job of VIDEO in the project (to resume), or 0. */
static gint64 unfinished_job(MimicaStore *store, gint64 video)
{
    g_autoptr(GArray) ids = mimica_store_jobs_unfinished(store, NULL);
    for (guint i = 0; ids && i < ids->len; i++) {
        gint64 id = g_array_index(ids, gint64, i);
        MimicaJobRow row;
        if (!mimica_store_job_get(store, id, &row, NULL))
            continue;
        mim_json_doc *doc = NULL;
        uint64_t v = 0;
        gboolean match =
            strcmp(row.kind, "analyse") == 0 &&
            mim_json_parse(row.parameters, strlen(row.parameters), &doc, NULL, 0) == 0 &&
            mim_json_u64(mim_json_get(mim_json_root(doc), "video_id"), &v) == 0 &&
            (gint64)v == video;
        mim_json_doc_free(doc);
        mimica_job_row_clear(&row);
        if (match)
            return id;
    }
    return 0;
}

static gboolean parse_int(const char *v, gint64 min, gint64 max, gint64 *out)
{
    return g_ascii_string_to_signed(v, 10, min, max, out, NULL);
}

static int analyze_run(int argc, char **argv)
{
    const char *out_dir = ".", *project = NULL;
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o);
    Ui ui = {.mode = PROGRESS_AUTO};
    gboolean summary = FALSE;
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(analyze_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--summary")) {
            summary = TRUE;
        } else if (!strcmp(a, "--restart")) {
            o.restart = TRUE;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--model") ||
                   !strcmp(a, "--backend") || !strcmp(a, "--project") ||
                   !strcmp(a, "--max-faces") || !strcmp(a, "--smooth") ||
                   !strcmp(a, "--baseline") || !strcmp(a, "--progress") ||
                   !strcmp(a, "--min-face") || !strcmp(a, "--batch")) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            gint64 n;
            if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
                out_dir = v;
            } else if (!strcmp(a, "--model")) {
                o.model = v;
            } else if (!strcmp(a, "--backend")) {
                o.backend = v;
            } else if (!strcmp(a, "--project")) {
                project = v;
            } else if (!strcmp(a, "--max-faces")) {
                if (!parse_int(v, 1, MIMICA_ANALYSIS_MAX_FACES, &n))
                    return usage_error("--max-faces '%s' is not a number in 1..16", v);
                o.max_faces = (int)n;
            } else if (!strcmp(a, "--smooth")) {
                if (!parse_int(v, 0, 1000, &n))
                    return usage_error("--smooth '%s' is not a number of frames in 0..1000", v);
                o.smooth = (int)n;
            } else if (!strcmp(a, "--min-face")) {
                if (!parse_int(v, 24, 100000, &n))
                    return usage_error("--min-face '%s' is not a size in pixels (24 or more)", v);
                o.min_face = (int)n;
            } else if (!strcmp(a, "--batch")) {
                if (!parse_int(v, 1, 256, &n))
                    return usage_error("--batch '%s' is not a number in 1..256", v);
                o.batch = (int)n;
            } else if (!strcmp(a, "--baseline")) {
                g_auto(GStrv) ab = g_strsplit(v, ":", 3);
                gint64 first, last;
                if (g_strv_length(ab) != 2 || !parse_int(ab[0], 0, G_MAXINT32, &first) ||
                    !parse_int(ab[1], 0, G_MAXINT32, &last) || last < first)
                    return usage_error("--baseline '%s' is not FIRST:LAST (frames, FIRST <= LAST)",
                                       v);
                o.baseline_start = first;
                o.baseline_end = last;
            } else {
                if (!strcmp(v, "auto"))
                    ui.mode = PROGRESS_AUTO;
                else if (!strcmp(v, "bar"))
                    ui.mode = PROGRESS_BAR;
                else if (!strcmp(v, "json"))
                    ui.mode = PROGRESS_JSON;
                else if (!strcmp(v, "none"))
                    ui.mode = PROGRESS_NONE;
                else
                    return usage_error("--progress '%s' is not auto, bar, json or none", v);
            }
        } else if (g_str_has_prefix(a, "-") && strcmp(a, "-") != 0) {
            return usage_error("unknown option '%s'", a);
        } else {
            g_ptr_array_add(inputs, (gpointer)a);
        }
    }
    if (inputs->len == 0)
        return usage_error("%s", "no VIDEO or IMAGE_DIR given");
    if (ui.mode == PROGRESS_AUTO)
        ui.mode = isatty(STDERR_FILENO) ? PROGRESS_BAR : PROGRESS_NONE;

    /* the model first: a bad model file fails before any video is read */
    GError *error = NULL;
    g_autoptr(MimicaAuModel) model = mimica_au_model_open(o.model, o.backend, &error);
    if (!model) {
        fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
        g_error_free(error);
        return 1;
    }
    if (g_mkdir_with_parents(out_dir, 0777) != 0) {
        fprintf(stderr, "mimica-cli analyze: cannot make the output folder %s: %s\n", out_dir,
                g_strerror(errno));
        return 1;
    }
    /* without --project, a temporary one */
    g_autofree char *tmp_dir = NULL, *path = NULL;
    if (project) {
        path = g_strdup(project);
    } else {
        tmp_dir = g_dir_make_tmp("mimica-analyze-XXXXXX", &error);
        if (!tmp_dir) {
            fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
            g_error_free(error);
            return 1;
        }
        path = g_build_filename(tmp_dir, "analysis.mimica", NULL);
    }
    MimicaStore *store = g_file_test(path, G_FILE_TEST_EXISTS) ? mimica_store_open(path, &error)
                                                               : mimica_store_create(path, &error);
    MimicaJobRunner *runner = store ? mimica_job_runner_new(path, &error) : NULL;
    int status = 0;
    if (!runner) {
        fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
        g_error_free(error);
        status = 1;
        goto out;
    }
    mimica_analysis_register(runner);
    ui.runner = runner;
    ui.count = (int)inputs->len;
    g_signal_connect(runner, "progress", G_CALLBACK(on_progress), &ui);
    guint sigint = g_unix_signal_add(SIGINT, on_sigint, &ui);
    guint sigterm = g_unix_signal_add(SIGTERM, on_sigint, &ui);

    for (guint i = 0; i < inputs->len && !ui.interrupted; i++) {
        const char *input = inputs->pdata[i];
        ui.name = input;
        ui.index = (int)i + 1;
        gint64 video = mimica_analysis_add_video(store, input, NULL, &error);
        if (!video) {
            fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
            if (ui.mode == PROGRESS_JSON) {
                g_autoptr(GString) s = g_string_new("{\"event\": \"error\", \"input\": ");
                json_str(s, input);
                g_string_append(s, ", \"message\": ");
                json_str(s, error->message);
                g_string_append(s, "}\n");
                fputs(s->str, stdout);
            }
            g_clear_error(&error);
            status = MAX(status, EXIT_UNREADABLE);
            continue;
        }
        gint64 job = unfinished_job(store, video);
        if (job && !mimica_job_runner_enqueue(runner, job, NULL))
            job = 0;
        if (!job) {
            g_autofree char *params = mimica_analysis_job_parameters(video, &o);
            job = mimica_job_runner_submit(runner, "analyse", params, &error);
        }
        if (!job) {
            fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
            g_clear_error(&error);
            status = 1;
            break;
        }
        g_autofree char *message = NULL;
        g_autofree char *job_status = mimica_job_runner_wait(runner, job, &message);
        if (ui.bar_shown) {
            fputc('\n', stderr);
            ui.bar_shown = FALSE;
        }
        MimicaAnalysisStats stats = {0};
        gboolean have_stats = mimica_analysis_job_stats(runner, job, &stats);
        gboolean done = !strcmp(job_status, "done");
        if (!done)
            fprintf(stderr, "mimica-cli analyze: %s: %s%s%s\n", input, job_status,
                    message && *message ? ": " : "", message ? message : "");
        int input_status = done ? (have_stats && stats.truncated ? EXIT_PARTIAL : 0)
                                : (have_stats && stats.model_id ? EXIT_PARTIAL : 1);
        /* what there is goes out: everything, or what was analysed before the stop */
        gint64 model_id = have_stats ? stats.model_id : 0;
        g_autofree char *csv = csv_path_for(out_dir, input);
        if (model_id && !write_csv(store, video, model_id, csv, &error)) {
            fprintf(stderr, "mimica-cli analyze: %s\n", error->message);
            g_clear_error(&error);
            input_status = 1;
        }
        if (ui.mode == PROGRESS_JSON) {
            g_autoptr(GString) s = g_string_new("{\"event\": \"done\", \"input\": ");
            json_str(s, input);
            g_string_append(s, ", \"status\": ");
            json_str(s, job_status);
            g_string_append(s, ", \"csv\": ");
            if (model_id && input_status != 1)
                json_str(s, csv);
            else
                g_string_append(s, "null");
            g_string_append_printf(s, ", \"frames\": %lld, \"faces\": %d, \"truncated\": %s}\n",
                                   (long long)stats.n_frames, stats.n_persons,
                                   stats.truncated ? "true" : "false");
            fputs(s->str, stdout);
            fflush(stdout);
        } else if (done && (ui.mode == PROGRESS_BAR || summary)) {
            printf("%s: %s -> %s\n", input, message ? message : "", csv);
        }
        if (summary && model_id)
            print_summary(store, video, model_id, mimica_au_model_get_aus(model),
                          mimica_au_model_get_n_aus(model), mimica_au_model_get_thresholds(model));
        status = input_status == 1 ? 1 : MAX(status, input_status);
    }
    if (ui.interrupted)
        status = status == 1 ? 1 : MAX(status, EXIT_PARTIAL);
    g_source_remove(sigint);
    g_source_remove(sigterm);
out:
    g_clear_object(&runner);
    mimica_store_free(store);
    if (tmp_dir) {
        const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
        for (unsigned i = 0; i < G_N_ELEMENTS(suffixes); i++) {
            g_autofree char *f = g_strconcat(path, suffixes[i], NULL);
            g_unlink(f);
        }
        g_rmdir(tmp_dir);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mimica-cli analyze: cannot write to standard output\n");
        status = 1;
    }
    return status;
}

const MimicaCliCommand mimica_cli_analyze = {
    .name = "analyze",
    .summary = "faces, landmarks, head pose and AUs of every frame of videos (OpenFace CSV)",
    .run = analyze_run,
};
