/* test-modelfile.c: the strict JSON reader and safetensors files (engine/aunet): round trips,
 * metadata, atomic writes, and refusal of truncated, overlapping, out-of-range and malformed
 * files (each with its message). Run under ASan to show nothing is read out of bounds. */
#include <dirent.h>
#include <math.h>
#include <sys/stat.h>
#include <stdint.h>
#include <unistd.h>

#include "aunet/mim-aunet-file.h"
#include "aunet/mim-json.h"
#include "aunet/mim-safetensors.h"
#include "mim-checkpoint.h"
#include "mim-test.h"
#include "mim.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    if (tmpdir[0])
        return;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/mim-modelfile-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(tmpdir))
        tmpdir[0] = 0;
}

static int parses(const char *text)
{
    mim_json_doc *d = NULL;
    char err[256];
    int rc = mim_json_parse(text, strlen(text), &d, err, sizeof err);
    mim_json_doc_free(d);
    return rc == 0;
}

static void test_json_valid(void)
{
    const char *ok[] = {"{}",
                        "[]",
                        " {\"a\":1} ",
                        "[1,-2,3.5,1e3,-0.0e-2,true,false,null]",
                        "\"\\u00e9\\ud83d\\ude00\\n\\/\"",
                        "{\"a\":{\"b\":[{}]}}",
                        "0",
                        "\"\""};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (!parses(ok[i]))
            MT_FAIL("valid JSON refused: %s", ok[i]);
    mim_json_doc *d = NULL;
    char err[256] = "";
    const char *t = "{\"s\":\"a\\u00e9\\ud83d\\ude00\",\"n\":18446744073709551615,\"x\":-1.5e2,"
                    "\"big\":18446744073709551616,\"f\":1.0}";
    MT_CHECK(mim_json_parse(t, strlen(t), &d, err, sizeof err) == 0);
    const mim_json *r = mim_json_root(d);
    const mim_json *s = mim_json_get(r, "s");
    MT_CHECK(s && s->type == MIM_JSON_STRING && s->str_len == 7 &&
             !memcmp(s->str, "a\xc3\xa9\xf0\x9f\x98\x80", 7));
    uint64_t u = 0;
    MT_CHECK(mim_json_u64(mim_json_get(r, "n"), &u) == 0 && u == UINT64_MAX);
    MT_CHECK(mim_json_u64(mim_json_get(r, "big"), &u) == -1);
    MT_CHECK(mim_json_u64(mim_json_get(r, "x"), &u) == -1);
    MT_CHECK(mim_json_u64(mim_json_get(r, "f"), &u) == -1);
    MT_CHECK_NEAR(mim_json_get(r, "x")->number, -150.0, 0);
    MT_CHECK(mim_json_get(r, "missing") == NULL);
    mim_json_doc_free(d);
}

static void test_json_invalid(void)
{
    const char *bad[] = {
        "",
        "{",
        "{\"a\":1,}",
        "[1,]",
        "{\"a\" 1}",
        "{'a':1}",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[+1]",
        "[-]",
        "\"a",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\t\"",
        "[1] [2]",
        "tru",
        "{\"a\":1,\"a\":2}",
        "nul",
        "[1,,2]",
        "{\"a\":}",
        "\"\xc3\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "/*c*/{}",
        "[NaN]",
        "{1:2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mim_json_doc *d = NULL;
        char err[256] = "";
        int rc = mim_json_parse(bad[i], strlen(bad[i]), &d, err, sizeof err);
        if (rc == 0 || d)
            MT_FAIL("invalid JSON accepted: %s", bad[i]);
        else if (!strstr(err, "JSON:"))
            MT_FAIL("no message for %s", bad[i]);
        mim_json_doc_free(d);
    }
    /* nesting limit */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    mim_json_doc *d = NULL;
    char err[256] = "";
    MT_CHECK(mim_json_parse(deep, 200, &d, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "nesting") != NULL);
    MT_NOTE("%zu malformed texts refused; depth 100 refused: %s", sizeof bad / sizeof bad[0], err);
}

