/* test-cuda-ops.c: every entry of the CUDA backend's table against the reference backend's on
 * the same seeded inputs, forward and backward (backwards accumulate into non-zero gradients, so
 * the += contract is checked too). Each comparison prints max |err| normalised by max(1, max|ref|)
 * and its per-op bound. Also: mixed precision convolutions (bf16, fp16) within their looser
 * bounds, and deterministic mode giving bit-identical results twice. Without a GPU every test
 * skips with "no CUDA device: <reason>". Seed: MIMICA_TEST_SEED. */
#include "cuda-test.h"

/* Per-op bounds (normalised max error, fp32 unless said). */
#define TOL_EXACT 1e-6 /* elementwise: same formula, at most an ulp or two apart */
#define TOL_SUM   1e-5 /* reductions in another order */
#define TOL_CONV  2e-4 /* cuDNN's algorithms (implicit GEMM, Winograd, FFT) vs im2col GEMM */
#define TOL_NORM  1e-4 /* batch / instance norm (statistics in another order) */
#define TOL_HALF  3e-2 /* bf16 / fp16 convolution inputs, fp32 accumulation */

static void conv_case(const mim_conv_shape *s, const char *name, double tol)
{
    size_t nx = (size_t)s->n * s->c_in * s->h_in * s->w_in;
    size_t ny = (size_t)s->n * s->c_out * s->h_out * s->w_out;
    size_t nw = (size_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
    ct_buf x = ct_new(nx, CT_SYM), w = ct_new(nw, CT_SYM), b = ct_new(s->c_out, CT_SYM);
    ct_buf y = ct_new(ny, CT_ZERO), dy = ct_new(ny, CT_SYM);
    ct_buf dx = ct_new(nx, CT_SYM), dw = ct_new(nw, CT_SYM), db = ct_new(s->c_out, CT_SYM);
    char what[96];
    CT_BOTH(conv2d_forward, s, P(y), P(x), P(w), P(b));
    snprintf(what, sizeof what, "conv %s forward", name);
    ct_cmp(what, &y, tol);
    CT_BOTH(conv2d_forward, s, P(y), P(x), P(w), NULL);
    snprintf(what, sizeof what, "conv %s forward, no bias", name);
    ct_cmp(what, &y, tol);
    CT_BOTH(conv2d_backward_data, s, P(dx), P(dy), P(w));
    snprintf(what, sizeof what, "conv %s backward-data (+=)", name);
    ct_cmp(what, &dx, tol);
    CT_BOTH(conv2d_backward_weights, s, P(dw), P(db), P(x), P(dy));
    snprintf(what, sizeof what, "conv %s backward-weights (+=)", name);
    ct_cmp(what, &dw, tol);
    snprintf(what, sizeof what, "conv %s backward-bias (+=)", name);
    ct_cmp(what, &db, TOL_SUM);
    ct_free(&x), ct_free(&w), ct_free(&b), ct_free(&y), ct_free(&dy), ct_free(&dx);
    ct_free(&dw), ct_free(&db);
}

static const mim_conv_shape conv_shapes[] = {
    /* n c_in h w   c_out h_out w_out  k_h k_w s_h s_w p_h p_w groups */
    {2, 8, 12, 12, 16, 12, 12, 3, 3, 1, 1, 1, 1, 1}, /* 3x3 same (encoders) */
    {2, 8, 12, 12, 8, 6, 6, 4, 4, 2, 2, 1, 1, 1},    /* 4x4 stride 2 (Ds/Dt) */
    {2, 8, 10, 10, 8, 10, 10, 3, 3, 1, 1, 1, 1, 4},  /* grouped (fused Fau) */
    {1, 16, 5, 5, 4, 5, 5, 1, 1, 1, 1, 0, 0, 1},     /* 1x1 (projectors) */
    {2, 16, 5, 5, 8, 1, 1, 4, 4, 2, 2, 0, 0, 1},     /* 4x4 valid to 1x1 (Ds last) */
};
static const char *const conv_names[] = {"3x3/1/1", "4x4/2/1", "3x3 groups 4", "1x1",
                                         "4x4/2/0 to 1x1"};

static void test_conv(void)
{
    CT_NEED_CUDA();
    for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++)
        conv_case(&conv_shapes[i], conv_names[i], TOL_CONV);
}

