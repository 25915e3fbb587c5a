// bench.c - benchmarks print JSON lines so that runs can be compared by tools, not eyes.
//
// Every case is warmed up (page faults, caches, FFT plans, and the core's clock, which needs some
// milliseconds of work to ramp up), then run `reps` times; "ms" is the median, which a single slow
// run (another process, a page fault) cannot move.
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <signal.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../autograd/fftconv.h"
#include "../hyena/model.h"
#include "sample.h"
#include "../tensor/arena.h"
#include "../tensor/fft.h"
#include "../tensor/matmul.h"
#include "../tensor/pool.h"
#include "../tensor/rng.h"
#include "../tensor/simd.h"
#include "build_info.h"
#include "cli.h"
#include "optim.h"
#include "profile.h"

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool background_load;  // --background-load: a busy process shares the machine

// Every JSON line starts the same way: which benchmark, which build ran it, and whether another
// process was kept busy meanwhile.
static void bench_line_begin(const char *name) {
    printf("{\"bench\":\"%s\",\"build\":\"%s\",", name, build_info());
    if (background_load) printf("\"background_load\":true,");
}

// --background-load: a child process of normal priority that spins for the whole run, as a
// browser or an editor would on a laptop. With 2 threads on 2 cores the pool then shares a core
// with it, and a worker that waits by spinning, or a job that waits for a descheduled worker,
// shows up as 2 threads being slower than 1. The child exits by itself if this process dies.
static pid_t background_load_start(void) {
    fflush(stdout);
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        volatile unsigned long spin = 0;
        for (;;) {
            for (int i = 0; i < 10000000; i++) spin = spin + 1;
            if (getppid() != parent) _exit(0);
        }
    }
    if (pid < 0) fprintf(stderr, "hyena bench: could not start the background load; running without it\n");
    return pid;
}

static void background_load_stop(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

typedef void (*BenchFn)(void *ctx);

// Median wall time of fn(ctx) in milliseconds, after warm-up calls for at least 50 ms (at least
// one call). With a single warm-up call, the first small case of a run often measured 40% slow.
static double time_median(BenchFn fn, void *ctx, int reps) {
    double times[64];
    if (reps > 64) reps = 64;
    if (reps < 1) reps = 1;
    double warm_start = cli_seconds();
    do fn(ctx);
    while (cli_seconds() - warm_start < 0.05);
    for (int r = 0; r < reps; r++) {
        double t0 = (cli_seconds() * 1e3);
        fn(ctx);
        times[r] = (cli_seconds() * 1e3) - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), compare_double);
    return times[reps / 2];
}

// ---------------------------------------------------------------- peak

// The machine's FMA peak for this build's vectors: every task runs PEAK_CHAINS independent chains
// of acc = acc * x + y held in registers, never touching memory. One chain alone would wait on the
// FMA's latency (4 cycles) with two FMA units idle; 12 chains keep both busy. A kernel's GFLOP/s
// divided by this number is how close it comes to what the core can do.
#define PEAK_CHAINS 12
#define PEAK_TASKS_PER_THREAD 16  // many small tasks, so a late-waking thread still gets its share
#define PEAK_ITERATIONS 200000

typedef struct PeakCase {
    int tasks;
    float *sink;  // one result per task, so the compiler cannot drop the loop
} PeakCase;

static void peak_tasks(void *ctx, long begin, long end) {
    const PeakCase *pc = ctx;
    for (long task = begin; task < end; task++) {
        vecf acc[PEAK_CHAINS];
        for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = vec_splat(1e-3f * (float)c);
        vecf x = vec_splat(0.999999f), y = vec_splat(1e-7f);
        for (int it = 0; it < PEAK_ITERATIONS; it++)
            for (int c = 0; c < PEAK_CHAINS; c++) acc[c] = acc[c] * x + y;
        float total = 0.0f;
        for (int c = 0; c < PEAK_CHAINS; c++)
            for (int lane = 0; lane < VEC_FLOATS; lane++) total += acc[c][lane];
        pc->sink[task] = total;
    }
}

static void run_peak(void *ctx) {
    PeakCase *pc = ctx;
    parallel_for(pc->tasks, 1, peak_tasks, pc);
}

