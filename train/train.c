// train.c - the training loop: batches, forward, backward, clip, AdamW, and what a person watches.
//
// One step: reset the step arena, draw grad_accum micro-batches of random windows, run each
// forward and backward (parameter gradients accumulate), clip the global gradient norm, update.
// Every eval_every steps: the exact validation loss over the whole split, the latest checkpoint
// (and the best, by validation loss), a sample, and the CSV log and SVG plot rewritten.
// A non-finite loss or gradient stops the run before the update, keeping the last good
// checkpoint. Ctrl-C finishes the current step, saves, and exits.
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../data/corpus.h"
#include "../tensor/pool.h"
#include "checkpoint.h"
#include "cli.h"
#include "evaluate.h"
#include "fileio.h"
#include "plot.h"
#include "sample.h"

static volatile sig_atomic_t stop_requested;

static void on_interrupt(int sig) {
    (void)sig;
    stop_requested = 1;
}

// ---------------------------------------------------------------- the log

typedef struct LogRow {
    long step;
    double loss, lr, grad_norm, ms, val_loss;  // val_loss NAN except at evaluations
} LogRow;

typedef struct Log {
    LogRow *rows;
    long n, cap;
} Log;

static void log_add(Log *log, LogRow row) {
    if (log->n == log->cap) log->rows = realloc(log->rows, sizeof(LogRow) * (size_t)(log->cap = log->cap ? 2 * log->cap : 1024));
    log->rows[log->n++] = row;
}

// A resumed run keeps the history of the run it continues: rows up to its step.
static void log_read(Log *log, const char *path, long up_to) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        LogRow r;
        char val[64];
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf,%63s", &r.step, &r.loss, &r.lr, &r.grad_norm, &r.ms, val) != 6) continue;
        r.val_loss = strcmp(val, "") && strcmp(val, "nan") ? strtod(val, NULL) : NAN;
        if (r.step <= up_to) log_add(log, r);
    }
    fclose(f);
}

