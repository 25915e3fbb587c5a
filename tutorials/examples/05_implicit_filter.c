// 05_implicit_filter.c - tutorials/05-implicit-filter.md, runnable: Hyena's long filters at
// initialization, before and after the window, drawn as SVG.
//   make tutorials && ./build/tutorials/05_implicit_filter    (writes filters_at_init.svg, window.svg)
#include <stdio.h>
#include <stdlib.h>

#include "../../hyena/filter.h"
#include "../../tensor/pool.h"
#include "../../train/plot.h"

int main(void) {
    pool_init(0);
    int D = 8, L = 256;
    HyenaConfig cfg = hyena_config_default(D, L);
    Arena params_arena, step;
    arena_init(&params_arena, 0);
    arena_init(&step, 0);
    ParamList params;
    params_init(&params, &params_arena);
    Rng rng = rng_new(0);
    HyenaFilter f;
    hyena_filter_init(&f, &cfg, &params, "", &rng);
    Tape tape;
    tape_init(&tape, &step);
    Var *h = hyena_filter_forward(&tape, &f, L);   // [L, channels], windowed
    float *window = malloc(sizeof(float) * L * f.channels);
    hyena_filter_window(&f, L, window);

    // Three channels: the slowest window (channel 0), a middle one, the fastest.
    int show[3] = {0, f.channels / 2, f.channels - 1};
    double t[256], filt[3][256], win[3][256];
    for (int i = 0; i < L; i++) {
        t[i] = i;
        for (int k = 0; k < 3; k++) {
            filt[k][i] = h->value.data[i * f.channels + show[k]];
            win[k][i] = window[i * f.channels + show[k]];
        }
    }
    char labels[3][48];
    PlotSeries fs[3], ws[3];
    for (int k = 0; k < 3; k++) {
        snprintf(labels[k], sizeof labels[k], "ch %d, decay %.1f", show[k],
                 (double)(f.deltas->value.data[show[k]] < 0 ? -f.deltas->value.data[show[k]] : f.deltas->value.data[show[k]]));
        fs[k] = (PlotSeries){labels[k], t, filt[k], L};
        ws[k] = (PlotSeries){labels[k], t, win[k], L};
    }
    PlotOptions fo = {"Implicit filters h[t] at initialization (windowed)", "t", "h[t]", false, false};
    PlotOptions wo = {"The window exp(-t |delta|) + shift", "t", "window", false, false};
    bool ok = plot_svg_write("filters_at_init.svg", &fo, fs, 3) && plot_svg_write("window.svg", &wo, ws, 3);
    printf("%d filters of length %d from a network with %ld parameters\n", f.channels, L, params_count(&params));
    printf("window at t = 0, L/4, L-1 for channel 0: %.3f %.3f %.3f; for channel %d: %.3f %.3f %.3f\n", window[0],
           window[(L / 4) * f.channels], window[(L - 1) * f.channels], f.channels - 1, window[f.channels - 1],
           window[(L / 4) * f.channels + f.channels - 1], window[(L - 1) * f.channels + f.channels - 1]);
    if (ok) printf("wrote filters_at_init.svg and window.svg\n");
    free(window);
    params_free(&params);
    arena_free(&params_arena);
    arena_free(&step);
    pool_shutdown();
    return ok ? 0 : 1;
}
