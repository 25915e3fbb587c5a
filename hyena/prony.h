// prony.h - a first estimate of a filter's modes, by linear algebra alone (Prony's method, 1795).
//
// If h[t] = Re sum_{n<d} R_n λ_n^t exactly, h obeys a linear recurrence of order m = 2d (each
// complex mode and its conjugate are two roots of one real polynomial):
//   h[t] + a_1 h[t-1] + ... + a_m h[t-m] = 0                     for every t >= m
// 1. Find a_1..a_m by least squares over t = m .. L-1 (more equations than unknowns).
// 2. The poles are the roots of z^m + a_1 z^(m-1) + ... + a_m; keep one of each conjugate pair.
// 3. With the poles fixed, h is linear in the residues: least squares again.
// On a filter that is exactly modal this recovers its modes; on a trained filter it is a good
// starting point that gradient descent then improves (train/distill.c).
#ifndef HYENA_PRONY_H
#define HYENA_PRONY_H

#include <complex.h>

// h: L samples, stride floats apart (a column of an [L, C] filter bank). Writes d modes: poles
// and residues [d, 2] as (re, im), with |λ| clamped into [PRONY_MIN_RADIUS, exp(-MODAL_MIN_RATE)].
// Modes come out sorted by angle in [0, π], then radius; unused ones (a filter with fewer
// distinct modes than d) have residue 0.
//
// A trained filter is not exactly modal: with m = 2d, linear prediction spends its poles on the
// wiggles as much as on the shape. So the recurrence is fitted at PRONY_OVERSAMPLE times that
// order, and the d modes carrying the most energy are kept (their residues fitted again).
// Measured on the long preset's filters (hyena distill --steps 500, relative filter error of the
// worst layer): d = 8, 0.094 with m = 2d, 0.017 with m = 8d; d = 16, 0.074 and 0.012.
void prony_modes(const float *h, long stride, int L, int d, float *poles, float *residues);
#define PRONY_OVERSAMPLE 4

// Step 3 alone: the least-squares residues [d, 2] of h for fixed poles [d, 2].
void prony_residues(const float *h, long stride, int L, int d, const float *poles, float *residues);

// A pole at 0 contributes only at t = 0; below this radius poles are pushed out to it (its
// log-rate, about 2.5, is then finite for the optimizer).
#define PRONY_MIN_RADIUS 1e-3

// Least squares, min |A x - b|, by Householder QR. A: [rows, cols] row-major with rows >= cols,
// destroyed; b: [rows], destroyed; x: [cols]. A column the others already explain gets x = 0.
void lstsq(double *A, double *b, int rows, int cols, double *x);

// The m roots of z^m + a[0] z^(m-1) + ... + a[m-1] (Aberth's simultaneous iteration).
void poly_roots(const double *a, int m, double complex *roots);

// Why a few modes suffice: the Hankel matrix of a filter, H[i][j] = h[i + j + 1] (i, j < n), has
// rank 2d exactly when the filter (after its first tap) is the impulse response of a real
// recurrence of order 2d, i.e. d complex modes. Its singular values say how much each further
// state can add: when they fall fast, a small d reproduces the filter. Writes the n singular
// values, largest first, with n = min(L - 1, 2 max_n) / 2 (returned). H is square and symmetric,
// so they are the absolute eigenvalues, found by cyclic Jacobi rotations.
int hankel_singular_values(const float *h, long stride, int L, int max_n, double *sv);

#endif
