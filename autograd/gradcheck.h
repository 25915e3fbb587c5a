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

#endif
