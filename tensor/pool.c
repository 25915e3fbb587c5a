// pool.c - a pthread pool: one share of chunks per thread, and a caller that knows when to work alone.
//
// How a job runs: the caller writes the job under the mutex, bumps `generation` and wakes the
// workers; then everyone, caller included, claims chunks until none is left. The job is over when
// `chunks_done` reaches the number of chunks: the caller waits for the chunks, never for a worker
// that has not shown up (a sleeping worker can take tens of microseconds to wake, and milliseconds
// on a busy machine; if the caller did every chunk meanwhile, nothing is left to wait for).
// A worker joins a job under the mutex (`in_job`), and the caller rewrites the job's fields only
// when no worker is inside one, so a worker that wakes late finds the old job's shares empty and
// never reads a half-written new job.
//
// Who takes which chunk: the chunks are cut into one contiguous share per thread, and thread t
// first claims the chunks of share t, in order, then helps with the others' (claiming from the
// front of each share, through the same atomic counter as its owner). So when nothing disturbs
// the threads, rows [0, n/2) of every job go to the caller and rows [n/2, n) to the worker, job
// after job: the rows an op writes are still in the cache of the core that reads them in the
// next op. Claiming from one shared counter instead (first come, first served) scattered rows
// across cores, and every op paid for moving its input from the other core's cache (measured
// on 2 cores: packing in matmul took twice as long with 2 threads as with 1). A thread that is
// late (descheduled by another process) only loses its chunks to the others.
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
#include <stdalign.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SPIN_MICROSECONDS 200

// Sharing the machine with other programs. When another process keeps a core busy, the scheduler
// deschedules a worker for milliseconds at a time, and a job whose chunk it holds cannot end
// until it runs again: the caller waits, and 2 threads become slower than 1 (measured with
// `hyena bench train --background-load`: 129 ms per step against 39 ms with one thread). So a
// caller that waited for a worker more than LATE_MICROSECONDS and more than twice as long as one
// of its own chunks took, LATE_JOBS times in quick succession, runs the next jobs alone (the same
// chunks in the same order: the same bits). It does so for BACKOFF_MIN_JOBS jobs, four times as
// many at each new alarm up to BACKOFF_MAX_JOBS, and back to the minimum after GOOD_STREAK_JOBS
// punctual jobs in a row. On an idle machine no job comes near that, and all threads work.
#define LATE_MICROSECONDS 100
#define LATE_JOBS 3
#define LATE_WINDOW_JOBS 64
// The other sign of a busy machine: the caller itself gets less of its core than it asks for
// (three threads on two cores share them). Every SAMPLE_EVERY_JOBS-th job, the caller compares
// the processor time its thread got while running its chunks with the time that passed; over
// SAMPLES_PER_WINDOW samples, less than MIN_CPU_SHARE counts as a late worker would. (Reading a
// thread's processor time is a system call, about a microsecond here: hence the sampling.)
#define SAMPLE_EVERY_JOBS 16
#define SAMPLES_PER_WINDOW 8
#define MIN_CPU_SHARE 0.85
#define BACKOFF_MIN_JOBS 16
#define BACKOFF_MAX_JOBS 4096
#define GOOD_STREAK_JOBS 2048

typedef struct Pool {
    int n_threads;            // including the caller
    pthread_t *workers;       // n_threads - 1 of them
    pthread_mutex_t mutex;
    pthread_cond_t wake;      // a new job or stop
    pthread_cond_t done;      // the last chunk finished
    pthread_cond_t left;      // the last worker left a job (in_job reached 0)
    atomic_ulong generation;  // bumped once per job
    atomic_int stop;
    // The current job: written by the caller before generation is bumped.
    ParallelFn fn;
    void *ctx;
    long n, grain, n_chunks;
    struct Share *shares;     // n_threads of them: the chunks each thread claims first
    atomic_long chunks_done;
    atomic_int in_job;        // workers inside the current job (changed under the mutex)
} Pool;

// Chunks [next, end) of one thread's share. Aligned to a cache line so that two threads claiming
// from their own shares never write the same line.
typedef struct Share {
    alignas(64) atomic_long next;
    long end;
} Share;

typedef struct Scratch {
    float *data;
    size_t n_floats;
} Scratch;

static Pool pool;
// The caller's back-off state (only the thread calling parallel_for touches it).
static long jobs_alone_left, backoff_jobs = BACKOFF_MIN_JOBS, good_streak, late_jobs;
static long parallel_jobs, samples;
static double sampled_cpu_us, sampled_wall_us;
static _Thread_local int inside_parallel_for;  // nested calls run serially
static _Thread_local int thread_index;         // 0: the caller; workers 1..n_threads-1
static Scratch *scratch;                        // one per thread, n_threads of them
static Scratch serial_scratch;                  // used while no pool runs

