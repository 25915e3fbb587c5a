// distill.h - `hyena distill`: from a trained model's long filters to small recurrences.
//
// Every long filter of every Hyena layer is replaced by d complex modes (autograd/modal.h),
//   h[t] ≈ Re sum_{n<d} R_n λ_n^t,
// fitted in two stages: Prony's method for a starting point (hyena/prony.h), then AdamW on the
// filter error through the toolkit's own autodiff (ag_modal_filter), the poles kept inside the
// unit circle by their parameterization. The distilled model evaluates with the same FFT
// convolutions and generates with the recurrence, in memory that does not grow with the text
// (hyena/generate.h). The idea: Massaroli et al. 2023, "Laughing Hyena Distillery".
#ifndef HYENA_DISTILL_H
#define HYENA_DISTILL_H

typedef struct DistillOptions {
    int order;     // d, complex modes per filter
    int steps;     // AdamW steps after Prony (0: Prony alone)
    float lr;      // AdamW's peak learning rate (cosine to a hundredth of it)
} DistillOptions;

DistillOptions distill_options_default(int order);   // 500 steps, lr 3e-3

// Fits o->order modes to each of the C filters h: [L, C] (column c is one filter). Writes
// poles and residues [C, order, 2] (λ and R as (re, im)) and returns the relative L2 error
// |ĥ - h| / |h| over all the filters: the best one seen (Prony's start included).
double distill_fit(const float *h, int L, int C, const DistillOptions *o, float *poles, float *residues);

int distill_main(int argc, char **argv);

#endif
