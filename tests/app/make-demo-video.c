/* make-demo-video.c: writes the demo video of `make run` (data/demo/mimica-demo.mp4) from the
 * face fixtures: face-clips.c's "demo" scene, a real face (faceapi sample6, MIT) moved and
 * deformed into expressions by the face generator, H.264 in MP4.
 *
 *   build/tests/app/make-demo-video ../shared data/demo/mimica-demo.mp4
 */
#include <glib.h>
#include <stdio.h>

#include "face-clips.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "Usage: make-demo-video SHARED_DIR OUTPUT.mp4\n");
        return 2;
    }
    GError *error = NULL;
    g_autoptr(FcScene) s = fc_scene_preset("demo", argv[1], &error);
    char *skip = NULL;
    if (!s || !fc_make_clip(argv[2], s, &skip, &error)) {
        fprintf(stderr, "make-demo-video: %s\n", skip ? skip : error->message);
        return 1;
    }
    printf("%s: %d frames, %dx%d, %d fps\n", argv[2], s->n_frames, s->width, s->height, s->fps);
    return 0;
}
