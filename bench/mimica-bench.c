/* mimica-bench.c: benchmarks. Dispatches `mimica-bench COMMAND ...` to the table below. */
#include <stdio.h>
#include <string.h>

#include "mimica-bench.h"

#ifdef MIM_BENCH_HAVE_APP
extern const mim_bench_cmd mim_bench_decode;
extern const mim_bench_cmd mim_bench_landmark;
extern const mim_bench_cmd mim_bench_face;
extern const mim_bench_cmd mim_bench_pipeline;
extern const mim_bench_cmd mim_bench_store;
extern const mim_bench_cmd mim_bench_share;
#endif

extern const mim_bench_cmd mim_bench_ops;
extern const mim_bench_cmd mim_bench_train;
extern const mim_bench_cmd mim_bench_infer;

static const mim_bench_cmd *const commands[] = {
    &mim_bench_ops,
    &mim_bench_train,
    &mim_bench_infer,
#ifdef MIM_BENCH_HAVE_APP
    &mim_bench_decode,
    &mim_bench_landmark,
    &mim_bench_face,
    &mim_bench_pipeline,
    &mim_bench_store,
    &mim_bench_share,
#endif
    NULL,
};

static void usage(FILE *out)
{
    fprintf(out, "Usage: mimica-bench COMMAND [OPTION...]\n\nCommands:\n");
    for (size_t i = 0; commands[i]; i++)
        fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; commands[i]; i++)
        if (!strcmp(argv[1], commands[i]->name))
            return commands[i]->run(argc - 1, argv + 1);
    fprintf(stderr, "mimica-bench: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
