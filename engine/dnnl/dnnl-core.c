/* dnnl-core.c: oneDNN 2.6 engine, primitive cache and execution with layout reorders.
 *
 * A cache entry holds one primitive and, for each of its arguments, the memory object in the
 * primitive's layout plus (when that layout differs from the caller's plain one) a memory object
 * in the caller's layout and the reorder between the two. At run time only data handles are set:
 * inputs in a foreign layout are reordered into the backend's work slot of that argument, outputs
 * are produced in a work slot and reordered (or, to accumulate, reordered with a sum post-op)
 * into the caller's buffer. Work slots and the user scratchpad grow to the largest shape seen and
 * are shared by all entries, since the backend runs one operation at a time.
 */
#include "dnnl-core.h"

#include <dnnl.h>
#include <omp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnnl-core-private.h"
#include "mim.h"

static void set_error(mim__dnnl *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
}

int mim__dnnl_fail(mim__dnnl *d, dnnl_status_t st, const char *what)
{
    set_error(d, "oneDNN: %s failed (status %d)", what, (int)st);
    return -1;
}

int mim__dnnl_fail_msg(mim__dnnl *d, const char *msg)
{
    set_error(d, "%s", msg);
    return -1;
}

static const char *const conv_names[] = {"auto", "direct", "winograd"};
static const char *const precision_names[] = {"f32", "bf16"};

/* *out = the index of the environment variable's value among names (unset or empty: unchanged);
 * another value is an error naming the choices. */
static int read_env_choice(const char *var, const char *const *names, int n, int *out, char *err,
                           size_t err_size)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return 0;
        }
    int len = snprintf(err, err_size, "%s='%.40s' is not one of", var, v);
    for (int i = 0; i < n && len >= 0 && (size_t)len < err_size; i++)
        len += snprintf(err + len, err_size - (size_t)len, "%s %s", i ? "," : "", names[i]);
    mim_utf8_make_valid(err);
    return -1;
}

static int read_env(mim__dnnl_conv_alg *alg, int *bf16, char *err, size_t err_size)
{
    int a = MIM__DNNL_CONV_AUTO;
    *bf16 = 0;
    if (read_env_choice("MIMICA_DNNL_CONV", conv_names, 3, &a, err, err_size) ||
        read_env_choice("MIMICA_PRECISION", precision_names, 2, bf16, err, err_size))
        return -1;
    *alg = (mim__dnnl_conv_alg)a;
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), core = dnnl_cpu_isa_avx512_core;
    if (*bf16 && (isa & core) != core) {
        snprintf(err, err_size, "MIMICA_PRECISION=bf16: this CPU has no AVX-512 (avx512_core)");
        return -1;
    }
    return 0;
}

int mim__dnnl_env_check(char *err, size_t err_size)
{
    mim__dnnl_conv_alg alg;
    int bf16;
    return read_env(&alg, &bf16, err, err_size);
}

int mim__dnnl_bf16_native(void)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), bf16 = dnnl_cpu_isa_avx512_core_bf16;
    return (isa & bf16) == bf16; /* the ISA values are nested bit sets; AMX includes BF16 */
}

int mim__dnnl_set_bf16(mim__dnnl *d, int bf16)
{
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa(), core = dnnl_cpu_isa_avx512_core;
    if (bf16 && (isa & core) != core)
        return mim__dnnl_fail_msg(d, "dnnl: bf16 needs a CPU with AVX-512 (avx512_core)");
    d->bf16 = bf16 != 0;
    return 0;
}

int mim__dnnl_get_bf16(const mim__dnnl *d)
{
    return d->bf16;
}

mim__dnnl *mim__dnnl_new(int n_threads, char *err, size_t err_size)
{
    mim__dnnl *d = calloc(1, sizeof *d);
    dnnl_status_t st;
    if (!d) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    d->n_threads = n_threads > 0 ? n_threads : omp_get_max_threads();
    if (read_env(&d->conv_alg, &d->bf16, err, err_size)) {
        free(d);
        return NULL;
    }
    st = dnnl_engine_create(&d->engine, dnnl_cpu, 0);
    if (st != dnnl_success) {
        snprintf(err, err_size, "oneDNN: cannot create the CPU engine (status %d)", (int)st);
        free(d);
        return NULL;
    }
    st = dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        snprintf(err, err_size, "oneDNN: cannot create a stream (status %d)", (int)st);
        dnnl_engine_destroy(d->engine);
        free(d);
        return NULL;
    }
    d->cap = 64;
    d->entries = calloc((size_t)d->cap, sizeof *d->entries);
    if (!d->entries) {
        snprintf(err, err_size, "out of memory");
        mim__dnnl_free(d);
        return NULL;
    }
    return d;
}

