/* mimica-window.c: the main window (see the header). The window reads the project store on the
 * main thread (bounded queries: one frame's predictions, the visible labels) and writes label
 * events; everything that computes (analysis, fine-tuning) is a job on the MimicaJobRunner's
 * thread, and opening a video (its index pass) runs in a GTask thread. */
#include "mimica-window.h"

#include <glib/gi18n.h>
#include <math.h>

#include "analysis/mimica-analysis.h"
#include "mim-version.h"
#include "mimica-au-names.h"
#include "mimica-agreement-page.h"
#include "mimica-au-panel.h"
#include "mimica-config.h"
#include "mimica-finetune-dialog.h"
#include "mimica-keys.h"
#include "mimica-preferences.h"
#include "mimica-review-page.h"
#include "mimica-timeline.h"
#include "mimica-transport.h"
#include "mimica-video-view.h"
#include "ui-model/mimica-ui-model.h"
#if MIMICA_HAVE_FINETUNE
#include "store/mimica-store-models.h"
#include "teach/mimica-finetune.h"
#endif

#define MAX_RECENT 10

struct _MimicaWindow {
    AdwApplicationWindow parent_instance;

    AdwToastOverlay *toast_overlay;
    AdwWindowTitle *window_title;
    GtkStack *stack;
    GtkLabel *engine_label;
    GtkListBox *video_list;
    GtkListBox *annotator_list;
    GtkListBox *model_list;
    GtkWidget *job_box;
    GtkLabel *job_label;
    GtkProgressBar *job_progress;
    GMenu *recent_menu;
    MimicaVideoView *video_view;
    MimicaTransport *transport;
    MimicaAuPanel *au_panel;
    MimicaTimeline *timeline;
    GtkEventController *keys; /* the key bindings */

    MimicaStore *store;
    char *project_path;
    MimicaJobRunner *runner;
    GCancellable *cancellable;
    GHashTable *job_videos; /* analyse job id -> video id */
    GHashTable *progress;   /* video id -> percent (int) while analysing */
    gint64 job_id;          /* the job shown in the sidebar */
    char *job_kind;

    gint64 video_id, model_id;
    gint64 chosen_model; /* chosen in the sidebar's Models; 0: the newest analysis */
    char *video_name;
    MimicaUiCurves *curves;
    int aus[MIMICA_MAX_AUS];
    int n_aus;
    int selected_au;
    gint64 range_in, range_out;
    double threshold;
    int n_shots;
};

G_DEFINE_FINAL_TYPE(MimicaWindow, mimica_window, ADW_TYPE_APPLICATION_WINDOW)

static GSettings *window_settings(MimicaWindow *self)
{
    GtkApplication *app = gtk_window_get_application(GTK_WINDOW(self));
    return app ? mimica_application_get_settings(MIMICA_APPLICATION(app)) : NULL;
}

static void toast(MimicaWindow *self, const char *text)
{
    AdwToast *t = adw_toast_new(text);
    adw_toast_set_timeout(t, 3);
    adw_toast_overlay_add_toast(self->toast_overlay, t);
}

static void toast_error(MimicaWindow *self, const char *what, const GError *error)
{
    g_autofree char *text = g_strdup_printf("%s: %s", what, error ? error->message : "?");
    g_warning("%s", text);
    toast(self, text);
}

/* A window of the application beside this one (its accelerators, Ctrl+Q, work there too). */
static void present_child(MimicaWindow *self, GtkWidget *window)
{
    gtk_window_set_application(GTK_WINDOW(window), gtk_window_get_application(GTK_WINDOW(self)));
    gtk_window_present(GTK_WINDOW(window));
}

static gboolean save_png(GtkWindow *window, const char *path, GError **error);
static gboolean on_dialog_screenshot(GtkWidget *dialog, GVariant *args, gpointer data);

/* F12 saves a dialog of the window too (the ui tests look at it). */
static void add_dialog_screenshot(MimicaWindow *self, GtkWidget *dialog)
{
    GtkEventController *keys = gtk_shortcut_controller_new();
    gtk_shortcut_controller_add_shortcut(
        GTK_SHORTCUT_CONTROLLER(keys),
        gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_F12, 0),
                         gtk_callback_action_new(on_dialog_screenshot, self, NULL)));
    gtk_widget_add_controller(dialog, keys);
}

/* The annotator ------------------------------------------------------------------------------ */

static char *dup_annotator(MimicaWindow *self)
{
    GSettings *settings = window_settings(self);
    g_autofree char *name = settings ? g_settings_get_string(settings, "annotator") : NULL;
    if (name && *name)
        return g_steal_pointer(&name);
    return NULL;
}

static void update_title(MimicaWindow *self)
{
    g_autofree char *annotator = dup_annotator(self);
    g_autofree char *base = self->project_path ? g_path_get_basename(self->project_path) : NULL;
    g_autofree char *title = NULL;
    if (base && self->video_name)
        title = g_strdup_printf("%s — %s", base, self->video_name);
    adw_window_title_set_title(self->window_title, title ? title : base ? base : "Mimica");
    g_autofree char *sub = annotator ? g_strdup_printf(_("Annotator: %s"), annotator) : NULL;
    adw_window_title_set_subtitle(self->window_title, sub ? sub : "");
    gtk_window_set_title(GTK_WINDOW(self), title ? title : "Mimica");
}

static void on_annotator_response(AdwMessageDialog *dialog, const char *response,
                                  MimicaWindow *self)
{
    GtkEditable *entry = g_object_get_data(G_OBJECT(dialog), "entry");
    const char *name = gtk_editable_get_text(entry);
    GSettings *settings = window_settings(self);
    if (g_strcmp0(response, "save") == 0 && name && *name && settings)
        g_settings_set_string(settings, "annotator", name);
    update_title(self);
}

/* Asks once for the name recorded with every edit; returns it, or NULL while asking. */
static char *require_annotator(MimicaWindow *self)
{
    char *name = dup_annotator(self);
    if (name)
        return name;
    GtkWidget *dialog = adw_message_dialog_new(
        GTK_WINDOW(self), _("Who Is Labelling?"),
        _("Your name is recorded with every label you set, so that labels of several annotators "
          "can be compared."));
    GtkWidget *entry = gtk_entry_new();
    gtk_editable_set_text(GTK_EDITABLE(entry), g_get_user_name());
    gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Annotator Name"), -1);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), entry);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "save",
                                     _("_Save"), NULL);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "save");
    adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "save",
                                               ADW_RESPONSE_SUGGESTED);
    g_object_set_data(G_OBJECT(dialog), "entry", entry);
    g_signal_connect(dialog, "response", G_CALLBACK(on_annotator_response), self);
    gtk_window_present(GTK_WINDOW(dialog));
    return NULL;
}

/* The frame on screen ------------------------------------------------------------------------ */

typedef struct {
    GArray *rows;
    GArray *tracks;
} FrameRows;

static gboolean collect_row(int track, const MimicaPrediction *row, gpointer data)
{
    FrameRows *fr = data;
    g_array_append_vals(fr->rows, row, 1);
    g_array_append_val(fr->tracks, track);
    return TRUE;
}

