// test_data.c - tokenizers, corpora, batches and the synthetic tasks.
#define _DEFAULT_SOURCE  // MAP_ANONYMOUS, MAP_NORESERVE
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../data/bpe.h"
#include "../data/chars.h"
#include "../data/corpus.h"
#include "../data/dataset.h"
#include "../data/synthetic.h"
#include "../data/tokenizer.h"
#include "../data/unicode.h"
#include "suites.h"

// ---------------------------------------------------------------- BPE against a naive trainer

// The textbook trainer: every merge recounts every pair of every chunk of the text.
static int naive_bpe(const unsigned char *text, size_t size, int n_merges, bool split, BpeMerge *merges) {
    int n_chunks = 0;
    int32_t **chunks = malloc(sizeof(int32_t *) * (size + 1));
    int *lens = malloc(sizeof(int) * (size + 1));
    for (size_t pos = 0; pos < size;) {
        size_t len = split ? bpe_chunk_length(text + pos, size - pos) : size - pos;
        chunks[n_chunks] = malloc(sizeof(int32_t) * len);
        for (size_t i = 0; i < len; i++) chunks[n_chunks][i] = text[pos + i];
        lens[n_chunks++] = (int)len;
        pos += len;
    }
    int done = 0;
    int V = 256 + n_merges;
    long *counts = malloc(sizeof(long) * (size_t)V * V);
    for (; done < n_merges; done++) {
        memset(counts, 0, sizeof(long) * (size_t)V * V);
        for (int c = 0; c < n_chunks; c++)
            for (int i = 0; i + 1 < lens[c]; i++) counts[(long)chunks[c][i] * V + chunks[c][i + 1]]++;
        long best = 1;
        int ba = -1, bb = -1;
        for (int a = 0; a < V; a++)  // the smallest pair wins ties, as in the fast trainer
            for (int b = 0; b < V; b++)
                if (counts[(long)a * V + b] > best) {
                    best = counts[(long)a * V + b];
                    ba = a;
                    bb = b;
                }
        if (ba < 0) break;
        merges[done] = (BpeMerge){ba, bb};
        for (int c = 0; c < n_chunks; c++) {
            int out = 0;
            for (int i = 0; i < lens[c];)
                if (i + 1 < lens[c] && chunks[c][i] == ba && chunks[c][i + 1] == bb) {
                    chunks[c][out++] = 256 + done;
                    i += 2;
                } else {
                    chunks[c][out++] = chunks[c][i++];
                }
            lens[c] = out;
        }
    }
    for (int c = 0; c < n_chunks; c++) free(chunks[c]);
    free(chunks);
    free(lens);
    free(counts);
    return done;
}

static Corpus sample_text(size_t max) {
    Corpus c;
    corpus_default(&c);
    if (c.size > max) c.size = max;
    return c;
}

START_TEST(test_fast_bpe_learns_the_same_merges_as_the_naive_trainer) {
    Corpus c = sample_text(12000);
    for (int split = 0; split < 2; split++) {
        Bpe bpe;
        char err[200];
        ck_assert(bpe_train(&bpe, c.text, c.size, 256 + 120, split, NULL, 0, NULL, NULL, err, sizeof err));
        BpeMerge want[120];
        int n = naive_bpe(c.text, c.size, 120, split, want);
        ck_assert_int_eq(bpe.n_merges, n);
        for (int m = 0; m < n; m++)
            ck_assert_msg(bpe.merges[m].a == want[m].a && bpe.merges[m].b == want[m].b,
                          "split=%d merge %d: fast (%d, %d), naive (%d, %d)", split, m, bpe.merges[m].a,
                          bpe.merges[m].b, want[m].a, want[m].b);
        bpe_free(&bpe);
    }
    // A repetitive text stops early: no pair occurs twice any more.
    const char *rep = "aaaaaaaaab";
    Bpe bpe;
    char err[200];
    ck_assert(bpe_train(&bpe, (const unsigned char *)rep, strlen(rep), 300, false, NULL, 0, NULL, NULL, err, sizeof err));
    BpeMerge want[44];
    ck_assert_int_eq(bpe.n_merges, naive_bpe((const unsigned char *)rep, strlen(rep), 44, false, want));
    bpe_free(&bpe);
    corpus_free(&c);
}
END_TEST

// Runs of one letter ("aaaa": sites that overlap) and of two ("abab": sites side by side) in one
// long unsplit word: the cases where updating only the pairs around each merge site could go wrong.
START_TEST(test_fast_bpe_merges_runs_in_one_long_word_like_the_naive_trainer) {
    Rng rng = rng_new(7);
    unsigned char text[3000];
    for (size_t i = 0; i < sizeof text;) {
        size_t run = 1 + rng_below(&rng, 12);
        unsigned char x = (unsigned char)"ab"[rng_below(&rng, 2)], y = (unsigned char)"abc"[rng_below(&rng, 3)];
        for (size_t k = 0; k < run && i < sizeof text; k++, i++) text[i] = k % 2 ? y : x;
    }
    Bpe bpe;
    char err[200];
    ck_assert(bpe_train(&bpe, text, sizeof text, 256 + 150, false, NULL, 0, NULL, NULL, err, sizeof err));
    BpeMerge want[150];
    int n = naive_bpe(text, sizeof text, 150, false, want);
    ck_assert_int_eq(bpe.n_merges, n);
    for (int m = 0; m < n; m++)
        ck_assert_msg(bpe.merges[m].a == want[m].a && bpe.merges[m].b == want[m].b,
                      "merge %d: fast (%d, %d), naive (%d, %d)", m, bpe.merges[m].a, bpe.merges[m].b, want[m].a,
                      want[m].b);
    bpe_free(&bpe);
}
END_TEST

