// config.c - presets and flag parsing.
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

TrainConfig train_config_default(void) {
    TrainConfig c;
    memset(&c, 0, sizeof c);
    snprintf(c.preset, sizeof c.preset, "tiny");
    snprintf(c.tokenizer, sizeof c.tokenizer, "char");
    snprintf(c.out, sizeof c.out, "hyena_out");
    c.vocab_size = 512;
    c.val_fraction = 0.1f;
    c.model = model_config_default(0, 128, 4, 64);
    c.optim = optim_config_default();
    c.batch = 12;
    c.steps = 1000;
    c.optim.total_steps = c.steps;
    c.grad_accum = 1;
    c.eval_every = 200;
    c.sample_tokens = 200;
    c.seed = 1337;
    return c;
}

bool train_config_preset(TrainConfig *c, const char *name) {
    TrainConfig d = train_config_default();
    if (strcmp(name, "tiny") == 0) {
        *c = d;
    } else if (strcmp(name, "shakespeare") == 0) {
        // nanoGPT's CPU budget: batch 12, context 64, 4 layers of width 128, 2000 steps.
        *c = d;
        snprintf(c->data, sizeof c->data, "build/data/tinyshakespeare.txt");
        c->steps = 2000;
        c->eval_every = 250;
    } else if (strcmp(name, "long") == 0) {
        // The shakespeare model at context 1024: long filters worth distilling (hyena distill).
        *c = d;
        snprintf(c->data, sizeof c->data, "build/data/tinyshakespeare.txt");
        c->model.context = 1024;
        c->batch = 4;
        c->steps = 1500;
        c->eval_every = 250;
    } else if (strcmp(name, "recall") == 0) {
        *c = d;
        c->model = model_config_default(0, 64, 2, 1024);
        c->batch = 32;
        c->steps = 2000;
        c->eval_every = 200;
    } else {
        return false;
    }
    snprintf(c->preset, sizeof c->preset, "%s", name);
    c->optim.total_steps = c->steps;
    return true;
}

void train_config_usage(FILE *f) {
    fprintf(f,
            "usage: hyena train [options]\n"
            "Trains a language model and writes checkpoints, a CSV log and an SVG loss plot to --out.\n"
            "  --preset NAME         tiny (default: the embedded corpus, about half a minute),\n"
            "                        shakespeare (nanoGPT's budget on build/data/tinyshakespeare.txt:\n"
            "                        make shakespeare), long (the same at context 1024, for\n"
            "                        hyena distill), recall; later flags override the preset\n"
            "  --data PATH           a text file or a directory of them (default: the embedded corpus)\n"
            "  --tokenizer KIND      char (default), bpe (trained on --data), or bpe:FILE\n"
            "  --vocab-size N        size of the BPE vocabulary to train (default 512)\n"
            "  --val-fraction X      the last X of the tokens are validation (default 0.1)\n"
            "  --d-model N           width (default 128)        --layers N    blocks (default 4)\n"
            "  --mixer M             hyena, attention, or one letter per layer: h/a (e.g. hhah)\n"
            "  --heads N             attention heads (default 4) --order N    Hyena order (default 2)\n"
            "  --filter-order N      width of the Hyena filter network (default 64)\n"
            "  --context N           tokens per sequence (default 64)\n"
            "  --batch N             sequences per step (default 12)\n"
            "  --grad-accum N        micro-batches per step (default 1)\n"
            "  --steps N             optimizer steps (default 1000)\n"
            "  --optimizer NAME      adamw (default) or sgd (momentum 0.9)\n"
            "  --lr X                peak learning rate (default 1e-3)   --min-lr X  cosine floor (1e-4)\n"
            "  --warmup N            linear warmup steps (default 100)\n"
            "  --weight-decay X      AdamW's decoupled weight decay (default 0.1)\n"
            "  --beta2 X             AdamW's second-moment decay (default 0.99)\n"
            "  --clip X              global gradient-norm clipping, 0 to disable (default 1)\n"
            "  --eval-every N        exact validation loss, checkpoints and a sample every N steps (200)\n"
            "  --sample-tokens N     length of the sample at each evaluation (default 200)\n"
            "  --log-every N         a progress line every N steps (default: on a terminal, one status\n"
            "                        line updated in place; otherwise about one line a second)\n"
            "  --seed N              random seed (default 1337)\n"
            "  --threads N           worker threads (default: one per core)\n"
            "  --out DIR             where outputs go (default hyena_out)\n"
            "  --resume FILE         continue from a checkpoint (bit-exactly: same losses as without\n"
            "                        the interruption); its configuration replaces the flags\n");
}