static void show_frame_info(MimicaWindow *self)
{
    MimicaFrame *frame = mimica_transport_get_frame(self->transport);
    gint64 pos = mimica_transport_get_position(self->transport);
    g_autoptr(GArray) rows = g_array_new(FALSE, FALSE, sizeof(MimicaPrediction));
    g_autoptr(GArray) tracks = g_array_new(FALSE, FALSE, sizeof(int));
    int labels[MIMICA_MAX_AUS];
    float values[MIMICA_MAX_AUS];
    for (int i = 0; i < self->n_aus; i++) {
        labels[i] = -1;
        values[i] = NAN;
    }
    if (self->store && frame && self->model_id > 0) {
        FrameRows fr = {rows, tracks};
        g_autoptr(GError) error = NULL;
        if (!mimica_store_foreach_prediction(self->store, self->video_id, self->model_id, -1, pos,
                                             pos, collect_row, &fr, &error))
            g_warning("predictions: %s", error->message);
    }
    if (self->store && frame) {
        g_autofree char *annotator = dup_annotator(self);
        g_autoptr(GArray) ls =
            mimica_ui_labels_in_range(self->store, self->video_id, annotator, 0, pos, pos, NULL);
        for (int i = 0; i < self->n_aus; i++) {
            MimicaLabelValue v;
            if (mimica_ui_labels_value_at(ls, self->aus[i], pos, &v))
                labels[i] = v;
            values[i] = mimica_ui_curves_get(self->curves, pos, self->aus[i]);
        }
    }
    mimica_video_view_set_frame(self->video_view, frame, (MimicaPrediction *)rows->data,
                                (int *)tracks->data, rows->len, self->aus, labels, self->n_aus);
    mimica_au_panel_update(self->au_panel, values, labels);
    mimica_timeline_set_position(self->timeline, pos);
}

static void on_frame_changed(MimicaTransport *transport, MimicaWindow *self)
{
    show_frame_info(self);
}

static void refresh_models(MimicaWindow *self);
static void refresh_annotators(MimicaWindow *self);

/* Videos -------------------------------------------------------------------------------------- */

static void load_curves(MimicaWindow *self, gint64 n_frames)
{
    g_autoptr(GError) error = NULL;
    g_clear_pointer(&self->curves, mimica_ui_curves_free);
    MimicaUiAnalysisState chosen = {0};
    if (self->chosen_model > 0 &&
        mimica_ui_model_analysis_by(self->store, self->video_id, self->chosen_model, &chosen,
                                    NULL) &&
        chosen.model_id > 0)
        self->model_id = chosen.model_id;
    else
        self->model_id = mimica_ui_model_latest_model(self->store, self->video_id, &error);
    self->curves =
        mimica_ui_curves_load(self->store, self->video_id, self->model_id, 0, n_frames, &error);
    if (!self->curves) {
        toast_error(self, _("Cannot read the analysis"), error);
        self->curves = mimica_ui_curves_load(self->store, self->video_id, 0, 0, n_frames, NULL);
    }
    self->n_aus = self->curves->n_aus;
    memcpy(self->aus, self->curves->aus, sizeof(int) * (gsize)self->n_aus);
    if (self->n_aus && mimica_ui_curves_column(self->curves, self->selected_au) < 0)
        self->selected_au = self->aus[0];
    mimica_au_panel_set_aus(self->au_panel, self->aus, self->n_aus);
    mimica_au_panel_set_selected(self->au_panel, self->selected_au);
    g_autofree char *annotator = dup_annotator(self);
    mimica_timeline_set_video(self->timeline, self->store, self->video_id, n_frames, annotator,
                              self->curves);
    mimica_timeline_set_aus(self->timeline, self->aus, self->n_aus);
    mimica_timeline_set_selected_au(self->timeline, self->selected_au);
    refresh_models(self);
}

static void open_source_thread(GTask *task, gpointer source_object, gpointer data,
                               GCancellable *cancellable)
{
    GError *error = NULL;
    MimicaVideoSource *src = mimica_video_source_new(data, NULL, 0, cancellable, &error);
    if (src)
        g_task_return_pointer(task, src, g_object_unref);
    else
        g_task_return_error(task, error);
}

static void on_source_opened(GObject *object, GAsyncResult *result, gpointer data)
{
    MimicaWindow *self = MIMICA_WINDOW(object);
    g_autoptr(GError) error = NULL;
    g_autoptr(MimicaVideoSource) src = g_task_propagate_pointer(G_TASK(result), &error);
    if (!src) {
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            toast_error(self, _("Cannot open the video"), error);
        return;
    }
    /* another video was chosen meanwhile */
    if ((gint64)GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(result), "video-id")) != self->video_id)
        return;
    gint64 n_frames = mimica_video_source_get_info(src)->n_frames;
    load_curves(self, n_frames);
    self->range_in = self->range_out = -1;
    mimica_transport_set_range(self->transport, -1, -1);
    mimica_transport_set_source(self->transport, src);
}

static void select_video(MimicaWindow *self, gint64 video_id)
{
    if (!self->store || video_id == self->video_id)
        return;
    MimicaVideoFacts facts = {0};
    g_autoptr(GError) error = NULL;
    if (!mimica_store_get_video(self->store, video_id, &facts, &error)) {
        toast_error(self, _("Cannot read the video"), error);
        return;
    }
    self->video_id = video_id;
    g_free(self->video_name);
    self->video_name = g_path_get_basename(facts.path);
    update_title(self);
    GTask *task = g_task_new(self, self->cancellable, on_source_opened, NULL);
    g_task_set_task_data(task, g_strdup(facts.path), g_free);
    g_object_set_data(G_OBJECT(task), "video-id", GSIZE_TO_POINTER((gsize)video_id));
    g_task_run_in_thread(task, open_source_thread);
    g_object_unref(task);
    mimica_video_facts_clear(&facts);
}

static char *video_state_text(MimicaWindow *self, gint64 video_id)
{
    gpointer pct;
    if (g_hash_table_lookup_extended(self->progress, &video_id, NULL, &pct))
        return g_strdup_printf("%d%%", GPOINTER_TO_INT(pct));
    MimicaUiAnalysisState st;
    if (!mimica_ui_model_analysis_state(self->store, video_id, &st, NULL) || st.model_id == 0)
        return g_strdup(_("not analysed"));
    if (st.done)
        return g_strdup("✓");
    return g_strdup_printf("%d%%", st.n_frames > 0 ? (int)(100 * st.next_frame / st.n_frames) : 0);
}

static void on_video_row_selected(GtkListBox *box, GtkListBoxRow *row, MimicaWindow *self)
{
    if (!row)
        return;
    gint64 *id = g_object_get_data(G_OBJECT(row), "video-id");
    if (id)
        select_video(self, *id);
}

static void refresh_videos(MimicaWindow *self)
{
    GtkWidget *child;
    g_signal_handlers_block_by_func(self->video_list, on_video_row_selected, self);
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->video_list))))
        gtk_list_box_remove(self->video_list, child);
    g_signal_handlers_unblock_by_func(self->video_list, on_video_row_selected, self);
    if (!self->store)
        return;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) ids = mimica_store_list_videos(self->store, &error);
    if (!ids) {
        toast_error(self, _("Cannot list the videos"), error);
        return;
    }
    for (guint i = 0; i < ids->len; i++) {
        gint64 id = g_array_index(ids, gint64, i);
        MimicaVideoFacts facts = {0};
        if (!mimica_store_get_video(self->store, id, &facts, NULL))
            continue;
        g_autofree char *name = g_path_get_basename(facts.path);
        g_autofree char *state = video_state_text(self, id);
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *label = gtk_label_new(name);
        gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_MIDDLE);
        gtk_label_set_xalign(GTK_LABEL(label), 0);
        gtk_widget_set_hexpand(label, TRUE);
        GtkWidget *st = gtk_label_new(state);
        gtk_widget_add_css_class(st, "dim-label");
        gtk_widget_add_css_class(st, "numeric");
        gtk_box_append(GTK_BOX(box), label);
        gtk_box_append(GTK_BOX(box), st);
        GtkWidget *row = gtk_list_box_row_new();
        gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
        g_autofree char *acc = g_strdup_printf("%s, %s", name, state);
        gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, acc, -1);
        gint64 *key = g_new(gint64, 1);
        *key = id;
        g_object_set_data_full(G_OBJECT(row), "video-id", key, g_free);
        gtk_list_box_append(self->video_list, row);
        if (id == self->video_id) {
            g_signal_handlers_block_by_func(self->video_list, on_video_row_selected, self);
            gtk_list_box_select_row(self->video_list, GTK_LIST_BOX_ROW(row));
            g_signal_handlers_unblock_by_func(self->video_list, on_video_row_selected, self);
        }
        mimica_video_facts_clear(&facts);
    }
}

/* Annotators and models --------------------------------------------------------------------- */

