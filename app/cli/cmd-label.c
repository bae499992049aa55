/* cmd-label.c: `mimica-cli label set|undo|redo|export|import FILE ...`, AU labels (import: labels
 * CSV, or ELAN .eaf with --format elan). */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "mimica-cli.h"
#include "store/mimica-store.h"

static const char label_usage[] =
    "Usage: mimica-cli label set FILE --video ID --frames A[-B] --au N\n"
    "                            --value absent|present|A|B|C|D|E [--annotator NAME]\n"
    "       mimica-cli label undo FILE [--annotator NAME]\n"
    "       mimica-cli label redo FILE [--annotator NAME]\n"
    "       mimica-cli label export FILE\n"
    "       mimica-cli label import FILE CSV|-\n"
    "       mimica-cli label import FILE EAF|- --format elan --video ID [--annotator NAME]\n"
    "\n"
    "  set     label frames A..B (inclusive, from 0) of a video; prints the new event's id once\n"
    "          it is safely on disk\n"
    "  undo    undo the annotator's latest edit still in effect; prints the undo event's id\n"
    "  redo    redo the annotator's latest undo; prints the redo event's id\n"
    "  export  current labels as CSV on stdout:\n"
    "          video,frame_start,frame_end,au,value,annotator,time,event\n"
    "  import  add the labels of a CSV in that format (all rows or none)\n"
    "          --format elan: of an ELAN .eaf (EAF 2.x/3.0) on the video, all or none: tiers\n"
    "          named AU12, AU 12, au_12 ... are AUs (others are listed, not imported); values\n"
    "          absent, present, A-E (empty: present); times snap to the nearest frame\n"
    "          boundary; a tier without ANNOTATOR gets --annotator; a summary on stderr\n"
    "\n"
    "The annotator defaults to $MIMICA_ANNOTATOR, else the login name.\n"
    "Environment: MIMICA_BUSY_TIMEOUT_MS  how long to wait for another program's lock "
    "(default 5000)\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "mimica-cli label: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n\n%s", label_usage);
    return 2;
}

static int fail(const char *action, GError *error)
{
    fprintf(stderr, "mimica-cli label %s: %s\n", action, error->message);
    g_error_free(error);
    return 1;
}

static MimicaStore *open_project(const char *action, const char *path)
{
    GError *error = NULL;
    MimicaStore *store = mimica_store_open(path, &error);
    if (!store) {
        fail(action, error);
        return NULL;
    }
    if (!mimica_store_apply_busy_timeout_env(store, &error)) {
        fail(action, error);
        mimica_store_free(store);
        return NULL;
    }
    return store;
}

/* Prints an event id on stdout; the event is already on disk, so a failure here says so. */
static int print_id(const char *action, gint64 id)
{
    printf("%lld\n", (long long)id);
    if (fflush(stdout) == 0 && !ferror(stdout))
        return 0;
    fprintf(stderr, "mimica-cli label %s: event %lld is saved, but printing its id failed: %s\n",
            action, (long long)id, g_strerror(errno));
    return 1;
}

static const char *default_annotator(void)
{
    const char *name = g_getenv("MIMICA_ANNOTATOR");
    return name && *name ? name : g_get_user_name();
}

typedef struct {
    const char *video, *frames, *au, *value, *annotator, *format;
} LabelOptions;

/* Parses `--name VALUE` and `--name=VALUE` from argv[first..]; ALLOWED lists the option names
 * this action takes. Returns 0, or 2 after printing the usage. */
static int parse_options(int argc, char **argv, int first, const char *allowed, LabelOptions *o)
{
    memset(o, 0, sizeof *o);
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (!g_str_has_prefix(arg, "--"))
            return usage_error("unexpected argument '%s'", arg);
        const char *eq = strchr(arg, '=');
        g_autofree char *name = eq ? g_strndup(arg + 2, eq - arg - 2) : g_strdup(arg + 2);
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc)
                return usage_error("option '%s' needs a value", arg);
            value = argv[++i];
        }
        g_autofree char *key = g_strdup_printf(" %s ", name);
        g_autofree char *list = g_strdup_printf(" %s ", allowed);
        if (!strstr(list, key))
            return usage_error("unknown option '%s'", arg);
        const char **slot = strcmp(name, "video") == 0    ? &o->video
                            : strcmp(name, "frames") == 0 ? &o->frames
                            : strcmp(name, "au") == 0     ? &o->au
                            : strcmp(name, "value") == 0  ? &o->value
                            : strcmp(name, "format") == 0 ? &o->format
                                                          : &o->annotator;
        if (*slot)
            return usage_error("option '--%s' given twice", name);
        *slot = value;
    }
    return 0;
}

