/* mim-rng.h: the explicit, seeded random number generator of the model code (initialisation,
 * crops, flips, shuffles). xoshiro256** seeded through splitmix64; the whole state is four
 * 64-bit words, saved in checkpoints so that a resumed run draws the same numbers. */
#pragma once

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mim_rng;

void mim_rng_seed(mim_rng *r, uint64_t seed);
uint64_t mim_rng_u64(mim_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double mim_rng_uniform(mim_rng *r);
/* Uniform integer in [0, n) without modulo bias; n >= 1. */
uint64_t mim_rng_below(mim_rng *r, uint64_t n);