static void clear_list(GtkListBox *list, gpointer handler, gpointer data)
{
    GtkWidget *child;
    if (handler)
        g_signal_handlers_block_by_func(list, handler, data);
    while ((child = gtk_widget_get_first_child(GTK_WIDGET(list))))
        gtk_list_box_remove(list, child);
    if (handler)
        g_signal_handlers_unblock_by_func(list, handler, data);
}

/* A sidebar row: a title and a dim caption; ACCESSIBLE names it for screen readers. */
static GtkWidget *sidebar_row(const char *title, const char *caption, const char *accessible)
{
    GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    GtkWidget *label = gtk_label_new(title);
    gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_MIDDLE);
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_box_append(GTK_BOX(box), label);
    GtkWidget *sub = gtk_label_new(caption);
    gtk_label_set_ellipsize(GTK_LABEL(sub), PANGO_ELLIPSIZE_END);
    gtk_label_set_xalign(GTK_LABEL(sub), 0);
    gtk_widget_add_css_class(sub, "dim-label");
    gtk_widget_add_css_class(sub, "caption");
    gtk_box_append(GTK_BOX(box), sub);
    GtkWidget *row = gtk_list_box_row_new();
    gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
    gtk_widget_set_tooltip_text(row, accessible);
    gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, accessible,
                                   -1);
    return row;
}

static void refresh_annotators(MimicaWindow *self)
{
    clear_list(self->annotator_list, NULL, NULL);
    if (!self->store)
        return;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) list = mimica_ui_annotators(self->store, 0, &error);
    if (!list) {
        g_warning("annotators: %s", error->message);
        return;
    }
    for (guint i = 0; i < list->len; i++) {
        MimicaUiAnnotator *a = &g_array_index(list, MimicaUiAnnotator, i);
        g_autofree char *count = g_strdup_printf(
            ngettext("%lld label", "%lld labels", (gulong)a->n_labels), (long long)a->n_labels);
        g_autofree char *acc = g_strdup_printf("%s, %s", a->name, count);
        GtkWidget *row = sidebar_row(a->name, count, acc);
        gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
        gtk_list_box_append(self->annotator_list, row);
    }
    if (list->len == 0) {
        GtkWidget *row = sidebar_row(_("No labels yet"), "", _("No labels yet"));
        gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
        gtk_list_box_append(self->annotator_list, row);
    }
}

#if MIMICA_HAVE_FINETUNE
static char *model_display_name(const MimicaModelRow *m)
{
    char *base = m->name && *m->name   ? g_strdup(m->name)
                 : m->file && *m->file ? g_path_get_basename(m->file)
                                       : g_strdup_printf("#%lld", (long long)m->id);
    char *dot = strrchr(base, '.');
    if (dot && dot != base && g_str_equal(dot, ".safetensors"))
        *dot = '\0';
    return base;
}
#endif

static void on_model_row_selected(GtkListBox *box, GtkListBoxRow *row, MimicaWindow *self);

static void refresh_models(MimicaWindow *self)
{
    clear_list(self->model_list, on_model_row_selected, self);
    if (!self->store)
        return;
#if MIMICA_HAVE_FINETUNE
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) list = mimica_store_models_list(self->store, &error);
    if (!list) {
        g_warning("models: %s", error->message);
        return;
    }
    for (guint i = list->len; i-- > 0;) { /* newest first */
        MimicaModelRow *m = &g_array_index(list, MimicaModelRow, i);
        g_autofree char *name = model_display_name(m);
        g_autofree char *parent = NULL;
        for (guint j = 0; j < list->len && m->parent_id; j++)
            if (g_array_index(list, MimicaModelRow, j).id == m->parent_id)
                parent = model_display_name(&g_array_index(list, MimicaModelRow, j));
        const char *state = m->decision == MIMICA_MODEL_KEPT      ? _("kept")
                            : m->decision == MIMICA_MODEL_PENDING ? _("undecided")
                                                                  : _("discarded");
        MimicaUiFinetuneResult r = {0};
        double f1 = NAN;
        if (mimica_ui_finetune_result_parse(m->metrics ? m->metrics : "{}", &r, NULL))
            f1 = !isnan(r.mean_after) ? r.mean_after : r.mean_before;
        /* TRANSLATORS: the model a fine-tuned model started from */
        g_autofree char *from = parent ? g_strdup_printf(_("from %s"), parent) : NULL;
        /* the caption: state, F1, parent (the sidebar is narrow: the parent may be cut) */
        g_autoptr(GString) caption = g_string_new(state);
        g_autoptr(GString) acc = g_string_new(name);
        if (from)
            g_string_append_printf(acc, ", %s", from);
        g_string_append_printf(acc, ", %s", state);
        if (!isnan(f1)) {
            g_string_append_printf(caption, " · F1 %.2f", f1);
            /* TRANSLATORS: the mean F1 score of a model on held-out frames */
            g_autofree char *mean = g_strdup_printf(_("mean F1 %.3f"), f1);
            g_string_append_printf(acc, ", %s", mean);
        }
        if (from)
            g_string_append_printf(caption, " · %s", from);
        GtkWidget *row = sidebar_row(name, caption->str, acc->str);
        if (m->decision == MIMICA_MODEL_DISCARDED)
            gtk_widget_add_css_class(row, "dim-label");
        gint64 *key = g_new(gint64, 1);
        *key = m->id;
        g_object_set_data_full(G_OBJECT(row), "model-id", key, g_free);
        gtk_list_box_append(self->model_list, row);
        if (m->id == self->model_id) {
            g_signal_handlers_block_by_func(self->model_list, on_model_row_selected, self);
            gtk_list_box_select_row(self->model_list, GTK_LIST_BOX_ROW(row));
            g_signal_handlers_unblock_by_func(self->model_list, on_model_row_selected, self);
        }
    }
#endif
}

static void on_model_row_selected(GtkListBox *box, GtkListBoxRow *row, MimicaWindow *self)
{
    if (!row || !self->store)
        return;
    gint64 *id = g_object_get_data(G_OBJECT(row), "model-id");
    if (!id || *id == self->model_id)
        return;
    MimicaUiAnalysisState st = {0};
    if (self->video_id <= 0 ||
        !mimica_ui_model_analysis_by(self->store, self->video_id, *id, &st, NULL) ||
        st.model_id == 0) {
        toast(self, _("The video has no analysis by this model: press Analyse"));
        refresh_models(self); /* the selection goes back to the model in view */
        return;
    }
    self->chosen_model = *id;
    load_curves(self, mimica_transport_get_n_frames(self->transport));
    show_frame_info(self);
}

/* Jobs ---------------------------------------------------------------------------------------- */

static void on_job_progress(MimicaJobRunner *runner, const MimicaJobProgress *p, MimicaWindow *self)
{
    self->job_id = p->job_id;
    g_free(self->job_kind);
    self->job_kind = g_strdup(p->kind);
    gtk_widget_set_visible(self->job_box, !p->final);
    double fraction = p->total > 0 ? (double)p->done / p->total : 0;
    if (p->total > 0)
        gtk_progress_bar_set_fraction(self->job_progress, fraction);
    else
        gtk_progress_bar_pulse(self->job_progress);
    const char *what = g_strcmp0(p->kind, "fine-tune") == 0 ? _("Fine-tuning") : _("Analysing");
    g_autofree char *text =
        g_strdup_printf("%s %d%%%s%s", what, (int)(fraction * 100),
                        p->text && *p->text ? " — " : "", p->text ? p->text : "");
    gtk_label_set_text(self->job_label, text);
    gint64 *video = g_hash_table_lookup(self->job_videos, &p->job_id);
    if (video && !p->final) {
        gpointer old = g_hash_table_lookup(self->progress, video);
        int pct = (int)(fraction * 100);
        if (!old || GPOINTER_TO_INT(old) != pct) {
            gint64 *key = g_new(gint64, 1);
            *key = *video;
            g_hash_table_replace(self->progress, key, GINT_TO_POINTER(pct));
            refresh_videos(self);
        }
    }
}