static void test_json_quote(void)
{
    char buf[64];
    size_t len = 0;
    const char s[] = "a\"b\\c\n\x01";
    size_t need = mim_json_quote(buf, sizeof buf, &len, s, sizeof s - 1);
    buf[len] = 0;
    MT_CHECK_INT(need, len);
    MT_CHECK(!strcmp(buf, "\"a\\\"b\\\\c\\n\\u0001\""));
    mim_json_doc *d = NULL;
    char err[256];
    MT_CHECK(mim_json_parse(buf, len, &d, err, sizeof err) == 0);
    MT_CHECK(d && mim_json_root(d)->str_len == sizeof s - 1 &&
             !memcmp(mim_json_root(d)->str, s, sizeof s - 1));
    mim_json_doc_free(d);
    len = 0;
    MT_CHECK(mim_json_quote(buf, 4, &len, s, sizeof s - 1) == need && len == 0);
}

/* A small file with three tensors and metadata, in memory. */
static unsigned char *build_file(size_t *n_out)
{
    make_tmpdir();
    char path[300];
    snprintf(path, sizeof path, "%s/small.safetensors", tmpdir);
    mim_st_writer *w = mim_st_writer_new();
    char err[256];
    float a[6] = {1, 2, 3, 4, 5, 6};
    int32_t b[3] = {-1, 0, 7};
    int64_t c[1] = {1234567890123LL};
    int64_t sa[2] = {2, 3}, sb[1] = {3}, sc[1] = {1};
    int rc = mim_st_writer_add(w, "a", MIM_ST_F32, 2, sa, a, err, sizeof err);
    rc |= mim_st_writer_add(w, "b.weight", MIM_ST_I32, 1, sb, b, err, sizeof err);
    rc |= mim_st_writer_add(w, "c", MIM_ST_I64, 1, sc, c, err, sizeof err);
    rc |= mim_st_writer_set_meta(w, "arch", "aunet-1", err, sizeof err);
    rc |= mim_st_writer_write(w, path, err, sizeof err);
    mim_st_writer_free(w);
    if (rc)
        return NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)n);
    if (fread(bytes, 1, (size_t)n, fp) != (size_t)n) {
        free(bytes);
        bytes = NULL;
    }
    fclose(fp);
    *n_out = (size_t)n;
    return bytes;
}

