/* gemm.c: the reference GEMM. Row-major C = alpha·op(A)·op(B) + beta·C, blocked: panels of B
 * (KC×NC) and slivers of A (MR rows) are packed into the work buffer, then a 4×16 register tile
 * (GCC vector extensions; 8-float vectors with AVX2+FMA when the CPU has them, else 4-float)
 * accumulates over the KC depth. Plain C, no intrinsics. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#define MR 4
#define NR 16
#define KC 256
#define NC 512

typedef float v4f __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));

size_t mim__ref_gemm_ws_floats(int m, int n, int k)
{
    (void)n;
    (void)k;
    size_t m_pad = (size_t)(m + MR - 1) / MR * MR;
    return m_pad * KC + (size_t)KC * NC + 64;
}

/* A' element (i,p) of op(A). */
static inline float a_at(const float *a, int ta, int m, int k, int i, int p)
{
    return ta ? a[(size_t)p * m + i] : a[(size_t)i * k + p];
}

/* ap[(i/MR)][p][MR] for rows [0,m), depth [p0,p0+kb); alpha folded in, zero padded. */
static void pack_a(float *ap, const float *a, int ta, int m, int k, int p0, int kb, float alpha)
{
    for (int i0 = 0; i0 < m; i0 += MR) {
        float *dst = ap + (size_t)i0 * kb;
        for (int p = 0; p < kb; p++)
            for (int r = 0; r < MR; r++) {
                int i = i0 + r;
                dst[p * MR + r] = i < m ? alpha * a_at(a, ta, m, k, i, p0 + p) : 0.0f;
            }
    }
}

/* bp[(j/NR)][p][NR] for depth [p0,p0+kb), columns [j0,j0+nb); zero padded. */
static void pack_b(float *bp, const float *b, int tb, int n, int k, int p0, int kb, int j0, int nb)
{
    for (int jj = 0; jj < nb; jj += NR) {
        float *dst = bp + (size_t)jj * kb;
        int w = nb - jj < NR ? nb - jj : NR;
        for (int p = 0; p < kb; p++) {
            float *d = dst + p * NR;
            if (!tb) {
                const float *src = b + (size_t)(p0 + p) * n + j0 + jj;
                int q = 0;
                for (; q < w; q++)
                    d[q] = src[q];
                for (; q < NR; q++)
                    d[q] = 0.0f;
            } else {
                int q = 0;
                for (; q < w; q++)
                    d[q] = b[(size_t)(j0 + jj + q) * k + p0 + p];
                for (; q < NR; q++)
                    d[q] = 0.0f;
            }
        }
    }
}

/* C tile (mr×nr at c, row stride ldc) += A sliver (MR×kb) · B sliver (kb×NR). Portable version:
 * two passes of 4×8 (4-float vectors: 8 accumulators fit the 16 SSE registers). */
