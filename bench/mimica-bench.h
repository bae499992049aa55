/* mimica-bench.h: the subcommands of mimica-bench, one bench-*.c each, listed in
 * mimica-bench.c. Every subcommand prints human-readable figures and ends with one JSON line. */
#pragma once

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} mim_bench_cmd;
