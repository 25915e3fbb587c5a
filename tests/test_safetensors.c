// test_safetensors.c - round trips, and every way a header can be wrong.
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tensor/rng.h"
#include "../train/json.h"
#include "../train/safetensors.h"
#include "suites.h"

// A file from a header string and n_data zero bytes of data.
static unsigned char *make_file(const char *header, size_t n_data, size_t *size) {
    size_t h = strlen(header);
    *size = 8 + h + n_data;
    unsigned char *b = calloc(1, *size);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, header, h);
    return b;
}

// Parses and expects failure with `fragment` in the message.
static void expect_rejected(const char *header, size_t n_data, const char *fragment) {
    size_t size;
    unsigned char *b = make_file(header, n_data, &size);
    Safetensors st;
    char err[300] = "";
    bool ok = st_parse(b, size, &st, err, sizeof err);
    st_free(&st);
    ck_assert_msg(!ok, "accepted: %s", header);
    ck_assert_msg(strstr(err, fragment) != NULL, "header %s: message '%s' lacks '%s'", header, err, fragment);
}

START_TEST(test_safetensors_round_trip_keeps_values_shapes_and_metadata) {
    char path[] = "/tmp/hyena-st-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    float a[6] = {1, -2.5f, 3e-30f, 0, -0.0f, 7}, b[3] = {0.1f, 0.2f, 0.3f};
    StWriter w;
    st_writer_init(&w);
    st_writer_add(&w, "layers.0.weight", 2, (int[]){2, 3}, a);
    st_writer_add(&w, "odd \"name\"\\", 3, (int[]){1, 3, 1}, b);
    st_writer_meta(&w, "order", "2");
    st_writer_meta(&w, "note", "quotes \" and \\ survive");
    ck_assert(st_writer_save(&w, path));
    st_writer_free(&w);
    Safetensors st;
    char err[300];
    ck_assert_msg(st_load(path, &st, err, sizeof err), "%s", err);
    ck_assert_int_eq(st.n_tensors, 2);
    ck_assert_int_eq(st.data_start % 8, 0);
    ck_assert_str_eq(st_meta(&st, "order"), "2");
    ck_assert_str_eq(st_meta(&st, "note"), "quotes \" and \\ survive");
    float got[6];
    ck_assert(st_read_f32(&st, "layers.0.weight", got, 2, (int[]){2, 3}, err, sizeof err));
    ck_assert_int_eq(memcmp(got, a, sizeof a), 0);
    ck_assert(st_read_f32(&st, "odd \"name\"\\", got, 1, (int[]){3}, err, sizeof err));  // [1,3,1] reads as [3]
    ck_assert_int_eq(memcmp(got, b, sizeof b), 0);
    ck_assert(!st_read_f32(&st, "layers.0.weight", got, 2, (int[]){3, 2}, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "expected [3, 2]"));
    ck_assert(!st_read_f32(&st, "missing", got, 1, (int[]){1}, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "missing"));
    st_free(&st);
    unlink(path);
}
END_TEST

START_TEST(test_safetensors_rejects_bad_lengths) {
    Safetensors st;
    char err[300];
    unsigned char *tiny = calloc(1, 4);
    ck_assert(!st_parse(tiny, 4, &st, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "too short"));
    st_free(&st);
    size_t size;
    unsigned char *b = make_file("{}", 0, &size);
    b[0] = 200;  // header length 200 > file
    ck_assert(!st_parse(b, size, &st, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "out of bounds"));
    st_free(&st);
    b = make_file("{}", 0, &size);
    memset(b, 0xff, 8);  // 2^64 - 1
    ck_assert(!st_parse(b, size, &st, err, sizeof err));
    st_free(&st);
}
END_TEST

START_TEST(test_safetensors_rejects_malformed_headers) {
    expect_rejected("[1, 2]", 0, "does not start with '{'");
    expect_rejected("{\"a\": ", 0, "not valid JSON");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "not valid JSON");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "not valid JSON");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "duplicate key");
    expect_rejected("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype");
    expect_rejected("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing dtype");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "shape needs 8 bytes");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "non-negative");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4, "beyond the 4 data bytes");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin 4 > end 0");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "[begin, end]");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "hole");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "belong to none");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unknown field");
    expect_rejected("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_rejected("{\"__metadata__\":[]}", 0, "not an object");
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "rank 9");
    expect_rejected("{\"a\":[]}", 0, "not an object");
    // 2^40 x 2^24 elements is 2^64: a product that wraps around to 0 would match 0 bytes of data.
    expect_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,16777216],\"data_offsets\":[0,0]}}", 0,
                    "shape too large");
}
END_TEST

