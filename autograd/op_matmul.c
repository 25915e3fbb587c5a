// op_matmul.c - the two products a model needs, and their gradients.
//
//   y = a·b     (a: [R, K], b: [K, N])    ga += g·bᵀ  (MATMUL_NT)    gb += aᵀ·g  (MATMUL_TN)
//   y = a·bᵀ    (a: [R, K], b: [N, K])    ga += g·b   (MATMUL_NN)    gb += gᵀ·a  (MATMUL_TN)
//   y = a·bᵀ + c  (c: [N], the affine layer)  as above, and gc += g summed over the R rows
//
// a may have any number of leading axes: [B, T, K] is R = B*T rows. Each gradient is itself a
// matmul, one of the transposed forms tensor/matmul.c packs without copying a transpose, and it
// stores instead of adding when it is the first to write its gradient (ag_grad_first_write):
// the products write all of ga and gb, so their nodes set stores_grads for a and b.
#include "../tensor/matmul.h"
#include "../tensor/ops.h"
#include "ops.h"

static int rows_of(const Var *a) { return (int)(a->value.size / (size_t)tensor_last_dim(&a->value)); }

// The output of a product of a: [..., K] with a matrix: [..., N], a's leading axes kept.
static Var *product_var(Tape *tape, const Var *a, int N, const char *name) {
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < a->value.rank; i++) shape[i] = a->value.shape[i];
    shape[a->value.rank - 1] = N;
    return ag_new_var(tape, a->value.rank, shape, name);
}

// gw (+)= aᵀ·g, a: [R, m], g: [R, n]: the weight gradient, split over the R tokens when R is long
// (matmul_tn_split_k), with the partial sums in the tape's arena.
static void weight_grad(Node *node, Var *w, const float *a, const float *g, int R, int m, int n) {
    size_t floats = matmul_split_k_floats(m, R, n);
    float *partials = floats ? arena_alloc(node->tape->arena, floats * sizeof(float)) : NULL;
    matmul_tn_split_k(w->grad, a, g, m, R, n, !ag_grad_first_write(w), partials);
}

static void matmul_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    int R = rows_of(a), K = b->value.shape[0], N = b->value.shape[1];
    if (a->requires_grad) matmul(a->grad, n->out->grad, b->value.data, R, N, K, MATMUL_NT, !ag_grad_first_write(a));
    if (b->requires_grad) weight_grad(n, b, a->value.data, n->out->grad, R, K, N);
}

Var *ag_matmul(Tape *tape, Var *a, Var *b) {
    if (b->value.rank != 2 || tensor_last_dim(&a->value) != b->value.shape[0])
        ag_shape_error("matmul", "need a: [..., K] and b: [K, N]", &a->value, &b->value);
    int R = rows_of(a), K = b->value.shape[0], N = b->value.shape[1];
    Var *y = product_var(tape, a, N, "matmul");
    matmul(y->value.data, a->value.data, b->value.data, R, K, N, MATMUL_NN, false);
    Node *n = ag_record(tape, "matmul", matmul_backward, y, 2, (Var *[]){a, b});
    if (n) n->stores_grads = 1u << 0 | 1u << 1;
    return y;
}

static void matmul_bt_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    int R = rows_of(a), N = b->value.shape[0], K = b->value.shape[1];
    if (a->requires_grad) matmul(a->grad, n->out->grad, b->value.data, R, N, K, MATMUL_NN, !ag_grad_first_write(a));
    if (b->requires_grad) weight_grad(n, b, n->out->grad, a->value.data, R, N, K);
}

Var *ag_matmul_bt(Tape *tape, Var *a, Var *b) {
    if (b->value.rank != 2 || tensor_last_dim(&a->value) != b->value.shape[1])
        ag_shape_error("matmul_bt", "need a: [..., K] and b: [N, K]", &a->value, &b->value);
    int R = rows_of(a), N = b->value.shape[0], K = b->value.shape[1];
    Var *y = product_var(tape, a, N, "matmul_bt");
    matmul(y->value.data, a->value.data, b->value.data, R, K, N, MATMUL_NT, false);
    Node *n = ag_record(tape, "matmul_bt", matmul_bt_backward, y, 2, (Var *[]){a, b});
    if (n) n->stores_grads = 1u << 0 | 1u << 1;
    return y;
}

static void linear_backward(Node *n) {
    matmul_bt_backward(n);
    Var *bias = n->in[2];
    if (!bias->requires_grad) return;
    long N = (long)bias->value.size, R = (long)n->out->value.size / N;
    size_t floats = column_sum_scratch(R, N);
    float *partials = floats ? arena_alloc(n->tape->arena, floats * sizeof(float)) : NULL;
    column_sum_add(bias->grad, n->out->grad, NULL, R, N, partials);
}

Var *ag_linear(Tape *tape, Var *x, Var *w, Var *bias) {
    if (w->value.rank != 2 || tensor_last_dim(&x->value) != w->value.shape[1] || bias->value.rank != 1 ||
        bias->value.shape[0] != w->value.shape[0])
        ag_shape_error("linear", "need x: [..., K], w: [N, K] and bias: [N]", &x->value, &w->value);
    int R = rows_of(x), N = w->value.shape[0], K = w->value.shape[1];
    Var *y = product_var(tape, x, N, "linear");
    matmul(y->value.data, x->value.data, w->value.data, R, K, N, MATMUL_NT, false);
    add_broadcast(y->value.data, y->value.data, bias->value.data, R, N);
    Node *n = ag_record(tape, "linear", linear_backward, y, 3, (Var *[]){x, w, bias});
    if (n) n->stores_grads = 1u << 0 | 1u << 1;   // the bias's gradient is a sum added in
    return y;
}
