// prony.c - linear prediction, polynomial roots and least-squares residues, in double.
#include "prony.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/modal.h"

#define PI 3.14159265358979323846

void lstsq(double *A, double *b, int rows, int cols, double *x) {
    double *v = malloc(sizeof(double) * (size_t)rows), *dots = malloc(sizeof(double) * (size_t)cols);
    bool *dead = calloc((size_t)cols, sizeof(bool));
    double largest = 0;
    for (int k = 0; k < cols; k++) {
        // The reflection I - 2 v vᵀ / (vᵀv) that zeroes column k below the diagonal.
        double norm = 0;
        for (int i = k; i < rows; i++) norm += A[(long)i * cols + k] * A[(long)i * cols + k];
        norm = sqrt(norm);
        if (norm <= 1e-300) {
            dead[k] = true;
            continue;
        }
        double alpha = A[(long)k * cols + k] > 0 ? -norm : norm, vv = 0;
        for (int i = k; i < rows; i++) v[i] = A[(long)i * cols + k];
        v[k] -= alpha;
        for (int i = k; i < rows; i++) vv += v[i] * v[i];
        // Apply it to columns k.. : s_j = v · A[:, j], then A[:, j] -= (2 / vᵀv) s_j v. Row by
        // row, so that the inner loops run along contiguous memory (A is row-major).
        for (int j = k; j < cols; j++) dots[j] = 0;
        for (int i = k; i < rows; i++)
            for (int j = k; j < cols; j++) dots[j] += v[i] * A[(long)i * cols + j];
        for (int j = k; j < cols; j++) dots[j] *= 2 / vv;
        for (int i = k; i < rows; i++)
            for (int j = k; j < cols; j++) A[(long)i * cols + j] -= dots[j] * v[i];
        double s = 0;
        for (int i = k; i < rows; i++) s += v[i] * b[i];
        s *= 2 / vv;
        for (int i = k; i < rows; i++) b[i] -= s * v[i];
        if (fabs(alpha) > largest) largest = fabs(alpha);
    }
    // R x = Qᵀ b, from the last unknown up. A diagonal entry that is tiny next to the largest
    // means column k is (almost) a combination of the columns before it: x_k = 0.
    for (int k = cols - 1; k >= 0; k--) {
        double r = A[(long)k * cols + k];
        if (dead[k] || fabs(r) <= 1e-12 * largest) {
            x[k] = 0;
            continue;
        }
        double s = b[k];
        for (int j = k + 1; j < cols; j++) s -= A[(long)k * cols + j] * x[j];
        x[k] = s / r;
    }
    free(dead);
    free(dots);
    free(v);
}

void poly_roots(const double *a, int m, double complex *z) {
    for (int k = 0; k < m; k++) z[k] = 0.9 * cexp(I * (2 * PI * k / m + 0.4));  // not symmetric about the real axis
    for (int iter = 0; iter < 2000; iter++) {
        double moved = 0;
        for (int k = 0; k < m; k++) {
            double complex p = 1, dp = 0;  // Horner for p and p'
            for (int i = 0; i < m; i++) {
                dp = dp * z[k] + p;
                p = p * z[k] + a[i];
            }
            if (p == 0) continue;  // exactly a root
            double complex ratio = dp == 0 ? 1e-3 : p / dp, repel = 0;
            for (int j = 0; j < m; j++)
                if (j != k) repel += 1.0 / (z[k] - z[j]);
            // Newton's step, corrected for the other roots' pull (Aberth-Ehrlich).
            double complex w = ratio / (1.0 - ratio * repel);
            z[k] -= w;
            double scale = cabs(z[k]) > 1 ? cabs(z[k]) : 1;
            if (cabs(w) / scale > moved) moved = cabs(w) / scale;
        }
        if (moved < 1e-14) break;
    }
}

// Residues for fixed poles: h[t] ≈ sum_n Re(R_n) Re(λ_n^t) - Im(R_n) Im(λ_n^t).
static void fit_residues(const float *h, long stride, int L, const double complex *poles, int K, double complex *R) {
    int cols = 2 * K, rows = L + cols;  // plus a tiny ridge: conditioning for near-equal poles
    double *A = calloc((size_t)rows * cols, sizeof(double)), *b = calloc((size_t)rows, sizeof(double));
    double *x = malloc(sizeof(double) * (size_t)cols), energy = 0;
    for (int t = 0; t < L; t++) energy += (double)h[t * stride] * h[t * stride];
    for (int n = 0; n < K; n++) {
        double complex q = 1;
        for (int t = 0; t < L; t++, q *= poles[n]) {
            A[(long)t * cols + 2 * n] = creal(q);
            A[(long)t * cols + 2 * n + 1] = -cimag(q);
        }
    }
    for (int t = 0; t < L; t++) b[t] = h[t * stride];
    double ridge = sqrt(1e-12 * (energy > 0 ? energy : 1));
    for (int k = 0; k < cols; k++) A[(long)(L + k) * cols + k] = ridge;
    lstsq(A, b, rows, cols, x);
    for (int n = 0; n < K; n++) R[n] = x[2 * n] + I * x[2 * n + 1];
    free(A);
    free(b);
    free(x);
}

void prony_residues(const float *h, long stride, int L, int d, const float *poles, float *residues) {
    if (d < 1) return;
    double complex *p = malloc(sizeof(double complex) * (size_t)d), *R = malloc(sizeof(double complex) * (size_t)d);
    for (int n = 0; n < d; n++) p[n] = poles[2 * n] + I * (double)poles[2 * n + 1];
    fit_residues(h, stride, L, p, d, R);
    for (int n = 0; n < d; n++) {
        residues[2 * n] = (float)creal(R[n]);
        residues[2 * n + 1] = (float)cimag(R[n]);
    }
    free(R);
    free(p);
}

