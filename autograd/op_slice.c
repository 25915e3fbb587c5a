// op_slice.c - a contiguous range along one axis.
//
// Seeing a as [outer, dim, inner] (axis in the middle):
//   y[o, i, j] = a[o, start + i, j]         ga[o, start + i, j] += g[o, i, j]
#include <string.h>

#include "ops.h"

typedef struct SliceGeometry {
    long outer, dim, inner;
} SliceGeometry;

static SliceGeometry geometry(const Tensor *t, int axis) {
    SliceGeometry g = {(long)tensor_numel(t, 0, axis), t->shape[axis], (long)tensor_numel(t, axis + 1, t->rank)};
    return g;
}

static void slice_backward(Node *n) {
    Var *a = n->in[0];
    int axis = n->ints[0], start = n->ints[1], len = n->ints[2];
    SliceGeometry g = geometry(&a->value, axis);
    for (long o = 0; o < g.outer; o++) {
        float *dst = a->grad + (o * g.dim + start) * g.inner;
        const float *src = n->out->grad + o * len * g.inner;
        for (long i = 0; i < len * g.inner; i++) dst[i] += src[i];
    }
}

Var *ag_slice(Tape *tape, Var *a, int axis, int start, int len) {
    if (axis < 0 || axis >= a->value.rank || start < 0 || len < 0 || start + len > a->value.shape[axis])
        ag_shape_error("slice", "range outside the axis", &a->value, &a->value);
    int shape[TENSOR_MAX_RANK];
    for (int i = 0; i < a->value.rank; i++) shape[i] = a->value.shape[i];
    shape[axis] = len;
    Var *y = ag_new_var(tape, a->value.rank, shape, "slice");
    SliceGeometry g = geometry(&a->value, axis);
    for (long o = 0; o < g.outer; o++)
        memcpy(y->value.data + o * len * g.inner, a->value.data + (o * g.dim + start) * g.inner,
               (size_t)(len * g.inner) * sizeof(float));
    Node *n = ag_record(tape, "slice", slice_backward, y, 1, &a);
    if (n) {
        n->ints[0] = axis;
        n->ints[1] = start;
        n->ints[2] = len;
    }
    return y;
}
