/* test-media-util.c: see test-media-util.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>

#include "test-media-util.h"

#define GRID_W 4
#define GRID_H 3
#define DARK   40
#define BRIGHT 215

static void fail(GError **error, const char *what, int ret)
{
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    if (ret)
        av_strerror(ret, buf, sizeof buf);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s%s%s", what, ret ? ": " : "", buf);
}

static int bit_at(int index, int x, int y, int w, int h)
{
    int bx = x * GRID_W / w, by = y * GRID_H / h;
    return (index >> (by * GRID_W + bx)) & 1;
}

static void draw_yuv(AVFrame *f, int index, int noise)
{
    guint32 state = 2166136261u ^ (guint32)index;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            int v = bit_at(index, x, y, f->width, f->height) ? BRIGHT : DARK;
            if (noise) {
                state = state * 1664525u + 1013904223u;
                v += (int)((state >> 16) % (2 * noise + 1)) - noise;
            }
            f->data[0][y * f->linesize[0] + x] = (uint8_t)v;
        }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < (f->height + 1) / 2; y++)
            memset(f->data[p] + y * f->linesize[p], 128, (f->width + 1) / 2);
}

/* Some encoders leave packet durations at 0; muxers then give the last frame none, and mp4's
 * edit list ends before it. Each frame lasts until the next one (the last as long as the one
 * before it). */
static gint64 frame_duration(const TmClip *clip, gint64 pts)
{
    if (!clip->pts_ms || clip->n_frames < 2)
        return 1;
    for (int i = 0; i + 1 < clip->n_frames; i++)
        if (clip->pts_ms[i] == pts)
            return clip->pts_ms[i + 1] - pts;
    return clip->pts_ms[clip->n_frames - 1] - clip->pts_ms[clip->n_frames - 2];
}

static gboolean write_packets(const TmClip *clip, AVCodecContext *c, AVFormatContext *oc,
                              AVStream *st, const AVFrame *frame, GError **error)
{
    int ret = avcodec_send_frame(c, frame);
    if (ret < 0) {
        fail(error, "send_frame", ret);
        return FALSE;
    }
    AVPacket *pkt = av_packet_alloc();
    while ((ret = avcodec_receive_packet(c, pkt)) >= 0) {
        if (pkt->duration <= 0 && pkt->pts != AV_NOPTS_VALUE)
            pkt->duration = frame_duration(clip, pkt->pts);
        av_packet_rescale_ts(pkt, c->time_base, st->time_base);
        pkt->stream_index = st->index;
        ret = av_interleaved_write_frame(oc, pkt);
        if (ret < 0) {
            av_packet_free(&pkt);
            fail(error, "write_frame", ret);
            return FALSE;
        }
    }
    av_packet_free(&pkt);
    if (ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
        fail(error, "receive_packet", ret);
        return FALSE;
    }
    return TRUE;
}

gboolean tm_make_clip(const char *path, const TmClip *clip, char **skip, GError **error)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(clip->encoder);
    if (!codec) {
        *skip = g_strdup_printf("this libavcodec has no '%s' encoder", clip->encoder);
        return FALSE;
    }
    if (!av_guess_format(clip->format, NULL, NULL)) {
        *skip = g_strdup_printf("this libavformat has no '%s' muxer", clip->format);
        return FALSE;
    }
    int w = clip->width ? clip->width : 64, h = clip->height ? clip->height : 48;
    AVFormatContext *oc = NULL;
    AVCodecContext *c = NULL;
    AVFrame *frame = NULL;
    AVDictionary *mux_opts = NULL;
    gboolean ok = FALSE;
    int ret = avformat_alloc_output_context2(&oc, NULL, clip->format, path);
    if (ret < 0) {
        fail(error, "alloc_output_context", ret);
        goto out;
    }
    AVStream *st = avformat_new_stream(oc, NULL);
    c = avcodec_alloc_context3(codec);
    c->width = w;
    c->height = h;
    c->pix_fmt = !strcmp(clip->encoder, "mjpeg") ? AV_PIX_FMT_YUVJ420P : AV_PIX_FMT_YUV420P;
    c->time_base = clip->pts_ms ? (AVRational){1, 1000} : (AVRational){1, clip->fps};
    c->framerate = (AVRational){clip->pts_ms ? 30 : clip->fps, 1};
    c->gop_size = clip->gop ? clip->gop : 10;
    c->max_b_frames = clip->b_frames;
    c->thread_count = 1;
    if (oc->oformat->flags & AVFMT_GLOBALHEADER)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(clip->encoder, "mpeg4") || !strcmp(clip->encoder, "mjpeg")) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 3;
    } else if (!strcmp(clip->encoder, "libx264")) {
        av_opt_set(c->priv_data, "preset", "veryfast", 0);
        av_opt_set(c->priv_data, "crf", "18", 0);
    } else if (g_str_has_prefix(clip->encoder, "libvpx")) {
        c->bit_rate = 400000;
        av_opt_set(c->priv_data, "deadline", "realtime", 0);
        av_opt_set(c->priv_data, "cpu-used", "8", 0);
    }
    if ((ret = avcodec_open2(c, codec, NULL)) < 0) {
        fail(error, "avcodec_open2", ret);
        goto out;
    }
    avcodec_parameters_from_context(st->codecpar, c);
    st->time_base = c->time_base;
    if (clip->rotation) {
        uint8_t *sd = av_stream_new_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
        /* set() takes a clockwise angle, get() returns the counter-clockwise one: a file to be
         * shown turned 90 degrees clockwise reads back as -90, like phone recordings */
        av_display_rotation_set((int32_t *)sd, clip->rotation);
    }
    if (clip->faststart)
        av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    if ((ret = avio_open(&oc->pb, path, AVIO_FLAG_WRITE)) < 0) {
        fail(error, "avio_open", ret);
        goto out;
    }
    if ((ret = avformat_write_header(oc, &mux_opts)) < 0) {
        fail(error, "write_header", ret);
        goto out;
    }
    frame = av_frame_alloc();
    frame->format = c->pix_fmt;
    frame->width = w;
    frame->height = h;
    if ((ret = av_frame_get_buffer(frame, 0)) < 0) {
        fail(error, "frame buffer", ret);
        goto out;
    }
    for (int i = 0; i < clip->n_frames; i++) {
        if (av_frame_make_writable(frame) < 0) {
            fail(error, "frame writable", 0);
            goto out;
        }
        draw_yuv(frame, i, clip->noise);
        frame->pts = clip->pts_ms ? clip->pts_ms[i] : i;
        if (!write_packets(clip, c, oc, st, frame, error))
            goto out;
    }
    if (!write_packets(clip, c, oc, st, NULL, error))
        goto out;
    if ((ret = av_write_trailer(oc)) < 0) {
        fail(error, "write_trailer", ret);
        goto out;
    }
    ok = TRUE;
