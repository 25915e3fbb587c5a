// fuzz_encode.c - encoding any bytes with the BPE (pre-split and not) and the char tokenizer:
// every encoding must decode to exactly the input.
#include <stdlib.h>
#include <string.h>

#include "../../data/bpe.h"
#include "../../data/chars.h"
#include "fuzz.h"

static void check_bpe(Bpe *bpe, const uint8_t *data, size_t size) {
    int32_t *ids;
    long n = bpe_encode(bpe, data, size, &ids);
    unsigned char *back;
    size_t back_size;
    char err[200];
    if (!bpe_decode(bpe, ids, n, &back, &back_size, err, sizeof err)) abort();
    if (back_size != size || memcmp(back, data, size) != 0) abort();
    free(ids);
    free(back);
}

int fuzz_encode(const uint8_t *data, size_t size) {
    // Two tokenizers trained once, on text with letters, digits, UTF-8 and a special token.
    static Bpe split, unsplit;
    static int trained = 0;
    if (!trained) {
        static const char text[] = "The cat's hat: 42 hats, 'tis caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 <|endoftext|> the cat "
                                   "sat\n\n\tthe the the 1234 1234 \xf0\x9f\x98\x80\xf0\x9f\x98\x80 aaaaaaaa";
        const char *specials[] = {"<|endoftext|>", "<|end"};
        char err[200];
        if (!bpe_train(&split, (const unsigned char *)text, sizeof text - 1, 330, true, specials, 2, NULL, NULL, err,
                       sizeof err) ||
            !bpe_train(&unsplit, (const unsigned char *)text, sizeof text - 1, 330, false, specials, 2, NULL, NULL, err,
                       sizeof err))
            abort();
        trained = 1;
    }
    check_bpe(&split, data, size);
    check_bpe(&unsplit, data, size);
    // The char tokenizer of the input itself encodes it and decodes it back.
    CharTokenizer chars;
    char err[200];
    if (chars_build(&chars, data, size, err, sizeof err)) {
        int32_t *ids;
        long n = chars_encode(&chars, data, size, &ids, err, sizeof err);
        if (n < 0) abort();
        unsigned char *back;
        size_t back_size;
        if (!chars_decode(&chars, ids, n, &back, &back_size, err, sizeof err)) abort();
        if (back_size != size || memcmp(back, data, size) != 0) abort();
        free(ids);
        free(back);
        chars_free(&chars);
    } else if (size > 0) {
        abort();  // only an empty text has no vocabulary
    }
    return 0;
}
