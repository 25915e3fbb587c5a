// test_train.c - the optimizer, the schedule, clipping, checkpoints, sampling and evaluation.
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tensor/ops.h"
#include "../tensor/pool.h"
#include "../train/checkpoint.h"
#include "../train/evaluate.h"
#include "../train/filters_cmd.h"
#include "../train/import.h"
#include "../train/safetensors.h"
#include "../train/sample.h"
#include "../train/train.h"
#include "suites.h"

START_TEST(test_adamw_step_matches_the_pytorch_formula_with_parameter_groups) {
    Arena arena;
    arena_init(&arena, 0);
    ParamList params;
    params_init(&params, &arena);
    Var *w = params_new(&params, "", "w", 1, (int[]){2}, PARAM_DEFAULT, PARAM_DEFAULT);
    Var *z = params_new(&params, "", "pos", 1, (int[]){1}, 1e-5f, 0.0f);  // its own lr, no decay
    w->value.data[0] = 1.0f;
    w->value.data[1] = -2.0f;
    z->value.data[0] = 0.5f;
    OptimConfig cfg = optim_config_default();
    cfg.warmup_steps = 0;
    cfg.total_steps = 100;
    Optimizer o;
    optim_init(&o, &cfg, &params);
    float g[3] = {0.3f, -0.1f, 2.0f};
    double p[3] = {1.0, -2.0, 0.5}, m[3] = {0}, v[3] = {0};
    for (int t = 1; t <= 3; t++) {
        w->grad[0] = g[0];
        w->grad[1] = g[1];
        z->grad[0] = g[2];
        double lr = optim_lr_at(&cfg, t - 1), factor = lr / cfg.lr;
        optim_step(&o);
        for (int i = 0; i < 3; i++) {
            double lri = i < 2 ? lr : 1e-5 * factor, wd = i < 2 ? 0.1 : 0.0;
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.99 * v[i] + 0.01 * g[i] * g[i];
            p[i] -= lri * wd * p[i];
            p[i] -= lri * (m[i] / (1 - pow(0.9, t))) / (sqrt(v[i] / (1 - pow(0.99, t))) + 1e-8);
        }
        ck_assert_double_lt(fabs(w->value.data[0] - p[0]), 1e-6);
        ck_assert_double_lt(fabs(w->value.data[1] - p[1]), 1e-6);
        ck_assert_double_lt(fabs(z->value.data[0] - p[2]), 1e-7);
    }
    ck_assert_int_eq(o.step, 3);
    optim_free(&o);
    params_free(&params);
    arena_free(&arena);
}
END_TEST

// eps is added to sqrt(v_hat), not inside it: with a gradient of 1e-9 the first step is
// lr * 1e-9 / (1e-9 + 1e-8) = lr / 11, where sqrt(v_hat + eps) would give lr * 1e-5.
START_TEST(test_adamw_adds_epsilon_to_the_root_of_v) {
    Arena arena;
    arena_init(&arena, 0);
    ParamList params;
    params_init(&params, &arena);
    Var *w = params_new(&params, "", "w", 1, (int[]){1}, PARAM_DEFAULT, 0.0f);
    OptimConfig cfg = optim_config_default();
    cfg.warmup_steps = 0;
    Optimizer o;
    optim_init(&o, &cfg, &params);
    w->grad[0] = 1e-9f;
    optim_step(&o);
    double lr = optim_lr_at(&cfg, 0), want = -lr * 1e-9 / (1e-9 + 1e-8);
    ck_assert_double_eq_tol(w->value.data[0], want, 1e-3 * fabs(want));
    optim_free(&o);
    params_free(&params);
    arena_free(&arena);
}
END_TEST

START_TEST(test_sgd_with_momentum) {
    Arena arena;
    arena_init(&arena, 0);
    ParamList params;
    params_init(&params, &arena);
    Var *w = params_new(&params, "", "w", 1, (int[]){1}, PARAM_DEFAULT, 0.0f);
    OptimConfig cfg = optim_config_default();
    cfg.kind = OPTIM_SGD;
    cfg.warmup_steps = 0;
    cfg.min_lr = cfg.lr = 0.1f;
    Optimizer o;
    optim_init(&o, &cfg, &params);
    w->grad[0] = 1.0f;
    optim_step(&o);  // buf = 1,   w = -0.1
    optim_step(&o);  // buf = 1.9, w = -0.29
    ck_assert_float_eq_tol(w->value.data[0], -0.29f, 1e-6f);
    optim_free(&o);
    params_free(&params);
    arena_free(&arena);
}
END_TEST

START_TEST(test_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor) {
    OptimConfig c = optim_config_default();  // lr 1e-3, min 1e-4, warmup 100, total 2000
    ck_assert_float_eq_tol(optim_lr_at(&c, 0), 1e-5f, 1e-9f);
    ck_assert_float_eq_tol(optim_lr_at(&c, 49), 5e-4f, 1e-9f);
    ck_assert_float_eq_tol(optim_lr_at(&c, 100), 1e-3f, 1e-9f);
    ck_assert_float_eq_tol(optim_lr_at(&c, 1050), 5.5e-4f, 1e-8f);  // halfway: the mean of lr and floor
    ck_assert_float_eq_tol(optim_lr_at(&c, 2000), 1e-4f, 1e-9f);
    ck_assert_float_eq_tol(optim_lr_at(&c, 5000), 1e-4f, 1e-9f);
    for (long t = 101; t < 2000; t++) ck_assert(optim_lr_at(&c, t) <= optim_lr_at(&c, t - 1));
}
END_TEST

