// gradcheck.h - compare backward with central finite differences.
//
// build(tape, ctx) must construct the same computation every time it is called, from the
// variables in `wrt` (parameters made with ag_param, which gradcheck perturbs in place). Its
// output may have any shape: gradcheck checks the scalar L = sum_i w_i * out_i for fixed random
// weights w, so every output element takes part and a wrong gradient cannot hide behind a sum.
//
//   numeric  = (L(x + eps) - L(x - eps)) / (2 eps)        for each checked element of x
//   pass when |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|)
//
// In float32 the round-off of L is about 1e-7 |L|, so eps must not be tiny: 1e-2 keeps the
// truncation error (eps^2 * f''' / 6) and the round-off error (1e-7 |L| / eps) both near 1e-5.
#ifndef HYENA_GRADCHECK_H
#define HYENA_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "tape.h"

typedef Var *(*GradcheckBuild)(Tape *tape, void *ctx);

typedef struct GradcheckOptions {
    float eps;              // perturbation (default 1e-2)
    double atol, rtol;      // tolerances (default 1e-3 and 1e-2)
    int max_per_input;      // check at most this many elements of each input, spread evenly; 0 = all
    uint64_t seed;          // for the projection weights w
} GradcheckOptions;

typedef struct GradcheckReport {
    int n_checked, n_failed;
    double max_abs_error, max_rel_error;
    char worst[200];        // "x[3]: numeric 0.1234 analytic 0.1301" for the worst element
} GradcheckReport;

GradcheckOptions gradcheck_defaults(void);
// True when every checked element passes. report may be NULL.
bool gradcheck(GradcheckBuild build, void *ctx, Var *const *wrt, int n_wrt, const GradcheckOptions *options,
               GradcheckReport *report);

// The same computation written again in double, independently (plain loops): from the values of
// wrt in double (same order, same shapes) it writes build's output, n_out doubles.
typedef void (*GradcheckReference)(void *ctx, const double *const *inputs, double *out);

// Float32 finite differences cannot see a backward that is 1% wrong (the tolerances above must
// absorb float round-off divided by eps). A float64 twin removes that limit:
//   forward:   out vs reference(inputs)
//   backward:  the analytic gradient of L = sum_i w_i out_i  vs  central differences of the
//              twin's L in double (eps = 1e-6 max(1, |x|): truncation and round-off both below 1e-9)
// Both pass when |got - want| <= tol * (|want| + mean |want| over the tensor), so the tolerance
// measures only the op's own float32 round-off. forward and backward may be NULL.
typedef struct ReferenceTolerance {
    double forward, backward;   // default 5e-6 each: about 10x the worst round-off of any op in
                                // tests/test_reference.c (5.7e-7 forward, 4.1e-7 backward)
} ReferenceTolerance;

ReferenceTolerance reference_tolerance_defaults(void);
bool gradcheck_reference(GradcheckBuild build, GradcheckReference reference, void *ctx, Var *const *wrt, int n_wrt,
                         const ReferenceTolerance *tolerance, GradcheckReport *forward, GradcheckReport *backward);

#endif
