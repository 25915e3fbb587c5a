// op_fftconv.c - the long convolution at the heart of Hyena, and its gradient.
//
// Forward. Convolution theorem: the DFT turns circular convolution into a product of spectra.
// Zero-padding u and h to n >= 2L makes the circular wrap-around land on zeros, so the first L
// outputs of the circular convolution are exactly the causal linear one:
//   y = irfft(rfft(u, n) * rfft(h, n))[:L] + bias * u
//
// Backward. y is linear in u and in h; the transpose of "convolve with h" is "correlate with h":
//   gu[s] = sum_{t >= s} h[t - s] gy[t]  = irfft(conj(rfft(h)) * rfft(gy))[:L] + bias * gy
//   gh[k] = sum_b sum_{t >= k} u[t - k] gy[t] = irfft(sum_b conj(rfft(u_b)) * rfft(gy_b))[:L]
//   gbias = sum_{b,t} gy * u
// (conj in frequency is time reversal; the padding again keeps the wrap-around on zeros.)
//
// Work is split over groups of FFT_COLUMNS channels: a group's columns are transformed side by
// side (tensor/fft.c) and its filter spectrum is computed once for the whole batch. A group is
// computed the same way whatever thread runs it, so results do not depend on the thread count.
#include "fftconv.h"

#include <limits.h>
#include <string.h>

#include "../tensor/fft.h"
#include "../tensor/ops.h"
#include "../tensor/pool.h"

typedef struct FftconvJob {
    float *y, *gu, *gh;
    const float *u, *h, *bias, *gy;
    int B, L, D;
    FftconvPath path;
    float *keep;         // forward: NULL, or where to keep rfft(h) and rfft(u) for the backward
    const float *kept;   // backward: NULL, or where the forward kept them
} FftconvJob;

static FftconvPath choose_path(FftconvPath path, int L) {
    if (path != FFTCONV_AUTO) return path;
    return L <= FFTCONV_DIRECT_MAX_L ? FFTCONV_DIRECT : FFTCONV_FFT;
}

// ---------------------------------------------------------------- spectra of a channel group

// c = a * b (complex, elementwise over [bins][g])
static void spectrum_mul(float *restrict cr, float *restrict ci, const float *ar, const float *ai, const float *br,
                         const float *bi, long count) {
    for (long i = 0; i < count; i++) {
        cr[i] = ar[i] * br[i] - ai[i] * bi[i];
        ci[i] = ar[i] * bi[i] + ai[i] * br[i];
    }
}

// c = conj(b) * a
static void spectrum_mul_conj(float *restrict cr, float *restrict ci, const float *ar, const float *ai,
                              const float *br, const float *bi, long count) {
    for (long i = 0; i < count; i++) {
        cr[i] = br[i] * ar[i] + bi[i] * ai[i];
        ci[i] = br[i] * ai[i] - bi[i] * ar[i];
    }
}

// s += conj(a) * b
static void spectrum_add_conj_mul(float *sr, float *si, const float *ar, const float *ai, const float *br,
                                  const float *bi, long count) {
    for (long i = 0; i < count; i++) {
        sr[i] += ar[i] * br[i] + ai[i] * bi[i];
        si[i] += ar[i] * bi[i] - ai[i] * br[i];
    }
}

// y[t, c] (+)= bias[c] * u[t, c] over the group's columns (row stride D)
static void add_skip(float *y, const float *u, const float *bias, int L, int D, int g) {
    for (int t = 0; t < L; t++)
        for (int c = 0; c < g; c++) y[(long)t * D + c] += bias[c] * u[(long)t * D + c];
}

// ---------------------------------------------------------------- the FFT path

// The spectra one group of channels keeps between forward and backward: H, then U of each
// sequence, each in a slot of 2 * bins * FFT_COLUMNS floats, [bins][g] real parts then [bins][g]
// imaginary parts (a last, narrower group leaves the end of its slots unused). The backward needs
// exactly the transforms the forward made of h and u; keeping them saves two of the eight
// transforms of a forward and backward.
static long group_spectra_floats(int B, int L) {
    long bins = fft_conv_size(L) / 2 + 1;
    return (B + 1) * 2 * bins * FFT_COLUMNS;
}

