// 04_short_conv.c - tutorials/04-projections-and-short-conv.md, runnable: the short causal
// convolution on an impulse, and the three pieces of the projected input.
//   make tutorials && ./build/tutorials/04_short_conv
#include <stdio.h>

#include "../../autograd/ops.h"
#include "../../tensor/pool.h"

int main(void) {
    pool_init(1);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    // One channel, an impulse at t = 2: the output shows the kernel, shifted to start there.
    float xs[8] = {0, 0, 1, 0, 0, 0, 0, 0}, ws[3] = {0.25f, 0.5f, 1.0f}, bs[1] = {0};
    Var *x = ag_input(&tape, tensor_view(xs, 3, (int[]){1, 8, 1}), false, "x");
    Var *w = ag_input(&tape, tensor_view(ws, 3, (int[]){1, 1, 3}), false, "short_filter.weight");
    Var *b = ag_input(&tape, tensor_view(bs, 1, (int[]){1}), false, "short_filter.bias");
    Var *y = ag_causal_conv(&tape, x, w, b);
    printf("impulse  :");
    for (int t = 0; t < 8; t++) printf(" %5.2f", xs[t]);
    printf("\nresponse :");
    for (int t = 0; t < 8; t++) printf(" %5.2f", y->value.data[t]);
    printf("\n(y[t] = w2 x[t] + w1 x[t-1] + w0 x[t-2]: nothing before t = 2, the kernel reversed after)\n");

    // The projection's (N+1)D channels split into x_0 .. x_{N-1} and v: here N = 2, D = 2.
    float zs[6] = {10, 11, 20, 21, 30, 31};
    Var *z = ag_input(&tape, tensor_view(zs, 3, (int[]){1, 1, 6}), false, "z");
    const char *names[3] = {"x_0", "x_1", "v"};
    for (int i = 0; i < 3; i++) {
        Var *piece = ag_slice(&tape, z, 2, 2 * i, 2);
        printf("%-3s = channels [%d, %d): %.0f %.0f\n", names[i], 2 * i, 2 * i + 2, piece->value.data[0],
               piece->value.data[1]);
    }
    arena_free(&arena);
    pool_shutdown();
    return 0;
}
