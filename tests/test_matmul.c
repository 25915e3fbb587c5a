// test_matmul.c - the blocked matmul against the triple loop, and its thread independence.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/matmul.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "suites.h"

// Shapes chosen to hit every edge: 1s, sizes that are not multiples of the register tile, and
// k > KC (256) and n > NC (512) so several blocks are accumulated.
static const int shapes[][3] = {{1, 1, 1}, {1, 7, 1}, {3, 5, 2}, {9, 33, 17}, {64, 64, 64},
                                {70, 300, 45}, {13, 600, 530}, {200, 17, 600}};

// Random A, B and C for one product, and `want`, a copy of C for the computation to compare with.
typedef struct Product {
    float *a, *b, *c, *want;
} Product;

static Product random_product(Rng *r, int m, int k, int n) {
    Product p = {malloc(sizeof(float) * m * k), malloc(sizeof(float) * k * n), malloc(sizeof(float) * m * n),
                 malloc(sizeof(float) * m * n)};
    rng_fill_uniform(r, p.a, (long)m * k, -1, 1);
    rng_fill_uniform(r, p.b, (long)k * n, -1, 1);
    rng_fill_uniform(r, p.c, (long)m * n, -1, 1);
    memcpy(p.want, p.c, sizeof(float) * m * n);
    return p;
}

static void free_product(Product *p) {
    free(p->a);
    free(p->b);
    free(p->c);
    free(p->want);
}

// The scale of element (i, j)'s rounding error: float32 sums of k products err by about
// 2^-24 sqrt(k) times the root of the sum of the squared terms (random rounding errors add up
// like a random walk). With the result's own rounding to float added, the measured error was at
// most 1.7 times this scale over every shape and form below (AVX-512 and SSE2 builds); the
// tolerance is 4 times it, some 50 times tighter than the 1e-5 k it replaces.
static double error_scale(const float *a, const float *b, const float *c, int m, int k, int n, MatmulTrans t,
                          bool accumulate, int i, int j) {
    double squares = accumulate ? (double)c[(long)i * n + j] * c[(long)i * n + j] : 0;
    for (int kk = 0; kk < k; kk++) {
        double x = t == MATMUL_TN ? a[(long)kk * m + i] : a[(long)i * k + kk];
        double y = t == MATMUL_NT ? b[(long)j * k + kk] : b[(long)kk * n + j];
        squares += x * x * y * y;
    }
    return ldexp(1.0, -24) * sqrt((double)k + 1) * sqrt(squares);
}

static void check_against_reference(MatmulTrans trans, bool accumulate) {
    Rng r = rng_new(11);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], k = shapes[s][1], n = shapes[s][2];
        Product p = random_product(&r, m, k, n);
        float *c0 = malloc(sizeof(float) * m * n);
        memcpy(c0, p.c, sizeof(float) * m * n);
        matmul(p.c, p.a, p.b, m, k, n, trans, accumulate);
        matmul_reference(p.want, p.a, p.b, m, k, n, trans, accumulate);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                long at = (long)i * n + j;
                // ... plus the rounding of the result itself to float (the reference's too).
                double scale = error_scale(p.a, p.b, c0, m, k, n, trans, accumulate, i, j) + ldexp(fabs(p.want[at]), -23);
                double tol = 4 * scale + 1e-30;
                ck_assert_msg(fabs((double)p.c[at] - p.want[at]) <= tol, "%s m=%d k=%d n=%d element (%d, %d): got %.9g want %.9g (tolerance %.3g)",
                              matmul_trans_name(trans), m, k, n, i, j, p.c[at], p.want[at], tol);
            }
        free(c0);
        free_product(&p);
    }
}

START_TEST(test_matmul_nn_matches_triple_loop) { check_against_reference(MATMUL_NN, false); }
END_TEST
START_TEST(test_matmul_nt_matches_triple_loop) { check_against_reference(MATMUL_NT, false); }
END_TEST
START_TEST(test_matmul_tn_matches_triple_loop) { check_against_reference(MATMUL_TN, false); }
END_TEST
START_TEST(test_matmul_accumulate_adds_to_c) {
    check_against_reference(MATMUL_NN, true);
    check_against_reference(MATMUL_NT, true);
    check_against_reference(MATMUL_TN, true);
}
END_TEST

// The vector micro-kernel (tensor/simd.h) and its scalar twin multiply the same packed panels and
// add the products into each element in the same order; only the number of lanes per instruction
// differs. So on every target (AVX-512, AVX2, SSE2, NEON; gcc or clang) they agree to the bit.
START_TEST(test_matmul_vector_kernel_equals_scalar_kernel) {
    Rng r = rng_new(13);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = MATMUL_NN; t <= MATMUL_TN; t++) {
            int m = shapes[s][0] + 1, k = shapes[s][1], n = shapes[s][2];  // m = 1 would take the matvec path
            Product p = random_product(&r, m, k, n);
            matmul(p.c, p.a, p.b, m, k, n, (MatmulTrans)t, true);
            matmul_scalar_kernel(p.want, p.a, p.b, m, k, n, (MatmulTrans)t, true);
            for (long i = 0; i < (long)m * n; i++)
                ck_assert_msg(p.c[i] == p.want[i], "%s m=%d k=%d n=%d (tile %dx%d) element %ld: vector %.9g scalar %.9g",
                              matmul_trans_name((MatmulTrans)t), m, k, n, matmul_tile_rows(), matmul_tile_cols(), i,
                              p.c[i], p.want[i]);
            free_product(&p);
        }
}
END_TEST

