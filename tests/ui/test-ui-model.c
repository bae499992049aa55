/* test-ui-model.c: the window's queries (app/ui-model) against a real project file: labels of a
 * window of frames, label edges, the disagreement search, fine-tune metrics; the timeline's
 * window query with 100,000 label events; and the video view's head-pose projection. */
#include <glib/gstdio.h>
#include <math.h>

#include "mimica-config.h"
#include "mimica-keys.h"
#include "mimica-video-view.h"
#include "ui-model/mimica-ui-model.h"

static char *tmp_dir;

static MimicaStore *new_project(const char *name, gint64 *video_id)
{
    g_autofree char *path = g_build_filename(tmp_dir, name, NULL);
    g_autoptr(GError) error = NULL;
    MimicaStore *store = mimica_store_create(path, &error);
    g_assert_no_error(error);
    MimicaVideoFacts facts = {
        .path = (char *)"/nonexistent/clip.mp4",
        .content_hash = (char *)name,
        .duration_us = 40000000,
        .frame_rate_num = 25,
        .frame_rate_den = 1,
        .n_frames = 1000,
        .width = 640,
        .height = 480,
    };
    *video_id = mimica_store_add_video(store, &facts, &error);
    g_assert_no_error(error);
    return store;
}

static void set(MimicaStore *store, gint64 video, gint64 a, gint64 b, int au, MimicaLabelValue v)
{
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(mimica_store_label_set(store, video, a, b, au, v, "ann", &error), >, 0);
    g_assert_no_error(error);
}

