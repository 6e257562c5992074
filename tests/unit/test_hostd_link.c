/* hostd link: the arguments of GET /link/console (hd_link_console_req_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "link/endpoint.h"

static int parse(const char *q, link_console_req *r, vg_err *err)
{
    return hd_link_console_req_parse(q, strlen(q), r, err);
}

static void test_full_and_defaults(void **state)
{
    (void)state;
    link_console_req r;
    vg_err err;
    assert_int_equal(
        parse("vm=vgt-a&dev=console1&mode=ro&user=alice&offset=42&take=1&extra=x", &r, &err),
        VG_OK);
    assert_string_equal(r.vm, "vgt-a");
    assert_string_equal(r.dev, "console1");
    assert_string_equal(r.user, "alice");
    assert_string_equal(r.offset, "42");
    assert_int_equal(r.rw, 0);
    assert_int_equal(r.take, 1);

    assert_int_equal(parse("vm=vgt-a", &r, &err), VG_OK);
    assert_string_equal(r.dev, "serial0");
    assert_string_equal(r.offset, "");
    assert_int_equal(r.rw, 1);
    assert_int_equal(r.take, 0);
    assert_int_equal(parse("vm=vgt-a&mode=&dev=", &r, &err), VG_OK);
    assert_int_equal(r.rw, 1);
    assert_string_equal(r.dev, "serial0");
}

static void test_refusals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "dev=serial0",
        "vm=",
        "vm=../x",
        "vm=a b",
        "vm=vgt-a&dev=a/b",
        "vm=vgt-a&mode=wr",
        "vm=vgt-a&mode=rwx",
        "vm=vgt-a&take=yes",
        "vm=vgt-a&take=",
        "vm=vgt-a&offset=123456789012345678901234567890",
        "vm=vgt-a&user=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        link_console_req r;
        vg_err err = {0};
        assert_int_equal(parse(bad[i], &r, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_true(err.msg[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_and_defaults),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
