/* mimica-cli.h: the subcommands of mimica-cli. Each lives in its own cmd-*.c and is listed in
 * the table of mimica-cli.c; `mimica-cli --help` prints that table. */
#pragma once

typedef struct {
    const char *name;    /* "detect", "project", ... */
    const char *summary; /* one line for --help */
    /* argv[0] is the subcommand's name; returns the process exit status (0, 1 error, 2 usage) */
    int (*run)(int argc, char **argv);
} MimicaCliCommand;
