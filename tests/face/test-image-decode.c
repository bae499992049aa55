/* test-image-decode.c (suite app): app/image decoding to RGB8: PNG variants written here with
 * libpng (8-bit RGB, RGBA, grey, palette, 16-bit, interlaced) decode to the exact pixels; a BMP
 * (written by hand) decodes through FFmpeg exactly; truncated, corrupt, empty and missing files
 * give the right GError; a truncated fixture JPEG is refused; `mimica-cli detect --json` output
 * against the fixture reference (boxes, neighbours, 68 landmarks) and its error lines. */
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <stdio.h>

#include <jpeglib.h>
#include <string.h>
#include <sys/wait.h>

#include "aunet/mim-json.h"
#include "image/mimica-image.h"
#include "mimica-error.h"
#include "../common/fixture-skip.h"

static char *tmpdir;

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

/* expected RGB of pixel (x, y) for the test pictures */
static void pattern(int x, int y, guint8 rgb[3])
{
    rgb[0] = (guint8)(x * 7 + y * 3);
    rgb[1] = (guint8)(x * 11 ^ y * 5);
    rgb[2] = (guint8)(255 - x * 2 - y);
}

/* Writes a w×h PNG of colour_type/bit_depth with the pattern (grey: the red value; palette:
 * 16 entries (index = (x + y) % 16)); returns the path. */
static char *write_png(const char *name, int w, int h, int colour_type, int depth, int interlace)
{
    char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    g_assert_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    g_assert_true(setjmp(png_jmpbuf(png)) == 0);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, colour_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (colour_type == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        for (int i = 0; i < 16; i++)
            pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 8), (png_byte)(i * 3)};
        png_set_PLTE(png, info, pal, 16);
    }
    png_write_info(png, info);
    int ch = colour_type == PNG_COLOR_TYPE_RGB          ? 3
             : colour_type == PNG_COLOR_TYPE_RGB_ALPHA  ? 4
             : colour_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                                                        : 1;
    int bps = depth == 16 ? 2 : 1;
    png_bytep *rows = g_new(png_bytep, h);
    for (int y = 0; y < h; y++) {
        rows[y] = g_malloc0((gsize)w * ch * bps);
        for (int x = 0; x < w; x++) {
            guint8 p[3];
            pattern(x, y, p);
            guint8 s[4] = {p[0], p[1], p[2], (guint8)(x * 13)};
            if (colour_type == PNG_COLOR_TYPE_GRAY || colour_type == PNG_COLOR_TYPE_GRAY_ALPHA)
                s[1] = s[3];
            if (colour_type == PNG_COLOR_TYPE_PALETTE)
                s[0] = (guint8)((x + y) % 16);
            for (int c = 0; c < ch; c++) {
                if (bps == 2) {
                    rows[y][(x * ch + c) * 2] = s[c];
                    rows[y][(x * ch + c) * 2 + 1] = (guint8)(255 - s[c]); /* low byte */
                } else {
                    rows[y][x * ch + c] = s[c];
                }
            }
        }
    }
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
    for (int y = 0; y < h; y++)
        g_free(rows[y]);
    g_free(rows);
    return path;
}

static void check_png(int colour_type, int depth, int interlace)
{
    int w = 37, h = 23;
    g_autofree char *name = g_strdup_printf("t-%d-%d-%d.png", colour_type, depth, interlace);
    g_autofree char *path = write_png(name, w, h, colour_type, depth, interlace);
    GError *error = NULL;
    mim_image *img = mimica_image_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, w);
    g_assert_cmpint(img->height, ==, h);
    int bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            guint8 p[3], want[3];
            pattern(x, y, p);
            if (colour_type == PNG_COLOR_TYPE_GRAY || colour_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
                want[0] = want[1] = want[2] = p[0];
            } else if (colour_type == PNG_COLOR_TYPE_PALETTE) {
                int i = (x + y) % 16;
                want[0] = (guint8)(i * 16), want[1] = (guint8)(255 - i * 8),
                want[2] = (guint8)(i * 3);
            } else {
                memcpy(want, p, 3);
            }
            bad += memcmp(mim_image_row8(img, y) + 3 * x, want, 3) != 0;
        }
    g_test_message("PNG colour type %d, %d bits%s: %dx%d, %d of %d pixels differ", colour_type,
                   depth, interlace ? ", interlaced" : "", w, h, bad, w * h);
    g_assert_cmpint(bad, ==, 0);
    mim_image_free(img);

    /* every truncation point of the file is an error, never a crash */
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
    int refused = 0, tried = 0;
    for (gsize cut = 0; cut + 12 < len; cut += 7, tried++) {
        mim_image *t = mimica_image_decode((const guint8 *)bytes, cut, &error);
        if (!t) {
            refused++;
            g_assert_true(error->code == MIMICA_ERROR_CORRUPT ||
                          error->code == MIMICA_ERROR_UNSUPPORTED);
            g_clear_error(&error);
        }
        mim_image_free(t);
    }
    g_assert_cmpint(refused, ==, tried);
}

