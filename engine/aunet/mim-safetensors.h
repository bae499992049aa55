/* mim-safetensors.h: safetensors files (the model format the field reads), plain C.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON header, then the byte buffer.
 * The header maps each tensor name to {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}
 * (offsets relative to the byte buffer) plus an optional "__metadata__" object of strings.
 *
 * Reading is strict, like the reference implementation: the header must be a JSON object, every
 * tensor entry complete and well typed, e - b must equal the tensor's size, and the tensors must
 * tile the byte buffer exactly (no hole, no overlap, nothing out of range, nothing after the
 * last). Truncated files, hostile offsets and shape overflows are refused with a message; nothing
 * is read outside the file.
 *
 * Writing collects tensors and metadata, then writes the file atomically: a temporary file in
 * the same folder, fsync, rename over the target, fsync of the folder. Tensors are written in the
 * order added; the header is padded with spaces to a multiple of 8 bytes.
 *
 * Functions returning int give 0 on success, -1 on failure with the reason in err (err_size
 * bytes, may be NULL/0).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MIM_ST_MAX_DIM    8
#define MIM_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef enum {
    MIM_ST_BOOL,
    MIM_ST_U8,
    MIM_ST_I8,
    MIM_ST_I16,
    MIM_ST_U16,
    MIM_ST_F16,
    MIM_ST_BF16,
    MIM_ST_I32,
    MIM_ST_U32,
    MIM_ST_F32,
    MIM_ST_F64,
    MIM_ST_I64,
    MIM_ST_U64,
    MIM_ST_N_DTYPES
} mim_st_dtype;

const char *mim_st_dtype_name(mim_st_dtype dt); /* "F32", ... */
size_t mim_st_dtype_size(mim_st_dtype dt);      /* bytes per element */

typedef struct {
    const char *name;
    mim_st_dtype dtype;
    int n_dim;
    int64_t shape[MIM_ST_MAX_DIM];
    uint64_t n_elements;
    uint64_t n_bytes;
    const void *data; /* inside the file's buffer; not necessarily aligned: copy it out */
} mim_st_tensor;

typedef struct mim_st_file mim_st_file;

/* Reads and validates the whole file at `path`. */
int mim_st_open(const char *path, mim_st_file **out, char *err, size_t err_size);
/* Validates a file image in memory; the bytes are copied. */
int mim_st_parse(const void *bytes, size_t n_bytes, mim_st_file **out, char *err, size_t err_size);
void mim_st_close(mim_st_file *f);

size_t mim_st_n_tensors(const mim_st_file *f);
/* Tensors in the order of their data offsets. */
const mim_st_tensor *mim_st_tensor_at(const mim_st_file *f, size_t i);
const mim_st_tensor *mim_st_find(const mim_st_file *f, const char *name);
/* A __metadata__ value, or NULL when the key is absent. */
const char *mim_st_meta(const mim_st_file *f, const char *key);
size_t mim_st_n_meta(const mim_st_file *f);
void mim_st_meta_at(const mim_st_file *f, size_t i, const char **key, const char **value);

/* Copies a tensor that must be F32 with exactly n elements into dst (checks dtype and count). */
int mim_st_read_f32(const mim_st_file *f, const char *name, float *dst, uint64_t n, char *err,
                    size_t err_size);

typedef struct mim_st_writer mim_st_writer;

mim_st_writer *mim_st_writer_new(void);
void mim_st_writer_free(mim_st_writer *w);
/* Adds a tensor; the data (n_elements * dtype size bytes) is copied. Names must be unique,
 * non-empty, valid UTF-8 without NUL, and not "__metadata__". */
int mim_st_writer_add(mim_st_writer *w, const char *name, mim_st_dtype dtype, int n_dim,
                      const int64_t *shape, const void *data, char *err, size_t err_size);
/* Sets (or replaces) a metadata string. */
int mim_st_writer_set_meta(mim_st_writer *w, const char *key, const char *value, char *err,
                           size_t err_size);
int mim_st_writer_write(const mim_st_writer *w, const char *path, char *err, size_t err_size);

/* Writes n bytes to `path` atomically (temporary file in the same folder + fsync + rename +
 * fsync of the folder). Used for every model and checkpoint file. */
int mim_write_file_atomic(const char *path, const void *const *parts, const size_t *part_sizes,
                          size_t n_parts, char *err, size_t err_size);
