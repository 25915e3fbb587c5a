// op_shape.c - ops that move numbers without changing them.
//
//   transpose(a, i, j): y = a with axes i and j swapped     ga += transpose(g, i, j)
//   reshape(a, shape):  y views a's data in another shape  ga += g (same element order)
#include "../tensor/ops.h"
#include "ops.h"

static void transpose_backward(Node *n) {
    Var *a = n->in[0];
    // Transposing the gradient back is the same swap applied to the output's shape.
    float *tmp = arena_alloc(n->tape->arena, a->value.size * sizeof(float));
    transpose_axes(tmp, n->out->grad, n->out->value.shape, n->out->value.rank, n->ints[0], n->ints[1]);
    for (size_t i = 0; i < a->value.size; i++) a->grad[i] += tmp[i];
}

Var *ag_transpose(Tape *tape, Var *a, int ax0, int ax1) {
    int rank = a->value.rank;
    if (ax0 < 0 || ax1 < 0 || ax0 >= rank || ax1 >= rank)
        ag_shape_error("transpose", "axis out of range", &a->value, &a->value);
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < rank; i++) shape[i] = a->value.shape[i];
    shape[ax0] = a->value.shape[ax1];
    shape[ax1] = a->value.shape[ax0];
    Var *y = ag_new_var(tape, rank, shape, "transpose");
    transpose_axes(y->value.data, a->value.data, a->value.shape, rank, ax0, ax1);
    Node *n = ag_record(tape, "transpose", transpose_backward, y, 1, &a);
    if (n) {
        n->ints[0] = ax0;
        n->ints[1] = ax1;
    }
    return y;
}

static void reshape_backward(Node *n) {
    Var *a = n->in[0];
    for (size_t i = 0; i < a->value.size; i++) a->grad[i] += n->out->grad[i];
}

Var *ag_reshape(Tape *tape, Var *a, int rank, const int *shape) {
    Tensor view = tensor_view(a->value.data, rank, shape);
    if (view.size != a->value.size) ag_shape_error("reshape", "element counts differ", &a->value, &view);
    Var *y = ag_input(tape, view, false, "reshape");
    ag_record(tape, "reshape", reshape_backward, y, 1, &a);
    return y;
}
