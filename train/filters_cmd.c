// filters_cmd.c - `hyena filters --ckpt F --out DIR`: what each Hyena layer's long filters learned.
//
// For every Hyena layer, three charts of five of its filters (channels spread across the first
// long convolution, whose window decays from fastest to slowest):
//   layer<i>_filters.svg   h[t], the windowed filter the convolution uses, t = 0 .. context-1
//   layer<i>_spectrum.svg  |H(f)|, the magnitude of its real FFT (zero-padded to a power of two):
//                          which frequencies the layer passes, on a log scale
//   layer<i>_window.svg    the window exp(-t |delta|) + shift alone: how far each filter can reach
#include "filters_cmd.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../autograd/tape.h"
#include "../tensor/fft.h"
#include "../tensor/pool.h"
#include "checkpoint.h"
#include "plot.h"

#define SHOWN 5  // filters per chart

static void usage(FILE *f) {
    fprintf(f, "usage: hyena filters --ckpt FILE [--out DIR]\n"
               "Draws every Hyena layer's long filters as SVG: the filters, their magnitude spectra and\n"
               "their decay windows, five channels each (layer<i>_filters.svg, _spectrum.svg, _window.svg).\n"
               "  --ckpt FILE   a checkpoint (hyena train writes them)\n"
               "  --out DIR     where the charts go (default filters_out; created if missing)\n");
}

// The three charts of one layer. h, window: [L, channels]; shown[k] is the k-th channel drawn.
static bool draw_layer(const char *dir, int layer, const float *h, const float *window, int L, int channels,
                       const int *shown) {
    int n = 1;
    while (n < L) n *= 2;
    int bins = n / 2 + 1;
    double *t = malloc(sizeof(double) * (size_t)L), *f = malloc(sizeof(double) * (size_t)bins);
    double *ys = malloc(sizeof(double) * (size_t)SHOWN * (size_t)(2 * L + bins));
    float *signal = calloc((size_t)n, sizeof(float)), *re = malloc(sizeof(float) * (size_t)bins),
          *im = malloc(sizeof(float) * (size_t)bins);
    char labels[SHOWN][32];
    PlotSeries filt[SHOWN], spec[SHOWN], win[SHOWN];
    for (int i = 0; i < L; i++) t[i] = i;
    for (int b = 0; b < bins; b++) f[b] = (double)b / n;  // cycles per token
    for (int k = 0; k < SHOWN; k++) {
        double *yh = ys + (size_t)k * (2 * L + bins), *yw = yh + L, *ym = yw + L;
        for (int i = 0; i < L; i++) {
            yh[i] = h[(size_t)i * channels + shown[k]];
            yw[i] = window[(size_t)i * channels + shown[k]];
            signal[i] = (float)yh[i];
        }
        fft_rfft(n, 1, signal, re, im);
        for (int b = 0; b < bins; b++) ym[b] = hypot(re[b], im[b]);
        snprintf(labels[k], sizeof labels[k], "channel %d", shown[k]);
        filt[k] = (PlotSeries){labels[k], t, yh, L};
        win[k] = (PlotSeries){labels[k], t, yw, L};
        spec[k] = (PlotSeries){labels[k], f, ym, bins};
    }
    char title[3][96], path[3][1200];
    snprintf(title[0], sizeof title[0], "Layer %d: long filters h[t]", layer);
    snprintf(title[1], sizeof title[1], "Layer %d: magnitude spectra |H(f)|", layer);
    snprintf(title[2], sizeof title[2], "Layer %d: decay windows exp(-t |delta|) + shift", layer);
    snprintf(path[0], sizeof path[0], "%s/layer%d_filters.svg", dir, layer);
    snprintf(path[1], sizeof path[1], "%s/layer%d_spectrum.svg", dir, layer);
    snprintf(path[2], sizeof path[2], "%s/layer%d_window.svg", dir, layer);
    PlotOptions o0 = {title[0], "t (tokens back)", "h[t]", false, false};
    PlotOptions o1 = {title[1], "frequency (cycles per token)", "|H(f)|", false, true};
    PlotOptions o2 = {title[2], "t (tokens back)", "window", false, false};
    bool ok = plot_svg_write(path[0], &o0, filt, SHOWN) && plot_svg_write(path[1], &o1, spec, SHOWN) &&
              plot_svg_write(path[2], &o2, win, SHOWN);
    free(t);
    free(f);
    free(ys);
    free(signal);
    free(re);
    free(im);
    return ok;
}

int filters_main(int argc, char **argv) {
    const char *ckpt = NULL, *out = "filters_out";
    for (int i = 0; i < argc; i++) {
        bool v = i + 1 < argc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ckpt") == 0 && v) ckpt = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) out = argv[++i];
        else {
            fprintf(stderr, "hyena filters: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt) {
        fprintf(stderr, "hyena filters: --ckpt FILE is required (see --help)\n");
        return 2;
    }
    pool_init(0);
    TrainConfig cfg;
    Model model;
    Tokenizer tok;
    if (!checkpoint_open(ckpt, &cfg, &model, &tok)) return 1;
    bool ok = mkdir(out, 0755) == 0 || errno == EEXIST;
    if (!ok) fprintf(stderr, "hyena: cannot create %s: %s\n", out, strerror(errno));
    int drawn = 0, L = model.cfg.context, D = model.cfg.d_model;
    Arena arena;
    arena_init(&arena, 0);
    for (int i = 0; ok && i < model.cfg.n_layers; i++) {
        if (model.blocks[i].kind != MIXER_HYENA) continue;
        const HyenaFilter *filter = &model.blocks[i].hyena.filter;
        Tape tape;
        tape_init(&tape, &arena);
        Var *h = hyena_filter_forward(&tape, filter, L);  // [L, channels]
        float *window = malloc(sizeof(float) * (size_t)L * (size_t)filter->channels);
        hyena_filter_window(filter, L, window);
        int shown[SHOWN];
        for (int k = 0; k < SHOWN; k++) shown[k] = (int)((long)k * (D - 1) / (SHOWN - 1));  // the first convolution
        ok = draw_layer(out, i, h->value.data, window, L, filter->channels, shown);
        free(window);
        arena_reset(&arena);
        drawn++;
    }
    arena_free(&arena);
    if (ok && drawn == 0) printf("%s has no Hyena layers: nothing to draw\n", ckpt);
    else if (ok) printf("wrote %d charts for %d Hyena layers to %s/ (filters, spectra, windows)\n", 3 * drawn, drawn, out);
    model_free(&model);
    tokenizer_free(&tok);
    return ok ? 0 : 1;
}
