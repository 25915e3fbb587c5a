// test_hyena.c - the Hyena operator: the PyTorch reference reproduced, causality, gradients,
// and the two new ops it needs (slice, causal conv).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/fftconv.h"
#include "../autograd/gradcheck.h"
#include "../autograd/ops.h"
#include "../hyena/operator.h"
#include "../tensor/pool.h"
#include "../train/check_reference.h"
#include "suites.h"

// ---------------------------------------------------------------- the reference

static void assert_reference_reproduced(const char *path) {
    ReferenceResult r;
    char err[300];
    ck_assert_msg(check_reference(path, REFERENCE_RTOL, NULL, &r, err, sizeof err), "%s", err);
    ck_assert_int_eq(r.n_compared, 20);  // output, grad.input, 18 parameter gradients
    ck_assert_msg(r.n_failed == 0, "%d tensors off; worst %s at %.3g", r.n_failed, r.worst_name, r.worst_rel);
}

START_TEST(test_operator_reproduces_reference_order2_d8_l16) {
    assert_reference_reproduced("tests/reference/hyena_operator_d8_l16_order2.safetensors");
}
END_TEST

START_TEST(test_operator_reproduces_reference_order3_l37_with_l_max_64) {
    assert_reference_reproduced("tests/reference/hyena_operator_d6_l37_order3.safetensors");
}
END_TEST

START_TEST(test_check_reference_rejects_a_missing_file) {
    ReferenceResult r;
    char err[300];
    ck_assert(!check_reference("tests/reference/nope.safetensors", REFERENCE_RTOL, NULL, &r, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "nope.safetensors"));
}
END_TEST

// ---------------------------------------------------------------- a small operator

typedef struct OpGraph {
    HyenaOperator op;
    Var *u;
} OpGraph;

static Arena params_arena;
static ParamList params;

static void setup(void) {
    with_two_threads();
    arena_init(&params_arena, 0);
    params_init(&params, &params_arena);
}

static void teardown(void) {
    params_free(&params);
    arena_free(&params_arena);
    stop_threads();
}

static void op_graph_init(OpGraph *g, int order, int B, int L, int D, int emb_dim, uint64_t seed) {
    Rng rng = rng_new(seed);
    HyenaConfig cfg = hyena_config_default(D, L + 3);
    cfg.order = order;
    cfg.filter_order = 8;
    cfg.emb_dim = emb_dim;
    cfg.shift = 0.1f;
    hyena_operator_init(&g->op, &cfg, &params, "", &rng);
    g->u = params_new(&params, "", "input", 3, (int[]){B, L, D}, PARAM_DEFAULT, PARAM_DEFAULT);
    rng_fill_uniform(&rng, g->u->value.data, (long)g->u->value.size, -1, 1);
}

static Var *build_operator(Tape *t, void *ctx) {
    OpGraph *g = ctx;
    return hyena_operator_forward(t, &g->op, g->u);
}

static void gradcheck_operator(int order, int L, int emb_dim) {
    OpGraph g;
    op_graph_init(&g, order, 2, L, 4, emb_dim, (uint64_t)(order * 100 + L));
    Var *wrt[64];
    int n = 0;
    for (int i = 0; i < params.n; i++)
        if (params.items[i].trainable) wrt[n++] = params.items[i].var;
    GradcheckOptions opt = gradcheck_defaults();
    opt.max_per_input = 24;  // spread over each tensor: enough to catch a wrong term, fast
    GradcheckReport rep;
    ck_assert_msg(gradcheck(build_operator, &g, wrt, n, &opt, &rep), "order %d L %d: %d of %d wrong; worst %s", order,
                  L, rep.n_failed, rep.n_checked, rep.worst);
}

START_TEST(test_gradcheck_operator_order2_direct_path) { gradcheck_operator(2, 7, 3); }
END_TEST
START_TEST(test_gradcheck_operator_order3_fft_path) { gradcheck_operator(3, 30, 5); }
END_TEST
START_TEST(test_gradcheck_operator_order4_emb7) { gradcheck_operator(4, 12, 7); }
END_TEST

