/* logtail: offsets of a rotating chardev log, followed live and across a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console/logtail.h"

static char got[256];
static uint64_t got_at[256];
static size_t ngot;

static void on_data(void *ud, uint64_t offset, const unsigned char *p, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n && ngot < sizeof(got); i++) {
        got_at[ngot] = offset + i;
        got[ngot++] = (char)p[i];
    }
}

static void append(const char *path, const char *s)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

static void test_follow_rotation_and_restart(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-test-logtail-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[128], old[140];
    snprintf(log, sizeof(log), "%s/com-vm.log", dir);
    snprintf(old, sizeof(old), "%s.0", log);
    struct ev_loop *loop = ev_default_loop(0);
    logtail_cbs cbs = {.on_data = on_data};
    console_state st = {0};
    vg_err err;

    append(log, "abc");
    logtail *lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(hd_logtail_history_start(lt, 2), 1);
    hd_logtail_start(lt, 0);
    assert_int_equal(ngot, 3);
    append(log, "def");
    hd_logtail_poll(lt);
    assert_int_equal(ngot, 6);
    assert_int_equal(got_at[5], 5);

    /* virtlogd rotates: a late write still lands in the renamed file, then the new one starts */
    assert_int_equal(rename(log, old), 0);
    append(old, "ghi");
    append(log, "jkl");
    hd_logtail_poll(lt);
    assert_int_equal(ngot, 12);
    assert_memory_equal(got, "abcdefghijkl", 12);
    for (size_t i = 0; i < 12; i++)
        assert_int_equal(got_at[i], i);
    assert_int_equal(st.base, 9);
    assert_int_equal(hd_logtail_end(lt), 12);
    hd_logtail_free(lt);

    /* While nobody follows: more output, another rotation, more output. */
    append(log, "mno");
    assert_int_equal(unlink(old), 0);
    assert_int_equal(rename(log, old), 0);
    append(log, "pqr");
    lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(st.base, 15);
    assert_int_equal(hd_logtail_end(lt), 18);
    hd_logtail_start(lt, 15);
    assert_int_equal(ngot, 15);
    assert_memory_equal(got + 12, "pqr", 3);
    assert_int_equal(got_at[12], 15);

    /* Truncation in place continues the offsets instead of repeating them. */
    FILE *f = fopen(log, "wb");
    fclose(f);
    append(log, "s");
    hd_logtail_poll(lt);
    assert_int_equal(ngot, 16);
    assert_int_equal(got_at[15], 18);
    hd_logtail_free(lt);

    /* The log is gone while nobody follows (VM redefined elsewhere): nothing to replay, and a
     * new file continues the stream where it stood. */
    unlink(log);
    uint64_t end = st.end;
    lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(hd_logtail_history_start(lt, 1000), end);
    hd_logtail_start(lt, end);
    append(log, "t");
    hd_logtail_poll(lt);
    assert_int_equal(ngot, 17);
    assert_int_equal(got_at[16], end);
    hd_logtail_free(lt);

    unlink(log);
    unlink(old);
    rmdir(dir);
}

/* Issue 9: after a restart the ring held less than ring_size because only the current file was
 * read; the history reaches back into the rotated file (.0), but only the one that was rotated
 * away from this stream. */
static void test_refill_across_rotation(void **state)
{
    (void)state;
    char dir[] = "/tmp/vg-test-logtail-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char log[128], old[140], tmp[140];
    snprintf(log, sizeof(log), "%s/com-vm.log", dir);
    snprintf(old, sizeof(old), "%s.0", log);
    snprintf(tmp, sizeof(tmp), "%s.tmp", log);
    struct ev_loop *loop = ev_default_loop(0);
    logtail_cbs cbs = {.on_data = on_data};
    console_state st = {0};
    vg_err err;

    /* Rotated while we follow, then a restart. */
    append(log, "0123456789");
    logtail *lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    hd_logtail_start(lt, 0);
    assert_int_equal(rename(log, old), 0);
    append(log, "abcd");
    hd_logtail_poll(lt);
    assert_int_equal(st.base, 10);
    assert_int_not_equal(st.prev, 0);
    hd_logtail_free(lt);

    ngot = 0;
    lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(hd_logtail_history_start(lt, 100), 0); /* all of .0 and the current file */
    assert_int_equal(hd_logtail_history_start(lt, 8), 6);
    assert_int_equal(hd_logtail_history_start(lt, 3), 11); /* the current file alone suffices */
    hd_logtail_start(lt, 6);
    assert_int_equal(ngot, 8);
    assert_memory_equal(got, "6789abcd", 8);
    for (size_t i = 0; i < ngot; i++)
        assert_int_equal(got_at[i], 6 + i);
    hd_logtail_free(lt);

    /* Rotated while nobody follows: the file we knew is .0 now. */
    append(log, "ef");
    assert_int_equal(rename(log, old), 0);
    append(log, "gh");
    ngot = 0;
    lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(st.base, 16);
    assert_int_equal(hd_logtail_history_start(lt, 5), 13);
    hd_logtail_start(lt, 13);
    assert_int_equal(ngot, 5);
    assert_memory_equal(got, "defgh", 5);
    assert_int_equal(got_at[0], 13);
    hd_logtail_free(lt);

    /* A new log while nobody follows (VM defined anew): the old .0 is not this stream's past. */
    append(tmp, "zz");
    assert_int_equal(rename(tmp, log), 0);
    lt = hd_logtail_new(loop, log, &st, &cbs, &err);
    assert_non_null(lt);
    assert_int_equal(st.prev, 0);
    assert_int_equal(hd_logtail_history_start(lt, 100), 18);
    hd_logtail_free(lt);

    unlink(log);
    unlink(old);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_rotation_and_restart),
        cmocka_unit_test(test_refill_across_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
