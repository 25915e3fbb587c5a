// json.c - recursive descent over the JSON grammar.
#include "json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Parser {
    const char *s;
    size_t n, pos;
    char *err;
    size_t err_size;
    bool failed;
} Parser;

static void fail(Parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = true;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->err_size, "%s at byte %zu", msg, p->pos);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static bool literal(Parser *p, const char *word) {
    size_t len = strlen(word);
    if (p->n - p->pos < len || memcmp(p->s + p->pos, word, len) != 0) return false;
    p->pos += len;
    return true;
}

static void free_contents(JsonValue *v);
static bool parse_value(Parser *p, JsonValue *out, int depth);

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(Parser *p, unsigned *out) {
    if (p->n - p->pos < 4) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p->s[p->pos + i]);
        if (d < 0) return false;
        v = v * 16 + (unsigned)d;
    }
    p->pos += 4;
    *out = v;
    return true;
}

// Parses a string starting at the opening quote into a malloc'd UTF-8 buffer.
static char *parse_string(Parser *p, size_t *len_out) {
    p->pos++;  // the opening quote
    size_t cap = 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (p->pos >= p->n) {
            fail(p, "unterminated string");
            break;
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            buf[len] = '\0';
            *len_out = len;
            return buf;
        }
        if (c < 0x20) {
            fail(p, "control character in string");
            break;
        }
        if (len + 5 > cap) buf = realloc(buf, cap *= 2);
        if (c != '\\') {
            buf[len++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        if (p->pos >= p->n) {
            fail(p, "unterminated escape");
            break;
        }
        char e = p->s[p->pos++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e != '\0' && simple) {
            buf[len++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        if (e != 'u') {
            fail(p, "invalid escape '\\%c'", e);
            break;
        }
        unsigned cp;
        if (!read_hex4(p, &cp)) {
            fail(p, "invalid \\u escape");
            break;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            unsigned lo;
            if (!literal(p, "\\u") || !read_hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                fail(p, "unpaired surrogate in \\u escape");
                break;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail(p, "unpaired surrogate in \\u escape");
            break;
        }
        if (cp == 0) {
            fail(p, "NUL character in string");
            break;
        }
        if (cp < 0x80) buf[len++] = (char)cp;
        else if (cp < 0x800) {
            buf[len++] = (char)(0xC0 | (cp >> 6));
            buf[len++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            buf[len++] = (char)(0xE0 | (cp >> 12));
            buf[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            buf[len++] = (char)(0x80 | (cp & 0x3F));
        } else {
            buf[len++] = (char)(0xF0 | (cp >> 18));
            buf[len++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            buf[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            buf[len++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    free(buf);
    return NULL;
}

static bool parse_number(Parser *p, JsonValue *out) {
    size_t start = p->pos;
    if (p->pos < p->n && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
        fail(p, "invalid number");
        return false;
    }
    if (p->s[p->pos] == '0' && p->pos + 1 < p->n && p->s[p->pos + 1] >= '0' && p->s[p->pos + 1] <= '9') {
        fail(p, "leading zero in number");
        return false;
    }
    while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    bool integer = true;
    if (p->pos < p->n && p->s[p->pos] == '.') {
        integer = false;
        p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
            fail(p, "invalid number");
            return false;
        }
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integer = false;
        p->pos++;
        if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->n || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
            fail(p, "invalid number");
            return false;
        }
        while (p->pos < p->n && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') p->pos++;
    }
    char buf[64];
    size_t len = p->pos - start;
    if (len >= sizeof buf) {
        fail(p, "number too long");
        return false;
    }
    memcpy(buf, p->s + start, len);
    buf[len] = '\0';
    out->type = JSON_NUMBER;
    out->number = strtod(buf, NULL);
    if (integer) {
        errno = 0;
        long long v = strtoll(buf, NULL, 10);
        out->is_integer = errno == 0;
        out->integer = v;
    }
    return true;
}

static bool parse_array(Parser *p, JsonValue *out, int depth) {
    p->pos++;
    out->type = JSON_ARRAY;
    size_t cap = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return true;
    }
    for (;;) {
        if (out->length == cap) out->items = realloc(out->items, (cap = cap ? cap * 2 : 4) * sizeof(JsonValue));
        memset(&out->items[out->length], 0, sizeof(JsonValue));
        out->length++;
        if (!parse_value(p, &out->items[out->length - 1], depth + 1)) return false;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == ']') {
            p->pos++;
            return true;
        }
        fail(p, "expected ',' or ']' in array");
        return false;
    }
}

static bool parse_object(Parser *p, JsonValue *out, int depth) {
    p->pos++;
    out->type = JSON_OBJECT;
    size_t cap = 0;
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return true;
    }
    for (;;) {
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != '"') {
            fail(p, "expected a quoted key");
            return false;
        }
        size_t klen;
        char *key = parse_string(p, &klen);
        if (key == NULL) return false;
        for (size_t i = 0; i < out->length; i++)
            if (strcmp(out->keys[i], key) == 0) {
                fail(p, "duplicate key \"%.60s\"", key);
                free(key);
                return false;
            }
        if (out->length == cap) {
            cap = cap ? cap * 2 : 8;
            out->items = realloc(out->items, cap * sizeof(JsonValue));
            out->keys = realloc(out->keys, cap * sizeof(char *));
        }
        memset(&out->items[out->length], 0, sizeof(JsonValue));
        out->keys[out->length] = key;
        out->length++;
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':') {
            fail(p, "expected ':' after key");
            return false;
        }
        p->pos++;
        if (!parse_value(p, &out->items[out->length - 1], depth + 1)) return false;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->n && p->s[p->pos] == '}') {
            p->pos++;
            return true;
        }
        fail(p, "expected ',' or '}' in object");
        return false;
    }
}

static bool parse_value(Parser *p, JsonValue *out, int depth) {
    if (depth > JSON_MAX_DEPTH) {
        fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
        return false;
    }
    skip_ws(p);
    if (p->pos >= p->n) {
        fail(p, "unexpected end of input");
        return false;
    }
    char c = p->s[p->pos];
    if (c == '{') return parse_object(p, out, depth);
    if (c == '[') return parse_array(p, out, depth);
    if (c == '"') {
        out->type = JSON_STRING;
        out->string = parse_string(p, &out->length);
        return out->string != NULL;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number(p, out);
    if (literal(p, "true")) {
        out->type = JSON_BOOL;
        out->boolean = true;
        return true;
    }
    if (literal(p, "false")) {
        out->type = JSON_BOOL;
        return true;
    }
    if (literal(p, "null")) {
        out->type = JSON_NULL;
        return true;
    }
    fail(p, "unexpected character '%c'", c);
    return false;
}

JsonValue *json_parse(const char *text, size_t size, char *err, size_t err_size) {
    Parser p = {text, size, 0, err, err_size, false};
    JsonValue *v = calloc(1, sizeof *v);
    bool ok = parse_value(&p, v, 0);
    if (ok) {
        skip_ws(&p);
        if (p.pos != p.n) {
            fail(&p, "trailing characters after the value");
            ok = false;
        }
    }
    if (!ok) {
        json_free(v);
        return NULL;
    }
    return v;
}

static void free_contents(JsonValue *v) {
    if (v->type == JSON_STRING) free(v->string);
    if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
        for (size_t i = 0; i < v->length; i++) {
            free_contents(&v->items[i]);
            if (v->type == JSON_OBJECT) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
    }
}

void json_free(JsonValue *v) {
    if (v == NULL) return;
    free_contents(v);
    free(v);
}

const JsonValue *json_get(const JsonValue *object, const char *key) {
    if (object == NULL || object->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->length; i++)
        if (strcmp(object->keys[i], key) == 0) return &object->items[i];
    return NULL;
}
