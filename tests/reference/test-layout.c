/* test-layout.c: the weight layout (MODEL.md §3, §11) against the parameter counts of the spec
 * and against the reference export's weights_init.index.txt; the PyTorch-default initialisation
 * bounds, checked on our own draws and on the reference's weights (which validates fan_in). */
#include <float.h>

#include "aunet/mim-aunet-layout.h"
#include "golden.h"
#include "mim-test.h"

static size_t module_params(const mim_aunet_layout *l, mim_aunet_module m, int trainable)
{
    size_t n = 0;
    for (int i = 0; i < l->n_params; i++)
        if (l->params[i].module == m && l->params[i].trainable == trainable)
            n += l->params[i].numel;
    return n;
}

static void test_counts(void)
{
    /* MODEL.md §3 / §9 */
    static const size_t want[MIM_AUNET_N_MODULES] = {65956,  175989, 147716, 370245, 175989, 524805,
                                                     524805, 888984, 8320,   8320,   8320};
    mim_aunet_layout *l = mim_aunet_layout_new(6, 49);
    MT_CHECK(l != NULL);
    if (!l)
        return;
    size_t total = 0, buffers = 0;
    for (int m = 0; m < MIM_AUNET_N_MODULES; m++) {
        size_t got = module_params(l, (mim_aunet_module)m, 1);
        if (got != want[m])
            MT_FAIL("%s: %zu params, MODEL.md says %zu", mim_aunet_module_name(m), got, want[m]);
        total += got;
        buffers += module_params(l, (mim_aunet_module)m, 0);
    }
    MT_CHECK_INT(total, 2899449);
    MT_CHECK_INT(buffers, 2688);
    MT_CHECK_INT(l->n_floats, 2902137);
    size_t slot_sum = 0;
    for (int i = 0; i < l->n_slots; i++)
        slot_sum += l->slots[i].numel;
    MT_CHECK_INT(slot_sum, l->n_floats);
    MT_NOTE("6 AUs: %d params, %d slots, %zu trainable + %zu buffer floats", l->n_params,
            l->n_slots, total, buffers);
    mim_aunet_layout_free(l);

    l = mim_aunet_layout_new(12, 49);
    MT_CHECK(l && module_params(l, MIM_AUNET_FAU, 1) == 1777968);
    mim_aunet_layout_free(l);
    MT_CHECK(mim_aunet_layout_new(0, 49) == NULL);
    MT_CHECK(mim_aunet_layout_new(6, 0) == NULL);
}

/* Every slot covers its param exactly once. */
static void test_slots_tile_params(void)
{
    mim_aunet_layout *l = mim_aunet_layout_new(3, 49);
    if (!l) {
        MT_FAIL("layout");
        return;
    }
    size_t max_n = 0;
    for (int p = 0; p < l->n_params; p++)
        max_n = l->params[p].numel > max_n ? l->params[p].numel : max_n;
    unsigned char *seen = calloc(max_n, 1);
    for (int p = 0; p < l->n_params; p++) {
        memset(seen, 0, max_n);
        for (int s = 0; s < l->n_slots; s++) {
            if (l->slots[s].param != p)
                continue;
            for (size_t j = 0; j < l->slots[s].numel; j++) {
                size_t k = l->slots[s].offset + j;
                if (k >= l->params[p].numel || seen[k]++) {
                    MT_FAIL("slot %s overflows or overlaps param %s", l->slots[s].name,
                            l->params[p].name);
                    break;
                }
            }
        }
        for (size_t k = 0; k < l->params[p].numel; k++)
            if (!seen[k]) {
                MT_FAIL("param %s: float %zu in no slot", l->params[p].name, k);
                break;
            }
    }
    free(seen);
    mim_aunet_layout_free(l);
}

