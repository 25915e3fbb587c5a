// tensor.c - shapes and allocation. All arithmetic lives in the kernel files.
#include "tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Tensor tensor_shaped(int rank, const int *shape) {
    if (rank < 0 || rank > TENSOR_MAX_RANK) {
        fprintf(stderr, "hyena: tensor rank %d is outside 0..%d\n", rank, TENSOR_MAX_RANK);
        exit(1);
    }
    Tensor t = {.data = NULL, .rank = rank, .size = 1};
    for (int i = 0; i < TENSOR_MAX_RANK; i++) {
        t.shape[i] = i < rank ? shape[i] : 1;
        if (t.shape[i] < 0) {
            fprintf(stderr, "hyena: tensor dimension %d is negative (%d)\n", i, t.shape[i]);
            exit(1);
        }
        t.size *= (size_t)t.shape[i];
    }
    return t;
}

Tensor tensor_new(Arena *arena, int rank, const int *shape) {
    Tensor t = tensor_shaped(rank, shape);
    t.data = arena_alloc(arena, t.size * sizeof(float));
    return t;
}

Tensor tensor_zeros(Arena *arena, int rank, const int *shape) {
    Tensor t = tensor_new(arena, rank, shape);
    memset(t.data, 0, t.size * sizeof(float));
    return t;
}

Tensor tensor_view(float *data, int rank, const int *shape) {
    Tensor t = tensor_shaped(rank, shape);
    t.data = data;
    return t;
}

size_t tensor_numel(const Tensor *t, int from, int to) {
    size_t n = 1;
    for (int i = from; i < to; i++) n *= (size_t)t->shape[i];
    return n;
}

int tensor_last_dim(const Tensor *t) { return t->rank == 0 ? 1 : t->shape[t->rank - 1]; }

bool tensor_same_shape(const Tensor *a, const Tensor *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *tensor_shape_str(const Tensor *t, char *buf, size_t buf_size) {
    size_t used = 0;
    used += (size_t)snprintf(buf, buf_size, "[");
    for (int i = 0; i < t->rank && used < buf_size; i++)
        used += (size_t)snprintf(buf + used, buf_size - used, i ? ", %d" : "%d", t->shape[i]);
    if (used < buf_size) snprintf(buf + used, buf_size - used, "]");
    return buf;
}
