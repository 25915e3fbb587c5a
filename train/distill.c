// distill.c - fit modes to every long filter, measure what it costs, write the distilled model.
#include "distill.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../autograd/modal.h"
#include "../autograd/ops.h"
#include "../hyena/prony.h"
#include "../tensor/pool.h"
#include "checkpoint.h"
#include "cli.h"
#include "evaluate.h"
#include "optim.h"
#include "plot.h"

DistillOptions distill_options_default(int order) { return (DistillOptions){order, 500, 3e-3f}; }

typedef struct PronyJob {
    const float *h;
    int L, C, d;
    float *poles, *residues;
} PronyJob;

static void prony_channels(void *ctx, long begin, long end) {
    const PronyJob *j = ctx;
    for (long c = begin; c < end; c++)
        prony_modes(j->h + c, j->C, j->L, j->d, j->poles + c * j->d * 2, j->residues + c * j->d * 2);
}

static void residue_channels(void *ctx, long begin, long end) {
    const PronyJob *j = ctx;
    for (long c = begin; c < end; c++)
        prony_residues(j->h + c, j->C, j->L, j->d, j->poles + c * j->d * 2, j->residues + c * j->d * 2);
}

// |ĥ - h|² / |h|², on the tape: the square of the error distill_fit reports.
static Var *relative_error2(Tape *tape, Var *fit, Var *minus_h, double energy) {
    Var *diff = ag_add(tape, fit, minus_h);
    Var *sq = ag_mul(tape, diff, diff);
    Var *sum = ag_sum(tape, ag_reshape(tape, sq, 2, (int[]){1, (int)sq->value.size}));
    return ag_scale(tape, sum, (float)(1.0 / energy));
}