static void test_init_bounds(void)
{
    mim_aunet_layout *l = mim_aunet_layout_new(6, 49);
    float **p = calloc((size_t)l->n_params, sizeof *p);
    for (int i = 0; i < l->n_params; i++)
        p[i] = malloc(l->params[i].numel * sizeof(float));
    mim_rng rng;
    mim_rng_seed(&rng, 7);
    mim_aunet_layout_init(l, &rng, p);
    double worst_ratio = 0, min_ratio = 1;
    for (int i = 0; i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        const mim_aunet_param *q = &l->params[s->param];
        const float *d = p[s->param] + s->offset;
        if (q->kind == MIM_AUNET_CONV_W || q->kind == MIM_AUNET_CONV_B) {
            double bound = 1.0 / sqrt(q->fan_in), mx = 0;
            for (size_t j = 0; j < s->numel; j++)
                mx = fmax(mx, fabs(d[j]));
            worst_ratio = fmax(worst_ratio, mx / bound);
            if (s->numel >= 1000)
                min_ratio = fmin(min_ratio, mx / bound);
        } else {
            float want = q->kind == MIM_AUNET_BN_W || q->kind == MIM_AUNET_BN_VAR ? 1.0f
                         : q->kind == MIM_AUNET_PRELU                             ? 0.25f
                                                                                  : 0.0f;
            for (size_t j = 0; j < s->numel; j++)
                if (d[j] != want) {
                    MT_FAIL("%s[%zu] = %g, want %g", s->name, j, d[j], want);
                    break;
                }
        }
    }
    MT_CHECK(worst_ratio <= 1.0);
    MT_CHECK(min_ratio > 0.99);
    MT_NOTE("seed 7: max |w| / bound over all conv slots %.6f (<= 1), min over slots of >= 1000 "
            "floats %.6f (> 0.99)",
            worst_ratio, min_ratio);
    /* same seed, same weights */
    mim_rng_seed(&rng, 7);
    float first = p[0][0];
    mim_aunet_layout_init(l, &rng, p);
    MT_CHECK(p[0][0] == first);
    for (int i = 0; i < l->n_params; i++)
        free(p[i]);
    free(p);
    mim_aunet_layout_free(l);
}

static void test_golden_index(void)
{
    golden g;
    char why[512];
    int rc = golden_open(&g, why, sizeof why);
    if (rc == 1)
        MT_SKIP("%.200s", why);
    if (rc) {
        MT_FAIL("%s", why);
        return;
    }
    mim_aunet_layout *l = mim_aunet_layout_new(6, 49);
    int n = 0;
    golden_weight *w = golden_read_weight_index(&g, "init", &n, why, sizeof why);
    MT_CHECK(w != NULL);
    if (!w) {
        MT_FAIL("%s", why);
        golden_close(&g);
        mim_aunet_layout_free(l);
        return;
    }
    MT_CHECK_INT(n, l->n_slots);
    int bad = 0;
    for (int i = 0; i < n && i < l->n_slots; i++) {
        const mim_aunet_slot *s = &l->slots[i];
        int same = !strcmp(w[i].name, s->name) && w[i].offset == s->file_offset &&
                   w[i].numel == s->numel && w[i].n_dim == s->n_dim;
        for (int d = 0; same && d < s->n_dim; d++)
            same = w[i].shape[d] == s->shape[d];
        if (!same && bad++ < 5)
            MT_FAIL("slot %d: ours %s @%zu (%zu), reference %s @%zu (%zu)", i, s->name,
                    s->file_offset, s->numel, w[i].name, w[i].offset, w[i].numel);
    }
    MT_NOTE("%d reference index lines, %d differ from our layout", n, bad);

    /* the reference's initial weights lie within our bounds (validates fan_in) */
    size_t numel = 0;
    float *flat = golden_read_f32(&g, "weights_init", &numel, why, sizeof why);
    MT_CHECK(flat != NULL && numel == l->n_floats);
    if (flat && numel == l->n_floats) {
        float **p = calloc((size_t)l->n_params, sizeof *p);
        for (int i = 0; i < l->n_params; i++)
            p[i] = malloc(l->params[i].numel * sizeof(float));
        mim_aunet_layout_scatter(l, flat, p);
        double worst = 0, min_big = 1;
        for (int i = 0; i < l->n_slots; i++) {
            const mim_aunet_slot *s = &l->slots[i];
            const mim_aunet_param *q = &l->params[s->param];
            if (q->kind != MIM_AUNET_CONV_W && q->kind != MIM_AUNET_CONV_B)
                continue;
            double mx = 0;
            for (size_t j = 0; j < s->numel; j++)
                mx = fmax(mx, fabs(p[s->param][s->offset + j]));
            double r = mx * sqrt(q->fan_in);
            worst = fmax(worst, r);
            if (s->numel >= 1000)
                min_big = fmin(min_big, r);
        }
        MT_CHECK(worst <= 1.0 + 1e-6);
        MT_CHECK(min_big > 0.99);
        MT_NOTE("reference init: max |w|·sqrt(fan_in) = %.6f (<= 1), min over big slots %.6f",
                worst, min_big);
        float *back = malloc(numel * sizeof(float));
        mim_aunet_layout_gather(l, (const float *const *)p, back);
        MT_CHECK(!memcmp(back, flat, numel * sizeof(float)));
        free(back);
        for (int i = 0; i < l->n_params; i++)
            free(p[i]);
        free(p);
    } else {
        MT_FAIL("%s", why);
    }
    free(flat);
    free(w);
    golden_close(&g);
    mim_aunet_layout_free(l);
}

int main(int argc, char **argv)
{
    mt_init(argc, argv);
    MT_RUN(test_counts);
    MT_RUN(test_slots_tile_params);
    MT_RUN(test_init_bounds);
    MT_RUN(test_golden_index);
    return mt_done();
}
