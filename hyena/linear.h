// linear.h - y = x·Wᵀ + b, with W: [out, in] as in PyTorch's nn.Linear.
#ifndef HYENA_LINEAR_H
#define HYENA_LINEAR_H

#include "../autograd/ops.h"
#include "params.h"

typedef struct Linear {
    Var *weight;  // [out, in]
    Var *bias;    // [out], or NULL
    int in, out;
} Linear;

// Registers prefix + name + ".weight" / ".bias", initialized as PyTorch does (U(±1/sqrt(in))).
// weight_decay applies to the weight; biases take none (as the reference's optimizer groups).
Linear linear_new(ParamList *params, const char *prefix, const char *name, int in, int out, bool bias, float lr,
                  float weight_decay, Rng *rng);
// x: [..., in] -> [..., out]
Var *linear_forward(Tape *tape, const Linear *layer, Var *x);

#endif
