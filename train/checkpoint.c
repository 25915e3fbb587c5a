// checkpoint.c - a TrainConfig, a Model, an Optimizer and a Tokenizer to and from safetensors.
#include "checkpoint.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

#define FORMAT "hyena.c checkpoint 1"

static void put(StWriter *w, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(StWriter *w, const char *key, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    st_writer_meta(w, key, buf);
}

// The other names of the shared Sin frequency: "...implicit_filter.3.freq", ".5.freq", ...
static int freq_aliases(const Model *m, const char *name, char out[][160], int max) {
    const char *suffix = "implicit_filter.1.freq";
    size_t n = strlen(name), k = strlen(suffix);
    if (n < k || strcmp(name + n - k, suffix) != 0) return 0;
    int count = 0;
    for (int i = 3; i < 2 * (m->cfg.hyena.num_inner_mlps + 1) && count < max; i += 2)
        snprintf(out[count++], 160, "%.*simplicit_filter.%d.freq", (int)(n - k), name, i);
    return count;
}

bool checkpoint_save(const char *path, const TrainConfig *c, const Model *m, const Optimizer *opt, const Tokenizer *tok,
                     const TrainState *s) {
    StWriter w;
    st_writer_init(&w);
    char pattern[MODEL_MAX_LAYERS + 1];
    mixer_pattern(&m->cfg, pattern, sizeof pattern);
    const HyenaConfig *h = &m->cfg.hyena;
    put(&w, "format", "%s", FORMAT);
    put(&w, "preset", "%s", c->preset);
    st_writer_meta(&w, "data", c->data);
    st_writer_meta(&w, "tokenizer", c->tokenizer);
    put(&w, "vocab_size", "%d", m->cfg.vocab_size);
    put(&w, "bpe_vocab_size", "%d", c->vocab_size);
    put(&w, "val_fraction", "%.9g", c->val_fraction);
    put(&w, "d_model", "%d", m->cfg.d_model);
    put(&w, "layers", "%d", m->cfg.n_layers);
    put(&w, "mixers", "%s", pattern);
    put(&w, "context", "%d", m->cfg.context);
    put(&w, "heads", "%d", m->cfg.n_heads);
    put(&w, "attention_short_conv", "%d", m->cfg.attention_short_conv);
    put(&w, "order", "%d", h->order);
    put(&w, "filter_order", "%d", h->filter_order);
    put(&w, "emb_dim", "%d", h->emb_dim);
    put(&w, "num_inner_mlps", "%d", h->num_inner_mlps);
    put(&w, "w", "%.9g", h->w);
    put(&w, "shift", "%.9g", h->shift);
    put(&w, "fast_decay_pct", "%.9g", h->fast_decay_pct);
    put(&w, "slow_decay_pct", "%.9g", h->slow_decay_pct);
    put(&w, "target", "%.9g", h->target);
    put(&w, "lr_pos_emb", "%.9g", h->lr_pos_emb);
    put(&w, "modal_order", "%d", h->modal_order);
    put(&w, "optimizer", "%s", c->optim.kind == OPTIM_ADAMW ? "adamw" : "sgd");
    put(&w, "lr", "%.9g", c->optim.lr);
    put(&w, "min_lr", "%.9g", c->optim.min_lr);
    put(&w, "warmup", "%d", c->optim.warmup_steps);
    put(&w, "steps", "%d", c->steps);
    put(&w, "weight_decay", "%.9g", c->optim.weight_decay);
    put(&w, "beta1", "%.9g", c->optim.beta1);
    put(&w, "beta2", "%.9g", c->optim.beta2);
    put(&w, "eps", "%.9g", c->optim.eps);
    put(&w, "momentum", "%.9g", c->optim.momentum);
    put(&w, "clip", "%.9g", c->optim.clip);
    put(&w, "batch", "%d", c->batch);
    put(&w, "grad_accum", "%d", c->grad_accum);
    put(&w, "eval_every", "%d", c->eval_every);
    put(&w, "sample_tokens", "%d", c->sample_tokens);
    put(&w, "seed", "%llu", c->seed);
    put(&w, "step", "%ld", s ? s->step : 0L);
    put(&w, "best_val_loss", "%.9g", s ? s->best_val_loss : INFINITY);
    if (s)
        put(&w, "rng", "%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64, s->rng.s[0], s->rng.s[1],
            s->rng.s[2], s->rng.s[3]);
    st_writer_meta(&w, "tokenizer_kind", tokenizer_kind_name(tok));
    char *vocab = tokenizer_serialize(tok);
    st_writer_meta(&w, "tokenizer_vocab", vocab);
    free(vocab);

    int n = m->params.n;
    char (*names)[160] = calloc((size_t)(3 * n + 16 * n), 160);  // optim.m/v names and freq aliases
    int used = 0;
    for (int i = 0; i < n; i++) {
        const Var *v = m->params.items[i].var;
        st_writer_add(&w, v->name, v->value.rank, v->value.shape, v->value.data);
        int k = freq_aliases(m, v->name, names + used, 16);
        for (int a = 0; a < k; a++) st_writer_add(&w, names[used + a], v->value.rank, v->value.shape, v->value.data);
        used += k;
    }
    if (opt) {
        for (int i = 0; i < n; i++) {
            const Var *v = m->params.items[i].var;
            if (!m->params.items[i].trainable) continue;
            snprintf(names[used], 160, "optim.m.%s", v->name);
            st_writer_add(&w, names[used++], v->value.rank, v->value.shape, opt->m[i]);
            if (opt->v[i]) {
                snprintf(names[used], 160, "optim.v.%s", v->name);
                st_writer_add(&w, names[used++], v->value.rank, v->value.shape, opt->v[i]);
            }
        }
    }
    bool ok = st_writer_save(&w, path);
    st_writer_free(&w);
    free(names);
    return ok;
}

static bool meta_string(const Safetensors *st, const char *key, char *out, size_t size, char *err, size_t es) {
    const char *v = st_meta(st, key);
    if (v == NULL || strlen(v) >= size) {
        snprintf(err, es, "metadata '%s' is %s", key, v ? "too long" : "missing");
        return false;
    }
    snprintf(out, size, "%s", v);
    return true;
}

static bool parse_rng(const char *text, Rng *rng) {
    if (text == NULL) return false;
    return sscanf(text, "%16" SCNx64 " %16" SCNx64 " %16" SCNx64 " %16" SCNx64, &rng->s[0], &rng->s[1], &rng->s[2],
                  &rng->s[3]) == 4 &&
           (rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) != 0;
}

// A pole on or outside the unit circle would make recurrent generation grow without bound.
static bool poles_are_stable(const HyenaFilter *f, int layer, char *err, size_t es) {
    if (f->poles == NULL) return true;
    const float *p = f->poles->value.data;
    for (size_t k = 0; k < f->poles->value.size / 2; k++) {
        double r = hypot(p[2 * k], p[2 * k + 1]);
        if (!(r < 1.0)) {
            snprintf(err, es, "layer %d: pole %zu has |λ| = %g (every pole must lie inside the unit circle)", layer, k, r);
            return false;
        }
    }
    return true;
}

bool checkpoint_load(const char *path, TrainConfig *c, Model *m, Tokenizer *tok, Optimizer *opt, TrainState *s,
                     char *err, size_t es) {
    Safetensors st;
    char inner[400];
    if (!st_load(path, &st, inner, sizeof inner)) {
        snprintf(err, es, "%s", inner);
        return false;
    }
    *c = train_config_default();
    const char *format = st_meta(&st, "format");
    char pattern[MODEL_MAX_LAYERS + 1] = "", kind[16];
    float pos_lr = 0;
    int steps = 0;
    unsigned long long seed = 0;
    bool ok = format && strcmp(format, FORMAT) == 0;
    if (!ok) snprintf(inner, sizeof inner, "not a hyena.c checkpoint (metadata 'format' is %s)", format ? format : "missing");
    HyenaConfig *h = &c->model.hyena;
    ok = ok && meta_string(&st, "preset", c->preset, sizeof c->preset, inner, sizeof inner) &&
         meta_string(&st, "data", c->data, sizeof c->data, inner, sizeof inner) &&
         meta_string(&st, "tokenizer", c->tokenizer, sizeof c->tokenizer, inner, sizeof inner) &&
         st_meta_int(&st, "vocab_size", &c->model.vocab_size, 1, 1 << 24, inner, sizeof inner) &&
         st_meta_int(&st, "bpe_vocab_size", &c->vocab_size, 0, 1 << 24, inner, sizeof inner) &&
         st_meta_float(&st, "val_fraction", &c->val_fraction, inner, sizeof inner) &&
         st_meta_int(&st, "d_model", &c->model.d_model, 1, 1 << 16, inner, sizeof inner) &&
         st_meta_int(&st, "layers", &c->model.n_layers, 1, MODEL_MAX_LAYERS, inner, sizeof inner) &&
         meta_string(&st, "mixers", pattern, sizeof pattern, inner, sizeof inner) &&
         st_meta_int(&st, "context", &c->model.context, 1, 1 << 24, inner, sizeof inner) &&
         st_meta_int(&st, "heads", &c->model.n_heads, 1, 1 << 16, inner, sizeof inner) &&
         st_meta_int(&st, "order", &h->order, 2, 16, inner, sizeof inner) &&
         st_meta_int(&st, "filter_order", &h->filter_order, 1, 1 << 16, inner, sizeof inner) &&
         st_meta_int(&st, "emb_dim", &h->emb_dim, 3, 1 << 10, inner, sizeof inner) &&
         st_meta_int(&st, "num_inner_mlps", &h->num_inner_mlps, 0, FILTER_MAX_INNER, inner, sizeof inner) &&
         st_meta_float(&st, "w", &h->w, inner, sizeof inner) && st_meta_float(&st, "shift", &h->shift, inner, sizeof inner) &&
         st_meta_float(&st, "fast_decay_pct", &h->fast_decay_pct, inner, sizeof inner) &&
         st_meta_float(&st, "slow_decay_pct", &h->slow_decay_pct, inner, sizeof inner) &&
         st_meta_float(&st, "target", &h->target, inner, sizeof inner) &&
         st_meta_float(&st, "lr_pos_emb", &pos_lr, inner, sizeof inner) &&
         meta_string(&st, "optimizer", kind, sizeof kind, inner, sizeof inner) &&
         st_meta_float(&st, "lr", &c->optim.lr, inner, sizeof inner) &&
         st_meta_float(&st, "min_lr", &c->optim.min_lr, inner, sizeof inner) &&
         st_meta_int(&st, "warmup", &c->optim.warmup_steps, 0, 1 << 30, inner, sizeof inner) &&
         st_meta_int(&st, "steps", &steps, 1, 1 << 30, inner, sizeof inner) &&
         st_meta_float(&st, "weight_decay", &c->optim.weight_decay, inner, sizeof inner) &&
         st_meta_float(&st, "beta1", &c->optim.beta1, inner, sizeof inner) &&
         st_meta_float(&st, "beta2", &c->optim.beta2, inner, sizeof inner) &&
         st_meta_float(&st, "eps", &c->optim.eps, inner, sizeof inner) &&
         st_meta_float(&st, "momentum", &c->optim.momentum, inner, sizeof inner) &&
         st_meta_float(&st, "clip", &c->optim.clip, inner, sizeof inner) &&
         st_meta_int(&st, "batch", &c->batch, 1, 1 << 16, inner, sizeof inner) &&
         st_meta_int(&st, "grad_accum", &c->grad_accum, 1, 1024, inner, sizeof inner) &&
         st_meta_int(&st, "eval_every", &c->eval_every, 1, 1 << 30, inner, sizeof inner) &&
         st_meta_int(&st, "sample_tokens", &c->sample_tokens, 0, 1 << 20, inner, sizeof inner);
    // Absent from files written before distillation existed: those have the network's filters.
    if (ok && st_meta(&st, "attention_short_conv"))  // absent from checkpoints older than the option
        ok = st_meta_int(&st, "attention_short_conv", &c->model.attention_short_conv, 0, 1, inner, sizeof inner);
    if (ok && st_meta(&st, "modal_order")) ok = st_meta_int(&st, "modal_order", &h->modal_order, 0, 256, inner, sizeof inner);
    if (ok && opt && h->modal_order > 0) {
        snprintf(inner, sizeof inner, "a distilled model (modal_order %d) cannot be trained further; resume from the "
                 "checkpoint it was distilled from", h->modal_order);
        ok = false;
    }
    const char *seed_text = st_meta(&st, "seed");
    if (ok && (seed_text == NULL || sscanf(seed_text, "%llu", &seed) != 1)) {
        snprintf(inner, sizeof inner, "metadata 'seed' is %s", seed_text ? seed_text : "missing");
        ok = false;
    }
    if (ok && (int)strlen(pattern) != c->model.n_layers) {
        snprintf(inner, sizeof inner, "metadata 'mixers' (%s) does not have one letter per layer", pattern);
        ok = false;
    }
    for (int i = 0; ok && i < c->model.n_layers; i++) c->model.mixer[i] = pattern[i] == 'a' ? MIXER_ATTENTION : MIXER_HYENA;
    if (ok) {
        h->lr_pos_emb = pos_lr;
        h->d_model = c->model.d_model;
        h->l_max = c->model.context;
        c->steps = steps;
        c->optim.total_steps = steps;
        c->optim.kind = strcmp(kind, "sgd") == 0 ? OPTIM_SGD : OPTIM_ADAMW;
        c->seed = seed;
        const char *problem = model_config_check(&c->model);
        if (problem) {
            snprintf(inner, sizeof inner, "invalid model configuration: %s", problem);
            ok = false;
        } else if (model_floats_at_least(&c->model) * sizeof(float) > (double)(st.size - st.data_start)) {
            snprintf(inner, sizeof inner,
                     "its metadata describe a model of at least %.3g parameters (vocabulary %d, width %d, "
                     "context %d), more than its %zu bytes of tensors can hold",
                     model_floats_at_least(&c->model), c->model.vocab_size, c->model.d_model, c->model.context,
                     st.size - st.data_start);
            ok = false;
        }
    }
    const char *tk = st_meta(&st, "tokenizer_kind"), *tv = st_meta(&st, "tokenizer_vocab");
    if (ok && (!tk || !tv)) {
        snprintf(inner, sizeof inner, "the tokenizer is missing from the metadata");
        ok = false;
    }
    bool have_tok = ok && tokenizer_parse(tok, tk, tv, inner, sizeof inner);
    ok = have_tok;
    if (ok && tokenizer_vocab_size(tok) != c->model.vocab_size) {
        snprintf(inner, sizeof inner, "the tokenizer has %d tokens but the model %d", tokenizer_vocab_size(tok),
                 c->model.vocab_size);
        ok = false;
    }
    bool have_model = false, have_opt = false;
    if (ok) {
        model_init(m, &c->model, 0);
        have_model = true;
        for (int i = 0; ok && i < m->params.n; i++) {
            Var *v = m->params.items[i].var;
            ok = st_read_f32(&st, v->name, v->value.data, v->value.rank, v->value.shape, inner, sizeof inner);
        }
        for (int i = 0; ok && i < m->cfg.n_layers; i++)
            if (m->blocks[i].kind == MIXER_HYENA) ok = poles_are_stable(&m->blocks[i].hyena.filter, i, inner, sizeof inner);
    }
    if (ok && opt) {
        optim_init(opt, &c->optim, &m->params);
        have_opt = true;
        for (int i = 0; ok && i < m->params.n; i++) {
            Var *v = m->params.items[i].var;
            if (!m->params.items[i].trainable) continue;
            char name[200];
            snprintf(name, sizeof name, "optim.m.%s", v->name);
            ok = st_read_f32(&st, name, opt->m[i], v->value.rank, v->value.shape, inner, sizeof inner);
            if (ok && opt->v[i]) {
                snprintf(name, sizeof name, "optim.v.%s", v->name);
                ok = st_read_f32(&st, name, opt->v[i], v->value.rank, v->value.shape, inner, sizeof inner);
            }
        }
    }
    if (ok && s) {
        int step_i = 0;
        // "inf" until the first evaluation: a run interrupted before it must still resume.
        const char *best = st_meta(&st, "best_val_loss");
        ok = st_meta_int(&st, "step", &step_i, 0, 1 << 30, inner, sizeof inner);
        if (ok && best && strcmp(best, "inf") == 0) s->best_val_loss = INFINITY;
        else ok = ok && st_meta_float(&st, "best_val_loss", &s->best_val_loss, inner, sizeof inner);
        s->step = step_i;
        if (ok && !parse_rng(st_meta(&st, "rng"), &s->rng)) {
            snprintf(inner, sizeof inner, "metadata 'rng' is not four hexadecimal words");
            ok = false;
        }
        if (ok && opt) opt->step = s->step;
    }
    st_free(&st);
    if (!ok) {
        if (have_opt) optim_free(opt);
        if (have_model) model_free(m);
        if (have_tok) tokenizer_free(tok);
        snprintf(err, es, "%s: %s", path, inner);
    }
    return ok;
}

bool checkpoint_open(const char *path, TrainConfig *cfg, Model *model, Tokenizer *tok) {
    char err[600];
    if (checkpoint_load(path, cfg, model, tok, NULL, NULL, err, sizeof err)) return true;
    fprintf(stderr, "hyena: %s\n", err);
    return false;
}
