// rng.c - xoshiro256** and the distributions built on it.
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

Rng rng_new(uint64_t seed) {
    Rng r;
    for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&seed);  // never all zero
    return r;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(Rng *rng) {
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(Rng *rng) { return (float)(rng_next(rng) >> 40) * (1.0f / 16777216.0f); }

float rng_uniform_range(Rng *rng, float lo, float hi) { return lo + (hi - lo) * rng_uniform(rng); }

float rng_normal(Rng *rng) {
    // Box-Muller. u1 is taken from (0, 1] so the log is finite; the second value is discarded to
    // keep the state a pure function of how many numbers were drawn.
    double u1 = ((double)(rng_next(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double u2 = (double)(rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t rng_below(Rng *rng, uint32_t n) {
    // Lemire's multiply-and-reject: unbiased without a division in the common case.
    uint64_t m = (rng_next(rng) >> 32) * (uint64_t)n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (rng_next(rng) >> 32) * (uint64_t)n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void rng_fill_uniform(Rng *rng, float *x, long n, float lo, float hi) {
    for (long i = 0; i < n; i++) x[i] = rng_uniform_range(rng, lo, hi);
}

void rng_fill_normal(Rng *rng, float *x, long n, float mean, float std) {
    for (long i = 0; i < n; i++) x[i] = mean + std * rng_normal(rng);
}
