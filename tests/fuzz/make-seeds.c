/* make-seeds.c: writes the seeds of the fuzz targets that the project's own writers can make
 * (tests/fuzz/corpus/README.md): run `build-fuzz/tests/app/fuzz-make-seeds tests/fuzz/corpus`.
 *
 *   safetensors/  a model (F32 and F16) and a checkpoint of the cut layout (fuzz-model.h)
 *                 written by mim_aunet_file_write and mim_checkpoint_write; a plain file of every
 * kind of tensor (dtypes, a scalar, an empty one) and UTF-8 metadata (mim_st_writer) dlib-dat/ two
 * small shape predictors in dlib's portable format (encoder below, FORMATS.md A.1): 68 points (2
 * levels of 3 depth-2 trees) and 2 points cascade/      a Haar cascade (2-, 3-rectangle and tilted
 * features, a stump stage and a two-node tree) and an LBP cascade, in OpenCV's opencv_storage XML
 *   pack/         a pack of no records (mim_pack_writer); synth-1.pack comes from mimica-cli
 *   adld/         list sets for fuzz-adld: sections separated by 0x1E
 *   elan/         labels CSVs of one and of two annotators with overlapping events
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "aunet/mim-aunet-file.h"
#include "aunet/mim-rng.h"
#include "fuzz-model.h"
#include "mim-checkpoint.h"
#include "mim-pack.h"

static const char *out_dir;

static char *path_of(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", out_dir, rel);
    char *slash = strrchr(buf, '/');
    *slash = 0;
    if (mkdir(buf, 0755) && errno != EEXIST) {
        fprintf(stderr, "make-seeds: cannot create %s\n", buf);
        exit(1);
    }
    *slash = '/';
    return buf;
}

static void check(int rc, const char *what, const char *err)
{
    if (rc) {
        fprintf(stderr, "make-seeds: %s: %s\n", what, err);
        exit(1);
    }
}

static void write_bytes(const char *rel, const void *data, size_t n)
{
    FILE *f = fopen(path_of(rel), "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) {
        fprintf(stderr, "make-seeds: cannot write %s\n", rel);
        exit(1);
    }
    printf("%-34s %6zu bytes\n", rel, n);
}

static void print_size(const char *rel)
{
    struct stat st;
    if (stat(path_of(rel), &st) == 0)
        printf("%-34s %6lld bytes\n", rel, (long long)st.st_size);
}

/* ---- safetensors ---------------------------------------------------------------------------- */