static void test_conv_mixed(void)
{
    CT_NEED_CUDA();
#if MIM_HAVE_CUDA
    static const mim_cuda_precision precs[] = {MIM_CUDA_TF32, MIM_CUDA_BF16, MIM_CUDA_FP16};
    for (size_t p = 0; p < 3; p++) {
        MT_CHECK(mim_cuda_set_precision(ct_cu, precs[p]) == MIM_OK);
        MT_NOTE("precision %s", mim_cuda_precision_name(precs[p]));
        for (size_t i = 0; i < 3; i++) {
            char name[64];
            snprintf(name, sizeof name, "%s %s", conv_names[i], mim_cuda_precision_name(precs[p]));
            conv_case(&conv_shapes[i], name, TOL_HALF);
        }
    }
    MT_CHECK(mim_cuda_set_precision(ct_cu, MIM_CUDA_FP32) == MIM_OK);
#endif
}

static void test_batchnorm(void)
{
    CT_NEED_CUDA();
    const int n = 3, c = 6, hw = 50;
    size_t nx = (size_t)n * c * hw;
    for (int affine = 0; affine < 2; affine++) {
        ct_buf x = ct_new(nx, CT_SYM), y = ct_new(nx, CT_ZERO), g = ct_new(c, CT_POS);
        ct_buf be = ct_new(c, CT_SYM), rm = ct_new(c, CT_SYM), rv = ct_new(c, CT_POS);
        ct_buf sm = ct_new(c, CT_ZERO), si = ct_new(c, CT_ZERO), dy = ct_new(nx, CT_SYM);
        ct_buf dx = ct_new(nx, CT_SYM), dg = ct_new(c, CT_SYM), db = ct_new(c, CT_SYM);
        const float *gp[2] = {affine ? g.h : NULL, affine ? g.d : NULL};
        const float *bp[2] = {affine ? be.h : NULL, affine ? be.d : NULL};
        MT_NOTE("batch norm, %s", affine ? "affine" : "no affine");
        CT_BOTH(batchnorm_forward, n, c, hw, 1e-5f, 0.1f, 1, P(y), P(x), gp[ct_side], bp[ct_side],
                P(rm), P(rv), P(sm), P(si));
        ct_cmp("bn train forward y", &y, TOL_NORM);
        ct_cmp("bn train save_mean", &sm, TOL_NORM);
        ct_cmp("bn train save_invstd", &si, TOL_NORM);
        ct_cmp("bn train running mean", &rm, TOL_NORM);
        ct_cmp("bn train running var (unbiased)", &rv, TOL_NORM);
        CT_BOTH(batchnorm_backward, n, c, hw, 1, P(dx), P(dg), P(db), P(dy), P(x), gp[ct_side],
                P(sm), P(si));
        ct_cmp("bn train backward dx (+=)", &dx, TOL_NORM);
        ct_cmp("bn train backward dgamma (+=)", &dg, TOL_NORM);
        ct_cmp("bn train backward dbeta (+=)", &db, TOL_NORM);
        /* only some gradients wanted */
        CT_BOTH(batchnorm_backward, n, c, hw, 1, NULL, P(dg), NULL, P(dy), P(x), gp[ct_side], P(sm),
                P(si));
        ct_cmp("bn train backward dgamma only", &dg, TOL_NORM);
        CT_BOTH(batchnorm_forward, n, c, hw, 1e-5f, 0.1f, 0, P(y), P(x), gp[ct_side], bp[ct_side],
                P(rm), P(rv), P(sm), P(si));
        ct_cmp("bn eval forward y", &y, TOL_NORM);
        ct_cmp("bn eval save_invstd", &si, TOL_NORM);
        CT_BOTH(batchnorm_backward, n, c, hw, 0, P(dx), P(dg), P(db), P(dy), P(x), gp[ct_side],
                P(sm), P(si));
        ct_cmp("bn eval backward dx (+=)", &dx, TOL_NORM);
        ct_cmp("bn eval backward dgamma (+=)", &dg, TOL_NORM);
        ct_cmp("bn eval backward dbeta (+=)", &db, TOL_NORM);
        ct_free(&x), ct_free(&y), ct_free(&g), ct_free(&be), ct_free(&rm), ct_free(&rv);
        ct_free(&sm), ct_free(&si), ct_free(&dy), ct_free(&dx), ct_free(&dg), ct_free(&db);
    }
}

