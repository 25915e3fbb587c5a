// test_tensor.c - tensors, the arena, the pool, the PRNG and every non-matmul kernel against a
// naive loop computed in double.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/arena.h"
#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "../tensor/tensor.h"
#include "suites.h"

static void fill(Rng *rng, float *x, long n, float lo, float hi) { rng_fill_uniform(rng, x, n, lo, hi); }

// |got - want| <= tol * (1 + |want|) for every element
static void assert_close(const float *got, const double *want, long n, double tol) {
    for (long i = 0; i < n; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol * (1.0 + fabs(want[i])), "element %ld: got %.9g, want %.9g",
                      i, got[i], want[i]);
}

// ---------------------------------------------------------------- tensors and the arena

START_TEST(test_tensor_new_keeps_shape_and_size) {
    Arena arena;
    arena_init(&arena, 0);
    Tensor t = tensor_new(&arena, 3, (int[]){2, 3, 4});
    ck_assert_int_eq(t.rank, 3);
    ck_assert_int_eq(t.size, 24);
    ck_assert_int_eq(t.shape[2], 4);
    ck_assert_int_eq(t.shape[3], 1);
    ck_assert_int_eq(tensor_last_dim(&t), 4);
    ck_assert_int_eq(tensor_numel(&t, 0, 2), 6);
    char buf[32];
    ck_assert_str_eq(tensor_shape_str(&t, buf, sizeof buf), "[2, 3, 4]");
    Tensor z = tensor_zeros(&arena, 0, NULL);
    ck_assert_int_eq(z.size, 1);
    ck_assert_float_eq(z.data[0], 0.0f);
    arena_free(&arena);
}
END_TEST

START_TEST(test_arena_returns_64_byte_aligned_memory) {
    Arena arena;
    arena_init(&arena, 4096);
    for (int i = 1; i < 100; i++) {
        void *p = arena_alloc(&arena, (size_t)i * 7);
        ck_assert_int_eq((uintptr_t)p % ARENA_ALIGN, 0);
    }
    arena_free(&arena);
}
END_TEST

// One "training step": the same sequence of allocations, as a model's forward and backward make.
static void fake_step(Arena *arena) {
    for (int i = 0; i < 50; i++) {
        float *p = arena_alloc(arena, (size_t)(1000 + 37 * i) * sizeof(float));
        p[0] = 1.0f;
    }
    arena_alloc(arena, (size_t)3 << 20);  // one activation larger than a block
}

START_TEST(test_arena_reused_over_many_steps_does_not_grow) {
    Arena arena;
    arena_init(&arena, 64 << 10);
    fake_step(&arena);
    size_t capacity = arena_capacity(&arena), high = arena.high_water;
    int blocks = arena.n_blocks;
    for (int step = 0; step < 200; step++) {
        arena_reset(&arena);
        ck_assert_int_eq(arena.used, 0);
        fake_step(&arena);
    }
    ck_assert_int_eq(arena_capacity(&arena), capacity);
    ck_assert_int_eq(arena.n_blocks, blocks);
    ck_assert_int_eq(arena.high_water, high);
    arena_free(&arena);
    ck_assert_ptr_null(arena.first);
}
END_TEST

START_TEST(test_arena_calloc_zeroes_reused_memory) {
    Arena arena;
    arena_init(&arena, 0);
    float *p = arena_alloc(&arena, 64 * sizeof(float));
    for (int i = 0; i < 64; i++) p[i] = 5.0f;
    arena_reset(&arena);
    float *q = arena_calloc(&arena, 64 * sizeof(float));
    ck_assert_ptr_eq(p, q);
    for (int i = 0; i < 64; i++) ck_assert_float_eq(q[i], 0.0f);
    arena_free(&arena);
}
END_TEST

// ---------------------------------------------------------------- the pool

typedef struct CoverJob {
    int *hits;
} CoverJob;

static void count_hits(void *ctx, long begin, long end) {
    CoverJob *j = ctx;
    for (long i = begin; i < end; i++) j->hits[i]++;  // each index belongs to exactly one chunk
}

START_TEST(test_parallel_for_visits_every_index_once) {
    static int hits[10007];
    CoverJob j = {hits};
    long sizes[] = {1, 2, 13, 1000, 10007};
    long grains[] = {1, 3, 64, 5000};
    for (size_t s = 0; s < 5; s++)
        for (size_t g = 0; g < 4; g++) {
            memset(hits, 0, sizeof hits);
            parallel_for(sizes[s], grains[g], count_hits, &j);
            for (long i = 0; i < sizes[s]; i++) ck_assert_int_eq(hits[i], 1);
        }
    ck_assert_int_eq(pool_threads(), 2);
}
END_TEST

