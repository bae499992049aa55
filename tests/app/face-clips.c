/* face-clips.c: placeholder, being written. */
#include "face-clips.h"