static void test_st_round_trip(void)
{
    make_tmpdir();
    if (!tmpdir[0])
        MT_SKIP("cannot create a temporary folder");
    char path[300], err[256] = "";
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    mim_st_writer *w = mim_st_writer_new();
    float big[1000];
    for (int i = 0; i < 1000; i++)
        big[i] = (float)i * 0.25f - 3.0f;
    int64_t s_big[4] = {10, 10, 5, 2}, s_empty[2] = {0, 4}, s_scalar[1] = {0};
    double dd[2] = {1.5, -2.25};
    int64_t s_dd[1] = {2};
    MT_CHECK(mim_st_writer_add(w, "Ef.net.0.weight", MIM_ST_F32, 4, s_big, big, err, sizeof err) ==
             0);
    MT_CHECK(mim_st_writer_add(w, "empty", MIM_ST_F32, 2, s_empty, NULL, err, sizeof err) == 0);
    MT_CHECK(mim_st_writer_add(w, "scalar", MIM_ST_F32, 0, s_scalar, big, err, sizeof err) == 0);
    MT_CHECK(mim_st_writer_add(w, "d\"quoted\\name", MIM_ST_F64, 1, s_dd, dd, err, sizeof err) ==
             0);
    MT_CHECK(mim_st_writer_add(w, "scalar", MIM_ST_F32, 0, s_scalar, big, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "twice") != NULL);
    MT_CHECK(mim_st_writer_add(w, "__metadata__", MIM_ST_F32, 0, s_scalar, big, err, sizeof err) ==
             -1);
    MT_CHECK(mim_st_writer_set_meta(w, "au_list", "1,2,4,6,12,17", err, sizeof err) == 0);
    MT_CHECK(mim_st_writer_set_meta(w, "provenance", "line1\nline2 \"q\" \xc3\xa9", err,
                                    sizeof err) == 0);
    MT_CHECK(mim_st_writer_set_meta(w, "au_list", "1,2,4,6,12,17,25", err, sizeof err) == 0);
    MT_CHECK(mim_st_writer_set_meta(w, "bad", "\xff", err, sizeof err) == -1);
    MT_CHECK(mim_st_writer_write(w, path, err, sizeof err) == 0);
    mim_st_writer_free(w);

    /* no temporary file left behind */
    DIR *dir = opendir(tmpdir);
    int n_tmp = 0;
    for (struct dirent *de; dir && (de = readdir(dir));)
        if (strstr(de->d_name, ".tmp-"))
            n_tmp++;
    if (dir)
        closedir(dir);
    MT_CHECK_INT(n_tmp, 0);

    mim_st_file *f = NULL;
    MT_CHECK(mim_st_open(path, &f, err, sizeof err) == 0);
    if (!f) {
        MT_FAIL("open: %s", err);
        return;
    }
    MT_CHECK_INT(mim_st_n_tensors(f), 4);
    const mim_st_tensor *t = mim_st_find(f, "Ef.net.0.weight");
    MT_CHECK(t && t->dtype == MIM_ST_F32 && t->n_dim == 4 && t->shape[2] == 5 &&
             t->n_elements == 1000);
    float back[1000];
    MT_CHECK(mim_st_read_f32(f, "Ef.net.0.weight", back, 1000, err, sizeof err) == 0);
    MT_CHECK(!memcmp(back, big, sizeof big));
    MT_CHECK(mim_st_read_f32(f, "Ef.net.0.weight", back, 999, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "1000 elements") != NULL);
    MT_CHECK(mim_st_read_f32(f, "d\"quoted\\name", back, 2, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "F64") != NULL);
    t = mim_st_find(f, "d\"quoted\\name");
    MT_CHECK(t && t->n_bytes == 16 && !memcmp(t->data, dd, 16));
    t = mim_st_find(f, "empty");
    MT_CHECK(t && t->n_elements == 0 && t->n_bytes == 0);
    t = mim_st_find(f, "scalar");
    MT_CHECK(t && t->n_dim == 0 && t->n_elements == 1);
    MT_CHECK(mim_st_meta(f, "au_list") && !strcmp(mim_st_meta(f, "au_list"), "1,2,4,6,12,17,25"));
    MT_CHECK(mim_st_meta(f, "provenance") &&
             !strcmp(mim_st_meta(f, "provenance"), "line1\nline2 \"q\" \xc3\xa9"));
    MT_CHECK(mim_st_meta(f, "nothing") == NULL);
    MT_CHECK_INT(mim_st_n_meta(f), 2);
    mim_st_close(f);

    /* The header length is a multiple of 8 and the header starts with '{'. */
    FILE *fp = fopen(path, "rb");
    unsigned char h[9] = {0};
    MT_CHECK(fp && fread(h, 1, 9, fp) == 9);
    if (fp)
        fclose(fp);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | h[i];
    MT_CHECK_INT(n % 8, 0);
    MT_CHECK_INT(h[8], '{');
    MT_NOTE("round trip of 4 tensors + 2 metadata keys, header %llu bytes", (unsigned long long)n);

    /* writing into a missing folder fails with a message and leaves nothing */
    snprintf(path, sizeof path, "%s/no/such/dir/x.safetensors", tmpdir);
    w = mim_st_writer_new();
    MT_CHECK(mim_st_writer_write(w, path, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "temporary") != NULL);
    mim_st_writer_free(w);
    MT_CHECK(mim_st_open(path, &f, err, sizeof err) == -1 && f == NULL);
    MT_CHECK(strstr(err, "cannot open") != NULL);
}

