// pool.c - a pthread pool with a shared chunk counter.
//
// How a job runs: the caller writes the job under the mutex, bumps `generation` and wakes the
// workers; then everyone, caller included, claims chunk numbers from the atomic `next_chunk`
// until they run out. Each worker counts itself out in `workers_busy`; the caller waits for it to
// reach zero, so a job never overlaps the next one.
//
// Waiting: a worker that finished a job spins for SPIN_MICROSECONDS (a new job usually follows
// within microseconds: the next kernel of the same step) and then sleeps on a condition variable.
// The spin is bounded by time, not by a count: waking a sleeping thread costs about 50 us on the
// virtual machines this was measured on, so a spin shorter than the gap between two kernels makes
// every parallel_for pay that (measured: 2.8 us per call back to back, 54 us with 5 us gaps and
// a 20000-iteration spin). Spinning forever would be worse still on a busy machine: a spinning
// worker steals the core the caller needs.
#define _GNU_SOURCE   // sysconf(_SC_NPROCESSORS_ONLN)
#include "pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPIN_MICROSECONDS 200

typedef struct Pool {
    int n_threads;            // including the caller
    pthread_t *workers;       // n_threads - 1 of them
    pthread_mutex_t mutex;
    pthread_cond_t wake;      // a new job or stop
    pthread_cond_t done;      // the last worker finished
    atomic_ulong generation;  // bumped once per job
    atomic_int stop;
    // The current job: written by the caller before generation is bumped.
    ParallelFn fn;
    void *ctx;
    long n, grain, n_chunks;
    atomic_long next_chunk;
    atomic_int workers_busy;
} Pool;

typedef struct Scratch {
    float *data;
    size_t n_floats;
} Scratch;

static Pool pool;
static _Thread_local int inside_parallel_for;  // nested calls run serially
static _Thread_local int thread_index;         // 0: the caller; workers 1..n_threads-1
static Scratch *scratch;                        // one per thread, n_threads of them
static Scratch serial_scratch;                  // used while no pool runs

// Statistics (pool_stats), in nanoseconds. Atomic: workers add while the caller may read.
static atomic_int stats_on;
static atomic_long stats_jobs;
static atomic_ullong stats_caller_jobs_ns, stats_caller_wait_ns, stats_worker_busy_ns;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

// One turn of a spin-wait. The pause hint tells the core that this loop only waits: a core shared
// by two hyperthreads gives its execution units to the other one, and the loop burns less power.
static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// One turn of a bounded spin: relax, and report when SPIN_MICROSECONDS have passed since start.
// The clock is read once every 64 turns: read on every turn, clock_gettime took 27% of all CPU
// samples in a profile of `hyena recall` on a busy machine.
static bool spin_expired(unsigned turn, double start) {
    cpu_relax();
    return turn % 64 == 0 && now_us() - start >= SPIN_MICROSECONDS;
}

static void run_chunks(void) {
    long c;
    while ((c = atomic_fetch_add(&pool.next_chunk, 1)) < pool.n_chunks) {
        long begin = c * pool.grain;
        long end = begin + pool.grain < pool.n ? begin + pool.grain : pool.n;
        pool.fn(pool.ctx, begin, end);
    }
}

static void *worker_main(void *arg) {
    thread_index = (int)(long)arg;
    inside_parallel_for = 1;
    unsigned long seen = 0;
    for (;;) {
        // Spin briefly, then sleep until the generation moves on.
        unsigned long gen;
        double start = now_us();
        for (unsigned turn = 1; (gen = atomic_load(&pool.generation)) == seen && !atomic_load(&pool.stop);)
            if (spin_expired(turn++, start)) break;
        if (gen == seen) {
            pthread_mutex_lock(&pool.mutex);
            while ((gen = atomic_load(&pool.generation)) == seen && !atomic_load(&pool.stop))
                pthread_cond_wait(&pool.wake, &pool.mutex);
            pthread_mutex_unlock(&pool.mutex);
        }
        if (atomic_load(&pool.stop)) return NULL;
        seen = gen;
        if (atomic_load_explicit(&stats_on, memory_order_relaxed)) {
            double t0 = now_us();
            run_chunks();
            atomic_fetch_add(&stats_worker_busy_ns, (unsigned long long)((now_us() - t0) * 1e3));
        } else {
            run_chunks();
        }
        if (atomic_fetch_sub(&pool.workers_busy, 1) == 1) {
            pthread_mutex_lock(&pool.mutex);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mutex);
        }
    }
}

int pool_default_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