static void test_instancenorm(void)
{
    CT_NEED_CUDA();
    const int n = 2, c = 5, hw = 1936; /* 44x44 planes as in El, Eb, G, Dl */
    size_t nx = (size_t)n * c * hw;
    ct_buf x = ct_new(nx, CT_SYM), y = ct_new(nx, CT_ZERO), sm = ct_new(n * c, CT_ZERO);
    ct_buf si = ct_new(n * c, CT_ZERO), dy = ct_new(nx, CT_SYM), dx = ct_new(nx, CT_SYM);
    for (size_t i = 0; i < nx; i++) /* an offset per plane: the mean matters */
        x.h[i] += (float)(i / hw) * 0.25f;
    ct_cu->i->set(ct_cu, x.d, x.h, nx * sizeof(float));
    CT_BOTH(instancenorm_forward, n, c, hw, 1e-5f, P(y), P(x), P(sm), P(si));
    ct_cmp("instance norm forward", &y, TOL_NORM);
    ct_cmp("instance norm mean", &sm, TOL_NORM);
    ct_cmp("instance norm invstd", &si, TOL_NORM);
    CT_BOTH(instancenorm_backward, n, c, hw, P(dx), P(dy), P(x), P(sm), P(si));
    ct_cmp("instance norm backward (+=)", &dx, TOL_NORM);
    ct_free(&x), ct_free(&y), ct_free(&sm), ct_free(&si), ct_free(&dy), ct_free(&dx);
}

static void test_prelu_act(void)
{
    CT_NEED_CUDA();
    const int64_t n = 100003; /* not a multiple of the block size */
    ct_buf x = ct_new(n, CT_SYM), y = ct_new(n, CT_ZERO), dy = ct_new(n, CT_SYM);
    ct_buf dx = ct_new(n, CT_SYM), a = ct_new(1, CT_UNIT), da = ct_new(1, CT_SYM);
    CT_BOTH(prelu_forward, n, P(y), P(x), P(a));
    ct_cmp("prelu forward", &y, TOL_EXACT);
    CT_BOTH(prelu_backward, n, P(dx), P(da), P(dy), P(x), P(a));
    ct_cmp("prelu backward dx (+=)", &dx, TOL_EXACT);
    ct_cmp("prelu backward dslope (+=, sum)", &da, TOL_SUM);
    static const char *const names[] = {"relu", "tanh", "sigmoid"};
    for (int k = 0; k < 3; k++) {
        char what[64];
        CT_BOTH(act_forward, (mim_act)k, n, P(y), P(x));
        snprintf(what, sizeof what, "%s forward", names[k]);
        ct_cmp(what, &y, TOL_EXACT);
        CT_BOTH(act_backward, (mim_act)k, n, P(dx), P(dy), P(y));
        snprintf(what, sizeof what, "%s backward (+=)", names[k]);
        ct_cmp(what, &dx, TOL_EXACT);
    }
    ct_free(&x), ct_free(&y), ct_free(&dy), ct_free(&dx), ct_free(&a), ct_free(&da);
}

static void test_avgpool(void)
{
    CT_NEED_CUDA();
    static const mim_pool_shape shapes[] = {
        /* n c h_in w_in h_out w_out k_h k_w s_h s_w */
        {2, 3, 12, 12, 6, 6, 2, 2, 2, 2},   /* Ef */
        {2, 3, 44, 44, 11, 11, 4, 4, 4, 4}, /* projectors */
        {1, 2, 9, 9, 4, 4, 3, 3, 2, 2},     /* overlapping windows */
        {2, 4, 7, 5, 1, 1, 7, 5, 1, 1},     /* global */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const mim_pool_shape *s = &shapes[i];
        size_t nx = (size_t)s->n * s->c * s->h_in * s->w_in;
        size_t ny = (size_t)s->n * s->c * s->h_out * s->w_out;
        ct_buf x = ct_new(nx, CT_SYM), y = ct_new(ny, CT_ZERO), dy = ct_new(ny, CT_SYM);
        ct_buf dx = ct_new(nx, CT_SYM);
        char what[80];
        CT_BOTH(avgpool_forward, s, P(y), P(x));
        snprintf(what, sizeof what, "avgpool k%d s%d forward", s->k_h, s->stride_h);
        ct_cmp(what, &y, TOL_SUM);
        CT_BOTH(avgpool_backward, s, P(dx), P(dy));
        snprintf(what, sizeof what, "avgpool k%d s%d backward (+=)", s->k_h, s->stride_h);
        ct_cmp(what, &dx, TOL_SUM);
        ct_free(&x), ct_free(&y), ct_free(&dy), ct_free(&dx);
    }
}

