// fileio.c - temp file, fsync, rename: the one way hyena.c writes files.
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool file_write_atomic(const char *path, const void *data, size_t size) {
    size_t len = strlen(path);
    char *tmp = malloc(len + 5);
    if (tmp == NULL) {
        fprintf(stderr, "hyena: out of memory writing %s\n", path);
        return false;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "hyena: cannot write %s: %s\n", path, strerror(errno));
        free(tmp);
        return false;
    }
    const char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "hyena: cannot write %s: %s\n", path, n < 0 ? strerror(errno) : "short write");
            close(fd);
            unlink(tmp);
            free(tmp);
            return false;
        }
        p += n;
        left -= (size_t)n;
    }
    // fsync before rename: otherwise a crash can leave the new name pointing at empty blocks.
    if (fsync(fd) != 0 || close(fd) != 0) {
        fprintf(stderr, "hyena: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return false;
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "hyena: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return false;
    }
    free(tmp);
    return true;
}
