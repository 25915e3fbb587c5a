// sample.h - drawing tokens from a model, and `hyena sample`.
#ifndef HYENA_SAMPLE_H
#define HYENA_SAMPLE_H

#include "../data/corpus.h"
#include "../data/tokenizer.h"
#include "../hyena/generate.h"
#include "../hyena/model.h"

typedef struct SampleOptions {
    float temperature;   // > 0; 1 samples the model's distribution, lower is greedier
    int top_k;           // keep the k most likely tokens; 0 keeps all
    float top_p;         // keep the smallest set whose probability reaches p; 1 keeps all
} SampleOptions;

// Draw one token from logits[V] (modified in place).
int32_t sample_token(float *logits, int V, const SampleOptions *o, Rng *rng);
// Append n_new tokens to ids[0..n) (ids must hold n + n_new). emit (may be NULL) is called with
// every new token as it is drawn. generate() uses the cache of hyena/generate.h: each token costs
// O(t·D) per layer; when the cache is full (the model's context) it restarts from the last half
// context. A distilled model runs as a recurrence instead: O(d·D) per token, memory fixed, and
// (without attention layers) never full. generate_uncached() runs a forward pass over the last `context` tokens per new token:
// the slow way, kept to compare (`hyena bench generate`, `hyena sample --no-cache`).
typedef void (*EmitFn)(int32_t id, void *ctx);
void generate(const Model *m, int32_t *ids, long n, int n_new, const SampleOptions *o, Rng *rng, EmitFn emit,
              void *ctx);
void generate_uncached(const Model *m, int32_t *ids, long n, int n_new, const SampleOptions *o, Rng *rng, Tape *tape,
                       EmitFn emit, void *ctx);
int sample_main(int argc, char **argv);

#endif
