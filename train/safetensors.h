// safetensors.h - the safetensors file format: read (validating everything) and write.
//
// Layout: 8 bytes little-endian N, then N bytes of JSON header, then the data. The header maps
// each tensor name to {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]} (offsets
// relative to the end of the header) and may hold "__metadata__": {string: string}.
// The reader rejects, with a message naming the problem: a file shorter than its header, a
// header length out of bounds, invalid JSON, duplicate names, unknown dtypes, shapes whose size
// does not match their byte range, ranges outside the data, overlapping ranges, holes, and
// metadata that is not string-to-string. A corrupt file is an error, never a crash.
#ifndef HYENA_SAFETENSORS_H
#define HYENA_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_RANK 8
#define ST_MAX_HEADER (100u << 20)

typedef struct StTensor {
    char *name;
    char dtype[8];
    int rank;
    int64_t shape[ST_MAX_RANK];
    size_t begin, end;      // byte range within the data section
} StTensor;

typedef struct Safetensors {
    unsigned char *bytes;   // the whole file
    size_t size;
    size_t data_start;      // 8 + N
    StTensor *tensors;
    int n_tensors;
    char **meta_keys, **meta_values;
    int n_meta;
} Safetensors;

// Parse a file already in memory. The Safetensors takes ownership of bytes; call st_free after
// success and failure alike.
bool st_parse(unsigned char *bytes, size_t size, Safetensors *st, char *err, size_t err_size);
bool st_load(const char *path, Safetensors *st, char *err, size_t err_size);
void st_free(Safetensors *st);

const StTensor *st_find(const Safetensors *st, const char *name);
const char *st_meta(const Safetensors *st, const char *key);   // NULL when absent
// Metadata values parsed strictly: false with "metadata 'key' is ..., expected ..." in err.
bool st_meta_int(const Safetensors *st, const char *key, int *out, int lo, int hi, char *err, size_t err_size);
bool st_meta_float(const Safetensors *st, const char *key, float *out, char *err, size_t err_size);
// Copy float32 tensor `name` into dst after checking that it exists, is F32 and has exactly
// the given shape (shape entries of 1 may be dropped or added: [1, 64, 5] reads as [64, 5]).
bool st_read_f32(const Safetensors *st, const char *name, float *dst, int rank, const int *shape, char *err,
                 size_t err_size);

// ---- writing

typedef struct StEntry {
    const char *name;       // not copied: must outlive the writer
    int rank;
    int64_t shape[ST_MAX_RANK];
    const float *data;      // not copied
} StEntry;

typedef struct StWriter {
    StEntry *entries;
    int n_entries, cap_entries;
    char **meta_keys, **meta_values;  // copied
    int n_meta;
} StWriter;

void st_writer_init(StWriter *w);
void st_writer_add(StWriter *w, const char *name, int rank, const int *shape, const float *data);
void st_writer_meta(StWriter *w, const char *key, const char *value);
// Write atomically (temp file, fsync, rename). Prints a one-line error and returns false on failure.
bool st_writer_save(const StWriter *w, const char *path);
void st_writer_free(StWriter *w);

#endif
