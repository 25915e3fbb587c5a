// fft.c - a real FFT built on one complex kernel: a radix-4 Stockham transform over columns.
//
// 1. The DFT X[k] = sum_t x[t] W^(kt), W = exp(-2 pi i / n), costs n^2. Splitting the sum over t
//    into four interleaved quarters turns one size-L transform into four size-L/4 ones plus
//    "butterflies" that combine them with twiddle factors W^j: repeated, n log n.
// 2. Stockham's ordering writes each stage into a second buffer in an order that leaves the
//    final result in natural order, so there is no bit-reversal pass.
// 3. Columns. We transform g signals at once, stored side by side: element t of signal c at
//    [t*g + c]. Every butterfly then applies to g neighbouring floats with the same twiddle, and
//    the innermost loop runs over (stride * g) contiguous floats: the compiler vectorizes it
//    without a single shuffle. Activations [L, D] are already in this layout, one column per
//    channel, which is why the long convolution never transposes anything.
// 4. Real input. A real signal of length n is packed as a complex one of length n/2
//    (z[t] = x[2t] + i x[2t+1]), transformed, and untangled with the twiddles W_n^k: half the
//    work of a complex transform of length n.
// 5. One long signal would give one column. The four-step method views it as an N1 x N2 matrix:
//    transform the columns, multiply by twiddles, transpose, transform the columns again. Both
//    passes are column transforms, and both are split over threads.
#include "fft.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flops.h"
#include "pool.h"
#include "simd.h"

#define PI 3.14159265358979323846  // M_PI is POSIX, not C11

// ---------------------------------------------------------------- plans

static FftPlan *plans[FFT_MAX_LOG2 + 1];
static pthread_mutex_t plans_mutex = PTHREAD_MUTEX_INITIALIZER;

bool fft_is_power_of_two(long n) { return n > 0 && (n & (n - 1)) == 0; }

int fft_conv_size(int L) {
    int n = 1;
    while (n < 2 * L) n *= 2;
    return n;
}

// Count `signals` real transforms of size n for the profile (flops.h: 2.5 n log2 n each).
static void count_flops(const FftPlan *p, long signals) {
    int log2n = 0;
    while ((1L << log2n) < p->n) log2n++;
    flops_add(2.5 * p->n * log2n * (double)signals);
}

static float *alloc_floats(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
        fprintf(stderr, "hyena: out of memory (%zu floats for an FFT)\n", n);
        exit(1);
    }
    return p;
}

static FftPlan *plan_build(int n) {
    FftPlan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        fprintf(stderr, "hyena: out of memory building an FFT plan\n");
        exit(1);
    }
    p->n = n;
    p->half = n >= 2 ? n / 2 : 1;
    p->wr = alloc_floats((size_t)p->half);
    p->wi = alloc_floats((size_t)p->half);
    p->rr = alloc_floats((size_t)p->half + 1);
    p->ri = alloc_floats((size_t)p->half + 1);
    // Each twiddle straight from sin/cos in double: a recurrence would accumulate error.
    for (int j = 0; j < p->half; j++) {
        double a = -2.0 * PI * j / p->half;
        p->wr[j] = (float)cos(a);
        p->wi[j] = (float)sin(a);
    }
    for (int k = 0; k <= p->half; k++) {
        double a = -2.0 * PI * k / n;
        p->rr[k] = (float)cos(a);
        p->ri[k] = (float)sin(a);
    }
    // The four-step method's twiddles are wr, wi at t2*k1, copied into the order in which its
    // first pass reads them: a row of them multiplies a row of columns, one vector at a time.
    p->n1 = 1;
    while ((long)p->n1 * p->n1 < p->half) p->n1 *= 2;  // sqrt(half), or sqrt(2 half) when log2(half) is odd
    p->n2 = p->half / p->n1;
    p->sr = alloc_floats((size_t)p->half);
    p->si = alloc_floats((size_t)p->half);
    for (int k1 = 0; k1 < p->n1; k1++)
        for (int t2 = 0; t2 < p->n2; t2++) {
            p->sr[k1 * p->n2 + t2] = p->wr[t2 * k1];
            p->si[k1 * p->n2 + t2] = p->wi[t2 * k1];
        }
    return p;
}

const FftPlan *fft_plan(int n) {
    if (!fft_is_power_of_two(n) || n > (1 << FFT_MAX_LOG2)) {
        fprintf(stderr, "hyena: FFT size %d is not a power of two in [1, 2^%d]\n", n, FFT_MAX_LOG2);
        exit(1);
    }
    int log2n = 0;
    while ((1 << log2n) < n) log2n++;
    pthread_mutex_lock(&plans_mutex);
    if (plans[log2n] == NULL) plans[log2n] = plan_build(n);
    FftPlan *p = plans[log2n];
    pthread_mutex_unlock(&plans_mutex);
    return p;
}

