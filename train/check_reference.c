// check_reference.c - `hyena check-reference FILE.safetensors`.
//
// Each tensor is compared by its largest error relative to its largest value,
//   rel = max_i |ours_i - ref_i| / max_i |ref_i|,
// which does not blow up on elements that happen to be near zero, and passes when
// rel <= rtol (a tensor that is all zeros must be matched within 1e-7).
#include "check_reference.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/ops.h"
#include "../hyena/operator.h"
#include "../tensor/pool.h"
#include "cli.h"
#include "safetensors.h"

static bool meta_int(const Safetensors *st, const char *key, int *out, char *err, size_t es) {
    return st_meta_int(st, key, out, 0, 1 << 30, err, es);
}

typedef struct Comparison {
    FILE *out;
    double rtol;
    ReferenceResult *result;
} Comparison;

static void compare(Comparison *c, const char *name, const float *ours, const float *ref, size_t n) {
    double max_err = 0, max_ref = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)ours[i] - ref[i]);
        if (!(e <= max_err)) max_err = isnan(e) ? INFINITY : e;
        max_ref = fmax(max_ref, fabs(ref[i]));
    }
    double rel = max_ref > 0 ? max_err / max_ref : max_err;
    bool ok = max_ref > 0 ? rel <= c->rtol : max_err <= 1e-7;
    c->result->n_compared++;
    if (!ok) c->result->n_failed++;
    if (rel > c->result->worst_rel || !isfinite(rel)) {
        c->result->worst_rel = rel;
        snprintf(c->result->worst_name, sizeof c->result->worst_name, "%s", name);
    }
    if (c->out) fprintf(c->out, "  %-46s max abs %.3e  max rel %.3e  %s\n", name, max_err, rel, ok ? "ok" : "FAIL");
}