static void micro_v4(int kb, const float *ap, const float *bp, float *c, int ldc, int mr, int nr)
{
    float t[MR][NR];
    for (int half = 0; half < 2; half++) {
        v4f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
        const float *bh = bp + half * 8;
        for (int p = 0; p < kb; p++) {
            v4f b0, b1;
            memcpy(&b0, bh + p * NR, sizeof b0);
            memcpy(&b1, bh + p * NR + 4, sizeof b1);
            const float *a = ap + p * MR;
            v4f a0 = {a[0], a[0], a[0], a[0]}, a1 = {a[1], a[1], a[1], a[1]};
            v4f a2 = {a[2], a[2], a[2], a[2]}, a3 = {a[3], a[3], a[3], a[3]};
            c00 += a0 * b0;
            c01 += a0 * b1;
            c10 += a1 * b0;
            c11 += a1 * b1;
            c20 += a2 * b0;
            c21 += a2 * b1;
            c30 += a3 * b0;
            c31 += a3 * b1;
        }
        int o = half * 8;
        memcpy(&t[0][o], &c00, 16);
        memcpy(&t[0][o + 4], &c01, 16);
        memcpy(&t[1][o], &c10, 16);
        memcpy(&t[1][o + 4], &c11, 16);
        memcpy(&t[2][o], &c20, 16);
        memcpy(&t[2][o + 4], &c21, 16);
        memcpy(&t[3][o], &c30, 16);
        memcpy(&t[3][o + 4], &c31, 16);
    }
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++)
            c[(size_t)r * ldc + q] += t[r][q];
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_V8 1
/* The same tile with 8-float vectors, compiled for AVX2 + FMA and chosen at run time. */
__attribute__((target("avx2,fma"))) static void micro_v8(int kb, const float *ap, const float *bp,
                                                         float *c, int ldc, int mr, int nr)
{
    v8f c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int p = 0; p < kb; p++) {
        v8f b0, b1;
        memcpy(&b0, bp + p * NR, sizeof b0);
        memcpy(&b1, bp + p * NR + 8, sizeof b1);
        const float *a = ap + p * MR;
        v8f a0 = {a[0], a[0], a[0], a[0], a[0], a[0], a[0], a[0]};
        v8f a1 = {a[1], a[1], a[1], a[1], a[1], a[1], a[1], a[1]};
        v8f a2 = {a[2], a[2], a[2], a[2], a[2], a[2], a[2], a[2]};
        v8f a3 = {a[3], a[3], a[3], a[3], a[3], a[3], a[3], a[3]};
        c00 += a0 * b0;
        c01 += a0 * b1;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c20 += a2 * b0;
        c21 += a2 * b1;
        c30 += a3 * b0;
        c31 += a3 * b1;
    }
    float t[MR][NR];
    memcpy(&t[0][0], &c00, 32);
    memcpy(&t[0][8], &c01, 32);
    memcpy(&t[1][0], &c10, 32);
    memcpy(&t[1][8], &c11, 32);
    memcpy(&t[2][0], &c20, 32);
    memcpy(&t[2][8], &c21, 32);
    memcpy(&t[3][0], &c30, 32);
    memcpy(&t[3][8], &c31, 32);
    for (int r = 0; r < mr; r++)
        for (int q = 0; q < nr; q++)
            c[(size_t)r * ldc + q] += t[r][q];
}
#else
#define HAVE_V8 0
#endif

void mim__ref_gemm1(float *ws, int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, const float *b, float beta, float *c)
{
    for (int i = 0; i < m; i++) {
        float *row = c + (size_t)i * n;
        if (beta == 0.0f)
            memset(row, 0, sizeof(float) * n);
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++)
                row[j] *= beta;
    }
    if (k == 0 || alpha == 0.0f)
        return;
    size_t m_pad = (size_t)(m + MR - 1) / MR * MR;
    float *ap = ws, *bp = ws + m_pad * KC;
    int v8 = 0;
#if HAVE_V8
    /* MIMICA_REF_GEMM=portable forces the 4-float kernel (tests run both). */
    const char *force = getenv("MIMICA_REF_GEMM");
    v8 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         !(force && !strcmp(force, "portable"));
#endif
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kb = k - p0 < KC ? k - p0 : KC;
        pack_a(ap, a, trans_a, m, k, p0, kb, alpha);
        for (int j0 = 0; j0 < n; j0 += NC) {
            int nb = n - j0 < NC ? n - j0 : NC;
            pack_b(bp, b, trans_b, n, k, p0, kb, j0, nb);
            for (int i0 = 0; i0 < m; i0 += MR) {
                int mr = m - i0 < MR ? m - i0 : MR;
                for (int jj = 0; jj < nb; jj += NR) {
                    int nr = nb - jj < NR ? nb - jj : NR;
                    (v8 ? micro_v8 : micro_v4)(kb, ap + (size_t)i0 * kb, bp + (size_t)jj * kb,
                                               c + (size_t)i0 * n + j0 + jj, n, mr, nr);
                }
            }
        }
    }
}

mim_status mim__ref_gemm(mim_backend *be, int batch, int trans_a, int trans_b, int m, int n, int k,
                         float alpha, const float *a, int64_t stride_a, const float *b,
                         int64_t stride_b, float beta, float *c, int64_t stride_c)
{
    float *ws = mim__ref_workspace(be, mim__ref_gemm_ws_floats(m, n, k));
    if (!ws)
        return mim__backend_error(be, MIM_ERR_NOMEM, "ref gemm: no memory for the work buffer");
    for (int i = 0; i < batch; i++)
        mim__ref_gemm1(ws, trans_a, trans_b, m, n, k, alpha, a + i * stride_a, b + i * stride_b,
                       beta, c + i * stride_c);
    return MIM_OK;
}
