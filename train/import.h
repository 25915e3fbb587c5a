// import.h - `hyena import`: weights trained elsewhere (a PyTorch state dict saved as safetensors,
// under the reference's names) become a hyena.c checkpoint that eval, sample and train --resume take.
#ifndef HYENA_IMPORT_H
#define HYENA_IMPORT_H

int import_main(int argc, char **argv);

#endif
