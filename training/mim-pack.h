/* mim-pack.h: packs, the on-disk training set (ARCHITECTURE.md "Training").
 *
 * A pack is one file: a 256-byte header, then n fixed-size records, all little-endian.
 *
 *   header  offset  size  field
 *           0       8     magic "MIMPACK\0"
 *           8       4     u32 version (MIM_PACK_VERSION)
 *           12      4     u32 header bytes (256)
 *           16      4     u32 record bytes (see below)
 *           20      4     u32 n_au (1..MIM_PACK_MAX_AU)
 *           24      4     u32 n_land (49)
 *           28      4     u32 image side (200)
 *           32      8     u64 n records
 *           40      88    au_list: FACS numbers, comma-separated, NUL-terminated ("1,2,4,6,12,17")
 *           128     128   description (provenance), NUL-terminated
 *   record  u32 subject id, u32 source id (video, dataset list line, generator identity...),
 *           f32 landmarks (n_land,2) in aligned-image pixels (MODEL.md §1.1),
 *           f32 AU labels (n_au): 0 absent, 1 present, MIM_AU_MISSING (999) unknown,
 *           u8 RGB image (side,side,3) aligned (MODEL.md §1.1), then zero padding to 8 bytes.
 *
 * Reading maps the file (mmap) and checks everything before any access: magic, version, sizes,
 * the file length against n records (a truncated pack is refused), the AU list, every
 * landmark finite and within ±4 image sides, every label 0, 1 or 999. A pack that passes can be
 * read with no further checks. Writing goes to a temporary file renamed on success.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "aunet/mim-rng.h"

#define MIM_PACK_MAGIC        "MIMPACK"
#define MIM_PACK_VERSION      1
#define MIM_PACK_HEADER_BYTES 256
#define MIM_PACK_MAX_AU       32
#define MIM_PACK_SIDE         200
#define MIM_PACK_N_LAND       49
#define MIM_PACK_IMAGE_BYTES  (MIM_PACK_SIDE * MIM_PACK_SIDE * 3)

typedef struct mim_pack mim_pack;

/* Opens and validates a pack; NULL with the reason in err. */
mim_pack *mim_pack_open(const char *path, char *err, size_t err_size);
void mim_pack_close(mim_pack *p);

long mim_pack_n(const mim_pack *p);
int mim_pack_n_au(const mim_pack *p);
const char *mim_pack_au_list(const mim_pack *p);
const char *mim_pack_description(const mim_pack *p);
/* The FACS number of label column c. */
int mim_pack_au(const mim_pack *p, int c);

/* Record i (0 <= i < n), pointers into the mapping. */
const uint8_t *mim_pack_image(const mim_pack *p, long i);   /* (200,200,3) RGB */
const float *mim_pack_landmarks(const mim_pack *p, long i); /* (49,2) */
const float *mim_pack_labels(const mim_pack *p, long i);    /* (n_au) */
uint32_t mim_pack_subject(const mim_pack *p, long i);
uint32_t mim_pack_source(const mim_pack *p, long i);
/* Number of records with at least one label that is not missing. */
long mim_pack_n_labelled(const mim_pack *p);

/* Parses "1,2,4" into aus (at most max); returns the count, or -1 (with err) on a syntax error,
 * a number outside 1..99, a repeat or too many. */
int mim_pack_parse_au_list(const char *list, int *aus, int max, char *err, size_t err_size);
/* map[k] = the pack's column of aus[k], or -1 when the pack has no such AU (its labels then
 * read as missing). */
void mim_pack_au_map(const mim_pack *p, const int *aus, int n_aus, int *map);

/* ---- samples: MODEL.md §1.2 (training) and §1.3 (test) --------------------------------- */

/* Training transform of record i: crop offsets and flip drawn from rng (mim_sample_aug_draw),
 * x (3,176,176) normalised input, land (49) grid labels, labels (n_aus) through map (missing
 * where map[k] < 0). x, land, labels may each be NULL (the draws happen anyway). */
void mim_pack_train_sample(const mim_pack *p, long i, mim_rng *rng, const int *map, int n_aus,
                           float *x, int32_t *land, float *labels);
/* Test transform: centre crop (12,12), no flip. */
void mim_pack_test_sample(const mim_pack *p, long i, const int *map, int n_aus, float *x,
                          int32_t *land, float *labels);

/* A Fisher-Yates permutation of 0..n-1 drawn from rng. */
void mim_pack_shuffle(long *order, long n, mim_rng *rng);

/* ---- writing ----------------------------------------------------------------------------- */

typedef struct mim_pack_writer mim_pack_writer;

/* Starts a pack at path (written to path.tmp-PID until finish). au_list as in the header. */
mim_pack_writer *mim_pack_writer_new(const char *path, const char *au_list, const char *description,
                                     char *err, size_t err_size);
/* Appends one record: rgb (200,200,3) tightly packed, xy (49,2), labels (n_au; NULL = all
 * missing). Values are checked as the reader checks them. */
int mim_pack_writer_add(mim_pack_writer *w, const uint8_t *rgb, const float *xy,
                        const float *labels, uint32_t subject, uint32_t source, char *err,
                        size_t err_size);
long mim_pack_writer_n(const mim_pack_writer *w);
/* Writes the header, syncs and renames into place; frees w in every case. */
int mim_pack_writer_finish(mim_pack_writer *w, char *err, size_t err_size);
/* Drops the temporary file; frees w (NULL allowed). */
void mim_pack_writer_abort(mim_pack_writer *w);
