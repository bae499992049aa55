/* mimica-media.h: the media layer's shared types: its error domain, the facts about a video
 * (MimicaMediaInfo, from mimica_media_probe) and decoded RGB frames (MimicaFrame).
 *
 * A "video" is a file FFmpeg can demux (mp4, mkv, avi, webm, mov, ...) or a folder of images
 * (png, jpg, bmp, tiff, ppm, webp; sorted by name, numbers compared as numbers; each image
 * delivered at its own size; EXIF orientation is not applied; an image that does not decode is
 * skipped and counted). Rotation: multiples of 90 degrees from the display matrix; a mirrored
 * matrix is treated as its rotation part only.
 *
 * Frame indices: frame i is the i-th frame in presentation order. On open the decoder builds the
 * exact presentation timestamp (pts) of every frame from a demux-only pass over the packets (no
 * decoding; if the container gives packets without pts, a decoding pass instead), so index <->
 * pts is exact for constant and variable frame rates alike. See mimica-decoder.h.
 *
 * Synchronous decoding: mimica-decoder.h. Decoding on its own thread: mimica-video-source.h. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define MIMICA_MEDIA_ERROR (mimica_media_error_quark())

typedef enum {
    MIMICA_MEDIA_ERROR_FAILED,       /* anything else (out of memory, an FFmpeg failure) */
    MIMICA_MEDIA_ERROR_NOT_FOUND,    /* no such file or folder */
    MIMICA_MEDIA_ERROR_IO,           /* the file exists but cannot be read (permissions, I/O) */
    MIMICA_MEDIA_ERROR_CORRUPT,      /* not a media file, or data that cannot be demuxed/decoded */
    MIMICA_MEDIA_ERROR_TRUNCATED,    /* the file ends before its last frame, or the demuxer lost
                                        data in it (frames before that are delivered first) */
    MIMICA_MEDIA_ERROR_NO_VIDEO,     /* a media file without a video stream, or an empty folder */
    MIMICA_MEDIA_ERROR_UNSUPPORTED,  /* no decoder for the codec */
    MIMICA_MEDIA_ERROR_OUT_OF_RANGE, /* a frame index outside 0 .. n_frames-1 */
} MimicaMediaError;

GQuark mimica_media_error_quark(void);

/* The facts about one video. All fields are filled by mimica_media_probe(); the decoder's copy
 * (mimica_decoder_get_info) leaves sha256 NULL. */
typedef struct {
    char *path;        /* as given */
    char *container;   /* FFmpeg demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm",
                          "avi", ...) or "image-folder" */
    char *codec;       /* decoder name ("h264", "mpeg4", ...; for folders the first image's) */
    char *sha256;      /* lowercase hex SHA-256 of the file's bytes; for a folder, of each
                          image's name and bytes in frame order; NULL unless probed */
    gint64 n_frames;   /* frames in the index (the frames that can be delivered) */
    double duration_s; /* first frame's pts to the last frame's end, in seconds */
    int fps_num;       /* average frame rate fps_num/fps_den (n_frames / duration) */
    int fps_den;
    gboolean variable_frame_rate; /* frame durations differ by more than timestamp rounding */
    int width;                    /* displayed size: after rotation, what MimicaFrame holds */
    int height;
    int coded_width; /* size as stored in the stream (before rotation) */
    int coded_height;
    int rotation;      /* degrees clockwise (0, 90, 180, 270) applied to the decoded picture, from
                          the display matrix; the RGB frames are already rotated */
    int time_base_num; /* unit of the pts values (stream time base); folders: 1/fps */
    int time_base_den;
    gint64 start_pts;   /* pts of frame 0 */
    gboolean truncated; /* the file is cut short or damaged (the container promises more than
                           it holds, or the demuxer reported errors): reading past the last
                           indexed frame reports MIMICA_MEDIA_ERROR_TRUNCATED. Frames are
                           numbered as found; where a damaged container lost packets, later
                           indices are lower than in the intact file */
    gboolean is_image_folder;
} MimicaMediaInfo;

void mimica_media_info_free(MimicaMediaInfo *info);
MimicaMediaInfo *mimica_media_info_copy(const MimicaMediaInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaMediaInfo, mimica_media_info_free)

/* Opens the video (file or image folder), builds its frame index (one pass over the file) and
 * hashes its bytes (a second, streamed pass). For `mimica-cli project add`. A truncated file
 * probes fine and says so in ->truncated; a missing, unreadable or corrupt one fails with the
 * MIMICA_MEDIA_ERROR code above. */
MimicaMediaInfo *mimica_media_probe(const char *path, GCancellable *cancellable, GError **error);

/* Lowercase hex SHA-256 of a file's bytes (streamed in 1 MiB blocks) or, for a folder, of its
 * images' names and bytes in frame order. */
char *mimica_media_hash(const char *path, GCancellable *cancellable, GError **error);

/* A decoded frame: packed RGB24, rotation applied, refcounted and immutable once delivered
 * (may be passed between threads). */
typedef struct {
    gint64 index;  /* frame index, 0-based, presentation order */
    gint64 pts;    /* presentation timestamp in the stream time base (info->time_base) */
    double time_s; /* (pts - info->start_pts) * time_base: seconds since frame 0 */
    int width;
    int height;
    int stride;   /* bytes per row, >= 3 * width */
    guint8 *data; /* height rows of stride bytes, R G B per pixel */
} MimicaFrame;

#define MIMICA_TYPE_FRAME (mimica_frame_get_type())
GType mimica_frame_get_type(void);

/* A frame with uninitialised pixels (for tests and producers). */
MimicaFrame *mimica_frame_new(int width, int height);
MimicaFrame *mimica_frame_ref(MimicaFrame *frame);
void mimica_frame_unref(MimicaFrame *frame);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimicaFrame, mimica_frame_unref)

G_END_DECLS
