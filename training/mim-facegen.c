/* mim-facegen.c: placeholder, being written. */
#include "mim-facegen.h"