static void nested(void *ctx, long begin, long end) {
    CoverJob *j = ctx;
    for (long i = begin; i < end; i++) {
        CoverJob inner = {j->hits + i * 10};
        parallel_for(10, 3, count_hits, &inner);  // runs serially inside a chunk
    }
}

START_TEST(test_parallel_for_nested_call_runs_serially) {
    static int hits[100];
    memset(hits, 0, sizeof hits);
    CoverJob j = {hits};
    parallel_for(10, 1, nested, &j);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(hits[i], 1);
}
END_TEST

// The pool works alone for a while when a thread gets less than 85% of its core in two 20 ms
// windows in a row (tensor/pool.c). Readings are fed by hand: the policy, not the clock.
START_TEST(test_pool_cpu_share_needs_two_low_windows_in_a_row) {
    PoolCpuShare s;
    pool_cpu_share_start(&s, 0, 0);
    ck_assert(!pool_cpu_share_starved(&s, 5000, 10000));   // half a window: not judged yet
    ck_assert(!pool_cpu_share_starved(&s, 10000, 20000));  // 50%: one low window proves nothing
    ck_assert(pool_cpu_share_starved(&s, 20000, 40000));   // 50% again: sharing its core
    ck_assert(!pool_cpu_share_starved(&s, 30000, 60000));  // a new count starts
    ck_assert(!pool_cpu_share_starved(&s, 49000, 80000));  // 95%: the count is back at zero
    ck_assert(!pool_cpu_share_starved(&s, 59000, 100000));
}
END_TEST

START_TEST(test_pool_cpu_share_does_not_count_sleep_as_starving) {
    PoolCpuShare s;
    pool_cpu_share_start(&s, 0, 0);
    for (int w = 1; w <= 4; w++) {
        s.slept_us = 10000;  // asleep for want of work half of every window, busy the other half
        ck_assert(!pool_cpu_share_starved(&s, 10000.0 * w, 20000.0 * w));
    }
}
END_TEST

// ---------------------------------------------------------------- the PRNG

START_TEST(test_rng_same_seed_gives_same_stream) {
    Rng a = rng_new(42), b = rng_new(42), c = rng_new(43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_next(&a);
        ck_assert_uint_eq(x, rng_next(&b));
        differ += x != rng_next(&c);
    }
    ck_assert_int_gt(differ, 95);
}
END_TEST

START_TEST(test_rng_saved_state_continues_the_stream) {
    Rng r = rng_new(7);
    for (int i = 0; i < 10; i++) rng_normal(&r);
    Rng saved = r;  // a checkpoint stores exactly these four words
    float expect[5];
    for (int i = 0; i < 5; i++) expect[i] = rng_normal(&r);
    for (int i = 0; i < 5; i++) ck_assert_float_eq(rng_normal(&saved), expect[i]);
}
END_TEST

START_TEST(test_rng_distributions_have_the_right_moments) {
    Rng r = rng_new(1);
    int n = 200000;
    double su = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; i++) {
        float u = rng_uniform(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
        su += u;
        float z = rng_normal(&r);
        sn += z;
        sn2 += (double)z * z;
    }
    ck_assert_double_lt(fabs(su / n - 0.5), 0.005);
    ck_assert_double_lt(fabs(sn / n), 0.01);
    ck_assert_double_lt(fabs(sn2 / n - 1.0), 0.02);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) counts[rng_below(&r, 7)]++;
    for (int k = 0; k < 7; k++) ck_assert_int_lt(abs(counts[k] - 10000), 400);
}
END_TEST

// ---------------------------------------------------------------- kernels against naive loops

