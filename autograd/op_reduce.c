// op_reduce.c - sum and mean over the last axis.
//
//   y[r] = sum_c a[r, c]          ga[r, c] += g[r]
//   y[r] = mean_c a[r, c]         ga[r, c] += g[r] / C
#include "../tensor/ops.h"
#include "ops.h"

static void reduce_grad(Node *n, float factor) {
    Var *a = n->in[0];
    long cols = tensor_last_dim(&a->value), rows = (long)a->value.size / (cols ? cols : 1);
    for (long r = 0; r < rows; r++) {
        float g = n->out->grad[r] * factor;
        for (long c = 0; c < cols; c++) a->grad[r * cols + c] += g;
    }
}

static void sum_backward(Node *n) { reduce_grad(n, 1.0f); }
static void mean_backward(Node *n) { reduce_grad(n, 1.0f / (float)tensor_last_dim(&n->in[0]->value)); }

static Var *reduce_last(Tape *tape, Var *a, const char *name, BackwardFn backward, bool mean) {
    if (a->value.rank == 0) ag_shape_error(name, "needs at least one axis", &a->value, &a->value);
    long cols = tensor_last_dim(&a->value), rows = (long)a->value.size / (cols ? cols : 1);
    Var *y = ag_new_var(tape, a->value.rank - 1, a->value.shape, name);
    if (mean) mean_last(y->value.data, a->value.data, rows, cols);
    else sum_last(y->value.data, a->value.data, rows, cols);
    ag_record(tape, name, backward, y, 1, &a);
    return y;
}

Var *ag_sum(Tape *tape, Var *a) { return reduce_last(tape, a, "sum", sum_backward, false); }
Var *ag_mean(Tape *tape, Var *a) { return reduce_last(tape, a, "mean", mean_backward, true); }
