// fuzz_bpe_file.c - the BPE tokenizer file loader on any bytes; what it accepts must encode and
// decode back to the same bytes.
#include <stdlib.h>
#include <string.h>

#include "../../data/bpe.h"
#include "fuzz.h"

int fuzz_bpe_file(const uint8_t *data, size_t size) {
    Bpe bpe;
    char err[300];
    if (!bpe_parse(&bpe, (const char *)data, size, err, sizeof err)) return 0;
    static const unsigned char probe[] = "Any text: 'tis \xe2\x80\x99 \xff\xfe, 42 <|endoftext|> \n\n end";
    int32_t *ids;
    long n = bpe_encode(&bpe, probe, sizeof probe - 1, &ids);
    unsigned char *back;
    size_t back_size;
    if (!bpe_decode(&bpe, ids, n, &back, &back_size, err, sizeof err)) abort();
    if (back_size != sizeof probe - 1 || memcmp(back, probe, back_size) != 0) abort();
    free(ids);
    free(back);
    bpe_free(&bpe);
    return 0;
}
