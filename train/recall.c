// recall.c - can the model look things up in its context? (data/synthetic.h)
//
// Training draws fresh examples every step from a seeded generator: an unbounded training set,
// so the only way to lower the loss on the scored tokens is to solve the task in context.
// Every next token is a training target (as in the reference); the test set is fixed (its own
// seed) and scores only the final token(s), by argmax. Hyena and attention get the same width,
// depth, optimizer and time budget.
#define _POSIX_C_SOURCE 200809L
#include "recall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../data/dataset.h"
#include "../data/synthetic.h"
#include "../hyena/model.h"
#include "../tensor/pool.h"
#include "cli.h"
#include "fileio.h"
#include "optim.h"
#include "plot.h"

typedef struct RecallConfig {
    SyntheticSpec spec;
    int d_model, layers, batch, steps, eval_every, test_examples, threads, seed;
    int attention_short_conv;  // -1: the task's default (on for MQAR, as Zoology's baseline; off otherwise)
    float lr, max_minutes;
    char mixer[16];   // hyena, attention or both
} RecallConfig;

// Moves the scored positions of targets [n] to the front: rows[i] is where the i-th scored
// target was, targets[i] its value. Returns how many there are.
static int compact_scored(int32_t *targets, long n, int32_t *rows) {
    int n_scored = 0;
    for (long i = 0; i < n; i++)
        if (targets[i] != IGNORE_INDEX) {
            rows[n_scored] = (int32_t)i;
            targets[n_scored++] = targets[i];
        }
    return n_scored;
}

// Fraction of the test set's scored tokens the model predicts exactly (by argmax): one per
// example for recall and induction, one per query for MQAR (as Zoology reports it).
static double test_accuracy(const Model *m, const SyntheticSet *test, Tape *tape) {
    int T = test->length - 1, V = m->cfg.vocab_size, B = 16;
    long correct = 0, scored = 0;
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * T), *tg = malloc(sizeof(int32_t) * (size_t)B * T),
            *rows = malloc(sizeof(int32_t) * (size_t)B * T);
    int *pick = malloc(sizeof(int) * (size_t)B);
    tape->recording = false;
    for (int e0 = 0; e0 < test->n_examples; e0 += B) {
        int b_n = test->n_examples - e0 < B ? test->n_examples - e0 : B;
        for (int b = 0; b < b_n; b++) pick[b] = e0 + b;
        synthetic_batch(test, pick, b_n, true, in, tg);
        int n_scored = compact_scored(tg, (long)b_n * T, rows);
        if (n_scored == 0) continue;
        tape_reset(tape);
        Var *logits = model_forward_rows(tape, m, in, b_n, T, rows, n_scored);  // [n_scored, V]
        for (int i = 0; i < n_scored; i++) {
            const float *row = logits->value.data + (long)i * V;
            int best = 0;
            for (int v = 1; v < V; v++) best = row[v] > row[best] ? v : best;
            correct += best == tg[i];
        }
        scored += n_scored;
    }
    tape_reset(tape);
    tape->recording = true;
    free(in);
    free(tg);
    free(rows);
    free(pick);
    return scored ? (double)correct / scored : 0;
}

typedef struct RunResult {
    double accuracy, minutes;
    int steps;
} RunResult;

