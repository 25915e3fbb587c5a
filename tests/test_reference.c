// test_reference.c - every differentiable op against a float64 twin written as plain loops.
//
// For each op, a `ref_*` function computes the same output in double, the way the math is
// written (no FFT, no blocking, no threads, no saved intermediates). gradcheck_reference
// (autograd/gradcheck.h) then checks the op's forward against it, and the op's backward against
// central differences of the twin in double, at tolerances set by float32 round-off alone
// (5e-6 of the values' scale): a backward 0.1% wrong fails, where float32 finite
// differences must let 1% through.
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../autograd/fftconv.h"
#include "../autograd/gradcheck.h"
#include "../autograd/modal.h"
#include "../autograd/ops.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "suites.h"

// One op under test: its float inputs, whatever else it takes, and how to call it.
typedef struct Case {
    Var *in[3];
    int n_in;
    float s;                 // scale factor, layer-norm eps
    int axis0, axis1;        // transpose axes; slice axis and start, length in axis1 / len
    int len, heads, L;
    int rank, shape[4];      // reshape's target shape
    int32_t ids[24];         // embedding ids, cross-entropy targets
    int ids_rank, ids_shape[3];
    FftconvPath path;
} Case;

static Arena params;
static Rng rng;

static void setup(void) {
    with_two_threads();
    arena_init(&params, 0);
    rng = rng_new(77);
}

static void teardown(void) {
    arena_free(&params);
    stop_threads();
}

static Var *input(Case *c, const char *name, int rank, const int *shape, float lo, float hi) {
    Var *v = ag_param(&params, name, rank, shape);
    rng_fill_uniform(&rng, v->value.data, (long)v->value.size, lo, hi);
    c->in[c->n_in++] = v;
    return v;
}

static long size_of(const Case *c, int i) { return (long)c->in[i]->value.size; }
static int dim(const Case *c, int i, int axis) { return c->in[i]->value.shape[axis]; }
static int last_dim(const Case *c, int i) { return dim(c, i, c->in[i]->value.rank - 1); }

static void assert_matches_reference(GradcheckBuild build, GradcheckReference reference, Case *c) {
    GradcheckReport fwd, bwd;
    bool ok = gradcheck_reference(build, reference, c, c->in, c->n_in, NULL, &fwd, &bwd);
    ck_assert_msg(fwd.n_failed == 0, "forward: %d of %d elements off; worst %s", fwd.n_failed, fwd.n_checked,
                  fwd.worst);
    ck_assert_msg(bwd.n_failed == 0, "backward: %d of %d elements off; worst %s", bwd.n_failed, bwd.n_checked,
                  bwd.worst);
    ck_assert(ok);
    ck_assert_int_gt(bwd.n_checked, 0);
}

// ---------------------------------------------------------------- elementwise, with broadcasting

static Var *op_add(Tape *t, void *p) { Case *c = p; return ag_add(t, c->in[0], c->in[1]); }
static Var *op_mul(Tape *t, void *p) { Case *c = p; return ag_mul(t, c->in[0], c->in[1]); }
static Var *op_scale(Tape *t, void *p) { Case *c = p; return ag_scale(t, c->in[0], c->s); }

// b is a's shape or a suffix of it: element i of a meets element i mod |b| of b.
static void ref_add(void *p, const double *const *x, double *y) {
    Case *c = p;
    for (long i = 0; i < size_of(c, 0); i++) y[i] = x[0][i] + x[1][i % size_of(c, 1)];
}
static void ref_mul(void *p, const double *const *x, double *y) {
    Case *c = p;
    for (long i = 0; i < size_of(c, 0); i++) y[i] = x[0][i] * x[1][i % size_of(c, 1)];
}
static void ref_scale(void *p, const double *const *x, double *y) {
    Case *c = p;
    for (long i = 0; i < size_of(c, 0); i++) y[i] = (double)c->s * x[0][i];
}

