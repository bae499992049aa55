/* mim-geometry.c: placeholder, being written. */
#include "mim-geometry.h"
