// fuzz_json.c - the JSON parser on any bytes.
#include <stdlib.h>

#include "../../train/json.h"
#include "fuzz.h"

int fuzz_json(const uint8_t *data, size_t size) {
    char err[200];
    JsonValue *v = json_parse((const char *)data, size, err, sizeof err);
    if (v == NULL && err[0] == '\0') abort();  // a rejection always says why
    json_free(v);
    return 0;
}
