// 07_language_model.c - tutorials/07-block-and-language-model.md, runnable: build a small
// Hyena LM, list its parameters, and check that its untrained loss is about ln(vocab).
//   make tutorials && ./build/tutorials/07_language_model
#include <math.h>
#include <stdio.h>

#include "../../hyena/model.h"
#include "../../tensor/pool.h"

int main(void) {
    pool_init(0);
    int V = 65, B = 4, T = 64;
    ModelConfig cfg = model_config_default(V, 64, 2, T);
    Model m;
    model_init(&m, &cfg, 42);
    printf("%d tensors, %ld trainable parameters\n", m.params.n, params_count(&m.params));
    for (int i = 0; i < m.params.n; i++) {  // every tensor: the exercise compares the lists
        const Param *p = &m.params.items[i];
        char shape[48];
        printf("  %-58s %-14s %s\n", p->var->name, tensor_shape_str(&p->var->value, shape, sizeof shape),
               !p->trainable ? "buffer" : p->lr > 0 ? "lr 1e-5, no decay" : p->weight_decay == 0 ? "no decay" : "");
    }

    int32_t ids[4 * 64], targets[4 * 64];
    Rng rng = rng_new(0);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)rng_below(&rng, (uint32_t)V);
        targets[i] = (int32_t)rng_below(&rng, (uint32_t)V);
    }
    Arena step;
    arena_init(&step, 0);
    Tape tape;
    tape_init(&tape, &step);
    Var *logits = model_forward(&tape, &m, ids, B, T);
    Var *loss = ag_cross_entropy(&tape, logits, targets, -1);
    ag_backward(&tape, loss, NULL);
    printf("untrained loss %.4f (a uniform guess over %d tokens would be ln %d = %.4f)\n", loss->value.data[0], V, V,
           log((double)V));
    printf("one step: %d tape nodes, %.1f MB of activations and gradients\n", tape.n_nodes,
           (double)step.high_water / (1 << 20));
    arena_free(&step);
    model_free(&m);
    pool_shutdown();
    return 0;
}
