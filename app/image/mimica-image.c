/* mimica-image.c: image files to RGB8 (mimica-image.h). */
#include "mimica-image.h"

#include <stdio.h> /* before jpeglib.h */

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "media/mimica-decoder.h"
#include "mimica-error.h"

/* Pictures larger than this are refused before any allocation (the engine's limit is 2 GiB). */
#define MAX_PIXELS ((gint64)1 << 28)

static gboolean size_ok(const char *what, gint64 w, gint64 h, GError **error)
{
    if (w <= 0 || h <= 0 || w > 65535 || h > 65535 || w * h > MAX_PIXELS) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED,
                    "%s: picture size %" G_GINT64_FORMAT "x%" G_GINT64_FORMAT
                    " is empty or too large",
                    what, w, h);
        return FALSE;
    }
    return TRUE;
}

/* ---- EXIF orientation --------------------------------------------------------------------- */

static guint read16(const guint8 *p, gboolean be)
{
    return be ? (guint)p[0] << 8 | p[1] : (guint)p[1] << 8 | p[0];
}

static guint32 read32(const guint8 *p, gboolean be)
{
    return be ? (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3]
              : (guint32)p[3] << 24 | (guint32)p[2] << 16 | (guint32)p[1] << 8 | p[0];
}

/* The Orientation tag (0x0112) of IFD0 in an APP1 "Exif" payload: 1..8, or 1 when absent or
 * malformed. Every read is checked against len. */
static int exif_orientation(const guint8 *d, gsize len)
{
    if (len < 14 || memcmp(d, "Exif\0\0", 6) != 0)
        return 1;
    const guint8 *t = d + 6;
    gsize n = len - 6;
    gboolean be;
    if (t[0] == 'M' && t[1] == 'M')
        be = TRUE;
    else if (t[0] == 'I' && t[1] == 'I')
        be = FALSE;
    else
        return 1;
    if (read16(t + 2, be) != 42)
        return 1;
    guint32 ifd = read32(t + 4, be);
    if (ifd > n || n - ifd < 2)
        return 1;
    guint count = read16(t + ifd, be);
    for (guint i = 0; i < count; i++) {
        gsize e = ifd + 2 + (gsize)i * 12;
        if (e + 12 > n)
            return 1;
        if (read16(t + e, be) == 0x0112 && read16(t + e + 2, be) == 3) {
            guint v = read16(t + e + 8, be);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

/* Applies an EXIF orientation (2..8) as OpenCV's imread does; returns a new image or NULL (out
 * of memory). */
static mim_image *apply_orientation(const mim_image *src, int o)
{
    int W = src->width, H = src->height;
    gboolean swap = o >= 5;
    mim_image *dst = mim_image_new(swap ? H : W, swap ? W : H, MIM_IMAGE_RGB8);
    if (!dst)
        return NULL;
    for (int y = 0; y < dst->height; y++) {
        guint8 *d = mim_image_row8(dst, y);
        for (int x = 0; x < dst->width; x++, d += 3) {
            int sx, sy;
            switch (o) {
            case 2:
                sx = W - 1 - x, sy = y;
                break; /* mirror horizontally */
            case 3:
                sx = W - 1 - x, sy = H - 1 - y;
                break; /* rotate 180 */
            case 4:
                sx = x, sy = H - 1 - y;
                break; /* mirror vertically */
            case 5:
                sx = y, sy = x;
                break; /* transpose */
            case 6:
                sx = y, sy = H - 1 - x;
                break; /* rotate 90 clockwise */
            case 7:
                sx = W - 1 - y, sy = H - 1 - x;
                break; /* transverse */
            default:
                sx = W - 1 - y, sy = x;
                break; /* 8: rotate 90 counter-clockwise */
            }
            memcpy(d, mim_image_row8(src, sy) + 3 * sx, 3);
        }
    }
    return dst;
}

/* ---- JPEG ----------------------------------------------------------------------------------- */

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    gboolean truncated;
} jpeg_err;

static void jpeg_error_exit(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jb, 1);
}

static void jpeg_emit(j_common_ptr cinfo, int level)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    if (level >= 0)
        return; /* trace messages */
    if (e->pub.msg_code == JWRN_JPEG_EOF)
        e->truncated = TRUE;
    char buf[JMSG_LENGTH_MAX];
    e->pub.format_message(cinfo, buf);
    g_debug("libjpeg: %s", buf);
    e->pub.num_warnings++;
}