double distill_fit(const float *h, int L, int C, const DistillOptions *o, float *poles, float *residues) {
    int d = o->order;
    long modes = (long)C * d;
    PronyJob pj = {h, L, C, d, poles, residues};
    parallel_for(C, 1, prony_channels, &pj);
    double energy = 0;
    for (long i = 0; i < (long)L * C; i++) energy += (double)h[i] * h[i];
    if (energy == 0) return 0;  // all-zero filters: Prony's residues are already exact

    // The optimizer's view of the modes: λ = exp(-exp(log_rate) + i angle), so |λ| < 1 always.
    Arena param_arena, step_arena;
    arena_init(&param_arena, 0);
    arena_init(&step_arena, 0);
    ParamList params;
    params_init(&params, &param_arena);
    Var *rate = params_new(&params, "", "log_rate", 2, (int[]){C, d}, PARAM_DEFAULT, 0.0f);
    Var *angle = params_new(&params, "", "angle", 2, (int[]){C, d}, PARAM_DEFAULT, 0.0f);
    Var *res = params_new(&params, "", "residues", 3, (int[]){C, d, 2}, PARAM_DEFAULT, 0.0f);
    for (long k = 0; k < modes; k++) {
        double r = hypot(poles[2 * k], poles[2 * k + 1]);
        rate->value.data[k] = (float)log(-log(r));
        angle->value.data[k] = (float)atan2(poles[2 * k + 1], poles[2 * k]);
    }
    memcpy(res->value.data, residues, sizeof(float) * (size_t)modes * 2);
    float min_log_rate = (float)log(MODAL_MIN_RATE);

    Tensor minus_h = tensor_new(&param_arena, 2, (int[]){L, C});
    for (long i = 0; i < (long)L * C; i++) minus_h.data[i] = -h[i];
    float *best = malloc(sizeof(float) * (size_t)modes * 4);  // log_rate, angle, residues
    double best_err2 = INFINITY;
    OptimConfig oc = optim_config_default();
    oc.lr = o->lr;
    oc.min_lr = o->lr / 100;
    oc.warmup_steps = 0;
    oc.total_steps = o->steps > 0 ? o->steps : 1;
    oc.weight_decay = 0;
    oc.clip = 0;
    Optimizer opt;
    optim_init(&opt, &oc, &params);
    Tape tape;
    tape_init(&tape, &step_arena);
    for (int step = 0; step <= o->steps; step++) {  // the last pass only measures
        tape_reset(&tape);
        Var *err2 = relative_error2(&tape, ag_modal_filter(&tape, rate, angle, res, L),
                                    ag_input(&tape, minus_h, false, "minus_h"), energy);
        double e = err2->value.data[0];
        if (e < best_err2) {  // AdamW's steps do not shrink with the gradient: keep the best seen
            best_err2 = e;
            memcpy(best, rate->value.data, sizeof(float) * (size_t)modes);
            memcpy(best + modes, angle->value.data, sizeof(float) * (size_t)modes);
            memcpy(best + 2 * modes, res->value.data, sizeof(float) * (size_t)modes * 2);
        }
        if (step == o->steps) break;
        params_zero_grad(&params);
        ag_backward(&tape, err2, NULL);
        optim_step(&opt);
        for (long k = 0; k < modes; k++)
            if (rate->value.data[k] < min_log_rate) rate->value.data[k] = min_log_rate;
    }
    for (long k = 0; k < modes; k++) modal_pole(best[k], best[modes + k], poles + 2 * k);
    memcpy(residues, best + 2 * modes, sizeof(float) * (size_t)modes * 2);
    // The filter is linear in the residues: for the poles found, least squares gives the best
    // residues outright. Kept when it is better (it is, unless AdamW's residues already were).
    float *refit = malloc(sizeof(float) * (size_t)modes * 2);
    PronyJob rj = {h, L, C, d, poles, refit};
    parallel_for(C, 1, residue_channels, &rj);
    tape_reset(&tape);
    Tensor fit = tensor_new(&step_arena, 2, (int[]){L, C});
    modal_filter_forward(fit.data, poles, refit, C, d, L);
    double e2 = 0;
    for (long i = 0; i < (long)L * C; i++) e2 += ((double)fit.data[i] - h[i]) * ((double)fit.data[i] - h[i]);
    if (e2 / energy < best_err2) {
        best_err2 = e2 / energy;
        memcpy(residues, refit, sizeof(float) * (size_t)modes * 2);
    }
    free(refit);
    free(best);
    optim_free(&opt);
    params_free(&params);
    arena_free(&step_arena);
    arena_free(&param_arena);
    return sqrt(best_err2);
}

static void usage(FILE *f) {
    fprintf(f, "usage: hyena distill --ckpt FILE --order D[,D...] [--out FILE] [--plots DIR] [--steps N] [--lr X]\n"
               "                     [--threads N]\n"
               "Replaces every long filter of every Hyena layer by D complex modes, h[t] = Re sum R λ^t,\n"
               "fitted by Prony's method and then N AdamW steps (default 500, lr 3e-3). Prints each layer's\n"
               "relative filter error and the validation loss before and after, and writes the distilled\n"
               "model (default: FILE with -modalD before .safetensors): hyena eval and hyena sample take it,\n"
               "and sample then generates with the recurrence, in memory that does not grow with the text.\n"
               "  --order 2,4,8   several orders: one model each, and a table of loss against order\n"
               "  --plots DIR     SVG charts: each layer's longest filter against its distilled versions\n"
               "                  (layer<i>_distilled.svg) and the Hankel singular values (hankel.svg)\n");
}

// "run/best.safetensors" -> "run/best-modal16.safetensors"
static void default_out(const char *ckpt, int order, char *out, size_t size) {
    size_t n = strlen(ckpt), k = strlen(".safetensors");
    if (n > k && strcmp(ckpt + n - k, ".safetensors") == 0) n -= k;
    snprintf(out, size, "%.*s-modal%d.safetensors", (int)n, ckpt, order);
}

