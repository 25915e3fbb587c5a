// matmul.c - a blocked, packed, register-tiled matrix product in portable C.
//
// Why not the triple loop? It reloads A and B from memory for every multiply-add, and memory is
// far slower than arithmetic. The fast version reorganizes the same sum in three steps:
//
//   1. Blocking. C is computed in blocks of KC (depth) x NC (columns) so the slice of B in use
//      stays in the L2 cache while many rows of A pass by.
//   2. Packing. The B block is copied into panels of NR columns stored k-major ([KC][NR]), so
//      the micro-kernel reads it with unit stride whatever the transposition of B. A is packed
//      into micro-panels of MR rows ([KC][MR]) only when it is stored transposed (MATMUL_TN);
//      a row-major A is read where it lies, MR rows side by side, each with unit stride.
//      Packing is the only code that knows about MATMUL_NT and MATMUL_TN.
//   3. The micro-kernel. An MR x NR tile of C is accumulated in registers for the whole depth
//      of the block: per step k it loads NR values of B and MR values of A and does MR*NR
//      multiply-adds. It is written on the vector type of simd.h, with MR and NR chosen per
//      instruction set so that the tile fits the vector registers; gcc and clang then emit one
//      FMA per accumulator (check with `objdump -d build/obj/tensor/matmul.o`, or see
//      tutorials/01-tensors.md).
//
// Threads take tiles of C (MC rows of the current column block; or, when there are few rows,
// groups of column panels), so every element of C is summed by exactly one thread in the same k
// order: the result does not depend on the thread count. Edge tiles are computed in full on zero-padded panels and only the valid part is
// written: stored by the first depth block (no separate pass zeroes C), added by the others.
#include "matmul.h"

#include <stdalign.h>
#include <string.h>

#include "flops.h"
#include "pool.h"
#include "simd.h"

// The register tile: MR rows by NR = NV vectors of columns, chosen so that its MR*NV
// accumulators plus the NV vectors of B and one broadcast of A fit in the vector registers
// (simd.h). Each step of the micro-kernel then does MR*NV FMAs for NV + MR loads.
#if VEC_REGISTERS == 32 && VEC_FLOATS == 16   // AVX-512: 16 accumulators of 16 floats
#define MR 8
#define NV 2
#elif VEC_REGISTERS == 32                     // NEON: 24 accumulators of 4 floats
#define MR 8
#define NV 3
#else                                         // AVX2, SSE2: 12 of the 16 registers
#define MR 6
#define NV 2
#endif
#define NR (NV * VEC_FLOATS)
_Static_assert(MR * NV + NV + 1 <= VEC_REGISTERS, "the accumulators, a row of B and a broadcast of A must fit");

#define KC 256              // depth of a block: a KC x NR panel of B is 32 KiB with AVX-512
#define NC (512 / NR * NR)  // columns of a block, whole panels: the packed B block is <= 512 KiB
#define MC (8 * MR)         // rows in one thread's tile
#define COLUMN_SPLIT_TILES 3  // fewer row tiles per thread than this: threads split the columns

int matmul_tile_rows(void) { return MR; }
int matmul_tile_cols(void) { return NR; }

const char *matmul_trans_name(MatmulTrans trans) {
    return trans == MATMUL_NN ? "nn" : trans == MATMUL_NT ? "nt" : "tn";
}

// Element (i, kk) of op(A) and (kk, j) of op(B), wherever the transposition put it.
static inline float a_at(const float *a, int m, int k, MatmulTrans t, int i, int kk) {
    return t == MATMUL_TN ? a[(long)kk * m + i] : a[(long)i * k + kk];
}
static inline float b_at(const float *b, int k, int n, MatmulTrans t, int kk, int j) {
    return t == MATMUL_NT ? b[(long)j * k + kk] : b[(long)kk * n + j];
}

// Packing is pure data movement, but it runs once per block for every matrix, so each layout
// gets the loop order that reads memory contiguously: a row of a row-major matrix, never a
// column. (A version calling a_at/b_at in the inner loop cost a third of the speed.)

