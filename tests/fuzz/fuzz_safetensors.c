// fuzz_safetensors.c - the safetensors reader on any bytes; what it accepts must be readable.
#include <stdlib.h>
#include <string.h>

#include "../../train/safetensors.h"
#include "fuzz.h"

int fuzz_safetensors(const uint8_t *data, size_t size) {
    unsigned char *bytes = malloc(size ? size : 1);  // st_parse takes ownership
    memcpy(bytes, data, size);
    Safetensors st;
    char err[300];
    if (st_parse(bytes, size, &st, err, sizeof err)) {
        // Accepted: every F32 tensor reads with its own shape, and metadata looks up by key.
        for (int i = 0; i < st.n_tensors; i++) {
            const StTensor *t = &st.tensors[i];
            if (st_find(&st, t->name) != t) abort();
            if (strcmp(t->dtype, "F32") != 0) continue;
            int shape[ST_MAX_RANK];
            for (int d = 0; d < t->rank; d++) shape[d] = (int)t->shape[d];
            float *dst = malloc(t->end - t->begin + 1);
            if (!st_read_f32(&st, t->name, dst, t->rank, shape, err, sizeof err)) abort();
            free(dst);
        }
        for (int i = 0; i < st.n_meta; i++)
            if (st_meta(&st, st.meta_keys[i]) == NULL) abort();
    }
    st_free(&st);
    return 0;
}
