// 02_autograd.c - tutorials/02-autograd.md, runnable: a one-layer classifier, its tape, its
// gradients, and a gradient check.
//   make tutorials && ./build/tutorials/02_autograd          (writes graph.dot)
//   make debug && gdb build/debug/tutorials/02_autograd      (the chapter's gdb session)
#include <stdio.h>

#include "../../autograd/gradcheck.h"
#include "../../autograd/graph.h"
#include "../../autograd/ops.h"
#include "../../tensor/pool.h"
#include "../../tensor/rng.h"

typedef struct Model {
    Var *weight;  // [classes, features], PyTorch's Linear layout
    Var *bias;    // [classes]
    Var *gamma, *beta;
} Model;

static const int32_t targets[4] = {0, 2, 1, 2};
static float inputs[4 * 3] = {0.5f, -1.0f, 2.0f, 1.5f, 0.2f, -0.3f, -0.7f, 0.9f, 0.1f, 0.0f, 1.0f, -1.0f};

// loss = cross_entropy(layernorm(x) · Wᵀ + b, targets)
static Var *forward(Tape *tape, void *ctx) {
    Model *m = ctx;
    Var *x = ag_input(tape, tensor_view(inputs, 2, (int[]){4, 3}), false, "x");
    Var *h = ag_layernorm(tape, x, m->gamma, m->beta, 1e-5f);
    Var *logits = ag_add(tape, ag_matmul_bt(tape, h, m->weight), m->bias);
    return ag_cross_entropy(tape, logits, targets, -1);
}

int main(void) {
    pool_init(0);
    Arena params, step;
    arena_init(&params, 0);
    arena_init(&step, 0);
    Model m = {ag_param(&params, "fc.weight", 2, (int[]){3, 3}), ag_param(&params, "fc.bias", 1, (int[]){3}),
               ag_param(&params, "ln.weight", 1, (int[]){3}), ag_param(&params, "ln.bias", 1, (int[]){3})};
    Rng rng = rng_new(0);
    rng_fill_normal(&rng, m.weight->value.data, 9, 0.0f, 0.5f);
    for (int i = 0; i < 3; i++) m.gamma->value.data[i] = 1.0f;

    Tape tape;
    tape_init(&tape, &step);
    Var *loss = forward(&tape, &m);
    ag_backward(&tape, loss, NULL);
    printf("loss = %.4f\n", loss->value.data[0]);
    ag_print_graph(stdout, &tape);
    printf("d loss / d fc.weight[0][0] = %.5f\n", m.weight->grad[0]);

    FILE *dot = fopen("graph.dot", "w");
    if (dot) {
        ag_write_dot(dot, &tape);
        fclose(dot);
        printf("wrote graph.dot (render with: dot -Tsvg graph.dot > graph.svg)\n");
    }

    GradcheckReport report;
    Var *wrt[] = {m.weight, m.bias, m.gamma, m.beta};
    bool ok = gradcheck(forward, &m, wrt, 4, NULL, &report);
    printf("gradcheck: %s, %d elements, max abs error %.2g\n", ok ? "pass" : "FAIL", report.n_checked,
           report.max_abs_error);

    arena_free(&step);
    arena_free(&params);
    pool_shutdown();
    return ok ? 0 : 1;
}
