// suites.h - one Check suite per module; run_tests.c runs them all.
#ifndef HYENA_TEST_SUITES_H
#define HYENA_TEST_SUITES_H

#include <check.h>

Suite *tensor_suite(void);
Suite *matmul_suite(void);
Suite *fft_suite(void);
Suite *fftconv_suite(void);
Suite *hyena_suite(void);
Suite *safetensors_suite(void);
Suite *model_suite(void);
Suite *data_suite(void);
Suite *train_suite(void);
Suite *generate_suite(void);
Suite *modal_suite(void);
Suite *autograd_suite(void);
Suite *reference_suite(void);
Suite *cli_suite(void);
Suite *output_suite(void);
Suite *fuzz_suite(void);
Suite *tutorials_suite(void);

// A checked fixture: a 2-thread pool in the (forked) test process, so every kernel under test
// really runs on two threads.
void with_two_threads(void);
void stop_threads(void);

#endif
