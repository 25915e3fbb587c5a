// params.h - the named parameters of a model, with the optimizer settings each one wants.
//
// Names are the PyTorch reference's state-dict names ("in_proj.weight", ...; in a model,
// prefixed per layer), so weights move between hyena.c and PyTorch through safetensors files.
// Buffers (the reference's fixed tensors: the filter's time grid and decay rates) are listed too,
// marked not trainable: they are saved and loaded but never updated.
#ifndef HYENA_PARAMS_H
#define HYENA_PARAMS_H

#include <stdbool.h>

#include "../autograd/tape.h"
#include "../tensor/rng.h"

#define PARAM_DEFAULT -1.0f   // "use the optimizer's setting"

typedef struct Param {
    Var *var;
    bool trainable;
    float lr;            // PARAM_DEFAULT or an absolute learning rate (the reference's lr_pos_emb 1e-5)
    float weight_decay;  // PARAM_DEFAULT or an absolute weight decay (0 for filter parameters)
} Param;

typedef struct ParamList {
    Param *items;
    int n, cap;
    Arena *arena;        // where values, gradients and names live (never reset)
} ParamList;

void params_init(ParamList *list, Arena *arena);
void params_free(ParamList *list);   // the list itself; the arena keeps the tensors
// A new zero-initialized parameter named prefix + name.
Var *params_new(ParamList *list, const char *prefix, const char *name, int rank, const int *shape, float lr,
                float weight_decay);
// A new buffer (saved, never trained).
Var *params_new_buffer(ParamList *list, const char *prefix, const char *name, int rank, const int *shape);
Param *params_find(ParamList *list, const char *name);
long params_count(const ParamList *list);   // trainable scalars
void params_zero_grad(ParamList *list);

// PyTorch's default initialization of Linear and Conv1d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void init_uniform_fan_in(Var *v, int fan_in, Rng *rng);
void init_normal(Var *v, float std, Rng *rng);

#endif
