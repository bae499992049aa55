/* test-version.c: the engine library links and reports the project's version. */
#include "mim-version.h"
#include "mim-test.h"
#include "mimica-config.h"

static void test_version_matches_project(void)
{
    MT_CHECK(strcmp(mim_version(), MIMICA_VERSION) == 0);
    MT_NOTE("engine version %s", mim_version());
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_version_matches_project);
    return mt_done();
}
