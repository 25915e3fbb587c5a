// fileio.h - reading and writing whole files without ever leaving a half-written one.
#ifndef HYENA_FILEIO_H
#define HYENA_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

// Write data to path atomically: to "path.tmp" first, fsync, then rename over path. A crash or
// kill at any moment leaves either the old file or the new one, never a mix. On failure prints
// one line naming the file and the reason, removes the temp file and returns false.
bool file_write_atomic(const char *path, const void *data, size_t size);

#endif
