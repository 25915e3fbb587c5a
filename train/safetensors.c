// safetensors.c - a reader that trusts nothing in the file, and a writer.
#define _POSIX_C_SOURCE 200809L  // open_memstream
#include "safetensors.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json.h"

static bool fail(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return false;
}

static int dtype_size(const char *dtype) {
    static const struct { const char *name; int size; } types[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2},
        {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, dtype) == 0) return types[i].size;
    return 0;
}

static int compare_begin(const void *a, const void *b) {
    const StTensor *x = *(const StTensor *const *)a, *y = *(const StTensor *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

// One header entry -> StTensor, with every field checked.
static bool parse_entry(const char *name, const JsonValue *v, size_t data_size, StTensor *t, char *err, size_t es) {
    if (v->type != JSON_OBJECT) return fail(err, es, "tensor '%s': entry is not an object", name);
    for (size_t i = 0; i < v->length; i++)
        if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") && strcmp(v->keys[i], "data_offsets"))
            return fail(err, es, "tensor '%s': unknown field '%s'", name, v->keys[i]);
    const JsonValue *dtype = json_get(v, "dtype"), *shape = json_get(v, "shape"), *off = json_get(v, "data_offsets");
    if (!dtype || dtype->type != JSON_STRING) return fail(err, es, "tensor '%s': missing dtype", name);
    int esize = dtype_size(dtype->string);
    if (esize == 0) return fail(err, es, "tensor '%s': unknown dtype '%.16s'", name, dtype->string);
    snprintf(t->dtype, sizeof t->dtype, "%s", dtype->string);
    if (!shape || shape->type != JSON_ARRAY) return fail(err, es, "tensor '%s': missing shape", name);
    if (shape->length > ST_MAX_RANK) return fail(err, es, "tensor '%s': rank %zu above %d", name, shape->length, ST_MAX_RANK);
    t->rank = (int)shape->length;
    uint64_t numel = 1;
    for (size_t i = 0; i < shape->length; i++) {
        const JsonValue *d = &shape->items[i];
        if (d->type != JSON_NUMBER || !d->is_integer || d->integer < 0 || d->integer > ((int64_t)1 << 40))
            return fail(err, es, "tensor '%s': shape entry %zu is not a non-negative integer", name, i);
        t->shape[i] = d->integer;
        if (numel && (uint64_t)d->integer > UINT64_MAX / numel / 8)
            return fail(err, es, "tensor '%s': shape too large", name);
        numel *= (uint64_t)d->integer;
    }
    if (!off || off->type != JSON_ARRAY || off->length != 2) return fail(err, es, "tensor '%s': data_offsets must be [begin, end]", name);
    for (int i = 0; i < 2; i++)
        if (off->items[i].type != JSON_NUMBER || !off->items[i].is_integer || off->items[i].integer < 0)
            return fail(err, es, "tensor '%s': data_offsets must be non-negative integers", name);
    uint64_t begin = (uint64_t)off->items[0].integer, end = (uint64_t)off->items[1].integer;
    if (begin > end) return fail(err, es, "tensor '%s': data_offsets begin %llu > end %llu", name,
                                 (unsigned long long)begin, (unsigned long long)end);
    if (end > data_size) return fail(err, es, "tensor '%s': data_offsets end %llu beyond the %zu data bytes", name,
                                     (unsigned long long)end, data_size);
    if (end - begin != numel * (uint64_t)esize)
        return fail(err, es, "tensor '%s': shape needs %llu bytes but data_offsets give %llu", name,
                    (unsigned long long)(numel * (uint64_t)esize), (unsigned long long)(end - begin));
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return true;
}

bool st_parse(unsigned char *bytes, size_t size, Safetensors *st, char *err, size_t es) {
    memset(st, 0, sizeof *st);
    st->bytes = bytes;
    st->size = size;
    if (size < 8) return fail(err, es, "file too short for a safetensors header (%zu bytes)", size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | bytes[i];
    if (n < 2 || n > ST_MAX_HEADER || n > size - 8)
        return fail(err, es, "header length %llu is out of bounds for a %zu-byte file", (unsigned long long)n, size);
    if (bytes[8] != '{') return fail(err, es, "header does not start with '{'");
    char jerr[200];
    JsonValue *h = json_parse((const char *)bytes + 8, (size_t)n, jerr, sizeof jerr);
    if (h == NULL) return fail(err, es, "header is not valid JSON: %s", jerr);
    st->data_start = 8 + (size_t)n;
    size_t data_size = size - st->data_start;
    bool ok = h->type == JSON_OBJECT || fail(err, es, "header is not a JSON object");
    st->tensors = calloc(h->length ? h->length : 1, sizeof(StTensor));
    for (size_t i = 0; ok && i < h->length; i++) {
        if (strcmp(h->keys[i], "__metadata__") == 0) {
            const JsonValue *m = &h->items[i];
            if (m->type != JSON_OBJECT) {
                ok = fail(err, es, "__metadata__ is not an object");
                break;
            }
            st->meta_keys = calloc(m->length + 1, sizeof(char *));
            st->meta_values = calloc(m->length + 1, sizeof(char *));
            for (size_t k = 0; k < m->length; k++) {
                if (m->items[k].type != JSON_STRING) {
                    ok = fail(err, es, "__metadata__ value of '%s' is not a string", m->keys[k]);
                    break;
                }
                st->meta_keys[st->n_meta] = strdup(m->keys[k]);
                st->meta_values[st->n_meta++] = strdup(m->items[k].string);
            }
            continue;
        }
        StTensor *t = &st->tensors[st->n_tensors];
        ok = parse_entry(h->keys[i], &h->items[i], data_size, t, err, es);
        if (ok) {
            t->name = strdup(h->keys[i]);
            st->n_tensors++;
        }
    }
    json_free(h);
    if (!ok) return false;
    // Ranges must tile the data section exactly: no overlap, no hole, nothing left over.
    StTensor **sorted = malloc(sizeof(StTensor *) * (st->n_tensors ? st->n_tensors : 1));
    for (int i = 0; i < st->n_tensors; i++) sorted[i] = &st->tensors[i];
    qsort(sorted, (size_t)st->n_tensors, sizeof *sorted, compare_begin);
    size_t expect = 0;
    for (int i = 0; i < st->n_tensors && ok; i++) {
        if (sorted[i]->begin < expect)
            ok = fail(err, es, "tensors '%s' and '%s' overlap", sorted[i - 1]->name, sorted[i]->name);
        else if (sorted[i]->begin > expect)
            ok = fail(err, es, "a hole of %zu bytes precedes tensor '%s'", sorted[i]->begin - expect, sorted[i]->name);
        expect = sorted[i]->end > expect ? sorted[i]->end : expect;
    }
    if (ok && expect != data_size) ok = fail(err, es, "%zu bytes after the last tensor belong to none", data_size - expect);
    free(sorted);
    return ok;
}

bool st_load(const char *path, Safetensors *st, char *err, size_t es) {
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return fail(err, es, "cannot open %s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return fail(err, es, "cannot read %s: not a regular file", path);
    }
    long size = ftell(f);
    if (size < 0) {
        fclose(f);
        return fail(err, es, "cannot read %s: not a regular file", path);
    }
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size + 1);
    if (bytes == NULL) {
        fclose(f);
        return fail(err, es, "cannot read %s: its %ld bytes do not fit in memory", path, size);
    }
    size_t got = fread(bytes, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(bytes);
        return fail(err, es, "cannot read %s: %ld bytes when opened, %zu when read (did it change meanwhile?)", path,
                    size, got);
    }
    char inner[300];
    if (!st_parse(bytes, (size_t)size, st, inner, sizeof inner)) {
        st_free(st);
        return fail(err, es, "%s: %s", path, inner);
    }
    return true;
}

void st_free(Safetensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < st->n_meta; i++) {
        free(st->meta_keys[i]);
        free(st->meta_values[i]);
    }
    free(st->tensors);
    free(st->meta_keys);
    free(st->meta_values);
    free(st->bytes);
    memset(st, 0, sizeof *st);
}

const StTensor *st_find(const Safetensors *st, const char *name) {
    for (int i = 0; i < st->n_tensors; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *st_meta(const Safetensors *st, const char *key) {
    for (int i = 0; i < st->n_meta; i++)
        if (strcmp(st->meta_keys[i], key) == 0) return st->meta_values[i];
    return NULL;
}

bool st_meta_int(const Safetensors *st, const char *key, int *out, int lo, int hi, char *err, size_t es) {
    const char *v = st_meta(st, key);
    char *end = NULL;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (v == NULL || errno || end == v || *end || x < lo || x > hi)
        return fail(err, es, "metadata '%s' is %s, expected an integer in [%d, %d]", key, v ? v : "missing", lo, hi);
    *out = (int)x;
    return true;
}

bool st_meta_float(const Safetensors *st, const char *key, float *out, char *err, size_t es) {
    const char *v = st_meta(st, key);
    char *end = NULL;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (v == NULL || errno || end == v || *end || x != x || x > 3.4e38 || x < -3.4e38)
        return fail(err, es, "metadata '%s' is %s, expected a number", key, v ? v : "missing");
    *out = (float)x;
    return true;
}

// Shapes equal up to dimensions of size 1 ([1, 64, 5] matches [64, 5]).
static bool same_shape_ignoring_ones(const StTensor *t, int rank, const int *shape) {
    int i = 0, j = 0;
    for (;;) {
        while (i < t->rank && t->shape[i] == 1) i++;
        while (j < rank && shape[j] == 1) j++;
        if (i == t->rank || j == rank) return i == t->rank && j == rank;
        if (t->shape[i] != shape[j]) return false;
        i++;
        j++;
    }
}

bool st_read_f32(const Safetensors *st, const char *name, float *dst, int rank, const int *shape, char *err,
                 size_t es) {
    const StTensor *t = st_find(st, name);
    if (t == NULL) return fail(err, es, "tensor '%s' is missing", name);
    if (strcmp(t->dtype, "F32") != 0) return fail(err, es, "tensor '%s' is %s, expected F32", name, t->dtype);
    if (!same_shape_ignoring_ones(t, rank, shape)) {
        char want[96] = "", have[96] = "";
        for (int i = 0; i < rank; i++) snprintf(want + strlen(want), sizeof want - strlen(want), i ? ", %d" : "%d", shape[i]);
        for (int i = 0; i < t->rank; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), i ? ", %lld" : "%lld", (long long)t->shape[i]);
        return fail(err, es, "tensor '%s' has shape [%s], expected [%s]", name, have, want);
    }
    // Little-endian on disk; this also works on a big-endian host.
    const unsigned char *src = st->bytes + st->data_start + t->begin;
    size_t count = (t->end - t->begin) / 4;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)src[4 * i] | (uint32_t)src[4 * i + 1] << 8 | (uint32_t)src[4 * i + 2] << 16 |
                        (uint32_t)src[4 * i + 3] << 24;
        memcpy(&dst[i], &bits, 4);
    }
    return true;
}