static void safetensors_seeds(void)
{
    char err[512];
    mim_aunet_layout cut;
    mim_aunet_layout *full = fuzz_model_layout(&cut);
    float *params[FUZZ_MODEL_N_PARAMS], *m[FUZZ_MODEL_N_PARAMS], *v[FUZZ_MODEL_N_PARAMS];
    int64_t t[FUZZ_MODEL_N_PARAMS];
    for (int p = 0; p < FUZZ_MODEL_N_PARAMS; p++) {
        params[p] = calloc(cut.params[p].numel, sizeof(float));
        m[p] = calloc(cut.params[p].numel, sizeof(float));
        v[p] = calloc(cut.params[p].numel, sizeof(float));
        t[p] = cut.params[p].trainable ? 12 : 0;
    }
    mim_rng rng;
    mim_rng_seed(&rng, 14);
    mim_aunet_layout_init(&cut, &rng, params);
    for (int p = 0; p < FUZZ_MODEL_N_PARAMS; p++)
        for (size_t k = 0; k < cut.params[p].numel; k++) {
            m[p][k] = params[p][k] * 0.01f;
            v[p][k] = params[p][k] * params[p][k] * 0.001f;
        }
    mim_aunet_info info = {.n_au = 1, .n_land = 1};
    snprintf(info.au_list, sizeof info.au_list, "12");
    snprintf(info.provenance, sizeof info.provenance,
             "fuzz seed: Ef.net.0-2 of the 1-AU layout, seed 14 (tests/fuzz/make-seeds.c)");
    check(mim_aunet_file_write(path_of("safetensors/model.safetensors"), &cut,
                               (const float *const *)params, &info, err, sizeof err),
          "model", err);
    print_size("safetensors/model.safetensors");
    info.half = 1; /* the same weights as F16 */
    check(mim_aunet_file_write(path_of("safetensors/model-f16.safetensors"), &cut,
                               (const float *const *)params, &info, err, sizeof err),
          "model (F16)", err);
    print_size("safetensors/model-f16.safetensors");
    info.half = 0;
    mim_checkpoint c = {.layout = &cut,
                        .params = params,
                        .adam_m = m,
                        .adam_v = v,
                        .adam_t = t,
                        .step = 12,
                        .rng = rng};
    snprintf(c.state, sizeof c.state, "epoch=0 batch=4 lr=0.0001 order=3,1,0,2");
    check(mim_checkpoint_write(path_of("safetensors/checkpoint.safetensors"), &c, &info, err,
                               sizeof err),
          "checkpoint", err);
    print_size("safetensors/checkpoint.safetensors");

    mim_st_writer *w = mim_st_writer_new();
    const int64_t s23[2] = {2, 3}, s4[1] = {4}, s0[2] = {0, 5};
    const float f6[6] = {1, -2.5f, 3e-8f, 0, 1e30f, -0.0f};
    const uint16_t h4[4] = {0x3c00, 0xc000, 0x7bff, 0x0001};
    const int64_t i4[4] = {-1, 0, INT64_MAX, INT64_MIN};
    const uint8_t b4[4] = {0, 1, 1, 0};
    const double d1 = 3.14159;
    check(mim_st_writer_set_meta(w, "format", "pt", err, sizeof err) ||
              mim_st_writer_set_meta(w, "note", "Zo\xc3\xab \xe2\x80\x94 \"quoted\"\n", err,
                                     sizeof err) ||
              mim_st_writer_add(w, "f32", MIM_ST_F32, 2, s23, f6, err, sizeof err) ||
              mim_st_writer_add(w, "f16", MIM_ST_F16, 1, s4, h4, err, sizeof err) ||
              mim_st_writer_add(w, "bf16", MIM_ST_BF16, 1, s4, h4, err, sizeof err) ||
              mim_st_writer_add(w, "i64", MIM_ST_I64, 1, s4, i4, err, sizeof err) ||
              mim_st_writer_add(w, "bool", MIM_ST_BOOL, 1, s4, b4, err, sizeof err) ||
              mim_st_writer_add(w, "empty", MIM_ST_F32, 2, s0, NULL, err, sizeof err) ||
              mim_st_writer_add(w, "scalar \xce\xbb", MIM_ST_F64, 0, NULL, &d1, err, sizeof err) ||
              mim_st_writer_write(w, path_of("safetensors/plain.safetensors"), err, sizeof err),
          "plain", err);
    print_size("safetensors/plain.safetensors");
    mim_st_writer_free(w);
    for (int p = 0; p < FUZZ_MODEL_N_PARAMS; p++) {
        free(params[p]);
        free(m[p]);
        free(v[p]);
    }
    mim_aunet_layout_free(full);
}

/* ---- dlib portable serialization (FORMATS.md A.1) -------------------------------------------- */

typedef struct {
    uint8_t *b;
    size_t n, cap;
} bytes;

static void put_byte(bytes *o, uint8_t v)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? 2 * o->cap : 4096;
        o->b = realloc(o->b, o->cap);
        if (!o->b)
            abort();
    }
    o->b[o->n++] = v;
}

