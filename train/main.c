// main.c - the `hyena` command: one binary, one subcommand per job.
#include <stdio.h>
#include <string.h>

#include "../tensor/pool.h"
#include "bench.h"
#include "build_info.h"
#include "check_reference.h"
#include "distill.h"
#include "evaluate.h"
#include "filters_cmd.h"
#include "import.h"
#include "recall.h"
#include "sample.h"
#include "tokenizer_cmd.h"
#include "train.h"

static void usage(FILE *f) {
    fprintf(f,
            "hyena - train, run and inspect Hyena language models on a CPU\n"
            "usage: hyena COMMAND [options]   (hyena COMMAND --help for its options)\n"
            "commands:\n"
            "  train             train a language model (hyena train --help; no flags: a small model on\n"
            "                    the embedded corpus)\n"
            "  eval              exact loss of a checkpoint over a whole split\n"
            "  sample            generate text from a checkpoint, streamed\n"
            "  recall            train on a synthetic recall task; test accuracy for Hyena and attention\n"
            "  bench NAME        time a kernel; prints JSON lines (hyena bench --help lists them)\n"
            "  check-reference F reproduce a PyTorch reference run of the Hyena operator\n"
            "  import            make a checkpoint from a PyTorch state dict (hyena import --help)\n"
            "  distill           replace a checkpoint's long filters by small recurrences (hyena distill --help)\n"
            "  filters           draw a checkpoint's long filters, spectra and windows as SVG\n"
            "  tokenizer CMD     train, encode or decode with a byte-level BPE tokenizer\n"
            "  help              this text\n"
            "  --version         the compiler, flags and vector ISA this binary was built with\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("hyena.c, built with %s\n", build_info());
        return 0;
    }
    if (strcmp(cmd, "bench") == 0) {
        int rc = bench_main(argc - 2, argv + 2);
        pool_shutdown();
        return rc;
    }
    if (strcmp(cmd, "check-reference") == 0) {
        int rc = check_reference_main(argc - 2, argv + 2);
        pool_shutdown();
        return rc;
    }
    if (strcmp(cmd, "tokenizer") == 0) return tokenizer_main(argc - 2, argv + 2);
    int rc = -1;
    if (strcmp(cmd, "train") == 0) rc = train_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "eval") == 0) rc = eval_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "sample") == 0) rc = sample_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "recall") == 0) rc = recall_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "import") == 0) rc = import_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "filters") == 0) rc = filters_main(argc - 2, argv + 2);
    else if (strcmp(cmd, "distill") == 0) rc = distill_main(argc - 2, argv + 2);
    if (rc >= 0) {
        pool_shutdown();
        return rc;
    }
    fprintf(stderr, "hyena: unknown command '%s' (see hyena --help)\n", cmd);
    return 2;
}
