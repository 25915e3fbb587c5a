// op_modal.c - the modal filter h[t] = Re sum_n R_n λ_n^t, and its gradients for fitting.
//
// With p_t = R λ^t and λ = exp(s), s = -exp(log_rate) + i angle, so that d(λ^t) = t λ^t ds:
//   dh[t]/dRe(R)     =  Re(λ^t)          dh[t]/dIm(R)  = -Im(λ^t)
//   dh[t]/dlog_rate  = -exp(log_rate) t Re(p_t)
//   dh[t]/dangle     = -t Im(p_t)
// Each (channel, mode) pair is a sum over t of g[t] times one of these: threads take channels.
#include <complex.h>
#include <math.h>
#include <string.h>

#include "../tensor/pool.h"
#include "modal.h"
#include "ops.h"

typedef struct ModalJob {
    float *h;                            // forward: [L, C]
    const float *poles, *residues;       // [C, d, 2]
    const float *log_rate;               // backward: [C, d]
    const float *g;                      // backward: d loss / d h, [L, C]
    float *g_rate, *g_angle, *g_res;     // backward: NULL when not wanted
    int C, d, L;
} ModalJob;

static double complex load_complex(const float *p) { return p[0] + I * (double)p[1]; }

// All d modes of a channel advance together, one step of t at a time: each p_n *= λ_n depends
// on the previous step of the same mode only, so the d chains overlap in the pipeline (mode after
// mode, each chain waits out a complex multiply's latency at every step: measured at L = 16384,
// d = 16, 4 layers, that took about 330 ms of a 870 ms forward pass; now about 25 ms of 425).
// The sum over modes still runs n = 0, 1, ... for every t.
static void modal_forward_channels(void *ctx, long begin, long end) {
    const ModalJob *j = ctx;
    int d = j->d;
    double *buf = (double *)pool_scratch(8 * (size_t)d);
    double *lr = buf, *li = buf + d, *pr = buf + 2 * d, *pi = buf + 3 * d;
    for (long c = begin; c < end; c++) {
        for (int n = 0; n < d; n++) {
            const float *l = j->poles + (c * d + n) * 2, *r = j->residues + (c * d + n) * 2;
            lr[n] = l[0], li[n] = l[1], pr[n] = r[0], pi[n] = r[1];  // p = R λ^0
        }
        for (int t = 0; t < j->L; t++) {
            double sum = 0;
            for (int n = 0; n < d; n++) sum += pr[n];
            for (int n = 0; n < d; n++) {  // p *= λ
                double re = pr[n] * lr[n] - pi[n] * li[n];
                pi[n] = pr[n] * li[n] + pi[n] * lr[n];
                pr[n] = re;
            }
            j->h[(long)t * j->C + c] = (float)sum;
        }
    }
}

void modal_filter_forward(float *h, const float *poles, const float *residues, int C, int d, int L) {
    ModalJob j = {.h = h, .poles = poles, .residues = residues, .C = C, .d = d, .L = L};
    parallel_for(C, 1, modal_forward_channels, &j);
}

void modal_scan(float *y, const float *u, const float *poles, const float *residues, const float *bias, float *state,
                long L, int C, int d) {
    for (long t = 0; t < L; t++)
        for (int c = 0; c < C; c++) {
            float v = u[t * C + c], acc = bias[c] * v;
            for (int n = 0; n < d; n++) {
                long k = ((long)c * d + n) * 2;
                const float *l = poles + k, *r = residues + k;
                float *x = state + k;
                float re = l[0] * x[0] - l[1] * x[1] + v, im = l[0] * x[1] + l[1] * x[0];  // λ x + v
                x[0] = re;
                x[1] = im;
                acc += r[0] * re - r[1] * im;  // Re(R x)
            }
            y[t * C + c] = acc;
        }
}

void modal_pole(float log_rate, float angle, float pole[2]) {
    double complex lambda = cexp(-exp((double)log_rate) + I * (double)angle);
    pole[0] = (float)creal(lambda);
    pole[1] = (float)cimag(lambda);
}

static void modal_backward_channels(void *ctx, long begin, long end) {
    const ModalJob *j = ctx;
    for (long c = begin; c < end; c++)
        for (int n = 0; n < j->d; n++) {
            long k = c * j->d + n;
            double complex lambda = load_complex(j->poles + k * 2), r = load_complex(j->residues + k * 2);
            double complex q = 1;  // λ^t
            double s_re = 0, s_im = 0, s_rate = 0, s_angle = 0;
            for (int t = 0; t < j->L; t++) {
                double g = j->g[(long)t * j->C + c];
                double complex p = r * q;
                s_re += g * creal(q);
                s_im -= g * cimag(q);
                s_rate += g * t * creal(p);
                s_angle -= g * t * cimag(p);
                q *= lambda;
            }
            if (j->g_res) {
                j->g_res[k * 2] += (float)s_re;
                j->g_res[k * 2 + 1] += (float)s_im;
            }
            if (j->g_rate) j->g_rate[k] += (float)(-exp((double)j->log_rate[k]) * s_rate);
            if (j->g_angle) j->g_angle[k] += (float)s_angle;
        }
}

static void modal_filter_backward(Node *node) {
    Var *log_rate = node->in[0], *angle = node->in[1], *residues = node->in[2];
    ModalJob j = {.poles = node->saved[0].data, .residues = residues->value.data, .log_rate = log_rate->value.data,
                  .g = node->out->grad, .g_rate = log_rate->requires_grad ? log_rate->grad : NULL,
                  .g_angle = angle->requires_grad ? angle->grad : NULL,
                  .g_res = residues->requires_grad ? residues->grad : NULL, .C = residues->value.shape[0],
                  .d = residues->value.shape[1], .L = node->out->value.shape[0]};
    parallel_for(j.C, 1, modal_backward_channels, &j);
}

Var *ag_modal_filter(Tape *tape, Var *log_rate, Var *angle, Var *residues, int L) {
    const Tensor *r = &residues->value;
    if (r->rank != 3 || r->shape[2] != 2)
        ag_shape_error("modal_filter", "residues must be [C, d, 2]", &log_rate->value, r);
    int C = r->shape[0], d = r->shape[1];
    if (log_rate->value.size != (size_t)C * d || angle->value.size != (size_t)C * d)
        ag_shape_error("modal_filter", "log_rate and angle must be [C, d]", &log_rate->value, r);
    // The poles, once: the forward pass and the backward pass both run on them.
    Tensor poles = tensor_new(tape->arena, 3, (int[]){C, d, 2});
    for (long k = 0; k < (long)C * d; k++) modal_pole(log_rate->value.data[k], angle->value.data[k], poles.data + 2 * k);
    Var *h = ag_new_var(tape, 2, (int[]){L, C}, "modal_filter");
    modal_filter_forward(h->value.data, poles.data, r->data, C, d, L);
    Node *n = ag_record(tape, "modal_filter", modal_filter_backward, h, 3, (Var *[]){log_rate, angle, residues});
    if (n) n->saved[0] = poles;
    return h;
}