static int label_set(int argc, char **argv)
{
    LabelOptions o;
    int rc = parse_options(argc, argv, 3, "video frames au value annotator", &o);
    if (rc)
        return rc;
    if (!o.video || !o.frames || !o.au || !o.value)
        return usage_error("%s", "`label set` needs --video, --frames, --au and --value");
    gint64 video, au, start, end;
    if (!g_ascii_string_to_signed(o.video, 10, 1, G_MAXINT64, &video, NULL))
        return usage_error("--video '%s' is not a video id (a number from 1)", o.video);
    if (!g_ascii_string_to_signed(o.au, 10, 1, 99, &au, NULL))
        return usage_error("--au '%s' is not an AU number (1..99)", o.au);
    const char *dash = strchr(o.frames, '-');
    g_autofree char *first = dash ? g_strndup(o.frames, dash - o.frames) : g_strdup(o.frames);
    if (!g_ascii_string_to_signed(first, 10, 0, G_MAXINT64, &start, NULL) ||
        (dash && !g_ascii_string_to_signed(dash + 1, 10, 0, G_MAXINT64, &end, NULL)))
        return usage_error("--frames '%s' is not A or A-B (frame numbers from 0)", o.frames);
    if (!dash)
        end = start;
    if (end < start)
        return usage_error("--frames '%s' ends before it starts", o.frames);
    MimicaLabelValue value;
    if (!mimica_label_value_parse(o.value, &value))
        return usage_error("--value '%s' is not absent, present, A, B, C, D or E", o.value);
    const char *annotator = o.annotator ? o.annotator : default_annotator();

    g_autoptr(MimicaStore) store = open_project("set", argv[2]);
    if (!store)
        return 1;
    GError *error = NULL;
    gint64 id = mimica_store_label_set(store, video, start, end, (int)au, value, annotator, &error);
    if (!id)
        return fail("set", error);
    /* The commit above was synced (synchronous=FULL): the id is printed only now. */
    return print_id("set", id);
}

static int label_undo_redo(int argc, char **argv, gboolean redo)
{
    const char *action = redo ? "redo" : "undo";
    LabelOptions o;
    int rc = parse_options(argc, argv, 3, "annotator", &o);
    if (rc)
        return rc;
    g_autoptr(MimicaStore) store = open_project(action, argv[2]);
    if (!store)
        return 1;
    const char *annotator = o.annotator ? o.annotator : default_annotator();
    GError *error = NULL;
    gint64 affected = 0;
    gint64 id = redo ? mimica_store_label_redo(store, annotator, &affected, &error)
                     : mimica_store_label_undo(store, annotator, &affected, &error);
    if (!id)
        return fail(action, error);
    return print_id(action, id);
}

static int label_export(int argc, char **argv)
{
    if (argc != 3)
        return usage_error("%s", "`label export` takes exactly one FILE");
    g_autoptr(MimicaStore) store = open_project("export", argv[2]);
    if (!store)
        return 1;
    GError *error = NULL;
    if (!mimica_store_export_labels_csv(store, stdout, &error))
        return fail("export", error);
    return 0;
}

