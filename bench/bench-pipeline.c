/* bench-pipeline.c: `mimica-bench pipeline VIDEO`: the analysis pipeline end to end (app/analysis:
 * decode thread, tracking thread, AU thread, store) on one video, as `mimica-cli analyze` runs
 * it, into a temporary project. Prints frames per second (wall), the process's CPU time per
 * frame, and each stage's wall time as a share of the run. */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "analysis/mimica-analysis.h"
#include "mimica-bench.h"

static const char usage[] =
    "Usage: mimica-bench pipeline VIDEO [--model geometry|default|FILE] [--backend NAME]\n"
    "                             [--runs N] [--max-faces N]\n";

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int run_pipeline(int argc, char **argv)
{
    const char *video = NULL;
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o);
    int runs = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (i + 1 < argc && !strcmp(argv[i], "--model")) {
            o.model = argv[++i];
        } else if (i + 1 < argc && !strcmp(argv[i], "--backend")) {
            o.backend = argv[++i];
        } else if (i + 1 < argc && !strcmp(argv[i], "--runs")) {
            runs = atoi(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--max-faces")) {
            o.max_faces = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !video) {
            video = argv[i];
        } else {
            fprintf(stderr, "mimica-bench pipeline: bad argument '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (!video || runs < 1) {
        fputs(usage, stderr);
        return 2;
    }
    GError *error = NULL;
    g_autofree char *dir = g_dir_make_tmp("mimica-bench-XXXXXX", &error);
    g_autofree char *path = dir ? g_build_filename(dir, "bench.mimica", NULL) : NULL;
    MimicaStore *store = dir ? mimica_store_create(path, &error) : NULL;
    gint64 id = store ? mimica_analysis_add_video(store, video, NULL, &error) : 0;
    int rc = 1;
    double best_fps = 0, fps_sum = 0, cpu_per_frame = 0;
    MimicaAnalysisStats best = {0};
    if (!id)
        goto out;
    o.restart = TRUE;
    printf("pipeline: %s, model %s, %d runs\n", video, o.model ? o.model : "geometry", runs);
    for (int r = 0; r < runs; r++) {
        MimicaAnalysisStats st;
        double c0 = cpu_s();
        if (!mimica_analysis_run(store, id, &o, NULL, NULL, NULL, &st, &error))
            goto out;
        double cpu = cpu_s() - c0;
        double fps = st.n_frames / st.seconds;
        printf("run %d: %lld frames, %d faces, %.2f s wall: %.1f frames/s; CPU %.2f ms/frame "
               "(%.2f cores busy)\n",
               r + 1, (long long)st.n_frames, st.n_persons, st.seconds, fps,
               1000 * cpu / st.n_frames, cpu / st.seconds);
        fps_sum += fps;
        if (fps > best_fps) {
            best_fps = fps;
            best = st;
            cpu_per_frame = cpu / st.n_frames;
        }
    }
    printf("stages of the best run (wall time in the stage, share of the run; tracking thread:\n"
           "decode wait .. features; AU thread: aus, store; calibrate after both):\n");
    for (int s = 0; s < MIMICA_N_STAGES; s++)
        printf("  %-10s %7.3f s  %5.1f %%  %6.2f ms/frame\n",
               mimica_analysis_stage_name((MimicaAnalysisStage)s), best.stage_s[s],
               100 * best.stage_s[s] / best.seconds, 1000 * best.stage_s[s] / best.n_frames);
    printf("{\"bench\": \"pipeline\", \"video\": \"%s\", \"model\": \"%s\", \"frames\": %lld, "
           "\"faces\": %d, \"fps_best\": %.2f, \"fps_mean\": %.2f, \"cpu_ms_per_frame\": %.3f",
           video, o.model ? o.model : "geometry", (long long)best.n_frames, best.n_persons,
           best_fps, fps_sum / runs, 1000 * cpu_per_frame);
    for (int s = 0; s < MIMICA_N_STAGES; s++)
        printf(", \"%s_s\": %.4f", mimica_analysis_stage_name((MimicaAnalysisStage)s),
               best.stage_s[s]);
    printf("}\n");
    rc = 0;
out:
    if (error) {
        fprintf(stderr, "mimica-bench pipeline: %s\n", error->message);
        g_error_free(error);
    }
    mimica_store_free(store);
    if (path) {
        const char *suffix[] = {"", "-wal", "-shm"};
        for (unsigned i = 0; i < G_N_ELEMENTS(suffix); i++) {
            g_autofree char *p = g_strconcat(path, suffix[i], NULL);
            g_unlink(p);
        }
        g_rmdir(dir);
    }
    return rc;
}

const mim_bench_cmd mim_bench_pipeline = {
    "pipeline", "analysis end to end on a video: frames/s and each stage's share (VIDEO)",
    run_pipeline};