static void test_softmax_channel_sum(void)
{
    CT_NEED_CUDA();
    const int64_t rows = 2 * 49, n = 1936;
    ct_buf x = ct_new(rows * n, CT_SYM), y = ct_new(rows * n, CT_ZERO);
    ct_buf dy = ct_new(rows * n, CT_SYM), dx = ct_new(rows * n, CT_SYM);
    for (int64_t i = 0; i < rows * n; i++)
        x.h[i] *= 8.f; /* peaked maps */
    ct_cu->i->set(ct_cu, x.d, x.h, rows * n * sizeof(float));
    CT_BOTH(softmax_forward, rows, n, P(y), P(x));
    ct_cmp("softmax over positions forward", &y, TOL_SUM);
    CT_BOTH(softmax_backward, rows, n, P(dx), P(dy), P(y));
    ct_cmp("softmax backward (+=)", &dx, TOL_SUM);
    /* channel sum of the 49 maps: (2,49,1936) -> (2,1,1936) */
    ct_buf a = ct_new(2 * n, CT_ZERO), da = ct_new(2 * n, CT_SYM);
    CT_BOTH(channel_sum_forward, 2, 49, n, P(a), P(y));
    ct_cmp("channel sum forward", &a, TOL_SUM);
    CT_BOTH(channel_sum_backward, 2, 49, n, P(dx), P(da));
    ct_cmp("channel sum backward (+=)", &dx, TOL_EXACT);
    ct_free(&x), ct_free(&y), ct_free(&dy), ct_free(&dx), ct_free(&a), ct_free(&da);
}

static void test_gemm(void)
{
    CT_NEED_CUDA();
    const int batch = 3, m = 121, n = 121, k = 64; /* InfoNCE score matrices */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bcast = 0; bcast < 2; bcast++) {
                ct_buf a = ct_new((size_t)batch * m * k, CT_SYM);
                ct_buf b = ct_new((size_t)batch * k * n, CT_SYM);
                ct_buf c = ct_new((size_t)batch * m * n, CT_SYM);
                int64_t sb = bcast ? 0 : (int64_t)k * n;
                char what[80];
                CT_BOTH(gemm, batch, ta, tb, m, n, k, 0.5f, P(a), (int64_t)m * k, P(b), sb, 1.f,
                        P(c), (int64_t)m * n);
                snprintf(what, sizeof what, "gemm ta %d tb %d%s beta 1", ta, tb,
                         bcast ? " b broadcast" : "");
                ct_cmp(what, &c, TOL_SUM);
                CT_BOTH(gemm, batch, ta, tb, m, n, k, 1.f, P(a), (int64_t)m * k, P(b), sb, 0.f,
                        P(c), (int64_t)m * n);
                snprintf(what, sizeof what, "gemm ta %d tb %d%s beta 0", ta, tb,
                         bcast ? " b broadcast" : "");
                ct_cmp(what, &c, TOL_SUM);
                ct_free(&a), ct_free(&b), ct_free(&c);
            }
}

