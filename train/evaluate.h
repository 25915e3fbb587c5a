// evaluate.h - the exact loss of a model over a whole token split, and `hyena eval`.
#ifndef HYENA_EVALUATE_H
#define HYENA_EVALUATE_H

#include "../data/corpus.h"
#include "../data/dataset.h"
#include "../data/tokenizer.h"
#include "../hyena/model.h"
#include "config.h"

typedef struct EvalResult {
    double loss;             // mean nats per predicted token
    double bits_per_token;
    double bits_per_byte;    // over the bytes the predicted tokens stand for (= per character for ASCII text)
    long tokens;
} EvalResult;

// Every token of split after the first is predicted once (data/dataset.h's validation windows,
// `batch` windows per forward pass). The tape is used for scratch and left reset.
EvalResult evaluate(const Model *m, const Tokenizer *tok, const TokenSplit *split, int batch, Tape *tape);

// A checkpoint's corpus (or the text at data, when not NULL), tokenized and split as in training.
typedef struct EvalData {
    Corpus corpus;
    int32_t *ids;
    long n;
    TokenSplit train, val, all;
} EvalData;
bool eval_data_load(EvalData *e, const TrainConfig *cfg, const char *data, Tokenizer *tok, char *err,
                    size_t err_size);
void eval_data_free(EvalData *e);

int eval_main(int argc, char **argv);

#endif
