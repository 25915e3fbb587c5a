#!/usr/bin/env bash
# make mutate: do the tests catch bugs? Each mutant below is one plausible single-line bug (an
# operator flipped, a bound off by one, a term dropped). For each, a copy of the committed tree
# gets that one change, and `make test` must fail. Prints every mutant that survived, and the
# kill rate. Not part of CI (it runs `make test` once per mutant: about half a minute each).
#
#   make mutate                    all mutants
#   tests/mutate.sh 3 17           only mutants 3 and 17 (numbers as printed)
#
# A mutant is "file|text|replacement": the first occurrence of text in file is replaced. A mutant
# whose text is no longer in its file is reported as stale (the code moved on: update the list).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

mutants=(
  # tensor/
  "tensor/matmul.c|for (int kk = 0; kk < kc; kk++) panel[kk * NR + jj] = src[kk];|for (int kk = 1; kk < kc; kk++) panel[kk * NR + jj] = src[kk];"
  "tensor/matmul.c|vec_store(ci, (overwrite ? vec_splat(0.0f) : vec_load(ci)) + acc[i][v]);|vec_store(ci, acc[i][v]);"
  "tensor/matmul.c|for (int s = 0; s < slices; s++) sum += j->partials[s * mn + i];|for (int s = 1; s < slices; s++) sum += j->partials[s * mn + i];"
  "tensor/fft.c|float er = 0.5f * (ar + cr), ei = 0.5f * (ai - ci)|float er = 0.5f * (ar + cr), ei = 0.5f * (ai + ci)"
  "tensor/fft.c|float f = 1.0f / (float)p->n;|float f = 1.0f / (float)p->half;"
  "tensor/fft.c|outi[c] = vr[c] * w_i + vi[c] * wr[c];|outi[c] = vr[c] * w_i - vi[c] * wr[c];"
  "tensor/ops.c|for (long i = 0; i < j->inner; i++) part[i] += g[i] * w[i];|for (long i = 0; i < j->inner; i++) part[i] += g[i];"
  "tensor/ops.c|double mean = s / (double)j->cols;|double mean = s / (double)(j->cols - 1);"
  "tensor/ops.c|for (long blk = 0; blk < blocks; blk++)  // blocks|for (long blk = 1; blk < blocks; blk++)  // blocks"
  "tensor/pool.c|pool.shares[t].end = n_chunks * (t + 1) / pool.n_threads;|pool.shares[t].end = n_chunks * (t + 1) / pool.n_threads - (t == 0);"
  "tensor/rng.c|while (low < threshold) {|while (low < threshold - 1) {"
  "tensor/arena.c|arena->offset += need;|arena->offset += need - ARENA_ALIGN;"
  "tensor/vmath.h|x * 0.39894228040143268f * vexp|x * 0.3993f * vexp"
  "tensor/ops.c|float rstd = (float)(1.0 / sqrt(s2 / (double)j->cols + j->eps));|float rstd = (float)(1.0 / (sqrt(s2 / (double)j->cols) + j->eps));"
  # autograd/
  "autograd/op_elementwise.c|case UNARY_TANH: for (long i = begin; i < end; i++) ga[i] += g[i] * (1.0f - y[i] * y[i]); break;|case UNARY_TANH: for (long i = begin; i < end; i++) ga[i] += g[i] * (1.0f - y[i]); break;"
  "autograd/op_elementwise.c|case UNARY_LOG: for (long i = begin; i < end; i++) ga[i] += g[i] / a[i]; break;|case UNARY_LOG: for (long i = begin; i < end; i++) ga[i] += g[i] * a[i]; break;"
  "autograd/op_elementwise.c|for (long i = begin; i < end; i++) j->ga[i] += j->g[i] * j->b[i];|for (long i = begin; i < end; i++) j->ga[i] = j->g[i] * j->b[i];"
  "autograd/op_elementwise.c|for (long i = begin; i < end; i++) j->ga[i] += j->s * j->g[i];|for (long i = begin; i < end; i++) j->ga[i] += j->g[i];"
  "autograd/op_cross_entropy.c|for (long c = 0; c < j->vocab; c++) sum += exp((double)(x[c] - max));|for (long c = 1; c < j->vocab; c++) sum += exp((double)(x[c] - max));"
  "autograd/op_softmax.c|for (long c = 0; c < j->cols; c++) ga[c] += y[c] * (g[c] - (float)dot);|for (long c = 0; c < j->cols; c++) ga[c] += y[c] * g[c];"
  "autograd/op_slice.c|for (long i = 0; i < n; i++) a[i] += y[i];|for (long i = 0; i < n; i++) a[i] = y[i];"
  "autograd/op_reduce.c|for (long c = 0; c < cols; c++) a->grad[r * cols + c] += g;|for (long c = 1; c < cols; c++) a->grad[r * cols + c] += g;"
  "autograd/op_layernorm.c|float xhat = (x[c] - mean) * rstd, dxhat = g[c] * j->gamma[c];|float xhat = (x[c] - mean) * rstd, dxhat = g[c];"
  "autograd/op_causal_conv.c|int P = j->K - 1, C = j->C;|int P = j->K - 2, C = j->C;"
  "autograd/op_attention.c|for (int s = 0; s <= t; s++) row[s] = scale * prow[s] * (row[s] - (float)dot);|for (int s = 0; s <= t; s++) row[s] = prow[s] * (row[s] - (float)dot);"
  "autograd/op_attention.c|float scale = 1.0f / sqrtf((float)hd);|float scale = 1.0f / (float)hd;"
  "autograd/op_fftconv.c|add_skip(j->gu + off, j->gy + off, j->bias + d0, j->L, j->D, g);|(void)0;"
  "autograd/op_modal.c|pi[n] = pr[n] * li[n] + pi[n] * lr[n];|pi[n] = pr[n] * li[n] - pi[n] * lr[n];"
  "autograd/op_modal.c|acc += r[0] * re - r[1] * im;  // Re(R x)|acc += r[0] * re + r[1] * im;"
  "autograd/op_modal.c|s_angle -= g * t * cimag(p);|s_angle -= g * cimag(p);"
  "autograd/op_modal.c|j->g_rate[k] += (float)(-exp((double)j->log_rate[k]) * s_rate);|j->g_rate[k] += (float)(exp((double)j->log_rate[k]) * s_rate);"
  "autograd/tape.c|if (node->out->grad == NULL) continue;|if (node->out->grad == NULL) break;"
  # hyena/
  "hyena/operator.c|Var *x = ag_slice(tape, z, 2, (N - 1 - o) * D, D);|Var *x = ag_slice(tape, z, 2, (o + 1) * D, D);"
  "hyena/filter.c|if (i < f->n_layers - 1) h = ag_sin(tape, ag_mul(tape, h, freq));|if (i < f->n_layers - 2) h = ag_sin(tape, ag_mul(tape, h, freq));"
  "hyena/filter.c|row[c] = vexp(-pos * fabsf(deltas[c])) + f->shift;|row[c] = vexp(-pos * deltas[c]) + f->shift;"
  "hyena/generate.c|if (t >= c->capacity) {|if (t > c->capacity) {"
  "hyena/generate.c|double r2 = lr * re - li * im + v[s * D + k / d];|double r2 = lr * re - li * im + v[s * D + k % d];"
  "hyena/generate.c|for (long s = n - 2 < 0 ? 0 : n - 2; s < n; s++)|for (long s = n - 1; s < n; s++)"
  "hyena/prony.c|b[r] = -(double)h[(long)(m + r) * stride];|b[r] = (double)h[(long)(m + r) * stride];"
  "hyena/prony.c|for (int j = k + 1; j < cols; j++) s -= A[(long)k * cols + j] * x[j];|for (int j = k + 2; j < cols; j++) s -= A[(long)k * cols + j] * x[j];"
  "hyena/prony.c|A[(long)t * cols + 2 * n + 1] = -cimag(q);|A[(long)t * cols + 2 * n + 1] = cimag(q);"
  "hyena/model.c|if (c->n_layers < 1 || c->n_layers > MODEL_MAX_LAYERS) return|if (c->n_layers < 1 || c->n_layers > MODEL_MAX_LAYERS + 1) return"
  # train/
  "train/optim.c|m[i] = b1 * m[i] + (1.0f - b1) * g[i];|m[i] = b1 * m[i] + g[i];"
  "train/optim.c|p[i] -= lr * mhat / (sqrtf(vhat) + eps);|p[i] -= lr * mhat / sqrtf(vhat + eps);"
  "train/optim.c|if (t >= c->total_steps) return c->min_lr;|if (t > c->total_steps) return c->min_lr;"
  "train/optim.c|if (clip > 0 && norm > clip) {|if (clip > 0 && norm > 2 * clip) {"
  "train/sample.c|c[i] = (Candidate){expf((logits[i] - max) / o->temperature), i};|c[i] = (Candidate){expf((logits[i] - max) * o->temperature), i};"
  "train/safetensors.c|if (numel && (uint64_t)d->integer > UINT64_MAX / numel / 8)|if (0)"
  "train/checkpoint.c|st_meta_float(&st, \"momentum\", &c->optim.momentum, inner, sizeof inner) &&|"
  "train/checkpoint.c|ok = poles_are_stable(&m->blocks[i].hyena.filter, i, inner, sizeof inner);|ok = true;"
  "train/distill.c|if (rate->value.data[k] < min_log_rate) rate->value.data[k] = min_log_rate;|(void)min_log_rate;"
  "train/evaluate.c|total += (double)mean * (double)n;|total += (double)mean;"
  "train/train.c|float seed = 1.0f / (float)r.cfg.grad_accum;|float seed = 1.0f;"
  "train/json.c|if (c >= 'a' && c <= 'f') return c - 'a' + 10;|if (c >= 'a' && c <= 'f') return c - 'a';"
  # data/
  "data/dataset.c|long starts = split->n - T;|long starts = split->n - T - 1;"
  "data/bpe.c|if (r && (best_rank < 0 || *r < best_rank)) {|if (r && (best_rank < 0 || *r > best_rank)) {"
  "data/bpe.c|if (at_site[i] || at_site[i + 1]) count_pair|if (at_site[i]) count_pair"
  "data/bpe.c|if (len > best_len && at + len <= size|if (best < 0 && at + len <= size"
  "data/bpe.c|return end < n && last > 0 ? last : end;|return end < n ? last : end;"
  "data/unicode.c|if (b == 0xED) hi = 0x9F;|if (b == 0xED) hi = 0xBF;"
  "data/bpe.c|if (prev[i] >= 0 && (r = pair_rank(|if (prev[i] > 0 && (r = pair_rank("
  "data/chars.c|seen[cp / 8] |= (unsigned char)(1u << (cp % 8));|seen[cp / 8] |= (unsigned char)(1u << (cp % 4));"
  "data/dataset.c|long s = (long)(((uint64_t)rng_next(rng) >> 1) % (uint64_t)starts);|unsigned s = (unsigned)(((uint64_t)rng_next(rng) >> 1) % (uint64_t)starts);"
  "data/bpe.c|return len < BPE_MAX_CHUNK ? len : BPE_MAX_CHUNK;|return len;"
  "train/cli.c|(float)v < lo|v < lo"
  "data/synthetic.c|for (int k = 0; k < n_keys; k++) value_of[k] = n_keys + (int32_t)rng_below(rng, (uint32_t)n_values);|for (int k = 0; k < n_keys; k++) value_of[k] = (int32_t)rng_below(rng, (uint32_t)n_values);"
  # the recall frontier (issue 12): attention's short conv, logits at chosen rows, styled plots
  "hyena/attention.c|if (a->short_w) qkv = ag_causal_conv(tape, qkv, a->short_w, a->short_b);|(void)0;"
  "hyena/model.c|if (cfg->attention_short_conv) attention_add_short_conv|if (0) attention_add_short_conv"
  "hyena/model.c|rows, 1, &n_rows);|rows, 1, (int[]){n_rows - 1});"
  "train/checkpoint.c|put(&w, \"attention_short_conv\", \"%d\", m->cfg.attention_short_conv);|"
  "train/plot.c|const char *dash = style.dashed ? \" stroke-dasharray=\\\"6 4\\\"\" : \"\";|const char *dash = \"\";"
  # the pool's busy-machine test: one low window must not be enough, sleeping is not starving
  "tensor/pool.c|bool starved = s->low_windows >= LOW_WINDOWS;|bool starved = s->low_windows >= 1;"
  "tensor/pool.c|double awake = wall_us - s->wall_mark - s->slept_us;|double awake = wall_us - s->wall_mark;"
  # GELU's backward given Phi by its forward; the short conv's transposed weights and row blocks
  "tensor/ops.c|cdf[i] = phi;|cdf[i] = 0.5f * phi;"
  "tensor/ops.c|out[i] = a[i] * phi;|out[i] = a[i] * normal_cdf(a[i] + 1e-6f);"
  "autograd/op_causal_conv.c|wt[(long)k * C + c] = w[(long)c * K + k];|wt[(long)k * C + c] = w[(long)k * C + c];"
  "autograd/op_causal_conv.c|for (long row = blk * CONV_ROW_BLOCK; row < last; row++) {|for (long row = blk * CONV_ROW_BLOCK + 1; row < last; row++) {"
  # 2026-11-25, second session: kept spectra, the trig polynomials, block-order sums
  "autograd/op_fftconv.c|kr = j->kept + kept_at(j, grp, 1 + b);|kr = j->kept + kept_at(j, grp, 1);"
  "autograd/op_fftconv.c|column_sum_add(gbias, gy, u, (long)B * L, D,|column_sum_add(gbias, gy, NULL, (long)B * L, D,"
  "tensor/vmath.h|return (q & 2) ? -v : v;|return v;"
  "tensor/ops.c|if (!(fabsf(x[i]) <= VTRIG_MAX_ARG)) block[i] = cosine ? cosf(x[i]) : sinf(x[i]);|if (!(fabsf(x[i]) <= VTRIG_MAX_ARG)) block[i] = sinf(x[i]);"
  "autograd/op_causal_conv.c|for (long blk = 0; blk < j->blocks; blk++) {|for (long blk = 1; blk < j->blocks; blk++) {"
  "tensor/matmul.c|job->a + (long)(i0 + r) * job->k + job->k0, job->k, 1|job->a + (long)(i0 + r) * job->k, job->k, 1"
  "tensor/matmul.c|apack + (long)(r - in_place) * job->kc|apack + (long)r * job->kc"
  "autograd/tape.c|    bool first = v->grad_fresh;|    bool first = true;"
  "autograd/op_elementwise.c|MulGradJob j = {a->grad, g, b->value.data, inner, ag_grad_first_write(a)};|MulGradJob j = {a->grad, g, b->value.data, inner, true};"
  "autograd/op_causal_conv.c|            for (int c = 0; c < C; c++) gx[c] = 0.0f;|            ;"
  "tensor/vmath.h|    veci bits = (__builtin_convertvector(n, veci) + 127) << 23;|    veci bits = (__builtin_convertvector(n, veci) + 126) << 23;"
  "tensor/ops.c|        memcpy(x, a + i, rest);|        memcpy(x, a + i, rest - sizeof(float));"
)