static void test_labels_edges_disagreements(void)
{
    gint64 video;
    g_autoptr(MimicaStore) store = new_project("queries.mimica", &video);
    set(store, video, 10, 19, 12, MIMICA_LABEL_PRESENT);
    set(store, video, 15, 15, 12, MIMICA_LABEL_ABSENT);
    set(store, video, 50, 60, 1, MIMICA_LABEL_C);

    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) labels = mimica_ui_labels_in_range(store, video, "ann", 0, 0, 20, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(labels->len, ==, 2); /* AU 1 at 50-60 is outside the window */
    MimicaLabelValue v;
    g_assert_true(mimica_ui_labels_value_at(labels, 12, 15, &v));
    g_assert_cmpint(v, ==, MIMICA_LABEL_ABSENT);
    g_assert_true(mimica_ui_labels_value_at(labels, 12, 12, &v));
    g_assert_cmpint(v, ==, MIMICA_LABEL_PRESENT);
    g_assert_false(mimica_ui_labels_value_at(labels, 12, 25, &v));
    g_autoptr(GArray) other = mimica_ui_labels_in_range(store, video, "nobody", 0, 0, 100, NULL);
    g_assert_cmpuint(other->len, ==, 0);

    /* edges of AU 12: 10, 15, 16, 20 */
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 0, 1, NULL), ==, 10);
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 12, 1, NULL), ==, 15);
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 16, 1, NULL), ==, 20);
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 20, 1, NULL), ==, -1);
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 12, -1, NULL), ==, 10);
    g_assert_cmpint(mimica_ui_label_edge(store, video, "ann", 12, 10, -1, NULL), ==, -1);

    /* model: AU 12 high on 10-14, low elsewhere; AU 1 high on 50-60 */
    MimicaUiCurves c = {.n_frames = 1000, .n_aus = 2, .aus = {1, 12}};
    c.prob = g_new(float, 2000);
    for (int f = 0; f < 1000; f++) {
        c.prob[2 * f] = f >= 50 && f <= 60 ? 0.9f : 0.1f;
        c.prob[2 * f + 1] = f >= 10 && f <= 14 ? 0.9f : 0.1f;
    }
    g_assert_cmpfloat(mimica_ui_curves_get(&c, 12, 12), >, 0.8f);
    g_assert_true(isnan(mimica_ui_curves_get(&c, 12, 99)));
    /* 16-19: labelled present, model 0.1 */
    g_assert_cmpint(mimica_ui_next_disagreement(store, video, "ann", &c, 0, 0.5, 0, 1, NULL), ==,
                    16);
    g_assert_cmpint(mimica_ui_next_disagreement(store, video, "ann", &c, 0, 0.5, 16, 1, NULL), ==,
                    17);
    g_assert_cmpint(mimica_ui_next_disagreement(store, video, "ann", &c, 0, 0.5, 300, -1, NULL), ==,
                    19);
    g_assert_cmpint(mimica_ui_next_disagreement(store, video, "ann", &c, 0, 0.5, 19, 1, NULL), ==,
                    -1);
    /* AU 1 agrees everywhere */
    g_assert_cmpint(mimica_ui_next_disagreement(store, video, "ann", &c, 1, 0.5, 0, 1, NULL), ==,
                    -1);

    /* review queue: the most uncertain unlabelled frames, the farthest from labels first */
    c.prob[2 * 500] = 0.45f;     /* AU 1 */
    c.prob[2 * 800 + 1] = 0.55f; /* AU 12 */
    g_autoptr(GArray) queue = mimica_ui_review_queue(store, video, "ann", &c, 0.5, 10, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(queue->len, ==, 10);
    const MimicaUiReviewItem *q0 = &g_array_index(queue, MimicaUiReviewItem, 0);
    const MimicaUiReviewItem *q1 = &g_array_index(queue, MimicaUiReviewItem, 1);
    g_assert_cmpint(q0->frame, ==, 800);
    g_assert_cmpint(q0->au, ==, 12);
    g_assert_cmpint(q0->distance, ==, 740);
    g_assert_cmpint(q1->frame, ==, 500);
    g_assert_cmpint(q1->au, ==, 1);
    for (guint i = 0; i < queue->len; i++) /* never a labelled frame */
        g_assert_false(g_array_index(queue, MimicaUiReviewItem, i).distance == 0);
    g_autofree char *qcsv = mimica_ui_review_queue_to_csv(queue);
    g_assert_true(g_str_has_prefix(qcsv, "frame,au,probability,uncertainty,distance\n800,12,"));

    /* agreement: a second annotator, and both against the model */
    g_assert_cmpint(
        mimica_store_label_set(store, video, 10, 19, 12, MIMICA_LABEL_PRESENT, "bob", &error), >,
        0);
    g_autoptr(GArray) agreement = mimica_ui_agreement(store, video, &c, 0.5, &error);
    g_assert_no_error(error);
    gboolean seen_pair = FALSE, seen_model = FALSE;
    for (guint i = 0; i < agreement->len; i++) {
        const MimicaUiAgreement *a = &g_array_index(agreement, MimicaUiAgreement, i);
        g_test_message("AU %d %s vs %s: %lld frames, kappa %.3f, F1 %.3f", a->au, a->rater_a,
                       a->rater_b, (long long)a->n_frames, a->kappa, a->f1);
        if (a->au == 12 && !strcmp(a->rater_a, "ann") && !strcmp(a->rater_b, "bob")) {
            seen_pair = TRUE;
            g_assert_cmpint(a->n_frames, ==, 10);
            g_assert_cmpfloat_with_epsilon(a->kappa, 0.0, 1e-9);
            g_assert_cmpfloat_with_epsilon(a->f1, 18.0 / 19.0, 1e-9);
        }
        if (a->au == 12 && !strcmp(a->rater_a, "ann") && !strcmp(a->rater_b, "model")) {
            seen_model = TRUE;
            g_assert_cmpfloat_with_epsilon(a->f1, 10.0 / 14.0, 1e-9);
        }
    }
    g_assert_true(seen_pair && seen_model);
    g_autofree char *acsv = mimica_ui_agreement_to_csv(agreement);
    g_assert_true(g_str_has_prefix(acsv, "au,rater_a,rater_b,frames,kappa,f1\n"));
    g_free(c.prob);
}

