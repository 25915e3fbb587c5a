// build_info.c - the compiler, its version and flags, and the vector ISA this binary was built for.
//
// The flags come from the Makefile (-DHYENA_BUILD_FLAGS, this file only); the compiler and the
// ISA from the macros every compiler predefines, so they cannot disagree with the code they
// describe. Speed depends on all three: the same source is several times slower with SSE2 than
// with AVX-512 (see tensor/simd.h).
#include "build_info.h"

#include <stdio.h>

#include "../tensor/simd.h"

#ifndef HYENA_BUILD_FLAGS
#define HYENA_BUILD_FLAGS "(flags unknown)"
#endif

const char *build_info(void) {
    static char text[256];
    if (text[0] != '\0') return text;
#if defined(__apple_build_version__)
    const char *compiler = "apple-clang";
    int major = __clang_major__, minor = __clang_minor__, patch = __clang_patchlevel__;
#elif defined(__clang__)
    const char *compiler = "clang";
    int major = __clang_major__, minor = __clang_minor__, patch = __clang_patchlevel__;
#elif defined(__GNUC__)
    const char *compiler = "gcc";
    int major = __GNUC__, minor = __GNUC_MINOR__, patch = __GNUC_PATCHLEVEL__;
#else
    const char *compiler = "cc";
    int major = 0, minor = 0, patch = 0;
#endif
    snprintf(text, sizeof text, "%s %d.%d.%d %s %s", compiler, major, minor, patch, HYENA_BUILD_FLAGS,
             vec_isa_name());
    return text;
}
