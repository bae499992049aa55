/* mimica-error.c: the application core's general error domain. */
#include "mimica-error.h"

G_DEFINE_QUARK(mimica-error-quark, mimica_error)
