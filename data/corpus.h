// corpus.h - where training text comes from: a file, a directory, or the embedded default.
//
// The default corpus is hyena.c's own text, compiled into the binary so that `hyena train`
// works offline on a fresh clone: tutorials/*.md, then the *.c and *.h files of tensor/,
// autograd/, hyena/, data/ and train/ (but the generated data/unicode_table.c), each list sorted
// by path (bytewise, as make's $(sort)).
// Each file is preceded by a line "==> path <==". The Makefile generates it with
// data/embed_corpus.c.
#ifndef HYENA_CORPUS_H
#define HYENA_CORPUS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Corpus {
    unsigned char *text;
    size_t size;
    char name[256];   // the path, or "(embedded default corpus)"
} Corpus;

// A regular file, or every regular file directly in a directory (sorted by name, hidden files
// skipped), concatenated. False with a one-line message when nothing can be read.
bool corpus_load(Corpus *c, const char *path, char *err, size_t err_size);
void corpus_default(Corpus *c);
void corpus_free(Corpus *c);

#endif