size_t fftconv_spectra_floats(int B, int L, int D) {
    long groups = (D + FFT_COLUMNS - 1) / FFT_COLUMNS;
    return (size_t)(groups * group_spectra_floats(B, L));
}

// Where, from the start of the kept spectra, group `grp` keeps the spectrum of signal s: s = 0 is
// h, s = 1 + b is u of sequence b.
static long kept_at(const FftconvJob *j, int grp, int s) {
    long bins = fft_conv_size(j->L) / 2 + 1;
    return grp * group_spectra_floats(j->B, j->L) + (long)s * 2 * bins * FFT_COLUMNS;
}

static void fft_forward_group(const FftconvJob *j, int grp, int d0, int g) {
    const FftPlan *plan = fft_plan(fft_conv_size(j->L));
    long bins = plan->n / 2 + 1, spec = bins * g;
    size_t work = fft_columns_scratch(plan, g);
    float *scratch = pool_scratch(work + 6 * (size_t)spec);
    float *hr = scratch + work, *hi = hr + spec, *ur = hi + spec, *ui = ur + spec, *yr = ui + spec, *yi = yr + spec;
    if (j->keep) {
        hr = j->keep + kept_at(j, grp, 0);
        hi = hr + spec;
    }
    fft_rfft_columns(plan, j->h + d0, j->L, j->D, 1, g, hr, hi, scratch);
    for (int b = 0; b < j->B; b++) {
        long off = (long)b * j->L * j->D + d0;
        if (j->keep) {
            ur = j->keep + kept_at(j, grp, 1 + b);
            ui = ur + spec;
        }
        fft_rfft_columns(plan, j->u + off, j->L, j->D, 1, g, ur, ui, scratch);
        spectrum_mul(yr, yi, ur, ui, hr, hi, spec);
        fft_irfft_columns(plan, yr, yi, g, j->y + off, j->L, j->D, 1, false, scratch);
        add_skip(j->y + off, j->u + off, j->bias + d0, j->L, j->D, g);
    }
}

static void fft_backward_group(const FftconvJob *j, int grp, int d0, int g) {
    const FftPlan *plan = fft_plan(fft_conv_size(j->L));
    long bins = plan->n / 2 + 1, spec = bins * g;
    size_t work = fft_columns_scratch(plan, g);
    float *scratch = pool_scratch(work + 8 * (size_t)spec);
    float *ur = scratch + work, *ui = ur + spec, *gr = ui + spec, *gi = gr + spec, *sr = gi + spec, *si = sr + spec;
    float *hr_made = si + spec, *hi_made = hr_made + spec;
    const float *hr = hr_made, *hi = hi_made;   // H: kept by the forward, or made again
    if (j->kept) {
        hr = j->kept + kept_at(j, grp, 0);
        hi = hr + spec;
    } else {
        fft_rfft_columns(plan, j->h + d0, j->L, j->D, 1, g, hr_made, hi_made, scratch);
    }
    memset(sr, 0, 2 * (size_t)spec * sizeof(float));  // sr and si are adjacent
    for (int b = 0; b < j->B; b++) {
        long off = (long)b * j->L * j->D + d0;
        fft_rfft_columns(plan, j->gy + off, j->L, j->D, 1, g, gr, gi, scratch);
        const float *kr = ur, *ki = ui;   // U of this sequence: kept by the forward, or made again
        if (j->kept) {
            kr = j->kept + kept_at(j, grp, 1 + b);
            ki = kr + spec;
        } else if (j->gh) {
            fft_rfft_columns(plan, j->u + off, j->L, j->D, 1, g, ur, ui, scratch);
        }
        if (j->gh) spectrum_add_conj_mul(sr, si, kr, ki, gr, gi, spec);
        if (j->gu) {
            spectrum_mul_conj(ur, ui, gr, gi, hr, hi, spec);   // conj(H) * G, where U was
            fft_irfft_columns(plan, ur, ui, g, j->gu + off, j->L, j->D, 1, true, scratch);
        }
    }
    if (j->gh) fft_irfft_columns(plan, sr, si, g, j->gh + d0, j->L, j->D, 1, true, scratch);
}

