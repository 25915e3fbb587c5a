// attention.h - the attention mixer: Wqkv, causal multi-head softmax attention, out_proj.
// Optionally a short depthwise causal convolution on q, k and v, as Hyena has on its
// projections: Zoology's attention baseline for MQAR has one, and with it a key's token can carry
// its neighbour's identity without the first layer learning to attend one step back.
#ifndef HYENA_ATTENTION_H
#define HYENA_ATTENTION_H

#include "linear.h"

typedef struct Attention {
    Linear wqkv;      // D -> 3D: q, k, v side by side
    Linear out_proj;  // D -> D
    int n_heads;
    Var *short_w, *short_b;  // [3D, 1, 3] and [3D], or NULL: no short convolution
} Attention;

// GPT-2 initialization: Wqkv N(0, 0.02), out_proj N(0, residual_std), biases 0.
Attention attention_new(ParamList *params, const char *prefix, int D, int n_heads, float residual_std, Rng *rng);
// Adds the short convolution (3 taps per channel of q, k and v, PyTorch's Conv1d initialization),
// named like Hyena's: {prefix}mixer.short_filter.weight and .bias.
void attention_add_short_conv(Attention *a, ParamList *params, const char *prefix, int D, Rng *rng);
// x: [B, T, D] -> [B, T, D]
Var *attention_forward(Tape *tape, const Attention *a, Var *x);

#endif
