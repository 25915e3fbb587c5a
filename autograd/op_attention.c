// op_attention.c - causal multi-head softmax attention, fused into one op.
//
// Per batch b and head h, with Q, K, V: [T, hd] and c = 1/sqrt(hd):
//   S = c Q Kᵀ, masked to s <= t;  P = softmax_rows(S);  O = P V
// Backward, with dO the incoming gradient:
//   dV = Pᵀ dO     dP = dO Vᵀ     dS = P ⊙ (dP - rowsum(dP ⊙ P))     dQ = c dS K     dK = c dSᵀ Q
// (the softmax backward of op_softmax.c, row by row). Each (b, h) pair is one task; its head's
// columns are copied into contiguous scratch so the products are plain matmuls, which run
// serially inside the task (a nested parallel_for does).
#include <math.h>
#include <string.h>

#include "../tensor/matmul.h"
#include "../tensor/pool.h"
#include "ops.h"

typedef struct AttentionJob {
    const float *q, *k, *v, *gy;
    float *y, *p, *gq, *gk, *gv;
    int B, T, D, H, hd;
} AttentionJob;

// head h of batch b: x[b, :, h*hd : (h+1)*hd] <-> dst [T, hd]
static void gather_head(float *dst, const float *x, const AttentionJob *j, int b, int h) {
    for (int t = 0; t < j->T; t++)
        memcpy(dst + (long)t * j->hd, x + ((long)b * j->T + t) * j->D + h * j->hd, (size_t)j->hd * sizeof(float));
}

static void scatter_add_head(float *x, const float *src, const AttentionJob *j, int b, int h) {
    for (int t = 0; t < j->T; t++) {
        float *row = x + ((long)b * j->T + t) * j->D + h * j->hd;
        for (int i = 0; i < j->hd; i++) row[i] += src[(long)t * j->hd + i];
    }
}

static void attention_forward_heads(void *ctx, long begin, long end) {
    const AttentionJob *j = ctx;
    int T = j->T, hd = j->hd;
    float scale = 1.0f / sqrtf((float)hd);
    float *scratch = pool_scratch(4 * (size_t)T * hd);
    float *Q = scratch, *K = Q + (long)T * hd, *V = K + (long)T * hd, *O = V + (long)T * hd;
    for (long task = begin; task < end; task++) {
        int b = (int)(task / j->H), h = (int)(task % j->H);
        float *P = j->p + task * (long)T * T;
        gather_head(Q, j->q, j, b, h);
        gather_head(K, j->k, j, b, h);
        gather_head(V, j->v, j, b, h);
        matmul(P, Q, K, T, hd, T, MATMUL_NT, false);  // S = Q Kᵀ
        for (int t = 0; t < T; t++) {
            float *row = P + (long)t * T, max = -INFINITY;
            for (int s = 0; s <= t; s++) {
                row[s] *= scale;
                max = row[s] > max ? row[s] : max;
            }
            double sum = 0;
            for (int s = 0; s <= t; s++) {
                row[s] = expf(row[s] - max);
                sum += row[s];
            }
            float inv = (float)(1.0 / sum);
            for (int s = 0; s <= t; s++) row[s] *= inv;
            for (int s = t + 1; s < T; s++) row[s] = 0.0f;  // the future gets no weight
        }
        matmul(O, P, V, T, T, hd, MATMUL_NN, false);
        for (int t = 0; t < T; t++)
            memcpy(j->y + ((long)b * T + t) * j->D + h * hd, O + (long)t * hd, (size_t)hd * sizeof(float));
    }
}

static void attention_backward_heads(void *ctx, long begin, long end) {
    const AttentionJob *j = ctx;
    int T = j->T, hd = j->hd;
    float scale = 1.0f / sqrtf((float)hd);
    float *scratch = pool_scratch(7 * (size_t)T * hd + (size_t)T * T);
    float *Q = scratch, *K = Q + (long)T * hd, *V = K + (long)T * hd, *dO = V + (long)T * hd;
    float *dQ = dO + (long)T * hd, *dK = dQ + (long)T * hd, *dV = dK + (long)T * hd, *dP = dV + (long)T * hd;
    for (long task = begin; task < end; task++) {
        int b = (int)(task / j->H), h = (int)(task % j->H);
        const float *P = j->p + task * (long)T * T;
        gather_head(Q, j->q, j, b, h);
        gather_head(K, j->k, j, b, h);
        gather_head(V, j->v, j, b, h);
        gather_head(dO, j->gy, j, b, h);
        matmul(dV, P, dO, T, T, hd, MATMUL_TN, false);   // dV = Pᵀ dO
        matmul(dP, dO, V, T, hd, T, MATMUL_NT, false);   // dP = dO Vᵀ
        for (int t = 0; t < T; t++) {                    // dS = P ⊙ (dP - rowsum(dP ⊙ P)), times c
            float *row = dP + (long)t * T;
            const float *prow = P + (long)t * T;
            double dot = 0;
            for (int s = 0; s <= t; s++) dot += (double)row[s] * prow[s];
            for (int s = 0; s <= t; s++) row[s] = scale * prow[s] * (row[s] - (float)dot);
            for (int s = t + 1; s < T; s++) row[s] = 0.0f;
        }
        matmul(dQ, dP, K, T, T, hd, MATMUL_NN, false);   // dQ = dS K
        matmul(dK, dP, Q, T, T, hd, MATMUL_TN, false);   // dK = dSᵀ Q
        if (j->gq) scatter_add_head(j->gq, dQ, j, b, h);
        if (j->gk) scatter_add_head(j->gk, dK, j, b, h);
        if (j->gv) scatter_add_head(j->gv, dV, j, b, h);
    }
}

static void attention_backward(Node *n) {
    Var *q = n->in[0], *k = n->in[1], *v = n->in[2];
    int B = q->value.shape[0], T = q->value.shape[1], D = q->value.shape[2], H = n->ints[0];
    AttentionJob j = {q->value.data, k->value.data, v->value.data, n->out->grad, NULL, n->saved[0].data,
                      q->requires_grad ? q->grad : NULL, k->requires_grad ? k->grad : NULL,
                      v->requires_grad ? v->grad : NULL, B, T, D, H, D / H};
    parallel_for((long)B * H, 1, attention_backward_heads, &j);
}

Var *ag_causal_attention(Tape *tape, Var *q, Var *k, Var *v, int n_heads) {
    if (q->value.rank != 3 || !tensor_same_shape(&q->value, &k->value) || !tensor_same_shape(&q->value, &v->value))
        ag_shape_error("causal_attention", "q, k, v must be [B, T, D] alike", &q->value, &k->value);
    int B = q->value.shape[0], T = q->value.shape[1], D = q->value.shape[2];
    if (n_heads < 1 || D % n_heads != 0)
        ag_shape_error("causal_attention", "D must be a multiple of n_heads", &q->value, &q->value);
    Var *y = ag_new_var(tape, 3, q->value.shape, "causal_attention");
    Tensor p = tensor_new(tape->arena, 4, (int[]){B, n_heads, T, T});
    AttentionJob j = {q->value.data, k->value.data, v->value.data, NULL, y->value.data, p.data, NULL, NULL, NULL,
                      B, T, D, n_heads, D / n_heads};
    parallel_for((long)B * n_heads, 1, attention_forward_heads, &j);
    Node *n = ag_record(tape, "causal_attention", attention_backward, y, 3, (Var *[]){q, k, v});
    if (n) {
        n->saved[0] = p;
        n->ints[0] = n_heads;
    }
    return y;
}