START_TEST(test_add_and_mul_broadcast_match_naive_loops) {
    Rng r = rng_new(3);
    long outer = 37, inner = 1000;  // > one chunk, so the pool splits it
    static float a[37000], b[1000], out[37000];
    static double want[37000];
    fill(&r, a, outer * inner, -2, 2);
    fill(&r, b, inner, -2, 2);
    add_broadcast(out, a, b, outer, inner);
    for (long o = 0; o < outer; o++)
        for (long i = 0; i < inner; i++) want[o * inner + i] = (double)a[o * inner + i] + b[i];
    assert_close(out, want, outer * inner, 1e-7);
    mul_broadcast(out, a, b, outer, inner);
    for (long o = 0; o < outer; o++)
        for (long i = 0; i < inner; i++) want[o * inner + i] = (double)a[o * inner + i] * b[i];
    assert_close(out, want, outer * inner, 1e-7);
    scale(out, a, -0.5f, outer * inner);
    for (long i = 0; i < outer * inner; i++) want[i] = -0.5 * a[i];
    assert_close(out, want, outer * inner, 1e-7);
}
END_TEST

// One row only (a residual add, a gate): the pool splits the row into chunks of columns.
START_TEST(test_add_and_mul_of_same_shape_arrays_match_naive_loops) {
    Rng r = rng_new(5);
    long n = 50000;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n);
    double *want = malloc(sizeof(double) * n);
    fill(&r, a, n, -2, 2);
    fill(&r, b, n, -2, 2);
    add_broadcast(out, a, b, 1, n);
    for (long i = 0; i < n; i++) want[i] = (double)a[i] + b[i];
    assert_close(out, want, n, 1e-7);
    mul_broadcast(out, a, b, 1, n);
    for (long i = 0; i < n; i++) want[i] = (double)a[i] * b[i];
    assert_close(out, want, n, 1e-7);
    free(a);
    free(b);
    free(out);
    free(want);
}
END_TEST

// Both ways of summing columns: by blocks of rows (many rows, a bias gradient) and by chunks of
// columns (few rows), plain and weighted, against a double loop; same bits on 1 and 2 threads.
START_TEST(test_column_sum_add_matches_naive_loop_for_any_thread_count) {
    static const long shapes[][2] = {{20000, 3}, {5000, 64}, {3, 50000}, {1, 7}};
    Rng r = rng_new(6);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        long outer = shapes[s][0], inner = shapes[s][1];
        float *g = malloc(sizeof(float) * outer * inner), *w = malloc(sizeof(float) * outer * inner);
        float *out1 = malloc(sizeof(float) * inner), *out2 = malloc(sizeof(float) * inner);
        double *want = malloc(sizeof(double) * inner);
        size_t floats = column_sum_scratch(outer, inner);
        ck_assert(s >= 2 || floats > 0);  // the first two shapes take the row-block path
        float *partials = floats ? malloc(floats * sizeof(float)) : NULL;
        fill(&r, g, outer * inner, -1, 1);
        fill(&r, w, outer * inner, -1, 1);
        for (int weighted = 0; weighted < 2; weighted++) {
            fill(&r, out1, inner, -1, 1);
            memcpy(out2, out1, sizeof(float) * inner);
            for (long i = 0; i < inner; i++) {
                want[i] = out1[i];
                for (long o = 0; o < outer; o++) want[i] += (double)g[o * inner + i] * (weighted ? w[o * inner + i] : 1.0);
            }
            pool_init(1);
            column_sum_add(out1, g, weighted ? w : NULL, outer, inner, partials);
            pool_init(2);
            column_sum_add(out2, g, weighted ? w : NULL, outer, inner, partials);
            ck_assert_int_eq(memcmp(out1, out2, sizeof(float) * inner), 0);
            assert_close(out1, want, inner, 2e-7 * (double)outer);
        }
        free(g);
        free(w);
        free(out1);
        free(out2);
        free(want);
        free(partials);
    }
}
END_TEST

START_TEST(test_unary_kernels_match_libm_in_double) {
    Rng r = rng_new(4);
    long n = 40000;
    static float a[40000], out[40000];
    static double want[40000];
    fill(&r, a, n, 0.05f, 4.0f);  // positive, for log
    UnaryOp ops[] = {UNARY_EXP, UNARY_LOG, UNARY_SIN, UNARY_TANH, UNARY_GELU};
    for (int k = 0; k < 5; k++) {
        unary(out, a, n, ops[k]);
        for (long i = 0; i < n; i++) {
            double x = a[i];
            switch (ops[k]) {
            case UNARY_EXP: want[i] = exp(x); break;
            case UNARY_LOG: want[i] = log(x); break;
            case UNARY_SIN: want[i] = sin(x); break;
            case UNARY_TANH: want[i] = tanh(x); break;
            case UNARY_GELU: want[i] = 0.5 * x * (1.0 + erf(x / sqrt(2.0))); break;
            }
        }
        assert_close(out, want, n, 1e-6);
    }
}
END_TEST

