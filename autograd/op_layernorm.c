// op_layernorm.c - layer normalization over the last axis (C features per row).
//
//   xhat = (x - mean) * rstd,  rstd = 1 / sqrt(var + eps),  y = xhat * gamma + beta
//
// Backward, per row, with dxhat = g * gamma:
//   gx     += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
//   ggamma += sum over rows of g * xhat          gbeta += sum over rows of g
// The forward saves mean and rstd ([rows] each) so the backward need not recompute them.
#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "ops.h"

// One pass over the rows computes all three gradients. The rows are cut into blocks fixed by
// the shape; a block adds gx for its rows and writes its own partial sums of ggamma and gbeta,
// which are then added in block order (one thread summing every row of a [B*T, C] gradient
// into C columns would leave the others idle): the same bits for any thread count.
#define ELEMS_PER_BLOCK 16384

typedef struct LayerNormGradJob {
    const float *x, *g, *gamma, *mean, *rstd;
    float *gx;
    float *partials;   // [blocks][2][cols]: each block's sums of g * xhat, then of g
    long rows, cols, block_rows;
} LayerNormGradJob;

static void layernorm_grad_blocks(void *ctx, long begin, long end) {
    const LayerNormGradJob *j = ctx;
    for (long blk = begin; blk < end; blk++) {
        float *pgamma = j->partials + blk * 2 * j->cols, *pbeta = pgamma + j->cols;
        for (long c = 0; c < j->cols; c++) pgamma[c] = pbeta[c] = 0.0f;
        long r0 = blk * j->block_rows, r1 = r0 + j->block_rows < j->rows ? r0 + j->block_rows : j->rows;
        for (long r = r0; r < r1; r++) {
            const float *x = j->x + r * j->cols, *g = j->g + r * j->cols;
            float mean = j->mean[r], rstd = j->rstd[r];
            double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
            for (long c = 0; c < j->cols; c++) {
                float xhat = (x[c] - mean) * rstd, dxhat = g[c] * j->gamma[c];
                sum_dxhat += dxhat;
                sum_dxhat_xhat += (double)dxhat * xhat;
                pgamma[c] += g[c] * xhat;
                pbeta[c] += g[c];
            }
            if (!j->gx) continue;
            float m1 = (float)(sum_dxhat / (double)j->cols), m2 = (float)(sum_dxhat_xhat / (double)j->cols);
            float *gx = j->gx + r * j->cols;
            for (long c = 0; c < j->cols; c++) {
                float xhat = (x[c] - mean) * rstd, dxhat = g[c] * j->gamma[c];
                gx[c] += rstd * (dxhat - m1 - xhat * m2);
            }
        }
    }
}

static void layernorm_backward(Node *n) {
    Var *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    long cols = tensor_last_dim(&x->value), rows = (long)x->value.size / cols;
    long block_rows = cols < ELEMS_PER_BLOCK ? ELEMS_PER_BLOCK / cols : 1;
    long blocks = (rows + block_rows - 1) / block_rows;
    float *partials = arena_alloc(n->tape->arena, (size_t)blocks * 2 * (size_t)cols * sizeof(float));
    LayerNormGradJob j = {x->value.data, n->out->grad, gamma->value.data, n->saved[0].data, n->saved[1].data,
                          x->requires_grad ? x->grad : NULL, partials, rows, cols, block_rows};
    parallel_for(blocks, 1, layernorm_grad_blocks, &j);
    for (long blk = 0; blk < blocks; blk++)
        for (long c = 0; c < cols; c++) {
            if (gamma->requires_grad) gamma->grad[c] += partials[blk * 2 * cols + c];
            if (beta->requires_grad) beta->grad[c] += partials[(blk * 2 + 1) * cols + c];
        }
}

Var *ag_layernorm(Tape *tape, Var *x, Var *gamma, Var *beta, float eps) {
    int C = tensor_last_dim(&x->value);
    if (gamma->value.rank != 1 || gamma->value.shape[0] != C || !tensor_same_shape(&gamma->value, &beta->value))
        ag_shape_error("layernorm", "gamma and beta must be [C] for x: [..., C]", &x->value, &gamma->value);
    long rows = (long)x->value.size / (C ? C : 1);
    Var *y = ag_new_var(tape, x->value.rank, x->value.shape, "layernorm");
    Tensor mean = tensor_new(tape->arena, 1, (int[]){(int)rows});
    Tensor rstd = tensor_new(tape->arena, 1, (int[]){(int)rows});
    layernorm_last(y->value.data, mean.data, rstd.data, x->value.data, gamma->value.data, beta->value.data,
                   rows, C, eps);
    Node *n = ag_record(tape, "layernorm", layernorm_backward, y, 3, (Var *[]){x, gamma, beta});
    if (n) {
        n->saved[0] = mean;
        n->saved[1] = rstd;
        n->scalar = eps;
    }
    return y;
}
