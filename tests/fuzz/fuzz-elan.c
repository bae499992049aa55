/* fuzz-elan.c: libFuzzer target for the ELAN export (mimica_store_export_elan,
 * app/store/mimica-store-io.c). Mimica has no ELAN importer, so the round trip that exists is
 * fuzzed: a labels CSV imported into a fresh in-memory project (one 1000-frame video at
 * 30000/1001 fps), then one .eaf per annotator, each of which must be well-formed XML (GMarkup)
 * whose annotations refer to defined time slots, in order, with a label value. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size, ".csv");
    MimicaStore *store =
        mimica_store_open_at_version(":memory:", MIMICA_STORE_SCHEMA_VERSION, NULL);
    if (!store)
        abort();
    MimicaVideoFacts facts = {
        (char *)"clips/v one.mp4", (char *)"h", 33366667, 30000, 1001, 1000, 64, 48, 0};
    gint64 video = mimica_store_add_video(store, &facts, NULL);
    if (!video)
        abort();
    GError *error = NULL;
    if (mimica_store_import_labels_csv(store, path, &error) < 0) {
        fuzz_check_refusal(error ? error->message : NULL);
        g_clear_error(&error);
    }
    GPtrArray *who = g_ptr_array_new_with_free_func(g_free);
    if (!mimica_store_foreach_label(store, video, NULL, collect, who, NULL))
        abort();
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
        free(doc);
    }
    g_ptr_array_unref(who);
    mimica_store_free(store);
    return 0;
}