// One panel of B: columns [j, j+cols) of rows [k0, k0+kc) -> [kc][NR], zero padded to NR.
static void pack_b_panel(float *panel, const float *b, int k, int n, MatmulTrans t, int k0, int kc, int j, int cols) {
    if (t == MATMUL_NT) {          // B stored [n, k]: column j of op(B) is row j of B
        for (int jj = 0; jj < cols; jj++) {
            const float *src = b + (long)(j + jj) * k + k0;
            for (int kk = 0; kk < kc; kk++) panel[kk * NR + jj] = src[kk];
        }
    } else {                       // B stored [k, n]: each row of the panel is contiguous
        for (int kk = 0; kk < kc; kk++) {
            const float *src = b + (long)(k0 + kk) * n + j;
            for (int jj = 0; jj < cols; jj++) panel[kk * NR + jj] = src[jj];
        }
    }
    for (int kk = 0; kk < kc; kk++)
        for (int jj = cols; jj < NR; jj++) panel[kk * NR + jj] = 0.0f;
}

// A tile of A: rows [i0, i0+mc) of columns [k0, k0+kc) -> micro-panels of MR rows, each
// [kc][MR], zero padded to a multiple of MR.
static void pack_a_tile(float *dst, const float *a, int m, int k, MatmulTrans t, int i0, int mc, int k0, int kc) {
    if (t == MATMUL_TN) {          // A stored [k, m]: the tile's mc values at depth kk are contiguous
        for (int r0 = 0; r0 < mc; r0 += MR) {
            float *panel = dst + (long)r0 * kc;
            int rows = mc - r0 < MR ? mc - r0 : MR;
            for (int kk = 0; kk < kc; kk++) {
                const float *src = a + (long)(k0 + kk) * m + i0 + r0;
                for (int i = 0; i < rows; i++) panel[kk * MR + i] = src[i];
            }
        }
    } else {                       // A stored [m, k]: row i of A becomes one column of a panel
        for (int r = 0; r < mc; r++) {
            const float *src = a + (long)(i0 + r) * k + k0;
            float *panel = dst + (long)(r / MR) * MR * kc + r % MR;
            for (int kk = 0; kk < kc; kk++) panel[kk * MR] = src[kk];
        }
    }
    int padded = (mc + MR - 1) / MR * MR;
    for (int r = mc; r < padded; r++)
        for (int kk = 0; kk < kc; kk++) dst[(long)(r / MR) * MR * kc + kk * MR + r % MR] = 0.0f;
}

// The micro-kernel: acc[MR][NR] = sum over kc of a-column times b-row, added into C.
// Element (i, kk) of its MR rows of A is a[i * row_step + kk * depth_step]: (1, MR) in a packed
// micro-panel, (lda, 1) for rows of a row-major A read in place. rows/cols < MR/NR only at the
// edges of C. Written with vectors (simd.h), the accumulator is
// MR*NV register-sized values: both compilers unroll the constant loops over i and v and keep
// every acc[i][v] in a register for the whole k loop. micro_kernel_naive below is the same sum
// with scalars, the version to read first; the tests compare the two.
static void micro_kernel(int kc, const float *restrict a, long row_step, long depth_step, const float *restrict b,
                         float *restrict c, int ldc, int rows, int cols, bool overwrite) {
    vecf acc[MR][NV];
    for (int i = 0; i < MR; i++)
        for (int v = 0; v < NV; v++) acc[i][v] = vec_splat(0.0f);
    for (int kk = 0; kk < kc; kk++) {
        vecf brow[NV];
        for (int v = 0; v < NV; v++) brow[v] = vec_load(b + kk * NR + v * VEC_FLOATS);
        for (int i = 0; i < MR; i++) {
            float ai = a[i * row_step + kk * depth_step];   // broadcast to every lane by the multiply
            for (int v = 0; v < NV; v++) acc[i][v] += ai * brow[v];
        }
    }
    if (rows == MR && cols == NR) {
        for (int i = 0; i < MR; i++)
            for (int v = 0; v < NV; v++) {
                float *ci = c + (long)i * ldc + v * VEC_FLOATS;
                vec_store(ci, (overwrite ? vec_splat(0.0f) : vec_load(ci)) + acc[i][v]);
            }
    } else {
        float tile[MR][NR];
        memcpy(tile, acc, sizeof tile);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) c[(long)i * ldc + j] = (overwrite ? 0.0f : c[(long)i * ldc + j]) + tile[i][j];
    }
}