static void test_elementwise(void)
{
    CT_NEED_CUDA();
    const int n = 2, c = 64, hw = 121;
    const int64_t ne = (int64_t)n * c * hw;
    ct_buf a = ct_new(ne, CT_SYM), b = ct_new(ne, CT_SYM), y = ct_new(ne, CT_SYM);
    ct_buf s = ct_new(1, CT_SYM), bias = ct_new(c, CT_SYM), db = ct_new(c, CT_SYM);
    ct_buf cat = ct_new((size_t)n * (c + 1) * hw, CT_SYM);
    CT_BOTH(axpby, ne, P(y), 0.7f, P(a), -1.3f, P(b));
    ct_cmp("axpby", &y, TOL_EXACT);
    CT_BOTH(axpby, ne, P(y), 2.f, P(a), 0.f, NULL);
    ct_cmp("axpby, b NULL", &y, TOL_EXACT);
    CT_BOTH(axpby, ne, P(y), 0.5f, P(y), 1.f, P(b));
    ct_cmp("axpby, y aliases a", &y, TOL_EXACT);
    CT_BOTH(mul, ne, P(y), P(a), P(b), 1);
    ct_cmp("mul (+=)", &y, TOL_EXACT);
    CT_BOTH(mul, ne, P(y), P(a), P(b), 0);
    ct_cmp("mul", &y, TOL_EXACT);
    CT_BOTH(add_scalar_grad, ne, P(y), 0.25f, P(s));
    ct_cmp("add_scalar_grad", &y, TOL_EXACT);
    CT_BOTH(bias_forward, n, c, hw, P(y), P(bias));
    ct_cmp("bias forward (+=)", &y, TOL_EXACT);
    CT_BOTH(bias_backward, n, c, hw, P(db), P(a));
    ct_cmp("bias backward (+=, sum)", &db, TOL_SUM);
    /* concat [1 channel, 64 channels] and its backward slices */
    CT_BOTH(channel_copy, n, c, hw, P(cat), c + 1, 1, P(a), c, 0, 0);
    CT_BOTH(channel_copy, n, 1, hw, P(cat), c + 1, 0, P(b), c, 5, 0);
    ct_cmp("channel copy (concat)", &cat, TOL_EXACT);
    CT_BOTH(channel_copy, n, c - 2, hw, P(y), c, 2, P(cat), c + 1, 3, 1);
    ct_cmp("channel copy (+=, slice)", &y, TOL_EXACT);
    CT_BOTH(reduce_sum, ne, P(s), P(a), 1.f / (float)ne);
    ct_cmp("reduce sum (mean)", &s, TOL_SUM);
    ct_free(&a), ct_free(&b), ct_free(&y), ct_free(&s), ct_free(&bias), ct_free(&db);
    ct_free(&cat);
}

