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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_rotation_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
