// 09_tokenizers.c - tutorials/09-tokenization.md, runnable: characters vs byte-level BPE on the
// default corpus, and one example of each synthetic task.
//   make tutorials && ./build/tutorials/09_tokenizers
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../../data/corpus.h"
#include "../../data/synthetic.h"
#include "../../data/tokenizer.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// A token's bytes, with newlines and tabs made visible.
static void print_token(const Bpe *bpe, int id) {
    unsigned char bytes[BPE_MAX_TOKEN_BYTES];
    int n = bpe_token_bytes(bpe, id, bytes);
    printf(" '");
    for (int k = 0; k < n; k++) {
        unsigned char c = bytes[k];
        if (c == '\n') printf("\\n");
        else if (c == '\t') printf("\\t");
        else putchar(c);
    }
    printf("'");
}

int main(void) {
    Corpus corpus;
    corpus_default(&corpus);
    char err[300];
    const unsigned char *sentence = (const unsigned char *)"The tape records every op.";

    Tokenizer chars = {.kind = TOKENIZER_CHAR};
    chars_build(&chars.chars, corpus.text, corpus.size, err, sizeof err);
    int32_t *ids;
    long n = tokenizer_encode(&chars, corpus.text, corpus.size, &ids, err, sizeof err);
    printf("characters: %d distinct, the corpus is %ld tokens (%.2f bytes per token)\n", chars.chars.n, n,
           (double)corpus.size / n);
    free(ids);

    Tokenizer bpe = {.kind = TOKENIZER_BPE};
    double t0 = seconds();
    bpe_train(&bpe.bpe, corpus.text, corpus.size, 1024, true, NULL, 0, NULL, NULL, err, sizeof err);
    double t1 = seconds();
    n = tokenizer_encode(&bpe, corpus.text, corpus.size, &ids, err, sizeof err);
    printf("BPE: 1024 tokens learned in %.3f s, the corpus is %ld tokens (%.2f bytes per token)\n", t1 - t0, n,
           (double)corpus.size / n);
    free(ids);
    printf("the first merges:");
    for (int m = 0; m < 8; m++) print_token(&bpe.bpe, 256 + m);
    printf("\n\"%s\" as BPE tokens:", (const char *)sentence);
    n = tokenizer_encode(&bpe, sentence, 26, &ids, err, sizeof err);
    for (long i = 0; i < n; i++) print_token(&bpe.bpe, ids[i]);
    printf("\n");
    free(ids);

    SyntheticSpec recall = {TASK_ASSOC_RECALL, 12, 12, 0}, induction = {TASK_INDUCTION, 12, 12, 0};
    Rng rng = rng_new(7);
    int32_t x[32];
    synthetic_example(&recall, &rng, x);
    printf("associative recall (keys 0-4, values 5-9, 10 is =>):");
    for (int i = 0; i < synthetic_length(&recall); i++) printf(" %d", x[i]);
    synthetic_example(&induction, &rng, x);
    printf("\ninduction head (10 is =>):                          ");
    for (int i = 0; i < synthetic_length(&induction); i++) printf(" %d", x[i]);
    printf("\n");
    tokenizer_free(&chars);
    tokenizer_free(&bpe);
    corpus_free(&corpus);
    return 0;
}