// The FMA peak of the current pool's thread count, in GFLOP/s: the median of reps runs.
static double peak_gflops(int reps) {
    PeakCase pc = {PEAK_TASKS_PER_THREAD * pool_threads(), NULL};
    pc.sink = malloc(sizeof(float) * (size_t)pc.tasks);
    double ms = time_median(run_peak, &pc, reps);
    free(pc.sink);
    return 2.0 * PEAK_CHAINS * VEC_FLOATS * (double)PEAK_ITERATIONS * pc.tasks / (ms * 1e6);
}

static void bench_peak(const int *threads, int n_threads, int reps) {
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        double gflops = peak_gflops(reps);
        double ms = 2.0 * PEAK_CHAINS * VEC_FLOATS * (double)PEAK_ITERATIONS * PEAK_TASKS_PER_THREAD * threads[t] /
                    (gflops * 1e6);
        bench_line_begin("peak");
        printf("\"threads\":%d,\"vector_floats\":%d,\"ms\":%.3f,\"gflops\":%.1f}\n", threads[t], VEC_FLOATS, ms,
               gflops);
        fflush(stdout);
    }
}

// ---------------------------------------------------------------- matmul

typedef struct MatmulCase {
    float *a, *b, *c;
    int m, k, n;
    MatmulTrans trans;
} MatmulCase;

static void run_matmul(void *ctx) {
    MatmulCase *mc = ctx;
    matmul(mc->c, mc->a, mc->b, mc->m, mc->k, mc->n, mc->trans, false);
}

// The shakespeare preset's products (B*T = 768 rows, width 128, 3x and 4x expansions), two of
// its weight gradients (128 outputs, summed over 768 tokens: few rows, "tn" is the real one), the
// recall step's at depth 64 (width 64: 4096 of its 16416 rows), and two squares.
static void bench_matmul(const int *threads, int n_threads, int reps) {
    static const int shapes[][3] = {{768, 128, 384}, {768, 384, 128}, {768, 128, 512}, {768, 512, 128},
                                    {1024, 128, 128}, {128, 768, 128}, {128, 768, 512}, {4096, 64, 192},
                                    {4096, 64, 64},  {4096, 64, 256}, {4096, 256, 64},  {512, 512, 512},
                                    {1024, 1024, 1024}};
    Arena arena;
    arena_init(&arena, 0);
    Rng rng = rng_new(1);
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            for (int tr = MATMUL_NN; tr <= MATMUL_TN; tr++) {
                MatmulCase mc = {NULL, NULL, NULL, shapes[s][0], shapes[s][1], shapes[s][2], (MatmulTrans)tr};
                arena_reset(&arena);
                mc.a = arena_alloc(&arena, sizeof(float) * (size_t)mc.m * (size_t)mc.k);
                mc.b = arena_alloc(&arena, sizeof(float) * (size_t)mc.k * (size_t)mc.n);
                mc.c = arena_alloc(&arena, sizeof(float) * (size_t)mc.m * (size_t)mc.n);
                rng_fill_uniform(&rng, mc.a, (long)mc.m * mc.k, -1, 1);
                rng_fill_uniform(&rng, mc.b, (long)mc.k * mc.n, -1, 1);
                double ms = time_median(run_matmul, &mc, reps);
                double gflops = 2.0 * mc.m * mc.k * mc.n / (ms * 1e6);
                bench_line_begin("matmul");
                printf("\"m\":%d,\"k\":%d,\"n\":%d,\"trans\":\"%s\",\"threads\":%d,"
                       "\"ms\":%.4f,\"gflops\":%.1f}\n",
                       mc.m, mc.k, mc.n, matmul_trans_name(mc.trans), threads[t], ms, gflops);
                fflush(stdout);
            }
        }
    }
    arena_free(&arena);
}

// ---------------------------------------------------------------- fft

typedef struct FftCase {
    int n, batch;
    float *x, *re, *im;
} FftCase;

static void run_fft_round_trip(void *ctx) {
    FftCase *fc = ctx;
    fft_rfft(fc->n, fc->batch, fc->x, fc->re, fc->im);
    fft_irfft(fc->n, fc->batch, fc->re, fc->im, fc->x);
}