START_TEST(test_clipping_scales_the_global_norm_down_to_the_limit) {
    Arena arena;
    arena_init(&arena, 0);
    ParamList params;
    params_init(&params, &arena);
    Var *a = params_new(&params, "", "a", 1, (int[]){2}, PARAM_DEFAULT, PARAM_DEFAULT);
    Var *b = params_new(&params, "", "b", 1, (int[]){1}, PARAM_DEFAULT, PARAM_DEFAULT);
    a->grad[0] = 3;
    a->grad[1] = 0;
    b->grad[0] = 4;  // norm 5
    ck_assert_double_eq_tol(optim_clip(&params, 10.0f), 5.0, 1e-9);
    ck_assert_float_eq(b->grad[0], 4.0f);  // under the limit: untouched
    ck_assert_double_eq_tol(optim_clip(&params, 1.0f), 5.0, 1e-9);
    ck_assert_double_eq_tol(optim_grad_norm(&params), 1.0, 1e-5);
    params_free(&params);
    arena_free(&arena);
}
END_TEST

// The optimizer takes all trainable floats as one range cut into chunks, which end in the middle
// of parameters (sizes below) and skip buffers. Every float must be updated exactly once, as the
// formula says, and the norm must be the plain sum of squares; the same bits on 1 and 2 threads.
static void random_params(ParamList *params, Arena *arena) {
    static const int sizes[] = {3, 20000, 7, 40000, 1};
    params_init(params, arena);
    Rng r = rng_new(77);
    char name[16];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "p%d", i);
        Var *v = params_new(params, "", name, 1, (int[]){sizes[i]}, PARAM_DEFAULT, i == 2 ? 0.0f : PARAM_DEFAULT);
        rng_fill_uniform(&r, v->value.data, sizes[i], -1, 1);
        rng_fill_uniform(&r, v->grad, sizes[i], -0.01f, 0.01f);
        if (i == 1) params_new_buffer(params, "", "buffer", 1, (int[]){5});
    }
}

START_TEST(test_optimizer_updates_every_float_once_across_chunks_on_any_thread_count) {
    float *result[2];
    for (int threads = 1; threads <= 2; threads++) {
        pool_init(threads);
        Arena arena;
        arena_init(&arena, 0);
        ParamList params;
        random_params(&params, &arena);
        double want = 0;
        for (int i = 0; i < params.n; i++)
            if (params.items[i].trainable)
                for (size_t k = 0; k < params.items[i].var->value.size; k++)
                    want += (double)params.items[i].var->grad[k] * params.items[i].var->grad[k];
        ck_assert_double_eq_tol(optim_grad_norm(&params), sqrt(want), 1e-12 * sqrt(want));
        ck_assert_double_eq_tol(optim_clip(&params, 0.5f), sqrt(want), 1e-12 * sqrt(want));
        ck_assert_double_eq_tol(optim_grad_norm(&params), 0.5, 1e-6);
        OptimConfig cfg = optim_config_default();
        cfg.warmup_steps = 0;
        Optimizer o;
        optim_init(&o, &cfg, &params);
        // Copies of the first step's inputs, for the formula.
        long total = params_count(&params);
        float *before = malloc(sizeof(float) * total), *grads = malloc(sizeof(float) * total);
        long at = 0;
        for (int i = 0; i < params.n; i++) {
            const Param *p = &params.items[i];
            if (!p->trainable) continue;
            memcpy(before + at, p->var->value.data, sizeof(float) * p->var->value.size);
            memcpy(grads + at, p->var->grad, sizeof(float) * p->var->value.size);
            at += (long)p->var->value.size;
        }
        optim_step(&o);
        result[threads - 1] = malloc(sizeof(float) * total);
        at = 0;
        for (int i = 0; i < params.n; i++) {
            const Param *p = &params.items[i];
            if (!p->trainable) {
                for (size_t k = 0; k < p->var->value.size; k++) ck_assert_float_eq(p->var->value.data[k], 0.0f);
                continue;
            }
            double wd = p->weight_decay >= 0 ? p->weight_decay : cfg.weight_decay, lr = optim_lr_at(&cfg, 0);
            for (size_t k = 0; k < p->var->value.size; k++, at++) {
                // Step 1: m/(1-b1) = g and v/(1-b2) = g^2, so the step is lr g / (|g| + eps).
                double g = grads[at], want_p = before[at] * (1 - lr * wd) - lr * g / (fabs(g) + 1e-8);
                ck_assert_double_eq_tol(p->var->value.data[k], want_p, 1e-6);
                result[threads - 1][at] = p->var->value.data[k];
            }
        }
        free(before);
        free(grads);
        optim_free(&o);
        params_free(&params);
        arena_free(&arena);
    }
    ck_assert_int_eq(memcmp(result[0], result[1], sizeof(float) * 60011), 0);
    free(result[0]);
    free(result[1]);
    stop_threads();
}
END_TEST

// ---------------------------------------------------------------- the training loop