// ---------------------------------------------------------------- writing

void st_writer_init(StWriter *w) { memset(w, 0, sizeof *w); }

void st_writer_add(StWriter *w, const char *name, int rank, const int *shape, const float *data) {
    if (w->n_entries == w->cap_entries) {
        w->cap_entries = w->cap_entries ? 2 * w->cap_entries : 16;
        w->entries = realloc(w->entries, (size_t)w->cap_entries * sizeof(StEntry));
    }
    StEntry *e = &w->entries[w->n_entries++];
    e->name = name;
    e->rank = rank;
    for (int i = 0; i < rank; i++) e->shape[i] = shape[i];
    e->data = data;
}

void st_writer_meta(StWriter *w, const char *key, const char *value) {
    w->meta_keys = realloc(w->meta_keys, (size_t)(w->n_meta + 1) * sizeof(char *));
    w->meta_values = realloc(w->meta_values, (size_t)(w->n_meta + 1) * sizeof(char *));
    w->meta_keys[w->n_meta] = strdup(key);
    w->meta_values[w->n_meta++] = strdup(value);
}

static void write_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

static size_t entry_bytes(const StEntry *e) {
    size_t n = 4;
    for (int i = 0; i < e->rank; i++) n *= (size_t)e->shape[i];
    return n;
}

