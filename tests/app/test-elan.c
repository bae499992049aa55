/* test-elan.c: ELAN .eaf import (mimica_store_import_elan, app/store/mimica-store-elan.c).
 * Round trip through mimica_store_export_elan frame for frame at seven frame rates; a file
 * written as ELAN 6 writes them (unaligned slots, REF_ANNOTATION, two annotators, a tier
 * without ANNOTATOR, tiers that are no AU) with its documented result; every kind of bad file
 * refused at file:line with nothing written; `mimica-cli label import --format elan`. */
#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/mimica-store.h"
#include "tmp-folder.h"

typedef struct {
    char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
    f->dir = tmp_folder_new("mimica-elan-XXXXXX");
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    tmp_folder_remove(f->dir);
}

static char *fpath(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

/* Frame rates of the round trip: PAL, NTSC, film, 59.94, high-speed and one just under 1000. */
static const int rates[][2] = {{25, 1},  {30000, 1001}, {24000, 1001}, {60000, 1001},
                               {120, 1}, {240, 1},      {999, 1}};
#define N_VIDEOS G_N_ELEMENTS(rates)
#define N_FRAMES 1500

/* A project at NAME with one video per rate (ids 1..N_VIDEOS, N_FRAMES frames each); video 1 is
 * "/videos/a b&c.mp4". */
static MimicaStore *new_project(Fixture *f, const char *name)
{
    g_autofree char *path = fpath(f, name);
    GError *error = NULL;
    MimicaStore *store = mimica_store_create(path, &error);
    g_assert_no_error(error);
    for (unsigned v = 0; v < N_VIDEOS; v++) {
        g_autofree char *vpath =
            v ? g_strdup_printf("/videos/v%u.mp4", v + 1) : g_strdup("/videos/a b&c.mp4");
        g_autofree char *hash = g_strdup_printf("h%u", v + 1);
        MimicaVideoFacts facts = {
            vpath,       hash,        (gint64)N_FRAMES * 1000000 * rates[v][1] / rates[v][0],
            rates[v][0], rates[v][1], N_FRAMES,
            64,          48,          0};
        g_assert_cmpint(mimica_store_add_video(store, &facts, &error), ==, v + 1);
    }
    return store;
}

static gint64 count_events(MimicaStore *store)
{
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(mimica_store_get_db(store), "SELECT count(*) FROM label_events", -1, &st,
                       NULL);
    g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
    gint64 n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The labels of one annotator on one video painted frame by frame, later events winning:
 * grid[(au - 1) * N_FRAMES + frame] = value + 1, 0 where none. */
typedef struct {
    const char *annotator;
    guint8 *grid;
} Paint;

static gboolean paint(const MimicaLabel *l, gpointer data)
{
    Paint *p = data;
    g_assert_cmpint(l->frame_end, <, N_FRAMES);
    for (gint64 fr = l->frame_start; fr <= l->frame_end; fr++)
        p->grid[(l->au - 1) * N_FRAMES + fr] = (guint8)(l->value + 1);
    return TRUE;
}

static guint8 *grid_of(MimicaStore *store, gint64 video, const char *annotator)
{
    Paint p = {annotator, g_malloc0(99 * N_FRAMES)};
    GError *error = NULL;
    g_assert_true(mimica_store_foreach_label(store, video, annotator, paint, &p, &error));
    g_assert_no_error(error);
    return p.grid;
}

static char *export_file(Fixture *f, MimicaStore *store, gint64 video, const char *annotator,
                         const char *name)
{
    char *path = fpath(f, name);
    FILE *out = fopen(path, "w");
    g_assert_nonnull(out);
    GError *error = NULL;
    g_assert_true(mimica_store_export_elan(store, video, annotator, out, &error));
    g_assert_no_error(error);
    g_assert_cmpint(fclose(out), ==, 0);
    return path;
}

/* Round trip --------------------------------------------------------------------------------- */

static void test_round_trip(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) a = new_project(f, "a.mimica");
    const char *who[] = {"<Ann & \"Bo\">", "Zoë"};
    GRand *rand = g_rand_new_with_seed(14);
    gint64 n_set = 0;
    /* one transaction: a labels CSV of import events (later rows win where they overlap) */
    GString *csv = g_string_new("video,frame_start,frame_end,au,value,annotator,time,event\n");
    for (unsigned v = 0; v < N_VIDEOS; v++) {
        /* AU 1: every frame its own segment (absent, present, A..E in turn): every frame boundary
         * of the rate goes out to milliseconds and comes back */
        for (gint64 fr = 0; fr < N_FRAMES; fr++, n_set++)
            g_string_append_printf(csv, "%u,%lld,%lld,1,%s,\"%s\",,\n", v + 1, (long long)fr,
                                   (long long)fr, mimica_label_value_to_string(fr % 7),
                                   "<Ann & \"\"Bo\"\">");
        /* random overlapping spans of 20 AUs by both annotators */
        for (int i = 0; i < 300; i++, n_set++) {
            gint64 s = g_rand_int_range(rand, 0, N_FRAMES - 1);
            gint64 e = s + g_rand_int_range(rand, 0, 200); /* MIN() evaluates twice */
            e = MIN(N_FRAMES - 1, e);
            g_string_append_printf(csv, "%u,%lld,%lld,%d,%s,\"%s\",,\n", v + 1, (long long)s,
                                   (long long)e, g_rand_int_range(rand, 2, 22),
                                   mimica_label_value_to_string(g_rand_int_range(rand, 0, 7)),
                                   i % 2 ? "Zoë" : "<Ann & \"\"Bo\"\">");
        }
    }
    g_autofree char *csv_path = fpath(f, "a.csv");
    g_assert_true(g_file_set_contents(csv_path, csv->str, -1, NULL));
    g_string_free(csv, TRUE);
    gint64 n_csv = mimica_store_import_labels_csv(a, csv_path, &error);
    g_assert_no_error(error);
    g_assert_cmpint(n_csv, ==, n_set);
    /* and edits, some undone */
    for (int i = 0; i < 24; i++, n_set++) {
        gint64 s = g_rand_int_range(rand, 0, N_FRAMES - 1);
        g_assert_cmpint(mimica_store_label_set(a, 1 + i % N_VIDEOS, s, MIN(N_FRAMES - 1, s + 40),
                                               g_rand_int_range(rand, 1, 22),
                                               g_rand_int_range(rand, 0, 7), who[i % 2], &error),
                        >, 0);
        if (i % 5 == 4)
            g_assert_cmpint(mimica_store_label_undo(a, who[i % 2], NULL, &error), >, 0);
    }
    g_rand_free(rand);
    g_assert_no_error(error);

    g_autoptr(MimicaStore) b = new_project(f, "b.mimica");
    gint64 n_imported = 0, n_frames_compared = 0, n_labelled = 0, n_bytes = 0, n_diff = 0;
    for (unsigned v = 0; v < N_VIDEOS; v++) {
        for (unsigned k = 0; k < 2; k++) {
            g_autofree char *name = g_strdup_printf("v%u-%u.eaf", v + 1, k);
            g_autofree char *eaf = export_file(f, a, v + 1, who[k], name);
            MimicaElanImport sum;
            MimicaElanImportOptions options = {NULL}; /* every tier names its annotator */
            gint64 n = mimica_store_import_elan(b, v + 1, eaf, &options, &sum, &error);
            g_assert_no_error(error);
            g_assert_cmpint(n, ==, sum.n_labels);
            g_assert_cmpint(sum.n_unknown_tiers, ==, 0);
            g_assert_cmpint(sum.n_short + sum.n_interpolated + sum.n_ref + sum.n_empty, ==, 0);
            g_assert_cmpstr(sum.annotators, ==, who[k]);
            g_assert_true(sum.media_matches);
            n_imported += n;
            g_autofree char *text = NULL;
            gsize len = 0;
            g_assert_true(g_file_get_contents(eaf, &text, &len, NULL));
            n_bytes += len;

            g_autofree guint8 *ga = grid_of(a, v + 1, who[k]);
            g_autofree guint8 *gb = grid_of(b, v + 1, who[k]);
            for (gsize i = 0; i < 99 * N_FRAMES; i++) {
                n_labelled += ga[i] != 0;
                if (ga[i] != gb[i] && n_diff++ < 5)
                    g_test_message("video %u (%d/%d fps), %s: AU %zu frame %zu: %d vs %d", v + 1,
                                   rates[v][0], rates[v][1], who[k], i / N_FRAMES + 1, i % N_FRAMES,
                                   ga[i], gb[i]);
            }
            n_frames_compared += 99 * N_FRAMES;
            g_test_message("video %u (%d/%d fps), %s: %zu bytes, %lld annotations imported, %d "
                           "AU tiers",
                           v + 1, rates[v][0], rates[v][1], who[k], len, (long long)n,
                           sum.n_au_tiers);
            mimica_elan_import_clear(&sum);
        }
    }
    g_test_message("round trip: %lld label edits in A, %lld bytes of .eaf, %lld annotations "
                   "imported into B; %lld (AU, frame) cells compared, %lld labelled, %lld differ",
                   (long long)n_set, (long long)n_bytes, (long long)n_imported,
                   (long long)n_frames_compared, (long long)n_labelled, (long long)n_diff);
    g_assert_cmpint(n_diff, ==, 0);
    g_assert_cmpint(n_labelled, >=, (gint64)N_VIDEOS * N_FRAMES);
    g_assert_cmpint(count_events(b), ==, n_imported);

    /* The same file again: appended events, the same labels frame for frame. */
    g_autofree char *again = fpath(f, "v2-1.eaf");
    gint64 before = count_events(b);
    g_autofree guint8 *g1 = grid_of(b, 2, who[1]);
    gint64 n = mimica_store_import_elan(b, 2, again, NULL, NULL, &error);
    g_assert_no_error(error);
    g_autofree guint8 *g2 = grid_of(b, 2, who[1]);
    g_assert_cmpint(count_events(b), ==, before + n);
    g_assert_cmpmem(g1, 99 * N_FRAMES, g2, 99 * N_FRAMES);
    g_test_message("imported again: %lld more events, labels unchanged", (long long)n);

    /* An annotator with a tab, CR and LF: XML turns them into spaces in an attribute unless
     * they are written as character references (found by fuzz-elan). */
    const char *odd = "a\tb\r\nc";
    g_assert_cmpint(mimica_store_label_set(a, 1, 5, 25, 9, MIMICA_LABEL_B, odd, &error), >, 0);
    g_autofree char *odd_eaf = export_file(f, a, 1, odd, "odd.eaf");
    g_autoptr(MimicaStore) d = new_project(f, "d.mimica");
    g_assert_cmpint(mimica_store_import_elan(d, 1, odd_eaf, NULL, NULL, &error), ==, 1);
    g_assert_no_error(error);
    g_autofree guint8 *godd_a = grid_of(a, 1, odd), *godd_d = grid_of(d, 1, odd);
    g_assert_cmpmem(godd_a, 99 * N_FRAMES, godd_d, 99 * N_FRAMES);
    g_autofree char *odd_text = NULL;
    g_assert_true(g_file_get_contents(odd_eaf, &odd_text, NULL, NULL));
    g_assert_nonnull(strstr(odd_text, "ANNOTATOR=\"a&#9;b&#13;&#10;c\""));
    g_test_message("annotator a<TAB>b<CR><LF>c: 1 label back under the same name");

    /* A video without labels: the export has no tier; its import writes nothing. */
    g_autoptr(MimicaStore) c = new_project(f, "c.mimica");
    g_autofree char *empty = export_file(f, c, 3, NULL, "empty.eaf");
    g_assert_cmpint(mimica_store_import_elan(b, 3, empty, NULL, NULL, &error), ==, 0);
    g_assert_no_error(error);
}

/* A file as ELAN 6 saves it ------------------------------------------------------------------ */

/* Video 1 is 25 fps, 1500 frames. Tier Smile (Ann) has one annotation, 1000-2200 ms; AU12 (Ann)
 * subdivides it in time on unaligned slots ts2, ts3 (placed at 1400, 1800 ms); "AU 6" (Bo)
 * associates a REF_ANNOTATION with it; AU01 has no ANNOTATOR, an empty value (present) and an
 * annotation of 10 ms (one frame); Notes and "AU12 intensity" are no AU tier. */
static const char elan6[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ANNOTATION_DOCUMENT AUTHOR=\"\" DATE=\"2024-03-05T14:12:09+01:00\" FORMAT=\"3.0\" "
    "VERSION=\"3.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">\n"
    "    <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">\n"
    "        <MEDIA_DESCRIPTOR MEDIA_URL=\"file:///home/coder/videos/a%20b&amp;c.mp4\" "
    "MIME_TYPE=\"video/mp4\" RELATIVE_MEDIA_URL=\"../videos/a%20b&amp;c.mp4\"/>\n"
    "        <MEDIA_DESCRIPTOR EXTRACTED_FROM=\"file:///home/coder/videos/a%20b&amp;c.mp4\" "
    "MEDIA_URL=\"file:///home/coder/videos/a%20b&amp;c.wav\" MIME_TYPE=\"audio/x-wav\" "
    "RELATIVE_MEDIA_URL=\"../videos/a%20b&amp;c.wav\"/>\n"
    "        <PROPERTY NAME=\"URN\">urn:nl-mpi-tools-elan-eaf:0b6c4fd4-6b7e-4d0e-a0c7-"
    "3b5f0f4f1a2e</PROPERTY>\n"
    "        <PROPERTY NAME=\"lastUsedAnnotationId\">9</PROPERTY>\n"
    "    </HEADER>\n"
    "    <TIME_ORDER>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"1000\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts2\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts3\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts4\" TIME_VALUE=\"2200\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts5\" TIME_VALUE=\"4000\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts6\" TIME_VALUE=\"5020\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts7\" TIME_VALUE=\"6000\"/>\n"
    "        <TIME_SLOT TIME_SLOT_ID=\"ts8\" TIME_VALUE=\"6010\"/>\n"
    "    </TIME_ORDER>\n"
    "    <TIER ANNOTATOR=\"Ann\" DEFAULT_LOCALE=\"en\" LINGUISTIC_TYPE_REF=\"default-lt\" "
    "PARTICIPANT=\"S01\" TIER_ID=\"Smile\">\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a1\" TIME_SLOT_REF1=\"ts1\" "
    "TIME_SLOT_REF2=\"ts4\">\n"
    "                <ANNOTATION_VALUE>smile</ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <TIER ANNOTATOR=\"Ann\" LINGUISTIC_TYPE_REF=\"subdivision\" PARENT_REF=\"Smile\" "
    "PARTICIPANT=\"S01\" TIER_ID=\"AU12\">\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a2\" TIME_SLOT_REF1=\"ts1\" "
    "TIME_SLOT_REF2=\"ts2\">\n"
    "                <ANNOTATION_VALUE>B</ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a3\" TIME_SLOT_REF1=\"ts2\" "
    "TIME_SLOT_REF2=\"ts3\">\n"
    "                <ANNOTATION_VALUE>D</ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a4\" TIME_SLOT_REF1=\"ts3\" "
    "TIME_SLOT_REF2=\"ts4\">\n"
    "                <ANNOTATION_VALUE> b </ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <TIER ANNOTATOR=\"Bo\" LINGUISTIC_TYPE_REF=\"association\" PARENT_REF=\"Smile\" "
    "PARTICIPANT=\"S01\" TIER_ID=\"AU 6\">\n"
    "        <ANNOTATION>\n"
    "            <REF_ANNOTATION ANNOTATION_ID=\"a5\" ANNOTATION_REF=\"a1\">\n"
    "                <ANNOTATION_VALUE>Present</ANNOTATION_VALUE>\n"
    "            </REF_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <TIER LINGUISTIC_TYPE_REF=\"default-lt\" PARTICIPANT=\"S01\" TIER_ID=\"AU01\">\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a6\" TIME_SLOT_REF1=\"ts5\" "
    "TIME_SLOT_REF2=\"ts6\">\n"
    "                <ANNOTATION_VALUE></ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a7\" TIME_SLOT_REF1=\"ts7\" "
    "TIME_SLOT_REF2=\"ts8\">\n"
    "                <ANNOTATION_VALUE>E</ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <TIER ANNOTATOR=\"Bo\" LINGUISTIC_TYPE_REF=\"default-lt\" TIER_ID=\"Notes\">\n"
    "        <ANNOTATION>\n"
    "            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a8\" TIME_SLOT_REF1=\"ts5\" "
    "TIME_SLOT_REF2=\"ts7\">\n"
    "                <ANNOTATION_VALUE>looks away &amp; back</ANNOTATION_VALUE>\n"
    "            </ALIGNABLE_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <TIER ANNOTATOR=\"Ann\" LINGUISTIC_TYPE_REF=\"association\" PARENT_REF=\"AU12\" "
    "TIER_ID=\"AU12 intensity\">\n"
    "        <ANNOTATION>\n"
    "            <REF_ANNOTATION ANNOTATION_ID=\"a9\" ANNOTATION_REF=\"a2\">\n"
    "                <ANNOTATION_VALUE>2</ANNOTATION_VALUE>\n"
    "            </REF_ANNOTATION>\n"
    "        </ANNOTATION>\n"
    "    </TIER>\n"
    "    <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"default-lt\" "
    "TIME_ALIGNABLE=\"true\"/>\n"
    "    <LINGUISTIC_TYPE CONSTRAINTS=\"Time_Subdivision\" GRAPHIC_REFERENCES=\"false\" "
    "LINGUISTIC_TYPE_ID=\"subdivision\" TIME_ALIGNABLE=\"true\"/>\n"
    "    <LINGUISTIC_TYPE CONSTRAINTS=\"Symbolic_Association\" GRAPHIC_REFERENCES=\"false\" "
    "LINGUISTIC_TYPE_ID=\"association\" TIME_ALIGNABLE=\"false\"/>\n"
    "    <LOCALE COUNTRY_CODE=\"US\" LANGUAGE_CODE=\"en\"/>\n"
    "    <CONSTRAINT DESCRIPTION=\"Time subdivision of parent annotation's time interval, no "
    "time gaps allowed within this interval\" STEREOTYPE=\"Time_Subdivision\"/>\n"
    "    <CONSTRAINT DESCRIPTION=\"1-1 association with a parent annotation\" "
    "STEREOTYPE=\"Symbolic_Association\"/>\n"
    "</ANNOTATION_DOCUMENT>\n";

typedef struct {
    GString *s;
} Listing;

static gboolean list_label(const MimicaLabel *l, gpointer data)
{
    g_string_append_printf(data, "%s AU%d %lld-%lld %s; ", l->annotator, l->au,
                           (long long)l->frame_start, (long long)l->frame_end,
                           mimica_label_value_to_string(l->value));
    return TRUE;
}

static char *list_labels(MimicaStore *store, gint64 video)
{
    GString *s = g_string_new(NULL);
    GError *error = NULL;
    g_assert_true(mimica_store_foreach_label(store, video, NULL, list_label, s, &error));
    return g_string_free(s, FALSE);
}

static void test_elan6(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_autofree char *eaf = fpath(f, "elan6.eaf");
    g_assert_true(g_file_set_contents(eaf, elan6, -1, NULL));
    MimicaElanImportOptions options = {"tester"};
    MimicaElanImport sum;
    gint64 n = mimica_store_import_elan(store, 1, eaf, &options, &sum, &error);
    g_assert_no_error(error);
    g_autofree char *got = list_labels(store, 1);
    g_test_message("%lld labels: %s", (long long)n, got);
    g_test_message("tiers %d, AU tiers %d, default annotator %d, interpolated %lld, ref %lld, "
                   "empty %lld, short %lld, unknown %d (%lld annotations): %s; annotators %s; "
                   "media %s (matches %d), origin %lld",
                   sum.n_tiers, sum.n_au_tiers, sum.n_default_annotator,
                   (long long)sum.n_interpolated, (long long)sum.n_ref, (long long)sum.n_empty,
                   (long long)sum.n_short, sum.n_unknown_tiers,
                   (long long)sum.n_unknown_annotations, sum.unknown_tiers, sum.annotators,
                   sum.media, sum.media_matches, (long long)sum.time_origin_ms);
    /* 1000-1400-1800-2200 ms at 25 fps: frames 25-34, 35-44, 45-54; 4000-5020 ms: 100-125
     * (5020 ms is frame 125.5, rounded up); 6000-6010 ms: frame 150 */
    g_assert_cmpstr(got, ==,
                    "Ann AU12 25-34 B; Ann AU12 35-44 D; Ann AU12 45-54 B; Bo AU6 25-54 present; "
                    "tester AU1 100-125 present; tester AU1 150-150 E; ");
    g_assert_cmpint(n, ==, 6);
    g_assert_cmpint(sum.n_labels, ==, 6);
    g_assert_cmpint(sum.n_tiers, ==, 6);
    g_assert_cmpint(sum.n_au_tiers, ==, 3);
    g_assert_cmpint(sum.n_default_annotator, ==, 1);
    g_assert_cmpint(sum.n_interpolated, ==, 3);
    g_assert_cmpint(sum.n_ref, ==, 1);
    g_assert_cmpint(sum.n_empty, ==, 1);
    g_assert_cmpint(sum.n_short, ==, 1);
    g_assert_cmpint(sum.n_unknown_tiers, ==, 3);
    g_assert_cmpint(sum.n_unknown_annotations, ==, 3);
    g_assert_cmpstr(sum.unknown_tiers, ==,
                    "Smile (1 annotation, line 19), Notes (1 annotation, line 62), AU12 "
                    "intensity (1 annotation, line 69)");
    g_assert_cmpstr(sum.annotators, ==, "Ann, Bo, tester");
    g_assert_cmpstr(sum.media, ==, "file:///home/coder/videos/a%20b&c.mp4");
    g_assert_true(sum.media_matches);
    g_assert_cmpint(sum.time_origin_ms, ==, 0);
    mimica_elan_import_clear(&sum);

    /* 25 tiers that are no AU and 22 annotators: the summary names 20 of each */
    GString *many = g_string_new("<ANNOTATION_DOCUMENT>\n");
    for (int i = 0; i < 25; i++)
        g_string_append_printf(many, "<TIER TIER_ID=\"T%d\"/>\n", i);
    g_string_append(many, "<TIME_ORDER><TIME_SLOT TIME_SLOT_ID=\"s1\" TIME_VALUE=\"0\"/>"
                          "<TIME_SLOT TIME_SLOT_ID=\"s2\" TIME_VALUE=\"40\"/></TIME_ORDER>\n");
    for (int i = 0; i < 22; i++)
        g_string_append_printf(many,
                               "<TIER TIER_ID=\"%*sAU7\" ANNOTATOR=\"c%d\"><ANNOTATION>"
                               "<ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a%d\" TIME_SLOT_REF1=\"s1\" "
                               "TIME_SLOT_REF2=\"s2\"><ANNOTATION_VALUE>A</ANNOTATION_VALUE>"
                               "</ALIGNABLE_ANNOTATION></ANNOTATION></TIER>\n",
                               i, "", i, i);
    g_string_append(many, "</ANNOTATION_DOCUMENT>\n");
    g_autofree char *many_path = fpath(f, "many.eaf");
    g_assert_true(g_file_set_contents(many_path, many->str, -1, NULL));
    g_string_free(many, TRUE);
    n = mimica_store_import_elan(store, 4, many_path, &options, &sum, &error);
    g_assert_no_error(error);
    g_test_message("25 unknown tiers, 22 annotators: %lld labels; %s; %s", (long long)n,
                   sum.unknown_tiers, sum.annotators);
    g_assert_cmpint(n, ==, 22);
    g_assert_cmpint(sum.n_unknown_tiers, ==, 25);
    g_assert_true(g_str_has_suffix(sum.unknown_tiers, "T19 (0 annotations, line 21) and 5 more"));
    g_assert_true(g_str_has_suffix(sum.annotators, "c18, c19 and 2 more"));
    mimica_elan_import_clear(&sum);

    /* Without a default annotator the tier without ANNOTATOR is refused, nothing written. */
    gint64 before = count_events(store);
    g_assert_cmpint(mimica_store_import_elan(store, 1, eaf, NULL, NULL, &error), ==, -1);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
    g_test_message("no default annotator: %s", error->message);
    g_assert_nonnull(strstr(error->message, "elan6.eaf:50: tier 'AU01' has no ANNOTATOR"));
    g_clear_error(&error);
    g_assert_cmpint(count_events(store), ==, before);

    /* On video 2 (another file name, 29.97 fps) with a TIME_ORIGIN of 1001 ms: the media is
     * noted as another file, times move by 30 frames. */
    g_autofree char *shifted = g_strdup(elan6);
    char *at = strstr(shifted, "MIME_TYPE=\"video/mp4\"");
    memcpy(at, "TIME_ORIGIN=\"1001\"   ", 21);
    g_assert_true(g_file_set_contents(eaf, shifted, -1, NULL));
    n = mimica_store_import_elan(store, 2, eaf, &options, &sum, &error);
    g_assert_no_error(error);
    g_autofree char *got2 = list_labels(store, 2);
    g_test_message("video 2, TIME_ORIGIN 1001: %s (media matches %d, origin %lld)", got2,
                   sum.media_matches, (long long)sum.time_origin_ms);
    /* at 30000/1001 fps (33.367 ms a frame), 1000 + 1001 ms is frame 59.97 -> 60; 2401 -> 71.96
     * -> 72; 2801 -> 83.95 -> 84; 3201 -> 95.93 -> 96; 5001 -> 149.88 -> 150; 6021 -> 180.45 ->
     * 180; 7001 -> 209.82 and 7011 -> 210.12 both 210: shorter than a frame, its middle 7006 ms
     * is in frame 209 (6973.6-7007.0 ms) */
    g_assert_cmpstr(got2, ==,
                    "Ann AU12 60-71 B; Ann AU12 72-83 D; Ann AU12 84-95 B; Bo AU6 60-95 present; "
                    "tester AU1 150-179 present; tester AU1 209-209 E; ");
    g_assert_false(sum.media_matches);
    g_assert_cmpint(sum.time_origin_ms, ==, 1001);
    mimica_elan_import_clear(&sum);
}

/* Bad files ---------------------------------------------------------------------------------- */

/* A small valid document around BODY (tiers, ...), with slots ts1 0, ts2 1000, ts3 2000 ms. */
static char *doc(const char *header_attrs, const char *body)
{
    return g_strdup_printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<ANNOTATION_DOCUMENT FORMAT=\"3.0\" VERSION=\"3.0\">\n"
                           "<HEADER TIME_UNITS=\"milliseconds\"%s/>\n"
                           "<TIME_ORDER>\n"
                           "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"0\"/>\n"
                           "<TIME_SLOT TIME_SLOT_ID=\"ts2\" TIME_VALUE=\"1000\"/>\n"
                           "<TIME_SLOT TIME_SLOT_ID=\"ts3\" TIME_VALUE=\"2000\"/>\n"
                           "</TIME_ORDER>\n"
                           "%s"
                           "</ANNOTATION_DOCUMENT>\n",
                           header_attrs, body);
}

#define TIER(attrs, anns) "<TIER " attrs ">\n" anns "</TIER>\n"
#define ALIGN(id, r1, r2, v)                                                                       \
    "<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID=\"" id "\" TIME_SLOT_REF1=\"" r1              \
    "\" TIME_SLOT_REF2=\"" r2 "\"><ANNOTATION_VALUE>" v                                            \
    "</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>\n"
#define REF(id, parent, v)                                                                         \
    "<ANNOTATION><REF_ANNOTATION ANNOTATION_ID=\"" id "\" ANNOTATION_REF=\"" parent                \
    "\"><ANNOTATION_VALUE>" v "</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>\n"
#define AU12 "TIER_ID=\"AU12\" ANNOTATOR=\"Ann\""

typedef struct {
    const char *name;
    char *text;       /* owned */
    gssize len;       /* -1: strlen */
    const char *want; /* in the message, after "NAME.eaf:" */
} BadCase;

static void test_bad(Fixture *f, gconstpointer data)
{
    GError *error = NULL;
    g_autoptr(MimicaStore) store = new_project(f, "p.mimica");
    g_assert_cmpint(mimica_store_label_set(store, 1, 0, 9, 12, MIMICA_LABEL_C, "Ann", &error), >,
                    0);
    /* line numbers: the XML declaration is line 1, the root 2, HEADER 3, slots 5-7, the first
     * tier's start tag 9, its first annotation 10 */
    GString *deep = g_string_new("<ANNOTATION_DOCUMENT>");
    for (int i = 0; i < 100000; i++)
        g_string_append(deep, "<x>");
    GString *bomb = g_string_new("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n"
                                 " <!ENTITY lol \"lol\">\n");
    for (int i = 1; i < 10; i++)
        g_string_append_printf(bomb, " <!ENTITY lol%d \"%s\">\n", i,
                               "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;");
    g_string_append(bomb, "]>\n<ANNOTATION_DOCUMENT><HEADER/>&lol9;</ANNOTATION_DOCUMENT>\n");
    BadCase cases[] = {
        {"csv", g_strdup("video,frame_start,frame_end\n1,2,3\n"), -1,
         "1: not well-formed XML: Document must begin with an element"},
        {"html", g_strdup("<html>\n<body/></html>\n"), -1,
         "1: not an ELAN file: the root element is <html>, want <ANNOTATION_DOCUMENT>"},
        {"empty", g_strdup(""), -1, " empty file"},
        {"truncated", g_strndup(elan6, 2000), -1, "not well-formed XML: Document ended"},
        {"second-root", g_strdup("<ANNOTATION_DOCUMENT/>\n<ANNOTATION_DOCUMENT/>"), -1,
         "2: element <ANNOTATION_DOCUMENT> after the end of the document"},
        {"no-ref2",
         doc("", TIER(AU12, "<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a1\" "
                            "TIME_SLOT_REF1=\"ts1\"><ANNOTATION_VALUE>B</ANNOTATION_VALUE>"
                            "</ALIGNABLE_ANNOTATION></ANNOTATION>\n")),
         -1, "10: annotation 'a1' without TIME_SLOT_REF2"},
        {"unknown-slot", doc("", TIER(AU12, ALIGN("a1", "ts1", "ts9", "B"))), -1,
         "10: annotation 'a1': TIME_SLOT_REF2 'ts9' is not a time slot of TIME_ORDER"},
        {"end-before-start", doc("", TIER(AU12, ALIGN("a1", "ts3", "ts2", "B"))), -1,
         "10: annotation 'a1' ends before it starts: TIME_SLOT_REF1 'ts3' at 2000 ms, "
         "TIME_SLOT_REF2 'ts2' at 1000 ms"},
        {"same-slot", doc("", TIER(AU12, ALIGN("a1", "ts2", "ts2", "B"))), -1,
         "10: annotation 'a1' has no duration"},
        {"dup-slot",
         g_strdup("<ANNOTATION_DOCUMENT>\n<TIME_ORDER>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"0\"/>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"10\"/>\n"
                  "</TIME_ORDER>\n</ANNOTATION_DOCUMENT>\n"),
         -1, "4: duplicate TIME_SLOT_ID 'ts1' (first on line 3)"},
        {"dup-annotation",
         doc("", TIER(AU12, ALIGN("a1", "ts1", "ts2", "B"))
                     TIER("TIER_ID=\"AU6\"", ALIGN("a1", "ts2", "ts3", "B"))),
         -1, "13: duplicate ANNOTATION_ID 'a1' (first on line 10)"},
        {"dup-tier", doc("", TIER(AU12, "") TIER(AU12, "")), -1,
         "11: duplicate TIER_ID 'AU12' (first on line 9)"},
        {"slot-outside", doc("", "<TIME_SLOT TIME_SLOT_ID=\"ts9\" TIME_VALUE=\"5\"/>\n"), -1,
         "9: <TIME_SLOT> inside <ANNOTATION_DOCUMENT>, want it inside <TIME_ORDER>"},
        {"no-value",
         doc("", TIER(AU12, "<ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID=\"a1\" "
                            "TIME_SLOT_REF1=\"ts1\" TIME_SLOT_REF2=\"ts2\"/></ANNOTATION>\n")),
         -1, "10: annotation 'a1' has no ANNOTATION_VALUE"},
        {"unplaceable",
         g_strdup("<ANNOTATION_DOCUMENT>\n<TIME_ORDER>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"0\"/>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts2\"/>\n"
                  "</TIME_ORDER>\n" TIER(
                      AU12, ALIGN("a1", "ts1", "ts2", "B")) "</ANNOTATION_DOCUMENT>\n"),
         -1,
         "7: annotation 'a1': time slot 'ts2' (line 4) has no TIME_VALUE and cannot be placed: "
         "no slot with a TIME_VALUE after it in TIME_ORDER"},
        {"ref-unknown", doc("", TIER(AU12, REF("a1", "a7", "B"))), -1,
         "10: annotation 'a1': ANNOTATION_REF 'a7' is not an annotation of this file"},
        {"ref-cycle", doc("", TIER(AU12, REF("a1", "a2", "B") REF("a2", "a1", "B"))), -1,
         "10: annotation 'a1': its ANNOTATION_REF chain comes back to it (a cycle)"},
        {"subdivision",
         doc("", TIER("TIER_ID=\"Smile\"", ALIGN("a1", "ts1", "ts3", "x"))
                     TIER(AU12, REF("a2", "a1", "B") REF("a3", "a1", "C"))),
         -1, "14: tier 'AU12' subdivides annotation 'a1' symbolically (also on line 13)"},
        {"bad-value", doc("", TIER(AU12, ALIGN("a1", "ts1", "ts2", "smile"))), -1,
         "10: tier 'AU12', annotation 'a1': value 'smile' is not absent, present or A-E"},
        {"beyond-video",
         g_strdup("<ANNOTATION_DOCUMENT>\n<TIME_ORDER>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"59000\"/>\n"
                  "<TIME_SLOT TIME_SLOT_ID=\"ts2\" TIME_VALUE=\"60040\"/>\n"
                  "</TIME_ORDER>\n" TIER(
                      AU12, ALIGN("a1", "ts1", "ts2", "B")) "</ANNOTATION_DOCUMENT>\n"),
         -1,
         "7: tier 'AU12', annotation 'a1' (59000-60040 ms) is frames 1475-1500, beyond video 1 "
         "(frames 0-1499 at 25/1 fps)"},
        {"bad-time", NULL, -1, NULL}, /* made below */
        {"units", NULL, -1, NULL},
        {"format-4",
         g_strdup("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<ANNOTATION_DOCUMENT FORMAT=\"4.0\" VERSION=\"4.0\"/>\n"),
         -1, "2: EAF FORMAT '4.0' is not a version this import reads (2.x, 3.0)"},
        {"latin1",
         g_strdup("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<ANNOTATION_DOCUMENT/>\n"), -1,
         "1: encoding 'ISO-8859-1' is not supported"},
        {"not-utf8", doc("", TIER(AU12, ALIGN("a1", "ts1", "ts2", "caf\xe9"))), -1,
         "10: not UTF-8 text (byte 0xE9; ELAN writes UTF-8: save the file as UTF-8)"},
        /* GMarkup alone would note it and parse on to success */
        {"not-utf8-comment",
         doc("", "<!-- caf\xe9 -->\n" TIER(AU12, ALIGN("a1", "ts1", "ts2", "B"))), -1,
         "9: not UTF-8 text (byte 0xE9"},
        {"utf16", g_memdup2("\xff\xfe<\0A\0", 6), 6, "1: UTF-16 text"},
        {"nul", g_memdup2("<ANNOTATION_DOCUMENT>\n\n<x>\0</x>", 31), 31, "3: NUL byte"},
        {"entity-bomb", g_string_free(bomb, FALSE), -1, "14: not well-formed XML: Entity name"},
        {"external-entity",
         g_strdup("<?xml version=\"1.0\"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "
                  "\"file:///etc/passwd\">]>\n<ANNOTATION_DOCUMENT>&x;</ANNOTATION_DOCUMENT>\n"),
         -1, "3: not well-formed XML: Entity name"},
        {"deep", g_string_free(deep, FALSE), -1,
         "1: elements nested more than 32 deep (an ELAN file nests 5)"},
        {"negative-origin", NULL, -1, NULL},
    };
    /* cases built from doc() with other header attributes */
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (strcmp(cases[i].name, "bad-time") == 0) {
            g_free(cases[i].text);
            cases[i].text = g_strdup("<ANNOTATION_DOCUMENT>\n<TIME_ORDER>\n"
                                     "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"-5\"/>\n"
                                     "</TIME_ORDER>\n</ANNOTATION_DOCUMENT>\n");
            cases[i].want = "3: TIME_VALUE '-5' is not a whole number of milliseconds";
        } else if (strcmp(cases[i].name, "units") == 0) {
            g_free(cases[i].text);
            cases[i].text = g_strdup("<ANNOTATION_DOCUMENT>\n"
                                     "<HEADER TIME_UNITS=\"PAL-frames\"/>\n"
                                     "</ANNOTATION_DOCUMENT>\n");
            cases[i].want = "2: TIME_UNITS 'PAL-frames' is not supported (want milliseconds";
        } else if (strcmp(cases[i].name, "negative-origin") == 0) {
            g_free(cases[i].text);
            cases[i].text = g_strdup_printf(
                "<ANNOTATION_DOCUMENT>\n<HEADER>\n<MEDIA_DESCRIPTOR MEDIA_URL=\"file:///v/a%%20b"
                "%%26c.mp4\" TIME_ORIGIN=\"-500\"/>\n</HEADER>\n<TIME_ORDER>\n"
                "<TIME_SLOT TIME_SLOT_ID=\"ts1\" TIME_VALUE=\"100\"/>\n"
                "<TIME_SLOT TIME_SLOT_ID=\"ts2\" TIME_VALUE=\"900\"/>\n"
                "</TIME_ORDER>\n%s</ANNOTATION_DOCUMENT>\n",
                TIER(AU12, ALIGN("a1", "ts1", "ts2", "B")));
            cases[i].want = "10: annotation 'a1' starts at 100 ms, before the video (TIME_ORIGIN "
                            "-500 ms)";
        }
    }
    gint64 before = count_events(store);
    g_autofree char *labels_before = list_labels(store, 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *name = g_strdup_printf("%s.eaf", cases[i].name);
        g_autofree char *path = fpath(f, name);
        gsize len = cases[i].len < 0 ? strlen(cases[i].text) : (gsize)cases[i].len;
        g_assert_true(g_file_set_contents(path, cases[i].text, len, NULL));
        MimicaElanImportOptions options = {"tester"};
        gint64 t0 = g_get_monotonic_time();
        gint64 n = mimica_store_import_elan(store, 1, path, &options, NULL, &error);
        double ms = (g_get_monotonic_time() - t0) / 1000.0;
        g_test_message("%-16s %7zu bytes, %6.2f ms: %s", cases[i].name, len, ms,
                       error ? error->message : "(accepted)");
        g_assert_cmpint(n, ==, -1);
        g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
        g_assert_true(g_utf8_validate(error->message, -1, NULL));
        /* "LINE: message" or " message" begin the message after "PATH:"; else it holds it */
        gboolean at_line = g_ascii_isdigit(cases[i].want[0]) || cases[i].want[0] == ' ';
        g_autofree char *want = g_strdup_printf("%s:%s", path, at_line ? cases[i].want : "");
        if (!g_str_has_prefix(error->message, want) ||
            (!at_line && !strstr(error->message, cases[i].want)))
            g_error("%s: got\n  %s\nwant it to begin with\n  %s", cases[i].name, error->message,
                    want);
        g_clear_error(&error);
        g_free(cases[i].text);
    }
    g_assert_cmpint(count_events(store), ==, before);
    g_autofree char *labels_after = list_labels(store, 1);
    g_assert_cmpstr(labels_before, ==, labels_after);
    g_test_message("%zu bad files refused, %lld events before and after", G_N_ELEMENTS(cases),
                   (long long)before);

    /* Above the size limit: refused from its size, before reading (a sparse file). */
    g_autofree char *huge = fpath(f, "huge.eaf");
    FILE *h = fopen(huge, "w");
    g_assert_nonnull(h);
    fputs("<ANNOTATION_DOCUMENT>", h);
    g_assert_cmpint(ftruncate(fileno(h), MIMICA_ELAN_MAX_BYTES + 1), ==, 0);
    fclose(h);
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(mimica_store_import_elan(store, 1, huge, NULL, NULL, &error), ==, -1);
    g_test_message("huge (%d bytes), %.2f ms: %s", MIMICA_ELAN_MAX_BYTES + 1,
                   (g_get_monotonic_time() - t0) / 1000.0, error->message);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_PARSE);
    g_assert_nonnull(strstr(error->message, "67108865 bytes, more than the 64 MiB"));
    g_clear_error(&error);
    /* ... and from a stream that does not say its size: /dev/zero is refused at its first NUL */
    g_assert_cmpint(mimica_store_import_elan(store, 1, "/dev/zero", NULL, NULL, &error), ==, -1);
    g_test_message("/dev/zero: %s", error->message);
    g_assert_nonnull(strstr(error->message, "/dev/zero:1: NUL byte"));
    g_clear_error(&error);

    /* Files that cannot be read, a video that is not there. */
    g_autofree char *missing = fpath(f, "missing.eaf");
    g_assert_cmpint(mimica_store_import_elan(store, 1, missing, NULL, NULL, &error), ==, -1);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_test_message("missing: %s", error->message);
    g_clear_error(&error);
    g_assert_cmpint(mimica_store_import_elan(store, 1, f->dir, NULL, NULL, &error), ==, -1);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_IO);
    g_assert_nonnull(strstr(error->message, "it is a folder"));
    g_test_message("folder: %s", error->message);
    g_clear_error(&error);
    g_autofree char *ok = fpath(f, "ok.eaf");
    g_assert_true(g_file_set_contents(ok, elan6, -1, NULL));
    g_assert_cmpint(mimica_store_import_elan(store, 99, ok, NULL, NULL, &error), ==, -1);
    g_assert_error(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOT_FOUND);
    g_test_message("video 99: %s", error->message);
    g_clear_error(&error);
    g_assert_cmpint(count_events(store), ==, before);
}