// A chunk longer than BPE_SHORT_CHUNK is encoded with a heap instead of naive rounds; the ids are
// the same for text like the training text, for runs, and for random bytes.
START_TEST(test_bpe_long_chunks_encode_like_the_naive_rounds) {
    Corpus c = sample_text(20000);
    Bpe bpe;
    char err[200];
    ck_assert(bpe_train(&bpe, c.text, c.size, 256 + 400, false, NULL, 0, NULL, NULL, err, sizeof err));
    Rng rng = rng_new(3);
    unsigned char buf[4000];
    int32_t fast[4000], naive[4000];
    for (int iter = 0; iter < 60; iter++) {
        int len = (int)rng_below(&rng, sizeof buf);
        if (iter % 3 == 0) {  // a slice of the training text
            size_t at = rng_below(&rng, c.size - sizeof buf);
            memcpy(buf, c.text + at, (size_t)len);
        } else {
            for (int i = 0; i < len; i++)
                buf[i] = iter % 3 == 1 ? (unsigned char)" ee tth"[rng_below(&rng, 7)] : (unsigned char)rng_below(&rng, 256);
        }
        int n = bpe_encode_chunk(&bpe, buf, len, fast);
        ck_assert_int_eq(n, bpe_encode_chunk_naive(&bpe, buf, len, naive));
        ck_assert(memcmp(fast, naive, (size_t)n * sizeof(int32_t)) == 0);
        if (iter % 3 == 0) ck_assert_int_lt(n, len / 2 + 1);  // the merges apply: it is not the bytes
    }
    bpe_free(&bpe);
    corpus_free(&c);
}
END_TEST

// A run of letters longer than BPE_MAX_CHUNK (one chunk by GPT-2's pattern, and also unsplit
// text) is encoded, and trained on, in pieces of BPE_MAX_CHUNK bytes: positions stay ints.
START_TEST(test_bpe_cuts_chunks_longer_than_the_maximum_into_pieces) {
    size_t size = 2 * BPE_MAX_CHUNK + 12345;
    unsigned char *text = malloc(size);
    for (size_t i = 0; i < size; i++) text[i] = "abcab"[i % 5];
    for (int split = 0; split < 2; split++) {
        Bpe bpe;
        char err[200];
        ck_assert(bpe_train(&bpe, text, 100000, 256 + 40, split, NULL, 0, NULL, NULL, err, sizeof err));
        int32_t *ids, *piece = malloc(BPE_MAX_CHUNK * sizeof(int32_t));
        long n = bpe_encode(&bpe, text, size, &ids), at = 0;
        for (size_t pos = 0; pos < size; pos += BPE_MAX_CHUNK) {
            int len = size - pos < BPE_MAX_CHUNK ? (int)(size - pos) : BPE_MAX_CHUNK;
            int k = bpe_encode_chunk(&bpe, text + pos, len, piece);
            ck_assert_int_le(at + k, n);
            ck_assert(memcmp(ids + at, piece, (size_t)k * sizeof(int32_t)) == 0);
            at += k;
        }
        ck_assert_int_eq(at, n);
        ck_assert_int_lt(n, (long)size / 8);  // the merges apply within each piece
        bpe_free(&bpe);
        free(ids);
        free(piece);
        // Training on the whole run meets the same cuts and finishes.
        ck_assert(bpe_train(&bpe, text, size, 256 + 8, split, NULL, 0, NULL, NULL, err, sizeof err));
        ck_assert_int_eq(bpe_vocab_size(&bpe), 256 + 8);
        bpe_free(&bpe);
    }
    free(text);
}
END_TEST

static Bpe trained(void) {
    Corpus c = sample_text(60000);
    Bpe bpe;
    char err[200];
    const char *specials[] = {"<|endoftext|>"};
    ck_assert(bpe_train(&bpe, c.text, c.size, 700, true, specials, 1, NULL, NULL, err, sizeof err));
    corpus_free(&c);
    return bpe;
}

static void assert_round_trip(Bpe *bpe, const unsigned char *text, size_t size) {
    int32_t *ids;
    long n = bpe_encode(bpe, text, size, &ids);
    unsigned char *back;
    size_t back_size;
    char err[200];
    ck_assert(bpe_decode(bpe, ids, n, &back, &back_size, err, sizeof err));
    ck_assert_int_eq(back_size, size);
    ck_assert(memcmp(back, text, size) == 0);
    free(ids);
    free(back);
}

