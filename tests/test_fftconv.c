// test_fftconv.c - the long convolution against the O(L^2) sum computed in double.
//
// Tolerance: an FFT spreads each input over every output, so its rounding error scales with the
// norms of the two signals, not with one output's own terms (at t = 0 an output is a single
// product). Each output of channel d is compared within
//   tol = 4 * eps * log2(n) * (||a_d||_2 * ||b_d||_2 + sum of |terms| of this output) + 1e-6
// for the two signals a, b being convolved or correlated (measured errors are 10-50x smaller).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/fftconv.h"
#include "../autograd/gradcheck.h"
#include "../tensor/fft.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "suites.h"

#define EPS 5.9604644775390625e-08

typedef struct Conv {
    int B, L, D;
    float *u, *h, *bias;
} Conv;

static Conv conv_new(int B, int L, int D, uint64_t seed) {
    Rng r = rng_new(seed);
    Conv c = {B, L, D, malloc(sizeof(float) * B * L * D), malloc(sizeof(float) * L * D), malloc(sizeof(float) * D)};
    rng_fill_uniform(&r, c.u, (long)B * L * D, -1, 1);
    // A decaying filter, like Hyena's windowed ones, so sums stay O(1) at any length.
    for (int t = 0; t < L; t++)
        for (int d = 0; d < D; d++) c.h[t * D + d] = rng_uniform_range(&r, -1, 1) * expf(-3.0f * t / L);
    rng_fill_uniform(&r, c.bias, D, -1, 1);
    return c;
}

static void conv_free(Conv *c) {
    free(c->u);
    free(c->h);
    free(c->bias);
}

// One run's outputs, y [B, L, D], and the three gradients, zeroed: two runs are compared bit by bit.
typedef struct ConvOutputs {
    float *y, *gu, *gh, *gb;
} ConvOutputs;

static ConvOutputs outputs_new(int B, int L, int D) {
    long n = (long)B * L * D;
    return (ConvOutputs){malloc(sizeof(float) * n), calloc((size_t)n, sizeof(float)),
                         calloc((size_t)L * D, sizeof(float)), calloc((size_t)D, sizeof(float))};
}

static void outputs_zero_grads(ConvOutputs *o, int B, int L, int D) {
    memset(o->gu, 0, sizeof(float) * B * L * D);
    memset(o->gh, 0, sizeof(float) * L * D);
    memset(o->gb, 0, sizeof(float) * D);
}

static void assert_same_bits(const ConvOutputs *a, const ConvOutputs *b, int B, int L, int D, const char *what) {
    long n = (long)B * L * D;
    ck_assert_msg(memcmp(a->y, b->y, sizeof(float) * n) == 0, "y differs (%s)", what);
    ck_assert_msg(memcmp(a->gu, b->gu, sizeof(float) * n) == 0, "gu differs (%s)", what);
    ck_assert_msg(memcmp(a->gh, b->gh, sizeof(float) * L * D) == 0, "gh differs (%s)", what);
    ck_assert_msg(memcmp(a->gb, b->gb, sizeof(float) * D) == 0, "gbias differs (%s)", what);
}

// n floats uniform in [-1, 1]: an output gradient to run a backward with.
static float *random_gradient(long n, uint64_t seed) {
    float *gy = malloc(sizeof(float) * n);
    Rng r = rng_new(seed);
    rng_fill_uniform(&r, gy, n, -1, 1);
    return gy;
}

static void outputs_free(ConvOutputs *o) {
    free(o->y);
    free(o->gu);
    free(o->gh);
    free(o->gb);
}

static double tolerance(int L, double magnitude) {
    int log2n = 0;
    while ((1 << log2n) < fft_conv_size(L)) log2n++;
    return 4.0 * EPS * log2n * magnitude + 1e-6;
}

// ||column d of x||_2 over rows [0, rows) of a [rows, D] array
static double column_norm(const float *x, int rows, int D, int d) {
    double s = 0;
    for (int t = 0; t < rows; t++) s += (double)x[(long)t * D + d] * x[(long)t * D + d];
    return sqrt(s);
}

