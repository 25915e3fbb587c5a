// filter.h - Hyena's implicit long filters: a small network of the position, times a window.
//
// Instead of learning L numbers per channel, Hyena learns a function of the position t:
//   z(t) = [t, cos(f_1 w_t) .. cos(f_B w_t), -sin(f_1 w_t) .. -sin(f_B w_t)]   (emb_dim = 1 + 2B)
//   h(t) = Linear_out( Sin( Linear_k( ... Sin( Linear_0(z(t)) ) ) ) )          (no bias at the end)
//   h(t, c) *= exp(-t |delta_c|) + shift                                         (the window)
// One Sin module, sin(freq ⊙ x) with a trainable freq of width filter_order, is shared by every
// activation, exactly as in the reference (its gradient is the sum over all uses). The window's
// decay rates delta_c span slow to fast across channels, so some filters stay short and others
// reach far. The same network evaluates at any L <= l_max: the filter length follows the input.
#ifndef HYENA_FILTER_H
#define HYENA_FILTER_H

#include "linear.h"

#define FILTER_MAX_INNER 8

typedef struct HyenaConfig {
    int d_model;          // D
    int l_max;            // longest sequence (the positional grid's length)
    int order;            // N >= 2: N-1 long convolutions
    int filter_order;     // width of the filter network
    int emb_dim;          // odd, >= 3
    int num_inner_mlps;   // hidden layers of the filter network
    float w;              // initial frequency of the Sin activation
    float shift;          // added to the window
    float fast_decay_pct, slow_decay_pct, target;
    float lr_pos_emb;     // learning rate of the positional features (the reference's 1e-5)
    int modal_order;      // 0: the filter network. d > 0: a distilled model (hyena distill), whose
                          // filters are d complex modes each (autograd/modal.h)
} HyenaConfig;

// The reference's defaults: order 2, filter_order 64, emb_dim 3, num_inner_mlps 2, w 1, shift 0,
// fast/slow decay 0.3/1.5, target 1e-2, positional lr 1e-5.
HyenaConfig hyena_config_default(int d_model, int l_max);
// NULL if valid, else a message naming the bad field.
const char *hyena_config_check(const HyenaConfig *cfg);

typedef struct HyenaFilter {
    int channels;                                // (N-1) * D filters
    Var *z;                                      // [1, l_max, emb_dim]  positional features (trainable)
    Var *t;                                      // [1, l_max, 1]        linspace(0, 1, l_max) (buffer)
    Linear layers[FILTER_MAX_INNER + 2];         // filter_fn.implicit_filter.0, .2, .4, ...
    int n_layers;
    Var *freq;                                   // [1, filter_order]    the shared Sin's frequencies
    Var *deltas;                                 // [1, 1, channels]     window decay rates (buffer)
    Var *bias;                                   // [channels]           each convolution's skip term
    float shift;
    // A distilled model's filters (modal_order d > 0), else NULL. Buffers: fitted by hyena distill
    // to the network's filters, never trained. The network stays in the model (and the file), so
    // the filters can be compared with the ones they replace (hyena filters).
    Var *poles;                                  // [channels, d, 2]  λ as (re, im), |λ| < 1
    Var *residues;                               // [channels, d, 2]  R as (re, im)
} HyenaFilter;

void hyena_filter_init(HyenaFilter *f, const HyenaConfig *cfg, ParamList *params, const char *prefix, Rng *rng);
// The filters for sequences of length L (<= l_max): [L, channels]. Column o*D + d is the filter
// of channel d in the o-th long convolution. A distilled model's filters come from its modes (no
// gradient flows to them); otherwise from the network.
Var *hyena_filter_forward(Tape *tape, const HyenaFilter *f, int L);
// The window exp(-t |delta_c|) + shift at the first L positions, into out: [L, channels].
void hyena_filter_window(const HyenaFilter *f, int L, float *out);
// The network's filters, even in a distilled model (what hyena distill fits): [L, channels].
Var *hyena_filter_network(Tape *tape, const HyenaFilter *f, int L);

#endif
