// test_autograd.c - every op's backward against finite differences, plus the tape's behaviour.
//
// Each gradcheck test builds a tiny graph from parameters made with ag_param (gradcheck perturbs
// them in place) and checks every element of every input.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/gradcheck.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "../tensor/vmath.h"
#include "suites.h"

typedef struct Graph {
    Var *a, *b, *c;
    int32_t ids[16];
    int n_ids;
} Graph;

static Arena params;
static Rng rng;

static void setup(void) {
    with_two_threads();
    arena_init(&params, 0);
    rng = rng_new(2024);
}

static void teardown(void) {
    arena_free(&params);
    stop_threads();
}

static Var *random_param(const char *name, int rank, const int *shape, float lo, float hi) {
    Var *v = ag_param(&params, name, rank, shape);
    rng_fill_uniform(&rng, v->value.data, (long)v->value.size, lo, hi);
    return v;
}

static void assert_gradcheck(GradcheckBuild build, Graph *g, Var **wrt, int n) {
    GradcheckReport rep;
    bool ok = gradcheck(build, g, wrt, n, NULL, &rep);
    ck_assert_msg(ok, "%d of %d elements wrong; worst %s", rep.n_failed, rep.n_checked, rep.worst);
    ck_assert_int_gt(rep.n_checked, 0);
}

// ---------------------------------------------------------------- elementwise

static Var *build_add(Tape *t, void *ctx) { Graph *g = ctx; return ag_add(t, g->a, g->b); }
static Var *build_mul(Tape *t, void *ctx) { Graph *g = ctx; return ag_mul(t, g->a, g->b); }
static Var *build_scale(Tape *t, void *ctx) { Graph *g = ctx; return ag_scale(t, g->a, -1.75f); }
static Var *build_exp(Tape *t, void *ctx) { Graph *g = ctx; return ag_exp(t, g->a); }
static Var *build_log(Tape *t, void *ctx) { Graph *g = ctx; return ag_log(t, g->a); }
static Var *build_sin(Tape *t, void *ctx) { Graph *g = ctx; return ag_sin(t, g->a); }
static Var *build_tanh(Tape *t, void *ctx) { Graph *g = ctx; return ag_tanh(t, g->a); }
static Var *build_gelu(Tape *t, void *ctx) { Graph *g = ctx; return ag_gelu(t, g->a); }

START_TEST(test_gradcheck_add_same_shape) {
    Graph g = {random_param("a", 2, (int[]){3, 5}, -1, 1), random_param("b", 2, (int[]){3, 5}, -1, 1), NULL, {0}, 0};
    assert_gradcheck(build_add, &g, (Var *[]){g.a, g.b}, 2);
}
END_TEST

START_TEST(test_gradcheck_add_broadcasts_over_leading_axes) {
    Graph g = {random_param("a", 3, (int[]){2, 3, 4}, -1, 1), random_param("b", 1, (int[]){4}, -1, 1), NULL, {0}, 0};
    assert_gradcheck(build_add, &g, (Var *[]){g.a, g.b}, 2);
    g.b = random_param("b", 2, (int[]){3, 4}, -1, 1);
    assert_gradcheck(build_add, &g, (Var *[]){g.a, g.b}, 2);
}
END_TEST

START_TEST(test_gradcheck_mul_same_shape_and_broadcast) {
    Graph g = {random_param("a", 2, (int[]){4, 3}, -1, 1), random_param("b", 2, (int[]){4, 3}, -1, 1), NULL, {0}, 0};
    assert_gradcheck(build_mul, &g, (Var *[]){g.a, g.b}, 2);
    g.a = random_param("a", 3, (int[]){2, 5, 3}, -1, 1);
    g.b = random_param("b", 1, (int[]){3}, -1, 1);
    assert_gradcheck(build_mul, &g, (Var *[]){g.a, g.b}, 2);
}
END_TEST

// Backward from y with a random seed gradient (returned, to free): the setup of the tests below.
static float *backward_with_random_seed(Arena *arena, Tape *tape, GradcheckBuild build, void *ctx, Var **y) {
    arena_init(arena, 0);
    tape_init(tape, arena);
    *y = build(tape, ctx);
    float *seed = malloc(sizeof(float) * (*y)->value.size);
    rng_fill_uniform(&rng, seed, (long)(*y)->value.size, -1, 1);
    ag_backward(tape, *y, seed);
    return seed;
}

