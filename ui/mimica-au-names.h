/* mimica-au-names.h: FACS action unit names, translated. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "Lip Corner Puller" for 12 (translated); "" for an AU without a name here. */
const char *mimica_au_name(int au);
/* "AU 12 Lip Corner Puller": the accessible name of everything about one AU. Free it. */
char *mimica_au_dup_title(int au);

G_END_DECLS
