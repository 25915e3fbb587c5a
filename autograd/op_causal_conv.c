// op_causal_conv.c - Hyena's short filter: a depthwise convolution that only looks back.
//
//   y[b, t, c]  = bias[c] + sum_k w[c, k] x[b, t - P + k, c]         P = K - 1, x[< 0] = 0
//   gx[b, s, c] += sum_k w[c, k] gy[b, s + P - k, c]                (terms with s + P - k < L)
//   gw[c, k]    += sum_{b,t} gy[b, t, c] x[b, t - P + k, c]
//   gbias[c]    += sum_{b,t} gy[b, t, c]
// Rows (b, t) are independent in the forward pass and in gx: threads take rows. gw and gbias
// sum over every row: each block of CONV_ROW_BLOCK rows sums its own part (threads take blocks),
// then the parts are added block by block, in order: the same bits for any thread count.
//
// gx is written whole, row by row: when nothing was written to it yet, each row starts from 0
// rather than from what is there (stores_grads, tape.h), and nothing zeroes it beforehand.
//
// The weights are used transposed, wt[k, c] = w[c, k], so that the loop over channels reads
// them contiguously: read in place, w[c * K + k] is one float every K, which does not vectorize.
#include <string.h>

#include "../tensor/pool.h"
#include "ops.h"

#define CONV_ROW_BLOCK 64  // rows per partial sum of gw and gbias: few enough to sum in float

typedef struct CausalConvJob {
    float *y, *gx, *partials;  // partials: [blocks][K + 1][C], gw then gbias
    const float *x, *wt, *bias, *gy;
    int B, L, C, K;
    bool store_gx;             // gx = ..., not gx += ...: nothing was written to gx yet
} CausalConvJob;

static float *transposed_weights(Arena *arena, const float *w, int C, int K) {
    float *wt = arena_alloc(arena, sizeof(float) * (size_t)C * (size_t)K);
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) wt[(long)k * C + c] = w[(long)c * K + k];
    return wt;
}

static void conv_rows(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1, C = j->C;
    for (long row = begin; row < end; row++) {
        int t = (int)(row % j->L);
        const float *xb = j->x + (row - t) * C;  // the start of this row's sequence
        float *restrict y = j->y + row * C;
        for (int c = 0; c < C; c++) y[c] = j->bias[c];
        for (int k = 0; k < j->K; k++) {
            int s = t - P + k;
            if (s < 0) continue;
            const float *restrict wk = j->wt + (long)k * C, *restrict xs = xb + (long)s * C;
            for (int c = 0; c < C; c++) y[c] += wk[c] * xs[c];
        }
    }
}

static void conv_grad_rows(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1, C = j->C;
    for (long row = begin; row < end; row++) {
        int s = (int)(row % j->L);
        const float *gyb = j->gy + (row - s) * C;
        float *restrict gx = j->gx + row * C;
        if (j->store_gx)
            for (int c = 0; c < C; c++) gx[c] = 0.0f;
        for (int k = 0; k < j->K; k++) {
            int t = s + P - k;
            if (t >= j->L) continue;
            const float *restrict wk = j->wt + (long)k * C, *restrict gyt = gyb + (long)t * C;
            for (int c = 0; c < C; c++) gx[c] += wk[c] * gyt[c];
        }
    }
}

// One block of rows: its part of gw and gbias, read row by row with unit stride.
static void conv_grad_row_blocks(void *ctx, long begin, long end) {
    const CausalConvJob *j = ctx;
    int P = j->K - 1, C = j->C;
    long rows = (long)j->B * j->L;
    for (long blk = begin; blk < end; blk++) {
        float *restrict part = j->partials + blk * (j->K + 1) * (long)C;
        memset(part, 0, sizeof(float) * (size_t)(j->K + 1) * (size_t)C);
        float *restrict gb = part + (long)j->K * C;
        long last = (blk + 1) * CONV_ROW_BLOCK < rows ? (blk + 1) * CONV_ROW_BLOCK : rows;
        for (long row = blk * CONV_ROW_BLOCK; row < last; row++) {
            int t = (int)(row % j->L);
            const float *restrict g = j->gy + row * C;
            for (int c = 0; c < C; c++) gb[c] += g[c];
            for (int k = 0; k < j->K; k++) {
                int s = t - P + k;
                if (s < 0) continue;
                const float *restrict xs = j->x + (row - t + s) * C;
                float *restrict gwk = part + (long)k * C;
                for (int c = 0; c < C; c++) gwk[c] += g[c] * xs[c];
            }
        }
    }
}

// The blocks' parts ([blocks][K + 1][C]) added in block order, in double: there are B*L/64
// blocks, thousands at long contexts. sums[i] for i = k*C + c, over the columns [begin, end) of
// the (K + 1)*C: one running sum per column, all advanced along each block's contiguous row,
// where one column at a time was a chain of dependent additions over strided loads.
typedef struct PartsJob {
    const float *partials;
    double *sums;
    long blocks, width;   // width = (K + 1) * C
} PartsJob;

static void sum_parts_in_block_order(void *ctx, long begin, long end) {
    const PartsJob *j = ctx;
    for (long i = begin; i < end; i++) j->sums[i] = 0.0;
    for (long blk = 0; blk < j->blocks; blk++) {
        const float *part = j->partials + blk * j->width;
        for (long i = begin; i < end; i++) j->sums[i] += part[i];
    }
}

static void causal_conv_backward(Node *n) {
    Var *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    int B = x->value.shape[0], L = x->value.shape[1], C = x->value.shape[2], K = n->ints[0];
    CausalConvJob j = {NULL, NULL, NULL, x->value.data, NULL, bias->value.data, n->out->grad, B, L, C, K, false};
    if (x->requires_grad) {
        j.gx = x->grad;
        j.store_gx = ag_grad_first_write(x);
        j.wt = transposed_weights(n->tape->arena, w->value.data, C, K);
        parallel_for((long)B * L, 64, conv_grad_rows, &j);
    }
    if (!w->requires_grad && !bias->requires_grad) return;
    long blocks = ((long)B * L + CONV_ROW_BLOCK - 1) / CONV_ROW_BLOCK;
    j.partials = arena_alloc(n->tape->arena, sizeof(float) * (size_t)blocks * (size_t)(K + 1) * (size_t)C);
    parallel_for(blocks, 1, conv_grad_row_blocks, &j);
    PartsJob sum = {j.partials, arena_alloc(n->tape->arena, sizeof(double) * (size_t)(K + 1) * (size_t)C), blocks,
                    (long)(K + 1) * C};
    parallel_for(sum.width, 64, sum_parts_in_block_order, &sum);
    for (int c = 0; c < C; c++) {
        if (w->requires_grad)
            for (int k = 0; k < K; k++) w->grad[(long)c * K + k] += (float)sum.sums[(long)k * C + c];
        if (bias->requires_grad) bias->grad[c] += (float)sum.sums[(long)K * C + c];
    }
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
    CausalConvJob j = {y->value.data, NULL, NULL, x->value.data, transposed_weights(tape->arena, w->value.data, C, K),
                       bias->value.data, NULL, x->value.shape[0], x->value.shape[1], C, K, false};
    parallel_for((long)j.B * j.L, 64, conv_rows, &j);
    Node *n = ag_record(tape, "causal_conv", causal_conv_backward, y, 3, (Var *[]){x, w, bias});
    if (n) {
        n->ints[0] = K;
        n->stores_grads = 1u << 0;   // w's and bias's gradients are sums, added in
    }
    return y;
}
