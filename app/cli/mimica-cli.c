/* mimica-cli.c: the headless program. Dispatches `mimica-cli COMMAND ...` to the subcommands
 * of the table below; `--version` and `--help` are answered here. */
#include <glib.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "jobs/mimica-threads.h"
#include "mim-version.h"
#include "mimica-cli.h"
#include "mimica-config.h"

extern const MimicaCliCommand mimica_cli_analyze;
extern const MimicaCliCommand mimica_cli_project;
extern const MimicaCliCommand mimica_cli_label;
extern const MimicaCliCommand mimica_cli_export;
extern const MimicaCliCommand mimica_cli_import;
extern const MimicaCliCommand mimica_cli_detect;
extern const MimicaCliCommand mimica_cli_backends;
extern const MimicaCliCommand mimica_cli_pack;
extern const MimicaCliCommand mimica_cli_synth;
extern const MimicaCliCommand mimica_cli_train;
extern const MimicaCliCommand mimica_cli_eval;
extern const MimicaCliCommand mimica_cli_finetune;

/* Subcommands, in the order --help lists them. Each is defined in its own cmd-*.c. */
static const MimicaCliCommand *const commands[] = {
    &mimica_cli_analyze,  /* cmd-analyze.c */
    &mimica_cli_project,  /* cmd-project.c */
    &mimica_cli_label,    /* cmd-label.c */
    &mimica_cli_export,   /* cmd-export.c */
    &mimica_cli_import,   /* cmd-import.c */
    &mimica_cli_detect,   /* cmd-detect.c */
    &mimica_cli_backends, /* cmd-backends.c */
    &mimica_cli_pack,     /* cmd-pack.c */
    &mimica_cli_synth,    /* cmd-synth.c */
    &mimica_cli_train,    /* cmd-train.c */
    &mimica_cli_eval,     /* cmd-eval.c */
    &mimica_cli_finetune, /* cmd-finetune.c */
    NULL,
};

static void print_help(FILE *out)
{
    fprintf(out, "Usage: mimica-cli COMMAND [OPTION...]\n\n"
                 "Facial action unit analysis, labels and training without a window.\n\n"
                 "Commands:\n");
    for (size_t i = 0; commands[i]; i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nOptions:\n"
                 "  --version  print the version and exit\n"
                 "  --help     print this help and exit\n\n"
                 "Run `mimica-cli COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv)
{
    /* the commands that compute: OpenMP's idle workers sleep instead of spinning, so that they
     * leave the cores to other programs between steps (may execute the program again, so it
     * comes first; the others start once) */
    static const char *const computing[] = {"analyze", "detect", "train", "eval", "finetune"};
    for (size_t i = 0; argc > 1 && i < G_N_ELEMENTS(computing); i++)
        if (strcmp(argv[1], computing[i]) == 0)
            mimica_threads_wait_passively(argv);
    setlocale(LC_ALL, "");
    /* Numbers on the command line and in CSV/JSON output always use the C locale's '.' */
    setlocale(LC_NUMERIC, "C");

    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mimica-cli %s (engine %s)\n", MIMICA_VERSION, mim_version());
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return 0;
    }
    for (size_t i = 0; commands[i]; i++)
        if (strcmp(argv[1], commands[i]->name) == 0)
            return commands[i]->run(argc - 1, argv + 1);

    fprintf(stderr, "mimica-cli: unknown command '%s'; see mimica-cli --help\n", argv[1]);
    return 2;
}