// The loss of step `step` in DIR/log.csv.
static double logged_loss(const char *dir, long step) {
    char path[256], line[256];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    double loss = NAN;
    long s;
    double l;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%ld,%lf", &s, &l) == 2 && s == step) loss = l;
    fclose(f);
    return loss;
}

static void train_quietly(const char *data, const char *out, const char *batch, const char *accum) {
    // SGD without clipping: its step is proportional to the gradient (AdamW's and a clipped
    // step are not), so a wrongly scaled gradient shows in the loss of step 2. A small model on a
    // small text: CI runs this under qemu and the sanitizers too.
    char *argv[] = {"--steps", "2", "--eval-every", "2", "--sample-tokens", "0", "--threads", "2",
                    "--data", (char *)data, "--d-model", "16", "--layers", "1", "--context", "16",
                    "--optimizer", "sgd", "--lr", "0.5", "--warmup", "0", "--clip", "0",
                    "--batch", (char *)batch, "--grad-accum", (char *)accum, "--out", (char *)out, NULL};
    ck_assert_int_eq(train_main((int)(sizeof argv / sizeof argv[0]) - 1, argv), 0);
}

// Gradient accumulation averages: 2 micro-batches of 6 windows are the batch of 12 (the same
// windows, drawn in the same order), so the loss and the update match up to rounding, where
// summing the micro-batches would double both.
START_TEST(test_gradient_accumulation_averages_the_micro_batches) {
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    char one[] = "/tmp/hyena-accum1-XXXXXX", two[] = "/tmp/hyena-accum2-XXXXXX", data[300];
    ck_assert_ptr_nonnull(mkdtemp(one));
    ck_assert_ptr_nonnull(mkdtemp(two));
    snprintf(data, sizeof data, "%s/text.txt", one);
    FILE *f = fopen(data, "w");
    ck_assert_ptr_nonnull(f);
    Rng rng = rng_new(8);
    for (int i = 0; i < 4000; i++) fputc("abcdefgh ijklmnop\n"[rng_below(&rng, 18)], f);
    fclose(f);
    train_quietly(data, one, "12", "1");
    train_quietly(data, two, "6", "2");
    for (long step = 1; step <= 2; step++) {
        double a = logged_loss(one, step), b = logged_loss(two, step);
        ck_assert_msg(fabs(a - b) <= 1e-4 * a, "step %ld: loss %.6f with one batch of 12, %.6f with 2 x 6", step, a, b);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", one, two);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

// A run killed while writing leaves NAME.tmp beside NAME; the next run in that directory removes
// the temporary files of what it writes, and nothing else.
START_TEST(test_training_removes_temp_files_left_by_an_interrupted_write) {
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
    char dir[] = "/tmp/hyena-stale-XXXXXX", path[300];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *left[] = {"latest.safetensors.tmp", "loss.svg.tmp", "notes.tmp"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, left[i]);
        FILE *f = fopen(path, "w");
        fputs("half a file", f);
        fclose(f);
    }
    train_remove_stale_temp_files(dir);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, left[i]);
        ck_assert_msg((access(path, F_OK) == 0) == (i == 2), "%s", left[i]);  // notes.tmp is not ours
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

// ---------------------------------------------------------------- checkpoints

typedef struct Fixture {
    TrainConfig cfg;
    Model model;
    Optimizer opt;
    Tokenizer tok;
    TrainState state;
} Fixture;

static void fixture_init(Fixture *f) {
    f->cfg = train_config_default();
    f->cfg.model = model_config_default(0, 16, 2, 12);
    f->cfg.model.mixer[1] = MIXER_ATTENTION;
    f->cfg.model.hyena.filter_order = 8;
    f->tok.kind = TOKENIZER_CHAR;
    char err[200];
    const char *text = "to be or not to be";
    ck_assert(chars_build(&f->tok.chars, (const unsigned char *)text, strlen(text), err, sizeof err));
    f->cfg.model.vocab_size = f->tok.chars.n;
    model_init(&f->model, &f->cfg.model, 3);
    optim_init(&f->opt, &f->cfg.optim, &f->model.params);
    f->state = (TrainState){0, rng_new(9), INFINITY};
}

static void fixture_free(Fixture *f) {
    optim_free(&f->opt);
    model_free(&f->model);
    tokenizer_free(&f->tok);
}

// Save f as a checkpoint in a new temporary file; path is a mkstemp template ("...XXXXXX").
static void fixture_save_temp(const Fixture *f, char *path) {
    close(mkstemp(path));
    ck_assert(checkpoint_save(path, &f->cfg, &f->model, &f->opt, &f->tok, &f->state));
}

// Load a checkpoint whole into f (free it with fixture_free when this returns true).
static bool fixture_load(Fixture *f, const char *path, char *err, size_t es) {
    return checkpoint_load(path, &f->cfg, &f->model, &f->tok, &f->opt, &f->state, err, es);
}

// One optimizer step with random gradients drawn from rng.
static void fake_step(Fixture *f) {
    for (int i = 0; i < f->model.params.n; i++) {
        Var *v = f->model.params.items[i].var;
        if (f->model.params.items[i].trainable) rng_fill_uniform(&f->state.rng, v->grad, (long)v->value.size, -1, 1);
    }
    optim_step(&f->opt);
    f->state.step++;
}

// A distilled model (modal_order > 0) saved without an optimizer, as hyena distill writes it:
// eval and sample load it whole, its poles and residues intact; training it is refused.
static void distilled_fixture_save(Fixture *f, char *path, float pole_radius) {
    f->cfg.model.mixer[1] = MIXER_HYENA;
    f->cfg.model.hyena.modal_order = 3;
    optim_free(&f->opt);
    model_free(&f->model);
    model_init(&f->model, &f->cfg.model, 3);
    optim_init(&f->opt, &f->cfg.optim, &f->model.params);
    for (int i = 0; i < 2; i++) {
        HyenaFilter *h = &f->model.blocks[i].hyena.filter;
        for (size_t k = 0; k < h->poles->value.size / 2; k++) {
            h->poles->value.data[2 * k] = pole_radius * cosf((float)k);
            h->poles->value.data[2 * k + 1] = pole_radius * sinf((float)k);
            h->residues->value.data[2 * k] = (float)k / 10;
        }
    }
    close(mkstemp(path));
    ck_assert(checkpoint_save(path, &f->cfg, &f->model, NULL, &f->tok, &f->state));
}

START_TEST(test_a_distilled_checkpoint_loads_with_its_modes) {
    Fixture a, b;
    fixture_init(&a);
    char path[] = "/tmp/hyena_distilled_XXXXXX", err[600];
    distilled_fixture_save(&a, path, 0.9f);
    ck_assert_msg(checkpoint_load(path, &b.cfg, &b.model, &b.tok, NULL, NULL, err, sizeof err), "%s", err);
    ck_assert_int_eq(b.cfg.model.hyena.modal_order, 3);
    for (int i = 0; i < 2; i++) {
        const Var *p = b.model.blocks[i].hyena.filter.poles, *r = b.model.blocks[i].hyena.filter.residues;
        ck_assert_int_eq(p->value.shape[1], 3);
        ck_assert_mem_eq(p->value.data, a.model.blocks[i].hyena.filter.poles->value.data, p->value.size * sizeof(float));
        ck_assert_mem_eq(r->value.data, a.model.blocks[i].hyena.filter.residues->value.data, r->value.size * sizeof(float));
    }
    model_free(&b.model);
    tokenizer_free(&b.tok);
    ck_assert(!checkpoint_load(path, &b.cfg, &b.model, &b.tok, &b.opt, &b.state, err, sizeof err));
    ck_assert_msg(strstr(err, "distilled model") != NULL, "%s", err);
    unlink(path);
    fixture_free(&a);
}
END_TEST

// A pole on the unit circle would make recurrent generation grow without bound: refused on load.
START_TEST(test_a_checkpoint_with_an_unstable_pole_is_refused) {
    Fixture a, b;
    fixture_init(&a);
    char path[] = "/tmp/hyena_unstable_XXXXXX", err[600];
    distilled_fixture_save(&a, path, 1.0f);
    ck_assert(!checkpoint_load(path, &b.cfg, &b.model, &b.tok, NULL, NULL, err, sizeof err));
    ck_assert_msg(strstr(err, "unit circle") != NULL, "%s", err);
    unlink(path);
    fixture_free(&a);
}
END_TEST

START_TEST(test_checkpoint_resumes_the_exact_same_run) {
    Fixture a;
    fixture_init(&a);
    fake_step(&a);
    fake_step(&a);
    a.state.best_val_loss = 2.5f;
    char path[] = "/tmp/hyena-ckpt-XXXXXX";
    fixture_save_temp(&a, path);
    Fixture b;
    char err[600];
    ck_assert_msg(fixture_load(&b, path, err, sizeof err), "%s", err);
    ck_assert_int_eq(b.state.step, 2);
    ck_assert_int_eq(b.opt.step, 2);
    ck_assert_float_eq(b.state.best_val_loss, 2.5f);
    ck_assert_int_eq(b.cfg.model.mixer[1], MIXER_ATTENTION);
    ck_assert_int_eq(b.tok.chars.n, a.tok.chars.n);
    // Continue both: every parameter must stay bit-identical.
    fake_step(&a);
    fake_step(&b);
    for (int i = 0; i < a.model.params.n; i++) {
        const Var *x = a.model.params.items[i].var, *y = b.model.params.items[i].var;
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(memcmp(x->value.data, y->value.data, x->value.size * sizeof(float)), 0);
    }
    // PyTorch-style aliases of the shared Sin frequency are in the file.
    Safetensors st;
    ck_assert(st_load(path, &st, err, sizeof err));
    ck_assert_ptr_nonnull(st_find(&st, "backbone.layers.0.mixer.filter_fn.implicit_filter.5.freq"));
    ck_assert_ptr_nonnull(st_find(&st, "optim.v.backbone.ln_f.weight"));
    st_free(&st);
    unlink(path);
    fixture_free(&a);
    fixture_free(&b);
}
END_TEST

// Every field a checkpoint holds comes back as saved: each is set to a value no default or preset
// uses, so a field that is not written, or not read back, shows up as a difference.
START_TEST(test_checkpoint_restores_every_configuration_field) {
    Fixture a;
    memset(&a, 0, sizeof a);
    TrainConfig *c = &a.cfg;
    *c = train_config_default();
    snprintf(c->preset, sizeof c->preset, "%s", "shakespeare");
    snprintf(c->data, sizeof c->data, "%s", "some/corpus.txt");
    snprintf(c->tokenizer, sizeof c->tokenizer, "%s", "char");
    c->vocab_size = 777;
    c->val_fraction = 0.25f;
    c->model = model_config_default(0, 24, 3, 10);
    c->model.n_heads = 3;
    c->model.mixer[2] = MIXER_ATTENTION;
    c->model.attention_short_conv = 1;
    HyenaConfig *h = &c->model.hyena;
    h->order = 3;
    h->filter_order = 6;
    h->emb_dim = 5;
    h->num_inner_mlps = 1;
    h->w = 2.5f;
    h->shift = 0.125f;
    h->fast_decay_pct = 0.2f;
    h->slow_decay_pct = 1.25f;
    h->target = 0.05f;
    h->lr_pos_emb = 2e-5f;
    c->optim = (OptimConfig){.kind = OPTIM_SGD, .lr = 0.02f, .min_lr = 0.001f, .warmup_steps = 7, .total_steps = 345,
                             .weight_decay = 0.03f, .beta1 = 0.85f, .beta2 = 0.95f, .eps = 1e-7f, .momentum = 0.8f,
                             .clip = 2.5f};
    c->steps = 345;
    c->batch = 5;
    c->grad_accum = 3;
    c->eval_every = 17;
    c->sample_tokens = 9;
    c->seed = 987654321ULL;
    a.tok.kind = TOKENIZER_CHAR;
    char err[600];
    const char *text = "abcdefgh";
    ck_assert(chars_build(&a.tok.chars, (const unsigned char *)text, strlen(text), err, sizeof err));
    c->model.vocab_size = a.tok.chars.n;
    ck_assert_ptr_null(model_config_check(&c->model));
    model_init(&a.model, &c->model, 3);
    optim_init(&a.opt, &c->optim, &a.model.params);
    a.state = (TrainState){4, rng_new(9), 3.25f};
    char path[] = "/tmp/hyena-ckpt-XXXXXX";
    close(mkstemp(path));
    ck_assert(checkpoint_save(path, c, &a.model, &a.opt, &a.tok, &a.state));

    Fixture b;
    ck_assert_msg(fixture_load(&b, path, err, sizeof err), "%s", err);
    const TrainConfig *d = &b.cfg;
    ck_assert_str_eq(d->preset, c->preset);
    ck_assert_str_eq(d->data, c->data);
    ck_assert_str_eq(d->tokenizer, c->tokenizer);
    ck_assert_int_eq(d->vocab_size, c->vocab_size);
    ck_assert_float_eq(d->val_fraction, c->val_fraction);
    ck_assert_int_eq(d->model.vocab_size, c->model.vocab_size);
    ck_assert_int_eq(d->model.d_model, c->model.d_model);
    ck_assert_int_eq(d->model.n_layers, c->model.n_layers);
    ck_assert_int_eq(d->model.context, c->model.context);
    ck_assert_int_eq(d->model.n_heads, c->model.n_heads);
    ck_assert_int_eq(d->model.attention_short_conv, 1);
    for (int i = 0; i < c->model.n_layers; i++) ck_assert_int_eq(d->model.mixer[i], c->model.mixer[i]);
    const HyenaConfig *g = &d->model.hyena;
    ck_assert_int_eq(g->d_model, h->d_model);
    ck_assert_int_eq(g->l_max, h->l_max);
    ck_assert_int_eq(g->order, h->order);
    ck_assert_int_eq(g->filter_order, h->filter_order);
    ck_assert_int_eq(g->emb_dim, h->emb_dim);
    ck_assert_int_eq(g->num_inner_mlps, h->num_inner_mlps);
    ck_assert_float_eq(g->w, h->w);
    ck_assert_float_eq(g->shift, h->shift);
    ck_assert_float_eq(g->fast_decay_pct, h->fast_decay_pct);
    ck_assert_float_eq(g->slow_decay_pct, h->slow_decay_pct);
    ck_assert_float_eq(g->target, h->target);
    ck_assert_float_eq(g->lr_pos_emb, h->lr_pos_emb);
    ck_assert_int_eq(d->optim.kind, c->optim.kind);
    ck_assert_float_eq(d->optim.lr, c->optim.lr);
    ck_assert_float_eq(d->optim.min_lr, c->optim.min_lr);
    ck_assert_int_eq(d->optim.warmup_steps, c->optim.warmup_steps);
    ck_assert_int_eq(d->optim.total_steps, c->optim.total_steps);
    ck_assert_float_eq(d->optim.weight_decay, c->optim.weight_decay);
    ck_assert_float_eq(d->optim.beta1, c->optim.beta1);
    ck_assert_float_eq(d->optim.beta2, c->optim.beta2);
    ck_assert_float_eq(d->optim.eps, c->optim.eps);
    ck_assert_float_eq(d->optim.momentum, c->optim.momentum);
    ck_assert_float_eq(d->optim.clip, c->optim.clip);
    ck_assert_int_eq(d->steps, c->steps);
    ck_assert_int_eq(d->batch, c->batch);
    ck_assert_int_eq(d->grad_accum, c->grad_accum);
    ck_assert_int_eq(d->eval_every, c->eval_every);
    ck_assert_int_eq(d->sample_tokens, c->sample_tokens);
    ck_assert(d->seed == c->seed);
    ck_assert_int_eq(b.state.step, 4);
    ck_assert_float_eq(b.state.best_val_loss, 3.25f);
    ck_assert_int_eq(memcmp(b.state.rng.s, a.state.rng.s, sizeof a.state.rng.s), 0);
    unlink(path);
    fixture_free(&a);
    fixture_free(&b);
}
END_TEST

// Before the first evaluation there is no best validation loss (INFINITY, saved as "inf"). A run
// stopped then (Ctrl-C in the first eval_every steps) wrote a checkpoint that did not load.
START_TEST(test_a_checkpoint_saved_before_the_first_evaluation_resumes) {
    Fixture a;
    fixture_init(&a);
    char path[] = "/tmp/hyena-ckpt-XXXXXX";
    fixture_save_temp(&a, path);
    Fixture b;
    char err[600];
    ck_assert_msg(fixture_load(&b, path, err, sizeof err), "%s", err);
    ck_assert(isinf(b.state.best_val_loss) && b.state.best_val_loss > 0);
    fixture_free(&b);
    unlink(path);
    fixture_free(&a);
}
END_TEST

START_TEST(test_a_corrupt_or_foreign_checkpoint_is_an_error_not_a_crash) {
    Fixture a;
    fixture_init(&a);
    char path[] = "/tmp/hyena-ckpt-XXXXXX";
    fixture_save_temp(&a, path);
    FILE *f = fopen(path, "r+b");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(path, size / 2), 0);
    Fixture b;  // never filled: every load below must fail
    char err[600];
    ck_assert(!fixture_load(&b, path, err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert(!fixture_load(&b, "tests/reference/hyena_operator_d8_l16_order2.safetensors", err, sizeof err));
    ck_assert_ptr_nonnull(strstr(err, "not a hyena.c checkpoint"));
    // Metadata claiming a width, context or filter far beyond the tensors: refused before the model
    // is built (it would ask for gigabytes: width 40000 took 24 GB before the OOM killer came).
    for (int which = 0; which < 3; which++) {
        Model big = a.model;  // the same tensors, saved with another configuration
        if (which == 0) big.cfg.d_model = 40000;
        if (which == 1) big.cfg.context = 1 << 24;
        if (which == 2) big.cfg.hyena.filter_order = 1 << 16;
        ck_assert(checkpoint_save(path, &a.cfg, &big, &a.opt, &a.tok, &a.state));
        ck_assert_msg(!fixture_load(&b, path, err, sizeof err), "case %d loaded", which);
        ck_assert_msg(strstr(err, "more than its") && strstr(err, "bytes of tensors can hold"), "%s", err);
    }
    unlink(path);
    fixture_free(&a);
}
END_TEST

// ---------------------------------------------------------------- import

// Writes the fixture's parameters as a state dict (every name once, the Sin frequency also under
// its reference aliases), without the parameter named `drop`, with a tensor `extra` added, and
// with parameter `reshape` given another shape (each when not NULL).
static void write_state_dict(const Fixture *f, const char *path, const char *drop, const char *extra,
                             const char *reshape) {
    const ParamList *list = &f->model.params;
    int kept = 0;
    Param *items = malloc(sizeof(Param) * (size_t)list->n);
    for (int i = 0; i < list->n; i++)
        if (!drop || strcmp(list->items[i].var->name, drop) != 0) items[kept++] = list->items[i];
    StWriter w;
    st_writer_init(&w);
    char aliases[8][160];
    for (int i = 0; i < kept; i++) {
        const Var *v = items[i].var;
        int shape[8];
        memcpy(shape, v->value.shape, sizeof(int) * (size_t)v->value.rank);
        if (reshape && strcmp(v->name, reshape) == 0) shape[0] = 1;  // a different size, as many floats or fewer
        st_writer_add(&w, v->name, v->value.rank, shape, v->value.data);
        const char *suffix = strstr(v->name, "implicit_filter.1.freq");
        for (int k = 0; suffix && k < f->model.cfg.hyena.num_inner_mlps; k++) {
            snprintf(aliases[k], sizeof aliases[k], "%.*simplicit_filter.%d.freq", (int)(suffix - v->name), v->name, 3 + 2 * k);
            st_writer_add(&w, aliases[k], v->value.rank, v->value.shape, v->value.data);
        }
    }
    if (extra) st_writer_add(&w, extra, 1, (int[]){1}, items[0].var->value.data);
    ck_assert(st_writer_save(&w, path));
    st_writer_free(&w);
    free(items);
}

// A state dict with the reference's names (what PyTorch's save_file writes) imports to a checkpoint
// with the same configuration and bit-identical weights, which train --resume takes; missing,
// extra and misshapen tensors are refused by name.
START_TEST(test_import_of_a_state_dict_is_bit_exact_and_names_what_does_not_fit) {
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    Fixture a;
    fixture_init(&a);
    char dir[] = "/tmp/hyena-import-XXXXXX", data[300], weights[300], ckpt[300];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(data, sizeof data, "%s/text.txt", dir);
    snprintf(weights, sizeof weights, "%s/weights.safetensors", dir);
    snprintf(ckpt, sizeof ckpt, "%s/imported.safetensors", dir);
    FILE *f = fopen(data, "w");
    fputs("to be or not to be", f);  // the fixture's char vocabulary
    fclose(f);
    write_state_dict(&a, weights, NULL, NULL, NULL);
    char *argv[] = {"--weights", weights, "--data", data, "--heads", "4", "--out", ckpt, NULL};
    ck_assert_int_eq(import_main(8, argv), 0);
    Fixture b;
    char err[600];
    ck_assert_msg(fixture_load(&b, ckpt, err, sizeof err), "%s", err);
    ck_assert_int_eq(b.model.cfg.n_layers, 2);
    ck_assert(b.model.cfg.mixer[0] == MIXER_HYENA && b.model.cfg.mixer[1] == MIXER_ATTENTION);
    ck_assert_int_eq(b.model.cfg.context, a.model.cfg.context);
    ck_assert_int_eq(b.model.cfg.hyena.order, a.model.cfg.hyena.order);
    ck_assert_int_eq(b.model.cfg.hyena.filter_order, a.model.cfg.hyena.filter_order);
    ck_assert_int_eq(b.model.cfg.hyena.num_inner_mlps, a.model.cfg.hyena.num_inner_mlps);
    ck_assert_int_eq(b.model.params.n, a.model.params.n);
    for (int i = 0; i < a.model.params.n; i++) {
        const Tensor *x = &a.model.params.items[i].var->value, *y = &b.model.params.items[i].var->value;
        ck_assert(memcmp(x->data, y->data, tensor_numel(x, 0, x->rank) * sizeof(float)) == 0);
    }
    fixture_free(&b);
    ck_assert_ptr_nonnull(freopen("/tmp/hyena-import-errors.txt", "w", stderr));
    const char *in_proj = "backbone.layers.0.mixer.in_proj.bias";
    write_state_dict(&a, weights, in_proj, NULL, NULL);
    ck_assert_int_eq(import_main(8, argv), 1);
    write_state_dict(&a, weights, NULL, "backbone.layers.0.mixer.surprise", NULL);
    ck_assert_int_eq(import_main(8, argv), 1);
    write_state_dict(&a, weights, NULL, NULL, "backbone.layers.1.mlp.fc1.bias");
    ck_assert_int_eq(import_main(8, argv), 1);
    fflush(stderr);
    f = fopen("/tmp/hyena-import-errors.txt", "r");
    char line[3][700];
    for (int i = 0; i < 3; i++) ck_assert_ptr_nonnull(fgets(line[i], sizeof line[i], f));
    fclose(f);
    ck_assert_msg(strstr(line[0], in_proj), "%s", line[0]);
    ck_assert_msg(strstr(line[1], "'backbone.layers.0.mixer.surprise' is not a parameter"), "%s", line[1]);
    ck_assert_msg(strstr(line[2], "backbone.layers.1.mlp.fc1.bias"), "%s", line[2]);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s /tmp/hyena-import-errors.txt", dir);
    ck_assert_int_eq(system(cmd), 0);
    fixture_free(&a);
}
END_TEST

// hyena filters draws three charts per Hyena layer (the fixture's layer 1 is attention: none).
START_TEST(test_filters_command_draws_three_charts_per_hyena_layer) {
    ck_assert_ptr_nonnull(freopen("/dev/null", "w", stdout));
    Fixture a;
    fixture_init(&a);
    char path[] = "/tmp/hyena-ckpt-XXXXXX", dir[] = "/tmp/hyena-filters-XXXXXX";
    fixture_save_temp(&a, path);
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char *argv[] = {"--ckpt", path, "--out", dir, NULL};
    ck_assert_int_eq(filters_main(4, argv), 0);
    const char *charts[] = {"layer0_filters.svg", "layer0_spectrum.svg", "layer0_window.svg", "layer1_filters.svg"};
    for (int i = 0; i < 4; i++) {
        char file[400];
        snprintf(file, sizeof file, "%s/%s", dir, charts[i]);
        FILE *f = fopen(file, "r");
        ck_assert_msg((f != NULL) == (i < 3), "%s", charts[i]);
        if (!f) continue;
        char svg[20000];
        size_t n = fread(svg, 1, sizeof svg - 1, f);
        svg[n] = '\0';
        fclose(f);
        ck_assert(strstr(svg, "Layer 0: ") && strstr(svg, "channel 15") && strstr(svg, "</svg>"));  // D = 16
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s", dir, path);
    ck_assert_int_eq(system(cmd), 0);
    fixture_free(&a);
}
END_TEST

// ---------------------------------------------------------------- sampling and evaluation

// Temperature T samples softmax(logits / T): for logits (2, 1, 0), token 0 comes up with
// probability e^(2/T) / (e^(2/T) + e^(1/T) + 1): 0.867 at T = 0.5, 0.665 at 1, 0.506 at 2.
START_TEST(test_temperature_sharpens_or_flattens_the_distribution) {
    const float temperatures[] = {0.5f, 1.0f, 2.0f};
    for (int k = 0; k < 3; k++) {
        double t = temperatures[k], want = exp(2 / t) / (exp(2 / t) + exp(1 / t) + 1);
        SampleOptions o = {temperatures[k], 0, 1.0f};
        Rng rng = rng_new(17);
        int zeros = 0, draws = 20000;
        for (int i = 0; i < draws; i++) {
            float logits[3] = {2, 1, 0};
            zeros += sample_token(logits, 3, &o, &rng) == 0;
        }
        // 20000 draws: the standard error of the frequency is below 0.0036; allow 4 of them.
        ck_assert_msg(fabs(zeros / (double)draws - want) < 0.015, "temperature %g: token 0 drawn %.4f of the time, want %.4f",
                      t, zeros / (double)draws, want);
    }
}
END_TEST

START_TEST(test_sampling_respects_top_k_top_p_and_the_seed) {
    float base[5] = {1.0f, 3.0f, 2.0f, -1.0f, 2.9f}, logits[5];
    Rng rng = rng_new(1);
    SampleOptions greedy = {1.0f, 1, 1.0f}, nucleus = {1.0f, 0, 0.3f}, top2 = {1.0f, 2, 1.0f};
    for (int i = 0; i < 200; i++) {
        memcpy(logits, base, sizeof base);
        ck_assert_int_eq(sample_token(logits, 5, &greedy, &rng), 1);
        memcpy(logits, base, sizeof base);
        ck_assert_int_eq(sample_token(logits, 5, &nucleus, &rng), 1);  // token 1 alone holds > 30%
        memcpy(logits, base, sizeof base);
        int32_t t = sample_token(logits, 5, &top2, &rng);
        ck_assert(t == 1 || t == 4);
    }
    SampleOptions all = {1.0f, 0, 1.0f};
    Rng r1 = rng_new(5), r2 = rng_new(5);
    int counts[5] = {0};
    for (int i = 0; i < 4000; i++) {
        memcpy(logits, base, sizeof base);
        int32_t x = sample_token(logits, 5, &all, &r1);
        memcpy(logits, base, sizeof base);
        ck_assert_int_eq(x, sample_token(logits, 5, &all, &r2));
        counts[x]++;
    }
    ck_assert_int_gt(counts[3], 0);                        // every token possible at top-k 0
    ck_assert_int_gt(counts[1], counts[2]);                // more likely, drawn more often
}
END_TEST

START_TEST(test_evaluation_is_the_mean_loss_over_every_validation_token) {
    Fixture f;
    fixture_init(&f);
    int32_t ids[40];
    Rng rng = rng_new(3);
    for (int i = 0; i < 40; i++) ids[i] = (int32_t)rng_below(&rng, (uint32_t)f.tok.chars.n);
    TokenSplit split = {ids, 40};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    EvalResult r = evaluate(&f.model, &f.tok, &split, 2, &tape);
    ck_assert_int_eq(r.tokens, 39);
    // By hand: each window of 12 on its own, losses summed over every scored token.
    double total = 0;
    int32_t in[12], tg[12];
    float row_loss[12];
    tape.recording = false;
    for (long w = 0; w < val_window_count(&split, 12); w++) {
        val_window(&split, 12, w, in, tg);
        tape_reset(&tape);
        Var *logits = model_forward(&tape, &f.model, in, 1, 12);
        long n;
        total += cross_entropy(row_loss, logits->value.data, tg, 12, f.tok.chars.n, IGNORE_INDEX, &n) * (double)n;
    }
    ck_assert_double_lt(fabs(r.loss - total / 39), 1e-5);
    ck_assert_double_lt(fabs(r.bits_per_byte - r.bits_per_token), 1e-9);  // ASCII characters: one byte each
    arena_free(&arena);
    fixture_free(&f);
}
END_TEST

Suite *train_suite(void) {
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_adamw_step_matches_the_pytorch_formula_with_parameter_groups);
    tcase_add_test(tc, test_adamw_adds_epsilon_to_the_root_of_v);
    tcase_add_test(tc, test_sgd_with_momentum);
    tcase_add_test(tc, test_schedule_warms_up_linearly_then_decays_by_cosine_to_the_floor);
    tcase_add_test(tc, test_clipping_scales_the_global_norm_down_to_the_limit);
    tcase_add_test(tc, test_optimizer_updates_every_float_once_across_chunks_on_any_thread_count);
    tcase_add_test(tc, test_gradient_accumulation_averages_the_micro_batches);
    tcase_add_test(tc, test_training_removes_temp_files_left_by_an_interrupted_write);
    tcase_add_test(tc, test_checkpoint_resumes_the_exact_same_run);
    tcase_add_test(tc, test_checkpoint_restores_every_configuration_field);
    tcase_add_test(tc, test_a_checkpoint_saved_before_the_first_evaluation_resumes);
    tcase_add_test(tc, test_a_distilled_checkpoint_loads_with_its_modes);
    tcase_add_test(tc, test_a_checkpoint_with_an_unstable_pole_is_refused);
    tcase_add_test(tc, test_import_of_a_state_dict_is_bit_exact_and_names_what_does_not_fit);
    tcase_add_test(tc, test_filters_command_draws_three_charts_per_hyena_layer);
    tcase_add_test(tc, test_a_corrupt_or_foreign_checkpoint_is_an_error_not_a_crash);
    tcase_add_test(tc, test_sampling_respects_top_k_top_p_and_the_seed);
    tcase_add_test(tc, test_temperature_sharpens_or_flattens_the_distribution);
    tcase_add_test(tc, test_evaluation_is_the_mean_loss_over_every_validation_token);
    suite_add_tcase(s, tc);
    return s;
}
