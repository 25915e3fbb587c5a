// fuzz_corpus.c - a --data file of any bytes, through what `hyena train` does with it: load,
// build the char tokenizer, encode, split for training and validation, draw a batch; and train a
// small BPE on it, whose encoding must decode back to the text.
#include <stdlib.h>
#include <string.h>

#include "../../data/bpe.h"
#include "../../data/chars.h"
#include "../../data/corpus.h"
#include "../../data/dataset.h"
#include "fuzz.h"
#include "scratch_file.h"

int fuzz_corpus(const uint8_t *data, size_t size) {
    Corpus c;
    char err[300];
    if (!corpus_load(&c, fuzz_scratch_file(data, size), err, sizeof err)) return 0;
    if (c.size != size || memcmp(c.text, data, size) != 0) abort();
    CharTokenizer chars;
    if (chars_build(&chars, c.text, c.size, err, sizeof err)) {
        int32_t *ids;
        long n = chars_encode(&chars, c.text, c.size, &ids, err, sizeof err);
        if (n < 0) abort();
        TokenSplit train, val;
        if (dataset_split(ids, n, 0.1, 4, &train, &val, err, sizeof err)) {
            int32_t in[2 * 4], tg[2 * 4];
            Rng rng = rng_new(1);
            batch_random(&train, 2, 4, &rng, in, tg);
            for (int i = 0; i < 8; i++)
                if (in[i] < 0 || in[i] >= chars.n || tg[i] < 0 || tg[i] >= chars.n) abort();
            for (long w = 0; w < val_window_count(&val, 4); w++) val_window(&val, 4, w, in, tg);
        }
        free(ids);
        chars_free(&chars);
    }
    Bpe bpe;
    const char *specials[] = {"<|endoftext|>"};
    if (bpe_train(&bpe, c.text, c.size, 300, true, specials, 1, NULL, NULL, err, sizeof err)) {
        int32_t *ids;
        long n = bpe_encode(&bpe, c.text, c.size, &ids);
        unsigned char *back;
        size_t back_size;
        if (!bpe_decode(&bpe, ids, n, &back, &back_size, err, sizeof err)) abort();
        if (back_size != c.size || memcmp(back, c.text, c.size) != 0) abort();
        free(ids);
        free(back);
        bpe_free(&bpe);
    }
    corpus_free(&c);
    return 0;
}