static void analyse_video(MimicaWindow *self, const char *model_file, gboolean restart);

/* Keep: the model is marked kept and the open video analysed again with it (the curves update
 * when that job ends); Discard: marked discarded. The parent model is never touched. */
static void on_finetune_decided(MimicaFinetuneDialog *dialog, gint64 model_id, gboolean keep,
                                MimicaWindow *self)
{
    if (!self->store)
        return;
#if MIMICA_HAVE_FINETUNE
    g_autoptr(GError) error = NULL;
    if (!mimica_store_models_decide(self->store, model_id,
                                    keep ? MIMICA_MODEL_KEPT : MIMICA_MODEL_DISCARDED, &error)) {
        toast_error(self, _("Cannot record the decision"), error);
        return;
    }
#endif
    refresh_models(self);
    if (!keep) {
        toast(self, _("The new model was discarded"));
        return;
    }
    self->chosen_model = 0; /* the kept model's analysis shows when it is ready */
    MimicaUiFinetuneResult r;
    if (mimica_ui_finetune_result_load(self->store, model_id, &r, NULL) && r.file && *r.file)
        analyse_video(self, r.file, TRUE);
    mimica_ui_finetune_result_clear(&r);
    toast(self, _("Kept: the video is analysed again with the new model"));
}

static void open_finetune_result(MimicaWindow *self, gint64 job_id)
{
    gint64 model_id = 0;
#if MIMICA_HAVE_FINETUNE
    model_id = mimica_finetune_job_model(self->store, job_id, NULL);
#endif
    GtkWidget *dialog = mimica_finetune_dialog_new(GTK_WINDOW(self), self->store, model_id);
    if (!dialog)
        return;
    gtk_window_set_destroy_with_parent(GTK_WINDOW(dialog), TRUE);
    g_signal_connect_object(dialog, "decided", G_CALLBACK(on_finetune_decided), self, 0);
    add_dialog_screenshot(self, dialog);
    present_child(self, dialog);
}

static void on_job_finished(MimicaJobRunner *runner, gint64 job_id, const char *status,
                            const char *message, MimicaWindow *self)
{
    gint64 *video = g_hash_table_lookup(self->job_videos, &job_id);
    MimicaJobRow row = {0};
    gboolean finetune = mimica_store_job_get(self->store, job_id, &row, NULL) &&
                        g_strcmp0(row.kind, "fine-tune") == 0;
    mimica_job_row_clear(&row);
    if (video) {
        g_hash_table_remove(self->progress, video);
        if (*video == self->video_id && g_strcmp0(status, "done") == 0) {
            load_curves(self, mimica_transport_get_n_frames(self->transport));
            show_frame_info(self);
        }
        g_hash_table_remove(self->job_videos, &job_id);
    }
    refresh_videos(self);
    refresh_models(self);
    g_autofree char *text = NULL;
    if (g_strcmp0(status, "done") == 0)
        text = g_strdup_printf(finetune ? _("Fine-tuning done: %s") : _("Analysis done: %s"),
                               message ? message : "");
    else if (g_strcmp0(status, "cancelled") == 0)
        text = g_strdup(_("Cancelled"));
    else
        text = g_strdup_printf(_("Failed: %s"), message ? message : "");
    if (job_id == self->job_id || g_strcmp0(status, "done") != 0) {
        /* keep a failure readable in the sidebar; a success hides the progress row */
        gtk_label_set_text(self->job_label, text);
        gtk_widget_set_visible(self->job_box, g_strcmp0(status, "failed") == 0);
    }
    toast(self, text);
    gtk_progress_bar_set_fraction(self->job_progress, 0);
    if (finetune && g_strcmp0(status, "done") == 0)
        open_finetune_result(self, job_id);
}

static void ensure_runner(MimicaWindow *self)
{
    if (self->runner || !self->project_path)
        return;
    g_autoptr(GError) error = NULL;
    self->runner = mimica_job_runner_new(self->project_path, &error);
    if (!self->runner) {
        toast_error(self, _("Cannot start the engine thread"), error);
        return;
    }
    mimica_analysis_register(self->runner);
#if MIMICA_HAVE_FINETUNE
    mimica_finetune_register(self->runner);
#endif
    g_signal_connect(self->runner, "progress", G_CALLBACK(on_job_progress), self);
    g_signal_connect(self->runner, "finished", G_CALLBACK(on_job_finished), self);
}

static gint64 submit(MimicaWindow *self, const char *kind, const char *parameters)
{
    ensure_runner(self);
    if (!self->runner)
        return 0;
    g_autoptr(GError) error = NULL;
    gint64 id = mimica_job_runner_submit(self->runner, kind, parameters, &error);
    if (!id) {
        toast_error(self, _("Cannot start the job"), error);
        return 0;
    }
    self->job_id = id;
    g_free(self->job_kind);
    self->job_kind = g_strdup(kind);
    gtk_progress_bar_set_fraction(self->job_progress, 0);
    gtk_label_set_text(self->job_label, g_strcmp0(kind, "analyse") == 0 ? _("Analysis queued")
                                                                        : _("Fine-tuning queued"));
    gtk_widget_set_visible(self->job_box, TRUE);
    return id;
}

static void analyse_video(MimicaWindow *self, const char *model_file, gboolean restart)
{
    MimicaAnalysisOptions o;
    mimica_analysis_options_init(&o);
    o.model = model_file;
    o.restart = restart;
    GSettings *settings = window_settings(self);
    g_autofree char *backend = settings ? g_settings_get_string(settings, "backend") : NULL;
    if (backend && g_strcmp0(backend, "auto") != 0)
        o.backend = backend;
    /* a finished analysis is done again from frame 0 (e.g. after a model or setting changed) */
    MimicaUiAnalysisState state;
    if (!model_file && mimica_ui_model_analysis_state(self->store, self->video_id, &state, NULL) &&
        state.done)
        o.restart = TRUE;
    g_autofree char *params = mimica_analysis_job_parameters(self->video_id, &o);
    gint64 id = submit(self, "analyse", params);
    if (id) {
        gint64 *key = g_new(gint64, 1), *val = g_new(gint64, 1);
        *key = id;
        *val = self->video_id;
        g_hash_table_replace(self->job_videos, key, val);
    }
}

static void analyse_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store || self->video_id <= 0) {
        toast(self, _("Add a video first"));
        return;
    }
    analyse_video(self, NULL, FALSE);
}

static void finetune_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store)
        return;
#if MIMICA_HAVE_FINETUNE
    GSettings *settings = window_settings(self);
    g_autofree char *backend = settings ? g_settings_get_string(settings, "backend") : NULL;
    g_autofree char *params = mimica_finetune_parameters("quick", backend, 0, 0);
#else
    g_autofree char *params =
        self->video_id > 0
            ? g_strdup_printf("{\"video_id\": %" G_GINT64_FORMAT ", \"mode\": \"quick\"}",
                              self->video_id)
            : g_strdup("{\"mode\": \"quick\"}");
#endif
    submit(self, "fine-tune", params);
}

static void cancel_job_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (self->runner && self->job_id)
        mimica_job_runner_cancel(self->runner, self->job_id);
    gtk_widget_set_visible(self->job_box, FALSE);
}

/* Projects ------------------------------------------------------------------------------------ */

static void rebuild_recent(MimicaWindow *self)
{
    GSettings *settings = window_settings(self);
    g_menu_remove_all(self->recent_menu);
    if (!settings)
        return;
    g_auto(GStrv) recent = g_settings_get_strv(settings, "recent-projects");
    for (guint i = 0; recent[i]; i++) {
        g_autofree char *base = g_path_get_basename(recent[i]);
        g_autoptr(GMenuItem) item = g_menu_item_new(base, NULL);
        g_menu_item_set_action_and_target_value(item, "win.open-recent",
                                                g_variant_new_string(recent[i]));
        g_menu_append_item(self->recent_menu, item);
    }
}

