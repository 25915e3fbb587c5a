// bpe.c - training with incremental pair counts, encoding by merge rank, and the file format.
//
// Training, the fast way. The text is cut into chunks and identical chunks are counted once:
// Shakespeare's 1.1 MB is 297 833 chunks but only 15 057 distinct ones. Each distinct chunk is a "word": a
// token sequence and a frequency. We keep
//   - the count of every adjacent pair, weighted by word frequency,
//   - for every pair, the list of words it occurs in,
//   - a max-heap of (count, pair) with lazy deletion: an entry whose count is stale is skipped.
// A merge only rewrites the words in its pair's list, and in each only the pairs that touch a
// merge site change: (x, a)(a, b)(b, y) becomes (x, ab)(ab, y). Recounting everything per merge
// would redo all the work thousands of times, and recounting whole words would make one long
// word (text trained without the pre-split) cost its length at every merge.
// So a merge changes few counts, and the heap gets an entry only for a count that changed: every
// old pair a merge decrements, (x, a) or (b, y), has its new partner (x, ab) or (ab, y), so the
// entries stay within about twice the pairs ever seen plus one per merge.
// Ties go to the smaller pair (a, then b), so results are deterministic (and testable against a
// naive trainer that recounts everything, tests/test_data.c).
#include "bpe.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../train/fileio.h"
#include "unicode.h"

static bool fail(char *err, size_t es, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, es, fmt, ap);
    va_end(ap);
    return false;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "hyena: out of memory (%zu bytes for the tokenizer)\n", n);
        exit(1);
    }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        fprintf(stderr, "hyena: out of memory (%zu bytes for the tokenizer)\n", n);
        exit(1);
    }
    return p;
}

static uint64_t hash_bytes(const unsigned char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t)(uint32_t)a << 32 | (uint32_t)b; }

// ---------------------------------------------------------------- chunking

// One character of the text: its class and its length in bytes.
typedef struct Char {
    UnicodeClass cls;
    int len;
} Char;

static Char char_at(const unsigned char *t, size_t n) {
    if (t[0] < 0x80) return (Char){(UnicodeClass)unicode_ascii_class[t[0]], 1};  // the common case, fast
    uint32_t cp;
    int len = utf8_decode(t, n, &cp);
    return (Char){unicode_class(cp), len};
}

// GPT-2's pre-split: where its pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// ends the match that starts at t[0], alternatives tried in that order: an English contraction;
// or an optional space and a run of letters, of numbers or of other characters; or a run of
// whitespace, less its last character when something else follows, so that a word keeps the
// space before it ("a   b" is "a", "  ", " b"; "a\n\nb" is "a", "\n", "\n", "b"). Letters,
// numbers and whitespace are Unicode's (data/unicode.h); bytes that are not UTF-8 count as other.
size_t bpe_chunk_length(const unsigned char *t, size_t n) {
    if (n == 0) return 0;
    if (t[0] == '\'') {
        static const char *const contractions[] = {"s", "t", "re", "ve", "m", "ll", "d"};
        for (int c = 0; c < 7; c++) {
            size_t len = strlen(contractions[c]);
            if (n > len && memcmp(t + 1, contractions[c], len) == 0) return 1 + len;
        }
    }
    size_t start = t[0] == ' ' && n > 1 ? 1 : 0;  // the optional space, if a run follows it
    Char first = char_at(t + start, n - start);
    if (first.cls != UNICODE_SPACE) {
        size_t end = start + (size_t)first.len;
        while (end < n) {
            Char c = char_at(t + end, n - end);
            if (c.cls != first.cls) break;
            end += (size_t)c.len;
        }
        return end;
    }
    size_t end = 0, last = 0;  // the run of whitespace from t[0], and where its last character starts
    while (end < n) {
        Char c = char_at(t + end, n - end);
        if (c.cls != UNICODE_SPACE) break;
        last = end;
        end += (size_t)c.len;
    }
    return end < n && last > 0 ? last : end;
}

// ---------------------------------------------------------------- a hash map: u64 -> int

typedef struct U64Map {
    uint64_t *keys;
    int *values;
    unsigned char *used;
    size_t cap, count;
} U64Map;

static void u64map_init(U64Map *m, size_t cap) {
    m->cap = 16;
    while (m->cap < cap * 2) m->cap *= 2;
    m->keys = xmalloc(m->cap * sizeof(uint64_t));
    m->values = xmalloc(m->cap * sizeof(int));
    m->used = calloc(m->cap, 1);
    m->count = 0;
}

static void u64map_free(U64Map *m) {
    free(m->keys);
    free(m->values);
    free(m->used);
}

static int *u64map_slot(U64Map *m, uint64_t key, bool insert);

static void u64map_grow(U64Map *m) {
    U64Map bigger;
    u64map_init(&bigger, m->cap);
    for (size_t i = 0; i < m->cap; i++)
        if (m->used[i]) *u64map_slot(&bigger, m->keys[i], true) = m->values[i];
    u64map_free(m);
    *m = bigger;
}