START_TEST(test_bpe_round_trips_any_bytes) {
    Bpe bpe = trained();
    ck_assert_int_eq(bpe_vocab_size(&bpe), 700);
    assert_round_trip(&bpe, (const unsigned char *)"", 0);
    const char *s = "The end.<|endoftext|>Next <|endoftext|><|endoftext|> café \xff\xfe\x00 bytes\x00";
    assert_round_trip(&bpe, (const unsigned char *)s, 65);
    Rng rng = rng_new(1);
    unsigned char buf[1000];
    for (int iter = 0; iter < 80; iter++) {
        size_t n = rng_below(&rng, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = iter % 2 ? (unsigned char)rng_below(&rng, 256) : (unsigned char)" etaoin\n<|>"[rng_below(&rng, 11)];
        assert_round_trip(&bpe, buf, n);
    }
    Corpus c;
    corpus_default(&c);
    assert_round_trip(&bpe, c.text, c.size);
    corpus_free(&c);
    bpe_free(&bpe);
}
END_TEST

// The ids themselves, not only the round trip: a chunk's encoding is what applying the merges one
// after the other, in the order they were learned, each to every occurrence from left to right,
// makes of its bytes. (Applying them out of order still decodes to the same text, with more
// tokens.) Chunks are cut as the encoder cuts them (bpe_chunk_length).
static long naive_encode_chunk(const Bpe *bpe, const unsigned char *s, long len, int32_t *ids) {
    long n = len;
    for (long i = 0; i < len; i++) ids[i] = s[i];
    for (int m = 0; m < bpe->n_merges; m++) {
        long out = 0;
        for (long i = 0; i < n; i++) {
            if (i + 1 < n && ids[i] == bpe->merges[m].a && ids[i + 1] == bpe->merges[m].b) {
                ids[out++] = 256 + m;
                i++;
            } else {
                ids[out++] = ids[i];
            }
        }
        n = out;
    }
    return n;
}

START_TEST(test_bpe_encoding_applies_the_merges_in_the_order_learned) {
    Bpe bpe = trained();
    Corpus c = sample_text(60000);
    size_t size = 20000;
    unsigned char *text = malloc(size);
    memcpy(text, c.text + 30000, size);  // text the merges were not only counted on
    for (size_t i = 0; i < size; i++)
        if (text[i] == '<') text[i] = '(';  // no special token: those are not made of merges
    int32_t *got, *want = malloc(sizeof(int32_t) * size);
    long n = bpe_encode(&bpe, text, size, &got), m = 0;
    for (size_t at = 0; at < size;) {
        size_t len = bpe_chunk_length(text + at, size - at);
        m += naive_encode_chunk(&bpe, text + at, (long)len, want + m);
        at += len;
    }
    ck_assert_int_eq(n, m);
    for (long i = 0; i < n; i++) ck_assert_msg(got[i] == want[i], "token %ld: encoder %d, merges in order %d", i, got[i], want[i]);
    free(got);
    free(want);
    free(text);
    corpus_free(&c);
    bpe_free(&bpe);
}
END_TEST

START_TEST(test_bpe_special_tokens_are_single_ids) {
    Bpe bpe = trained();
    int32_t *ids;
    long n = bpe_encode(&bpe, (const unsigned char *)"a<|endoftext|>b", 15, &ids);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(ids[1], 699);
    free(ids);
    bpe_free(&bpe);
}
END_TEST

// When one special token begins another, the longer match wins, whichever is listed first; in
// training too, so that the text of the longer one never leaks into the merges.
START_TEST(test_bpe_overlapping_special_tokens_take_the_longest_match) {
    const char *specials[] = {"<|end|>", "<|end|><|pad|>"};
    const char *text = "xy<|end|><|pad|>xy<|end|>xy<|end|><|pad|>xy";
    Bpe bpe;
    char err[200];
    ck_assert(bpe_train(&bpe, (const unsigned char *)text, strlen(text), 300, false, specials, 2, NULL, NULL, err, sizeof err));
    // Unsplit: xy between specials is one word; had "<|end|>" matched alone, "<|pad|>xy" would be
    // words and "<|" a pair that occurs twice.
    ck_assert_int_eq(bpe.n_merges, 1);
    ck_assert(bpe.merges[0].a == 'x' && bpe.merges[0].b == 'y');
    int32_t *ids;
    long n = bpe_encode(&bpe, (const unsigned char *)text, strlen(text), &ids);
    int end = 256 + bpe.n_merges, end_pad = end + 1, xy = 256;
    int32_t want[] = {xy, end_pad, xy, end, xy, end_pad, xy};
    ck_assert_int_eq(n, 7);
    ck_assert(memcmp(ids, want, sizeof want) == 0);
    free(ids);
    bpe_free(&bpe);
}
END_TEST

// Regression (issue 13): words are collected segment by segment between special tokens, and
// the word array's capacity was local to one segment. A special early in the text followed by
// more than 4096 distinct chunks wrote past the array (a heap overflow under AddressSanitizer).
START_TEST(test_bpe_trains_on_many_distinct_chunks_after_a_special_token) {
    size_t cap = 100000, size = 0;
    unsigned char *text = malloc(cap);
    size += (size_t)snprintf((char *)text, cap, "First<|endoftext|>");
    for (int i = 0; i < 6000; i++) size += (size_t)snprintf((char *)text + size, cap - size, " w%d", i);
    Bpe bpe;
    char err[200];
    const char *specials[] = {"<|endoftext|>"};
    ck_assert_msg(bpe_train(&bpe, text, size, 400, true, specials, 1, NULL, NULL, err, sizeof err), "%s", err);
    ck_assert_int_eq(bpe_vocab_size(&bpe), 400);
    assert_round_trip(&bpe, text, size);
    bpe_free(&bpe);
    free(text);
}
END_TEST

START_TEST(test_bpe_chunks_split_words_digits_and_spaces_like_gpt2) {
    const char *text = "Hello world  42x, ok\n\nyes";
    const char *want[] = {"Hello", " world", " ", " 42", "x", ",", " ok", "\n", "\n", "yes"};
    size_t pos = 0, n = strlen(text);
    for (int i = 0; i < 10; i++) {
        size_t len = bpe_chunk_length((const unsigned char *)text + pos, n - pos);
        ck_assert_msg(len == strlen(want[i]) && memcmp(text + pos, want[i], len) == 0, "chunk %d: '%.*s'", i, (int)len,
                      text + pos);
        pos += len;
    }
    ck_assert_int_eq(pos, n);
}
END_TEST

static int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// tests/gpt2_split/cases.txt holds strings (contractions, Unicode letters, marks, digits, spaces,
// emoji, runs of whitespace) with the chunks GPT-2's regex cuts them into, written by
// make_cases.py with Python's `regex` module. The chunker must cut every one the same way.
START_TEST(test_bpe_pre_split_is_gpt2s_regex) {
    FILE *f = fopen("tests/gpt2_split/cases.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char *lengths = strchr(line, ' ');
        ck_assert_ptr_nonnull(lengths);
        *lengths++ = '\0';
        unsigned char text[2048];
        size_t n = 0;
        for (size_t i = 0; line[0] != '-' && line[i]; i += 2)
            text[n++] = (unsigned char)(hex_digit(line[i]) << 4 | hex_digit(line[i + 1]));
        size_t pos = 0;
        for (char *want = strtok(lengths, ",\n"); want && *want != '-'; want = strtok(NULL, ",\n")) {
            size_t len = bpe_chunk_length(text + pos, n - pos);
            ck_assert_msg(len == (size_t)atoi(want), "case %d (%s): chunk at byte %zu is %zu bytes, GPT-2's is %s",
                          cases + 1, line, pos, len, want);
            pos += len;
        }
        ck_assert_int_eq(pos, n);
        cases++;
    }
    fclose(f);
    ck_assert_int_gt(cases, 400);
}
END_TEST

START_TEST(test_utf8_decoding_takes_valid_sequences_and_single_bad_bytes) {
    struct {
        const char *bytes;
        int len;
        uint32_t cp;
    } cases[] = {
        {"A", 1, 'A'}, {"\xc3\xa9", 2, 0xE9}, {"\xe2\x82\xac", 3, 0x20AC}, {"\xf0\x9f\x98\x80", 4, 0x1F600},
        {"\xf4\x8f\xbf\xbf", 4, 0x10FFFF}, {"\xed\x9f\xbf", 3, 0xD7FF},
        {"\x80", 1, UNICODE_INVALID},              // a continuation byte alone
        {"\xc0\x80", 1, UNICODE_INVALID},          // overlong NUL
        {"\xe0\x80\xaf", 1, UNICODE_INVALID},      // overlong '/'
        {"\xed\xa0\x80", 1, UNICODE_INVALID},      // a surrogate
        {"\xf4\x90\x80\x80", 1, UNICODE_INVALID},  // past U+10FFFF
        {"\xe2\x82", 1, UNICODE_INVALID},          // cut short
        {"\xe2\x28\xa1", 1, UNICODE_INVALID},      // a non-continuation inside
        {"\xff", 1, UNICODE_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)cases[i].bytes, strlen(cases[i].bytes), &cp);
        ck_assert_msg(len == cases[i].len && cp == cases[i].cp, "case %zu: length %d, code point %x", i, len, cp);
    }
    ck_assert_int_eq(unicode_class('a'), UNICODE_LETTER);
    ck_assert_int_eq(unicode_class(0x4E2D), UNICODE_LETTER);  // 中
    ck_assert_int_eq(unicode_class(0x0663), UNICODE_NUMBER);  // Arabic-Indic three
    ck_assert_int_eq(unicode_class(0x3000), UNICODE_SPACE);   // ideographic space
    ck_assert_int_eq(unicode_class(0x0301), UNICODE_OTHER);   // a combining accent is not a letter
    ck_assert_int_eq(unicode_class(UNICODE_INVALID), UNICODE_OTHER);
    for (int r = 1; r < unicode_n_ranges; r++) ck_assert(unicode_ranges[r - 1].last < unicode_ranges[r].first);
    for (uint32_t c = 0; c < 128; c++) ck_assert_int_eq(unicode_ascii_class[c], unicode_class(c));
}
END_TEST

