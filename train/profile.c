// profile.c - a training step, timed part by part (profile.h).
//
// The op table comes from the tape (tape.h: TapeProfile), the pool's figures from pool_stats,
// the operation counts from tensor/flops.h. Nothing here changes what the step computes: a
// profiled step gives the same bits as an unprofiled one.
#define _POSIX_C_SOURCE 200809L
#include "profile.h"

#include <stdlib.h>
#include <string.h>

#include "../tensor/flops.h"
#include "../tensor/pool.h"
#include "cli.h"

typedef struct StepParts {
    double zero_grad, forward, backward, clip, adamw, total;   // seconds, summed over steps
} StepParts;

static int by_total_time(const void *a, const void *b) {
    const OpTimes *x = a, *y = b;
    double tx = x->forward_s + x->backward_s, ty = y->forward_s + y->backward_s;
    return (tx < ty) - (tx > ty);
}

// GFLOP/s, or a dash for ops whose work is not counted.
static void print_rate(FILE *f, double flops, double seconds) {
    if (flops > 0 && seconds > 0) fprintf(f, "  %8.1f\n", flops / seconds * 1e-9);
    else fprintf(f, "  %8s\n", "-");
}

void profile_train_steps(const ProfileStep *s, int steps, double peak_gflops, FILE *f) {
    TapeProfile prof;
    memset(&prof, 0, sizeof prof);
    StepParts parts = {0};
    s->tape->profile = &prof;
    pool_stats_enable(true);
    double flops_start = flops_count();
    for (int i = 0; i < steps; i++) {
        double t0 = cli_seconds();
        tape_reset(s->tape);
        params_zero_grad(&s->model->params);
        double t1 = cli_seconds();
        tape_profile_mark(s->tape);
        Var *logits = model_forward(s->tape, s->model, s->in, s->batch, s->context);
        Var *loss = ag_cross_entropy(s->tape, logits, s->tg, -1);
        double t2 = cli_seconds();
        ag_backward(s->tape, loss, NULL);
        double t3 = cli_seconds();
        optim_clip(&s->model->params, 1.0f);
        double t4 = cli_seconds();
        optim_step(s->opt);
        double t5 = cli_seconds();
        parts.zero_grad += t1 - t0;
        parts.forward += t2 - t1;
        parts.backward += t3 - t2;
        parts.clip += t4 - t3;
        parts.adamw += t5 - t4;
        parts.total += t5 - t0;
    }
    double flops = (flops_count() - flops_start) / steps;
    PoolStats ps = pool_stats();
    pool_stats_enable(false);
    s->tape->profile = NULL;

    double ms = 1e3 / steps, step_s = parts.total / steps;
    qsort(prof.ops, (size_t)prof.n_ops, sizeof prof.ops[0], by_total_time);
    fprintf(f, "%-16s %6s %11s %12s %7s %10s %9s\n", "per step", "calls", "forward ms", "backward ms", "share",
            "serial ms", "GFLOP/s");
    for (int i = 0; i < prof.n_ops; i++) {
        const OpTimes *o = &prof.ops[i];
        double op_s = o->forward_s + o->backward_s;
        fprintf(f, "%-16s %6.0f %11.2f %12.2f %6.1f%% %10.2f", o->op, (double)o->calls / steps, o->forward_s * ms,
                o->backward_s * ms, 100 * op_s / parts.total, o->serial_s * ms);
        print_rate(f, o->forward_flops + o->backward_flops, op_s);
    }
    const struct {
        const char *name;
        double s;
    } rest[] = {{"zero_grad", parts.zero_grad}, {"clip", parts.clip}, {"adamw", parts.adamw}};
    for (int i = 0; i < 3; i++)
        fprintf(f, "%-16s %6s %11s %12.2f %6.1f%% %10s  %8s\n", rest[i].name, "", "", rest[i].s * ms,
                100 * rest[i].s / parts.total, "", "-");
    fprintf(f, "%-16s %6s %11.2f %12.2f %6.1f%% %10s", "step", "", parts.forward * ms, parts.backward * ms, 100.0, "");
    print_rate(f, flops, step_s);

    // The pool, per step. With one thread there are no workers and every second is serial.
    int threads = pool_threads();
    double caller_parallel = ps.caller_jobs_s - ps.caller_wait_s, serial = parts.total - ps.caller_jobs_s;
    fprintf(f, "pool: %d thread%s, %.0f parallel jobs per step", threads, threads == 1 ? "" : "s",
            (double)ps.jobs / steps);
    if (ps.jobs_alone > 0)
        fprintf(f, ", %.0f run by the caller alone after a late worker", (double)ps.jobs_alone / steps);
    fprintf(f, "\n");
    if (threads > 1) {
        fprintf(f, "  caller: %.2f ms running chunks, %.2f ms waiting for workers, %.2f ms serial (workers idle)\n",
                caller_parallel * ms, ps.caller_wait_s * ms, serial * ms);
        fprintf(f, "  workers: busy %.0f%% of the step (%.2f ms per worker)\n",
                100 * ps.worker_busy_s / (threads - 1) / parts.total, ps.worker_busy_s / (threads - 1) * ms);
    }
    fprintf(f, "achieved: %.2f GFLOP per step (matmul and FFT), %.1f GFLOP/s", flops * 1e-9, flops / step_s * 1e-9);
    if (peak_gflops > 0)
        fprintf(f, " = %.1f%% of the %d-thread FMA peak (%.0f GFLOP/s)", 100 * flops / step_s * 1e-9 / peak_gflops,
                threads, peak_gflops);
    fprintf(f, "\n");
}