// ---------------------------------------------------------------- the direct path

static void direct_forward_group(const FftconvJob *j, int d0, int g) {
    int L = j->L, D = j->D;
    for (int b = 0; b < j->B; b++) {
        const float *u = j->u + (long)b * L * D + d0;
        float *y = j->y + (long)b * L * D + d0;
        for (int t = 0; t < L; t++) {
            float acc[FFT_COLUMNS];
            for (int c = 0; c < g; c++) acc[c] = j->bias[d0 + c] * u[(long)t * D + c];
            for (int k = 0; k <= t; k++)
                for (int c = 0; c < g; c++) acc[c] += j->h[(long)k * D + d0 + c] * u[(long)(t - k) * D + c];
            for (int c = 0; c < g; c++) y[(long)t * D + c] = acc[c];
        }
    }
}

static void direct_backward_group(const FftconvJob *j, int d0, int g) {
    int L = j->L, D = j->D;
    for (int b = 0; b < j->B; b++) {
        const float *u = j->u + (long)b * L * D + d0, *gy = j->gy + (long)b * L * D + d0;
        if (j->gu) {
            float *gu = j->gu + (long)b * L * D + d0;
            for (int s = 0; s < L; s++) {
                float acc[FFT_COLUMNS];
                for (int c = 0; c < g; c++) acc[c] = j->bias[d0 + c] * gy[(long)s * D + c];
                for (int t = s; t < L; t++)
                    for (int c = 0; c < g; c++) acc[c] += j->h[(long)(t - s) * D + d0 + c] * gy[(long)t * D + c];
                for (int c = 0; c < g; c++) gu[(long)s * D + c] += acc[c];
            }
        }
        if (j->gh) {
            for (int k = 0; k < L; k++) {
                float acc[FFT_COLUMNS] = {0};
                for (int t = k; t < L; t++)
                    for (int c = 0; c < g; c++) acc[c] += u[(long)(t - k) * D + c] * gy[(long)t * D + c];
                for (int c = 0; c < g; c++) j->gh[(long)k * D + d0 + c] += acc[c];
            }
        }
    }
}

// ---------------------------------------------------------------- threads over channel groups

static void forward_groups(void *ctx, long begin, long end) {
    const FftconvJob *j = ctx;
    for (long grp = begin; grp < end; grp++) {
        int d0 = (int)grp * FFT_COLUMNS, g = j->D - d0 < FFT_COLUMNS ? j->D - d0 : FFT_COLUMNS;
        if (j->path == FFTCONV_DIRECT) direct_forward_group(j, d0, g);
        else fft_forward_group(j, (int)grp, d0, g);
    }
}

static void backward_groups(void *ctx, long begin, long end) {
    const FftconvJob *j = ctx;
    for (long grp = begin; grp < end; grp++) {
        int d0 = (int)grp * FFT_COLUMNS, g = j->D - d0 < FFT_COLUMNS ? j->D - d0 : FFT_COLUMNS;
        if (j->path == FFTCONV_DIRECT) direct_backward_group(j, d0, g);
        else fft_backward_group(j, (int)grp, d0, g);
        if (j->gu && j->path == FFTCONV_FFT)  // the skip term's input gradient (direct adds its own)
            for (int b = 0; b < j->B; b++) {
                long off = (long)b * j->L * j->D + d0;
                add_skip(j->gu + off, j->gy + off, j->bias + d0, j->L, j->D, g);
            }
    }
}

bool fftconv_uses_fft(FftconvPath path, int L) { return choose_path(path, L) == FFTCONV_FFT; }