START_TEST(test_bpe_save_then_load_gives_the_same_tokenizer) {
    Bpe bpe = trained();
    char path[] = "/tmp/hyena-bpe-XXXXXX";
    close(mkstemp(path));
    ck_assert(bpe_save(&bpe, path));
    Bpe back;
    char err[300];
    ck_assert_msg(bpe_load(&back, path, err, sizeof err), "%s", err);
    ck_assert_int_eq(back.n_merges, bpe.n_merges);
    ck_assert_int_eq(memcmp(back.merges, bpe.merges, sizeof(BpeMerge) * (size_t)bpe.n_merges), 0);
    ck_assert_str_eq(back.specials[0], "<|endoftext|>");
    ck_assert(back.split);
    unlink(path);
    bpe_free(&back);
    bpe_free(&bpe);
}
END_TEST

static void expect_load_error(const char *text, const char *fragment) {
    Bpe bpe;
    char err[300] = "";
    bool ok = bpe_parse(&bpe, text, strlen(text), err, sizeof err);
    if (ok) bpe_free(&bpe);
    ck_assert_msg(!ok, "accepted: %s", text);
    ck_assert_msg(strstr(err, fragment), "'%s' lacks '%s'", err, fragment);
}

START_TEST(test_bpe_loader_rejects_every_malformed_line) {
    expect_load_error("", "hyena-bpe 1");
    expect_load_error("gpt-2 merges\n", "hyena-bpe 1");
    expect_load_error("hyena-bpe 1\nsplit maybe\n", "split gpt2");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges -1\n", "merges N");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 2\n97 98\n", "expected 2 merges");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 1\n97\nspecials 0\n", "two token ids");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 1\n97 x\nspecials 0\n", "two token ids");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 1\n97 256\nspecials 0\n", "only tokens below 256");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 1\n-1 3\nspecials 0\n", "only tokens below");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 2\n97 98\n97 98\nspecials 0\n", "repeats merge 0");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 0\n", "specials N");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 0\nspecials 1\n", "special token 1 of 1");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 0\nspecials 2\n<a>\n<a>\n", "listed twice");
    expect_load_error("hyena-bpe 1\nsplit gpt2\nmerges 0\nspecials 0\nextra\n", "unexpected text");
    // A line too long to read is named as such, not as whatever the parser then missed.
    char long_line[700] = "hyena-bpe 1\nsplit gpt2\nmerges 1\n97 98";
    memset(long_line + strlen(long_line), ' ', 600);
    expect_load_error(long_line, "line 4: more than 511 bytes before its comment");
    Bpe bpe;
    char err[300];
    const char with_nul[] = "hyena-bpe 1\nsplit gpt2\nmerges 0\nspecials 0\n\0\n";
    ck_assert(!bpe_parse(&bpe, with_nul, sizeof with_nul - 1, err, sizeof err));  // strlen would stop at the NUL
    ck_assert_ptr_nonnull(strstr(err, "NUL"));
    const char *good = "hyena-bpe 1\n# a comment\nsplit none\nmerges 2\n97 98  # ab\n256 99\nspecials 1\n<eos>\n";
    ck_assert_msg(bpe_parse(&bpe, good, strlen(good), err, sizeof err), "%s", err);
    ck_assert_int_eq(bpe_vocab_size(&bpe), 259);
    bpe_free(&bpe);
}
END_TEST