// Long same-shape operands (a gate, the filter's window) are split into chunks of elements: every
// element's gradient is the other operand times the seed, exactly (one product, one rounding).
START_TEST(test_mul_backward_of_long_same_shape_arrays_is_exact_in_every_chunk) {
    int n = 70001;  // several chunks and a ragged last one
    Graph g = {random_param("a", 1, (int[]){n}, -2, 2), random_param("b", 1, (int[]){n}, -2, 2), NULL, {0}, 0};
    Var *a = g.a, *b = g.b, *y;
    Arena arena;
    Tape tape;
    float *seed = backward_with_random_seed(&arena, &tape, build_mul, &g, &y);
    for (int i = 0; i < n; i++) {
        ck_assert_float_eq(a->grad[i], seed[i] * b->value.data[i]);
        ck_assert_float_eq(b->grad[i], seed[i] * a->value.data[i]);
    }
    free(seed);
    arena_free(&arena);
}
END_TEST

START_TEST(test_gradcheck_scale) {
    Graph g = {random_param("a", 2, (int[]){3, 7}, -1, 1), NULL, NULL, {0}, 0};
    assert_gradcheck(build_scale, &g, (Var *[]){g.a}, 1);
}
END_TEST

// Finite differences in float32 cannot tell a derivative from one that is 1% off (a tanh
// approximation of GELU's would pass them). So each unary map's forward and backward are also
// held to the exact function and derivative, computed in double: forward and ga = g * f'(x).
static double gelu_exact(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static double gelu_exact_derivative(double x) {
    return 0.5 * erfc(-x / sqrt(2.0)) + x * exp(-0.5 * x * x) / sqrt(2.0 * 3.14159265358979323846);
}

static void check_unary_exactly(const char *name, GradcheckBuild op, double (*f)(double), double (*df)(double),
                                float lo, float hi) {
    int n = 4096;
    Graph g = {random_param(name, 1, (int[]){n}, lo, hi), NULL, NULL, {0}, 0};
    Var *a = g.a, *y;
    Arena arena;
    Tape tape;
    float *seed = backward_with_random_seed(&arena, &tape, op, &g, &y);
    for (int i = 0; i < n; i++) {
        double x = a->value.data[i], want_y = f(x), want_g = seed[i] * df(x);
        ck_assert_msg(fabs(y->value.data[i] - want_y) <= 4e-7 * fmax(1.0, fabs(want_y)), "%s(%.9g): %.9g, exactly %.9g",
                      name, x, y->value.data[i], want_y);
        ck_assert_msg(fabs(a->grad[i] - want_g) <= 4e-7 * fmax(1.0, fabs(want_g)),
                      "%s'(%.9g) * %.9g: %.9g, exactly %.9g", name, x, seed[i], a->grad[i], want_g);
    }
    free(seed);
    arena_free(&arena);
}

static double cos_of(double x) { return cos(x); }
static double tanh_derivative(double x) { return 1 - tanh(x) * tanh(x); }
static double reciprocal(double x) { return 1 / x; }

START_TEST(test_unary_maps_match_their_exact_derivatives_in_double) {
    check_unary_exactly("exp", build_exp, exp, exp, -4, 4);
    check_unary_exactly("log", build_log, log, reciprocal, 0.25f, 8);
    check_unary_exactly("sin", build_sin, sin, cos_of, -6, 6);
    check_unary_exactly("tanh", build_tanh, tanh, tanh_derivative, -4, 4);
    check_unary_exactly("gelu", build_gelu, gelu_exact, gelu_exact_derivative, -6, 6);
}
END_TEST

// Training records GELU and keeps Phi(a) for its backward; evaluation and generation do not
// record. Both must give the same values, or a model would score differently than it trained.
START_TEST(test_gelu_gives_the_same_bits_recording_or_not) {
    int n = 20001;  // several chunks of the threaded loop
    Var *a = random_param("a", 1, (int[]){n}, -9, 9);
    Arena arena;
    Tape tape;
    arena_init(&arena, 0);
    tape_init(&tape, &arena);
    Var *recorded = ag_gelu(&tape, a);
    ck_assert_ptr_nonnull(recorded->node);
    tape.recording = false;
    Var *plain = ag_gelu(&tape, a);
    ck_assert_ptr_null(plain->node);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(memcmp(&recorded->value.data[i], &plain->value.data[i], sizeof(float)) == 0,
                      "gelu(%.9g): %.9g recorded, %.9g not", a->value.data[i], recorded->value.data[i],
                      plain->value.data[i]);
        ck_assert_float_eq(recorded->node->saved[0].data[i], normal_cdf(a->value.data[i]));
    }
    arena_free(&arena);
}
END_TEST

