// unicode.h - just enough Unicode for GPT-2's pre-split: UTF-8 decoding, and whether a character
// is a letter, a number, whitespace or something else.
//
// The classes are those of Python's `regex` module (\p{L}, \p{N}, \s), which GPT-2's pattern was
// written for, in a table generated from it (data/unicode_gen.py writes data/unicode_table.c).
#ifndef HYENA_UNICODE_H
#define HYENA_UNICODE_H

#include <stddef.h>
#include <stdint.h>

typedef enum UnicodeClass { UNICODE_OTHER, UNICODE_LETTER, UNICODE_NUMBER, UNICODE_SPACE } UnicodeClass;

typedef struct UnicodeRange {
    uint32_t first, last;  // code points, inclusive
    UnicodeClass cls;
} UnicodeRange;

extern const UnicodeRange unicode_ranges[];  // sorted, not overlapping
extern const int unicode_n_ranges;
extern const unsigned char unicode_ascii_class[128];  // the same classes, for ASCII, by index

// The code point UTF-8 encodes at text[0] (n > 0 bytes available), in *cp; returns its length in
// bytes, 1 to 4. A byte that does not begin a valid sequence (a stray continuation byte, an
// overlong form, a surrogate, past U+10FFFF, or cut short) is a character of its own, one byte
// long, with *cp = UNICODE_INVALID: the text may be any bytes, and every byte must land in a chunk.
#define UNICODE_INVALID 0xFFFFFFFFu
int utf8_decode(const unsigned char *text, size_t n, uint32_t *cp);

UnicodeClass unicode_class(uint32_t cp);  // UNICODE_OTHER for UNICODE_INVALID

#endif