// A tokenizer file of n merges that each double the last token: "aa", "aaaa", ...
static void doubling_merges(char *file, int n) {
    sprintf(file, "hyena-bpe 1\nsplit none\nmerges %d\n97 97\n", n);
    for (int m = 1; m < n; m++) sprintf(file + strlen(file), "%d %d\n", 255 + m, 255 + m);
    strcat(file, "specials 0\n");
}

// 13 doubling merges spell 8192 bytes. Without a limit, 60 would spell 2^60, and storing every
// token's bytes would make a chain of n merges cost n^2/2 bytes.
START_TEST(test_bpe_loader_refuses_tokens_longer_than_the_limit) {
    char file[1000];
    doubling_merges(file, 13);
    expect_load_error(file, "line 16: merge 12 makes a token of 8192 bytes; at most 4096");
    doubling_merges(file, 12);  // one fewer: valid, and its longest token spells 4096 bytes
    Bpe bpe;
    char err[300];
    ck_assert_msg(bpe_parse(&bpe, file, strlen(file), err, sizeof err), "%s", err);
    unsigned char bytes[BPE_MAX_TOKEN_BYTES];
    ck_assert_int_eq(bpe_token_bytes(&bpe, 267, bytes), 4096);
    ck_assert(bytes[0] == 'a' && bytes[4095] == 'a');
    bpe_free(&bpe);
}
END_TEST

// Training on one long run of a letter would double the token forever; it stops at the limit,
// and what it writes (comments cut short) loads back as the same tokenizer.
START_TEST(test_bpe_training_stops_at_the_longest_token_and_saves_a_loadable_file) {
    size_t size = 3 * BPE_MAX_TOKEN_BYTES;
    unsigned char *text = malloc(size);
    memset(text, 'a', size);
    Bpe bpe;
    char err[300];
    ck_assert(bpe_train(&bpe, text, size, 300, false, NULL, 0, NULL, NULL, err, sizeof err));
    ck_assert_int_lt(bpe_vocab_size(&bpe), 300);  // stopped early
    int longest = 0;
    for (int id = 0; id < bpe_vocab_size(&bpe); id++)
        if (bpe.token_len[id] > longest) longest = bpe.token_len[id];
    ck_assert_int_eq(longest, BPE_MAX_TOKEN_BYTES);
    assert_round_trip(&bpe, text, size);
    size_t n;
    char *file = bpe_serialize(&bpe, &n);
    ck_assert_ptr_nonnull(strstr(file, "\"... (4096 bytes)\n"));
    Bpe back;
    ck_assert_msg(bpe_parse(&back, file, n, err, sizeof err), "%s", err);
    ck_assert_int_eq(back.n_merges, bpe.n_merges);
    ck_assert(memcmp(back.merges, bpe.merges, (size_t)bpe.n_merges * sizeof(BpeMerge)) == 0);
    free(file);
    bpe_free(&back);
    bpe_free(&bpe);
    free(text);
}
END_TEST

START_TEST(test_bpe_loader_survives_random_corruption) {
    Bpe bpe = trained();
    size_t size;
    char *text = bpe_serialize(&bpe, &size);
    bpe_free(&bpe);
    Rng rng = rng_new(5);
    char *buf = malloc(size + 1);
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(buf, text, size);
        size_t n = iter % 5 == 0 ? rng_below(&rng, (uint32_t)size) : size;
        for (int k = 0; k < 3; k++) buf[rng_below(&rng, (uint32_t)n + 1) % (n ? n : 1)] = (char)rng_below(&rng, 256);
        Bpe b;
        char err[300] = "";
        if (bpe_parse(&b, buf, n, err, sizeof err)) {
            // Accepted: then it is a working tokenizer, whose encoding decodes to the input.
            static const char probe[] = "any text, any bytes: \xff\x00 <|x|>";
            assert_round_trip(&b, (const unsigned char *)probe, sizeof probe - 1);
            bpe_free(&b);
        } else {
            ck_assert(strlen(err) > 0 && strchr(err, '\n') == NULL);  // one line that says why
        }
    }
    free(buf);
    free(text);
}
END_TEST

// ---------------------------------------------------------------- characters

START_TEST(test_char_tokenizer_round_trips_and_names_unseen_characters) {
    const char *text = "hello, wörld \xff\xfe!";
    CharTokenizer t;
    char err[200];
    ck_assert(chars_build(&t, (const unsigned char *)text, strlen(text), err, sizeof err));
    ck_assert_int_eq(t.n, 13);  // h e l o , space w ö r d 0xff 0xfe !
    int32_t *ids;
    long n = chars_encode(&t, (const unsigned char *)text, strlen(text), &ids, err, sizeof err);
    ck_assert_int_eq(n, 16);
    unsigned char *back;
    size_t size;
    ck_assert(chars_decode(&t, ids, n, &back, &size, err, sizeof err));
    ck_assert(size == strlen(text) && memcmp(back, text, size) == 0);
    free(ids);
    free(back);
    ck_assert_int_eq(chars_encode(&t, (const unsigned char *)"hex", 3, &ids, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "'x'"));
    char *s = chars_serialize(&t);
    CharTokenizer u;
    ck_assert(chars_parse(&u, s, err, sizeof err));
    ck_assert_int_eq(u.n, t.n);
    ck_assert_int_eq(memcmp(u.chars, t.chars, sizeof(uint32_t) * (size_t)t.n), 0);
    chars_free(&u);
    ck_assert(!chars_parse(&u, "41 41", err, sizeof err));  // not increasing
    ck_assert(!chars_build(&u, (const unsigned char *)"", 0, err, sizeof err));
    free(s);
    chars_free(&t);
}
END_TEST

