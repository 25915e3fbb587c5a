// train.h - `hyena train`: the main job.
#ifndef HYENA_TRAIN_H
#define HYENA_TRAIN_H

int train_main(int argc, char **argv);

#endif
