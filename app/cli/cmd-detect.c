/* cmd-detect.c: `mimica-cli detect IMAGE... [--json]`: faces (OpenCV cascade, engine/face) and
 * their 68 landmarks (dlib's shape predictor, engine/landmark) in image files. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face/mim-cascade.h"
#include "image/mimica-image.h"
#include "landmark/mim-landmark.h"
#include "mimica-cli.h"
#include "mimica-error.h"

static const char detect_usage[] =
    "Usage: mimica-cli detect IMAGE... [--json] [--cascade NAME] [--scale-factor F]\n"
    "                         [--min-neighbors N] [--min-size PIXELS] [--no-landmarks]\n"
    "                         [--no-refine]\n"
    "\n"
    "Finds faces with an OpenCV cascade (Debian package opencv-data; folder overridable with\n"
    "MIMICA_OPENCV_DATA_DIR) and places dlib's 68 landmarks in each (libdlib-data;\n"
    "MIMICA_DLIB_DATA_DIR). Images: JPEG, PNG and whatever FFmpeg decodes.\n"
    "\n"
    "  --json             one JSON object per line and image: {\"image\": PATH, \"width\": W,\n"
    "                     \"height\": H, \"faces\": [{\"box\": [x, y, w, h], \"neighbors\": N,\n"
    "                     \"confidence\": C, \"mirror_error\": M, \"landmarks68\": [[x, y] x "
    "68]}]}\n"
    "                     in image pixels (no mirror_error with --no-refine);\n"
    "                     an image that fails gives {\"image\": PATH, \"error\": MESSAGE}\n"
    "  --cascade NAME     a cascade of opencv-data without .xml, or a path to a cascade XML\n"
    "                     (default haarcascade_frontalface_default)\n"
    "  --scale-factor F   pyramid step, > 1 (default 1.1)\n"
    "  --min-neighbors N  detections a face needs (default 3; 0 = raw candidates)\n"
    "  --min-size PIXELS  smallest face side (default: the cascade's window)\n"
    "  --no-landmarks     boxes only (no landmarks68; confidence is null)\n"
    "  --no-refine        landmarks from one prediction in the mapped box, no box search\n"
    "\n"
    "box is OpenCV's rectangle; neighbors the number of raw detections merged into it (OpenCV's\n"
    "numDetections); landmarks68 come from the predictor started in the box mapped to dlib's\n"
    "detector convention and in boxes around it, keeping the result that agrees best with the\n"
    "predictor's result on the mirrored image (mirror_error, in inter-ocular distances: about\n"
    "0.02 on a face, above 0.05 suspect); confidence (0..1) is how well the landmarks fit a face\n"
    "shape.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli detect: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", detect_usage);
    return 2;
}

static void json_string(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf(out, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf(out, "\\u%04x", *p);
        else
            g_string_append_c(out, (char)*p);
    }
    g_string_append_c(out, '"');
}

typedef struct {
    const mim_cascade *cascade;
    const mim_shape_predictor *sp; /* NULL: no landmarks */
    mim_detect_opts opts;
    gboolean json;
    gboolean refine; /* box refinement (mim_landmark_fit_detection) */
} detect_job;

