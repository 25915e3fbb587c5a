// filter.c - positional features, the filter network with its shared Sin, and the window.
#include "filter.h"

#include <math.h>
#include <stdio.h>

#include "../autograd/modal.h"
#include "../tensor/pool.h"
#include "../tensor/vmath.h"

#define PI 3.14159265358979323846

HyenaConfig hyena_config_default(int d_model, int l_max) {
    return (HyenaConfig){.d_model = d_model, .l_max = l_max, .order = 2, .filter_order = 64, .emb_dim = 3,
                         .num_inner_mlps = 2, .w = 1.0f, .shift = 0.0f, .fast_decay_pct = 0.3f,
                         .slow_decay_pct = 1.5f, .target = 1e-2f, .lr_pos_emb = 1e-5f};
}

const char *hyena_config_check(const HyenaConfig *c) {
    if (c->d_model < 1) return "d_model must be at least 1";
    if (c->l_max < 1) return "l_max must be at least 1";
    if (c->order < 2 || c->order > 16) return "order must be in [2, 16]";
    if (c->filter_order < 1) return "filter_order must be at least 1";
    if (c->emb_dim < 3 || c->emb_dim % 2 == 0) return "emb_dim must be odd and at least 3";
    if (c->num_inner_mlps < 0 || c->num_inner_mlps > FILTER_MAX_INNER) return "num_inner_mlps must be in [0, 8]";
    if (!(c->target > 0 && c->target < 1)) return "target must be in (0, 1)";
    if (!(c->fast_decay_pct > 0 && c->slow_decay_pct > 0)) return "decay percentages must be positive";
    if (c->modal_order < 0 || c->modal_order > 256) return "modal_order must be in [0, 256]";
    return NULL;
}

// linspace(a, b, n)[i], as torch.linspace (n == 1 gives a).
static double linspace_at(double a, double b, int n, int i) { return n == 1 ? a : a + (b - a) * i / (n - 1); }

void hyena_filter_init(HyenaFilter *f, const HyenaConfig *cfg, ParamList *params, const char *prefix, Rng *rng) {
    int D = cfg->d_model, C = (cfg->order - 1) * D, E = cfg->emb_dim, W = cfg->filter_order, Lm = cfg->l_max;
    char name[128];
    f->channels = C;
    f->shift = cfg->shift;
    // Positional features: t in [0, 1], then the real and imaginary parts of exp(-i f w_t).
    f->z = params_new(params, prefix, "filter_fn.pos_emb.z", 3, (int[]){1, Lm, E}, cfg->lr_pos_emb, 0.0f);
    f->t = params_new_buffer(params, prefix, "filter_fn.pos_emb.t", 3, (int[]){1, Lm, 1});
    int bands = (E - 1) / 2;
    for (int t = 0; t < Lm; t++) {
        double tt = linspace_at(0.0, 1.0, Lm, t), wt = 2.0 * PI * t / Lm;
        f->t->value.data[t] = (float)tt;
        f->z->value.data[t * E] = (float)tt;
        for (int b = 0; b < bands; b++) {
            double fb = linspace_at(1e-4, bands - 1, bands, b);
            f->z->value.data[t * E + 1 + b] = (float)cos(fb * wt);
            f->z->value.data[t * E + 1 + bands + b] = (float)-sin(fb * wt);
        }
    }
    // The network: Linear(E, W), Sin, [Linear(W, W), Sin] x inner, Linear(W, C, no bias).
    // Its parameters take no weight decay (the reference's filter group).
    f->n_layers = cfg->num_inner_mlps + 2;
    for (int i = 0; i < f->n_layers; i++) {
        bool last = i == f->n_layers - 1;
        snprintf(name, sizeof name, "filter_fn.implicit_filter.%d", 2 * i);
        f->layers[i] = linear_new(params, prefix, name, i == 0 ? E : W, last ? C : W, !last, PARAM_DEFAULT, 0.0f, rng);
    }
    f->freq = params_new(params, prefix, "filter_fn.implicit_filter.1.freq", 2, (int[]){1, W}, PARAM_DEFAULT, 0.0f);
    for (int i = 0; i < W; i++) f->freq->value.data[i] = cfg->w;
    // Window decay rates from slow (long filters) to fast (short filters).
    f->deltas = params_new_buffer(params, prefix, "filter_fn.modulation.deltas", 3, (int[]){1, 1, C});
    double max_decay = log(cfg->target) / cfg->fast_decay_pct, min_decay = log(cfg->target) / cfg->slow_decay_pct;
    for (int c = 0; c < C; c++) f->deltas->value.data[c] = (float)linspace_at(min_decay, max_decay, C, c);
    f->bias = params_new(params, prefix, "filter_fn.bias", 1, (int[]){C}, PARAM_DEFAULT, 0.0f);  // a bias: no decay
    rng_fill_normal(rng, f->bias->value.data, C, 0.0f, 1.0f);
    f->poles = f->residues = NULL;
    if (cfg->modal_order > 0) {
        int shape[3] = {C, cfg->modal_order, 2};
        f->poles = params_new_buffer(params, prefix, "filter_fn.poles", 3, shape);
        f->residues = params_new_buffer(params, prefix, "filter_fn.residues", 3, shape);
    }
}

typedef struct WindowJob {
    const HyenaFilter *f;
    float *out;
} WindowJob;

// Rows (positions) [begin, end) of the window: L x channels exponentials every step, so the rows
// are shared out, and the exponential is vmath.h's vexp, which vectorizes (libm's expf was 2% of
// the operator's time at L = 4096).
static void window_rows(void *ctx, long begin, long end) {
    const WindowJob *j = ctx;
    const HyenaFilter *f = j->f;
    const float *deltas = f->deltas->value.data;
    for (long t = begin; t < end; t++) {
        float pos = f->t->value.data[t], *row = j->out + t * f->channels;
        for (int c = 0; c < f->channels; c++) row[c] = vexp(-pos * fabsf(deltas[c])) + f->shift;
    }
}

void hyena_filter_window(const HyenaFilter *f, int L, float *out) {
    WindowJob j = {f, out};
    parallel_for(L, 4096 / f->channels + 1, window_rows, &j);
}

Var *hyena_filter_network(Tape *tape, const HyenaFilter *f, int L) {
    int E = f->z->value.shape[2], W = f->freq->value.shape[1];
    // z[:L]: the positional features of the first L positions.
    Var *z = ag_slice(tape, ag_reshape(tape, f->z, 2, (int[]){f->z->value.shape[1], E}), 0, 0, L);
    Var *freq = ag_reshape(tape, f->freq, 1, (int[]){W});  // the one Sin, used after every hidden layer
    Var *h = z;
    for (int i = 0; i < f->n_layers; i++) {
        h = linear_forward(tape, &f->layers[i], h);
        if (i < f->n_layers - 1) h = ag_sin(tape, ag_mul(tape, h, freq));
    }
    Tensor window = tensor_new(tape->arena, 2, (int[]){L, f->channels});
    hyena_filter_window(f, L, window.data);
    return ag_mul(tape, h, ag_input(tape, window, false, "window"));
}

Var *hyena_filter_forward(Tape *tape, const HyenaFilter *f, int L) {
    if (f->poles == NULL) return hyena_filter_network(tape, f, L);
    Tensor h = tensor_new(tape->arena, 2, (int[]){L, f->channels});
    modal_filter_forward(h.data, f->poles->value.data, f->residues->value.data, f->channels,
                         f->poles->value.shape[1], L);
    return ag_input(tape, h, false, "modal_filter");
}
