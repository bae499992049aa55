/* dnnl-core-private.h: structures shared by the dnnl-*.c files (cache entries, arguments). */
#pragma once

#include <dnnl.h>

#include "dnnl-core.h"

#define MIM__DNNL_MAX_ARGS 10
#define MIM__DNNL_KEY_N    20

/* Operation codes, the first word of a cache key. */
enum {
    MIM__DNNL_OP_CONV_FWD = 1,
    MIM__DNNL_OP_CONV_BWD_DATA,
    MIM__DNNL_OP_CONV_BWD_WEIGHTS,
    MIM__DNNL_OP_ACT_FWD,
    MIM__DNNL_OP_ACT_BWD,
    MIM__DNNL_OP_SOFTMAX_FWD,
    MIM__DNNL_OP_SOFTMAX_BWD,
};

typedef struct {
    long v[MIM__DNNL_KEY_N];
} mim__dnnl_key;

typedef struct {
    int kind;                     /* DNNL_ARG_* */
    int out;                      /* written by the primitive */
    int same;                     /* primitive layout == caller layout */
    size_t pbytes;                /* size in the primitive's layout */
    dnnl_memory_t pmem;           /* primitive layout */
    dnnl_memory_t umem;           /* caller layout (NULL for an input in the same layout) */
    dnnl_primitive_t reorder;     /* caller -> primitive (input) or back (output) */
    dnnl_primitive_t reorder_sum; /* primitive -> caller, adding (output, created on demand) */
} mim__dnnl_arg;

typedef struct {
    int used;
    mim__dnnl_key key;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t scratch;
    size_t scratch_bytes;
    int n_args;
    mim__dnnl_arg args[MIM__DNNL_MAX_ARGS];
} mim__dnnl_entry;

/* How to bind one argument when building an entry. */
typedef struct {
    int kind;                /* DNNL_ARG_* */
    int out;                 /* output of the primitive */
    dnnl_query_t query;      /* dnnl_query_src_md, ... */
    dnnl_memory_desc_t user; /* the caller's layout */
    int index;               /* query index (1 for a convolution's bias) */
} mim__dnnl_argspec;

struct mim__dnnl {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    int n_threads;
    mim__dnnl_conv_alg conv_alg; /* MIMICA_DNNL_CONV */
    int bf16;                    /* convolutions take bf16 inputs (mim__dnnl_set_bf16) */
    long n_created;
    char err[256];
    mim__dnnl_entry *entries; /* open addressing, cap a power of two */
    int cap, n_entries;
    void *slot[MIM__DNNL_MAX_ARGS];
    size_t slot_bytes[MIM__DNNL_MAX_ARGS];
    void *scratch_buf;
    size_t scratch_have;
};

int mim__dnnl_fail(mim__dnnl *d, dnnl_status_t st, const char *what);
int mim__dnnl_fail_msg(mim__dnnl *d, const char *msg);
/* Returns the entry for key k (found = 1) or the free slot where to build it (found = 0). The
 * pointer is valid until the next lookup. */
mim__dnnl_entry *mim__dnnl_lookup(mim__dnnl *d, const mim__dnnl_key *k, int *found);
int mim__dnnl_build(mim__dnnl *d, mim__dnnl_entry *e, const mim__dnnl_key *k, const void *op_desc,
                    const_dnnl_primitive_desc_t hint, const mim__dnnl_argspec *spec, int n_args);
/* Runs e with the caller's buffers ptr[i] (in argspec order; NULL skips an argument).
 * accumulate[i] (may be NULL) adds output i to the caller's buffer instead of overwriting. */
int mim__dnnl_exec(mim__dnnl *d, mim__dnnl_entry *e, void *const *ptr, const int *accumulate);
int mim__dnnl_md(mim__dnnl *d, dnnl_memory_desc_t *md, int ndims, const long *dims,
                 dnnl_format_tag_t tag);
int mim__dnnl_md_typed(mim__dnnl *d, dnnl_memory_desc_t *md, int ndims, const long *dims,
                       dnnl_format_tag_t tag, dnnl_data_type_t type);

/* A normalisation's output is y = x·g + o per channel with these g and o: the one formula of the
 * norm forward (dnnl-norm.c) and of the PReLU backward that recomputes that output from x
 * (dnnl-act.c), which must agree bit for bit. gamma, beta may be NULL (1, 0). */
static inline void mim__dnnl_norm_coef(int c, const float *mean, const float *invstd,
                                       const float *gamma, const float *beta, float *g, float *o)
{
    *g = gamma ? gamma[c] * invstd[c] : invstd[c];
    *o = (beta ? beta[c] : 0.0f) - mean[c] * *g;
}

static inline float mim__dnnl_norm_value(float x, float g, float o)
{
    return x * g + o;
}