/* `label import FILE EAF --format elan --video ID`: prints what was imported and what not. */
static int label_import_elan(const char *project, const char *eaf, const char *shown,
                             const LabelOptions *o)
{
    gint64 video;
    if (!o->video || !g_ascii_string_to_signed(o->video, 10, 1, G_MAXINT64, &video, NULL))
        return usage_error("%s", "`label import --format elan` needs --video ID (a number from 1)");
    g_autoptr(MimicaStore) store = open_project("import", project);
    if (!store)
        return 1;
    GError *error = NULL;
    MimicaElanImportOptions options = {o->annotator ? o->annotator : default_annotator()};
    MimicaElanImport sum;
    gint64 n = mimica_store_import_elan(store, video, eaf, &options, &sum, &error);
    if (n < 0)
        return fail("import", error);
    fprintf(stderr,
            "mimica-cli label import: %lld labels imported from %d AU tier%s of %s (annotators: "
            "%s)\n",
            (long long)n, sum.n_au_tiers, sum.n_au_tiers == 1 ? "" : "s", shown,
            sum.annotators ? sum.annotators : "none");
    if (sum.n_unknown_tiers)
        fprintf(stderr,
                "mimica-cli label import: %d tier%s not imported (not named AUn), %lld "
                "annotations: %s\n",
                sum.n_unknown_tiers, sum.n_unknown_tiers == 1 ? "" : "s",
                (long long)sum.n_unknown_annotations, sum.unknown_tiers);
    if (sum.n_default_annotator)
        fprintf(stderr, "mimica-cli label import: %d AU tier%s without ANNOTATOR, labelled as %s\n",
                sum.n_default_annotator, sum.n_default_annotator == 1 ? "" : "s",
                options.annotator);
    if (sum.n_interpolated || sum.n_ref || sum.n_empty || sum.n_short)
        fprintf(stderr,
                "mimica-cli label import: %lld on unaligned time slots (placed evenly between "
                "their neighbours), %lld REF_ANNOTATIONs (their parent's times), %lld empty "
                "values (present), %lld shorter than a frame (one frame)\n",
                (long long)sum.n_interpolated, (long long)sum.n_ref, (long long)sum.n_empty,
                (long long)sum.n_short);
    if (sum.media && !sum.media_matches)
        fprintf(stderr,
                "mimica-cli label import: note: the file was made on media %s, not on video "
                "%lld's file\n",
                sum.media, (long long)video);
    if (sum.time_origin_ms)
        fprintf(stderr, "mimica-cli label import: TIME_ORIGIN %lld ms added to every time\n",
                (long long)sum.time_origin_ms);
    mimica_elan_import_clear(&sum);
    return 0;
}

static int label_import(int argc, char **argv)
{
    /* the input is the first argument after FILE that is no option or option value, so that
     * `label import P --format elan X.eaf --video 1` works as well */
    int at = 3;
    while (at < argc && g_str_has_prefix(argv[at], "--"))
        at += strchr(argv[at], '=') ? 1 : 2;
    if (at >= argc)
        return usage_error("%s", "`label import` takes FILE and CSV (or EAF with --format elan)");
    g_autoptr(GPtrArray) rest = g_ptr_array_new();
    for (int i = 0; i < argc; i++)
        if (i != at)
            g_ptr_array_add(rest, argv[i]);
    LabelOptions o;
    int rc = parse_options(rest->len, (char **)rest->pdata, 3, "format video annotator", &o);
    if (rc)
        return rc;
    gboolean elan = o.format && strcmp(o.format, "elan") == 0;
    if (o.format && !elan && strcmp(o.format, "csv") != 0)
        return usage_error("--format '%s' is not csv or elan", o.format);
    if (!elan && (o.video || o.annotator))
        return usage_error("%s", "--video and --annotator are for --format elan (a labels CSV "
                                 "names both in its rows)");
    /* "-", /dev/stdin and pipes are read to their end like files. */
    const char *csv = strcmp(argv[at], "-") == 0 ? "/dev/stdin" : argv[at];
    g_autofree char *shown = g_utf8_make_valid(argv[at], -1);
    if (!g_file_test(csv, G_FILE_TEST_EXISTS) || g_file_test(csv, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "mimica-cli label import: %s: no such file\n", shown);
        return 1;
    }
    if (elan)
        return label_import_elan(argv[2], csv, shown, &o);
    g_autoptr(MimicaStore) store = open_project("import", argv[2]);
    if (!store)
        return 1;
    GError *error = NULL;
    gint64 n = mimica_store_import_labels_csv(store, csv, &error);
    if (n < 0)
        return fail("import", error);
    fprintf(stderr, "mimica-cli label import: %lld labels imported\n", (long long)n);
    return 0;
}

static int label_run(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(label_usage, stdout);
        return 0;
    }
    if (argc < 2)
        return usage_error("%s", "missing action (set, undo, redo, export, import)");
    const char *action = argv[1];
    if (argc < 3 || g_str_has_prefix(argv[2], "--"))
        return usage_error("%s", "missing project FILE");
    if (strcmp(action, "set") == 0)
        return label_set(argc, argv);
    if (strcmp(action, "undo") == 0)
        return label_undo_redo(argc, argv, FALSE);
    if (strcmp(action, "redo") == 0)
        return label_undo_redo(argc, argv, TRUE);
    if (strcmp(action, "export") == 0)
        return label_export(argc, argv);
    if (strcmp(action, "import") == 0)
        return label_import(argc, argv);
    return usage_error("unknown action '%s'", action);
}

const MimicaCliCommand mimica_cli_label = {
    .name = "label",
    .summary = "set, undo, redo, import and export AU labels",
    .run = label_run,
};
