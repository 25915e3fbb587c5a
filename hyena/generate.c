// generate.c - one row at a time through the model, with each layer's history kept.
#include "generate.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../autograd/fftconv.h"
#include "../autograd/modal.h"
#include "../tensor/matmul.h"
#include "../tensor/ops.h"

static float *alloc_row(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (p == NULL) {
        fprintf(stderr, "hyena: out of memory for the generation cache\n");
        exit(1);
    }
    return p;
}

// y[out] = x[in] · Wᵀ + b: the row version of linear_forward, with the same kernels.
static void linear_row(const Linear *l, const float *x, float *y) {
    matmul(y, x, l->weight->value.data, 1, l->in, l->out, MATMUL_NT, false);
    if (l->bias) add_broadcast(y, y, l->bias->value.data, 1, l->out);
}

static void layernorm_row(const LayerNorm *ln, const float *x, float *y, int D) {
    layernorm_last(y, NULL, NULL, x, ln->weight->value.data, ln->bias->value.data, 1, D, LAYERNORM_EPS);
}

static bool is_distilled(const Model *m) { return m->cfg.hyena.modal_order > 0; }

static bool has_attention(const Model *m) {
    for (int i = 0; i < m->cfg.n_layers; i++)
        if (m->blocks[i].kind == MIXER_ATTENTION) return true;
    return false;
}

void gencache_init(GenCache *c, const Model *m) { gencache_init_mode(c, m, is_distilled(m) ? GEN_RECURRENT : GEN_CACHED); }

void gencache_init_mode(GenCache *c, const Model *m, GenMode mode) {
    if (mode == GEN_RECURRENT && !is_distilled(m)) {
        fprintf(stderr, "hyena: recurrent generation needs a distilled model (hyena distill)\n");
        exit(1);
    }
    if (m->cfg.attention_short_conv && has_attention(m)) {
        fprintf(stderr, "hyena: generation does not support attention with a short convolution (a recall-only option)\n");
        exit(1);
    }
    memset(c, 0, sizeof *c);
    c->model = m;
    c->mode = mode;
    c->capacity = mode == GEN_RECURRENT && !has_attention(m) ? LONG_MAX : m->cfg.context;
    int D = m->cfg.d_model, L = m->cfg.context, N = m->cfg.hyena.order, d = m->cfg.hyena.modal_order;
    size_t wide = (size_t)(N + 1) * D > (size_t)4 * D ? (size_t)(N + 1) * D : (size_t)4 * D;
    c->x = alloc_row((size_t)D);
    c->h = alloc_row((size_t)D);
    c->z = alloc_row(wide);
    c->u = alloc_row(wide);
    c->v = alloc_row((size_t)D);
    c->y = alloc_row((size_t)D);
    c->mlp = alloc_row((size_t)4 * D);
    c->att = alloc_row((size_t)L);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    tape.recording = false;
    for (int i = 0; i < m->cfg.n_layers; i++) {
        LayerCache *lc = &c->layers[i];
        if (m->blocks[i].kind == MIXER_HYENA) {
            lc->z_history = alloc_row((size_t)2 * (N + 1) * D);
            if (mode == GEN_RECURRENT) {
                lc->state = alloc_row((size_t)(N - 1) * D * d * 2);
                continue;
            }
            lc->v_history = alloc_row((size_t)(N - 1) * L * D);
            // The filters for the whole context, once: position k's filter does not depend on L.
            tape_reset(&tape);
            Var *f = hyena_filter_forward(&tape, &m->blocks[i].hyena.filter, L);
            lc->filters = alloc_row(f->value.size);
            memcpy(lc->filters, f->value.data, f->value.size * sizeof(float));
        } else {
            lc->keys = alloc_row((size_t)L * D);
            lc->values = alloc_row((size_t)L * D);
        }
    }
    arena_free(&arena);
}

size_t gencache_bytes(const GenCache *c) {
    const ModelConfig *cfg = &c->model->cfg;
    size_t D = (size_t)cfg->d_model, F = (size_t)(cfg->hyena.order - 1) * D, bytes = 0;
    for (int i = 0; i < cfg->n_layers; i++) {
        const LayerCache *lc = &c->layers[i];
        if (lc->state) bytes += F * (size_t)cfg->hyena.modal_order * 2;
        if (lc->v_history) bytes += F * (size_t)cfg->context;
        if (lc->keys) bytes += 2 * D * (size_t)cfg->context;
    }
    return bytes * sizeof(float);
}

