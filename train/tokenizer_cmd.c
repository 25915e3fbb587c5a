// tokenizer_cmd.c - train a byte-level BPE tokenizer, and use one from the command line.
#define _POSIX_C_SOURCE 200809L
#include "tokenizer_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../data/bpe.h"
#include "../data/corpus.h"
#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: hyena tokenizer train --data PATH --vocab-size N --out FILE [--no-split] [--special TOKEN]...\n"
            "       hyena tokenizer encode --tokenizer FILE [--input FILE]   text -> token ids (one line)\n"
            "       hyena tokenizer decode --tokenizer FILE [--input FILE]   token ids -> text\n"
            "  train      learn a byte-level BPE vocabulary of N tokens (256 bytes + merges + specials)\n"
            "             from a text file or a directory of them; --no-split lets merges cross word\n"
            "             boundaries; --special adds a literal token such as <|endoftext|> (repeatable)\n"
            "  encode     reads text from --input or standard input, prints the ids separated by spaces\n"
            "  decode     reads whitespace-separated ids, writes the text to standard output\n");
}

typedef struct Progress {
    double start, last_line;
    bool tty;        // stderr is a terminal: one line, rewritten in place
    bool line_open;  // a progress line is on the terminal without its newline yet
} Progress;

// On a terminal, one status line rewritten in place; in a log, a line at most every second (and
// the last), so a log does not fill with carriage returns.
static void show_progress(int done, int total, void *ctx) {
    Progress *p = ctx;
    double now = cli_seconds();
    if (p->tty) {
        fprintf(stderr, "\rtokenizer: merge %d of %d (%.1f s)", done, total, now - p->start);
        p->line_open = true;
    } else if (now - p->last_line >= 1.0 || done == total) {
        fprintf(stderr, "tokenizer: merge %d of %d (%.1f s)\n", done, total, now - p->start);
        p->last_line = now;
    }
}

// All of a file, or of standard input when path is NULL.
static unsigned char *read_input(const char *path, size_t *size) {
    FILE *f = path ? fopen(path, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "hyena: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t n = 0;
    for (;;) {
        buf = realloc(buf, n + 65536 + 1);
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536) break;
    }
    if (path) fclose(f);
    buf[n] = '\0';
    *size = n;
    return buf;
}

static int cmd_train(int argc, char **argv) {
    const char *data = NULL, *out = NULL, *specials[BPE_MAX_SPECIALS];
    int vocab = 0, n_specials = 0;
    bool split = true;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--data") == 0 && v) data = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) out = argv[++i];
        else if (strcmp(argv[i], "--vocab-size") == 0 && v) {
            if (!cli_parse_int(argv[++i], &vocab, 257, 1 << 20, "--vocab-size")) return 2;
        } else if (strcmp(argv[i], "--special") == 0 && v) {
            if (n_specials == BPE_MAX_SPECIALS) {
                fprintf(stderr, "hyena: at most %d --special tokens\n", BPE_MAX_SPECIALS);
                return 2;
            }
            specials[n_specials++] = argv[++i];
        } else if (strcmp(argv[i], "--no-split") == 0) split = false;
        else {
            fprintf(stderr, "hyena tokenizer train: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!data || !out || !vocab) {
        fprintf(stderr, "hyena tokenizer train: --data, --vocab-size and --out are required (see --help)\n");
        return 2;
    }
    Corpus corpus;
    char err[400];
    if (!corpus_load(&corpus, data, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        return 1;
    }
    if (corpus.size == 0) {
        fprintf(stderr, "hyena: %s is empty: nothing to train a tokenizer on\n", data);
        corpus_free(&corpus);
        return 1;
    }
    Progress p = {cli_seconds(), cli_seconds(), isatty(STDERR_FILENO) != 0, false};
    Bpe bpe;
    bool ok = bpe_train(&bpe, corpus.text, corpus.size, vocab, split, specials, n_specials, show_progress, &p, err, sizeof err);
    corpus_free(&corpus);
    if (p.line_open) fprintf(stderr, "\n");  // whatever follows starts on a line of its own
    if (!ok) {
        fprintf(stderr, "hyena: %s\n", err);
        return 1;
    }
    if (bpe_vocab_size(&bpe) < vocab)
        fprintf(stderr, "tokenizer: stopped at %d tokens: no pair occurs twice any more (tokens are at most %d bytes)\n",
                bpe_vocab_size(&bpe), BPE_MAX_TOKEN_BYTES);
    ok = bpe_save(&bpe, out);
    if (ok) fprintf(stderr, "tokenizer: %d tokens written to %s in %.2f s\n", bpe_vocab_size(&bpe), out, cli_seconds() - p.start);
    bpe_free(&bpe);
    return ok ? 0 : 1;
}

static int cmd_encode_decode(bool encode, int argc, char **argv) {
    const char *tok = NULL, *input = NULL;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--tokenizer") == 0 && v) tok = argv[++i];
        else if (strcmp(argv[i], "--input") == 0 && v) input = argv[++i];
        else {
            fprintf(stderr, "hyena tokenizer: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!tok) {
        fprintf(stderr, "hyena tokenizer: --tokenizer FILE is required (see --help)\n");
        return 2;
    }
    Bpe bpe;
    char err[400];
    if (!bpe_load(&bpe, tok, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        return 1;
    }
    size_t size;
    unsigned char *text = read_input(input, &size);
    if (!text) {
        bpe_free(&bpe);
        return 1;
    }
    int rc = 0;
    if (encode) {
        int32_t *ids;
        long n = bpe_encode(&bpe, text, size, &ids);
        for (long i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
        free(ids);
    } else {
        long n = 0, cap = 1024;
        int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
        char *p = (char *)text;
        for (;;) {
            while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
            if (!*p) break;
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno || v < 0 || v > INT32_MAX) {
                fprintf(stderr, "hyena: decode: expected token ids, found '%.20s'\n", p);
                rc = 1;
                break;
            }
            if (n == cap) ids = realloc(ids, sizeof(int32_t) * (size_t)(cap *= 2));
            ids[n++] = (int32_t)v;
            p = end;
        }
        unsigned char *out;
        size_t out_size;
        if (rc == 0 && !bpe_decode(&bpe, ids, n, &out, &out_size, err, sizeof err)) {
            fprintf(stderr, "hyena: decode: %s\n", err);
            rc = 1;
        } else if (rc == 0) {
            fwrite(out, 1, out_size, stdout);
            free(out);
        }
        free(ids);
    }
    free(text);
    bpe_free(&bpe);
    return rc;
}

int tokenizer_main(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
    if (strcmp(argv[0], "train") == 0) return cmd_train(argc - 1, argv + 1);
    if (strcmp(argv[0], "encode") == 0) return cmd_encode_decode(true, argc - 1, argv + 1);
    if (strcmp(argv[0], "decode") == 0) return cmd_encode_decode(false, argc - 1, argv + 1);
    fprintf(stderr, "hyena tokenizer: unknown subcommand '%s' (expected train, encode or decode)\n", argv[0]);
    return 2;
}
