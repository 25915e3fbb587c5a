// op_causal_conv.c - Hyena's short filter: a depthwise convolution that only looks back.
//
//   y[b, t, c]  = bias[c] + sum_k w[c, k] x[b, t - P + k, c]         P = K - 1, x[< 0] = 0
//   gx[b, s, c] += sum_k w[c, k] gy[b, s + P - k, c]                (terms with s + P - k < L)
//   gw[c, k]    += sum_{b,t} gy[b, t, c] x[b, t - P + k, c]
//   gbias[c]    += sum_{b,t} gy[b, t, c]
// Rows (b, t) are independent in the forward pass and in gx: threads take rows. gw and gbias
// sum over every row: threads take channels, each summing its rows in order (deterministic).
#include <string.h>

#include "../tensor/pool.h"
#include "ops.h"

typedef struct CausalConvJob {
    float *y, *gx, *gw, *gbias;
    const float *x, *w, *bias, *gy;
    int B, L, C, K;
} CausalConvJob;

static void conv_rows(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1;
    for (long row = begin; row < end; row++) {
        int t = (int)(row % j->L);
        const float *xb = j->x + (row - t) * j->C;  // the start of this row's sequence
        float *y = j->y + row * j->C;
        for (int c = 0; c < j->C; c++) y[c] = j->bias[c];
        for (int k = 0; k < j->K; k++) {
            int s = t - P + k;
            if (s < 0) continue;
            for (int c = 0; c < j->C; c++) y[c] += j->w[c * j->K + k] * xb[(long)s * j->C + c];
        }
    }
}

static void conv_grad_rows(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1;
    for (long row = begin; row < end; row++) {
        int s = (int)(row % j->L);
        const float *gyb = j->gy + (row - s) * j->C;
        float *gx = j->gx + row * j->C;
        for (int k = 0; k < j->K; k++) {
            int t = s + P - k;
            if (t >= j->L) continue;
            for (int c = 0; c < j->C; c++) gx[c] += j->w[c * j->K + k] * gyb[(long)t * j->C + c];
        }
    }
}

// Threads take blocks of CONV_CHANNEL_BLOCK neighbouring channels. Each block walks the rows in
// order and adds a whole row segment at a time: contiguous loads that vectorize, where one channel
// at a time would read one float per row, C floats apart. Every sum still runs over the rows in
// the same order, in double, whatever the thread count.
#define CONV_CHANNEL_BLOCK 16

static void conv_grad_channels(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1;
    for (long blk = begin; blk < end; blk++) {
        int c0 = (int)blk * CONV_CHANNEL_BLOCK;
        int nc = j->C - c0 < CONV_CHANNEL_BLOCK ? j->C - c0 : CONV_CHANNEL_BLOCK;
        double gb[CONV_CHANNEL_BLOCK] = {0}, gw[16][CONV_CHANNEL_BLOCK] = {{0}};
        for (int b = 0; b < j->B; b++)
            for (int t = 0; t < j->L; t++) {
                const float *g = j->gy + ((long)b * j->L + t) * j->C + c0;
                for (int c = 0; c < nc; c++) gb[c] += g[c];
                for (int k = 0; k < j->K; k++) {
                    int s = t - P + k;
                    if (s < 0) continue;
                    const float *xs = j->x + ((long)b * j->L + s) * j->C + c0;
                    for (int c = 0; c < nc; c++) gw[k][c] += (double)g[c] * xs[c];
                }
            }
        for (int c = 0; c < nc; c++) {
            if (j->gbias) j->gbias[c0 + c] += (float)gb[c];
            if (j->gw)
                for (int k = 0; k < j->K; k++) j->gw[(c0 + c) * j->K + k] += (float)gw[k][c];
        }
    }
}

static void causal_conv_backward(Node *n) {
    Var *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    CausalConvJob j = {NULL, x->requires_grad ? x->grad : NULL, w->requires_grad ? w->grad : NULL,
                       bias->requires_grad ? bias->grad : NULL, x->value.data, w->value.data, bias->value.data,
                       n->out->grad, x->value.shape[0], x->value.shape[1], x->value.shape[2], n->ints[0]};
    if (j.gx) parallel_for((long)j.B * j.L, 64, conv_grad_rows, &j);
    if (j.gw || j.gbias) parallel_for((j.C + CONV_CHANNEL_BLOCK - 1) / CONV_CHANNEL_BLOCK, 1, conv_grad_channels, &j);
}

Var *ag_causal_conv(Tape *tape, Var *x, Var *w, Var *bias) {
    if (x->value.rank != 3) ag_shape_error("causal_conv", "x must be [B, L, C]", &x->value, &w->value);
    int C = x->value.shape[2];
    int K = tensor_last_dim(&w->value);
    if ((int)(w->value.size / (size_t)K) != C || w->value.shape[0] != C || K < 1 || K > 16)
        ag_shape_error("causal_conv", "w must be [C, 1, K] or [C, K] with K <= 16", &x->value, &w->value);
    if (bias->value.rank != 1 || bias->value.shape[0] != C)
        ag_shape_error("causal_conv", "bias must be [C]", &x->value, &bias->value);
    Var *y = ag_new_var(tape, 3, x->value.shape, "causal_conv");
    CausalConvJob j = {y->value.data, NULL, NULL, NULL, x->value.data, w->value.data, bias->value.data, NULL,
                       x->value.shape[0], x->value.shape[1], C, K};
    parallel_for((long)j.B * j.L, 64, conv_rows, &j);
    Node *n = ag_record(tape, "causal_conv", causal_conv_backward, y, 3, (Var *[]){x, w, bias});
    if (n) n->ints[0] = K;
    return y;
}
