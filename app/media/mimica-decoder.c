/* mimica-decoder.c: synchronous frame-exact decoding (see mimica-decoder.h for the index and
 * seeking rules). Two sources: a container file (FFmpeg demuxer) or an image folder (one image2
 * demuxer per file). Output: RGB24 via swscale, then the display rotation. */
#include <math.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "mimica-decoder.h"
#include "mimica-media-private.h"

/* A request at most this many frames ahead decodes forward instead of seeking. */
#define FORWARD_DECODE_MAX 24
/* Seeks landing after the target retry from this many earlier keyframes, then from the start. */
#define SEEK_RETRIES 3

typedef struct {
    gint64 pts; /* presentation timestamp, stream time base */
    gint64 dts; /* the packet's dts, AV_NOPTS_VALUE if unknown */
    gboolean key;
    gboolean lost; /* a frame the damaged file lost: its index exists, it never decodes */
} FrameEntry;

struct _MimicaDecoder {
    MimicaMediaInfo info;
    MimicaDecoderOptions opts;
    FrameEntry *frames; /* (n_frames) sorted by pts */
    gint64 n_frames;
    double tb;                /* seconds per pts unit */
    double slack;             /* pts units of rounding frame_at_time allows */
    gboolean ts_from_decoder; /* packets lack pts: frames are identified by decoder timestamps */
    gint64 last_ts;           /* the previous frame's, for ts_from_decoder */
    gint64 frame_ticks;       /* one frame's duration in pts units (at least 1) */

    /* container */
    AVFormatContext *fmt;
    AVCodecContext *avctx;
    int stream_index;
    AVPacket *pkt;
    AVFrame *frame;
    gboolean demux_eof;   /* the demuxer is done, the decoder was sent the flush packet */
    gboolean decoder_eof; /* the decoder returned AVERROR_EOF */
    int read_error;       /* the demuxer's last error other than EOF */
    gboolean truncation_reported;
    gboolean positioned;  /* the decoder state matches next_index (no seek pending) */
    gboolean verify_seek; /* a seek happened: check the first frame is not after the target */
    gint64 seek_key;      /* keyframe index the last seek aimed at */
    int seek_attempt;

    /* image folder */
    char **images;

    /* position */
    gint64 next_index; /* the frame the next next_frame() returns; earlier ones are dropped */
    gint64 n_skipped;

    /* RGB conversion */
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt, sws_cs, sws_range;
    guint8 *rot_buf;
    gsize rot_buf_size;
};

/* ---- helpers ------------------------------------------------------------------------------- */

static int cmp_entry(const void *a, const void *b)
{
    const FrameEntry *x = a, *y = b;
    if (x->pts != y->pts)
        return x->pts < y->pts ? -1 : 1;
    if (x->dts != y->dts)
        return x->dts < y->dts ? -1 : 1;
    return 0;
}

/* First index >= from whose pts is `pts`, else the first index with that pts, else -1. */
static gint64 lookup_pts(MimicaDecoder *dec, gint64 pts, gint64 from)
{
    gint64 lo = 0, hi = dec->n_frames;
    while (lo < hi) {
        gint64 mid = lo + (hi - lo) / 2;
        if (dec->frames[mid].pts < pts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= dec->n_frames || dec->frames[lo].pts != pts)
        return -1;
    gint64 i = lo;
    while (i < from && i + 1 < dec->n_frames && dec->frames[i + 1].pts == pts)
        i++;
    return i;
}

static gint64 keyframe_at_or_before(MimicaDecoder *dec, gint64 index)
{
    for (gint64 k = index; k >= 0; k--)
        if (dec->frames[k].key)
            return k;
    return -1;
}

/* A decoded frame's timestamp. Streams whose packets carry pts: the frame's pts. Streams
 * indexed by decoding (no packet pts): the decoder's best-effort guess, and for frames without
 * any (the last ones flushed out) the previous one plus a frame duration, the same rule in the
 * index pass and when decoding, so both agree. */
static gint64 frame_timestamp(MimicaDecoder *dec, const AVFrame *f)
{
    if (!dec->ts_from_decoder)
        return f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
    gint64 ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE && dec->last_ts != AV_NOPTS_VALUE)
        ts = dec->last_ts + dec->frame_ticks;
    dec->last_ts = ts;
    return ts;
}

static int rotation_from_matrix(const int32_t *m)
{
    double a = -av_display_rotation_get(m); /* counter-clockwise -> clockwise */
    if (isnan(a))
        return 0;
    long r = lround(a / 90.0) * 90;
    r %= 360;
    if (r < 0)
        r += 360;
    return (int)r;
}

/* ---- RGB conversion ------------------------------------------------------------------------ */

static enum AVPixelFormat unjpeg(enum AVPixelFormat f, int *full_range)
{
    switch (f) {
    case AV_PIX_FMT_YUVJ420P:
        *full_range = 1;
        return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P:
        *full_range = 1;
        return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P:
        *full_range = 1;
        return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P:
        *full_range = 1;
        return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P:
        *full_range = 1;
        return AV_PIX_FMT_YUV411P;
    default:
        return f;
    }
}

