// generate.h - generation one token at a time, in two modes.
//
// A Hyena layer is position-wise except for its convolutions. To compute the output at position
// t it needs, per layer, the last two inputs of the short convolution and, for each long
// convolution y_t = sum_{s<=t} h[t-s] v_s + bias v_t, one of:
//  - cached: the whole history v_0 .. v_t and the filters h, evaluated once for the context.
//    Nothing is recomputed, but every token re-reads the past: O(t·D) per token and layer,
//    memory growing with t (as a transformer's KV cache; an attention layer keeps its keys and
//    values the same way).
//  - recurrent, for a distilled model (filters h[t] = Re sum_n R_n λ_n^t, autograd/modal.h):
//    d complex states per channel, x_n <- λ_n x_n + v_t and y_t = Re sum_n R_n x_n + bias v_t.
//    O(d·D) per token and layer, memory fixed whatever t, and no limit at the training context
//    for an all-Hyena model (tutorials/13-from-convolution-to-recurrence.md).
// gencache_step feeds one token and returns the logits for the next; the same kernels as the
// full forward pass compute every row, so the logits match it (tests/test_generate.c).
#ifndef HYENA_GENERATE_H
#define HYENA_GENERATE_H

#include "model.h"

typedef enum GenMode {
    GEN_CACHED,        // keep every past input (any model)
    GEN_RECURRENT,     // keep d states per channel (a distilled model)
} GenMode;

typedef struct LayerCache {
    float *z_history;   // Hyena: the last 2 rows of in_proj's output, [2][(N+1)D]
    float *v_history;   // Hyena, cached: the long convolutions' inputs, [N-1][context][D]
    float *filters;     // Hyena, cached: [context][(N-1)D]
    float *state;       // Hyena, recurrent: x_n per channel, [(N-1)D][d][2] (complex as re, im)
    float *keys, *values;  // attention: [context][D]
} LayerCache;

typedef struct GenCache {
    const Model *model;
    GenMode mode;
    long capacity;        // tokens it can hold: the context, or LONG_MAX when recurrent without attention
    long t;               // tokens fed so far
    LayerCache layers[MODEL_MAX_LAYERS];
    float *x, *h, *z, *u, *v, *y, *mlp, *att;  // one row each, reused for every token
} GenCache;

// The recurrent mode for a distilled model, the cached mode otherwise.
void gencache_init(GenCache *c, const Model *m);
// A given mode (GEN_RECURRENT needs a distilled model: else a one-line error and exit 1).
void gencache_init_mode(GenCache *c, const Model *m, GenMode mode);
// Bytes held for the history or the states (the growing part, for hyena bench generate).
size_t gencache_bytes(const GenCache *c);
void gencache_free(GenCache *c);
void gencache_reset(GenCache *c);   // forget every token (the filters stay)
// Feed the token at position c->t (< capacity); logits: [vocab] for the token after it.
void gencache_step(GenCache *c, int32_t id, float *logits);
// Feed a whole prompt ids[0..n) into an empty cache (c->t == 0) at once, as the full forward
// pass computes it: matrix products over all n rows and the long convolutions by FFT; then the
// history (cached) or the states at n-1 (recurrent: x_n = sum_s λ_n^(n-1-s) v_s) are kept.
// The same result as n calls of gencache_step, much faster for a long prompt. Models with an
// attention layer are fed token by token. logits: [vocab] for the token after the prompt.
void gencache_prefill(GenCache *c, const int32_t *ids, long n, float *logits);

#endif
