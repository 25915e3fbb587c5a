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

static const struct {
    const char *name;
    FuzzTarget target;
} targets[] = {
    {"json", fuzz_json},         {"safetensors", fuzz_safetensors}, {"checkpoint", fuzz_checkpoint},
    {"bpe_file", fuzz_bpe_file}, {"encode", fuzz_encode},           {"corpus", fuzz_corpus},
};

// One run per target (_i indexes targets): its saved inputs replay without a crash, a sanitizer
// report or a wrong result, and there is at least one.
START_TEST(test_every_saved_fuzz_input_replays_cleanly) {
    ck_assert_msg(replay(targets[_i].name, targets[_i].target) > 0, "no inputs for %s", targets[_i].name);
}
END_TEST

Suite *fuzz_suite(void) {
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("fuzz");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_saved_fuzz_input_replays_cleanly, 0, (int)(sizeof targets / sizeof targets[0]));
    suite_add_tcase(s, tc);
    return s;
}