// ---------------------------------------------------------------- the complex kernel

// One radix-4 stage. Sub-transforms of length L (stride s rows) become length L/4 (stride 4s):
//   out[s(4j + r)] = W_L^(rj) * sum_k in[s(j + kL/4)] * W_4^(rk),   r = 0..3, j < L/4
// dir = +1 forward (W = exp(-2 pi i/L)), -1 inverse (the conjugate).
//
// The butterfly is written twice: on vectors of VEC_FLOATS neighbouring columns (simd.h), and on
// single floats for the last span % VEC_FLOATS of them. The scalar loop is the formula to read;
// the vector loop is the same lines with vecf in place of float. (Left to the auto-vectorizer,
// the eight loads and eight stores at offsets it cannot compare kept the loop scalar: gcc wanted
// `#pragma GCC ivdep`, which clang ignores, and clang's FFT was 4x slower.)
static void radix4_stage(const FftPlan *p, int L, long s, int g, int dir, const float *restrict xr,
                         const float *restrict xi, float *restrict yr, float *restrict yi) {
    int q = L / 4;
    long span = s * g;                    // contiguous floats per butterfly group
    long tw = (long)p->half / L;          // W_L^j = W_half^(j * half/L)
    float fdir = (float)dir;
    for (int j = 0; j < q; j++) {
        float w1r = p->wr[j * tw], w1i = fdir * p->wi[j * tw];
        float w2r = p->wr[2 * j * tw], w2i = fdir * p->wi[2 * j * tw];
        float w3r = p->wr[3 * j * tw], w3i = fdir * p->wi[3 * j * tw];
        const float *a0r = xr + (long)j * span, *a1r = a0r + q * span, *a2r = a1r + q * span, *a3r = a2r + q * span;
        const float *a0i = xi + (long)j * span, *a1i = a0i + q * span, *a2i = a1i + q * span, *a3i = a2i + q * span;
        float *b0r = yr + 4L * j * span, *b1r = b0r + span, *b2r = b1r + span, *b3r = b2r + span;
        float *b0i = yi + 4L * j * span, *b1i = b0i + span, *b2i = b1i + span, *b3i = b2i + span;
        long e = 0;
        for (; e + VEC_FLOATS <= span; e += VEC_FLOATS) {
            vecf x0r = vec_load(a0r + e), x1r = vec_load(a1r + e), x2r = vec_load(a2r + e), x3r = vec_load(a3r + e);
            vecf x0i = vec_load(a0i + e), x1i = vec_load(a1i + e), x2i = vec_load(a2i + e), x3i = vec_load(a3i + e);
            vecf t0r = x0r + x2r, t0i = x0i + x2i;
            vecf t1r = x0r - x2r, t1i = x0i - x2i;
            vecf t2r = x1r + x3r, t2i = x1i + x3i;
            vecf t3r = fdir * (x1i - x3i), t3i = -fdir * (x1r - x3r);  // -i*dir*(a1 - a3)
            vecf u1r = t1r + t3r, u1i = t1i + t3i;
            vecf u2r = t0r - t2r, u2i = t0i - t2i;
            vecf u3r = t1r - t3r, u3i = t1i - t3i;
            vec_store(b0r + e, t0r + t2r);
            vec_store(b0i + e, t0i + t2i);
            vec_store(b1r + e, u1r * w1r - u1i * w1i);
            vec_store(b1i + e, u1r * w1i + u1i * w1r);
            vec_store(b2r + e, u2r * w2r - u2i * w2i);
            vec_store(b2i + e, u2r * w2i + u2i * w2r);
            vec_store(b3r + e, u3r * w3r - u3i * w3i);
            vec_store(b3i + e, u3r * w3i + u3i * w3r);
        }
        for (; e < span; e++) {
            float t0r = a0r[e] + a2r[e], t0i = a0i[e] + a2i[e];
            float t1r = a0r[e] - a2r[e], t1i = a0i[e] - a2i[e];
            float t2r = a1r[e] + a3r[e], t2i = a1i[e] + a3i[e];
            float t3r = fdir * (a1i[e] - a3i[e]), t3i = -fdir * (a1r[e] - a3r[e]);  // -i*dir*(a1 - a3)
            float u1r = t1r + t3r, u1i = t1i + t3i;
            float u2r = t0r - t2r, u2i = t0i - t2i;
            float u3r = t1r - t3r, u3i = t1i - t3i;
            b0r[e] = t0r + t2r;
            b0i[e] = t0i + t2i;
            b1r[e] = u1r * w1r - u1i * w1i;
            b1i[e] = u1r * w1i + u1i * w1r;
            b2r[e] = u2r * w2r - u2i * w2i;
            b2i[e] = u2r * w2i + u2i * w2r;
            b3r[e] = u3r * w3r - u3i * w3i;
            b3i[e] = u3r * w3i + u3i * w3r;
        }
    }
}

