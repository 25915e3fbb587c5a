// pool.c - a pthread pool: one share of chunks per thread, and a caller that knows when to work alone.
//
// How a job runs: the caller publishes the job and everyone, caller included, claims chunks
// until none is left. The job is over when `chunks_done` reaches the number of chunks: the caller
// waits for the chunks, never for a worker that has not shown up (a sleeping worker can take tens
// of microseconds to wake, and milliseconds on a busy machine; if the caller did every chunk
// meanwhile, nothing is left to wait for).
//
// Publishing without a lock. A job is a handful of fields that a late worker may still be
// reading when the caller wants to write the next one. `generation` is even while a job is
// published and odd while the caller rewrites it (a sequence lock). A worker that sees a new even
// generation announces itself in `in_job` and then reads `generation` again: if it is unchanged,
// the job is safe to read until the worker leaves, because a caller that wants to rewrite it
// first makes `generation` odd and then waits for `in_job` to reach 0. (Each side writes its own
// variable, then reads the other's; with sequentially consistent atomics at least one of them
// sees the other, which is all that is needed.) The first version took a mutex to join and to
// leave each job and cost 3.3 us per empty job on 2 threads: 2.3 ms of a 40 ms training step
// that has 690 jobs. Locks remain only for sleeping.
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
// The other sign of a busy machine: a thread gets less of its core than it asks for (three
// threads on two cores share them). The caller and each worker compare, over windows of
// SHARE_WINDOW_US, the processor time their thread got with the time it was awake (sleeping
// while there is no work is not starving); less than MIN_CPU_SHARE counts as a late worker
// would. The window spans several of the scheduler's time slices (a few milliseconds each): a
// thread that shares its core runs whole slices at full speed and then none, so a short sample
// (one job) is either all or nothing. Both kinds of thread must check: when the caller shares
// its core with the worker, each runs at half speed yet neither is ever late for the other; and
// when the worker's chunks are long (milliseconds at context 8192), a preempted worker finishes
// within "twice a chunk" and is never late either. (`hyena bench train --background-load`: with
// the caller's check alone, 2 threads were 1.2x slower than 1 at context 1024 and 8192; workers
// sampling single jobs made it 1.2-1.5x at 64.) A thread's processor time is a system call (1.3
// us here): it is read once per window, and the wall clock only every SAMPLE_EVERY_JOBS jobs.
#define SHARE_WINDOW_US 20000
#define LOW_WINDOWS 2
#define SAMPLE_EVERY_JOBS 16
#define MIN_CPU_SHARE 0.85
#define BACKOFF_MIN_JOBS 16
#define BACKOFF_MAX_JOBS 4096
#define GOOD_STREAK_JOBS 2048