bool check_reference(const char *path, double rtol, FILE *out, ReferenceResult *result, char *err, size_t es) {
    memset(result, 0, sizeof *result);
    Safetensors st;
    if (!st_load(path, &st, err, es)) return false;
    HyenaConfig cfg = hyena_config_default(1, 1);
    int seq_len = 0, batch = 0;
    bool ok = meta_int(&st, "d_model", &cfg.d_model, err, es) && meta_int(&st, "l_max", &cfg.l_max, err, es) &&
              meta_int(&st, "seq_len", &seq_len, err, es) && meta_int(&st, "batch", &batch, err, es) &&
              meta_int(&st, "order", &cfg.order, err, es) && meta_int(&st, "filter_order", &cfg.filter_order, err, es) &&
              meta_int(&st, "emb_dim", &cfg.emb_dim, err, es) &&
              meta_int(&st, "num_inner_mlps", &cfg.num_inner_mlps, err, es) && st_meta_float(&st, "w", &cfg.w, err, es) &&
              st_meta_float(&st, "shift", &cfg.shift, err, es) &&
              st_meta_float(&st, "fast_decay_pct", &cfg.fast_decay_pct, err, es) &&
              st_meta_float(&st, "slow_decay_pct", &cfg.slow_decay_pct, err, es) &&
              st_meta_float(&st, "target", &cfg.target, err, es);
    const char *modulate = st_meta(&st, "modulate");
    if (ok && modulate && strcmp(modulate, "True") != 0) {
        snprintf(err, es, "metadata 'modulate' is %s: only the modulated filter (True) is supported", modulate);
        ok = false;
    }
    const char *problem = ok ? hyena_config_check(&cfg) : NULL;
    if (problem) {
        snprintf(err, es, "%s: %s", path, problem);
        ok = false;
    }
    if (ok && (seq_len < 1 || seq_len > cfg.l_max || batch < 1)) {
        snprintf(err, es, "%s: seq_len %d must be in [1, l_max = %d] and batch >= 1", path, seq_len, cfg.l_max);
        ok = false;
    }
    if (!ok) {
        st_free(&st);
        return false;
    }

    Arena params_arena, step;
    arena_init(&params_arena, 0);
    arena_init(&step, 0);
    ParamList params;
    params_init(&params, &params_arena);
    Rng rng = rng_new(0);
    HyenaOperator op;
    hyena_operator_init(&op, &cfg, &params, "", &rng);
    // Every parameter and buffer from the file, by its reference name.
    for (int i = 0; ok && i < params.n; i++) {
        Var *v = params.items[i].var;
        ok = st_read_f32(&st, v->name, v->value.data, v->value.rank, v->value.shape, err, es);
    }
    // The shared Sin appears under every place it is used: all copies must agree.
    float *tmp = malloc(sizeof(float) * (size_t)cfg.filter_order * 2 + 64);
    for (int k = 1; ok && k < 2 * (cfg.num_inner_mlps + 1); k += 2) {
        char name[96];
        snprintf(name, sizeof name, "filter_fn.implicit_filter.%d.freq", k);
        ok = st_read_f32(&st, name, tmp, 2, (int[]){1, cfg.filter_order}, err, es);
        if (ok && memcmp(tmp, op.filter.freq->value.data, sizeof(float) * (size_t)cfg.filter_order) != 0) {
            snprintf(err, es, "%s differs from filter_fn.implicit_filter.1.freq: the Sin must be shared", name);
            ok = false;
        }
    }
    Tape tape;
    tape_init(&tape, &step);
    int D = cfg.d_model;
    size_t io = (size_t)batch * seq_len * D;
    Tensor input = tensor_new(&step, 3, (int[]){batch, seq_len, D});
    float *want = malloc(sizeof(float) * io), *grad_out = malloc(sizeof(float) * io);
    ok = ok && st_read_f32(&st, "input", input.data, 3, input.shape, err, es) &&
         st_read_f32(&st, "output", want, 3, input.shape, err, es) &&
         st_read_f32(&st, "grad_output", grad_out, 3, input.shape, err, es);
    if (ok) {
        Comparison c = {out, rtol, result};
        if (out) fprintf(out, "%s: order %d, d_model %d, seq_len %d (l_max %d), batch %d\n", path, cfg.order, D, seq_len,
                         cfg.l_max, batch);
        Var *u = ag_input(&tape, input, true, "input");
        Var *y = hyena_operator_forward(&tape, &op, u);
        compare(&c, "output", y->value.data, want, io);
        ag_backward(&tape, y, grad_out);
        ok = st_read_f32(&st, "grad.input", want, 3, input.shape, err, es);
        if (ok) compare(&c, "grad.input", u->grad, want, io);
        for (int i = 0; ok && i < params.n; i++) {
            Param *p = &params.items[i];
            if (!p->trainable) continue;
            char name[160];
            snprintf(name, sizeof name, "grad.%s", p->var->name);
            float *ref = malloc(sizeof(float) * p->var->value.size);
            ok = st_read_f32(&st, name, ref, p->var->value.rank, p->var->value.shape, err, es);
            if (ok) compare(&c, name, p->var->grad, ref, p->var->value.size);
            free(ref);
        }
        for (int k = 3; ok && k < 2 * (cfg.num_inner_mlps + 1); k += 2) {  // the other names of the Sin
            char name[96];
            snprintf(name, sizeof name, "grad.filter_fn.implicit_filter.%d.freq", k);
            ok = st_read_f32(&st, name, tmp, 2, (int[]){1, cfg.filter_order}, err, es);
            if (ok) compare(&c, name, op.filter.freq->grad, tmp, (size_t)cfg.filter_order);
        }
    }
    free(tmp);
    free(want);
    free(grad_out);
    params_free(&params);
    arena_free(&params_arena);
    arena_free(&step);
    st_free(&st);
    return ok;
}

static void usage(FILE *f) {
    fprintf(f, "usage: hyena check-reference FILE.safetensors [--rtol X] [--threads N]\n"
               "  Builds the Hyena operator described by the file's metadata, loads its weights, runs\n"
               "  forward and backward with the stored grad_output, and prints the largest absolute and\n"
               "  relative error of the output, the input gradient and every parameter gradient.\n"
               "  Exit 0 when every relative error is at most rtol (default %g), 1 otherwise, 2 on bad input.\n",
            REFERENCE_RTOL);
}

int check_reference_main(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    double rtol = REFERENCE_RTOL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc) {
            char *end = NULL;
            rtol = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(rtol > 0)) {
                fprintf(stderr, "hyena: --rtol expects a positive number, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            if (!cli_parse_int(argv[++i], &threads, 1, 1024, "--threads")) return 2;
        } else {
            fprintf(stderr, "hyena check-reference: unknown or incomplete option '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    pool_init(threads);
    ReferenceResult r;
    char err[400];
    if (!check_reference(argv[0], rtol, stdout, &r, err, sizeof err)) {
        fprintf(stderr, "hyena: check-reference: %s\n", err);
        return 2;
    }
    printf("%s: %d of %d tensors within rtol %g (worst: %s, %.2e)\n", r.n_failed ? "FAIL" : "PASS",
           r.n_compared - r.n_failed, r.n_compared, rtol, r.worst_name, r.worst_rel);
    return r.n_failed ? 1 : 0;
}
