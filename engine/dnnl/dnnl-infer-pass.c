/* dnnl-infer-pass.c: the passes of ours in an inference plan (dnnl-infer.c): OpenMP loops over
 * oneDNN's blocked layout nChw16c (channel blocks of 16 lanes), branch-free on 4-lane GCC vectors
 * (the signs of activations are random, so a branch per element mispredicts half the time). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dnnl-infer-private.h"

#define FEAT MIM__INFER_FEAT

typedef mim__infer_step step;

static inline float bf16_to_f32(uint16_t v)
{
    uint32_t u = (uint32_t)v << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Round to nearest even (NaN kept a NaN). */
static inline uint16_t f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* Branch-free 4-lane helpers (GCC vector extensions; the signs of activations are random, so a
 * branch per element mispredicts half the time). */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint32_t v4u __attribute__((vector_size(16)));

static inline v4f ld4(const float *p)
{
    v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st4(float *p, v4f v)
{
    memcpy(p, &v, sizeof v);
}

/* x > 0 ? x : slope·x, as dnnl-act.c's PReLU */
static inline v4f prelu4(v4f x, v4f slope)
{
    const v4f zero = {0, 0, 0, 0};
    v4i pos = x > zero;
    v4f neg = x * slope;
    return (v4f)((pos & (v4i)x) | (~pos & (v4i)neg));
}

/* 4 floats to bf16 (round to nearest even; NaN stays NaN) */
static inline void st4_bf16(uint16_t *p, v4f x)
{
    v4u u = (v4u)x;
    v4u r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    v4u nan = (v4u)(x != x);
    r = (nan & ((u >> 16) | 0x40u)) | (~nan & r);
    for (int l = 0; l < 4; l++)
        p[l] = (uint16_t)r[l];
}

/* IN over (n, c, hw) of y (f32 nChw16c) + PReLU into out (out_cb blocks per sample). The
 * statistics of dnnl-norm.c: double sums around the channel's first value, biased variance;
 * y = x·g + o with g = invstd, o = 0 - mean·g. */
typedef float v16f __attribute__((vector_size(64)));
typedef int32_t v16i __attribute__((vector_size(64)));

/* IN + PReLU of one channel block x (hw positions × 16 lanes) into out (f32 or bf16). Compiled
 * twice: for AVX-512 (one register per block; picked at run time where the CPU has it) and for
 * the baseline. No FMA contraction: y = x·g + o rounds like dnnl-norm.c's loop. */
__attribute__((target_clones("avx512f", "default"), optimize("fp-contract=off"))) static void
in_block(const float *x, int hw, float eps, int has_slope, float slope, void *out, int out_bf16)
{
    double shift[16], sum[16], sum2[16];
    float g[16], off[16];
    for (int l = 0; l < 16; l++) {
        shift[l] = x[l];
        sum[l] = 0;
        sum2[l] = 0;
    }
    for (int i = 0; i < hw; i++) {
        const float *xi = x + (size_t)i * 16;
#pragma omp simd
        for (int l = 0; l < 16; l++) {
            double v = (double)xi[l] - shift[l];
            sum[l] += v;
            sum2[l] += v * v;
        }
    }
    for (int l = 0; l < 16; l++) {
        double m = sum[l] / hw, v = sum2[l] / hw - m * m;
        float mean = (float)(m + shift[l]);
        float invstd = (float)(1.0 / sqrt((v > 0 ? v : 0) + eps));
        g[l] = invstd;
        off[l] = 0.0f - mean * invstd;
    }
    v16f gv, ov, sv, zero = {0};
    memcpy(&gv, g, sizeof gv);
    memcpy(&ov, off, sizeof ov);
    for (int l = 0; l < 16; l++)
        sv[l] = has_slope ? slope : 1.0f;
    for (int i = 0; i < hw; i++) {
        v16f v;
        memcpy(&v, x + (size_t)i * 16, sizeof v);
        v = v * gv;
        v = v + ov;
        v16i pos = v > zero;
        v16f neg = v * sv;
        v = (v16f)((pos & (v16i)v) | (~pos & (v16i)neg));
        if (out_bf16) {
            float t[16];
            memcpy(t, &v, sizeof t);
            for (int q = 0; q < 16; q += 4)
                st4_bf16((uint16_t *)out + (size_t)i * 16 + q, ld4(t + q));
        } else {
            memcpy((float *)out + (size_t)i * 16, &v, sizeof v);
        }
    }
}

void mim__infer_in(const step *s)
{
    const int cb = s->c / 16, hw = s->hw;
    const float *y = s->in;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < s->n; n++) {
        for (int k = 0; k < cb; k++) {
            const size_t o = ((size_t)n * s->out_cb + k) * hw * 16;
            void *out =
                s->out_bf16 ? (void *)((uint16_t *)s->out + o) : (void *)((float *)s->out + o);
            in_block(y + ((size_t)n * cb + k) * hw * 16, hw, s->eps, s->has_slope, s->slope, out,
                     s->out_bf16);
        }
    }
}

