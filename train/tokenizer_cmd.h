// tokenizer_cmd.h - `hyena tokenizer train|encode|decode`.
#ifndef HYENA_TOKENIZER_CMD_H
#define HYENA_TOKENIZER_CMD_H

int tokenizer_main(int argc, char **argv);

#endif
