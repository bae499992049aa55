/* main.c: the `mimica` program. */
#include <glib/gi18n.h>
#include <locale.h>

#include "jobs/mimica-threads.h"
#include "mimica-application.h"
#include "mimica-config.h"

int main(int argc, char **argv)
{
    /* a compute job leaves one core to playback and the UI; OpenMP's idle workers sleep instead
     * of spinning (may execute the program again, so it comes first) */
    mimica_threads_wait_passively(argv);
    mimica_threads_set_reserved(1);
    setlocale(LC_ALL, "");
    /* MIMICA_LOCALEDIR: the catalogs of a build folder (<build>/po), for the ui tests */
    const char *localedir = g_getenv("MIMICA_LOCALEDIR");
    bindtextdomain(GETTEXT_PACKAGE, localedir && *localedir ? localedir : MIMICA_LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    g_autoptr(MimicaApplication) app = mimica_application_new();
    return g_application_run(G_APPLICATION(app), argc, argv);
}
