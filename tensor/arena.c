// arena.c - a chain of blocks and a bump pointer.
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t align_up(size_t n) { return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

void arena_init(Arena *arena, size_t block_size) {
    memset(arena, 0, sizeof *arena);
    arena->block_size = block_size ? align_up(block_size) : (size_t)1 << 20;
}

static ArenaBlock *block_new(size_t capacity) {
    ArenaBlock *b = malloc(sizeof *b);
    void *data = NULL;
    if (b == NULL || posix_memalign(&data, ARENA_ALIGN, capacity) != 0) {
        fprintf(stderr, "hyena: out of memory (asked for a %zu-byte arena block)\n", capacity);
        exit(1);
    }
    b->next = NULL;
    b->capacity = capacity;
    b->data = data;
    return b;
}

void *arena_alloc(Arena *arena, size_t bytes) {
    size_t need = align_up(bytes ? bytes : 1);
    // Move along the chain until a block has room. Blocks too small for this request stay in
    // place and are filled again after the next reset, so a steady workload stops allocating.
    while (arena->current == NULL || arena->offset + need > arena->current->capacity) {
        ArenaBlock *next = arena->current ? arena->current->next : arena->first;
        if (next == NULL) {
            next = block_new(need > arena->block_size ? need : arena->block_size);
            if (arena->current) arena->current->next = next;
            else arena->first = next;
            arena->n_blocks++;
        }
        if (arena->current) arena->used += arena->current->capacity - arena->offset; // the tail is lost
        arena->current = next;
        arena->offset = 0;
    }
    void *p = arena->current->data + arena->offset;
    arena->offset += need;
    arena->used += need;
    if (arena->used > arena->high_water) arena->high_water = arena->used;
    return p;
}

void *arena_calloc(Arena *arena, size_t bytes) {
    void *p = arena_alloc(arena, bytes);
    memset(p, 0, bytes);
    return p;
}

void arena_reset(Arena *arena) {
    arena->current = NULL;
    arena->offset = 0;
    arena->used = 0;
}

void arena_free(Arena *arena) {
    ArenaBlock *b = arena->first;
    while (b) {
        ArenaBlock *next = b->next;
        free(b->data);
        free(b);
        b = next;
    }
    size_t block_size = arena->block_size;
    memset(arena, 0, sizeof *arena);
    arena->block_size = block_size;
}

size_t arena_capacity(const Arena *arena) {
    size_t total = 0;
    for (const ArenaBlock *b = arena->first; b; b = b->next) total += b->capacity;
    return total;
}
