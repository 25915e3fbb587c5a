// 06_recurrence.c - tutorials/06-hyena-recurrence.md, runnable: what each output of a Hyena
// operator depends on. Prints |dy_t / du_s| for one output time t: zero for every s > t.
//   make tutorials && ./build/tutorials/06_recurrence
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../hyena/operator.h"
#include "../../tensor/pool.h"

int main(void) {
    pool_init(0);
    int D = 4, L = 16, t = 9;
    HyenaConfig cfg = hyena_config_default(D, L);
    cfg.order = 3;  // two gates, two long convolutions
    Arena params_arena, step;
    arena_init(&params_arena, 0);
    arena_init(&step, 0);
    ParamList params;
    params_init(&params, &params_arena);
    Rng rng = rng_new(1);
    HyenaOperator op;
    hyena_operator_init(&op, &cfg, &params, "", &rng);
    Tensor input = tensor_new(&step, 3, (int[]){1, L, D});
    rng_fill_uniform(&rng, input.data, L * D, -1, 1);
    Tape tape;
    tape_init(&tape, &step);
    Var *u = ag_input(&tape, input, true, "u");
    Var *y = hyena_operator_forward(&tape, &op, u);
    float *seed = calloc((size_t)L * D, sizeof(float));
    for (int d = 0; d < D; d++) seed[t * D + d] = 1.0f;  // d (sum_d y[t, d]) / d u
    ag_backward(&tape, y, seed);
    printf("order-%d Hyena operator, L = %d: sum over channels of |d y[%d] / d u[s]|\n", cfg.order, L, t);
    for (int s = 0; s < L; s++) {
        double g = 0;
        for (int d = 0; d < D; d++) g += fabs(u->grad[s * D + d]);
        printf("  s = %2d  %10.6f %s\n", s, g, s > t ? "(future: exactly zero)" : "");
    }
    printf("tape: %d nodes for one operator\n", tape.n_nodes);
    free(seed);
    params_free(&params);
    arena_free(&params_arena);
    arena_free(&step);
    pool_shutdown();
    return 0;
}
