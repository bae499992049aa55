/* mimica-au-names.c: FACS action unit names (Ekman, Friesen and Hager 2002). */
#include "mimica-au-names.h"

#include <glib/gi18n.h>

static const struct {
    int au;
    const char *name;
} names[] = {
    {1, N_("Inner Brow Raiser")},
    {2, N_("Outer Brow Raiser")},
    {4, N_("Brow Lowerer")},
    {5, N_("Upper Lid Raiser")},
    {6, N_("Cheek Raiser")},
    {7, N_("Lid Tightener")},
    {9, N_("Nose Wrinkler")},
    {10, N_("Upper Lip Raiser")},
    {11, N_("Nasolabial Deepener")},
    {12, N_("Lip Corner Puller")},
    {13, N_("Cheek Puffer")},
    {14, N_("Dimpler")},
    {15, N_("Lip Corner Depressor")},
    {16, N_("Lower Lip Depressor")},
    {17, N_("Chin Raiser")},
    {18, N_("Lip Puckerer")},
    {20, N_("Lip Stretcher")},
    {22, N_("Lip Funneler")},
    {23, N_("Lip Tightener")},
    {24, N_("Lip Pressor")},
    {25, N_("Lips Part")},
    {26, N_("Jaw Drop")},
    {27, N_("Mouth Stretch")},
    {28, N_("Lip Suck")},
    {43, N_("Eyes Closed")},
    {45, N_("Blink")},
    {46, N_("Wink")},
};

const char *mimica_au_name(int au)
{
    for (guint i = 0; i < G_N_ELEMENTS(names); i++)
        if (names[i].au == au)
            return _(names[i].name);
    return "";
}

char *mimica_au_dup_title(int au)
{
    const char *name = mimica_au_name(au);
    /* TRANSLATORS: "AU 12 Lip Corner Puller" */
    return *name ? g_strdup_printf(_("AU %d %s"), au, name) : g_strdup_printf(_("AU %d"), au);
}