/* The command line ---------------------------------------------------------------------------- */

typedef struct {
    int status;
    char *out, *err;
} Run;

static Run cli(const char *stdin_file, ...)
{
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    g_autofree char *exe = g_build_filename(build, "app", "cli", "mimica-cli", NULL);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    g_ptr_array_add(argv, exe);
    va_list ap;
    va_start(ap, stdin_file);
    const char *a;
    while ((a = va_arg(ap, const char *)))
        g_ptr_array_add(argv, (gpointer)a);
    va_end(ap);
    g_ptr_array_add(argv, NULL);
    g_auto(GStrv) env = g_get_environ();
    env = g_environ_setenv(env, "MIMICA_ANNOTATOR", "tester", TRUE);
    env = g_environ_setenv(env, "LC_ALL", "C", TRUE);
    Run r = {0};
    GError *error = NULL;
    int wait_status = 0;
    if (stdin_file) {
        /* through a shell: the file on stdin */
        g_autoptr(GString) cmd = g_string_new(NULL);
        for (guint i = 0; i + 1 < argv->len; i++) {
            g_autofree char *q = g_shell_quote(argv->pdata[i]);
            g_string_append_printf(cmd, "%s ", q);
        }
        g_autofree char *q = g_shell_quote(stdin_file);
        g_string_append_printf(cmd, "< %s", q);
        const char *sh[] = {"/bin/sh", "-c", cmd->str, NULL};
        g_assert_true(g_spawn_sync(NULL, (char **)sh, env, G_SPAWN_DEFAULT, NULL, NULL, &r.out,
                                   &r.err, &wait_status, &error));
    } else {
        g_assert_true(g_spawn_sync(NULL, (char **)argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL,
                                   &r.out, &r.err, &wait_status, &error));
    }
    g_assert_no_error(error);
    g_assert_true(WIFEXITED(wait_status));
    r.status = WEXITSTATUS(wait_status);
    return r;
}