START_TEST(test_gradcheck_unary_maps) {
    Graph g = {random_param("a", 2, (int[]){4, 6}, -2, 2), NULL, NULL, {0}, 0};
    assert_gradcheck(build_exp, &g, (Var *[]){g.a}, 1);
    assert_gradcheck(build_sin, &g, (Var *[]){g.a}, 1);
    assert_gradcheck(build_tanh, &g, (Var *[]){g.a}, 1);
    assert_gradcheck(build_gelu, &g, (Var *[]){g.a}, 1);
    g.a = random_param("a", 2, (int[]){4, 6}, 0.5f, 3);  // log needs x well away from 0
    assert_gradcheck(build_log, &g, (Var *[]){g.a}, 1);
}
END_TEST

// ---------------------------------------------------------------- matmul

static Var *build_matmul(Tape *t, void *ctx) { Graph *g = ctx; return ag_matmul(t, g->a, g->b); }
static Var *build_matmul_bt(Tape *t, void *ctx) { Graph *g = ctx; return ag_matmul_bt(t, g->a, g->b); }

START_TEST(test_gradcheck_matmul_non_square_with_leading_axes) {
    Graph g = {random_param("x", 3, (int[]){2, 3, 5}, -1, 1), random_param("w", 2, (int[]){5, 4}, -1, 1), NULL, {0}, 0};
    assert_gradcheck(build_matmul, &g, (Var *[]){g.a, g.b}, 2);
}
END_TEST

START_TEST(test_gradcheck_matmul_bt_non_square) {
    Graph g = {random_param("x", 2, (int[]){7, 5}, -1, 1), random_param("w", 2, (int[]){3, 5}, -1, 1), NULL, {0}, 0};
    assert_gradcheck(build_matmul_bt, &g, (Var *[]){g.a, g.b}, 2);
}
END_TEST

static Var *build_linear(Tape *t, void *ctx) { Graph *g = ctx; return ag_linear(t, g->a, g->b, g->c); }

START_TEST(test_gradcheck_linear_input_weight_and_bias) {
    Graph g = {random_param("x", 3, (int[]){2, 3, 5}, -1, 1), random_param("w", 2, (int[]){4, 5}, -1, 1),
               random_param("b", 1, (int[]){4}, -1, 1), {0}, 0};
    assert_gradcheck(build_linear, &g, (Var *[]){g.a, g.b, g.c}, 3);
}
END_TEST

// The fused affine op computes what matmul_bt followed by add computes, in the same order: the
// same bits, forward and backward (over enough rows that the bias gradient sums row blocks).
START_TEST(test_linear_equals_matmul_bt_then_add_to_the_bit) {
    Var *x = random_param("x", 2, (int[]){3000, 24}, -1, 1), *w = random_param("w", 2, (int[]){40, 24}, -1, 1);
    Var *b = random_param("b", 1, (int[]){40}, -1, 1);
    float *seed = malloc(sizeof(float) * 3000 * 40), *saved[2][4];
    rng_fill_uniform(&rng, seed, 3000 * 40, -1, 1);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    for (int fused = 0; fused < 2; fused++) {
        tape_reset(&tape);
        ag_zero_grad((Var *[]){x, w, b}, 3);
        Var *y = fused ? ag_linear(&tape, x, w, b) : ag_add(&tape, ag_matmul_bt(&tape, x, w), b);
        ag_backward(&tape, y, seed);
        const float *src[4] = {y->value.data, x->grad, w->grad, b->grad};
        size_t n[4] = {3000 * 40, 3000 * 24, 40 * 24, 40};
        for (int i = 0; i < 4; i++) {
            saved[fused][i] = malloc(n[i] * sizeof(float));
            memcpy(saved[fused][i], src[i], n[i] * sizeof(float));
        }
        if (fused)
            for (int i = 0; i < 4; i++) {
                ck_assert_msg(memcmp(saved[0][i], saved[1][i], n[i] * sizeof(float)) == 0, "output/gradient %d differs", i);
                free(saved[0][i]);
                free(saved[1][i]);
            }
    }
    arena_free(&arena);
    free(seed);
}
END_TEST