// The last stage when log2(m) is odd: L = 2, no twiddles left.
static void radix2_last_stage(long s, int g, const float *restrict xr, const float *restrict xi, float *restrict yr,
                              float *restrict yi) {
    long span = s * g, e = 0;
    for (; e + VEC_FLOATS <= span; e += VEC_FLOATS) {
        vecf x0r = vec_load(xr + e), x1r = vec_load(xr + span + e);
        vecf x0i = vec_load(xi + e), x1i = vec_load(xi + span + e);
        vec_store(yr + e, x0r + x1r);
        vec_store(yi + e, x0i + x1i);
        vec_store(yr + span + e, x0r - x1r);
        vec_store(yi + span + e, x0i - x1i);
    }
    for (; e < span; e++) {
        yr[e] = xr[e] + xr[span + e];
        yi[e] = xi[e] + xi[span + e];
        yr[span + e] = xr[e] - xr[span + e];
        yi[span + e] = xi[e] - xi[span + e];
    }
}

// Complex DFT of size m (a power of two dividing plan->half) of g columns: z = (zr, zi): [m][g].
// (yr, yi) is a second buffer of the same size. Unnormalized in both directions. Returns 0 when
// the result ended in z, 1 when in y.
static int complex_columns(const FftPlan *p, int m, int g, int dir, float *zr, float *zi, float *yr, float *yi) {
    float *xr = zr, *xi = zi, *outr = yr, *outi = yi;
    int in_y = 0;
    long s = 1;
    int L = m;
    for (; L >= 4; L /= 4, s *= 4) {
        radix4_stage(p, L, s, g, dir, xr, xi, outr, outi);
        float *t = xr; xr = outr; outr = t;
        t = xi; xi = outi; outi = t;
        in_y = !in_y;
    }
    if (L == 2) {
        radix2_last_stage(s, g, xr, xi, outr, outi);
        in_y = !in_y;
    }
    return in_y;
}

// ---------------------------------------------------------------- real transforms of columns

size_t fft_columns_scratch(const FftPlan *plan, int g) { return 4 * (size_t)plan->half * (size_t)g; }

// Z: [half][g] complex, the transform of z[t] = x[2t] + i x[2t+1]. Untangle into X: [half+1][g]:
//   E[k] = (Z[k] + conj Z[half-k]) / 2    (the spectrum of the even samples)
//   O[k] = (Z[k] - conj Z[half-k]) / 2i   (the spectrum of the odd samples)
//   X[k] = E[k] + W_n^k O[k]
static void untangle_bins(const FftPlan *p, int g, const float *restrict zr, const float *restrict zi,
                          float *restrict re, float *restrict im, int k_begin, int k_end) {
    int h = p->half;
    for (int k = k_begin; k < k_end; k++) {
        // Z[k] and Z[half-k], indices taken mod half: both are Z[0] at k = 0 and at k = half.
        // (Selects, not `%`: an integer division per bin took 40% of a single signal's round trip.)
        int ka = k == h ? 0 : k, kc = k == 0 ? 0 : h - k;
        const float *ar = zr + (long)ka * g, *ai = zi + (long)ka * g;
        const float *cr = zr + (long)kc * g, *ci = zi + (long)kc * g;
        float wr = p->rr[k], wi = p->ri[k];
        float *xr = re + (long)k * g, *xi = im + (long)k * g;
        for (int c = 0; c < g; c++) {
            float er = 0.5f * (ar[c] + cr[c]), ei = 0.5f * (ai[c] - ci[c]);
            float or_ = 0.5f * (ai[c] + ci[c]), oi = 0.5f * (cr[c] - ar[c]);
            xr[c] = er + wr * or_ - wi * oi;
            xi[c] = ei + wr * oi + wi * or_;
        }
    }
}

static void untangle_forward(const FftPlan *p, int g, const float *restrict zr, const float *restrict zi,
                             float *restrict re, float *restrict im, int k_begin, int k_end) {
    if (g > 1) {
        untangle_bins(p, g, zr, zi, re, im, k_begin, k_end);
        return;
    }
    // One signal: bins 1 .. half-1 read Z[k] forwards and Z[half-k] backwards, a loop over k that
    // the compiler turns into vector code. Bins 0 and half (the wrap-around) go the general way.
    int h = p->half, lo = k_begin > 1 ? k_begin : 1, hi = k_end < h ? k_end : h;
    for (int k = lo; k < hi; k++) {
        float ar = zr[k], ai = zi[k], cr = zr[h - k], ci = zi[h - k], wr = p->rr[k], wi = p->ri[k];
        float er = 0.5f * (ar + cr), ei = 0.5f * (ai - ci), or_ = 0.5f * (ai + ci), oi = 0.5f * (cr - ar);
        re[k] = er + wr * or_ - wi * oi;
        im[k] = ei + wr * oi + wi * or_;
    }
    untangle_bins(p, 1, zr, zi, re, im, k_begin, lo < k_end ? lo : k_end);
    untangle_bins(p, 1, zr, zi, re, im, hi > k_begin ? hi : k_begin, k_end);
}

