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
    tcase_add_test(tc, test_parse_int_list_reads_commas);
    suite_add_tcase(s, tc);
    return s;
}
