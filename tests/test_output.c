// test_output.c - files are written atomically, and charts are valid SVG of the data given.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../train/fileio.h"
#include "../train/plot.h"
#include "suites.h"

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

START_TEST(test_atomic_write_replaces_the_file_and_leaves_no_temp) {
    char dir[] = "/tmp/hyena-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256], tmp[260];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert(file_write_atomic(path, "first", 5));
    ck_assert(file_write_atomic(path, "second", 6));
    char *got = slurp(path);
    ck_assert_str_eq(got, "second");
    ck_assert_int_ne(access(tmp, F_OK), 0);
    free(got);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_atomic_write_into_a_missing_directory_fails_cleanly) {
    ck_assert(!file_write_atomic("/nonexistent-dir/x/out.txt", "data", 4));
}
END_TEST

START_TEST(test_plot_draws_one_polyline_per_series_and_skips_bad_points) {
    double x[] = {1, 2, 3, 4}, a[] = {1, 4, 9, 16}, b[] = {2, NAN, 6, INFINITY};
    PlotSeries s[] = {{"a <squares>", x, a, 4}, {"b & friends", x, b, 4}};
    PlotOptions o = {"title", "x", "y", false, false};
    char *svg = plot_svg(&o, s, 2);
    ck_assert(strncmp(svg, "<svg ", 5) == 0);
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    ck_assert_int_eq(count(svg, "<polyline"), 2);
    ck_assert_ptr_nonnull(strstr(svg, "a &lt;squares&gt;"));
    ck_assert_ptr_nonnull(strstr(svg, "b &amp; friends"));
    // The second polyline has only its two finite points.
    const char *second = strstr(strstr(svg, "<polyline") + 1, "<polyline");
    const char *points = strstr(second, "points=\"") + 8;
    int commas = 0;
    for (const char *p = points; *p != '"'; p++) commas += *p == ',';
    ck_assert_int_eq(commas, 2);
    free(svg);
}
END_TEST

START_TEST(test_plot_log_axes_label_powers_of_ten) {
    double x[] = {16, 256, 4096, 65536}, y[] = {0.01, 0.2, 7, 300};
    PlotSeries s[] = {{"fft", x, y, 4}};
    PlotOptions o = {"scaling", "L", "ms", true, true};
    char *svg = plot_svg(&o, s, 1);
    ck_assert_ptr_nonnull(strstr(svg, ">100<"));
    ck_assert_ptr_nonnull(strstr(svg, ">0.01<"));
    ck_assert_ptr_nonnull(strstr(svg, ">1000<"));
    free(svg);
    PlotSeries empty[] = {{"nothing", x, y, 0}};
    svg = plot_svg(&o, empty, 1);  // no data: still a well-formed chart
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    free(svg);
}
END_TEST

// Styles pair series: colour 2 twice (solid and dashed), a dot per point where asked.
START_TEST(test_plot_styles_pick_colours_dashes_and_markers) {
    double x[] = {32, 64, 128}, a[] = {10, 50, 90}, b[] = {100, 100, 100};
    PlotSeries s[] = {{"hyena", x, a, 3}, {"attention", x, b, 3}};
    PlotStyle st[] = {{2, false, true}, {2, true, false}};
    PlotOptions o = {"sweep", "width", "accuracy", false, false};
    char *svg = plot_svg_styled(&o, s, st, 2);
    ck_assert_int_eq(count(svg, "stroke=\"#d62728\""), 4);  // two lines and their two legend keys
    ck_assert_int_eq(count(svg, "stroke-dasharray"), 2);      // the dashed line and its legend key
    ck_assert_int_eq(count(svg, "<circle"), 3);
    free(svg);
    svg = plot_svg(&o, s, 2);  // unstyled: the palette in order, solid, no dots
    ck_assert_int_eq(count(svg, "stroke-dasharray"), 0);
    ck_assert_int_eq(count(svg, "<circle"), 0);
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#1f77b4\""));
    free(svg);
}
END_TEST

Suite *output_suite(void) {
    Suite *s = suite_create("output");
    TCase *tc = tcase_create("output");
    tcase_add_test(tc, test_atomic_write_replaces_the_file_and_leaves_no_temp);
    tcase_add_test(tc, test_atomic_write_into_a_missing_directory_fails_cleanly);
    tcase_add_test(tc, test_plot_draws_one_polyline_per_series_and_skips_bad_points);
    tcase_add_test(tc, test_plot_log_axes_label_powers_of_ten);
    tcase_add_test(tc, test_plot_styles_pick_colours_dashes_and_markers);
    suite_add_tcase(s, tc);
    return s;
}
