// 01_tensors.c - tutorials/01-tensors.md, runnable: tensors in an arena, the pool, and why the
// blocked matmul is fast.
//   make tutorials && ./build/tutorials/01_tensors [--threads N]
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../tensor/arena.h"
#include "../../tensor/matmul.h"
#include "../../tensor/pool.h"
#include "../../tensor/rng.h"
#include "../../tensor/tensor.h"

static double seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The textbook loop, in the i-k-j order that at least reads B row by row.
static void matmul_naive(float *c, const float *a, const float *b, int m, int k, int n) {
    memset(c, 0, sizeof(float) * (size_t)m * (size_t)n);
    for (int i = 0; i < m; i++)
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < n; j++) c[(long)i * n + j] += a[(long)i * k + kk] * b[(long)kk * n + j];
}

int main(int argc, char **argv) {
    int threads = argc == 3 && strcmp(argv[1], "--threads") == 0 ? atoi(argv[2]) : 0;
    pool_init(threads);
    printf("threads: %d\n", pool_threads());

    // One arena holds everything; a tensor is a shape plus a pointer into it.
    Arena arena;
    arena_init(&arena, 0);
    int m = 512, k = 512, n = 512;
    Tensor a = tensor_new(&arena, 2, (int[]){m, k});
    Tensor b = tensor_new(&arena, 2, (int[]){k, n});
    Tensor c = tensor_new(&arena, 2, (int[]){m, n});
    Tensor c_naive = tensor_new(&arena, 2, (int[]){m, n});
    Rng rng = rng_new(42);
    rng_fill_uniform(&rng, a.data, (long)a.size, -1, 1);
    rng_fill_uniform(&rng, b.data, (long)b.size, -1, 1);
    char shape[32];
    printf("a: %s, element [3][7] = a.data[3*%d + 7] = %.4f\n", tensor_shape_str(&a, shape, sizeof shape), k,
           a.data[3 * k + 7]);

    double t0 = seconds();
    matmul_naive(c_naive.data, a.data, b.data, m, k, n);
    double t_naive = seconds() - t0;
    matmul(c.data, a.data, b.data, m, k, n, MATMUL_NN, false);  // warm up
    t0 = seconds();
    matmul(c.data, a.data, b.data, m, k, n, MATMUL_NN, false);
    double t_fast = seconds() - t0;

    float max_diff = 0;
    for (size_t i = 0; i < c.size; i++) {
        float d = c.data[i] > c_naive.data[i] ? c.data[i] - c_naive.data[i] : c_naive.data[i] - c.data[i];
        max_diff = d > max_diff ? d : max_diff;
    }
    double flop = 2.0 * m * k * n;
    printf("naive   %8.2f ms  %6.1f GFLOP/s\n", t_naive * 1e3, flop / t_naive * 1e-9);
    printf("blocked %8.2f ms  %6.1f GFLOP/s  (max difference %.2g)\n", t_fast * 1e3, flop / t_fast * 1e-9,
           max_diff);
    printf("arena: %zu bytes used at the high-water mark, %d block(s)\n", arena.high_water, arena.n_blocks);
    arena_free(&arena);
    pool_shutdown();
    return 0;
}