// vmath.h's exp and GELU, which replace libm's calls so that loops over them vectorize, checked on
// a dense grid against double precision, negative tail included (where 1 + erf(x) cancels).
START_TEST(test_vexp_and_gelu_match_double_precision_on_a_dense_grid) {
    // Bounds: about twice the worst error measured (vexp 2.4e-7 relative; gelu 1.25e-7 max(1,|x|);
    // gelu_derivative 2.2e-7).
    int bad_exp = 0, bad_gelu = 0, bad_grad = 0;
    for (int i = 0; i < 250000; i++) {
        float x = -87.0f + 0.0007f * (float)i;
        double want = exp((double)x);
        bad_exp += fabs(vexp(x) - want) > 3e-7 * want;
    }
    for (int i = 0; i < 240000; i++) {
        float x = -12.0f + 0.0001f * (float)i;
        double X = x, cdf = 0.5 * erfc(-X / sqrt(2.0));
        double gelu_want = X * cdf, grad_want = cdf + X * exp(-0.5 * X * X) / sqrt(2.0 * 3.14159265358979323846);
        bad_gelu += fabs(gelu(x) - gelu_want) > 2.5e-7 * fmax(1.0, fabs(X));
        bad_grad += fabs(gelu_derivative(x) - grad_want) > 4e-7;
    }
    ck_assert_msg(bad_exp == 0, "vexp: %d of 250000 points off by more than 3e-7 relative", bad_exp);
    ck_assert_msg(bad_gelu == 0, "gelu: %d of 240000 points off by more than 2.5e-7 max(1, |x|)", bad_gelu);
    ck_assert_msg(bad_grad == 0, "gelu_derivative: %d of 240000 points off by more than 4e-7", bad_grad);
    ck_assert_float_eq(vexp(-1000.0f), 0.0f);  // underflow gives 0, never NaN or negative
    ck_assert(isinf(vexp(1000.0f)) || vexp(1000.0f) > 1e38f);
    // NaN passes through (a NaN loss must stay visible), without converting NaN to an integer on
    // the way, which is undefined behaviour (a fuzzed checkpoint with NaN weights found it).
    ck_assert(isnan(vexp(NAN)) && isnan(gelu(NAN)) && isnan(gelu_derivative(NAN)));
    ck_assert_float_eq(gelu(-30.0f), 0.0f);
    ck_assert_float_eq(gelu(30.0f), 30.0f);
}
END_TEST

// The vector twins of vexp, Phi and gelu' (vmath.h), which the GELU loops call, against the
// scalar functions: the same operations in the same order, so the same bits, lane by lane, on
// the dense grid and at the edges (underflow, overflow, NaN, -0).
static bool same_float(float x, float y) { return x == y ? signbit(x) == signbit(y) : isnan(x) && isnan(y); }

START_TEST(test_gelu_vector_functions_equal_the_scalar_ones) {
    static const float edges[] = {NAN, -0.0f, 0.0f, -1000.0f, 1000.0f, -87.5f, 88.5f, -30.0f, 30.0f, -1e-30f, 5.0f};
    int n_grid = 240000, n = n_grid + (int)(sizeof edges / sizeof edges[0]), differ = 0;
    for (int i0 = 0; i0 < n; i0 += VEC_FLOATS) {
        float x[VEC_FLOATS], cdf[VEC_FLOATS], e[VEC_FLOATS], d[VEC_FLOATS];
        for (int l = 0; l < VEC_FLOATS; l++) {
            int i = i0 + l < n ? i0 + l : n - 1;
            x[l] = i < n_grid ? -12.0f + 0.0001f * (float)i : edges[i - n_grid];
        }
        vecf xv = vec_load(x), cdfv = normal_cdf_vec(xv);
        vec_store(cdf, cdfv);
        vec_store(e, vexp_vec(xv));
        vec_store(d, gelu_derivative_given_cdf_vec(xv, cdfv));
        for (int l = 0; l < VEC_FLOATS; l++)
            if (!same_float(cdf[l], normal_cdf(x[l])) || !same_float(e[l], vexp(x[l])) ||
                !same_float(d[l], gelu_derivative_given_cdf(x[l], normal_cdf(x[l]))))
                ck_assert_msg(++differ < 5, "x = %.9g: Phi %.9g vs %.9g, exp %.9g vs %.9g, gelu' %.9g vs %.9g", x[l],
                              cdf[l], normal_cdf(x[l]), e[l], vexp(x[l]), d[l],
                              gelu_derivative_given_cdf(x[l], normal_cdf(x[l])));
    }
    ck_assert_int_eq(differ, 0);
}
END_TEST

