// import.c - `hyena import`: a PyTorch state dict (the reference's names, in a safetensors file)
// made into a hyena.c checkpoint.
//
// The weights say most of the configuration: the vocabulary and width (the embedding's shape), the
// layers (the names), each layer's mixer (a Hyena layer has mixer.in_proj, an attention layer
// mixer.Wqkv), the Hyena order ((order + 1) x width rows of in_proj), the filter network's sizes
// (implicit_filter.0.weight is [filter_order, emb_dim]; its count of linear layers gives the inner
// ones) and the context (the filter's positional embedding z is [1, context, emb_dim], or wpe).
// Flags give what they cannot: the tokenizer and its corpus, and attention heads. Every tensor must
// fit the model exactly: a missing, extra or misshapen one is named in a one-line error.
#include "import.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../data/corpus.h"
#include "checkpoint.h"
#include "cli.h"
#include "safetensors.h"

static void usage(FILE *f) {
    fprintf(f, "usage: hyena import --weights F.safetensors --out CKPT [options]\n"
               "Makes a checkpoint from a PyTorch state dict saved with the reference's names (see README:\n"
               "\"PyTorch, both ways\"). The configuration is read off the tensors' names and shapes.\n"
               "  --weights FILE    the state dict, as safetensors (safetensors.torch.save_file)\n"
               "  --out FILE        the checkpoint to write (eval, sample and train --resume take it)\n"
               "  --data PATH       the corpus the model was trained on (default: the embedded corpus);\n"
               "                    eval and train --resume use it, the char tokenizer is built from it\n"
               "  --tokenizer KIND  char (default) or bpe:FILE; its vocabulary must match the embedding\n"
               "  --heads N         attention heads, for attention layers (default 4)\n");
}

static bool fail(char *err, size_t es, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, es, fmt, ap);
    va_end(ap);
    return false;
}

// The tensor named by the format, or NULL.
static const StTensor *tensor(const Safetensors *st, const char *fmt, int layer, int index) {
    char name[200];
    snprintf(name, sizeof name, fmt, layer, index);
    return st_find(st, name);
}

// The model configuration the tensors describe (see the top of the file).
static bool infer_config(const Safetensors *st, int heads, ModelConfig *cfg, char *err, size_t es) {
    const StTensor *wte = st_find(st, "backbone.embeddings.word_embeddings.weight");
    if (wte == NULL || wte->rank != 2)
        return fail(err, es, "no 2-D tensor 'backbone.embeddings.word_embeddings.weight' (the reference's names?)");
    int V = (int)wte->shape[0], D = (int)wte->shape[1], layers = 0;
    while (layers < MODEL_MAX_LAYERS && tensor(st, "backbone.layers.%d.norm1.weight", layers, 0)) layers++;
    if (layers == 0) return fail(err, es, "no layers: no tensor 'backbone.layers.0.norm1.weight'");
    *cfg = model_config_default(V, D, layers, 1);
    cfg->n_heads = heads;
    int context = 0;
    const StTensor *wpe = st_find(st, "backbone.embeddings.position_embeddings.weight");
    if (wpe && wpe->rank == 2) context = (int)wpe->shape[0];
    bool first_hyena = true;
    for (int i = 0; i < layers; i++) {
        const StTensor *in_proj = tensor(st, "backbone.layers.%d.mixer.in_proj.weight", i, 0);
        cfg->mixer[i] = in_proj ? MIXER_HYENA : MIXER_ATTENTION;
        if (!in_proj) continue;
        const StTensor *first = tensor(st, "backbone.layers.%d.mixer.filter_fn.implicit_filter.0.weight", i, 0);
        const StTensor *z = tensor(st, "backbone.layers.%d.mixer.filter_fn.pos_emb.z", i, 0);
        if (in_proj->rank != 2 || in_proj->shape[0] % D || !first || first->rank != 2 || !z || z->rank != 3)
            return fail(err, es, "layer %d: in_proj, implicit_filter.0.weight or pos_emb.z is missing or misshapen", i);
        HyenaConfig h = cfg->hyena;
        h.order = (int)(in_proj->shape[0] / D) - 1;
        h.filter_order = (int)first->shape[0];
        h.emb_dim = (int)first->shape[1];
        int linears = 1;  // implicit_filter.0, .2, .4, ...: the first, the inner ones, the last
        while (linears < 64 && tensor(st, "backbone.layers.%d.mixer.filter_fn.implicit_filter.%d.weight", i, 2 * linears))
            linears++;
        h.num_inner_mlps = linears - 2;
        if (first_hyena) {
            cfg->hyena = h;
            context = (int)z->shape[1];
            first_hyena = false;
        } else if (h.order != cfg->hyena.order || h.filter_order != cfg->hyena.filter_order ||
                   h.emb_dim != cfg->hyena.emb_dim || h.num_inner_mlps != cfg->hyena.num_inner_mlps) {
            return fail(err, es, "layer %d's Hyena operator differs from layer 0's (hyena.c shares one configuration)", i);
        }
    }
    if (context < 1) return fail(err, es, "the context cannot be read off the tensors (no pos_emb.z, no position_embeddings)");
    cfg->context = context;
    const char *problem = model_config_check(cfg);
    if (problem) return fail(err, es, "the tensors describe an invalid model: %s", problem);
    if (model_floats_at_least(cfg) * sizeof(float) > (double)(st->size - st->data_start))
        return fail(err, es, "the tensors are too small for the model their shapes describe");
    return true;
}

