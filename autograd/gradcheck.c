// gradcheck.c - finite differences, one element at a time.
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tensor/rng.h"

GradcheckOptions gradcheck_defaults(void) {
    return (GradcheckOptions){.eps = 1e-2f, .atol = 1e-3, .rtol = 1e-2, .max_per_input = 0, .seed = 1234};
}

// L = sum_i w_i out_i, in double, with the tape not recording.
static double projected_loss(GradcheckBuild build, void *ctx, Tape *tape, const float *w) {
    tape_reset(tape);
    tape->recording = false;
    Var *out = build(tape, ctx);
    double L = 0.0;
    for (size_t i = 0; i < out->value.size; i++) L += (double)w[i] * out->value.data[i];
    return L;
}

// One forward and one backward seeded with fixed random weights w (returned: out's size of them),
// so that each wrt[v]->grad holds the analytic gradient of L = sum_i w_i out_i.
static float *analytic_gradients(GradcheckBuild build, void *ctx, Var *const *wrt, int n_wrt, Tape *tape,
                                 uint64_t seed, Var **out) {
    ag_zero_grad(wrt, n_wrt);
    *out = build(tape, ctx);
    size_t n_out = (*out)->value.size;
    float *w = malloc(n_out * sizeof(float));
    Rng rng = rng_new(seed);
    for (size_t i = 0; i < n_out; i++) w[i] = n_out == 1 ? 1.0f : rng_uniform_range(&rng, -1.0f, 1.0f);
    ag_backward(tape, *out, w);
    return w;
}

bool gradcheck(GradcheckBuild build, void *ctx, Var *const *wrt, int n_wrt, const GradcheckOptions *options,
               GradcheckReport *report) {
    GradcheckOptions opt = options ? *options : gradcheck_defaults();
    GradcheckReport rep = {0};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);

    Var *out;
    float *w = analytic_gradients(build, ctx, wrt, n_wrt, &tape, opt.seed, &out);
    float **analytic = malloc((size_t)n_wrt * sizeof(float *));
    for (int v = 0; v < n_wrt; v++) {
        analytic[v] = malloc(wrt[v]->value.size * sizeof(float));
        memcpy(analytic[v], wrt[v]->grad, wrt[v]->value.size * sizeof(float));
    }

    for (int v = 0; v < n_wrt; v++) {
        long size = (long)wrt[v]->value.size;
        long step = opt.max_per_input > 0 && size > opt.max_per_input ? size / opt.max_per_input : 1;
        for (long i = 0; i < size; i += step) {
            float *x = &wrt[v]->value.data[i];
            float saved = *x;
            *x = saved + opt.eps;
            double plus = projected_loss(build, ctx, &tape, w);
            *x = saved - opt.eps;
            double minus = projected_loss(build, ctx, &tape, w);
            *x = saved;
            double numeric = (plus - minus) / (2.0 * (double)opt.eps);
            double ana = analytic[v][i];
            double err = fabs(numeric - ana);
            double scale = fmax(fabs(numeric), fabs(ana));
            double rel = scale > 0 ? err / scale : 0.0;
            bool ok = err <= opt.atol + opt.rtol * scale;
            rep.n_checked++;
            if (!ok) rep.n_failed++;
            if (err > rep.max_abs_error) {
                rep.max_abs_error = err;
                snprintf(rep.worst, sizeof rep.worst, "%s[%ld]: numeric %.6g analytic %.6g",
                         wrt[v]->name ? wrt[v]->name : "?", i, numeric, ana);
            }
            if (rel > rep.max_rel_error && err > opt.atol) rep.max_rel_error = rel;
        }
    }

    for (int v = 0; v < n_wrt; v++) free(analytic[v]);
    free(analytic);
    free(w);
    arena_free(&arena);
    if (report) *report = rep;
    return rep.n_failed == 0;
}

// ---------------------------------------------------------------- against a float64 twin

