/* mimica-media.c: the media error domain, FFmpeg log routing, frames, info, hashing and probe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/log.h>

#include "mimica-decoder.h"
#include "mimica-media-private.h"

G_DEFINE_QUARK(mimica - media - error - quark, mimica_media_error)

/* ---- FFmpeg log ---------------------------------------------------------------------------- */

static __thread char last_log[256];
static __thread unsigned n_error_logs;

static void av_log_to_glib(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > av_log_get_level())
        return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &print_prefix);
    g_strchomp(line);
    if (!line[0])
        return;
    if (level <= AV_LOG_ERROR) {
        g_strlcpy(last_log, line, sizeof last_log);
        /* only the demuxer's: decoders log broken pictures of intact files too (a stream that
         * starts after a keyframe) */
        const AVClass *cls = avcl ? *(const AVClass **)avcl : NULL;
        if (cls && (cls->get_category ? cls->get_category(avcl) : cls->category) ==
                       AV_CLASS_CATEGORY_DEMUXER)
            n_error_logs++;
    }
    g_debug("ffmpeg: %s", line);
}

void _mimica_media_init(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        av_log_set_callback(av_log_to_glib);
        g_once_init_leave(&once, 1);
    }
}

const char *_mimica_media_last_log(void)
{
    return last_log;
}

void _mimica_media_clear_log(void)
{
    last_log[0] = '\0';
    n_error_logs = 0;
}

unsigned _mimica_media_n_error_logs(void)
{
    return n_error_logs;
}

/* ---- errors -------------------------------------------------------------------------------- */

MimicaMediaError _mimica_media_error_code(int averror)
{
    switch (averror) {
    case AVERROR(ENOENT):
    case AVERROR(ENOTDIR):
        return MIMICA_MEDIA_ERROR_NOT_FOUND;
    case AVERROR(EACCES):
    case AVERROR(EPERM):
    case AVERROR(EIO):
    case AVERROR(EISDIR):
        return MIMICA_MEDIA_ERROR_IO;
    case AVERROR_INVALIDDATA:
    case AVERROR_EOF:
    case AVERROR_BUG:
        return MIMICA_MEDIA_ERROR_CORRUPT;
    case AVERROR_DECODER_NOT_FOUND:
    case AVERROR_DEMUXER_NOT_FOUND:
    case AVERROR_PATCHWELCOME:
        return MIMICA_MEDIA_ERROR_UNSUPPORTED;
    case AVERROR_STREAM_NOT_FOUND:
        return MIMICA_MEDIA_ERROR_NO_VIDEO;
    default:
        return MIMICA_MEDIA_ERROR_FAILED;
    }
}

/* Text from FFmpeg or a file name made fit for a message: valid UTF-8 (a name's stray bytes
 * become U+FFFD), no control characters, and no "[mov,mp4,... @ 0x55d3...]" heap address: the
 * context's name is kept as "mov,mp4,...: ". */
static void append_clean(GString *s, const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text, -1);
    for (const char *p = valid; *p;) {
        if (*p == '[') {
            const char *at = strstr(p, " @ 0x"), *close = strchr(p, ']');
            if (at && close && at < close) {
                g_string_append_len(s, p + 1, at - p - 1);
                g_string_append(s, ":");
                p = close + 1;
                continue;
            }
        }
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_iscntrl(c))
            g_string_append_c(s, ' ');
        else
            g_string_append_unichar(s, c);
        p = g_utf8_next_char(p);
    }
}

/* Whether AVERROR's own text says something true about the file: FFmpeg's tags and the errno
 * values of file access. A demuxer refusing data returns whatever errno it likes (a y4m header
 * with a bad size gives EBUSY, "Device or resource busy"); then only its log line is told. */