// The value slot for key (inserted with value -1 when insert is set), or NULL.
static int *u64map_slot(U64Map *m, uint64_t key, bool insert) {
    if (insert && (m->count + 1) * 2 > m->cap) u64map_grow(m);
    size_t i = hash_u64(key) & (m->cap - 1);
    while (m->used[i]) {
        if (m->keys[i] == key) return &m->values[i];
        i = (i + 1) & (m->cap - 1);
    }
    if (!insert) return NULL;
    m->used[i] = 1;
    m->keys[i] = key;
    m->values[i] = -1;
    m->count++;
    return &m->values[i];
}

// ---------------------------------------------------------------- training

typedef struct Word {
    int32_t *ids;
    int len;
    long freq;
} Word;

typedef struct PairInfo {
    int32_t a, b;
    long count;
    int touched_in;   // the last merge that changed this count (to list each pair once)
    int *words;       // words this pair has occurred in (may hold stale entries and duplicates)
    int n_words, cap_words;
    int last_word;    // the last word appended, to skip immediate duplicates
    long heap_count;  // the count of this pair's newest heap entry (0: none)
    bool too_long;    // merging it would make a token over BPE_MAX_TOKEN_BYTES: never chosen
} PairInfo;

typedef struct HeapItem {
    long count;
    int pair;
} HeapItem;

typedef struct Trainer {
    Word *words;
    int n_words, cap_words;   // words persist across the segments between special tokens
    U64Map pair_index;  // pair key -> index into pairs
    PairInfo *pairs;
    int n_pairs, cap_pairs;
    HeapItem *heap;
    long heap_n, heap_cap;
    int *touched;     // pairs whose count changed during the current merge
    int n_touched, cap_touched, merge_no;
    unsigned char *at_site;  // scratch for merge_word: which positions a merge rewrites
    int cap_site;
} Trainer;

static bool heap_above(const Trainer *tr, HeapItem x, HeapItem y) {
    if (x.count != y.count) return x.count > y.count;
    const PairInfo *p = &tr->pairs[x.pair], *q = &tr->pairs[y.pair];
    return p->a != q->a ? p->a < q->a : p->b < q->b;  // ties: the smaller pair first
}

