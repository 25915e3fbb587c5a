// tape.c - recording nodes and walking them backwards.
#include "tape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tensor/flops.h"
#include "../tensor/ops.h"
#include "../tensor/pool.h"

void tape_init(Tape *tape, Arena *arena) {
    memset(tape, 0, sizeof *tape);
    tape->arena = arena;
    tape->recording = true;
}

void tape_reset(Tape *tape) {
    arena_reset(tape->arena);
    tape->first = tape->last = NULL;
    tape->n_nodes = 0;
    tape->n_vars = 0;
    tape->scope = NULL;  // it lived in the arena
}

// printf into a string on the tape's arena.
static const char *arena_vprintf(Arena *arena, const char *fmt, va_list ap) {
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    char *s = arena_alloc(arena, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static const char *arena_printf(Arena *arena, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *arena_printf(Arena *arena, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    const char *s = arena_vprintf(arena, fmt, ap);
    va_end(ap);
    return s;
}

void tape_scope(Tape *tape, const char *fmt, ...) {
    if (fmt == NULL || !tape->recording) {
        tape->scope = NULL;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    tape->scope = arena_vprintf(tape->arena, fmt, ap);
    va_end(ap);
}

void ag_name(Tape *tape, Var *v, const char *fmt, ...) {
    if (v->node == NULL) return;  // not recorded: nothing to name
    char name[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    v->node->what = tape->scope ? arena_printf(tape->arena, "%s.%s", tape->scope, name) : arena_printf(tape->arena, "%s", name);
}

Var *ag_param(Arena *params, const char *name, int rank, const int *shape) {
    Var *v = arena_calloc(params, sizeof *v);
    v->value = tensor_zeros(params, rank, shape);
    v->grad = arena_calloc(params, v->value.size * sizeof(float));
    v->requires_grad = true;
    v->is_param = true;
    v->name = name;
    v->id = -1;
    return v;
}

Var *ag_new_var(Tape *tape, int rank, const int *shape, const char *name) {
    Var *v = arena_calloc(tape->arena, sizeof *v);
    v->value = tensor_new(tape->arena, rank, shape);
    v->name = name;
    v->id = tape->n_vars++;
    return v;
}

Var *ag_input(Tape *tape, Tensor value, bool requires_grad, const char *name) {
    Var *v = arena_calloc(tape->arena, sizeof *v);
    v->value = value;
    v->requires_grad = requires_grad;
    v->name = name;
    v->id = tape->n_vars++;
    return v;
}

// ---- profiling

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tape_profile_mark(Tape *tape) {
    if (!tape->profile) return;
    tape->profile->mark_s = seconds_now();
    tape->profile->mark_flops = flops_count();
    tape->profile->mark_parallel_s = pool_stats().caller_jobs_s;
}

// The entry of op kind `op` (op names are string literals: compared by content, since the same
// literal may have several addresses); NULL when the table is full.
static OpTimes *profile_entry(TapeProfile *p, const char *op) {
    for (int i = 0; i < p->n_ops; i++)
        if (strcmp(p->ops[i].op, op) == 0) return &p->ops[i];
    if (p->n_ops == TAPE_PROFILE_MAX_OPS) return NULL;
    OpTimes *e = &p->ops[p->n_ops++];
    memset(e, 0, sizeof *e);
    e->op = op;
    return e;
}

// Charge the time and operations since the mark to `op`, and move the mark to now.
static void profile_charge(TapeProfile *p, const char *op, bool backward) {
    double now = seconds_now(), flops = flops_count(), parallel = pool_stats().caller_jobs_s;
    OpTimes *e = profile_entry(p, op);
    if (e) e->serial_s += (now - p->mark_s) - (parallel - p->mark_parallel_s);
    if (e && backward) {
        e->backward_s += now - p->mark_s;
        e->backward_flops += flops - p->mark_flops;
    } else if (e) {
        e->calls++;
        e->forward_s += now - p->mark_s;
        e->forward_flops += flops - p->mark_flops;
    }
    p->mark_s = now;
    p->mark_flops = flops;
    p->mark_parallel_s = parallel;
}

// ---- recording

Node *ag_record(Tape *tape, const char *op, BackwardFn backward, Var *out, int n_in, Var *const *in) {
    if (tape->profile) profile_charge(tape->profile, op, false);
    out->requires_grad = false;
    for (int i = 0; i < n_in; i++) out->requires_grad |= in[i]->requires_grad;
    if (!tape->recording || !out->requires_grad) {
        out->requires_grad = false;
        return NULL;
    }
    Node *node = arena_calloc(tape->arena, sizeof *node);
    node->op = op;
    node->backward = backward;
    node->tape = tape;
    node->what = tape->scope;
    node->out = out;
    node->n_in = n_in;
    for (int i = 0; i < n_in; i++) node->in[i] = in[i];
    node->prev = tape->last;
    if (tape->last) tape->last->next = node;
    else tape->first = node;
    tape->last = node;
    tape->n_nodes++;
    out->node = node;
    return node;
}

void ag_shape_error(const char *op, const char *what, const Tensor *a, const Tensor *b) {
    char sa[64], sb[64];
    fprintf(stderr, "hyena: %s: %s (shapes %s and %s)\n", op, what, tensor_shape_str(a, sa, sizeof sa),
            tensor_shape_str(b, sb, sizeof sb));
    exit(1);
}

// v's gradient, allocated if it is not yet, and zeroed unless the caller will store into it
// (tape.h). Zeroed by all threads: an activation's gradient can be megabytes, and one thread
// alone zeroing it leaves the others idle.
static void ensure_grad(Tape *tape, Var *v, bool will_store) {
    if (!v->grad) {
        v->grad = arena_alloc(tape->arena, v->value.size * sizeof(float));
        v->grad_fresh = true;
    }
    if (v->grad_fresh && !will_store) {
        fill_zero(v->grad, (long)v->value.size);
        v->grad_fresh = false;
    }
}

bool ag_grad_first_write(Var *v) {
    bool first = v->grad_fresh;
    v->grad_fresh = false;
    return first;
}

void ag_backward(Tape *tape, Var *out, const float *seed) {
    if (!out->requires_grad) {
        fprintf(stderr, "hyena: backward from '%s', which depends on nothing that requires a gradient\n",
                out->name);
        exit(1);
    }
    ensure_grad(tape, out, false);
    for (size_t i = 0; i < out->value.size; i++) out->grad[i] += seed ? seed[i] : 1.0f;
    // Nodes were recorded in execution order, so walking backwards visits every node after all
    // the nodes that consume its output: its gradient is complete when its backward runs.
    // A node whose output never received a gradient is not on the path to `out` and is skipped.
    tape_profile_mark(tape);
    for (Node *node = out->node; node; node = node->prev) {
        if (node->out->grad == NULL) continue;
        // Every consumer of node->out writes its gradient, so it is never fresh here; were it
        // (an op that broke the stores_grads contract), zeros are at least the safe reading.
        ensure_grad(tape, node->out, false);
        for (int i = 0; i < node->n_in; i++)
            if (node->in[i]->requires_grad)
                ensure_grad(tape, node->in[i], !tape->zero_every_grad && (node->stores_grads >> i & 1u));
        node->backward(node);
        if (tape->profile) profile_charge(tape->profile, node->op, true);
    }
}

void ag_zero_grad(Var *const *params, int n_params) {
    for (int i = 0; i < n_params; i++) memset(params[i]->grad, 0, params[i]->value.size * sizeof(float));
}
