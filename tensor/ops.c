// ops.c - elementwise, row-wise and gather kernels.
//
// Every kernel hands parallel_for a fixed chunk size (ELEMS_PER_CHUNK elements or
// ROWS_PER_CHUNK rows), so the split never depends on the thread count. Reductions over a row
// are done by one thread in index order, in double: no partial sums race.
#include "ops.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define ELEMS_PER_CHUNK 16384
#define ROWS_PER_CHUNK 16

// ---------------------------------------------------------------- broadcasting add and mul

typedef struct BroadcastJob {
    float *out;
    const float *a, *b;
    long inner;
    int multiply;
} BroadcastJob;

static void broadcast_rows(void *ctx, long begin, long end) {
    const BroadcastJob *j = ctx;
    for (long o = begin; o < end; o++) {
        float *out = j->out + o * j->inner;
        const float *a = j->a + o * j->inner;
        if (j->multiply)
            for (long i = 0; i < j->inner; i++) out[i] = a[i] * j->b[i];
        else
            for (long i = 0; i < j->inner; i++) out[i] = a[i] + j->b[i];
    }
}

// One row only (a and b of the same shape, as in a residual add or a gate): chunks of columns.
static void broadcast_columns(void *ctx, long begin, long end) {
    const BroadcastJob *j = ctx;
    if (j->multiply)
        for (long i = begin; i < end; i++) j->out[i] = j->a[i] * j->b[i];
    else
        for (long i = begin; i < end; i++) j->out[i] = j->a[i] + j->b[i];
}

static long rows_per_chunk(long inner) {
    long rows = ELEMS_PER_CHUNK / (inner > 0 ? inner : 1);
    return rows > 0 ? rows : 1;
}

static void broadcast(BroadcastJob *j, long outer) {
    if (outer == 1) parallel_for(j->inner, ELEMS_PER_CHUNK, broadcast_columns, j);
    else parallel_for(outer, rows_per_chunk(j->inner), broadcast_rows, j);
}

void add_broadcast(float *out, const float *a, const float *b, long outer, long inner) {
    BroadcastJob j = {out, a, b, inner, 0};
    broadcast(&j, outer);
}

void mul_broadcast(float *out, const float *a, const float *b, long outer, long inner) {
    BroadcastJob j = {out, a, b, inner, 1};
    broadcast(&j, outer);
}

// ---------------------------------------------------------------- column sums

// Many rows and few columns (a bias gradient: [B*T, D] summed to [D]): one task per block of
// rows writes the block's partial column sums, and the partials are added in block order.
// Few rows: one task per chunk of columns sums them over all rows. Either way the blocks are
// fixed by the shape, so the result is the same for any thread count.
typedef struct ColumnSumJob {
    float *out, *partials;
    const float *g, *w;
    long outer, inner, block_rows;
} ColumnSumJob;

static long column_sum_block_rows(long inner) { return rows_per_chunk(inner); }

static bool column_sum_by_rows(long outer, long inner) {
    return outer >= 2 * column_sum_block_rows(inner);
}

size_t column_sum_scratch(long outer, long inner) {
    if (!column_sum_by_rows(outer, inner)) return 0;
    long blocks = (outer + column_sum_block_rows(inner) - 1) / column_sum_block_rows(inner);
    return (size_t)blocks * (size_t)inner;
}

static void column_sum_row_blocks(void *ctx, long begin, long end) {
    const ColumnSumJob *j = ctx;
    for (long blk = begin; blk < end; blk++) {
        float *part = j->partials + blk * j->inner;
        long r0 = blk * j->block_rows, r1 = r0 + j->block_rows < j->outer ? r0 + j->block_rows : j->outer;
        for (long i = 0; i < j->inner; i++) part[i] = 0.0f;
        for (long r = r0; r < r1; r++) {
            const float *g = j->g + r * j->inner, *w = j->w ? j->w + r * j->inner : NULL;
            if (w)
                for (long i = 0; i < j->inner; i++) part[i] += g[i] * w[i];
            else
                for (long i = 0; i < j->inner; i++) part[i] += g[i];
        }
    }
}

static void column_sum_columns(void *ctx, long begin, long end) {
    const ColumnSumJob *j = ctx;
    for (long r = 0; r < j->outer; r++) {
        const float *g = j->g + r * j->inner, *w = j->w ? j->w + r * j->inner : NULL;
        if (w)
            for (long i = begin; i < end; i++) j->out[i] += g[i] * w[i];
        else
            for (long i = begin; i < end; i++) j->out[i] += g[i];
    }
}

