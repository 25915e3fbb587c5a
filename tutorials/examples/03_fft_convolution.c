// 03_fft_convolution.c - tutorials/03-fft-convolution.md, runnable: the FFT against the DFT,
// FFT convolution against the direct sum, and their cost as L grows (printed and drawn).
//   make tutorials && ./build/tutorials/03_fft_convolution     (writes fft_vs_direct.svg)
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../autograd/fftconv.h"
#include "../../tensor/fft.h"
#include "../../tensor/pool.h"
#include "../../tensor/rng.h"
#include "../../train/plot.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Median-free but honest: the best of `reps` runs of one forward pass.
static double time_forward(float *y, const float *u, const float *h, const float *bias, int L, int D, FftconvPath path,
                           int reps) {
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = seconds();
        fftconv_forward(y, u, h, bias, 1, L, D, path);
        best = fmin(best, seconds() - t0);
    }
    return best;
}

int main(void) {
    pool_init(0);
    Rng rng = rng_new(1);

    // 1. The FFT computes the DFT: compare bin 3 of a 16-sample signal with the sum itself.
    float x[16], re[9], im[9];
    rng_fill_uniform(&rng, x, 16, -1, 1);
    fft_rfft(16, 1, x, re, im);
    double dre = 0, dim = 0;
    for (int t = 0; t < 16; t++) {
        dre += x[t] * cos(2 * 3.14159265358979 * 3 * t / 16);
        dim -= x[t] * sin(2 * 3.14159265358979 * 3 * t / 16);
    }
    printf("bin 3 of a 16-point signal: FFT %.6f%+.6fi, DFT sum %.6f%+.6fi\n", re[3], im[3], dre, dim);

    // 2. The convolution theorem: FFT convolution equals the direct causal sum.
    int L = 1000, D = 16;
    float *u = malloc(sizeof(float) * 8192 * D), *h = malloc(sizeof(float) * 8192 * D);
    float *y1 = malloc(sizeof(float) * 8192 * D), *y2 = malloc(sizeof(float) * 8192 * D), bias[16];
    rng_fill_uniform(&rng, u, 8192L * D, -1, 1);
    for (int t = 0; t < 8192; t++)
        for (int d = 0; d < D; d++) h[t * D + d] = rng_uniform_range(&rng, -1, 1) * expf(-t / 300.0f);
    rng_fill_uniform(&rng, bias, D, -1, 1);
    fftconv_forward(y1, u, h, bias, 1, L, D, FFTCONV_DIRECT);
    fftconv_forward(y2, u, h, bias, 1, L, D, FFTCONV_FFT);
    float max_diff = 0;
    for (int i = 0; i < L * D; i++) max_diff = fmaxf(max_diff, fabsf(y1[i] - y2[i]));
    printf("L=%d, D=%d: direct and FFT convolution differ by at most %.2g\n\n", L, D, max_diff);

    // 3. Cost as L grows.
    double lengths[10], t_direct[10], t_fft[10];
    int n = 0;
    printf("%8s %12s %12s\n", "L", "direct ms", "FFT ms");
    for (int len = 16; len <= 8192; len *= 2, n++) {
        lengths[n] = len;
        t_direct[n] = len <= 4096 ? 1e3 * time_forward(y1, u, h, bias, len, D, FFTCONV_DIRECT, 3) : NAN;
        t_fft[n] = 1e3 * time_forward(y2, u, h, bias, len, D, FFTCONV_FFT, 5);
        if (isnan(t_direct[n])) printf("%8d %12s %12.4f\n", len, "(skipped)", t_fft[n]);
        else printf("%8d %12.4f %12.4f\n", len, t_direct[n], t_fft[n]);
    }
    // The direct sum grows like L^2: at 8192 it would take four times the 4096 figure, and the
    // plot leaves that point out (a NaN is a gap in plot_svg_write).
    printf("(direct at L = 8192 skipped: L^2 growth makes it about 4x the time at 4096)\n");
    PlotSeries series[] = {{"direct O(L^2)", lengths, t_direct, n}, {"FFT O(L log L)", lengths, t_fft, n}};
    PlotOptions options = {"Causal convolution, D = 16: forward time", "sequence length L", "milliseconds", true, true};
    if (plot_svg_write("fft_vs_direct.svg", &options, series, 2)) printf("\nwrote fft_vs_direct.svg\n");

    free(u);
    free(h);
    free(y1);
    free(y2);
    pool_shutdown();
    return 0;
}
