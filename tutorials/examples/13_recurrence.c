// 13_recurrence.c - tutorials/13-from-convolution-to-recurrence.md, runnable: a long filter made
// of a few damped complex exponentials is a recurrence; a filter that is not can be fitted by one.
//   make tutorials && ./build/tutorials/13_recurrence
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../autograd/fftconv.h"
#include "../../autograd/modal.h"
#include "../../hyena/prony.h"
#include "../../tensor/pool.h"
#include "../../tensor/rng.h"
#include "../../train/distill.h"

int main(void) {
    pool_init(0);
    // 1. Two channels of four modes each: h[t] = Re sum_n R_n λ_n^t.
    enum { C = 2, d = 4, L = 1000 };
    float poles[C * d * 2], residues[C * d * 2], bias[C] = {0.5f, -0.25f}, state[C * d * 2] = {0};
    Rng rng = rng_new(1);
    for (int k = 0; k < C * d; k++) {
        double r = 0.9 + 0.09 * rng_uniform(&rng), angle = 3.0 * rng_uniform(&rng);
        poles[2 * k] = (float)(r * cos(angle));
        poles[2 * k + 1] = (float)(r * sin(angle));
        residues[2 * k] = rng_uniform(&rng) - 0.5f;
        residues[2 * k + 1] = rng_uniform(&rng) - 0.5f;
    }
    float *h = malloc(sizeof(float) * L * C), *u = malloc(sizeof(float) * L * C);
    float *y_fft = malloc(sizeof(float) * L * C), *y_rec = malloc(sizeof(float) * L * C);
    rng_fill_uniform(&rng, u, L * C, -1, 1);
    modal_filter_forward(h, poles, residues, C, d, L);
    fftconv_forward(y_fft, u, h, bias, 1, L, C, FFTCONV_FFT);          // the convolution, all at once
    modal_scan(y_rec, u, poles, residues, bias, state, L, C, d);        // the recurrence, step by step
    double worst = 0, scale = 0;
    for (int i = 0; i < L * C; i++) {  // (not fmax: it crashes gcc 12's vectorizer for aarch64)
        double diff = fabs(y_fft[i] - y_rec[i]), size = fabs(y_fft[i]);
        worst = diff > worst ? diff : worst;
        scale = size > scale ? size : scale;
    }
    printf("convolution by FFT vs recurrence with %d states per channel, %d steps: largest difference %.1e "
           "(outputs up to %.2f)\n", d, L, worst, scale);

    // 2. A filter that is not a sum of a few exponentials: a power-law decay (long memory, as
    // trained filters often have), h[t] = cos(0.05 t) / (1 + t)^1.2. How fast do its Hankel
    // singular values fall, and how well do d modes fit it?
    enum { Lf = 512 };
    float *g = malloc(sizeof(float) * Lf);
    for (int t = 0; t < Lf; t++) g[t] = (float)(cos(0.05 * t) / pow(1.0 + t, 1.2));
    double sv[255];
    int n = hankel_singular_values(g, 1, Lf, 255, sv);
    printf("Hankel singular values of cos(0.05 t) / (1 + t)^1.2 (%d of them), relative to the first:\n ", n);
    for (int k = 1; k <= 12; k++) printf(" %.0e", sv[k] / sv[0]);
    printf(" ...\n");
    for (int order = 1; order <= 16; order *= 2) {
        float p[16 * 2], r[16 * 2];
        DistillOptions o = distill_options_default(order);
        printf("  d = %2d modes: relative filter error %.4f\n", order, distill_fit(g, Lf, 1, &o, p, r));
    }
    free(g);
    free(h);
    free(u);
    free(y_fft);
    free(y_rec);
    pool_shutdown();
    return 0;
}
