// synthetic.c - generating recall and induction examples.
#include "synthetic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"

const char *synthetic_check(const SyntheticSpec *s) {
    if (s->vocab_size < 6) return "vocabulary size must be at least 6 (two keys, two values, => and .)";
    if (s->vocab_size > 1 << 20) return "vocabulary size is too large";
    if (s->task == TASK_ASSOC_RECALL && s->seq_len < 2) return "sequence length must be at least 2 (one key-value pair)";
    if (s->task == TASK_INDUCTION && s->seq_len < 3) return "sequence length must be at least 3";
    if (s->seq_len > 1 << 20) return "sequence length is too large";
    return NULL;
}

int synthetic_length(const SyntheticSpec *s) {
    if (s->task == TASK_ASSOC_RECALL) return 2 * (s->seq_len / 2) + 3;  // pairs, =>, key, value
    return s->seq_len + 2;                                              // tokens, =>, copy
}

void synthetic_example(const SyntheticSpec *s, Rng *rng, int32_t *tokens) {
    int V = s->vocab_size, ordinary = V - 2, copy_prefix = V - 2;
    if (s->task == TASK_ASSOC_RECALL) {
        int n_keys = ordinary / 2, n_values = ordinary - n_keys;
        int32_t *value_of = malloc(sizeof(int32_t) * (size_t)n_keys);
        bool *present = calloc((size_t)n_keys, sizeof(bool));
        for (int k = 0; k < n_keys; k++) value_of[k] = n_keys + (int32_t)rng_below(rng, (uint32_t)n_values);
        int n_pairs = s->seq_len / 2, at = 0;
        for (int p = 0; p < n_pairs; p++) {
            int32_t k = (int32_t)rng_below(rng, (uint32_t)n_keys);
            tokens[at++] = k;
            tokens[at++] = value_of[k];
            present[k] = true;
        }
        // The query is a key that occurred (the reference's allow_dot = False).
        int32_t q;
        do q = (int32_t)rng_below(rng, (uint32_t)n_keys);
        while (!present[q]);
        tokens[at++] = copy_prefix;
        tokens[at++] = q;
        tokens[at++] = value_of[q];
        free(value_of);
        free(present);
    } else {
        int L = s->seq_len;
        for (int i = 0; i < L; i++) tokens[i] = (int32_t)rng_below(rng, (uint32_t)ordinary);
        int pos = (int)rng_below(rng, (uint32_t)(L - 2));  // "=> x" fits before the end
        int32_t x = tokens[pos + 1];
        tokens[pos] = copy_prefix;
        tokens[L] = copy_prefix;
        tokens[L + 1] = x;
    }
}

void synthetic_set_new(SyntheticSet *set, const SyntheticSpec *spec, int n, uint64_t seed) {
    set->spec = *spec;
    set->n_examples = n;
    set->length = synthetic_length(spec);
    set->tokens = malloc(sizeof(int32_t) * (size_t)n * (size_t)set->length);
    Rng rng = rng_new(seed);
    for (int i = 0; i < n; i++) synthetic_example(spec, &rng, set->tokens + (long)i * set->length);
}

void synthetic_set_free(SyntheticSet *set) {
    free(set->tokens);
    set->tokens = NULL;
}

void synthetic_batch(const SyntheticSet *set, const int *pick, int B, bool test, int32_t *inputs, int32_t *targets) {
    int T = set->length - 1;
    for (int b = 0; b < B; b++) {
        const int32_t *ex = set->tokens + (long)(pick ? pick[b] : b) * set->length;
        for (int t = 0; t < T; t++) {
            inputs[(long)b * T + t] = ex[t];
            targets[(long)b * T + t] = test && t < T - 1 ? IGNORE_INDEX : ex[t + 1];  // test: the last target only
        }
    }
}
