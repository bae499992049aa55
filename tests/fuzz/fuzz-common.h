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