static RunResult run(const RecallConfig *rc, MixerKind mixer, const SyntheticSet *test) {
    int T = test->length - 1, B = rc->batch;
    ModelConfig mc = model_config_default(rc->spec.vocab_size, rc->d_model, rc->layers, T);
    for (int i = 0; i < MODEL_MAX_LAYERS; i++) mc.mixer[i] = mixer;
    mc.attention_short_conv = rc->attention_short_conv;
    Model m;
    model_init(&m, &mc, (uint64_t)rc->seed);
    OptimConfig oc = optim_config_default();
    oc.lr = rc->lr;
    oc.min_lr = rc->lr / 10;
    oc.warmup_steps = rc->steps / 20;
    oc.total_steps = rc->steps;
    Optimizer opt;
    optim_init(&opt, &oc, &m.params);
    const char *name = mixer == MIXER_HYENA ? "hyena" : "attention";
    printf("%s%s: %d layers, width %d, %ld parameters, sequences of %d tokens, batch %d\n", name,
           mixer == MIXER_ATTENTION && mc.attention_short_conv ? " (with a short convolution)" : "", rc->layers,
           rc->d_model, params_count(&m.params), T + 1, B);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    Rng rng = rng_new((uint64_t)rc->seed * 7919 + 1);
    int32_t *ex = malloc(sizeof(int32_t) * (size_t)(T + 1)), *in = malloc(sizeof(int32_t) * (size_t)B * T),
            *tg = malloc(sizeof(int32_t) * (size_t)B * T), *rows = malloc(sizeof(int32_t) * (size_t)B * T);
    double start = cli_seconds(), acc = 0;
    int step = 0;
    for (step = 1; step <= rc->steps; step++) {
        for (int b = 0; b < B; b++) {
            synthetic_example_scored(&rc->spec, &rng, ex, tg + (long)b * T);
            memcpy(in + (long)b * T, ex, sizeof(int32_t) * (size_t)T);
        }
        tape_reset(&tape);
        params_zero_grad(&m.params);
        Var *logits;
        if (rc->spec.task == TASK_MQAR) {  // only the queries are scored: the head runs at those rows alone
            int n_scored = compact_scored(tg, (long)B * T, rows);
            logits = model_forward_rows(&tape, &m, in, B, T, rows, n_scored);
        } else {
            logits = model_forward(&tape, &m, in, B, T);
        }
        Var *loss = ag_cross_entropy(&tape, logits, tg, IGNORE_INDEX);
        ag_backward(&tape, loss, NULL);
        optim_clip(&m.params, 1.0f);
        optim_step(&opt);
        double minutes = (cli_seconds() - start) / 60;
        bool last = step == rc->steps || minutes >= rc->max_minutes;
        if (step % rc->eval_every == 0 || last) {
            acc = test_accuracy(&m, test, &tape);
            printf("%s step %5d | loss %.4f | test accuracy %6.2f%% | %.1f min\n", name, step, loss->value.data[0],
                   100 * acc, (cli_seconds() - start) / 60);
            fflush(stdout);
            if (acc >= 1.0 || last) break;
        }
    }
    RunResult result = {acc, (cli_seconds() - start) / 60, step};  // the loop always ends by its break
    printf("%s: test accuracy %.2f%% after %d steps, %.1f minutes\n", name, 100 * acc, result.steps, result.minutes);
    free(ex);
    free(in);
    free(tg);
    free(rows);
    arena_free(&arena);
    optim_free(&opt);
    model_free(&m);
    return result;
}

// The MQAR sweep: Zoology's Figure 2 in small. Three settings, each with twice the pairs in twice
// the length; each width; Hyena and attention. The batch shrinks as the sequence grows so that
// every step sees the same tokens and the same number of queries (64 x 64 tokens, 256 queries).
// Zoology's MQAR draws from 8192 tokens; a laptop cannot wait for that. Measured here (length
// 64, 4 pairs, lr 3e-3, 2000 steps): attention with its short convolution is at 24% after 250
// steps with 8192 tokens and at 99.8% with 64 (and each step of 8192 takes twice as long);
// Hyena of width 128 stays at 24%, the one-in-four plateau, with 256 tokens, and reaches 70% with
// 64. 64 tokens still give 31 x 32 key-value combinations: the task cannot be memorized.
#define MQAR_VOCAB 64
#define SWEEP_SETTINGS 3
#define SWEEP_WIDTHS 3
static const int sweep_seq_len[SWEEP_SETTINGS] = {64, 128, 256}, sweep_pairs[SWEEP_SETTINGS] = {4, 8, 16};
static const int sweep_width[SWEEP_WIDTHS] = {32, 64, 128};

static const char *const sweep_mixers[2] = {"hyena", "attention"};

typedef struct SweepPoint {
    const char *mixer;
    int seq_len, pairs, d_model;
    RunResult r;
} SweepPoint;

