// attention.c - projections around ag_causal_attention.
#include "attention.h"

#include <string.h>

Attention attention_new(ParamList *params, const char *prefix, int D, int n_heads, float residual_std, Rng *rng) {
    Attention a;
    a.n_heads = n_heads;
    a.wqkv = linear_new(params, prefix, "mixer.Wqkv", D, 3 * D, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
    a.out_proj = linear_new(params, prefix, "mixer.out_proj", D, D, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
    init_normal(a.wqkv.weight, 0.02f, rng);
    init_normal(a.out_proj.weight, residual_std, rng);
    memset(a.wqkv.bias->value.data, 0, a.wqkv.bias->value.size * sizeof(float));
    memset(a.out_proj.bias->value.data, 0, a.out_proj.bias->value.size * sizeof(float));
    a.short_w = a.short_b = NULL;
    return a;
}

void attention_add_short_conv(Attention *a, ParamList *params, const char *prefix, int D, Rng *rng) {
    a->short_w = params_new(params, prefix, "mixer.short_filter.weight", 3, (int[]){3 * D, 1, 3}, PARAM_DEFAULT, PARAM_DEFAULT);
    a->short_b = params_new(params, prefix, "mixer.short_filter.bias", 1, (int[]){3 * D}, PARAM_DEFAULT, 0.0f);
    init_uniform_fan_in(a->short_w, 3, rng);
    init_uniform_fan_in(a->short_b, 3, rng);
}

Var *attention_forward(Tape *tape, const Attention *a, Var *x) {
    int D = x->value.shape[2];
    Var *qkv = linear_forward(tape, &a->wqkv, x);                      // [B, T, 3D]
    if (a->short_w) qkv = ag_causal_conv(tape, qkv, a->short_w, a->short_b);
    Var *q = ag_slice(tape, qkv, 2, 0, D), *k = ag_slice(tape, qkv, 2, D, D), *v = ag_slice(tape, qkv, 2, 2 * D, D);
    return linear_forward(tape, &a->out_proj, ag_causal_attention(tape, q, k, v, a->n_heads));
}
