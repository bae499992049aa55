/* mim-version.c: the engine's version string, from the meson project. */
#include "mim-version.h"

#include "mimica-config.h"

const char *mim_version(void)
{
    return MIMICA_VERSION;
}
