// 02_square.c - the solution to chapter 02's exercise: an op y = a², its backward, its gradcheck,
// and the same check failing on a backward that is wrong on purpose. Exits 0 when both behave.
//   make tutorials && ./build/tutorials/solutions/02_square
#include <stdio.h>

#include "../../autograd/gradcheck.h"
#include "../../autograd/ops.h"
#include "../../tensor/pool.h"
#include "../../tensor/rng.h"

// d(a²)/da = 2a, so ga += 2·a·g. The factor is kept in the node so that the same code can be
// broken on purpose (3 in place of 2) for the second half of the exercise.
static void square_backward(Node *n) {
    const float *a = n->in[0]->value.data, *g = n->out->grad;
    float *ga = n->in[0]->grad;
    for (size_t i = 0; i < n->out->value.size; i++) ga[i] += n->scalar * a[i] * g[i];
}

static Var *ag_square_with(Tape *tape, Var *a, float factor) {
    Var *y = ag_new_var(tape, a->value.rank, a->value.shape, "square");
    for (size_t i = 0; i < a->value.size; i++) y->value.data[i] = a->value.data[i] * a->value.data[i];
    Node *n = ag_record(tape, "square", square_backward, y, 1, &a);
    if (n) n->scalar = factor;
    return y;
}

static Var *build_right(Tape *tape, void *ctx) { return ag_square_with(tape, ctx, 2.0f); }
static Var *build_wrong(Tape *tape, void *ctx) { return ag_square_with(tape, ctx, 3.0f); }

int main(void) {
    Arena params;
    arena_init(&params, 0);
    Var *a = ag_param(&params, "a", 2, (int[]){3, 4});
    Rng rng = rng_new(1);
    rng_fill_uniform(&rng, a->value.data, 12, -2, 2);
    GradcheckReport right, wrong;
    bool right_ok = gradcheck(build_right, a, &a, 1, NULL, &right);
    bool wrong_ok = gradcheck(build_wrong, a, &a, 1, NULL, &wrong);
    printf("ga += 2·a·g: %s (%d elements checked)\n", right_ok ? "passes" : "FAILS", right.n_checked);
    printf("ga += 3·a·g: %s, %d of %d elements wrong; worst %s\n", wrong_ok ? "PASSES" : "fails", wrong.n_failed,
           wrong.n_checked, wrong.worst);
    arena_free(&params);
    return right_ok && !wrong_ok ? 0 : 1;
}