static bool log_write(const Log *log, const char *dir) {
    char path[1100], *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    fprintf(f, "step,loss,lr,grad_norm,ms,val_loss\n");
    for (long i = 0; i < log->n; i++) {
        const LogRow *r = &log->rows[i];
        fprintf(f, "%ld,%.6f,%.6g,%.4f,%.2f,", r->step, r->loss, r->lr, r->grad_norm, r->ms);
        if (isnan(r->val_loss)) fprintf(f, "nan\n");
        else fprintf(f, "%.6f\n", r->val_loss);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    bool ok = file_write_atomic(path, text, size);
    free(text);
    // The plot: training loss per step and validation loss at each evaluation.
    double *xs = malloc(sizeof(double) * (size_t)(log->n + 1)), *ys = malloc(sizeof(double) * (size_t)(log->n + 1));
    double *vx = malloc(sizeof(double) * (size_t)(log->n + 1)), *vy = malloc(sizeof(double) * (size_t)(log->n + 1));
    int nv = 0;
    for (long i = 0; i < log->n; i++) {
        xs[i] = (double)log->rows[i].step;
        ys[i] = log->rows[i].loss;
        if (!isnan(log->rows[i].val_loss)) {
            vx[nv] = (double)log->rows[i].step;
            vy[nv++] = log->rows[i].val_loss;
        }
    }
    PlotSeries series[] = {{"train", xs, ys, (int)log->n}, {"validation", vx, vy, nv}};
    PlotOptions o = {"hyena train: loss", "step", "loss (nats per token)", false, false};
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    ok = plot_svg_write(path, &o, series, 2) && ok;
    free(xs);
    free(ys);
    free(vx);
    free(vy);
    return ok;
}

// ---------------------------------------------------------------- setup

static bool make_dir(const char *path) {
    if (mkdir(path, 0755) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return true;
    }
    fprintf(stderr, "hyena: cannot create the output directory %s: %s\n", path, errno == EEXIST ? "a file is in the way" : strerror(errno));
    return false;
}

void train_remove_stale_temp_files(const char *dir) {
    static const char *const written[] = {"latest.safetensors", "best.safetensors", "log.csv", "loss.svg"};
    for (int i = 0; i < 4; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s.tmp", dir, written[i]);
        if (unlink(path) == 0) fprintf(stderr, "hyena: removed %s, left by an interrupted write\n", path);
    }
}

static bool build_tokenizer(Tokenizer *tok, const TrainConfig *c, const Corpus *corpus, char *err, size_t es) {
    memset(tok, 0, sizeof *tok);
    if (strcmp(c->tokenizer, "char") == 0) {
        tok->kind = TOKENIZER_CHAR;
        return chars_build(&tok->chars, corpus->text, corpus->size, err, es);
    }
    tok->kind = TOKENIZER_BPE;
    if (strncmp(c->tokenizer, "bpe:", 4) == 0) return bpe_load(&tok->bpe, c->tokenizer + 4, err, es);
    fprintf(stderr, "tokenizer: training a %d-token BPE on the corpus\n", c->vocab_size);
    return bpe_train(&tok->bpe, corpus->text, corpus->size, c->vocab_size, true, NULL, 0, NULL, NULL, err, es);
}

typedef struct Run {
    TrainConfig cfg;
    Model model;
    Optimizer opt;
    Tokenizer tok;
    TrainState state;
    TokenSplit train, val;
    char out[1024];
} Run;

static bool save(const Run *r, const char *name) {
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", r->out, name);
    return checkpoint_save(path, &r->cfg, &r->model, &r->opt, &r->tok, &r->state);
}

typedef struct SampleText {
    unsigned char *text;
    size_t size, cap;
    const Tokenizer *tok;
} SampleText;

static void collect(int32_t id, void *ctx) {
    SampleText *s = ctx;
    unsigned char *t;
    size_t n;
    char err[100];
    if (!tokenizer_decode(s->tok, &id, 1, &t, &n, err, sizeof err)) return;
    if (s->size + n + 1 > s->cap) s->text = realloc(s->text, s->cap = 2 * (s->size + n + 1));
    memcpy(s->text + s->size, t, n);
    s->size += n;
    s->text[s->size] = '\0';
    free(t);
}

// A sample continuing the first tokens of the validation split, generated with its own seeded
// generator so that it never disturbs the training stream.
static void print_sample(Run *r) {
    if (r->cfg.sample_tokens <= 0) return;
    int prompt = r->val.n < 16 ? (int)r->val.n : 16;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(prompt + r->cfg.sample_tokens));
    memcpy(ids, r->val.ids, sizeof(int32_t) * (size_t)prompt);
    Rng rng = rng_new(r->cfg.seed + (uint64_t)r->state.step);
    SampleOptions o = {0.8f, 0, 1.0f};
    SampleText s = {NULL, 0, 0, &r->tok};
    collect(ids[0], &s);
    for (int i = 1; i < prompt; i++) collect(ids[i], &s);
    generate(&r->model, ids, prompt, r->cfg.sample_tokens, &o, &rng, collect, &s);
    printf("---- sample at step %ld ----\n%s\n----\n", r->state.step, s.text ? (char *)s.text : "");
    free(s.text);
    free(ids);
}

// ---------------------------------------------------------------- progress

// A line per step scrolls a thousand lines past in half a minute and buries the evaluations and
// the samples. On a terminal, one status line is rewritten in place ("\r", then "\033[K" erases
// the rest of the old line), at most ten times a second; evaluation steps, samples and the steps
// of --log-every print lasting lines. Into a file or a pipe, without --log-every, a line about once
// a second. log.csv gets every step either way.
typedef struct Progress {
    bool tty;             // stdout is a terminal
    bool status_shown;    // a status line is on screen: erase it before printing a lasting line
    double last_line, last_status;
} Progress;

static void progress_clear(Progress *p) {
    if (p->status_shown) fputs("\r\033[K", stdout);
    p->status_shown = false;
    fflush(stdout);
}

static void progress_step(Progress *p, const TrainConfig *c, long step, bool eval_step, const char *line) {
    double now = cli_seconds();
    bool lasting = eval_step || step == c->steps ||
                   (c->log_every > 0 ? step % c->log_every == 0 : !p->tty && (step == 1 || now - p->last_line >= 1.0));
    if (lasting) {
        progress_clear(p);
        printf("%s\n", line);
        p->last_line = now;
    } else if (p->tty && now - p->last_status >= 0.1) {
        printf("\r%s\033[K", line);
        p->status_shown = true;
        p->last_status = now;
    }
    fflush(stdout);
}

