// mlp.h - the position-wise feed-forward network: fc2(GELU(fc1(x))), D -> 4D -> D.
#ifndef HYENA_MLP_H
#define HYENA_MLP_H

#include "linear.h"

typedef struct Mlp {
    Linear fc1, fc2;
} Mlp;

// GPT-2 initialization: weights N(0, 0.02), fc2 (a residual projection) N(0, residual_std), biases 0.
Mlp mlp_new(ParamList *params, const char *prefix, int D, float residual_std, Rng *rng);
Var *mlp_forward(Tape *tape, const Mlp *mlp, Var *x);

#endif
