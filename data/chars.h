// chars.h - the character tokenizer: one token per distinct character of the training text.
//
// Characters are Unicode code points decoded from UTF-8. A byte that is not part of valid UTF-8
// becomes its own symbol (U+DC80 + byte, Python's "surrogateescape"), so any byte string, valid
// UTF-8 or not, encodes and decodes back to exactly itself. The vocabulary is sorted by code point.
#ifndef HYENA_CHARS_H
#define HYENA_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct CharTokenizer {
    int n;            // vocabulary size
    uint32_t *chars;  // [n] sorted code points
} CharTokenizer;

// The vocabulary of text. False (with a message) for an empty text.
bool chars_build(CharTokenizer *t, const unsigned char *text, size_t size, char *err, size_t err_size);
void chars_free(CharTokenizer *t);
// -1 (with a message naming the character and its position) when text holds a character outside
// the vocabulary. *ids is malloc'd.
long chars_encode(const CharTokenizer *t, const unsigned char *text, size_t size, int32_t **ids, char *err,
                  size_t err_size);
bool chars_decode(const CharTokenizer *t, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err,
                  size_t err_size);
// For checkpoints: the vocabulary as space-separated hexadecimal code points.
char *chars_serialize(const CharTokenizer *t);
bool chars_parse(CharTokenizer *t, const char *text, char *err, size_t err_size);

#endif