// Is name another name of a parameter (the reference's Sin modules at implicit_filter.3, .5, ...
// share the frequency at .1)? Then its values must be the same.
static bool is_freq_alias(Model *m, const Safetensors *st, const StTensor *t, char *err, size_t es, bool *ok) {
    const char *at = strstr(t->name, "filter_fn.implicit_filter.");
    int index;
    char rest[16];
    if (!at || sscanf(at, "filter_fn.implicit_filter.%d.%15s", &index, rest) != 2 || strcmp(rest, "freq") != 0 ||
        index % 2 == 0 || index < 3)
        return false;
    char main_name[200];
    snprintf(main_name, sizeof main_name, "%.*sfilter_fn.implicit_filter.1.freq", (int)(at - t->name), t->name);
    Param *p = params_find(&m->params, main_name);
    const StTensor *main_t = st_find(st, main_name);
    if (!p || !main_t || t->end - t->begin != main_t->end - main_t->begin ||
        memcmp(st->bytes + st->data_start + t->begin, st->bytes + st->data_start + main_t->begin, t->end - t->begin) != 0)
        *ok = fail(err, es, "tensor '%s' differs from '%s' (hyena.c shares one frequency per filter)", t->name, main_name);
    return true;
}

// Read every parameter from st (missing or misshapen: an error naming it), then refuse any tensor
// left over.
static bool load_weights(Model *m, const Safetensors *st, char *err, size_t es) {
    for (int i = 0; i < m->params.n; i++) {
        Var *v = m->params.items[i].var;
        if (!st_read_f32(st, v->name, v->value.data, v->value.rank, v->value.shape, err, es)) return false;
    }
    for (int i = 0; i < st->n_tensors; i++) {
        const StTensor *t = &st->tensors[i];
        bool ok = true;
        if (params_find(&m->params, t->name)) continue;
        if (is_freq_alias(m, st, t, err, es, &ok)) {
            if (!ok) return false;
            continue;
        }
        return fail(err, es, "tensor '%s' is not a parameter of the model the others describe", t->name);
    }
    return true;
}

int import_main(int argc, char **argv) {
    const char *weights = NULL, *out = NULL, *data = "", *tokenizer = "char";
    int heads = 4;
    for (int i = 0; i < argc; i++) {
        bool v = i + 1 < argc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--weights") == 0 && v) weights = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) out = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && v) data = argv[++i];
        else if (strcmp(argv[i], "--tokenizer") == 0 && v) tokenizer = argv[++i];
        else if (strcmp(argv[i], "--heads") == 0 && v) {
            if (!cli_parse_int(argv[++i], &heads, 1, 1 << 16, "--heads")) return 2;
        } else {
            fprintf(stderr, "hyena import: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!weights || !out) {
        fprintf(stderr, "hyena import: --weights FILE and --out FILE are required (see --help)\n");
        return 2;
    }
    if (strcmp(tokenizer, "char") != 0 && strncmp(tokenizer, "bpe:", 4) != 0) {
        fprintf(stderr, "hyena import: --tokenizer expects char or bpe:FILE, got '%s'\n", tokenizer);
        return 2;
    }
    TrainConfig cfg = train_config_default();
    snprintf(cfg.data, sizeof cfg.data, "%s", data);
    snprintf(cfg.tokenizer, sizeof cfg.tokenizer, "%s", tokenizer);
    char err[600];
    Safetensors st;
    if (!st_load(weights, &st, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        return 1;
    }
    Tokenizer tok = {0};
    Corpus corpus = {0};
    bool ok = infer_config(&st, heads, &cfg.model, err, sizeof err);
    if (ok && strcmp(tokenizer, "char") == 0) {
        tok.kind = TOKENIZER_CHAR;
        if (data[0]) ok = corpus_load(&corpus, data, err, sizeof err);
        else corpus_default(&corpus);
        ok = ok && chars_build(&tok.chars, corpus.text, corpus.size, err, sizeof err);
    } else if (ok) {
        tok.kind = TOKENIZER_BPE;
        ok = bpe_load(&tok.bpe, tokenizer + 4, err, sizeof err);
        cfg.vocab_size = ok ? bpe_vocab_size(&tok.bpe) : 0;
    }
    corpus_free(&corpus);
    if (ok && tokenizer_vocab_size(&tok) != cfg.model.vocab_size)
        ok = fail(err, sizeof err, "the tokenizer has %d tokens but the embedding %d rows", tokenizer_vocab_size(&tok),
                  cfg.model.vocab_size);
    Model model;
    Optimizer opt;
    bool built = false;
    if (ok) {
        model_init(&model, &cfg.model, cfg.seed);
        optim_init(&opt, &cfg.optim, &model.params);  // fresh moments: train --resume starts the schedule over
        built = true;
        ok = load_weights(&model, &st, err, sizeof err);
    }
    if (!ok) fprintf(stderr, "hyena: %s: %s\n", weights, err);
    TrainState state = {0, rng_new(cfg.seed), INFINITY};
    if (ok) ok = checkpoint_save(out, &cfg, &model, &opt, &tok, &state);
    if (ok) {
        char mixers[MODEL_MAX_LAYERS + 1] = "";  // one letter per layer: h(yena) or a(ttention)
        for (int i = 0; i < cfg.model.n_layers; i++) mixers[i] = cfg.model.mixer[i] == MIXER_HYENA ? 'h' : 'a';
        mixers[cfg.model.n_layers] = '\0';
        printf("imported %s: mixers %s, width %d, vocabulary %d, context %d, order %d; wrote %s\n", weights, mixers,
               cfg.model.d_model, cfg.model.vocab_size, cfg.model.context, cfg.model.hyena.order, out);
    }
    if (built) {
        optim_free(&opt);
        model_free(&model);
    }
    tokenizer_free(&tok);  // (freeing what was never built is a no-op)
    st_free(&st);
    return ok ? 0 : 1;
}