// The inverse of untangle_forward, with the whole 1/n of the inverse transform folded in:
//   Z[k] = (E[k] + i O[k]) / half,  E = (X[k] + conj X[half-k]) / 2,  O = conj(W_n^k) (X[k] - conj X[half-k]) / 2
static void tangle_inverse(const FftPlan *p, int g, const float *restrict re, const float *restrict im,
                           float *restrict zr, float *restrict zi, int k_begin, int k_end) {
    int h = p->half;
    float f = 1.0f / (float)p->n;
    for (int k = k_begin; k < k_end; k++) {
        const float *ar = re + (long)k * g, *ai = im + (long)k * g;
        const float *cr = re + (long)(h - k) * g, *ci = im + (long)(h - k) * g;
        float wr = p->rr[k], wi = p->ri[k];
        float *outr = zr + (long)k * g, *outi = zi + (long)k * g;
        for (int c = 0; c < g; c++) {
            float pr = ar[c] + cr[c], pi = ai[c] - ci[c];      // X[k] + conj X[h-k]
            float mr = ar[c] - cr[c], mi = ai[c] + ci[c];      // X[k] - conj X[h-k]
            float or_ = mr * wr + mi * wi, oi = mi * wr - mr * wi;  // conj(W) * M
            outr[c] = f * (pr - oi);
            outi[c] = f * (pi + or_);
        }
    }
}

// Moving signals between rows ([c][t], one signal after another) and columns ([t][c], side by
// side) is a transpose. Done one whole signal at a time it sweeps the entire column buffer once
// per signal, which does not fit in L1; in tiles of TILE samples both sides stay in L1.
//
// Inside a tile, blocks of 4 signals x 4 (or 8) samples are moved as 4x4 transposes of vectors
// (vec4_transpose in simd.h): 4 loads, 8 shuffles and 4 stores where the scalar loop does 16
// loads and 16 stores. The transposes were 60% of a batched FFT's time before. The scalar loops
// finish what is left over (fewer than 4 signals, or the last samples) and are the definition.
#define TILE 64

// z[t/2] gets sample t (even t to the real part, odd to the imaginary part) of row signals
// [c_begin, c_end), samples [t_begin, t_end).
static void pack_rows_scalar(const float *x, long c_stride, int g, float *zr, float *zi, int c_begin, int c_end,
                             int t_begin, int t_end) {
    for (int c = c_begin; c < c_end; c++) {
        const float *src = x + c * c_stride;
        for (int t = t_begin; t < t_end; t++) (t & 1 ? zi : zr)[(long)(t / 2) * g + c] = src[t];
    }
}

static void pack_rows(const float *x, int len, long c_stride, int g, float *zr, float *zi) {
    int g4 = g / 4 * 4;
    for (int t0 = 0; t0 < len; t0 += TILE) {
        int t1 = len - t0 < TILE ? len : t0 + TILE, t8 = t0 + (t1 - t0) / 8 * 8;
        for (int c = 0; c < g4; c += 4)
            for (int t = t0; t < t8; t += 8) {
                vec4 even[4], odd[4];  // samples t, t+2, t+4, t+6 (and t+1, ...) of signals c .. c+3
                for (int i = 0; i < 4; i++) {
                    const float *src = x + (c + i) * c_stride + t;
                    vec4 lo = vec4_load(src), hi = vec4_load(src + 4);
                    even[i] = vec4_evens(lo, hi);
                    odd[i] = vec4_odds(lo, hi);
                }
                vec4_transpose(even);
                vec4_transpose(odd);
                for (int k = 0; k < 4; k++) {
                    vec4_store(zr + (long)(t / 2 + k) * g + c, even[k]);
                    vec4_store(zi + (long)(t / 2 + k) * g + c, odd[k]);
                }
            }
        pack_rows_scalar(x, c_stride, g, zr, zi, 0, g4, t8, t1);
        pack_rows_scalar(x, c_stride, g, zr, zi, g4, g, t0, t1);
    }
}

// The inverse of pack_rows: row signal c gets samples [0, len) of column c of z.
static void unpack_rows_scalar(const float *zr, const float *zi, int g, float *y, long c_stride, bool accumulate,
                               int c_begin, int c_end, int t_begin, int t_end) {
    for (int c = c_begin; c < c_end; c++) {
        float *dst = y + c * c_stride;
        for (int t = t_begin; t < t_end; t++) {
            float v = (t & 1 ? zi : zr)[(long)(t / 2) * g + c];
            dst[t] = accumulate ? dst[t] + v : v;
        }
    }
}

