// 10_optimizers.c - tutorials/10-training.md, runnable: AdamW and SGD with momentum fitting the
// same small problem, with warmup, cosine decay and clipping from train/optim.c.
//   make tutorials && ./build/tutorials/10_optimizers
#include <stdio.h>

#include "../../autograd/ops.h"
#include "../../tensor/pool.h"
#include "../../train/optim.h"

// Fit y = 3x - 2 with a linear layer from 64 noisy points.
static double train(OptimizerKind kind, float lr) {
    Arena arena, step;
    arena_init(&arena, 0);
    arena_init(&step, 0);
    ParamList params;
    params_init(&params, &arena);
    Var *w = params_new(&params, "", "w", 2, (int[]){1, 1}, PARAM_DEFAULT, PARAM_DEFAULT);
    Var *b = params_new(&params, "", "b", 1, (int[]){1}, PARAM_DEFAULT, 0.0f);
    float xs[64], ys[64];
    Rng rng = rng_new(0);
    for (int i = 0; i < 64; i++) {
        xs[i] = rng_uniform_range(&rng, -1, 1);
        ys[i] = 3 * xs[i] - 2 + 0.1f * rng_normal(&rng);
    }
    OptimConfig cfg = optim_config_default();
    cfg.kind = kind;
    cfg.lr = lr;
    cfg.min_lr = lr / 10;
    cfg.warmup_steps = 10;
    cfg.total_steps = 200;
    cfg.weight_decay = 0;
    Optimizer opt;
    optim_init(&opt, &cfg, &params);
    Tape tape;
    tape_init(&tape, &step);
    double loss = 0;
    for (int s = 0; s < 200; s++) {
        tape_reset(&tape);
        params_zero_grad(&params);
        Var *x = ag_input(&tape, tensor_view(xs, 2, (int[]){64, 1}), false, "x");
        Var *target = ag_input(&tape, tensor_view(ys, 2, (int[]){64, 1}), false, "y");
        Var *err = ag_add(&tape, ag_add(&tape, ag_matmul_bt(&tape, x, w), b), ag_scale(&tape, target, -1));
        Var *mse = ag_mean(&tape, ag_reshape(&tape, ag_mul(&tape, err, err), 1, (int[]){64}));
        ag_backward(&tape, mse, NULL);
        double norm = optim_clip(&params, 1.0f);
        optim_step(&opt);
        loss = mse->value.data[0];
        if (s % 50 == 0 || s == 199)
            printf("  %s step %3d: loss %.4f, grad norm %.3f, lr %.4f, w %.3f, b %.3f\n", kind == OPTIM_ADAMW ? "adamw" : "sgd  ",
                   s, loss, norm, optim_lr_at(&cfg, s), w->value.data[0], b->value.data[0]);
    }
    optim_free(&opt);
    params_free(&params);
    arena_free(&arena);
    arena_free(&step);
    return loss;
}

int main(void) {
    pool_init(1);
    printf("fitting y = 3x - 2 (noise 0.1) with warmup 10, cosine to lr/10 over 200 steps, clip 1:\n");
    double a = train(OPTIM_ADAMW, 0.1f), s = train(OPTIM_SGD, 0.1f);
    printf("final loss: AdamW %.4f, SGD with momentum %.4f (the noise alone is about 0.01)\n", a, s);
    pool_shutdown();
    return 0;
}