void column_sum_add(float *out, const float *g, const float *w, long outer, long inner, float *partials) {
    ColumnSumJob j = {out, partials, g, w, outer, inner, column_sum_block_rows(inner)};
    if (!column_sum_by_rows(outer, inner)) {
        long columns = ELEMS_PER_CHUNK / (outer > 0 ? outer : 1);
        parallel_for(inner, columns > 64 ? columns : 64, column_sum_columns, &j);
        return;
    }
    long blocks = (outer + j.block_rows - 1) / j.block_rows;
    parallel_for(blocks, 1, column_sum_row_blocks, &j);
    for (long blk = 0; blk < blocks; blk++)  // blocks x inner adds: small next to the pass above
        for (long i = 0; i < inner; i++) out[i] += partials[blk * inner + i];
}

// ---------------------------------------------------------------- copies and zeroing

typedef struct CopyJob {
    float *dst;
    const float *src;
} CopyJob;

static void zero_chunk(void *ctx, long begin, long end) {
    const CopyJob *j = ctx;
    memset(j->dst + begin, 0, (size_t)(end - begin) * sizeof(float));
}

void fill_zero(float *x, long n) {
    CopyJob j = {x, NULL};
    parallel_for(n, 4 * ELEMS_PER_CHUNK, zero_chunk, &j);
}

static void copy_chunk(void *ctx, long begin, long end) {
    const CopyJob *j = ctx;
    memcpy(j->dst + begin, j->src + begin, (size_t)(end - begin) * sizeof(float));
}

void copy_floats(float *dst, const float *src, long n) {
    CopyJob j = {dst, src};
    parallel_for(n, 4 * ELEMS_PER_CHUNK, copy_chunk, &j);
}

// ---------------------------------------------------------------- elementwise maps

typedef struct UnaryJob {
    float *out;
    const float *a;
    float s;
    UnaryOp op;
} UnaryJob;

// out = gelu(a) and, unless cdf is NULL, cdf = Phi(a), on one thread, a vector at a time
// (normal_cdf_vec, vmath.h). The last n mod VEC_FLOATS elements go through one zero-padded vector,
// so that every element's bits are those of the vector function, wherever a span starts. Each
// vector is loaded before it is stored: out may be a.
static void gelu_span(float *out, float *cdf, const float *a, long n) {
    long i = 0;
    for (; i + VEC_FLOATS <= n; i += VEC_FLOATS) {
        vecf x = vec_load(a + i), phi = normal_cdf_vec(x);
        if (cdf) vec_store(cdf + i, phi);
        vec_store(out + i, x * phi);
    }
    if (i < n) {
        size_t rest = (size_t)(n - i) * sizeof(float);
        float x[VEC_FLOATS] = {0}, y[VEC_FLOATS], phi[VEC_FLOATS];
        memcpy(x, a + i, rest);
        vecf xv = vec_load(x), phiv = normal_cdf_vec(xv);
        vec_store(phi, phiv);
        vec_store(y, xv * phiv);
        if (cdf) memcpy(cdf + i, phi, rest);
        memcpy(out + i, y, rest);
    }
}

static void unary_chunk(void *ctx, long begin, long end) {
    const UnaryJob *j = ctx;
    float *out = j->out;
    const float *a = j->a;
    switch (j->op) {
    case UNARY_EXP: for (long i = begin; i < end; i++) out[i] = expf(a[i]); break;
    case UNARY_LOG: for (long i = begin; i < end; i++) out[i] = logf(a[i]); break;
    case UNARY_SIN: trig_span(out + begin, a + begin, end - begin, false); break;
    case UNARY_TANH: for (long i = begin; i < end; i++) out[i] = tanhf(a[i]); break;
    case UNARY_GELU: gelu_span(out + begin, NULL, a + begin, end - begin); break;  // in place too
    }
}

// Blocks through the stack: out may be a (clang's run-time overlap check counts out == a as
// overlap and falls back to scalar code; measured with clang 14 on GELU's old loop: 30x slower
// in place), and the block cannot alias, so both compilers vectorize. Arguments beyond vsin's
// reach are rare (the Hyena filter's are positions times a learned frequency), so a block first
// asks, in one vectorizable pass, whether it has any; only then does it visit its elements one
// by one.
#define TRIG_BLOCK 256

void trig_span(float *out, const float *a, long n, bool cosine) {
    int quadrants = cosine ? 1 : 0;
    for (long i0 = 0; i0 < n; i0 += TRIG_BLOCK) {
        float block[TRIG_BLOCK];
        const float *x = a + i0;
        long m = n - i0 < TRIG_BLOCK ? n - i0 : TRIG_BLOCK;
        int wild = 0;
        for (long i = 0; i < m; i++) wild |= !(fabsf(x[i]) <= VTRIG_MAX_ARG);   // NaN is wild too
        for (long i = 0; i < m; i++) block[i] = sin_quadrants_later(x[i], quadrants);
        if (wild)
            for (long i = 0; i < m; i++)
                if (!(fabsf(x[i]) <= VTRIG_MAX_ARG)) block[i] = cosine ? cosf(x[i]) : sinf(x[i]);
        memcpy(out + i0, block, sizeof(float) * (size_t)m);
    }
}