void gencache_free(GenCache *c) {
    for (int i = 0; c->model && i < c->model->cfg.n_layers; i++) {
        LayerCache *lc = &c->layers[i];
        free(lc->z_history);
        free(lc->v_history);
        free(lc->filters);
        free(lc->state);
        free(lc->keys);
        free(lc->values);
    }
    free(c->x);
    free(c->h);
    free(c->z);
    free(c->u);
    free(c->v);
    free(c->y);
    free(c->mlp);
    free(c->att);
    memset(c, 0, sizeof *c);
}

// A cached history needs no clearing (position t is written before it is read); the recurrent
// states are sums over the past, so they start again from zero.
void gencache_reset(GenCache *c) {
    const ModelConfig *m = &c->model->cfg;
    size_t state_floats = (size_t)(m->hyena.order - 1) * m->d_model * m->hyena.modal_order * 2;
    c->t = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (c->layers[i].state) memset(c->layers[i].state, 0, sizeof(float) * state_floats);
}

// The Hyena operator at position t, from the row h (normalized input) into y.
static void hyena_row(GenCache *c, const HyenaOperator *op, LayerCache *lc, long t) {
    int D = op->cfg.d_model, N = op->cfg.order, C = (N + 1) * D, F = (N - 1) * D;
    linear_row(&op->in_proj, c->h, c->z);                          // z_t: [(N+1)D]
    // Short causal conv over (z_{t-2}, z_{t-1}, z_t). z_s is kept in slot s % 2 of z_history, so
    // before z_t is stored, slot (t+1) % 2 holds z_{t-1} and slot t % 2 holds z_{t-2}.
    const float *w = op->short_w->value.data, *b = op->short_b->value.data;
    const float *z1 = lc->z_history + ((t + 1) % 2) * C, *z2 = lc->z_history + (t % 2) * C;
    for (int ch = 0; ch < C; ch++) {
        float acc = b[ch];
        acc += w[ch * 3 + 2] * c->z[ch];
        if (t >= 1) acc += w[ch * 3 + 1] * z1[ch];
        if (t >= 2) acc += w[ch * 3 + 0] * z2[ch];
        c->u[ch] = acc;
    }
    memcpy(lc->z_history + (t % 2) * C, c->z, (size_t)C * sizeof(float));  // z_t replaces z_{t-2}
    // The recurrence, at position t only.
    memcpy(c->v, c->u + N * D, (size_t)D * sizeof(float));
    const float *bias = op->filter.bias->value.data;
    for (int o = 0; o < N - 1; o++) {
        const float *x = c->u + (N - 1 - o) * D;
        if (c->mode == GEN_RECURRENT) {
            int d = op->cfg.modal_order;
            long off = (long)o * D * d * 2;
            for (int k = 0; k < D; k++) c->v[k] *= x[k];
            modal_scan(c->y, c->v, op->filter.poles->value.data + off, op->filter.residues->value.data + off,
                       bias + o * D, lc->state + off, 1, D, d);
            memcpy(c->v, c->y, (size_t)D * sizeof(float));
            continue;
        }
        float *hist = lc->v_history + (long)o * c->model->cfg.context * D;
        for (int d = 0; d < D; d++) hist[(long)t * D + d] = c->v[d] * x[d];
        for (int d = 0; d < D; d++) c->y[d] = bias[o * D + d] * hist[(long)t * D + d];
        // y_t = sum_{k=0..t} h[k] v_{t-k}: the order of the direct convolution path.
        for (int k = 0; k <= t; k++) {
            const float *hk = lc->filters + (long)k * F + o * D, *vs = hist + (long)(t - k) * D;
            for (int d = 0; d < D; d++) c->y[d] += hk[d] * vs[d];
        }
        memcpy(c->v, c->y, (size_t)D * sizeof(float));
    }
    for (int d = 0; d < D; d++) c->v[d] *= c->u[d];  // ⊙ x_0
    linear_row(&op->out_proj, c->v, c->y);
}