// The same computation with one float at a time: what the vector version means, and what
// matmul_scalar_kernel runs in its place so that the tests can compare the two.
static void micro_kernel_naive(int kc, const float *restrict a, long row_step, long depth_step,
                               const float *restrict b, float *restrict c, int ldc, int rows, int cols,
                               bool overwrite) {
    float acc[MR][NR] = {{0}};
    for (int kk = 0; kk < kc; kk++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i * row_step + kk * depth_step] * b[kk * NR + j];
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) c[(long)i * ldc + j] = (overwrite ? 0.0f : c[(long)i * ldc + j]) + acc[i][j];
}

typedef void MicroKernel(int kc, const float *restrict a, long row_step, long depth_step, const float *restrict b,
                         float *restrict c, int ldc, int rows, int cols, bool overwrite);

typedef struct MatmulJob {
    MicroKernel *kernel;
    float *c;
    const float *a, *b;
    float *bpack;
    int m, k, n;
    MatmulTrans trans;
    int k0, kc, j0, nc;
    bool overwrite;  // the first depth block of C = A·B stores its sums; later blocks add to them
} MatmulJob;

// The packed B block (512 KiB) is thread-local: allocated once with the thread, never per call.
// The row split packs into the caller's and shares it; a matmul called from inside another
// thread's parallel_for chunk, and each task of the column split, uses its own thread's.
alignas(64) static _Thread_local float packed_b[KC * NC];

// Task p packs panel p of the current B block (panels are independent, so any thread may).
static void matmul_pack_b(void *ctx, long begin, long end) {
    const MatmulJob *job = ctx;
    for (long p = begin; p < end; p++) {
        int j = (int)p * NR, cols = job->nc - j < NR ? job->nc - j : NR;
        pack_b_panel(job->bpack + (long)j * job->kc, job->b, job->k, job->n, job->trans, job->k0, job->kc,
                     job->j0 + j, cols);
    }
}

// Task t computes rows [t*MC, t*MC + MC) of C across the whole current block of columns.
//
// A row-major A (MATMUL_NN, MATMUL_NT) is read in place in whole groups of MR rows: the kernel's
// MR loads per step are then MR streams advancing with unit stride, which the caches serve as
// well as a packed panel. Copying them first took 5% of a B=12 training step's samples (perf,
// one thread, Zen 1), mostly the copy's loads missing the cache; without the copy the kernel
// takes those misses itself, and the step is 1-2% faster. Only a last group of fewer than MR
// rows is packed, zero padded, so that the kernel never reads past A. A stored transposed
// (MATMUL_TN) is packed whole: its MR values at one depth are contiguous, but the next depth is
// m floats further, so an unpacked micro-panel would spread over kc cache lines (measured: no
// faster than packing).
static void matmul_row_tile(void *ctx, long begin, long end) {
    const MatmulJob *job = ctx;
    alignas(64) float apack[MC * KC];
    for (long task = begin; task < end; task++) {
        int i0 = (int)task * MC;
        int mc = job->m - i0 < MC ? job->m - i0 : MC;
        int in_place = job->trans == MATMUL_TN ? 0 : mc / MR * MR;   // rows read where they lie
        if (in_place < mc)
            pack_a_tile(apack, job->a, job->m, job->k, job->trans, i0 + in_place, mc - in_place, job->k0, job->kc);
        // The A tile (MC x KC, 64 KiB) stays in L2 while B's panels stream past it.
        for (int p = 0; p < job->nc; p += NR) {
            int cols = job->nc - p < NR ? job->nc - p : NR;
            for (int r = 0; r < mc; r += MR) {
                int rows = mc - r < MR ? mc - r : MR;
                float *ctile = job->c + (long)(i0 + r) * job->n + job->j0 + p;
                const float *bpanel = job->bpack + (long)p * job->kc;
                if (r < in_place)
                    job->kernel(job->kc, job->a + (long)(i0 + r) * job->k + job->k0, job->k, 1, bpanel, ctile,
                                job->n, rows, cols, job->overwrite);
                else
                    job->kernel(job->kc, apack + (long)(r - in_place) * job->kc, 1, MR, bpanel, ctile, job->n, rows,
                                cols, job->overwrite);
            }
        }
    }
}

typedef struct ZeroJob {
    float *c;
    long n;
} ZeroJob;

static void zero_rows(void *ctx, long begin, long end) {
    const ZeroJob *z = ctx;
    memset(z->c + begin * z->n, 0, (size_t)(end - begin) * (size_t)z->n * sizeof(float));
}

