// test_modal.c - modal filters (autograd/modal.h), Prony's method (hyena/prony.h) and the fit of
// hyena distill (train/distill.h): each against an independent computation.
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/fftconv.h"
#include "../autograd/gradcheck.h"
#include "../autograd/modal.h"
#include "../hyena/prony.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "../train/distill.h"
#include "suites.h"

// A known modal system: C channels of d modes with poles of radius 0.9 .. 0.98 at distinct angles
// in (0.2, 2.8) (no real poles, no conjugate ambiguity), residues of size about 1.
static void known_modes(int C, int d, float *poles, float *residues, Rng *rng) {
    for (int c = 0; c < C; c++)
        for (int n = 0; n < d; n++) {
            long k = ((long)c * d + n) * 2;
            double r = 0.9 + 0.08 * rng_uniform(rng), a = 0.2 + (n + 0.2 + 0.6 * rng_uniform(rng)) * 2.6 / d;
            poles[k] = (float)(r * cos(a));
            poles[k + 1] = (float)(r * sin(a));
            residues[k] = 2 * rng_uniform(rng) - 1;
            residues[k + 1] = 2 * rng_uniform(rng) - 1;
        }
}

// h[t, c] = Re sum_n R λ^t with cpow: the formula, term by term.
static double formula(const float *poles, const float *residues, int c, int d, int t) {
    double sum = 0;
    for (int n = 0; n < d; n++) {
        long k = ((long)c * d + n) * 2;
        double complex l = poles[k] + I * (double)poles[k + 1], r = residues[k] + I * (double)residues[k + 1];
        sum += creal(r * cpow(l, t));
    }
    return sum;
}

START_TEST(test_modal_filter_is_the_sum_of_damped_exponentials_at_every_position) {
    enum { C = 5, d = 3, L = 300 };
    float poles[C * d * 2], residues[C * d * 2], *h = malloc(sizeof(float) * L * C);
    Rng rng = rng_new(1);
    known_modes(C, d, poles, residues, &rng);
    modal_filter_forward(h, poles, residues, C, d, L);
    for (int t = 0; t < L; t++)
        for (int c = 0; c < C; c++) {
            double want = formula(poles, residues, c, d, t);
            ck_assert_msg(fabs(h[t * C + c] - want) <= 1e-6 * (1 + fabs(want)), "t %d c %d: %g vs %g", t, c,
                          h[t * C + c], want);
        }
    free(h);
}
END_TEST

typedef struct ModalGraph {
    Var *rate, *angle, *res;
} ModalGraph;

static Var *build_modal(Tape *t, void *ctx) {
    ModalGraph *g = ctx;
    return ag_modal_filter(t, g->rate, g->angle, g->res, 12);
}

START_TEST(test_gradcheck_modal_filter) {
    Arena arena;
    arena_init(&arena, 0);
    Rng rng = rng_new(2);
    ModalGraph g = {ag_param(&arena, "log_rate", 2, (int[]){2, 3}), ag_param(&arena, "angle", 2, (int[]){2, 3}),
                    ag_param(&arena, "residues", 3, (int[]){2, 3, 2})};
    rng_fill_uniform(&rng, g.rate->value.data, 6, -3.0f, -1.0f);  // |λ| from 0.7 to 0.95
    rng_fill_uniform(&rng, g.angle->value.data, 6, 0.1f, 3.0f);
    rng_fill_uniform(&rng, g.res->value.data, 12, -1.0f, 1.0f);
    GradcheckReport rep;
    bool ok = gradcheck(build_modal, &g, (Var *[]){g.rate, g.angle, g.res}, 3, NULL, &rep);
    ck_assert_msg(ok, "%d of %d elements wrong; worst %s", rep.n_failed, rep.n_checked, rep.worst);
    ck_assert_int_eq(rep.n_checked, 6 + 6 + 12);
    arena_free(&arena);
}
END_TEST

// The recurrence x_n <- λ_n x_n + u, y = Re sum R_n x_n + bias u against the FFT convolution with
// the modal filter (and its bias), at every position of a 500-step sequence: within 2e-5 of the
// output's scale (float recurrence against float FFTs).
START_TEST(test_recurrence_equals_fft_convolution_with_the_modal_filter) {
    enum { C = 4, d = 5, L = 500 };
    float poles[C * d * 2], residues[C * d * 2], bias[C], state[C * d * 2] = {0};
    float *h = malloc(sizeof(float) * L * C), *u = malloc(sizeof(float) * L * C);
    float *y_fft = malloc(sizeof(float) * L * C), *y_rec = malloc(sizeof(float) * L * C);
    Rng rng = rng_new(3);
    known_modes(C, d, poles, residues, &rng);
    rng_fill_uniform(&rng, bias, C, -1, 1);
    rng_fill_uniform(&rng, u, L * C, -1, 1);
    modal_filter_forward(h, poles, residues, C, d, L);
    fftconv_forward(y_fft, u, h, bias, 1, L, C, FFTCONV_FFT);
    modal_scan(y_rec, u, poles, residues, bias, state, L, C, d);
    double scale = 0;
    for (int i = 0; i < L * C; i++) scale = fabs(y_fft[i]) > scale ? fabs(y_fft[i]) : scale;  // (fmax: gcc 12 aarch64 ICE)
    for (int t = 0; t < L; t++)
        for (int c = 0; c < C; c++)
            ck_assert_msg(fabs(y_rec[t * C + c] - y_fft[t * C + c]) <= 2e-5 * scale, "t %d c %d: recurrence %g, FFT %g",
                          t, c, y_rec[t * C + c], y_fft[t * C + c]);
    free(h);
    free(u);
    free(y_fft);
    free(y_rec);
}
END_TEST