static double val_loss(const Model *m, const Tokenizer *tok, const EvalData *ed) {
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    EvalResult r = evaluate(m, tok, &ed->val, 16, &tape);
    arena_free(&arena);
    return r.loss;
}

// Copies every tensor of `from` into the tensor of the same name in `to` (the distilled model
// has all of them, plus its poles and residues).
static void copy_params(Model *to, const Model *from) {
    for (int i = 0; i < from->params.n; i++) {
        const Var *v = from->params.items[i].var;
        Param *p = params_find(&to->params, v->name);
        memcpy(p->var->value.data, v->value.data, sizeof(float) * v->value.size);
    }
}

#define MAX_ORDERS 8

// What the charts need, per Hyena layer: its network filters [L, channels], the channel drawn
// (the one reaching furthest: the most energy in the second half of the context), and that
// channel's distilled filter for each order.
typedef struct LayerFilters {
    float *h;
    int channel;
    float *fitted[MAX_ORDERS];
} LayerFilters;

static int longest_channel(const float *h, int L, int C) {
    int best = 0;
    double best_tail = -1;
    for (int c = 0; c < C; c++) {
        double tail = 0;
        for (int t = L / 2; t < L; t++) tail += (double)h[(long)t * C + c] * h[(long)t * C + c];
        if (tail > best_tail) best_tail = tail, best = c;
    }
    return best;
}

static bool draw_plots(const char *dir, const Model *m, const LayerFilters *lf, const int *orders, int n_orders) {
    int L = m->cfg.context, n_layers = m->cfg.n_layers;
    double *t = malloc(sizeof(double) * (size_t)L), *ys = malloc(sizeof(double) * (size_t)L * (MAX_ORDERS + 1));
    char path[1200], title[160], labels[MAX_ORDERS + 1][48];
    PlotSeries series[MAX_ORDERS + 1 > MODEL_MAX_LAYERS ? MAX_ORDERS + 1 : MODEL_MAX_LAYERS];
    bool ok = true;
    for (int i = 0; i < L; i++) t[i] = i;
    int C = (m->cfg.hyena.order - 1) * m->cfg.d_model;
    for (int layer = 0; ok && layer < n_layers; layer++) {
        if (lf[layer].h == NULL) continue;
        for (int k = 0; k <= n_orders; k++) {
            double *y = ys + (size_t)k * L;
            for (int i = 0; i < L; i++)
                y[i] = k == 0 ? lf[layer].h[(long)i * C + lf[layer].channel] : lf[layer].fitted[k - 1][i];
            if (k == 0) snprintf(labels[k], sizeof labels[k], "trained");
            else snprintf(labels[k], sizeof labels[k], "d = %d", orders[k - 1]);
            series[k] = (PlotSeries){labels[k], t, y, L};
        }
        snprintf(title, sizeof title, "layer %d, channel %d: the trained filter and its distilled versions", layer,
                 lf[layer].channel);
        snprintf(path, sizeof path, "%s/layer%d_distilled.svg", dir, layer);
        PlotOptions po = {title, "t (tokens)", "h[t]", false, false};
        ok = plot_svg_write(path, &po, series, n_orders + 1);
    }
    // Hankel singular values of each layer's drawn channel, relative to the largest.
    enum { SHOWN_SV = 64 };
    double *sv = malloc(sizeof(double) * (size_t)n_layers * SHOWN_SV * 2), *idx = sv + (size_t)n_layers * SHOWN_SV;
    char (*names)[48] = malloc(sizeof(*names) * (size_t)n_layers);
    int n_series = 0;
    for (int k = 0; k < SHOWN_SV; k++) idx[k] = k + 1;
    for (int layer = 0; ok && layer < n_layers; layer++) {
        if (lf[layer].h == NULL) continue;
        double all[256];
        int n = hankel_singular_values(lf[layer].h + lf[layer].channel, C, L, 256, all);
        double *y = sv + (size_t)n_series * SHOWN_SV;
        int shown = n < SHOWN_SV ? n : SHOWN_SV;
        for (int k = 0; k < shown; k++) y[k] = all[0] > 0 ? all[k] / all[0] : 0;
        snprintf(names[n_series], 48, "layer %d, channel %d", layer, lf[layer].channel);
        series[n_series] = (PlotSeries){names[n_series], idx, y, shown};
        n_series++;
    }
    if (ok) {
        snprintf(path, sizeof path, "%s/hankel.svg", dir);
        PlotOptions po = {"Hankel singular values of the drawn filters (a fast fall: few modes suffice)", "k",
                          "sigma_k / sigma_1", false, true};
        ok = plot_svg_write(path, &po, series, n_series);
    }
    free(names);
    free(sv);
    free(ys);
    free(t);
    return ok;
}

