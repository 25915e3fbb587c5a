// matmul.h - C = A·B for row-major float32 matrices, and the transposed forms backward needs.
#ifndef HYENA_MATMUL_H
#define HYENA_MATMUL_H

#include <stdbool.h>
#include <stddef.h>

// The register tile of the micro-kernel on this build (MR x NR, see matmul.c and simd.h).
int matmul_tile_rows(void);
int matmul_tile_cols(void);

typedef enum MatmulTrans {
    MATMUL_NN,  // C[m,n] = sum_k A[m,k] B[k,n]     A: [m, k], B: [k, n]   (forward of x·W)
    MATMUL_NT,  // C[m,n] = sum_k A[m,k] B[n,k]     A: [m, k], B: [n, k]   (x·Wᵀ; gradient of the input)
    MATMUL_TN,  // C[m,n] = sum_k A[k,m] B[k,n]     A: [k, m], B: [k, n]   (gradient of the weight)
} MatmulTrans;

// c: [m, n]. With accumulate, C += A·B (how backward adds into a gradient); otherwise C = A·B.
// Threaded over tiles of C through parallel_for; every element is summed in the same order
// whatever the thread count.
void matmul(float *c, const float *a, const float *b, int m, int k, int n, MatmulTrans trans,
            bool accumulate);

// The weight gradient, C (+)= Aᵀ·B with A: [k, m], B: [k, n] and k the number of tokens: a long
// depth and a small C, whose few row tiles cannot keep every thread busy. The depth is cut into
// fixed slices (by k alone, never by the thread count, so the bits never depend on it); each task
// multiplies one slice into its own partial C, and the partials are then added in slice order.
// partials: matmul_split_k_floats(m, k, n) floats of scratch; when that is 0 the shape is not
// worth splitting and this is exactly matmul(..., MATMUL_TN, accumulate).
size_t matmul_split_k_floats(int m, int k, int n);
void matmul_tn_split_k(float *c, const float *a, const float *b, int m, int k, int n, bool accumulate,
                       float *partials);

// The same blocking and packing as matmul, with the scalar micro-kernel in place of the vector
// one (tensor/simd.h): the tests check that the two agree on every build target.
void matmul_scalar_kernel(float *c, const float *a, const float *b, int m, int k, int n, MatmulTrans trans,
                          bool accumulate);

// The textbook triple loop, for tests and for reading. Sums in double.
void matmul_reference(float *c, const float *a, const float *b, int m, int k, int n,
                      MatmulTrans trans, bool accumulate);

const char *matmul_trans_name(MatmulTrans trans);  // "nn", "nt", "tn"

#endif
