/* mimica-transport.h: playback and the transport bar (play/pause, frame steps, J/K/L shuttle,
 * speed, time and frame, loop). Owns the video's MimicaVideoSource and a ring of decoded frames
 * around the playhead; the frame clock decides which frame is on screen. */
#pragma once

#include <gtk/gtk.h>

#include "media/mimica-video-source.h"

G_BEGIN_DECLS

#define MIMICA_TYPE_TRANSPORT (mimica_transport_get_type())
G_DECLARE_FINAL_TYPE(MimicaTransport, mimica_transport, MIMICA, TRANSPORT, GtkWidget)

GtkWidget *mimica_transport_new(void);
/* Takes a reference; NULL closes the video. Shows frame 0. */
void mimica_transport_set_source(MimicaTransport *self, MimicaVideoSource *source);
MimicaVideoSource *mimica_transport_get_source(MimicaTransport *self);
/* The frame on screen (borrowed; NULL before the first one arrives) and its index. */
MimicaFrame *mimica_transport_get_frame(MimicaTransport *self);
gint64 mimica_transport_get_position(MimicaTransport *self);
gint64 mimica_transport_get_n_frames(MimicaTransport *self);
double mimica_transport_get_fps(MimicaTransport *self);

void mimica_transport_seek(MimicaTransport *self, gint64 index);
void mimica_transport_step(MimicaTransport *self, gint64 delta);
void mimica_transport_step_seconds(MimicaTransport *self, double seconds);
void mimica_transport_play(MimicaTransport *self);
void mimica_transport_pause(MimicaTransport *self);
void mimica_transport_toggle_play(MimicaTransport *self);
gboolean mimica_transport_is_playing(MimicaTransport *self);
/* J (-1) / K (0) / L (+1): faster in that direction, or pause. */
void mimica_transport_shuttle(MimicaTransport *self, int direction);
double mimica_transport_get_speed(MimicaTransport *self);
void mimica_transport_set_speed(MimicaTransport *self, double speed);
/* The I/O range (-1 = unset) and looping over it (or the whole video when unset). */
void mimica_transport_set_range(MimicaTransport *self, gint64 in, gint64 out);
void mimica_transport_get_range(MimicaTransport *self, gint64 *in, gint64 *out);
void mimica_transport_set_loop(MimicaTransport *self, gboolean loop);
gboolean mimica_transport_get_loop(MimicaTransport *self);
/* Writes the tick log (MIMICA_TICK_LOG=FILE turns it on; one line per frame-clock tick while
 * playing: clock us, frame shown, speed x 1000). */
gboolean mimica_transport_save_tick_log(MimicaTransport *self, const char *path, GError **error);

G_END_DECLS