// d y[b, t, :] / d u[b, s, :] for all s, by backpropagating a one-hot seed at time t.
static void input_gradient_at(OpGraph *g, int t, float *grad_u) {
    Arena step;
    arena_init(&step, 0);
    Tape tape;
    tape_init(&tape, &step);
    Var *u = ag_input(&tape, g->u->value, true, "u");
    Var *y = hyena_operator_forward(&tape, &g->op, u);
    float *seed = calloc(y->value.size, sizeof(float));
    int D = y->value.shape[2];
    for (int d = 0; d < D; d++) seed[(long)t * D + d] = 1.0f;  // batch 0, time t
    ag_backward(&tape, y, seed);
    memcpy(grad_u, u->grad, u->value.size * sizeof(float));
    free(seed);
    arena_free(&step);
}

START_TEST(test_operator_is_causal) {
    // Direct path (L <= 24): the future is never read, so its gradient is exactly zero.
    // FFT path: the future enters only through rounding, so its gradient is zero to 1e-6.
    int lengths[] = {20, 100};
    for (int li = 0; li < 2; li++) {
        OpGraph g;
        int L = lengths[li], D = 4, t = L / 2;
        op_graph_init(&g, 3, 1, L, D, 3, 11);
        float *grad = malloc(sizeof(float) * L * D);
        input_gradient_at(&g, t, grad);
        float past = 0, future = 0;
        for (int s = 0; s < L; s++)
            for (int d = 0; d < D; d++) {
                float v = fabsf(grad[s * D + d]);
                if (s <= t) past = fmaxf(past, v);
                else future = fmaxf(future, v);
            }
        ck_assert_float_gt(past, 1e-3f);
        if (L <= FFTCONV_DIRECT_MAX_L) ck_assert_float_eq(future, 0.0f);
        else ck_assert_float_le(future, 1e-6f * past);
        free(grad);
        params_free(&params);
        params_init(&params, &params_arena);
    }
}
END_TEST

START_TEST(test_operator_bits_do_not_depend_on_thread_count) {
    OpGraph g;
    int L = 300, D = 20;
    op_graph_init(&g, 2, 2, L, D, 3, 5);
    float *grads[2];
    for (int t = 0; t < 2; t++) {
        pool_init(t + 1);
        grads[t] = malloc(sizeof(float) * 2 * L * D);
        input_gradient_at(&g, L - 1, grads[t]);
    }
    ck_assert_int_eq(memcmp(grads[0], grads[1], sizeof(float) * 2 * L * D), 0);
    free(grads[0]);
    free(grads[1]);
}
END_TEST

START_TEST(test_filter_window_decays_from_one_plus_shift) {
    OpGraph g;
    op_graph_init(&g, 2, 1, 10, 4, 3, 1);
    const HyenaFilter *f = &g.op.filter;
    float *w = malloc(sizeof(float) * 10 * f->channels);
    hyena_filter_window(f, 10, w);
    for (int c = 0; c < f->channels; c++) {
        ck_assert_float_eq_tol(w[c], 1.0f + 0.1f, 1e-6f);  // t = 0: exp(0) + shift
        for (int t = 1; t < 10; t++) ck_assert_float_lt(w[t * f->channels + c], w[(t - 1) * f->channels + c]);
    }
    // The first channel decays slowest (|delta| = ln(100)/1.5), the last fastest (ln(100)/0.3).
    ck_assert_float_gt(w[9 * f->channels], w[9 * f->channels + f->channels - 1]);
    free(w);
}
END_TEST

// ---------------------------------------------------------------- the new ops

typedef struct OpsGraph {
    Var *x, *w, *b;
} OpsGraph;

static Var *build_causal_conv(Tape *t, void *ctx) {
    OpsGraph *g = ctx;
    return ag_causal_conv(t, g->x, g->w, g->b);
}