START_TEST(test_lstsq_solves_a_consistent_overdetermined_system) {
    enum { rows = 9, cols = 4 };
    double A[rows * cols], b[rows], x[cols], want[cols] = {1.5, -2, 0.25, 3};
    Rng rng = rng_new(4);
    for (int i = 0; i < rows * cols; i++) A[i] = 2 * rng_uniform(&rng) - 1;
    for (int r = 0; r < rows; r++) {
        b[r] = 0;
        for (int k = 0; k < cols; k++) b[r] += A[r * cols + k] * want[k];
    }
    lstsq(A, b, rows, cols, x);
    for (int k = 0; k < cols; k++) ck_assert_msg(fabs(x[k] - want[k]) < 1e-12, "x[%d] = %.17g", k, x[k]);
}
END_TEST

START_TEST(test_poly_roots_finds_the_roots_of_a_product_of_factors) {
    double complex want[4] = {0.5, -0.25, 0.3 + 0.8 * I, 0.3 - 0.8 * I}, got[4];
    // (z - w0)(z - w1)(z - w2)(z - w3), expanded: coefficients after the leading 1.
    double complex c[5] = {1, 0, 0, 0, 0};
    for (int k = 0; k < 4; k++)
        for (int i = k + 1; i >= 1; i--) c[i] -= want[k] * c[i - 1];
    double a[4];
    for (int i = 0; i < 4; i++) a[i] = creal(c[i + 1]);
    poly_roots(a, 4, got);
    for (int k = 0; k < 4; k++) {
        double best = INFINITY;
        for (int j = 0; j < 4; j++) best = fmin(best, cabs(got[j] - want[k]));
        ck_assert_msg(best < 1e-12, "root %d (%g%+gi) missed by %g", k, creal(want[k]), cimag(want[k]), best);
    }
}
END_TEST

static int by_angle(const void *a, const void *b) {
    const float *x = a, *y = b;
    double ax = atan2(x[1], x[0]), ay = atan2(y[1], y[0]);
    return (ax > ay) - (ax < ay);
}

// The acceptance test: a filter made from a known modal system of order d is fitted back
// to its poles and residues within 1e-4 relative (Prony finds them; AdamW must not lose them).
static void check_fit_recovers_known_modes(int steps) {
    enum { C = 3, d = 4, L = 256 };
    float poles[C * d * 2], residues[C * d * 2], got_p[C * d * 2], got_r[C * d * 2];
    float *h = malloc(sizeof(float) * L * C);
    Rng rng = rng_new(5);
    known_modes(C, d, poles, residues, &rng);
    modal_filter_forward(h, poles, residues, C, d, L);
    DistillOptions o = distill_options_default(d);
    o.steps = steps;
    double err = distill_fit(h, L, C, &o, got_p, got_r);
    ck_assert_msg(err < 1e-5, "relative filter error %g", err);
    // Both sides by angle: the modes of a channel are only defined up to order.
    float want[C * d][4], have[C * d][4];
    for (int k = 0; k < C * d; k++) {
        memcpy(want[k], poles + 2 * k, sizeof(float) * 2);
        memcpy(want[k] + 2, residues + 2 * k, sizeof(float) * 2);
        memcpy(have[k], got_p + 2 * k, sizeof(float) * 2);
        memcpy(have[k] + 2, got_r + 2 * k, sizeof(float) * 2);
    }
    for (int c = 0; c < C; c++) {
        qsort(want[c * d], d, sizeof want[0], by_angle);
        qsort(have[c * d], d, sizeof have[0], by_angle);
        for (int n = 0; n < d; n++) {
            const float *w = want[c * d + n], *g = have[c * d + n];
            double dp = hypot(g[0] - w[0], g[1] - w[1]) / hypot(w[0], w[1]);
            double dr = hypot(g[2] - w[2], g[3] - w[3]) / hypot(w[2], w[3]);
            ck_assert_msg(dp <= 1e-4 && dr <= 1e-4,
                          "channel %d mode %d: pole %g%+gi for %g%+gi (%.2g), residue %g%+gi for %g%+gi (%.2g)", c, n,
                          g[0], g[1], w[0], w[1], dp, g[2], g[3], w[2], w[3], dr);
        }
    }
    free(h);
}

