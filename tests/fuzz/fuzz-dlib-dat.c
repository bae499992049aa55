/* fuzz-dlib-dat.c: libFuzzer target for dlib shape-predictor files
 * (mim_shape_predictor_parse, engine/landmark/mim-landmark.c), then what an accepted model does
 * at run time: a prediction in a 64x48 grey image (with dlib's integer points and the
 * confidence), and for 68-point models the mirrored prediction, the mirror error and the box
 * implied by the shape. */
#include "fuzz-common.h"
#include "landmark/mim-landmark.h"

#define W          64
#define H          48
#define MAX_POINTS 1000 /* MAX_LANDMARKS of the reader */

static uint8_t pixels[W * H];
static float xy[2 * MAX_POINTS], xy_mirror[2 * MIM_LANDMARK_N68];
static int32_t xy_dlib[2 * MAX_POINTS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pixels[1])
        for (int i = 0; i < W * H; i++)
            pixels[i] = (uint8_t)((i % W) * 3 + (i / W) * 5 + (i * 7919) % 13);
    char err[512] = "";
    mim_shape_predictor *sp = NULL;
    if (mim_shape_predictor_parse(data, size, &sp, err, sizeof err)) {
        fuzz_check_refusal(err);
        return 0;
    }
    mim_shape_predictor_info info;
    mim_shape_predictor_get_info(sp, &info);
    if (info.n_bytes_read != size || info.n_landmarks < 1 || info.n_landmarks > MAX_POINTS)
        abort();
    mim_image img = mim_image_view(pixels, W, H, W, MIM_IMAGE_GREY8);
    mim_face_box box = {10, 6, 50, 46};
    float confidence;
    mim_shape_predictor_predict(sp, &img, &box, xy, xy_dlib, &confidence);
    if (info.n_landmarks == MIM_LANDMARK_N68) {
        if (mim_shape_predictor_predict_mirrored(sp, &img, &box, xy_mirror))
            abort();
        (void)mim_landmark_mirror_error(sp, &img, &box, xy);
        mim_face_box next;
        mim_landmark_box_from_shape(sp, xy, &next);
    }
    mim_shape_predictor_free(sp);
    return 0;
}
