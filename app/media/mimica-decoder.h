/* mimica-decoder.h: synchronous, frame-exact decoding of one video (file or image folder).
 *
 * Index: mimica_decoder_open() reads every packet of the video stream once without decoding and
 * records each frame's pts and whether it is a keyframe; frame i is the i-th smallest pts.
 * Packets flagged as discarded (edit lists) are not frames. If the container gives packets
 * without pts (some AVI, raw streams), the index comes from a full decoding pass instead, using
 * the decoder's timestamps. An image folder's frame i is its i-th image (pts = i, time base
 * 1/fps).
 *
 * Seeking to frame i: seek the demuxer to the last keyframe at or before frame i, decode forward
 * and deliver the frame whose pts equals frame i's; if the demuxer landed too late, retry from an
 * earlier keyframe, finally from the start. A request for a frame shortly after the current
 * position decodes forward without seeking. Streams indexed by decoding start one keyframe
 * earlier still, so that the decoder's timestamp guesses match the index pass's.
 *
 * Not thread-safe: one decoder per thread (MimicaVideoSource runs one on its own thread). */
#pragma once

#include "mimica-media.h"

G_BEGIN_DECLS

typedef struct _MimicaDecoder MimicaDecoder;

typedef struct {
    int n_threads;     /* decoder threads; 0 = FFmpeg's choice, 1 = this thread only */
    int image_fps_num; /* frame rate of image folders; 0 = 30/1 */
    int image_fps_den;
} MimicaDecoderOptions;

/* opts may be NULL (defaults). Fails with MIMICA_MEDIA_ERROR_NOT_FOUND, _IO, _CORRUPT,
 * _NO_VIDEO, _UNSUPPORTED, or G_IO_ERROR_CANCELLED. */
MimicaDecoder *mimica_decoder_open(const char *path, const MimicaDecoderOptions *opts,
                                   GCancellable *cancellable, GError **error);
void mimica_decoder_free(MimicaDecoder *dec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaDecoder, mimica_decoder_free)

/* Borrowed; sha256 is NULL (see mimica_media_probe). */
const MimicaMediaInfo *mimica_decoder_get_info(MimicaDecoder *dec);
gint64 mimica_decoder_get_n_frames(MimicaDecoder *dec);

/* Index <-> timestamp (exact; read-only after open, so safe from any thread while the decoder
 * lives). frame_pts returns G_MININT64 for an index out of range; frame_at_pts -1 if no frame
 * has exactly that pts; frame_at_time the frame on screen at t seconds since frame 0 (the last
 * frame starting at or before t; 0 for t < 0). */
gint64 mimica_decoder_frame_pts(MimicaDecoder *dec, gint64 index);
gint64 mimica_decoder_frame_at_pts(MimicaDecoder *dec, gint64 pts);
gint64 mimica_decoder_frame_at_time(MimicaDecoder *dec, double t);
gboolean mimica_decoder_frame_is_keyframe(MimicaDecoder *dec, gint64 index);

/* Positions the decoder so that the next mimica_decoder_next_frame() returns frame `index`. */
gboolean mimica_decoder_seek(MimicaDecoder *dec, gint64 index, GError **error);

/* The next frame in presentation order. At the end returns NULL with *error unset; from a
 * truncated file, after the last frame that decodes, NULL with MIMICA_MEDIA_ERROR_TRUNCATED
 * (once; the call after that returns NULL without error). Frames that fail to decode are skipped
 * and counted (mimica_decoder_get_n_skipped). */
MimicaFrame *mimica_decoder_next_frame(MimicaDecoder *dec, GError **error);

/* seek + next_frame, checking the result is frame `index`. */
MimicaFrame *mimica_decoder_get_frame(MimicaDecoder *dec, gint64 index, GError **error);

/* Frames of the index that the decoder could not deliver so far (decode errors, and frames a
 * damaged file lost: in a constant-rate stream their numbers are kept, so that every frame's
 * index follows its presentation time). */
gint64 mimica_decoder_get_n_skipped(MimicaDecoder *dec);

G_END_DECLS