out:
    av_dict_free(&mux_opts);
    av_frame_free(&frame);
    avcodec_free_context(&c);
    if (oc && oc->pb)
        avio_closep(&oc->pb);
    avformat_free_context(oc);
    return ok;
}

gboolean tm_make_image_folder(const char *dir, const char *prefix, int n, int w, int h,
                              GError **error)
{
    const AVCodec *png = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!png) {
        fail(error, "no png encoder", 0);
        return FALSE;
    }
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_RGB24;
    f->width = w;
    f->height = h;
    av_frame_get_buffer(f, 0);
    AVPacket *pkt = av_packet_alloc();
    gboolean ok = TRUE;
    for (int i = 0; ok && i < n; i++) {
        AVCodecContext *c = avcodec_alloc_context3(png);
        c->width = w;
        c->height = h;
        c->pix_fmt = AV_PIX_FMT_RGB24;
        c->time_base = (AVRational){1, 25};
        int ret = avcodec_open2(c, png, NULL);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                guint8 v = bit_at(i, x, y, w, h) ? BRIGHT : DARK;
                guint8 *p = f->data[0] + y * f->linesize[0] + 3 * x;
                p[0] = p[1] = p[2] = v;
            }
        if (ret >= 0)
            ret = avcodec_send_frame(c, f);
        if (ret >= 0)
            ret = avcodec_receive_packet(c, pkt);
        if (ret < 0) {
            fail(error, "png encode", ret);
            ok = FALSE;
        } else {
            char *name = g_strdup_printf("%s/%s%d.png", dir, prefix, i + 1);
            ok = g_file_set_contents(name, (const char *)pkt->data, pkt->size, error);
            g_free(name);
        }
        av_packet_unref(pkt);
        avcodec_free_context(&c);
    }
    av_packet_free(&pkt);
    av_frame_free(&f);
    return ok;
}

int tm_read_index(const MimicaFrame *frame, int rotation, int src_w, int src_h, double *margin)
{
    int index = 0;
    double worst = 1e9;
    int bw = src_w / GRID_W, bh = src_h / GRID_H;
    for (int b = 0; b < GRID_W * GRID_H; b++) {
        int cx = (b % GRID_W) * bw + bw / 2, cy = (b / GRID_W) * bh + bh / 2;
        double sum = 0;
        int n = 0;
        for (int y = cy - bh / 4; y <= cy + bh / 4; y++)
            for (int x = cx - bw / 4; x <= cx + bw / 4; x++) {
                int X = x, Y = y;
                if (rotation == 90) {
                    X = src_h - 1 - y;
                    Y = x;
                } else if (rotation == 180) {
                    X = src_w - 1 - x;
                    Y = src_h - 1 - y;
                } else if (rotation == 270) {
                    X = y;
                    Y = src_w - 1 - x;
                }
                if (X < 0 || Y < 0 || X >= frame->width || Y >= frame->height)
                    return -1;
                const guint8 *p = frame->data + (gsize)Y * frame->stride + 3 * X;
                sum += (p[0] + p[1] + p[2]) / 3.0;
                n++;
            }
        double mean = sum / n;
        worst = MIN(worst, fabs(mean - 128.0));
        if (fabs(mean - 128.0) < 40.0) {
            if (margin)
                *margin = worst;
            return -1;
        }
        if (mean > 128.0)
            index |= 1 << b;
    }
    if (margin)
        *margin = worst;
    return index;
}

gboolean tm_truncate(const char *path, double fraction, GError **error)
{
    GStatBuf sb;
    if (g_stat(path, &sb) != 0 || truncate(path, (off_t)(sb.st_size * fraction)) != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot truncate %s", path);
        return FALSE;
    }
    return TRUE;
}

gboolean tm_garble(const char *path, double fraction, gsize n, guint32 seed, GError **error)
{
    char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, error))
        return FALSE;
    GRand *r = g_rand_new_with_seed(seed);
    gsize at = (gsize)(len * fraction);
    for (gsize i = at; i < at + n && i < len; i++)
        data[i] = (char)g_rand_int_range(r, 0, 256);
    g_rand_free(r);
    gboolean ok = g_file_set_contents(path, data, len, error);
    g_free(data);
    return ok;
}