// ---------------------------------------------------------------- the loop

int train_main(int argc, char **argv) {
    Run r;
    memset(&r, 0, sizeof r);
    r.cfg = train_config_default();
    bool help;
    if (!train_config_parse(&r.cfg, argc, argv, &help)) return 2;
    if (help) {
        train_config_usage(stdout);
        return 0;
    }
    pool_init(r.cfg.threads);
    printf("threads: %d\n", pool_threads());
    snprintf(r.out, sizeof r.out, "%s", r.cfg.out);
    char err[800];
    bool resumed = r.cfg.resume[0] != 0;
    if (resumed) {
        char resume[1024];
        snprintf(resume, sizeof resume, "%s", r.cfg.resume);
        int threads = r.cfg.threads, log_every = r.cfg.log_every;  // how to run and show it: still ours
        if (!checkpoint_load(resume, &r.cfg, &r.model, &r.tok, &r.opt, &r.state, err, sizeof err)) {
            fprintf(stderr, "hyena: cannot resume: %s\n", err);
            return 1;
        }
        r.cfg.threads = threads;
        r.cfg.log_every = log_every;
        snprintf(r.cfg.out, sizeof r.cfg.out, "%s", r.out);
        printf("resuming %s at step %ld\n", resume, r.state.step);
    }
    Corpus corpus;
    if (r.cfg.data[0] ? !corpus_load(&corpus, r.cfg.data, err, sizeof err) : (corpus_default(&corpus), false)) {
        fprintf(stderr, "hyena: %s%s\n", err,
                strcmp(r.cfg.data, "build/data/tinyshakespeare.txt") == 0 ? " (run 'make shakespeare' first)" : "");
        return 1;
    }
    if (corpus.size == 0) {
        fprintf(stderr, "hyena: the corpus %s is empty\n", corpus.name);
        corpus_free(&corpus);
        return 1;
    }
    if (!resumed && !build_tokenizer(&r.tok, &r.cfg, &corpus, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        corpus_free(&corpus);
        return 1;
    }
    int32_t *ids = NULL;
    long n_tokens = tokenizer_encode(&r.tok, corpus.text, corpus.size, &ids, err, sizeof err);
    corpus_free(&corpus);
    if (n_tokens < 0 || !dataset_split(ids, n_tokens, r.cfg.val_fraction, r.cfg.model.context, &r.train, &r.val, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        free(ids);
        return 1;
    }
    if (!resumed) {
        r.cfg.model.vocab_size = tokenizer_vocab_size(&r.tok);
        const char *problem = model_config_check(&r.cfg.model);
        if (problem) {
            fprintf(stderr, "hyena: invalid model: %s\n", problem);
            free(ids);
            return 2;
        }
        model_init(&r.model, &r.cfg.model, r.cfg.seed);
        optim_init(&r.opt, &r.cfg.optim, &r.model.params);
        r.state = (TrainState){0, rng_new(r.cfg.seed * 2654435761ULL + 1), INFINITY};
    }
    if (!make_dir(r.out)) {
        free(ids);
        return 1;
    }
    train_remove_stale_temp_files(r.out);
    train_config_print(stdout, &r.cfg);
    printf("parameters: %ld; vocabulary %d; tokens: %ld train, %ld validation\n", params_count(&r.model.params),
           r.cfg.model.vocab_size, r.train.n, r.val.n);
    Log log = {0};
    if (resumed) {
        char path[1100];
        snprintf(path, sizeof path, "%s/log.csv", r.out);
        log_read(&log, path, r.state.step);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int B = r.cfg.batch, T = r.cfg.model.context;
    int32_t *in = malloc(sizeof(int32_t) * (size_t)B * T), *tg = malloc(sizeof(int32_t) * (size_t)B * T);
    Arena step_arena;
    arena_init(&step_arena, 0);
    Tape tape;
    tape_init(&tape, &step_arena);
    double ema_ms = 0;
    int rc = 0;
    Progress progress = {isatty(STDOUT_FILENO) != 0, false, 0, 0};
    while (r.state.step < r.cfg.steps) {
        if (stop_requested) {
            progress_clear(&progress);
            printf("\ninterrupted at step %ld: saving %s/latest.safetensors\n", r.state.step, r.out);
            rc = save(&r, "latest.safetensors") ? 130 : 1;
            break;
        }
        double t0 = cli_seconds();
        params_zero_grad(&r.model.params);
        double loss = 0;
        float seed = 1.0f / (float)r.cfg.grad_accum;  // the mean over micro-batches
        for (int micro = 0; micro < r.cfg.grad_accum; micro++) {
            tape_reset(&tape);
            batch_random(&r.train, B, T, &r.state.rng, in, tg);
            Var *l = ag_cross_entropy(&tape, model_forward(&tape, &r.model, in, B, T), tg, IGNORE_INDEX);
            ag_backward(&tape, l, &seed);
            loss += l->value.data[0] / r.cfg.grad_accum;
        }
        double norm = optim_clip(&r.model.params, r.cfg.optim.clip);
        if (!isfinite(loss) || !isfinite(norm)) {
            progress_clear(&progress);
            char latest[1100];
            snprintf(latest, sizeof latest, "%s/latest.safetensors", r.out);
            struct stat st;
            bool have = stat(latest, &st) == 0;
            fprintf(stderr, "hyena: non-finite %s at step %ld (loss %g, gradient norm %g): stopping; %s%s\n",
                    isfinite(loss) ? "gradient" : "loss", r.state.step + 1, loss, norm,
                    have ? "the last good checkpoint is " : "no checkpoint was written yet", have ? latest : "");
            rc = 1;
            break;
        }
        double lr = optim_lr_at(&r.cfg.optim, r.opt.step);
        optim_step(&r.opt);
        r.state.step++;
        double ms = (cli_seconds() - t0) * 1e3;
        ema_ms = ema_ms == 0 ? ms : 0.9 * ema_ms + 0.1 * ms;
        double eta = ema_ms * (double)(r.cfg.steps - r.state.step) / 1e3;
        char line[200];
        snprintf(line, sizeof line, "step %5ld/%d | loss %.4f | lr %.2e | norm %6.3f | %6.1f ms | %7.0f tok/s | ETA %dm%02ds",
                 r.state.step, r.cfg.steps, loss, lr, norm, ms, (double)B * T * r.cfg.grad_accum / (ms / 1e3),
                 (int)eta / 60, (int)eta % 60);
        bool eval_step = r.state.step % r.cfg.eval_every == 0 || r.state.step == r.cfg.steps;
        progress_step(&progress, &r.cfg, r.state.step, eval_step, line);
        LogRow row = {r.state.step, loss, lr, norm, ms, NAN};
        if (eval_step) {
            EvalResult e = evaluate(&r.model, &r.tok, &r.val, B, &tape);
            row.val_loss = e.loss;
            bool best = e.loss < r.state.best_val_loss;
            if (best) r.state.best_val_loss = (float)e.loss;
            printf("eval step %ld | val loss %.4f | %.4f bits/token | %.4f bits/byte%s\n", r.state.step, e.loss,
                   e.bits_per_token, e.bits_per_byte, best ? " | best so far" : "");
            log_add(&log, row);
            bool ok = save(&r, "latest.safetensors") && (!best || save(&r, "best.safetensors")) && log_write(&log, r.out);
            if (!ok) {
                rc = 1;
                break;
            }
            print_sample(&r);
            progress.last_line = cli_seconds();  // the evaluation's lines count as the last second's line
        } else {
            log_add(&log, row);
        }
    }
    progress_clear(&progress);
    if (rc == 0) printf("done: %ld steps; best validation loss %.4f; checkpoints in %s/\n", r.state.step,
                        r.state.best_val_loss, r.out);
    free(in);
    free(tg);
    free(ids);
    free(log.rows);
    arena_free(&step_arena);
    optim_free(&r.opt);
    tokenizer_free(&r.tok);
    model_free(&r.model);
    return rc;
}