/* control byte (bit 7 sign, low bits the byte count), then the magnitude little-endian */
static void put_int(bytes *o, int64_t v)
{
    uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    uint8_t b[8];
    int n = 0;
    do {
        b[n++] = (uint8_t)mag;
        mag >>= 8;
    } while (mag);
    put_byte(o, (uint8_t)(n | (v < 0 ? 0x80 : 0)));
    for (int i = 0; i < n; i++)
        put_byte(o, b[i]);
}

/* mantissa * 2^exponent with a 24-bit mantissa: exact for every float */
static void put_float(bytes *o, float v)
{
    int e = 0;
    double f = v != 0 ? frexp(v, &e) : 0;
    put_int(o, (int64_t)ldexp(f, 24));
    put_int(o, v != 0 ? e - 24 : 0);
}

static void put_column(bytes *o, const float *v, int n)
{
    put_int(o, -n); /* the new format: negated dimensions */
    put_int(o, -1);
    for (int i = 0; i < n; i++)
        put_float(o, v[i]);
}

static void dlib_seed(const char *rel, int n_land, int n_levels, int n_trees, int depth,
                      int n_features)
{
    bytes o = {0};
    int two_l = 2 * n_land, n_splits = (1 << depth) - 1;
    float *col = malloc(sizeof(float) * two_l);
    put_int(&o, 1); /* version */
    for (int k = 0; k < n_land; k++) {
        col[2 * k] = 0.15f + 0.7f * (float)(k % 9) / 8;
        col[2 * k + 1] = 0.1f + 0.8f * (float)(k / 9) / 7;
    }
    put_column(&o, col, two_l);
    put_int(&o, n_levels);
    for (int lv = 0; lv < n_levels; lv++) {
        put_int(&o, n_trees);
        for (int t = 0; t < n_trees; t++) {
            put_int(&o, n_splits);
            for (int s = 0; s < n_splits; s++) {
                put_int(&o, (s + t) % n_features);
                put_int(&o, (s + t + 1 + lv) % n_features);
                put_float(&o, (float)(s - t) * 4.0f);
            }
            put_int(&o, n_splits + 1);
            for (int l = 0; l <= n_splits; l++) {
                for (int k = 0; k < two_l; k++)
                    col[k] = 0.001f * (float)((k * 7 + l * 3 + t) % 11 - 5) / (float)(lv + 1);
                put_column(&o, col, two_l);
            }
        }
    }
    put_int(&o, n_levels);
    for (int lv = 0; lv < n_levels; lv++) {
        put_int(&o, n_features);
        for (int i = 0; i < n_features; i++)
            put_int(&o, (i * 11 + lv) % n_land);
    }
    put_int(&o, n_levels);
    for (int lv = 0; lv < n_levels; lv++) {
        put_int(&o, n_features);
        for (int i = 0; i < n_features; i++) {
            put_float(&o, 0.02f * (float)(i % 5 - 2));
            put_float(&o, -0.015f * (float)(i % 3 - 1));
        }
    }
    write_bytes(rel, o.b, o.n);
    free(col);
    free(o.b);
}

/* ---- OpenCV cascades --------------------------------------------------------------------------
 */

