// flops.c - the operation counter of flops.h.
#include "flops.h"

#include <stdatomic.h>

// Whole operations in an integer, so concurrent adds from worker threads never lose precision.
static atomic_ullong count;

void flops_add(double n) { atomic_fetch_add_explicit(&count, (unsigned long long)n, memory_order_relaxed); }

double flops_count(void) { return (double)atomic_load_explicit(&count, memory_order_relaxed); }
