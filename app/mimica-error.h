/* mimica-error.h: the application core's general error domain. Modules with errors of their
 * own (store, media) define their own quark beside their code. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MIMICA_ERROR (mimica_error_quark())

typedef enum {
    MIMICA_ERROR_FAILED,
    MIMICA_ERROR_INVALID_ARGUMENT,
    MIMICA_ERROR_NOT_FOUND,
    MIMICA_ERROR_CORRUPT,
    MIMICA_ERROR_IO,
    MIMICA_ERROR_UNSUPPORTED,
} MimicaError;

GQuark mimica_error_quark(void);

G_END_DECLS