static void check_forward(int B, int L, int D, FftconvPath path) {
    Conv c = conv_new(B, L, D, (uint64_t)(L * 100 + D));
    float *y = malloc(sizeof(float) * B * L * D);
    fftconv_forward(y, c.u, c.h, c.bias, B, L, D, path);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int d = 0; d < D; d++) {
                const float *u = c.u + (long)b * L * D;
                double want = (double)c.bias[d] * u[t * D + d];
                double mag = fabs(want) + column_norm(u, L, D, d) * column_norm(c.h, L, D, d);
                for (int s = 0; s <= t; s++) {
                    double term = (double)c.h[(t - s) * D + d] * u[s * D + d];
                    want += term;
                    mag += fabs(term);
                }
                double got = y[((long)b * L + t) * D + d];
                ck_assert_msg(fabs(got - want) <= tolerance(L, mag), "%s B=%d L=%d D=%d at b=%d t=%d d=%d: %.8g vs %.8g",
                              path == FFTCONV_FFT ? "fft" : "direct", B, L, D, b, t, d, got, want);
            }
    free(y);
    conv_free(&c);
}

START_TEST(test_fftconv_forward_matches_direct_sum_for_many_lengths) {
    int lengths[] = {1, 2, 3, 7, 64, 1000};
    int channels[] = {1, 5, 16, 33};
    for (int li = 0; li < 6; li++)
        for (int ci = 0; ci < 4; ci++) {
            check_forward(2, lengths[li], channels[ci], FFTCONV_FFT);
            check_forward(2, lengths[li], channels[ci], FFTCONV_DIRECT);
        }
    check_forward(1, 4096, 3, FFTCONV_FFT);
    check_forward(1, 4096, 3, FFTCONV_DIRECT);
}
END_TEST

static void check_backward(int B, int L, int D, FftconvPath path) {
    Conv c = conv_new(B, L, D, (uint64_t)(L * 7 + D));
    long n = (long)B * L * D;
    float *gy = malloc(sizeof(float) * n), *gu = calloc((size_t)n, sizeof(float));
    float *gh = calloc((size_t)L * D, sizeof(float)), *gbias = calloc((size_t)D, sizeof(float));
    Rng r = rng_new(77);
    rng_fill_uniform(&r, gy, n, -1, 1);
    fftconv_backward(gu, gh, gbias, gy, c.u, c.h, c.bias, B, L, D, path);
    for (int d = 0; d < D; d++) {
        double want_bias = 0;
        for (int k = 0; k < L; k++) {
            double want_h = 0, mag_h = 0;
            for (int b = 0; b < B; b++)
                mag_h += column_norm(c.u + (long)b * L * D, L, D, d) * column_norm(gy + (long)b * L * D, L, D, d);
            for (int b = 0; b < B; b++)
                for (int t = k; t < L; t++) {
                    double term = (double)c.u[((long)b * L + t - k) * D + d] * gy[((long)b * L + t) * D + d];
                    want_h += term;
                    mag_h += fabs(term);
                }
            ck_assert_msg(fabs(gh[k * D + d] - want_h) <= tolerance(L, mag_h), "gh L=%d k=%d d=%d: %g vs %g", L, k, d,
                          gh[k * D + d], want_h);
        }
        for (int b = 0; b < B; b++)
            for (int s = 0; s < L; s++) {
                long i = ((long)b * L + s) * D + d;
                double want_u = (double)c.bias[d] * gy[i];
                double mag_u = fabs(want_u) + column_norm(c.h, L, D, d) * column_norm(gy + (long)b * L * D, L, D, d);
                for (int t = s; t < L; t++) {
                    double term = (double)c.h[(t - s) * D + d] * gy[((long)b * L + t) * D + d];
                    want_u += term;
                    mag_u += fabs(term);
                }
                ck_assert_msg(fabs(gu[i] - want_u) <= tolerance(L, mag_u), "gu L=%d b=%d s=%d d=%d: %g vs %g", L, b, s,
                              d, gu[i], want_u);
                want_bias += (double)gy[i] * c.u[i];
            }
        ck_assert_double_lt(fabs(gbias[d] - want_bias), 1e-4 * (1 + fabs(want_bias)));
    }
    free(gy);
    free(gu);
    free(gh);
    free(gbias);
    conv_free(&c);
}

