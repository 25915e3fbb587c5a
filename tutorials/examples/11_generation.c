// 11_generation.c - tutorials/11-sampling-and-generation.md, runnable: cached and uncached
// generation give the same tokens; the cached one is much faster on long contexts.
//   make tutorials && ./build/tutorials/11_generation
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tensor/pool.h"
#include "../../train/sample.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(void) {
    pool_init(0);
    int context = 512, prompt = 448, n_new = 64;
    ModelConfig cfg = model_config_default(65, 64, 2, context);
    Model m;
    model_init(&m, &cfg, 1);
    int32_t *a = malloc(sizeof(int32_t) * (size_t)(prompt + n_new)), *b = malloc(sizeof(int32_t) * (size_t)(prompt + n_new));
    Rng r = rng_new(3);
    for (int i = 0; i < prompt; i++) a[i] = b[i] = (int32_t)rng_below(&r, 65);
    SampleOptions greedy = {1.0f, 1, 1.0f};  // top-k 1: always the most likely token
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Rng r1 = rng_new(9), r2 = rng_new(9);
    double t0 = seconds();
    generate(&m, a, prompt, n_new, &greedy, &r1, NULL, NULL);
    double t1 = seconds();
    generate_uncached(&m, b, prompt, n_new, &greedy, &r2, &tape, NULL, NULL);
    double t2 = seconds();
    int same = 0;
    for (int i = prompt; i < prompt + n_new; i++) same += a[i] == b[i];
    printf("%d new tokens after a %d-token prompt (context %d):\n", n_new, prompt, context);
    printf("  cached:   %.1f ms (%.0f tokens/s, prompt included)\n", (t1 - t0) * 1e3, n_new / (t1 - t0));
    printf("  uncached: %.1f ms (%.0f tokens/s)\n", (t2 - t1) * 1e3, n_new / (t2 - t1));
    printf("  the same greedy tokens at %d of %d positions\n", same, n_new);
    free(a);
    free(b);
    arena_free(&arena);
    model_free(&m);
    pool_shutdown();
    return 0;
}
