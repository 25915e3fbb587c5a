// scratch_file.c - one temporary file per process, rewritten for each input.
#define _POSIX_C_SOURCE 200809L
#include "scratch_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[64];

static void remove_scratch(void) { unlink(path); }

const char *fuzz_scratch_file(const uint8_t *data, size_t size) {
    if (path[0] == '\0') {
        snprintf(path, sizeof path, "/tmp/hyena-fuzz-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
        atexit(remove_scratch);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    return path;
}