void mixer_pattern(const ModelConfig *m, char *out, int size) {
    int i = 0;
    for (; i < m->n_layers && i < size - 1; i++) out[i] = m->mixer[i] == MIXER_HYENA ? 'h' : 'a';
    out[i] = '\0';
}

void train_config_print(FILE *f, const TrainConfig *c) {
    char pattern[MODEL_MAX_LAYERS + 1];
    mixer_pattern(&c->model, pattern, sizeof pattern);
    fprintf(f, "config: preset %s, data %s, tokenizer %s\n", c->preset, c->data[0] ? c->data : "(embedded default corpus)",
            c->tokenizer);
    fprintf(f, "model: d_model %d, layers %d (%s), context %d, order %d, filter_order %d, heads %d\n", c->model.d_model,
            c->model.n_layers, pattern, c->model.context, c->model.hyena.order, c->model.hyena.filter_order,
            c->model.n_heads);
    fprintf(f, "optim: %s, lr %g -> %g, warmup %d, steps %d, batch %d x %d, weight decay %g, beta2 %g, clip %g\n",
            c->optim.kind == OPTIM_ADAMW ? "adamw" : "sgd", c->optim.lr, c->optim.min_lr, c->optim.warmup_steps, c->steps,
            c->batch, c->grad_accum, c->optim.weight_decay, c->optim.beta2, c->optim.clip);
}

static bool parse_mixer(ModelConfig *m, const char *text) {
    if (strcmp(text, "hyena") == 0 || strcmp(text, "attention") == 0) {
        for (int i = 0; i < MODEL_MAX_LAYERS; i++) m->mixer[i] = text[0] == 'h' ? MIXER_HYENA : MIXER_ATTENTION;
        return true;
    }
    int n = (int)strlen(text);
    if (n < 1 || n > MODEL_MAX_LAYERS || strspn(text, "ha") != (size_t)n) {
        fprintf(stderr, "hyena: --mixer expects hyena, attention or a pattern of h and a (one per layer), got '%s'\n", text);
        return false;
    }
    for (int i = 0; i < n; i++) m->mixer[i] = text[i] == 'h' ? MIXER_HYENA : MIXER_ATTENTION;
    m->n_layers = n;
    return true;
}

