// model.h - the language model: embedding, N pre-norm residual blocks, final norm, tied head.
//
//   x = wte[ids] (+ wpe[t] when any layer is attention: Hyena's filters carry position themselves)
//   for each block:  x = x + mixer(norm1(x));  x = x + mlp(norm2(x))     mixer: Hyena or attention
//   logits = ln_f(x) · wteᵀ                                               (the head is the embedding)
// Parameter names follow the safari LM: backbone.embeddings.word_embeddings.weight,
// backbone.layers.{i}.mixer.in_proj.weight, backbone.layers.{i}.norm1.weight, backbone.ln_f.bias, ...
#ifndef HYENA_MODEL_H
#define HYENA_MODEL_H

#include "attention.h"
#include "layernorm.h"
#include "mlp.h"
#include "operator.h"

#define MODEL_MAX_LAYERS 64

typedef enum MixerKind { MIXER_HYENA, MIXER_ATTENTION } MixerKind;

typedef struct ModelConfig {
    int vocab_size;
    int d_model;
    int n_layers;
    int context;                          // longest sequence (the Hyena filters' l_max)
    MixerKind mixer[MODEL_MAX_LAYERS];    // per layer
    int n_heads;                          // for attention layers
    int attention_short_conv;             // 1: attention layers get a short conv on q, k, v (attention.h)
    HyenaConfig hyena;                    // order, filter_order, ... (d_model, l_max follow the above)
} ModelConfig;

// All-Hyena with the reference's operator defaults, 4 attention heads for any attention layer.
ModelConfig model_config_default(int vocab_size, int d_model, int n_layers, int context);
const char *model_config_check(const ModelConfig *cfg);   // NULL if valid
// A lower bound on the floats the model's parameters and buffers hold, from the configuration
// alone (the products of two sizes: V·D, 8·D² per MLP, context·emb_dim per Hyena filter, ...).
// A file that claims this configuration must hold at least that much; checking it before
// model_init keeps a corrupt width or context from asking for gigabytes.
double model_floats_at_least(const ModelConfig *cfg);

typedef struct Block {
    MixerKind kind;
    LayerNorm norm1, norm2;
    HyenaOperator hyena;
    Attention attention;
    Mlp mlp;
} Block;

typedef struct Model {
    ModelConfig cfg;
    Arena arena;        // every parameter, gradient and name: allocated once
    ParamList params;
    Var *wte;           // [V, D]
    Var *wpe;           // [context, D], or NULL for an all-Hyena model
    Block blocks[MODEL_MAX_LAYERS];
    LayerNorm ln_f;
} Model;

// GPT-2-style initialization for the LM (embeddings and MLP/attention weights N(0, 0.02), residual
// projections N(0, 0.02 / sqrt(2 n_layers)), biases 0); the Hyena operator's own projections,
// short filter and filter network keep the reference's PyTorch defaults, except its out_proj,
// a residual projection.
void model_init(Model *m, const ModelConfig *cfg, uint64_t seed);
void model_free(Model *m);
// ids: [B, T] with T <= context  ->  logits [B, T, V]
Var *model_forward(Tape *tape, const Model *m, const int32_t *ids, int B, int T);
// The logits at chosen positions only: rows index the flattened [B·T] positions -> [n_rows, V].
// When a task scores a few positions (MQAR's queries), the head's matmul over the whole
// vocabulary for the other positions is wasted work: at vocabulary 8192 it is most of the step.
Var *model_forward_rows(Tape *tape, const Model *m, const int32_t *ids, int B, int T, const int32_t *rows,
                        int n_rows);

#endif