START_TEST(test_fftconv_backward_matches_direct_correlations) {
    int lengths[] = {1, 3, 64, 300};
    for (int li = 0; li < 4; li++) {
        check_backward(2, lengths[li], 5, FFTCONV_FFT);
        check_backward(2, lengths[li], 5, FFTCONV_DIRECT);
        check_backward(1, lengths[li], 17, FFTCONV_FFT);
    }
}
END_TEST

typedef struct ConvGraph {
    Var *u, *h, *bias;
    FftconvPath path;
} ConvGraph;

static Var *build_fftconv(Tape *t, void *ctx) {
    ConvGraph *g = ctx;
    return ag_fftconv(t, g->u, g->h, g->bias, g->path);
}

START_TEST(test_gradcheck_fftconv_both_paths) {
    Arena params;
    arena_init(&params, 0);
    Rng r = rng_new(3);
    int B = 2, L = 9, D = 3;
    ConvGraph g = {ag_param(&params, "u", 3, (int[]){B, L, D}), ag_param(&params, "h", 2, (int[]){L, D}),
                   ag_param(&params, "bias", 1, (int[]){D}), FFTCONV_FFT};
    rng_fill_uniform(&r, g.u->value.data, B * L * D, -1, 1);
    rng_fill_uniform(&r, g.h->value.data, L * D, -1, 1);
    rng_fill_uniform(&r, g.bias->value.data, D, -1, 1);
    for (int p = 0; p < 2; p++) {
        g.path = p == 0 ? FFTCONV_FFT : FFTCONV_DIRECT;
        GradcheckReport rep;
        ck_assert_msg(gradcheck(build_fftconv, &g, (Var *[]){g.u, g.h, g.bias}, 3, NULL, &rep), "%s: %d of %d wrong; %s",
                      p == 0 ? "fft" : "direct", rep.n_failed, rep.n_checked, rep.worst);
    }
    arena_free(&params);
}
END_TEST

START_TEST(test_fftconv_output_before_t_ignores_inputs_after_t) {
    int B = 1, L = 200, D = 4, s = 120;
    Conv c = conv_new(B, L, D, 5);
    float *y1 = malloc(sizeof(float) * L * D), *y2 = malloc(sizeof(float) * L * D);
    for (int p = 0; p < 2; p++) {
        FftconvPath path = p == 0 ? FFTCONV_DIRECT : FFTCONV_FFT;
        fftconv_forward(y1, c.u, c.h, c.bias, B, L, D, path);
        float saved = c.u[s * D + 1];
        c.u[s * D + 1] += 100.0f;
        fftconv_forward(y2, c.u, c.h, c.bias, B, L, D, path);
        c.u[s * D + 1] = saved;
        for (int t = 0; t < s; t++)
            for (int d = 0; d < D; d++) {
                float diff = fabsf(y1[t * D + d] - y2[t * D + d]);
                if (path == FFTCONV_DIRECT) ck_assert_float_eq(diff, 0.0f);   // exactly: the sum never reads u[s]
                else ck_assert_float_le(diff, 1e-4f);                          // the FFT mixes in rounding only
            }
        ck_assert_float_gt(fabsf(y1[s * D + 1] - y2[s * D + 1]), 1.0f);       // and u[s] does reach y[s]
    }
    free(y1);
    free(y2);
    conv_free(&c);
}
END_TEST

