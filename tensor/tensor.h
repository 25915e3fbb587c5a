// tensor.h - the one data type of hyena.c: a float32 array with its shape.
//
// A Tensor does not own memory. Its data lives in an Arena (tensor/arena.h): the model's
// parameters in one arena allocated once, each training step's activations in another that is
// reset after the step. Tensors are contiguous and row-major: the last index varies fastest, so
// an x: [B, T, D] stores x[b][t][d] at data[(b*T + t)*D + d].
#ifndef HYENA_TENSOR_H
#define HYENA_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define TENSOR_MAX_RANK 4

typedef struct Tensor {
    float *data;
    int rank;                     // 0 (a scalar) .. TENSOR_MAX_RANK
    int shape[TENSOR_MAX_RANK];   // shape[rank..] are unused and kept at 1
    size_t size;                  // number of elements: the product of the shape
} Tensor;

// A tensor of the given shape whose data is allocated from `arena` (uninitialized).
//   Tensor x = tensor_new(arena, 3, (int[]){B, T, D});
Tensor tensor_new(Arena *arena, int rank, const int *shape);
// The same, filled with zeros.
Tensor tensor_zeros(Arena *arena, int rank, const int *shape);
// A tensor that views `data` with the given shape (no allocation, no copy).
Tensor tensor_view(float *data, int rank, const int *shape);

// Product of shape[from..to) (so tensor_numel(t, 0, t.rank - 1) counts the rows of the last axis).
size_t tensor_numel(const Tensor *t, int from, int to);
// The size of the last axis (1 for a scalar).
int tensor_last_dim(const Tensor *t);
bool tensor_same_shape(const Tensor *a, const Tensor *b);
// Writes "[2, 3, 4]" into buf; returns buf (for error messages and graph dumps).
const char *tensor_shape_str(const Tensor *t, char *buf, size_t buf_size);

#endif