// ---------------------------------------------------------------- reductions, softmax, layernorm

static Var *build_sum(Tape *t, void *ctx) { Graph *g = ctx; return ag_sum(t, g->a); }
static Var *build_mean(Tape *t, void *ctx) { Graph *g = ctx; return ag_mean(t, g->a); }
static Var *build_softmax(Tape *t, void *ctx) { Graph *g = ctx; return ag_softmax(t, g->a); }
static Var *build_layernorm(Tape *t, void *ctx) {
    Graph *g = ctx;
    return ag_layernorm(t, g->a, g->b, g->c, 1e-5f);
}

START_TEST(test_gradcheck_sum_and_mean_over_last_axis) {
    Graph g = {random_param("a", 3, (int[]){2, 3, 4}, -1, 1), NULL, NULL, {0}, 0};
    assert_gradcheck(build_sum, &g, (Var *[]){g.a}, 1);
    assert_gradcheck(build_mean, &g, (Var *[]){g.a}, 1);
}
END_TEST

START_TEST(test_gradcheck_softmax) {
    Graph g = {random_param("a", 2, (int[]){3, 6}, -2, 2), NULL, NULL, {0}, 0};
    assert_gradcheck(build_softmax, &g, (Var *[]){g.a}, 1);
}
END_TEST

START_TEST(test_gradcheck_layernorm_input_gain_and_bias) {
    Graph g = {random_param("x", 3, (int[]){2, 3, 8}, -2, 2), random_param("gamma", 1, (int[]){8}, 0.5f, 1.5f),
               random_param("beta", 1, (int[]){8}, -1, 1), {0}, 0};
    assert_gradcheck(build_layernorm, &g, (Var *[]){g.a, g.b, g.c}, 3);
}
END_TEST

// Over many rows, layernorm's backward sums the gain and bias gradients in blocks of rows (one
// partial per block, then added in block order). A gradcheck cannot afford that many rows, so
// the three gradients are checked against the formulas in double, and the bits across threads.
START_TEST(test_layernorm_backward_over_many_row_blocks_matches_double_sums) {
    enum { ROWS = 12000, COLS = 3 };   // 16384 / 3 = 5461 rows per block: three blocks
    Var *x = random_param("x", 2, (int[]){ROWS, COLS}, -2, 2);
    Var *gamma = random_param("gamma", 1, (int[]){COLS}, 0.5f, 1.5f), *beta = random_param("beta", 1, (int[]){COLS}, -1, 1);
    float *seed = malloc(sizeof(float) * ROWS * COLS), *first = malloc(sizeof(float) * (ROWS * COLS + 2 * COLS));
    rng_fill_uniform(&rng, seed, ROWS * COLS, -1, 1);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    for (int run = 0; run < 2; run++) {
        pool_init(run + 1);
        tape_reset(&tape);
        ag_zero_grad((Var *[]){x, gamma, beta}, 3);
        ag_backward(&tape, ag_layernorm(&tape, x, gamma, beta, 1e-5f), seed);
        if (run == 0) {
            memcpy(first, x->grad, sizeof(float) * ROWS * COLS);
            memcpy(first + ROWS * COLS, gamma->grad, sizeof(float) * COLS);
            memcpy(first + ROWS * COLS + COLS, beta->grad, sizeof(float) * COLS);
        }
    }
    ck_assert_int_eq(memcmp(first, x->grad, sizeof(float) * ROWS * COLS), 0);
    ck_assert_int_eq(memcmp(first + ROWS * COLS, gamma->grad, sizeof(float) * COLS), 0);
    ck_assert_int_eq(memcmp(first + ROWS * COLS + COLS, beta->grad, sizeof(float) * COLS), 0);
    double ggamma[COLS] = {0}, gbeta[COLS] = {0};
    for (int r = 0; r < ROWS; r++) {
        const float *xr = x->value.data + r * COLS, *gr = seed + r * COLS;
        double mean = 0, var = 0, xhat[COLS], dxhat[COLS], m1 = 0, m2 = 0;
        for (int c = 0; c < COLS; c++) mean += xr[c] / (double)COLS;
        for (int c = 0; c < COLS; c++) var += (xr[c] - mean) * (xr[c] - mean) / COLS;
        double rstd = 1 / sqrt(var + 1e-5);
        for (int c = 0; c < COLS; c++) {
            xhat[c] = (xr[c] - mean) * rstd;
            dxhat[c] = gr[c] * (double)gamma->value.data[c];
            m1 += dxhat[c] / COLS;
            m2 += dxhat[c] * xhat[c] / COLS;
            ggamma[c] += gr[c] * xhat[c];
            gbeta[c] += gr[c];
        }
        for (int c = 0; c < COLS; c++) {
            double want = rstd * (dxhat[c] - m1 - xhat[c] * m2);
            ck_assert_msg(fabs(x->grad[r * COLS + c] - want) <= 1e-3 * (1 + fabs(want)), "gx[%d,%d]: got %g want %g",
                          r, c, x->grad[r * COLS + c], want);
        }
    }
    for (int c = 0; c < COLS; c++) {
        ck_assert_msg(fabs(gamma->grad[c] - ggamma[c]) <= 1e-3 * (1 + fabs(ggamma[c])), "ggamma[%d]: %g vs %g", c,
                      gamma->grad[c], ggamma[c]);
        ck_assert_msg(fabs(beta->grad[c] - gbeta[c]) <= 1e-3 * (1 + fabs(gbeta[c])), "gbeta[%d]: %g vs %g", c,
                      beta->grad[c], gbeta[c]);
    }
    arena_free(&arena);
    free(seed);
    free(first);
}
END_TEST