// The GELU loops give every element the vector function's bits, wherever a chunk or the array
// ends: a length that is not a multiple of VEC_FLOATS, in place and not, and gelu_with_cdf.
START_TEST(test_gelu_loops_give_every_element_the_same_bits) {
    long n = 3 * 16384 + 5;   // several chunks of the pool, and a ragged end
    float *a = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * n), *cdf = malloc(sizeof(float) * n);
    float *inplace = malloc(sizeof(float) * n);
    Rng r = rng_new(21);
    rng_fill_uniform(&r, a, n, -6, 6);
    memcpy(inplace, a, sizeof(float) * n);
    unary(out, a, n, UNARY_GELU);
    unary(inplace, inplace, n, UNARY_GELU);
    float *out2 = malloc(sizeof(float) * n);
    gelu_with_cdf(out2, cdf, a, n);
    for (long i = 0; i < n; i++) {
        ck_assert_msg(same_float(out[i], gelu(a[i])), "element %ld: %.9g, gelu() %.9g", i, out[i], gelu(a[i]));
        ck_assert(same_float(inplace[i], out[i]) && same_float(out2[i], out[i]));
        ck_assert(same_float(cdf[i], normal_cdf(a[i])));
    }
    free(a);
    free(out);
    free(out2);
    free(cdf);
    free(inplace);
}
END_TEST

// vmath.h's sin and cos against double on a grid over their whole reach, |x| <= VTRIG_MAX_ARG,
// where the reduction x - j pi/2 is hardest (bound: about twice the 9.5e-8 measured).
START_TEST(test_vsin_and_vcos_match_double_precision_within_their_reach) {
    int bad_sin = 0, bad_cos = 0;
    for (int i = 0; i <= 2400000; i++) {
        float x = -VTRIG_MAX_ARG + (2 * VTRIG_MAX_ARG) * (float)i / 2400000.0f;
        bad_sin += fabs(vsin(x) - sin((double)x)) > 2e-7;
        bad_cos += fabs(vcos(x) - cos((double)x)) > 2e-7;
    }
    ck_assert_msg(bad_sin == 0, "vsin: %d points off by more than 2e-7", bad_sin);
    ck_assert_msg(bad_cos == 0, "vcos: %d points off by more than 2e-7", bad_cos);
    ck_assert_float_eq(vsin(0.0f), 0.0f);
    ck_assert_float_eq(vcos(0.0f), 1.0f);
}
END_TEST

// trig_span hands what vsin cannot reduce to libm, one element at a time, and every other element
// keeps vsin's bits whatever shares its block: a span's bits do not depend on where it starts.
START_TEST(test_trig_span_gives_libm_beyond_reach_and_vsin_within) {
    enum { N = 700 };
    static float a[N], out[N], shifted[N];
    Rng r = rng_new(11);
    fill(&r, a, N, -20.0f, 20.0f);
    float wild[] = {1e5f, -3e4f, 1e30f, INFINITY, -INFINITY, NAN, VTRIG_MAX_ARG * 1.001f};
    for (int k = 0; k < 7; k++) a[100 * k + 3] = wild[k];
    for (int cosine = 0; cosine < 2; cosine++) {
        trig_span(out, a, N, cosine);
        trig_span(shifted + 5, a + 5, N - 5, cosine);
        for (int i = 0; i < N; i++) {
            float want = fabsf(a[i]) <= VTRIG_MAX_ARG ? (cosine ? vcos(a[i]) : vsin(a[i]))
                                                       : (cosine ? cosf(a[i]) : sinf(a[i]));
            ck_assert_msg(memcmp(&out[i], &want, sizeof want) == 0 || (isnan(out[i]) && isnan(want)),
                          "%s(%g): %.9g, want %.9g", cosine ? "cos" : "sin", a[i], out[i], want);
            if (i >= 5) ck_assert(memcmp(&out[i], &shifted[i], sizeof(float)) == 0 || isnan(out[i]));
        }
    }
    memcpy(shifted, a, sizeof a);
    trig_span(shifted, shifted, N, false);   // in place, as generation may call it
    trig_span(out, a, N, false);
    for (int i = 0; i < N; i++) ck_assert(memcmp(&out[i], &shifted[i], sizeof(float)) == 0 || isnan(out[i]));
}
END_TEST