static gboolean to_rgb(MimicaDecoder *dec, const AVFrame *src, MimicaFrame **out, GError **error)
{
    int w = src->width, h = src->height;
    if (w <= 0 || h <= 0 || w > 32768 || h > 32768) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, dec->info.path, 0,
                                "decoded picture has an impossible size");
        return FALSE;
    }
    int full = src->color_range == AVCOL_RANGE_JPEG;
    enum AVPixelFormat pf = unjpeg((enum AVPixelFormat)src->format, &full);
    int cs = SWS_CS_DEFAULT;
    switch (src->colorspace) {
    case AVCOL_SPC_BT709:
        cs = SWS_CS_ITU709;
        break;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        cs = SWS_CS_BT2020;
        break;
    case AVCOL_SPC_FCC:
        cs = SWS_CS_FCC;
        break;
    case AVCOL_SPC_SMPTE240M:
        cs = SWS_CS_SMPTE240M;
        break;
    case AVCOL_SPC_UNSPECIFIED:
        cs = h >= 720 ? SWS_CS_ITU709 : SWS_CS_DEFAULT; /* HD is BT.709 unless it says */
        break;
    default:
        break;
    }
    if (!dec->sws || dec->sws_w != w || dec->sws_h != h || dec->sws_fmt != (int)pf ||
        dec->sws_cs != cs || dec->sws_range != full) {
        sws_freeContext(dec->sws);
        dec->sws = sws_getContext(w, h, pf, w, h, AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
        if (!dec->sws) {
            _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_UNSUPPORTED, dec->info.path, 0,
                                    "cannot convert this pixel format to RGB");
            return FALSE;
        }
        const int *coef = sws_getCoefficients(cs);
        sws_setColorspaceDetails(dec->sws, coef, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                                 1 << 16, 1 << 16);
        dec->sws_w = w;
        dec->sws_h = h;
        dec->sws_fmt = pf;
        dec->sws_cs = cs;
        dec->sws_range = full;
    }
    int rot = dec->info.rotation;
    MimicaFrame *f = rot == 90 || rot == 270 ? mimica_frame_new(h, w) : mimica_frame_new(w, h);
    guint8 *dst = f->data;
    int dst_stride = f->stride;
    if (rot) {
        dst_stride = (3 * w + 31) & ~31;
        gsize need = (gsize)dst_stride * h + 64;
        if (dec->rot_buf_size < need) {
            g_free(dec->rot_buf);
            dec->rot_buf = g_malloc(need);
            dec->rot_buf_size = need;
        }
        dst = dec->rot_buf;
    }
    uint8_t *dst_planes[4] = {dst, NULL, NULL, NULL};
    int dst_strides[4] = {dst_stride, 0, 0, 0};
    int rows = sws_scale(dec->sws, (const uint8_t *const *)src->data, src->linesize, 0, h,
                         dst_planes, dst_strides);
    if (rows != h) {
        mimica_frame_unref(f);
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_FAILED, dec->info.path,
                                rows < 0 ? rows : 0, "RGB conversion failed");
        return FALSE;
    }
    if (rot) {
        /* source pixel (x, y) of the w x h picture goes to display pixel (X, Y) */
        for (int y = 0; y < h; y++) {
            const guint8 *s = dst + (gsize)y * dst_stride;
            for (int x = 0; x < w; x++, s += 3) {
                int X, Y;
                if (rot == 90) {
                    X = h - 1 - y;
                    Y = x;
                } else if (rot == 180) {
                    X = w - 1 - x;
                    Y = h - 1 - y;
                } else {
                    X = y;
                    Y = w - 1 - x;
                }
                guint8 *d = f->data + (gsize)Y * f->stride + 3 * (gsize)X;
                d[0] = s[0];
                d[1] = s[1];
                d[2] = s[2];
            }
        }
    }
    *out = f;
    return TRUE;
}

static MimicaFrame *finish_frame(MimicaDecoder *dec, MimicaFrame *f, gint64 index)
{
    f->index = index;
    f->pts = dec->frames[index].pts;
    f->time_s = (double)(f->pts - dec->info.start_pts) * dec->tb;
    return f;
}

/* ---- container: open and index ------------------------------------------------------------- */

static int cmp_gint64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
    return x < y ? -1 : x > y;
}

/* Frame numbers follow presentation time. In a stream of constant frame rate, a step of k frame
 * durations between neighbouring pts is k - 1 frames the demuxer lost (a damaged file): they get
 * entries marked lost, so the frames after them keep the numbers their pts give, and labels
 * made on them do not shift. Only where 90 % of the steps are one duration (the median step)
 * and at most MAX(n, 1000) frames in all: a garbage pts is not a gap. Returns how many. */
