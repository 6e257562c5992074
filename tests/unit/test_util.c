/* vg_util: random tokens, constant-time comparison, name validation, clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_util.h"

static void test_random_hex_length_and_charset(void **state)
{
    (void)state;
    char out[129];
    for (size_t n = 0; n <= 64; n += 8) {
        memset(out, 'X', sizeof(out));
        assert_int_equal(vg_random_hex(out, n), VG_OK);
        assert_int_equal(strlen(out), 2 * n);
        assert_int_equal(strspn(out, "0123456789abcdef"), 2 * n);
    }
    /* more than 64 bytes is refused rather than truncated */
    assert_int_equal(vg_random_hex(out, 65), VG_ERR);
}

static void test_random_hex_differs(void **state)
{
    (void)state;
    char a[65], b[65];
    assert_int_equal(vg_random_hex(a, 32), VG_OK);
    assert_int_equal(vg_random_hex(b, 32), VG_OK);
    assert_string_not_equal(a, b);
    /* every hex digit shows up across a few kilobytes of output */
    int seen[16] = {0};
    for (int round = 0; round < 64; round++) {
        assert_int_equal(vg_random_hex(a, 32), VG_OK);
        for (int i = 0; i < 64; i++)
            seen[a[i] <= '9' ? a[i] - '0' : a[i] - 'a' + 10] = 1;
    }
    for (int i = 0; i < 16; i++)
        assert_true(seen[i]);
}

static void test_const_eq(void **state)
{
    (void)state;
    assert_true(vg_const_eq("", ""));
    assert_true(vg_const_eq("secret", "secret"));
    assert_false(vg_const_eq("secret", "secreT"));
    assert_false(vg_const_eq("secret", "Secret"));
    assert_false(vg_const_eq("secret", "secret2"));
    assert_false(vg_const_eq("secret2", "secret"));
    assert_false(vg_const_eq("", "a"));
    assert_false(vg_const_eq("a", ""));
    /* a prefix repeated to the same length must not compare equal */
    assert_false(vg_const_eq("abab", "ab"));
    assert_false(vg_const_eq("aaaa", "a"));
}

static void test_valid_name(void **state)
{
    (void)state;
    assert_true(vg_valid_name("demo1"));
    assert_true(vg_valid_name("a"));
    assert_true(vg_valid_name("vgt-ctl_2.test"));
    assert_true(vg_valid_name("_x"));
    assert_true(vg_valid_name("0"));
    assert_false(vg_valid_name(""));
    assert_false(vg_valid_name(".hidden"));
    assert_false(vg_valid_name("-flag"));
    assert_false(vg_valid_name("a b"));
    assert_false(vg_valid_name("a/b"));
    assert_false(vg_valid_name("a:b"));
    assert_false(vg_valid_name("a*"));
    assert_false(vg_valid_name("caf\xc3\xa9"));
    assert_false(vg_valid_name("new\nline"));
    char name[66];
    memset(name, 'n', sizeof(name));
    name[64] = '\0';
    assert_true(vg_valid_name(name)); /* 64 characters */
    name[64] = 'n';
    name[65] = '\0';
    assert_false(vg_valid_name(name)); /* 65 characters */
}

static void test_clocks(void **state)
{
    (void)state;
    int64_t now = vg_now_ms();
    assert_true(now > INT64_C(1600000000000)); /* after 2020 */
    int64_t a = vg_mono_ms(), b = vg_mono_ms();
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_hex_length_and_charset),
        cmocka_unit_test(test_random_hex_differs),
        cmocka_unit_test(test_const_eq),
        cmocka_unit_test(test_valid_name),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