// ---------------------------------------------------------------- embedding and cross-entropy

static Var *build_embedding(Tape *t, void *ctx) {
    Graph *g = ctx;
    return ag_embedding(t, g->a, g->ids, 2, (int[]){2, g->n_ids / 2});
}

static Var *build_cross_entropy(Tape *t, void *ctx) {
    Graph *g = ctx;
    return ag_cross_entropy(t, g->a, g->ids, -1);
}

START_TEST(test_gradcheck_embedding_with_repeated_ids) {
    Graph g = {random_param("table", 2, (int[]){6, 4}, -1, 1), NULL, NULL, {1, 3, 3, 0, 5, 1, 1, 2}, 8};
    assert_gradcheck(build_embedding, &g, (Var *[]){g.a}, 1);
}
END_TEST

START_TEST(test_gradcheck_cross_entropy_with_ignored_rows) {
    Graph g = {random_param("logits", 3, (int[]){2, 3, 5}, -2, 2), NULL, NULL, {4, 0, -1, 2, 2, -1}, 6};
    assert_gradcheck(build_cross_entropy, &g, (Var *[]){g.a}, 1);
}
END_TEST

// ---------------------------------------------------------------- shape ops

static Var *build_transpose(Tape *t, void *ctx) { Graph *g = ctx; return ag_transpose(t, g->a, 0, 2); }
static Var *build_reshape_then_mul(Tape *t, void *ctx) {
    Graph *g = ctx;
    Var *r = ag_reshape(t, g->a, 2, (int[]){6, 4});
    return ag_mul(t, r, r);  // reshape alone is linear: square it so the check means something
}

START_TEST(test_gradcheck_transpose_rank3) {
    Graph g = {random_param("a", 3, (int[]){2, 3, 4}, -1, 1), NULL, NULL, {0}, 0};
    assert_gradcheck(build_transpose, &g, (Var *[]){g.a}, 1);
}
END_TEST

START_TEST(test_gradcheck_reshape) {
    Graph g = {random_param("a", 3, (int[]){2, 3, 4}, -1, 1), NULL, NULL, {0}, 0};
    assert_gradcheck(build_reshape_then_mul, &g, (Var *[]){g.a}, 1);
}
END_TEST

// ---------------------------------------------------------------- gradcheck can fail

// An op with a deliberately wrong backward: y = 2a, but the backward claims 2.1.
// It is also the smallest example of writing an op from outside autograd/.
static void wrong_double_backward(Node *n) {
    for (size_t i = 0; i < n->out->value.size; i++) n->in[0]->grad[i] += 2.1f * n->out->grad[i];
}

