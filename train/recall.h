// recall.h - `hyena recall`: train on a synthetic in-context recall task, report test accuracy.
#ifndef HYENA_RECALL_H
#define HYENA_RECALL_H

int recall_main(int argc, char **argv);

#endif
