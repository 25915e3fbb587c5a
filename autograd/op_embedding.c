// op_embedding.c - looking up rows of a table by token id.
//
//   y[i, :] = table[ids[i], :]          gtable[ids[i], :] += g[i, :]
// A token that occurs twice gets both gradients, added in token order.
#include <string.h>

#include "../tensor/ops.h"
#include "ops.h"

static void embedding_backward(Node *n) {
    Var *table = n->in[0];
    int D = table->value.shape[1];
    long n_ids = (long)(n->out->value.size / (size_t)D);
    embedding_scatter_add(table->grad, n->out->grad, n->ids, n_ids, D);
}

Var *ag_embedding(Tape *tape, Var *table, const int32_t *ids, int ids_rank, const int *ids_shape) {
    if (table->value.rank != 2 || ids_rank < 1 || ids_rank >= TENSOR_MAX_RANK)
        ag_shape_error("embedding", "need table: [V, D] and ids of rank 1..3", &table->value, &table->value);
    int V = table->value.shape[0], D = table->value.shape[1];
    int shape[TENSOR_MAX_RANK];
    long n_ids = 1;
    for (int i = 0; i < ids_rank; i++) {
        shape[i] = ids_shape[i];
        n_ids *= ids_shape[i];
    }
    shape[ids_rank] = D;
    Var *y = ag_new_var(tape, ids_rank + 1, shape, "embedding");
    embedding_gather(y->value.data, table->value.data, ids, n_ids, D, V);
    Node *n = ag_record(tape, "embedding", embedding_backward, y, 1, &table);
    if (n) {
        // The caller's id buffer may be reused before backward runs: keep a copy.
        int32_t *copy = arena_alloc(tape->arena, (size_t)n_ids * sizeof(int32_t));
        memcpy(copy, ids, (size_t)n_ids * sizeof(int32_t));
        n->ids = copy;
    }
    return y;
}
