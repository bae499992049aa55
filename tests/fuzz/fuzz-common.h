/* fuzz-common.h: what the libFuzzer targets of tests/fuzz share. Built only by a clang build
 * (tests/app/meson.build), run by `make fuzz`. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes the input to a file of this process (the parsers read files) and returns its name. */
static inline const char *fuzz_write_input(const uint8_t *data, size_t size, const char *suffix)
{
    static char *path;
    if (!path)
        path = g_strdup_printf("%s/mimica-fuzz-%d%s", g_get_tmp_dir(), (int)getpid(), suffix);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    return path;
}

/* A refusal must say why, in UTF-8 (the message reaches GError and the UI): aborts otherwise. */
static inline void fuzz_check_refusal(const char *message)
{
    if (!message || !message[0] || !g_utf8_validate(message, -1, NULL)) {
        g_autofree char *shown = message ? g_strescape(message, NULL) : NULL;
        fprintf(stderr, "refusal without a valid UTF-8 message: \"%s\"\n",
                shown ? shown : "(null)");
        abort();
    }
}
