#include "core/keys.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static int resolve(const char *const *names, int n, int *codes, int *count, vg_err *err)
{
    memset(err, 0, sizeof(*err));
    return gw_keys_resolve(names, n, codes, count, err);
}

static void test_names_are_linux_keycodes(void **state)
{
    (void)state;
    assert_int_equal(gw_key_code("KEY_ESC"), 1);
    assert_int_equal(gw_key_code("KEY_LEFTCTRL"), 29);
    assert_int_equal(gw_key_code("KEY_LEFTALT"), 56);
    assert_int_equal(gw_key_code("KEY_SYSRQ"), 99);
    assert_int_equal(gw_key_code("KEY_DELETE"), 111);
    assert_int_equal(gw_key_code("KEY_H"), 35);
    assert_int_equal(gw_key_code("KEY_F12"), 88);
    assert_int_equal(gw_key_code("KEY_MICMUTE"), 248);
    assert_int_equal(gw_key_code("KEY_ZZZ"), -1);
    assert_int_equal(gw_key_code("key_a"), -1);
    assert_int_equal(gw_key_code(""), -1);
}

static void test_shortcuts(void **state)
{
    (void)state;
    int codes[GW_KEYS_MAX], n = 0;
    vg_err err;
    const char *cad[] = {"ctrl-alt-del"};
    assert_int_equal(resolve(cad, 1, codes, &n, &err), VG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(codes[0], 29);
    assert_int_equal(codes[1], 56);
    assert_int_equal(codes[2], 111);
    const char *h[] = {"sysrq-h"};
    assert_int_equal(resolve(h, 1, codes, &n, &err), VG_OK);
    assert_int_equal(n, 3);
    assert_int_equal(codes[0], 56);
    assert_int_equal(codes[1], 99);
    assert_int_equal(codes[2], 35);
    const char *digit[] = {"sysrq-7"};
    assert_int_equal(resolve(digit, 1, codes, &n, &err), VG_OK);
    assert_int_equal(codes[2], 8);
}

static void test_refusals(void **state)
{
    (void)state;
    int codes[GW_KEYS_MAX], n = 0;
    vg_err err;
    assert_int_equal(resolve(NULL, 0, codes, &n, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    const char *bad[][2] = {{"KEY_NOPE", NULL},   {"sysrq-", NULL},
                            {"sysrq-H", NULL},    {"sysrq-hh", NULL},
                            {"sysrq-!", NULL},    {"KEY_A", "ctrl-alt-del"},
                            {"sysrq-h", "KEY_A"}, {"ctrl-alt-delete", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int cnt = bad[i][1] ? 2 : 1;
        assert_int_equal(resolve(bad[i], cnt, codes, &n, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "keys:"));
    }
    const char *many[GW_KEYS_MAX + 1];
    for (int i = 0; i <= GW_KEYS_MAX; i++)
        many[i] = "KEY_A";
    assert_int_equal(resolve(many, GW_KEYS_MAX + 1, codes, &n, &err), VG_ERR);
    assert_int_equal(resolve(many, GW_KEYS_MAX, codes, &n, &err), VG_OK);
    assert_int_equal(n, GW_KEYS_MAX);
    const char *brk[] = {"break"};
    assert_int_equal(resolve(brk, 1, codes, &n, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_are_linux_keycodes),
        cmocka_unit_test(test_shortcuts),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