static void entry_clear(mim__dnnl_entry *e)
{
    for (int i = 0; i < e->n_args; i++) {
        mim__dnnl_arg *a = &e->args[i];
        if (a->reorder)
            dnnl_primitive_destroy(a->reorder);
        if (a->reorder_sum)
            dnnl_primitive_destroy(a->reorder_sum);
        if (a->pmem)
            dnnl_memory_destroy(a->pmem);
        if (a->umem)
            dnnl_memory_destroy(a->umem);
    }
    if (e->scratch)
        dnnl_memory_destroy(e->scratch);
    if (e->prim)
        dnnl_primitive_destroy(e->prim);
    if (e->pd)
        dnnl_primitive_desc_destroy(e->pd);
    memset(e, 0, sizeof *e);
}

void mim__dnnl_free(mim__dnnl *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->cap && d->entries; i++)
        if (d->entries[i].used)
            entry_clear(&d->entries[i]);
    free(d->entries);
    for (int i = 0; i < MIM__DNNL_MAX_ARGS; i++)
        free(d->slot[i]);
    free(d->scratch_buf);
    if (d->stream)
        dnnl_stream_destroy(d->stream);
    if (d->engine)
        dnnl_engine_destroy(d->engine);
    free(d);
}

const char *mim__dnnl_last_error(const mim__dnnl *d)
{
    return d->err;
}

int mim__dnnl_n_threads(const mim__dnnl *d)
{
    return d->n_threads;
}

long mim__dnnl_n_created(const mim__dnnl *d)
{
    return d->n_created;
}

void mim__dnnl_begin(mim__dnnl *d)
{
    /* OpenMP's thread count is a per-thread setting: set it on whichever thread calls us. */
    if (omp_get_max_threads() != d->n_threads)
        omp_set_num_threads(d->n_threads);
}

/* ---- cache ---- */