START_TEST(test_json_parser_is_strict) {
    const char *bad[] = {"", "{", "{\"a\"}", "{a:1}", "[1,]", "01", "1.", "\"\\x\"", "\"\\ud800\"", "\"a\nb\"",
                         "tru", "{\"a\":1}}", "\"\\u0000\"", "-", "1e"};
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        JsonValue *v = json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        ck_assert_msg(v == NULL, "accepted %s", bad[i]);
    }
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_ptr_null(json_parse(deep, 200, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nesting"));
    const char *good = "{\"s\":\"a\\u00e9\\ud83d\\ude00\\n\",\"n\":[-1.5e3,0,12345678901],\"t\":true,\"z\":null}";
    JsonValue *v = json_parse(good, strlen(good), err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    ck_assert_str_eq(json_get(v, "s")->string, "a\xc3\xa9\xf0\x9f\x98\x80\n");
    ck_assert_double_eq(json_get(v, "n")->items[0].number, -1500.0);
    ck_assert(json_get(v, "n")->items[2].is_integer);
    ck_assert_int_eq(json_get(v, "n")->items[2].integer, 12345678901LL);
    json_free(v);
}
END_TEST

START_TEST(test_safetensors_survives_random_corruption) {
    // Every byte of a valid file flipped at random, many times: parse must fail cleanly or
    // succeed, never crash (CI runs this under AddressSanitizer).
    float data[12] = {0};
    StWriter w;
    st_writer_init(&w);
    st_writer_add(&w, "a", 2, (int[]){3, 2}, data);
    st_writer_add(&w, "b", 1, (int[]){6}, data + 6);
    st_writer_meta(&w, "k", "v");
    char path[] = "/tmp/hyena-st-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ck_assert(st_writer_save(&w, path));
    st_writer_free(&w);
    FILE *f = fopen(path, "rb");
    unsigned char good[4096];
    size_t size = fread(good, 1, sizeof good, f);
    fclose(f);
    unlink(path);
    Rng rng = rng_new(99);
    int accepted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = iter % 7 == 0 ? rng_below(&rng, (uint32_t)size) : size;  // sometimes truncated
        unsigned char *b = malloc(n ? n : 1);
        memcpy(b, good, n);
        int flips = 1 + (int)rng_below(&rng, 4);
        for (int k = 0; k < flips && n; k++) b[rng_below(&rng, (uint32_t)n)] ^= (unsigned char)(1 + rng_below(&rng, 255));
        Safetensors st;
        char err[300] = "";
        if (st_parse(b, n, &st, err, sizeof err)) {
            // Accepted: then it is a valid file. Every tensor lies inside the data, holds exactly
            // its shape's bytes, and the tensors tile the data section.
            accepted++;
            size_t data = st.size - st.data_start, covered = 0;
            for (int t = 0; t < st.n_tensors; t++) {
                const StTensor *x = &st.tensors[t];
                uint64_t numel = 1;
                for (int d = 0; d < x->rank; d++) numel *= (uint64_t)x->shape[d];
                ck_assert(x->begin <= x->end && x->end <= data);
                ck_assert_uint_eq(x->end - x->begin, numel * 4);
                covered += x->end - x->begin;
            }
            ck_assert_uint_eq(covered, data);
        } else {
            // Refused: with a message of one line that says what is wrong.
            ck_assert(strlen(err) > 0 && strchr(err, '\n') == NULL);
        }
        st_free(&st);
    }
    ck_assert_int_lt(accepted, 3000);  // most corruptions are caught
}
END_TEST

Suite *safetensors_suite(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, test_safetensors_round_trip_keeps_values_shapes_and_metadata);
    tcase_add_test(tc, test_safetensors_rejects_bad_lengths);
    tcase_add_test(tc, test_safetensors_rejects_malformed_headers);
    tcase_add_test(tc, test_json_parser_is_strict);
    tcase_add_test(tc, test_safetensors_survives_random_corruption);
    suite_add_tcase(s, tc);
    return s;
}