static void test_losses(void)
{
    CT_NEED_CUDA();
    const int64_t n = 2 * 64 * 44 * 44;
    ct_buf a = ct_new(n, CT_SYM), b = ct_new(n, CT_SYM), out = ct_new(1, CT_ZERO);
    ct_buf dout = ct_new(1, CT_POS), da = ct_new(n, CT_SYM), db = ct_new(n, CT_SYM);
    CT_BOTH(l1_forward, n, P(out), P(a), P(b));
    ct_cmp("l1 forward", &out, TOL_SUM);
    CT_BOTH(l1_backward, n, P(da), P(db), P(dout), P(a), P(b));
    ct_cmp("l1 backward da (+=)", &da, TOL_EXACT);
    ct_cmp("l1 backward db (+=)", &db, TOL_EXACT);
    CT_BOTH(mse_forward, n, P(out), P(a), P(b), 0.f);
    ct_cmp("mse forward", &out, TOL_SUM);
    CT_BOTH(mse_backward, n, P(da), P(db), P(dout), P(a), P(b), 0.f);
    ct_cmp("mse backward da (+=)", &da, TOL_EXACT);
    ct_cmp("mse backward db (+=)", &db, TOL_EXACT);
    CT_BOTH(mse_forward, n, P(out), P(a), NULL, 1.f / 1936.f);
    ct_cmp("mse forward, constant target", &out, TOL_SUM);
    CT_BOTH(mse_backward, n, P(da), NULL, P(dout), P(a), NULL, 1.f / 1936.f);
    ct_cmp("mse backward, constant target", &da, TOL_EXACT);

    /* weighted BCE with logits: (16, 12) */
    const int nb = 16, nc = 12;
    ct_buf z = ct_new(nb * nc, CT_SYM), y = ct_new(nb * nc, CT_UNIT), w = ct_new(nc, CT_POS);
    ct_buf dz = ct_new(nb * nc, CT_SYM);
    for (int i = 0; i < nb * nc; i++) {
        z.h[i] *= 12.f; /* both tails of the stable form */
        y.h[i] = y.h[i] < 0.5f ? 0.f : 1.f;
    }
    ct_cu->i->set(ct_cu, z.d, z.h, nb * nc * sizeof(float));
    ct_cu->i->set(ct_cu, y.d, y.h, nb * nc * sizeof(float));
    for (int weighted = 0; weighted < 2; weighted++) {
        const float *wp[2] = {weighted ? w.h : NULL, weighted ? w.d : NULL};
        CT_BOTH(bce_logits_forward, nb, nc, P(out), P(z), P(y), wp[ct_side]);
        ct_cmp(weighted ? "bce logits forward, weighted" : "bce logits forward", &out, TOL_SUM);
        CT_BOTH(bce_logits_backward, nb, nc, P(dz), P(dout), P(z), P(y), wp[ct_side]);
        ct_cmp(weighted ? "bce logits backward, weighted" : "bce logits backward", &dz,
               TOL_EXACT * 4);
    }

    /* cross-entropy over positions with labels, and the InfoNCE diagonal form (period) */
    const int64_t rows = 2 * 49, npos = 1936;
    ct_buf x = ct_new(rows * npos, CT_SYM), dx = ct_new(rows * npos, CT_SYM);
    for (int64_t i = 0; i < rows * npos; i++)
        x.h[i] *= 5.f;
    ct_cu->i->set(ct_cu, x.d, x.h, rows * npos * sizeof(float));
    int32_t *lab = malloc(rows * sizeof *lab);
    for (int64_t r = 0; r < rows; r++)
        lab[r] = (int32_t)(ct_unif() * npos);
    int32_t *lab_d = ct_cu->i->alloc(ct_cu, rows * sizeof *lab);
    ct_cu->i->set(ct_cu, lab_d, lab, rows * sizeof *lab);
    const int32_t *lp[2] = {lab, lab_d};
    CT_BOTH(cross_entropy_forward, rows, npos, P(out), P(x), lp[ct_side], 0);
    ct_cmp("cross-entropy positions forward", &out, TOL_SUM);
    CT_BOTH(cross_entropy_backward, rows, npos, P(dx), P(dout), P(x), lp[ct_side], 0);
    ct_cmp("cross-entropy positions backward (+=)", &dx, TOL_SUM);
    const int64_t rn = 2 * 121, cn = 121;
    CT_BOTH(cross_entropy_forward, rn, cn, P(out), P(x), NULL, cn);
    ct_cmp("cross-entropy diagonal forward", &out, TOL_SUM);
    CT_BOTH(cross_entropy_backward, rn, cn, P(dx), P(dout), P(x), NULL, cn);
    ct_cmp("cross-entropy diagonal backward (+=)", &dx, TOL_SUM);
    ct_cu->i->free(ct_cu, lab_d);
    free(lab);
    ct_free(&a), ct_free(&b), ct_free(&out), ct_free(&dout), ct_free(&da), ct_free(&db);
    ct_free(&z), ct_free(&y), ct_free(&w), ct_free(&dz), ct_free(&x), ct_free(&dx);
}

