/* golden.h: reads the PyTorch reference export (MODEL.md §11, ../shared/golden/aunet-b2).
 *
 * The folder is $MIMICA_GOLDEN_DIR if set, else $MIMICA_SHARED_DIR/golden/aunet-b2. INDEX.txt
 * lists name, file, dtype, shape per tensor; weights_*.index.txt lists name, offset (floats),
 * numel, shape per parameter. Every file is raw little-endian float32 / int32; sizes are checked
 * against the index before anything is used.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define GOLDEN_NAME 96

typedef struct {
    char name[GOLDEN_NAME];
    char file[GOLDEN_NAME];
    int is_int; /* int32, else float32 */
    int n_dim;
    int64_t shape[8];
    size_t numel;
} golden_entry;

typedef struct {
    char dir[1024];
    golden_entry *entries;
    int n_entries;
} golden;

typedef struct {
    char name[GOLDEN_NAME];
    size_t offset, numel;
    int n_dim;
    int64_t shape[8];
    int has_grad; /* grads_*.index.txt: 0 for "none" (written as zeros); else 1 */
} golden_weight;

/* 0: opened; 1: the folder is absent (why says so: skip); -1: present but unreadable (why). */
int golden_open(golden *g, char *why, size_t why_size);
void golden_close(golden *g);
const golden_entry *golden_find(const golden *g, const char *name);
/* Reads a tensor listed in INDEX.txt; NULL with why on any mismatch. Free with free(). */
float *golden_read_f32(const golden *g, const char *name, size_t *numel, char *why,
                       size_t why_size);
int32_t *golden_read_i32(const golden *g, const char *name, size_t *numel, char *why,
                         size_t why_size);
/* Reads weights_<which>.index.txt ("init" / "step1"); *n set; free with free(). */
golden_weight *golden_read_weight_index(const golden *g, const char *which, int *n, char *why,
                                        size_t why_size);
/* Reads <stem>.index.txt (e.g. "grads_step1"): 4 fields per line as above, or 5 with grad|none. */
golden_weight *golden_read_param_index(const golden *g, const char *stem, int *n, char *why,
                                       size_t why_size);
/* Reads a whole text file (losses.json); NUL-terminated; free with free(). */
char *golden_read_text(const golden *g, const char *file, size_t *len, char *why, size_t why_size);