bool train_config_parse(TrainConfig *c, int argc, char **argv, bool *help) {
    *help = false;
    for (int i = 0; i < argc; i++)  // presets first, so that every other flag overrides them
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc && !train_config_preset(c, argv[i + 1])) {
            fprintf(stderr, "hyena: unknown preset '%s' (expected tiny, shakespeare or recall)\n", argv[i + 1]);
            return false;
        }
    const char *mixer = NULL;
    for (int i = 0; i < argc; i += 2) {  // every option takes a value
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            *help = true;
            return true;
        }
        if (v == NULL) {
            fprintf(stderr, "hyena train: unknown or incomplete option '%s' (see hyena train --help)\n", f);
            return false;
        }
        bool ok = true;
        int unsigned_seed;
        if (strcmp(f, "--preset") == 0) ok = true;
        else if (strcmp(f, "--data") == 0) snprintf(c->data, sizeof c->data, "%s", v);
        else if (strcmp(f, "--tokenizer") == 0) {
            if (strcmp(v, "char") && strcmp(v, "bpe") && strncmp(v, "bpe:", 4)) {
                fprintf(stderr, "hyena: --tokenizer expects char, bpe or bpe:FILE, got '%s'\n", v);
                return false;
            }
            snprintf(c->tokenizer, sizeof c->tokenizer, "%s", v);
        } else if (strcmp(f, "--vocab-size") == 0) ok = cli_parse_int(v, &c->vocab_size, 257, 1 << 20, f);
        else if (strcmp(f, "--val-fraction") == 0) ok = cli_parse_float(v, &c->val_fraction, 0.001f, 0.9f, f);
        else if (strcmp(f, "--d-model") == 0) ok = cli_parse_int(v, &c->model.d_model, 1, 8192, f);
        else if (strcmp(f, "--layers") == 0) ok = cli_parse_int(v, &c->model.n_layers, 1, MODEL_MAX_LAYERS, f);
        else if (strcmp(f, "--mixer") == 0) mixer = v;
        else if (strcmp(f, "--heads") == 0) ok = cli_parse_int(v, &c->model.n_heads, 1, 256, f);
        else if (strcmp(f, "--order") == 0) ok = cli_parse_int(v, &c->model.hyena.order, 2, 16, f);
        else if (strcmp(f, "--filter-order") == 0) ok = cli_parse_int(v, &c->model.hyena.filter_order, 1, 4096, f);
        else if (strcmp(f, "--context") == 0) ok = cli_parse_int(v, &c->model.context, 2, 1 << 20, f);
        else if (strcmp(f, "--batch") == 0) ok = cli_parse_int(v, &c->batch, 1, 1 << 16, f);
        else if (strcmp(f, "--grad-accum") == 0) ok = cli_parse_int(v, &c->grad_accum, 1, 1024, f);
        else if (strcmp(f, "--steps") == 0) ok = cli_parse_int(v, &c->steps, 1, 1 << 30, f);
        else if (strcmp(f, "--optimizer") == 0) {
            if (strcmp(v, "adamw") && strcmp(v, "sgd")) {
                fprintf(stderr, "hyena: --optimizer expects adamw or sgd, got '%s'\n", v);
                return false;
            }
            c->optim.kind = strcmp(v, "sgd") == 0 ? OPTIM_SGD : OPTIM_ADAMW;
        } else if (strcmp(f, "--lr") == 0) ok = cli_parse_float(v, &c->optim.lr, 0, 10, f);
        else if (strcmp(f, "--min-lr") == 0) ok = cli_parse_float(v, &c->optim.min_lr, 0, 10, f);
        else if (strcmp(f, "--warmup") == 0) ok = cli_parse_int(v, &c->optim.warmup_steps, 0, 1 << 30, f);
        else if (strcmp(f, "--weight-decay") == 0) ok = cli_parse_float(v, &c->optim.weight_decay, 0, 10, f);
        else if (strcmp(f, "--beta2") == 0) ok = cli_parse_float(v, &c->optim.beta2, 0, 0.99999f, f);
        else if (strcmp(f, "--clip") == 0) ok = cli_parse_float(v, &c->optim.clip, 0, 1e6f, f);
        else if (strcmp(f, "--eval-every") == 0) ok = cli_parse_int(v, &c->eval_every, 1, 1 << 30, f);
        else if (strcmp(f, "--sample-tokens") == 0) ok = cli_parse_int(v, &c->sample_tokens, 0, 1 << 20, f);
        else if (strcmp(f, "--log-every") == 0) ok = cli_parse_int(v, &c->log_every, 1, 1 << 30, f);
        else if (strcmp(f, "--seed") == 0) {
            ok = cli_parse_int(v, &unsigned_seed, 0, 2147483647, f);
            c->seed = (unsigned long long)unsigned_seed;
        } else if (strcmp(f, "--threads") == 0) ok = cli_parse_int(v, &c->threads, 1, 1024, f);
        else if (strcmp(f, "--out") == 0) snprintf(c->out, sizeof c->out, "%s", v);
        else if (strcmp(f, "--resume") == 0) snprintf(c->resume, sizeof c->resume, "%s", v);
        else {
            fprintf(stderr, "hyena train: unknown option '%s' (see hyena train --help)\n", f);
            return false;
        }
        if (!ok) return false;
    }
    if (mixer && !parse_mixer(&c->model, mixer)) return false;
    if (c->optim.min_lr > c->optim.lr) {
        fprintf(stderr, "hyena: --min-lr %g is above --lr %g\n", c->optim.min_lr, c->optim.lr);
        return false;
    }
    c->optim.total_steps = c->steps;
    if (c->optim.warmup_steps > c->steps) c->optim.warmup_steps = c->steps;
    c->model.hyena.d_model = c->model.d_model;
    c->model.hyena.l_max = c->model.context;
    return true;
}
