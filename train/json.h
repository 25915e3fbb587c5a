// json.h - a small strict JSON parser (RFC 8259), enough for safetensors headers.
//
// Values live in one malloc'd tree freed with json_free. Parsing rejects anything a strict
// parser would: trailing commas, unquoted keys, bad escapes, control characters in strings,
// leading zeros, trailing garbage, nesting deeper than JSON_MAX_DEPTH, and duplicate keys in
// an object (ambiguous in a file that names tensors).
#ifndef HYENA_JSON_H
#define HYENA_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_MAX_DEPTH 64

typedef enum JsonType { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct JsonValue {
    JsonType type;
    bool boolean;
    double number;
    bool is_integer;          // the text was an integer literal that fits in long long
    long long integer;
    char *string;             // JSON_STRING: NUL-terminated UTF-8 (may contain no NUL)
    size_t length;            // string length, or number of items/members
    struct JsonValue *items;  // JSON_ARRAY: length items; JSON_OBJECT: length values
    char **keys;              // JSON_OBJECT: length keys, in file order
} JsonValue;

// Parse text[0..size). On error returns NULL and writes a message with the byte offset to err.
JsonValue *json_parse(const char *text, size_t size, char *err, size_t err_size);
void json_free(JsonValue *v);
// The member named key of an object, or NULL.
const JsonValue *json_get(const JsonValue *object, const char *key);

#endif