static void test_finetune_metrics(void)
{
    MimicaUiFinetuneResult r = {0};
    g_autoptr(GError) error = NULL;
    g_assert_true(mimica_ui_finetune_result_parse(
        "{\"f1_before\": {\"AU01\": 0.5, \"12\": 0.25}, \"f1_after\": {\"AU1\": 0.75},"
        " \"mean_f1_before\": 0.375, \"mean_f1_after\": 0.75}",
        &r, &error));
    g_assert_no_error(error);
    g_assert_cmpint(r.n_aus, ==, 2);
    g_assert_cmpint(r.aus[0], ==, 1);
    g_assert_cmpfloat(r.f1_before[0], ==, 0.5);
    g_assert_cmpfloat(r.f1_after[0], ==, 0.75);
    g_assert_cmpint(r.aus[1], ==, 12);
    g_assert_true(isnan(r.f1_after[1]));
    g_assert_cmpfloat(r.mean_after, ==, 0.75);
    g_assert_false(mimica_ui_finetune_result_parse("{nope", &r, &error));
    g_assert_nonnull(error);
}

/* The timeline reads only its window: with 100,000 events a window costs milliseconds. */
static void test_window_query_100k(void)
{
    gint64 video;
    g_autoptr(MimicaStore) store = new_project("big.mimica", &video);
    g_autofree char *csv = g_build_filename(tmp_dir, "big.csv", NULL);
    g_autoptr(GString) text =
        g_string_new("video,frame_start,frame_end,au,value,annotator,time,event\n");
    const int aus[] = {1, 2, 4, 6, 12, 25};
    for (int i = 0; i < 100000; i++) {
        int start = (i * 7919) % 990;
        g_string_append_printf(text, "%lld,%d,%d,%d,%s,ann%d,2026-01-01T00:00:00.000Z,\n",
                               (long long)video, start, start + i % 9, aus[i % 6],
                               i % 3 ? "present" : "absent", i % 4);
    }
    g_assert_true(g_file_set_contents(csv, text->str, (gssize)text->len, NULL));
    g_autoptr(GError) error = NULL;
    gint64 t0 = g_get_monotonic_time();
    g_assert_cmpint(mimica_store_import_labels_csv(store, csv, &error), ==, 100000);
    g_assert_no_error(error);
    g_test_message("imported 100000 label events in %.2f s", (g_get_monotonic_time() - t0) / 1e6);
    double worst = 0;
    guint n = 0;
    for (int w = 0; w < 20; w++) {
        gint64 a = (w * 97) % 900;
        t0 = g_get_monotonic_time();
        g_autoptr(GArray) labels =
            mimica_ui_labels_in_range(store, video, "ann1", 0, a, a + 60, &error);
        double ms = (g_get_monotonic_time() - t0) / 1e3;
        g_assert_no_error(error);
        worst = MAX(worst, ms);
        n += labels->len;
    }
    g_test_message("20 windows of 61 frames: %u labels, slowest %.2f ms", n, worst);
    g_assert_cmpuint(n, >, 0);
    g_assert_cmpfloat(worst, <, 100.0);

    /* the sidebar's annotators with their label counts (asked after every edit) */
    t0 = g_get_monotonic_time();
    g_autoptr(GArray) annotators = mimica_ui_annotators(store, video, &error);
    double ms = (g_get_monotonic_time() - t0) / 1e3;
    g_assert_no_error(error);
    gint64 total = 0;
    for (guint i = 0; i < annotators->len; i++) {
        MimicaUiAnnotator *a = &g_array_index(annotators, MimicaUiAnnotator, i);
        g_test_message("annotator %s: %" G_GINT64_FORMAT " labels", a->name, a->n_labels);
        g_assert_cmpint(a->n_labels, >, 0);
        total += a->n_labels;
    }
    g_test_message("annotators and label counts in %.1f ms", ms);
    g_assert_cmpuint(annotators->len, >=, 1);
    g_assert_cmpint(total, <=, 100000);
    g_assert_cmpfloat(ms, <, 2000.0);
}