// rfft then irfft (so the data stays the same from run to run), n = 2^8 .. 2^20.
static void bench_fft(const int *threads, int n_threads, int reps) {
    static const int batches[] = {1, 128};
    Arena arena;
    arena_init(&arena, 0);
    Rng rng = rng_new(2);
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        for (int b = 0; b < 2; b++)
            for (int lg = 8; lg <= 20; lg++) {
                FftCase fc = {1 << lg, batches[b], NULL, NULL, NULL};
                size_t bins = (size_t)(fc.n / 2 + 1) * (size_t)fc.batch;
                arena_reset(&arena);
                fc.x = arena_alloc(&arena, sizeof(float) * (size_t)fc.n * (size_t)fc.batch);
                fc.re = arena_alloc(&arena, sizeof(float) * bins);
                fc.im = arena_alloc(&arena, sizeof(float) * bins);
                rng_fill_uniform(&rng, fc.x, (long)fc.n * fc.batch, -1, 1);
                double ms = time_median(run_fft_round_trip, &fc, reps);
                bench_line_begin("fft");
                printf("\"n\":%d,\"batch\":%d,\"threads\":%d,\"ms\":%.4f,"
                       "\"us_per_signal\":%.3f}\n",
                       fc.n, fc.batch, threads[t], ms, ms * 1e3 / fc.batch);
                fflush(stdout);
            }
    }
    arena_free(&arena);
}

// ---------------------------------------------------------------- fftconv

typedef struct FftconvCase {
    int L, D;
    FftconvPath path;
    float *u, *h, *bias, *y, *gy, *gu, *gh, *gbias;
} FftconvCase;

static void run_fftconv(void *ctx) {
    FftconvCase *fc = ctx;
    fftconv_forward(fc->y, fc->u, fc->h, fc->bias, 1, fc->L, fc->D, fc->path);
    fftconv_backward(fc->gu, fc->gh, fc->gbias, fc->gy, fc->u, fc->h, fc->bias, 1, fc->L, fc->D, fc->path);
}

// Forward + backward (all three gradients) at B = 1, D = 128. The direct path is O(L^2): it is
// run up to L = 8192, which is enough to see it lose.
static void bench_fftconv(const int *threads, int n_threads, int reps) {
    Arena arena;
    arena_init(&arena, 0);
    Rng rng = rng_new(3);
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        for (int lg = 4; lg <= 16; lg++)
            for (int p = 0; p < 2; p++) {
                FftconvCase fc = {1 << lg, 128, p == 0 ? FFTCONV_FFT : FFTCONV_DIRECT,
                                  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
                if (fc.path == FFTCONV_DIRECT && fc.L > 8192) continue;
                size_t n = (size_t)fc.L * (size_t)fc.D;
                arena_reset(&arena);
                fc.u = arena_alloc(&arena, n * sizeof(float));
                fc.h = arena_alloc(&arena, n * sizeof(float));
                fc.y = arena_alloc(&arena, n * sizeof(float));
                fc.gy = arena_alloc(&arena, n * sizeof(float));
                fc.gu = arena_calloc(&arena, n * sizeof(float));
                fc.gh = arena_calloc(&arena, n * sizeof(float));
                fc.bias = arena_alloc(&arena, (size_t)fc.D * sizeof(float));
                fc.gbias = arena_calloc(&arena, (size_t)fc.D * sizeof(float));
                rng_fill_uniform(&rng, fc.u, (long)n, -1, 1);
                rng_fill_uniform(&rng, fc.h, (long)n, -1, 1);
                rng_fill_uniform(&rng, fc.gy, (long)n, -1, 1);
                rng_fill_uniform(&rng, fc.bias, fc.D, -1, 1);
                double ms = time_median(run_fftconv, &fc, fc.path == FFTCONV_DIRECT && fc.L >= 4096 ? 3 : reps);
                bench_line_begin("fftconv");
                printf("\"L\":%d,\"D\":%d,\"B\":1,\"path\":\"%s\",\"threads\":%d,"
                       "\"ms\":%.4f}\n",
                       fc.L, fc.D, fc.path == FFTCONV_FFT ? "fft" : "direct", threads[t], ms);
                fflush(stdout);
            }
    }
    arena_free(&arena);
}

