/* bench-decode.c: `mimica-bench decode [FILE] [--runs N] [--seconds S]`: decoding speed on ONE
 * thread (decoder thread_count = 1, swscale single-threaded), as a real-time factor (frames per
 * second decoded / the clip's frame rate).
 *
 * Without FILE it makes a 1080p H.264 clip first (libx264 through libavcodec; if this
 * libavcodec lacks it, says so and uses mpeg4): S seconds (default 5) at 30 fps, a moving
 * textured picture with mild noise at 8 Mbit/s (--mbit), like a camera recording.
 *
 * Figures: (a) demux + decode only (libavcodec, the floor), (b) MimicaDecoder: demux + decode +
 * RGB24 conversion (+ rotation), what the analysis pipeline gets, (c) the same through
 * MimicaVideoSource (its thread decodes, this one pops from the queue). Median of N runs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "media/mimica-video-source.h"
#include "mimica-bench.h"

/* ---- the synthetic clip -------------------------------------------------------------------- */

static void draw_frame(AVFrame *f, int t, guint32 *rng)
{
    const int w = f->width, h = f->height;
    /* a drifting interference pattern, a bright disc moving across, and sensor-like noise */
    static float sx[4096], sy[4096];
    for (int x = 0; x < w && x < 4096; x++)
        sx[x] = 40.0f * sinf((float)(x + 3 * t) * 0.031f) + 20.0f * sinf((float)x * 0.0071f);
    for (int y = 0; y < h && y < 4096; y++)
        sy[y] = 40.0f * sinf((float)(y - 2 * t) * 0.027f);
    const float cx = w * (0.2f + 0.6f * (float)(t % 150) / 150.0f), cy = h * 0.5f,
                r2 = (h / 5.0f) * (h / 5.0f);
    for (int y = 0; y < h; y++) {
        uint8_t *row = f->data[0] + (size_t)y * f->linesize[0];
        for (int x = 0; x < w; x++) {
            *rng = *rng * 1664525u + 1013904223u;
            float v = 128.0f + sx[x] + sy[y] + (float)((*rng >> 24) & 7) - 3.5f;
            float dx = x - cx, dy = y - cy;
            if (dx * dx + dy * dy < r2)
                v = 200.0f + 0.5f * sy[y];
            row[x] = (uint8_t)(v < 16 ? 16 : v > 235 ? 235 : v);
        }
    }
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < h / 2; y++) {
            uint8_t *row = f->data[p] + (size_t)y * f->linesize[p];
            for (int x = 0; x < w / 2; x++)
                row[x] = (uint8_t)(128 + (p == 1 ? 30 : -20) * sinf((x + y + t) * 0.01f));
        }
}

static int encode_some(AVCodecContext *c, AVFormatContext *oc, AVStream *st, AVFrame *frame,
                       AVPacket *pkt)
{
    int ret = avcodec_send_frame(c, frame);
    while (ret >= 0) {
        ret = avcodec_receive_packet(c, pkt);
        if (ret < 0)
            break;
        if (pkt->duration <= 0)
            pkt->duration = 1;
        av_packet_rescale_ts(pkt, c->time_base, st->time_base);
        pkt->stream_index = st->index;
        ret = av_interleaved_write_frame(oc, pkt);
    }
    return ret == AVERROR(EAGAIN) || ret == AVERROR_EOF ? 0 : ret;
}

