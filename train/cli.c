// cli.c - strict number parsing: "12x", "", "1e3" and out-of-range values are errors, not 0.
#define _POSIX_C_SOURCE 200809L  // clock_gettime
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool cli_parse_int(const char *text, int *out, int lo, int hi, const char *flag) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "hyena: %s expects an integer in [%d, %d], got '%s'\n", flag, lo, hi, text);
        return false;
    }
    *out = (int)v;
    return true;
}

bool cli_parse_float(const char *text, float *out, float lo, float hi, const char *flag) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    // Compared as the float it becomes: the double 0.9 is above 0.9f, and would refuse the bound.
    if (errno || end == text || *end || !isfinite(v) || (float)v < lo || (float)v > hi) {
        fprintf(stderr, "hyena: %s expects a number in [%g, %g], got '%s'\n", flag, lo, hi, text);
        return false;
    }
    *out = (float)v;
    return true;
}

int cli_parse_int_list(const char *text, int *out, int max, int lo, int hi, const char *flag) {
    char buf[256];
    if (strlen(text) >= sizeof buf) {
        fprintf(stderr, "hyena: %s: list too long\n", flag);
        return -1;
    }
    strcpy(buf, text);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == max) {
            fprintf(stderr, "hyena: %s takes at most %d values\n", flag, max);
            return -1;
        }
        if (!cli_parse_int(tok, &out[n], lo, hi, flag)) return -1;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "hyena: %s expects a comma-separated list of integers, got '%s'\n", flag, text);
        return -1;
    }
    return n;
}

double cli_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