static void remember_project(MimicaWindow *self, const char *path)
{
    GSettings *settings = window_settings(self);
    if (!settings)
        return;
    g_auto(GStrv) old = g_settings_get_strv(settings, "recent-projects");
    g_autoptr(GStrvBuilder) b = g_strv_builder_new();
    g_strv_builder_add(b, path);
    for (guint i = 0, n = 1; old[i] && n < MAX_RECENT; i++)
        if (g_strcmp0(old[i], path) != 0) {
            g_strv_builder_add(b, old[i]);
            n++;
        }
    g_auto(GStrv) list = g_strv_builder_end(b);
    g_settings_set_strv(settings, "recent-projects", (const char *const *)list);
    rebuild_recent(self);
}

static void close_project(MimicaWindow *self)
{
    g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    self->cancellable = g_cancellable_new();
    mimica_transport_set_source(self->transport, NULL);
    if (self->runner) {
        g_signal_handlers_disconnect_by_data(self->runner, self);
        mimica_job_runner_shutdown(self->runner);
        g_clear_object(&self->runner);
    }
    mimica_timeline_set_video(self->timeline, NULL, 0, 0, NULL, NULL);
    g_clear_pointer(&self->curves, mimica_ui_curves_free);
    g_clear_pointer(&self->store, mimica_store_free);
    g_clear_pointer(&self->project_path, g_free);
    g_clear_pointer(&self->video_name, g_free);
    g_hash_table_remove_all(self->job_videos);
    g_hash_table_remove_all(self->progress);
    self->video_id = self->model_id = self->chosen_model = 0;
    self->n_aus = 0;
    refresh_annotators(self);
    refresh_models(self);
}

gboolean mimica_window_open_project(MimicaWindow *self, const char *path, gboolean create,
                                    GError **error)
{
    g_return_val_if_fail(MIMICA_IS_WINDOW(self), FALSE);
    g_autofree char *abs = g_canonicalize_filename(path, NULL);
    MimicaStore *store = create ? mimica_store_create(abs, error) : mimica_store_open(abs, error);
    if (!store)
        return FALSE;
    close_project(self);
    self->store = store;
    self->project_path = g_steal_pointer(&abs);
    ensure_runner(self);
    if (self->runner) {
        g_autoptr(GError) err = NULL;
        if (mimica_job_runner_resume(self->runner, &err) < 0)
            g_warning("resume: %s", err->message);
    }
    remember_project(self, self->project_path);
    gtk_stack_set_visible_child_name(self->stack, "project");
    refresh_videos(self);
    refresh_annotators(self);
    refresh_models(self);
    update_title(self);
    GtkListBoxRow *first = gtk_list_box_get_row_at_index(self->video_list, 0);
    if (first)
        gtk_list_box_select_row(self->video_list, first);
    return TRUE;
}

static void open_or_create(MimicaWindow *self, GFile *file, gboolean create)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_file_get_path(file);
    if (create && path && !g_str_has_suffix(path, ".mimica")) {
        char *p = g_strconcat(path, ".mimica", NULL);
        g_free(path);
        path = p;
    }
    if (path && !mimica_window_open_project(self, path, create, &error))
        toast_error(self, create ? _("Cannot create the project") : _("Cannot open the project"),
                    error);
}

static void on_project_chosen(GtkNativeDialog *dialog, int response, MimicaWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
        gboolean create =
            gtk_file_chooser_get_action(GTK_FILE_CHOOSER(dialog)) == GTK_FILE_CHOOSER_ACTION_SAVE;
        open_or_create(self, file, create);
    }
    gtk_native_dialog_destroy(dialog);
    g_object_unref(dialog);
}

static GtkFileFilter *project_filter(void)
{
    GtkFileFilter *f = gtk_file_filter_new();
    gtk_file_filter_set_name(f, _("Mimica Projects"));
    gtk_file_filter_add_pattern(f, "*.mimica");
    return f;
}

static void project_dialog(MimicaWindow *self, gboolean create)
{
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        create ? _("New Project") : _("Open Project"), GTK_WINDOW(self),
        create ? GTK_FILE_CHOOSER_ACTION_SAVE : GTK_FILE_CHOOSER_ACTION_OPEN,
        create ? _("_Create") : _("_Open"), _("_Cancel"));
    g_autoptr(GtkFileFilter) filter = project_filter();
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dialog), filter);
    if (create)
        gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dialog), _("Untitled.mimica"));
    g_signal_connect(dialog, "response", G_CALLBACK(on_project_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static void new_project_action(GtkWidget *widget, const char *name, GVariant *param)
{
    project_dialog(MIMICA_WINDOW(widget), TRUE);
}

static void open_project_action(GtkWidget *widget, const char *name, GVariant *param)
{
    project_dialog(MIMICA_WINDOW(widget), FALSE);
}

static void open_recent_action(GtkWidget *widget, const char *name, GVariant *param)
{
    g_autoptr(GFile) file = g_file_new_for_path(g_variant_get_string(param, NULL));
    open_or_create(MIMICA_WINDOW(widget), file, FALSE);
}

/* Adding videos: probing and hashing in a thread with its own store connection. */

typedef struct {
    char *project;
    GPtrArray *paths;
} AddVideos;

static void add_videos_free(gpointer data)
{
    AddVideos *a = data;
    g_free(a->project);
    g_ptr_array_unref(a->paths);
    g_free(a);
}

static void add_videos_thread(GTask *task, gpointer source_object, gpointer data,
                              GCancellable *cancellable)
{
    AddVideos *a = data;
    GError *error = NULL;
    g_autoptr(MimicaStore) store = mimica_store_open(a->project, &error);
    gint64 last = 0;
    for (guint i = 0; store && i < a->paths->len && !error; i++)
        last = mimica_analysis_add_video(store, a->paths->pdata[i], cancellable, &error);
    if (error)
        g_task_return_error(task, error);
    else
        g_task_return_int(task, last);
}

static void on_videos_added(GObject *object, GAsyncResult *result, gpointer data)
{
    MimicaWindow *self = MIMICA_WINDOW(object);
    g_autoptr(GError) error = NULL;
    gint64 id = g_task_propagate_int(G_TASK(result), &error);
    if (error && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        toast_error(self, _("Cannot add the video"), error);
    refresh_videos(self);
    if (id > 0) {
        self->video_id = 0;
        select_video(self, id);
        refresh_videos(self);
    }
}

static void add_videos(MimicaWindow *self, GPtrArray *paths)
{
    if (!self->store) {
        toast(self, _("Open or create a project first"));
        return;
    }
    AddVideos *a = g_new0(AddVideos, 1);
    a->project = g_strdup(self->project_path);
    a->paths = g_ptr_array_ref(paths);
    GTask *task = g_task_new(self, self->cancellable, on_videos_added, NULL);
    g_task_set_task_data(task, a, add_videos_free);
    g_task_run_in_thread(task, add_videos_thread);
    g_object_unref(task);
    toast(self, _("Adding video…"));
}

static void on_videos_chosen(GtkNativeDialog *dialog, int response, MimicaWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr(GListModel) files = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(dialog));
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < g_list_model_get_n_items(files); i++) {
            g_autoptr(GFile) f = g_list_model_get_item(files, i);
            char *p = g_file_get_path(f);
            if (p)
                g_ptr_array_add(paths, p);
        }
        add_videos(self, paths);
    }
    gtk_native_dialog_destroy(dialog);
    g_object_unref(dialog);
}

static void add_video_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store) {
        toast(self, _("Open or create a project first"));
        return;
    }
    GtkFileChooserNative *dialog = gtk_file_chooser_native_new(
        _("Add Video"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Add"), _("_Cancel"));
    gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(dialog), TRUE);
    g_autoptr(GtkFileFilter) filter = gtk_file_filter_new();
    gtk_file_filter_set_name(filter, _("Videos"));
    gtk_file_filter_add_mime_type(filter, "video/*");
    gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dialog), filter);
    g_signal_connect(dialog, "response", G_CALLBACK(on_videos_chosen), self);
    gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y,
                        MimicaWindow *self)
{
    if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
        return FALSE;
    GSList *files = g_value_get_boxed(value);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    for (GSList *l = files; l; l = l->next) {
        char *p = g_file_get_path(l->data);
        if (!p)
            continue;
        if (g_str_has_suffix(p, ".mimica")) {
            open_or_create(self, l->data, FALSE);
            g_free(p);
        } else {
            g_ptr_array_add(paths, p);
        }
    }
    if (paths->len)
        add_videos(self, paths);
    return TRUE;
}