static mim_image *decode_jpeg(const guint8 *bytes, gsize len, const char *what, GError **error)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err jerr;
    mim_image *volatile img = NULL;
    JSAMPROW row;

    memset(&jerr, 0, sizeof jerr);
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = jpeg_error_exit;
    jerr.pub.emit_message = jpeg_emit;
    if (setjmp(jerr.jb)) {
        jpeg_destroy_decompress(&cinfo);
        mim_image_free(img);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s: corrupt JPEG: %s", what,
                    jerr.msg);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    /* A pixel budget from the data's size, before libjpeg allocates anything for the picture:
     * Huffman coding spends at least ~2 bits per 8x8 block, so LEN bytes hold at most ~256 LEN
     * pixels. 1024 LEN (4x that) or 16 Mpx, whichever is larger, passes. A 66 KB file whose
     * header claims 16384x16384 (41 s and 3.4 GB before) is refused here. */
    gint64 n_pixels = (gint64)cinfo.image_width * cinfo.image_height;
    gint64 budget = MAX((gint64)len * 1024, (gint64)1 << 24);
    if (!size_ok(what, cinfo.image_width, cinfo.image_height, error) || n_pixels > budget) {
        if (error && !*error)
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                        "%s: JPEG header claims %ux%u pixels, more than %zu bytes of data can "
                        "hold (at most %" G_GINT64_FORMAT " pixels)",
                        what, cinfo.image_width, cinfo.image_height, (size_t)len, budget);
        jpeg_destroy_decompress(&cinfo);
        return NULL;
    }
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && orientation == 1)
            orientation = exif_orientation(m->data, m->data_length);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED,
                    "%s: CMYK JPEG pictures are not supported", what);
        return NULL;
    }
    /* OpenCV's imread: default decompression parameters (islow IDCT, fancy upsampling), output
     * colour space RGB (it asks for BGR; the samples are the same). */
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != 3 ||
        !size_ok(what, cinfo.output_width, cinfo.output_height, error)) {
        if (error && !*error)
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED,
                        "%s: JPEG with %d output components", what, cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return NULL;
    }
    img = mim_image_new((int)cinfo.output_width, (int)cinfo.output_height, MIM_IMAGE_RGB8);
    if (!img) {
        jpeg_destroy_decompress(&cinfo);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: out of memory", what);
        return NULL;
    }
    while (cinfo.output_scanline < cinfo.output_height && !jerr.truncated) {
        row = mim_image_row8(img, (int)cinfo.output_scanline);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    if (jerr.truncated) {
        jpeg_destroy_decompress(&cinfo);
        mim_image_free(img);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                    "%s: truncated JPEG (the data ends before the picture does)", what);
        return NULL;
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    if (orientation != 1) {
        mim_image *turned = apply_orientation(img, orientation);
        mim_image_free(img);
        if (!turned)
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: out of memory", what);
        return turned;
    }
    return img;
}

/* ---- PNG ------------------------------------------------------------------------------------ */

typedef struct {
    const guint8 *p;
    gsize len, pos;
} png_mem;

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
    png_mem *m = png_get_io_ptr(png);
    if (n > m->len - m->pos)
        png_error(png, "truncated PNG (the data ends before the picture does)");
    memcpy(out, m->p + m->pos, n);
    m->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
    char *buf = png_get_error_ptr(png);
    g_strlcpy(buf, msg, 256);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    g_debug("libpng: %s", msg);
}

