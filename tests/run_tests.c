// run_tests.c - runs every suite; the last line is Check's summary.
#include <stdlib.h>

#include "../tensor/pool.h"
#include "suites.h"

void with_two_threads(void) { pool_init(2); }
void stop_threads(void) { pool_shutdown(); }

int main(void) {
    SRunner *runner = srunner_create(tensor_suite());
    srunner_add_suite(runner, matmul_suite());
    srunner_add_suite(runner, fft_suite());
    srunner_add_suite(runner, fftconv_suite());
    srunner_add_suite(runner, hyena_suite());
    srunner_add_suite(runner, safetensors_suite());
    srunner_add_suite(runner, model_suite());
    srunner_add_suite(runner, data_suite());
    srunner_add_suite(runner, train_suite());
    srunner_add_suite(runner, generate_suite());
    srunner_add_suite(runner, modal_suite());
    srunner_add_suite(runner, autograd_suite());
    srunner_add_suite(runner, reference_suite());
    srunner_add_suite(runner, cli_suite());
    srunner_add_suite(runner, output_suite());
    srunner_add_suite(runner, fuzz_suite());
    srunner_add_suite(runner, tutorials_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