static gboolean averror_is_telling(int averror)
{
    switch (averror) {
    case AVERROR(ENOENT):
    case AVERROR(ENOTDIR):
    case AVERROR(EACCES):
    case AVERROR(EPERM):
    case AVERROR(EIO):
    case AVERROR(EISDIR):
    case AVERROR(ENOMEM):
    case AVERROR(ENOSPC):
        return TRUE;
    default:
        return averror < -0x10000 || averror > 0; /* FFERRTAG codes are large */
    }
}

void _mimica_media_set_error(GError **error, MimicaMediaError code, const char *path, int averror,
                             const char *what)
{
    char reason[AV_ERROR_MAX_STRING_SIZE] = "";
    const char *log = _mimica_media_last_log();
    if (averror && (averror_is_telling(averror) || !log[0]))
        av_strerror(averror, reason, sizeof reason);
    GString *s = g_string_new(NULL);
    append_clean(s, path ? path : "(null)");
    g_string_append_printf(s, ": %s", what);
    if (reason[0] || log[0]) {
        g_string_append(s, " (");
        append_clean(s, reason);
        if (reason[0] && log[0])
            g_string_append(s, ": ");
        append_clean(s, log);
        g_string_append(s, ")");
    }
    g_set_error_literal(error, MIMICA_MEDIA_ERROR, code, s->str);
    g_string_free(s, TRUE);
}

/* ---- image folders ------------------------------------------------------------------------- */

static gboolean is_image_name(const char *name)
{
    static const char *const exts[] = {".png", ".jpg", ".jpeg", ".bmp",  ".tif", ".tiff",
                                       ".ppm", ".pgm", ".pnm",  ".webp", NULL};
    if (name[0] == '.')
        return FALSE;
    const char *dot = strrchr(name, '.');
    if (!dot)
        return FALSE;
    for (int i = 0; exts[i]; i++)
        if (!g_ascii_strcasecmp(dot, exts[i]))
            return TRUE;
    return FALSE;
}

typedef struct {
    char *key;
    char *name;
} NameKey;

static int cmp_name_key(const void *a, const void *b)
{
    const NameKey *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->name, y->name);
}

char **_mimica_media_list_images(const char *dir, gint64 *n_images, GError **error)
{
    GError *local = NULL;
    GDir *d = g_dir_open(dir, 0, &local);
    if (!d) {
        g_set_error(error, MIMICA_MEDIA_ERROR,
                    g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                        ? MIMICA_MEDIA_ERROR_NOT_FOUND
                        : MIMICA_MEDIA_ERROR_IO,
                    "%s: cannot read the image folder (%s)", dir, local->message);
        g_error_free(local);
        return NULL;
    }
    GArray *names = g_array_new(FALSE, FALSE, sizeof(NameKey));
    const char *name;
    while ((name = g_dir_read_name(d))) {
        if (!is_image_name(name))
            continue;
        NameKey nk = {g_utf8_collate_key_for_filename(name, -1), g_strdup(name)};
        g_array_append_val(names, nk);
    }
    g_dir_close(d);
    if (names->len > 1)
        qsort(names->data, names->len, sizeof(NameKey), cmp_name_key);
    char **paths = g_new0(char *, names->len + 1);
    for (guint i = 0; i < names->len; i++) {
        NameKey *nk = &g_array_index(names, NameKey, i);
        paths[i] = g_build_filename(dir, nk->name, NULL);
        g_free(nk->key);
        g_free(nk->name);
    }
    *n_images = names->len;
    g_array_free(names, TRUE);
    return paths;
}

/* ---- frames -------------------------------------------------------------------------------- */

MimicaFrame *mimica_frame_new(int width, int height)
{
    g_return_val_if_fail(width > 0 && height > 0, NULL);
    g_return_val_if_fail(width <= 32768 && height <= 32768, NULL);
    /* rows padded to 32 bytes (swscale writes whole SIMD blocks) */
    int stride = (3 * width + 31) & ~31;
    MimicaFrame *f = g_atomic_rc_box_new0(MimicaFrame);
    f->width = width;
    f->height = height;
    f->stride = stride;
    f->data = g_malloc((gsize)stride * height + 64);
    return f;
}