START_TEST(test_add_and_mul_match_reference_same_shape_and_broadcast) {
    int b_rank[] = {1, 2, 3};  // b: a's last axis, its last two, or all of a's shape
    for (int k = 0; k < 3; k++) {
        Case c = {0};
        int a_shape[] = {2, 3, 5};
        input(&c, "a", 3, a_shape, -2, 2);
        input(&c, "b", b_rank[k], a_shape + 3 - b_rank[k], -2, 2);
        assert_matches_reference(op_add, ref_add, &c);
        assert_matches_reference(op_mul, ref_mul, &c);
    }
}
END_TEST

START_TEST(test_scale_matches_reference) {
    Case c = {.s = -1.75f};
    input(&c, "a", 2, (int[]){4, 7}, -3, 3);
    assert_matches_reference(op_scale, ref_scale, &c);
}
END_TEST

static Var *op_exp(Tape *t, void *p) { Case *c = p; return ag_exp(t, c->in[0]); }
static Var *op_log(Tape *t, void *p) { Case *c = p; return ag_log(t, c->in[0]); }
static Var *op_sin(Tape *t, void *p) { Case *c = p; return ag_sin(t, c->in[0]); }
static Var *op_tanh(Tape *t, void *p) { Case *c = p; return ag_tanh(t, c->in[0]); }
static Var *op_gelu(Tape *t, void *p) { Case *c = p; return ag_gelu(t, c->in[0]); }

static void ref_map(const Case *c, const double *x, double *y, double (*f)(double)) {
    for (long i = 0; i < size_of(c, 0); i++) y[i] = f(x[i]);
}
// GELU as defined: x Phi(x), with Phi the normal distribution function (not the tanh formula).
static double gelu_exact(double x) { return 0.5 * x * erfc(-x / sqrt(2.0)); }
static void ref_exp(void *p, const double *const *x, double *y) { ref_map(p, x[0], y, exp); }
static void ref_log(void *p, const double *const *x, double *y) { ref_map(p, x[0], y, log); }
static void ref_sin(void *p, const double *const *x, double *y) { ref_map(p, x[0], y, sin); }
static void ref_tanh(void *p, const double *const *x, double *y) { ref_map(p, x[0], y, tanh); }
static void ref_gelu(void *p, const double *const *x, double *y) { ref_map(p, x[0], y, gelu_exact); }

START_TEST(test_unary_maps_match_reference) {
    // Long enough (3 x 37) that the vector bodies and their scalar tails both run.
    Case c = {0};
    input(&c, "a", 2, (int[]){3, 37}, -4, 4);
    assert_matches_reference(op_exp, ref_exp, &c);
    assert_matches_reference(op_sin, ref_sin, &c);
    assert_matches_reference(op_tanh, ref_tanh, &c);
    assert_matches_reference(op_gelu, ref_gelu, &c);
    Case positive = {0};
    input(&positive, "a", 2, (int[]){3, 37}, 0.2f, 5);
    assert_matches_reference(op_log, ref_log, &positive);
}
END_TEST

// ---------------------------------------------------------------- matrix products

static Var *op_matmul(Tape *t, void *p) { Case *c = p; return ag_matmul(t, c->in[0], c->in[1]); }
static Var *op_matmul_bt(Tape *t, void *p) { Case *c = p; return ag_matmul_bt(t, c->in[0], c->in[1]); }
static Var *op_linear(Tape *t, void *p) { Case *c = p; return ag_linear(t, c->in[0], c->in[1], c->in[2]); }