static const char haar_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!-- fuzz seed (tests/fuzz/make-seeds.c): a 24x24 Haar cascade of two stages -->\n"
    "<opencv_storage>\n"
    "<cascade type_id=\"opencv-cascade-classifier\"><stageType>BOOST</stageType>\n"
    "  <featureType>HAAR</featureType>\n"
    "  <height>24</height>\n"
    "  <width>24</width>\n"
    "  <stageParams>\n"
    "    <maxWeakCount>2</maxWeakCount></stageParams>\n"
    "  <featureParams>\n"
    "    <maxCatCount>0</maxCatCount></featureParams>\n"
    "  <stageNum>2</stageNum>\n"
    "  <stages>\n"
    "    <_>\n"
    "      <maxWeakCount>2</maxWeakCount>\n"
    "      <stageThreshold>-1.5e+00</stageThreshold>\n"
    "      <weakClassifiers>\n"
    "        <_>\n"
    "          <internalNodes>\n"
    "            0 -1 0 -3.1e-02</internalNodes>\n"
    "          <leafValues>\n"
    "            -8.0e-01 7.5e-01</leafValues></_>\n"
    "        <_>\n"
    "          <internalNodes>\n"
    "            0 -1 1 1.2e-02</internalNodes>\n"
    "          <leafValues>\n"
    "            6.0e-01 -7.0e-01</leafValues></_></weakClassifiers></_>\n"
    "    <_>\n"
    "      <maxWeakCount>1</maxWeakCount>\n"
    "      <stageThreshold>-2.0e+00</stageThreshold>\n"
    "      <weakClassifiers>\n"
    "        <_>\n"
    "          <internalNodes>\n"
    "            1 -1 2 5.0e-03 0 -2 3 -4.0e-03</internalNodes>\n"
    "          <leafValues>\n"
    "            -5.0e-01 4.0e-01 9.0e-01</leafValues></_></weakClassifiers></_></stages>\n"
    "  <features>\n"
    "    <_>\n"
    "      <rects>\n"
    "        <_>\n"
    "          6 4 12 9 -1.</_>\n"
    "        <_>\n"
    "          6 7 12 3 3.</_></rects></_>\n"
    "    <_>\n"
    "      <rects>\n"
    "        <_>\n"
    "          3 12 18 6 -1.</_>\n"
    "        <_>\n"
    "          9 12 6 6 3.</_></rects></_>\n"
    "    <_>\n"
    "      <rects>\n"
    "        <_>\n"
    "          0 0 24 12 -1.</_>\n"
    "        <_>\n"
    "          0 0 12 6 2.</_>\n"
    "        <_>\n"
    "          12 6 12 6 2.</_></rects></_>\n"
    "    <_>\n"
    "      <rects>\n"
    "        <_>\n"
    "          10 2 8 4 -1.</_>\n"
    "        <_>\n"
    "          10 2 4 4 2.</_></rects>\n"
    "      <tilted>1</tilted></_></features></cascade>\n"
    "</opencv_storage>\n";

static const char lbp_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<opencv_storage>\n"
    "<cascade type_id=\"opencv-cascade-classifier\">\n"
    "  <stageType>BOOST</stageType>\n"
    "  <featureType>LBP</featureType>\n"
    "  <height>24</height>\n"
    "  <width>24</width>\n"
    "  <stageParams>\n"
    "    <maxWeakCount>2</maxWeakCount></stageParams>\n"
    "  <featureParams>\n"
    "    <maxCatCount>256</maxCatCount>\n"
    "    <featSize>1</featSize></featureParams>\n"
    "  <stageNum>1</stageNum>\n"
    "  <stages>\n"
    "    <_>\n"
    "      <maxWeakCount>2</maxWeakCount>\n"
    "      <stageThreshold>-1.2</stageThreshold>\n"
    "      <weakClassifiers>\n"
    "        <_>\n"
    "          <internalNodes>\n"
    "            0 -1 0 -67130709 -21569 -1426120013 -1275125205 -21585\n"
    "            -16385 587145899 -24005</internalNodes>\n"
    "          <leafValues>\n"
    "            -0.65 0.88</leafValues></_>\n"
    "        <_>\n"
    "          <internalNodes>\n"
    "            0 -1 1 -163512766 -769593758 -10027009 -262145 -514457854\n"
    "            -193593353 -524289 -1</internalNodes>\n"
    "          <leafValues>\n"
    "            -0.78 0.57</leafValues></_></weakClassifiers></_></stages>\n"
    "  <features>\n"
    "    <_>\n"
    "      <rect>\n"
    "        4 5 5 4</rect></_>\n"
    "    <_>\n"
    "      <rect>\n"
    "        0 9 8 5</rect></_></features></cascade>\n"
    "</opencv_storage>\n";

/* ---- lists ----------------------------------------------------------------------------------- */

