// optim.h - optimizers, the learning-rate schedule, and gradient clipping.
//
// AdamW (Loshchilov & Hutter), as PyTorch computes it, per parameter element:
//   m = b1 m + (1 - b1) g           v = b2 v + (1 - b2) g^2
//   p -= lr * wd * p                (decoupled weight decay: not part of the gradient)
//   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
// SGD with momentum (for teaching):  buf = mu buf + g;  p -= lr * (buf + wd p).
// Parameter groups: a parameter with its own lr (the Hyena filter's positional features, 1e-5)
// keeps it, scaled by the schedule like every other; its own weight decay replaces the default.
#ifndef HYENA_OPTIM_H
#define HYENA_OPTIM_H

#include "../hyena/params.h"

typedef enum OptimizerKind { OPTIM_ADAMW, OPTIM_SGD } OptimizerKind;

typedef struct OptimConfig {
    OptimizerKind kind;
    float lr;             // peak learning rate
    float min_lr;         // the cosine's floor
    int warmup_steps;     // linear warmup from 0 to lr
    int total_steps;      // the cosine reaches min_lr here
    float weight_decay;   // the default for parameters that do not set their own
    float beta1, beta2, eps;
    float momentum;       // SGD
    float clip;           // global gradient-norm clipping; 0 disables
} OptimConfig;

typedef struct Optimizer {
    OptimConfig cfg;
    ParamList *params;
    float **m, **v;       // per trainable parameter (NULL for buffers); SGD uses m as momentum
    long step;            // updates done
} Optimizer;

OptimConfig optim_config_default(void);   // AdamW, lr 1e-3, betas 0.9/0.99, eps 1e-8, wd 0.1, clip 1
void optim_init(Optimizer *o, const OptimConfig *cfg, ParamList *params);
void optim_free(Optimizer *o);

// The learning rate at step t (0-based): linear warmup, then cosine decay to min_lr.
float optim_lr_at(const OptimConfig *cfg, long t);
// sqrt of the sum of squares of every trainable gradient: partial sums over fixed chunks of the
// trainable floats, added in chunk order (the same bits for any thread count).
double optim_grad_norm(const ParamList *params);
// Scale gradients so their global norm is at most clip; returns the norm before clipping.
double optim_clip(ParamList *params, float clip);
// One update with the schedule's learning rate for the current step; then step++.
void optim_step(Optimizer *o);

#endif
