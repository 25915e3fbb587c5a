// op_matmul.c - the two products a model needs, and their gradients.
//
//   y = a·b     (a: [R, K], b: [K, N])    ga += g·bᵀ  (MATMUL_NT)    gb += aᵀ·g  (MATMUL_TN)
//   y = a·bᵀ    (a: [R, K], b: [N, K])    ga += g·b   (MATMUL_NN)    gb += gᵀ·a  (MATMUL_TN)
//
// a may have any number of leading axes: [B, T, K] is R = B*T rows. Each gradient is itself a
// matmul, one of the transposed forms tensor/matmul.c packs without copying a transpose.
#include "../tensor/matmul.h"
#include "ops.h"

static int rows_of(const Var *a) { return (int)(a->value.size / (size_t)tensor_last_dim(&a->value)); }

// gw += aᵀ·g, a: [R, m], g: [R, n]: the weight gradient, split over the R tokens when R is long
// (matmul_tn_split_k), with the partial sums in the tape's arena.
static void weight_grad(Node *node, float *gw, const float *a, const float *g, int R, int m, int n) {
    size_t floats = matmul_split_k_floats(m, R, n);
    float *partials = floats ? arena_alloc(node->tape->arena, floats * sizeof(float)) : NULL;
    matmul_tn_split_k(gw, a, g, m, R, n, true, partials);
}

static void matmul_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    int R = rows_of(a), K = b->value.shape[0], N = b->value.shape[1];
    if (a->requires_grad) matmul(a->grad, n->out->grad, b->value.data, R, N, K, MATMUL_NT, true);
    if (b->requires_grad) weight_grad(n, b->grad, a->value.data, n->out->grad, R, K, N);
}

Var *ag_matmul(Tape *tape, Var *a, Var *b) {
    if (b->value.rank != 2 || tensor_last_dim(&a->value) != b->value.shape[0])
        ag_shape_error("matmul", "need a: [..., K] and b: [K, N]", &a->value, &b->value);
    int R = rows_of(a), K = b->value.shape[0], N = b->value.shape[1];
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < a->value.rank; i++) shape[i] = a->value.shape[i];
    shape[a->value.rank - 1] = N;
    Var *y = ag_new_var(tape, a->value.rank, shape, "matmul");
    matmul(y->value.data, a->value.data, b->value.data, R, K, N, MATMUL_NN, false);
    ag_record(tape, "matmul", matmul_backward, y, 2, (Var *[]){a, b});
    return y;
}

static void matmul_bt_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    int R = rows_of(a), N = b->value.shape[0], K = b->value.shape[1];
    if (a->requires_grad) matmul(a->grad, n->out->grad, b->value.data, R, N, K, MATMUL_NN, true);
    if (b->requires_grad) weight_grad(n, b->grad, n->out->grad, a->value.data, R, N, K);
}

Var *ag_matmul_bt(Tape *tape, Var *a, Var *b) {
    if (b->value.rank != 2 || tensor_last_dim(&a->value) != b->value.shape[1])
        ag_shape_error("matmul_bt", "need a: [..., K] and b: [N, K]", &a->value, &b->value);
    int R = rows_of(a), N = b->value.shape[0], K = b->value.shape[1];
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < a->value.rank; i++) shape[i] = a->value.shape[i];
    shape[a->value.rank - 1] = N;
    Var *y = ag_new_var(tape, a->value.rank, shape, "matmul_bt");
    matmul(y->value.data, a->value.data, b->value.data, R, K, N, MATMUL_NT, false);
    ag_record(tape, "matmul_bt", matmul_bt_backward, y, 2, (Var *[]){a, b});
    return y;
}
