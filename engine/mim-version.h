/* mim-version.h: the engine's version. */
#pragma once

const char *mim_version(void);
