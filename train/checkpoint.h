// checkpoint.h - a training run saved whole, in one safetensors file.
//
// Tensors: every parameter and buffer under its reference name (a PyTorch state dict can load
// them; the shared filter frequency is also written under each of its aliases, .3.freq, ...),
// and the optimizer's moments as optim.m.<name> and optim.v.<name>.
// Metadata: the whole training configuration, the tokenizer, the step, the random generator's
// state (which is also the position in the data: batches are drawn from it) and the best
// validation loss. Loading all of it continues a run bit-exactly.
#ifndef HYENA_CHECKPOINT_H
#define HYENA_CHECKPOINT_H

#include "../data/tokenizer.h"
#include "config.h"

typedef struct TrainState {
    long step;            // optimizer steps done
    Rng rng;              // the batch generator
    float best_val_loss;  // INFINITY before the first evaluation
} TrainState;

// Written atomically (temp file, fsync, rename). opt may be NULL (a model-only file).
bool checkpoint_save(const char *path, const TrainConfig *cfg, const Model *model, const Optimizer *opt,
                     const Tokenizer *tok, const TrainState *state);
// Reads the configuration and tokenizer, builds the model (model_init) and loads its weights;
// with opt and state non-NULL also the optimizer (optim_init) and the training state. Every
// missing or misshapen tensor and every bad metadata value is a one-line error.
bool checkpoint_load(const char *path, TrainConfig *cfg, Model *model, Tokenizer *tok, Optimizer *opt,
                     TrainState *state, char *err, size_t err_size);
// The model and tokenizer alone, for the commands that only run a model (eval, sample, filters):
// on failure, prints the one-line error ("hyena: ...") and returns false.
bool checkpoint_open(const char *path, TrainConfig *cfg, Model *model, Tokenizer *tok);

#endif
