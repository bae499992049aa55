/* tmp-folder.h: a test's scratch folder, made fresh per test and removed with its files (the
 * store tests' fixtures; the CLI tests have cli-fixture.h). */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* A new folder from TEMPLATE ("mimica-NAME-XXXXXX") in the temporary directory, to free with
 * tmp_folder_remove. */
static inline char *tmp_folder_new(const char *template)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp(template, &error);
    g_assert_no_error(error);
    return dir;
}

/* Removes the files of DIR (not subfolders), then DIR, and frees the string. */
static inline void tmp_folder_remove(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(dir, name, NULL);
        g_remove(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}
