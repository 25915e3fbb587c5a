// 08_hyena_vs_attention.c - tutorials/08-hyena-vs-attention.md, runnable: forward + backward
// time and memory of one Hyena operator and one attention layer as L grows, drawn as SVG.
// (A shorter sweep than `hyena bench operator`: it runs in a few seconds.)
//   make tutorials && ./build/tutorials/08_hyena_vs_attention   (writes hyena_vs_attention.svg)
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "../../hyena/model.h"
#include "../../tensor/pool.h"
#include "../../train/plot.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Best of 3 forward + backward passes; *mb receives the step's peak memory: the step arena's
// high-water mark plus the threads' scratch buffers (attention's [L, L] per thread), as
// `hyena bench operator` counts it. A fresh pool per case, so its scratch is this case's alone.
static double measure(MixerKind kind, int L, int D, double *mb) {
    pool_shutdown();
    pool_init(0);
    Arena params_arena, step;
    arena_init(&params_arena, 0);
    arena_init(&step, 0);
    ParamList params;
    params_init(&params, &params_arena);
    Rng rng = rng_new(0);
    HyenaOperator op;
    Attention att;
    if (kind == MIXER_HYENA) {
        HyenaConfig cfg = hyena_config_default(D, L);
        hyena_operator_init(&op, &cfg, &params, "", &rng);
    } else {
        att = attention_new(&params, "", D, 4, 0.02f, &rng);
    }
    Tape tape;
    tape_init(&tape, &step);
    double best = INFINITY;
    for (int rep = 0; rep < 3; rep++) {
        tape_reset(&tape);
        Tensor x = tensor_new(&step, 3, (int[]){1, L, D});
        rng_fill_uniform(&rng, x.data, (long)L * D, -1, 1);
        double t0 = seconds();
        Var *u = ag_input(&tape, x, true, "u");
        Var *y = kind == MIXER_HYENA ? hyena_operator_forward(&tape, &op, u) : attention_forward(&tape, &att, u);
        ag_backward(&tape, ag_sum(&tape, ag_sum(&tape, ag_sum(&tape, y))), NULL);
        best = fmin(best, seconds() - t0);
    }
    *mb = (double)(step.high_water + pool_scratch_bytes()) / (1 << 20);
    params_free(&params);
    arena_free(&params_arena);
    arena_free(&step);
    return best * 1e3;
}

int main(void) {
    pool_init(0);
    int D = 128, n = 0;
    double Ls[8], th[8], ta[8], mh[8], ma[8];
    printf("%7s %12s %14s %10s %12s\n", "L", "hyena ms", "attention ms", "hyena MB", "attention MB");
    for (int L = 256; L <= 8192; L *= 2, n++) {
        Ls[n] = L;
        th[n] = measure(MIXER_HYENA, L, D, &mh[n]);
        ta[n] = measure(MIXER_ATTENTION, L, D, &ma[n]);
        printf("%7d %12.2f %14.2f %10.1f %12.1f\n", L, th[n], ta[n], mh[n], ma[n]);
    }
    PlotSeries time[] = {{"Hyena", Ls, th, n}, {"attention", Ls, ta, n}};
    PlotOptions to = {"One layer, D = 128: forward + backward", "sequence length L", "milliseconds", true, true};
    PlotSeries mem[] = {{"Hyena", Ls, mh, n}, {"attention", Ls, ma, n}};
    PlotOptions mo = {"One layer, D = 128: activation memory", "sequence length L", "MB", true, true};
    bool ok = plot_svg_write("hyena_vs_attention.svg", &to, time, 2) &&
              plot_svg_write("hyena_vs_attention_memory.svg", &mo, mem, 2);
    if (ok) printf("wrote hyena_vs_attention.svg and hyena_vs_attention_memory.svg\n");
    pool_shutdown();
    return ok ? 0 : 1;
}
