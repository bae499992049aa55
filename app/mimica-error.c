/* mimica-error.c: the application core's general error domain. */
#include "mimica-error.h"

GQuark mimica_error_quark(void)
{
    return g_quark_from_static_string("mimica-error-quark");
}
