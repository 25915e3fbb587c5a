// vmath.h - exp, sin, cos and GELU written so that a loop over them becomes vector code.
//
// libm's expf and erff are calls: a loop `out[i] = gelu(a[i])` that calls them runs one element
// at a time, and in the training step GELU and its derivative alone took a fifth of the time.
// The functions below use only what a vector unit has (multiply, add, min/max, float<->int
// conversion, reinterpreting bits) and no branches, and they are `static inline`, so gcc and clang
// both vectorize the loops that call them, at any ISA (check: the loop in unary_chunk turns into
// `vfmadd...ps` instructions, not `call erff`).
//
// Accuracy, measured against double precision on a grid of 800k points in [-12, 12]: vexp within
// 4 ulp; |gelu error| <= 1.3e-7 max(1, |x|) and |gelu_derivative error| <= 2.2e-7, about what the
// same formulas give with libm's erff and expf (1.0e-7 and 1.3e-7), and far better relative
// accuracy in the negative tail, where 1 + erf(x) cancels. tests/test_tensor.c holds them to it.
#ifndef HYENA_VMATH_H
#define HYENA_VMATH_H

#include <stdint.h>
#include <string.h>

#include "simd.h"

// e^x = 2^n e^r, with n = round(x / ln 2) and r = x - n ln 2 in [-ln2/2, ln2/2], where a degree-6
// Taylor polynomial is accurate to float precision. 2^n is built straight into the exponent bits.
static inline float vexp(float x) {
    // Written so that a NaN also lands in range (every comparison with NaN is false): converting
    // NaN to an integer below is undefined behaviour, which UBSan reports and fuzzing found.
    float xc = x > -87.0f ? x : -87.0f;               // keeps 2^n a normal float; below, e^x -> 0
    xc = xc < 88.0f ? xc : 88.0f;                     // above: e^x overflows float anyway
    // Rounding without a call: adding 1.5 * 2^23 pushes the fraction bits out of a float.
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693145751953125f - n * 1.42860682030941723e-6f;  // ln 2 in two parts: r exact
    // The polynomial in Estrin's form: pairs of terms first, then the pairs combined with r^2 and
    // r^4. Horner's form would be a chain of six dependent multiply-adds; this is three deep, and
    // the loops that call vexp are bound by that chain's latency, not by the number of operations.
    float r2 = r * r, r4 = r2 * r2;
    float p = (1.0f + r) + r2 * (0.5f + r * (1.0f / 6)) + r4 * ((1.0f / 24 + r * (1.0f / 120)) + r2 * (1.0f / 720));
    int32_t bits = ((int32_t)n + 127) * (1 << 23);   // the float 2^n
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = x < -87.0f ? 0.0f : p * scale;
    return x == x ? y : x;                            // NaN in, NaN out
}

// Phi(x) = P(N(0,1) <= x) = erfc(-x / sqrt 2) / 2. erfc(z) for z >= 0 is Numerical Recipes'
// Chebyshev fit (erfcc, relative error < 1.2e-7 everywhere), so Phi keeps its relative accuracy
// far into the negative tail, where x * Phi(x) is tiny but not zero.
static inline float normal_cdf(float x) {
    float z = (x < 0.0f ? -x : x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.5f * z);
    // The degree-9 polynomial in t, in Estrin's form as in vexp: four multiply-adds deep, not nine.
    float t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
    float poly = ((-1.26551223f + t * 1.00002368f) + t2 * (0.37409196f + t * 0.09678418f)) +
                 t4 * ((-0.18628806f + t * 0.27886807f) + t2 * (-1.13520398f + t * 1.48851587f)) +
                 t8 * (-0.82215223f + t * 0.17087277f);
    float half_erfc = 0.5f * t * vexp(poly - z * z);  // = Phi(-|x|)
    return x < 0.0f ? half_erfc : 1.0f - half_erfc;
}

// sin and cos. x = j pi/2 + r with j = round(x 2/pi) and |r| <= pi/4; then, by the quadrant,
//   j mod 4 = 0, 1, 2, 3:   sin x = sin r, cos r, -sin r, -cos r
// and cos x is sin x one quadrant later. On |r| <= pi/4 the Taylor series of sin r to r^9 and of
// cos r to r^10 are within float precision (the first terms left out are below 3e-9).
// pi/2 is subtracted in three parts (Cody and Waite): the first two have few enough bits that
// j times them is exact while |x| <= VTRIG_MAX_ARG, so r keeps its accuracy even where sin x is
// near zero. Arguments beyond that, and NaN, are not reduced here: this returns a wrong but
// defined value for them (no NaN is converted to an integer), and callers give them to libm
// (trig_span in tensor/ops.c). Measured against double over all of |x| <= 8192: within 9.5e-8.
#define VTRIG_MAX_ARG 8192.0f

