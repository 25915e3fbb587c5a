// fftconv.h - causal long convolution with one filter per channel, through FFTs or directly.
//
//   y[b, t, d] = sum_{s <= t} h[t - s, d] * u[b, s, d]  +  bias[d] * u[b, t, d]
//
// u, y: [B, L, D] (the layout of activations: channel d of batch b is a strided column),
// h: [L, D] (the filter of channel d is column d), bias: [D]. Any L >= 1.
#ifndef HYENA_FFTCONV_H
#define HYENA_FFTCONV_H

#include "tape.h"

typedef enum FftconvPath {
    FFTCONV_AUTO,    // direct up to FFTCONV_DIRECT_MAX_L, FFT above (the measured crossover)
    FFTCONV_FFT,     // O(L log L): zero-pad to n = fft_conv_size(L) >= 2L, multiply spectra
    FFTCONV_DIRECT,  // O(L^2): the sum as written
} FftconvPath;

// Up to this length the direct sum beats the FFTs: measured with `hyena bench fftconv` (D = 128,
// forward + backward, 1 thread) direct is 1.7x faster at L = 16 and FFT 1.2x faster at L = 32.
#define FFTCONV_DIRECT_MAX_L 24

// y = conv(u, h) + bias * u    (overwrites y)
void fftconv_forward(float *y, const float *u, const float *h, const float *bias, int B, int L, int D,
                     FftconvPath path);
// Adds the gradients: gu += correlate(gy, h) + bias * gy, gh += sum_b correlate(gy, u),
// gbias += sum_{b,t} gy * u. Any of gu, gh, gbias may be NULL.
void fftconv_backward(float *gu, float *gh, float *gbias, const float *gy, const float *u, const float *h,
                      const float *bias, int B, int L, int D, FftconvPath path);

// The same two, with the forward's spectra kept for the backward (what ag_fftconv does while
// recording): the forward writes rfft(h) and rfft(u) to `spectra`, fftconv_spectra_floats(B, L, D)
// floats, and the backward reads them there instead of transforming h and u again, which saves
// two of its five transforms. Same bits as without. On the direct path `spectra` is not touched
// (fftconv_uses_fft says which path a length takes).
bool fftconv_uses_fft(FftconvPath path, int L);
size_t fftconv_spectra_floats(int B, int L, int D);
void fftconv_forward_keeping(float *y, float *spectra, const float *u, const float *h, const float *bias, int B,
                             int L, int D, FftconvPath path);
void fftconv_backward_from(const float *spectra, float *gu, float *gh, float *gbias, const float *gy,
                           const float *u, const float *h, const float *bias, int B, int L, int D,
                           FftconvPath path);

// u: [B, L, D], h: [L, D], bias: [D]  ->  [B, L, D]
Var *ag_fftconv(Tape *tape, Var *u, Var *h, Var *bias, FftconvPath path);

#endif