static void attention_row(GenCache *c, const Attention *a, LayerCache *lc, long t) {
    int D = c->model->cfg.d_model, H = a->n_heads, hd = D / H;
    linear_row(&a->wqkv, c->h, c->z);  // q | k | v
    memcpy(lc->keys + (long)t * D, c->z + D, (size_t)D * sizeof(float));
    memcpy(lc->values + (long)t * D, c->z + 2 * D, (size_t)D * sizeof(float));
    float scale = 1.0f / sqrtf((float)hd);
    for (int h = 0; h < H; h++) {
        const float *q = c->z + h * hd;
        float max = -INFINITY;
        for (int s = 0; s <= t; s++) {
            float dot = 0;
            for (int i = 0; i < hd; i++) dot += q[i] * lc->keys[(long)s * D + h * hd + i];
            c->att[s] = dot * scale;
            max = fmaxf(max, c->att[s]);
        }
        double sum = 0;
        for (int s = 0; s <= t; s++) sum += (c->att[s] = expf(c->att[s] - max));
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < hd; i++) {
            float acc = 0;
            for (int s = 0; s <= t; s++) acc += c->att[s] * inv * lc->values[(long)s * D + h * hd + i];
            c->v[h * hd + i] = acc;
        }
    }
    linear_row(&a->out_proj, c->v, c->y);
}

void gencache_step(GenCache *c, int32_t id, float *logits) {
    const Model *m = c->model;
    int D = m->cfg.d_model;
    long t = c->t;
    if (t >= c->capacity) {
        fprintf(stderr, "hyena: generation cache is full (%ld tokens)\n", c->capacity);
        exit(1);
    }
    embedding_gather(c->x, m->wte->value.data, &id, 1, D, m->cfg.vocab_size);
    if (m->wpe) add_broadcast(c->x, c->x, m->wpe->value.data + (long)t * D, 1, D);
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const Block *b = &m->blocks[i];
        layernorm_row(&b->norm1, c->x, c->h, D);
        if (b->kind == MIXER_HYENA) hyena_row(c, &b->hyena, &c->layers[i], t);
        else attention_row(c, &b->attention, &c->layers[i], t);
        add_broadcast(c->x, c->x, c->y, 1, D);
        layernorm_row(&b->norm2, c->x, c->h, D);
        linear_row(&b->mlp.fc1, c->h, c->mlp);
        unary(c->mlp, c->mlp, 4L * D, UNARY_GELU);
        linear_row(&b->mlp.fc2, c->mlp, c->y);
        add_broadcast(c->x, c->x, c->y, 1, D);
    }
    layernorm_row(&m->ln_f, c->x, c->h, D);
    matmul(logits, c->h, m->wte->value.data, 1, D, m->cfg.vocab_size, MATMUL_NT, false);
    c->t++;
}

// y[rows][out] = x[rows][in] · Wᵀ + b: linear_forward's kernels without a tape.
static void linear_rows(const Linear *l, const float *x, float *y, long rows) {
    matmul(y, x, l->weight->value.data, rows, l->in, l->out, MATMUL_NT, false);
    if (l->bias) add_broadcast(y, y, l->bias->value.data, rows, l->out);
}