START_TEST(test_prony_alone_recovers_a_known_modal_system) { check_fit_recovers_known_modes(0); }
END_TEST
START_TEST(test_distill_fit_recovers_a_known_modal_system_within_1e_4) { check_fit_recovers_known_modes(300); }
END_TEST

// A filter that is not a sum of few exponentials (a power law, as long-memory filters are): the
// gradient steps must improve on Prony's start, not just keep it.
START_TEST(test_distill_fit_improves_on_prony_for_a_filter_that_is_not_modal) {
    enum { C = 2, L = 512, d = 3 };
    float *h = malloc(sizeof(float) * L * C), p[C * d * 2], r[C * d * 2];
    for (int t = 0; t < L; t++) {
        h[t * C] = (float)pow(1.0 + t, -1.2);
        h[t * C + 1] = (float)(cos(0.3 * t) / (1.0 + 0.05 * t));
    }
    DistillOptions o = distill_options_default(d);
    o.steps = 0;
    double prony = distill_fit(h, L, C, &o, p, r);
    o.steps = 300;
    double fitted = distill_fit(h, L, C, &o, p, r);
    ck_assert_msg(fitted < 0.8 * prony, "Prony %.4g, after 300 steps %.4g", prony, fitted);
    for (int k = 0; k < C * d; k++) ck_assert_msg(hypot(p[2 * k], p[2 * k + 1]) < 1.0, "pole %d outside", k);
    free(h);
}
END_TEST

// The Hankel matrix of d complex modes has rank 2d: 2d singular values, then (float) noise.
START_TEST(test_hankel_singular_values_count_the_modes) {
    enum { d = 3, L = 200 };
    float poles[d * 2], residues[d * 2], h[L];
    Rng rng = rng_new(8);
    known_modes(1, d, poles, residues, &rng);
    modal_filter_forward(h, poles, residues, 1, d, L);
    double sv[99];
    ck_assert_int_eq(hankel_singular_values(h, 1, L, 99, sv), 99);
    for (int k = 0; k < 98; k++) ck_assert(sv[k] >= sv[k + 1]);
    ck_assert_msg(sv[2 * d - 1] > 1e-3 * sv[0], "sigma_%d = %g of %g", 2 * d, sv[2 * d - 1], sv[0]);
    ck_assert_msg(sv[2 * d] < 1e-5 * sv[0], "sigma_%d = %g of %g", 2 * d + 1, sv[2 * d], sv[0]);
}
END_TEST

// One real exponential a^t: H[i][j] = a^(i+j+1) = a (a^i)(a^j), rank one, sigma = a sum_i a^2i.
START_TEST(test_hankel_singular_value_of_one_exponential_is_exact) {
    float h[41];
    for (int t = 0; t < 41; t++) h[t] = (float)pow(0.9, t);
    double sv[20], want = 0;
    ck_assert_int_eq(hankel_singular_values(h, 1, 41, 64, sv), 20);
    for (int i = 0; i < 20; i++) want += 0.9 * pow(0.81, i);
    ck_assert_msg(fabs(sv[0] - want) < 1e-5 * want, "sigma_1 %.9g, want %.9g", sv[0], want);
    ck_assert_msg(sv[1] < 1e-6 * want, "sigma_2 %g", sv[1]);
}
END_TEST

// With the right poles, least squares gives the residues back.
START_TEST(test_prony_residues_recovers_residues_for_known_poles) {
    enum { d = 4, L = 150 };
    float poles[d * 2], residues[d * 2], got[d * 2], h[L];
    Rng rng = rng_new(10);
    known_modes(1, d, poles, residues, &rng);
    modal_filter_forward(h, poles, residues, 1, d, L);
    prony_residues(h, 1, L, d, poles, got);
    for (int k = 0; k < 2 * d; k++) ck_assert_msg(fabsf(got[k] - residues[k]) < 1e-4f, "%d: %g vs %g", k, got[k], residues[k]);
}
END_TEST

Suite *modal_suite(void) {
    Suite *s = suite_create("modal");
    TCase *tc = tcase_create("modal");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_add_test(tc, test_modal_filter_is_the_sum_of_damped_exponentials_at_every_position);
    tcase_add_test(tc, test_gradcheck_modal_filter);
    tcase_add_test(tc, test_recurrence_equals_fft_convolution_with_the_modal_filter);
    tcase_add_test(tc, test_lstsq_solves_a_consistent_overdetermined_system);
    tcase_add_test(tc, test_poly_roots_finds_the_roots_of_a_product_of_factors);
    tcase_add_test(tc, test_prony_alone_recovers_a_known_modal_system);
    tcase_add_test(tc, test_distill_fit_recovers_a_known_modal_system_within_1e_4);
    tcase_add_test(tc, test_distill_fit_improves_on_prony_for_a_filter_that_is_not_modal);
    tcase_add_test(tc, test_hankel_singular_values_count_the_modes);
    tcase_add_test(tc, test_hankel_singular_value_of_one_exponential_is_exact);
    tcase_add_test(tc, test_prony_residues_recovers_residues_for_known_poles);
    suite_add_tcase(s, tc);
    return s;
}