static void test_pose_projection(void)
{
    /* a head 500 mm in front of the camera, facing it: OpenFace's camera for 640x480 has f = 500 */
    float pose[6] = {0, 0, 500, 0, 0, 0};
    double axes[4][2];
    mimica_video_view_pose_axes(640, 480, pose, 50, axes);
    g_assert_cmpfloat_with_epsilon(axes[0][0], 320, 1e-6);
    g_assert_cmpfloat_with_epsilon(axes[0][1], 240, 1e-6);
    g_assert_cmpfloat_with_epsilon(axes[1][0], 370, 1e-6); /* +x: right */
    g_assert_cmpfloat_with_epsilon(axes[2][1], 290, 1e-6); /* +y: down */
    g_assert_cmpfloat_with_epsilon(axes[3][0], 320, 1e-6); /* +z: away, on the optical axis */
    /* yaw by 90 degrees: x turns into the depth (R = Rx Ry Rz, Ry(pi/2) maps x to -z) */
    float yaw[6] = {0, 0, 500, 0, (float)G_PI_2, 0};
    mimica_video_view_pose_axes(640, 480, yaw, 50, axes);
    g_assert_cmpfloat_with_epsilon(axes[1][0], 320, 1e-3);
    g_assert_cmpfloat_with_epsilon(axes[3][0], 320 + 500.0 * 50 / 500, 1e-3);
}

/* Key bindings: a change is stored in GSettings (only what differs from the default), a key in
 * use elsewhere is refused with a message naming its action, reset restores the default, and the
 * window's controller and shortcuts window carry the current keys. */