static void test_l2norm_adam(void)
{
    CT_NEED_CUDA();
    const int n = 2, c = 64, hw = 121;
    size_t ne = (size_t)n * c * hw;
    ct_buf x = ct_new(ne, CT_SYM), y = ct_new(ne, CT_ZERO), nrm = ct_new((size_t)n * hw, CT_ZERO);
    ct_buf dy = ct_new(ne, CT_SYM), dx = ct_new(ne, CT_SYM);
    for (int k = 0; k < c; k++) /* one position below eps: the clamped branch */
        x.h[(size_t)k * hw + 7] = 1e-14f;
    ct_cu->i->set(ct_cu, x.d, x.h, ne * sizeof(float));
    CT_BOTH(l2norm_forward, n, c, hw, 1e-12f, P(y), P(x), P(nrm));
    ct_cmp("l2 normalise forward", &y, TOL_SUM);
    ct_cmp("l2 normalise norms", &nrm, TOL_SUM);
    CT_BOTH(l2norm_backward, n, c, hw, 1e-12f, P(dx), P(dy), P(y), P(nrm));
    ct_cmp("l2 normalise backward (+=)", &dx, TOL_SUM);

    const int64_t np = 50001;
    ct_buf p = ct_new(np, CT_SYM), g = ct_new(np, CT_SYM), m = ct_new(np, CT_SYM);
    ct_buf v = ct_new(np, CT_UNIT);
    for (int t = 1; t <= 3; t++) {
        double b1 = 0.95, b2 = 0.999, lr = 1e-4;
        float step = (float)(lr / (1 - pow(b1, t))), bc2 = (float)sqrt(1 - pow(b2, t));
        CT_BOTH(adam_update, np, P(p), P(g), P(m), P(v), 0.95f, 0.999f, step, bc2, 1e-8f);
    }
    ct_cmp("adam 3 steps: p", &p, TOL_EXACT);
    ct_cmp("adam 3 steps: m", &m, TOL_EXACT);
    ct_cmp("adam 3 steps: v", &v, TOL_EXACT);
    ct_free(&x), ct_free(&y), ct_free(&nrm), ct_free(&dy), ct_free(&dx);
    ct_free(&p), ct_free(&g), ct_free(&m), ct_free(&v);
}

/* Deterministic mode: a conv + BN + loss chain twice from the same inputs, bit-identical. */
static void test_deterministic(void)
{
    CT_NEED_CUDA();
#if MIM_HAVE_CUDA
    MT_CHECK(mim_cuda_set_deterministic(ct_cu, 1) == MIM_OK);
    const mim_conv_shape s = {4, 32, 44, 44, 32, 44, 44, 3, 3, 1, 1, 1, 1, 1};
    size_t nx = (size_t)s.n * s.c_in * s.h_in * s.w_in, nw = (size_t)s.c_out * s.c_in * 9;
    ct_buf x = ct_new(nx, CT_SYM), w = ct_new(nw, CT_SYM), dy = ct_new(nx, CT_SYM);
    float *first[4] = {0};
    int identical = 1;
    for (int run = 0; run < 2; run++) {
        ct_buf y = ct_new(nx, CT_ZERO), dx = ct_new(nx, CT_ZERO), dw = ct_new(nw, CT_ZERO);
        ct_buf out = ct_new(1, CT_ZERO), sm = ct_new(s.c_out, CT_ZERO);
        ct_buf si = ct_new(s.c_out, CT_ZERO), dg = ct_new(s.c_out, CT_ZERO);
        ct_buf z = ct_new(nx, CT_ZERO);
        mim_backend *be = ct_cu;
        MT_CHECK(be->i->conv2d_forward(be, &s, y.d, x.d, w.d, NULL) == MIM_OK);
        MT_CHECK(be->i->conv2d_backward_data(be, &s, dx.d, dy.d, w.d) == MIM_OK);
        MT_CHECK(be->i->conv2d_backward_weights(be, &s, dw.d, NULL, x.d, dy.d) == MIM_OK);
        MT_CHECK(be->i->batchnorm_forward(be, s.n, s.c_out, 44 * 44, 1e-5f, 0.1f, 1, z.d, y.d, NULL,
                                          NULL, NULL, NULL, sm.d, si.d) == MIM_OK);
        MT_CHECK(be->i->batchnorm_backward(be, s.n, s.c_out, 44 * 44, 1, dx.d, dg.d, NULL, dy.d,
                                           y.d, NULL, sm.d, si.d) == MIM_OK);
        MT_CHECK(be->i->l1_forward(be, (int64_t)nx, out.d, dx.d, x.d) == MIM_OK);
        ct_buf *res[4] = {&dx, &dw, &dg, &out};
        for (int k = 0; k < 4; k++) {
            float *got = ct_pull(res[k]);
            if (run == 0) {
                first[k] = got;
            } else {
                size_t diff = 0, first_diff = 0;
                for (size_t i = 0; i < res[k]->n; i++)
                    if (memcmp(&got[i], &first[k][i], sizeof(float)) && diff++ == 0)
                        first_diff = i;
                if (diff) {
                    identical = 0;
                    MT_FAIL("result %d: %zu of %zu floats differ between runs, first at %zu (%.9g "
                            "vs %.9g)",
                            k, diff, res[k]->n, first_diff, got[first_diff], first[k][first_diff]);
                }
                free(got);
            }
        }
        ct_free(&y), ct_free(&dx), ct_free(&dw), ct_free(&out), ct_free(&sm), ct_free(&si);
        ct_free(&dg), ct_free(&z);
    }
    MT_NOTE("deterministic mode: conv fwd/bwd-data/bwd-filter + BN train fwd/bwd + L1 on "
            "(4,32,44,44): %s",
            identical ? "bit-identical over 2 runs" : "DIFFERENT");
    for (int k = 0; k < 4; k++)
        free(first[k]);
    ct_free(&x), ct_free(&w), ct_free(&dy);
    MT_CHECK(mim_cuda_set_deterministic(ct_cu, 0) == MIM_OK);
#endif
}