static uint64_t key_hash(const mim__dnnl_key *k)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < MIM__DNNL_KEY_N; i++) {
        h ^= (uint64_t)(int64_t)k->v[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int grow(mim__dnnl *d)
{
    int cap = d->cap * 2;
    mim__dnnl_entry *ne = calloc((size_t)cap, sizeof *ne);
    if (!ne)
        return -1;
    for (int i = 0; i < d->cap; i++) {
        if (!d->entries[i].used)
            continue;
        uint64_t h = key_hash(&d->entries[i].key);
        int j = (int)(h & (uint64_t)(cap - 1));
        while (ne[j].used)
            j = (j + 1) & (cap - 1);
        ne[j] = d->entries[i];
    }
    free(d->entries);
    d->entries = ne;
    d->cap = cap;
    return 0;
}

mim__dnnl_entry *mim__dnnl_lookup(mim__dnnl *d, const mim__dnnl_key *k, int *found)
{
    if ((d->n_entries + 1) * 2 > d->cap && grow(d) != 0) {
        set_error(d, "out of memory (primitive cache)");
        return NULL;
    }
    int j = (int)(key_hash(k) & (uint64_t)(d->cap - 1));
    while (d->entries[j].used) {
        if (!memcmp(&d->entries[j].key, k, sizeof *k)) {
            *found = 1;
            return &d->entries[j];
        }
        j = (j + 1) & (d->cap - 1);
    }
    *found = 0;
    return &d->entries[j];
}

/* Fills entry e (from lookup, not found) from an operation descriptor. On failure e stays
 * unused. */
int mim__dnnl_build(mim__dnnl *d, mim__dnnl_entry *e, const mim__dnnl_key *k, const void *op_desc,
                    const_dnnl_primitive_desc_t hint, const mim__dnnl_argspec *spec, int n_args)
{
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t st;
    int rc = -1;

    memset(e, 0, sizeof *e);
    e->key = *k;
    if (n_args > MIM__DNNL_MAX_ARGS)
        return mim__dnnl_fail_msg(d, "dnnl: too many primitive arguments");
    st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "primitive attributes");
        goto out;
    }
    st = dnnl_primitive_desc_create(&e->pd, op_desc, attr, d->engine, hint);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "primitive descriptor");
        goto out;
    }
    st = dnnl_primitive_create(&e->prim, e->pd);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "primitive creation");
        goto out;
    }
    const dnnl_memory_desc_t *smd =
        dnnl_primitive_desc_query_md(e->pd, dnnl_query_scratchpad_md, 0);
    e->scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (e->scratch_bytes) {
        st = dnnl_memory_create(&e->scratch, smd, d->engine, DNNL_MEMORY_NONE);
        if (st != dnnl_success) {
            mim__dnnl_fail(d, st, "scratchpad memory");
            goto out;
        }
    }
    e->n_args = n_args;
    for (int i = 0; i < n_args; i++) {
        mim__dnnl_arg *a = &e->args[i];
        const dnnl_memory_desc_t *pmd =
            dnnl_primitive_desc_query_md(e->pd, spec[i].query, spec[i].index);
        if (!pmd) {
            set_error(d, "oneDNN: primitive has no memory for argument %d", spec[i].kind);
            goto out;
        }
        a->kind = spec[i].kind;
        a->out = spec[i].out;
        a->pbytes = dnnl_memory_desc_get_size(pmd);
        st = dnnl_memory_create(&a->pmem, pmd, d->engine, DNNL_MEMORY_NONE);
        if (st == dnnl_success && (a->out || !dnnl_memory_desc_equal(pmd, &spec[i].user)))
            st = dnnl_memory_create(&a->umem, &spec[i].user, d->engine, DNNL_MEMORY_NONE);
        if (st != dnnl_success) {
            mim__dnnl_fail(d, st, "memory object");
            goto out;
        }
        a->same = dnnl_memory_desc_equal(pmd, &spec[i].user);
        if (!a->same) {
            dnnl_primitive_desc_t rpd = NULL;
            const dnnl_memory_desc_t *from = a->out ? pmd : &spec[i].user;
            const dnnl_memory_desc_t *to = a->out ? &spec[i].user : pmd;
            st = dnnl_reorder_primitive_desc_create(&rpd, from, d->engine, to, d->engine, NULL);
            if (st == dnnl_success)
                st = dnnl_primitive_create(&a->reorder, rpd);
            if (rpd)
                dnnl_primitive_desc_destroy(rpd);
            if (st != dnnl_success) {
                mim__dnnl_fail(d, st, "reorder");
                goto out;
            }
            d->n_created++;
        }
    }
    e->used = 1;
    d->n_entries++;
    d->n_created++;
    rc = 0;
out:
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (rc != 0)
        entry_clear(e);
    return rc;
}

static int ensure(mim__dnnl *d, void **buf, size_t *have, size_t need)
{
    if (need <= *have)
        return 0;
    free(*buf);
    size_t bytes = (need + 63) / 64 * 64;
    *buf = aligned_alloc(64, bytes);
    if (!*buf) {
        *have = 0;
        set_error(d, "out of memory (%zu bytes of work buffer)", bytes);
        return -1;
    }
    *have = bytes;
    return 0;
}

static int run_reorder(mim__dnnl *d, dnnl_primitive_t r, dnnl_memory_t from, dnnl_memory_t to)
{
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    dnnl_status_t st = dnnl_primitive_execute(r, d->stream, 2, args);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "reorder execution");
    return 0;
}

/* The reorder from the primitive's output layout into the caller's that adds to the destination,
 * created on first use. */
