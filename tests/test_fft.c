// test_fft.c - the real FFT against the DFT computed in double.
//
// Error bound. A float FFT of size n is accurate to about eps * log2(n) relative to the signal's
// energy (each of the log2(n) stages rounds once). We assert, for every bin k,
//   |X[k] - DFT(x)[k]| <= 3 * eps * log2(n) * ||x||_2 + 1e-6,    eps = 2^-24,
// which the implementation meets with a margin of about 3x (measured: max error about
// 5e-7 * ||x||_2 at n = 65536, against a bound of 2.9e-6 * ||x||_2).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/fft.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "suites.h"

#define EPS 5.9604644775390625e-08

static double error_bound(int n, const float *x) {
    double energy = 0;
    for (int t = 0; t < n; t++) energy += (double)x[t] * x[t];
    int log2n = 0;
    while ((1 << log2n) < n) log2n++;
    return 3.0 * EPS * (log2n > 0 ? log2n : 1) * sqrt(energy) + 1e-6;
}

// DFT bin k of x in double: sum_t x[t] exp(-2 pi i k t / n), with exact twiddles from a table.
static void dft_bin(const float *x, int n, int k, const double *cos_t, const double *sin_t, double *re, double *im) {
    double sr = 0, si = 0;
    for (int t = 0; t < n; t++) {
        long idx = ((long)k * t) % n;
        sr += x[t] * cos_t[idx];
        si -= x[t] * sin_t[idx];
    }
    *re = sr;
    *im = si;
}

static void twiddle_table(int n, double **cos_t, double **sin_t) {
    *cos_t = malloc(sizeof(double) * n);
    *sin_t = malloc(sizeof(double) * n);
    for (int j = 0; j < n; j++) {
        (*cos_t)[j] = cos(2.0 * 3.14159265358979323846 * j / n);
        (*sin_t)[j] = sin(2.0 * 3.14159265358979323846 * j / n);
    }
}

// Checks bins (all, or `n_bins` spread over the spectrum) of every signal in the batch.
static void check_against_dft(int n, int batch, int n_bins) {
    Rng r = rng_new((uint64_t)n * 31 + batch);
    int bins = n / 2 + 1;
    float *x = malloc(sizeof(float) * n * batch), *re = malloc(sizeof(float) * bins * batch),
          *im = malloc(sizeof(float) * bins * batch);
    rng_fill_normal(&r, x, (long)n * batch, 0, 1);
    fft_rfft(n, batch, x, re, im);
    double *cos_t, *sin_t;
    twiddle_table(n, &cos_t, &sin_t);
    for (int b = 0; b < batch; b++) {
        double bound = error_bound(n, x + (long)b * n);
        int step = n_bins > 0 && bins > n_bins ? bins / n_bins : 1;
        for (int k = 0; k < bins; k += step) {
            double wr, wi;
            dft_bin(x + (long)b * n, n, k, cos_t, sin_t, &wr, &wi);
            double err = hypot(re[(long)b * bins + k] - wr, im[(long)b * bins + k] - wi);
            ck_assert_msg(err <= bound, "n=%d batch=%d signal %d bin %d: error %.3g > bound %.3g", n, batch, b, k, err,
                          bound);
        }
    }
    free(cos_t);
    free(sin_t);
    free(x);
    free(re);
    free(im);
}

START_TEST(test_rfft_matches_double_dft_for_every_size_up_to_4096) {
    for (int n = 1; n <= 4096; n *= 2) {
        check_against_dft(n, 1, 0);   // one signal: the four-step path from n = 256
        check_against_dft(n, 3, 0);   // a few signals side by side: the column path
        check_against_dft(n, 7, 0);   // 4 signals through the vector transposes, 3 through the scalar ones
    }
}
END_TEST

START_TEST(test_rfft_matches_dft_at_sampled_bins_for_large_sizes) {
    int sizes[] = {1 << 13, 1 << 16, 1 << 19, 1 << 22};
    for (int i = 0; i < 4; i++) check_against_dft(sizes[i], 1, 24);
    check_against_dft(1 << 15, 20, 8);  // a batch over 16: two column groups, the last partial
}
END_TEST

START_TEST(test_irfft_inverts_rfft) {
    for (int n = 1; n <= (1 << 16); n *= 2) {
        int batches[] = {1, 17};
        for (int bi = 0; bi < 2; bi++) {
            int batch = batches[bi], bins = n / 2 + 1;
            Rng r = rng_new((uint64_t)n);
            float *x = malloc(sizeof(float) * n * batch), *y = malloc(sizeof(float) * n * batch);
            float *re = malloc(sizeof(float) * bins * batch), *im = malloc(sizeof(float) * bins * batch);
            rng_fill_uniform(&r, x, (long)n * batch, -1, 1);
            fft_rfft(n, batch, x, re, im);
            fft_irfft(n, batch, re, im, y);
            for (long i = 0; i < (long)n * batch; i++)
                ck_assert_msg(fabsf(x[i] - y[i]) <= 2e-6f, "n=%d batch=%d i=%ld: %g vs %g", n, batch, i, x[i], y[i]);
            free(x);
            free(y);
            free(re);
            free(im);
        }
    }
}
END_TEST