bool st_writer_save(const StWriter *w, const char *path) {
    char *header = NULL, *file = NULL;
    size_t header_size = 0;
    FILE *f = open_memstream(&header, &header_size);
    fputc('{', f);
    if (w->n_meta > 0) {
        fputs("\"__metadata__\":{", f);
        for (int i = 0; i < w->n_meta; i++) {
            if (i) fputc(',', f);
            write_json_string(f, w->meta_keys[i]);
            fputc(':', f);
            write_json_string(f, w->meta_values[i]);
        }
        fputc('}', f);
    }
    size_t offset = 0;
    for (int i = 0; i < w->n_entries; i++) {
        const StEntry *e = &w->entries[i];
        if (i || w->n_meta > 0) fputc(',', f);
        write_json_string(f, e->name);
        fputs(":{\"dtype\":\"F32\",\"shape\":[", f);
        for (int d = 0; d < e->rank; d++) fprintf(f, d ? ",%lld" : "%lld", (long long)e->shape[d]);
        fprintf(f, "],\"data_offsets\":[%zu,%zu]}", offset, offset + entry_bytes(e));
        offset += entry_bytes(e);
    }
    fputc('}', f);
    while ((ftell(f) % 8) != 0) fputc(' ', f);  // pad so the data starts 8-byte aligned
    fclose(f);
    size_t total = 8 + header_size + offset;
    file = malloc(total);
    for (int i = 0; i < 8; i++) file[i] = (char)((uint64_t)header_size >> (8 * i));
    memcpy(file + 8, header, header_size);
    size_t at = 8 + header_size;
    for (int i = 0; i < w->n_entries; i++) {
        const StEntry *e = &w->entries[i];
        size_t count = entry_bytes(e) / 4;
        for (size_t k = 0; k < count; k++) {
            uint32_t bits;
            memcpy(&bits, &e->data[k], 4);
            for (int b = 0; b < 4; b++) file[at++] = (char)(bits >> (8 * b));
        }
    }
    bool ok = file_write_atomic(path, file, total);
    free(header);
    free(file);
    return ok;
}

void st_writer_free(StWriter *w) {
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta_keys[i]);
        free(w->meta_values[i]);
    }
    free(w->meta_keys);
    free(w->meta_values);
    free(w->entries);
    memset(w, 0, sizeof *w);
}
