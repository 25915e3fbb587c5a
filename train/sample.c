// sample.c - temperature, top-k and top-p sampling, and streaming generation.
#include "sample.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/pool.h"
#include "checkpoint.h"
#include "cli.h"

typedef struct Candidate {
    float p;
    int32_t id;
} Candidate;

static int by_probability(const void *a, const void *b) {
    const Candidate *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);  // ties by id: deterministic
}

// The sampler proper; c: scratch for V candidates (generate() allocates it once per call).
static int32_t sample_with(float *logits, int V, const SampleOptions *o, Rng *rng, Candidate *c) {
    float max = -INFINITY;
    for (int i = 0; i < V; i++) max = fmaxf(max, logits[i]);
    double sum = 0;
    for (int i = 0; i < V; i++) {
        c[i] = (Candidate){expf((logits[i] - max) / o->temperature), i};
        sum += c[i].p;
    }
    qsort(c, (size_t)V, sizeof(Candidate), by_probability);
    int keep = o->top_k > 0 && o->top_k < V ? o->top_k : V;
    if (o->top_p < 1.0f) {  // the nucleus: the most likely tokens until their mass reaches top_p
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += c[i].p / sum;
            if (mass >= o->top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    double kept = 0;
    for (int i = 0; i < keep; i++) kept += c[i].p;
    double r = (double)rng_uniform(rng) * kept, acc = 0;
    int32_t chosen = c[keep - 1].id;
    for (int i = 0; i < keep; i++) {
        acc += c[i].p;
        if (r < acc) {
            chosen = c[i].id;
            break;
        }
    }
    return chosen;
}

int32_t sample_token(float *logits, int V, const SampleOptions *o, Rng *rng) {
    Candidate *c = malloc(sizeof(Candidate) * (size_t)V);
    int32_t chosen = sample_with(logits, V, o, rng, c);
    free(c);
    return chosen;
}

void generate(const Model *m, int32_t *ids, long n, int n_new, const SampleOptions *o, Rng *rng, EmitFn emit,
              void *ctx) {
    int V = m->cfg.vocab_size, context = m->cfg.context;
    float *logits = malloc(sizeof(float) * (size_t)V);
    Candidate *candidates = malloc(sizeof(Candidate) * (size_t)V);
    GenCache cache;
    gencache_init(&cache, m);  // recurrent for a distilled model: then no limit at the context
    long fed = n > cache.capacity ? n - cache.capacity + 1 : 0;  // the prompt's last capacity-1 tokens
    for (; fed < n; fed++) gencache_step(&cache, ids[fed], logits);
    for (int k = 0; k < n_new; k++) {
        ids[n] = sample_with(logits, V, o, rng, candidates);
        if (emit) emit(ids[n], ctx);
        n++;
        if (k == n_new - 1) break;
        if (cache.t == cache.capacity) {  // full: continue from the last half context
            gencache_reset(&cache);
            for (long s = n - context / 2; s < n - 1; s++) gencache_step(&cache, ids[s], logits);
        }
        gencache_step(&cache, ids[n - 1], logits);
    }
    gencache_free(&cache);
    free(candidates);
    free(logits);
}

void generate_uncached(const Model *m, int32_t *ids, long n, int n_new, const SampleOptions *o, Rng *rng, Tape *tape,
                       EmitFn emit, void *ctx) {
    int V = m->cfg.vocab_size;
    bool recording = tape->recording;
    tape->recording = false;
    float *last = malloc(sizeof(float) * (size_t)V);
    for (int k = 0; k < n_new; k++) {
        long start = n > m->cfg.context ? n - m->cfg.context : 0;
        int T = (int)(n - start);
        tape_reset(tape);
        Var *logits = model_forward(tape, m, ids + start, 1, T);
        memcpy(last, logits->value.data + (long)(T - 1) * V, sizeof(float) * (size_t)V);
        ids[n] = sample_token(last, V, o, rng);
        if (emit) emit(ids[n], ctx);
        n++;
    }
    tape_reset(tape);
    tape->recording = recording;
    free(last);
}

typedef struct Stream {
    const Tokenizer *tok;
} Stream;

static void print_token(int32_t id, void *ctx) {
    const Stream *s = ctx;
    unsigned char *text;
    size_t size;
    char err[100];
    if (tokenizer_decode(s->tok, &id, 1, &text, &size, err, sizeof err)) {
        fwrite(text, 1, size, stdout);
        fflush(stdout);
        free(text);
    }
}

static void usage(FILE *f) {
    fprintf(f, "usage: hyena sample --ckpt FILE [--prompt TEXT | --prompt-file FILE] [--tokens N]\n"
               "                    [--temperature X] [--top-k K] [--top-p P] [--seed N] [--threads N] [--no-cache]\n"
               "  Streams N new tokens (default 300) continuing the prompt (default: a newline).\n"
               "  temperature 0.8, top-k 0 (all), top-p 1 (all) by default. --no-cache recomputes the whole\n"
               "  context for every token (the slow way, to compare).\n");
}

int sample_main(int argc, char **argv) {
    const char *ckpt = NULL, *prompt = "\n", *prompt_file = NULL;
    int tokens = 300, threads = 0, seed = 1, top_k = 0;
    bool cached = true;
    float temperature = 0.8f, top_p = 1.0f;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--no-cache") == 0) cached = false;
        else if (strcmp(argv[i], "--ckpt") == 0 && v) ckpt = argv[++i];
        else if (strcmp(argv[i], "--prompt") == 0 && v) prompt = argv[++i];
        else if (strcmp(argv[i], "--prompt-file") == 0 && v) prompt_file = argv[++i];
        else if (strcmp(argv[i], "--tokens") == 0 && v) {
            if (!cli_parse_int(argv[++i], &tokens, 1, 1 << 24, "--tokens")) return 2;
        } else if (strcmp(argv[i], "--top-k") == 0 && v) {
            if (!cli_parse_int(argv[++i], &top_k, 0, 1 << 24, "--top-k")) return 2;
        } else if (strcmp(argv[i], "--seed") == 0 && v) {
            if (!cli_parse_int(argv[++i], &seed, 0, 2147483647, "--seed")) return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && v) {
            if (!cli_parse_int(argv[++i], &threads, 1, 1024, "--threads")) return 2;
        } else if ((strcmp(argv[i], "--temperature") == 0 || strcmp(argv[i], "--top-p") == 0) && v) {
            float x = strtof(argv[i + 1], &end);
            bool temp = strcmp(argv[i], "--temperature") == 0;
            if (end == argv[i + 1] || *end || !(x > 0) || (!temp && x > 1) || x > 100) {
                fprintf(stderr, "hyena: %s expects a number in %s, got '%s'\n", argv[i], temp ? "(0, 100]" : "(0, 1]",
                        argv[i + 1]);
                return 2;
            }
            if (temp) temperature = x;
            else top_p = x;
            i++;
        } else {
            fprintf(stderr, "hyena sample: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt) {
        fprintf(stderr, "hyena sample: --ckpt FILE is required (see --help)\n");
        return 2;
    }
    pool_init(threads);
    TrainConfig cfg;
    Model model;
    Tokenizer tok;
    if (!checkpoint_open(ckpt, &cfg, &model, &tok)) return 1;
    char err[600];
    Corpus pc = {0};
    const unsigned char *ptext = (const unsigned char *)prompt;
    size_t psize = strlen(prompt);
    if (prompt_file) {
        if (!corpus_load(&pc, prompt_file, err, sizeof err)) {
            fprintf(stderr, "hyena: %s\n", err);
            tokenizer_free(&tok);
            model_free(&model);
            return 1;
        }
        ptext = pc.text;
        psize = pc.size;
    }
    int32_t *pids;
    long n = tokenizer_encode(&tok, ptext, psize, &pids, err, sizeof err);
    int rc = 0;
    if (n < 0) {
        fprintf(stderr, "hyena: the prompt cannot be encoded: %s\n", err);
        rc = 1;
    } else if (n == 0) {
        fprintf(stderr, "hyena: the prompt is empty\n");
        rc = 1;
    } else {
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n + tokens));
        memcpy(ids, pids, sizeof(int32_t) * (size_t)n);
        fwrite(ptext, 1, psize, stdout);
        Arena arena;
        arena_init(&arena, 0);
        Tape tape;
        tape_init(&tape, &arena);
        Rng rng = rng_new((uint64_t)seed);
        SampleOptions o = {temperature, top_k, top_p};
        Stream s = {&tok};
        if (cached) generate(&model, ids, n, tokens, &o, &rng, print_token, &s);
        else generate_uncached(&model, ids, n, tokens, &o, &rng, &tape, print_token, &s);
        printf("\n");
        free(ids);
        arena_free(&arena);
    }
    free(pids);
    if (prompt_file) corpus_free(&pc);
    tokenizer_free(&tok);
    model_free(&model);
    return rc;
}
