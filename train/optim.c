// optim.c - AdamW, SGD, warmup + cosine, clipping.
#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/pool.h"

#define PI 3.14159265358979323846

OptimConfig optim_config_default(void) {
    return (OptimConfig){.kind = OPTIM_ADAMW, .lr = 1e-3f, .min_lr = 1e-4f, .warmup_steps = 100, .total_steps = 2000,
                         .weight_decay = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f, .momentum = 0.9f,
                         .clip = 1.0f};
}

void optim_init(Optimizer *o, const OptimConfig *cfg, ParamList *params) {
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->params = params;
    o->m = calloc((size_t)params->n, sizeof(float *));
    o->v = calloc((size_t)params->n, sizeof(float *));
    for (int i = 0; i < params->n; i++) {
        if (!params->items[i].trainable) continue;
        size_t n = params->items[i].var->value.size;
        o->m[i] = calloc(n, sizeof(float));
        if (cfg->kind == OPTIM_ADAMW) o->v[i] = calloc(n, sizeof(float));
    }
}

void optim_free(Optimizer *o) {
    for (int i = 0; o->params && i < o->params->n; i++) {
        free(o->m[i]);
        free(o->v[i]);
    }
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

float optim_lr_at(const OptimConfig *c, long t) {
    if (t < c->warmup_steps) return c->lr * (float)(t + 1) / (float)c->warmup_steps;
    if (t >= c->total_steps) return c->min_lr;
    double progress = (double)(t - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
    return c->min_lr + (float)(0.5 * (1.0 + cos(PI * progress))) * (c->lr - c->min_lr);
}

// ---- every trainable float as one range
// A model has dozens of parameters, most of them small (biases, norms, filter layers): threading
// each on its own leaves most of them to one thread. Numbered one after the other in parameter
// order, the trainable floats form a single range that parallel_for cuts into equal chunks,
// whatever the parameters' sizes; a chunk may end inside one parameter and cover several others.
#define MIN_CHUNK_FLOATS 16384
#define MAX_CHUNKS 1024   // chunks of a large model grow instead, so the partial sums fit on the stack

// Floats [begin, end) of parameter `param`, which lie in chunk `chunk` of the range.
typedef void (*SpanFn)(void *ctx, long chunk, int param, long begin, long end);

typedef struct RangeJob {
    const ParamList *params;
    long chunk_floats;
    SpanFn fn;
    void *ctx;
} RangeJob;

static long trainable_floats(const ParamList *params) {
    long total = 0;
    for (int i = 0; i < params->n; i++)
        if (params->items[i].trainable) total += (long)params->items[i].var->value.size;
    return total;
}

static long chunk_floats_for(long total) {
    long chunk = (total + MAX_CHUNKS - 1) / MAX_CHUNKS;
    return chunk > MIN_CHUNK_FLOATS ? chunk : MIN_CHUNK_FLOATS;
}

// Calls fn on the part of every parameter that falls in range floats [begin, end).
static void range_chunk(void *ctx, long begin, long end) {
    const RangeJob *job = ctx;
    long offset = 0;  // where the current parameter starts in the range
    for (int i = 0; i < job->params->n && offset < end; i++) {
        if (!job->params->items[i].trainable) continue;
        long size = (long)job->params->items[i].var->value.size;
        long lo = begin > offset ? begin : offset, hi = end < offset + size ? end : offset + size;
        if (lo < hi) job->fn(job->ctx, begin / job->chunk_floats, i, lo - offset, hi - offset);
        offset += size;
    }
}

// Runs fn over every trainable float, in parallel; returns the number of chunks.
static long for_each_trainable(const ParamList *params, SpanFn fn, void *ctx) {
    long total = trainable_floats(params), chunk = chunk_floats_for(total);
    RangeJob job = {params, chunk, fn, ctx};
    parallel_for(total, chunk, range_chunk, &job);
    return (total + chunk - 1) / chunk;
}

// Sum of squares into the chunk's partial sum. Eight sums side by side, as a vector unit holds
// them, instead of one long chain of dependent additions (each waits for the previous one).
typedef struct NormJob {
    const ParamList *params;
    double *partials;  // one per chunk
} NormJob;

static void square_sum_span(void *ctx, long chunk, int param, long begin, long end) {
    const NormJob *job = ctx;
    const float *g = job->params->items[param].var->grad;
    double lanes[8] = {0};
    long i = begin;
    for (; i + 8 <= end; i += 8)
        for (int l = 0; l < 8; l++) lanes[l] += (double)g[i + l] * g[i + l];
    for (; i < end; i++) lanes[0] += (double)g[i] * g[i];
    double sum = 0;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    job->partials[chunk] += sum;
}

double optim_grad_norm(const ParamList *params) {
    double partials[MAX_CHUNKS] = {0};
    NormJob job = {params, partials};
    long chunks = for_each_trainable(params, square_sum_span, &job);
    double sum = 0;
    for (long c = 0; c < chunks; c++) sum += partials[c];  // in chunk order: the same bits on any thread count
    return sqrt(sum);
}

typedef struct ScaleJob {
    const ParamList *params;
    float scale;
} ScaleJob;

static void scale_span(void *ctx, long chunk, int param, long begin, long end) {
    const ScaleJob *job = ctx;
    (void)chunk;
    float *g = job->params->items[param].var->grad;
    for (long i = begin; i < end; i++) g[i] *= job->scale;
}

double optim_clip(ParamList *params, float clip) {
    double norm = optim_grad_norm(params);
    if (clip > 0 && norm > clip) {
        ScaleJob job = {params, (float)(clip / (norm + 1e-6))};
        for_each_trainable(params, scale_span, &job);
    }
    return norm;
}

typedef struct UpdateJob {
    const Optimizer *o;
    float lr, factor, bias1, bias2;
} UpdateJob;

// The update of floats [begin, end) of one parameter.
static void update_span(void *ctx, long chunk, int param, long begin, long end) {
    const UpdateJob *j = ctx;
    const OptimConfig *c = &j->o->cfg;
    const Param *prm = &j->o->params->items[param];
    (void)chunk;
    // Local copies, restrict: through j->, every store to p, m or v might change the job itself
    // as far as the compiler knows, so it would reload the pointers and leave the loop scalar.
    float *restrict p = prm->var->value.data, *restrict m = j->o->m[param], *restrict v = j->o->v[param];
    const float *restrict g = prm->var->grad;
    float lr = prm->lr >= 0 ? prm->lr * j->factor : j->lr;
    float wd = prm->weight_decay >= 0 ? prm->weight_decay : c->weight_decay;
    if (c->kind == OPTIM_ADAMW) {
        float b1 = c->beta1, b2 = c->beta2, bias1 = j->bias1, bias2 = j->bias2, eps = c->eps;
        for (long i = begin; i < end; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            float mhat = m[i] / bias1, vhat = v[i] / bias2;
            p[i] -= lr * wd * p[i];
            p[i] -= lr * mhat / (sqrtf(vhat) + eps);
        }
    } else {
        float momentum = c->momentum;
        for (long i = begin; i < end; i++) {
            m[i] = momentum * m[i] + g[i];
            p[i] -= lr * (m[i] + wd * p[i]);
        }
    }
}

void optim_step(Optimizer *o) {
    const OptimConfig *c = &o->cfg;
    float lr = optim_lr_at(c, o->step), factor = c->lr > 0 ? lr / c->lr : 0.0f;
    long t = o->step + 1;
    UpdateJob j = {o, lr, factor, 1.0f - powf(c->beta1, (float)t), 1.0f - powf(c->beta2, (float)t)};
    for_each_trainable(o->params, update_span, &j);
    o->step++;
}
