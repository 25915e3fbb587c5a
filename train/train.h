// train.h - `hyena train`: the main job.
#ifndef HYENA_TRAIN_H
#define HYENA_TRAIN_H

// Files are written as NAME.tmp, then renamed (train/fileio.c), so a run killed mid-write leaves
// the .tmp behind. A run removes those of the files it writes from its --out directory when it
// starts (and says so), and nothing else.
void train_remove_stale_temp_files(const char *dir);

int train_main(int argc, char **argv);

#endif
