// op_softmax.c - softmax over the last axis.
//
//   y = softmax(a)        dy_i/da_j = y_i (δ_ij - y_j)
//   so  ga_j += y_j (g_j - sum_i g_i y_i)
#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "ops.h"

typedef struct SoftmaxGradJob {
    float *ga;
    const float *g, *y;
    long cols;
} SoftmaxGradJob;

static void softmax_grad_rows(void *ctx, long begin, long end) {
    const SoftmaxGradJob *j = ctx;
    for (long r = begin; r < end; r++) {
        const float *g = j->g + r * j->cols, *y = j->y + r * j->cols;
        float *ga = j->ga + r * j->cols;
        double dot = 0.0;
        for (long c = 0; c < j->cols; c++) dot += (double)g[c] * y[c];
        for (long c = 0; c < j->cols; c++) ga[c] += y[c] * (g[c] - (float)dot);
    }
}

static void softmax_backward(Node *n) {
    long cols = tensor_last_dim(&n->out->value), rows = (long)n->out->value.size / cols;
    SoftmaxGradJob j = {n->in[0]->grad, n->out->grad, n->out->value.data, cols};
    parallel_for(rows, 16, softmax_grad_rows, &j);
}

Var *ag_softmax(Tape *tape, Var *a) {
    long cols = tensor_last_dim(&a->value), rows = (long)a->value.size / (cols ? cols : 1);
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "softmax");
    softmax_last(y->value.data, a->value.data, rows, cols);
    ag_record(tape, "softmax", softmax_backward, y, 1, &a);
    return y;
}
