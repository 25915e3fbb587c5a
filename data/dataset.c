// dataset.c - windows into a token array.
#include "dataset.h"

#include <stdio.h>

bool dataset_split(const int32_t *ids, long n, double val_fraction, int context, TokenSplit *train, TokenSplit *val,
                   char *err, size_t es) {
    if (!(val_fraction > 0 && val_fraction < 1)) {
        snprintf(err, es, "validation fraction %g must be between 0 and 1", val_fraction);
        return false;
    }
    long n_val = (long)((double)n * val_fraction);
    long n_train = n - n_val;
    if (n_train < (long)context + 1) {
        snprintf(err, es, "the corpus has %ld tokens: its training part (%ld) is shorter than one window of "
                          "context %d + 1", n, n_train, context);
        return false;
    }
    if (n_val < 2) {
        snprintf(err, es, "the corpus has %ld tokens: too few for a validation split (%ld)", n, n_val);
        return false;
    }
    *train = (TokenSplit){ids, n_train};
    *val = (TokenSplit){ids + n_train, n_val};
    return true;
}

void batch_random(const TokenSplit *split, int B, int T, Rng *rng, int32_t *inputs, int32_t *targets) {
    long starts = split->n - T;  // a window needs T + 1 tokens
    for (int b = 0; b < B; b++) {
        long s = (long)(((uint64_t)rng_next(rng) >> 1) % (uint64_t)starts);
        for (int t = 0; t < T; t++) {
            inputs[(long)b * T + t] = split->ids[s + t];
            targets[(long)b * T + t] = split->ids[s + t + 1];
        }
    }
}

long val_window_count(const TokenSplit *split, int T) { return (split->n - 1 + T - 1) / T; }

void val_window(const TokenSplit *split, int T, long w, int32_t *inputs, int32_t *targets) {
    for (int t = 0; t < T; t++) {
        long i = w * T + t;
        inputs[t] = i < split->n - 1 ? split->ids[i] : 0;
        targets[t] = i < split->n - 1 ? split->ids[i + 1] : IGNORE_INDEX;
    }
}
