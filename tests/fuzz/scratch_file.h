// scratch_file.h - for targets whose input is a file: the bytes written to a temporary file,
// the same path for every input of one process.
#ifndef HYENA_FUZZ_SCRATCH_FILE_H
#define HYENA_FUZZ_SCRATCH_FILE_H

#include <stddef.h>
#include <stdint.h>

const char *fuzz_scratch_file(const uint8_t *data, size_t size);  // aborts if it cannot write

#endif