static gboolean make_clip(const char *path, int seconds, int mbit, char **codec_used)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
    if (!codec) {
        printf("decode: this libavcodec has no libx264 encoder: making an mpeg4 clip instead "
               "(the 5x target is about H.264)\n");
        codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    }
    AVFormatContext *oc = NULL;
    if (avformat_alloc_output_context2(&oc, NULL, "mp4", path) < 0)
        return FALSE;
    AVStream *st = avformat_new_stream(oc, NULL);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    c->width = 1920;
    c->height = 1080;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = (AVRational){1, 30};
    c->framerate = (AVRational){30, 1};
    c->gop_size = 60;
    c->bit_rate = (int64_t)mbit * 1000000;
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = AVCOL_SPC_BT709;
    c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (!strcmp(codec->name, "libx264")) {
        av_opt_set(c->priv_data, "preset", "veryfast", 0); /* encoding speed only */
        av_opt_set(c->priv_data, "profile", "high", 0);
    }
    int log_level = av_log_get_level();
    av_log_set_level(AV_LOG_WARNING); /* x264's statistics are not ours to print */
    int ret = avcodec_open2(c, codec, NULL);
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    if (ret >= 0) {
        avcodec_parameters_from_context(st->codecpar, c);
        st->time_base = c->time_base;
        ret = avio_open(&oc->pb, path, AVIO_FLAG_WRITE);
    }
    if (ret >= 0)
        ret = avformat_write_header(oc, NULL);
    frame->format = c->pix_fmt;
    frame->width = c->width;
    frame->height = c->height;
    if (ret >= 0)
        ret = av_frame_get_buffer(frame, 0);
    guint32 rng = 12345;
    for (int i = 0; ret >= 0 && i < seconds * 30; i++) {
        ret = av_frame_make_writable(frame);
        if (ret < 0)
            break;
        draw_frame(frame, i, &rng);
        frame->pts = i;
        ret = encode_some(c, oc, st, frame, pkt);
    }
    if (ret >= 0)
        ret = encode_some(c, oc, st, NULL, pkt);
    if (ret >= 0)
        ret = av_write_trailer(oc);
    *codec_used = g_strdup(codec->name);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&c);
    av_log_set_level(log_level);
    avio_closep(&oc->pb);
    avformat_free_context(oc);
    if (ret < 0)
        fprintf(stderr, "decode: making the clip failed: %s\n", av_err2str(ret));
    return ret >= 0;
}

/* ---- measurements -------------------------------------------------------------------------- */

/* demux + decode with libavcodec alone, one thread; returns frames, -1 on error */
static long decode_raw(const char *path, double *seconds)
{
    AVFormatContext *fmt = NULL;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0 || avformat_find_stream_info(fmt, NULL) < 0)
        return -1;
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0) {
        avformat_close_input(&fmt);
        return -1;
    }
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[si]->codecpar->codec_id);
    AVCodecContext *c = avcodec_alloc_context3(codec);
    avcodec_parameters_to_context(c, fmt->streams[si]->codecpar);
    c->thread_count = 1;
    long n = -1;
    if (avcodec_open2(c, codec, NULL) >= 0) {
        AVPacket *pkt = av_packet_alloc();
        AVFrame *frame = av_frame_alloc();
        n = 0;
        gint64 t0 = g_get_monotonic_time();
        gboolean eof = FALSE;
        for (;;) {
            int ret = avcodec_receive_frame(c, frame);
            if (ret == 0) {
                n++;
                continue;
            }
            if (ret == AVERROR_EOF || (ret != AVERROR(EAGAIN) && eof))
                break;
            if (av_read_frame(fmt, pkt) < 0) {
                eof = TRUE;
                avcodec_send_packet(c, NULL);
                continue;
            }
            if (pkt->stream_index == si)
                avcodec_send_packet(c, pkt);
            av_packet_unref(pkt);
        }
        *seconds = (g_get_monotonic_time() - t0) / 1e6;
        av_frame_free(&frame);
        av_packet_free(&pkt);
    }
    avcodec_free_context(&c);
    avformat_close_input(&fmt);
    return n;
}

/* MimicaDecoder, one thread, every frame to RGB24 */
static long decode_mimica(const char *path, double *open_s, double *seconds, GError **error)
{
    MimicaDecoderOptions opts = {.n_threads = 1};
    gint64 t0 = g_get_monotonic_time();
    MimicaDecoder *dec = mimica_decoder_open(path, &opts, NULL, error);
    if (!dec)
        return -1;
    gint64 t1 = g_get_monotonic_time();
    long n = 0;
    MimicaFrame *f;
    while ((f = mimica_decoder_next_frame(dec, error))) {
        n++;
        mimica_frame_unref(f);
    }
    gint64 t2 = g_get_monotonic_time();
    mimica_decoder_free(dec);
    *open_s = (t1 - t0) / 1e6;
    *seconds = (t2 - t1) / 1e6;
    return error && *error ? -1 : n;
}