static gint64 fill_lost_frames(MimicaDecoder *dec)
{
    gint64 n = dec->n_frames;
    if (n < 3)
        return 0;
    gint64 *steps = g_new(gint64, n - 1);
    for (gint64 i = 1; i < n; i++)
        steps[i - 1] = dec->frames[i].pts - dec->frames[i - 1].pts;
    qsort(steps, n - 1, sizeof *steps, cmp_gint64);
    gint64 median = steps[(n - 1) / 2];
    g_free(steps);
    if (median < 2)
        return 0;
    /* The exact duration: the mean of the regular steps (a 1 ms time base rounds 33.33 ms
     * frames to 33 and 34). */
    double tol = (double)median / 8, sum = 0, ft;
    gint64 regular = 0, lost = 0;
    for (gint64 i = 1; i < n; i++) {
        gint64 d = dec->frames[i].pts - dec->frames[i - 1].pts;
        if (fabs((double)(d - median)) <= tol) {
            sum += (double)d;
            regular++;
        }
    }
    if (regular < (n - 1) * 9 / 10)
        return 0;
    ft = sum / (double)regular;
    for (gint64 i = 1; i < n; i++) {
        double d = (double)(dec->frames[i].pts - dec->frames[i - 1].pts), k = round(d / ft);
        if (k >= 2 && fabs(d - k * ft) <= tol)
            lost += (gint64)k - 1;
    }
    if (lost == 0 || lost > MAX(n, 1000))
        return 0;
    FrameEntry *all = g_new(FrameEntry, n + lost);
    gint64 m = 0;
    for (gint64 i = 0; i < n; i++) {
        if (i > 0) {
            gint64 prev = dec->frames[i - 1].pts;
            double d = (double)(dec->frames[i].pts - prev), k = round(d / ft);
            if (k >= 2 && fabs(d - k * ft) <= tol)
                for (gint64 j = 1; j < (gint64)k; j++)
                    all[m++] = (FrameEntry){prev + (gint64)llround((double)j * d / k),
                                            AV_NOPTS_VALUE, FALSE, TRUE};
        }
        all[m++] = dec->frames[i];
    }
    g_debug("%s: %" G_GINT64_FORMAT " frames lost in the file keep their numbers", dec->info.path,
            lost);
    g_free(dec->frames);
    dec->frames = all;
    dec->n_frames = m;
    return lost;
}

static gboolean open_codec(MimicaDecoder *dec, GError **error)
{
    AVStream *st = dec->fmt->streams[dec->stream_index];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        char what[128];
        g_snprintf(what, sizeof what, "no decoder for the video codec '%s'",
                   avcodec_get_name(st->codecpar->codec_id));
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_UNSUPPORTED, dec->info.path, 0, what);
        return FALSE;
    }
    avcodec_free_context(&dec->avctx);
    dec->avctx = avcodec_alloc_context3(codec);
    if (!dec->avctx) {
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_FAILED, "out of memory");
        return FALSE;
    }
    int ret = avcodec_parameters_to_context(dec->avctx, st->codecpar);
    if (ret >= 0) {
        dec->avctx->pkt_timebase = st->time_base;
        dec->avctx->thread_count = dec->opts.n_threads;
        ret = avcodec_open2(dec->avctx, codec, NULL);
    }
    if (ret < 0) {
        _mimica_media_set_error(error, _mimica_media_error_code(ret), dec->info.path, ret,
                                "cannot open the video decoder");
        return FALSE;
    }
    return TRUE;
}