// The point of pts for this mixer, setting and width, or NULL.
static const SweepPoint *sweep_find(const SweepPoint *pts, int n, const char *mixer, int setting, int d_model) {
    for (int i = 0; i < n; i++)
        if (strcmp(pts[i].mixer, mixer) == 0 && pts[i].seq_len == sweep_seq_len[setting] &&
            pts[i].pairs == sweep_pairs[setting] && pts[i].d_model == d_model)
            return &pts[i];
    return NULL;
}

// Rewrites DIR/mqar_sweep.jsonl and DIR/mqar_sweep.svg with the n points so far (atomically:
// an interrupted sweep leaves the results of every finished run).
static bool sweep_write(const char *dir, const SweepPoint *pts, int n) {
    size_t cap = 256 * (size_t)(n + 1), len = 0;
    char *text = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len,
                                "{\"task\": \"mqar\", \"mixer\": \"%s\", \"seq_len\": %d, \"pairs\": %d, "
                                "\"d_model\": %d, \"accuracy\": %.4f, \"steps\": %d, \"minutes\": %.2f}\n",
                                pts[i].mixer, pts[i].seq_len, pts[i].pairs, pts[i].d_model, pts[i].r.accuracy,
                                pts[i].r.steps, pts[i].r.minutes);
    char path[4096];
    snprintf(path, sizeof path, "%s/mqar_sweep.jsonl", dir);
    bool ok = file_write_atomic(path, text, len);
    free(text);
    // One line per (mixer, setting) against width: the colour names the setting, attention dashed.
    double x[2 * SWEEP_SETTINGS][SWEEP_WIDTHS], y[2 * SWEEP_SETTINGS][SWEEP_WIDTHS];
    char labels[2 * SWEEP_SETTINGS][64];
    PlotSeries series[2 * SWEEP_SETTINGS];
    PlotStyle styles[2 * SWEEP_SETTINGS];
    int n_series = 0;
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < SWEEP_SETTINGS; s++) {
            int np = 0;
            for (int w = 0; w < SWEEP_WIDTHS; w++) {
                const SweepPoint *p = sweep_find(pts, n, sweep_mixers[k], s, sweep_width[w]);
                if (!p) continue;
                x[n_series][np] = p->d_model;
                y[n_series][np++] = 100 * p->r.accuracy;
            }
            if (np == 0) continue;
            snprintf(labels[n_series], sizeof labels[n_series], "%s L%d N%d", sweep_mixers[k], sweep_seq_len[s],
                     sweep_pairs[s]);
            series[n_series] = (PlotSeries){labels[n_series], x[n_series], y[n_series], np};
            styles[n_series] = (PlotStyle){s + 1, k == 1, true};
            n_series++;
        }
    PlotOptions o = {"MQAR: test accuracy against width (2 layers; L length, N pairs)", "model width (d_model)",
                     "test accuracy (%)",
                     false, false};
    snprintf(path, sizeof path, "%s/mqar_sweep.svg", dir);
    return plot_svg_write_styled(path, &o, series, styles, n_series) && ok;
}

