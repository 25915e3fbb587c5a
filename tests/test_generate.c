// test_generate.c - cached generation gives the full forward pass's logits at every position.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hyena/generate.h"
#include "../tensor/pool.h"
#include "suites.h"

// Feeds `context` random tokens one at a time through gencache (in the mode gencache_init picks
// for m) and checks every position's logits against one full forward pass, within tol relative.
static void assert_steps_match_forward(const Model *m, int context, GenMode mode, float tol, const char *what) {
    int32_t ids[128];
    Rng rng = rng_new(6);
    for (int i = 0; i < context; i++) ids[i] = (int32_t)rng_below(&rng, 11);
    Arena arena;
    arena_init(&arena, 0);
    Tape tape;
    tape_init(&tape, &arena);
    tape.recording = false;
    Var *full = model_forward(&tape, m, ids, 1, context);
    GenCache cache;
    gencache_init(&cache, m);
    ck_assert_int_eq(cache.mode, mode);
    float logits[11];
    for (int t = 0; t < context; t++) {
        gencache_step(&cache, ids[t], logits);
        for (int v = 0; v < 11; v++) {
            float want = full->value.data[t * 11 + v];
            ck_assert_msg(fabsf(logits[v] - want) <= tol * (1 + fabsf(want)), "%s: position %d logit %d: %.8g, full %.8g",
                          what, t, v, logits[v], want);
        }
    }
    gencache_free(&cache);
    arena_free(&arena);
}