/* One image: appends its JSON line (or text lines) to out; FALSE on error (message in out). */
static gboolean detect_one(const detect_job *job, const char *path, GString *out)
{
    GError *error = NULL;
    char err[512];
    mim_image *img = mimica_image_load(path, &error);
    mim_face_rect *faces = NULL;
    size_t n = 0;
    if (img && mim_cascade_detect(job->cascade, img, &job->opts, &faces, &n, err, sizeof err)) {
        g_set_error(&error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: %s", path, err);
        mim_image_free(img);
        img = NULL;
    }
    if (!img) {
        fprintf(stderr, "mimica-cli detect: %s\n", error->message);
        if (job->json) {
            g_string_append(out, "{\"image\": ");
            json_string(out, path);
            g_string_append(out, ", \"error\": ");
            json_string(out, error->message);
            g_string_append(out, "}\n");
        }
        g_error_free(error);
        return FALSE;
    }
    if (job->json) {
        g_string_append(out, "{\"image\": ");
        json_string(out, path);
        g_string_append_printf(out, ", \"width\": %d, \"height\": %d, \"faces\": [", img->width,
                               img->height);
    } else {
        g_string_append_printf(out, "%s: %dx%d, %zu face%s\n", path, img->width, img->height, n,
                               n == 1 ? "" : "s");
    }
    for (size_t i = 0; i < n; i++) {
        const mim_face_rect *f = &faces[i];
        float xy[2 * MIM_LANDMARK_N68], conf = 0, mirror_error = 0;
        if (job->sp) {
            mim_face_box box = mim_face_box_from_cascade(f->x, f->y, f->w, f->h);
            mim_landmark_fit fit;
            if (job->refine &&
                mim_landmark_fit_detection(job->sp, img, &box, NULL, &fit, NULL, 0) == 0) {
                memcpy(xy, fit.xy, sizeof xy);
                conf = fit.confidence;
                mirror_error = fit.mirror_error;
            } else {
                mim_shape_predictor_predict(job->sp, img, &box, xy, NULL, &conf);
            }
        }
        if (!job->json) {
            g_string_append_printf(out, "  box %d %d %d %d  neighbors %d", f->x, f->y, f->w, f->h,
                                   f->neighbors);
            if (job->sp)
                g_string_append_printf(out, "  confidence %.3f", conf);
            if (job->sp && job->refine)
                g_string_append_printf(out, "  mirror error %.3f", mirror_error);
            g_string_append_c(out, '\n');
            continue;
        }
        g_string_append_printf(out, "%s{\"box\": [%d, %d, %d, %d], \"neighbors\": %d, ",
                               i ? ", " : "", f->x, f->y, f->w, f->h, f->neighbors);
        if (!job->sp) {
            g_string_append(out, "\"confidence\": null}");
            continue;
        }
        g_string_append_printf(out, "\"confidence\": %.4f, ", conf);
        if (job->refine && isfinite(mirror_error))
            g_string_append_printf(out, "\"mirror_error\": %.4f, ", mirror_error);
        else if (job->refine)
            g_string_append(out, "\"mirror_error\": null, ");
        g_string_append(out, "\"landmarks68\": [");
        for (int k = 0; k < MIM_LANDMARK_N68; k++)
            g_string_append_printf(out, "%s[%.2f, %.2f]", k ? ", " : "", xy[2 * k], xy[2 * k + 1]);
        g_string_append(out, "]}");
    }
    if (job->json)
        g_string_append(out, "]}\n");
    free(faces);
    mim_image_free(img);
    return TRUE;
}

static int detect_run(int argc, char **argv)
{
    const char *cascade_name = NULL;
    detect_job job = {.refine = TRUE};
    gboolean landmarks = TRUE;
    mim_detect_opts_init(&job.opts);
    g_autoptr(GPtrArray) images = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(detect_usage, stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            job.json = TRUE;
        } else if (!strcmp(a, "--no-landmarks")) {
            landmarks = FALSE;
        } else if (!strcmp(a, "--no-refine")) {
            job.refine = FALSE;
        } else if (!strcmp(a, "--cascade") || !strcmp(a, "--scale-factor") ||
                   !strcmp(a, "--min-neighbors") || !strcmp(a, "--min-size")) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            char *end;
            if (!strcmp(a, "--cascade")) {
                cascade_name = v;
            } else if (!strcmp(a, "--scale-factor")) {
                job.opts.scale_factor = g_ascii_strtod(v, &end);
                if (*end || end == v || !(job.opts.scale_factor > 1.0) ||
                    job.opts.scale_factor > 100)
                    return usage_error("--scale-factor '%s' is not a number in (1, 100]", v);
            } else {
                gint64 n;
                if (!g_ascii_string_to_signed(v, 10, 0, 100000, &n, NULL))
                    return usage_error("'%s' is not a whole number from 0", v);
                if (!strcmp(a, "--min-neighbors"))
                    job.opts.min_neighbors = (int)n;
                else
                    job.opts.min_width = job.opts.min_height = (int)n;
            }
        } else if (g_str_has_prefix(a, "--")) {
            return usage_error("unknown option '%s'", a);
        } else {
            g_ptr_array_add(images, (gpointer)a);
        }
    }
    if (images->len == 0)
        return usage_error("%s", "no IMAGE given");

    char err[1024];
    mim_cascade *cascade = NULL;
    if (mim_cascade_load_named(cascade_name, &cascade, err, sizeof err) != 0) {
        fprintf(stderr, "mimica-cli detect: %s\n", err);
        return 1;
    }
    mim_shape_predictor *sp = NULL;
    if (landmarks && mim_shape_predictor_load(NULL, &sp, err, sizeof err) != 0) {
        fprintf(stderr, "mimica-cli detect: %s (use --no-landmarks for boxes only)\n", err);
        mim_cascade_free(cascade);
        return 1;
    }
    job.cascade = cascade;
    job.sp = sp;
    int status = 0;
    g_autoptr(GString) out = g_string_new(NULL);
    for (guint i = 0; i < images->len; i++) {
        g_string_truncate(out, 0);
        if (!detect_one(&job, images->pdata[i], out))
            status = 1;
        if (fwrite(out->str, 1, out->len, stdout) != out->len || fflush(stdout) != 0) {
            fprintf(stderr, "mimica-cli detect: cannot write the output\n");
            status = 1;
            break;
        }
    }
    mim_shape_predictor_free(sp);
    mim_cascade_free(cascade);
    return status;
}

const MimicaCliCommand mimica_cli_detect = {
    .name = "detect",
    .summary = "find faces and their 68 landmarks in image files (JSON lines with --json)",
    .run = detect_run,
};