static gboolean open_input(MimicaDecoder *dec, GError **error)
{
    _mimica_media_clear_log();
    int ret = avformat_open_input(&dec->fmt, dec->info.path, NULL, NULL);
    if (ret < 0) {
        MimicaMediaError code = _mimica_media_error_code(ret);
        _mimica_media_set_error(error, code, dec->info.path, ret,
                                code == MIMICA_MEDIA_ERROR_CORRUPT ||
                                        code == MIMICA_MEDIA_ERROR_UNSUPPORTED
                                    ? "not a video file FFmpeg can read"
                                    : "cannot open");
        return FALSE;
    }
    ret = avformat_find_stream_info(dec->fmt, NULL);
    if (ret < 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, dec->info.path, ret,
                                "cannot read the streams");
        return FALSE;
    }
    if (dec->fmt->nb_streams == 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, dec->info.path, 0,
                                "holds no streams: not a media file, or its index is missing "
                                "(an mp4 or mov file cut short)");
        return FALSE;
    }
    ret = av_find_best_stream(dec->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (ret >= 0 && (dec->fmt->streams[ret]->disposition & AV_DISPOSITION_ATTACHED_PIC))
        ret = AVERROR_STREAM_NOT_FOUND;
    if (ret < 0) {
        /* a file with audio but no picture is a media file without video; one with neither is
         * not what it claims (e.g. an mp4 cut before its index, parsed as stray boxes) */
        gboolean audio = av_find_best_stream(dec->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
        _mimica_media_set_error(error,
                                audio ? MIMICA_MEDIA_ERROR_NO_VIDEO : MIMICA_MEDIA_ERROR_CORRUPT,
                                dec->info.path, 0,
                                audio ? "has no video stream"
                                      : "holds no audio or video stream: not a media file, or "
                                        "its index is missing (an mp4 or mov file cut short)");
        return FALSE;
    }
    dec->stream_index = ret;
    for (unsigned i = 0; i < dec->fmt->nb_streams; i++)
        if ((int)i != dec->stream_index)
            dec->fmt->streams[i]->discard = AVDISCARD_ALL;
    return TRUE;
}

/* Back to the first packet: a seek, or reopening the file where the demuxer cannot seek. */
static gboolean rewind_input(MimicaDecoder *dec, GError **error)
{
    int ret = -1;
    if (dec->n_frames > 0) {
        gint64 ts = dec->frames[0].pts;
        for (gint64 i = 0; i < dec->n_frames && i < 64; i++)
            if (dec->frames[i].dts != AV_NOPTS_VALUE && dec->frames[i].dts < ts)
                ts = dec->frames[i].dts;
        ret = av_seek_frame(dec->fmt, dec->stream_index, ts, AVSEEK_FLAG_BACKWARD);
        if (ret < 0)
            ret = avformat_seek_file(dec->fmt, dec->stream_index, INT64_MIN, ts, ts, 0);
    }
    if (ret < 0) {
        g_debug("%s: cannot seek to the start, reopening", dec->info.path);
        avformat_close_input(&dec->fmt);
        if (!open_input(dec, error))
            return FALSE;
    }
    if (dec->avctx)
        avcodec_flush_buffers(dec->avctx);
    dec->last_ts = AV_NOPTS_VALUE;
    dec->demux_eof = dec->decoder_eof = FALSE;
    dec->read_error = 0;
    return TRUE;
}

/* The decoding pass for containers whose packets lack pts: the decoder's timestamps. */
static gboolean index_by_decoding(MimicaDecoder *dec, GArray *entries, GCancellable *cancellable,
                                  GError **error)
{
    g_array_set_size(entries, 0);
    if (!rewind_input(dec, error))
        return FALSE;
    dec->ts_from_decoder = TRUE;
    dec->last_ts = AV_NOPTS_VALUE;
    for (;;) {
        int ret = avcodec_receive_frame(dec->avctx, dec->frame);
        if (ret == 0) {
            gint64 ts = frame_timestamp(dec, dec->frame);
            if (ts != AV_NOPTS_VALUE) {
                FrameEntry e = {ts, AV_NOPTS_VALUE, dec->frame->key_frame != 0};
                g_array_append_val(entries, e);
            }
            av_frame_unref(dec->frame);
            continue;
        }
        if (ret == AVERROR_EOF)
            break;
        if (ret != AVERROR(EAGAIN)) /* a broken frame: skip */
            continue;
        if (g_cancellable_set_error_if_cancelled(cancellable, error))
            return FALSE;
        ret = av_read_frame(dec->fmt, dec->pkt);
        if (ret < 0) {
            if (ret != AVERROR_EOF)
                dec->read_error = ret;
            avcodec_send_packet(dec->avctx, NULL);
            continue;
        }
        if (dec->pkt->stream_index == dec->stream_index)
            avcodec_send_packet(dec->avctx, dec->pkt);
        av_packet_unref(dec->pkt);
    }
    return TRUE;
}

static gboolean build_index(MimicaDecoder *dec, GCancellable *cancellable, GError **error)
{
    GArray *entries = g_array_new(FALSE, FALSE, sizeof(FrameEntry));
    gboolean need_decode = FALSE, corrupt_packet = FALSE;
    gint64 n_discarded = 0, last_duration = 0;
    int ret;
    guint n_read = 0;
    /* (the log count started in open_input: stream probing reads packets too) */
    while ((ret = av_read_frame(dec->fmt, dec->pkt)) >= 0) {
        AVPacket *p = dec->pkt;
        if (p->stream_index == dec->stream_index) {
            if (p->flags & AV_PKT_FLAG_DISCARD) {
                n_discarded++;
            } else if (p->flags & AV_PKT_FLAG_CORRUPT) {
                corrupt_packet = TRUE;
            } else {
                if (p->pts == AV_NOPTS_VALUE)
                    need_decode = TRUE;
                FrameEntry e = {p->pts, p->dts, (p->flags & AV_PKT_FLAG_KEY) != 0};
                g_array_append_val(entries, e);
                last_duration = p->duration;
            }
        }
        av_packet_unref(p);
        if ((n_read++ & 255) == 0 && g_cancellable_set_error_if_cancelled(cancellable, error)) {
            g_array_free(entries, TRUE);
            return FALSE;
        }
    }
    if (ret != AVERROR_EOF) {
        g_debug("%s: demuxing stopped: %s", dec->info.path, av_err2str(ret));
        dec->read_error = ret;
    }
    /* demuxers report a cut or damaged file in their log ("File ended prematurely", "partial
     * file") and then end as if at a normal end */
    unsigned demux_errors = _mimica_media_n_error_logs();
    AVStream *vst = dec->fmt->streams[dec->stream_index];
    dec->frame_ticks = last_duration;
    if (dec->frame_ticks <= 0 && vst->avg_frame_rate.num > 0 && vst->avg_frame_rate.den > 0)
        dec->frame_ticks = av_rescale_q(1, av_inv_q(vst->avg_frame_rate), vst->time_base);
    if (dec->frame_ticks <= 0)
        dec->frame_ticks = 1;
    if (need_decode && !index_by_decoding(dec, entries, cancellable, error)) {
        g_array_free(entries, TRUE);
        return FALSE;
    }
    dec->n_frames = entries->len;
    dec->frames = (FrameEntry *)g_array_free(entries, FALSE);
    if (dec->n_frames == 0) {
        g_free(dec->frames);
        dec->frames = NULL;
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, dec->info.path, dec->read_error,
                                "no video frame could be read");
        return FALSE;
    }
    qsort(dec->frames, dec->n_frames, sizeof(FrameEntry), cmp_entry);
    /* (decoder timestamps of a stream without pts are guesses: no gaps are read from them) */
    gint64 n_lost = need_decode ? 0 : fill_lost_frames(dec);

    /* facts: frame rate, duration, variable frame rate */
    AVStream *st = dec->fmt->streams[dec->stream_index];
    MimicaMediaInfo *info = &dec->info;
    gint64 n = dec->n_frames;
    gint64 span = dec->frames[n - 1].pts - dec->frames[0].pts;
    double mean = n > 1 ? (double)span / (double)(n - 1) : 0.0;
    gint64 dmin = G_MAXINT64, dmax = 0;
    for (gint64 i = 1; i < n; i++) {
        gint64 d = dec->frames[i].pts - dec->frames[i - 1].pts;
        dmin = MIN(dmin, d);
        dmax = MAX(dmax, d);
    }
    info->variable_frame_rate = n > 2 && (double)(dmax - dmin) > MAX(1.0, 0.005 * mean) + 1e-9;
    if (last_duration <= 0 || need_decode)
        last_duration = 0;
    double last = last_duration > 0 ? (double)last_duration : mean;
    if (last <= 0 && st->avg_frame_rate.num > 0 && st->avg_frame_rate.den > 0)
        last = 1.0 / (av_q2d(st->avg_frame_rate) * dec->tb);
    info->duration_s = ((double)span + last) * dec->tb;
    AVRational fr = {0, 1};
    if (n > 1 && span > 0) {
        double measured = (double)(n - 1) / ((double)span * dec->tb);
        AVRational avg = st->avg_frame_rate, rf = st->r_frame_rate;
        if (!info->variable_frame_rate && rf.num > 0 && rf.den > 0 &&
            fabs(av_q2d(rf) - measured) < 0.002 * measured)
            fr = rf;
        else if (avg.num > 0 && avg.den > 0 && fabs(av_q2d(avg) - measured) < 0.002 * measured)
            fr = avg;
        else
            fr = av_d2q(measured, 1000000);
    } else if (st->avg_frame_rate.num > 0) {
        fr = st->avg_frame_rate;
    } else if (info->duration_s > 0) {
        fr = av_d2q(1.0 / info->duration_s, 1000000);
    }
    if (fr.num <= 0 && st->r_frame_rate.num > 0 && st->r_frame_rate.den > 0)
        fr = st->r_frame_rate; /* a single frame: the rate the stream declares */
    info->fps_num = fr.num;
    info->fps_den = fr.den > 0 ? fr.den : 1;
    info->start_pts = dec->frames[0].pts;
    dec->slack = MIN(0.5, 0.25 * (mean > 0 ? mean : last));

    /* truncation: a read error, a cut packet, or fewer frames than the container promises */
    gint64 promised = st->nb_frames;
    gboolean short_count = promised > 0 && promised > n + n_discarded;
    gboolean short_duration = FALSE;
    if (dec->fmt->nb_streams == 1 && dec->fmt->duration != AV_NOPTS_VALUE &&
        dec->fmt->duration > 0) {
        double stated = (double)dec->fmt->duration / AV_TIME_BASE;
        /* the tolerance is a typical frame's length: the last packet's own duration may be
         * a token 1 tick (some muxers and encoders write that) while the container's stated
         * duration counts a whole frame for it */
        double frame_s = MAX(last, mean) * dec->tb;
        short_duration = stated > info->duration_s + 1.5 * frame_s + 0.001;
    }
    info->truncated = dec->read_error != 0 || corrupt_packet || short_count || short_duration ||
                      demux_errors > 0 || n_lost > 0;
    if (info->truncated && !need_decode) {
        /* The cut removed a tail in decode order. A lost frame has pts >= its dts > the last
         * dts read, so frames up to that dts keep their index; later ones (reordered B-frames'
         * neighbours) might follow a lost frame and would be misnumbered: they are dropped. */
        gint64 max_dts = AV_NOPTS_VALUE;
        for (gint64 i = 0; i < n; i++)
            if (dec->frames[i].dts != AV_NOPTS_VALUE &&
                (max_dts == AV_NOPTS_VALUE || dec->frames[i].dts > max_dts))
                max_dts = dec->frames[i].dts;
        gint64 keep = n;
        while (keep > 1 && ((max_dts != AV_NOPTS_VALUE && dec->frames[keep - 1].pts > max_dts) ||
                            dec->frames[keep - 1].lost))
            keep--;
        if (keep < n)
            g_debug("%s: truncated: the last %" G_GINT64_FORMAT " frames may follow a lost one, "
                    "left out of the index",
                    dec->info.path, n - keep);
        dec->n_frames = keep;
    }
    if (info->truncated)
        g_debug("%s: truncated or damaged (read error %d, cut packet %d, %" G_GINT64_FORMAT
                " of %" G_GINT64_FORMAT " frames, short duration %d, %u demuxer errors)",
                dec->info.path, dec->read_error, corrupt_packet, n, promised, short_duration,
                demux_errors);
    return TRUE;
}