static void check_cached_matches_full(int context, bool mixed, int order) {
    ModelConfig cfg = model_config_default(11, 16, 3, context);
    cfg.n_heads = 2;
    cfg.hyena.order = order;
    cfg.hyena.filter_order = 8;
    if (mixed) cfg.mixer[1] = MIXER_ATTENTION;
    Model m;
    model_init(&m, &cfg, 5);
    char what[64];
    snprintf(what, sizeof what, "cached, context %d mixed %d order %d", context, mixed, order);
    assert_steps_match_forward(&m, context, GEN_CACHED, 1e-5f, what);
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

// A distilled model with random modes (|λ| from 0.5 to 0.97): what hyena distill writes.
static void distilled_model(Model *m, int context, int order, int d) {
    ModelConfig cfg = model_config_default(11, 16, 3, context);
    cfg.hyena.order = order;
    cfg.hyena.filter_order = 8;
    cfg.hyena.modal_order = d;
    model_init(m, &cfg, 5);
    Rng rng = rng_new(9);
    for (int i = 0; i < cfg.n_layers; i++) {
        HyenaFilter *f = &m->blocks[i].hyena.filter;
        for (size_t k = 0; k < f->poles->value.size / 2; k++) {
            double r = 0.5 + 0.47 * rng_uniform(&rng), a = 3.1 * rng_uniform(&rng);
            f->poles->value.data[2 * k] = (float)(r * cos(a));
            f->poles->value.data[2 * k + 1] = (float)(r * sin(a));
        }
        rng_fill_uniform(&rng, f->residues->value.data, (long)f->residues->value.size, -0.3f, 0.3f);
    }
}

// The recurrence gives the logits of the distilled model's full forward pass (FFT convolutions
// with the modal filters) at every position, within 2e-5 of their scale.
static void check_recurrent_matches_full(int context, int order) {
    Model m;
    distilled_model(&m, context, order, 4);
    char what[64];
    snprintf(what, sizeof what, "recurrent, order %d", order);
    assert_steps_match_forward(&m, context, GEN_RECURRENT, 2e-5f, what);
    model_free(&m);
}

START_TEST(test_recurrent_logits_equal_full_forward_of_distilled_model) { check_recurrent_matches_full(100, 2); }
END_TEST
START_TEST(test_recurrent_logits_equal_full_forward_of_distilled_model_order3) { check_recurrent_matches_full(70, 3); }
END_TEST

// Prefill by FFT (one batched pass, states as sums) equals prefill by the recurrence (one token at
// a time): the same states, the same logits after the prompt and after further tokens.
static void check_prefill_matches_steps(GenMode mode) {
    Model m;
    distilled_model(&m, 90, 2, 3);
    int32_t ids[90];
    Rng rng = rng_new(7);
    for (int i = 0; i < 90; i++) ids[i] = (int32_t)rng_below(&rng, 11);
    GenCache fast, slow;
    gencache_init_mode(&fast, &m, mode);
    gencache_init_mode(&slow, &m, mode);
    float a[11], b[11];
    gencache_prefill(&fast, ids, 60, a);
    for (int t = 0; t < 60; t++) gencache_step(&slow, ids[t], b);
    ck_assert_int_eq(fast.t, 60);
    for (int t = 60; t <= 90; t++) {
        for (int v = 0; v < 11; v++)
            ck_assert_msg(fabsf(a[v] - b[v]) <= 2e-5f * (1 + fabsf(b[v])), "mode %d, after %d tokens, logit %d: %.8g vs %.8g",
                          mode, t, v, a[v], b[v]);
        if (t == 90) break;
        gencache_step(&fast, ids[t], a);
        gencache_step(&slow, ids[t], b);
    }
    if (mode == GEN_RECURRENT) {
        size_t n = (size_t)m.cfg.d_model * 3 * 2;
        for (int i = 0; i < m.cfg.n_layers; i++)
            for (size_t k = 0; k < n; k++)
                ck_assert_msg(fabsf(fast.layers[i].state[k] - slow.layers[i].state[k]) <= 1e-4f *
                                  (1 + fabsf(slow.layers[i].state[k])),
                              "layer %d state %zu: %g vs %g", i, k, fast.layers[i].state[k], slow.layers[i].state[k]);
    }
    gencache_free(&fast);
    gencache_free(&slow);
    model_free(&m);
}

START_TEST(test_prefill_by_fft_equals_prefill_by_recurrence) { check_prefill_matches_steps(GEN_RECURRENT); }
END_TEST
START_TEST(test_cached_prefill_equals_token_by_token_feeding) { check_prefill_matches_steps(GEN_CACHED); }
END_TEST

// Without attention, the recurrence has no context limit, and its memory does not grow.
START_TEST(test_recurrent_generation_goes_past_the_context_in_fixed_memory) {
    Model m;
    distilled_model(&m, 16, 2, 4);
    GenCache cache;
    gencache_init(&cache, &m);
    size_t bytes = gencache_bytes(&cache);
    ck_assert_uint_eq(bytes, 3 * (size_t)16 * 4 * 2 * sizeof(float));  // layers x D x d x (re, im)
    float logits[11];
    for (int t = 0; t < 200; t++) {
        gencache_step(&cache, t % 11, logits);
        for (int v = 0; v < 11; v++) ck_assert(isfinite(logits[v]));
    }
    ck_assert_int_eq(cache.t, 200);
    ck_assert_uint_eq(gencache_bytes(&cache), bytes);
    gencache_free(&cache);
    model_free(&m);
}
END_TEST

// After gencache_reset the recurrence starts from zero states: the same tokens give the same logits.
START_TEST(test_a_reset_recurrent_cache_starts_again_from_zero) {
    Model m;
    distilled_model(&m, 16, 2, 4);
    GenCache cache;
    gencache_init(&cache, &m);
    float first[11], again[11];
    gencache_step(&cache, 3, first);
    for (int t = 0; t < 20; t++) gencache_step(&cache, t % 11, again);
    gencache_reset(&cache);
    gencache_step(&cache, 3, again);
    ck_assert_mem_eq(first, again, sizeof first);
    gencache_free(&cache);
    model_free(&m);
}
END_TEST

START_TEST(test_recurrent_mode_refuses_a_model_that_is_not_distilled) {
    ModelConfig cfg = model_config_default(11, 16, 1, 8);
    cfg.hyena.filter_order = 8;
    Model m;
    model_init(&m, &cfg, 5);
    GenCache cache;
    gencache_init_mode(&cache, &m, GEN_RECURRENT);  // exits 1
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
    tcase_add_test(tc, test_recurrent_logits_equal_full_forward_of_distilled_model);
    tcase_add_test(tc, test_recurrent_logits_equal_full_forward_of_distilled_model_order3);
    tcase_add_test(tc, test_prefill_by_fft_equals_prefill_by_recurrence);
    tcase_add_test(tc, test_cached_prefill_equals_token_by_token_feeding);
    tcase_add_test(tc, test_recurrent_generation_goes_past_the_context_in_fixed_memory);
    tcase_add_test(tc, test_a_reset_recurrent_cache_starts_again_from_zero);
    tcase_add_exit_test(tc, test_recurrent_mode_refuses_a_model_that_is_not_distilled, 1);
    suite_add_tcase(s, tc);
    return s;
}
