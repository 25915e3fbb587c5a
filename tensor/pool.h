// pool.h - one pool of worker threads, created once, and parallel_for.
//
// parallel_for(n, grain, fn, ctx) cuts [0, n) into chunks of `grain` items and lets every
// thread (the caller included) take chunks until none is left. The chunks depend only on n and
// grain, never on the number of threads, and each chunk is computed the same way whoever runs
// it: that is why results are bit-identical for any --threads. A reduction must therefore never
// add into one shared accumulator in completion order; it writes one partial result per chunk
// and adds the partials in chunk order afterwards.
#ifndef HYENA_POOL_H
#define HYENA_POOL_H

#include <stdbool.h>
#include <stddef.h>

// Work on items [begin, end). ctx is whatever the caller passed to parallel_for.
typedef void (*ParallelFn)(void *ctx, long begin, long end);

// Start the pool with n_threads threads in all (the caller counts as one); 0 means one per core.
// Calling it again first stops the old pool. Without pool_init, parallel_for runs serially.
void pool_init(int n_threads);
void pool_shutdown(void);
int pool_threads(void);
int pool_default_threads(void);   // the number of online cores

// Run fn over [0, n) in chunks of grain items (grain >= 1). Returns when every chunk is done.
// Called from inside a chunk (nested), it runs serially in that thread.
void parallel_for(long n, long grain, ParallelFn fn, void *ctx);

// Scratch memory for the calling thread (the caller of parallel_for is thread 0, workers 1..):
// at least n_floats floats, 64-byte aligned, valid until this thread asks again. Each buffer
// grows to the largest size its thread ever asked for and is freed by pool_shutdown, so a
// steady workload allocates nothing after its first step. Only leaf kernels may use it: two
// users in the same thread at once would share the buffer.
float *pool_scratch(size_t n_floats);
// Bytes held by all threads' scratch buffers (for peak-memory reports).
size_t pool_scratch_bytes(void);

// ---- sharing the machine (pool.c explains the policy)

// A thread's share of its core, over windows of wall time. The pool keeps one for the caller and
// one per worker, and runs jobs on the caller alone for a while when one of them is starved.
// Times in microseconds.
typedef struct PoolCpuShare {
    double cpu_mark, wall_mark;  // the thread's processor time and the wall time when the window began
    double slept_us;             // of the wall time since, spent asleep waiting for work (not starving)
    int low_windows;             // windows in a row in which the thread got less than its share
} PoolCpuShare;

void pool_cpu_share_start(PoolCpuShare *s, double cpu_us, double wall_us);
// Given the thread's processor time and the wall time now: true when two whole windows (20 ms
// each) in a row gave the thread less than 85% of the time it was awake, i.e. it shares its core.
bool pool_cpu_share_starved(PoolCpuShare *s, double cpu_us, double wall_us);

// ---- where the time goes (hyena bench train --profile)

// Totals since pool_stats_enable(true). The caller's time inside parallel_for is its share of the
// chunks plus the wait for the workers' last chunks; the rest of its time is serial code, during
// which every worker idles.
typedef struct PoolStats {
    long jobs;              // parallel_for calls that ran on the workers
    long jobs_alone;        // calls the caller ran alone because a worker had been late (pool.c)
    double caller_jobs_s;   // the caller's time inside those calls
    double caller_wait_s;   // of which, waiting for workers to finish their last chunks
    double worker_busy_s;   // summed over workers: time spent running chunks
} PoolStats;

// Counting costs two clock reads per job and thread, so it is off unless asked for; enabling
// it (again) starts the totals from zero.
void pool_stats_enable(bool on);
PoolStats pool_stats(void);

#endif
