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

typedef struct LayerNormGradJob {
    const float *x, *g, *gamma, *mean, *rstd;
    float *gx, *ggamma, *gbeta;
    long rows, cols;
} LayerNormGradJob;

static void layernorm_grad_rows(void *ctx, long begin, long end) {
    const LayerNormGradJob *j = ctx;
    for (long r = begin; r < end; r++) {
        const float *x = j->x + r * j->cols, *g = j->g + r * j->cols;
        float mean = j->mean[r], rstd = j->rstd[r];
        double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0;
        for (long c = 0; c < j->cols; c++) {
            float xhat = (x[c] - mean) * rstd, dxhat = g[c] * j->gamma[c];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += (double)dxhat * xhat;
        }
        float m1 = (float)(sum_dxhat / (double)j->cols), m2 = (float)(sum_dxhat_xhat / (double)j->cols);
        float *gx = j->gx + r * j->cols;
        for (long c = 0; c < j->cols; c++) {
            float xhat = (x[c] - mean) * rstd, dxhat = g[c] * j->gamma[c];
            gx[c] += rstd * (dxhat - m1 - xhat * m2);
        }
    }
}

// Columns [begin, end) of ggamma and gbeta, each summed over all rows in row order.
static void layernorm_grad_columns(void *ctx, long begin, long end) {
    const LayerNormGradJob *j = ctx;
    for (long r = 0; r < j->rows; r++) {
        const float *x = j->x + r * j->cols, *g = j->g + r * j->cols;
        for (long c = begin; c < end; c++) {
            if (j->ggamma) j->ggamma[c] += g[c] * ((x[c] - j->mean[r]) * j->rstd[r]);
            if (j->gbeta) j->gbeta[c] += g[c];
        }
    }
}

static void layernorm_backward(Node *n) {
    Var *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    long cols = tensor_last_dim(&x->value), rows = (long)x->value.size / cols;
    LayerNormGradJob j = {x->value.data, n->out->grad, gamma->value.data, n->saved[0].data,
                          n->saved[1].data, x->requires_grad ? x->grad : NULL,
                          gamma->requires_grad ? gamma->grad : NULL, beta->requires_grad ? beta->grad : NULL,
                          rows, cols};
    if (j.gx) parallel_for(rows, 16, layernorm_grad_rows, &j);
    if (j.ggamma || j.gbeta) parallel_for(cols, 64, layernorm_grad_columns, &j);
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