static dnnl_primitive_t reorder_sum(mim__dnnl *d, mim__dnnl_arg *a)
{
    if (a->reorder_sum)
        return a->reorder_sum;
    const dnnl_memory_desc_t *pmd = NULL, *umd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_status_t st = dnnl_memory_get_memory_desc(a->pmem, &pmd);
    if (st == dnnl_success)
        st = dnnl_memory_get_memory_desc(a->umem, &umd);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_create(&attr);
    if (st == dnnl_success)
        st = dnnl_post_ops_create(&po);
    if (st == dnnl_success)
        st = dnnl_post_ops_append_sum(po, 1.0f);
    if (st == dnnl_success)
        st = dnnl_primitive_attr_set_post_ops(attr, po);
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, pmd, d->engine, umd, d->engine, attr);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&a->reorder_sum, rpd);
    if (rpd)
        dnnl_primitive_desc_destroy(rpd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (st != dnnl_success) {
        mim__dnnl_fail(d, st, "accumulating reorder");
        return NULL;
    }
    d->n_created++;
    return a->reorder_sum;
}

int mim__dnnl_exec(mim__dnnl *d, mim__dnnl_entry *e, void *const *ptr, const int *accumulate)
{
    dnnl_exec_arg_t args[MIM__DNNL_MAX_ARGS + 1];
    dnnl_status_t st;
    int n = 0;

    for (int i = 0; i < e->n_args; i++) {
        mim__dnnl_arg *a = &e->args[i];
        int acc = accumulate && accumulate[i];
        if (!ptr[i]) {
            continue; /* optional argument not used by this primitive */
        }
        if (a->same && !acc) {
            st = dnnl_memory_set_data_handle(a->pmem, ptr[i]);
        } else {
            if (ensure(d, &d->slot[i], &d->slot_bytes[i], a->pbytes) != 0)
                return -1;
            st = dnnl_memory_set_data_handle(a->pmem, d->slot[i]);
            if (st == dnnl_success)
                st = dnnl_memory_set_data_handle(a->umem, ptr[i]);
            if (st == dnnl_success && !a->out && run_reorder(d, a->reorder, a->umem, a->pmem))
                return -1;
        }
        if (st != dnnl_success)
            return mim__dnnl_fail(d, st, "set data handle");
        args[n].arg = a->kind;
        args[n].memory = a->pmem;
        n++;
    }
    if (e->scratch) {
        if (ensure(d, &d->scratch_buf, &d->scratch_have, e->scratch_bytes) != 0)
            return -1;
        st = dnnl_memory_set_data_handle(e->scratch, d->scratch_buf);
        if (st != dnnl_success)
            return mim__dnnl_fail(d, st, "set scratchpad handle");
        args[n].arg = DNNL_ARG_SCRATCHPAD;
        args[n].memory = e->scratch;
        n++;
    }
    st = dnnl_primitive_execute(e->prim, d->stream, n, args);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "primitive execution");
    for (int i = 0; i < e->n_args; i++) {
        mim__dnnl_arg *a = &e->args[i];
        int acc = accumulate && accumulate[i];
        if (!ptr[i] || !a->out || (a->same && !acc))
            continue;
        dnnl_primitive_t r = acc ? reorder_sum(d, a) : a->reorder;
        if (!r || run_reorder(d, r, a->pmem, a->umem))
            return -1;
    }
    st = dnnl_stream_wait(d->stream);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "stream wait");
    return 0;
}

int mim__dnnl_md(mim__dnnl *d, dnnl_memory_desc_t *md, int ndims, const long *dims,
                 dnnl_format_tag_t tag)
{
    return mim__dnnl_md_typed(d, md, ndims, dims, tag, dnnl_f32);
}

int mim__dnnl_md_typed(mim__dnnl *d, dnnl_memory_desc_t *md, int ndims, const long *dims,
                       dnnl_format_tag_t tag, dnnl_data_type_t type)
{
    dnnl_dims_t dd;
    for (int i = 0; i < ndims; i++)
        dd[i] = dims[i];
    dnnl_status_t st = dnnl_memory_desc_init_by_tag(md, ndims, dd, type, tag);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "memory descriptor");
    return 0;
}

int mim__dnnl_gemm(mim__dnnl *d, int trans_a, int trans_b, long m, long n, long k, float alpha,
                   const float *a, const float *b, float beta, float *c)
{
    mim__dnnl_begin(d);
    dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a,
                                  trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
    if (st != dnnl_success)
        return mim__dnnl_fail(d, st, "sgemm");
    return 0;
}