static Var *build_wrong_double(Tape *t, void *ctx) {
    Graph *g = ctx;
    Var *y = ag_new_var(t, g->a->value.rank, g->a->value.shape, "wrong_double");
    for (size_t i = 0; i < y->value.size; i++) y->value.data[i] = 2.0f * g->a->value.data[i];
    ag_record(t, "wrong_double", wrong_double_backward, y, 1, &g->a);
    return y;
}

START_TEST(test_gradcheck_catches_a_backward_that_is_5_percent_off) {
    Graph g = {random_param("a", 2, (int[]){3, 4}, -1, 1), NULL, NULL, {0}, 0};
    GradcheckReport rep;
    ck_assert(!gradcheck(build_wrong_double, &g, (Var *[]){g.a}, 1, NULL, &rep));
    // An element whose projection weight happens to be tiny may slip under atol; most must not.
    ck_assert_int_ge(rep.n_failed * 4, rep.n_checked * 3);
}
END_TEST

// ---------------------------------------------------------------- the tape

START_TEST(test_backward_adds_both_uses_of_a_variable) {
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Var *a = random_param("a", 1, (int[]){5}, -1, 1);
    Var *y = ag_sum(&tape, ag_mul(&tape, a, a));  // y = sum a^2, dy/da = 2a
    ag_backward(&tape, y, NULL);
    for (int i = 0; i < 5; i++) ck_assert_float_eq_tol(a->grad[i], 2.0f * a->value.data[i], 1e-6f);
    arena_free(&arena);
}
END_TEST

// A backward stores an input's gradient when it is the first to write it (stores_grads), instead
// of zeroing it and adding. Against the simple rule (tape.zero_every_grad): the same gradients,
// for variables used twice (u by two ops, and twice by one: u * u), a bias used by two ops, and
// an input that is not a parameter.
static void shared_graph_backward(Tape *tape, Var *x, Var *w1, Var *b1, Var *w2) {
    Var *u = ag_gelu(tape, ag_linear(tape, x, w1, b1));         // [4, 6]
    Var *v = ag_add(tape, u, b1);
    Var *w = ag_mul(tape, u, u);
    Var *y = ag_matmul_bt(tape, ag_add(tape, v, w), w2);          // [4, 3]
    ag_backward(tape, ag_sum(tape, ag_mul(tape, y, y)), NULL);
}

START_TEST(test_stored_gradients_equal_zeroed_ones) {
    Var *w1 = random_param("w1", 2, (int[]){6, 5}, -1, 1), *b1 = random_param("b1", 1, (int[]){6}, -1, 1);
    Var *w2 = random_param("w2", 2, (int[]){3, 6}, -1, 1);
    float xs[20], want[4][30];
    rng_fill_uniform(&rng, xs, 20, -1, 1);
    Var *ps[] = {w1, b1, w2};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    for (int rule = 0; rule < 2; rule++) {   // 0: zero every gradient, then add; 1: store first writes
        tape_reset(&tape);
        tape.zero_every_grad = rule == 0;
        ag_zero_grad(ps, 3);
        Var *x = ag_input(&tape, tensor_view(xs, 2, (int[]){4, 5}), true, "x");
        shared_graph_backward(&tape, x, w1, b1, w2);
        Var *all[] = {x, w1, b1, w2};
        for (int v = 0; v < 4; v++)
            for (size_t i = 0; i < all[v]->value.size; i++) {
                if (rule == 0) want[v][i] = all[v]->grad[i];
                else ck_assert_msg(all[v]->grad[i] == want[v][i], "%s[%zu]: stored %.9g, zeroed %.9g", all[v]->name,
                                   i, all[v]->grad[i], want[v][i]);
            }
    }
    arena_free(&arena);
}
END_TEST

START_TEST(test_parameter_gradients_accumulate_until_zero_grad) {
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Var *a = random_param("a", 1, (int[]){4}, -1, 1);
    for (int step = 0; step < 2; step++) {  // gradient accumulation over two micro-batches
        tape_reset(&tape);
        ag_backward(&tape, ag_sum(&tape, ag_scale(&tape, a, 3.0f)), NULL);
    }
    for (int i = 0; i < 4; i++) ck_assert_float_eq(a->grad[i], 6.0f);
    ag_zero_grad(&a, 1);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(a->grad[i], 0.0f);
    arena_free(&arena);
}
END_TEST