void pool_init(int n_threads) {
    pool_shutdown();
    if (n_threads <= 0) n_threads = pool_default_threads();
    pool.n_threads = n_threads;
    atomic_store(&pool.stop, 0);
    atomic_store(&pool.generation, 0);
    pthread_mutex_init(&pool.mutex, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pool.workers = calloc((size_t)n_threads, sizeof(pthread_t));
    scratch = calloc((size_t)n_threads, sizeof(Scratch));
    if (pool.workers == NULL || scratch == NULL) {
        fprintf(stderr, "hyena: out of memory starting %d threads\n", n_threads);
        exit(1);
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)8 << 20);  // kernels keep packing buffers on the stack
    for (int i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&pool.workers[i], &attr, worker_main, (void *)(long)(i + 1)) != 0) {
            fprintf(stderr, "hyena: could not start worker thread %d of %d\n", i + 1, n_threads);
            exit(1);
        }
    }
    pthread_attr_destroy(&attr);
}

void pool_shutdown(void) {
    if (pool.workers == NULL) return;
    pthread_mutex_lock(&pool.mutex);
    atomic_store(&pool.stop, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mutex);
    for (int i = 0; i < pool.n_threads - 1; i++) pthread_join(pool.workers[i], NULL);
    free(pool.workers);
    pool.workers = NULL;
    for (int i = 0; i < pool.n_threads; i++) free(scratch[i].data);
    free(scratch);
    scratch = NULL;
    pool.n_threads = 1;
    pthread_mutex_destroy(&pool.mutex);
    pthread_cond_destroy(&pool.wake);
    pthread_cond_destroy(&pool.done);
}

int pool_threads(void) { return pool.workers ? pool.n_threads : 1; }

void parallel_for(long n, long grain, ParallelFn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    long n_chunks = (n + grain - 1) / grain;
    if (pool.workers == NULL || pool.n_threads == 1 || n_chunks == 1 || inside_parallel_for) {
        // The same chunks, one after the other.
        for (long c = 0; c < n_chunks; c++) fn(ctx, c * grain, c * grain + grain < n ? c * grain + grain : n);
        return;
    }
    bool stats = atomic_load_explicit(&stats_on, memory_order_relaxed);
    double job_start = stats ? now_us() : 0;
    pthread_mutex_lock(&pool.mutex);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.n_chunks = n_chunks;
    atomic_store(&pool.next_chunk, 0);
    atomic_store(&pool.workers_busy, pool.n_threads - 1);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mutex);

    inside_parallel_for = 1;
    run_chunks();
    inside_parallel_for = 0;

    double start = now_us();
    for (unsigned turn = 1; atomic_load(&pool.workers_busy) > 0;)
        if (spin_expired(turn++, start)) break;
    if (atomic_load(&pool.workers_busy) > 0) {
        pthread_mutex_lock(&pool.mutex);
        while (atomic_load(&pool.workers_busy) > 0) pthread_cond_wait(&pool.done, &pool.mutex);
        pthread_mutex_unlock(&pool.mutex);
    }
    if (stats) {
        double end = now_us();
        atomic_fetch_add(&stats_jobs, 1);
        atomic_fetch_add(&stats_caller_jobs_ns, (unsigned long long)((end - job_start) * 1e3));
        atomic_fetch_add(&stats_caller_wait_ns, (unsigned long long)((end - start) * 1e3));
    }
}

void pool_stats_enable(bool on) {
    atomic_store(&stats_jobs, 0);
    atomic_store(&stats_caller_jobs_ns, 0);
    atomic_store(&stats_caller_wait_ns, 0);
    atomic_store(&stats_worker_busy_ns, 0);
    atomic_store(&stats_on, on);
}

PoolStats pool_stats(void) {
    PoolStats s = {atomic_load(&stats_jobs), atomic_load(&stats_caller_jobs_ns) * 1e-9,
                   atomic_load(&stats_caller_wait_ns) * 1e-9, atomic_load(&stats_worker_busy_ns) * 1e-9};
    return s;
}

float *pool_scratch(size_t n_floats) {
    Scratch *s = pool.workers ? &scratch[thread_index] : &serial_scratch;
    if (s->n_floats < n_floats) {
        free(s->data);
        void *p = NULL;
        if (posix_memalign(&p, 64, n_floats * sizeof(float)) != 0) {
            fprintf(stderr, "hyena: out of memory (scratch of %zu floats)\n", n_floats);
            exit(1);
        }
        s->data = p;
        s->n_floats = n_floats;
    }
    return s->data;
}

size_t pool_scratch_bytes(void) {
    size_t total = serial_scratch.n_floats;
    for (int i = 0; pool.workers && i < pool.n_threads; i++) total += scratch[i].n_floats;
    return total * sizeof(float);
}