// y[r, n] = sum_k a[r, k] b(k, n) (+ bias[n]), with b stored [K, N] or, transposed, [N, K].
static void ref_product(const Case *c, const double *a, const double *b, const double *bias, bool b_transposed,
                        double *y) {
    long K = last_dim(c, 0), rows = size_of(c, 0) / K, N = size_of(c, 1) / K;
    for (long r = 0; r < rows; r++)
        for (long n = 0; n < N; n++) {
            double acc = bias ? bias[n] : 0.0;
            for (long k = 0; k < K; k++) acc += a[r * K + k] * (b_transposed ? b[n * K + k] : b[k * N + n]);
            y[r * N + n] = acc;
        }
}
static void ref_matmul(void *p, const double *const *x, double *y) { ref_product(p, x[0], x[1], NULL, false, y); }
static void ref_matmul_bt(void *p, const double *const *x, double *y) { ref_product(p, x[0], x[1], NULL, true, y); }
static void ref_linear(void *p, const double *const *x, double *y) { ref_product(p, x[0], x[1], x[2], true, y); }

START_TEST(test_matmul_matmul_bt_and_linear_match_reference) {
    Case nn = {0};
    input(&nn, "a", 3, (int[]){2, 3, 19}, -1, 1);
    input(&nn, "b", 2, (int[]){19, 5}, -1, 1);
    assert_matches_reference(op_matmul, ref_matmul, &nn);
    Case nt = {0};
    input(&nt, "a", 3, (int[]){2, 3, 19}, -1, 1);
    input(&nt, "w", 2, (int[]){5, 19}, -1, 1);
    assert_matches_reference(op_matmul_bt, ref_matmul_bt, &nt);
    input(&nt, "bias", 1, (int[]){5}, -1, 1);
    assert_matches_reference(op_linear, ref_linear, &nt);
}
END_TEST

// ---------------------------------------------------------------- over the last axis

static Var *op_sum(Tape *t, void *p) { Case *c = p; return ag_sum(t, c->in[0]); }
static Var *op_mean(Tape *t, void *p) { Case *c = p; return ag_mean(t, c->in[0]); }
static Var *op_softmax(Tape *t, void *p) { Case *c = p; return ag_softmax(t, c->in[0]); }
static Var *op_layernorm(Tape *t, void *p) { Case *c = p; return ag_layernorm(t, c->in[0], c->in[1], c->in[2], c->s); }

static void ref_sum_or_mean(const Case *c, const double *a, double *y, bool mean) {
    long C = last_dim(c, 0), rows = size_of(c, 0) / C;
    for (long r = 0; r < rows; r++) {
        double acc = 0.0;
        for (long k = 0; k < C; k++) acc += a[r * C + k];
        y[r] = mean ? acc / (double)C : acc;
    }
}
static void ref_sum(void *p, const double *const *x, double *y) { ref_sum_or_mean(p, x[0], y, false); }
static void ref_mean(void *p, const double *const *x, double *y) { ref_sum_or_mean(p, x[0], y, true); }

// exp(a_k) / sum_j exp(a_j): the definition; the inputs are small, so no shift is needed.
static void ref_softmax(void *p, const double *const *x, double *y) {
    Case *c = p;
    long C = last_dim(c, 0), rows = size_of(c, 0) / C;
    for (long r = 0; r < rows; r++) {
        double z = 0.0;
        for (long k = 0; k < C; k++) z += exp(x[0][r * C + k]);
        for (long k = 0; k < C; k++) y[r * C + k] = exp(x[0][r * C + k]) / z;
    }
}

// (x - mean) / sqrt(var + eps) * gamma + beta, with the biased variance, two passes.
static void ref_layernorm(void *p, const double *const *x, double *y) {
    Case *c = p;
    long C = last_dim(c, 0), rows = size_of(c, 0) / C;
    for (long r = 0; r < rows; r++) {
        const double *row = x[0] + r * C;
        double mean = 0.0, var = 0.0;
        for (long k = 0; k < C; k++) mean += row[k] / (double)C;
        for (long k = 0; k < C; k++) var += (row[k] - mean) * (row[k] - mean) / (double)C;
        for (long k = 0; k < C; k++) y[r * C + k] = (row[k] - mean) / sqrt(var + (double)c->s) * x[1][k] + x[2][k];
    }
}