START_TEST(test_char_tokenizer_round_trips_random_bytes) {
    Rng rng = rng_new(2);
    unsigned char buf[3000];
    for (int iter = 0; iter < 100; iter++) {
        size_t n = 1 + rng_below(&rng, sizeof buf - 1);
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rng_below(&rng, 256);
        Tokenizer t = {.kind = TOKENIZER_CHAR};
        char err[200];
        ck_assert(chars_build(&t.chars, buf, n, err, sizeof err));
        int32_t *ids;
        long m = tokenizer_encode(&t, buf, n, &ids, err, sizeof err);
        ck_assert_int_ge(m, 1);
        unsigned char *back;
        size_t size;
        ck_assert(tokenizer_decode(&t, ids, m, &back, &size, err, sizeof err));
        ck_assert(size == n && memcmp(back, buf, n) == 0);
        free(ids);
        free(back);
        tokenizer_free(&t);
    }
}
END_TEST

// ---------------------------------------------------------------- corpora and batches

static bool contains(const unsigned char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return true;
    return false;
}

START_TEST(test_default_corpus_is_the_toolkits_own_text) {
    Corpus c;
    corpus_default(&c);
    ck_assert_int_gt(c.size, 100000);
    ck_assert(strncmp((const char *)c.text, "==> tutorials/01-tensors.md <==\n", 32) == 0);
    ck_assert(contains(c.text, c.size, "==> tensor/matmul.c <=="));
    corpus_free(&c);
}
END_TEST

