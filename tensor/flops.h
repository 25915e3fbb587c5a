// flops.h - a running count of the floating-point operations the big kernels have done, so that a
// profile can say how many GFLOP/s a training step achieved and compare that with the machine's
// FMA peak (hyena bench peak).
//
// Conventions, the usual ones: a matrix product [m, k] x [k, n] is 2mnk operations (one multiply
// and one add per term); a real FFT of size n is 2.5 n log2(n) (half the 5 n log2 n of a complex
// one). Elementwise kernels are not counted: they are bound by memory bandwidth, not arithmetic,
// and a profile shows them by their time.
#ifndef HYENA_FLOPS_H
#define HYENA_FLOPS_H

// Add n operations to the count. Safe from any thread (one relaxed atomic add per kernel call).
void flops_add(double n);
// Operations counted since the program started.
double flops_count(void);

#endif
