// tokenizer.h - one interface over the character and the byte-level BPE tokenizers.
#ifndef HYENA_TOKENIZER_H
#define HYENA_TOKENIZER_H

#include "bpe.h"
#include "chars.h"

typedef enum TokenizerKind { TOKENIZER_CHAR, TOKENIZER_BPE } TokenizerKind;

typedef struct Tokenizer {
    TokenizerKind kind;
    CharTokenizer chars;
    Bpe bpe;
} Tokenizer;

int tokenizer_vocab_size(const Tokenizer *t);
// -1 with a message on a character outside a char tokenizer's vocabulary. *ids is malloc'd.
long tokenizer_encode(Tokenizer *t, const unsigned char *text, size_t size, int32_t **ids, char *err, size_t err_size);
bool tokenizer_decode(const Tokenizer *t, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err,
                      size_t err_size);
void tokenizer_free(Tokenizer *t);
// For checkpoints: "char" or "bpe", and the vocabulary as text (chars_serialize or the BPE file).
const char *tokenizer_kind_name(const Tokenizer *t);
char *tokenizer_serialize(const Tokenizer *t);
bool tokenizer_parse(Tokenizer *t, const char *kind, const char *text, char *err, size_t err_size);

#endif