/* Transport and labels ------------------------------------------------------------------------ */

static void play_action(GtkWidget *widget, const char *name, GVariant *param)
{
    mimica_transport_toggle_play(MIMICA_WINDOW(widget)->transport);
}

static void step_action(GtkWidget *widget, const char *name, GVariant *param)
{
    mimica_transport_step(MIMICA_WINDOW(widget)->transport, g_variant_get_int32(param));
}

static void step_seconds_action(GtkWidget *widget, const char *name, GVariant *param)
{
    mimica_transport_step_seconds(MIMICA_WINDOW(widget)->transport, g_variant_get_int32(param));
}

static void shuttle_action(GtkWidget *widget, const char *name, GVariant *param)
{
    mimica_transport_shuttle(MIMICA_WINDOW(widget)->transport, g_variant_get_int32(param));
}

static void set_range(MimicaWindow *self, gint64 in, gint64 out)
{
    self->range_in = in;
    self->range_out = out;
    gint64 lo = in >= 0 && out >= 0 ? MIN(in, out) : in;
    gint64 hi = in >= 0 && out >= 0 ? MAX(in, out) : -1;
    mimica_transport_set_range(self->transport, lo, hi);
    mimica_timeline_set_range(self->timeline, lo, hi >= 0 ? hi : lo);
}

static void mark_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    gint64 pos = mimica_transport_get_position(self->transport);
    if (g_variant_get_int32(param) == 0)
        set_range(self, pos, self->range_out >= pos ? self->range_out : -1);
    else
        set_range(self, self->range_in >= 0 ? self->range_in : pos, pos);
}

static void clear_range_action(GtkWidget *widget, const char *name, GVariant *param)
{
    set_range(MIMICA_WINDOW(widget), -1, -1);
}

static void loop_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    mimica_transport_set_loop(self->transport, !mimica_transport_get_loop(self->transport));
}

static void zoom_action(GtkWidget *widget, const char *name, GVariant *param)
{
    mimica_timeline_zoom(MIMICA_WINDOW(widget)->timeline,
                         g_variant_get_int32(param) > 0 ? 1.5 : 1 / 1.5);
}

static void select_au(MimicaWindow *self, int au)
{
    self->selected_au = au;
    mimica_au_panel_set_selected(self->au_panel, au);
    mimica_timeline_set_selected_au(self->timeline, au);
}

static void on_au_selected(GObject *source, int au, MimicaWindow *self)
{
    select_au(self, au);
}

static void on_timeline_seek(MimicaTimeline *timeline, gint64 frame, MimicaWindow *self)
{
    mimica_transport_seek(self->transport, frame);
}

/* The frames an edit applies to: the I/O range if both are set, else the playhead. */
static void edit_frames(MimicaWindow *self, gint64 *start, gint64 *end)
{
    gint64 pos = mimica_transport_get_position(self->transport);
    if (self->range_in >= 0 && self->range_out >= 0) {
        *start = MIN(self->range_in, self->range_out);
        *end = MAX(self->range_in, self->range_out);
    } else {
        *start = *end = pos;
    }
}

static void label(MimicaWindow *self, int au, gint64 start, gint64 end, MimicaLabelValue value)
{
    if (!self->store || self->video_id <= 0)
        return;
    g_autofree char *annotator = require_annotator(self);
    if (!annotator)
        return;
    g_autoptr(GError) error = NULL;
    if (!mimica_store_label_set(self->store, self->video_id, start, end, au, value, annotator,
                                &error)) {
        toast_error(self, _("Cannot save the label"), error);
        return;
    }
    mimica_timeline_reload(self->timeline);
    show_frame_info(self);
    refresh_annotators(self);
}

static void toggle_au_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    int n = g_variant_get_int32(param); /* 1..10 */
    if (n < 1 || n > self->n_aus)
        return;
    int au = self->aus[n - 1];
    select_au(self, au);
    gint64 start, end;
    edit_frames(self, &start, &end);
    g_autofree char *annotator = dup_annotator(self);
    MimicaLabelValue v;
    gboolean present =
        annotator &&
        mimica_store_label_at(self->store, self->video_id, au, start, annotator, &v, NULL) &&
        mimica_label_value_is_present(v);
    label(self, au, start, end, present ? MIMICA_LABEL_ABSENT : MIMICA_LABEL_PRESENT);
}

static void intensity_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->selected_au)
        return;
    gint64 start, end;
    edit_frames(self, &start, &end);
    label(self, self->selected_au, start, end, MIMICA_LABEL_A + g_variant_get_int32(param));
}

static void on_label_range(MimicaTimeline *timeline, int au, gint64 start, gint64 end, int value,
                           MimicaWindow *self)
{
    label(self, au, start, end, (MimicaLabelValue)value);
}

static void undo_redo(MimicaWindow *self, gboolean redo)
{
    if (!self->store)
        return;
    g_autofree char *annotator = dup_annotator(self);
    if (!annotator)
        return;
    g_autoptr(GError) error = NULL;
    gint64 id = redo ? mimica_store_label_redo(self->store, annotator, NULL, &error)
                     : mimica_store_label_undo(self->store, annotator, NULL, &error);
    if (!id) {
        if (g_error_matches(error, MIMICA_STORE_ERROR, MIMICA_STORE_ERROR_NOTHING))
            toast(self, redo ? _("Nothing to redo") : _("Nothing to undo"));
        else
            toast_error(self, redo ? _("Cannot redo") : _("Cannot undo"), error);
        return;
    }
    mimica_timeline_reload(self->timeline);
    show_frame_info(self);
    refresh_annotators(self);
    toast(self, redo ? _("Redone") : _("Undone"));
}

static void undo_action(GtkWidget *widget, const char *name, GVariant *param)
{
    undo_redo(MIMICA_WINDOW(widget), FALSE);
}

static void redo_action(GtkWidget *widget, const char *name, GVariant *param)
{
    undo_redo(MIMICA_WINDOW(widget), TRUE);
}

static void edge_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store || !self->selected_au)
        return;
    g_autofree char *annotator = dup_annotator(self);
    gint64 f = mimica_ui_label_edge(self->store, self->video_id, annotator, self->selected_au,
                                    mimica_transport_get_position(self->transport),
                                    g_variant_get_int32(param), NULL);
    if (f >= 0)
        mimica_transport_seek(self->transport,
                              MIN(f, mimica_transport_get_n_frames(self->transport) - 1));
    else
        toast(self, _("No more label edges"));
}

static void disagreement_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store || !self->curves)
        return;
    g_autofree char *annotator = dup_annotator(self);
    gint64 f = mimica_ui_next_disagreement(
        self->store, self->video_id, annotator, self->curves, 0, self->threshold,
        mimica_transport_get_position(self->transport), g_variant_get_int32(param), NULL);
    if (f >= 0)
        mimica_transport_seek(self->transport, f);
    else
        toast(self, _("No disagreement between model and labels"));
}

static gboolean parse_goto(MimicaWindow *self, const char *text, gint64 *frame)
{
    g_autofree char *t = g_strstrip(g_strdup(text));
    MimicaVideoSource *src = mimica_transport_get_source(self->transport);
    if (!src || !*t)
        return FALSE;
    char *end = NULL;
    if (strchr(t, ':') || strchr(t, '.') || g_str_has_suffix(t, "s")) {
        double seconds = 0;
        char **parts = g_strsplit(t, ":", 3);
        for (guint i = 0; parts[i]; i++)
            seconds = seconds * 60 + g_ascii_strtod(parts[i], NULL);
        g_strfreev(parts);
        *frame = mimica_video_source_frame_at_time(src, seconds + 1e-6);
        return TRUE;
    }
    gint64 f = g_ascii_strtoll(t, &end, 10);
    if (end == t || *end)
        return FALSE;
    *frame = f;
    return TRUE;
}

