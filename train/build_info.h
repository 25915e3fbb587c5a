// build_info.h - what this binary is: compiler, version, flags, and the vector ISA in use.
#ifndef HYENA_BUILD_INFO_H
#define HYENA_BUILD_INFO_H

// For example "gcc 12.2.0 -O3 -march=native avx512f" or "clang 14.0.6 -O3 -march=x86-64-v3 avx2+fma".
// Every benchmark line carries it as "build", so that numbers from two builds cannot be confused.
const char *build_info(void);

#endif