// A row-major A is read where it lies (MATMUL_NN), a transposed one is packed first
// (MATMUL_TN, given Aᵀ): the kernel sees the same numbers in the same order either way, so the
// products agree to the bit, also for m that is not a multiple of the tile's rows (the last rows
// are packed in both) and over several depth blocks.
START_TEST(test_matmul_rows_read_in_place_equal_packed_rows) {
    static const int cases[][3] = {{48, 64, 40}, {53, 300, 17}, {7, 5, 33}, {200, 600, 130}};
    Rng r = rng_new(14);
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        int m = cases[s][0], k = cases[s][1], n = cases[s][2];
        Product p = random_product(&r, m, k, n);
        float *at = malloc(sizeof(float) * m * k);  // Aᵀ: [k, m]
        for (int i = 0; i < m; i++)
            for (int kk = 0; kk < k; kk++) at[(long)kk * m + i] = p.a[(long)i * k + kk];
        matmul(p.c, p.a, p.b, m, k, n, MATMUL_NN, true);
        matmul(p.want, at, p.b, m, k, n, MATMUL_TN, true);
        ck_assert_msg(memcmp(p.c, p.want, sizeof(float) * m * n) == 0, "%d x %d x %d: in place and packed differ",
                      m, k, n);
        free(at);
        free_product(&p);
    }
}
END_TEST

// On two threads a product with few rows per thread is split by columns (a weight gradient,
// 65 x 768 x 600), one with many by rows (800 x 700 x 130); one thread runs everything in
// order. Each C tile gets the same kernel calls either way: the same bits.
START_TEST(test_matmul_bits_do_not_depend_on_thread_count) {
    static const int cases[][3] = {{65, 768, 600}, {800, 700, 130}, {300, 700, 600}};
    Rng r = rng_new(12);
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        int m = cases[s][0], k = cases[s][1], n = cases[s][2];
        float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n);
        float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        rng_fill_uniform(&r, a, (long)m * k, -1, 1);
        rng_fill_uniform(&r, b, (long)k * n, -1, 1);
        for (int t = MATMUL_NN; t <= MATMUL_TN; t++) {
            pool_init(1);
            matmul(c1, a, b, m, k, n, (MatmulTrans)t, false);
            pool_init(2);
            matmul(c2, a, b, m, k, n, (MatmulTrans)t, false);
            ck_assert_msg(memcmp(c1, c2, sizeof(float) * m * n) == 0, "%s %d x %d x %d",
                          matmul_trans_name((MatmulTrans)t), m, k, n);
        }
        free(a);
        free(b);
        free(c1);
        free(c2);
    }
}
END_TEST

// The weight gradient's split over a long depth: the partial products of fixed slices, added in
// slice order, equal the triple loop; and, since the slices depend on k alone, the bits do not
// depend on the thread count.
START_TEST(test_matmul_split_k_matches_triple_loop_for_any_thread_count) {
    static const int split_shapes[][3] = {{70, 3000, 45}, {3, 2049, 8}, {64, 4096, 192}};
    Rng r = rng_new(14);
    for (size_t s = 0; s < sizeof split_shapes / sizeof split_shapes[0]; s++) {
        int m = split_shapes[s][0], k = split_shapes[s][1], n = split_shapes[s][2];
        size_t floats = matmul_split_k_floats(m, k, n);
        ck_assert_msg(floats > 0, "m=%d k=%d n=%d should be split", m, k, n);
        float *partials = malloc(floats * sizeof(float));
        Product p = random_product(&r, m, k, n);
        float *c1 = malloc(sizeof(float) * m * n);
        memcpy(c1, p.c, sizeof(float) * m * n);
        pool_init(1);
        matmul_tn_split_k(c1, p.a, p.b, m, k, n, true, partials);
        pool_init(2);
        matmul_tn_split_k(p.c, p.a, p.b, m, k, n, true, partials);
        ck_assert_int_eq(memcmp(c1, p.c, sizeof(float) * m * n), 0);
        matmul_reference(p.want, p.a, p.b, m, k, n, MATMUL_TN, true);
        for (long i = 0; i < (long)m * n; i++)
            ck_assert_msg(fabsf(p.c[i] - p.want[i]) <= 1e-5f * (float)k + 1e-6f,
                          "m=%d k=%d n=%d element %ld: got %g want %g", m, k, n, i, p.c[i], p.want[i]);
        free(c1);
        free(partials);
        free_product(&p);
    }
    ck_assert_uint_eq(matmul_split_k_floats(64, 1000, 64), 0);  // short: one slice, nothing to split
}
END_TEST

Suite *matmul_suite(void) {
    Suite *s = suite_create("matmul");
    TCase *tc = tcase_create("matmul");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_matmul_nn_matches_triple_loop);
    tcase_add_test(tc, test_matmul_nt_matches_triple_loop);
    tcase_add_test(tc, test_matmul_tn_matches_triple_loop);
    tcase_add_test(tc, test_matmul_accumulate_adds_to_c);
    tcase_add_test(tc, test_matmul_vector_kernel_equals_scalar_kernel);
    tcase_add_test(tc, test_matmul_rows_read_in_place_equal_packed_rows);
    tcase_add_test(tc, test_matmul_bits_do_not_depend_on_thread_count);
    tcase_add_test(tc, test_matmul_split_k_matches_triple_loop_for_any_thread_count);
    suite_add_tcase(s, tc);
    return s;
}