// ---------------------------------------------------------------- operator

typedef struct OperatorCase {
    MixerKind mixer;
    HyenaOperator hyena;
    Attention attention;
    Tape tape;
    Tensor input;
    float *seed;
} OperatorCase;

static void run_operator(void *ctx) {
    OperatorCase *oc = ctx;
    tape_reset(&oc->tape);
    Var *u = ag_input(&oc->tape, oc->input, true, "u");
    Var *y = oc->mixer == MIXER_HYENA ? hyena_operator_forward(&oc->tape, &oc->hyena, u)
                                      : attention_forward(&oc->tape, &oc->attention, u);
    ag_backward(&oc->tape, y, oc->seed);
}

// Attention keeps [heads, L, L] probabilities plus an [L, L] scratch per thread: it is run while
// that stays under this budget (16384 fits, 32768 would need about 24 GiB).
#define ATTENTION_BUDGET_BYTES ((size_t)10 << 30)

// Forward + backward of one mixer at D = 128, B = 1. peak_mb is the step arena's high-water mark
// (activations, gradients, saved values) plus every thread's scratch, parameters excluded.
static void bench_operator(const int *threads, int n_threads, int reps) {
    const int D = 128, heads = 4;
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        for (int lg = 8; lg <= 16; lg++)
            for (int m = 0; m < 2; m++) {
                int L = 1 << lg;
                OperatorCase oc;
                memset(&oc, 0, sizeof oc);
                oc.mixer = m == 0 ? MIXER_HYENA : MIXER_ATTENTION;
                size_t attention_bytes = (size_t)L * L * sizeof(float) * (size_t)(heads + threads[t]);
                if (oc.mixer == MIXER_ATTENTION && attention_bytes > ATTENTION_BUDGET_BYTES) continue;
                pool_shutdown();  // a fresh pool: its scratch then measures this case alone
                pool_init(threads[t]);
                Arena params_arena, step;
                arena_init(&params_arena, 0);
                arena_init(&step, 0);
                ParamList params;
                params_init(&params, &params_arena);
                Rng rng = rng_new(7);
                if (oc.mixer == MIXER_HYENA) {
                    HyenaConfig cfg = hyena_config_default(D, L);
                    hyena_operator_init(&oc.hyena, &cfg, &params, "", &rng);
                } else {
                    oc.attention = attention_new(&params, "", D, heads, 0.02f, &rng);
                }
                tape_init(&oc.tape, &step);
                Arena data;
                arena_init(&data, 0);
                oc.input = tensor_new(&data, 3, (int[]){1, L, D});
                oc.seed = arena_alloc(&data, sizeof(float) * (size_t)L * D);
                rng_fill_uniform(&rng, oc.input.data, (long)L * D, -1, 1);
                rng_fill_uniform(&rng, oc.seed, (long)L * D, -1, 1);
                int case_reps = L >= 16384 || (oc.mixer == MIXER_ATTENTION && L >= 4096) ? 3 : reps;
                double ms = time_median(run_operator, &oc, case_reps);
                double peak_mb = (double)(step.high_water + pool_scratch_bytes()) / (1 << 20);
                bench_line_begin("operator");
                printf("\"mixer\":\"%s\",\"L\":%d,\"D\":%d,\"B\":1,\"threads\":%d,"
                       "\"ms\":%.3f,\"peak_mb\":%.1f}\n",
                       oc.mixer == MIXER_HYENA ? "hyena" : "attention", L, D, threads[t], ms, peak_mb);
                fflush(stdout);
                arena_free(&data);
                arena_free(&step);
                params_free(&params);
                arena_free(&params_arena);
            }
    }
}

// ---------------------------------------------------------------- generate

