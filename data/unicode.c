// unicode.c - UTF-8 decoding and the character classes of GPT-2's pre-split.
#include "unicode.h"

// A continuation byte is 10xxxxxx.
static int continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

int utf8_decode(const unsigned char *t, size_t n, uint32_t *cp) {
    unsigned char b = t[0];
    *cp = UNICODE_INVALID;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    // The lead byte gives the length; the allowed range of the second byte rules out overlong
    // forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
    int len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        return 1;  // 80..C1 (a continuation byte, or an overlong 2-byte lead) or F5..FF
    }
    if (n < (size_t)len || t[1] < lo || t[1] > hi) return 1;
    for (int k = 2; k < len; k++)
        if (!continuation(t[k])) return 1;
    uint32_t v = b & (0x7F >> len);  // the lead byte's payload: 5, 4 or 3 bits
    for (int k = 1; k < len; k++) v = v << 6 | (t[k] & 0x3F);
    *cp = v;
    return len;
}

// Binary search over the sorted ranges (about 850 of them: ten steps).
UnicodeClass unicode_class(uint32_t cp) {
    int lo = 0, hi = unicode_n_ranges - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < unicode_ranges[mid].first) hi = mid - 1;
        else if (cp > unicode_ranges[mid].last) lo = mid + 1;
        else return unicode_ranges[mid].cls;
    }
    return UNICODE_OTHER;
}