START_TEST(test_fftconv_bits_do_not_depend_on_thread_count) {
    int B = 2, L = 500, D = 40;
    Conv c = conv_new(B, L, D, 8);
    float *gy = random_gradient((long)B * L * D, 1);
    ConvOutputs out[2];
    for (int t = 0; t < 2; t++) {
        pool_init(t + 1);
        out[t] = outputs_new(B, L, D);
        fftconv_forward(out[t].y, c.u, c.h, c.bias, B, L, D, FFTCONV_FFT);
        fftconv_backward(out[t].gu, out[t].gh, out[t].gb, gy, c.u, c.h, c.bias, B, L, D, FFTCONV_FFT);
    }
    assert_same_bits(&out[0], &out[1], B, L, D, "1 and 2 threads");
    outputs_free(&out[0]);
    outputs_free(&out[1]);
    free(gy);
    conv_free(&c);
}
END_TEST

// ag_fftconv keeps rfft(h) and rfft(u) from the forward for the backward. Kept or made again, the
// spectra are the same transforms of the same data, so every output must have the same bits, for
// each subset of gradients asked for. D = 40 leaves a last group of 8 channels, narrower than the
// others; on the direct path the buffer is not touched.
START_TEST(test_fftconv_kept_spectra_give_the_same_bits) {
    int B = 2, L = 500, D = 40;
    Conv c = conv_new(B, L, D, 9);
    size_t kept_floats = fftconv_spectra_floats(B, L, D);
    float *gy = random_gradient((long)B * L * D, 2), *kept = malloc(sizeof(float) * kept_floats);
    ConvOutputs out[2] = {outputs_new(B, L, D), outputs_new(B, L, D)};   // made again, kept
    fftconv_forward(out[0].y, c.u, c.h, c.bias, B, L, D, FFTCONV_FFT);
    fftconv_forward_keeping(out[1].y, kept, c.u, c.h, c.bias, B, L, D, FFTCONV_FFT);
    for (int ask = 1; ask < 8; ask++) {   // bit 0: gu, bit 1: gh, bit 2: gbias
        for (int k = 0; k < 2; k++) {
            outputs_zero_grads(&out[k], B, L, D);
            fftconv_backward_from(k ? kept : NULL, ask & 1 ? out[k].gu : NULL, ask & 2 ? out[k].gh : NULL,
                                  ask & 4 ? out[k].gb : NULL, gy, c.u, c.h, c.bias, B, L, D, FFTCONV_FFT);
        }
        char what[32];
        snprintf(what, sizeof what, "gradients asked: %d", ask);
        assert_same_bits(&out[0], &out[1], B, L, D, what);
    }
    ck_assert(fftconv_uses_fft(FFTCONV_AUTO, FFTCONV_DIRECT_MAX_L + 1));
    ck_assert(!fftconv_uses_fft(FFTCONV_AUTO, FFTCONV_DIRECT_MAX_L));
    for (size_t i = 0; i < kept_floats; i++) kept[i] = 7.0f;
    fftconv_forward_keeping(out[1].y, kept, c.u, c.h, c.bias, 1, 10, D, FFTCONV_DIRECT);
    for (size_t i = 0; i < kept_floats; i++) ck_assert_float_eq(kept[i], 7.0f);
    outputs_free(&out[0]);
    outputs_free(&out[1]);
    free(kept);
    free(gy);
    conv_free(&c);
}
END_TEST

Suite *fftconv_suite(void) {
    Suite *s = suite_create("fftconv");
    TCase *tc = tcase_create("fftconv");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_fftconv_forward_matches_direct_sum_for_many_lengths);
    tcase_add_test(tc, test_fftconv_backward_matches_direct_correlations);
    tcase_add_test(tc, test_gradcheck_fftconv_both_paths);
    tcase_add_test(tc, test_fftconv_output_before_t_ignores_inputs_after_t);
    tcase_add_test(tc, test_fftconv_bits_do_not_depend_on_thread_count);
    tcase_add_test(tc, test_fftconv_kept_spectra_give_the_same_bits);
    suite_add_tcase(s, tc);
    return s;
}