static gboolean open_container(MimicaDecoder *dec, GCancellable *cancellable, GError **error)
{
    if (!open_input(dec, error) || !open_codec(dec, error))
        return FALSE;
    AVStream *st = dec->fmt->streams[dec->stream_index];
    MimicaMediaInfo *info = &dec->info;
    info->container = g_strdup(dec->fmt->iformat->name);
    info->codec = g_strdup(dec->avctx->codec->name);
    info->time_base_num = st->time_base.num;
    info->time_base_den = st->time_base.den;
    dec->tb = av_q2d(st->time_base);
    info->coded_width = st->codecpar->width;
    info->coded_height = st->codecpar->height;
    const int32_t *matrix =
        (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    info->rotation = matrix ? rotation_from_matrix(matrix) : 0;
    if (!build_index(dec, cancellable, error))
        return FALSE;
    if (info->coded_width <= 0 || info->coded_height <= 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, dec->info.path, 0,
                                "the video stream has no picture size");
        return FALSE;
    }
    gboolean swap = info->rotation == 90 || info->rotation == 270;
    info->width = swap ? info->coded_height : info->coded_width;
    info->height = swap ? info->coded_width : info->coded_height;
    if (!rewind_input(dec, error))
        return FALSE;
    dec->positioned = TRUE;
    dec->next_index = 0;
    return TRUE;
}

/* ---- container: decoding ------------------------------------------------------------------- */

