/* mimica-au-model.c: see mimica-au-model.h. */
#include "mimica-au-model.h"

#include <gio/gio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aunet/mim-aunet.h"
#include "aunet/mim-safetensors.h"
#include "landmark/mim-geometry.h"
#include "mimica-config.h"
#include "mimica-error.h"

#define MODEL_DIR_ENV "MIMICA_MODEL_DIR"
#define DEFAULT_FILE  "default.safetensors"

struct _MimicaAuModel {
    gboolean network;
    char *name, *file, *provenance;
    int n_aus;
    int aus[128];
    float thresholds[128];
    /* network */
    int batch;      /* every inference runs at this batch size (one set of primitives) */
    float *scratch; /* (batch, 3, 176, 176) inputs of a padded last chunk */
    float *out;     /* (batch, n_aus) */
    mim_backend *be;
    mim_ctx *ctx;
    mim_aunet *net;
};

float mimica_au_intensity_from_prob(float p, float threshold)
{
    if (!(p >= threshold))
        return 0.0f; /* NaN too */
    float t = threshold < 1.0f ? threshold : 0.999f;
    return fminf(5.0f, 1.0f + 4.0f * (p - t) / (1.0f - t));
}

/* The bundled default model: $MIMICA_MODEL_DIR, the installed data folder, the source tree. */
static char *default_model_path(GError **error)
{
    const char *dirs[] = {g_getenv(MODEL_DIR_ENV), MIMICA_DATADIR "/models",
                          MIMICA_SOURCE_DATADIR "/models"};
    for (unsigned i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (!dirs[i] || !*dirs[i])
            continue;
        char *path = g_build_filename(dirs[i], DEFAULT_FILE, NULL);
        if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
            return path;
        g_free(path);
    }
    g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_NOT_FOUND,
                "no default AU network is installed (looked for %s in $%s, %s/models and "
                "%s/models); use --model geometry or a model file",
                DEFAULT_FILE, MODEL_DIR_ENV, MIMICA_DATADIR, MIMICA_SOURCE_DATADIR);
    return NULL;
}

static gboolean parse_aus(const char *list, int *aus, int *n, GError **error, const char *path)
{
    g_auto(GStrv) parts = g_strsplit(list ? list : "", ",", -1);
    *n = 0;
    for (char **p = parts; *p; p++) {
        gint64 v;
        if (*n >= 128 || !g_ascii_string_to_signed(g_strstrip(*p), 10, 1, 99, &v, NULL)) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                        "%s: au_list '%s' is not a list of AU numbers (1..99)", path, list);
            return FALSE;
        }
        aus[(*n)++] = (int)v;
    }
    if (*n == 0)
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s: the model lists no AUs", path);
    return *n > 0;
}

static gboolean open_network(MimicaAuModel *m, const char *path, const char *backend,
                             GError **error)
{
    char err[1024] = "";
    mim_st_file *f = NULL;
    mim_aunet_info info;
    if (mim_st_open(path, &f, err, sizeof err) || mim_aunet_file_info(f, &info, err, sizeof err)) {
        g_set_error(error, MIMICA_ERROR,
                    g_file_test(path, G_FILE_TEST_EXISTS) ? MIMICA_ERROR_CORRUPT
                                                          : MIMICA_ERROR_NOT_FOUND,
                    "%s", err);
        mim_st_close(f);
        return FALSE;
    }
    const char *thresholds = mim_st_meta(f, "au_thresholds");
    g_autofree char *thr = g_strdup(thresholds);
    mim_st_close(f);
    if (!parse_aus(info.au_list, m->aus, &m->n_aus, error, path))
        return FALSE;
    if (m->n_aus != info.n_au) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                    "%s: au_list names %d AUs, n_au says %d", path, m->n_aus, info.n_au);
        return FALSE;
    }
    for (int a = 0; a < m->n_aus; a++)
        m->thresholds[a] = 0.5f;
    if (thr) {
        g_auto(GStrv) parts = g_strsplit(thr, ",", -1);
        if (g_strv_length(parts) != (guint)m->n_aus) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                        "%s: au_thresholds has %u values for %d AUs", path, g_strv_length(parts),
                        m->n_aus);
            return FALSE;
        }
        for (int a = 0; a < m->n_aus; a++) {
            char *end;
            double t = g_ascii_strtod(g_strstrip(parts[a]), &end);
            if (*end || !(t > 0 && t < 1)) {
                g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT,
                            "%s: au_thresholds value '%s' is not in (0, 1)", path, parts[a]);
                return FALSE;
            }
            m->thresholds[a] = (float)t;
        }
    }
    mim_status st;
    m->be = mim_backend_open(backend, &st, err, sizeof err);
    if (!m->be) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s", err);
        return FALSE;
    }
    m->ctx = mim_ctx_new(m->be);
    if (!m->ctx || (st = mim_aunet_new(m->ctx, info.n_au, info.n_land, 0, &m->net)) != MIM_OK) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "%s: cannot make the network: %s",
                    path, m->ctx ? mim_ctx_last_error(m->ctx) : "out of memory");
        return FALSE;
    }
    if ((st = mim_aunet_load(m->net, path, &info)) != MIM_OK) {
        g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_CORRUPT, "%s", mim_aunet_last_error(m->net));
        return FALSE;
    }
    m->provenance = g_strdup(info.provenance);
    return TRUE;
}

