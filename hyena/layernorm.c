// layernorm.c - parameters for ag_layernorm.
#include "layernorm.h"

#include <stdio.h>

LayerNorm layernorm_new(ParamList *params, const char *prefix, const char *name, int D) {
    char full[160];
    LayerNorm ln;
    snprintf(full, sizeof full, "%s.weight", name);
    ln.weight = params_new(params, prefix, full, 1, (int[]){D}, PARAM_DEFAULT, 0.0f);
    snprintf(full, sizeof full, "%s.bias", name);
    ln.bias = params_new(params, prefix, full, 1, (int[]){D}, PARAM_DEFAULT, 0.0f);
    for (int i = 0; i < D; i++) ln.weight->value.data[i] = 1.0f;
    return ln;
}

Var *layernorm_forward(Tape *tape, const LayerNorm *ln, Var *x) {
    return ag_layernorm(tape, x, ln->weight, ln->bias, LAYERNORM_EPS);
}
