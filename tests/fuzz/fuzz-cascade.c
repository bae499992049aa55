/* fuzz-cascade.c: libFuzzer target for OpenCV cascade XML (mim_cascade_load_buffer,
 * engine/face/mim-cascade.c), then a detection with an accepted cascade in a 48x40 grey image
 * (mim-detect.c: pyramid, integral images, stage evaluation, grouping). */
#include "face/mim-cascade.h"
#include "fuzz-common.h"

#define W 48
#define H 40

static uint8_t pixels[W * H];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pixels[1])
        for (int i = 0; i < W * H; i++)
            pixels[i] = (uint8_t)((i % W) * 5 + (i / W) * 3 + (i * 7919) % 17);
    char err[512] = "";
    mim_cascade *c = NULL;
    if (mim_cascade_load_buffer((const char *)data, size, &c, err, sizeof err)) {
        fuzz_check_refusal(err);
        return 0;
    }
    mim_cascade_info info;
    mim_cascade_get_info(c, &info);
    if (info.n_stages < 1 || info.n_weak < info.n_stages || info.n_features < 1)
        abort();
    for (int s = 0; s < info.n_stages; s++)
        if (mim_cascade_stage_n_weak(c, s) < 1)
            abort();
    mim_image img = mim_image_view(pixels, W, H, W, MIM_IMAGE_GREY8);
    mim_detect_opts opts;
    mim_detect_opts_init(&opts);
    opts.scale_factor = 1.2;
    mim_face_rect *rects = NULL;
    size_t n = 0;
    err[0] = 0;
    if (mim_cascade_detect(c, &img, &opts, &rects, &n, err, sizeof err))
        fuzz_check_refusal(err);
    for (size_t i = 0; i < n; i++)
        if (rects[i].x < 0 || rects[i].y < 0 || rects[i].w <= 0 || rects[i].h <= 0 ||
            rects[i].x + rects[i].w > W || rects[i].y + rects[i].h > H)
            abort();
    free(rects);
    mim_cascade_free(c);
    return 0;
}