// One order: fit every layer, measure, write the model. fitted: the drawn channels' filters.
static bool distill_order(const Model *model, const TrainConfig *cfg, Tokenizer *tok, const EvalData *ed,
                          LayerFilters *lf, int k, DistillOptions o, const char *out_path, double *loss) {
    TrainConfig dcfg = *cfg;
    dcfg.model.hyena.modal_order = o.order;
    Model distilled;
    model_init(&distilled, &dcfg.model, 0);
    copy_params(&distilled, model);
    int L = model->cfg.context;
    for (int i = 0; i < model->cfg.n_layers; i++) {
        if (lf[i].h == NULL) continue;
        HyenaFilter *g = &distilled.blocks[i].hyena.filter;
        double t0 = cli_seconds();
        double e = distill_fit(lf[i].h, L, g->channels, &o, g->poles->value.data, g->residues->value.data);
        printf("order %d, layer %d: relative filter error %.4f, fitted in %.1f s\n", o.order, i, e, cli_seconds() - t0);
        fflush(stdout);
        long off = (long)lf[i].channel * o.order * 2;
        modal_filter_forward(lf[i].fitted[k], g->poles->value.data + off, g->residues->value.data + off, 1, o.order, L);
    }
    *loss = val_loss(&distilled, tok, ed);
    TrainState state = {0, rng_new(cfg->seed), INFINITY};
    bool ok = checkpoint_save(out_path, &dcfg, &distilled, NULL, tok, &state);
    if (ok) printf("wrote %s\n", out_path);
    else fprintf(stderr, "hyena: cannot write %s\n", out_path);
    model_free(&distilled);
    return ok;
}

