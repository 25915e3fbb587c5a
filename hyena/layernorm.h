// layernorm.h - LayerNorm over the last axis with a gain and a bias (weight 1, bias 0 at init).
#ifndef HYENA_LAYERNORM_H
#define HYENA_LAYERNORM_H

#include "../autograd/ops.h"
#include "params.h"

#define LAYERNORM_EPS 1e-5f

typedef struct LayerNorm {
    Var *weight, *bias;  // [D]; no weight decay
} LayerNorm;

LayerNorm layernorm_new(ParamList *params, const char *prefix, const char *name, int D);
Var *layernorm_forward(Tape *tape, const LayerNorm *ln, Var *x);

#endif