static gboolean container_seek_to_key(MimicaDecoder *dec, gint64 key, GError **error)
{
    dec->seek_key = key;
    if (key <= 0)
        return rewind_input(dec, error);
    const FrameEntry *k = &dec->frames[key];
    gint64 ts = k->pts;
    if (k->dts != AV_NOPTS_VALUE && k->dts < ts)
        ts = k->dts;
    int ret = av_seek_frame(dec->fmt, dec->stream_index, ts, AVSEEK_FLAG_BACKWARD);
    if (ret < 0) {
        g_debug("%s: seek to %" G_GINT64_FORMAT " failed (%s), from the start", dec->info.path, ts,
                av_err2str(ret));
        dec->seek_key = 0;
        return rewind_input(dec, error);
    }
    avcodec_flush_buffers(dec->avctx);
    dec->last_ts = AV_NOPTS_VALUE;
    dec->demux_eof = dec->decoder_eof = FALSE;
    dec->read_error = 0;
    return TRUE;
}

static MimicaFrame *container_next(MimicaDecoder *dec, GError **error)
{
    for (;;) {
        int ret = avcodec_receive_frame(dec->avctx, dec->frame);
        if (ret == 0) {
            gint64 ts = frame_timestamp(dec, dec->frame);
            gint64 idx = ts == AV_NOPTS_VALUE ? -1 : lookup_pts(dec, ts, dec->next_index);
            if (idx < 0 || dec->frames[idx].lost || (dec->frame->flags & AV_FRAME_FLAG_DISCARD)) {
                g_debug("%s: dropping a frame with pts %" G_GINT64_FORMAT " (%s)", dec->info.path,
                        ts,
                        idx < 0                 ? "not in the index"
                        : dec->frames[idx].lost ? "its packet was damaged"
                                                : "discarded by the container");
                av_frame_unref(dec->frame);
                continue;
            }
            if (dec->verify_seek) {
                if (idx > dec->next_index && dec->seek_key > 0) {
                    /* landed after the target: start from an earlier keyframe */
                    av_frame_unref(dec->frame);
                    gint64 key = dec->seek_key - 1;
                    key = ++dec->seek_attempt >= SEEK_RETRIES ? 0 : keyframe_at_or_before(dec, key);
                    g_debug("%s: seek for frame %" G_GINT64_FORMAT " landed at %" G_GINT64_FORMAT
                            ", retrying from keyframe %" G_GINT64_FORMAT,
                            dec->info.path, dec->next_index, idx, MAX(key, 0));
                    if (!container_seek_to_key(dec, MAX(key, 0), error))
                        return NULL;
                    continue;
                }
                dec->verify_seek = FALSE;
            }
            if (idx < dec->next_index) {
                av_frame_unref(dec->frame);
                continue;
            }
            if (idx > dec->next_index) {
                g_debug("%s: frames %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT " did not decode",
                        dec->info.path, dec->next_index, idx - 1);
                dec->n_skipped += idx - dec->next_index;
            }
            MimicaFrame *f = NULL;
            gboolean ok = to_rgb(dec, dec->frame, &f, error);
            av_frame_unref(dec->frame);
            if (!ok)
                return NULL;
            dec->next_index = idx + 1;
            return finish_frame(dec, f, idx);
        }
        if (ret == AVERROR_EOF) {
            dec->decoder_eof = TRUE;
            dec->verify_seek = FALSE;
            if (dec->next_index < dec->n_frames) {
                dec->n_skipped += dec->n_frames - dec->next_index;
                dec->next_index = dec->n_frames;
            }
            if ((dec->info.truncated || dec->read_error) && !dec->truncation_reported) {
                dec->truncation_reported = TRUE;
                _mimica_media_set_error(
                    error, MIMICA_MEDIA_ERROR_TRUNCATED, dec->info.path, dec->read_error,
                    "the file is truncated or damaged: it ends before its last frame");
            }
            return NULL;
        }
        if (ret != AVERROR(EAGAIN)) {
            g_debug("%s: decoding error: %s", dec->info.path, av_err2str(ret));
            continue;
        }
        if (dec->demux_eof) {
            /* cannot happen once the flush packet went in; stop rather than spin */
            dec->decoder_eof = TRUE;
            return NULL;
        }
        ret = av_read_frame(dec->fmt, dec->pkt);
        if (ret < 0) {
            if (ret != AVERROR_EOF) {
                g_debug("%s: demuxing stopped: %s", dec->info.path, av_err2str(ret));
                dec->read_error = ret;
            }
            dec->demux_eof = TRUE;
            avcodec_send_packet(dec->avctx, NULL);
            continue;
        }
        if (dec->pkt->stream_index == dec->stream_index) {
            ret = avcodec_send_packet(dec->avctx, dec->pkt);
            if (ret < 0 && ret != AVERROR(EAGAIN))
                g_debug("%s: packet rejected: %s", dec->info.path, av_err2str(ret));
        }
        av_packet_unref(dec->pkt);
    }
}

/* ---- image folders ------------------------------------------------------------------------- */

