// libfuzzer_main.c - libFuzzer's entry point for one target, chosen when compiling
// (make fuzz: -DFUZZ_TARGET=fuzz_json, ...).
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return FUZZ_TARGET(data, size); }
