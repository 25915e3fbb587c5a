// attention.h - the attention mixer: Wqkv, causal multi-head softmax attention, out_proj.
#ifndef HYENA_ATTENTION_H
#define HYENA_ATTENTION_H

#include "linear.h"

typedef struct Attention {
    Linear wqkv;      // D -> 3D: q, k, v side by side
    Linear out_proj;  // D -> D
    int n_heads;
} Attention;

// GPT-2 initialization: Wqkv N(0, 0.02), out_proj N(0, residual_std), biases 0.
Attention attention_new(ParamList *params, const char *prefix, int D, int n_heads, float residual_std, Rng *rng);
// x: [B, T, D] -> [B, T, D]
Var *attention_forward(Tape *tape, const Attention *a, Var *x);

#endif
