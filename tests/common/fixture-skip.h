/* fixture-skip.h: for the GTest suites, a test whose ../shared fixtures (face photos, golden
 * export) are missing is skipped, except under CI=true, where it fails: CI must test what the
 * fixtures check. (The plain-C suites have MT_SKIP_FIXTURES in mim-test.h.) */
#pragma once

#include <glib.h>

static inline void mimica_test_skip_fixtures(const char *why)
{
    if (g_strcmp0(g_getenv("CI"), "true") == 0)
        g_error("CI=true and a fixture is missing: %s", why);
    g_test_skip(why);
}