void unary(float *out, const float *a, long n, UnaryOp op) {
    UnaryJob j = {out, a, 0.0f, op};
    parallel_for(n, ELEMS_PER_CHUNK, unary_chunk, &j);
}

typedef struct GeluJob {
    float *out, *cdf;
    const float *a;
} GeluJob;

static void gelu_with_cdf_chunk(void *ctx, long begin, long end) {
    const GeluJob *j = ctx;
    gelu_span(j->out + begin, j->cdf + begin, j->a + begin, end - begin);
}

void gelu_with_cdf(float *out, float *cdf, const float *a, long n) {
    GeluJob j = {out, cdf, a};
    parallel_for(n, ELEMS_PER_CHUNK, gelu_with_cdf_chunk, &j);
}

static void scale_chunk(void *ctx, long begin, long end) {
    const UnaryJob *j = ctx;
    for (long i = begin; i < end; i++) j->out[i] = j->s * j->a[i];
}

void scale(float *out, const float *a, float s, long n) {
    UnaryJob j = {out, a, s, UNARY_EXP};
    parallel_for(n, ELEMS_PER_CHUNK, scale_chunk, &j);
}

// ---------------------------------------------------------------- reductions over the last axis

typedef struct RowJob {
    float *out;
    const float *a;
    long cols;
    double divide_by;
} RowJob;

static void sum_rows(void *ctx, long begin, long end) {
    const RowJob *j = ctx;
    for (long r = begin; r < end; r++) {
        const float *row = j->a + r * j->cols;
        double s = 0.0;
        for (long c = 0; c < j->cols; c++) s += row[c];
        j->out[r] = (float)(s / j->divide_by);
    }
}

void sum_last(float *out, const float *a, long rows, long cols) {
    RowJob j = {out, a, cols, 1.0};
    parallel_for(rows, ROWS_PER_CHUNK, sum_rows, &j);
}

void mean_last(float *out, const float *a, long rows, long cols) {
    RowJob j = {out, a, cols, cols > 0 ? (double)cols : 1.0};
    parallel_for(rows, ROWS_PER_CHUNK, sum_rows, &j);
}

// ---------------------------------------------------------------- softmax

static void softmax_row(float *out, const float *a, long cols) {
    float max = -INFINITY;
    for (long c = 0; c < cols; c++) max = a[c] > max ? a[c] : max;
    double sum = 0.0;
    for (long c = 0; c < cols; c++) {
        out[c] = expf(a[c] - max);
        sum += out[c];
    }
    float inv = (float)(1.0 / sum);
    for (long c = 0; c < cols; c++) out[c] *= inv;
}

static void softmax_rows(void *ctx, long begin, long end) {
    const RowJob *j = ctx;
    for (long r = begin; r < end; r++) softmax_row(j->out + r * j->cols, j->a + r * j->cols, j->cols);
}

void softmax_last(float *out, const float *a, long rows, long cols) {
    RowJob j = {out, a, cols, 1.0};
    parallel_for(rows, ROWS_PER_CHUNK, softmax_rows, &j);
}

// ---------------------------------------------------------------- layer norm

typedef struct LayerNormJob {
    float *y, *mean, *rstd;
    const float *x, *gamma, *beta;
    long cols;
    float eps;
} LayerNormJob;

static void layernorm_rows(void *ctx, long begin, long end) {
    const LayerNormJob *j = ctx;
    for (long r = begin; r < end; r++) {
        const float *x = j->x + r * j->cols;
        float *y = j->y + r * j->cols;
        double s = 0.0, s2 = 0.0;
        for (long c = 0; c < j->cols; c++) s += x[c];
        double mean = s / (double)j->cols;
        for (long c = 0; c < j->cols; c++) s2 += (x[c] - mean) * (x[c] - mean);
        float rstd = (float)(1.0 / sqrt(s2 / (double)j->cols + j->eps));
        for (long c = 0; c < j->cols; c++)
            y[c] = ((x[c] - (float)mean) * rstd) * j->gamma[c] + j->beta[c];
        if (j->mean) j->mean[r] = (float)mean;
        if (j->rstd) j->rstd[r] = rstd;
    }
}

void layernorm_last(float *y, float *mean, float *rstd, const float *x, const float *gamma,
                    const float *beta, long rows, long cols, float eps) {
    LayerNormJob j = {y, mean, rstd, x, gamma, beta, cols, eps};
    parallel_for(rows, ROWS_PER_CHUNK, layernorm_rows, &j);
}