static mim_image *decode_png(const guint8 *bytes, gsize len, const char *what, GError **error)
{
    char msg[256] = "";
    png_mem mem = {bytes, len, 0};
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, msg, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    mim_image *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: out of memory", what);
        return NULL;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        mim_image_free(img);
        g_free(rows);
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s: corrupt PNG: %s", what, msg);
        return NULL;
    }
    png_set_read_fn(png, &mem, png_read_mem);
    png_set_user_limits(png, 65535, 65535);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (!size_ok(what, w, h, error)) {
        png_destroy_read_struct(&png, &info, NULL);
        return NULL;
    }
    /* as OpenCV's imread(IMREAD_COLOR): 8-bit RGB, alpha dropped, 16-bit reduced to the high
     * byte, palette and low-depth grey expanded */
    png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8)
        png_error(png, "unexpected pixel layout after conversion");
    img = mim_image_new((int)w, (int)h, MIM_IMAGE_RGB8);
    rows = g_try_new(png_bytep, h);
    if (!img || !rows)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = mim_image_row8(img, (int)y);
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    g_free(rows);
    return img;
}

/* ---- FFmpeg --------------------------------------------------------------------------------- */

static mim_image *decode_ffmpeg(const char *path, GError **error)
{
    MimicaDecoderOptions opts = {.n_threads = 1};
    g_autoptr(MimicaDecoder) dec = mimica_decoder_open(path, &opts, NULL, error);
    if (!dec)
        return NULL;
    g_autoptr(MimicaFrame) frame = mimica_decoder_next_frame(dec, error);
    if (!frame) {
        if (error && !*error)
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s: no picture decodes", path);
        return NULL;
    }
    if (!size_ok(path, frame->width, frame->height, error))
        return NULL;
    mim_image *img = mim_image_new(frame->width, frame->height, MIM_IMAGE_RGB8);
    if (!img) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: out of memory", path);
        return NULL;
    }
    for (int y = 0; y < frame->height; y++)
        memcpy(mim_image_row8(img, y), frame->data + (gsize)y * (gsize)frame->stride,
               (gsize)frame->width * 3);
    return img;
}

/* ---- entry points --------------------------------------------------------------------------- */

static gboolean is_jpeg(const guint8 *b, gsize len)
{
    return len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

static gboolean is_png(const guint8 *b, gsize len)
{
    static const guint8 sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    return len >= 8 && memcmp(b, sig, 8) == 0;
}

static mim_image *decode_named(const guint8 *bytes, gsize len, const char *what, GError **error)
{
    if (is_jpeg(bytes, len))
        return decode_jpeg(bytes, len, what, error);
    if (is_png(bytes, len))
        return decode_png(bytes, len, what, error);
    g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED, "%s: neither JPEG nor PNG", what);
    return NULL;
}

mim_image *mimica_image_decode(const guint8 *bytes, gsize len, GError **error)
{
    return decode_named(bytes, len, "image", error);
}

mim_image *mimica_image_load(const char *path, GError **error)
{
    g_autofree char *contents = NULL;
    gsize len = 0;
    GError *local = NULL;
    /* only regular files, which end: an ADLD list naming ../../dev/zero had the import read until
     * memory ran out (found with tests/fuzz/fuzz-adld) */
    if (g_file_test(path, G_FILE_TEST_EXISTS) && !g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_UNSUPPORTED, "%s: not a regular file", path);
        return NULL;
    }
    if (!g_file_get_contents(path, &contents, &len, &local)) {
        int code = g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? MIMICA_ERROR_NOT_FOUND
                                                                            : MIMICA_ERROR_IO;
        g_set_error(error, MIMICA_ERROR, code, "%s", local->message);
        g_error_free(local);
        return NULL;
    }
    const guint8 *b = (const guint8 *)contents;
    if (len == 0) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s: empty file", path);
        return NULL;
    }
    if (is_jpeg(b, len) || is_png(b, len))
        return decode_named(b, len, path, error);
    mim_image *img = decode_ffmpeg(path, &local);
    if (!img) {
        /* report FFmpeg's failures in this module's domain, keeping the message */
        int code =
            local->domain == MIMICA_MEDIA_ERROR && local->code == MIMICA_MEDIA_ERROR_UNSUPPORTED
                ? MIMICA_ERROR_UNSUPPORTED
            : local->domain == MIMICA_ERROR ? local->code
                                            : MIMICA_ERROR_CORRUPT;
        g_set_error(error, MIMICA_ERROR, code, "%s", local->message);
        g_error_free(local);
    }
    return img;
}
