/* test-pack.c: packs round-trip (every byte of every record), the transforms agree with
 * mim-sample.h and mim_aunet_image_to_input, seeded shuffles are permutations that repeat with
 * the seed, and truncated, hostile or foreign files are refused with a message. */
#include <stdint.h>
#include <unistd.h>

#include "aunet/mim-aunet-image.h"
#include "mim-pack.h"
#include "mim-sample.h"
#include "mim-test.h"

#define N 7

static char path[256];

static void make_record(int i, uint8_t *rgb, float *xy, float *lab)
{
    for (int k = 0; k < MIM_PACK_IMAGE_BYTES; k++)
        rgb[k] = (uint8_t)(k * 7 + i * 13);
    for (int k = 0; k < 49; k++) {
        xy[2 * k] = 50.0f + 2.0f * (float)k + 0.25f * (float)i;
        xy[2 * k + 1] = 60.0f + (float)(k % 7) * 10.0f;
    }
    lab[0] = (float)(i % 2);
    lab[1] = i == 3 ? MIM_AU_MISSING : 1.0f;
    lab[2] = 0.0f;
}

static int write_pack(int n)
{
    char err[256];
    mim_pack_writer *w = mim_pack_writer_new(path, "AU1, 12,17", "test pack", err, sizeof err);
    if (!w) {
        MT_FAIL("writer: %s", err);
        return -1;
    }
    uint8_t *rgb = malloc(MIM_PACK_IMAGE_BYTES);
    float xy[98], lab[3];
    for (int i = 0; i < n; i++) {
        make_record(i, rgb, xy, lab);
        if (mim_pack_writer_add(w, rgb, xy, lab, 100 + (uint32_t)i, 7, err, sizeof err) != 0) {
            MT_FAIL("add: %s", err);
            mim_pack_writer_abort(w);
            free(rgb);
            return -1;
        }
    }
    free(rgb);
    if (mim_pack_writer_finish(w, err, sizeof err) != 0) {
        MT_FAIL("finish: %s", err);
        return -1;
    }
    return 0;
}

static void test_round_trip(void)
{
    MT_CHECK(write_pack(N) == 0);
    char err[256] = "";
    mim_pack *p = mim_pack_open(path, err, sizeof err);
    if (!p) {
        MT_FAIL("open: %s", err);
        return;
    }
    MT_CHECK_INT(mim_pack_n(p), N);
    MT_CHECK_INT(mim_pack_n_au(p), 3);
    MT_CHECK(!strcmp(mim_pack_au_list(p), "1,12,17"));
    MT_CHECK(!strcmp(mim_pack_description(p), "test pack"));
    MT_CHECK_INT(mim_pack_au(p, 1), 12);
    MT_CHECK_INT(mim_pack_n_labelled(p), N);
    uint8_t *rgb = malloc(MIM_PACK_IMAGE_BYTES);
    float xy[98], lab[3];
    int bad = 0;
    for (int i = 0; i < N; i++) {
        make_record(i, rgb, xy, lab);
        bad += memcmp(mim_pack_image(p, i), rgb, MIM_PACK_IMAGE_BYTES) != 0;
        bad += memcmp(mim_pack_landmarks(p, i), xy, sizeof xy) != 0;
        bad += memcmp(mim_pack_labels(p, i), lab, sizeof lab) != 0;
        bad += mim_pack_subject(p, i) != 100 + (uint32_t)i || mim_pack_source(p, i) != 7;
    }
    MT_CHECK_INT(bad, 0);

    /* AU mapping: 12 and 1 present, 4 missing */
    int aus[3] = {12, 4, 1}, map[3];
    mim_pack_au_map(p, aus, 3, map);
    MT_CHECK(map[0] == 1 && map[1] == -1 && map[2] == 0);

    /* test transform = mim_aunet_image_to_input at (12,12) + labels of mim-sample.h */
    float *x = malloc(sizeof(float) * 3 * 176 * 176), *x2 = malloc(sizeof(float) * 3 * 176 * 176);
    int32_t land[49], land2[49];
    float l3[3];
    mim_pack_test_sample(p, 3, map, 3, x, land, l3);
    mim_aunet_image_to_input(mim_pack_image(p, 3), 600, 12, 12, 0, x2);
    mim_sample_aug aug = {12, 12, 0};
    mim_sample_landmark_labels(mim_pack_landmarks(p, 3), &aug, land2);
    MT_CHECK(!memcmp(x, x2, sizeof(float) * 3 * 176 * 176));
    MT_CHECK(!memcmp(land, land2, sizeof land));
    MT_CHECK(l3[0] == MIM_AU_MISSING && l3[1] == MIM_AU_MISSING && l3[2] == 1.0f);

    /* training transform: the same draws as mim_sample_aug_draw on an equal generator */
    mim_rng r1, r2;
    mim_rng_seed(&r1, 9);
    mim_rng_seed(&r2, 9);
    int flips = 0;
    for (int t = 0; t < 8; t++) {
        mim_pack_train_sample(p, t % N, &r1, map, 3, x, land, l3);
        mim_sample_aug_draw(&r2, &aug);
        flips += aug.flip;
        mim_aunet_image_to_input(mim_pack_image(p, t % N), 600, aug.offset_x, aug.offset_y,
                                 aug.flip, x2);
        mim_sample_landmark_labels(mim_pack_landmarks(p, t % N), &aug, land2);
        bad += memcmp(x, x2, sizeof(float) * 3 * 176 * 176) != 0;
        bad += memcmp(land, land2, sizeof land) != 0;
    }
    MT_CHECK_INT(bad, 0);
    MT_NOTE("%d records of %ld bytes round-trip; 8 training samples match mim-sample.h (%d "
            "flipped)",
            N, (long)(MIM_PACK_IMAGE_BYTES + 8 + 4 * 101 + 4), flips);
    free(x);
    free(x2);
    free(rgb);
    mim_pack_close(p);
}

