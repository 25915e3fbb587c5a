// profile.h - where a training step's time goes (hyena bench train --profile, bench recall --profile).
//
// One step is: zero the gradients, forward (the model and the loss), backward, clip, AdamW. The
// profile runs several steps and prints, per step on average:
//   - per op kind (matmul, fftconv, layernorm, ...): forward and backward time, share of the step,
//     and the GFLOP/s of the ops whose work tensor/flops.h counts (matmul, FFT);
//   - the optimizer's parts (zeroing gradients, clipping, AdamW);
//   - the pool: how long the caller ran serial code (every other thread idle), how long it waited
//     for workers, and how busy the workers were;
//   - the step's GFLOP/s against the machine's FMA peak (hyena bench peak) for that thread count.
#ifndef HYENA_PROFILE_H
#define HYENA_PROFILE_H

#include <stdint.h>
#include <stdio.h>

#include "../autograd/tape.h"
#include "../hyena/model.h"
#include "optim.h"

typedef struct ProfileStep {
    Model *model;
    Optimizer *opt;
    Tape *tape;
    const int32_t *in, *tg;   // [batch, context] token ids and targets
    int batch, context;
} ProfileStep;

// Run `steps` training steps of s (the caller has warmed up) with timing on, and print the
// profile to f. peak_gflops: the FMA peak for the pool's thread count (0: not shown).
void profile_train_steps(const ProfileStep *s, int steps, double peak_gflops, FILE *f);

#endif