static void test_png(void)
{
    check_png(PNG_COLOR_TYPE_RGB, 8, 0);
    check_png(PNG_COLOR_TYPE_RGB_ALPHA, 8, 0);
    check_png(PNG_COLOR_TYPE_GRAY, 8, 0);
    check_png(PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0);
    check_png(PNG_COLOR_TYPE_PALETTE, 8, 0);
    check_png(PNG_COLOR_TYPE_RGB, 16, 0);
    check_png(PNG_COLOR_TYPE_RGB, 8, 1);
}

static void put_le(guint8 *p, guint32 v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (guint8)(v >> (8 * i));
}

static void test_bmp_ffmpeg(void)
{
    int w = 19, h = 7, row = (w * 3 + 3) & ~3;
    gsize size = 54 + (gsize)row * h;
    guint8 *b = g_malloc0(size);
    b[0] = 'B', b[1] = 'M';
    put_le(b + 2, (guint32)size, 4);
    put_le(b + 10, 54, 4);
    put_le(b + 14, 40, 4);
    put_le(b + 18, (guint32)w, 4);
    put_le(b + 22, (guint32)h, 4); /* bottom-up */
    put_le(b + 26, 1, 2);
    put_le(b + 28, 24, 2);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            guint8 p[3];
            pattern(x, y, p);
            guint8 *d = b + 54 + (gsize)(h - 1 - y) * row + 3 * x;
            d[0] = p[2], d[1] = p[1], d[2] = p[0]; /* BGR */
        }
    g_autofree char *path = tmp_path("t.bmp");
    g_assert_true(g_file_set_contents(path, (char *)b, (gssize)size, NULL));
    GError *error = NULL;
    mim_image *img = mimica_image_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, w);
    g_assert_cmpint(img->height, ==, h);
    int bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            guint8 p[3];
            pattern(x, y, p);
            bad += memcmp(mim_image_row8(img, y) + 3 * x, p, 3) != 0;
        }
    g_test_message("BMP through FFmpeg: %dx%d, %d pixels differ", w, h, bad);
    g_assert_cmpint(bad, ==, 0);
    mim_image_free(img);
    g_free(b);
}

/* A 13x6 JPEG of the pattern, with an EXIF APP1 carrying `orientation` (0: no APP1). */
static guint8 *encode_jpeg(int orientation, gsize *len)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    unsigned char *buf = NULL;
    unsigned long size = 0;
    int w = 13, h = 6;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &size);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    if (orientation) {
        /* "Exif\0\0" + big-endian TIFF header + IFD0 with one SHORT entry */
        guint8 app1[6 + 8 + 2 + 12 + 4] = {
            'E', 'x', 'i', 'f',  0,    0, 'M', 'M', 0, 42, 0, 0, 0,
            8,   0,   1,   0x01, 0x12, 0, 3,   0,   0, 0,  1, 0, (guint8)orientation,
            0,   0,   0,   0,    0,    0};
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, sizeof app1);
    }
    guint8 row[13 * 3];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            pattern(x * 9, y * 17, row + 3 * x);
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *len = size;
    guint8 *out = g_memdup2(buf, size);
    free(buf);
    return out;
}