#define MATVEC_LANES 16

// One row times a matrix (generation produces one token at a time). Packing B would copy the
// whole matrix to use each element once, and handing so little work to threads costs more than
// it saves: a plain loop, each output summed over k in order, is the fast way here.
static void matvec(float *c, const float *a, const float *b, int k, int n, MatmulTrans trans, bool accumulate) {
    if (trans == MATMUL_NT) {  // c[j] = a · B[j, :], contiguous dot products
        for (int j = 0; j < n; j++) {
            const float *row = b + (long)j * k;
            // MATVEC_LANES independent partial sums: one running sum is a chain of dependent
            // adds (4 cycles each) that the compiler may not reorder; separate lanes are
            // elementwise work it turns into vector FMAs (measured: 0.34 -> 0.09 ms per
            // generated token of a 4 x 128 model). Lanes are then added in order: fixed bits.
            float lane[MATVEC_LANES] = {0};
            int kk = 0;
            for (; kk + MATVEC_LANES <= k; kk += MATVEC_LANES)
                for (int l = 0; l < MATVEC_LANES; l++) lane[l] += a[kk + l] * row[kk + l];
            float sum = 0.0f;
            for (int l = 0; l < MATVEC_LANES; l++) sum += lane[l];
            for (; kk < k; kk++) sum += a[kk] * row[kk];
            c[j] = accumulate ? c[j] + sum : sum;
        }
    } else {                   // c += a[k] * B[k, :], row by row
        if (!accumulate) memset(c, 0, (size_t)n * sizeof(float));
        for (int kk = 0; kk < k; kk++) {
            const float *row = b + (long)kk * n;
            for (int j = 0; j < n; j++) c[j] += a[kk] * row[j];
        }
    }
}

// Few rows, more columns (a weight gradient gᵀ·x has as many rows as the layer has outputs):
// task g computes a group of whole column panels, all rows and the whole depth, packing its own
// B panels into its thread's buffer. Every C tile gets the same kernel calls, in the same depth
// order, as in the row split, so the bits are the same.
static void matmul_column_group(void *ctx, long begin, long end) {
    const MatmulJob *job = ctx;
    for (long g = begin; g < end; g++) {
        int j0 = (int)g * job->nc, nc = job->n - j0 < job->nc ? job->n - j0 : job->nc;
        for (int k0 = 0; k0 < job->k; k0 += KC) {
            MatmulJob block = *job;
            block.bpack = packed_b;
            block.k0 = k0;
            block.kc = job->k - k0 < KC ? job->k - k0 : KC;
            block.j0 = j0;
            block.nc = nc;
            block.overwrite = job->overwrite && k0 == 0;
            matmul_pack_b(&block, 0, (nc + NR - 1) / NR);
            matmul_row_tile(&block, 0, (job->m + MC - 1) / MC);
        }
    }
}

static void matmul_blocked(MicroKernel *kernel, float *c, const float *a, const float *b, int m, int k, int n,
                           MatmulTrans trans, bool accumulate) {
    if (!accumulate && k == 0) {  // an empty sum: no depth block will store anything
        ZeroJob z = {c, n};
        parallel_for(m, 64, zero_rows, &z);
    }
    int threads = pool_threads(), row_tiles = (m + MC - 1) / MC, panels = (n + NR - 1) / NR;
    if (threads > 1 && row_tiles < COLUMN_SPLIT_TILES * threads && panels >= threads) {
        // Split the columns: one group of panels per thread (at most a block's worth), so A,
        // small here, is packed once per thread and B once in all. The row split would give each
        // thread one or two row tiles per depth block, and two pool jobs per block: measured on
        // 2 threads, gᵀ·x of 65 x 768 x 128 took longer than on one (0.76x), 128 x 768 x 128
        // gained 1.13x.
        int per_group = (panels + threads - 1) / threads;
        if (per_group > NC / NR) per_group = NC / NR;
        MatmulJob job = {kernel, c, a, b, NULL, m, k, n, trans, 0, 0, 0, per_group * NR, !accumulate};
        parallel_for((panels + per_group - 1) / per_group, 1, matmul_column_group, &job);
        return;
    }
    for (int k0 = 0; k0 < k; k0 += KC) {
        int kc = k - k0 < KC ? k - k0 : KC;
        for (int j0 = 0; j0 < n; j0 += NC) {
            int nc = n - j0 < NC ? n - j0 : NC;
            MatmulJob job = {kernel, c, a, b, packed_b, m, k, n, trans, k0, kc, j0, nc, !accumulate && k0 == 0};
            parallel_for((nc + NR - 1) / NR, 1, matmul_pack_b, &job);
            parallel_for(row_tiles, 1, matmul_row_tile, &job);
        }
    }
}