/* Decodes one image file into dec->frame. */
static gboolean decode_image(MimicaDecoder *dec, const char *path, char **codec_name,
                             GError **error)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *ctx = NULL;
    AVDictionary *o = NULL;
    gboolean ok = FALSE;
    int ret;
    _mimica_media_clear_log();
    av_dict_set(&o, "pattern_type", "none", 0);
    ret = avformat_open_input(&fmt, path, av_find_input_format("image2"), &o);
    av_dict_free(&o);
    if (ret < 0) {
        _mimica_media_set_error(error, _mimica_media_error_code(ret), path, ret,
                                "cannot open the image");
        goto out;
    }
    if (fmt->nb_streams < 1 || fmt->streams[0]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, path, 0, "not an image");
        goto out;
    }
    const AVCodec *codec = avcodec_find_decoder(fmt->streams[0]->codecpar->codec_id);
    if (!codec) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_UNSUPPORTED, path, 0,
                                "no decoder for this image format");
        goto out;
    }
    ctx = avcodec_alloc_context3(codec);
    if (!ctx || avcodec_parameters_to_context(ctx, fmt->streams[0]->codecpar) < 0) {
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_FAILED, "out of memory");
        goto out;
    }
    ctx->thread_count = 1;
    if ((ret = avcodec_open2(ctx, codec, NULL)) < 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_UNSUPPORTED, path, ret,
                                "cannot open the image decoder");
        goto out;
    }
    ret = av_read_frame(fmt, dec->pkt);
    if (ret < 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, path, ret,
                                "cannot read the image");
        goto out;
    }
    ret = avcodec_send_packet(ctx, dec->pkt);
    av_packet_unref(dec->pkt);
    if (ret >= 0)
        ret = avcodec_send_packet(ctx, NULL);
    if (ret >= 0)
        ret = avcodec_receive_frame(ctx, dec->frame);
    if (ret < 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_CORRUPT, path, ret,
                                "the image does not decode");
        goto out;
    }
    if (codec_name)
        *codec_name = g_strdup(codec->name);
    ok = TRUE;
out:
    avcodec_free_context(&ctx);
    avformat_close_input(&fmt);
    return ok;
}

static gboolean open_folder(MimicaDecoder *dec, GError **error)
{
    MimicaMediaInfo *info = &dec->info;
    dec->images = _mimica_media_list_images(info->path, &dec->n_frames, error);
    if (!dec->images)
        return FALSE;
    if (dec->n_frames == 0) {
        _mimica_media_set_error(error, MIMICA_MEDIA_ERROR_NO_VIDEO, info->path, 0,
                                "the folder holds no images (png, jpg, bmp, tiff, ppm, webp)");
        return FALSE;
    }
    dec->frames = g_new(FrameEntry, dec->n_frames);
    for (gint64 i = 0; i < dec->n_frames; i++)
        dec->frames[i] = (FrameEntry){i, i, TRUE};
    if (!decode_image(dec, dec->images[0], &info->codec, error))
        return FALSE;
    info->container = g_strdup("image-folder");
    info->is_image_folder = TRUE;
    info->width = info->coded_width = dec->frame->width;
    info->height = info->coded_height = dec->frame->height;
    av_frame_unref(dec->frame);
    int num = dec->opts.image_fps_num > 0 ? dec->opts.image_fps_num : 30;
    int den =
        dec->opts.image_fps_num > 0 && dec->opts.image_fps_den > 0 ? dec->opts.image_fps_den : 1;
    info->fps_num = num;
    info->fps_den = den;
    info->time_base_num = den;
    info->time_base_den = num;
    dec->tb = (double)den / num;
    dec->slack = 0.25;
    info->duration_s = (double)dec->n_frames * dec->tb;
    info->start_pts = 0;
    return TRUE;
}

static MimicaFrame *folder_next(MimicaDecoder *dec, GError **error)
{
    while (dec->next_index < dec->n_frames) {
        gint64 i = dec->next_index++;
        GError *local = NULL;
        if (!decode_image(dec, dec->images[i], NULL, &local)) {
            g_debug("frame %" G_GINT64_FORMAT " skipped: %s", i, local->message);
            g_error_free(local);
            dec->n_skipped++;
            continue;
        }
        MimicaFrame *f = NULL;
        gboolean ok = to_rgb(dec, dec->frame, &f, error);
        av_frame_unref(dec->frame);
        return ok ? finish_frame(dec, f, i) : NULL;
    }
    return NULL;
}

/* ---- public -------------------------------------------------------------------------------- */

MimicaDecoder *mimica_decoder_open(const char *path, const MimicaDecoderOptions *opts,
                                   GCancellable *cancellable, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    _mimica_media_init();
    _mimica_media_clear_log();
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_NOT_FOUND,
                    "%s: no such file or folder", path);
        return NULL;
    }
    MimicaDecoder *dec = g_new0(MimicaDecoder, 1);
    if (opts)
        dec->opts = *opts;
    dec->info.path = g_strdup(path);
    dec->pkt = av_packet_alloc();
    dec->frame = av_frame_alloc();
    dec->stream_index = -1;
    if (!dec->pkt || !dec->frame) {
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_FAILED, "out of memory");
        mimica_decoder_free(dec);
        return NULL;
    }
    gboolean ok = g_file_test(path, G_FILE_TEST_IS_DIR) ? open_folder(dec, error)
                                                        : open_container(dec, cancellable, error);
    if (!ok) {
        mimica_decoder_free(dec);
        return NULL;
    }
    dec->info.n_frames = dec->n_frames;
    return dec;
}

void mimica_decoder_free(MimicaDecoder *dec)
{
    if (!dec)
        return;
    avcodec_free_context(&dec->avctx);
    avformat_close_input(&dec->fmt);
    av_packet_free(&dec->pkt);
    av_frame_free(&dec->frame);
    sws_freeContext(dec->sws);
    g_free(dec->rot_buf);
    g_free(dec->frames);
    g_strfreev(dec->images);
    g_free(dec->info.path);
    g_free(dec->info.container);
    g_free(dec->info.codec);
    g_free(dec->info.sha256);
    g_free(dec);
}