START_TEST(test_sum_mean_softmax_over_last_axis_match_naive_loops) {
    Rng r = rng_new(5);
    long rows = 50, cols = 77;
    static float a[50 * 77], out[50 * 77];
    static double want[50 * 77];
    fill(&r, a, rows * cols, -5, 5);
    sum_last(out, a, rows, cols);
    for (long i = 0; i < rows; i++) {
        want[i] = 0;
        for (long c = 0; c < cols; c++) want[i] += a[i * cols + c];
    }
    assert_close(out, want, rows, 1e-6);
    mean_last(out, a, rows, cols);
    for (long i = 0; i < rows; i++) want[i] /= (double)cols;
    assert_close(out, want, rows, 1e-6);
    a[3] = 80.0f;  // exp(80) overflows float: softmax must subtract the max
    softmax_last(out, a, rows, cols);
    for (long i = 0; i < rows; i++) {
        double max = -INFINITY, z = 0;
        for (long c = 0; c < cols; c++) max = a[i * cols + c] > max ? a[i * cols + c] : max;  // (fmax: gcc 12 aarch64 ICE)
        for (long c = 0; c < cols; c++) z += exp(a[i * cols + c] - max);
        for (long c = 0; c < cols; c++) want[i * cols + c] = exp(a[i * cols + c] - max) / z;
    }
    assert_close(out, want, rows * cols, 1e-6);
}
END_TEST

START_TEST(test_layernorm_matches_naive_loop) {
    Rng r = rng_new(6);
    long rows = 33, cols = 48;
    static float x[33 * 48], y[33 * 48], gamma[48], beta[48], mean[33], rstd[33];
    static double want[33 * 48];
    fill(&r, x, rows * cols, -3, 3);
    fill(&r, gamma, cols, 0.5f, 1.5f);
    fill(&r, beta, cols, -1, 1);
    layernorm_last(y, mean, rstd, x, gamma, beta, rows, cols, 1e-5f);
    for (long i = 0; i < rows; i++) {
        double m = 0, v = 0;
        for (long c = 0; c < cols; c++) m += x[i * cols + c];
        m /= cols;
        for (long c = 0; c < cols; c++) v += (x[i * cols + c] - m) * (x[i * cols + c] - m);
        v /= cols;
        ck_assert_double_lt(fabs(mean[i] - m), 1e-6);
        ck_assert_double_lt(fabs(rstd[i] - 1.0 / sqrt(v + 1e-5)), 1e-5 / sqrt(v));
        for (long c = 0; c < cols; c++)
            want[i * cols + c] = (x[i * cols + c] - m) / sqrt(v + 1e-5) * gamma[c] + beta[c];
    }
    assert_close(y, want, rows * cols, 1e-5);
}
END_TEST

START_TEST(test_embedding_gather_and_scatter_add_match_naive_loops) {
    Rng r = rng_new(7);
    long V = 11, D = 5, n = 20;
    float table[55], out[100], gtable[55] = {0}, gout[100];
    double want[100], want_g[55] = {0};
    int32_t ids[20];
    fill(&r, table, V * D, -1, 1);
    fill(&r, gout, n * D, -1, 1);
    for (long i = 0; i < n; i++) ids[i] = (int32_t)rng_below(&r, (uint32_t)V);
    ids[0] = ids[1] = 3;  // a repeated token
    embedding_gather(out, table, ids, n, D, V);
    embedding_scatter_add(gtable, gout, ids, n, D);
    for (long i = 0; i < n; i++)
        for (long d = 0; d < D; d++) {
            want[i * D + d] = table[ids[i] * D + d];
            want_g[ids[i] * D + d] += gout[i * D + d];
        }
    assert_close(out, want, n * D, 0);
    assert_close(gtable, want_g, V * D, 1e-6);
}
END_TEST

