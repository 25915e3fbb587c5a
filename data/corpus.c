// corpus.c - reading files whole.
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// Generated at build time (build/gen/default_corpus.c).
extern const unsigned char default_corpus[];
extern const size_t default_corpus_size;

static bool append_file(Corpus *c, const char *path, char *err, size_t es) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, es, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    // Room for the whole file at once (a pipe has no size: it grows by doubling). Growing by a
    // fixed step would copy a 2 GB corpus tens of thousands of times.
    struct stat st;
    bool regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
    size_t expected = regular ? (size_t)st.st_size : 0, cap = 0;
    size_t start = c->size;
    for (;;) {
        if (c->size + 65536 + 1 > cap) {
            cap = cap == 0 ? c->size + expected + 65536 + 1 : 2 * cap;
            unsigned char *grown = realloc(c->text, cap);
            if (grown == NULL) {
                fclose(f);
                snprintf(err, es, "out of memory reading %s (%zu bytes)", path, expected);
                return false;
            }
            c->text = grown;
        }
        size_t got = fread(c->text + c->size, 1, 65536, f);
        c->size += got;
        if (got < 65536) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        snprintf(err, es, "cannot read %s", path);
        return false;
    }
    if (regular && c->size - start < expected) {
        snprintf(err, es, "%s shrank while it was read: %zu of %zu bytes", path, c->size - start, expected);
        return false;
    }
    return true;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

bool corpus_load(Corpus *c, const char *path, char *err, size_t es) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", path);
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, es, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    if (S_ISREG(st.st_mode)) {
        if (!append_file(c, path, err, es)) {
            corpus_free(c);
            return false;
        }
        return true;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, es, "%s is neither a file nor a directory", path);
        return false;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        snprintf(err, es, "cannot open directory %s: %s", path, strerror(errno));
        return false;
    }
    char **names = NULL;
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        names = realloc(names, (size_t)(n + 1) * sizeof(char *));
        names[n++] = strdup(full);
    }
    closedir(dir);
    if (n > 0) qsort(names, (size_t)n, sizeof(char *), compare_names);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        if (ok) ok = append_file(c, names[i], err, es);
        free(names[i]);
    }
    free(names);
    if (ok && n == 0) {
        snprintf(err, es, "directory %s holds no regular files", path);
        ok = false;
    }
    if (!ok) corpus_free(c);
    return ok;
}

void corpus_default(Corpus *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "(embedded default corpus)");
    c->text = malloc(default_corpus_size + 1);
    memcpy(c->text, default_corpus, default_corpus_size);
    c->size = default_corpus_size;
}

void corpus_free(Corpus *c) {
    free(c->text);
    c->text = NULL;
    c->size = 0;
}