static void test_exif_orientation(void)
{
    gsize len;
    GError *error = NULL;
    g_autofree guint8 *plain = encode_jpeg(0, &len);
    mim_image *base = mimica_image_decode(plain, len, &error);
    g_assert_no_error(error);
    int W = base->width, H = base->height;
    for (int o = 1; o <= 8; o++) {
        g_autofree guint8 *j = encode_jpeg(o, &len);
        mim_image *img = mimica_image_decode(j, len, &error);
        g_assert_no_error(error);
        gboolean swap = o >= 5;
        g_assert_cmpint(img->width, ==, swap ? H : W);
        g_assert_cmpint(img->height, ==, swap ? W : H);
        /* where the base image's corners (0,0) and (W-1,0) must land */
        static const int corner0[9][2] = {{0, 0}, {0, 0}, {1, 0}, {1, 1}, {0, 1},
                                          {0, 0}, {1, 0}, {1, 1}, {0, 1}};
        int bad = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                /* dst position of src (x, y) */
                int dx, dy;
                switch (o) {
                case 1:
                    dx = x, dy = y;
                    break;
                case 2:
                    dx = W - 1 - x, dy = y;
                    break;
                case 3:
                    dx = W - 1 - x, dy = H - 1 - y;
                    break;
                case 4:
                    dx = x, dy = H - 1 - y;
                    break;
                case 5:
                    dx = y, dy = x;
                    break;
                case 6:
                    dx = H - 1 - y, dy = x;
                    break;
                case 7:
                    dx = H - 1 - y, dy = W - 1 - x;
                    break;
                default:
                    dx = y, dy = W - 1 - x;
                    break;
                }
                bad += memcmp(mim_image_row8(img, dy) + 3 * dx, mim_image_row8(base, y) + 3 * x,
                              3) != 0;
            }
        int cx = corner0[o][0] ? img->width - 1 : 0, cy = corner0[o][1] ? img->height - 1 : 0;
        g_assert_cmpmem(mim_image_row8(img, cy) + 3 * cx, 3, mim_image_row8(base, 0), 3);
        g_test_message("EXIF orientation %d: %dx%d, %d pixels misplaced", o, img->width,
                       img->height, bad);
        g_assert_cmpint(bad, ==, 0);
        mim_image_free(img);
    }
    mim_image_free(base);
}

/* A small JPEG whose frame header claims 16384x16384 (what a 66 KB file once cost 41 s and
 * 3.4 GB for): refused from the header, in milliseconds, before any picture buffer exists. */
static void test_jpeg_budget(void)
{
    gsize len = 0;
    g_autofree guint8 *jpeg = encode_jpeg(0, &len);
    /* padded to 66 KB with a comment segment, like the file in the report */
    const gsize pad = 65000, head = 2 + 4 + pad, total = head + len - 2;
    g_autofree guint8 *big = g_malloc(total);
    memcpy(big, jpeg, 2); /* SOI */
    big[2] = 0xFF, big[3] = 0xFE, big[4] = (guint8)((pad + 2) >> 8), big[5] = (guint8)(pad + 2);
    memset(big + 6, 'x', pad);
    memcpy(big + head, jpeg + 2, len - 2);
    /* SOF0: FF C0, length (2), precision (1), height (2), width (2) */
    guint8 *sof = NULL;
    for (gsize i = head; i + 9 < total; i++)
        if (big[i] == 0xFF && big[i + 1] == 0xC0) {
            sof = big + i;
            break;
        }
    g_assert_nonnull(sof);
    sof[5] = 0x40, sof[6] = 0x00; /* height 16384 */
    sof[7] = 0x40, sof[8] = 0x00; /* width 16384 */
    GError *error = NULL;
    gint64 t0 = g_get_monotonic_time();
    mim_image *img = mimica_image_decode(big, total, &error);
    double ms = (g_get_monotonic_time() - t0) / 1e3;
    g_assert_null(img);
    g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT);
    g_assert_nonnull(strstr(error->message, "16384x16384"));
    g_test_message("%zu-byte JPEG claiming 16384x16384: refused in %.2f ms: %s", total, ms,
                   error->message);
    g_assert_cmpfloat(ms, <, 1000);
    g_clear_error(&error);
    /* the same data with its real size still decodes */
    img = mimica_image_decode(jpeg, len, &error);
    g_assert_no_error(error);
    g_assert_cmpint(img->width, ==, 13);
    mim_image_free(img);
}