static void on_goto_response(AdwMessageDialog *dialog, const char *response, MimicaWindow *self)
{
    if (g_strcmp0(response, "go") != 0)
        return;
    GtkEditable *entry = g_object_get_data(G_OBJECT(dialog), "entry");
    gint64 frame;
    if (parse_goto(self, gtk_editable_get_text(entry), &frame))
        mimica_transport_seek(self->transport, frame);
    else
        toast(self, _("Type a frame number or a time such as 1:02.5"));
}

static void goto_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!mimica_transport_get_source(self->transport))
        return;
    GtkWidget *dialog = adw_message_dialog_new(GTK_WINDOW(self), _("Go to Frame or Time"),
                                               _("A frame number (0-based), or a time in "
                                                 "seconds or minutes:seconds."));
    GtkWidget *entry = gtk_entry_new();
    gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
    gtk_accessible_update_property(GTK_ACCESSIBLE(entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                   _("Frame or Time"), -1);
    adw_message_dialog_set_extra_child(ADW_MESSAGE_DIALOG(dialog), entry);
    adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "go",
                                     _("_Go"), NULL);
    adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "go");
    g_object_set_data(G_OBJECT(dialog), "entry", entry);
    g_signal_connect(dialog, "response", G_CALLBACK(on_goto_response), self);
    gtk_window_present(GTK_WINDOW(dialog));
}

static void overlay_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    MimicaOverlays bit = g_str_equal(name, "win.overlay-box")         ? MIMICA_OVERLAY_BOX
                         : g_str_equal(name, "win.overlay-landmarks") ? MIMICA_OVERLAY_LANDMARKS
                         : g_str_equal(name, "win.overlay-pose")      ? MIMICA_OVERLAY_POSE
                                                                      : MIMICA_OVERLAY_AUS;
    mimica_video_view_set_overlays(self->video_view,
                                   mimica_video_view_get_overlays(self->video_view) ^ bit);
}

static void preferences_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    GtkWidget *prefs = mimica_preferences_new(GTK_WINDOW(self), window_settings(self));
    add_dialog_screenshot(self, prefs);
    present_child(self, prefs);
}

static void on_review_seek(MimicaReviewPage *page, gint64 frame, int au, MimicaWindow *self)
{
    select_au(self, au);
    mimica_transport_seek(self->transport, frame);
}

static void review_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store || !self->curves || self->video_id <= 0) {
        toast(self, _("Add a video first"));
        return;
    }
    g_autofree char *annotator = dup_annotator(self);
    g_autoptr(GError) error = NULL;
    GtkWidget *page = mimica_review_page_new(GTK_WINDOW(self), self->store, self->video_id,
                                             annotator, self->curves, self->threshold, &error);
    if (!page) {
        toast_error(self, _("Cannot make the review queue"), error);
        return;
    }
    g_signal_connect_object(page, "seek", G_CALLBACK(on_review_seek), self, 0);
    present_child(self, page);
}

static void agreement_action(GtkWidget *widget, const char *name, GVariant *param)
{
    MimicaWindow *self = MIMICA_WINDOW(widget);
    if (!self->store || self->video_id <= 0) {
        toast(self, _("Add a video first"));
        return;
    }
    g_autoptr(GError) error = NULL;
    GtkWidget *page = mimica_agreement_page_new(GTK_WINDOW(self), self->store, self->video_id,
                                                self->curves, self->threshold, &error);
    if (!page) {
        toast_error(self, _("Cannot compute the agreement"), error);
        return;
    }
    present_child(self, page);
}

/* F12 with MIMICA_SCREENSHOT_DIR set: WINDOW (this one or a dialog of it) as
 * mimica-NN.png there. */
static void save_screenshot(MimicaWindow *self, GtkWindow *window)
{
    const char *dir = g_getenv("MIMICA_SCREENSHOT_DIR");
    if (!dir)
        return;
    g_autofree char *file = g_strdup_printf("mimica-%02d.png", ++self->n_shots);
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autoptr(GError) error = NULL;
    if (!save_png(window, path, &error))
        g_warning("screenshot: %s", error->message);
    else
        g_print("screenshot %s\n", path);
}

static void screenshot_action(GtkWidget *widget, const char *name, GVariant *param)
{
    save_screenshot(MIMICA_WINDOW(widget), GTK_WINDOW(widget));
}

static gboolean on_dialog_screenshot(GtkWidget *dialog, GVariant *args, gpointer data)
{
    save_screenshot(MIMICA_WINDOW(data), GTK_WINDOW(dialog));
    return TRUE;
}

static void apply_key_bindings(MimicaWindow *self);

static void on_settings_changed(GSettings *settings, const char *key, MimicaWindow *self)
{
    if (g_str_equal(key, "au-threshold")) {
        self->threshold = g_settings_get_double(settings, key);
        mimica_video_view_set_threshold(self->video_view, self->threshold);
        mimica_timeline_set_threshold(self->timeline, self->threshold);
    } else if (g_str_equal(key, "key-bindings")) {
        apply_key_bindings(self);
    } else if (g_str_equal(key, "annotator")) {
        update_title(self);
        g_autofree char *annotator = dup_annotator(self);
        if (self->store && self->curves)
            mimica_timeline_set_video(self->timeline, self->store, self->video_id,
                                      mimica_transport_get_n_frames(self->transport), annotator,
                                      self->curves);
        show_frame_info(self);
    }
}

/* Shortcuts: the key bindings (mimica-keys) in a capture-phase controller, so that keys act
 * whatever control has the focus; rebuilt with the shortcuts window when a binding changes. F12
 * (screenshots for the tests) is fixed. */
static void apply_key_bindings(MimicaWindow *self)
{
    GSettings *settings = window_settings(self);
    if (self->keys)
        gtk_widget_remove_controller(GTK_WIDGET(self), self->keys);
    self->keys = mimica_keys_controller_new(settings);
    gtk_widget_add_controller(GTK_WIDGET(self), self->keys);
    g_autoptr(GtkWidget) overlay = mimica_keys_shortcuts_window_new(settings);
    add_dialog_screenshot(self, overlay);
    gtk_application_window_set_help_overlay(GTK_APPLICATION_WINDOW(self),
                                            GTK_SHORTCUTS_WINDOW(overlay));
}

static void add_fixed_shortcuts(MimicaWindow *self)
{
    GtkEventController *ctrl = gtk_shortcut_controller_new();
    gtk_event_controller_set_propagation_phase(ctrl, GTK_PHASE_CAPTURE);
    gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(ctrl),
                                         gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_F12, 0),
                                                          gtk_named_action_new("win.screenshot")));
    gtk_widget_add_controller(GTK_WIDGET(self), ctrl);
}

/* The window ---------------------------------------------------------------------------------- */

static gboolean mimica_window_close_request(GtkWindow *window)
{
    MimicaWindow *self = MIMICA_WINDOW(window);
    GSettings *settings = window_settings(self);
    if (settings) {
        int w = 0, h = 0;
        gtk_window_get_default_size(window, &w, &h);
        g_settings_set_int(settings, "window-width", w);
        g_settings_set_int(settings, "window-height", h);
        g_settings_set_boolean(settings, "window-maximized", gtk_window_is_maximized(window));
    }
    const char *log = g_getenv("MIMICA_TICK_LOG");
    if (log)
        mimica_transport_save_tick_log(self->transport, log, NULL);
    return GTK_WINDOW_CLASS(mimica_window_parent_class)->close_request(window);
}

