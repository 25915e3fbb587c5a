// op_elementwise.c - add, mul (both broadcasting), scale, and the unary maps.
//
//   y = a + b      ga += g                 gb += g summed over broadcast rows
//   y = a * b      ga += g * b             gb += g * a summed over broadcast rows
//   y = s * a      ga += s * g
//   y = exp(a)     ga += g * y             y = log(a)    ga += g / a
//   y = sin(a)     ga += g * cos(a)        y = tanh(a)   ga += g * (1 - y^2)
//   y = gelu(a)    ga += g * gelu'(a)   (gelu' from Phi(a), saved by the forward)
//
// add, mul and gelu write all of ga in one pass (and all of gb, when b has a's shape), so they
// store it instead when they are the first to write it (stores_grads, ag_grad_first_write in
// tape.h): ga = g, g * b, g * gelu'(a).
#include <math.h>
#include <string.h>

#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "ops.h"

#define ELEMS_PER_CHUNK 16384

// a is [outer, inner] and b is [inner]: b's shape must be a suffix of a's.
static long broadcast_inner(const char *op, const Var *a, const Var *b) {
    if (b->value.rank > a->value.rank) ag_shape_error(op, "b has more axes than a", &a->value, &b->value);
    int off = a->value.rank - b->value.rank;
    for (int i = 0; i < b->value.rank; i++)
        if (a->value.shape[off + i] != b->value.shape[i])
            ag_shape_error(op, "b's shape is not a suffix of a's", &a->value, &b->value);
    return (long)b->value.size;
}

// The reduction shared by the two broadcasting backwards: gb[i] += sum_o g[o,i] * (a or 1),
// with the partial sums of column_sum_add in the tape's arena.
static void broadcast_grad_b(Node *n, float *gb, const float *g, const float *a, long outer, long inner) {
    size_t floats = column_sum_scratch(outer, inner);
    float *partials = floats ? arena_alloc(n->tape->arena, floats * sizeof(float)) : NULL;
    column_sum_add(gb, g, a, outer, inner, partials);
}

// ---- add

// gx (+)= g, for an input of the output's own shape.
static void add_grad_same_shape(Var *x, const float *g) {
    if (ag_grad_first_write(x)) copy_floats(x->grad, g, (long)x->value.size);
    else add_broadcast(x->grad, x->grad, g, 1, (long)x->value.size);
}

static void add_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    const float *g = n->out->grad;
    long inner = (long)b->value.size, outer = (long)a->value.size / (inner ? inner : 1);
    if (a->requires_grad) add_grad_same_shape(a, g);
    if (b->requires_grad) {
        if (outer == 1) add_grad_same_shape(b, g);
        else broadcast_grad_b(n, b->grad, g, NULL, outer, inner);
    }
}

Var *ag_add(Tape *tape, Var *a, Var *b) {
    long inner = broadcast_inner("add", a, b);
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "add");
    add_broadcast(y->value.data, a->value.data, b->value.data, (long)a->value.size / (inner ? inner : 1), inner);
    Node *n = ag_record(tape, "add", add_backward, y, 2, (Var *[]){a, b});
    // A broadcast b's gradient is a sum over rows, added in; b of a's shape is written whole.
    if (n) n->stores_grads = 1u << 0 | (b->value.size == a->value.size ? 1u << 1 : 0);
    return y;
}

// ---- mul

typedef struct MulGradJob {
    float *ga;
    const float *g, *b;
    long inner;
    bool store;   // ga = g * b: nothing was written to ga yet
} MulGradJob;

// ga[0 .. n) (+)= g * b
static void mul_grad_span(float *ga, const float *g, const float *b, long n, bool store) {
    if (store)
        for (long i = 0; i < n; i++) ga[i] = g[i] * b[i];
    else
        for (long i = 0; i < n; i++) ga[i] += g[i] * b[i];
}

// Rows [begin, end) of ga (+)= g * b. A whole row against b, not `b[i % inner]` per element: the
// modulo would keep the loop from vectorizing.
static void mul_grad_rows(void *ctx, long begin, long end) {
    const MulGradJob *j = ctx;
    for (long o = begin; o < end; o++)
        mul_grad_span(j->ga + o * j->inner, j->g + o * j->inner, j->b, j->inner, j->store);
}

