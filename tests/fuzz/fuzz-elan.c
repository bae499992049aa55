/* fuzz-elan.c: libFuzzer target for ELAN .eaf in and out (mimica_store_import_elan,
 * app/store/mimica-store-elan.c; mimica_store_export_elan, app/store/mimica-store-io.c). Each
 * input is read twice, into fresh in-memory projects (one 1000-frame video at 30000/1001 fps):
 * - as an .eaf: refused with a UTF-8 message and no label event written, or imported with the
 *   summary agreeing with the events written;
 * - as a labels CSV (the seeds of labels-csv, and the CSVs of elan/).
 * Then, from either project, one .eaf per annotator, each of which must be well-formed XML
 * (GMarkup) whose annotations refer to defined time slots, in order, with a label value, and
 * which, imported into a third project, gives that annotator's labels back frame for frame. */
#include "fuzz-common.h"
#include "store/mimica-store.h"

#include <string.h>

typedef struct {
    GHashTable *slots; /* "ts1" -> TIME_VALUE */
    gint64 last_time;
    int in_value, n_values, n_annotations;
} EafCheck;

static const char *attr(const char **names, const char **values, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return values[i];
    return NULL;
}

static void start(GMarkupParseContext *ctx, const char *element, const char **names,
                  const char **values, gpointer user_data, GError **error)
{
    (void)ctx, (void)error;
    EafCheck *c = user_data;
    if (!strcmp(element, "TIME_SLOT")) {
        const char *id = attr(names, values, "TIME_SLOT_ID");
        const char *v = attr(names, values, "TIME_VALUE");
        if (!id || !v || g_hash_table_contains(c->slots, id))
            abort();
        gint64 t = g_ascii_strtoll(v, NULL, 10);
        if (t <= c->last_time)
            abort(); /* slots in time order, each time once */
        c->last_time = t;
        g_hash_table_insert(c->slots, g_strdup(id), g_memdup2(&t, sizeof t));
    } else if (!strcmp(element, "ALIGNABLE_ANNOTATION")) {
        const char *r1 = attr(names, values, "TIME_SLOT_REF1");
        const char *r2 = attr(names, values, "TIME_SLOT_REF2");
        const gint64 *t1 = r1 ? g_hash_table_lookup(c->slots, r1) : NULL;
        const gint64 *t2 = r2 ? g_hash_table_lookup(c->slots, r2) : NULL;
        if (!t1 || !t2 || *t1 >= *t2)
            abort();
        c->n_annotations++;
    } else if (!strcmp(element, "ANNOTATION_VALUE")) {
        c->in_value = 1;
    }
}

static void end(GMarkupParseContext *ctx, const char *element, gpointer user_data, GError **error)
{
    (void)ctx, (void)element, (void)error;
    ((EafCheck *)user_data)->in_value = 0;
}

static void text(GMarkupParseContext *ctx, const char *t, gsize len, gpointer user_data,
                 GError **error)
{
    (void)ctx, (void)error;
    EafCheck *c = user_data;
    if (!c->in_value)
        return;
    g_autofree char *v = g_strndup(t, len);
    MimicaLabelValue value;
    if (!mimica_label_value_parse(v, &value))
        abort();
    c->n_values++;
}

static void check_eaf(const char *doc, gsize len)
{
    static const GMarkupParser parser = {start, end, text, NULL, NULL};
    EafCheck c = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free), -1, 0, 0, 0};
    GMarkupParseContext *ctx = g_markup_parse_context_new(&parser, 0, &c, NULL);
    if (!g_markup_parse_context_parse(ctx, doc, (gssize)len, NULL) ||
        !g_markup_parse_context_end_parse(ctx, NULL) || c.n_values != c.n_annotations)
        abort();
    g_markup_parse_context_free(ctx);
    g_hash_table_unref(c.slots);
}

static gboolean collect(const MimicaLabel *label, gpointer user_data)
{
    GPtrArray *who = user_data;
    if (!g_ptr_array_find_with_equal_func(who, label->annotator, g_str_equal, NULL))
        g_ptr_array_add(who, g_strdup(label->annotator));
    return TRUE;
}

#define N_FRAMES 1000

static MimicaStore *new_project(gint64 *video)
{
    MimicaStore *store =
        mimica_store_open_at_version(":memory:", MIMICA_STORE_SCHEMA_VERSION, NULL);
    if (!store)
        abort();
    MimicaVideoFacts facts = {
        (char *)"clips/v one.mp4", (char *)"h", 33366667, 30000, 1001, N_FRAMES, 64, 48, 0};
    *video = mimica_store_add_video(store, &facts, NULL);
    if (!*video)
        abort();
    return store;
}

static gint64 count_events(MimicaStore *store)
{
    MimicaStoreInfo info;
    if (!mimica_store_get_info(store, &info, NULL))
        abort();
    return info.n_events;
}

