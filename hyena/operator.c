// operator.c - projections, short convolution, and the gated long-convolution recurrence.
#include "operator.h"

#include <stdio.h>
#include <stdlib.h>

#include "../autograd/fftconv.h"

void hyena_operator_init(HyenaOperator *op, const HyenaConfig *cfg, ParamList *params, const char *prefix, Rng *rng) {
    const char *problem = hyena_config_check(cfg);
    if (problem) {
        fprintf(stderr, "hyena: invalid Hyena configuration: %s\n", problem);
        exit(1);
    }
    int D = cfg->d_model, inner = (cfg->order + 1) * D;
    op->cfg = *cfg;
    op->in_proj = linear_new(params, prefix, "in_proj", D, inner, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
    // Conv1d(inner, inner, 3, groups=inner): fan_in = 1 channel x 3 taps.
    op->short_w = params_new(params, prefix, "short_filter.weight", 3, (int[]){inner, 1, 3}, PARAM_DEFAULT, PARAM_DEFAULT);
    op->short_b = params_new(params, prefix, "short_filter.bias", 1, (int[]){inner}, PARAM_DEFAULT, 0.0f);
    init_uniform_fan_in(op->short_w, 3, rng);
    init_uniform_fan_in(op->short_b, 3, rng);
    hyena_filter_init(&op->filter, cfg, params, prefix, rng);
    op->out_proj = linear_new(params, prefix, "out_proj", D, D, true, PARAM_DEFAULT, PARAM_DEFAULT, rng);
}

Var *hyena_operator_forward(Tape *tape, const HyenaOperator *op, Var *u) {
    int N = op->cfg.order, D = op->cfg.d_model, L = u->value.shape[1];
    if (u->value.rank != 3 || u->value.shape[2] != D || L > op->cfg.l_max) {
        char shape[64];
        fprintf(stderr, "hyena: Hyena operator: input %s does not fit d_model %d, l_max %d\n",
                tensor_shape_str(&u->value, shape, sizeof shape), D, op->cfg.l_max);
        exit(1);
    }
    Var *z = linear_forward(tape, &op->in_proj, u);              // [B, L, (N+1)D]
    ag_name(tape, z, "in_proj");
    z = ag_causal_conv(tape, z, op->short_w, op->short_b);
    ag_name(tape, z, "short_conv");
    Var *v = ag_slice(tape, z, 2, N * D, D);                     // the last piece
    ag_name(tape, v, "v");
    Var *h = hyena_filter_forward(tape, &op->filter, L);         // [L, (N-1)D]
    ag_name(tape, h, "filters");
    for (int o = 0; o < N - 1; o++) {
        Var *x = ag_slice(tape, z, 2, (N - 1 - o) * D, D);       // x_{N-1}, then x_{N-2}, ...
        ag_name(tape, x, "x%d", N - 1 - o);
        v = ag_mul(tape, v, x);
        ag_name(tape, v, "gate x%d", N - 1 - o);
        Var *h_o = ag_slice(tape, h, 1, o * D, D);               // [L, D]
        Var *bias_o = ag_slice(tape, op->filter.bias, 0, o * D, D);
        v = ag_fftconv(tape, v, h_o, bias_o, FFTCONV_AUTO);
        ag_name(tape, v, "long_conv %d", o);
    }
    Var *x0 = ag_slice(tape, z, 2, 0, D);
    ag_name(tape, x0, "x0");
    v = ag_mul(tape, v, x0);
    ag_name(tape, v, "gate x0");
    Var *y = linear_forward(tape, &op->out_proj, v);
    ag_name(tape, y, "out_proj");
    return y;
}