int distill_main(int argc, char **argv) {
    const char *ckpt = NULL, *out = NULL, *plots = NULL;
    int orders[MAX_ORDERS], n_orders = 0, threads = 0;
    DistillOptions o = distill_options_default(0);
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ckpt") == 0 && v) ckpt = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) out = argv[++i];
        else if (strcmp(argv[i], "--plots") == 0 && v) plots = argv[++i];
        else if (strcmp(argv[i], "--order") == 0 && v) {
            if ((n_orders = cli_parse_int_list(argv[++i], orders, MAX_ORDERS, 1, 256, "--order")) < 0) return 2;
        } else if (strcmp(argv[i], "--steps") == 0 && v) {
            if (!cli_parse_int(argv[++i], &o.steps, 0, 1000000, "--steps")) return 2;
        } else if (strcmp(argv[i], "--threads") == 0 && v) {
            if (!cli_parse_int(argv[++i], &threads, 1, 1024, "--threads")) return 2;
        } else if (strcmp(argv[i], "--lr") == 0 && v) {
            char *end;
            o.lr = strtof(argv[++i], &end);
            if (end == argv[i] || *end || !(o.lr > 0 && o.lr <= 1)) {
                fprintf(stderr, "hyena: --lr expects a number in (0, 1], got '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "hyena distill: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt || n_orders == 0) {
        fprintf(stderr, "hyena distill: --ckpt FILE and --order D are required (see --help)\n");
        return 2;
    }
    if (out && n_orders > 1) {
        fprintf(stderr, "hyena distill: --out names one file, but --order gives %d orders\n", n_orders);
        return 2;
    }
    if (plots && mkdir(plots, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "hyena: cannot create %s: %s\n", plots, strerror(errno));
        return 1;
    }
    pool_init(threads);
    TrainConfig cfg;
    Model model;
    Tokenizer tok;
    if (!checkpoint_open(ckpt, &cfg, &model, &tok)) return 1;
    int hyena_layers = 0;
    for (int i = 0; i < model.cfg.n_layers; i++) hyena_layers += model.blocks[i].kind == MIXER_HYENA;
    int rc = 0;
    char err[600];
    EvalData ed;
    if (hyena_layers == 0) {
        fprintf(stderr, "hyena: %s has no Hyena layers: there are no long filters to distill\n", ckpt);
        rc = 1;
    } else if (model.cfg.hyena.modal_order > 0) {
        fprintf(stderr, "hyena: %s is already distilled (order %d); distill the checkpoint it came from\n", ckpt,
                model.cfg.hyena.modal_order);
        rc = 1;
    } else if (!eval_data_load(&ed, &cfg, NULL, &tok, err, sizeof err)) {
        fprintf(stderr, "hyena: %s\n", err);
        rc = 1;
    }
    if (rc) {
        tokenizer_free(&tok);
        model_free(&model);
        return rc;
    }
    int L = model.cfg.context, C = (model.cfg.hyena.order - 1) * model.cfg.d_model;
    printf("distilling %s: %d Hyena layer%s, %d filters each of length %d\n", ckpt, hyena_layers,
           hyena_layers > 1 ? "s" : "", C, L);
    // The network's filters, once: every order is fitted to the same targets.
    LayerFilters lf[MODEL_MAX_LAYERS] = {{0}};
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    tape.recording = false;
    for (int i = 0; i < model.cfg.n_layers; i++) {
        if (model.blocks[i].kind != MIXER_HYENA) continue;
        tape_reset(&tape);
        Var *h = hyena_filter_network(&tape, &model.blocks[i].hyena.filter, L);
        lf[i].h = malloc(sizeof(float) * h->value.size);
        memcpy(lf[i].h, h->value.data, sizeof(float) * h->value.size);
        lf[i].channel = longest_channel(lf[i].h, L, C);
        for (int k = 0; k < n_orders; k++) lf[i].fitted[k] = malloc(sizeof(float) * (size_t)L);
    }
    arena_free(&arena);
    double before = val_loss(&model, &tok, &ed), after[MAX_ORDERS];
    for (int k = 0; rc == 0 && k < n_orders; k++) {
        char out_path[1100];
        if (out) snprintf(out_path, sizeof out_path, "%s", out);
        else default_out(ckpt, orders[k], out_path, sizeof out_path);
        o.order = orders[k];
        if (!distill_order(&model, &cfg, &tok, &ed, lf, k, o, out_path, &after[k])) rc = 1;
        else printf("order %d: validation loss %.4f before, %.4f after distillation (%+.4f)\n", orders[k], before,
                    after[k], after[k] - before);
    }
    if (rc == 0 && n_orders > 1) {
        printf("\n| order d | validation loss | change |\n|---|---|---|\n| trained filters | %.4f | |\n", before);
        for (int k = 0; k < n_orders; k++) printf("| %d | %.4f | %+.4f |\n", orders[k], after[k], after[k] - before);
    }
    if (rc == 0 && plots) {
        if (draw_plots(plots, &model, lf, orders, n_orders)) printf("charts in %s/\n", plots);
        else rc = 1;
    }
    for (int i = 0; i < model.cfg.n_layers; i++) {
        free(lf[i].h);
        for (int k = 0; k < n_orders; k++) free(lf[i].fitted[k]);
    }
    eval_data_free(&ed);
    tokenizer_free(&tok);
    model_free(&model);
    return rc;
}
