// test_tutorials.c - code quoted in a tutorial must still be in the file it claims to quote.
//
// In tutorials/*.md a quote is marked by an HTML comment naming its source, right before the
// code block:
//   <!-- quote: tensor/arena.c -->
//   ```c
//   ...lines that must appear, in order and contiguous, in tensor/arena.c...
//   ```
// Leading/trailing whitespace of each line is ignored, so a quote may be re-indented.
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

// Copy of text with every line trimmed and blank lines dropped, lines joined by '\n'.
static char *normalize(const char *text, size_t len) {
    char *out = malloc(len + 2);
    size_t o = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *a = p, *b = eol;
        while (a < b && (*a == ' ' || *a == '\t')) a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r')) b--;
        if (b > a) {
            memcpy(out + o, a, (size_t)(b - a));
            o += (size_t)(b - a);
            out[o++] = '\n';
        }
        p = eol + 1;
    }
    out[o] = '\0';
    return out;
}

// Checks every quote in one markdown file; returns how many it checked.
static int check_quotes(const char *md_path) {
    char *md = read_all(md_path);
    ck_assert_msg(md != NULL, "cannot read %s", md_path);
    int checked = 0;
    for (char *p = strstr(md, "<!-- quote: "); p; p = strstr(p + 1, "<!-- quote: ")) {
        char src[256];
        ck_assert_msg(sscanf(p, "<!-- quote: %255s -->", src) == 1, "%s: malformed quote marker", md_path);
        char *open = strstr(p, "```c\n");
        ck_assert_msg(open != NULL, "%s: quote of %s has no ```c block", md_path, src);
        open += 5;
        char *close = strstr(open, "```");
        ck_assert_msg(close != NULL, "%s: unterminated code block", md_path);
        char *code = read_all(src);
        ck_assert_msg(code != NULL, "%s quotes %s, which does not exist", md_path, src);
        char *want = normalize(open, (size_t)(close - open));
        char *have = normalize(code, strlen(code));
        ck_assert_msg(strstr(have, want) != NULL, "%s: the quote of %s no longer matches it:\n%s", md_path, src, want);
        free(want);
        free(have);
        free(code);
        checked++;
    }
    free(md);
    return checked;
}

START_TEST(test_tutorial_quotes_match_the_source) {
    DIR *dir = opendir("tutorials");
    ck_assert_msg(dir != NULL, "run the tests from the top of the tree (make test)");
    int files = 0, quotes = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".md") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "tutorials/%s", e->d_name);
        quotes += check_quotes(path);
        files++;
    }
    closedir(dir);
    ck_assert_int_ge(files, 2);
    ck_assert_int_ge(quotes, 4);
}
END_TEST

Suite *tutorials_suite(void) {
    Suite *s = suite_create("tutorials");
    TCase *tc = tcase_create("tutorials");
    tcase_add_test(tc, test_tutorial_quotes_match_the_source);
    suite_add_tcase(s, tc);
    return s;
}