// Elements [begin, end) of ga (+)= g * b, for a and b of the same shape (one long row: a gate, or
// the filter's window), which would otherwise be a single chunk for a single thread.
static void mul_grad_columns(void *ctx, long begin, long end) {
    const MulGradJob *j = ctx;
    mul_grad_span(j->ga + begin, j->g + begin, j->b + begin, end - begin, j->store);
}

// gx (+)= g * other, for x of the output's shape and other broadcast over `outer` rows (or not).
static void mul_grad_same_shape(Var *x, const float *g, const float *other, long outer, long inner) {
    MulGradJob j = {x->grad, g, other, inner, ag_grad_first_write(x)};
    long rows_per_chunk = inner > 0 && inner < ELEMS_PER_CHUNK ? ELEMS_PER_CHUNK / inner : 1;
    if (outer == 1) parallel_for(inner, ELEMS_PER_CHUNK, mul_grad_columns, &j);
    else parallel_for(outer, rows_per_chunk, mul_grad_rows, &j);
}

static void mul_backward(Node *n) {
    Var *a = n->in[0], *b = n->in[1];
    const float *g = n->out->grad;
    long inner = (long)b->value.size, outer = (long)a->value.size / (inner ? inner : 1);
    if (a->requires_grad) mul_grad_same_shape(a, g, b->value.data, outer, inner);
    if (b->requires_grad) {
        if (outer == 1) mul_grad_same_shape(b, g, a->value.data, 1, inner);   // a gate: as for a
        else broadcast_grad_b(n, b->grad, g, a->value.data, outer, inner);
    }
}

Var *ag_mul(Tape *tape, Var *a, Var *b) {
    long inner = broadcast_inner("mul", a, b);
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "mul");
    mul_broadcast(y->value.data, a->value.data, b->value.data, (long)a->value.size / (inner ? inner : 1), inner);
    Node *n = ag_record(tape, "mul", mul_backward, y, 2, (Var *[]){a, b});
    if (n) n->stores_grads = 1u << 0 | (b->value.size == a->value.size ? 1u << 1 : 0);   // as in add
    return y;
}

// ---- scale

typedef struct AxpyJob {
    float *ga;
    const float *g;
    float s;
} AxpyJob;

static void axpy_chunk(void *ctx, long begin, long end) {
    const AxpyJob *j = ctx;
    for (long i = begin; i < end; i++) j->ga[i] += j->s * j->g[i];
}

static void scale_backward(Node *n) {
    AxpyJob j = {n->in[0]->grad, n->out->grad, n->scalar};
    parallel_for((long)n->out->value.size, ELEMS_PER_CHUNK, axpy_chunk, &j);
}

Var *ag_scale(Tape *tape, Var *a, float s) {
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "scale");
    scale(y->value.data, a->value.data, s, (long)a->value.size);
    Node *n = ag_record(tape, "scale", scale_backward, y, 1, &a);
    if (n) n->scalar = s;
    return y;
}

// ---- unary maps: one threaded loop computes ga += g * dy/da for each kind

typedef struct UnaryGradJob {
    float *ga;
    const float *g, *a, *y;
    UnaryOp op;
} UnaryGradJob;

#define UNARY_GRAD_BLOCK 256   // sin's derivative, cos(a), is made a block at a time on the stack

static void unary_grad_chunk(void *ctx, long begin, long end) {
    const UnaryGradJob *j = ctx;
    const float *g = j->g, *a = j->a, *y = j->y;
    float *ga = j->ga;
    switch (j->op) {
    case UNARY_EXP: for (long i = begin; i < end; i++) ga[i] += g[i] * y[i]; break;
    case UNARY_LOG: for (long i = begin; i < end; i++) ga[i] += g[i] / a[i]; break;
    case UNARY_SIN:
        for (long i0 = begin; i0 < end; i0 += UNARY_GRAD_BLOCK) {
            float cos_a[UNARY_GRAD_BLOCK];
            long m = end - i0 < UNARY_GRAD_BLOCK ? end - i0 : UNARY_GRAD_BLOCK;
            trig_span(cos_a, a + i0, m, true);
            for (long i = 0; i < m; i++) ga[i0 + i] += g[i0 + i] * cos_a[i];
        }
        break;
    case UNARY_TANH: for (long i = begin; i < end; i++) ga[i] += g[i] * (1.0f - y[i] * y[i]); break;
    case UNARY_GELU: break;  // not reached: GELU's backward is gelu_backward, given Phi(a)
    }
}

