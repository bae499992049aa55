/* cmd-backends.c: `mimica-cli backends [--backend NAME] [--json]`: which compute backends this
 * build has and this machine can run, and why one cannot (no GPU, not built). Scripts use
 * `--backend cuda` as a check before a long job: it exits 1 with the reason when cuda is absent. */
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mim.h"
#include "mimica-cli.h"

static const char backends_usage[] =
    "Usage: mimica-cli backends [--backend ref|dnnl|cuda|auto] [--json]\n"
    "\n"
    "Lists the compute backends: ref (plain C loops, the reference), dnnl (oneDNN on the CPU),\n"
    "cuda (cuDNN and cuBLAS on an NVIDIA GPU); for each, whether it can run here, and why not.\n"
    "\n"
    "  --backend NAME  check one backend: exit 0 if it runs here, 1 with the reason if not\n"
    "                  (auto: the one analysis and training use by default)\n"
    "  --json          one JSON object per line: name, compiled, available, reason\n"
    "\n"
    "Environment: MIMICA_BACKEND    the backend used when none is named (default: auto)\n"
    "             MIMICA_PRECISION  f32 (default) or bf16: dnnl's convolutions read bf16\n"
    "                               inputs (native with AVX512-BF16/AMX, emulated on other\n"
    "                               AVX-512 CPUs); weights and gradients stay fp32\n"
    "             MIMICA_DNNL_CONV  auto (default: Winograd where oneDNN finds it faster),\n"
    "                               direct or winograd\n";

static const char *const names[] = {"ref", "dnnl", "cuda"};
static const char *const what[] = {
    "plain C loops, the reference the others are tested against",
    "oneDNN primitives on the CPU, all cores",
    "cuDNN and cuBLAS on GPU 0",
};

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Opens `name` to see whether it runs; returns 1 if it does. The opened backend is freed. */
static int probe(const char *name, char *reason, size_t n, char *picked, size_t picked_n)
{
    mim_status st;
    mim_backend *be = mim_backend_open(name, &st, reason, n);
    if (!be)
        return 0;
    if (picked)
        g_strlcpy(picked, mim_backend_name(be), picked_n);
    mim_backend_free(be);
    reason[0] = 0;
    return 1;
}

static int run_backends(int argc, char **argv)
{
    const char *want = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(backends_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            want = argv[++i];
        } else if (!strncmp(argv[i], "--backend=", 10)) {
            want = argv[i] + 10;
        } else {
            fprintf(stderr, "mimica-cli backends: unexpected argument '%s'\n\n%s", argv[i],
                    backends_usage);
            return 2;
        }
    }

    char reason[512], picked[16] = "";
    if (want) {
        if (!*want) {
            fprintf(stderr, "mimica-cli backends: --backend needs a name\n\n%s", backends_usage);
            return 2;
        }
        int ok = probe(want, reason, sizeof reason, picked, sizeof picked);
        if (!ok) {
            fprintf(stderr, "mimica-cli backends: %s\n", reason);
            int known = !strcmp(want, "auto");
            for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
                known |= !strcmp(want, names[i]);
            return known ? 1 : 2; /* 2: a usage error, as for any bad argument */
        }
        if (json) {
            printf("{\"name\": ");
            json_string(picked);
            printf(", \"compiled\": true, \"available\": true, \"reason\": \"\"}\n");
        } else if (strcmp(want, picked)) {
            printf("%s: %s\n", want, picked);
        } else {
            printf("%s: available\n", picked);
        }
        return 0;
    }

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        int compiled = mim_backend_compiled(names[i]);
        int ok = probe(names[i], reason, sizeof reason, NULL, 0);
        /* the reason repeats the name ("cuda: ..."): drop it in the listing */
        const char *why = reason;
        size_t nl = strlen(names[i]);
        if (!strncmp(why, names[i], nl) && !strncmp(why + nl, ": ", 2))
            why += nl + 2;
        if (json) {
            printf("{\"name\": \"%s\", \"compiled\": %s, \"available\": %s, \"reason\": ", names[i],
                   compiled ? "true" : "false", ok ? "true" : "false");
            json_string(why);
            printf("}\n");
        } else {
            printf("%-5s %-11s %s\n", names[i], ok ? "available" : "unavailable",
                   ok ? what[i] : why);
            if (ok && !strcmp(names[i], "dnnl"))
                printf("%-17s bf16 (MIMICA_PRECISION=bf16): %s on this CPU\n", "",
                       mim_backend_bf16_native() ? "native" : "emulated by oneDNN, slower");
        }
    }
    if (!json) {
        if (probe(NULL, reason, sizeof reason, picked, sizeof picked))
            printf("default: %s\n", picked);
        else
            printf("default: none (%s)\n", reason);
    }
    return 0;
}

const MimicaCliCommand mimica_cli_backends = {
    "backends",
    "list the compute backends (CPU, GPU) and why one cannot run here",
    run_backends,
};