START_TEST(test_corpus_reads_a_directory_in_name_order_and_reports_errors) {
    char dir[] = "/tmp/hyena-corpus-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char p1[300], p2[300], hidden[300];
    snprintf(p1, sizeof p1, "%s/b.txt", dir);
    snprintf(p2, sizeof p2, "%s/a.txt", dir);
    snprintf(hidden, sizeof hidden, "%s/.hidden", dir);
    FILE *f = fopen(p1, "w");
    fputs("second", f);
    fclose(f);
    f = fopen(p2, "w");
    fputs("first ", f);
    fclose(f);
    f = fopen(hidden, "w");
    fputs("never", f);
    fclose(f);
    Corpus c;
    char err[300];
    ck_assert_msg(corpus_load(&c, dir, err, sizeof err), "%s", err);
    ck_assert_int_eq(c.size, 12);
    ck_assert(memcmp(c.text, "first second", 12) == 0);
    corpus_free(&c);
    ck_assert(!corpus_load(&c, "/nonexistent/corpus.txt", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/corpus.txt"));
    unlink(p1);
    unlink(p2);
    unlink(hidden);
    ck_assert(!corpus_load(&c, dir, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "no regular files"));
    rmdir(dir);
}
END_TEST

START_TEST(test_batches_are_shifted_windows_inside_the_split) {
    int32_t ids[100];
    for (int i = 0; i < 100; i++) ids[i] = i;
    TokenSplit train, val;
    char err[200];
    ck_assert(dataset_split(ids, 100, 0.1, 8, &train, &val, err, sizeof err));
    ck_assert_int_eq(train.n, 90);
    ck_assert_int_eq(val.n, 10);
    ck_assert_int_eq(val.ids[0], 90);
    Rng rng = rng_new(3);
    int32_t in[4 * 8], tg[4 * 8];
    bool seen[90] = {false};
    for (int iter = 0; iter < 500; iter++) {
        batch_random(&train, 4, 8, &rng, in, tg);
        for (int b = 0; b < 4; b++) {
            seen[in[b * 8]] = true;
            for (int t = 0; t < 8; t++) {
                ck_assert_int_eq(tg[b * 8 + t], in[b * 8 + t] + 1);
                ck_assert_int_lt(tg[b * 8 + t], 90);  // never reads validation tokens
                if (t) ck_assert_int_eq(in[b * 8 + t], in[b * 8 + t - 1] + 1);
            }
        }
    }
    // Every window start 0 .. 81 comes up in 2000 draws, the last one (whose target is token 89)
    // included: none is silently left out.
    for (int start = 0; start <= 90 - 8 - 1; start++) ck_assert_msg(seen[start], "start %d never drawn", start);
    ck_assert(!dataset_split(ids, 100, 0.1, 95, &train, &val, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "shorter than one window"));
    ck_assert(!dataset_split(ids, 12, 0.1, 4, &train, &val, err, sizeof err));
}
END_TEST

START_TEST(test_validation_windows_predict_every_token_once) {
    int32_t ids[23];
    for (int i = 0; i < 23; i++) ids[i] = 100 + i;
    TokenSplit val = {ids, 23};
    int T = 5, seen[23] = {0};
    long windows = val_window_count(&val, T);
    ck_assert_int_eq(windows, 5);  // 22 predictions in windows of 5
    int32_t in[5], tg[5];
    for (long w = 0; w < windows; w++) {
        val_window(&val, T, w, in, tg);
        for (int t = 0; t < T; t++)
            if (tg[t] != IGNORE_INDEX) {
                ck_assert_int_eq(tg[t], in[t] + 1);
                seen[tg[t] - 100]++;
            }
    }
    ck_assert_int_eq(seen[0], 0);
    for (int i = 1; i < 23; i++) ck_assert_int_eq(seen[i], 1);
}
END_TEST

// Token p of the huge split below: never 0, so a read of an untouched (zero) page shows.
static int32_t token_at(long p) { return (int32_t)(1 + p % 1000003); }

// A split of 2^33 + 2^16 tokens: 32 GiB of address space, reserved but never backed, so only
// the pages a window touches become memory. The starts a batch uses are the documented draw,
// (64 random bits >> 1) mod (n - T); the test writes tokens there, and at the last validation
// window, past 2^33, and checks that exactly those come back: an index truncated to 32 bits
// reads a zero page instead.
START_TEST(test_batches_and_validation_windows_reach_past_2_to_the_32_tokens) {
    long n = (1L << 33) + (1L << 16);
    size_t bytes = (size_t)n * sizeof(int32_t);
    int32_t *ids = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert_msg(ids != MAP_FAILED, "cannot reserve %zu bytes of address space", bytes);
    TokenSplit all = {ids, n}, train, val;
    char err[200];
    ck_assert(dataset_split(ids, n, 0.5, 64, &train, &val, err, sizeof err));
    ck_assert_int_eq(train.n + val.n, n);
    ck_assert_ptr_eq(val.ids, ids + train.n);

    enum { B = 512, T = 64 };
    Rng rng = rng_new(11), draw = rng;
    long starts[B], highest = 0;
    for (int b = 0; b < B; b++) {
        starts[b] = (long)((rng_next(&draw) >> 1) % (uint64_t)(n - T));
        for (long p = starts[b]; p <= starts[b] + T; p++) ids[p] = token_at(p);
        if (starts[b] > highest) highest = starts[b];
    }
    ck_assert_int_gt(highest, 1L << 32);  // half the draws are past 2^32
    static int32_t in[B * T], tg[B * T];
    batch_random(&all, B, T, &rng, in, tg);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            ck_assert_int_eq(in[b * T + t], token_at(starts[b] + t));
            ck_assert_int_eq(tg[b * T + t], token_at(starts[b] + t + 1));
        }

    long last = val_window_count(&all, T) - 1;
    ck_assert_int_eq(last, (n - 2) / T);
    for (long p = last * T; p < n; p++) ids[p] = token_at(p);
    int32_t win_in[T], win_tg[T];
    val_window(&all, T, last, win_in, win_tg);
    for (int t = 0; t < T; t++) {
        long p = last * T + t;
        ck_assert_int_eq(win_in[t], p < n - 1 ? token_at(p) : 0);
        ck_assert_int_eq(win_tg[t], p < n - 1 ? token_at(p + 1) : IGNORE_INDEX);
    }
    munmap(ids, bytes);
}
END_TEST

// ---------------------------------------------------------------- synthetic tasks

START_TEST(test_associative_recall_examples_have_the_reference_structure) {
    SyntheticSpec spec = {TASK_ASSOC_RECALL, 30, 64, 0};
    ck_assert_ptr_null(synthetic_check(&spec));
    ck_assert_int_eq(synthetic_length(&spec), 67);
    SyntheticSet set;
    synthetic_set_new(&set, &spec, 50, 1);
    int n_keys = (30 - 2) / 2;
    for (int e = 0; e < 50; e++) {
        const int32_t *x = set.tokens + e * set.length;
        int32_t value_of[14];
        for (int k = 0; k < n_keys; k++) value_of[k] = -1;
        for (int p = 0; p < 32; p++) {
            int32_t k = x[2 * p], v = x[2 * p + 1];
            ck_assert(k >= 0 && k < n_keys);                  // keys: first half
            ck_assert(v >= n_keys && v < 28);                  // values: second half
            if (value_of[k] >= 0) ck_assert_int_eq(value_of[k], v);  // one map per example
            value_of[k] = v;
        }
        ck_assert_int_eq(x[64], 28);                           // =>
        ck_assert_int_ge(value_of[x[65]], 0);                  // the query key occurred
        ck_assert_int_eq(x[66], value_of[x[65]]);              // and the answer is its value
    }
    int32_t in[2 * 66], tg[2 * 66];
    synthetic_batch(&set, NULL, 2, true, in, tg);
    for (int t = 0; t < 65; t++) ck_assert_int_eq(tg[t], IGNORE_INDEX);
    ck_assert_int_eq(tg[65], set.tokens[66]);                  // only the final value is scored
    synthetic_batch(&set, NULL, 2, false, in, tg);
    ck_assert_int_eq(tg[0], set.tokens[1]);                    // training scores every next token
    synthetic_set_free(&set);
}
END_TEST

START_TEST(test_induction_examples_copy_the_token_after_the_prefix) {
    SyntheticSpec spec = {TASK_INDUCTION, 20, 40, 0};
    SyntheticSet set;
    synthetic_set_new(&set, &spec, 50, 2);
    ck_assert_int_eq(set.length, 42);
    for (int e = 0; e < 50; e++) {
        const int32_t *x = set.tokens + e * set.length;
        int first = -1, prefixes = 0;
        for (int i = 0; i < 42; i++) {
            ck_assert(x[i] >= 0 && x[i] <= 18);  // ordinary tokens and =>, never the no-op
            if (x[i] == 18) {
                prefixes++;
                if (first < 0) first = i;
            }
        }
        ck_assert_int_eq(prefixes, 2);
        ck_assert_int_eq(x[40], 18);
        ck_assert_int_eq(x[41], x[first + 1]);
    }
    SyntheticSpec bad = {TASK_ASSOC_RECALL, 4, 10, 0};
    ck_assert_ptr_nonnull(synthetic_check(&bad));
    synthetic_set_free(&set);
}
END_TEST

// MQAR as Zoology's multiquery_ar builds it: N distinct keys (1 .. V/2-1) each followed by its
// distinct value (V/2 .. V-1), then every key once more at an even offset of the query region,
// and the value as that position's target; nothing else is scored, in training or at test.
START_TEST(test_mqar_examples_have_zoologys_structure) {
    SyntheticSpec spec = {TASK_MQAR, 64, 64, 6};
    ck_assert_ptr_null(synthetic_check(&spec));
    SyntheticSet set;
    synthetic_set_new(&set, &spec, 200, 3);
    ck_assert_int_eq(set.length, 65);
    long near = 0, queries = 0;
    for (int e = 0; e < 200; e++) {
        const int32_t *x = set.tokens + e * set.length, *tg = set.targets + e * 64;
        int32_t value_of[32] = {0};
        for (int j = 0; j < 6; j++) {
            ck_assert(x[2 * j] >= 1 && x[2 * j] < 32);            // keys: 1 .. V/2-1
            ck_assert(x[2 * j + 1] >= 32 && x[2 * j + 1] < 64);   // values: V/2 .. V-1
            ck_assert_int_eq(value_of[x[2 * j]], 0);              // each key once
            for (int i = 0; i < j; i++) ck_assert_int_ne(x[2 * i + 1], x[2 * j + 1]);  // distinct values
            value_of[x[2 * j]] = x[2 * j + 1];
            ck_assert_int_eq(tg[2 * j], IGNORE_INDEX);
            ck_assert_int_eq(tg[2 * j + 1], IGNORE_INDEX);
        }
        int scored = 0;
        for (int t = 12; t < 64; t++) {
            if (tg[t] == IGNORE_INDEX) continue;
            ck_assert_int_eq(t % 2, 0);                           // queries at even offsets
            ck_assert_int_ne(value_of[x[t]], 0);                  // a key of this example
            ck_assert_int_eq(tg[t], value_of[x[t]]);              // whose value is the target
            value_of[x[t]] = -value_of[x[t]];                     // queried once only
            scored++;
            near += t < 12 + 2 * 13;                              // in the first half of the region
            queries++;
        }
        ck_assert_int_eq(scored, 6);
    }
    // The power law (a = 0.01) puts most queries early: far more than half in the first half.
    ck_assert_msg(near > queries * 7 / 10, "%ld of %ld queries in the first half", near, queries);
    int32_t in[64], tg[64];
    synthetic_batch(&set, NULL, 1, true, in, tg);
    ck_assert_mem_eq(tg, set.targets, sizeof tg);                 // the test scores every query
    SyntheticSpec too_many = {TASK_MQAR, 64, 20, 6}, odd = {TASK_MQAR, 64, 63, 4}, small_vocab = {TASK_MQAR, 10, 64, 6};
    ck_assert_ptr_nonnull(synthetic_check(&too_many));
    ck_assert_ptr_nonnull(synthetic_check(&odd));
    ck_assert_ptr_nonnull(synthetic_check(&small_vocab));
    synthetic_set_free(&set);
}
END_TEST

Suite *data_suite(void) {
    Suite *s = suite_create("data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 300);  // generous: ThreadSanitizer runs these 10x slower
    tcase_add_test(tc, test_fast_bpe_learns_the_same_merges_as_the_naive_trainer);
    tcase_add_test(tc, test_mqar_examples_have_zoologys_structure);
    tcase_add_test(tc, test_fast_bpe_merges_runs_in_one_long_word_like_the_naive_trainer);
    tcase_add_test(tc, test_bpe_long_chunks_encode_like_the_naive_rounds);
    tcase_add_test(tc, test_bpe_cuts_chunks_longer_than_the_maximum_into_pieces);
    tcase_add_test(tc, test_bpe_round_trips_any_bytes);
    tcase_add_test(tc, test_bpe_encoding_applies_the_merges_in_the_order_learned);
    tcase_add_test(tc, test_bpe_special_tokens_are_single_ids);
    tcase_add_test(tc, test_bpe_overlapping_special_tokens_take_the_longest_match);
    tcase_add_test(tc, test_bpe_trains_on_many_distinct_chunks_after_a_special_token);
    tcase_add_test(tc, test_bpe_chunks_split_words_digits_and_spaces_like_gpt2);
    tcase_add_test(tc, test_bpe_pre_split_is_gpt2s_regex);
    tcase_add_test(tc, test_utf8_decoding_takes_valid_sequences_and_single_bad_bytes);
    tcase_add_test(tc, test_bpe_save_then_load_gives_the_same_tokenizer);
    tcase_add_test(tc, test_bpe_loader_rejects_every_malformed_line);
    tcase_add_test(tc, test_bpe_loader_refuses_tokens_longer_than_the_limit);
    tcase_add_test(tc, test_bpe_training_stops_at_the_longest_token_and_saves_a_loadable_file);
    tcase_add_test(tc, test_bpe_loader_survives_random_corruption);
    tcase_add_test(tc, test_char_tokenizer_round_trips_and_names_unseen_characters);
    tcase_add_test(tc, test_char_tokenizer_round_trips_random_bytes);
    tcase_add_test(tc, test_default_corpus_is_the_toolkits_own_text);
    tcase_add_test(tc, test_corpus_reads_a_directory_in_name_order_and_reports_errors);
    tcase_add_test(tc, test_batches_are_shifted_windows_inside_the_split);
    tcase_add_test(tc, test_validation_windows_predict_every_token_once);
    tcase_add_test(tc, test_batches_and_validation_windows_reach_past_2_to_the_32_tokens);
    tcase_add_test(tc, test_associative_recall_examples_have_the_reference_structure);
    tcase_add_test(tc, test_induction_examples_copy_the_token_after_the_prefix);
    suite_add_tcase(s, tc);
    return s;
}
