/* mimica-media-private.h: helpers shared by the files of app/media; not for other modules. */
#pragma once

#include "mimica-media.h"

G_BEGIN_DECLS

/* Routes FFmpeg's log to g_debug (G_MESSAGES_DEBUG=mimica shows it) and remembers, per thread,
 * the last line at error level so error messages can quote FFmpeg's reason. Idempotent. */
void _mimica_media_init(void);

/* The last FFmpeg error line logged on this thread ("" if none) and forgetting it. */
const char *_mimica_media_last_log(void);
void _mimica_media_clear_log(void);
/* Error-level lines FFmpeg's demuxers logged on this thread since the last clear. */
unsigned _mimica_media_n_error_logs(void);

/* The one conversion from an AVERROR code to our error domain. */
MimicaMediaError _mimica_media_error_code(int averror);

/* Sets *error to `code` with "PATH: WHAT (FFmpeg's reason)". averror may be 0. */
void _mimica_media_set_error(GError **error, MimicaMediaError code, const char *path, int averror,
                             const char *what);

/* The images of a folder in frame order: file names sorted with numbers compared as numbers.
 * Returns a NULL-terminated array of full paths (g_strfreev), *n_images their count. */
char **_mimica_media_list_images(const char *dir, gint64 *n_images, GError **error);

G_END_DECLS