// The runs a previous sweep into dir finished (its mqar_sweep.jsonl), so that an interrupted
// sweep picks up where it stopped. Returns how many points it read into pts.
static int sweep_read(const char *dir, SweepPoint *pts, int max) {
    char path[4096], line[512], mixer[16];
    snprintf(path, sizeof path, "%s/mqar_sweep.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int n = 0;
    SweepPoint p;
    while (n < max && fgets(line, sizeof line, f))
        if (sscanf(line,
                   "{\"task\": \"mqar\", \"mixer\": \"%15[a-z]\", \"seq_len\": %d, \"pairs\": %d, \"d_model\": %d, "
                   "\"accuracy\": %lf, \"steps\": %d, \"minutes\": %lf}",
                   mixer, &p.seq_len, &p.pairs, &p.d_model, &p.r.accuracy, &p.r.steps, &p.r.minutes) == 7 &&
            (strcmp(mixer, "hyena") == 0 || strcmp(mixer, "attention") == 0)) {
            p.mixer = strcmp(mixer, "hyena") == 0 ? "hyena" : "attention";
            pts[n++] = p;
        }
    fclose(f);
    return n;
}

static int sweep(RecallConfig rc, const char *dir) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "hyena: cannot create the sweep directory '%s': %s\n", dir, strerror(errno));
        return 1;
    }
    for (int s = 0; s < SWEEP_SETTINGS; s++) {  // refuse a bad --vocab now, not an hour in
        SyntheticSpec spec = rc.spec;
        spec.seq_len = sweep_seq_len[s];
        spec.n_pairs = sweep_pairs[s];
        const char *problem = synthetic_check(&spec);
        if (problem) {
            fprintf(stderr, "hyena: %s (sweep setting: length %d, %d pairs)\n", problem, spec.seq_len, spec.n_pairs);
            return 2;
        }
    }
    printf("threads: %d; MQAR sweep, vocabulary %d, lengths 64/128/256 with 4/8/16 pairs, widths 32/64/128, "
           "at most %d steps or %.1f minutes per model\n",
           pool_threads(), rc.spec.vocab_size, rc.steps, rc.max_minutes);
    SweepPoint pts[SWEEP_SETTINGS * SWEEP_WIDTHS * 2], done[SWEEP_SETTINGS * SWEEP_WIDTHS * 2];
    int n_done = sweep_read(dir, done, SWEEP_SETTINGS * SWEEP_WIDTHS * 2);
    if (n_done > 0)
        printf("reusing the %d runs %s/mqar_sweep.jsonl holds (delete it to start over)\n", n_done, dir);
    int n = 0, total = SWEEP_SETTINGS * SWEEP_WIDTHS * (strcmp(rc.mixer, "both") == 0 ? 2 : 1), batch64 = rc.batch;
    for (int s = 0; s < SWEEP_SETTINGS; s++) {
        rc.spec.seq_len = sweep_seq_len[s];
        rc.spec.n_pairs = sweep_pairs[s];
        rc.batch = batch64 * 64 / rc.spec.seq_len > 0 ? batch64 * 64 / rc.spec.seq_len : 1;
        SyntheticSet test;
        synthetic_set_new(&test, &rc.spec, rc.test_examples, (uint64_t)rc.seed + 1000003);
        for (int w = 0; w < SWEEP_WIDTHS; w++)
            for (int k = 0; k < 2; k++) {
                const char *mixer = sweep_mixers[k];
                if (strcmp(rc.mixer, "both") != 0 && strcmp(rc.mixer, mixer) != 0) continue;
                rc.d_model = sweep_width[w];
                const SweepPoint *finished = sweep_find(done, n_done, mixer, s, rc.d_model);
                if (finished) {
                    pts[n++] = *finished;
                    continue;
                }
                printf("\n[%d/%d] sequence length %d, %d pairs, width %d\n", n + 1, total, rc.spec.seq_len,
                       rc.spec.n_pairs, rc.d_model);
                pts[n] = (SweepPoint){mixer, rc.spec.seq_len, rc.spec.n_pairs, rc.d_model, {0, 0, 0}};
                pts[n].r = run(&rc, k == 0 ? MIXER_HYENA : MIXER_ATTENTION, &test);
                n++;
                if (!sweep_write(dir, pts, n)) {
                    synthetic_set_free(&test);
                    return 1;
                }
            }
        synthetic_set_free(&test);
    }
    if (!sweep_write(dir, pts, n)) return 1;  // also when every run was reused: the chart is redrawn
    printf("\n%-9s %7s %5s", "mixer", "seq_len", "pairs");
    for (int w = 0; w < SWEEP_WIDTHS; w++) printf("  width %-3d", sweep_width[w]);
    printf("\n");
    for (int k = 0; k < 2; k++)
        for (int s = 0; s < SWEEP_SETTINGS; s++) {
            if (strcmp(rc.mixer, "both") != 0 && strcmp(rc.mixer, sweep_mixers[k]) != 0) continue;
            printf("%-9s %7d %5d", sweep_mixers[k], sweep_seq_len[s], sweep_pairs[s]);
            for (int w = 0; w < SWEEP_WIDTHS; w++)
                printf("  %8.1f%%", 100 * sweep_find(pts, n, sweep_mixers[k], s, sweep_width[w])->r.accuracy);
            printf("\n");
        }
    printf("wrote %s/mqar_sweep.jsonl and %s/mqar_sweep.svg\n", dir, dir);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: hyena recall [--task assoc|induction|mqar] [--vocab V] [--seq-len L] [--pairs N]\n"
               "                    [--mixer hyena|attention|both] [--d-model N] [--layers N] [--batch N] [--steps N]\n"
               "                    [--lr X] [--max-minutes M] [--eval-every N] [--test-examples N] [--seed N]\n"
               "                    [--threads N] [--attention-short-conv 0|1] [--sweep DIR]\n"
               "  Trains on fresh synthetic examples (data/synthetic.h) and reports the test accuracy on the\n"
               "  scored tokens, for Hyena and then for attention of the same width and depth (--mixer both,\n"
               "  the default). Defaults: assoc, vocab 30, seq-len 1024, width 64, 2 layers, batch 16,\n"
               "  lr 3e-3, at most 5000 steps or 15 minutes per model, stopping at 100%%.\n"
               "  mqar: multi-query associative recall as Zoology defines it (--pairs key-value pairs, each\n"
               "  queried once; accuracy over the queries). Its defaults, a class demonstration of a few\n"
               "  minutes: vocab 64, seq-len 64, 4 pairs, batch 64, at most 2000 steps or 2 minutes per\n"
               "  model; attention gets a short convolution on q, k, v as in Zoology's baseline\n"
               "  (--attention-short-conv 0 removes it).\n"
               "  --sweep DIR (with --task mqar): lengths 64, 128, 256 with 4, 8, 16 pairs, widths 32, 64, 128,\n"
               "  Hyena and attention (batch 64 x 64 / length, at most 4000 steps or 5 minutes each); writes\n"
               "  DIR/mqar_sweep.jsonl and DIR/mqar_sweep.svg (accuracy against width) after every run.\n");
}