typedef struct Mode {
    double complex pole, residue;
    double energy;
} Mode;

static int by_energy(const void *a, const void *b) {
    double x = ((const Mode *)a)->energy, y = ((const Mode *)b)->energy;
    return (x < y) - (x > y);
}

static int by_angle(const void *a, const void *b) {
    const Mode *x = a, *y = b;
    double ax = carg(x->pole), ay = carg(y->pole);
    if (ax != ay) return (ax > ay) - (ax < ay);
    return (cabs(x->pole) > cabs(y->pole)) - (cabs(x->pole) < cabs(y->pole));
}

void prony_modes(const float *h, long stride, int L, int d, float *poles, float *residues) {
    int m = PRONY_OVERSAMPLE * 2 * d < L / 2 ? PRONY_OVERSAMPLE * 2 * d : L / 2;  // equations >= unknowns
    Mode *modes = calloc((size_t)m + d + 1, sizeof(Mode));
    int K = 0;
    if (m >= 1) {
        // 1. Linear prediction: h[t] = -(a_1 h[t-1] + ... + a_m h[t-m]) for t = m .. L-1.
        int rows = L - m;
        double *A = malloc(sizeof(double) * (size_t)rows * m), *b = malloc(sizeof(double) * (size_t)rows);
        double *a = malloc(sizeof(double) * (size_t)m);
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < m; k++) A[(long)r * m + k] = h[(long)(m + r - 1 - k) * stride];
            b[r] = -(double)h[(long)(m + r) * stride];
        }
        lstsq(A, b, rows, m, a);
        // 2. Its roots; one of each conjugate pair (the upper half plane) and the real ones.
        double complex *roots = malloc(sizeof(double complex) * (size_t)m);
        poly_roots(a, m, roots);
        double max_radius = exp(-MODAL_MIN_RATE);
        for (int k = 0; k < m; k++) {
            double complex z = roots[k];
            double r = cabs(z);
            if (cimag(z) < -1e-9 * (r > 1 ? r : 1)) continue;
            if (cimag(z) < 0) z = creal(z);
            if (r > max_radius) z *= max_radius / r;
            if (r < PRONY_MIN_RADIUS) z = r > 0 ? z * (PRONY_MIN_RADIUS / r) : PRONY_MIN_RADIUS;
            modes[K++].pole = z;
        }
        free(roots);
        free(a);
        free(b);
        free(A);
    }
    // 3. Residues; when there are more candidates than d (real roots), keep the d that carry the
    // most of the filter's energy and fit again.
    double complex *p = malloc(sizeof(double complex) * (size_t)(K + 1)), *R = malloc(sizeof(double complex) * (size_t)(K + 1));
    for (int round = 0; round < 2 && K > 0; round++) {
        for (int n = 0; n < K; n++) p[n] = modes[n].pole;
        fit_residues(h, stride, L, p, K, R);
        for (int n = 0; n < K; n++) {
            modes[n].residue = R[n];
            double complex q = R[n];
            modes[n].energy = 0;
            for (int t = 0; t < L; t++, q *= p[n]) modes[n].energy += creal(q) * creal(q);
        }
        if (K <= d) break;
        qsort(modes, (size_t)K, sizeof(Mode), by_energy);
        K = d;
    }
    free(p);
    free(R);
    // Unused modes: residue 0 and poles spread over the half plane, free for the optimizer to use.
    for (int n = K; n < d; n++) modes[n] = (Mode){0.5 * cexp(I * PI * (n + 0.5) / d), 0, 0};
    qsort(modes, (size_t)d, sizeof(Mode), by_angle);
    for (int n = 0; n < d; n++) {
        poles[2 * n] = (float)creal(modes[n].pole);
        poles[2 * n + 1] = (float)cimag(modes[n].pole);
        residues[2 * n] = (float)creal(modes[n].residue);
        residues[2 * n + 1] = (float)cimag(modes[n].residue);
    }
    free(modes);
}

static int by_descending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

int hankel_singular_values(const float *h, long stride, int L, int max_n, double *sv) {
    int n = (L - 1) / 2 < max_n ? (L - 1) / 2 : max_n;
    if (n < 1) return 0;
    double *a = malloc(sizeof(double) * (size_t)n * n), total = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            a[(long)i * n + j] = h[(long)(i + j + 1) * stride];
            total += a[(long)i * n + j] * a[(long)i * n + j];
        }
    // Each rotation zeroes one off-diagonal pair (p, q); sweeps repeat until what is left off the
    // diagonal is negligible. The diagonal then holds the eigenvalues.
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = 0;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) off += 2 * a[(long)p * n + q] * a[(long)p * n + q];
        if (off <= 1e-24 * total || total == 0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                double apq = a[(long)p * n + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[(long)q * n + q] - a[(long)p * n + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) {  // columns p and q
                    double akp = a[(long)k * n + p], akq = a[(long)k * n + q];
                    a[(long)k * n + p] = c * akp - s * akq;
                    a[(long)k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) {  // rows p and q
                    double apk = a[(long)p * n + k], aqk = a[(long)q * n + k];
                    a[(long)p * n + k] = c * apk - s * aqk;
                    a[(long)q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (int i = 0; i < n; i++) sv[i] = fabs(a[(long)i * n + i]);
    qsort(sv, (size_t)n, sizeof(double), by_descending);
    free(a);
    return n;
}