// Statistics (pool_stats), in nanoseconds. Atomic: workers add while the caller may read.
static atomic_int stats_on;
static atomic_long stats_jobs, stats_jobs_alone;
static atomic_ullong stats_caller_jobs_ns, stats_caller_wait_ns, stats_worker_busy_ns;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

// Processor time the calling thread has used.
static double thread_cpu_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

// Go alone for the next backoff_jobs jobs, and make the next back-off four times as long: a
// machine that stays busy is detected again at every probe, and should cost few probes.
static void back_off(void) {
    late_jobs = 0;
    good_streak = 0;
    jobs_alone_left = backoff_jobs;
    backoff_jobs = backoff_jobs * 4 < BACKOFF_MAX_JOBS ? backoff_jobs * 4 : BACKOFF_MAX_JOBS;
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

// Thread `self` runs chunks of its own share, then of the others' shares, until none is left.
// Returns how many it ran.
static long run_chunks(int self) {
    long ran = 0;
    for (int i = 0; i < pool.n_threads; i++) {
        Share *share = &pool.shares[(self + i) % pool.n_threads];
        long c;
        while ((c = atomic_fetch_add(&share->next, 1)) < share->end) {
            long begin = c * pool.grain;
            long end = begin + pool.grain < pool.n ? begin + pool.grain : pool.n;
            pool.fn(pool.ctx, begin, end);
            ran++;
            if (atomic_fetch_add(&pool.chunks_done, 1) + 1 == pool.n_chunks) {  // the last one: wake the caller
                pthread_mutex_lock(&pool.mutex);
                pthread_cond_signal(&pool.done);
                pthread_mutex_unlock(&pool.mutex);
            }
        }
    }
    return ran;
}

static void *worker_main(void *arg) {
    thread_index = (int)(long)arg;
    inside_parallel_for = 1;
    unsigned long seen = 0;
    for (;;) {
        // Spin briefly, then sleep until the generation moves on; join the job under the mutex.
        double start = now_us();
        for (unsigned turn = 1; atomic_load(&pool.generation) == seen && !atomic_load(&pool.stop);)
            if (spin_expired(turn++, start)) break;
        pthread_mutex_lock(&pool.mutex);
        while (atomic_load(&pool.generation) == seen && !atomic_load(&pool.stop))
            pthread_cond_wait(&pool.wake, &pool.mutex);
        if (atomic_load(&pool.stop)) {
            pthread_mutex_unlock(&pool.mutex);
            return NULL;
        }
        seen = atomic_load(&pool.generation);
        atomic_fetch_add(&pool.in_job, 1);
        pthread_mutex_unlock(&pool.mutex);

        if (atomic_load_explicit(&stats_on, memory_order_relaxed)) {
            double t0 = now_us();
            run_chunks(thread_index);
            atomic_fetch_add(&stats_worker_busy_ns, (unsigned long long)((now_us() - t0) * 1e3));
        } else {
            run_chunks(thread_index);
        }

        pthread_mutex_lock(&pool.mutex);
        if (atomic_fetch_sub(&pool.in_job, 1) == 1) pthread_cond_signal(&pool.left);
        pthread_mutex_unlock(&pool.mutex);
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
    pthread_cond_init(&pool.left, NULL);
    atomic_store(&pool.in_job, 0);
    pool.workers = calloc((size_t)n_threads, sizeof(pthread_t));
    scratch = calloc((size_t)n_threads, sizeof(Scratch));
    pool.shares = aligned_alloc(alignof(Share), (size_t)n_threads * sizeof(Share));
    if (pool.workers == NULL || scratch == NULL || pool.shares == NULL) {
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
    free(pool.shares);
    pool.shares = NULL;
    for (int i = 0; i < pool.n_threads; i++) free(scratch[i].data);
    free(scratch);
    scratch = NULL;
    pool.n_threads = 1;
    jobs_alone_left = 0;
    backoff_jobs = BACKOFF_MIN_JOBS;
    good_streak = 0;
    late_jobs = 0;
    parallel_jobs = samples = 0;
    sampled_cpu_us = sampled_wall_us = 0;
    pthread_mutex_destroy(&pool.mutex);
    pthread_cond_destroy(&pool.wake);
    pthread_cond_destroy(&pool.done);
    pthread_cond_destroy(&pool.left);
}

int pool_threads(void) { return pool.workers ? pool.n_threads : 1; }

void parallel_for(long n, long grain, ParallelFn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    long n_chunks = (n + grain - 1) / grain;
    bool serial = pool.workers == NULL || pool.n_threads == 1 || n_chunks == 1 || inside_parallel_for;
    if (!serial && jobs_alone_left > 0) {  // backing off from a busy machine (see above)
        jobs_alone_left--;
        atomic_fetch_add_explicit(&stats_jobs_alone, 1, memory_order_relaxed);
        serial = true;
    }
    if (serial) {  // the same chunks, one after the other
        for (long c = 0; c < n_chunks; c++) fn(ctx, c * grain, c * grain + grain < n ? c * grain + grain : n);
        return;
    }
    bool stats = atomic_load_explicit(&stats_on, memory_order_relaxed);
    double job_start = now_us();
    // The worker leaves the previous job a moment after its last chunk: usually within a spin.
    // Sleeping on `left` at once cost a wake-up (tens of microseconds) about 18 times per
    // training step (B=12, T=64), most of the time the caller spent waiting on workers.
    for (unsigned turn = 1; atomic_load(&pool.in_job) > 0;)
        if (spin_expired(turn++, job_start)) break;
    pthread_mutex_lock(&pool.mutex);
    while (atomic_load(&pool.in_job) > 0) pthread_cond_wait(&pool.left, &pool.mutex);  // a late worker, still scanning
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.grain = grain;
    pool.n_chunks = n_chunks;
    for (int t = 0; t < pool.n_threads; t++) {
        atomic_store(&pool.shares[t].next, n_chunks * t / pool.n_threads);
        pool.shares[t].end = n_chunks * (t + 1) / pool.n_threads;
    }
    atomic_store(&pool.chunks_done, 0);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mutex);

    bool sample = ++parallel_jobs % SAMPLE_EVERY_JOBS == 0;
    double cpu_start = sample ? thread_cpu_us() : 0, wall_start = sample ? now_us() : 0;
    inside_parallel_for = 1;
    long ran = run_chunks(0);
    inside_parallel_for = 0;
    if (sample) {
        sampled_cpu_us += thread_cpu_us() - cpu_start;
        sampled_wall_us += now_us() - wall_start;
        if (++samples == SAMPLES_PER_WINDOW) {
            bool starved = sampled_cpu_us < MIN_CPU_SHARE * sampled_wall_us;
            samples = 0;
            sampled_cpu_us = sampled_wall_us = 0;
            if (starved) back_off();
        }
    }

    double start = now_us();
    for (unsigned turn = 1; atomic_load(&pool.chunks_done) < n_chunks;)
        if (spin_expired(turn++, start)) break;
    if (atomic_load(&pool.chunks_done) < n_chunks) {
        pthread_mutex_lock(&pool.mutex);
        while (atomic_load(&pool.chunks_done) < n_chunks) pthread_cond_wait(&pool.done, &pool.mutex);
        pthread_mutex_unlock(&pool.mutex);
    }
    double end = now_us();
    // A worker is late when the caller waited much longer than one of its own chunks took: a chunk
    // in progress elsewhere should end within about that time. One late job proves nothing (an
    // idle virtual machine also pauses a thread now and then); LATE_JOBS of them, each within
    // LATE_WINDOW_JOBS of the previous one, mean another process is taking the worker's core.
    double wait = end - start, chunk = (start - job_start) / (ran > 0 ? (double)ran : 1.0);
    if (wait > LATE_MICROSECONDS && wait > 2 * chunk) {
        good_streak = 0;
        if (++late_jobs >= LATE_JOBS) back_off();
    } else {
        good_streak++;
        if (good_streak >= LATE_WINDOW_JOBS) late_jobs = 0;
        if (good_streak >= GOOD_STREAK_JOBS) backoff_jobs = BACKOFF_MIN_JOBS;
    }
    if (stats) {
        atomic_fetch_add(&stats_jobs, 1);
        atomic_fetch_add(&stats_caller_jobs_ns, (unsigned long long)((end - job_start) * 1e3));
        atomic_fetch_add(&stats_caller_wait_ns, (unsigned long long)((end - start) * 1e3));
    }
}

void pool_stats_enable(bool on) {
    atomic_store(&stats_jobs, 0);
    atomic_store(&stats_jobs_alone, 0);
    atomic_store(&stats_caller_jobs_ns, 0);
    atomic_store(&stats_caller_wait_ns, 0);
    atomic_store(&stats_worker_busy_ns, 0);
    atomic_store(&stats_on, on);
}

PoolStats pool_stats(void) {
    PoolStats s = {atomic_load(&stats_jobs), atomic_load(&stats_jobs_alone), atomic_load(&stats_caller_jobs_ns) * 1e-9,
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
