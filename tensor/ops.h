// ops.h - the non-matmul kernels: elementwise maps, reductions over the last axis, softmax,
// layer norm, embedding gather/scatter, cross-entropy and transpose.
//
// Kernels take raw pointers and sizes (as llm.c does): shapes are checked one level up, in the
// autograd ops. "Broadcast over leading dimensions" means b's shape is a suffix of a's shape, so
// a is seen as [outer, inner] and b as [inner]: a bias [D] added to activations [B, T, D].
#ifndef HYENA_OPS_H
#define HYENA_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmath.h"  // gelu, gelu_derivative, vsin, vcos

typedef enum UnaryOp { UNARY_EXP, UNARY_LOG, UNARY_SIN, UNARY_TANH, UNARY_GELU } UnaryOp;

// out[o, i] = a[o, i] + b[i]         a, out: [outer, inner], b: [inner]   (out may alias a)
void add_broadcast(float *out, const float *a, const float *b, long outer, long inner);
// out[o, i] = a[o, i] * b[i]
void mul_broadcast(float *out, const float *a, const float *b, long outer, long inner);
// out[i] += sum_o g[o, i] * w[o, i] (w == NULL: the plain sum), g, w: [outer, inner]: the
// gradient of a broadcast bias (or, with w, of a broadcast scale). Summed in blocks of rows fixed
// by the shape and then in block order: the same bits for any thread count. partials:
// column_sum_scratch(outer, inner) floats (0: none needed, pass NULL).
size_t column_sum_scratch(long outer, long inner);
void column_sum_add(float *out, const float *g, const float *w, long outer, long inner, float *partials);
// x[0 .. n) = 0, threaded (gradients are zeroed before backward adds into them).
void fill_zero(float *x, long n);
// dst[0 .. n) = src[0 .. n), threaded; the two must not overlap.
void copy_floats(float *dst, const float *src, long n);
// out = s * a
void scale(float *out, const float *a, float s, long n);
// out = f(a) elementwise; GELU is the exact one, x * Phi(x) (PyTorch's default), computed a
// vector at a time by normal_cdf_vec (vmath.h; the same bits as gelu() there), and sin by
// trig_span.
void unary(float *out, const float *a, long n, UnaryOp op);
// out = sin(a), or cos(a) when `cosine`, on one thread: vsin/vcos of vmath.h, and libm's sinf/cosf
// for the arguments they do not reduce (|a| > VTRIG_MAX_ARG, NaN). Each element's value depends
// only on its own argument, wherever a span starts. out may be a.
void trig_span(float *out, const float *a, long n, bool cosine);
// out = gelu(a), with the same bits as unary(UNARY_GELU), and cdf = Phi(a), which the backward
// needs (gelu_derivative_given_cdf). The three arrays must not overlap (unary allows out == a).
void gelu_with_cdf(float *out, float *cdf, const float *a, long n);

// out[r] = sum_c a[r, c]             a: [rows, cols], out: [rows]   (summed in double)
void sum_last(float *out, const float *a, long rows, long cols);
void mean_last(float *out, const float *a, long rows, long cols);

// out[r, :] = softmax(a[r, :]), subtracting the row max first so exp never overflows.
void softmax_last(float *out, const float *a, long rows, long cols);

// y[r, :] = (x[r, :] - mean_r) * rstd_r * gamma + beta, rstd_r = 1/sqrt(var_r + eps) (biased var).
// mean and rstd: [rows], written for the backward pass (may be NULL).
void layernorm_last(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                    const float *beta, long rows, long cols, float eps);

// out[i, :] = table[ids[i], :]       table: [vocab, dim], ids: [n] (checked: 0 <= id < vocab)
void embedding_gather(float *out, const float *table, const int32_t *ids, long n, long dim, long vocab);
// gtable[ids[i], :] += gout[i, :]    in token order, so the sums are deterministic
void embedding_scatter_add(float *gtable, const float *gout, const int32_t *ids, long n, long dim);

// Mean over the rows whose target is not ignore_index of -log softmax(logits[r])[targets[r]].
// row_loss: [rows] scratch that receives each row's loss (0 for ignored rows).
// *n_counted receives the number of rows that count (the mean of none is 0).
float cross_entropy(float *row_loss, const float *logits, const int32_t *targets, long rows,
                    long vocab, int32_t ignore_index, long *n_counted);

// out = a with axes ax0 and ax1 swapped. shape: a's shape, rank <= 4.
void transpose_axes(float *out, const float *a, const int *shape, int rank, int ax0, int ax1);

#endif
