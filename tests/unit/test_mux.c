/* vg_mux: link v3's channel messages (docs/protocol.md §3), byte by byte, and each refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_mux.h"

#define U(s) ((const unsigned char *)(s))

static void test_header_layout(void **state)
{
    (void)state;
    unsigned char b[VG_MUX_HDR];
    vg_mux_put_hdr(b, VG_MUX_BINARY, 0x01020304);
    const unsigned char want[] = {0x32, 1, 2, 3, 4};
    assert_memory_equal(b, want, sizeof(want));
}

static void test_open_text_binary(void **state)
{
    (void)state;
    vg_mux_msg m;
    vg_err err;
    const unsigned char open[] = "\x30\x00\x00\x00\x09vm=a&dev=b&offset=12";
    assert_int_equal(vg_mux_parse(open, sizeof(open) - 1, 1, &m, &err), VG_OK);
    assert_int_equal(m.op, VG_MUX_OPEN);
    assert_int_equal(m.chan, 9);
    assert_int_equal(m.len, strlen("vm=a&dev=b&offset=12"));
    assert_memory_equal(m.data, "vm=a&dev=b&offset=12", m.len);
    /* Only the gateway opens. */
    assert_int_equal(vg_mux_parse(open, sizeof(open) - 1, 0, &m, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    const unsigned char text[] = "\x31\xff\xff\xff\xff{}";
    assert_int_equal(vg_mux_parse(text, sizeof(text) - 1, 0, &m, &err), VG_OK);
    assert_int_equal(m.op, VG_MUX_TEXT);
    assert_true(m.chan == 0xffffffffu);
    assert_int_equal(m.len, 2);
    assert_ptr_equal(m.data, text + VG_MUX_HDR);

    const unsigned char bin[] = "\x32\x00\x00\x01\x00\x01";
    assert_int_equal(vg_mux_parse(bin, sizeof(bin) - 1, 1, &m, &err), VG_OK);
    assert_int_equal(m.op, VG_MUX_BINARY);
    assert_int_equal(m.chan, 256);
    assert_int_equal(m.len, 1);
}

static void test_close_and_credit_round_trip(void **state)
{
    (void)state;
    unsigned char b[16];
    vg_mux_msg m;
    vg_err err;
    size_t n = vg_mux_put_close(b, 77, 4004);
    assert_int_equal(n, 7);
    assert_int_equal(vg_mux_parse(b, n, 0, &m, &err), VG_OK);
    assert_int_equal(m.op, VG_MUX_CLOSE);
    assert_int_equal(m.chan, 77);
    assert_int_equal(m.code, 4004);
    n = vg_mux_put_credit(b, 78, 131072);
    assert_int_equal(n, 9);
    assert_int_equal(vg_mux_parse(b, n, 1, &m, &err), VG_OK);
    assert_int_equal(m.op, VG_MUX_CREDIT);
    assert_int_equal(m.chan, 78);
    assert_int_equal(m.credit, 131072);
    /* Credit comes from the gateway only. */
    assert_int_equal(vg_mux_parse(b, n, 0, &m, &err), VG_ERR);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x31\x00\x00\x00", 4, "no channel header"},
        {"\x31\x00\x00\x00\x00x", 6, "channel 0"},
        {"\x35\x00\x00\x00\x01x", 6, "unknown link opcode 0x35"},
        {"\x31\x00\x00\x00\x01", 5, "empty channel message"},
        {"\x30\x00\x00\x00\x01", 5, "query is empty"},
        {"\x33\x00\x00\x00\x01\x03", 6, "a close of 6 bytes"},
        {"\x33\x00\x00\x00\x01\x03\xe7", 7, "a close with code 999"},
        {"\x33\x00\x00\x00\x01\x13\x88", 7, "a close with code 5000"},
        {"\x34\x00\x00\x00\x01\x00\x00\x00\x00", 9, "a credit of 0 bytes"},
        {"\x34\x00\x00\x00\x01\x40\x00\x00\x01", 9, "a credit of 1073741825 bytes"},
        {"\x34\x00\x00\x00\x01\x00\x01", 7, "a credit of 7 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vg_mux_msg m;
        vg_err err = {0};
        assert_int_equal(vg_mux_parse(U(bad[i].bytes), bad[i].len, 1, &m, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, bad[i].why);
    }
    unsigned char open[VG_MUX_HDR + VG_MUX_QUERY_MAX + 1];
    memset(open, 'a', sizeof(open));
    vg_mux_put_hdr(open, VG_MUX_OPEN, 1);
    vg_mux_msg m;
    vg_err err;
    assert_int_equal(vg_mux_parse(open, sizeof(open), 1, &m, &err), VG_ERR);
    assert_int_equal(vg_mux_parse(open, sizeof(open) - 1, 1, &m, &err), VG_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout),
        cmocka_unit_test(test_open_text_binary),
        cmocka_unit_test(test_close_and_credit_round_trip),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