// Tokens per second once the context is (almost) full, in the three ways of generating:
//   uncached:  a forward pass over the whole context for every token
//   cached:    one gencache_step per token, reading the whole history (O(t·D) per layer)
//   recurrent: one gencache_step per token on d = 16 states per channel (O(d·D) per layer)
// The model: 4 Hyena layers of width 128, vocabulary 65 (the shakespeare preset's shape),
// distilled (random stable modes: the speed does not depend on their values), so all three
// modes run the same model. A prompt of context - 64 tokens is prefilled (not timed); then each
// of the 64 new tokens is timed alone and "ms" is the median (uncached: 3 tokens at most, it is
// slow). memory_mb: what one sequence holds (history or states; uncached: the forward pass's
// activations); the recurrent state's size does not depend on the context.
static void distill_randomly(Model *m, int d, Rng *rng) {
    for (int i = 0; i < m->cfg.n_layers; i++) {
        HyenaFilter *f = &m->blocks[i].hyena.filter;
        for (long k = 0; k < (long)f->channels * d; k++) {
            double r = 0.5 + 0.49 * rng_uniform(rng), a = 3.14 * rng_uniform(rng);
            f->poles->value.data[2 * k] = (float)(r * cos(a));
            f->poles->value.data[2 * k + 1] = (float)(r * sin(a));
        }
        rng_fill_uniform(rng, f->residues->value.data, (long)f->residues->value.size, -0.1f, 0.1f);
    }
}

static void print_generate_line(const char *mode, int context, int threads, int tokens, double ms, double mb) {
    bench_line_begin("generate");
    printf("\"mode\":\"%s\",\"context\":%d,\"threads\":%d,\"tokens\":%d,\"ms_per_token\":%.3f,"
           "\"tokens_per_s\":%.1f,\"memory_mb\":%.3f}\n",
           mode, context, threads, tokens, ms, 1e3 / ms, mb);
    fflush(stdout);
}

static void bench_generate(const int *threads, int n_threads, int reps) {
    static const int contexts[] = {1024, 4096, 16384, 65536};
    enum { n_new = 64, d = 16, V = 65 };
    (void)reps;
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        for (int ci = 0; ci < 4; ci++) {
            int context = contexts[ci], prompt = context - n_new;
            ModelConfig cfg = model_config_default(V, 128, 4, context);
            cfg.hyena.modal_order = d;
            Model m;
            model_init(&m, &cfg, 1);
            Rng rng = rng_new(2);
            distill_randomly(&m, d, &rng);
            int32_t *ids = malloc(sizeof(int32_t) * (size_t)context);
            float *logits = malloc(sizeof(float) * (size_t)V);
            double times[n_new];
            for (int i = 0; i < context; i++) ids[i] = (int32_t)rng_below(&rng, (uint32_t)V);
            // Uncached: a forward pass over the context per token.
            Arena arena;
            arena_init(&arena, 0);
            Tape tape;
            tape_init(&tape, &arena);
            SampleOptions o = {1.0f, 0, 1.0f};
            int uncached = context >= 16384 ? 1 : 3;
            // One untimed pass first: the arena's first use of each page costs a page fault, and
            // on some VMs those cost more than the pass (measured: 6.4 s, then 0.54 s at 16K).
            generate_uncached(&m, ids, context - 1, 1, &o, &rng, &tape, NULL, NULL);
            for (int r = 0; r < uncached; r++) {
                double t0 = cli_seconds();
                generate_uncached(&m, ids, context - 1, 1, &o, &rng, &tape, NULL, NULL);
                times[r] = (cli_seconds() - t0) * 1e3;
            }
            qsort(times, (size_t)uncached, sizeof(double), compare_double);
            print_generate_line("uncached", context, threads[t], uncached, times[uncached / 2],
                                (double)arena.high_water / (1 << 20));
            arena_free(&arena);
            for (int mode = GEN_CACHED; mode <= GEN_RECURRENT; mode++) {
                GenCache cache;
                gencache_init_mode(&cache, &m, (GenMode)mode);
                gencache_prefill(&cache, ids, prompt, logits);
                for (int i = 0; i < n_new; i++) {
                    double t0 = cli_seconds();
                    gencache_step(&cache, ids[prompt + i], logits);
                    times[i] = (cli_seconds() - t0) * 1e3;
                }
                qsort(times, n_new, sizeof(double), compare_double);
                print_generate_line(mode == GEN_CACHED ? "cached" : "recurrent", context, threads[t], n_new,
                                    times[n_new / 2], (double)gencache_bytes(&cache) / (1 << 20));
                gencache_free(&cache);
            }
            free(logits);
            free(ids);
            model_free(&m);
        }
    }
}