/* MimicaVideoSource: the same decoder on its own thread, frames taken from the bounded queue
 * by this thread (what the UI and the analyzer do) */
static long decode_source(const char *path, double *seconds, GError **error)
{
    MimicaDecoderOptions opts = {.n_threads = 1};
    MimicaVideoSource *src = mimica_video_source_new(path, &opts, 8, NULL, error);
    if (!src)
        return -1;
    long n = 0;
    gint64 t0 = g_get_monotonic_time();
    mimica_video_source_play(src, 0, -1);
    for (;;) {
        MimicaVideoEvent e = {0};
        if (!mimica_video_source_pop(src, 30 * G_USEC_PER_SEC, &e)) {
            g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_FAILED, "no frame for 30 s");
            n = -1;
            break;
        }
        gboolean done = e.kind != MIMICA_VIDEO_EVENT_FRAME;
        if (e.kind == MIMICA_VIDEO_EVENT_ERROR) {
            g_propagate_error(error, e.error);
            e.error = NULL;
            n = -1;
        } else if (!done) {
            n++;
        }
        mimica_video_event_clear(&e);
        if (done)
            break;
    }
    *seconds = (g_get_monotonic_time() - t0) / 1e6;
    g_object_unref(src);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run(int argc, char **argv)
{
    const char *file = NULL;
    int runs = 3, seconds = 5, mbit = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mbit") && i + 1 < argc)
            mbit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("Usage: mimica-bench decode [FILE] [--runs N] [--seconds S] [--mbit R]\n"
                   "Decodes FILE (default: a generated 1080p H.264 clip of S seconds at R "
                   "Mbit/s, default 5 s, 8 Mbit/s) on one thread, N times (default 3), and "
                   "prints the real-time factor.\n");
            return 0;
        } else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "decode: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (runs < 1 || runs > 50 || seconds < 1 || seconds > 120 || mbit < 1 || mbit > 100) {
        fprintf(stderr, "decode: --runs 1..50, --seconds 1..120, --mbit 1..100\n");
        return 2;
    }
    char *tmpdir = NULL, *path = NULL, *made_with = NULL;
    if (file) {
        path = g_strdup(file);
    } else {
        tmpdir = g_dir_make_tmp("mimica-bench-decode-XXXXXX", NULL);
        path = g_build_filename(tmpdir, "clip-1080p.mp4", NULL);
        gint64 t0 = g_get_monotonic_time();
        if (!make_clip(path, seconds, mbit, &made_with)) {
            g_free(path);
            g_free(made_with);
            g_rmdir(tmpdir);
            g_free(tmpdir);
            return 1;
        }
        printf("decode: made %s (%s, 1920x1080, %d s at 30 fps, %d Mbit/s asked) in %.1f s\n", path,
               made_with, seconds, mbit, (g_get_monotonic_time() - t0) / 1e6);
    }
    GError *error = NULL;
    MimicaDecoderOptions probe_opts = {.n_threads = 1};
    MimicaDecoder *probe = mimica_decoder_open(path, &probe_opts, NULL, &error);
    int status = 1;
    if (!probe) {
        fprintf(stderr, "decode: %s\n", error->message);
        g_error_free(error);
        goto out;
    }
    const MimicaMediaInfo *info = mimica_decoder_get_info(probe);
    double fps = (double)info->fps_num / info->fps_den;
    GStatBuf sb;
    double file_mbit = g_stat(path, &sb) == 0 ? sb.st_size * 8.0 / 1e6 / info->duration_s : 0.0;
    printf("decode: %s: %s, %dx%d, %" G_GINT64_FORMAT " frames, %.3f fps, %.2f s, %.1f Mbit/s\n",
           path, info->codec, info->width, info->height, info->n_frames, fps, info->duration_s,
           file_mbit);
    char *codec = g_strdup(info->codec);
    int width = info->width, height = info->height;
    gint64 n_frames = info->n_frames;
    mimica_decoder_free(probe);

    double *raw = g_new(double, runs), *full = g_new(double, runs), *thr = g_new(double, runs);
    double open_s = 0;
    for (int r = 0; r < runs; r++) {
        double t_raw = 0, t_full = 0, t_thr = 0;
        long n_raw = decode_raw(path, &t_raw);
        long n_full = n_raw < 0 ? -1 : decode_mimica(path, &open_s, &t_full, &error);
        long n_thr = n_full < 0 ? -1 : decode_source(path, &t_thr, &error);
        if (n_raw < 0 || n_full < 0 || n_thr < 0) {
            fprintf(stderr, "decode: %s\n", error ? error->message : "libavcodec decode failed");
            g_clear_error(&error);
            g_free(raw);
            g_free(full);
            g_free(thr);
            g_free(codec);
            goto out;
        }
        raw[r] = n_raw / t_raw;
        full[r] = n_full / t_full;
        thr[r] = n_thr / t_thr;
        printf("decode: run %d: libavcodec decode %ld frames %.3f s = %.1f fps (%.2fx real "
               "time); MimicaDecoder decode+RGB24 %ld frames %.3f s = %.1f fps (%.2fx), index "
               "pass %.3f s; MimicaVideoSource thread+queue %ld frames %.3f s = %.1f fps "
               "(%.2fx)\n",
               r + 1, n_raw, t_raw, raw[r], raw[r] / fps, n_full, t_full, full[r], full[r] / fps,
               open_s, n_thr, t_thr, thr[r], thr[r] / fps);
    }
    qsort(raw, runs, sizeof(double), cmp_double);
    qsort(full, runs, sizeof(double), cmp_double);
    qsort(thr, runs, sizeof(double), cmp_double);
    double raw_med = raw[runs / 2], full_med = full[runs / 2], thr_med = thr[runs / 2];
    double raw_best = raw[runs - 1], full_best = full[runs - 1];
    printf("decode: one decoding thread, median of %d: decode only %.1f fps = %.2fx real time; "
           "decode + RGB24 %.1f fps = %.2fx; through the decode thread and queue %.1f fps = "
           "%.2fx (target: 5x for 1080p H.264)\n",
           runs, raw_med, raw_med / fps, full_med, full_med / fps, thr_med, thr_med / fps);
    printf("{\"bench\":\"decode\",\"codec\":\"%s\",\"width\":%d,\"height\":%d,\"frames\":"
           "%" G_GINT64_FORMAT ",\"clip_fps\":%.3f,\"mbit_s\":%.2f,\"threads\":1,\"runs\":%d,"
           "\"decode_fps\":%.1f,\"decode_rtf\":%.2f,\"decode_rtf_best\":%.2f,"
           "\"rgb_fps\":%.1f,\"rgb_rtf\":%.2f,\"rgb_rtf_best\":%.2f,\"thread_fps\":%.1f,"
           "\"thread_rtf\":%.2f,\"generated\":%s}\n",
           codec, width, height, n_frames, fps, file_mbit, runs, raw_med, raw_med / fps,
           raw_best / fps, full_med, full_med / fps, full_best / fps, thr_med, thr_med / fps,
           file ? "false" : "true");
    g_free(raw);
    g_free(full);
    g_free(thr);
    g_free(codec);
    status = 0;
out:
    if (tmpdir) {
        g_remove(path);
        g_rmdir(tmpdir);
    }
    g_free(tmpdir);
    g_free(path);
    g_free(made_with);
    return status;
}

const mim_bench_cmd mim_bench_decode = {
    "decode",
    "video decoding speed on one thread (1080p H.264), as a real-time factor",
    run,
};