static void run_clear(Run *r)
{
    g_free(r->out);
    g_free(r->err);
}

#define EXPECT(r, want_status, stream, text)                                                       \
    do {                                                                                           \
        if ((r).status != (want_status) || !strstr((r).stream, (text)))                            \
            g_error("exit %d (want %d), " #stream " lacks '%s':\nstdout: %s\nstderr: %s",          \
                    (r).status, (want_status), (text), (r).out, (r).err);                          \
        g_test_message("exit %d: %s", (r).status, (r).err);                                        \
    } while (0)

static void test_cli(Fixture *f, gconstpointer data)
{
    const char *build = g_getenv("MIMICA_BUILD_DIR");
    if (!build) {
        g_test_skip("MIMICA_BUILD_DIR unset: run through meson test");
        return;
    }
    GError *error = NULL;
    g_autofree char *pa = fpath(f, "a.mimica"), *pb = fpath(f, "b.mimica");
    {
        g_autoptr(MimicaStore) a = new_project(f, "a.mimica");
        g_autoptr(MimicaStore) b = new_project(f, "b.mimica");
        g_assert_cmpint(mimica_store_label_set(a, 2, 10, 99, 12, MIMICA_LABEL_D, "Ann", &error), >,
                        0);
        g_assert_cmpint(
            mimica_store_label_set(a, 2, 50, 59, 12, MIMICA_LABEL_ABSENT, "Ann", &error), >, 0);
    }
    /* export elan from A, import into B */
    Run r = cli(NULL, "export", "elan", pa, "--video", "2", NULL);
    EXPECT(r, 0, out, "TIER_ID=\"AU12\"");
    g_autofree char *eaf = fpath(f, "a.eaf");
    g_assert_true(g_file_set_contents(eaf, r.out, -1, NULL));
    run_clear(&r);
    r = cli(NULL, "label", "import", pb, eaf, "--format", "elan", "--video", "2", NULL);
    EXPECT(r, 0, err, "3 labels imported from 1 AU tier of");
    EXPECT(r, 0, err, "(annotators: Ann)");
    run_clear(&r);
    r = cli(NULL, "label", "export", pb, NULL);
    EXPECT(r, 0, out, "2,10,49,12,D,Ann,");
    EXPECT(r, 0, out, "2,50,59,12,absent,Ann,");
    EXPECT(r, 0, out, "2,60,99,12,D,Ann,");
    g_test_message("B after import:\n%s", r.out);
    run_clear(&r);

    /* the ELAN 6 file from stdin, its summary */
    g_autofree char *e6 = fpath(f, "elan6.eaf");
    g_assert_true(g_file_set_contents(e6, elan6, -1, NULL));
    r = cli(e6, "label", "import", pb, "-", "--format=elan", "--video", "1", "--annotator", "Cy",
            NULL);
    EXPECT(r, 0, err, "6 labels imported from 3 AU tiers of - (annotators: Ann, Bo, Cy)");
    EXPECT(r, 0, err,
           "3 tiers not imported (not named AUn), 3 annotations: Smile (1 annotation, line 19), "
           "Notes (1 annotation, line 62), AU12 intensity (1 annotation, line 69)");
    EXPECT(r, 0, err, "1 AU tier without ANNOTATOR, labelled as Cy");
    EXPECT(r, 0, err,
           "3 on unaligned time slots (placed evenly between their neighbours), 1 "
           "REF_ANNOTATIONs (their parent's times), 1 empty values (present), 1 shorter than a "
           "frame (one frame)");
    run_clear(&r);
    /* without --annotator: $MIMICA_ANNOTATOR, as for `label set`; options before the EAF */
    r = cli(NULL, "label", "import", pb, "--format", "elan", e6, "--video", "1", NULL);
    EXPECT(r, 0, err, "labelled as tester");
    run_clear(&r);
    /* on another video's file name: noted */
    r = cli(NULL, "label", "import", pb, e6, "--format", "elan", "--video", "3", NULL);
    EXPECT(r, 0, err,
           "note: the file was made on media file:///home/coder/videos/a%20b&c.mp4, "
           "not on video 3's file");
    run_clear(&r);

    /* refusals: a bad file (exit 1, file:line), usage (exit 2) */
    gint64 events_before;
    {
        g_autoptr(MimicaStore) b = mimica_store_open(pb, &error);
        events_before = count_events(b);
    }
    g_autofree char *bad = fpath(f, "bad.eaf");
    g_autofree char *bad_text = g_strdup(elan6);
    memcpy(strstr(bad_text, "> b <"), ">xyz<", 5);
    g_assert_true(g_file_set_contents(bad, bad_text, -1, NULL));
    r = cli(NULL, "label", "import", pb, bad, "--format", "elan", "--video", "1", NULL);
    g_autofree char *want = g_strdup_printf(
        "mimica-cli label import: %s:38: tier 'AU12', annotation 'a4': value 'xyz' is not", bad);
    EXPECT(r, 1, err, want);
    run_clear(&r);
    r = cli(NULL, "label", "import", pb, e6, "--format", "elan", NULL);
    EXPECT(r, 2, err, "needs --video ID");
    run_clear(&r);
    r = cli(NULL, "label", "import", pb, e6, "--format", "praat", "--video", "1", NULL);
    EXPECT(r, 2, err, "--format 'praat' is not csv or elan");
    run_clear(&r);
    r = cli(NULL, "label", "import", pb, e6, "--video", "1", NULL);
    EXPECT(r, 2, err, "--video and --annotator are for --format elan");
    run_clear(&r);
    r = cli(NULL, "label", "import", pb, e6, "--format", "elan", "--video", "9", NULL);
    EXPECT(r, 1, err, "no video 9");
    run_clear(&r);
    /* the CSV path as before: an .eaf as CSV is refused by the CSV reader */
    r = cli(NULL, "label", "import", pb, e6, NULL);
    EXPECT(r, 1, err, "column 1 is");
    run_clear(&r);
    {
        g_autoptr(MimicaStore) b = mimica_store_open(pb, &error);
        g_assert_cmpint(count_events(b), ==, events_before);
    }
    r = cli(NULL, "label", "--help", NULL);
    EXPECT(r, 0, out, "--format elan --video ID [--annotator NAME]");
    run_clear(&r);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/elan/" name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    ADD("round-trip", test_round_trip);
    ADD("elan6", test_elan6);
    ADD("bad", test_bad);
    ADD("cli", test_cli);
    return g_test_run();
}