START_TEST(test_nothing_is_recorded_when_not_recording_or_no_grad_needed) {
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Tensor xs = tensor_zeros(&arena, 1, (int[]){3});
    Var *x = ag_input(&tape, xs, false, "x");
    Var *y = ag_exp(&tape, x);
    ck_assert_int_eq(tape.n_nodes, 0);
    ck_assert(!y->requires_grad);
    Var *a = random_param("a", 1, (int[]){3}, -1, 1);
    tape.recording = false;
    ck_assert_ptr_null(ag_exp(&tape, a)->node);
    ck_assert_int_eq(tape.n_nodes, 0);
    tape.recording = true;
    ag_exp(&tape, a);
    ck_assert_int_eq(tape.n_nodes, 1);
    arena_free(&arena);
}
END_TEST

START_TEST(test_graph_dumps_list_ops_in_execution_order) {
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Var *x = random_param("x", 2, (int[]){2, 3}, -1, 1);
    Var *w = random_param("fc.weight", 2, (int[]){4, 3}, -1, 1);
    Var *b = random_param("fc.bias", 1, (int[]){4}, -1, 1);
    ag_gelu(&tape, ag_add(&tape, ag_matmul_bt(&tape, x, w), b));
    char *text = NULL, *dot = NULL;
    size_t text_len = 0, dot_len = 0;
    FILE *f = open_memstream(&text, &text_len);
    ag_print_graph(f, &tape);
    fclose(f);
    f = open_memstream(&dot, &dot_len);
    ag_write_dot(f, &tape);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "tape: 3 nodes"));
    char *mm = strstr(text, "matmul_bt"), *add = strstr(text, "add"), *gelu = strstr(text, "gelu");
    ck_assert(mm && add && gelu && mm < add && add < gelu);
    ck_assert_ptr_nonnull(strstr(text, "fc.weight [4, 3]"));
    ck_assert(strncmp(dot, "digraph tape {", 14) == 0);
    ck_assert_ptr_nonnull(strstr(dot, "fillcolor=palegreen"));
    ck_assert_ptr_nonnull(strstr(dot, "label=\"gelu\""));
    free(text);
    free(dot);
    arena_free(&arena);
}
END_TEST

// ---------------------------------------------------------------- a whole step

// A two-layer MLP classifier, the shape of a language model's step in miniature.
typedef struct Mlp {
    Var *emb, *w1, *b1, *gamma, *beta, *w2;
} Mlp;

static float mlp_step(Tape *tape, Mlp *m, const int32_t *ids, const int32_t *targets) {
    Var *x = ag_embedding(tape, m->emb, ids, 2, (int[]){4, 16});
    Var *h = ag_gelu(tape, ag_add(tape, ag_matmul_bt(tape, x, m->w1), m->b1));
    h = ag_layernorm(tape, h, m->gamma, m->beta, 1e-5f);
    Var *logits = ag_matmul(tape, h, m->w2);
    Var *loss = ag_cross_entropy(tape, logits, targets, -1);
    ag_backward(tape, loss, NULL);
    return loss->value.data[0];
}

static Mlp mlp_new(void) {
    Mlp m = {random_param("emb", 2, (int[]){50, 32}, -1, 1), random_param("w1", 2, (int[]){64, 32}, -0.2f, 0.2f),
             random_param("b1", 1, (int[]){64}, -0.1f, 0.1f), random_param("gamma", 1, (int[]){64}, 0.9f, 1.1f),
             random_param("beta", 1, (int[]){64}, -0.1f, 0.1f), random_param("w2", 2, (int[]){64, 50}, -0.2f, 0.2f)};
    return m;
}

