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

double optim_grad_norm(const ParamList *params) {
    double sum = 0;
    for (int i = 0; i < params->n; i++) {
        if (!params->items[i].trainable) continue;
        const Var *v = params->items[i].var;
        for (size_t k = 0; k < v->value.size; k++) sum += (double)v->grad[k] * v->grad[k];
    }
    return sqrt(sum);
}

double optim_clip(ParamList *params, float clip) {
    double norm = optim_grad_norm(params);
    if (clip > 0 && norm > clip) {
        float scale = (float)(clip / (norm + 1e-6));
        for (int i = 0; i < params->n; i++) {
            if (!params->items[i].trainable) continue;
            Var *v = params->items[i].var;
            for (size_t k = 0; k < v->value.size; k++) v->grad[k] *= scale;
        }
    }
    return norm;
}

typedef struct UpdateJob {
    float *p, *g, *m, *v;
    float lr, wd, b1, b2, eps, bias1, bias2, momentum;
    OptimizerKind kind;
} UpdateJob;

static void update_chunk(void *ctx, long begin, long end) {
    const UpdateJob *j = ctx;
    // Local copies: through j->, every store to p, m or v might change j itself as far as the
    // compiler knows, so it would reload the pointers and leave the loop scalar.
    float *restrict p = j->p, *restrict m = j->m, *restrict v = j->v;
    const float *restrict g = j->g;
    float lr = j->lr, wd = j->wd;
    if (j->kind == OPTIM_ADAMW) {
        float b1 = j->b1, b2 = j->b2, bias1 = j->bias1, bias2 = j->bias2, eps = j->eps;
        for (long i = begin; i < end; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            float mhat = m[i] / bias1, vhat = v[i] / bias2;
            p[i] -= lr * wd * p[i];
            p[i] -= lr * mhat / (sqrtf(vhat) + eps);
        }
    } else {
        float momentum = j->momentum;
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
    float bias1 = 1.0f - powf(c->beta1, (float)t), bias2 = 1.0f - powf(c->beta2, (float)t);
    for (int i = 0; i < o->params->n; i++) {
        const Param *p = &o->params->items[i];
        if (!p->trainable) continue;
        UpdateJob j = {p->var->value.data, p->var->grad, o->m[i], o->v[i],
                       p->lr >= 0 ? p->lr * factor : lr,
                       p->weight_decay >= 0 ? p->weight_decay : c->weight_decay,
                       c->beta1, c->beta2, c->eps, bias1, bias2, c->momentum, c->kind};
        parallel_for((long)p->var->value.size, 16384, update_chunk, &j);
    }
    o->step++;
}