static void unpack_rows(const float *zr, const float *zi, int g, float *y, int len, long c_stride, bool accumulate) {
    int g4 = g / 4 * 4;
    for (int t0 = 0; t0 < len; t0 += TILE) {
        int t1 = len - t0 < TILE ? len : t0 + TILE, t8 = t0 + (t1 - t0) / 8 * 8;
        for (int c = 0; c < g4; c += 4)
            for (int t = t0; t < t8; t += 8) {
                vec4 even[4], odd[4];
                for (int k = 0; k < 4; k++) {
                    even[k] = vec4_load(zr + (long)(t / 2 + k) * g + c);
                    odd[k] = vec4_load(zi + (long)(t / 2 + k) * g + c);
                }
                vec4_transpose(even);  // even[i]: samples t, t+2, t+4, t+6 of signal c + i
                vec4_transpose(odd);
                for (int i = 0; i < 4; i++) {
                    float *dst = y + (c + i) * c_stride + t;
                    vec4 lo = vec4_interleave_low(even[i], odd[i]), hi = vec4_interleave_high(even[i], odd[i]);
                    if (accumulate) {
                        lo += vec4_load(dst);
                        hi += vec4_load(dst + 4);
                    }
                    vec4_store(dst, lo);
                    vec4_store(dst + 4, hi);
                }
            }
        unpack_rows_scalar(zr, zi, g, y, c_stride, accumulate, 0, g4, t8, t1);
        unpack_rows_scalar(zr, zi, g, y, c_stride, accumulate, g4, g, t0, t1);
    }
}

// One 4x4 block: dst[j + q][i + p] = src[i + p][j + q], through four vector registers.
static inline void transpose_block4(const float *src, long src_stride, float *dst, long dst_stride, int i, int j) {
    vec4 r[4];
    for (int q = 0; q < 4; q++) r[q] = vec4_load(src + (i + q) * src_stride + j);
    vec4_transpose(r);
    for (int q = 0; q < 4; q++) vec4_store(dst + (j + q) * dst_stride + i, r[q]);
}

// dst[j][i] = src[i][j] for i < rows, j < cols, in tiles of TILE x TILE, and 4x4 vector blocks
// inside a tile. Between rows of signals and columns of signals both ways: rows[c][k] <-> cols[k][c].
// One side is short (at most FFT_COLUMNS signals): its blocks are the outer loop, so that the
// four long rows being read or written advance in order (the other order was 10% slower at n = 4096).
static void transpose(const float *src, long src_stride, int rows, int cols, float *dst, long dst_stride) {
    for (int i0 = 0; i0 < rows; i0 += TILE)
        for (int j0 = 0; j0 < cols; j0 += TILE) {
            int i1 = rows - i0 < TILE ? rows : i0 + TILE, i4 = i0 + (i1 - i0) / 4 * 4;
            int j1 = cols - j0 < TILE ? cols : j0 + TILE, j4 = j0 + (j1 - j0) / 4 * 4;
            if (rows <= cols) {
                for (int i = i0; i < i4; i += 4)
                    for (int j = j0; j < j4; j += 4) transpose_block4(src, src_stride, dst, dst_stride, i, j);
            } else {
                for (int j = j0; j < j4; j += 4)
                    for (int i = i0; i < i4; i += 4) transpose_block4(src, src_stride, dst, dst_stride, i, j);
            }
            for (int i = i0; i < i1; i++)
                for (int j = i < i4 ? j4 : j0; j < j1; j++) dst[j * dst_stride + i] = src[i * src_stride + j];
        }
}

void fft_rfft_columns(const FftPlan *p, const float *x, int len, long t_stride, long c_stride, int g, float *re,
                      float *im, float *scratch) {
    count_flops(p, g);
    if (p->n == 1) {
        for (int c = 0; c < g; c++) {
            re[c] = len > 0 ? x[c * c_stride] : 0.0f;
            im[c] = 0.0f;
        }
        return;
    }
    int h = p->half;
    float *zr = scratch, *zi = zr + (long)h * g, *yr = zi + (long)h * g, *yi = yr + (long)h * g;
    // Pack z[t] = x[2t] + i x[2t+1], zero past len. Walk the source along its contiguous axis:
    // signals stored as rows (t_stride 1) are read one whole signal at a time; reading 16 rows
    // side by side, n floats apart, would make every load fight for the same cache set.
    // Row r holds samples 2r and 2r + 1, so from row len/2 on there is only padding (but for the
    // last sample of an odd len, which packing writes next): zero those rows, not all of z.
    if (len < p->n) {
        size_t first = (size_t)(len / 2) * (size_t)g, rows = (size_t)(h - len / 2) * (size_t)g;
        memset(zr + first, 0, rows * sizeof(float));
        memset(zi + first, 0, rows * sizeof(float));
    }
    if (t_stride == 1) {
        pack_rows(x, len, c_stride, g, zr, zi);
    } else {
        for (int t = 0; t < len; t++) {
            float *dst = (t & 1 ? zi : zr) + (long)(t / 2) * g;
            for (int c = 0; c < g; c++) dst[c] = x[t * t_stride + c * c_stride];
        }
    }
    if (complex_columns(p, h, g, +1, zr, zi, yr, yi)) untangle_forward(p, g, yr, yi, re, im, 0, h + 1);
    else untangle_forward(p, g, zr, zi, re, im, 0, h + 1);
}

