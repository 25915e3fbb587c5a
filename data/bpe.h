// bpe.h - byte-level byte-pair encoding (as GPT-2 and minbpe): 256 byte tokens + learned merges.
//
// Training repeatedly merges the most frequent adjacent pair of tokens into a new token. Text is
// first cut into chunks (GPT-2's pre-split, exactly: see bpe_chunk_length) so that
// merges never cross a chunk boundary: " the" can become a token, "e." cannot. Special tokens
// (e.g. <|endoftext|>) are matched literally before anything else, the longest where one begins
// another, and get the last ids.
//
// File format (text, one item per line, '#' starts a comment):
//   hyena-bpe 1
//   split gpt2            ("gpt2" or "none")
//   merges M
//   A B                   M lines in rank order: merge i joins tokens A and B into 256 + i
//                         (a comment after it spells the token, cut after 48 bytes)
//   specials S
//   <|endoftext|>         S lines: the special token strings, ids 256 + M + j
#ifndef HYENA_BPE_H
#define HYENA_BPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BPE_MAX_SPECIALS 16
#define BPE_MAX_SPECIAL_LEN 64
// The longest token: training never makes a longer one, and the loader refuses a file that does.
// Without a bound, a file of 60 chained merges describes a token of 2^60 bytes.
#define BPE_MAX_TOKEN_BYTES 4096

typedef struct BpeMerge {
    int32_t a, b;
} BpeMerge;

typedef struct Bpe {
    bool split;                   // pre-split text into chunks (GPT-2's pattern)
    int n_merges;
    BpeMerge *merges;             // [n_merges]: merge i makes token 256 + i
    int n_specials;
    char specials[BPE_MAX_SPECIALS][BPE_MAX_SPECIAL_LEN];
    // Derived tables for encoding and decoding.
    int *token_len;               // [vocab] how many bytes each token stands for
    struct BpeRanks *ranks;       // pair -> merge rank
    struct BpeCache *cache;       // chunk -> token ids, for repeated chunks
} Bpe;

typedef void (*BpeProgress)(int done, int total, void *ctx);

// Learn merges from text until the vocabulary has vocab_size tokens (256 bytes + merges +
// specials), or no pair occurs twice. Returns false with a message when vocab_size is too small.
bool bpe_train(Bpe *bpe, const unsigned char *text, size_t size, int vocab_size, bool split,
               const char *const *specials, int n_specials, BpeProgress progress, void *ctx, char *err, size_t err_size);
void bpe_free(Bpe *bpe);
int bpe_vocab_size(const Bpe *bpe);

// Encode size bytes to token ids. *ids is malloc'd; returns the count.
long bpe_encode(Bpe *bpe, const unsigned char *text, size_t size, int32_t **ids);
// The bytes token id stands for, written to out (room for BPE_MAX_TOKEN_BYTES); returns the count.
// A merged token is spelled by walking its merges down to bytes: storing every token's bytes
// would cost the sum of their lengths, which a chain of merges makes quadratic in the vocabulary.
int bpe_token_bytes(const Bpe *bpe, int32_t id, unsigned char *out);
// Decode ids to bytes (malloc'd, *size set). False with a message on an id outside the vocabulary.
bool bpe_decode(const Bpe *bpe, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err,
                size_t err_size);

// The text format above: written atomically; every line validated on load.
bool bpe_save(const Bpe *bpe, const char *path);
bool bpe_load(Bpe *bpe, const char *path, char *err, size_t err_size);
bool bpe_parse(Bpe *bpe, const char *text, size_t size, char *err, size_t err_size);
char *bpe_serialize(const Bpe *bpe, size_t *size);  // the file's text (malloc'd)

// Encode one chunk (no special tokens inside) into ids (room for len): bpe_encode's inner step.
// Chunks up to BPE_SHORT_CHUNK bytes use the naive rounds, longer ones a heap; the results are
// the same (tests compare them).
#define BPE_SHORT_CHUNK 32
int bpe_encode_chunk(const Bpe *bpe, const unsigned char *text, int len, int32_t *ids);
int bpe_encode_chunk_naive(const Bpe *bpe, const unsigned char *text, int len, int32_t *ids);

// The chunking used by training and encoding: the length of the chunk starting at text[0].
size_t bpe_chunk_length(const unsigned char *text, size_t size);

// The longest chunk training and encoding work on. A longer stretch (a megabyte of letters with
// no space, or unsplit text, where each segment between special tokens is one chunk) is cut into
// pieces of this many bytes, and merges do not cross the cuts. So a chunk's positions fit an int
// whatever the size of the corpus, and one chunk's work space is bounded (a few times 1 MiB).
#define BPE_MAX_CHUNK (1 << 20)

#endif
