// synthetic.c - generating recall and induction examples.
#include "synthetic.h"

#include <math.h>
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
    if (s->task == TASK_MQAR) {
        if (s->n_pairs < 1) return "MQAR needs at least one key-value pair";
        if (s->seq_len % 2) return "MQAR's sequence length must be even (pairs, then queries at even offsets)";
        if (4L * s->n_pairs > s->seq_len)
            return "MQAR's sequence must hold the pairs and room for as many queries: seq-len >= 4 x pairs";
        if (s->n_pairs > s->vocab_size / 2 - 1 || s->n_pairs > s->vocab_size - s->vocab_size / 2)
            return "MQAR needs more distinct keys and values: vocabulary >= 2 x pairs + 2";
    }
    return NULL;
}

int synthetic_length(const SyntheticSpec *s) {
    if (s->task == TASK_ASSOC_RECALL) return 2 * (s->seq_len / 2) + 3;  // pairs, =>, key, value
    if (s->task == TASK_MQAR) return s->seq_len + 1;                    // inputs, and one unread token
    return s->seq_len + 2;                                              // tokens, =>, copy
}

// k distinct integers from [lo, hi), in random order (a partial Fisher-Yates shuffle).
static void distinct_draws(Rng *rng, int lo, int hi, int k, int32_t *out) {
    int n = hi - lo;
    int32_t *all = malloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) all[i] = lo + i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)rng_below(rng, (uint32_t)(n - i));
        int32_t tmp = all[i];
        all[i] = all[j];
        all[j] = tmp;
        out[i] = all[i];
    }
    free(all);
}

#define MQAR_POWER_A 0.01  // Zoology's default: most queries close to the pairs

static void mqar_example(const SyntheticSpec *s, Rng *rng, int32_t *tokens, int32_t *targets) {
    int V = s->vocab_size, L = s->seq_len, N = s->n_pairs, context = 2 * N, space = (L - context) / 2;
    int32_t *keys = malloc(sizeof(int32_t) * (size_t)N * 2), *values = keys + N;
    distinct_draws(rng, 1, V / 2, N, keys);
    distinct_draws(rng, V / 2, V, N, values);
    for (int t = 0; t <= L; t++) tokens[t] = (int32_t)rng_below(rng, (uint32_t)V);  // the filler
    if (targets)
        for (int t = 0; t < L; t++) targets[t] = IGNORE_INDEX;
    for (int j = 0; j < N; j++) {
        tokens[2 * j] = keys[j];
        tokens[2 * j + 1] = values[j];
    }
    // The query slots: N distinct gaps in [0, space), drawn one at a time with weights
    // gap^(a-1) (gap counted from 1), each taken out once drawn (numpy's choice without
    // replacement). Key j goes to slot gap_j, at position context + 2 gap_j.
    double *w = malloc(sizeof(double) * (size_t)space), total = 0;
    for (int g = 0; g < space; g++) total += (w[g] = pow(g + 1.0, MQAR_POWER_A - 1.0));
    for (int j = 0; j < N; j++) {
        double u = rng_uniform(rng) * total;
        int g = -1;
        for (int i = 0; i < space; i++) {
            if (w[i] == 0) continue;  // taken
            g = i;                    // the last free slot so far: where rounding at the end lands
            if ((u -= w[i]) < 0) break;
        }
        total -= w[g];
        w[g] = 0;
        int at = context + 2 * g;
        tokens[at] = keys[j];
        if (targets) targets[at] = values[j];
    }
    free(w);
    free(keys);
}

void synthetic_example(const SyntheticSpec *s, Rng *rng, int32_t *tokens) {
    synthetic_example_scored(s, rng, tokens, NULL);
}

void synthetic_example_scored(const SyntheticSpec *s, Rng *rng, int32_t *tokens, int32_t *targets) {
    if (s->task == TASK_MQAR) {
        mqar_example(s, rng, tokens, targets);
        return;
    }
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
    if (targets)
        for (int t = 0; t < synthetic_length(s) - 1; t++) targets[t] = tokens[t + 1];
}

void synthetic_set_new(SyntheticSet *set, const SyntheticSpec *spec, int n, uint64_t seed) {
    set->spec = *spec;
    set->n_examples = n;
    set->length = synthetic_length(spec);
    set->tokens = malloc(sizeof(int32_t) * (size_t)n * (size_t)set->length);
    set->targets = malloc(sizeof(int32_t) * (size_t)n * (size_t)(set->length - 1));
    Rng rng = rng_new(seed);
    for (int i = 0; i < n; i++)
        synthetic_example_scored(spec, &rng, set->tokens + (long)i * set->length,
                                 set->targets + (long)i * (set->length - 1));
}

void synthetic_set_free(SyntheticSet *set) {
    free(set->tokens);
    free(set->targets);
    set->tokens = set->targets = NULL;
}

void synthetic_batch(const SyntheticSet *set, const int *pick, int B, bool test, int32_t *inputs, int32_t *targets) {
    int T = set->length - 1;
    bool last_only = test && set->spec.task != TASK_MQAR;  // MQAR scores its queries either way
    for (int b = 0; b < B; b++) {
        long e = pick ? pick[b] : b;
        const int32_t *ex = set->tokens + e * set->length, *tg = set->targets + e * T;
        for (int t = 0; t < T; t++) {
            inputs[(long)b * T + t] = ex[t];
            targets[(long)b * T + t] = last_only && t < T - 1 ? IGNORE_INDEX : tg[t];
        }
    }
}
