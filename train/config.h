// config.h - everything `hyena train` can be told, its presets, and its flags.
#ifndef HYENA_TRAIN_CONFIG_H
#define HYENA_TRAIN_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "../hyena/model.h"
#include "optim.h"

typedef struct TrainConfig {
    char preset[32];
    char data[1024];          // "" = the embedded default corpus
    char tokenizer[1024];     // "char", "bpe" (trained on the corpus) or "bpe:FILE"
    int vocab_size;           // for "bpe": the size to train
    float val_fraction;
    ModelConfig model;        // vocab_size is filled in from the tokenizer
    OptimConfig optim;        // total_steps = steps
    int batch, steps, grad_accum, eval_every, sample_tokens, threads;
    int log_every;        // a lasting progress line every N steps; 0: see train.c (display only, not saved)
    unsigned long long seed;
    char out[1024];
    char resume[1024];        // a checkpoint to continue from, or ""
} TrainConfig;

// The defaults (preset "tiny"): a small char-level Hyena on the default corpus.
TrainConfig train_config_default(void);
// Apply a named preset: tiny, shakespeare, recall. False for an unknown name.
bool train_config_preset(TrainConfig *c, const char *name);
// Parse `hyena train` flags (presets first, then the other flags in order). Prints a one-line
// error and returns false on a bad flag or value; sets *help when --help was given.
bool train_config_parse(TrainConfig *c, int argc, char **argv, bool *help);
void train_config_usage(FILE *f);
void train_config_print(FILE *f, const TrainConfig *c);
// "hhah": one letter per layer.
void mixer_pattern(const ModelConfig *m, char *out, int size);

#endif