static void test_key_bindings(void)
{
    g_autoptr(GSettings) settings = g_settings_new(MIMICA_APP_ID);
    const MimicaKeyBinding *fwd = mimica_keys_lookup("step-forward");
    const MimicaKeyBinding *back = mimica_keys_lookup("step-back");
    g_assert_nonnull(fwd);
    g_auto(GStrv) def = mimica_keys_dup_accels(settings, fwd);
    g_assert_cmpstrv(def, ((const char *[]){"Right", NULL}));
    g_assert_true(mimica_keys_is_default(settings, fwd));

    /* every default is unique */
    for (guint i = 0; i < mimica_keys_get_n(); i++) {
        const MimicaKeyBinding *b = mimica_keys_get(i);
        g_auto(GStrv) accels = mimica_keys_dup_accels(NULL, b);
        g_assert_cmpuint(g_strv_length(accels), >, 0);
        for (guint j = 0; accels[j]; j++)
            g_assert_null(mimica_keys_find_conflict(NULL, accels[j], b));
    }

    g_autoptr(GError) error = NULL;
    g_assert_true(mimica_keys_set(settings, fwd, "<Shift>period", &error));
    g_assert_no_error(error);
    g_auto(GStrv) now = mimica_keys_dup_accels(settings, fwd);
    g_assert_cmpstrv(now, ((const char *[]){"<Shift>period", NULL}));
    g_autoptr(GVariant) stored = g_settings_get_value(settings, "key-bindings");
    g_autofree char *text = g_variant_print(stored, FALSE);
    g_test_message("key-bindings = %s", text);
    g_assert_cmpstr(text, ==, "{'step-forward': '<Shift>period'}");
    /* the old key is free now: another action may take it */
    g_assert_null(mimica_keys_find_conflict(settings, "Right", NULL));

    /* a key in use: refused, nothing stored */
    g_assert_false(mimica_keys_set(settings, back, "<Shift>period", &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_test_message("conflict: %s", error->message);
    g_assert_nonnull(strstr(error->message, "One frame forward"));
    g_clear_error(&error);
    g_assert_false(mimica_keys_set(settings, back, "<Control>z", &error));
    g_assert_nonnull(strstr(error->message, "Undo"));
    g_clear_error(&error);
    g_assert_false(mimica_keys_set(settings, back, "NoSuchKey", &error));
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
    g_assert_true(mimica_keys_is_default(settings, back));

    /* a key event: Shift+N arrives as keyval N with Shift */
    g_autofree char *ev = mimica_keys_accel_from_event(GDK_KEY_N, GDK_SHIFT_MASK);
    g_assert_cmpstr(ev, ==, "<Shift>n");
    g_assert_null(mimica_keys_accel_from_event(GDK_KEY_Control_L, GDK_CONTROL_MASK));

    /* the shortcuts window lists the current key */
    if (gtk_init_check()) {
        GtkWidget *overlay = mimica_keys_shortcuts_window_new(settings);
        g_assert_true(GTK_IS_SHORTCUTS_WINDOW(overlay));
        gboolean found = FALSE;
        for (GtkWidget *w = gtk_widget_get_first_child(overlay); w;) {
            if (GTK_IS_SHORTCUTS_SHORTCUT(w)) {
                g_autofree char *title = NULL, *accel = NULL;
                g_object_get(w, "title", &title, "accelerator", &accel, NULL);
                if (g_strcmp0(title, "One frame forward") == 0) {
                    g_assert_cmpstr(accel, ==, "<Shift>period");
                    found = TRUE;
                }
            }
            /* depth-first walk */
            GtkWidget *next = gtk_widget_get_first_child(w);
            while (!next && w && w != overlay) {
                next = gtk_widget_get_next_sibling(w);
                if (!next)
                    w = gtk_widget_get_parent(w);
            }
            w = next;
        }
        g_assert_true(found);
        gtk_window_destroy(GTK_WINDOW(overlay));
        g_object_unref(overlay);
    } else {
        g_test_message("no display: the shortcuts window is not checked here");
    }

    /* the controller holds the new key for win.step(1) and not the old one */
    GtkEventController *ctrl = mimica_keys_controller_new(settings);
    GListModel *list = G_LIST_MODEL(ctrl);
    gboolean new_key = FALSE, old_key = FALSE;
    for (guint i = 0; i < g_list_model_get_n_items(list); i++) {
        g_autoptr(GtkShortcut) s = g_list_model_get_item(list, i);
        g_autofree char *trigger = gtk_shortcut_trigger_to_string(gtk_shortcut_get_trigger(s));
        GVariant *args = gtk_shortcut_get_arguments(s);
        GtkShortcutAction *action = gtk_shortcut_get_action(s);
        if (!GTK_IS_NAMED_ACTION(action) ||
            g_strcmp0(gtk_named_action_get_action_name(GTK_NAMED_ACTION(action)), "win.step") ||
            !args || g_variant_get_int32(args) != 1)
            continue;
        new_key |= g_str_equal(trigger, "<Shift>period");
        old_key |= g_str_equal(trigger, "Right");
    }
    g_assert_true(new_key);
    g_assert_false(old_key);
    g_object_unref(ctrl);

    mimica_keys_reset(settings, fwd);
    g_assert_true(mimica_keys_is_default(settings, fwd));
    g_autoptr(GVariant) empty = g_settings_get_value(settings, "key-bindings");
    g_assert_cmpuint(g_variant_n_children(empty), ==, 0);
}

int main(int argc, char **argv)
{
    /* the schema of the build folder, kept in memory */
    g_autofree char *schemas = g_build_filename(g_getenv("MIMICA_BUILD_DIR") ?: ".", "data", NULL);
    g_setenv("GSETTINGS_SCHEMA_DIR", schemas, TRUE);
    g_setenv("GSETTINGS_BACKEND", "memory", TRUE);
    g_setenv("GTK_A11Y", "none", FALSE); /* no session bus here */
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ui/key-bindings", test_key_bindings);
    tmp_dir = g_dir_make_tmp("mimica-ui-model-XXXXXX", NULL);
    g_test_add_func("/ui-model/labels-edges-disagreements", test_labels_edges_disagreements);
    g_test_add_func("/ui-model/finetune-metrics", test_finetune_metrics);
    g_test_add_func("/ui-model/window-query-100k", test_window_query_100k);
    g_test_add_func("/ui/pose-projection", test_pose_projection);
    int rc = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmp_dir);
    (void)system(cmd);
    return rc;
}
