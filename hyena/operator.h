// operator.h - the order-N Hyena operator (Poli et al. 2023), as the reference computes it.
//
//   z = in_proj(u)                          [B, L, (N+1) D]
//   z = short causal conv(z), 3 taps        (each channel sees itself and two steps back)
//   x_0 .. x_{N-1}, v = split(z)            N+1 pieces of width D
//   for i = N-1 down to 1:                  (the reference's order: the last x first)
//       v = v ⊙ x_i                         data-controlled gating
//       v = h_i * v + bias_i ⊙ v            long causal convolution with an implicit filter
//   y = out_proj(v ⊙ x_0)
#ifndef HYENA_OPERATOR_H
#define HYENA_OPERATOR_H

#include "filter.h"

typedef struct HyenaOperator {
    HyenaConfig cfg;
    Linear in_proj;   // D -> (N+1) D
    Var *short_w;     // [(N+1) D, 1, 3]   short_filter.weight
    Var *short_b;     // [(N+1) D]         short_filter.bias
    HyenaFilter filter;
    Linear out_proj;  // D -> D
} HyenaOperator;

// Parameters are registered as prefix + the reference's names, initialized as the reference's
// PyTorch defaults. The config must pass hyena_config_check.
void hyena_operator_init(HyenaOperator *op, const HyenaConfig *cfg, ParamList *params, const char *prefix, Rng *rng);
// u: [B, L, D] with L <= l_max  ->  [B, L, D]
Var *hyena_operator_forward(Tape *tape, const HyenaOperator *op, Var *u);

#endif