void fft_irfft_columns(const FftPlan *p, const float *re, const float *im, int g, float *y, int len, long t_stride,
                       long c_stride, bool accumulate, float *scratch) {
    count_flops(p, g);
    if (p->n == 1) {
        for (int c = 0; c < g && len > 0; c++) y[c * c_stride] = (accumulate ? y[c * c_stride] : 0.0f) + re[c];
        return;
    }
    int h = p->half;
    float *zr = scratch, *zi = zr + (long)h * g, *yr = zi + (long)h * g, *yi = yr + (long)h * g;
    tangle_inverse(p, g, re, im, zr, zi, 0, h);
    const float *outr = zr, *outi = zi;
    if (complex_columns(p, h, g, -1, zr, zi, yr, yi)) {
        outr = yr;
        outi = yi;
    }
    // Unpack x[2t] = Re z[t], x[2t+1] = Im z[t], along the destination's contiguous axis.
    if (t_stride == 1) {
        unpack_rows(outr, outi, g, y, len, c_stride, accumulate);
    } else {
        for (int t = 0; t < len; t++) {
            const float *src = (t & 1 ? outi : outr) + (long)(t / 2) * g;
            float *dst = y + t * t_stride;
            if (accumulate)
                for (int c = 0; c < g; c++) dst[c * c_stride] += src[c];
            else
                for (int c = 0; c < g; c++) dst[c * c_stride] = src[c];
        }
    }
}

// ---------------------------------------------------------------- whole signals

// Many signals: groups of FFT_COLUMNS signals, one group per chunk, transposed into columns on
// the way in and out of the column transform.
typedef struct BatchJob {
    const FftPlan *plan;
    int batch;
    int group;             // signals per chunk (batch_group_size)
    const float *x;        // forward input / inverse output
    float *x_out;
    const float *re_in, *im_in;
    float *re, *im;        // forward output
} BatchJob;

static void rfft_groups(void *ctx, long begin, long end) {
    const BatchJob *j = ctx;
    int n = j->plan->n, bins = n / 2 + 1;
    size_t work = fft_columns_scratch(j->plan, j->group);
    float *scratch = pool_scratch(work + 2 * (size_t)bins * j->group);
    float *cre = scratch + work, *cim = cre + (size_t)bins * j->group;
    for (long grp = begin; grp < end; grp++) {
        int c0 = (int)grp * j->group, g = j->batch - c0 < j->group ? j->batch - c0 : j->group;
        fft_rfft_columns(j->plan, j->x + (long)c0 * n, n, 1, n, g, cre, cim, scratch);
        transpose(cre, g, bins, g, j->re + (long)c0 * bins, bins);
        transpose(cim, g, bins, g, j->im + (long)c0 * bins, bins);
    }
}

static void irfft_groups(void *ctx, long begin, long end) {
    const BatchJob *j = ctx;
    int n = j->plan->n, bins = n / 2 + 1;
    size_t work = fft_columns_scratch(j->plan, j->group);
    float *scratch = pool_scratch(work + 2 * (size_t)bins * j->group);
    float *cre = scratch + work, *cim = cre + (size_t)bins * j->group;
    for (long grp = begin; grp < end; grp++) {
        int c0 = (int)grp * j->group, g = j->batch - c0 < j->group ? j->batch - c0 : j->group;
        transpose(j->re_in + (long)c0 * bins, bins, g, bins, cre, g);
        transpose(j->im_in + (long)c0 * bins, bins, g, bins, cim, g);
        fft_irfft_columns(j->plan, cre, cim, g, j->x_out + (long)c0 * n, n, 1, n, false, scratch);
    }
}

// A few long signals: the four-step method on the complex transform of size h = n1 * n2.
// Index t = n2*t1 + t2 (the signal as an n1 x n2 matrix) and k = k1 + n1*k2:
//   Z[k1 + n1 k2] = sum_t2 W_n2^(t2 k2) [ W_h^(t2 k1) sum_t1 z[n2 t1 + t2] W_n1^(t1 k1) ]
// Pass 1: column transforms of size n1 (one column per t2), times the twiddle W_h^(t2 k1),
// written transposed. Pass 2: column transforms of size n2 (one per k1), which land in order.
// A chunk handed to another thread must carry enough work to pay for the handover (about a
// microsecond): at least this many points.
#define MIN_POINTS_PER_CHUNK 32768