typedef struct Pool {
    int n_threads;            // including the caller
    pthread_t *workers;       // n_threads - 1 of them
    pthread_mutex_t mutex;    // only to sleep and to wake a sleeper
    pthread_cond_t wake;      // workers sleep here between jobs
    pthread_cond_t caller;    // the caller sleeps here for a worker's last chunk, or for it to leave
    // Written by one thread while another spins on it: one cache line each, so that a write moves
    // only the line that the spinner reads.
    alignas(64) atomic_ulong generation;  // twice the number of jobs published; odd while the caller writes one
    alignas(64) atomic_int in_job;        // workers reading the current job
    alignas(64) atomic_long chunks_done;
    alignas(64) atomic_int sleepers;      // workers asleep on `wake`, or about to be
    atomic_int caller_sleeping;           // the caller asleep on `caller`, or about to be
    atomic_int stop;
    // The current job: written by the caller while generation is odd.
    alignas(64) ParallelFn fn;
    void *ctx;
    long n, grain, n_chunks;
    struct Share *shares;     // n_threads of them: the chunks each thread claims first
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
// Set by a worker that got less than MIN_CPU_SHARE of its core; the caller backs off at its next
// job and clears it.
static atomic_int worker_starved;
// The caller's back-off state (only the thread calling parallel_for touches it).
static long jobs_alone_left, backoff_jobs = BACKOFF_MIN_JOBS, good_streak, late_jobs;
static long parallel_jobs;
static PoolCpuShare caller_share;
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

void pool_cpu_share_start(PoolCpuShare *s, double cpu_us, double wall_us) {
    s->cpu_mark = cpu_us;
    s->wall_mark = wall_us;
    s->slept_us = 0;
    s->low_windows = 0;
}

// Once a window has passed: did the thread get less than MIN_CPU_SHARE of the time it was
// awake, in LOW_WINDOWS windows in a row? Then a new window starts. One low window proves
// nothing: a virtual machine's host takes the processor away now and then (measured: the first
// touch of the 1.3 GB of activations at context 8192 showed as a window at 51%, on an idle
// machine), whereas a thread that shares its core stays low.
bool pool_cpu_share_starved(PoolCpuShare *s, double cpu_us, double wall_us) {
    if (wall_us - s->wall_mark < SHARE_WINDOW_US) return false;
    double awake = wall_us - s->wall_mark - s->slept_us;
    s->low_windows = cpu_us - s->cpu_mark < MIN_CPU_SHARE * awake ? s->low_windows + 1 : 0;
    bool starved = s->low_windows >= LOW_WINDOWS;
    if (starved) s->low_windows = 0;
    s->cpu_mark = cpu_us;
    s->wall_mark = wall_us;
    s->slept_us = 0;
    return starved;
}

static void cpu_share_start(PoolCpuShare *s) { pool_cpu_share_start(s, thread_cpu_us(), now_us()); }

// The processor time is read only when a window is over: it is the costly clock.
static bool cpu_share_starved(PoolCpuShare *s) {
    double wall = now_us();
    return wall - s->wall_mark >= SHARE_WINDOW_US && pool_cpu_share_starved(s, thread_cpu_us(), wall);
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

// The caller sleeps only after a spin, and says so in `caller_sleeping` before its last look at
// what it waits for; a worker that changes that then wakes it, under the mutex the caller holds
// until pthread_cond_wait releases it (the same handshake as the workers' `sleepers`).
static void wake_caller(void) {
    if (!atomic_load(&pool.caller_sleeping)) return;
    pthread_mutex_lock(&pool.mutex);
    pthread_cond_signal(&pool.caller);
    pthread_mutex_unlock(&pool.mutex);
}

static bool all_chunks_done(void) { return atomic_load(&pool.chunks_done) >= pool.n_chunks; }
static bool no_worker_in_job(void) { return atomic_load(&pool.in_job) == 0; }

static void caller_wait(bool (*ready)(void)) {
    double start = now_us();
    for (unsigned turn = 1; !ready();)
        if (spin_expired(turn++, start)) break;
    if (ready()) return;
    double sleep_start = now_us();
    pthread_mutex_lock(&pool.mutex);
    atomic_store(&pool.caller_sleeping, 1);
    while (!ready()) pthread_cond_wait(&pool.caller, &pool.mutex);
    atomic_store(&pool.caller_sleeping, 0);
    pthread_mutex_unlock(&pool.mutex);
    caller_share.slept_us += now_us() - sleep_start;
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
            if (atomic_fetch_add(&pool.chunks_done, 1) + 1 == pool.n_chunks) wake_caller();  // the last one
        }
    }
    return ran;
}

// Waits until a job newer than `seen` is published (or the pool stops); returns its generation.
// Time asleep is added to share->slept_us.
static unsigned long wait_for_job(unsigned long seen, PoolCpuShare *share) {
    unsigned long g;
    double start = now_us();
    for (unsigned turn = 1;; turn++) {
        g = atomic_load(&pool.generation);
        if ((g != seen && g % 2 == 0) || atomic_load(&pool.stop)) return g;
        if (spin_expired(turn, start)) break;
    }
    // Sleep. Counting ourselves a sleeper before the last look at `generation` means a caller
    // that publishes meanwhile sees the count and wakes us (it takes the mutex, which we hold
    // until pthread_cond_wait releases it).
    double sleep_start = now_us();
    pthread_mutex_lock(&pool.mutex);
    atomic_fetch_add(&pool.sleepers, 1);
    while (((g = atomic_load(&pool.generation)) == seen || g % 2 == 1) && !atomic_load(&pool.stop))
        pthread_cond_wait(&pool.wake, &pool.mutex);
    atomic_fetch_sub(&pool.sleepers, 1);
    pthread_mutex_unlock(&pool.mutex);
    share->slept_us += now_us() - sleep_start;
    return g;
}

static void leave_job(void) {
    if (atomic_fetch_sub(&pool.in_job, 1) == 1) wake_caller();
}

