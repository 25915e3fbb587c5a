// test_cli.c - flag values are parsed strictly: junk is an error, never a silent 0.
#include "../train/cli.h"
#include "suites.h"

START_TEST(test_parse_int_accepts_whole_numbers_in_range) {
    int v = 0;
    ck_assert(cli_parse_int("42", &v, 1, 100, "--steps"));
    ck_assert_int_eq(v, 42);
}
END_TEST

START_TEST(test_parse_int_rejects_junk_and_out_of_range) {
    int v = 7;
    const char *bad[] = {"", "x", "12x", "1e3", "0", "101", "-5", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) ck_assert(!cli_parse_int(bad[i], &v, 1, 100, "--steps"));
    ck_assert_int_eq(v, 7);  // untouched on error
}
END_TEST

// The bounds are floats: "0.9" must pass a bound of 0.9f, although the double 0.9 is above it.
START_TEST(test_parse_float_accepts_its_bounds_and_rejects_junk) {
    float v = 0;
    ck_assert(cli_parse_float("0.001", &v, 0.001f, 0.9f, "--val-fraction"));
    ck_assert(cli_parse_float("0.9", &v, 0.001f, 0.9f, "--val-fraction"));
    ck_assert_float_eq(v, 0.9f);
    const char *bad[] = {"", "x", "0.5x", "0.0009", "0.91", "nan", "inf", "-0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(!cli_parse_float(bad[i], &v, 0.001f, 0.9f, "--val-fraction"), "accepted '%s'", bad[i]);
    ck_assert_float_eq(v, 0.9f);  // untouched on error
}
END_TEST

START_TEST(test_parse_int_list_reads_commas) {
    int out[4];
    ck_assert_int_eq(cli_parse_int_list("1,2,8", out, 4, 1, 64, "--threads"), 3);
    ck_assert_int_eq(out[2], 8);
    ck_assert_int_eq(cli_parse_int_list("1,,", out, 4, 1, 64, "--threads"), 1);
    ck_assert_int_eq(cli_parse_int_list(",", out, 4, 1, 64, "--threads"), -1);
    ck_assert_int_eq(cli_parse_int_list("1,2,3,4,5", out, 4, 1, 64, "--threads"), -1);
    ck_assert_int_eq(cli_parse_int_list("1,zero", out, 4, 1, 64, "--threads"), -1);
}
END_TEST

Suite *cli_suite(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_test(tc, test_parse_int_accepts_whole_numbers_in_range);
    tcase_add_test(tc, test_parse_int_rejects_junk_and_out_of_range);
    tcase_add_test(tc, test_parse_float_accepts_its_bounds_and_rejects_junk);
    tcase_add_test(tc, test_parse_int_list_reads_commas);
    suite_add_tcase(s, tc);
    return s;
}