static void test_errors(void)
{
    GError *error = NULL;
    g_autofree char *missing = tmp_path("missing.jpg");
    g_assert_null(mimica_image_load(missing, &error));
    g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND);
    g_test_message("missing: %s", error->message);
    g_clear_error(&error);

    g_autofree char *empty = tmp_path("empty.png");
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    g_assert_null(mimica_image_load(empty, &error));
    g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT);
    g_clear_error(&error);

    /* a device or a folder is refused at once, never read (/dev/zero has no end) */
    const char *const special[2] = {"/dev/zero", tmpdir};
    for (int i = 0; i < 2; i++) {
        gint64 t0 = g_get_monotonic_time();
        g_assert_null(mimica_image_load(special[i], &error));
        g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED);
        g_test_message("%s refused in %.3f ms: %s", i ? "a folder" : "/dev/zero",
                       (g_get_monotonic_time() - t0) / 1000.0, error->message);
        g_clear_error(&error);
    }

    g_autofree char *junk = tmp_path("junk.img");
    g_assert_true(
        g_file_set_contents(junk, "this is not a picture at all, not even close", -1, NULL));
    g_assert_null(mimica_image_load(junk, &error));
    g_assert_nonnull(error);
    g_test_message("junk: %s", error->message);
    g_clear_error(&error);

    /* a fixture JPEG cut in half, and one with its entropy-coded data overwritten */
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    g_autofree char *jpg =
        shared ? g_build_filename(shared, "fixtures/faces/images/messi5.jpg", NULL) : NULL;
    g_autofree char *bytes = NULL;
    gsize len;
    if (!jpg || !g_file_get_contents(jpg, &bytes, &len, NULL)) {
        mimica_test_skip_fixtures("fixture messi5.jpg absent (MIMICA_SHARED_DIR)");
        return;
    }
    mim_image *img = mimica_image_decode((const guint8 *)bytes, len, &error);
    g_assert_no_error(error);
    mim_image_free(img);
    int refused = 0, tried = 0;
    for (gsize cut = 3; cut < len - 2; cut += len / 53, tried++) {
        img = mimica_image_decode((const guint8 *)bytes, cut, &error);
        if (!img) {
            refused++;
            g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT);
            if (tried == 30)
                g_test_message("JPEG cut at %zu of %zu bytes: %s", cut, len, error->message);
            g_clear_error(&error);
        }
        mim_image_free(img);
    }
    g_test_message("JPEG truncations refused: %d of %d", refused, tried);
    g_assert_cmpint(refused, ==, tried);
    /* garbage in the header tables */
    memset(bytes + 20, 0xFF, 200);
    img = mimica_image_decode((const guint8 *)bytes, len, &error);
    g_assert_null(img);
    g_assert_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT);
    g_test_message("JPEG with overwritten tables: %s", error->message);
    g_clear_error(&error);
}

