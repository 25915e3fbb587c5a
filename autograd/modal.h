// modal.h - a long filter written as a sum of damped complex exponentials (its modal form).
//
//   h[t, c] = Re sum_{n<d} R[c, n] λ[c, n]^t          t = 0 .. L-1, one filter per channel c
//
// λ are the poles (|λ| < 1: every mode decays), R the residues; d complex modes per channel. A
// filter of this form is the impulse response of a linear recurrence with d complex states,
//   x_n[t] = λ_n x_n[t-1] + u[t],   y[t] = Re sum_n R_n x_n[t],
// so a convolution with it can run as that recurrence in constant memory (hyena/generate.c,
// tutorials/13-from-convolution-to-recurrence.md).
//
// Complex numbers are stored as pairs of floats (re, im): poles and residues are [C, d, 2].
// For fitting, the poles are parameterized so that |λ| < 1 holds whatever the optimizer does
// (as the LRU of Orvieto et al. 2023):
//   λ = exp(-exp(log_rate) + i angle)       |λ| = exp(-exp(log_rate)) < 1
#ifndef HYENA_MODAL_H
#define HYENA_MODAL_H

#include "tape.h"

// The smallest decay rate, -log|λ|, a fitted pole may have: |λ| <= exp(-1e-5), a mode that
// halves in about 70 000 steps. Without a floor, exp(-exp(log_rate)) rounds to exactly 1.
#define MODAL_MIN_RATE 1e-5

// h: [L, C] from poles and residues [C, d, 2]. Each filter is accumulated in double (λ^t by
// repeated multiplication stays accurate over 10^5 steps); channels are shared among threads.
void modal_filter_forward(float *h, const float *poles, const float *residues, int C, int d, int L);

// The same convolution as a recurrence, over L rows: u, y: [L, C], state: [C, d, 2], updated
// (zeros before the first row). For each channel and mode, per row t:
//   x_n <- λ_n x_n + u[t],   y[t] = Re sum_n R_n x_n + bias u[t]
// Generation calls it with L = 1; y equals fftconv_forward with the modal filter (the tests).
void modal_scan(float *y, const float *u, const float *poles, const float *residues, const float *bias, float *state,
                long L, int C, int d);

// The differentiable version, for fitting: log_rate, angle: [C, d], residues: [C, d, 2]  ->  [L, C]
Var *ag_modal_filter(Tape *tape, Var *log_rate, Var *angle, Var *residues, int L);
// The pole that ag_modal_filter's parameters stand for, as (re, im).
void modal_pole(float log_rate, float angle, float pole[2]);

#endif