static void *worker_main(void *arg) {
    thread_index = (int)(long)arg;
    inside_parallel_for = 1;
    unsigned long seen = 0;
    long jobs_seen = 0;
    PoolCpuShare share;
    cpu_share_start(&share);
    for (;;) {
        unsigned long g = wait_for_job(seen, &share);
        if (atomic_load(&pool.stop)) return NULL;
        atomic_fetch_add(&pool.in_job, 1);
        if (atomic_load(&pool.generation) != g) {  // the caller is already rewriting it: not ours to read
            leave_job();
            continue;
        }
        seen = g;
        if (atomic_load_explicit(&stats_on, memory_order_relaxed)) {
            double t0 = now_us();
            run_chunks(thread_index);
            atomic_fetch_add(&stats_worker_busy_ns, (unsigned long long)((now_us() - t0) * 1e3));
        } else {
            run_chunks(thread_index);
        }
        if (++jobs_seen % SAMPLE_EVERY_JOBS == 0 && cpu_share_starved(&share)) atomic_store(&worker_starved, 1);
        leave_job();
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
    pthread_cond_init(&pool.caller, NULL);
    atomic_store(&pool.in_job, 0);
    atomic_store(&pool.sleepers, 0);
    atomic_store(&pool.caller_sleeping, 0);
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
    parallel_jobs = 0;
    caller_share = (PoolCpuShare){0, 0, 0, 0};  // started at the first parallel job
    atomic_store(&worker_starved, 0);
    pthread_mutex_destroy(&pool.mutex);
    pthread_cond_destroy(&pool.wake);
    pthread_cond_destroy(&pool.caller);
}

int pool_threads(void) { return pool.workers ? pool.n_threads : 1; }

void parallel_for(long n, long grain, ParallelFn fn, void *ctx) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    long n_chunks = (n + grain - 1) / grain;
    bool serial = pool.workers == NULL || pool.n_threads == 1 || n_chunks == 1 || inside_parallel_for;
    if (!serial && jobs_alone_left > 0) {  // backing off from a busy machine (see above)
        if (--jobs_alone_left == 0) cpu_share_start(&caller_share);  // the next window measures the threads
        atomic_fetch_add_explicit(&stats_jobs_alone, 1, memory_order_relaxed);
        serial = true;
    }
    if (serial) {  // the same chunks, one after the other
        for (long c = 0; c < n_chunks; c++) fn(ctx, c * grain, c * grain + grain < n ? c * grain + grain : n);
        return;
    }
    bool stats = atomic_load_explicit(&stats_on, memory_order_relaxed);
    double job_start = now_us();
    // Close the previous job (odd generation), wait until no late worker is still reading it,
    // write the new one, publish it (even generation), and wake any worker that went to sleep.
    unsigned long g = atomic_load(&pool.generation);
    atomic_store(&pool.generation, g + 1);
    caller_wait(no_worker_in_job);
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
    atomic_store(&pool.generation, g + 2);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.mutex);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.mutex);
    }

    inside_parallel_for = 1;
    long ran = run_chunks(0);
    inside_parallel_for = 0;

    double start = now_us();
    caller_wait(all_chunks_done);
    double end = now_us();
    if (caller_share.wall_mark == 0) cpu_share_start(&caller_share);
    bool busy = ++parallel_jobs % SAMPLE_EVERY_JOBS == 0 && cpu_share_starved(&caller_share);
    busy |= atomic_exchange(&worker_starved, 0);
    // A worker is late when the caller waited much longer than one of its own chunks took: a chunk
    // in progress elsewhere should end within about that time. One late job proves nothing (an
    // idle virtual machine also pauses a thread now and then); LATE_JOBS of them, each within
    // LATE_WINDOW_JOBS of the previous one, mean another process is taking the worker's core.
    double wait = end - start, chunk = (start - job_start) / (ran > 0 ? (double)ran : 1.0);
    if (wait > LATE_MICROSECONDS && wait > 2 * chunk) {
        good_streak = 0;
        if (++late_jobs >= LATE_JOBS) busy = true;
    } else {
        good_streak++;
        if (good_streak >= LATE_WINDOW_JOBS) late_jobs = 0;
        if (good_streak >= GOOD_STREAK_JOBS) backoff_jobs = BACKOFF_MIN_JOBS;
    }
    if (busy) back_off();
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