static void test_shuffle(void)
{
    long a[1000], b[1000], c[1000];
    mim_rng r;
    mim_rng_seed(&r, 1);
    mim_pack_shuffle(a, 1000, &r);
    mim_rng_seed(&r, 1);
    mim_pack_shuffle(b, 1000, &r);
    mim_rng_seed(&r, 2);
    mim_pack_shuffle(c, 1000, &r);
    int seen[1000] = {0}, fixed = 0;
    for (int i = 0; i < 1000; i++) {
        seen[a[i]]++;
        fixed += a[i] == i;
    }
    int perm = 1;
    for (int i = 0; i < 1000; i++)
        perm &= seen[i] == 1;
    MT_CHECK(perm);
    MT_CHECK(!memcmp(a, b, sizeof a));
    MT_CHECK(memcmp(a, c, sizeof a) != 0);
    MT_CHECK(fixed < 10);
    MT_NOTE("shuffle of 1000: a permutation, %d fixed points, same seed same order", fixed);
}

static void expect_refused(const char *what, const char *want)
{
    char err[512] = "";
    mim_pack *p = mim_pack_open(path, err, sizeof err);
    if (p) {
        MT_FAIL("%s: opened", what);
        mim_pack_close(p);
        return;
    }
    if (!strstr(err, want))
        MT_FAIL("%s: message \"%s\" lacks \"%s\"", what, err, want);
    MT_NOTE("%s: %s", what, err);
}

static void patch(long off, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    MT_CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, off, SEEK_SET);
    fwrite(bytes, 1, n, f);
    fclose(f);
}

static void test_refused(void)
{
    long rb = 8 + 4 * (98 + 3) + MIM_PACK_IMAGE_BYTES;
    rb = (rb + 7) & ~7L;
    MT_CHECK(write_pack(3) == 0);
    MT_CHECK(truncate(path, 256 + 2 * rb + 100) == 0);
    expect_refused("truncated", "truncated");
    MT_CHECK(truncate(path, 100) == 0);
    expect_refused("header only in part", "shorter than the header");

    MT_CHECK(write_pack(3) == 0);
    uint32_t huge = 0xffffffffu;
    patch(32, &huge, 4); /* n = 2^32 - 1 records */
    expect_refused("record count overflow", "truncated");

    MT_CHECK(write_pack(3) == 0);
    patch(20, &huge, 4);
    expect_refused("AU count", "bad pack header");

    MT_CHECK(write_pack(3) == 0);
    patch(0, "NOTAPACK", 8);
    expect_refused("magic", "bad magic");

    MT_CHECK(write_pack(3) == 0);
    uint32_t v2 = 2;
    patch(8, &v2, 4);
    expect_refused("version", "version 2");

    MT_CHECK(write_pack(3) == 0);
    float nan = NAN;
    patch(256 + rb + 8 + 4 * 5, &nan, 4);
    expect_refused("NaN landmark", "record 1: landmark");

    MT_CHECK(write_pack(3) == 0);
    float half = 0.5f;
    patch(256 + 2 * rb + 8 + 4 * 98 + 4, &half, 4);
    expect_refused("label 0.5", "record 2: AU label 0.5");

    MT_CHECK(write_pack(3) == 0);
    char list[88];
    memset(list, '1', sizeof list);
    patch(40, list, sizeof list);
    expect_refused("unterminated AU list", "unterminated");

    MT_CHECK(write_pack(3) == 0);
    patch(40, "1,2,2\0", 6);
    expect_refused("repeated AU", "appears twice");

    /* the message quotes the list: its bytes come out as valid UTF-8 (found by
     * tests/fuzz/fuzz-pack: a 0x80 byte went into the message as is) */
    MT_CHECK(write_pack(3) == 0);
    patch(40, "1,\x80,3\xc3\0", 7);
    expect_refused("AU list of non-UTF-8 bytes", "\"1,?,3?\"");

    /* the writer checks the same */
    char err[256] = "";
    mim_pack_writer *w = mim_pack_writer_new(path, "1,x", NULL, err, sizeof err);
    MT_CHECK(w == NULL && strstr(err, "bad AU list"));
    w = mim_pack_writer_new(path, "1,2,4", NULL, err, sizeof err);
    MT_CHECK(w != NULL);
    if (w) {
        uint8_t *rgb = calloc(1, MIM_PACK_IMAGE_BYTES);
        float xy[98] = {0}, lab[3] = {0, 2, 1};
        MT_CHECK(mim_pack_writer_add(w, rgb, xy, lab, 0, 0, err, sizeof err) != 0);
        MT_NOTE("writer refuses: %s", err);
        mim_pack_writer_abort(w);
        free(rgb);
    }
    MT_CHECK(access(path, F_OK) == 0); /* the aborted writer left the previous pack */
    unlink(path);
    expect_refused("missing file", "No such file");
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/mim-test-pack-%d.pack", tmp ? tmp : "/tmp", (int)getpid());
    MT_RUN(test_round_trip);
    MT_RUN(test_shuffle);
    MT_RUN(test_refused);
    unlink(path);
    return mt_done();
}