START_TEST(test_cross_entropy_matches_naive_loop_and_skips_ignored_rows) {
    Rng r = rng_new(8);
    long rows = 9, V = 13;
    float logits[9 * 13], row_loss[9];
    int32_t targets[9];
    fill(&r, logits, rows * V, -4, 4);
    for (long i = 0; i < rows; i++) targets[i] = (int32_t)rng_below(&r, (uint32_t)V);
    targets[2] = targets[5] = -100;
    double total = 0;
    for (long i = 0; i < rows; i++) {
        if (targets[i] == -100) continue;
        double z = 0;
        for (long c = 0; c < V; c++) z += exp((double)logits[i * V + c]);
        total += log(z) - logits[i * V + targets[i]];
    }
    long counted = 0;
    float loss = cross_entropy(row_loss, logits, targets, rows, V, -100, &counted);
    ck_assert_int_eq(counted, 7);
    ck_assert_double_lt(fabs(loss - total / 7), 1e-6);
    ck_assert_float_eq(row_loss[2], 0.0f);
    for (long i = 0; i < rows; i++) targets[i] = -100;
    ck_assert_float_eq(cross_entropy(row_loss, logits, targets, rows, V, -100, &counted), 0.0f);
    ck_assert_int_eq(counted, 0);
}
END_TEST

START_TEST(test_transpose_swaps_any_two_axes) {
    int shape[4] = {2, 3, 4, 5};
    float a[120], out[120];
    for (int i = 0; i < 120; i++) a[i] = (float)i;
    for (int ax0 = 0; ax0 < 4; ax0++)
        for (int ax1 = ax0 + 1; ax1 < 4; ax1++) {
            transpose_axes(out, a, shape, 4, ax0, ax1);
            int os[4] = {2, 3, 4, 5};
            os[ax0] = shape[ax1];
            os[ax1] = shape[ax0];
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++)
                        for (int l = 0; l < 5; l++) {
                            int idx[4] = {i, j, k, l}, o[4] = {i, j, k, l};
                            o[ax0] = idx[ax1];
                            o[ax1] = idx[ax0];
                            long at = ((long)(o[0] * os[1] + o[1]) * os[2] + o[2]) * os[3] + o[3];
                            ck_assert_float_eq(out[at], a[((i * 3 + j) * 4 + k) * 5 + l]);
                        }
        }
}
END_TEST

Suite *tensor_suite(void) {
    Suite *s = suite_create("tensor");
    TCase *tc = tcase_create("tensor");
    tcase_set_timeout(tc, 60);  // generous: ThreadSanitizer runs these 10x slower
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_add_test(tc, test_tensor_new_keeps_shape_and_size);
    tcase_add_test(tc, test_vexp_and_gelu_match_double_precision_on_a_dense_grid);
    tcase_add_test(tc, test_gelu_vector_functions_equal_the_scalar_ones);
    tcase_add_test(tc, test_gelu_loops_give_every_element_the_same_bits);
    tcase_add_test(tc, test_vsin_and_vcos_match_double_precision_within_their_reach);
    tcase_add_test(tc, test_trig_span_gives_libm_beyond_reach_and_vsin_within);
    tcase_add_test(tc, test_arena_returns_64_byte_aligned_memory);
    tcase_add_test(tc, test_arena_reused_over_many_steps_does_not_grow);
    tcase_add_test(tc, test_arena_calloc_zeroes_reused_memory);
    tcase_add_test(tc, test_parallel_for_visits_every_index_once);
    tcase_add_test(tc, test_parallel_for_nested_call_runs_serially);
    tcase_add_test(tc, test_pool_cpu_share_needs_two_low_windows_in_a_row);
    tcase_add_test(tc, test_pool_cpu_share_does_not_count_sleep_as_starving);
    tcase_add_test(tc, test_rng_same_seed_gives_same_stream);
    tcase_add_test(tc, test_rng_saved_state_continues_the_stream);
    tcase_add_test(tc, test_rng_distributions_have_the_right_moments);
    tcase_add_test(tc, test_add_and_mul_broadcast_match_naive_loops);
    tcase_add_test(tc, test_add_and_mul_of_same_shape_arrays_match_naive_loops);
    tcase_add_test(tc, test_column_sum_add_matches_naive_loop_for_any_thread_count);
    tcase_add_test(tc, test_unary_kernels_match_libm_in_double);
    tcase_add_test(tc, test_sum_mean_softmax_over_last_axis_match_naive_loops);
    tcase_add_test(tc, test_layernorm_matches_naive_loop);
    tcase_add_test(tc, test_embedding_gather_and_scatter_add_match_naive_loops);
    tcase_add_test(tc, test_cross_entropy_matches_naive_loop_and_skips_ignored_rows);
    tcase_add_test(tc, test_transpose_swaps_any_two_axes);
    suite_add_tcase(s, tc);
    return s;
}