// The Hyena operator over rows 0..n-1 at once, from hn [n][D] into y [n][D]; keeps what
// gencache_step needs next: the last two rows of z, then each long convolution's history or
// its states at n-1.
static void hyena_prefill(GenCache *c, const HyenaOperator *op, LayerCache *lc, const float *hn, float *y, long n) {
    int D = op->cfg.d_model, N = op->cfg.order, C = (N + 1) * D, F = (N - 1) * D, d = op->cfg.modal_order;
    float *z = alloc_row((size_t)n * C), *u = alloc_row((size_t)n * C), *v = alloc_row((size_t)n * D);
    float *h = alloc_row((size_t)n * D), *filters = lc->filters;
    linear_rows(&op->in_proj, hn, z, n);
    const float *w = op->short_w->value.data, *b = op->short_b->value.data;
    for (long t = 0; t < n; t++)
        for (int ch = 0; ch < C; ch++) {
            float acc = b[ch] + w[ch * 3 + 2] * z[t * C + ch];
            if (t >= 1) acc += w[ch * 3 + 1] * z[(t - 1) * C + ch];
            if (t >= 2) acc += w[ch * 3 + 0] * z[(t - 2) * C + ch];
            u[t * C + ch] = acc;
        }
    for (long s = n - 2 < 0 ? 0 : n - 2; s < n; s++) memcpy(lc->z_history + (s % 2) * C, z + s * C, sizeof(float) * C);
    if (c->mode == GEN_RECURRENT) {  // the modal filters at n positions (any n: no context limit)
        filters = alloc_row((size_t)n * F);
        modal_filter_forward(filters, op->filter.poles->value.data, op->filter.residues->value.data, F, d, (int)n);
    }
    for (long t = 0; t < n; t++) memcpy(v + t * D, u + t * C + N * D, sizeof(float) * D);
    for (int o = 0; o < N - 1; o++) {
        for (long t = 0; t < n; t++)
            for (int k = 0; k < D; k++) v[t * D + k] *= u[t * C + (N - 1 - o) * D + k];
        if (c->mode == GEN_RECURRENT) {
            // x_n[n-1] = sum_s λ_n^(n-1-s) v_s: one output of the convolution of v with λ_n^t,
            // summed by Horner's rule (in double: n may be large).
            const float *poles = op->filter.poles->value.data + (long)o * D * d * 2;
            float *state = lc->state + (long)o * D * d * 2;
            for (long k = 0; k < (long)D * d; k++) {
                double re = 0, im = 0, lr = poles[2 * k], li = poles[2 * k + 1];
                for (long s = 0; s < n; s++) {
                    double r2 = lr * re - li * im + v[s * D + k / d];
                    im = lr * im + li * re;
                    re = r2;
                }
                state[2 * k] = (float)re;
                state[2 * k + 1] = (float)im;
            }
        } else {
            float *hist = lc->v_history + (long)o * c->model->cfg.context * D;
            memcpy(hist, v, sizeof(float) * (size_t)n * D);
        }
        for (long t = 0; t < n; t++) memcpy(h + t * D, filters + t * F + o * D, sizeof(float) * D);
        fftconv_forward(y, v, h, op->filter.bias->value.data + o * D, 1, (int)n, D, FFTCONV_AUTO);
        memcpy(v, y, sizeof(float) * (size_t)n * D);
    }
    for (long t = 0; t < n; t++)
        for (int k = 0; k < D; k++) v[t * D + k] *= u[t * C + k];  // ⊙ x_0
    linear_rows(&op->out_proj, v, y, n);
    if (filters != lc->filters) free(filters);
    free(h);
    free(v);
    free(u);
    free(z);
}

void gencache_prefill(GenCache *c, const int32_t *ids, long n, float *logits) {
    const Model *m = c->model;
    if (c->t != 0 || n > c->capacity) {
        fprintf(stderr, "hyena: gencache_prefill needs an empty cache and at most %ld tokens\n", c->capacity);
        exit(1);
    }
    if (has_attention(m) || n < 2) {  // attention layers are fed token by token
        for (long t = 0; t < n; t++) gencache_step(c, ids[t], logits);
        return;
    }
    int D = m->cfg.d_model;
    float *x = alloc_row((size_t)n * D), *hn = alloc_row((size_t)n * D), *y = alloc_row((size_t)n * D);
    float *mlp = alloc_row((size_t)n * 4 * D);
    embedding_gather(x, m->wte->value.data, ids, n, D, m->cfg.vocab_size);
    for (int i = 0; i < m->cfg.n_layers; i++) {
        const Block *b = &m->blocks[i];
        layernorm_last(hn, NULL, NULL, x, b->norm1.weight->value.data, b->norm1.bias->value.data, n, D, LAYERNORM_EPS);
        hyena_prefill(c, &b->hyena, &c->layers[i], hn, y, n);
        add_broadcast(x, x, y, 1, n * D);
        layernorm_last(hn, NULL, NULL, x, b->norm2.weight->value.data, b->norm2.bias->value.data, n, D, LAYERNORM_EPS);
        linear_rows(&b->mlp.fc1, hn, mlp, n);
        unary(mlp, mlp, n * 4 * D, UNARY_GELU);
        linear_rows(&b->mlp.fc2, mlp, y, n);
        add_broadcast(x, x, y, 1, n * D);
    }
    layernorm_row(&m->ln_f, x + (n - 1) * D, c->h, D);
    matmul(logits, c->h, m->wte->value.data, 1, D, m->cfg.vocab_size, MATMUL_NT, false);
    c->t = n;
    free(mlp);
    free(y);
    free(hn);
    free(x);
}
