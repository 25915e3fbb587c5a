// test_fuzz.c - every input kept for the fuzz targets (tests/fuzz/corpus/<target>/: the seeds,
// and each input that once crashed one) replayed through its target. The targets abort on
// anything wrong, so in `make sanitize` this is a regression test for every fuzzing finding.
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "suites.h"

typedef int (*FuzzTarget)(const uint8_t *data, size_t size);

// Runs every file of tests/fuzz/corpus/<name>/ through target; returns how many.
static int replay(const char *name, FuzzTarget target) {
    char dir_path[256];
    snprintf(dir_path, sizeof dir_path, "tests/fuzz/corpus/%s", name);
    DIR *dir = opendir(dir_path);
    ck_assert_msg(dir != NULL, "no corpus directory %s", dir_path);
    int files = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *data = malloc((size_t)size + 1);
        ck_assert_int_eq(fread(data, 1, (size_t)size, f), size);
        fclose(f);
        target(data, (size_t)size);
        free(data);
        files++;
    }
    closedir(dir);
    return files;
}

START_TEST(test_json_corpus_replays_cleanly) { ck_assert_int_gt(replay("json", fuzz_json), 0); }
END_TEST

START_TEST(test_safetensors_corpus_replays_cleanly) { ck_assert_int_gt(replay("safetensors", fuzz_safetensors), 0); }
END_TEST

START_TEST(test_checkpoint_corpus_replays_cleanly) { ck_assert_int_gt(replay("checkpoint", fuzz_checkpoint), 0); }
END_TEST

START_TEST(test_bpe_file_corpus_replays_cleanly) { ck_assert_int_gt(replay("bpe_file", fuzz_bpe_file), 0); }
END_TEST

START_TEST(test_encode_corpus_replays_cleanly) { ck_assert_int_gt(replay("encode", fuzz_encode), 0); }
END_TEST

START_TEST(test_corpus_corpus_replays_cleanly) { ck_assert_int_gt(replay("corpus", fuzz_corpus), 0); }
END_TEST

Suite *fuzz_suite(void) {
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("fuzz");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_json_corpus_replays_cleanly);
    tcase_add_test(tc, test_safetensors_corpus_replays_cleanly);
    tcase_add_test(tc, test_checkpoint_corpus_replays_cleanly);
    tcase_add_test(tc, test_bpe_file_corpus_replays_cleanly);
    tcase_add_test(tc, test_encode_corpus_replays_cleanly);
    tcase_add_test(tc, test_corpus_corpus_replays_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