void mim__infer_prelu(const step *s)
{
    const float slope = s->slope;
    const long n = s->count, n4 = n / 4;
    if (s->bf16) {
        uint16_t *x = s->out;
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n; i++) {
            float v = bf16_to_f32(x[i]);
            uint16_t neg = f32_to_bf16(slope * v);
            x[i] = v > 0.0f ? x[i] : neg;
        }
    } else {
        float *x = s->out;
        const v4f sv = {slope, slope, slope, slope};
#pragma omp parallel for schedule(static)
        for (long i = 0; i < n4; i++)
            st4(x + 4 * i, prelu4(ld4(x + 4 * i), sv));
        for (long i = 4 * n4; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : slope * x[i];
    }
}

/* PReLU then 2×2 average pool over f32 nChw16c (c a multiple of 16 or padded with zeros, which
 * stay zeros): out = (p(a) + p(b) + p(c) + p(d)) · 0.25, the sum in oneDNN's order. */
void mim__infer_pool(const step *s)
{
    const int cb = (s->c + 15) / 16, h = s->hw, ho = h / 2;
    const float *x = s->in;
    float *y = s->out;
    const v4f sv = {s->slope, s->slope, s->slope, s->slope};
    const v4f q = {0.25f, 0.25f, 0.25f, 0.25f};
#pragma omp parallel for collapse(2) schedule(static)
    for (int nk = 0; nk < s->n * cb; nk++) {
        for (int oy = 0; oy < ho; oy++) {
            const float *r0 = x + ((size_t)nk * h + 2 * oy) * h * 16, *r1 = r0 + (size_t)h * 16;
            float *o = y + ((size_t)nk * ho + oy) * ho * 16;
            for (int ox = 0; ox < ho; ox++)
                for (int l = 0; l < 16; l += 4) {
                    const size_t i = (size_t)2 * ox * 16 + l;
                    v4f a = prelu4(ld4(r0 + i), sv) + prelu4(ld4(r0 + i + 16), sv);
                    a = a + prelu4(ld4(r1 + i), sv);
                    a = a + prelu4(ld4(r1 + i + 16), sv);
                    st4(o + (size_t)ox * 16 + l, a * q);
                }
        }
    }
}

void mim__infer_argmax(const step *s, int32_t *idx)
{
    if (!idx)
        return;
    const float *m = s->in;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < s->n * s->c; r++) {
        const float *v = m + (size_t)r * s->hw;
        int best = 0;
        for (int k = 1; k < s->hw; k++)
            if (v[k] > v[best])
                best = k;
        idx[r] = best;
    }
}

/* A[n,p] = Σ_k S[n,k,p] (in k order, like the generic channel sum) into channel 64 of the
 * concat buffer. */