int recall_main(int argc, char **argv) {
    // lr 3e-3 at batch 16 learns the task several times faster per minute than 1e-3 at batch 32
    // (measured: 70% test accuracy after 5 minutes against 19%).
    RecallConfig rc = {{TASK_ASSOC_RECALL, 30, 1024, 8}, 64, 2, 16, 5000, 250, 256, 0, 1, -1, 3e-3f, 15.0f, "both"};
    bool vocab_set = false, seq_len_set = false, pairs_set = false, batch_set = false, steps_set = false, minutes_set = false;
    const char *sweep_dir = NULL;
    for (int i = 0; i < argc; i += 2) {  // every option takes a value
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "hyena recall: unknown or incomplete option '%s' (see --help)\n", f);
            return 2;
        }
        if (strcmp(f, "--task") == 0) {
            if (strcmp(v, "assoc") && strcmp(v, "induction") && strcmp(v, "mqar")) {
                fprintf(stderr, "hyena: --task expects assoc, induction or mqar, got '%s'\n", v);
                return 2;
            }
            rc.spec.task = strcmp(v, "assoc") == 0 ? TASK_ASSOC_RECALL : strcmp(v, "mqar") == 0 ? TASK_MQAR : TASK_INDUCTION;
        } else if (strcmp(f, "--mixer") == 0) {
            if (strcmp(v, "hyena") && strcmp(v, "attention") && strcmp(v, "both")) {
                fprintf(stderr, "hyena: --mixer expects hyena, attention or both, got '%s'\n", v);
                return 2;
            }
            snprintf(rc.mixer, sizeof rc.mixer, "%s", v);
        } else if (strcmp(f, "--vocab") == 0) ok = vocab_set = cli_parse_int(v, &rc.spec.vocab_size, 6, 1 << 16, f);
        else if (strcmp(f, "--seq-len") == 0) ok = seq_len_set = cli_parse_int(v, &rc.spec.seq_len, 3, 1 << 20, f);
        else if (strcmp(f, "--pairs") == 0) ok = pairs_set = cli_parse_int(v, &rc.spec.n_pairs, 1, 1 << 16, f);
        else if (strcmp(f, "--d-model") == 0) ok = cli_parse_int(v, &rc.d_model, 4, 8192, f);
        else if (strcmp(f, "--layers") == 0) ok = cli_parse_int(v, &rc.layers, 1, MODEL_MAX_LAYERS, f);
        else if (strcmp(f, "--batch") == 0) ok = batch_set = cli_parse_int(v, &rc.batch, 1, 4096, f);
        else if (strcmp(f, "--steps") == 0) ok = steps_set = cli_parse_int(v, &rc.steps, 1, 1 << 30, f);
        else if (strcmp(f, "--sweep") == 0) sweep_dir = v;
        else if (strcmp(f, "--eval-every") == 0) ok = cli_parse_int(v, &rc.eval_every, 1, 1 << 30, f);
        else if (strcmp(f, "--test-examples") == 0) ok = cli_parse_int(v, &rc.test_examples, 1, 1 << 20, f);
        else if (strcmp(f, "--seed") == 0) ok = cli_parse_int(v, &rc.seed, 0, 1 << 30, f);
        else if (strcmp(f, "--threads") == 0) ok = cli_parse_int(v, &rc.threads, 1, 1024, f);
        else if (strcmp(f, "--attention-short-conv") == 0) ok = cli_parse_int(v, &rc.attention_short_conv, 0, 1, f);
        else if (strcmp(f, "--lr") == 0 || strcmp(f, "--max-minutes") == 0) {
            char *end;
            float x = strtof(v, &end);
            if (end == v || *end || !(x > 0) || x > 1e6f) {
                fprintf(stderr, "hyena: %s expects a positive number, got '%s'\n", f, v);
                return 2;
            }
            if (f[2] == 'l') rc.lr = x;
            else {
                rc.max_minutes = x;
                minutes_set = true;
            }
        } else {
            fprintf(stderr, "hyena recall: unknown option '%s' (see --help)\n", f);
            return 2;
        }
        if (!ok) return 2;
    }
    if (sweep_dir && rc.spec.task != TASK_MQAR) {
        fprintf(stderr, "hyena: --sweep runs the MQAR sweep: add --task mqar\n");
        return 2;
    }
    if (rc.spec.task == TASK_MQAR) {  // Zoology's short sequences, in a laptop's budget (see usage)
        if (!vocab_set) rc.spec.vocab_size = MQAR_VOCAB;
        if (!seq_len_set) rc.spec.seq_len = 64;
        if (!pairs_set) rc.spec.n_pairs = 4;
        if (!batch_set) rc.batch = 64;  // 4096 tokens a step (the sweep: at length 64, then fewer sequences)
        if (!steps_set) rc.steps = sweep_dir ? 4000 : 2000;
        if (!minutes_set) rc.max_minutes = sweep_dir ? 5 : 2;
    }
    if (rc.attention_short_conv < 0) rc.attention_short_conv = rc.spec.task == TASK_MQAR;
    const char *problem = sweep_dir ? NULL : synthetic_check(&rc.spec);  // the sweep checks each setting
    if (problem) {
        fprintf(stderr, "hyena: %s\n", problem);
        return 2;
    }
    pool_init(rc.threads);
    if (sweep_dir) return sweep(rc, sweep_dir);
    static const char *task_names[] = {"associative recall", "induction heads", "multi-query associative recall"};
    printf("threads: %d; task %s, vocabulary %d, sequence length %d", pool_threads(), task_names[rc.spec.task],
           rc.spec.vocab_size, rc.spec.seq_len);
    if (rc.spec.task == TASK_MQAR) printf(", %d key-value pairs", rc.spec.n_pairs);
    printf("\n");
    SyntheticSet test;
    synthetic_set_new(&test, &rc.spec, rc.test_examples, (uint64_t)rc.seed + 1000003);
    if (strcmp(rc.mixer, "attention") != 0) run(&rc, MIXER_HYENA, &test);
    if (strcmp(rc.mixer, "hyena") != 0) run(&rc, MIXER_ATTENTION, &test);
    synthetic_set_free(&test);
    return 0;
}