START_TEST(test_sum_mean_softmax_and_layernorm_match_reference) {
    Case c = {0};
    input(&c, "a", 3, (int[]){2, 3, 21}, -2, 2);
    assert_matches_reference(op_sum, ref_sum, &c);
    assert_matches_reference(op_mean, ref_mean, &c);
    assert_matches_reference(op_softmax, ref_softmax, &c);
    // A large eps (0.5) so that a wrong placement of it shows in the forward and the gradient.
    Case ln = {.s = 0.5f};
    input(&ln, "x", 3, (int[]){2, 3, 21}, -2, 2);
    input(&ln, "gamma", 1, (int[]){21}, 0.5f, 1.5f);
    input(&ln, "beta", 1, (int[]){21}, -1, 1);
    assert_matches_reference(op_layernorm, ref_layernorm, &ln);
}
END_TEST

// ---------------------------------------------------------------- tokens

static Var *op_embedding(Tape *t, void *p) {
    Case *c = p;
    return ag_embedding(t, c->in[0], c->ids, c->ids_rank, c->ids_shape);
}
static Var *op_cross_entropy(Tape *t, void *p) { Case *c = p; return ag_cross_entropy(t, c->in[0], c->ids, -1); }

static void ref_embedding(void *p, const double *const *x, double *y) {
    Case *c = p;
    long D = dim(c, 0, 1), n_ids = (long)c->ids_shape[0] * c->ids_shape[1];
    for (long i = 0; i < n_ids; i++)
        for (long d = 0; d < D; d++) y[i * D + d] = x[0][(long)c->ids[i] * D + d];
}

// mean over rows with a target of log(sum_k exp(x_k)) - x_target; rows with target -1 skipped.
static void ref_cross_entropy(void *p, const double *const *x, double *y) {
    Case *c = p;
    long V = last_dim(c, 0), rows = size_of(c, 0) / V, counted = 0;
    double total = 0.0;
    for (long r = 0; r < rows; r++) {
        if (c->ids[r] == -1) continue;
        double z = 0.0;
        for (long k = 0; k < V; k++) z += exp(x[0][r * V + k]);
        total += log(z) - x[0][r * V + c->ids[r]];
        counted++;
    }
    y[0] = total / (double)counted;
}

START_TEST(test_embedding_and_cross_entropy_match_reference) {
    Case emb = {.ids = {3, 0, 3, 5, 1, 3}, .ids_rank = 2, .ids_shape = {2, 3}};  // id 3 three times
    input(&emb, "table", 2, (int[]){6, 4}, -1, 1);
    assert_matches_reference(op_embedding, ref_embedding, &emb);
    Case ce = {.ids = {2, -1, 0, 6, 6, -1, 3}};
    input(&ce, "logits", 3, (int[]){7, 1, 7}, -3, 3);
    assert_matches_reference(op_cross_entropy, ref_cross_entropy, &ce);
}
END_TEST

// ---------------------------------------------------------------- shapes

static Var *op_transpose(Tape *t, void *p) { Case *c = p; return ag_transpose(t, c->in[0], c->axis0, c->axis1); }
static Var *op_reshape(Tape *t, void *p) { Case *c = p; return ag_reshape(t, c->in[0], c->rank, c->shape); }
static Var *op_slice(Tape *t, void *p) { Case *c = p; return ag_slice(t, c->in[0], c->axis0, c->axis1, c->len); }

// Output index (i0, i1, i2) reads the input at the same index with the two axes swapped.
static void ref_transpose(void *p, const double *const *x, double *y) {
    Case *c = p;
    int in_shape[3] = {dim(c, 0, 0), dim(c, 0, 1), dim(c, 0, 2)}, out_shape[3] = {in_shape[0], in_shape[1], in_shape[2]};
    out_shape[c->axis0] = in_shape[c->axis1];
    out_shape[c->axis1] = in_shape[c->axis0];
    for (int i0 = 0; i0 < out_shape[0]; i0++)
        for (int i1 = 0; i1 < out_shape[1]; i1++)
            for (int i2 = 0; i2 < out_shape[2]; i2++) {
                int idx[3] = {i0, i1, i2};
                int t = idx[c->axis0];
                idx[c->axis0] = idx[c->axis1];
                idx[c->axis1] = t;
                y[((long)i0 * out_shape[1] + i1) * out_shape[2] + i2] =
                    x[0][((long)idx[0] * in_shape[1] + idx[1]) * in_shape[2] + idx[2]];
            }
}

