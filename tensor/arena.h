// arena.h - bump allocation, so that memory is something you can see.
//
// An arena hands out 64-byte aligned pieces of big blocks and frees them all at once with
// arena_reset. hyena.c uses two: one for parameters (filled once, never reset) and one per
// training step for activations and tape nodes (reset after every step). After the first step
// the step arena already owns every block it needs, so training does no malloc at all; the
// high-water mark tells how much memory a step really used.
#ifndef HYENA_ARENA_H
#define HYENA_ARENA_H

#include <stddef.h>

#define ARENA_ALIGN 64   // a cache line, and the widest vector register (AVX-512)

typedef struct ArenaBlock {
    struct ArenaBlock *next;
    size_t capacity;     // bytes in data
    unsigned char *data; // ARENA_ALIGN aligned
} ArenaBlock;

typedef struct Arena {
    ArenaBlock *first;    // blocks in allocation order; kept across resets
    ArenaBlock *current;  // the block being filled
    size_t offset;        // bytes used in current
    size_t used;          // bytes handed out since the last reset (with alignment padding)
    size_t high_water;    // the largest `used` ever seen
    size_t block_size;    // the default size of a new block
    int n_blocks;
} Arena;

// block_size: bytes per block; 0 picks 1 MiB. A request larger than a block gets its own block.
void arena_init(Arena *arena, size_t block_size);
void *arena_alloc(Arena *arena, size_t bytes);    // uninitialized, never NULL (exits when out of memory)
void *arena_calloc(Arena *arena, size_t bytes);   // zeroed
// Forget every allocation; keep the blocks for reuse.
void arena_reset(Arena *arena);
void arena_free(Arena *arena);
// Bytes the arena holds from the system (the sum of its blocks).
size_t arena_capacity(const Arena *arena);

#endif