/* The device backend must refuse nothing of the table (mim-backend-impl.h: a device backend sets
 * every entry) and must report its errors with a message. */
static void test_table_and_errors(void)
{
    CT_NEED_CUDA();
    for (int op = 0; op < MIM_OP_COUNT; op++)
        if (!mim_backend_supports(ct_cu, (mim_op)op))
            MT_FAIL("op %d not supported by the cuda backend", op);
    MT_CHECK(!mim_backend_is_host(ct_cu));
    MT_CHECK(!strcmp(mim_backend_name(ct_cu), "cuda"));
    /* an impossible allocation fails cleanly with a message */
    void *p = ct_cu->i->alloc(ct_cu, (size_t)1 << 50);
    MT_CHECK(p == NULL);
    MT_NOTE("alloc of 1 PiB: %s", ct_cu->err);
    MT_CHECK(strstr(ct_cu->err, "cudaMalloc") != NULL);
    /* the backend still works afterwards */
    ct_buf a = ct_new(10, CT_SYM), y = ct_new(10, CT_ZERO);
    CT_BOTH(axpby, 10, P(y), 3.f, P(a), 0.f, NULL);
    ct_cmp("axpby after a failed alloc", &y, TOL_EXACT);
    ct_free(&a), ct_free(&y);
#if MIM_HAVE_CUDA
    MT_CHECK(mim_cuda_set_precision(ct_cu, (mim_cuda_precision)7) == MIM_ERR_ARG);
    MT_CHECK(mim_cuda_set_precision(ct_ref, MIM_CUDA_FP32) == MIM_ERR_ARG);
#endif
}

/* Without a device: the constructor and the probe agree and say why. Runs everywhere. */
static void test_no_device_message(void)
{
    mim_status st = MIM_OK;
    mim_backend *be = mim_backend_cuda_new(99, &st);
    MT_CHECK(be == NULL);
    MT_CHECK(st != MIM_OK);
#if MIM_HAVE_CUDA
    char msg[256];
    mim_status pst = mim_cuda_probe(99, msg, sizeof msg);
    MT_CHECK(pst != MIM_OK);
    MT_NOTE("device 99: %s (%s)", msg, mim_status_str(st));
    MT_CHECK(!strncmp(msg, "no CUDA device: ", 16));
#else
    MT_CHECK_INT(st, MIM_ERR_UNSUPPORTED);
#endif
    mim_backend_free(be);
}

int main(int argc, char **argv)
{
    const char *seed = getenv("MIMICA_TEST_SEED");
    if (seed && *seed)
        ct_rng = strtoull(seed, NULL, 10) | 1;
    mt_init(argc, argv);
    MT_NOTE("seed %llu (MIMICA_TEST_SEED)", (unsigned long long)ct_rng);
    ct_open();
    MT_RUN(test_no_device_message);
    MT_RUN(test_table_and_errors);
    MT_RUN(test_conv);
    MT_RUN(test_conv_mixed);
    MT_RUN(test_batchnorm);
    MT_RUN(test_instancenorm);
    MT_RUN(test_prelu_act);
    MT_RUN(test_avgpool);
    MT_RUN(test_softmax_channel_sum);
    MT_RUN(test_gemm);
    MT_RUN(test_elementwise);
    MT_RUN(test_losses);
    MT_RUN(test_l2norm_adam);
    MT_RUN(test_deterministic);
    ct_close();
    return mt_done();
}
