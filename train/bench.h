// bench.h - `hyena bench NAME`: kernels timed, one JSON object per line.
#ifndef HYENA_BENCH_H
#define HYENA_BENCH_H

int bench_main(int argc, char **argv);

#endif
