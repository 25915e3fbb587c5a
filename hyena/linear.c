// linear.c - the affine layer: one autograd op, x·Wᵀ + b (ag_linear), or x·Wᵀ without a bias.
#include "linear.h"

#include <stdio.h>

Linear linear_new(ParamList *params, const char *prefix, const char *name, int in, int out, bool bias, float lr,
                  float weight_decay, Rng *rng) {
    char full[160];
    Linear l = {NULL, NULL, in, out};
    snprintf(full, sizeof full, "%s.weight", name);
    l.weight = params_new(params, prefix, full, 2, (int[]){out, in}, lr, weight_decay);
    init_uniform_fan_in(l.weight, in, rng);
    if (bias) {
        snprintf(full, sizeof full, "%s.bias", name);
        l.bias = params_new(params, prefix, full, 1, (int[]){out}, lr, 0.0f);  // biases never decay
        init_uniform_fan_in(l.bias, in, rng);
    }
    return l;
}

Var *linear_forward(Tape *tape, const Linear *layer, Var *x) {
    return layer->bias ? ag_linear(tape, x, layer->weight, layer->bias) : ag_matmul_bt(tape, x, layer->weight);
}
