/* mim-pose.c: placeholder, being written. */
#include "mim-pose.h"