static void ref_reshape(void *p, const double *const *x, double *y) {
    Case *c = p;
    for (long i = 0; i < size_of(c, 0); i++) y[i] = x[0][i];
}

// Along axis, keep [start, start + len): [outer, n, inner] -> [outer, len, inner].
static void ref_slice(void *p, const double *const *x, double *y) {
    Case *c = p;
    long outer = 1, inner = 1, n = dim(c, 0, c->axis0);
    for (int a = 0; a < c->axis0; a++) outer *= dim(c, 0, a);
    for (int a = c->axis0 + 1; a < c->in[0]->value.rank; a++) inner *= dim(c, 0, a);
    for (long o = 0; o < outer; o++)
        for (long k = 0; k < c->len; k++)
            for (long i = 0; i < inner; i++) y[(o * c->len + k) * inner + i] = x[0][(o * n + c->axis1 + k) * inner + i];
}

START_TEST(test_transpose_reshape_and_slice_match_reference) {
    int pairs[][2] = {{0, 1}, {1, 2}, {0, 2}};
    for (int k = 0; k < 3; k++) {
        Case tr = {.axis0 = pairs[k][0], .axis1 = pairs[k][1]};
        input(&tr, "a", 3, (int[]){2, 3, 4}, -1, 1);
        assert_matches_reference(op_transpose, ref_transpose, &tr);
    }
    Case rs = {.rank = 2, .shape = {4, 6}};
    input(&rs, "a", 3, (int[]){2, 3, 4}, -1, 1);
    assert_matches_reference(op_reshape, ref_reshape, &rs);
    for (int axis = 0; axis < 3; axis++) {
        Case sl = {.axis0 = axis, .axis1 = 1, .len = 2};  // elements [1, 3) along the axis
        input(&sl, "a", 3, (int[]){3, 4, 5}, -1, 1);
        assert_matches_reference(op_slice, ref_slice, &sl);
    }
}
END_TEST

// ---------------------------------------------------------------- convolutions over time

static Var *op_causal_conv(Tape *t, void *p) { Case *c = p; return ag_causal_conv(t, c->in[0], c->in[1], c->in[2]); }
static Var *op_fftconv(Tape *t, void *p) { Case *c = p; return ag_fftconv(t, c->in[0], c->in[1], c->in[2], c->path); }

// y[b, t, c] = bias[c] + sum_k w[c, k] x[b, t - (K - 1) + k, c], x before t = 0 being zero.
static void ref_causal_conv(void *p, const double *const *x, double *y) {
    Case *c = p;
    int B = dim(c, 0, 0), L = dim(c, 0, 1), C = dim(c, 0, 2), K = last_dim(c, 1);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int ch = 0; ch < C; ch++) {
                double acc = x[2][ch];
                for (int k = 0; k < K; k++) {
                    int s = t - (K - 1) + k;
                    if (s >= 0) acc += x[1][ch * K + k] * x[0][((long)b * L + s) * C + ch];
                }
                y[((long)b * L + t) * C + ch] = acc;
            }
}

// y[b, t, d] = sum_{s <= t} h[t - s, d] u[b, s, d] + bias[d] u[b, t, d]: the direct O(L^2) sum.
static void ref_fftconv(void *p, const double *const *x, double *y) {
    Case *c = p;
    int B = dim(c, 0, 0), L = dim(c, 0, 1), D = dim(c, 0, 2);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++)
            for (int d = 0; d < D; d++) {
                const double *u = x[0] + (long)b * L * D;
                double acc = x[2][d] * u[(long)t * D + d];
                for (int s = 0; s <= t; s++) acc += x[1][(long)(t - s) * D + d] * u[(long)s * D + d];
                y[((long)b * L + t) * D + d] = acc;
            }
}