static inline float sin_quadrants_later(float x, int quadrants) {
    float xc = (x >= -VTRIG_MAX_ARG && x <= VTRIG_MAX_ARG) ? x : 0.0f;   // NaN is false: 0
    float j = (xc * 0.636619772367581343f + 12582912.0f) - 12582912.0f;  // round, as in vexp
    float r = ((xc - j * 1.5703125f) - j * 4.837512969970703125e-4f) - j * 7.549790126404332e-8f;
    float s = r * r, s2 = s * s;   // both series are polynomials in s = r^2, in Estrin's form
    float sin_r = r * ((1.0f - s * (1.0f / 6)) +
                       s2 * ((1.0f / 120 - s * (1.0f / 5040)) + s2 * (1.0f / 362880)));
    float cos_r = (1.0f - 0.5f * s) +
                  s2 * ((1.0f / 24 - s * (1.0f / 720)) + s2 * (1.0f / 40320 - s * (1.0f / 3628800)));
    int q = ((int)j + quadrants) & 3;
    float v = (q & 1) ? cos_r : sin_r;
    return (q & 2) ? -v : v;
}

static inline float vsin(float x) { return sin_quadrants_later(x, 0); }
static inline float vcos(float x) { return sin_quadrants_later(x, 1); }

// GELU, the exact one (PyTorch's default): x Phi(x).
static inline float gelu(float x) { return x * normal_cdf(x); }

// d/dx [x Phi(x)] = Phi(x) + x phi(x), phi the standard normal density. The backward of the GELU
// op is given Phi(x) by its forward, which computed it anyway: then one exponential remains, not
// two and the erfc polynomial (the backward got 4x faster, measured on Zen 1 with gcc).
static inline float gelu_derivative_given_cdf(float x, float cdf) {
    return cdf + x * 0.39894228040143268f * vexp(-0.5f * x * x);
}

static inline float gelu_derivative(float x) { return gelu_derivative_given_cdf(x, normal_cdf(x)); }

// ---- The same, a whole vector at a time (tensor/simd.h)
//
// A loop over the functions above is vectorized at the width the compiler's tuning picks, and
// gcc's tuning for the first Zen generation (what -march=native means on such a laptop) picks
// 128-bit vectors, half of what AVX2 has: GELU ran at 5.8 ns per element there, 4.4 at 256 bits.
// GELU is the map heavy enough for that to show (8% of a B=12 training step, 10% of a recall
// step), so its loops (tensor/ops.c, autograd/op_elementwise.c) call these, which say the width
// outright: VEC_FLOATS lanes, whatever the tuning. Line for line the scalar functions, with
// vec_select for each `?:`; the tests hold the two to each other.
static inline vecf vexp_vec(vecf x) {
    vecf xc = vec_select(x > -87.0f, x, vec_splat(-87.0f));   // NaN lands in range, as above
    xc = vec_select(xc < 88.0f, xc, vec_splat(88.0f));
    vecf n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    vecf r = xc - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
    vecf r2 = r * r, r4 = r2 * r2;
    vecf p = (1.0f + r) + r2 * (0.5f + r * (1.0f / 6)) + r4 * ((1.0f / 24 + r * (1.0f / 120)) + r2 * (1.0f / 720));
    veci bits = (__builtin_convertvector(n, veci) + 127) << 23;   // a shift: vector integer multiplies are slow
    vecf y = vec_select(x < -87.0f, vec_splat(0.0f), p * (vecf)bits);
    return vec_select(x == x, y, x);
}

static inline vecf normal_cdf_vec(vecf x) {
    vecf z = (vecf)((veci)x & 0x7fffffff) * 0.70710678118654752f;   // |x|: the sign bit cleared
    vecf t = 1.0f / (1.0f + 0.5f * z);
    vecf t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
    vecf poly = ((-1.26551223f + t * 1.00002368f) + t2 * (0.37409196f + t * 0.09678418f)) +
                t4 * ((-0.18628806f + t * 0.27886807f) + t2 * (-1.13520398f + t * 1.48851587f)) +
                t8 * (-0.82215223f + t * 0.17087277f);
    vecf half_erfc = 0.5f * t * vexp_vec(poly - z * z);
    return vec_select(x < 0.0f, half_erfc, 1.0f - half_erfc);
}

static inline vecf gelu_derivative_given_cdf_vec(vecf x, vecf cdf) {
    return cdf + x * 0.39894228040143268f * vexp_vec(-0.5f * x * x);
}

#endif
