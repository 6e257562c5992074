/* hostd link: the arguments of GET /link/console (hd_link_console_req_parse) and the control
 * messages of a link v2 channel (hd_chanmsg_parse). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "link/chanmsg.h"
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

static int chanmsg(const char *text, hd_chanmsg *m, vg_err *err)
{
    return hd_chanmsg_parse((const unsigned char *)text, strlen(text), m, err);
}

static void test_chanmsg(void **state)
{
    (void)state;
    hd_chanmsg m;
    vg_err err = {0};
    assert_int_equal(
        chanmsg("{\"type\":\"join\",\"tag\":4294967295,\"user\":\"alice\",\"mode\":\"rw\","
                "\"take\":true,\"rec_input\":true}",
                &m, &err),
        VG_OK);
    assert_int_equal(m.type, HD_CHANMSG_JOIN);
    assert_int_equal(m.tag, 4294967295u);
    assert_string_equal(m.user, "alice");
    assert_int_equal(m.rw + m.take + m.rec_input, 3);
    assert_int_equal(chanmsg("{\"type\":\"join\",\"tag\":0,\"mode\":\"ro\"}", &m, &err), VG_OK);
    assert_string_equal(m.user, "");
    assert_int_equal(m.rw + m.take + m.rec_input, 0);
    assert_int_equal(chanmsg("{\"type\":\"leave\",\"tag\":9}", &m, &err), VG_OK);
    assert_int_equal(m.type, HD_CHANMSG_LEAVE);
    assert_int_equal(m.tag, 9);

    /* 64 bytes of user fit; 65 (here 32 characters of two bytes and one more) do not */
    char text[256];
    snprintf(text, sizeof(text), "{\"type\":\"join\",\"tag\":1,\"mode\":\"ro\",\"user\":\"%s\"}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(chanmsg(text, &m, &err), VG_OK);
    char user[80] = "x";
    for (int i = 0; i < 32; i++)
        strcat(user, "\xc3\xa9");
    snprintf(text, sizeof(text), "{\"type\":\"join\",\"tag\":1,\"mode\":\"ro\",\"user\":\"%s\"}",
             user);
    assert_int_equal(chanmsg(text, &m, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"type\":\"join\",\"tag\":1}",
        "{\"type\":\"join\",\"tag\":1,\"mode\":\"wr\"}",
        "{\"type\":\"join\",\"tag\":-1,\"mode\":\"rw\"}",
        "{\"type\":\"join\",\"tag\":1.5,\"mode\":\"rw\"}",
        "{\"type\":\"join\",\"tag\":4294967296,\"mode\":\"rw\"}",
        "{\"type\":\"join\",\"tag\":\"1\",\"mode\":\"rw\"}",
        "{\"type\":\"join\",\"tag\":1,\"mode\":\"rw\",\"user\":7}",
        "{\"type\":\"join\",\"tag\":1,\"mode\":\"rw\",\"user\":\"a\\u0001b\"}",
        "{\"type\":\"kick\",\"tag\":1}",
        "{\"tag\":1}",
        "{\"type\":\"leave\",\"tag\":1}x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        if (chanmsg(bad[i], &m, &err) != VG_ERR)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        assert_true(err.msg[0] != '\0');
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_and_defaults),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_chanmsg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