// GELU's own: the forward saved Phi(a), which is most of the derivative's cost.
typedef struct GeluGradJob {
    float *ga;
    const float *g, *a, *cdf;
    bool store;   // ga = g * gelu'(a): nothing was written to ga yet
} GeluGradJob;

// ga (+)= g * gelu'(a), a vector at a time as in the forward (gelu_span, tensor/ops.c), the last
// few elements through one zero-padded vector.
static void gelu_grad_chunk(void *ctx, long begin, long end) {
    const GeluGradJob *j = ctx;
    long i = begin;
    for (; i + VEC_FLOATS <= end; i += VEC_FLOATS) {
        vecf d = gelu_derivative_given_cdf_vec(vec_load(j->a + i), vec_load(j->cdf + i));
        vecf gd = vec_load(j->g + i) * d;
        vec_store(j->ga + i, j->store ? gd : vec_load(j->ga + i) + gd);
    }
    if (i < end) {
        size_t rest = (size_t)(end - i) * sizeof(float);
        float a[VEC_FLOATS] = {0}, cdf[VEC_FLOATS] = {0}, g[VEC_FLOATS] = {0}, ga[VEC_FLOATS] = {0};
        memcpy(a, j->a + i, rest);
        memcpy(cdf, j->cdf + i, rest);
        memcpy(g, j->g + i, rest);
        if (!j->store) memcpy(ga, j->ga + i, rest);
        vecf gd = vec_load(g) * gelu_derivative_given_cdf_vec(vec_load(a), vec_load(cdf));
        vec_store(ga, j->store ? gd : vec_load(ga) + gd);
        memcpy(j->ga + i, ga, rest);
    }
}

static void unary_grad(Node *n, UnaryOp op) {
    UnaryGradJob j = {n->in[0]->grad, n->out->grad, n->in[0]->value.data, n->out->value.data, op};
    parallel_for((long)n->out->value.size, ELEMS_PER_CHUNK, unary_grad_chunk, &j);
}

static void exp_backward(Node *n) { unary_grad(n, UNARY_EXP); }
static void log_backward(Node *n) { unary_grad(n, UNARY_LOG); }
static void sin_backward(Node *n) { unary_grad(n, UNARY_SIN); }
static void tanh_backward(Node *n) { unary_grad(n, UNARY_TANH); }
static void gelu_backward(Node *n) {
    GeluGradJob j = {n->in[0]->grad, n->out->grad, n->in[0]->value.data, n->saved[0].data,
                     ag_grad_first_write(n->in[0])};
    parallel_for((long)n->out->value.size, ELEMS_PER_CHUNK, gelu_grad_chunk, &j);
}

static Var *unary_op(Tape *tape, Var *a, UnaryOp op, const char *name, BackwardFn backward) {
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, name);
    unary(y->value.data, a->value.data, (long)a->value.size, op);
    ag_record(tape, name, backward, y, 1, &a);
    return y;
}

Var *ag_exp(Tape *tape, Var *a) { return unary_op(tape, a, UNARY_EXP, "exp", exp_backward); }
Var *ag_log(Tape *tape, Var *a) { return unary_op(tape, a, UNARY_LOG, "log", log_backward); }
Var *ag_sin(Tape *tape, Var *a) { return unary_op(tape, a, UNARY_SIN, "sin", sin_backward); }
Var *ag_tanh(Tape *tape, Var *a) { return unary_op(tape, a, UNARY_TANH, "tanh", tanh_backward); }
// Phi(a) is kept for the backward only when there will be one (ag_record's condition), so that
// evaluation and generation pay neither its memory nor its store.
Var *ag_gelu(Tape *tape, Var *a) {
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "gelu");
    if (!tape->recording || !a->requires_grad) {
        unary(y->value.data, a->value.data, (long)a->value.size, UNARY_GELU);
        ag_record(tape, "gelu", gelu_backward, y, 1, &a);
        return y;
    }
    Tensor cdf = tensor_new(tape->arena, a->value.rank, a->value.shape);
    gelu_with_cdf(y->value.data, cdf.data, a->value.data, (long)a->value.size);
    Node *n = ag_record(tape, "gelu", gelu_backward, y, 1, &a);
    n->saved[0] = cdf;
    n->stores_grads = 1u << 0;
    return y;
}
