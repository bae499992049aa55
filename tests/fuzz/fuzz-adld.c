/* fuzz-adld.c: libFuzzer target for ADLD list files, read by `mimica-cli pack import-adld`
 * (app/cli/cmd-pack.c, compiled into this target and run through its command entry).
 *
 * The input is up to four sections separated by the byte 0x1E: PREFIX_path.txt,
 * PREFIX_land.txt, PREFIX_AUoccur.txt and, when present, the --aus value. The images the lists
 * may name live in a folder made once per process: S1/a.ppm and S1/b.ppm (200x200, what ADLD
 * lists point at), S2/small.ppm (8x8), S2/bad.ppm (damaged) and S2/zero.ppm (a link to
 * /dev/zero). A pack the importer writes must
 * open with the pack reader and hold one record per line. Run with -close_fd_mask=3 (`make fuzz`
 * does): the command reports on stdout and stderr. */
#include "fuzz-common.h"
#include "mim-pack.h"
#include "mimica-cli.h"

#include <glib/gstdio.h>
#include <string.h>

extern const MimicaCliCommand mimica_cli_pack;

static char *dir, *prefix, *root, *out;

static void write_ppm(const char *rel, int w, int h, size_t keep)
{
    GString *s = g_string_new(NULL);
    g_string_printf(s, "P6\n%d %d\n255\n", w, h);
    for (int i = 0; i < w * h * 3; i++)
        g_string_append_c(s, (char)((i * 7 + i / (3 * w) * 11) & 0xff));
    g_autofree char *path = g_build_filename(root, rel, NULL);
    g_autofree char *parent = g_path_get_dirname(path);
    if (g_mkdir_with_parents(parent, 0700) ||
        !g_file_set_contents(path, s->str, (gssize)MIN(keep, s->len), NULL))
        abort();
    g_string_free(s, TRUE);
}

static void remove_tree(const char *path)
{
    GDir *d = g_dir_open(path, 0, NULL);
    for (const char *name; d && (name = g_dir_read_name(d));) {
        g_autofree char *child = g_build_filename(path, name, NULL);
        remove_tree(child);
    }
    if (d)
        g_dir_close(d);
    g_remove(path);
}

static void cleanup(void)
{
    remove_tree(dir);
}

static void setup(void)
{
    dir = g_strdup_printf("%s/mimica-fuzz-adld-%d", g_get_tmp_dir(), (int)getpid());
    prefix = g_build_filename(dir, "L", NULL);
    root = g_build_filename(dir, "img", NULL);
    out = g_build_filename(dir, "out.pack", NULL);
    write_ppm("S1/a.ppm", MIM_PACK_SIDE, MIM_PACK_SIDE, SIZE_MAX);
    write_ppm("S1/b.ppm", MIM_PACK_SIDE, MIM_PACK_SIDE, SIZE_MAX);
    write_ppm("S2/small.ppm", 8, 8, SIZE_MAX);
    write_ppm("S2/bad.ppm", MIM_PACK_SIDE, MIM_PACK_SIDE, 5000);
    /* a device behind an image name: must be refused, not read (it has no end) */
    g_autofree char *zero = g_build_filename(root, "S2", "zero.ppm", NULL);
    if (symlink("/dev/zero", zero))
        abort();
    atexit(cleanup);
}

static void write_list(const char *suffix, const uint8_t *data, size_t size)
{
    g_autofree char *path = g_strdup_printf("%s_%s.txt", prefix, suffix);
    if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL))
        abort();
}

static long count_lines(const char *path)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        abort();
    /* as the importer counts them: trailing blank lines do not count */
    g_auto(GStrv) l = g_strsplit(text, "\n", -1);
    guint k = g_strv_length(l);
    while (k > 0 && g_strstrip(l[k - 1])[0] == 0)
        k--;
    return (long)k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir)
        setup();
    static const char *const names[3] = {"path", "land", "AUoccur"};
    const uint8_t *p = data, *end = data + size;
    for (int s = 0; s < 3; s++) {
        const uint8_t *sep = memchr(p, 0x1e, (size_t)(end - p));
        const uint8_t *stop = sep ? sep : end;
        write_list(names[s], p, (size_t)(stop - p));
        p = sep ? sep + 1 : end;
    }
    g_autofree char *aus = p < end ? g_strndup((const char *)p, (gsize)(end - p)) : NULL;
    char *argv[11] = {"pack", "import-adld", prefix, "--root", root, "-o", out, NULL};
    int argc = 7;
    if (aus && aus[0] && aus[0] != '-') {
        argv[argc++] = "--aus";
        argv[argc++] = aus;
        argv[argc] = NULL;
    }
    g_unlink(out);
    int rc = mimica_cli_pack.run(argc, argv);
    if (rc != 0 && rc != 1 && rc != 2)
        abort();
    if (rc == 0) {
        char err[512];
        mim_pack *pk = mim_pack_open(out, err, sizeof err);
        g_autofree char *paths = g_strdup_printf("%s_path.txt", prefix);
        if (!pk || mim_pack_n(pk) != count_lines(paths))
            abort();
        mim_pack_close(pk);
    } else if (g_file_test(out, G_FILE_TEST_EXISTS)) {
        abort(); /* a refused import leaves no pack behind */
    }
    return 0;
}
