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
//
// Multi-query associative recall (MQAR, Arora et al. 2023, "Zoology", as its multiquery_ar
// generator defines it; here the whole vocabulary is data, there is no "=>" or "."): keys are
// 1 .. V/2-1, values V/2 .. V-1. An example of seq_len inputs starts with n_pairs distinct keys,
// each followed by its value (distinct values too); the rest holds every key once more, as a
// query, at even offsets drawn from a power law (p(gap) ~ gap^(a-1), a = 0.01: most queries come
// soon after the pairs, a few far away), and random tokens everywhere else. At each query the
// model must predict the key's value: n_pairs scored positions per example, in training too.
#ifndef HYENA_SYNTHETIC_H
#define HYENA_SYNTHETIC_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/rng.h"

typedef enum SyntheticTask { TASK_ASSOC_RECALL, TASK_INDUCTION, TASK_MQAR } SyntheticTask;

typedef struct SyntheticSpec {
    SyntheticTask task;
    int vocab_size;   // V >= 6 (at least two keys and two values)
    int seq_len;      // the input part (pairs for recall, random tokens for induction; MQAR: all of it)
    int n_pairs;      // MQAR: key-value pairs, 4 n_pairs <= seq_len, n_pairs < V/2 (unused otherwise)
} SyntheticSpec;

typedef struct SyntheticSet {
    SyntheticSpec spec;
    int n_examples;
    int length;        // tokens per example: inputs are [0, length-1)
    int32_t *tokens;   // [n_examples, length]
    int32_t *targets;  // [n_examples, length-1]: what each input position is trained to predict
                       // (IGNORE_INDEX: nothing)
} SyntheticSet;

const char *synthetic_check(const SyntheticSpec *spec);   // NULL if valid
int synthetic_length(const SyntheticSpec *spec);
void synthetic_example(const SyntheticSpec *spec, Rng *rng, int32_t *tokens);
// The same, with the training targets [length-1]: every next token for recall and induction
// (targets[t] = tokens[t+1]), the values at the query positions only for MQAR.
void synthetic_example_scored(const SyntheticSpec *spec, Rng *rng, int32_t *tokens, int32_t *targets);
// n examples from the given seed (train and test sets use different seeds).
void synthetic_set_new(SyntheticSet *set, const SyntheticSpec *spec, int n, uint64_t seed);
void synthetic_set_free(SyntheticSet *set);
// B examples as inputs/targets [B, length-1]. test: only the scored token(s) count (the rest of
// the targets are IGNORE_INDEX: recall and induction score their last token, MQAR its queries);
// training uses the stored targets. pick: example indices, or NULL for the first B.
void synthetic_batch(const SyntheticSet *set, const int *pick, int B, bool test, int32_t *inputs, int32_t *targets);

#endif
