/* cli-fixture.h: the fixture of the tests that run mimica-cli on clips of the face fixtures
 * (test-analysis, test-crash-analysis, test-crash-finetune, test-crash-import): a temporary
 * folder (removed with everything in it), the CLI of this build and the ../shared folder. */
#pragma once

#include <glib.h>

typedef struct {
    char *dir;    /* a new temporary folder */
    char *cli;    /* $MIMICA_BUILD_DIR/app/cli/mimica-cli, or NULL */
    char *shared; /* $MIMICA_SHARED_DIR, or NULL */
} CliFixture;

/* NAME names the temporary folder (mimica-NAME-XXXXXX). */
void cli_fixture_init(CliFixture *f, const char *name);
void cli_fixture_clear(CliFixture *f);
/* FALSE when the test cannot run: the CLI is missing (skipped) or the face fixtures are
 * (skipped, or a failure under CI=true). */
gboolean cli_fixture_ready(CliFixture *f);
/* Removes a file, or a folder with everything in it. */
void cli_rm_rf(const char *path);
/* Starts the CLI with ARGS (NULL-terminated, without the program), output discarded, not
 * reaped: for tests that kill it. */
GPid cli_spawn(CliFixture *f, const char *const *args);
/* Waits for PID: its exit status, or 128 + the signal that ended it. */
int cli_wait_status(GPid pid);

/* A labelled project at PROJECT (built in-process): a clip of a real face (N_FRAMES frames, AVI,
 * in the fixture's folder as NAME.avi) whose expression changes every 5 frames (AU 1+2, AU 12,
 * neutral), analysed with the geometry estimator, and its first N_LABELLED frames labelled
 * present/absent for AUs 1, 2 and 12 from the generator's truth, by annotator "truth". FALSE:
 * the test was skipped (no encoder for the clip). Needs face-clips.c linked in. */
gboolean cli_make_labelled_project(CliFixture *f, const char *project, const char *name,
                                   int n_frames, int n_labelled);
/* Copies a file whole (g_assert on failure). */
void cli_copy_file(const char *from, const char *to);
/* Removes PROJECT and its -wal, -shm and -journal files. */
void cli_remove_project(const char *project);
/* SHA-256 of a file's bytes (hex, to free), or NULL when it cannot be read. */
char *cli_file_checksum(const char *path);
/* TRUE if PATH is a model file that loads whole (on the ref backend); else FALSE with why. */
gboolean cli_model_loads(const char *path, char *err, size_t err_size);
