// chars.c - UTF-8 decoding with escapes for invalid bytes, and a sorted vocabulary.
#include "chars.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unicode.h"

#define ESCAPE_BASE 0xDC00u  // invalid byte b becomes U+DC00 + b (b >= 0x80)
#define CODE_POINTS 0x110000u  // U+0000 .. U+10FFFF, the escapes (surrogates) included

static bool fail(char *err, size_t es, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, es, fmt, ap);
    va_end(ap);
    return false;
}

// The character at s[0] (n > 0 bytes available): its code point, or U+DC00 + the byte for a byte
// that does not begin valid UTF-8 (data/unicode.h says which); *len is the bytes it takes.
static uint32_t next_char(const unsigned char *s, size_t n, int *len) {
    uint32_t cp;
    *len = utf8_decode(s, n, &cp);
    return cp == UNICODE_INVALID ? ESCAPE_BASE + s[0] : cp;
}

// The bytes of one character, the inverse of next_char; returns the count.
static int utf8_put(uint32_t cp, unsigned char *out) {
    if (cp >= ESCAPE_BASE + 0x80 && cp <= ESCAPE_BASE + 0xFF) {
        out[0] = (unsigned char)(cp - ESCAPE_BASE);
        return 1;
    }
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

bool chars_build(CharTokenizer *t, const unsigned char *text, size_t size, char *err, size_t es) {
    memset(t, 0, sizeof *t);
    if (size == 0) return fail(err, es, "the training text is empty: no characters to build a vocabulary from");
    // One bit per code point (136 KB) says whether a character was seen, in constant time, so a
    // corpus with thousands of distinct characters costs no more per byte than plain ASCII. The
    // characters themselves are listed as they first appear, then sorted.
    unsigned char *seen = calloc(CODE_POINTS / 8, 1);
    size_t cap = 256;
    uint32_t *set = malloc(cap * sizeof(uint32_t));
    if (seen == NULL || set == NULL) {
        free(seen);
        free(set);
        return fail(err, es, "out of memory building the character vocabulary");
    }
    int n = 0;
    for (size_t i = 0; i < size;) {
        int len = 1;
        uint32_t cp = text[i] < 128 ? text[i] : next_char(text + i, size - i, &len);
        i += (size_t)len;
        if (seen[cp / 8] & (1u << (cp % 8))) continue;
        seen[cp / 8] |= (unsigned char)(1u << (cp % 8));
        if ((size_t)n == cap) set = realloc(set, (cap *= 2) * sizeof(uint32_t));
        set[n++] = cp;
    }
    free(seen);
    qsort(set, (size_t)n, sizeof(uint32_t), compare_u32);
    t->n = n;
    t->chars = set;
    return true;
}

void chars_free(CharTokenizer *t) {
    free(t->chars);
    memset(t, 0, sizeof *t);
}

static int find(const CharTokenizer *t, uint32_t cp) {
    int lo = 0, hi = t->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (t->chars[mid] == cp) return mid;
        if (t->chars[mid] < cp) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

long chars_encode(const CharTokenizer *t, const unsigned char *text, size_t size, int32_t **ids_out, char *err, size_t es) {
    int32_t *ids = malloc((size + 1) * sizeof(int32_t));
    if (ids == NULL) {
        fail(err, es, "out of memory: %zu bytes of text need %zu MB of token ids", size, (size + 1) * 4 >> 20);
        return -1;
    }
    // ASCII, most of most text, by a table: decoding and a binary search per byte were most of
    // the time it took to encode a 2 GB corpus.
    int ascii_id[128];
    for (uint32_t cp = 0; cp < 128; cp++) ascii_id[cp] = find(t, cp);
    long n = 0;
    for (size_t i = 0; i < size;) {
        if (text[i] < 128 && ascii_id[text[i]] >= 0) {
            ids[n++] = ascii_id[text[i++]];
            continue;
        }
        int len;
        uint32_t cp = next_char(text + i, size - i, &len);
        int id = find(t, cp);
        if (id < 0) {
            if (cp >= 0x20 && cp < 0x7F && cp != '\'') fail(err, es, "character '%c' (U+%04X) at byte %zu is not in the vocabulary", (char)cp, cp, i);
            else if (cp >= ESCAPE_BASE + 0x80 && cp <= ESCAPE_BASE + 0xFF) fail(err, es, "byte 0x%02X (not valid UTF-8) at byte %zu is not in the vocabulary", cp - ESCAPE_BASE, i);
            else fail(err, es, "character U+%04X at byte %zu is not in the vocabulary", cp, i);
            free(ids);
            return -1;
        }
        ids[n++] = id;
        i += (size_t)len;
    }
    *ids_out = ids;
    return n;
}

bool chars_decode(const CharTokenizer *t, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err, size_t es) {
    unsigned char *out = malloc((size_t)n * 4 + 1);
    size_t at = 0;
    for (long i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n) {
            free(out);
            return fail(err, es, "token id %d at position %ld is outside the vocabulary [0, %d)", ids[i], i, t->n);
        }
        at += (size_t)utf8_put(t->chars[ids[i]], out + at);
    }
    out[at] = '\0';
    *text = out;
    *size = at;
    return true;
}

char *chars_serialize(const CharTokenizer *t) {
    char *s = malloc((size_t)t->n * 9 + 1), *p = s;
    *p = '\0';
    for (int i = 0; i < t->n; i++) p += sprintf(p, i ? " %x" : "%x", t->chars[i]);
    return s;
}

bool chars_parse(CharTokenizer *t, const char *text, char *err, size_t es) {
    memset(t, 0, sizeof *t);
    size_t cap = 64;
    t->chars = malloc(cap * sizeof(uint32_t));
    const char *p = text;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long cp = strtoul(p, &end, 16);
        if (end == p || errno || cp > 0x10FFFF || (*end && *end != ' ')) {
            chars_free(t);
            return fail(err, es, "character vocabulary: expected hexadecimal code points, found '%.16s'", p);
        }
        if (t->n > 0 && cp <= t->chars[t->n - 1]) {
            chars_free(t);
            return fail(err, es, "character vocabulary: code points must be strictly increasing");
        }
        if ((size_t)t->n == cap) t->chars = realloc(t->chars, (cap *= 2) * sizeof(uint32_t));
        t->chars[t->n++] = (uint32_t)cp;
        p = *end ? end + 1 : end;
    }
    if (t->n == 0) {
        chars_free(t);
        return fail(err, es, "character vocabulary is empty");
    }
    return true;
}