START_TEST(test_causal_conv_matches_reference) {
    Case c = {0};
    input(&c, "x", 3, (int[]){2, 9, 5}, -1, 1);
    input(&c, "w", 2, (int[]){5, 3}, -1, 1);
    input(&c, "bias", 1, (int[]){5}, -1, 1);
    assert_matches_reference(op_causal_conv, ref_causal_conv, &c);
    // 150 rows: gw and gbias are summed in blocks of 64 rows (64, 64, then 22), and the blocks
    // start in the middle of a sequence, so a tap that reaches back crosses a block's start.
    Case many = {0};
    input(&many, "x", 3, (int[]){3, 50, 5}, -1, 1);
    input(&many, "w", 2, (int[]){5, 4}, -1, 1);
    input(&many, "bias", 1, (int[]){5}, -1, 1);
    assert_matches_reference(op_causal_conv, ref_causal_conv, &many);
}
END_TEST

START_TEST(test_fftconv_both_paths_match_direct_sum_in_double) {
    FftconvPath paths[] = {FFTCONV_DIRECT, FFTCONV_FFT};
    int lengths[] = {1, 13, 40};
    for (int p = 0; p < 2; p++)
        for (int k = 0; k < 3; k++) {
            Case c = {.path = paths[p]};
            input(&c, "u", 3, (int[]){2, lengths[k], 3}, -1, 1);
            input(&c, "h", 2, (int[]){lengths[k], 3}, -1, 1);
            input(&c, "bias", 1, (int[]){3}, -1, 1);
            assert_matches_reference(op_fftconv, ref_fftconv, &c);
        }
}
END_TEST

// ---------------------------------------------------------------- attention

static Var *op_attention(Tape *t, void *p) {
    Case *c = p;
    return ag_causal_attention(t, c->in[0], c->in[1], c->in[2], c->heads);
}

// Per batch and head: scores q_t . k_s / sqrt(head_dim) for s <= t, softmax over s, then the
// weighted sum of v_s.
static void ref_attention(void *p, const double *const *x, double *y) {
    Case *c = p;
    int B = dim(c, 0, 0), T = dim(c, 0, 1), D = dim(c, 0, 2), hd = D / c->heads;
    double *score = malloc((size_t)T * sizeof(double));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < c->heads; h++)
            for (int t = 0; t < T; t++) {
                const double *q = x[0] + ((long)b * T + t) * D + h * hd;
                double z = 0.0;
                for (int s = 0; s <= t; s++) {
                    const double *k = x[1] + ((long)b * T + s) * D + h * hd;
                    double dot = 0.0;
                    for (int i = 0; i < hd; i++) dot += q[i] * k[i];
                    score[s] = exp(dot / sqrt((double)hd));
                    z += score[s];
                }
                for (int i = 0; i < hd; i++) {
                    double acc = 0.0;
                    for (int s = 0; s <= t; s++) acc += score[s] / z * x[2][((long)b * T + s) * D + h * hd + i];
                    y[((long)b * T + t) * D + h * hd + i] = acc;
                }
            }
    free(score);
}

START_TEST(test_causal_attention_matches_reference) {
    Case c = {.heads = 2};
    input(&c, "q", 3, (int[]){2, 7, 6}, -1.5f, 1.5f);
    input(&c, "k", 3, (int[]){2, 7, 6}, -1.5f, 1.5f);
    input(&c, "v", 3, (int[]){2, 7, 6}, -1, 1);
    assert_matches_reference(op_attention, ref_attention, &c);
}
END_TEST

// ---------------------------------------------------------------- modal filters

static Var *op_modal(Tape *t, void *p) { Case *c = p; return ag_modal_filter(t, c->in[0], c->in[1], c->in[2], c->L); }

