// evaluate.c - forward passes without a tape, summing the loss in window order.
#include "evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "checkpoint.h"
#include "cli.h"

static int token_bytes(const Tokenizer *tok, int32_t id) {
    if (tok->kind == TOKENIZER_BPE) return tok->bpe.token_len[id];
    uint32_t cp = tok->chars.chars[id];  // UTF-8 length of the character (1 for an escaped byte)
    return cp < 0x80 || (cp >= 0xDC80 && cp <= 0xDCFF) ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

EvalResult evaluate(const Model *m, const Tokenizer *tok, const TokenSplit *split, int batch, Tape *tape) {
    int T = m->cfg.context, V = m->cfg.vocab_size;
    long windows = val_window_count(split, T);
    int32_t *in = malloc(sizeof(int32_t) * (size_t)batch * T), *tg = malloc(sizeof(int32_t) * (size_t)batch * T);
    float *row_loss = malloc(sizeof(float) * (size_t)batch * T);
    double total = 0, bytes = 0;
    long counted = 0;
    bool recording = tape->recording;
    tape->recording = false;
    for (long w0 = 0; w0 < windows; w0 += batch) {
        int B = windows - w0 < batch ? (int)(windows - w0) : batch;
        for (int b = 0; b < B; b++) val_window(split, T, w0 + b, in + (long)b * T, tg + (long)b * T);
        tape_reset(tape);
        Var *logits = model_forward(tape, m, in, B, T);
        long n = 0;
        float mean = cross_entropy(row_loss, logits->value.data, tg, (long)B * T, V, IGNORE_INDEX, &n);
        total += (double)mean * (double)n;
        counted += n;
        for (long i = 0; i < (long)B * T; i++)
            if (tg[i] != IGNORE_INDEX) bytes += token_bytes(tok, tg[i]);
    }
    tape_reset(tape);
    tape->recording = recording;
    free(in);
    free(tg);
    free(row_loss);
    EvalResult r = {counted ? total / counted : 0, 0, 0, counted};
    r.bits_per_token = r.loss / log(2.0);
    r.bits_per_byte = bytes > 0 ? total / bytes / log(2.0) : 0;
    return r;
}

bool eval_data_load(EvalData *e, const TrainConfig *cfg, const char *data, Tokenizer *tok, char *err,
                    size_t err_size) {
    memset(e, 0, sizeof *e);
    if (data || cfg->data[0]) {
        if (!corpus_load(&e->corpus, data ? data : cfg->data, err, err_size)) return false;
    } else {
        corpus_default(&e->corpus);
    }
    e->n = tokenizer_encode(tok, e->corpus.text, e->corpus.size, &e->ids, err, err_size);
    e->all = (TokenSplit){e->ids, e->n};
    if (e->n < 0 || !dataset_split(e->ids, e->n, cfg->val_fraction, 1, &e->train, &e->val, err, err_size)) {
        eval_data_free(e);
        return false;
    }
    return true;
}

void eval_data_free(EvalData *e) {
    free(e->ids);
    corpus_free(&e->corpus);
    memset(e, 0, sizeof *e);
}

static void usage(FILE *f) {
    fprintf(f, "usage: hyena eval --ckpt FILE [--data PATH] [--split val|train|all] [--batch N] [--threads N]\n"
               "  Exact loss, perplexity and bits per token and per byte of a checkpoint over a whole split of\n"
               "  its training corpus (default: the validation split), or of the text at --data.\n");
}

int eval_main(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *split_name = "val";
    int batch = 16, threads = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ckpt") == 0 && v) ckpt = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && v) data = argv[++i];
        else if (strcmp(argv[i], "--split") == 0 && v) split_name = argv[++i];
        else if (strcmp(argv[i], "--batch") == 0 && v) {
            if (!cli_parse_int(argv[++i], &batch, 1, 4096, "--batch")) return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && v) {
            if (!cli_parse_int(argv[++i], &threads, 1, 1024, "--threads")) return 2;
        } else {
            fprintf(stderr, "hyena eval: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt) {
        fprintf(stderr, "hyena eval: --ckpt FILE is required (see --help)\n");
        return 2;
    }
    if (strcmp(split_name, "val") && strcmp(split_name, "train") && strcmp(split_name, "all")) {
        fprintf(stderr, "hyena: --split expects val, train or all, got '%s'\n", split_name);
        return 2;
    }
    pool_init(threads);
    TrainConfig cfg;
    Model model;
    Tokenizer tok;
    if (!checkpoint_open(ckpt, &cfg, &model, &tok)) return 1;
    char err[600];
    EvalData ed;
    int rc = 0;
    if (!eval_data_load(&ed, &cfg, data, &tok, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        rc = 1;
    } else {
        const TokenSplit *s = data ? &ed.all : strcmp(split_name, "train") == 0 ? &ed.train
                                             : strcmp(split_name, "all") == 0   ? &ed.all
                                                                                : &ed.val;
        Arena arena;
        arena_init(&arena, 0);
        Tape tape;
        tape_init(&tape, &arena);
        EvalResult r = evaluate(&model, &tok, s, batch, &tape);
        printf("%s (%s): %ld tokens, loss %.6f, perplexity %.3f, %.4f bits/token, %.4f bits/byte\n",
               data ? data : ed.corpus.name, data ? "all" : split_name, r.tokens, r.loss, exp(r.loss), r.bits_per_token,
               r.bits_per_byte);
        arena_free(&arena);
        eval_data_free(&ed);
    }
    tokenizer_free(&tok);
    model_free(&model);
    return rc;
}