MimicaFrame *mimica_frame_ref(MimicaFrame *frame)
{
    g_return_val_if_fail(frame != NULL, NULL);
    return g_atomic_rc_box_acquire(frame);
}

static void frame_clear(gpointer p)
{
    MimicaFrame *f = p;
    g_free(f->data);
}

void mimica_frame_unref(MimicaFrame *frame)
{
    if (frame)
        g_atomic_rc_box_release_full(frame, frame_clear);
}

G_DEFINE_BOXED_TYPE(MimicaFrame, mimica_frame, mimica_frame_ref, mimica_frame_unref)

/* ---- info ---------------------------------------------------------------------------------- */

void mimica_media_info_free(MimicaMediaInfo *info)
{
    if (!info)
        return;
    g_free(info->path);
    g_free(info->container);
    g_free(info->codec);
    g_free(info->sha256);
    g_free(info);
}

MimicaMediaInfo *mimica_media_info_copy(const MimicaMediaInfo *info)
{
    g_return_val_if_fail(info != NULL, NULL);
    MimicaMediaInfo *c = g_memdup2(info, sizeof *info);
    c->path = g_strdup(info->path);
    c->container = g_strdup(info->container);
    c->codec = g_strdup(info->codec);
    c->sha256 = g_strdup(info->sha256);
    return c;
}

/* ---- hashing and probe --------------------------------------------------------------------- */

static gboolean hash_file_into(GChecksum *sum, const char *path, guint8 *buf, gsize buf_size,
                               GCancellable *cancellable, GError **error)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        g_set_error(error, MIMICA_MEDIA_ERROR,
                    e == ENOENT ? MIMICA_MEDIA_ERROR_NOT_FOUND : MIMICA_MEDIA_ERROR_IO,
                    "%s: cannot open (%s)", path, g_strerror(e));
        return FALSE;
    }
    size_t n;
    while ((n = fread(buf, 1, buf_size, f)) > 0) {
        g_checksum_update(sum, buf, n);
        if (g_cancellable_set_error_if_cancelled(cancellable, error)) {
            fclose(f);
            return FALSE;
        }
    }
    gboolean ok = !ferror(f);
    if (!ok)
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_IO, "%s: read error (%s)", path,
                    g_strerror(errno));
    fclose(f);
    return ok;
}

char *mimica_media_hash(const char *path, GCancellable *cancellable, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    const gsize buf_size = 1 << 20;
    guint8 *buf = g_malloc(buf_size);
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    gboolean ok = TRUE;
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        gint64 n = 0;
        char **images = _mimica_media_list_images(path, &n, error);
        ok = images != NULL;
        for (gint64 i = 0; ok && i < n; i++) {
            char *base = g_path_get_basename(images[i]);
            g_checksum_update(sum, (const guchar *)base, strlen(base) + 1);
            g_free(base);
            ok = hash_file_into(sum, images[i], buf, buf_size, cancellable, error);
        }
        g_strfreev(images);
    } else {
        ok = hash_file_into(sum, path, buf, buf_size, cancellable, error);
    }
    char *hex = ok ? g_strdup(g_checksum_get_string(sum)) : NULL;
    g_checksum_free(sum);
    g_free(buf);
    return hex;
}

MimicaMediaInfo *mimica_media_probe(const char *path, GCancellable *cancellable, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    MimicaDecoderOptions opts = {.n_threads = 1};
    MimicaDecoder *dec = mimica_decoder_open(path, &opts, cancellable, error);
    if (!dec)
        return NULL;
    MimicaMediaInfo *info = mimica_media_info_copy(mimica_decoder_get_info(dec));
    mimica_decoder_free(dec);
    info->sha256 = mimica_media_hash(path, cancellable, error);
    if (!info->sha256) {
        mimica_media_info_free(info);
        return NULL;
    }
    return info;
}