/* One annotator's labels painted frame by frame, later events winning: value + 1, 0 = none. */
typedef struct {
    guint8 grid[99 * N_FRAMES];
} Grid;

static gboolean paint(const MimicaLabel *l, gpointer user_data)
{
    Grid *g = user_data;
    if (l->au < 1 || l->au > 99 || l->frame_start < 0 || l->frame_end >= N_FRAMES)
        abort();
    for (gint64 f = l->frame_start; f <= l->frame_end; f++)
        g->grid[(l->au - 1) * N_FRAMES + f] = (guint8)(l->value + 1);
    return TRUE;
}

static void grid_of(MimicaStore *store, gint64 video, const char *annotator, Grid *g)
{
    memset(g, 0, sizeof *g);
    if (!mimica_store_foreach_label(store, video, annotator, paint, g, NULL))
        abort();
}

/* Every annotator's .eaf: well-formed, and imported into a fresh project the same labels. */
static void export_each(MimicaStore *store, gint64 video)
{
    GPtrArray *who = g_ptr_array_new_with_free_func(g_free);
    if (!mimica_store_foreach_label(store, video, NULL, collect, who, NULL))
        abort();
    GError *error = NULL;
    for (guint i = 0; i <= who->len; i++) {
        /* each annotator, then "the only one" (refused when there are several) */
        const char *name = i < who->len ? who->pdata[i] : NULL;
        char *doc = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&doc, &len);
        if (!f)
            abort();
        gboolean ok = mimica_store_export_elan(store, video, name, f, &error);
        if (fclose(f))
            abort();
        if (ok)
            check_eaf(doc, len);
        else if (name || who->len < 2)
            abort();
        else
            fuzz_check_refusal(error->message);
        g_clear_error(&error);
        if (ok && name) {
            const char *path = fuzz_write_input((const uint8_t *)doc, len, ".eaf");
            gint64 video2;
            MimicaStore *back = new_project(&video2);
            MimicaElanImportOptions options = {NULL}; /* the export names the annotator */
            if (mimica_store_import_elan(back, video2, path, &options, NULL, &error) < 0) {
                fprintf(stderr, "export of '%s' refused by the import: %s\n", name, error->message);
                abort();
            }
            static Grid a, b;
            grid_of(store, video, name, &a);
            grid_of(back, video2, name, &b);
            if (memcmp(a.grid, b.grid, sizeof a.grid) != 0) {
                fprintf(stderr, "labels of '%s' differ after export and import\n", name);
                abort();
            }
            mimica_store_free(back);
        }
        free(doc);
    }
    g_ptr_array_unref(who);
}

/* The input as an .eaf: all or nothing, a summary that adds up. */
static void import_eaf(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".eaf");
    gint64 video;
    MimicaStore *store = new_project(&video);
    /* a label already there, which a refusal must leave alone */
    if (!mimica_store_label_set(store, video, 0, 9, 12, MIMICA_LABEL_C, "before", NULL))
        abort();
    gint64 before = count_events(store);
    GError *error = NULL;
    MimicaElanImport sum;
    MimicaElanImportOptions options = {"fuzz"};
    gint64 n = mimica_store_import_elan(store, video, path, &options, &sum, &error);
    if (n < 0) {
        fuzz_check_refusal(error ? error->message : NULL);
        g_clear_error(&error);
        if (count_events(store) != before)
            abort();
    } else {
        if (error || n != sum.n_labels || count_events(store) != before + n ||
            sum.n_au_tiers + sum.n_unknown_tiers != sum.n_tiers ||
            (sum.n_unknown_tiers > 0) != (sum.unknown_tiers != NULL) || sum.n_interpolated > n ||
            sum.n_ref > n || sum.n_empty > n || sum.n_short > n ||
            (n > 0) != (sum.annotators != NULL) ||
            (sum.unknown_tiers && !g_utf8_validate(sum.unknown_tiers, -1, NULL)))
            abort();
        mimica_elan_import_clear(&sum);
        export_each(store, video);
    }
    mimica_store_free(store);
}

/* A GLib warning or critical is a bug too (GMarkup's "GError set over the top of a previous
 * GError" showed one): abort, so that libFuzzer keeps the input. */
static void fatal_log(const char *domain, GLogLevelFlags level, const char *message,
                      gpointer user_data)
{
    g_log_default_handler(domain, level, message, user_data);
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    g_log_set_default_handler(fatal_log, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    import_eaf(data, size);

    const char *path = fuzz_write_input(data, size, ".csv");
    gint64 video;
    MimicaStore *store = new_project(&video);
    GError *error = NULL;
    if (mimica_store_import_labels_csv(store, path, &error) < 0) {
        fuzz_check_refusal(error ? error->message : NULL);
        g_clear_error(&error);
    }
    export_each(store, video);
    mimica_store_free(store);
    return 0;
}
