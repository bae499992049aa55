/* test-media-util.h: clips for the media tests, made with the FFmpeg libraries. Every frame
 * carries its own index as a 4 x 3 grid of dark/bright blocks (bit b = block b in row order), so
 * a test can read back which frame it got, also after rotation. */
#pragma once

#include <glib.h>

#include "media/mimica-media.h"

typedef struct {
    const char *format;  /* muxer: "mp4", "matroska", "avi", "webm", "mov" */
    const char *encoder; /* "mpeg4", "libx264", "mjpeg", "ffv1", "libvpx", "libvpx-vp9" */
    int width, height;   /* 0: 64 x 48 */
    int n_frames;
    int fps;              /* constant frame rate (time base 1/fps) when pts_ms is NULL */
    const gint64 *pts_ms; /* variable frame rate: frame i at pts_ms[i] ms (time base 1/1000) */
    int rotation;         /* display matrix: rotate this many degrees clockwise to display */
    int gop;              /* keyframe interval; 0: 10 */
    int b_frames;
    gboolean faststart; /* mp4/mov: index (moov) before the data */
    int noise;          /* +-noise of seeded luma noise per pixel: bigger frames, so that data,
                           not headers, fill the file (truncation tests) */
} TmClip;

/* Writes the clip. FALSE with *skip set (and no error) when this libavcodec lacks the encoder
 * or muxer; FALSE with *error on a failure. */
gboolean tm_make_clip(const char *path, const TmClip *clip, char **skip, GError **error);

/* Writes n PNG images named PREFIX1.png .. PREFIXn.png (no zero padding: the folder reader has
 * to sort numbers as numbers) of w x h, image i carrying index i-1. */
gboolean tm_make_image_folder(const char *dir, const char *prefix, int n, int w, int h,
                              GError **error);

/* The index a frame carries, reading the grid of a src_w x src_h picture displayed after
 * rotating it `rotation` degrees clockwise. -1 if a block is neither dark nor bright.
 * *margin (may be NULL): the smallest distance of a block's mean from the threshold. */
int tm_read_index(const MimicaFrame *frame, int rotation, int src_w, int src_h, double *margin);

/* Truncates a file to `fraction` of its size; overwrites n bytes at `fraction` with seeded
 * garbage. */
gboolean tm_truncate(const char *path, double fraction, GError **error);
gboolean tm_garble(const char *path, double fraction, gsize n, guint32 seed, GError **error);