typedef struct FourStep {
    const FftPlan *plan;
    int n1, n2, dir;
    const float *in_r, *in_i;   // [n1][n2]
    float *t_r, *t_i;           // [n2][n1]
    float *out_r, *out_i;       // [n2][n1] = Z in natural order
} FourStep;

static void four_step_columns(const FourStep *f, int rows, int cols, const float *src_r, const float *src_i,
                              long c0, int g, float *scratch, float **res_r, float **res_i) {
    float *zr = scratch, *zi = zr + (long)rows * g, *yr = zi + (long)rows * g, *yi = yr + (long)rows * g;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < g; c++) {
            zr[(long)r * g + c] = src_r[(long)r * cols + c0 + c];
            zi[(long)r * g + c] = src_i[(long)r * cols + c0 + c];
        }
    int in_y = complex_columns(f->plan, rows, g, f->dir, zr, zi, yr, yi);
    *res_r = in_y ? yr : zr;
    *res_i = in_y ? yi : zi;
}

// out = v * w (complex, elementwise over g columns), w conjugated for the inverse (dir = -1).
static inline void twiddle_row(int g, int dir, const float *restrict wr, const float *restrict wi,
                               const float *restrict vr, const float *restrict vi, float *restrict outr,
                               float *restrict outi) {
    for (int c = 0; c < g; c++) {
        float w_i = (float)dir * wi[c];
        outr[c] = vr[c] * wr[c] - vi[c] * w_i;
        outi[c] = vr[c] * w_i + vi[c] * wr[c];
    }
}

static void four_step_pass1(void *ctx, long begin, long end) {
    const FourStep *f = ctx;
    const FftPlan *p = f->plan;
    float *scratch = pool_scratch(6 * (size_t)f->n1 * FFT_COLUMNS);
    float *br = scratch + 4 * (size_t)f->n1 * FFT_COLUMNS, *bi = br + (size_t)f->n1 * FFT_COLUMNS;
    for (long grp = begin; grp < end; grp++) {
        long c0 = grp * FFT_COLUMNS;
        int g = f->n2 - c0 < FFT_COLUMNS ? (int)(f->n2 - c0) : FFT_COLUMNS;
        float *ar, *ai;
        four_step_columns(f, f->n1, f->n2, f->in_r, f->in_i, c0, g, scratch, &ar, &ai);
        // Times W_half^(t2 k1), still in columns: row k1 of the group against a contiguous row of
        // the twiddle matrix, a vector loop. Then the transpose, in 4x4 blocks.
        for (int k1 = 0; k1 < f->n1; k1++) {
            const float *wr = p->sr + (long)k1 * f->n2 + c0, *wi = p->si + (long)k1 * f->n2 + c0;
            long at = (long)k1 * g;
            // A full group has a constant trip count, and becomes straight vector code: with g
            // unknown, the compiler re-checked overlaps and remainders on every 16-float row.
            if (g == FFT_COLUMNS) twiddle_row(FFT_COLUMNS, f->dir, wr, wi, ar + at, ai + at, br + at, bi + at);
            else twiddle_row(g, f->dir, wr, wi, ar + at, ai + at, br + at, bi + at);
        }
        transpose(br, g, f->n1, g, f->t_r + c0 * f->n1, f->n1);
        transpose(bi, g, f->n1, g, f->t_i + c0 * f->n1, f->n1);
    }
}

static void four_step_pass2(void *ctx, long begin, long end) {
    const FourStep *f = ctx;
    float *scratch = pool_scratch(4 * (size_t)f->n2 * FFT_COLUMNS);
    for (long grp = begin; grp < end; grp++) {
        long c0 = grp * FFT_COLUMNS;
        int g = f->n1 - c0 < FFT_COLUMNS ? (int)(f->n1 - c0) : FFT_COLUMNS;
        float *ar, *ai;
        four_step_columns(f, f->n2, f->n1, f->t_r, f->t_i, c0, g, scratch, &ar, &ai);
        for (int k2 = 0; k2 < f->n2; k2++) {
            memcpy(f->out_r + (long)k2 * f->n1 + c0, ar + (long)k2 * g, sizeof(float) * (size_t)g);
            memcpy(f->out_i + (long)k2 * f->n1 + c0, ai + (long)k2 * g, sizeof(float) * (size_t)g);
        }
    }
}

