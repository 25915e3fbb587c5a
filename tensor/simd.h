// simd.h - one vector type for every target, through GCC/Clang vector extensions.
//
// A fast kernel needs the compiler to do two things: use the widest vector instructions the CPU
// has, and keep a tile of accumulators in registers. Leaving both to the auto-vectorizer works
// for one compiler at one width and fails silently elsewhere (gcc kept the matmul's 8x32
// accumulator in AVX-512 registers, but spilled its 6x16 AVX2 tile to memory: 40x slower).
//
// Vector extensions say it outright. `vecf` below is VEC_FLOATS floats that the compiler treats
// as one value: `a + b`, `a * b`, `acc += x * b` (with x a float, broadcast to every lane) are
// single instructions, and -ffp-contract=fast turns the last into one FMA. gcc and clang both
// accept the same source, and pick the instructions for the target:
//
//   target (how it is built)            VEC_FLOATS   registers   instructions
//   x86-64 with AVX-512 (-march=native)     16           32       vfmadd231ps zmm
//   x86-64 with AVX2 (-march=x86-64-v3)      8           16       vfmadd231ps ymm
//   x86-64 baseline (ARCH=)                  4           16       mulps + addps (SSE2)
//   ARM64 (Apple M*, Graviton, Pi 5)         4           32       fmla v.4s (NEON)
//
// No intrinsics, no assembly: the same lines read as plain arithmetic in a debugger
// (`print acc[0][0]` shows the lanes).
#ifndef HYENA_SIMD_H
#define HYENA_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define VEC_FLOATS 16
#define VEC_REGISTERS 32
#elif defined(__AVX__)
#define VEC_FLOATS 8
#define VEC_REGISTERS 16
#elif defined(__aarch64__)
#define VEC_FLOATS 4
#define VEC_REGISTERS 32
#else  // SSE2 (every x86-64) and anything else with 16-byte vectors
#define VEC_FLOATS 4
#define VEC_REGISTERS 16
#endif

typedef float vecf __attribute__((vector_size(VEC_FLOATS * sizeof(float))));

// Loads and stores through memcpy: any alignment, no aliasing questions, and both compilers
// turn them into one unaligned vector move.
static inline vecf vec_load(const float *p) {
    vecf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vec_store(float *p, vecf v) { memcpy(p, &v, sizeof v); }

static inline vecf vec_splat(float x) { return (vecf){0} + x; }

// One 32-bit integer per float lane: what a comparison of two vecf gives (every bit set in the
// lanes where it holds, none elsewhere), and what __builtin_convertvector(v, veci) makes of v.
typedef int32_t veci __attribute__((vector_size(VEC_FLOATS * sizeof(int32_t))));

// `mask ? a : b` lane by lane (C, unlike C++, has no ?: on vectors). Casting a vecf to veci
// reinterprets its bits, so this is two ANDs and an OR, or one blend instruction.
static inline vecf vec_select(veci mask, vecf a, vecf b) { return (vecf)((mask & (veci)a) | (~mask & (veci)b)); }

// ---- four floats, on every target: the unit of the small transposes in fft.c

typedef float vec4 __attribute__((vector_size(4 * sizeof(float))));

static inline vec4 vec4_load(const float *p) {
    vec4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void vec4_store(float *p, vec4 v) { memcpy(p, &v, sizeof v); }

// Shuffles pick lanes of a (0-3) and b (4-7). The two compilers spell it differently; the
// instructions are the same (unpcklps/shufps on x86, zip1/uzp1 on ARM).
#if defined(__clang__)
#define VEC4_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
typedef int vec4_index __attribute__((vector_size(4 * sizeof(int))));
#define VEC4_SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, (vec4_index){i, j, k, l})
#endif

static inline vec4 vec4_interleave_low(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 0, 4, 1, 5); }   // a0 b0 a1 b1
static inline vec4 vec4_interleave_high(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 2, 6, 3, 7); }  // a2 b2 a3 b3
static inline vec4 vec4_low_halves(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 0, 1, 4, 5); }       // a0 a1 b0 b1
static inline vec4 vec4_high_halves(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 2, 3, 6, 7); }      // a2 a3 b2 b3
static inline vec4 vec4_evens(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 0, 2, 4, 6); }            // a0 a2 b0 b2
static inline vec4 vec4_odds(vec4 a, vec4 b) { return VEC4_SHUFFLE(a, b, 1, 3, 5, 7); }             // a1 a3 b1 b3

// r[i][j] <- r[j][i] for a 4x4 block held in four vectors: two rounds of interleaving.
static inline void vec4_transpose(vec4 r[4]) {
    vec4 t0 = vec4_interleave_low(r[0], r[1]), t1 = vec4_interleave_high(r[0], r[1]);
    vec4 t2 = vec4_interleave_low(r[2], r[3]), t3 = vec4_interleave_high(r[2], r[3]);
    r[0] = vec4_low_halves(t0, t2);
    r[1] = vec4_high_halves(t0, t2);
    r[2] = vec4_low_halves(t1, t3);
    r[3] = vec4_high_halves(t1, t3);
}

// The vector ISA this build uses, for `hyena --version` and the benchmarks' "build" field.
static inline const char *vec_isa_name(void) {
#if defined(__AVX512F__)
    return "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
    return "avx2+fma";
#elif defined(__AVX__)
    return "avx";
#elif defined(__aarch64__)
    return "neon";
#elif defined(__SSE2__)
    return "sse2";
#else
    return "scalar";
#endif
}

#endif
