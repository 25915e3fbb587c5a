// fuzz_checkpoint.c - the checkpoint loader on any file, as `train --resume` (model, optimizer
// and state) and as `sample` and `eval` (the model alone) read it. What loads must run: one
// forward pass over a few tokens.
#include <stdlib.h>

#include "../../autograd/tape.h"
#include "../../tensor/pool.h"
#include "../../train/checkpoint.h"
#include "fuzz.h"
#include "scratch_file.h"

static void forward_once(const Model *m, int vocab) {
    static int pool_started = 0;
    if (!pool_started) {
        pool_init(1);  // one thread: a fuzzer runs many processes side by side
        pool_started = 1;
    }
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    int T = m->cfg.context < 4 ? m->cfg.context : 4;
    int32_t ids[4] = {0, vocab - 1, 0, vocab - 1};
    model_forward(&tape, m, ids, 1, T);
    arena_free(&arena);
}

int fuzz_checkpoint(const uint8_t *data, size_t size) {
    const char *path = fuzz_scratch_file(data, size);
    TrainConfig cfg;
    Model model;
    Tokenizer tok;
    Optimizer opt;
    TrainState state;
    char err[400];
    if (checkpoint_load(path, &cfg, &model, &tok, &opt, &state, err, sizeof err)) {
        forward_once(&model, model.cfg.vocab_size);
        optim_free(&opt);
        model_free(&model);
        tokenizer_free(&tok);
    }
    if (checkpoint_load(path, &cfg, &model, &tok, NULL, NULL, err, sizeof err)) {
        model_free(&model);
        tokenizer_free(&tok);
    }
    return 0;
}