static void four_step(const FftPlan *p, int dir, const float *in_r, const float *in_i, float *t_r, float *t_i,
                      float *out_r, float *out_i) {
    FourStep f = {p, p->n1, p->n2, dir, in_r, in_i, t_r, t_i, out_r, out_i};
    // Small transforms get one chunk per pass: they run serially.
    long groups1 = (f.n2 + FFT_COLUMNS - 1) / FFT_COLUMNS, groups2 = (f.n1 + FFT_COLUMNS - 1) / FFT_COLUMNS;
    long grain1 = MIN_POINTS_PER_CHUNK / ((long)f.n1 * FFT_COLUMNS) + 1;
    long grain2 = MIN_POINTS_PER_CHUNK / ((long)f.n2 * FFT_COLUMNS) + 1;
    parallel_for(groups1, grain1, four_step_pass1, &f);
    parallel_for(groups2, grain2, four_step_pass2, &f);
}

typedef struct UntangleJob {
    const FftPlan *plan;
    const float *ar, *ai;
    float *br, *bi;
} UntangleJob;

static void untangle_chunk(void *ctx, long begin, long end) {
    const UntangleJob *u = ctx;
    untangle_forward(u->plan, 1, u->ar, u->ai, u->br, u->bi, (int)begin, (int)end);
}

static void tangle_chunk(void *ctx, long begin, long end) {
    const UntangleJob *u = ctx;
    tangle_inverse(u->plan, 1, u->ar, u->ai, u->br, u->bi, (int)begin, (int)end);
}

// Below this many complex points, or with enough signals to fill the threads, whole groups of
// signals are the better unit of work; above it, a lone signal is split by the four-step method.
#define FOUR_STEP_MIN_HALF 128
#define FOUR_STEP_MAX_BATCH 4

static bool use_four_step(const FftPlan *p, int batch) {
    return (p->half >= FOUR_STEP_MIN_HALF && batch < FOUR_STEP_MAX_BATCH);
}

static float *work_buffers(int h) { return alloc_floats(6 * (size_t)h); }

// Signals per chunk in the batched path: FFT_COLUMNS fill a vector register, but a group's work
// memory is about 6 * n/2 * group floats. For long signals, fewer signals per group keep each
// thread's memory closer to its own cache instead of two threads fighting over L3. Measured on 128
// signals, 2 threads against 1: 1.6x -> 1.9x at n = 65536, 1.3x -> 1.9x at 131072; groups of 4
// at 65536 scaled as well but were 60% slower on one thread (short vectors in early stages).
static int batch_group_size(const FftPlan *p) {
    int g = FFT_COLUMNS;
    while (g > 4 && (size_t)p->half * (size_t)g > (size_t)16384 * FFT_COLUMNS) g /= 2;
    return g;
}

void fft_rfft(int n, int batch, const float *x, float *re, float *im) {
    const FftPlan *p = fft_plan(n);
    if (!use_four_step(p, batch)) {
        BatchJob j = {p, batch, batch_group_size(p), x, NULL, NULL, NULL, re, im};
        parallel_for((batch + j.group - 1) / j.group, 1, rfft_groups, &j);
        return;
    }
    // Work buffers of a few long signals are allocated per call: this path serves whole-signal
    // users (tests, benchmarks, tools); the training step uses the column API and pool scratch.
    count_flops(p, batch);
    int h = p->half, bins = h + 1;
    float *buf = work_buffers(h);
    float *zr = buf, *zi = zr + h, *tr = zi + h, *ti = tr + h, *outr = ti + h, *outi = outr + h;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * n;
        for (int t = 0; t < h; t++) {
            zr[t] = xb[2 * t];
            zi[t] = xb[2 * t + 1];
        }
        four_step(p, +1, zr, zi, tr, ti, outr, outi);
        UntangleJob u = {p, outr, outi, re + (long)b * bins, im + (long)b * bins};
        parallel_for(bins, MIN_POINTS_PER_CHUNK, untangle_chunk, &u);
    }
    free(buf);
}

void fft_irfft(int n, int batch, const float *re, const float *im, float *x) {
    const FftPlan *p = fft_plan(n);
    if (!use_four_step(p, batch)) {
        BatchJob j = {p, batch, batch_group_size(p), NULL, x, re, im, NULL, NULL};
        parallel_for((batch + j.group - 1) / j.group, 1, irfft_groups, &j);
        return;
    }
    count_flops(p, batch);
    int h = p->half, bins = h + 1;
    float *buf = work_buffers(h);
    float *zr = buf, *zi = zr + h, *tr = zi + h, *ti = tr + h, *outr = ti + h, *outi = outr + h;
    for (int b = 0; b < batch; b++) {
        UntangleJob u = {p, re + (long)b * bins, im + (long)b * bins, zr, zi};
        parallel_for(h, MIN_POINTS_PER_CHUNK, tangle_chunk, &u);
        four_step(p, -1, zr, zi, tr, ti, outr, outi);
        float *xb = x + (long)b * n;
        for (int t = 0; t < h; t++) {
            xb[2 * t] = outr[t];
            xb[2 * t + 1] = outi[t];
        }
    }
    free(buf);
}
