// model.c - wiring blocks into a language model.
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ModelConfig model_config_default(int vocab_size, int d_model, int n_layers, int context) {
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.vocab_size = vocab_size;
    c.d_model = d_model;
    c.n_layers = n_layers;
    c.context = context;
    c.n_heads = 4;
    for (int i = 0; i < MODEL_MAX_LAYERS; i++) c.mixer[i] = MIXER_HYENA;
    c.hyena = hyena_config_default(d_model, context);
    return c;
}

const char *model_config_check(const ModelConfig *c) {
    if (c->vocab_size < 1) return "vocab_size must be at least 1";
    if (c->d_model < 1) return "d_model must be at least 1";
    if (c->n_layers < 1 || c->n_layers > MODEL_MAX_LAYERS) return "layers must be in [1, 64]";
    if (c->context < 1) return "context must be at least 1";
    for (int i = 0; i < c->n_layers; i++)
        if (c->mixer[i] == MIXER_ATTENTION && (c->n_heads < 1 || c->d_model % c->n_heads != 0))
            return "d_model must be a multiple of the number of attention heads";
    HyenaConfig h = c->hyena;
    h.d_model = c->d_model;
    h.l_max = c->context;
    return hyena_config_check(&h);
}

static bool any_attention(const ModelConfig *c) {
    for (int i = 0; i < c->n_layers; i++)
        if (c->mixer[i] == MIXER_ATTENTION) return true;
    return false;
}

double model_floats_at_least(const ModelConfig *c) {
    double D = c->d_model, T = c->context, total = (double)c->vocab_size * D;  // wte
    if (any_attention(c)) total += T * D;                                      // wpe
    for (int i = 0; i < c->n_layers; i++) {
        total += 8 * D * D;  // the MLP: fc1 [4D, D] and fc2 [D, 4D]
        if (c->mixer[i] == MIXER_HYENA) {
            double F = c->hyena.filter_order, E = c->hyena.emb_dim;
            total += T * E + F * E + c->hyena.num_inner_mlps * F * F;  // pos_emb.z, the filter MLP
            total += 4.0 * (c->hyena.order - 1) * D * c->hyena.modal_order;  // poles and residues
        }
    }
    return total;
}

void model_init(Model *m, const ModelConfig *cfg, uint64_t seed) {
    const char *problem = model_config_check(cfg);
    if (problem) {
        fprintf(stderr, "hyena: invalid model configuration: %s\n", problem);
        exit(1);
    }
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->cfg.hyena.d_model = cfg->d_model;
    m->cfg.hyena.l_max = cfg->context;
    arena_init(&m->arena, 0);
    params_init(&m->params, &m->arena);
    Rng rng = rng_new(seed);
    int D = cfg->d_model;
    float residual_std = 0.02f / sqrtf(2.0f * cfg->n_layers);
    m->wte = params_new(&m->params, "", "backbone.embeddings.word_embeddings.weight", 2, (int[]){cfg->vocab_size, D},
                        PARAM_DEFAULT, PARAM_DEFAULT);
    init_normal(m->wte, 0.02f, &rng);
    if (any_attention(cfg)) {
        m->wpe = params_new(&m->params, "", "backbone.embeddings.position_embeddings.weight", 2,
                            (int[]){cfg->context, D}, PARAM_DEFAULT, PARAM_DEFAULT);
        init_normal(m->wpe, 0.02f, &rng);
    }
    for (int i = 0; i < cfg->n_layers; i++) {
        Block *b = &m->blocks[i];
        char *prefix = arena_alloc(&m->arena, 32);
        snprintf(prefix, 32, "backbone.layers.%d.", i);
        b->kind = cfg->mixer[i];
        b->norm1 = layernorm_new(&m->params, prefix, "norm1", D);
        if (b->kind == MIXER_HYENA) {
            char *mixer = arena_alloc(&m->arena, 48);
            snprintf(mixer, 48, "%smixer.", prefix);
            hyena_operator_init(&b->hyena, &m->cfg.hyena, &m->params, mixer, &rng);
            init_normal(b->hyena.out_proj.weight, residual_std, &rng);
            memset(b->hyena.out_proj.bias->value.data, 0, (size_t)D * sizeof(float));
        } else {
            b->attention = attention_new(&m->params, prefix, D, cfg->n_heads, residual_std, &rng);
            if (cfg->attention_short_conv) attention_add_short_conv(&b->attention, &m->params, prefix, D, &rng);
        }
        b->norm2 = layernorm_new(&m->params, prefix, "norm2", D);
        b->mlp = mlp_new(&m->params, prefix, D, residual_std, &rng);
    }
    m->ln_f = layernorm_new(&m->params, "", "backbone.ln_f", D);
}

void model_free(Model *m) {
    params_free(&m->params);
    arena_free(&m->arena);
}

// Everything but the head: ids [B, T] -> the final hidden states ln_f(x) [B, T, D].
static Var *model_hidden(Tape *tape, const Model *m, const int32_t *ids, int B, int T) {
    if (T > m->cfg.context) {
        fprintf(stderr, "hyena: sequence of %d tokens is longer than the model's context %d\n", T, m->cfg.context);
        exit(1);
    }
    tape_scope(tape, "embeddings");
    Var *x = ag_embedding(tape, m->wte, ids, 2, (int[]){B, T});                   // [B, T, D]
    if (m->wpe) x = ag_add(tape, x, ag_slice(tape, m->wpe, 0, 0, T));             // + wpe[:T]
    for (int i = 0; i < m->cfg.n_layers; i++) {  // the scopes name every node for the debugger
        const Block *b = &m->blocks[i];
        tape_scope(tape, "layers.%d.norm1", i);
        Var *h = layernorm_forward(tape, &b->norm1, x);
        tape_scope(tape, "layers.%d.mixer", i);
        h = b->kind == MIXER_HYENA ? hyena_operator_forward(tape, &b->hyena, h) : attention_forward(tape, &b->attention, h);
        tape_scope(tape, "layers.%d", i);
        x = ag_add(tape, x, h);
        ag_name(tape, x, "residual 1");
        tape_scope(tape, "layers.%d.mlp", i);
        h = mlp_forward(tape, &b->mlp, layernorm_forward(tape, &b->norm2, x));
        tape_scope(tape, "layers.%d", i);
        x = ag_add(tape, x, h);
        ag_name(tape, x, "residual 2");
    }
    tape_scope(tape, "ln_f");
    x = layernorm_forward(tape, &m->ln_f, x);
    tape_scope(tape, NULL);
    return x;
}

Var *model_forward(Tape *tape, const Model *m, const int32_t *ids, int B, int T) {
    return ag_matmul_bt(tape, model_hidden(tape, m, ids, B, T), m->wte);          // tied head: [B, T, V]
}

Var *model_forward_rows(Tape *tape, const Model *m, const int32_t *ids, int B, int T, const int32_t *rows,
                        int n_rows) {
    Var *x = model_hidden(tape, m, ids, B, T);
    int D = m->cfg.d_model;
    tape_scope(tape, "head");
    // Picking rows of the hidden states is an embedding lookup with them as the table: the
    // backward scatters each row's gradient back to its position, and the lookup already refuses
    // a row outside [0, B·T).
    Var *picked = ag_embedding(tape, ag_reshape(tape, x, 2, (int[]){B * T, D}), rows, 1, &n_rows);  // [n_rows, D]
    tape_scope(tape, NULL);
    return ag_matmul_bt(tape, picked, m->wte);                                     // [n_rows, V]
}