void fftconv_forward_keeping(float *y, float *spectra, const float *u, const float *h, const float *bias, int B,
                             int L, int D, FftconvPath path) {
    path = choose_path(path, L);
    FftconvJob j = {y, NULL, NULL, u, h, bias, NULL, B, L, D, path, path == FFTCONV_FFT ? spectra : NULL, NULL};
    parallel_for((D + FFT_COLUMNS - 1) / FFT_COLUMNS, 1, forward_groups, &j);
}

void fftconv_forward(float *y, const float *u, const float *h, const float *bias, int B, int L, int D,
                     FftconvPath path) {
    fftconv_forward_keeping(y, NULL, u, h, bias, B, L, D, path);
}

void fftconv_backward_from(const float *spectra, float *gu, float *gh, float *gbias, const float *gy,
                           const float *u, const float *h, const float *bias, int B, int L, int D,
                           FftconvPath path) {
    path = choose_path(path, L);
    FftconvJob j = {NULL, gu, gh, u, h, bias, gy, B, L, D, path, NULL, path == FFTCONV_FFT ? spectra : NULL};
    parallel_for((D + FFT_COLUMNS - 1) / FFT_COLUMNS, 1, backward_groups, &j);
    // The skip weight's gradient, gbias[d] += sum_{b,t} gy * u: the column sum that every
    // broadcasting op's backward uses (tensor/ops.c), its partial sums in this thread's scratch.
    if (gbias) {
        size_t floats = column_sum_scratch((long)B * L, D);
        column_sum_add(gbias, gy, u, (long)B * L, D, floats ? pool_scratch(floats) : NULL);
    }
}

void fftconv_backward(float *gu, float *gh, float *gbias, const float *gy, const float *u, const float *h,
                      const float *bias, int B, int L, int D, FftconvPath path) {
    fftconv_backward_from(NULL, gu, gh, gbias, gy, u, h, bias, B, L, D, path);
}

// ---------------------------------------------------------------- the autograd op

static void ag_fftconv_backward(Node *n) {
    Var *u = n->in[0], *h = n->in[1], *bias = n->in[2];
    fftconv_backward_from(n->saved[0].data, u->requires_grad ? u->grad : NULL, h->requires_grad ? h->grad : NULL,
                          bias->requires_grad ? bias->grad : NULL, n->out->grad, u->value.data, h->value.data,
                          bias->value.data, u->value.shape[0], u->value.shape[1], u->value.shape[2],
                          (FftconvPath)n->ints[0]);
}

Var *ag_fftconv(Tape *tape, Var *u, Var *h, Var *bias, FftconvPath path) {
    if (u->value.rank != 3 || h->value.rank != 2 || bias->value.rank != 1)
        ag_shape_error("fftconv", "need u: [B, L, D], h: [L, D], bias: [D]", &u->value, &h->value);
    int B = u->value.shape[0], L = u->value.shape[1], D = u->value.shape[2];
    if (h->value.shape[0] != L || h->value.shape[1] != D)
        ag_shape_error("fftconv", "h must be [L, D] for u: [B, L, D]", &u->value, &h->value);
    if (bias->value.shape[0] != D) ag_shape_error("fftconv", "bias must be [D]", &u->value, &bias->value);
    Var *y = ag_new_var(tape, 3, u->value.shape, "fftconv");
    // The spectra are kept only when there will be a backward (ag_record's condition) that can
    // use them: evaluation and generation pay neither their memory nor their stores.
    Tensor spectra = {0};
    bool grad = u->requires_grad || h->requires_grad || bias->requires_grad;
    size_t kept_floats = fftconv_spectra_floats(B, L, D);
    if (tape->recording && grad && fftconv_uses_fft(path, L) && kept_floats <= INT_MAX)  // else: made again
        spectra = tensor_new(tape->arena, 1, (int[]){(int)kept_floats});
    fftconv_forward_keeping(y->value.data, spectra.data, u->value.data, h->value.data, bias->value.data, B, L, D,
                            path);
    Node *n = ag_record(tape, "fftconv", ag_fftconv_backward, y, 3, (Var *[]){u, h, bias});
    if (n) {
        n->ints[0] = (int)path;
        n->saved[0] = spectra;
    }
    return y;
}