START_TEST(test_training_step_bits_do_not_depend_on_thread_count) {
    int32_t ids[64], targets[64];
    for (int i = 0; i < 64; i++) {
        ids[i] = (int32_t)rng_below(&rng, 50);
        targets[i] = (int32_t)rng_below(&rng, 50);
    }
    Mlp m = mlp_new();
    Var *ps[] = {m.emb, m.w1, m.b1, m.gamma, m.beta, m.w2};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    float *grads[2][6];
    float loss[2];
    for (int run = 0; run < 2; run++) {
        pool_init(run == 0 ? 1 : 2);
        tape_reset(&tape);
        ag_zero_grad(ps, 6);
        loss[run] = mlp_step(&tape, &m, ids, targets);
        for (int p = 0; p < 6; p++) {
            grads[run][p] = malloc(ps[p]->value.size * sizeof(float));
            memcpy(grads[run][p], ps[p]->grad, ps[p]->value.size * sizeof(float));
        }
    }
    ck_assert_int_eq(memcmp(&loss[0], &loss[1], sizeof(float)), 0);
    for (int p = 0; p < 6; p++) {
        ck_assert_int_eq(memcmp(grads[0][p], grads[1][p], ps[p]->value.size * sizeof(float)), 0);
        free(grads[0][p]);
        free(grads[1][p]);
    }
    arena_free(&arena);
}
END_TEST

START_TEST(test_step_arena_does_not_grow_after_the_first_step) {
    int32_t ids[64], targets[64];
    for (int i = 0; i < 64; i++) ids[i] = targets[i] = (int32_t)rng_below(&rng, 50);
    Mlp m = mlp_new();
    Arena arena;
    arena_init(&arena, 64 << 10);
    Tape tape;
    tape_init(&tape, &arena);
    mlp_step(&tape, &m, ids, targets);
    size_t capacity = arena_capacity(&arena);
    for (int step = 0; step < 50; step++) {
        tape_reset(&tape);
        mlp_step(&tape, &m, ids, targets);
        ck_assert_int_eq(arena_capacity(&arena), capacity);
    }
    arena_free(&arena);
}
END_TEST

Suite *autograd_suite(void) {
    Suite *s = suite_create("autograd");
    TCase *tc = tcase_create("gradcheck");
    tcase_set_timeout(tc, 60);  // generous: ThreadSanitizer runs these 10x slower
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_gradcheck_add_same_shape);
    tcase_add_test(tc, test_gradcheck_add_broadcasts_over_leading_axes);
    tcase_add_test(tc, test_gradcheck_mul_same_shape_and_broadcast);
    tcase_add_test(tc, test_mul_backward_of_long_same_shape_arrays_is_exact_in_every_chunk);
    tcase_add_test(tc, test_gradcheck_scale);
    tcase_add_test(tc, test_gradcheck_unary_maps);
    tcase_add_test(tc, test_gelu_gives_the_same_bits_recording_or_not);
    tcase_add_test(tc, test_unary_maps_match_their_exact_derivatives_in_double);
    tcase_add_test(tc, test_gradcheck_matmul_non_square_with_leading_axes);
    tcase_add_test(tc, test_gradcheck_matmul_bt_non_square);
    tcase_add_test(tc, test_gradcheck_linear_input_weight_and_bias);
    tcase_add_test(tc, test_linear_equals_matmul_bt_then_add_to_the_bit);
    tcase_add_test(tc, test_gradcheck_sum_and_mean_over_last_axis);
    tcase_add_test(tc, test_gradcheck_softmax);
    tcase_add_test(tc, test_gradcheck_layernorm_input_gain_and_bias);
    tcase_add_test(tc, test_layernorm_backward_over_many_row_blocks_matches_double_sums);
    tcase_add_test(tc, test_gradcheck_embedding_with_repeated_ids);
    tcase_add_test(tc, test_gradcheck_cross_entropy_with_ignored_rows);
    tcase_add_test(tc, test_gradcheck_transpose_rank3);
    tcase_add_test(tc, test_gradcheck_reshape);
    tcase_add_test(tc, test_gradcheck_catches_a_backward_that_is_5_percent_off);
    suite_add_tcase(s, tc);
    TCase *tape = tcase_create("tape");
    tcase_add_checked_fixture(tape, setup, teardown);
    tcase_add_test(tape, test_backward_adds_both_uses_of_a_variable);
    tcase_add_test(tape, test_stored_gradients_equal_zeroed_ones);
    tcase_add_test(tape, test_parameter_gradients_accumulate_until_zero_grad);
    tcase_add_test(tape, test_nothing_is_recorded_when_not_recording_or_no_grad_needed);
    tcase_add_test(tape, test_graph_dumps_list_ops_in_execution_order);
    tcase_add_test(tape, test_training_step_bits_do_not_depend_on_thread_count);
    tcase_add_test(tape, test_step_arena_does_not_grow_after_the_first_step);
    suite_add_tcase(s, tape);
    return s;
}