// ---------------------------------------------------------------- embedding

typedef struct GatherJob {
    float *out;
    const float *table;
    const int32_t *ids;
    long dim;
} GatherJob;

static void gather_rows(void *ctx, long begin, long end) {
    const GatherJob *j = ctx;
    for (long i = begin; i < end; i++)
        memcpy(j->out + i * j->dim, j->table + (long)j->ids[i] * j->dim, (size_t)j->dim * sizeof(float));
}

void embedding_gather(float *out, const float *table, const int32_t *ids, long n, long dim, long vocab) {
    for (long i = 0; i < n; i++)  // every id checked before any thread reads the table with it
        if (ids[i] < 0 || ids[i] >= vocab) {
            fprintf(stderr, "hyena: token id %d at position %ld is outside the vocabulary [0, %ld)\n",
                    ids[i], i, vocab);
            exit(1);
        }
    GatherJob j = {out, table, ids, dim};
    parallel_for(n, rows_per_chunk(dim), gather_rows, &j);
}

void embedding_scatter_add(float *gtable, const float *gout, const int32_t *ids, long n, long dim) {
    for (long i = 0; i < n; i++) {
        float *row = gtable + (long)ids[i] * dim;
        const float *g = gout + i * dim;
        for (long d = 0; d < dim; d++) row[d] += g[d];
    }
}

// ---------------------------------------------------------------- cross-entropy

typedef struct CrossEntropyJob {
    float *row_loss;
    const float *logits;
    const int32_t *targets;
    long vocab;
    int32_t ignore_index;
} CrossEntropyJob;

static void cross_entropy_rows(void *ctx, long begin, long end) {
    const CrossEntropyJob *j = ctx;
    for (long r = begin; r < end; r++) {
        int32_t t = j->targets[r];
        if (t == j->ignore_index) {
            j->row_loss[r] = 0.0f;
            continue;
        }
        // -log softmax(x)[t] = logsumexp(x) - x[t], with the max subtracted for stability.
        const float *x = j->logits + r * j->vocab;
        float max = -INFINITY;
        for (long c = 0; c < j->vocab; c++) max = x[c] > max ? x[c] : max;
        double sum = 0.0;
        for (long c = 0; c < j->vocab; c++) sum += exp((double)(x[c] - max));
        j->row_loss[r] = (float)(log(sum) + max - x[t]);
    }
}

float cross_entropy(float *row_loss, const float *logits, const int32_t *targets, long rows,
                    long vocab, int32_t ignore_index, long *n_counted) {
    long counted = 0;
    for (long r = 0; r < rows; r++) {
        if (targets[r] == ignore_index) continue;
        if (targets[r] < 0 || targets[r] >= vocab) {
            fprintf(stderr, "hyena: target id %d at row %ld is outside the vocabulary [0, %ld)\n",
                    targets[r], r, vocab);
            exit(1);
        }
        counted++;
    }
    CrossEntropyJob j = {row_loss, logits, targets, vocab, ignore_index};
    parallel_for(rows, ROWS_PER_CHUNK, cross_entropy_rows, &j);
    double total = 0.0;  // added in row order: the same bits for any thread count
    for (long r = 0; r < rows; r++) total += row_loss[r];
    if (n_counted) *n_counted = counted;
    return counted ? (float)(total / (double)counted) : 0.0f;
}

// ---------------------------------------------------------------- transpose

void transpose_axes(float *out, const float *a, const int *shape, int rank, int ax0, int ax1) {
    // Pad the shape to 4 axes; walk the output in order and read the input through swapped strides.
    int s[4] = {1, 1, 1, 1};
    int off = 4 - rank;
    for (int i = 0; i < rank; i++) s[off + i] = shape[i];
    long in_stride[4];
    in_stride[3] = 1;
    for (int i = 2; i >= 0; i--) in_stride[i] = in_stride[i + 1] * s[i + 1];
    int os[4] = {s[0], s[1], s[2], s[3]};
    long stride[4] = {in_stride[0], in_stride[1], in_stride[2], in_stride[3]};
    int a0 = off + ax0, a1 = off + ax1;
    int tmp = os[a0]; os[a0] = os[a1]; os[a1] = tmp;
    long ts = stride[a0]; stride[a0] = stride[a1]; stride[a1] = ts;
    long o = 0;
    for (int i0 = 0; i0 < os[0]; i0++)
        for (int i1 = 0; i1 < os[1]; i1++)
            for (int i2 = 0; i2 < os[2]; i2++)
                for (int i3 = 0; i3 < os[3]; i3++)
                    out[o++] = a[i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3]];
}