const MimicaMediaInfo *mimica_decoder_get_info(MimicaDecoder *dec)
{
    g_return_val_if_fail(dec != NULL, NULL);
    return &dec->info;
}

gint64 mimica_decoder_get_n_frames(MimicaDecoder *dec)
{
    g_return_val_if_fail(dec != NULL, 0);
    return dec->n_frames;
}

gint64 mimica_decoder_frame_pts(MimicaDecoder *dec, gint64 index)
{
    g_return_val_if_fail(dec != NULL, G_MININT64);
    if (index < 0 || index >= dec->n_frames)
        return G_MININT64;
    return dec->frames[index].pts;
}

gint64 mimica_decoder_frame_at_pts(MimicaDecoder *dec, gint64 pts)
{
    g_return_val_if_fail(dec != NULL, -1);
    return lookup_pts(dec, pts, 0);
}

gint64 mimica_decoder_frame_at_time(MimicaDecoder *dec, double t)
{
    g_return_val_if_fail(dec != NULL, -1);
    if (dec->n_frames == 0)
        return -1;
    if (!(t > 0))
        return 0;
    /* last frame whose start time <= t, with half a tick of slack (a quarter of a frame at
     * most): containers round times to their time base (mkv: 1 ms), so frame 2 of 30 fps is
     * stored at 67 ms, not 66.67 ms */
    double target = t / dec->tb + (double)dec->info.start_pts + dec->slack;
    gint64 lo = 0, hi = dec->n_frames;
    while (lo < hi) {
        gint64 mid = lo + (hi - lo) / 2;
        if ((double)dec->frames[mid].pts <= target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return MAX(lo - 1, 0);
}

gboolean mimica_decoder_frame_is_keyframe(MimicaDecoder *dec, gint64 index)
{
    g_return_val_if_fail(dec != NULL, FALSE);
    return index >= 0 && index < dec->n_frames && dec->frames[index].key;
}

gboolean mimica_decoder_seek(MimicaDecoder *dec, gint64 index, GError **error)
{
    g_return_val_if_fail(dec != NULL, FALSE);
    if (index < 0 || index >= dec->n_frames) {
        g_set_error(error, MIMICA_MEDIA_ERROR, MIMICA_MEDIA_ERROR_OUT_OF_RANGE,
                    "%s: frame %" G_GINT64_FORMAT " is outside 0..%" G_GINT64_FORMAT,
                    dec->info.path, index, dec->n_frames - 1);
        return FALSE;
    }
    dec->truncation_reported = FALSE;
    if (dec->images) {
        dec->next_index = index;
        return TRUE;
    }
    /* forward within reach and no keyframe in between that would be closer: just decode on */
    gboolean can_continue = dec->positioned && !dec->decoder_eof && index >= dec->next_index;
    if (can_continue && index == dec->next_index)
        return TRUE;
    gint64 key = keyframe_at_or_before(dec, index);
    if (can_continue && (index - dec->next_index <= FORWARD_DECODE_MAX || key < dec->next_index)) {
        dec->next_index = index;
        return TRUE;
    }
    /* Decoder timestamps (no packet pts) are guesses from the packets' dts that need the
     * frames before them: start one keyframe earlier so the target's group decodes warm. */
    if (dec->ts_from_decoder && key > 0)
        key = keyframe_at_or_before(dec, key - 1);
    dec->next_index = index;
    dec->seek_attempt = 0;
    dec->verify_seek = TRUE;
    dec->positioned = FALSE;
    if (!container_seek_to_key(dec, MAX(key, 0), error))
        return FALSE;
    dec->positioned = TRUE;
    return TRUE;
}

MimicaFrame *mimica_decoder_next_frame(MimicaDecoder *dec, GError **error)
{
    g_return_val_if_fail(dec != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (dec->images)
        return folder_next(dec, error);
    if (dec->decoder_eof && dec->truncation_reported)
        return NULL;
    if (dec->decoder_eof && !(dec->info.truncated || dec->read_error))
        return NULL;
    return container_next(dec, error);
}

MimicaFrame *mimica_decoder_get_frame(MimicaDecoder *dec, gint64 index, GError **error)
{
    g_return_val_if_fail(dec != NULL, NULL);
    if (!mimica_decoder_seek(dec, index, error))
        return NULL;
    GError *local = NULL;
    MimicaFrame *f = mimica_decoder_next_frame(dec, &local);
    if (f && f->index == index)
        return f;
    if (local && local->code != MIMICA_MEDIA_ERROR_TRUNCATED) {
        g_propagate_error(error, local);
        mimica_frame_unref(f);
        return NULL;
    }
    g_set_error(error, MIMICA_MEDIA_ERROR,
                local ? MIMICA_MEDIA_ERROR_TRUNCATED : MIMICA_MEDIA_ERROR_CORRUPT,
                "%s: frame %" G_GINT64_FORMAT " could not be decoded%s%s", dec->info.path, index,
                local ? ": " : "", local ? local->message : "");
    g_clear_error(&local);
    mimica_frame_unref(f);
    return NULL;
}

gint64 mimica_decoder_get_n_skipped(MimicaDecoder *dec)
{
    g_return_val_if_fail(dec != NULL, 0);
    return dec->n_skipped;
}
