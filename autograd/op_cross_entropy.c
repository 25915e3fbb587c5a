// op_cross_entropy.c - softmax cross-entropy from logits, averaged over the counted rows.
//
//   loss = (1/N) sum_r [ logsumexp(x_r) - x_r[t_r] ]   over the N rows with t_r != ignore_index
//   gx_r[c] += g/N * (softmax(x_r)[c] - [c == t_r])     (0 for ignored rows)
//
// Fusing softmax and log avoids both the overflow of exp and the -inf of log(0), and its
// gradient is the famous "probabilities minus one-hot". Softmax is recomputed in backward rather
// than stored: [rows, V] floats is often the largest activation of a language model.
#include <math.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "ops.h"

typedef struct CrossEntropyGradJob {
    float *gx;
    const float *x;
    const int32_t *targets;
    long vocab;
    int32_t ignore_index;
    float g_over_n;
} CrossEntropyGradJob;

static void cross_entropy_grad_rows(void *ctx, long begin, long end) {
    const CrossEntropyGradJob *j = ctx;
    for (long r = begin; r < end; r++) {
        if (j->targets[r] == j->ignore_index) continue;
        const float *x = j->x + r * j->vocab;
        float *gx = j->gx + r * j->vocab;
        float max = -INFINITY;
        for (long c = 0; c < j->vocab; c++) max = x[c] > max ? x[c] : max;
        double sum = 0.0;
        for (long c = 0; c < j->vocab; c++) sum += exp((double)(x[c] - max));
        float inv = (float)(1.0 / sum);
        for (long c = 0; c < j->vocab; c++) gx[c] += j->g_over_n * (expf(x[c] - max) * inv);
        gx[j->targets[r]] -= j->g_over_n;
    }
}

static void cross_entropy_backward(Node *n) {
    Var *logits = n->in[0];
    long V = tensor_last_dim(&logits->value), rows = (long)logits->value.size / V;
    long counted = n->ints[1];
    if (counted == 0) return;
    CrossEntropyGradJob j = {logits->grad, logits->value.data, n->ids, V, n->ints[0],
                             n->out->grad[0] / (float)counted};
    parallel_for(rows, 16, cross_entropy_grad_rows, &j);
}

Var *ag_cross_entropy(Tape *tape, Var *logits, const int32_t *targets, int32_t ignore_index) {
    long V = tensor_last_dim(&logits->value), rows = (long)logits->value.size / (V ? V : 1);
    Var *loss = ag_new_var(tape, 0, NULL, "cross_entropy");
    float *row_loss = arena_alloc(tape->arena, (size_t)rows * sizeof(float));
    long counted = 0;
    loss->value.data[0] = cross_entropy(row_loss, logits->value.data, targets, rows, V, ignore_index, &counted);
    Node *n = ag_record(tape, "cross_entropy", cross_entropy_backward, loss, 1, &logits);
    if (n) {
        int32_t *copy = arena_alloc(tape->arena, (size_t)rows * sizeof(int32_t));
        memcpy(copy, targets, (size_t)rows * sizeof(int32_t));
        n->ids = copy;
        n->ints[0] = ignore_index;
        n->ints[1] = (int)counted;
    }
    return loss;
}