// ---------------------------------------------------------------- train, recall

// A training step's configuration: the model, the batch, and the learning rate (which changes
// nothing about the time, only the values).
typedef struct StepShape {
    int vocab, d_model, layers, batch, context;
} StepShape;

typedef struct TrainCase {
    Model *model;
    Optimizer *opt;
    Tape *tape;
    int32_t *in, *tg;
    int batch, context;
} TrainCase;

static void run_train_step(void *ctx) {
    TrainCase *c = ctx;
    tape_reset(c->tape);
    params_zero_grad(&c->model->params);
    Var *loss = ag_cross_entropy(c->tape, model_forward(c->tape, c->model, c->in, c->batch, c->context), c->tg, -1);
    ag_backward(c->tape, loss, NULL);
    optim_clip(&c->model->params, 1.0f);
    optim_step(c->opt);
}

// Time training steps of every shape at every thread count: one JSON line each, or with
// `profile`, a table of where the time goes (profile.h) after each line.
static void bench_steps(const char *name, const StepShape *shapes, int n_shapes, const int *threads, int n_threads,
                        int reps, bool profile) {
    for (int t = 0; t < n_threads; t++) {
        pool_init(threads[t]);
        double peak = profile ? peak_gflops(reps) : 0;
        for (int s = 0; s < n_shapes; s++) {
            StepShape sh = shapes[s];
            int B = sh.batch, T = sh.context;
            ModelConfig cfg = model_config_default(sh.vocab, sh.d_model, sh.layers, T);
            Model m;
            model_init(&m, &cfg, 1);
            OptimConfig oc = optim_config_default();
            Optimizer opt;
            optim_init(&opt, &oc, &m.params);
            Arena arena;
            arena_init(&arena, 0);
            Tape tape;
            tape_init(&tape, &arena);
            int32_t *in = malloc(sizeof(int32_t) * (size_t)B * T), *tg = malloc(sizeof(int32_t) * (size_t)B * T);
            Rng rng = rng_new(3);
            for (int i = 0; i < B * T; i++) {
                in[i] = (int32_t)rng_below(&rng, (uint64_t)sh.vocab);
                tg[i] = (int32_t)rng_below(&rng, (uint64_t)sh.vocab);
            }
            TrainCase c = {&m, &opt, &tape, in, tg, B, T};
            double ms = time_median(run_train_step, &c, reps);
            bench_line_begin(name);
            printf("\"batch\":%d,\"context\":%d,\"layers\":%d,\"d_model\":%d,\"vocab\":%d,\"threads\":%d,"
                   "\"ms\":%.2f,\"tokens_per_s\":%.0f,\"peak_mb\":%.1f}\n",
                   B, T, sh.layers, sh.d_model, sh.vocab, threads[t], ms, B * T / (ms / 1e3),
                   (double)(arena.high_water + pool_scratch_bytes()) / (1 << 20));
            if (profile) {
                ProfileStep ps = {&m, &opt, &tape, in, tg, B, T};
                profile_train_steps(&ps, reps, peak, stdout);
                printf("\n");
            }
            fflush(stdout);
            free(in);
            free(tg);
            arena_free(&arena);
            optim_free(&opt);
            model_free(&m);
        }
    }
}

// A 4-layer width-128 Hyena LM with a 65-token vocabulary: the shakespeare preset (batch 12,
// context 64), then context 1024 and 8192 at batch 1.
static void bench_train(const int *threads, int n_threads, int reps, bool profile) {
    static const StepShape shapes[] = {{65, 128, 4, 12, 64}, {65, 128, 4, 1, 1024}, {65, 128, 4, 1, 8192}};
    bench_steps("train", shapes, 3, threads, n_threads, reps, profile);
}

// The step of `hyena recall`'s defaults: 2 layers of width 64, vocabulary 30, batch 16 of
// sequences of 1024 + 3 tokens (the model sees all but the last).
static void bench_recall(const int *threads, int n_threads, int reps, bool profile) {
    static const StepShape shapes[] = {{30, 64, 2, 16, 1026}};
    bench_steps("recall", shapes, 1, threads, n_threads, reps, profile);
}