MimicaAuModel *mimica_au_model_open(const char *spec, const char *backend, GError **error)
{
    if (!spec || !*spec)
        spec = MIMICA_AU_MODEL_GEOMETRY;
    MimicaAuModel *m = g_new0(MimicaAuModel, 1);
    if (strcmp(spec, MIMICA_AU_MODEL_GEOMETRY) == 0) {
        m->name = g_strdup(MIMICA_AU_MODEL_GEOMETRY);
        m->file = g_strdup(MIMICA_AU_MODEL_GEOMETRY);
        m->provenance = g_strdup("");
        m->n_aus = MIM_GEOM_N_AU;
        for (int a = 0; a < m->n_aus; a++) {
            m->aus[a] = mim_geom_au_ids[a];
            m->thresholds[a] = 0.5f; /* the presence score's own threshold */
        }
        return m;
    }
    g_autofree char *path = NULL;
    if (strcmp(spec, MIMICA_AU_MODEL_DEFAULT) == 0) {
        path = default_model_path(error);
        if (!path) {
            mimica_au_model_free(m);
            return NULL;
        }
    } else {
        g_autoptr(GFile) file = g_file_new_for_commandline_arg(spec);
        path = g_file_get_path(file);
    }
    m->network = TRUE;
    m->batch = 8;
    m->file = g_strdup(path);
    m->name = g_path_get_basename(path);
    if (!open_network(m, path, backend, error)) {
        mimica_au_model_free(m);
        return NULL;
    }
    return m;
}

void mimica_au_model_free(MimicaAuModel *m)
{
    if (!m)
        return;
    g_free(m->scratch);
    g_free(m->out);
    mim_aunet_free(m->net);
    mim_ctx_free(m->ctx);
    mim_backend_free(m->be);
    g_free(m->name);
    g_free(m->file);
    g_free(m->provenance);
    g_free(m);
}

gboolean mimica_au_model_is_network(const MimicaAuModel *m)
{
    return m->network;
}

const char *mimica_au_model_get_name(const MimicaAuModel *m)
{
    return m->name;
}

const char *mimica_au_model_get_file(const MimicaAuModel *m)
{
    return m->file;
}

int mimica_au_model_get_n_aus(const MimicaAuModel *m)
{
    return m->n_aus;
}

const int *mimica_au_model_get_aus(const MimicaAuModel *m)
{
    return m->aus;
}

const float *mimica_au_model_get_thresholds(const MimicaAuModel *m)
{
    return m->thresholds;
}

const char *mimica_au_model_get_backend(const MimicaAuModel *m)
{
    return m->be ? mim_backend_name(m->be) : "";
}

const char *mimica_au_model_get_provenance(const MimicaAuModel *m)
{
    return m->provenance ? m->provenance : "";
}

char *mimica_au_model_metrics_json(const MimicaAuModel *m)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "{\"kind\": \"%s\", \"thresholds\": [",
                           m->network ? "network" : "geometry");
    for (int a = 0; a < m->n_aus; a++) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf(s, "%s%s", a ? ", " : "",
                               g_ascii_formatd(buf, sizeof buf, "%.4g", m->thresholds[a]));
    }
    g_string_append(s, "]}");
    return g_string_free(s, FALSE);
}

void mimica_au_model_set_batch(MimicaAuModel *m, int batch)
{
    g_return_if_fail(batch >= 1);
    if (batch == m->batch)
        return;
    m->batch = batch;
    g_clear_pointer(&m->scratch, g_free);
    g_clear_pointer(&m->out, g_free);
}

int mimica_au_model_get_batch(const MimicaAuModel *m)
{
    return m->batch;
}

gboolean mimica_au_model_infer(MimicaAuModel *m, const float *chw, int n, float *prob,
                               GError **error)
{
    g_return_val_if_fail(m->network, FALSE);
    const gsize crop = 3 * MIM_AUNET_CROP * MIM_AUNET_CROP;
    if (!m->scratch) {
        m->scratch = g_malloc0((gsize)m->batch * crop * sizeof(float));
        m->out = g_malloc((gsize)m->batch * m->n_aus * sizeof(float));
    }
    /* whole batches of the model's size: a backend plans (oneDNN: creates primitives) per
     * shape, so a varying last batch would cost a new plan each time; the last chunk is padded
     * with zeros (samples do not mix in eval mode: batch norm uses running statistics) */
    for (int i = 0; i < n; i += m->batch) {
        int k = MIN(m->batch, n - i);
        memcpy(m->scratch, chw + (gsize)i * crop, (gsize)k * crop * sizeof(float));
        if (k < m->batch)
            memset(m->scratch + (gsize)k * crop, 0, (gsize)(m->batch - k) * crop * sizeof(float));
        mim_status st = mim_aunet_infer(m->net, m->scratch, m->batch, MIM_AUNET_PATH_TARGET, m->out,
                                        NULL, NULL);
        if (st != MIM_OK) {
            g_set_error(error, MIMICA_ERROR, MIMICA_ERROR_FAILED, "AU network on %s: %s (%s)",
                        mim_backend_name(m->be), mim_ctx_last_error(m->ctx), mim_status_str(st));
            return FALSE;
        }
        memcpy(prob + (gsize)i * m->n_aus, m->out, (gsize)k * m->n_aus * sizeof(float));
    }
    return TRUE;
}
