/* mimica-keys.h: the key bindings of the window: one table of actions with their default
 * accelerators, the user's changes in GSettings (key "key-bindings", a dictionary of binding id
 * -> accelerators separated by spaces, only where they differ from the default), conflicts, and
 * what applies them: the window's shortcut controller, the application's accelerators and the
 * shortcuts window. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
    const char *id;       /* key in the key-bindings dictionary */
    const char *action;   /* detailed action name, e.g. "win.step(1)" */
    const char *defaults; /* default accelerators, separated by spaces */
    const char *group;    /* untranslated (N_) */
    const char *title;    /* untranslated (N_); a printf format where arg is set */
    const char *arg;      /* "%s" argument of the title, or NULL */
    gboolean global;      /* an application accelerator (works in every window of the app) */
    const char *summary;  /* untranslated (N_): one line for a family in the shortcuts window */
} MimicaKeyBinding;

guint mimica_keys_get_n(void);
const MimicaKeyBinding *mimica_keys_get(guint i);
const MimicaKeyBinding *mimica_keys_lookup(const char *id);
/* The translated title of B. */
char *mimica_keys_dup_title(const MimicaKeyBinding *b);
/* The current accelerators of B (SETTINGS may be NULL: the defaults), normalised; owned. */
char **mimica_keys_dup_accels(GSettings *settings, const MimicaKeyBinding *b);
gboolean mimica_keys_is_default(GSettings *settings, const MimicaKeyBinding *b);
/* The binding other than EXCEPT whose current accelerators include ACCEL, or NULL. */
const MimicaKeyBinding *mimica_keys_find_conflict(GSettings *settings, const char *accel,
                                                  const MimicaKeyBinding *except);
/* Gives B the one accelerator ACCEL. Fails with G_IO_ERROR_EXISTS (a message naming the action
 * that has it) on a conflict, G_IO_ERROR_INVALID_ARGUMENT if ACCEL is not an accelerator, and
 * G_IO_ERROR_NOT_SUPPORTED without SETTINGS. */
gboolean mimica_keys_set(GSettings *settings, const MimicaKeyBinding *b, const char *accel,
                         GError **error);
/* Back to the default accelerators. */
void mimica_keys_reset(GSettings *settings, const MimicaKeyBinding *b);
/* The accelerator of a key press (keyval and modifier state), normalised; NULL for a press of a
 * modifier alone. */
char *mimica_keys_accel_from_event(guint keyval, GdkModifierType state);

/* A capture-phase shortcut controller with every binding that is not global. */
GtkEventController *mimica_keys_controller_new(GSettings *settings);
/* Sets the global bindings as the application's accelerators. */
void mimica_keys_apply_global(GtkApplication *app, GSettings *settings);
/* A GtkShortcutsWindow listing every binding with its current accelerators (a full ref). */
GtkWidget *mimica_keys_shortcuts_window_new(GSettings *settings);

G_END_DECLS
