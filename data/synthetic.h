// synthetic.h - the Hyena paper's in-context recall tasks (safari's synthetics.py semantics).
//
// Vocabulary of V tokens: 0 .. V-3 are ordinary, V-2 is the copy prefix "=>", V-1 is "." (no-op).
//
// Associative recall: keys are the first half of the ordinary tokens, values the second half.
// Each example draws a fresh key -> value map, then seq_len/2 random (key, value) pairs, then the
// copy prefix, a key that occurred, and its value:   k v k v ... k v => k v
// Only the final value is scored at test time: the model must recall what followed that key.
//
// Induction heads: seq_len random ordinary tokens in which "=> x" is planted once; the sequence
// ends with "=> x" again, and the final x is scored: after "=>", copy what followed it before.
#ifndef HYENA_SYNTHETIC_H
#define HYENA_SYNTHETIC_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/rng.h"

typedef enum SyntheticTask { TASK_ASSOC_RECALL, TASK_INDUCTION } SyntheticTask;

typedef struct SyntheticSpec {
    SyntheticTask task;
    int vocab_size;   // V >= 6 (at least two keys and two values)
    int seq_len;      // the input part (pairs for recall, random tokens for induction)
} SyntheticSpec;

typedef struct SyntheticSet {
    SyntheticSpec spec;
    int n_examples;
    int length;        // tokens per example: inputs are [0, length-1), targets [1, length)
    int32_t *tokens;   // [n_examples, length]
} SyntheticSet;

const char *synthetic_check(const SyntheticSpec *spec);   // NULL if valid
int synthetic_length(const SyntheticSpec *spec);
void synthetic_example(const SyntheticSpec *spec, Rng *rng, int32_t *tokens);
// n examples from the given seed (train and test sets use different seeds).
void synthetic_set_new(SyntheticSet *set, const SyntheticSpec *spec, int n, uint64_t seed);
void synthetic_set_free(SyntheticSet *set);
// B examples as inputs/targets [B, length-1]. test: only the scored token(s) count (the rest of
// the targets are IGNORE_INDEX); training scores every next token. pick: example indices, or
// NULL for the first B.
void synthetic_batch(const SyntheticSet *set, const int *pick, int B, bool test, int32_t *inputs, int32_t *targets);

#endif
