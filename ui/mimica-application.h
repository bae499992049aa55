/* mimica-application.h: the GtkApplication of the `mimica` program. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define MIMICA_TYPE_APPLICATION (mimica_application_get_type())
G_DECLARE_FINAL_TYPE(MimicaApplication, mimica_application, MIMICA, APPLICATION, AdwApplication)

MimicaApplication *mimica_application_new(void);
GSettings *mimica_application_get_settings(MimicaApplication *self);

G_END_DECLS
