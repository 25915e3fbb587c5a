// check_reference.h - reproduce a PyTorch reference run of the Hyena operator.
#ifndef HYENA_CHECK_REFERENCE_H
#define HYENA_CHECK_REFERENCE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct ReferenceResult {
    int n_compared, n_failed;
    double worst_rel;          // the largest max|ours - ref| / max|ref| over all tensors
    char worst_name[128];
} ReferenceResult;

#define REFERENCE_RTOL 1e-4   // float32 arithmetic against float64: measured errors are about 1e-6

// Load path, run the operator it describes forward and backward, compare the output, the input
// gradient and every parameter gradient. Writes a table to out (may be NULL). Returns false
// with a one-line message in err when the file cannot be used (missing tensor, bad metadata).
bool check_reference(const char *path, double rtol, FILE *out, ReferenceResult *result, char *err, size_t err_size);
int check_reference_main(int argc, char **argv);

#endif