void matmul(float *c, const float *a, const float *b, int m, int k, int n, MatmulTrans trans,
            bool accumulate) {
    if (m <= 0 || n <= 0) return;
    flops_add(2.0 * m * k * n);
    if (m == 1 && trans != MATMUL_TN) {
        matvec(c, a, b, k, n, trans, accumulate);
        return;
    }
    matmul_blocked(micro_kernel, c, a, b, m, k, n, trans, accumulate);
}

// ---- split-K for the weight gradient (matmul.h)

#define SPLIT_K 1024                  // depth of one slice: four depth blocks
#define SPLIT_K_MAX_FLOATS (1 << 22)  // at most 16 MiB of partials, else no split

static int split_k_slices(int k) { return (k + SPLIT_K - 1) / SPLIT_K; }

size_t matmul_split_k_floats(int m, int k, int n) {
    size_t floats = (size_t)split_k_slices(k) * (size_t)m * (size_t)n;
    return k >= 2 * SPLIT_K && floats <= SPLIT_K_MAX_FLOATS ? floats : 0;
}

typedef struct SplitKJob {
    float *c, *partials;
    const float *a, *b;
    int m, k, n;
    bool accumulate;
} SplitKJob;

// Task s: partial s = A[slice s]ᵀ · B[slice s]. Inside a task the blocked product runs serially
// (a nested parallel_for does), so every slice is summed the same way on any thread.
static void split_k_slice(void *ctx, long begin, long end) {
    const SplitKJob *j = ctx;
    for (long s = begin; s < end; s++) {
        int k0 = (int)s * SPLIT_K, kc = j->k - k0 < SPLIT_K ? j->k - k0 : SPLIT_K;
        matmul_blocked(micro_kernel, j->partials + s * (long)j->m * j->n, j->a + (long)k0 * j->m,
                       j->b + (long)k0 * j->n, j->m, kc, j->n, MATMUL_TN, false);
    }
}

// Rows [begin, end) of C: (C or 0) + partial 0 + partial 1 + ..., in slice order.
static void split_k_sum(void *ctx, long begin, long end) {
    const SplitKJob *j = ctx;
    int slices = split_k_slices(j->k);
    long mn = (long)j->m * j->n;
    for (long i = begin * j->n; i < end * j->n; i++) {
        float sum = j->accumulate ? j->c[i] : 0.0f;
        for (int s = 0; s < slices; s++) sum += j->partials[s * mn + i];
        j->c[i] = sum;
    }
}

void matmul_tn_split_k(float *c, const float *a, const float *b, int m, int k, int n, bool accumulate,
                       float *partials) {
    if (m <= 0 || n <= 0) return;
    if (matmul_split_k_floats(m, k, n) == 0) {
        matmul(c, a, b, m, k, n, MATMUL_TN, accumulate);
        return;
    }
    flops_add(2.0 * m * k * n);
    SplitKJob j = {c, partials, a, b, m, k, n, accumulate};
    parallel_for(split_k_slices(k), 1, split_k_slice, &j);
    parallel_for(m, 16, split_k_sum, &j);
}

void matmul_scalar_kernel(float *c, const float *a, const float *b, int m, int k, int n, MatmulTrans trans,
                          bool accumulate) {
    if (m <= 0 || n <= 0) return;
    matmul_blocked(micro_kernel_naive, c, a, b, m, k, n, trans, accumulate);
}

void matmul_reference(float *c, const float *a, const float *b, int m, int k, int n,
                      MatmulTrans trans, bool accumulate) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double sum = accumulate ? c[(long)i * n + j] : 0.0;
            for (int kk = 0; kk < k; kk++)
                sum += (double)a_at(a, m, k, trans, i, kk) * (double)b_at(b, k, n, trans, kk, j);
            c[(long)i * n + j] = (float)sum;
        }
}
