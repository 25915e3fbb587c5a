// filters_cmd.h - `hyena filters`: a trained model's long filters, drawn as SVG.
#ifndef HYENA_FILTERS_CMD_H
#define HYENA_FILTERS_CMD_H

int filters_main(int argc, char **argv);

#endif
