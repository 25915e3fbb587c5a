// tokenizer.c - dispatch on the kind.
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tokenizer_vocab_size(const Tokenizer *t) { return t->kind == TOKENIZER_CHAR ? t->chars.n : bpe_vocab_size(&t->bpe); }

long tokenizer_encode(Tokenizer *t, const unsigned char *text, size_t size, int32_t **ids, char *err, size_t es) {
    if (t->kind == TOKENIZER_CHAR) return chars_encode(&t->chars, text, size, ids, err, es);
    return bpe_encode(&t->bpe, text, size, ids);
}

bool tokenizer_decode(const Tokenizer *t, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err,
                      size_t es) {
    if (t->kind == TOKENIZER_CHAR) return chars_decode(&t->chars, ids, n, text, size, err, es);
    return bpe_decode(&t->bpe, ids, n, text, size, err, es);
}

void tokenizer_free(Tokenizer *t) {
    if (t->kind == TOKENIZER_CHAR) chars_free(&t->chars);
    else bpe_free(&t->bpe);
}

const char *tokenizer_kind_name(const Tokenizer *t) { return t->kind == TOKENIZER_CHAR ? "char" : "bpe"; }

char *tokenizer_serialize(const Tokenizer *t) {
    if (t->kind == TOKENIZER_CHAR) return chars_serialize(&t->chars);
    size_t size;
    return bpe_serialize(&t->bpe, &size);
}

bool tokenizer_parse(Tokenizer *t, const char *kind, const char *text, char *err, size_t es) {
    memset(t, 0, sizeof *t);
    if (strcmp(kind, "char") == 0) {
        t->kind = TOKENIZER_CHAR;
        return chars_parse(&t->chars, text, err, es);
    }
    if (strcmp(kind, "bpe") == 0) {
        t->kind = TOKENIZER_BPE;
        return bpe_parse(&t->bpe, text, strlen(text), err, es);
    }
    snprintf(err, es, "unknown tokenizer kind '%s' (expected char or bpe)", kind);
    return false;
}
