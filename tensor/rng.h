// rng.h - a seedable pseudo-random generator whose whole state is four numbers.
//
// xoshiro256** (Blackman & Vigna), seeded through splitmix64. The state is a plain struct, so
// saving it in a checkpoint and restoring it continues the exact same stream: that is what makes
// a resumed run bit-identical to an uninterrupted one.
#ifndef HYENA_RNG_H
#define HYENA_RNG_H

#include <stdint.h>

typedef struct Rng {
    uint64_t s[4];
} Rng;

Rng rng_new(uint64_t seed);
uint64_t rng_next(Rng *rng);                  // 64 random bits
float rng_uniform(Rng *rng);                  // [0, 1), 24 random bits
float rng_uniform_range(Rng *rng, float lo, float hi);
float rng_normal(Rng *rng);                   // mean 0, standard deviation 1
uint32_t rng_below(Rng *rng, uint32_t n);     // uniform integer in [0, n), unbiased
void rng_fill_uniform(Rng *rng, float *x, long n, float lo, float hi);
void rng_fill_normal(Rng *rng, float *x, long n, float mean, float std);

#endif