ReferenceTolerance reference_tolerance_defaults(void) { return (ReferenceTolerance){.forward = 5e-6, .backward = 5e-6}; }

// Compares got[i] with want[i] for one tensor, adding to the report.
static void compare_to_reference(GradcheckReport *rep, const char *what, const float *got, const double *want, long n,
                                 double tol) {
    double mean_abs = 0.0;
    for (long i = 0; i < n; i++) mean_abs += fabs(want[i]);
    mean_abs = n > 0 ? mean_abs / (double)n : 0.0;
    for (long i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        double scale = fabs(want[i]) + mean_abs;
        rep->n_checked++;
        if (err > tol * scale) rep->n_failed++;
        double rel = scale > 0 ? err / scale : (err > 0 ? INFINITY : 0.0);
        if (rel > rep->max_rel_error || (rep->worst[0] == '\0' && n > 0)) {
            rep->max_rel_error = rel;
            snprintf(rep->worst, sizeof rep->worst, "%s[%ld]: want %.9g got %.9g (error %.2g of scale)", what, i,
                     want[i], (double)got[i], rel);
        }
        if (err > rep->max_abs_error) rep->max_abs_error = err;
    }
}

static double reference_loss(GradcheckReference reference, void *ctx, double *const *inputs, double *out,
                             const float *w, size_t n_out) {
    reference(ctx, (const double *const *)inputs, out);
    double L = 0.0;
    for (size_t i = 0; i < n_out; i++) L += (double)w[i] * out[i];
    return L;
}

bool gradcheck_reference(GradcheckBuild build, GradcheckReference reference, void *ctx, Var *const *wrt, int n_wrt,
                         const ReferenceTolerance *tolerance, GradcheckReport *forward, GradcheckReport *backward) {
    ReferenceTolerance tol = tolerance ? *tolerance : reference_tolerance_defaults();
    GradcheckReport fwd = {0}, bwd = {0};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);

    // The op in float32: its output, and its gradients for fixed random weights w.
    Var *out;
    float *w = analytic_gradients(build, ctx, wrt, n_wrt, &tape, 4321, &out);
    size_t n_out = out->value.size;

    // The twin in double, from the same inputs.
    double **inputs = malloc((size_t)n_wrt * sizeof(double *));
    for (int v = 0; v < n_wrt; v++) {
        inputs[v] = malloc(wrt[v]->value.size * sizeof(double));
        for (size_t i = 0; i < wrt[v]->value.size; i++) inputs[v][i] = wrt[v]->value.data[i];
    }
    double *ref_out = malloc(n_out * sizeof(double));
    reference(ctx, (const double *const *)inputs, ref_out);
    compare_to_reference(&fwd, "out", out->value.data, ref_out, (long)n_out, tol.forward);

    for (int v = 0; v < n_wrt; v++) {
        long size = (long)wrt[v]->value.size;
        double *numeric = malloc((size_t)size * sizeof(double));
        for (long i = 0; i < size; i++) {
            double saved = inputs[v][i];
            double eps = 1e-6 * fmax(1.0, fabs(saved));
            inputs[v][i] = saved + eps;
            double plus = reference_loss(reference, ctx, inputs, ref_out, w, n_out);
            inputs[v][i] = saved - eps;
            double minus = reference_loss(reference, ctx, inputs, ref_out, w, n_out);
            inputs[v][i] = saved;
            numeric[i] = (plus - minus) / (2.0 * eps);
        }
        char what[64];
        snprintf(what, sizeof what, "grad %s", wrt[v]->name ? wrt[v]->name : "?");
        compare_to_reference(&bwd, what, wrt[v]->grad, numeric, size, tol.backward);
        free(numeric);
    }

    for (int v = 0; v < n_wrt; v++) free(inputs[v]);
    free(inputs);
    free(ref_out);
    free(w);
    arena_free(&arena);
    if (forward) *forward = fwd;
    if (backward) *backward = bwd;
    return fwd.n_failed == 0 && bwd.n_failed == 0;
}
