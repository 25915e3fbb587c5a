// test_generate.c - cached generation gives the full forward pass's logits at every position.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../hyena/generate.h"
#include "../tensor/pool.h"
#include "suites.h"

static void check_cached_matches_full(int context, bool mixed, int order) {
    ModelConfig cfg = model_config_default(11, 16, 3, context);
    cfg.n_heads = 2;
    cfg.hyena.order = order;
    cfg.hyena.filter_order = 8;
    if (mixed) cfg.mixer[1] = MIXER_ATTENTION;
    Model m;
    model_init(&m, &cfg, 5);
    int32_t ids[64];
    Rng rng = rng_new(6);
    for (int i = 0; i < context; i++) ids[i] = (int32_t)rng_below(&rng, 11);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    tape.recording = false;
    Var *full = model_forward(&tape, &m, ids, 1, context);
    GenCache cache;
    gencache_init(&cache, &m);
    float logits[11];
    for (int t = 0; t < context; t++) {
        gencache_step(&cache, ids[t], logits);
        for (int v = 0; v < 11; v++) {
            float want = full->value.data[t * 11 + v];
            ck_assert_msg(fabsf(logits[v] - want) <= 1e-5f * (1 + fabsf(want)),
                          "context %d mixed %d order %d: position %d logit %d: cached %.8g, full %.8g", context, mixed,
                          order, t, v, logits[v], want);
        }
    }
    gencache_free(&cache);
    arena_free(&arena);
    model_free(&m);
}

START_TEST(test_cached_logits_equal_full_forward_direct_path) { check_cached_matches_full(20, false, 2); }
END_TEST
START_TEST(test_cached_logits_equal_full_forward_fft_path_order3) { check_cached_matches_full(60, false, 3); }
END_TEST
START_TEST(test_cached_logits_equal_full_forward_with_attention) { check_cached_matches_full(40, true, 2); }
END_TEST

// A cache holds `context` tokens: one more is refused (a one-line error and exit 1), never written
// past the end of the history.
START_TEST(test_a_full_cache_refuses_another_token) {
    ModelConfig cfg = model_config_default(11, 16, 2, 8);
    cfg.hyena.filter_order = 8;
    cfg.mixer[1] = MIXER_ATTENTION;
    Model m;
    model_init(&m, &cfg, 5);
    GenCache cache;
    gencache_init(&cache, &m);
    float logits[11];
    for (int t = 0; t < 8; t++) gencache_step(&cache, t % 11, logits);
    gencache_step(&cache, 0, logits);  // the ninth token: exits
}
END_TEST

Suite *generate_suite(void) {
    Suite *s = suite_create("generate");
    TCase *tc = tcase_create("generate");
    tcase_add_checked_fixture(tc, with_two_threads, stop_threads);
    tcase_add_test(tc, test_cached_logits_equal_full_forward_direct_path);
    tcase_add_test(tc, test_cached_logits_equal_full_forward_fft_path_order3);
    tcase_add_test(tc, test_cached_logits_equal_full_forward_with_attention);
    tcase_add_exit_test(tc, test_a_full_cache_refuses_another_token, 1);
    suite_add_tcase(s, tc);
    return s;
}
