/* gateway kdf: the password check pool — bounded jobs, results on the loop, in order, never
 * from inside the call that queued them, and a stop that answers every job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ev.h>
#include <string.h>

#include "core/auth.h"
#include "core/kdf.h"

#define NJOBS 3

typedef struct seen {
    int n;
    int match[8];
    int order[8];
} seen;

typedef struct tag {
    seen *s;
    int id;
} tag;

static void record(int match, void *priv)
{
    tag *t = priv;
    t->s->match[t->id] = match;
    t->s->order[t->s->n++] = t->id;
}

static char hash[GW_PWHASH_MAX];

static int setup(void **state)
{
    (void)state;
    vg_err err;
    return gw_auth_hash_password("right", hash, sizeof(hash), &err) == VG_OK ? 0 : -1;
}

/* Runs the loop until want results arrived (each check is ~40 ms; 20 s is a hang). */
static void run_until(struct ev_loop *loop, const seen *s, int want)
{
    ev_tstamp t0 = ev_time();
    while (s->n < want && ev_time() - t0 < 20)
        ev_run(loop, EVRUN_ONCE);
    assert_int_equal(s->n, want);
}

static void test_bound_and_results(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    vg_err err;
    gw_kdf *k = gw_kdf_new(loop, 2, NJOBS, &err);
    assert_non_null(k);

    gw_kdf_job *j[NJOBS + 1];
    for (int i = 0; i < NJOBS; i++)
        assert_non_null(j[i] = gw_kdf_reserve(k));
    assert_null(gw_kdf_reserve(k)); /* the bound: busy, not queued */
    gw_kdf_release(j[2]);
    assert_non_null(j[2] = gw_kdf_reserve(k));

    seen s = {0};
    tag t[NJOBS] = {{&s, 0}, {&s, 1}, {&s, 2}};
    char long_pw[GW_KDF_PASSWORD_MAX + 2];
    memset(long_pw, 'x', sizeof(long_pw) - 1);
    long_pw[sizeof(long_pw) - 1] = '\0';
    gw_kdf_verify(j[0], hash, "right", record, &t[0]);
    gw_kdf_verify(j[1], hash, "wrong", record, &t[1]);
    gw_kdf_verify(j[2], hash, long_pw, record, &t[2]);
    assert_int_equal(s.n, 0);       /* results come from the loop, later */
    assert_null(gw_kdf_reserve(k)); /* queued and running jobs still count */
    run_until(loop, &s, NJOBS);
    assert_int_equal(s.match[0], 1);
    assert_int_equal(s.match[1], 0);
    assert_int_equal(s.match[2], 0); /* too long to be checked: never a match */

    /* Delivered jobs are free again. */
    for (int i = 0; i < NJOBS; i++)
        assert_non_null(j[i] = gw_kdf_reserve(k));
    for (int i = 0; i < NJOBS; i++)
        gw_kdf_release(j[i]);
    gw_kdf_free(k);
    ev_loop_destroy(loop);
}

static void test_one_thread_keeps_order(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    vg_err err;
    gw_kdf *k = gw_kdf_new(loop, 1, 4, &err);
    assert_non_null(k);
    seen s = {0};
    tag t[4] = {{&s, 0}, {&s, 1}, {&s, 2}, {&s, 3}};
    for (int i = 0; i < 4; i++)
        gw_kdf_verify(gw_kdf_reserve(k), hash, i % 2 ? "right" : "no", record, &t[i]);
    run_until(loop, &s, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s.order[i], i);
        assert_int_equal(s.match[i], i % 2);
    }
    gw_kdf_free(k);
    ev_loop_destroy(loop);
}

/* A stop answers every queued or finished check with -1, while the caller can still use what
 * the callbacks need; a job reserved before the stop may be queued after it and is answered by
 * gw_kdf_free. */
static void test_stop_answers_everything(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    vg_err err;
    gw_kdf *k = gw_kdf_new(loop, 1, 4, &err);
    assert_non_null(k);
    seen s = {0};
    tag t[4] = {{&s, 0}, {&s, 1}, {&s, 2}, {&s, 3}};
    gw_kdf_job *late = gw_kdf_reserve(k);
    gw_kdf_job *released = gw_kdf_reserve(k);
    for (int i = 0; i < 2; i++)
        gw_kdf_verify(gw_kdf_reserve(k), hash, "right", record, &t[i]);
    gw_kdf_stop(k);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.match[0], -1);
    assert_int_equal(s.match[1], -1);
    gw_kdf_release(released);
    gw_kdf_verify(late, hash, "right", record, &t[2]);
    assert_int_equal(s.n, 2);
    gw_kdf_free(k);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.match[2], -1);
    ev_loop_destroy(loop);
}

static void test_bad_sizes(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    vg_err err;
    assert_null(gw_kdf_new(loop, 0, 4, &err));
    assert_null(gw_kdf_new(loop, 4, 2, &err));
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bound_and_results),
        cmocka_unit_test(test_one_thread_keeps_order),
        cmocka_unit_test(test_stop_answers_everything),
        cmocka_unit_test(test_bad_sizes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
