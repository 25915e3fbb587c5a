// ops.h - differentiable operations. Each returns a new variable on the tape; each has a
// backward function of its own name (add_backward, matmul_backward, ...) to break on in gdb.
//
// Broadcasting: in ag_add and ag_mul, b's shape must equal a's or be a suffix of it (a bias [D]
// against activations [B, T, D]); the gradient of b is summed over the broadcast axes.
#ifndef HYENA_AG_OPS_H
#define HYENA_AG_OPS_H

#include <stdint.h>

#include "tape.h"

Var *ag_add(Tape *tape, Var *a, Var *b);
Var *ag_mul(Tape *tape, Var *a, Var *b);
Var *ag_scale(Tape *tape, Var *a, float s);
Var *ag_exp(Tape *tape, Var *a);
Var *ag_log(Tape *tape, Var *a);
Var *ag_sin(Tape *tape, Var *a);
Var *ag_tanh(Tape *tape, Var *a);
Var *ag_gelu(Tape *tape, Var *a);

// a: [..., K] (all leading axes are rows), b: [K, N]  ->  [..., N]
Var *ag_matmul(Tape *tape, Var *a, Var *b);
// a: [..., K], b: [N, K]  ->  [..., N]   (x·Wᵀ, the layout of a PyTorch Linear weight)
Var *ag_matmul_bt(Tape *tape, Var *a, Var *b);
// x·wᵀ + bias, x: [..., K], w: [N, K], bias: [N]: the affine layer as one op. Two ops
// (matmul_bt, then add) give the same values, but one node saves a pass over the output in the
// forward and, in the backward, the copy of the output's gradient that add would hand to
// matmul_bt: the gradients are computed from g directly.
Var *ag_linear(Tape *tape, Var *x, Var *w, Var *bias);

// Over the last axis: [..., C] -> [...]
Var *ag_sum(Tape *tape, Var *a);
Var *ag_mean(Tape *tape, Var *a);
// Over the last axis: [..., C] -> [..., C]
Var *ag_softmax(Tape *tape, Var *a);
// x: [..., C], gamma and beta: [C]
Var *ag_layernorm(Tape *tape, Var *x, Var *gamma, Var *beta, float eps);

// table: [V, D], ids: n_ids token ids shaped ids_shape (rank <= 3)  ->  [ids_shape..., D]
Var *ag_embedding(Tape *tape, Var *table, const int32_t *ids, int ids_rank, const int *ids_shape);
// logits: [..., V], targets: one per row  ->  scalar mean loss over rows whose target is not
// ignore_index
Var *ag_cross_entropy(Tape *tape, Var *logits, const int32_t *targets, int32_t ignore_index);

// Swap two axes (a copy, contiguous again).
Var *ag_transpose(Tape *tape, Var *a, int ax0, int ax1);
// Same data, another shape with the same number of elements.
Var *ag_reshape(Tape *tape, Var *a, int rank, const int *shape);
// Elements [start, start + len) along `axis` (a copy): splitting channels, taking a prefix.
Var *ag_slice(Tape *tape, Var *a, int axis, int start, int len);

// Depthwise causal convolution over time, K taps per channel (PyTorch's Conv1d with
// groups = C and padding = K - 1, keeping the first L outputs):
//   y[b, t, c] = bias[c] + sum_k w[c, k] * x[b, t - (K - 1) + k, c]     (x before 0 is zero)
// x: [B, L, C], w: [C, 1, K] or [C, K], bias: [C]  ->  [B, L, C]
Var *ag_causal_conv(Tape *tape, Var *x, Var *w, Var *bias);

// Multi-head causal softmax attention (the baseline Hyena is compared with). q, k, v: [B, T, D]
// with D = n_heads * head_dim; head h uses channels [h*head_dim, (h+1)*head_dim):
//   P = softmax(q_h k_hᵀ / sqrt(head_dim), keys s <= t only),   y_h = P v_h     ->  [B, T, D]
// The forward pass keeps P ([B, n_heads, T, T] floats) for the backward pass: the quadratic
// memory that Hyena avoids.
Var *ag_causal_attention(Tape *tape, Var *q, Var *k, Var *v, int n_heads);

#endif
