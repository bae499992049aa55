/* cli-fixture.h: the fixture of the tests that run mimica-cli on clips of the face fixtures
 * (test-analysis, test-crash-analysis, test-crash-finetune): a temporary folder (removed with
 * everything in it), the CLI of this build and the ../shared folder. */
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