static void adld_seed(const char *rel, const char *const *images, int n, const char *aus, int n_au)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s\n", images[i]);
    fputc(0x1e, f);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < MIM_PACK_N_LAND; k++)
            fprintf(f, "%s%.4f %.3f", k ? " " : "", 40 + 120.0 * (k % 10) / 9 + i,
                    50 + 100.0 * (k / 10) / 4 - 0.5 * i);
        fputc('\n', f);
    }
    fputc(0x1e, f);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n_au; k++)
            fprintf(f, "%s%s",
                    (k + i) % 5 == 4 ? "999"
                    : (k + i) % 2    ? "1"
                                     : "0",
                    k + 1 < n_au ? "\t" : "\r\n");
    if (aus)
        fprintf(f, "%c%s", 0x1e, aus);
    fclose(f);
    write_bytes(rel, text, len);
    free(text);
}

static const char elan_one[] = "video,frame_start,frame_end,au,value,annotator,time,event\n"
                               "1,0,29,12,present,ann,2026-01-01T00:00:00.000Z,1\n"
                               "1,10,14,12,absent,ann,2026-01-01T00:00:01.000Z,2\n"
                               "1,20,60,12,B,ann,2026-01-01T00:00:02.000Z,3\n"
                               "1,0,999,4,absent,ann,2026-01-01T00:00:03.000Z,4\n"
                               "1,500,500,4,E,ann,2026-01-01T00:00:04.000Z,5\n"
                               "1,998,999,99,present,ann,2026-01-01T00:00:05.000Z,6\n";

static const char elan_two[] = "video,frame_start,frame_end,au,value,annotator,time,event\n"
                               "1,0,9,12,present,ann,2026-01-01T00:00:00.000Z,1\n"
                               "1,5,20,4,C,\"O'Brien, J.\",1969-12-31T23:59:59.500Z,2\n"
                               "1,30,30,1,absent,Zo\xc3\xab,,3\n"
                               "1,3,8,12,A,Zo\xc3\xab <&>,2026-01-02T00:00:00.000Z,4\n";

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR (tests/fuzz/corpus)\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0755) && errno != EEXIST) {
        fprintf(stderr, "make-seeds: cannot create %s\n", out_dir);
        return 1;
    }
    safetensors_seeds();
    dlib_seed("dlib-dat/tiny-68.dat", 68, 2, 3, 2, 6);
    dlib_seed("dlib-dat/tiny-2.dat", 2, 1, 2, 1, 2);
    write_bytes("cascade/haar-tiny.xml", haar_xml, sizeof haar_xml - 1);
    write_bytes("cascade/lbp-tiny.xml", lbp_xml, sizeof lbp_xml - 1);

    char err[512];
    mim_pack_writer *pw = mim_pack_writer_new(path_of("pack/empty.pack"), "1,2,4,6,12,17",
                                              "fuzz seed: no records", err, sizeof err);
    check(!pw || mim_pack_writer_finish(pw, err, sizeof err), "pack", err);
    print_size("pack/empty.pack");

    static const char *const two[2] = {"S1/a.ppm", "S1/b.ppm"};
    static const char *const three[3] = {"S1/b.ppm", "S2/small.ppm", "S2/bad.ppm"};
    static const char *const device[1] = {"S2/zero.ppm"};
    adld_seed("adld/two-images.txt", two, 2, NULL, 6);
    adld_seed("adld/twelve-aus.txt", two, 1, "1,2,4,5,6,9,12,15,17,20,25,26", 12);
    adld_seed("adld/bad-images.txt", three, 3, "AU1, AU12", 2);
    adld_seed("adld/device.txt", device, 1, NULL, 6);
    write_bytes("elan/one-annotator.csv", elan_one, sizeof elan_one - 1);
    write_bytes("elan/two-annotators.csv", elan_two, sizeof elan_two - 1);
    return 0;
}