work=$(mktemp -d /tmp/hyena-mutate-XXXXXX)
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$work"
echo "mutation testing $(git -C "$root" rev-parse --short HEAD) in $work"
make -s -C "$work" BUILD=build/mutate build/mutate/run_tests build/mutate/hyena > /dev/null 2>&1 ||
    { echo "the unmutated tree does not build"; exit 1; }

selected=("$@")
killed=0 survived=0 stale=0 tried=0
for i in "${!mutants[@]}"; do
    n=$((i + 1))
    if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $n "* ]]; then continue; fi
    IFS='|' read -r file from to <<< "${mutants[$i]}"
    if ! grep -qF -- "$from" "$work/$file"; then
        echo "  $n stale: '$from' is not in $file"; stale=$((stale + 1)); continue
    fi
    cp "$work/$file" "$work/$file.orig"
    FROM="$from" TO="$to" awk 'BEGIN { from = ENVIRON["FROM"]; to = ENVIRON["TO"] }
        !done && (i = index($0, from)) { $0 = substr($0, 1, i - 1) to substr($0, i + length(from)); done = 1 }
        { print }' "$work/$file.orig" > "$work/$file"
    tried=$((tried + 1))
    # A normal run takes about 30 s; a mutant that makes the tests hang counts as caught.
    if timeout 150 make -s -C "$work" BUILD=build/mutate test > "$work/log.txt" 2>&1; then
        echo "  $n SURVIVED: $file: $from  ->  $to"; survived=$((survived + 1))
    else
        killed=$((killed + 1)); echo "  $n killed ($file)"
    fi
    mv "$work/$file.orig" "$work/$file"
done
echo "mutants: $tried tried, $killed killed, $survived survived, $stale stale; kill rate $((tried ? 100 * killed / tried : 0))%"
[ "$survived" -eq 0 ] && [ "$stale" -eq 0 ]