static Var *build_slices(Tape *t, void *ctx) {
    OpsGraph *g = ctx;
    Var *a = ag_slice(t, g->x, 2, 1, 3), *b = ag_slice(t, g->x, 1, 2, 2);  // channels, then a time window
    return ag_add(t, ag_slice(t, a, 1, 2, 2), ag_slice(t, b, 2, 0, 3));
}

START_TEST(test_gradcheck_causal_conv_and_slice) {
    Rng rng = rng_new(4);
    OpsGraph g = {params_new(&params, "", "x", 3, (int[]){2, 6, 5}, PARAM_DEFAULT, PARAM_DEFAULT),
                  params_new(&params, "", "w", 3, (int[]){5, 1, 3}, PARAM_DEFAULT, PARAM_DEFAULT),
                  params_new(&params, "", "b", 1, (int[]){5}, PARAM_DEFAULT, PARAM_DEFAULT)};
    rng_fill_uniform(&rng, g.x->value.data, 60, -1, 1);
    rng_fill_uniform(&rng, g.w->value.data, 15, -1, 1);
    rng_fill_uniform(&rng, g.b->value.data, 5, -1, 1);
    GradcheckReport rep;
    ck_assert_msg(gradcheck(build_causal_conv, &g, (Var *[]){g.x, g.w, g.b}, 3, NULL, &rep), "%s", rep.worst);
    ck_assert_msg(gradcheck(build_slices, &g, (Var *[]){g.x}, 1, NULL, &rep), "%s", rep.worst);
}
END_TEST

START_TEST(test_causal_conv_matches_pytorch_conv1d_padding_2) {
    // Conv1d(C, C, 3, padding=2, groups=C)(x)[..., :L]: y[t] = w0 x[t-2] + w1 x[t-1] + w2 x[t] + b
    Arena a;
    arena_init(&a, 0);
    Tape tape;
    tape_init(&tape, &a);
    float xs[4] = {1, 2, 3, 4}, ws[3] = {0.5f, -1, 2}, bs[1] = {0.25f};
    Var *x = ag_input(&tape, tensor_view(xs, 3, (int[]){1, 4, 1}), false, "x");
    Var *w = ag_input(&tape, tensor_view(ws, 3, (int[]){1, 1, 3}), false, "w");
    Var *b = ag_input(&tape, tensor_view(bs, 1, (int[]){1}), false, "b");
    Var *y = ag_causal_conv(&tape, x, w, b);
    float want[4] = {0.25f + 2 * 1, 0.25f + 2 * 2 - 1, 0.25f + 2 * 3 - 2 + 0.5f, 0.25f + 2 * 4 - 3 + 1};
    for (int t = 0; t < 4; t++) ck_assert_float_eq_tol(y->value.data[t], want[t], 1e-6f);
    arena_free(&a);
}
END_TEST

Suite *hyena_suite(void) {
    Suite *s = suite_create("hyena");
    TCase *tc = tcase_create("operator");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_operator_reproduces_reference_order2_d8_l16);
    tcase_add_test(tc, test_operator_reproduces_reference_order3_l37_with_l_max_64);
    tcase_add_test(tc, test_check_reference_rejects_a_missing_file);
    tcase_add_test(tc, test_gradcheck_operator_order2_direct_path);
    tcase_add_test(tc, test_gradcheck_operator_order3_fft_path);
    tcase_add_test(tc, test_gradcheck_operator_order4_emb7);
    tcase_add_test(tc, test_operator_is_causal);
    tcase_add_test(tc, test_operator_bits_do_not_depend_on_thread_count);
    tcase_add_test(tc, test_filter_window_decays_from_one_plus_shift);
    tcase_add_test(tc, test_gradcheck_causal_conv_and_slice);
    tcase_add_test(tc, test_causal_conv_matches_pytorch_conv1d_padding_2);
    suite_add_tcase(s, tc);
    return s;
}
