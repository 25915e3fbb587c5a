// dataset.h - token ids split for training and validation, and batches drawn from them.
#ifndef HYENA_DATASET_H
#define HYENA_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../tensor/rng.h"

#define IGNORE_INDEX -1   // a target that does not count in the loss

typedef struct TokenSplit {
    const int32_t *ids;
    long n;
} TokenSplit;

// The last val_fraction of the tokens is validation (the common convention: 0.1). False with a
// message when either part is too short for windows of `context` tokens.
bool dataset_split(const int32_t *ids, long n, double val_fraction, int context, TokenSplit *train, TokenSplit *val,
                   char *err, size_t err_size);

// B random windows of T + 1 consecutive tokens: inputs [B, T] and targets [B, T] shifted by one.
void batch_random(const TokenSplit *split, int B, int T, Rng *rng, int32_t *inputs, int32_t *targets);

// The validation pass: non-overlapping windows that predict every token of the split after the
// first exactly once. Window w: inputs ids[wT .. wT+T), targets ids[wT+1 .. wT+T+1); the last
// window is padded (input 0, target IGNORE_INDEX).
long val_window_count(const TokenSplit *split, int T);
void val_window(const TokenSplit *split, int T, long w, int32_t *inputs, int32_t *targets);

#endif
