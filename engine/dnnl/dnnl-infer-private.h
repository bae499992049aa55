/* dnnl-infer-private.h: the steps of an inference plan (dnnl-infer.c) and the passes of ours
 * that run them (dnnl-infer-pass.c). */
#pragma once

#include <dnnl.h>
#include <stddef.h>
#include <stdint.h>

#define MIM__INFER_FEAT     64
#define MIM__INFER_MAX_ARGS 5

enum { S_PRIM, S_IN, S_PRELU, S_POOL, S_IMG, S_ARGMAX, S_ASUM, S_FAU };

typedef struct {
    int kind;
    dnnl_primitive_t prim; /* S_PRIM */
    int n_args;
    dnnl_exec_arg_t args[MIM__INFER_MAX_ARGS];
    const void *in; /* own passes */
    void *out;
    int n, c, hw;         /* shape: batch, channels, positions */
    int out_cb, out_bf16; /* S_IN: channel blocks per sample of out, out dtype */
    int bf16;             /* S_PRELU dtype */
    long count;           /* S_PRELU elements */
    float slope, eps;     /* S_IN, S_PRELU, S_POOL, S_FAU */
    int has_slope, au;    /* S_IN, S_FAU; S_FAU */
    int bf16_in;          /* S_FAU: input dtype */
    double c0;            /* S_FAU: fc bias + fc·(last conv's bias) */
    const double *v;      /* S_FAU: fc·(last conv's weights), (64, 3, 3) */
} mim__infer_step;

/* Our passes (the step says shapes and buffers; see each function in dnnl-infer-pass.c). */
void mim__infer_in(const mim__infer_step *s);
void mim__infer_prelu(const mim__infer_step *s);
void mim__infer_pool(const mim__infer_step *s);
void mim__infer_img(const mim__infer_step *s, const float *images);
void mim__infer_argmax(const mim__infer_step *s, int32_t *idx);
void mim__infer_asum(const mim__infer_step *s);
void mim__infer_fau(const mim__infer_step *s, float *logits, int n_au);
