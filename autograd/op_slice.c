// op_slice.c - a contiguous range along one axis.
//
// Seeing a as [outer, dim, inner] (axis in the middle):
//   y[o, i, j] = a[o, start + i, j]         ga[o, start + i, j] += g[o, i, j]
#include <stdbool.h>
#include <string.h>

#include "../tensor/pool.h"
#include "ops.h"

typedef struct SliceGeometry {
    long outer, dim, inner;
} SliceGeometry;

static SliceGeometry geometry(const Tensor *t, int axis) {
    SliceGeometry g = {(long)tensor_numel(t, 0, axis), t->shape[axis], (long)tensor_numel(t, axis + 1, t->rank)};
    return g;
}

// Rows o of the [outer, dim, inner] view, copied (forward) or added (backward), in chunks of
// about ELEMS_PER_CHUNK floats: the Hyena operator slices [B, L, 3D] into three [B, L, D] pieces,
// B*L short rows each.
#define ELEMS_PER_CHUNK 16384

typedef struct SliceJob {
    float *y, *a;          // the slice and the sliced tensor (a's gradient in backward)
    SliceGeometry g;
    long start, len;
    bool backward;
} SliceJob;

static void slice_rows(void *ctx, long begin, long end) {
    const SliceJob *j = ctx;
    long n = j->len * j->g.inner;
    for (long o = begin; o < end; o++) {
        float *a = j->a + (o * j->g.dim + j->start) * j->g.inner, *y = j->y + o * n;
        if (j->backward)
            for (long i = 0; i < n; i++) a[i] += y[i];
        else
            memcpy(y, a, (size_t)n * sizeof(float));
    }
}

static void slice_run(SliceJob *j) {
    long n = j->len * j->g.inner, rows = n > 0 && n < ELEMS_PER_CHUNK ? ELEMS_PER_CHUNK / n : 1;
    parallel_for(j->g.outer, rows, slice_rows, j);
}

static void slice_backward(Node *n) {
    Var *a = n->in[0];
    SliceJob j = {n->out->grad, a->grad, geometry(&a->value, n->ints[0]), n->ints[1], n->ints[2], true};
    slice_run(&j);
}

Var *ag_slice(Tape *tape, Var *a, int axis, int start, int len) {
    if (axis < 0 || axis >= a->value.rank || start < 0 || len < 0 || start + len > a->value.shape[axis])
        ag_shape_error("slice", "range outside the axis", &a->value, &a->value);
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < a->value.rank; i++) shape[i] = a->value.shape[i];
    shape[axis] = len;
    Var *y = ag_new_var(tape, a->value.rank, shape, "slice");
    SliceJob j = {y->value.data, a->value.data, geometry(&a->value, axis), start, len, false};
    slice_run(&j);
    Node *n = ag_record(tape, "slice", slice_backward, y, 1, &a);
    if (n) {
        n->ints[0] = axis;
        n->ints[1] = start;
        n->ints[2] = len;
    }
    return y;
}
