// params.c - a growable list of named parameters.
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void params_init(ParamList *list, Arena *arena) {
    memset(list, 0, sizeof *list);
    list->arena = arena;
}

void params_free(ParamList *list) {
    free(list->items);
    list->items = NULL;
    list->n = list->cap = 0;
}

static Param *append(ParamList *list, Var *v, bool trainable, float lr, float wd) {
    if (list->n == list->cap) {
        list->cap = list->cap ? 2 * list->cap : 32;
        list->items = realloc(list->items, (size_t)list->cap * sizeof(Param));
        if (list->items == NULL) {
            fprintf(stderr, "hyena: out of memory listing parameters\n");
            exit(1);
        }
    }
    Param *p = &list->items[list->n++];
    *p = (Param){v, trainable, lr, wd};
    return p;
}

static const char *join(Arena *arena, const char *prefix, const char *name) {
    size_t a = strlen(prefix), b = strlen(name);
    char *s = arena_alloc(arena, a + b + 1);
    memcpy(s, prefix, a);
    memcpy(s + a, name, b + 1);
    return s;
}

Var *params_new(ParamList *list, const char *prefix, const char *name, int rank, const int *shape, float lr,
                float weight_decay) {
    Var *v = ag_param(list->arena, join(list->arena, prefix, name), rank, shape);
    append(list, v, true, lr, weight_decay);
    return v;
}

Var *params_new_buffer(ParamList *list, const char *prefix, const char *name, int rank, const int *shape) {
    Var *v = ag_param(list->arena, join(list->arena, prefix, name), rank, shape);
    v->requires_grad = false;
    append(list, v, false, 0.0f, 0.0f);
    return v;
}

Param *params_find(ParamList *list, const char *name) {
    for (int i = 0; i < list->n; i++)
        if (strcmp(list->items[i].var->name, name) == 0) return &list->items[i];
    return NULL;
}

long params_count(const ParamList *list) {
    long n = 0;
    for (int i = 0; i < list->n; i++)
        if (list->items[i].trainable) n += (long)list->items[i].var->value.size;
    return n;
}

void params_zero_grad(ParamList *list) {
    for (int i = 0; i < list->n; i++)
        if (list->items[i].trainable) memset(list->items[i].var->grad, 0, list->items[i].var->value.size * sizeof(float));
}

void init_uniform_fan_in(Var *v, int fan_in, Rng *rng) {
    float bound = 1.0f / sqrtf((float)fan_in);
    rng_fill_uniform(rng, v->value.data, (long)v->value.size, -bound, bound);
}

void init_normal(Var *v, float std, Rng *rng) { rng_fill_normal(rng, v->value.data, (long)v->value.size, 0.0f, std); }
