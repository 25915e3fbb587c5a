// cli.h - parsing flag values with errors a person can act on.
#ifndef HYENA_CLI_H
#define HYENA_CLI_H

#include <stdbool.h>

// Parse a whole decimal integer in [lo, hi]. On failure prints
// "hyena: --flag expects an integer in [lo, hi], got 'text'" and returns false.
bool cli_parse_int(const char *text, int *out, int lo, int hi, const char *flag);
// Parse a finite decimal number whose float value is in [lo, hi]; on failure prints
// "hyena: --flag expects a number in [lo, hi], got 'text'" and returns false.
bool cli_parse_float(const char *text, float *out, float lo, float hi, const char *flag);
// Parse "1,2,4" into out[0..max); returns the count, or -1 after printing an error.
int cli_parse_int_list(const char *text, int *out, int max, int lo, int hi, const char *flag);
// Seconds on a monotonic clock, for progress lines and timings (differences only).
double cli_seconds(void);

#endif