static void mimica_window_dispose(GObject *object)
{
    MimicaWindow *self = MIMICA_WINDOW(object);
    if (self->transport)
        close_project(self);
    g_cancellable_cancel(self->cancellable);
    g_clear_object(&self->cancellable);
    gtk_widget_dispose_template(GTK_WIDGET(self), MIMICA_TYPE_WINDOW);
    G_OBJECT_CLASS(mimica_window_parent_class)->dispose(object);
}

static void mimica_window_finalize(GObject *object)
{
    MimicaWindow *self = MIMICA_WINDOW(object);
    g_hash_table_unref(self->job_videos);
    g_hash_table_unref(self->progress);
    g_free(self->job_kind);
    G_OBJECT_CLASS(mimica_window_parent_class)->finalize(object);
}

static void mimica_window_class_init(MimicaWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS(klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
    GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

    object_class->dispose = mimica_window_dispose;
    object_class->finalize = mimica_window_finalize;
    window_class->close_request = mimica_window_close_request;

    gtk_widget_class_set_template_from_resource(widget_class,
                                                "/org/mimica/Mimica/mimica-window.ui");
#define CHILD(name) gtk_widget_class_bind_template_child(widget_class, MimicaWindow, name)
    CHILD(toast_overlay);
    CHILD(window_title);
    CHILD(stack);
    CHILD(engine_label);
    CHILD(video_list);
    CHILD(annotator_list);
    CHILD(model_list);
    CHILD(job_box);
    CHILD(job_label);
    CHILD(job_progress);
    CHILD(recent_menu);
    CHILD(video_view);
    CHILD(transport);
    CHILD(au_panel);
    CHILD(timeline);
#undef CHILD

    gtk_widget_class_install_action(widget_class, "win.new-project", NULL, new_project_action);
    gtk_widget_class_install_action(widget_class, "win.open-project", NULL, open_project_action);
    gtk_widget_class_install_action(widget_class, "win.open-recent", "s", open_recent_action);
    gtk_widget_class_install_action(widget_class, "win.add-video", NULL, add_video_action);
    gtk_widget_class_install_action(widget_class, "win.analyse", NULL, analyse_action);
    gtk_widget_class_install_action(widget_class, "win.fine-tune", NULL, finetune_action);
    gtk_widget_class_install_action(widget_class, "win.cancel-job", NULL, cancel_job_action);
    gtk_widget_class_install_action(widget_class, "win.play", NULL, play_action);
    gtk_widget_class_install_action(widget_class, "win.step", "i", step_action);
    gtk_widget_class_install_action(widget_class, "win.step-seconds", "i", step_seconds_action);
    gtk_widget_class_install_action(widget_class, "win.shuttle", "i", shuttle_action);
    gtk_widget_class_install_action(widget_class, "win.label-edge", "i", edge_action);
    gtk_widget_class_install_action(widget_class, "win.disagreement", "i", disagreement_action);
    gtk_widget_class_install_action(widget_class, "win.mark", "i", mark_action);
    gtk_widget_class_install_action(widget_class, "win.clear-range", NULL, clear_range_action);
    gtk_widget_class_install_action(widget_class, "win.toggle-au", "i", toggle_au_action);
    gtk_widget_class_install_action(widget_class, "win.intensity", "i", intensity_action);
    gtk_widget_class_install_action(widget_class, "win.undo", NULL, undo_action);
    gtk_widget_class_install_action(widget_class, "win.redo", NULL, redo_action);
    gtk_widget_class_install_action(widget_class, "win.loop", NULL, loop_action);
    gtk_widget_class_install_action(widget_class, "win.goto", NULL, goto_action);
    gtk_widget_class_install_action(widget_class, "win.zoom", "i", zoom_action);
    gtk_widget_class_install_action(widget_class, "win.overlay-box", NULL, overlay_action);
    gtk_widget_class_install_action(widget_class, "win.overlay-landmarks", NULL, overlay_action);
    gtk_widget_class_install_action(widget_class, "win.overlay-pose", NULL, overlay_action);
    gtk_widget_class_install_action(widget_class, "win.overlay-aus", NULL, overlay_action);
    gtk_widget_class_install_action(widget_class, "win.preferences", NULL, preferences_action);
    gtk_widget_class_install_action(widget_class, "win.screenshot", NULL, screenshot_action);
    gtk_widget_class_install_action(widget_class, "win.review", NULL, review_action);
    gtk_widget_class_install_action(widget_class, "win.agreement", NULL, agreement_action);
}

static void mimica_window_init(MimicaWindow *self)
{
    g_type_ensure(MIMICA_TYPE_VIDEO_VIEW);
    g_type_ensure(MIMICA_TYPE_TRANSPORT);
    g_type_ensure(MIMICA_TYPE_AU_PANEL);
    g_type_ensure(MIMICA_TYPE_TIMELINE);
    gtk_widget_init_template(GTK_WIDGET(self));
    g_autofree char *text = g_strdup_printf(_("Engine %s"), mim_version());
    gtk_label_set_text(self->engine_label, text);
    self->cancellable = g_cancellable_new();
    self->job_videos = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    self->progress = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    self->range_in = self->range_out = -1;
    self->threshold = 0.5;
    g_signal_connect(self->video_list, "row-selected", G_CALLBACK(on_video_row_selected), self);
    g_signal_connect(self->model_list, "row-selected", G_CALLBACK(on_model_row_selected), self);
    g_signal_connect(self->transport, "frame-changed", G_CALLBACK(on_frame_changed), self);
    g_signal_connect(self->au_panel, "au-selected", G_CALLBACK(on_au_selected), self);
    g_signal_connect(self->timeline, "au-selected", G_CALLBACK(on_au_selected), self);
    g_signal_connect(self->timeline, "seek", G_CALLBACK(on_timeline_seek), self);
    g_signal_connect(self->timeline, "label-range", G_CALLBACK(on_label_range), self);
    GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
    gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
    add_fixed_shortcuts(self);
}

MimicaWindow *mimica_window_new(MimicaApplication *application)
{
    MimicaWindow *self = g_object_new(MIMICA_TYPE_WINDOW, "application", application, NULL);
    GSettings *settings = mimica_application_get_settings(application);
    if (settings) {
        gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(settings, "window-width"),
                                    g_settings_get_int(settings, "window-height"));
        if (g_settings_get_boolean(settings, "window-maximized"))
            gtk_window_maximize(GTK_WINDOW(self));
        self->threshold = g_settings_get_double(settings, "au-threshold");
        mimica_video_view_set_threshold(self->video_view, self->threshold);
        mimica_timeline_set_threshold(self->timeline, self->threshold);
        g_signal_connect_object(settings, "changed", G_CALLBACK(on_settings_changed), self, 0);
    }
    apply_key_bindings(self);
    rebuild_recent(self);
    update_title(self);
    if (g_str_has_suffix(MIMICA_APP_ID, ".Devel"))
        gtk_widget_add_css_class(GTK_WIDGET(self), "devel");
    return self;
}

/* Renders the window as it is on screen into a PNG file (used by the ui tests). */
gboolean mimica_window_save_screenshot(MimicaWindow *self, const char *path, GError **error)
{
    g_return_val_if_fail(MIMICA_IS_WINDOW(self), FALSE);
    g_return_val_if_fail(path != NULL, FALSE);
    return save_png(GTK_WINDOW(self), path, error);
}

static gboolean save_png(GtkWindow *window, const char *path, GError **error)
{
    int width = gtk_widget_get_width(GTK_WIDGET(window));
    int height = gtk_widget_get_height(GTK_WIDGET(window));
    if (width <= 0 || height <= 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window has no size yet");
        return FALSE;
    }
    g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new(GTK_WIDGET(window));
    GtkSnapshot *snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, snapshot, width, height);
    g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snapshot);
    if (!node) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the window drew nothing");
        return FALSE;
    }
    GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
    graphene_rect_t viewport = GRAPHENE_RECT_INIT(0, 0, width, height);
    g_autoptr(GdkTexture) texture = gsk_renderer_render_texture(renderer, node, &viewport);
    if (!gdk_texture_save_to_png(texture, path)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
        return FALSE;
    }
    return TRUE;
}