START_TEST(test_column_transforms_read_strided_zero_padded_signals) {
    // Activations [L, D]: signal c is column c (t_stride D, c_stride 1), shorter than n.
    int L = 100, D = 5, n = fft_conv_size(L), bins = n / 2 + 1;
    ck_assert_int_eq(n, 256);
    const FftPlan *plan = fft_plan(n);
    Rng r = rng_new(9);
    float act[100 * 5], padded[5 * 256] = {0}, re[129 * 5], im[129 * 5], rows_re[5 * 129], rows_im[5 * 129];
    rng_fill_uniform(&r, act, L * D, -1, 1);
    for (int t = 0; t < L; t++)
        for (int c = 0; c < D; c++) padded[c * n + t] = act[t * D + c];
    float *scratch = malloc(sizeof(float) * fft_columns_scratch(plan, D));
    fft_rfft_columns(plan, act, L, D, 1, D, re, im, scratch);
    fft_rfft(n, D, padded, rows_re, rows_im);
    for (int k = 0; k < bins; k++)
        for (int c = 0; c < D; c++) {
            ck_assert_float_eq_tol(re[k * D + c], rows_re[c * bins + k], 1e-5f);
            ck_assert_float_eq_tol(im[k * D + c], rows_im[c * bins + k], 1e-5f);
        }
    // Inverse into the same layout, first L samples only; then once more with accumulate.
    float back[100 * 5];
    fft_irfft_columns(plan, re, im, D, back, L, D, 1, false, scratch);
    for (int i = 0; i < L * D; i++) ck_assert_float_eq_tol(back[i], act[i], 2e-6f);
    fft_irfft_columns(plan, re, im, D, back, L, D, 1, true, scratch);
    for (int i = 0; i < L * D; i++) ck_assert_float_eq_tol(back[i], 2 * act[i], 4e-6f);
    free(scratch);
}
END_TEST

START_TEST(test_fft_bits_do_not_depend_on_thread_count) {
    int cases[][2] = {{4096, 40}, {1 << 18, 1}};
    for (int i = 0; i < 2; i++) {
        int n = cases[i][0], batch = cases[i][1], bins = n / 2 + 1;
        Rng r = rng_new(5);
        float *x = malloc(sizeof(float) * n * batch);
        float *re[2], *im[2];
        rng_fill_uniform(&r, x, (long)n * batch, -1, 1);
        for (int t = 0; t < 2; t++) {
            pool_init(t + 1);
            re[t] = malloc(sizeof(float) * bins * batch);
            im[t] = malloc(sizeof(float) * bins * batch);
            fft_rfft(n, batch, x, re[t], im[t]);
        }
        ck_assert_int_eq(memcmp(re[0], re[1], sizeof(float) * bins * batch), 0);
        ck_assert_int_eq(memcmp(im[0], im[1], sizeof(float) * bins * batch), 0);
        for (int t = 0; t < 2; t++) {
            free(re[t]);
            free(im[t]);
        }
        free(x);
    }
}
END_TEST

START_TEST(test_fft_conv_size_is_the_power_of_two_at_least_twice_the_length) {
    ck_assert_int_eq(fft_conv_size(1), 2);
    ck_assert_int_eq(fft_conv_size(3), 8);
    ck_assert_int_eq(fft_conv_size(64), 128);
    ck_assert_int_eq(fft_conv_size(1000), 2048);
    ck_assert(fft_is_power_of_two(1) && fft_is_power_of_two(4096) && !fft_is_power_of_two(0) &&
              !fft_is_power_of_two(12));
}
END_TEST

START_TEST(test_fft_plan_rejects_a_size_that_is_not_a_power_of_two) { fft_plan(12); }
END_TEST

START_TEST(test_fft_plan_rejects_a_size_above_2_to_the_22) { fft_plan(1 << 23); }
END_TEST

Suite *fft_suite(void) {
    Suite *s = suite_create("fft");
    TCase *tc = tcase_create("fft");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_rfft_matches_double_dft_for_every_size_up_to_4096);
    tcase_add_test(tc, test_rfft_matches_dft_at_sampled_bins_for_large_sizes);
    tcase_add_test(tc, test_irfft_inverts_rfft);
    tcase_add_test(tc, test_column_transforms_read_strided_zero_padded_signals);
    tcase_add_test(tc, test_fft_bits_do_not_depend_on_thread_count);
    tcase_add_test(tc, test_fft_conv_size_is_the_power_of_two_at_least_twice_the_length);
    tcase_add_exit_test(tc, test_fft_plan_rejects_a_size_that_is_not_a_power_of_two, 1);
    tcase_add_exit_test(tc, test_fft_plan_rejects_a_size_above_2_to_the_22, 1);
    suite_add_tcase(s, tc);
    return s;
}
