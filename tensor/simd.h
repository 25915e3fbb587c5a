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
