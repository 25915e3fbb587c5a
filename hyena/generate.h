// generate.h - cached generation: each new token costs O(t·D) per layer, not a forward pass.
//
// A Hyena layer is position-wise except for its convolutions. To compute the output at position
// t it needs, per layer: the last two inputs of the short convolution, the history v_0 .. v_t of
// each long convolution's input (y_t = sum_{s<=t} h[t-s] v_s + bias v_t), and the filters h,
// evaluated once for the whole context. An attention layer keeps its keys and values.
// gencache_step feeds one token and returns the logits for the next; the same kernels as the
// full forward pass compute every row, so the logits match it (tests/test_generate.c).
#ifndef HYENA_GENERATE_H
#define HYENA_GENERATE_H

#include "model.h"

typedef struct LayerCache {
    float *z_history;   // Hyena: the last 2 rows of in_proj's output, [2][(N+1)D]
    float *v_history;   // Hyena: the long convolutions' inputs, [N-1][context][D]
    float *filters;     // Hyena: [context][(N-1)D]
    float *keys, *values;  // attention: [context][D]
} LayerCache;

typedef struct GenCache {
    const Model *model;
    int t;                // tokens fed so far
    LayerCache layers[MODEL_MAX_LAYERS];
    float *x, *h, *z, *u, *v, *y, *mlp, *att;  // one row each, reused for every token
} GenCache;

void gencache_init(GenCache *c, const Model *m);
void gencache_free(GenCache *c);
void gencache_reset(GenCache *c);   // forget every token (the filters stay)
// Feed the token at position c->t (< context); logits: [vocab] for the token after it.
void gencache_step(GenCache *c, int32_t id, float *logits);

#endif