// ---------------------------------------------------------------- the command

typedef struct Benchmark {
    const char *name;
    const char *what;
    void (*run)(const int *threads, int n_threads, int reps);
    void (*profiled)(const int *threads, int n_threads, int reps, bool profile);  // training steps
} Benchmark;

static const Benchmark benchmarks[] = {
    {"peak", "the FMA peak of this build's vectors: register-only multiply-adds, per thread count", bench_peak, NULL},
    {"matmul", "C = A·B and the two transposed forms: the train and recall steps' shapes, 512^3 and 1024^3",
     bench_matmul, NULL},
    {"fft", "real FFT round trip (rfft then irfft), 1 and 128 signals, n = 2^8 .. 2^20", bench_fft, NULL},
    {"fftconv", "long convolution forward+backward, B=1, D=128, L = 2^4 .. 2^16, FFT and direct paths",
     bench_fftconv, NULL},
    {"operator", "Hyena operator vs attention (4 heads), forward+backward and peak memory, D=128, L = 2^8 .. 2^16",
     bench_operator, NULL},
    {"train", "a full training step (forward, backward, AdamW) of the shakespeare preset, and context 1024, 8192",
     NULL, bench_train},
    {"recall", "a training step of hyena recall's defaults (2 layers of width 64, batch 16, 1026 tokens)", NULL,
     bench_recall},
    {"generate", "tokens/s and memory of uncached, cached and recurrent generation at contexts 1K to 64K",
     bench_generate,
     NULL},
};

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: hyena bench NAME [--threads LIST] [--reps N] [--profile] [--background-load]\n"
            "  Times a kernel and prints one JSON object per line; \"ms\" is the median of N runs\n"
            "  after warming up for 50 ms.\n"
            "  --threads LIST  comma-separated thread counts to run (default: 1,<cores>)\n"
            "  --reps N        timed runs per case (default 11, at most 64)\n"
            "  --profile       train and recall: after each line, where a step's time goes (per op\n"
            "                  forward and backward, optimizer, pool waits, GFLOP/s against the FMA peak)\n"
            "  --background-load  keep one busy process of normal priority running meanwhile (a laptop\n"
            "                  with a browser open): 2 threads should still be no slower than 1\n"
            "benchmarks:\n");
    for (size_t i = 0; i < sizeof benchmarks / sizeof benchmarks[0]; i++)
        fprintf(f, "  %-10s %s\n", benchmarks[i].name, benchmarks[i].what);
}

int bench_main(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        bench_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *name = argv[0];
    int threads[8] = {1, pool_default_threads()};
    int n_threads = threads[1] > 1 ? 2 : 1;
    int reps = 11;
    bool profile = false;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--threads") == 0 && value) {
            n_threads = cli_parse_int_list(value, threads, 8, 1, 1024, "--threads");
            if (n_threads < 0) return 2;
            i++;
        } else if (strcmp(argv[i], "--profile") == 0) {
            profile = true;
        } else if (strcmp(argv[i], "--background-load") == 0) {
            background_load = true;
        } else if (strcmp(argv[i], "--reps") == 0 && value) {
            if (!cli_parse_int(value, &reps, 1, 64, "--reps")) return 2;
            i++;
        } else {
            fprintf(stderr, "hyena bench: unknown or incomplete option '%s' (see hyena bench --help)\n", argv[i]);
            return 2;
        }
    }
    const Benchmark *bench = NULL;
    for (size_t i = 0; i < sizeof benchmarks / sizeof benchmarks[0]; i++)
        if (strcmp(name, benchmarks[i].name) == 0) bench = &benchmarks[i];
    if (bench == NULL) {
        fprintf(stderr, "hyena bench: no benchmark named '%s' (see hyena bench --help)\n", name);
        return 2;
    }
    if (profile && bench->profiled == NULL) {
        fprintf(stderr, "hyena bench: --profile is for train and recall, not '%s'\n", name);
        return 2;
    }
    pid_t load = background_load ? background_load_start() : 0;
    if (bench->profiled) bench->profiled(threads, n_threads, reps, profile);
    else bench->run(threads, n_threads, reps);
    background_load_stop(load);
    return 0;
}
