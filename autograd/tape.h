// tape.h - reverse-mode automatic differentiation: variables, the tape, backward.
//
// Every op (autograd/op_*.c) computes its output with a tensor kernel and, when the tape is
// recording and some input wants a gradient, appends a Node: the op's name, its inputs and
// output, the values its backward needs, and a pointer to its backward function. ag_backward
// walks the nodes from last to first; each backward reads the gradient of its output and ADDS
// into the gradients of its inputs (a variable used twice receives both contributions).
//
// Adding needs the gradient zeroed first, and an activation's gradient is zeroed just before
// the first backward that adds to it. An op whose backward writes an input's whole gradient in
// one pass may instead store it there when it is the first to write (Node.stores_grads,
// ag_grad_first_write): zeroing then never happens. For a B=12 training step that was 43 MB of
// memset, 4.5% of the step on 2 threads (Zen 1), and a pass that read the zeros back.
//
// Memory: op outputs, nodes and activation gradients come from the tape's arena and vanish at
// tape_reset. Parameters are made once with ag_param in a long-lived arena; their gradients
// persist and accumulate across backward calls until ag_zero_grad.
#ifndef HYENA_TAPE_H
#define HYENA_TAPE_H

#include <stdbool.h>
#include <stdint.h>

#include "../tensor/arena.h"
#include "../tensor/tensor.h"

#define AG_MAX_INPUTS 3

struct Node;
struct Tape;

typedef struct Var {
    Tensor value;
    float *grad;          // value.size floats; NULL until backward reaches this variable
    bool grad_fresh;      // grad allocated but nothing written to it yet (its floats are garbage)
    bool requires_grad;
    bool is_param;        // a parameter: grad lives as long as the value and is never reset
    const char *name;     // a parameter's or input's name, else the name of the op that made it
    int id;               // creation order on the tape (for graph dumps); -1 for parameters
    struct Node *node;    // the op that produced it; NULL for leaves
} Var;

typedef void (*BackwardFn)(struct Node *node);

typedef struct Node {
    const char *op;              // "matmul", "layernorm", ...
    BackwardFn backward;         // matmul_backward, layernorm_backward, ...
    struct Tape *tape;           // for scratch memory in backward
    Var *out;
    Var *in[AG_MAX_INPUTS];
    int n_in;
    // What the backward needs beyond inputs and output, op by op:
    Tensor saved[2];             // e.g. layernorm's mean and rstd
    float scalar;                // e.g. scale's factor
    int ints[4];                 // e.g. transpose's axes, cross-entropy's ignore index and count
    unsigned stores_grads;       // bit i: the backward writes all of input i's gradient, storing
                                 // it if ag_grad_first_write says so; other inputs get zeroed ones
    const int32_t *ids;          // embedding's and cross-entropy's token ids (copied to the arena)
    const char *what;            // where in the model, e.g. "layers.1.mixer.gate x1" (NULL: not
                                 // said); in gdb: print n->what, or break on $_streq(n->what, "...")
    struct Node *prev, *next;    // the tape, in recording order
} Node;

// Where the time goes, op kind by op kind (hyena bench train --profile). Forward time is charged
// when an op records itself: an op computes its output and then calls ag_record, so the time
// since the previous op's record (or tape_profile_mark) is this op's forward, including any glue
// code just before it. Backward time is each node's backward plus zeroing its inputs' gradients.
#define TAPE_PROFILE_MAX_OPS 32

typedef struct OpTimes {
    const char *op;          // the name given to ag_record
    long calls;              // forward calls
    double forward_s, backward_s;
    double forward_flops, backward_flops;   // as counted by tensor/flops.h
    double serial_s;         // of forward_s + backward_s, time outside parallel_for: one thread
                             // working, every other idle (needs pool_stats_enable)
} OpTimes;

typedef struct TapeProfile {
    OpTimes ops[TAPE_PROFILE_MAX_OPS];      // in order of first appearance
    int n_ops;
    double mark_s, mark_flops, mark_parallel_s;   // where the op being timed started
} TapeProfile;

typedef struct Tape {
    Arena *arena;
    Node *first, *last;
    int n_nodes;
    int n_vars;
    bool recording;         // false: ops only compute values (evaluation, gradcheck's probes)
    bool zero_every_grad;   // the simple rule: zero each gradient, then add (ignores stores_grads);
                            // the tests compare it with the stored gradients
    TapeProfile *profile;   // NULL (the default): nothing is timed
    const char *scope;      // tape_scope's current prefix, or NULL
} Tape;

void tape_init(Tape *tape, Arena *arena);
// Forget every node and activation (resets the arena). Parameters are untouched.
void tape_reset(Tape *tape);

// Names for the debugger and the graph dumps. Every node recorded after tape_scope(tape,
// "layers.%d.mixer", 1) gets what = "layers.1.mixer"; ag_name then names one node within the
// scope: ag_name(tape, v, "gate x%d", 1) gives v's node "layers.1.mixer.gate x1". Both are printf
// formats; tape_scope(tape, NULL) ends the scope, and tape_reset forgets it. Names cost nothing
// when the tape is not recording.
void tape_scope(Tape *tape, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ag_name(Tape *tape, Var *v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// A trainable parameter with a zeroed value and gradient, allocated from `params` (an arena
// that is never reset). The name is kept by pointer: pass a string that outlives the model.
Var *ag_param(Arena *params, const char *name, int rank, const int *shape);
// A leaf on the tape wrapping `value` (not copied). requires_grad: whether backward should
// compute its gradient (e.g. to inspect d loss / d input).
Var *ag_input(Tape *tape, Tensor value, bool requires_grad, const char *name);

// Backpropagate from `out`. seed: d loss / d out, out->value.size floats; NULL means 1 for
// every element (for a scalar loss, the usual case).
void ag_backward(Tape *tape, Var *out, const float *seed);
void ag_zero_grad(Var *const *params, int n_params);
// With tape->profile set: charge the time from now to the next op's forward (call it just before
// the forward pass starts).
void tape_profile_mark(Tape *tape);

// ---- for op implementers (autograd/op_*.c)

// A fresh output variable of the given shape, its value allocated from the tape's arena.
Var *ag_new_var(Tape *tape, int rank, const int *shape, const char *name);
// Mark `out` as produced by `op` from inputs in[0..n_in) and, if it needs a gradient, record a
// node. Returns the node (NULL when nothing was recorded: then the op saves nothing).
Node *ag_record(Tape *tape, const char *op, BackwardFn backward, Var *out, int n_in, Var *const *in);
// For a backward whose node has bit i of stores_grads set, about input i: true when nothing has
// been written to v->grad yet, so the backward must store its gradient there (not add to the
// garbage); from then on v's gradient counts as written. Call it right before writing. False for
// a gradient already written, or zeroed: then add, as every backward does.
bool ag_grad_first_write(Var *v);
// Stop with a one-line message naming the op and both shapes (a shape error is a programming
// error, not bad input, so it is not recoverable).
void ag_shape_error(const char *op, const char *what, const Tensor *a, const Tensor *b);

#endif