/* Builds a file image from a header text and n_data zero bytes. */
static unsigned char *image(const char *header, size_t n_data, size_t *n_out)
{
    size_t hl = strlen(header);
    unsigned char *b = calloc(8 + hl + n_data + 1, 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(((uint64_t)hl >> (8 * i)) & 0xff);
    memcpy(b + 8, header, hl);
    *n_out = 8 + hl + n_data;
    return b;
}

static void expect_refused(const char *header, size_t n_data, const char *needle)
{
    size_t n;
    unsigned char *b = image(header, n_data, &n);
    mim_st_file *f = NULL;
    char err[512] = "";
    int rc = mim_st_parse(b, n, &f, err, sizeof err);
    if (rc == 0 || f)
        MT_FAIL("accepted: %s (+%zu bytes)", header, n_data);
    else if (!strstr(err, needle))
        MT_FAIL("message for %s lacks \"%s\": %s", header, needle, err);
    mim_st_close(f);
    free(b);
}

/* Strict UTF-8 (RFC 3629), written here independently of mim_utf8_make_valid. */
static int is_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80             ? 0
                : (*p & 0xe0) == 0xc0 ? 1
                : (*p & 0xf0) == 0xe0 ? 2
                : (*p & 0xf8) == 0xf0 ? 3
                                      : -1;
        if (n < 0 || (n == 1 && *p < 0xc2) || (n == 3 && *p > 0xf4))
            return 0;
        unsigned cp = n ? *p & (0x3f >> n) : *p;
        for (int i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* Messages leave as valid UTF-8 whatever the file holds (found by tests/fuzz/fuzz-safetensors:
 * the JSON reader quoted the byte after a backslash as is; a %.80s name or a full err buffer can
 * cut a character in two). Invalid bytes become '?'. */
static void test_messages_utf8(void)
{
    char s[64] = "a\xff b \xe2\x82 \xf0\x9f\x98\x80 \xed\xa0\x80 \xc3\xa9";
    mim_utf8_make_valid(s);
    MT_NOTE("make_valid: \"%s\"", s);
    MT_CHECK(!strcmp(s, "a? b ?? \xf0\x9f\x98\x80 ??? \xc3\xa9"));
    char small[6];
    mim_errf(small, sizeof small, "abcd\xc3\xa9"); /* cut after the first byte of the é */
    MT_CHECK(!strcmp(small, "abcd?"));

    /* a bad escape in a tensor name */
    char h[256];
    snprintf(h, sizeof h, "{\"a\\\x98\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}");
    expect_refused(h, 0, "byte 0x98");
    size_t n;
    unsigned char *b = image(h, 0, &n);
    mim_st_file *f = NULL;
    char err[512] = "";
    MT_CHECK(mim_st_parse(b, n, &f, err, sizeof err) != 0);
    MT_NOTE("bad escape: %s", err);
    MT_CHECK(is_utf8(err));
    free(b);

    /* a name whose 80th byte starts a 2-byte character, cut by "%.80s" */
    char name[96];
    memset(name, 'n', 79);
    memcpy(name + 79, "\xc3\xa9", 3);
    snprintf(h, sizeof h, "{\"%s\":1}", name);
    b = image(h, 0, &n);
    err[0] = 0;
    MT_CHECK(mim_st_parse(b, n, &f, err, sizeof err) != 0);
    MT_NOTE("cut name: %s", err);
    MT_CHECK(is_utf8(err) && strstr(err, "nnnn?\" is not an object") != NULL);
    free(b);
}

static void test_st_hostile(void)
{
    const char *f4 = "\"dtype\":\"F32\",\"shape\":[2]";
    char h[512];
    /* the baseline is accepted */
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,8]},\"b\":{%s,\"data_offsets\":[8,16]}}",
             f4, f4);
    size_t n;
    unsigned char *b = image(h, 16, &n);
    mim_st_file *f = NULL;
    char err[512] = "";
    MT_CHECK(mim_st_parse(b, n, &f, err, sizeof err) == 0);
    mim_st_close(f);
    free(b);

    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,8]},\"b\":{%s,\"data_offsets\":[4,12]}}",
             f4, f4);
    expect_refused(h, 16, "overlaps");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,8]},\"b\":{%s,\"data_offsets\":[12,20]}}",
             f4, f4);
    expect_refused(h, 20, "hole");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,8]},\"b\":{%s,\"data_offsets\":[8,16]}}",
             f4, f4);
    expect_refused(h, 12, "beyond");
    expect_refused(h, 20, "after the last tensor");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,12]}}", f4);
    expect_refused(h, 12, "needs 8");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[8,0]}}", f4);
    expect_refused(h, 8, "end before");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[18446744073709551608,0]}}", f4);
    expect_refused(h, 8, "end before");
    snprintf(h, sizeof h,
             "{\"a\":{%s,\"data_offsets\":[18446744073709551608,18446744073709551616]}}", f4);
    expect_refused(h, 8, "data_offsets must be");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,-8]}}", f4);
    expect_refused(h, 8, "data_offsets must be");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0]}}", f4);
    expect_refused(h, 8, "data_offsets must be");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
                   "\"data_offsets\":[0,0]}}",
                   0, "too large");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
                   "non-negative integers");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                   "non-negative integers");
    expect_refused(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "dimensions");
    expect_refused("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "unknown dtype");
    expect_refused("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "not a string");
    expect_refused("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "lacks");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8,
                   "unknown field");
    expect_refused("{\"a\":[1]}", 0, "not an object");
    expect_refused("[]", 0, "not a JSON object");
    expect_refused(" {}", 0, "not a JSON object");
    expect_refused("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_refused("{\"__metadata__\":[]}", 0, "not an object");
    expect_refused("{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "NUL");
    expect_refused("{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                   "NUL");
    snprintf(h, sizeof h, "{\"a\":{%s,\"data_offsets\":[0,8]},\"a\":{%s,\"data_offsets\":[8,16]}}",
             f4, f4);
    expect_refused(h, 16, "duplicate key");
    expect_refused("{\"a\":", 0, "header:");

    /* header length beyond the file, beyond the limit, and a file shorter than 8 bytes */
    unsigned char small[16] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    MT_CHECK(mim_st_parse(small, 10, &f, err, sizeof err) == -1 && strstr(err, "truncated"));
    unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    MT_CHECK(mim_st_parse(huge, 10, &f, err, sizeof err) == -1 && strstr(err, "exceeds"));
    MT_CHECK(mim_st_parse(small, 5, &f, err, sizeof err) == -1 && strstr(err, "too short"));
    MT_NOTE("last message: %s", err);
}

static void test_st_truncations_and_flips(void)
{
    size_t n = 0;
    unsigned char *full = build_file(&n);
    if (!full)
        MT_SKIP("cannot write the temporary file");
    mim_st_file *f = NULL;
    char err[512];
    MT_CHECK(mim_st_parse(full, n, &f, err, sizeof err) == 0);
    mim_st_close(f);
    /* every strict prefix is refused */
    int n_accepted = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned char *cut = malloc(k ? k : 1);
        memcpy(cut, full, k);
        f = NULL;
        if (mim_st_parse(cut, k, &f, err, sizeof err) == 0)
            n_accepted++;
        mim_st_close(f);
        free(cut);
    }
    MT_CHECK_INT(n_accepted, 0);
    /* every single-byte change of the header either is refused or still tiles the buffer */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | full[i];
    int n_ok = 0, n_bad = 0;
    unsigned seed = 12345;
    for (size_t pos = 0; pos < 8 + hl; pos++) {
        for (int trial = 0; trial < 4; trial++) {
            unsigned char *m = malloc(n);
            memcpy(m, full, n);
            seed = seed * 1103515245u + 12345u;
            m[pos] ^= (unsigned char)(1u + (seed >> 16) % 255u);
            f = NULL;
            if (mim_st_parse(m, n, &f, err, sizeof err) == 0) {
                n_ok++;
                uint64_t total = 0;
                for (size_t i = 0; i < mim_st_n_tensors(f); i++) {
                    const mim_st_tensor *t = mim_st_tensor_at(f, i);
                    const unsigned char *d = t->data;
                    MT_CHECK(d != NULL);
                    total += t->n_bytes;
                    volatile unsigned char sink = 0;
                    for (uint64_t j = 0; j < t->n_bytes; j++)
                        sink ^= d[j]; /* ASan catches a read outside the image */
                    (void)sink;
                }
                MT_CHECK(total <= n);
            } else {
                n_bad++;
            }
            mim_st_close(f);
            free(m);
        }
    }
    MT_NOTE("file of %zu bytes: %zu truncations all refused; %d header mutations refused, %d "
            "still valid",
            n, n, n_bad, n_ok);
    free(full);
}

static float **alloc_params(const mim_aunet_layout *l)
{
    float **p = calloc((size_t)l->n_params, sizeof *p);
    for (int i = 0; i < l->n_params; i++)
        p[i] = calloc(l->params[i].numel, sizeof(float));
    return p;
}

static void free_params(const mim_aunet_layout *l, float **p)
{
    for (int i = 0; i < l->n_params; i++)
        free(p[i]);
    free(p);
}

static void test_model_file(void)
{
    make_tmpdir();
    if (!tmpdir[0])
        MT_SKIP("cannot create a temporary folder");
    char path[300], path2[300], err[512] = "";
    snprintf(path, sizeof path, "%s/model.safetensors", tmpdir);
    snprintf(path2, sizeof path2, "%s/model2.safetensors", tmpdir);
    mim_aunet_layout *l = mim_aunet_layout_new(6, 49);
    float **p = alloc_params(l), **q = alloc_params(l);
    mim_rng rng;
    mim_rng_seed(&rng, 1);
    mim_aunet_layout_init(l, &rng, p);
    mim_aunet_info info = {.n_au = 6, .n_land = 49};
    snprintf(info.provenance, sizeof info.provenance, "test-modelfile, seed 1");
    MT_CHECK(mim_aunet_file_write(path, l, (const float *const *)p, &info, err, sizeof err) == 0);
    mim_st_file *f = NULL;
    MT_CHECK(mim_st_open(path, &f, err, sizeof err) == 0);
    if (!f) {
        MT_FAIL("%s", err);
        goto out;
    }
    MT_CHECK_INT(mim_st_n_tensors(f), l->n_slots);
    mim_aunet_info back;
    MT_CHECK(mim_aunet_file_info(f, &back, err, sizeof err) == 0);
    MT_CHECK(back.n_au == 6 && back.n_land == 49 && !strcmp(back.au_list, "1,2,4,6,12,17"));
    MT_CHECK(!strcmp(back.provenance, "test-modelfile, seed 1"));
    MT_CHECK(mim_aunet_file_load(f, l, q, err, sizeof err) == 0);
    int same = 1;
    for (int i = 0; i < l->n_params; i++)
        same &= !memcmp(p[i], q[i], l->params[i].numel * sizeof(float));
    MT_CHECK(same);
    const mim_st_tensor *t = mim_st_find(f, "Fau.branches.5.9.weight");
    MT_CHECK(t && t->n_dim == 4 && t->shape[0] == 64 && t->shape[1] == 64);
    mim_st_close(f);

    /* a model for another AU count is refused by a 6-AU layout */
    mim_aunet_layout *l12 = mim_aunet_layout_new(12, 49);
    float **p12 = alloc_params(l12);
    mim_aunet_info info12 = {.n_au = 12, .n_land = 49};
    MT_CHECK(
        mim_aunet_file_write(path2, l12, (const float *const *)p12, &info12, err, sizeof err) == 0);
    MT_CHECK(mim_st_open(path2, &f, err, sizeof err) == 0);
    MT_CHECK(mim_aunet_file_load(f, l, q, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "12 AUs") != NULL);
    MT_NOTE("12-AU file into a 6-AU layout: %s", err);
    mim_st_close(f);
    free_params(l12, p12);
    mim_aunet_layout_free(l12);

    /* wrong architecture, missing tensor, wrong shape, unknown tensor */
    for (int kind = 0; kind < 4; kind++) {
        mim_st_writer *w = mim_st_writer_new();
        MT_CHECK(mim_aunet_file_fill(w, l, (const float *const *)p, &info, err, sizeof err) == 0);
        mim_st_writer *w2 = mim_st_writer_new();
        /* copy w into w2 with one change (the writer has no remove: rebuild from the layout) */
        mim_st_writer_free(w);
        const char *needle = "";
        if (kind == 0) {
            MT_CHECK(mim_aunet_file_fill(w2, l, (const float *const *)p, &info, err, sizeof err) ==
                     0);
            mim_st_writer_set_meta(w2, "architecture", "mimica-aunet-0", err, sizeof err);
            needle = "architecture";
        } else {
            mim_st_writer_set_meta(w2, "format", MIM_AUNET_FORMAT, err, sizeof err);
            mim_st_writer_set_meta(w2, "architecture", MIM_AUNET_ARCH, err, sizeof err);
            mim_st_writer_set_meta(w2, "n_au", "6", err, sizeof err);
            mim_st_writer_set_meta(w2, "n_landmarks", "49", err, sizeof err);
            for (int i = 0; i < l->n_slots; i++) {
                const mim_aunet_slot *s = &l->slots[i];
                int64_t shape[4];
                memcpy(shape, s->shape, sizeof shape);
                if (kind == 1 && i == 17)
                    continue;
                if (kind == 2 && i == 17)
                    shape[0] = 1, shape[1] = (int64_t)s->numel;
                mim_st_writer_add(w2, s->name, MIM_ST_F32,
                                  s->n_dim < 2 && kind == 2 && i == 17 ? 2 : s->n_dim, shape,
                                  p[s->param] + s->offset, err, sizeof err);
            }
            if (kind == 3) {
                int64_t one[1] = {1};
                mim_st_writer_add(w2, "Extra.weight", MIM_ST_F32, 1, one, p[0], err, sizeof err);
            }
            needle = kind == 1 ? "lacks" : kind == 2 ? "wrong shape" : "unknown tensor";
        }
        MT_CHECK(mim_st_writer_write(w2, path2, err, sizeof err) == 0);
        mim_st_writer_free(w2);
        f = NULL;
        MT_CHECK(mim_st_open(path2, &f, err, sizeof err) == 0);
        if (f) {
            int rc = mim_aunet_file_load(f, l, q, err, sizeof err);
            if (rc != -1 || !strstr(err, needle))
                MT_FAIL("case %d: rc %d, message \"%s\" lacks \"%s\"", kind, rc, err, needle);
            else
                MT_NOTE("refused: %s", err);
        }
        mim_st_close(f);
    }
out:
    free_params(l, p);
    free_params(l, q);
    mim_aunet_layout_free(l);
}

/* A model written with F16 weights (mimica-cli train --half): half the bytes, every weight
 * within half a unit in the last place of F16 of the F32 one, exact rounding at chosen values
 * (ties to even, subnormals, underflow), and a weight beyond the half range refused. */
static void test_model_file_half(void)
{
    make_tmpdir();
    if (!tmpdir[0])
        MT_SKIP("cannot create a temporary folder");
    char path[300], path32[300], err[512] = "";
    snprintf(path, sizeof path, "%s/half.safetensors", tmpdir);
    snprintf(path32, sizeof path32, "%s/full.safetensors", tmpdir);
    mim_aunet_layout *l = mim_aunet_layout_new(6, 49);
    float **p = alloc_params(l), **q = alloc_params(l);
    mim_rng rng;
    mim_rng_seed(&rng, 2);
    mim_aunet_layout_init(l, &rng, p);
    static const float in[] = {1.0f,
                               -2.5f,
                               65504.0f,
                               0.1f,
                               6.103515625e-05f,
                               5.9604644775390625e-08f,
                               1e-9f,
                               1.00048828125f,
                               1.00146484375f,
                               2.98023223876953125e-08f};
    /* 0.1 -> 0x2e66; 1+2^-11 is a tie and rounds to even (1.0); 1+3*2^-11 rounds up to 1+2^-9;
     * 2^-25, half the smallest subnormal, is a tie that rounds to even (0) */
    static const float want[] = {1.0f,
                                 -2.5f,
                                 65504.0f,
                                 0.0999755859375f,
                                 6.103515625e-05f,
                                 5.9604644775390625e-08f,
                                 0.0f,
                                 1.0f,
                                 1.001953125f,
                                 0.0f};
    const int n_in = (int)(sizeof in / sizeof in[0]);
    MT_CHECK(l->params[0].numel >= (size_t)n_in);
    memcpy(p[0], in, sizeof in);
    mim_aunet_info info = {.n_au = 6, .n_land = 49, .half = 1};
    MT_CHECK(mim_aunet_file_write(path, l, (const float *const *)p, &info, err, sizeof err) == 0);
    info.half = 0;
    MT_CHECK(mim_aunet_file_write(path32, l, (const float *const *)p, &info, err, sizeof err) == 0);
    struct stat a, b;
    MT_CHECK(stat(path, &a) == 0 && stat(path32, &b) == 0);
    MT_NOTE("F16 file %lld bytes, F32 file %lld bytes", (long long)a.st_size, (long long)b.st_size);
    MT_CHECK(a.st_size < b.st_size * 6 / 10);
    mim_st_file *f = NULL;
    MT_CHECK(mim_st_open(path, &f, err, sizeof err) == 0);
    if (!f) {
        MT_FAIL("%s", err);
        goto out;
    }
    MT_CHECK(mim_aunet_file_load(f, l, q, err, sizeof err) == 0);
    mim_st_close(f);
    for (int i = 0; i < n_in; i++)
        if (q[0][i] != want[i])
            MT_FAIL("F16 of %.9g read back as %.9g, want %.9g", (double)in[i], (double)q[0][i],
                    (double)want[i]);
    double worst = 0;
    long n = 0;
    for (int i = 0; i < l->n_params; i++)
        for (size_t j = i ? 0 : (size_t)n_in; j < l->params[i].numel; j++) {
            double x = p[i][j], y = q[i][j];
            if (fabs(x) < 6.103515625e-05)
                continue; /* subnormal halves have absolute, not relative, precision */
            double rel = fabs(y - x) / fabs(x);
            worst = rel > worst ? rel : worst;
            n++;
        }
    MT_NOTE("%ld normal-range weights: worst relative error %.3g (tol 2^-11 = %.3g)", n, worst,
            1.0 / 2048);
    MT_CHECK(worst <= 1.0 / 2048);

    p[1][0] = 70000.0f; /* beyond 65504 */
    info.half = 1;
    MT_CHECK(mim_aunet_file_write(path, l, (const float *const *)p, &info, err, sizeof err) == -1);
    MT_NOTE("refused: %s", err);
    MT_CHECK(strstr(err, "half") != NULL);
out:
    free_params(l, p);
    free_params(l, q);
    mim_aunet_layout_free(l);
}

static void test_checkpoint(void)
{
    make_tmpdir();
    if (!tmpdir[0])
        MT_SKIP("cannot create a temporary folder");
    char path[300], err[512] = "";
    snprintf(path, sizeof path, "%s/ckpt.safetensors", tmpdir);
    mim_aunet_layout *l = mim_aunet_layout_new(2, 49);
    mim_checkpoint a = {.layout = l}, b = {.layout = l};
    a.params = alloc_params(l);
    a.adam_m = alloc_params(l);
    a.adam_v = alloc_params(l);
    b.params = alloc_params(l);
    b.adam_m = alloc_params(l);
    b.adam_v = alloc_params(l);
    a.adam_t = calloc((size_t)l->n_params, sizeof(int64_t));
    b.adam_t = calloc((size_t)l->n_params, sizeof(int64_t));
    mim_rng_seed(&a.rng, 99);
    mim_aunet_layout_init(l, &a.rng, a.params);
    mim_aunet_layout_init(l, &a.rng, a.adam_m);
    mim_aunet_layout_init(l, &a.rng, a.adam_v);
    for (int p = 0; p < l->n_params; p++)
        a.adam_t[p] = 1000 + p;
    a.step = 123456789012LL;
    snprintf(a.state, sizeof a.state, "{\"epoch\": 3}");
    mim_aunet_info info = {.n_au = 2, .n_land = 49}, back;
    MT_CHECK(mim_checkpoint_write(path, &a, &info, err, sizeof err) == 0);
    MT_CHECK(mim_checkpoint_read(path, &b, &back, err, sizeof err) == 0);
    int same = 1;
    for (int p = 0; p < l->n_params; p++) {
        same &= !memcmp(a.params[p], b.params[p], l->params[p].numel * sizeof(float));
        if (l->params[p].trainable) {
            same &= !memcmp(a.adam_m[p], b.adam_m[p], l->params[p].numel * sizeof(float));
            same &= !memcmp(a.adam_v[p], b.adam_v[p], l->params[p].numel * sizeof(float));
        }
        same &= a.adam_t[p] == b.adam_t[p];
    }
    MT_CHECK(same);
    MT_CHECK(b.step == a.step && !memcmp(&a.rng, &b.rng, sizeof a.rng));
    MT_CHECK(!strcmp(b.state, a.state));
    MT_CHECK(mim_rng_u64(&a.rng) == mim_rng_u64(&b.rng));
    /* a plain model file is not a checkpoint */
    MT_CHECK(
        mim_aunet_file_write(path, l, (const float *const *)a.params, &info, err, sizeof err) == 0);
    MT_CHECK(mim_checkpoint_read(path, &b, &back, err, sizeof err) == -1);
    MT_CHECK(strstr(err, "not a checkpoint") != NULL);
    MT_NOTE("%s", err);
    free_params(l, a.params);
    free_params(l, a.adam_m);
    free_params(l, a.adam_v);
    free_params(l, b.params);
    free_params(l, b.adam_m);
    free_params(l, b.adam_v);
    free(a.adam_t);
    free(b.adam_t);
    mim_aunet_layout_free(l);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_json_valid);
    MT_RUN(test_json_invalid);
    MT_RUN(test_json_quote);
    MT_RUN(test_st_round_trip);
    MT_RUN(test_messages_utf8);
    MT_RUN(test_st_hostile);
    MT_RUN(test_st_truncations_and_flips);
    MT_RUN(test_model_file);
    MT_RUN(test_model_file_half);
    MT_RUN(test_checkpoint);
    if (tmpdir[0]) {
        char cmd[600];
        DIR *d = opendir(tmpdir);
        for (struct dirent *de; d && (de = readdir(d));) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(cmd, sizeof cmd, "%s/%s", tmpdir, de->d_name);
            unlink(cmd);
        }
        if (d)
            closedir(d);
        rmdir(tmpdir);
    }
    return mt_done();
}