// h[t, c] = Re sum_n R λ^t with λ = exp(-exp(log_rate) + i angle), λ^t by cpow.
static void ref_modal(void *p, const double *const *x, double *y) {
    Case *c = p;
    int C = dim(c, 0, 0), d = dim(c, 0, 1);
    for (int t = 0; t < c->L; t++)
        for (int ch = 0; ch < C; ch++) {
            double acc = 0.0;
            for (int n = 0; n < d; n++) {
                long k = (long)ch * d + n;
                double complex lambda = cexp(-exp(x[0][k]) + I * x[1][k]);
                acc += creal((x[2][2 * k] + I * x[2][2 * k + 1]) * cpow(lambda, t));
            }
            y[(long)t * C + ch] = acc;
        }
}

START_TEST(test_modal_filter_matches_reference) {
    Case c = {.L = 24};
    input(&c, "log_rate", 2, (int[]){3, 2}, -4, -1);
    input(&c, "angle", 2, (int[]){3, 2}, -3, 3);
    input(&c, "residues", 3, (int[]){3, 2, 2}, -1, 1);
    assert_matches_reference(op_modal, ref_modal, &c);
}
END_TEST

// ---------------------------------------------------------------- the check itself

// y = 3a, with a backward that claims 3.003: one part in a thousand off.
static void slightly_wrong_backward(Node *n) {
    for (size_t i = 0; i < n->out->value.size; i++) n->in[0]->grad[i] += 3.003f * n->out->grad[i];
}

static Var *op_slightly_wrong_triple(Tape *t, void *p) {
    Case *c = p;
    Var *y = ag_new_var(t, c->in[0]->value.rank, c->in[0]->value.shape, "slightly_wrong_triple");
    for (size_t i = 0; i < y->value.size; i++) y->value.data[i] = 3.0f * c->in[0]->value.data[i];
    ag_record(t, "slightly_wrong_triple", slightly_wrong_backward, y, 1, c->in);
    return y;
}

static void ref_triple(void *p, const double *const *x, double *y) {
    Case *c = p;
    for (long i = 0; i < size_of(c, 0); i++) y[i] = 3.0 * x[0][i];
}

START_TEST(test_reference_check_catches_a_backward_one_part_in_a_thousand_off) {
    Case c = {0};
    input(&c, "a", 2, (int[]){3, 4}, -1, 1);
    // Float32 finite differences cannot tell (their tolerance is 1%)...
    ck_assert(gradcheck(op_slightly_wrong_triple, &c, c.in, 1, NULL, NULL));
    // ... the float64 twin can, on every element, and it does not blame the forward.
    GradcheckReport fwd, bwd;
    ck_assert(!gradcheck_reference(op_slightly_wrong_triple, ref_triple, &c, c.in, 1, NULL, &fwd, &bwd));
    ck_assert_int_eq(fwd.n_failed, 0);
    ck_assert_int_eq(bwd.n_failed, bwd.n_checked);
}
END_TEST

Suite *reference_suite(void) {
    Suite *s = suite_create("reference");
    TCase *tc = tcase_create("ops_against_float64_twins");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_add_and_mul_match_reference_same_shape_and_broadcast);
    tcase_add_test(tc, test_scale_matches_reference);
    tcase_add_test(tc, test_unary_maps_match_reference);
    tcase_add_test(tc, test_matmul_matmul_bt_and_linear_match_reference);
    tcase_add_test(tc, test_sum_mean_softmax_and_layernorm_match_reference);
    tcase_add_test(tc, test_embedding_and_cross_entropy_match_reference);
    tcase_add_test(tc, test_transpose_reshape_and_slice_match_reference);
    tcase_add_test(tc, test_causal_conv_matches_reference);
    tcase_add_test(tc, test_fftconv_both_paths_match_direct_sum_in_double);
    tcase_add_test(tc, test_causal_attention_matches_reference);
    tcase_add_test(tc, test_modal_filter_matches_reference);
    tcase_add_test(tc, test_reference_check_catches_a_backward_one_part_in_a_thousand_off);
    suite_add_tcase(s, tc);
    return s;
}