static void heap_push(Trainer *tr, long count, int pair) {
    if (tr->heap_n == tr->heap_cap) {
        tr->heap_cap = tr->heap_cap ? 2 * tr->heap_cap : 1024;
        tr->heap = xrealloc(tr->heap, (size_t)tr->heap_cap * sizeof(HeapItem));
    }
    long i = tr->heap_n++;
    tr->heap[i] = (HeapItem){count, pair};
    while (i > 0 && heap_above(tr, tr->heap[i], tr->heap[(i - 1) / 2])) {
        HeapItem t = tr->heap[i];
        tr->heap[i] = tr->heap[(i - 1) / 2];
        tr->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static HeapItem heap_pop(Trainer *tr) {
    HeapItem top = tr->heap[0];
    tr->heap[0] = tr->heap[--tr->heap_n];
    long i = 0;
    for (;;) {
        long l = 2 * i + 1, r = l + 1, best = i;
        if (l < tr->heap_n && heap_above(tr, tr->heap[l], tr->heap[best])) best = l;
        if (r < tr->heap_n && heap_above(tr, tr->heap[r], tr->heap[best])) best = r;
        if (best == i) break;
        HeapItem t = tr->heap[i];
        tr->heap[i] = tr->heap[best];
        tr->heap[best] = t;
        i = best;
    }
    return top;
}

static int pair_get(Trainer *tr, int32_t a, int32_t b) {
    int *slot = u64map_slot(&tr->pair_index, pair_key(a, b), true);
    if (*slot < 0) {
        if (tr->n_pairs == tr->cap_pairs) {
            tr->cap_pairs = tr->cap_pairs ? 2 * tr->cap_pairs : 4096;
            tr->pairs = xrealloc(tr->pairs, (size_t)tr->cap_pairs * sizeof(PairInfo));
        }
        tr->pairs[tr->n_pairs] = (PairInfo){a, b, 0, -1, NULL, 0, 0, -1, 0, false};
        *slot = tr->n_pairs++;
    }
    return *slot;
}

// Add sign * (word w's frequency) to the count of pair (x, y), remember that it changed, and when
// adding, list w under the pair. The heap is updated once per merge, after every count has its
// final value (update_heap): an entry pushed mid-merge could be stale before the merge ends, and a
// pair with no entry at its true count would never be chosen.
static void count_pair(Trainer *tr, int w, int32_t x, int32_t y, int sign) {
    int p = pair_get(tr, x, y);
    PairInfo *info = &tr->pairs[p];
    info->count += sign * tr->words[w].freq;
    if (info->touched_in != tr->merge_no) {
        info->touched_in = tr->merge_no;
        if (tr->n_touched == tr->cap_touched) {
            tr->cap_touched = tr->cap_touched ? 2 * tr->cap_touched : 1024;
            tr->touched = xrealloc(tr->touched, (size_t)tr->cap_touched * sizeof(int));
        }
        tr->touched[tr->n_touched++] = p;
    }
    if (sign > 0 && info->last_word != w) {
        if (info->n_words == info->cap_words) {
            info->cap_words = info->cap_words ? 2 * info->cap_words : 4;
            info->words = xrealloc(info->words, (size_t)info->cap_words * sizeof(int));
        }
        info->words[info->n_words++] = w;
        info->last_word = w;
    }
}

static void count_word_pairs(Trainer *tr, int w) {
    const Word *word = &tr->words[w];
    for (int i = 0; i + 1 < word->len; i++) count_pair(tr, w, word->ids[i], word->ids[i + 1], +1);
}

// One heap entry per pair whose count changed to a value it has no entry for; older entries
// become stale.
static void update_heap(Trainer *tr) {
    for (int i = 0; i < tr->n_touched; i++) {
        PairInfo *info = &tr->pairs[tr->touched[i]];
        if (info->count > 0 && info->count != info->heap_count && !info->too_long) {
            heap_push(tr, info->count, tr->touched[i]);
            info->heap_count = info->count;
        }
    }
    tr->n_touched = 0;
    tr->merge_no++;
}

// The chunk that starts at text[0]: GPT-2's pre-split or the whole text, cut at BPE_MAX_CHUNK.
static size_t next_chunk(const unsigned char *text, size_t size, bool split) {
    size_t len = split ? bpe_chunk_length(text, size) : size;
    return len < BPE_MAX_CHUNK ? len : BPE_MAX_CHUNK;
}

// Distinct chunks of text (outside special tokens) with their frequencies.
static void collect_words(Trainer *tr, const unsigned char *text, size_t size, bool split) {
    U64Map chunk_index;  // hash of chunk bytes -> word (collisions resolved by comparing bytes)
    u64map_init(&chunk_index, size < (1 << 16) ? size + 1 : 1 << 16);  // never more chunks than bytes
    size_t pos = 0;
    while (pos < size) {
        size_t len = next_chunk(text + pos, size - pos, split);
        uint64_t h = hash_bytes(text + pos, len);
        int w = -1;
        for (uint64_t probe = h;; probe++) {  // chain through equal hashes until a byte match
            int *slot = u64map_slot(&chunk_index, probe, false);
            if (slot == NULL) {
                slot = u64map_slot(&chunk_index, probe, true);
                // The capacity lives in the trainer, not here: this runs once per segment between
                // special tokens, and words from earlier segments are still in the array.
                if (tr->n_words == tr->cap_words) {
                    tr->cap_words = tr->cap_words ? 2 * tr->cap_words : 4096;
                    tr->words = xrealloc(tr->words, (size_t)tr->cap_words * sizeof(Word));
                }
                Word *word = &tr->words[tr->n_words];
                word->ids = xmalloc(len * sizeof(int32_t));
                for (size_t i = 0; i < len; i++) word->ids[i] = text[pos + i];
                word->len = (int)len;
                word->freq = 0;
                *slot = w = tr->n_words++;
                break;
            }
            Word *word = &tr->words[*slot];
            bool same = (size_t)word->len == len;
            for (size_t i = 0; same && i < len; i++) same = word->ids[i] == text[pos + i];
            if (same) {
                w = *slot;
                break;
            }
        }
        tr->words[w].freq++;
        pos += len;
    }
    u64map_free(&chunk_index);
}

// Replace every non-overlapping (a, b) in word w, left to right, by id, and update the counts of
// the pairs that touch a merge site: the old ones go, the new ones come. Pairs away from every
// site are the same before and after. A word that no longer holds (a, b) is left alone: its entry
// in the pair's list is stale, left by an earlier merge.
static void merge_word(Trainer *tr, int w, int32_t a, int32_t b, int32_t id) {
    Word *word = &tr->words[w];
    int n = word->len;
    if (n > tr->cap_site) {
        tr->cap_site = n;
        tr->at_site = xrealloc(tr->at_site, (size_t)n);
    }
    unsigned char *at_site = tr->at_site;
    memset(at_site, 0, (size_t)n);
    bool found = false;
    for (int i = 0; i + 1 < n;) {
        if (word->ids[i] == a && word->ids[i + 1] == b) {
            at_site[i] = at_site[i + 1] = 1;
            found = true;
            i += 2;
        } else {
            i++;
        }
    }
    if (!found) return;
    for (int i = 0; i + 1 < n; i++)
        if (at_site[i] || at_site[i + 1]) count_pair(tr, w, word->ids[i], word->ids[i + 1], -1);
    int out = 0;
    for (int i = 0; i < n;) {
        if (at_site[i]) {  // sites come as whole pairs, left to right
            word->ids[out++] = id;
            i += 2;
        } else {
            word->ids[out++] = word->ids[i++];
        }
    }
    word->len = out;
    // id is a new token, so a pair touches a merge site exactly when it holds id.
    for (int i = 0; i + 1 < out; i++)
        if (word->ids[i] == id || word->ids[i + 1] == id) count_pair(tr, w, word->ids[i], word->ids[i + 1], +1);
}

// The special token that starts at text[at], if any: the longest one, when one is a prefix of
// another ("<|end|>" and "<|end|><|pad|>"). Returns its index, or -1.
static int special_at(const unsigned char *text, size_t size, size_t at, const char *const *specials, int n_specials) {
    int best = -1;
    size_t best_len = 0;
    for (int s = 0; s < n_specials; s++) {
        if (text[at] != (unsigned char)specials[s][0]) continue;  // the usual case, decided cheaply
        size_t len = strlen(specials[s]);
        if (len > best_len && at + len <= size && memcmp(text + at, specials[s], len) == 0) {
            best = s;
            best_len = len;
        }
    }
    return best;
}

// Split text around special tokens and collect words from the pieces in between.
static void collect_words_outside_specials(Trainer *tr, const unsigned char *text, size_t size, bool split,
                                           const char *const *specials, int n_specials) {
    size_t start = 0, i = 0;
    while (i < size) {
        int hit = special_at(text, size, i, specials, n_specials);
        if (hit < 0) {
            i++;
            continue;
        }
        collect_words(tr, text + start, i - start, split);
        i += strlen(specials[hit]);
        start = i;
    }
    collect_words(tr, text + start, size - start, split);
}

static void bpe_build_tables(Bpe *bpe);

bool bpe_train(Bpe *bpe, const unsigned char *text, size_t size, int vocab_size, bool split,
               const char *const *specials, int n_specials, BpeProgress progress, void *ctx, char *err, size_t es) {
    memset(bpe, 0, sizeof *bpe);
    if (n_specials > BPE_MAX_SPECIALS) return fail(err, es, "at most %d special tokens", BPE_MAX_SPECIALS);
    for (int s = 0; s < n_specials; s++) {
        size_t len = strlen(specials[s]);
        if (len == 0 || len >= BPE_MAX_SPECIAL_LEN) return fail(err, es, "special token '%s' must be 1 to %d bytes", specials[s], BPE_MAX_SPECIAL_LEN - 1);
        for (size_t k = 0; k < len; k++)
            if (isspace((unsigned char)specials[s][k]) || specials[s][k] == '#')
                return fail(err, es, "special token '%s' contains whitespace or '#'", specials[s]);
        for (int t = 0; t < s; t++)
            if (strcmp(specials[s], specials[t]) == 0) return fail(err, es, "special token '%s' is listed twice", specials[s]);
        snprintf(bpe->specials[s], BPE_MAX_SPECIAL_LEN, "%s", specials[s]);
    }
    bpe->n_specials = n_specials;
    bpe->split = split;
    int target = vocab_size - 256 - n_specials;
    if (target < 0) return fail(err, es, "vocabulary size %d is below 256 bytes + %d special tokens", vocab_size, n_specials);
    bpe->merges = xmalloc((size_t)(target > 0 ? target : 1) * sizeof(BpeMerge));

    int *token_len = xmalloc((256 + (size_t)target) * sizeof(int));
    for (int i = 0; i < 256; i++) token_len[i] = 1;
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    u64map_init(&tr.pair_index, size < (1 << 16) ? size + 1 : 1 << 16);  // nor more pairs (it grows)
    collect_words_outside_specials(&tr, text, size, split, specials, n_specials);
    for (int w = 0; w < tr.n_words; w++) count_word_pairs(&tr, w);
    update_heap(&tr);

    while (bpe->n_merges < target && tr.heap_n > 0) {
        HeapItem top = heap_pop(&tr);
        PairInfo *best = &tr.pairs[top.pair];
        if (top.count == best->heap_count) best->heap_count = 0;  // its newest entry is gone
        if (top.count != best->count) continue;  // a stale entry: the pair's count changed since
        if (best->count < 2) break;              // nothing left worth merging
        int32_t a = best->a, b = best->b, id = 256 + bpe->n_merges;
        if (token_len[a] + token_len[b] > BPE_MAX_TOKEN_BYTES) {
            best->too_long = true;
            continue;
        }
        token_len[id] = token_len[a] + token_len[b];
        bpe->merges[bpe->n_merges++] = (BpeMerge){a, b};
        // Take the pair's word list: merging rewrites those words, and new lists may grow.
        int *words = best->words, n_words = best->n_words;
        best->words = NULL;
        best->n_words = best->cap_words = 0;
        best->last_word = -1;
        for (int k = 0; k < n_words; k++) {
            int w = words[k];
            if (k > 0 && words[k - 1] == w) continue;
            merge_word(&tr, w, a, b, id);
        }
        free(words);
        update_heap(&tr);
        if (progress && (bpe->n_merges % 256 == 0 || bpe->n_merges == target)) progress(bpe->n_merges, target, ctx);
    }

    for (int w = 0; w < tr.n_words; w++) free(tr.words[w].ids);
    for (int p = 0; p < tr.n_pairs; p++) free(tr.pairs[p].words);
    free(tr.words);
    free(tr.pairs);
    free(tr.heap);
    free(tr.touched);
    free(tr.at_site);
    free(token_len);
    u64map_free(&tr.pair_index);
    bpe_build_tables(bpe);
    return true;
}

// ---------------------------------------------------------------- tables, encoding, decoding

typedef struct BpeRanks {
    U64Map map;  // pair -> merge rank
} BpeRanks;

typedef struct CacheEntry {
    unsigned char *bytes;
    int len;
    int32_t *ids;
    int n_ids;
} CacheEntry;

typedef struct BpeCache {
    U64Map map;  // hash of chunk -> entry index (collisions chained by probing successive keys)
    CacheEntry *entries;
    int n, cap;
} BpeCache;

int bpe_vocab_size(const Bpe *bpe) { return 256 + bpe->n_merges + bpe->n_specials; }

static void bpe_build_tables(Bpe *bpe) {
    int V = bpe_vocab_size(bpe);
    bpe->token_len = xmalloc((size_t)V * sizeof(int));
    for (int i = 0; i < 256; i++) bpe->token_len[i] = 1;
    bpe->ranks = xmalloc(sizeof(BpeRanks));
    u64map_init(&bpe->ranks->map, (size_t)bpe->n_merges + 1);
    for (int m = 0; m < bpe->n_merges; m++) {
        int id = 256 + m, a = bpe->merges[m].a, b = bpe->merges[m].b;
        bpe->token_len[id] = bpe->token_len[a] + bpe->token_len[b];  // at most BPE_MAX_TOKEN_BYTES
        *u64map_slot(&bpe->ranks->map, pair_key(a, b), true) = m;
    }
    for (int s = 0; s < bpe->n_specials; s++) bpe->token_len[256 + bpe->n_merges + s] = (int)strlen(bpe->specials[s]);
    bpe->cache = calloc(1, sizeof(BpeCache));
    u64map_init(&bpe->cache->map, 1 << 12);
}

void bpe_free(Bpe *bpe) {
    free(bpe->token_len);
    if (bpe->ranks) u64map_free(&bpe->ranks->map);
    free(bpe->ranks);
    if (bpe->cache) {
        for (int i = 0; i < bpe->cache->n; i++) {
            free(bpe->cache->entries[i].bytes);
            free(bpe->cache->entries[i].ids);
        }
        free(bpe->cache->entries);
        u64map_free(&bpe->cache->map);
        free(bpe->cache);
    }
    free(bpe->merges);
    memset(bpe, 0, sizeof *bpe);
}

// Encode one chunk: start from its bytes, and repeatedly apply the lowest-ranked merge present
// (the order training learned them in), at every place it occurs, left to right. ids must hold
// len entries; returns the count. Each round rescans the chunk, so a chunk costs its length times
// the merges it goes through: right for GPT-2-sized chunks, slow for one long unsplit text.
int bpe_encode_chunk_naive(const Bpe *bpe, const unsigned char *s, int len, int32_t *ids) {
    for (int i = 0; i < len; i++) ids[i] = s[i];
    int n = len;
    while (n >= 2) {
        int best_rank = -1, best_at = -1;
        for (int i = 0; i + 1 < n; i++) {
            int *r = u64map_slot(&bpe->ranks->map, pair_key(ids[i], ids[i + 1]), false);
            if (r && (best_rank < 0 || *r < best_rank)) {
                best_rank = *r;
                best_at = i;
            }
        }
        if (best_rank < 0) break;
        int32_t a = ids[best_at], b = ids[best_at + 1], id = 256 + best_rank, out = best_at;
        for (int i = best_at; i < n;) {
            if (i + 1 < n && ids[i] == a && ids[i + 1] == b) {
                ids[out++] = id;
                i += 2;
            } else {
                ids[out++] = ids[i++];
            }
        }
        n = out;
    }
    return n;
}

// The same encoding in O(len log len): the tokens form a linked list, and every adjacent pair with
// a rank waits in a min-heap keyed by (rank, position). Popping the smallest key merges the
// lowest-ranked pair present, leftmost first, as the naive rounds do: a merge only creates pairs
// holding the new token, whose ranks are higher (a merge can only use tokens learned before it).
// An entry is stale when its position was merged away or its pair changed; it is skipped.
static uint64_t rank_key(int rank, int at) { return (uint64_t)(uint32_t)rank << 32 | (uint32_t)at; }

static void key_push(uint64_t *heap, int *n, uint64_t key) {
    int i = (*n)++;
    heap[i] = key;
    while (i > 0 && heap[i] < heap[(i - 1) / 2]) {
        uint64_t t = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static uint64_t key_pop(uint64_t *heap, int *n) {
    uint64_t top = heap[0];
    heap[0] = heap[--*n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, best = i;
        if (l < *n && heap[l] < heap[best]) best = l;
        if (r < *n && heap[r] < heap[best]) best = r;
        if (best == i) break;
        uint64_t t = heap[i];
        heap[i] = heap[best];
        heap[best] = t;
        i = best;
    }
    return top;
}

// The rank of the pair starting at token i (-1: none, or i is the last token).
static int pair_rank(const Bpe *bpe, const int32_t *tok, const int *next, int len, int i) {
    if (next[i] >= len) return -1;
    int *r = u64map_slot(&bpe->ranks->map, pair_key(tok[i], tok[next[i]]), false);
    return r ? *r : -1;
}

int bpe_encode_chunk(const Bpe *bpe, const unsigned char *s, int len, int32_t *ids) {
    if (len <= BPE_SHORT_CHUNK) return bpe_encode_chunk_naive(bpe, s, len, ids);
    int32_t *tok = xmalloc((size_t)len * sizeof(int32_t));  // -1: merged into the token before it
    int *next = xmalloc((size_t)len * sizeof(int)), *prev = xmalloc((size_t)len * sizeof(int));
    uint64_t *heap = xmalloc(3 * (size_t)len * sizeof(uint64_t));  // len - 1 pairs, then 2 per merge
    int heap_n = 0;
    for (int i = 0; i < len; i++) {
        tok[i] = s[i];
        next[i] = i + 1;
        prev[i] = i - 1;
    }
    for (int i = 0; i + 1 < len; i++) {
        int r = pair_rank(bpe, tok, next, len, i);
        if (r >= 0) key_push(heap, &heap_n, rank_key(r, i));
    }
    while (heap_n > 0) {
        uint64_t key = key_pop(heap, &heap_n);
        int rank = (int)(key >> 32), i = (int)(uint32_t)key;
        if (tok[i] < 0 || pair_rank(bpe, tok, next, len, i) != rank) continue;  // stale
        int j = next[i];
        tok[i] = 256 + rank;
        tok[j] = -1;
        next[i] = next[j];
        if (next[j] < len) prev[next[j]] = i;
        int r = pair_rank(bpe, tok, next, len, i);
        if (r >= 0) key_push(heap, &heap_n, rank_key(r, i));
        if (prev[i] >= 0 && (r = pair_rank(bpe, tok, next, len, prev[i])) >= 0)
            key_push(heap, &heap_n, rank_key(r, prev[i]));
    }
    int n = 0;
    for (int i = 0; i < len; i = next[i]) ids[n++] = tok[i];
    free(tok);
    free(next);
    free(prev);
    free(heap);
    return n;
}

// The ids of a chunk, from the cache or freshly encoded (and then cached).
static const CacheEntry *chunk_ids(Bpe *bpe, const unsigned char *s, int len) {
    BpeCache *c = bpe->cache;
    for (uint64_t probe = hash_bytes(s, (size_t)len);; probe++) {
        int *slot = u64map_slot(&c->map, probe, false);
        if (slot == NULL) {
            if (c->n == c->cap) {
                c->cap = c->cap ? 2 * c->cap : 1024;
                c->entries = xrealloc(c->entries, (size_t)c->cap * sizeof(CacheEntry));
            }
            CacheEntry *e = &c->entries[c->n];
            e->bytes = xmalloc((size_t)len);
            memcpy(e->bytes, s, (size_t)len);
            e->len = len;
            e->ids = xmalloc((size_t)len * sizeof(int32_t));
            e->n_ids = bpe_encode_chunk(bpe, s, len, e->ids);
            *u64map_slot(&c->map, probe, true) = c->n;
            return &c->entries[c->n++];
        }
        const CacheEntry *e = &c->entries[*slot];
        if (e->len == len && memcmp(e->bytes, s, (size_t)len) == 0) return e;
    }
}

// Where the next special token starts at or after `from` (size when there is none); which one in
// *which (the longest of those starting there).
static size_t next_special(const Bpe *bpe, const unsigned char *text, size_t size, size_t from, int *which) {
    const char *specials[BPE_MAX_SPECIALS];
    for (int s = 0; s < bpe->n_specials; s++) specials[s] = bpe->specials[s];
    for (size_t k = from; bpe->n_specials > 0 && k < size; k++)
        if ((*which = special_at(text, size, k, specials, bpe->n_specials)) >= 0) return k;
    *which = -1;
    return size;
}

long bpe_encode(Bpe *bpe, const unsigned char *text, size_t size, int32_t **ids_out) {
    int32_t *ids = xmalloc((size + 1) * sizeof(int32_t));  // never more tokens than bytes
    long n = 0;
    size_t pos = 0;
    // Found once per special rather than once per chunk: a scan per chunk made encoding quadratic.
    int special;
    size_t special_at = next_special(bpe, text, size, 0, &special);
    while (pos < size) {
        if (pos == special_at) {
            ids[n++] = 256 + bpe->n_merges + special;
            pos += strlen(bpe->specials[special]);
            special_at = next_special(bpe, text, size, pos, &special);
            continue;
        }
        // The next chunk ends at the chunk boundary or at the next special token.
        size_t len = next_chunk(text + pos, special_at - pos, bpe->split);
        // Unsplit text comes in long chunks: encode them directly rather than cache them.
        if (!bpe->split) {
            n += bpe_encode_chunk(bpe, text + pos, (int)len, ids + n);
        } else {
            const CacheEntry *e = chunk_ids(bpe, text + pos, (int)len);
            memcpy(ids + n, e->ids, (size_t)e->n_ids * sizeof(int32_t));
            n += e->n_ids;
        }
        pos += len;
    }
    *ids_out = ids;
    return n;
}

int bpe_token_bytes(const Bpe *bpe, int32_t id, unsigned char *out) {
    if (id >= 256 + bpe->n_merges) {
        const char *special = bpe->specials[id - 256 - bpe->n_merges];
        memcpy(out, special, strlen(special));
        return (int)strlen(special);
    }
    // Depth first, left before right. A token of n bytes has n leaves, and the stack never holds
    // more than the leaves still to come.
    int32_t stack[BPE_MAX_TOKEN_BYTES];
    int top = 0, n = 0;
    stack[top++] = id;
    while (top > 0) {
        int32_t t = stack[--top];
        if (t < 256) {
            out[n++] = (unsigned char)t;
        } else {
            stack[top++] = bpe->merges[t - 256].b;
            stack[top++] = bpe->merges[t - 256].a;
        }
    }
    return n;
}

bool bpe_decode(const Bpe *bpe, const int32_t *ids, long n, unsigned char **text, size_t *size, char *err, size_t es) {
    int V = bpe_vocab_size(bpe);
    size_t total = 0;
    for (long i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= V) return fail(err, es, "token id %d at position %ld is outside the vocabulary [0, %d)", ids[i], i, V);
        total += (size_t)bpe->token_len[ids[i]];
    }
    unsigned char *out = xmalloc(total + 1);
    size_t at = 0;
    for (long i = 0; i < n; i++) at += (size_t)bpe_token_bytes(bpe, ids[i], out + at);
    out[at] = '\0';
    *text = out;
    *size = at;
    return true;
}

// ---------------------------------------------------------------- the file format

// A merge line's comment spells the new token for people reading the file, up to this many bytes
// (then "..."), so that lines stay short however long tokens get.
#define BPE_COMMENT_BYTES 48

char *bpe_serialize(const Bpe *bpe, size_t *size) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "hyena-bpe 1\n# byte-level BPE: 256 byte tokens, then one token per merge, then specials\n");
    fprintf(f, "split %s\nmerges %d\n", bpe->split ? "gpt2" : "none", bpe->n_merges);
    for (int m = 0; m < bpe->n_merges; m++) {
        int id = 256 + m;
        fprintf(f, "%d %d  # %d = \"", bpe->merges[m].a, bpe->merges[m].b, id);
        unsigned char spelled[BPE_MAX_TOKEN_BYTES];
        int len = bpe_token_bytes(bpe, id, spelled);
        for (int k = 0; k < len && k < BPE_COMMENT_BYTES; k++) {  // what the new token spells, escaped
            unsigned char c = spelled[k];
            if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc(c, f);
            else fprintf(f, "\\x%02x", c);
        }
        if (len > BPE_COMMENT_BYTES) fprintf(f, "\"... (%d bytes)\n", len);
        else fprintf(f, "\"\n");
    }
    fprintf(f, "specials %d\n", bpe->n_specials);
    for (int s = 0; s < bpe->n_specials; s++) fprintf(f, "%s\n", bpe->specials[s]);
    fclose(f);
    *size = len;
    return buf;
}

bool bpe_save(const Bpe *bpe, const char *path) {
    size_t size;
    char *text = bpe_serialize(bpe, &size);
    bool ok = file_write_atomic(path, text, size);
    free(text);
    return ok;
}

// Reads the file's meaningful lines: comments ('#' to the end of the line) and surrounding
// spaces removed, blank lines skipped, each counted for error messages.
typedef struct LineReader {
    const char *p, *end;
    char buf[512];
    int line_no;
    bool too_long;
} LineReader;

static char *reader_next(LineReader *r) {
    while (r->p < r->end) {
        const char *eol = memchr(r->p, '\n', (size_t)(r->end - r->p));
        if (!eol) eol = r->end;
        const char *start = r->p;
        r->line_no++;
        r->p = eol < r->end ? eol + 1 : r->end;
        const char *hash = memchr(start, '#', (size_t)(eol - start));  // a comment may be any length
        size_t len = (size_t)((hash ? hash : eol) - start);
        if (len >= sizeof r->buf) {
            r->too_long = true;
            return NULL;
        }
        memcpy(r->buf, start, len);
        r->buf[len] = '\0';
        size_t l = strlen(r->buf);
        while (l > 0 && isspace((unsigned char)r->buf[l - 1])) r->buf[--l] = '\0';
        char *line = r->buf;
        while (isspace((unsigned char)*line)) line++;
        if (*line) return line;
    }
    return NULL;
}

static bool parse_count(const char *line, const char *word, int *out, int max) {
    size_t n = strlen(word);
    if (strncmp(line, word, n) != 0 || line[n] != ' ') return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(line + n + 1, &end, 10);
    if (errno || end == line + n + 1 || *end || v < 0 || v > max) return false;
    *out = (int)v;
    return true;
}

static bool parse_lines(Bpe *bpe, LineReader *reader, char *err, size_t es);

bool bpe_parse(Bpe *bpe, const char *text, size_t size, char *err, size_t es) {
    memset(bpe, 0, sizeof *bpe);
    if (memchr(text, '\0', size)) return fail(err, es, "tokenizer file contains a NUL byte");
    LineReader r = {.p = text, .end = text + size};
    if (parse_lines(bpe, &r, err, es)) return true;
    // The reader stops at a line too long for it; name that, not what the parser missed after it.
    if (r.too_long) fail(err, es, "line %d: more than %d bytes before its comment", r.line_no, (int)sizeof r.buf - 1);
    return false;
}

static bool parse_lines(Bpe *bpe, LineReader *r, char *err, size_t es) {
    char *line = reader_next(r);
    if (!line || strcmp(line, "hyena-bpe 1") != 0)
        return fail(err, es, "line %d: expected 'hyena-bpe 1' (not a hyena.c BPE tokenizer file)", r->line_no);
    line = reader_next(r);
    if (!line || (strcmp(line, "split gpt2") != 0 && strcmp(line, "split none") != 0))
        return fail(err, es, "line %d: expected 'split gpt2' or 'split none'", r->line_no);
    bpe->split = strcmp(line, "split gpt2") == 0;
    int n_merges;
    line = reader_next(r);
    if (!line || !parse_count(line, "merges", &n_merges, 1 << 20))
        return fail(err, es, "line %d: expected 'merges N' with 0 <= N <= %d", r->line_no, 1 << 20);
    bpe->merges = xmalloc((size_t)(n_merges ? n_merges : 1) * sizeof(BpeMerge));
    int *token_len = xmalloc((256 + (size_t)n_merges) * sizeof(int));  // to refuse overlong tokens
    for (int i = 0; i < 256; i++) token_len[i] = 1;
    U64Map seen;  // pair -> the merge that made it: a pair merged twice is an error
    u64map_init(&seen, (size_t)n_merges + 1);
    bool ok = true;
    for (int m = 0; ok && m < n_merges; m++) {
        line = reader_next(r);
        if (!line) {
            ok = fail(err, es, "line %d: expected %d merges, found %d", r->line_no, n_merges, m);
            break;
        }
        char *e1, *e2 = NULL;
        errno = 0;
        long a = strtol(line, &e1, 10), b = e1 != line ? strtol(e1, &e2, 10) : 0;
        if (errno || e1 == line || e2 == e1 || *e2) {
            ok = fail(err, es, "line %d: a merge must be two token ids 'A B'", r->line_no);
        } else if (a < 0 || b < 0 || a >= 256 + m || b >= 256 + m) {
            ok = fail(err, es, "line %d: merge %d joins tokens %ld and %ld, but only tokens below %d exist yet",
                      r->line_no, m, a, b, 256 + m);
        } else {
            int *slot = u64map_slot(&seen, pair_key((int32_t)a, (int32_t)b), true);
            if (*slot >= 0) ok = fail(err, es, "line %d: merge (%ld, %ld) repeats merge %d", r->line_no, a, b, *slot);
            *slot = m;
            bpe->merges[m] = (BpeMerge){(int32_t)a, (int32_t)b};
            token_len[256 + m] = token_len[a] + token_len[b];
            if (ok && token_len[256 + m] > BPE_MAX_TOKEN_BYTES)
                ok = fail(err, es, "line %d: merge %d makes a token of %d bytes; at most %d", r->line_no, m,
                          token_len[256 + m], BPE_MAX_TOKEN_BYTES);
        }
    }
    u64map_free(&seen);
    free(token_len);
    bpe->n_merges = ok ? n_merges : 0;
    int n_specials = 0;
    if (ok) {
        line = reader_next(r);
        if (!line || !parse_count(line, "specials", &n_specials, BPE_MAX_SPECIALS))
            ok = fail(err, es, "line %d: expected 'specials N' with N <= %d", r->line_no, BPE_MAX_SPECIALS);
    }
    for (int s = 0; ok && s < n_specials; s++) {
        line = reader_next(r);
        if (!line || strlen(line) >= BPE_MAX_SPECIAL_LEN || strpbrk(line, " \t")) {
            ok = fail(err, es, "line %d: expected special token %d of %d (1 to %d bytes, no spaces)", r->line_no, s + 1,
                      n_specials, BPE_MAX_SPECIAL_LEN - 1);
            break;
        }
        for (int t = 0; ok && t < s; t++)
            if (strcmp(bpe->specials[t], line) == 0) ok = fail(err, es, "line %d: special token '%s' is listed twice", r->line_no, line);
        snprintf(bpe->specials[s], BPE_MAX_SPECIAL_LEN, "%s", line);
        bpe->n_specials = s + 1;
    }
    if (ok && reader_next(r)) ok = fail(err, es, "line %d: unexpected text after the last special token", r->line_no);
    if (ok && r->too_long) ok = fail(err, es, "line %d: line too long", r->line_no);
    if (!ok) {
        free(bpe->merges);
        memset(bpe, 0, sizeof *bpe);
        return false;
    }
    bpe_build_tables(bpe);
    return true;
}

bool bpe_load(Bpe *bpe, const char *path, char *err, size_t es) {
    memset(bpe, 0, sizeof *bpe);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, es, "cannot open tokenizer %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size + 65536 > cap) text = xrealloc(text, cap = cap ? 2 * cap : 65536 * 2);
        size_t got = fread(text + size, 1, 65536, f);
        size += got;
        if (got < 65536) break;
        if (size > (64u << 20)) {
            fclose(f);
            free(text);
            return fail(err, es, "tokenizer %s is larger than 64 MiB", path);
        }
    }
    bool read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(text);
        return fail(err, es, "cannot read tokenizer %s", path);
    }
    char inner[300];
    bool ok = bpe_parse(bpe, text, size, inner, sizeof inner);
    free(text);
    if (!ok) return fail(err, es, "tokenizer %s: %s", path, inner);
    return true;
}
