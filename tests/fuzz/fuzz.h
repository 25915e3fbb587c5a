// fuzz.h - the fuzz targets: one per kind of input a user can hand hyena.c.
//
// Each takes arbitrary bytes and must neither crash, hang, leak nor trip a sanitizer, whatever
// they are; where the input is accepted, it also checks that the result works (what is parsed
// round-trips), and calls abort() if not, which a fuzzer reports like a crash.
//   make fuzz                      each target under libFuzzer (clang, AddressSanitizer and
//                                  UndefinedBehaviorSanitizer) for FUZZ_SECONDS
//   tests/test_fuzz.c              every input saved under tests/fuzz/corpus/<target>/ (the seeds,
//                                  and each input that ever crashed), in every `make test`
#ifndef HYENA_FUZZ_H
#define HYENA_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int fuzz_json(const uint8_t *data, size_t size);         // train/json.c: safetensors headers
int fuzz_safetensors(const uint8_t *data, size_t size);  // train/safetensors.c: any .safetensors
int fuzz_checkpoint(const uint8_t *data, size_t size);   // train/checkpoint.c: --resume, --ckpt
int fuzz_bpe_file(const uint8_t *data, size_t size);     // data/bpe.c: --tokenizer bpe:FILE
int fuzz_encode(const uint8_t *data, size_t size);       // BPE and char encoding of any bytes
int fuzz_corpus(const uint8_t *data, size_t size);       // --data FILE: loaded, tokenized, split

#endif
