// fft.h - the real fast Fourier transform, for power-of-two sizes 1 .. 2^22.
//
// Conventions (as numpy.fft.rfft / irfft): for a real signal x of length n,
//   X[k] = sum_t x[t] exp(-2 pi i k t / n),  k = 0 .. n/2          (n/2 + 1 complex numbers)
//   x[t] = (1/n) sum_k X[k] exp(+2 pi i k t / n), over all n bins    (irfft is the exact inverse)
// Spectra are stored split: real parts in one array, imaginary parts in another.
#ifndef HYENA_FFT_H
#define HYENA_FFT_H

#include <stdbool.h>
#include <stddef.h>

#define FFT_MAX_LOG2 22
#define FFT_COLUMNS 16   // signals transformed side by side in one vector register's width

typedef struct FftPlan {
    int n;            // the real transform size
    int half;         // n/2: the size of the complex transform that does the work (1 when n <= 2)
    float *wr, *wi;   // exp(-2 pi i j / half), j < half: every twiddle a complex stage needs
    float *rr, *ri;   // exp(-2 pi i k / n), k <= half: the twiddles that untangle a real input
    int n1, n2;       // a lone long signal's complex transform as an n1 x n2 matrix (the four-step method)
    float *sr, *si;   // its twiddles exp(-2 pi i t2 k1 / half), [k1][t2]: k1 < n1, t2 < n2
} FftPlan;

// The plan for size n (a power of two, 1 .. 2^22), built on first use and cached for the life
// of the program. Safe to call from any thread.
const FftPlan *fft_plan(int n);
bool fft_is_power_of_two(long n);
// The smallest power of two >= 2*L: the size at which circular convolution of two length-L
// signals equals their linear convolution.
int fft_conv_size(int L);

// ---- column transforms: g <= FFT_COLUMNS signals side by side (the layout of [L, D] activations)

// Floats of scratch that one call of the column transforms needs.
size_t fft_columns_scratch(const FftPlan *plan, int g);
// Forward: signal c is x[t*t_stride + c*c_stride] for t < len (len <= n), zero for len <= t < n.
// Spectrum out: re, im: [n/2 + 1][g], bin k of signal c at [k*g + c].
void fft_rfft_columns(const FftPlan *plan, const float *x, int len, long t_stride, long c_stride, int g,
                      float *re, float *im, float *scratch);
// Inverse: spectra re, im: [n/2 + 1][g] -> the first len samples of each signal, written (or, with
// accumulate, added) to y[t*t_stride + c*c_stride]. Includes the 1/n.
void fft_irfft_columns(const FftPlan *plan, const float *re, const float *im, int g, float *y, int len,
                       long t_stride, long c_stride, bool accumulate, float *scratch);

// ---- whole signals, threaded

// x: [batch][n] -> re, im: [batch][n/2 + 1]. Many signals are spread over threads in groups; a
// few long ones are each split into a matrix (the four-step method) so one transform also uses
// every core.
void fft_rfft(int n, int batch, const float *x, float *re, float *im);
// re, im: [batch][n/2 + 1] -> x: [batch][n]
void fft_irfft(int n, int batch, const float *re, const float *im, float *x);

#endif