static void test_cli_detect(void)
{
    const char *shared = g_getenv("MIMICA_SHARED_DIR");
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    if (!shared || !build) {
        mimica_test_skip_fixtures("MIMICA_SHARED_DIR / MIMICA_BUILD_DIR not set");
        return;
    }
    g_autofree char *jpg = g_build_filename(shared, "fixtures/faces/images/messi5.jpg", NULL);
    g_autofree char *ref =
        g_build_filename(shared, "fixtures/faces/reference/opencv__messi5.jpg.json", NULL);
    if (!g_file_test(jpg, G_FILE_TEST_EXISTS) || !g_file_test(ref, G_FILE_TEST_EXISTS)) {
        mimica_test_skip_fixtures("fixture messi5.jpg absent");
        return;
    }
    g_autofree char *cli = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
    g_autofree char *missing = tmp_path("nothere.jpg");
    const char *argv[] = {cli, "detect", "--json", jpg, missing, NULL};
    g_autofree char *out = NULL, *err = NULL;
    int status;
    GError *error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
                               &status, &error));
    g_assert_no_error(error);
    g_test_message("stderr: %s", err);
    g_assert_false(g_spawn_check_wait_status(status, NULL)); /* the missing image: exit 1 */
    char **lines = g_strsplit(out, "\n", -1);
    g_assert_cmpint(g_strv_length(lines), ==, 3); /* two lines + "" */
    mim_json_doc *doc, *rdoc;
    char msg[256];
    g_assert_cmpint(mim_json_parse(lines[0], strlen(lines[0]), &doc, msg, sizeof msg), ==, 0);
    g_autofree char *rtext = NULL;
    gsize rlen;
    g_assert_true(g_file_get_contents(ref, &rtext, &rlen, NULL));
    g_assert_cmpint(mim_json_parse(rtext, rlen, &rdoc, msg, sizeof msg), ==, 0);
    const mim_json *faces = mim_json_get(mim_json_root(doc), "faces");
    const mim_json *want = mim_json_get(mim_json_get(mim_json_get(mim_json_root(rdoc), "opencv"),
                                                     "haarcascade_frontalface_default"),
                                        "faces_xywh_neighbors");
    g_assert_nonnull(faces);
    g_assert_nonnull(want);
    g_assert_cmpuint(faces->n_children, ==, want->n_children);
    const mim_json *f = faces->child, *w = want->child;
    for (; f && w; f = f->next, w = w->next) {
        const mim_json *box = mim_json_get(f, "box"), *e = box->child, *we = w->child;
        for (int k = 0; k < 4; k++, e = e->next, we = we->next)
            g_assert_cmpfloat(e->number, ==, we->number);
        g_assert_cmpfloat(mim_json_get(f, "neighbors")->number, ==, we->number);
        const mim_json *lm = mim_json_get(f, "landmarks68");
        g_assert_nonnull(lm);
        g_assert_cmpuint(lm->n_children, ==, 68);
        double c = mim_json_get(f, "confidence")->number;
        g_assert_cmpfloat(c, >=, 0);
        g_assert_cmpfloat(c, <=, 1);
        const mim_json *p30 = lm->child;
        for (int k = 0; k < 30; k++)
            p30 = p30->next;
        g_assert_cmpuint(p30->n_children, ==, 2);
        g_test_message("face [%g %g %g %g] n %g confidence %.3f, landmark 30 (nose tip) %g,%g",
                       box->child->number, box->child->next->number, box->child->next->next->number,
                       box->child->next->next->next->number, mim_json_get(f, "neighbors")->number,
                       c, p30->child->number, p30->child->next->number);
    }
    mim_json_doc_free(doc);
    mim_json_doc_free(rdoc);
    g_assert_cmpint(mim_json_parse(lines[1], strlen(lines[1]), &doc, msg, sizeof msg), ==, 0);
    g_assert_nonnull(mim_json_get(mim_json_root(doc), "error"));
    mim_json_doc_free(doc);
    g_strfreev(lines);

    /* usage errors: exit 2 */
    const char *bad[] = {cli, "detect", "--scale-factor", "1", jpg, NULL};
    g_assert_true(g_spawn_sync(NULL, (char **)bad, NULL,
                               G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, NULL));
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    const char *bad2[] = {cli, "detect", "--cascade", "nocascade_x", jpg, NULL};
    g_clear_pointer(&err, g_free);
    g_assert_true(g_spawn_sync(NULL, (char **)bad2, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, &err, &status, NULL));
    g_test_message("unknown cascade: %s", err);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("mimica-image-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    g_test_add_func("/face/image/png", test_png);
    g_test_add_func("/face/image/bmp-ffmpeg", test_bmp_ffmpeg);
    g_test_add_func("/face/image/exif-orientation", test_exif_orientation);
    g_test_add_func("/face/image/errors", test_errors);
    g_test_add_func("/face/image/jpeg-budget", test_jpeg_budget);
    g_test_add_func("/face/cli/detect", test_cli_detect);
    int rc = g_test_run();
    /* remove the temporary files */
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(tmpdir, name, NULL);
        g_unlink(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return rc;
}