void mim__infer_asum(const step *s)
{
    const float *sm = s->in;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s->n; n++) {
        const size_t o = ((size_t)n * s->out_cb + FEAT / 16) * s->hw * 16;
        for (int i = 0; i < s->hw; i++) {
            float a = 0.0f;
            for (int k = 0; k < s->c; k++)
                a += sm[((size_t)n * s->c + k) * s->hw + i];
            if (s->out_bf16)
                ((uint16_t *)s->out)[o + (size_t)i * 16] = f32_to_bf16(a);
            else
                ((float *)s->out)[o + (size_t)i * 16] = a;
        }
    }
}

/* 4 values of Fau's head input at element i, PReLU'd (slope 1 when none is pending). */
static inline v4f fau_in4(const step *s, size_t i, v4f slope)
{
    v4f t;
    if (s->bf16_in) {
        const uint16_t *h = (const uint16_t *)s->in + i;
        v4u u = {(uint32_t)h[0] << 16, (uint32_t)h[1] << 16, (uint32_t)h[2] << 16,
                 (uint32_t)h[3] << 16};
        t = (v4f)u;
    } else {
        t = ld4((const float *)s->in + i);
    }
    return prelu4(t, slope);
}

/* Fau's head (fau_head): logits[n, au] from h (64 channels nChw16c, f32 or bf16), PReLU first
 * when pending. */
void mim__infer_fau(const step *s, float *logits, int n_au)
{
    const int side = s->hw, cb = FEAT / 16;
    const float slope = s->has_slope ? s->slope : 1.0f;
    const v4f sv = {slope, slope, slope, slope};
#pragma omp parallel for schedule(static)
    for (int n = 0; n < s->n; n++) {
        double acc = 0;
        for (int k = 0; k < cb; k++) {
            const size_t base = ((size_t)n * cb + k) * side * side * 16;
            /* per lane: total, first/last row, first/last column, corners */
            double tot[16] = {0}, c0[16] = {0}, c1[16] = {0};
            float r0[16], r1[16], q00[16], q01[16], q10[16], q11[16];
            for (int y = 0; y < side; y++) {
                const size_t ri = base + (size_t)y * side * 16;
                v4f row[4] = {{0}};
                for (int x = 0; x < side; x++)
                    for (int q = 0; q < 4; q++)
                        row[q] += fau_in4(s, ri + (size_t)x * 16 + 4 * q, sv);
                float rs[16], first[16], last[16];
                for (int q = 0; q < 4; q++) {
                    st4(rs + 4 * q, row[q]);
                    st4(first + 4 * q, fau_in4(s, ri + 4 * q, sv));
                    st4(last + 4 * q, fau_in4(s, ri + (size_t)(side - 1) * 16 + 4 * q, sv));
                }
                for (int l = 0; l < 16; l++) {
                    tot[l] += rs[l];
                    c0[l] += first[l];
                    c1[l] += last[l];
                }
                if (y == 0) {
                    memcpy(r0, rs, sizeof rs);
                    memcpy(q00, first, sizeof first);
                    memcpy(q01, last, sizeof last);
                }
                if (y == side - 1) {
                    memcpy(r1, rs, sizeof rs);
                    memcpy(q10, first, sizeof first);
                    memcpy(q11, last, sizeof last);
                }
            }
            for (int l = 0; l < 16; l++) {
                const double *v = s->v + (size_t)(k * 16 + l) * 9;
                /* tap ky reads all rows but the last (ky 0) or the first (ky 2); kx likewise */
                const double rx[3] = {r1[l], 0, r0[l]}, cx[3] = {c1[l], 0, c0[l]};
                const double corner[3][3] = {{q11[l], 0, q10[l]}, {0, 0, 0}, {q01[l], 0, q00[l]}};
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++)
                        acc += v[ky * 3 + kx] * (tot[l] - rx[ky] - cx[kx] + corner[ky][kx]);
            }
        }
        logits[(size_t)n * n_au + s->au] = (float)(s->c0 + acc / ((double)side * side));
    }
}

void mim__infer_img(const step *s, const float *images)
{
    uint16_t *o = s->out;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < s->count; i++)
        o[i] = f32_to_bf16(images[i]);
}
