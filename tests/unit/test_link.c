/* vg_link: the frames of the multiplexed gateway <-> hostd link (docs/protocol.md §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vg_frame.h"
#include "vg_link.h"

static size_t frame(unsigned char *b, int type, uint32_t ch, const void *p, size_t n)
{
    vg_link_hdr(b, type, ch);
    memcpy(b + VG_LINK_HDR, p, n);
    return VG_LINK_HDR + n;
}

static void test_header_layout(void **state)
{
    (void)state;
    unsigned char b[VG_LINK_HDR];
    vg_link_hdr(b, VG_LINK_OUTPUT, 0x01020304);
    const unsigned char want[] = {0x04, 1, 2, 3, 4};
    assert_memory_equal(b, want, sizeof(want));
}

static void test_output_and_gap(void **state)
{
    (void)state;
    unsigned char b[64], p[24];
    vg_link_frame f;
    vg_err err;
    vg_frame_put_u64(p, 1000);
    memcpy(p + 8, "abc", 3);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_OUTPUT, 7, p, 11), &f, &err), VG_OK);
    assert_int_equal(f.type, VG_LINK_OUTPUT);
    assert_int_equal(f.channel, 7);
    assert_true(f.offset == 1000);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.data, "abc", 3);
    vg_frame_put_u64(p + 8, 2000);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_GAP, 7, p, 16), &f, &err), VG_OK);
    assert_true(f.offset == 1000 && f.to == 2000);
    /* A GAP that ends where it starts, or before, is no GAP. */
    vg_frame_put_u64(p + 8, 1000);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_GAP, 7, p, 16), &f, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

static void test_channels(void **state)
{
    (void)state;
    unsigned char b[64];
    vg_link_frame f;
    vg_err err;
    /* RPC lives on channel 0 and nowhere else; console frames never on 0. */
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_RPC, 0, "{}", 2), &f, &err), VG_OK);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_RPC, 3, "{}", 2), &f, &err), VG_ERR);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CONTROL, 0, "{}", 2), &f, &err), VG_ERR);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_OPEN, 1, "", 0), &f, &err), VG_ERR);
}

static void test_close_and_credit(void **state)
{
    (void)state;
    unsigned char b[200], p[140];
    vg_link_frame f;
    vg_err err;
    p[0] = 4004 >> 8;
    p[1] = 4004 & 0xff;
    memcpy(p + 2, "gone", 4);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CLOSE, 9, p, 6), &f, &err), VG_OK);
    assert_int_equal(f.code, 4004);
    assert_int_equal(f.len, 4);
    p[0] = 0;
    p[1] = 5;
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CLOSE, 9, p, 2), &f, &err), VG_ERR);
    p[0] = 1000 >> 8;
    p[1] = 1000 & 0xff;
    memset(p + 2, 'x', 124);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CLOSE, 9, p, 126), &f, &err), VG_ERR);
    vg_frame_put_u64(p, 65536);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CREDIT, 9, p, 8), &f, &err), VG_OK);
    assert_true(f.offset == 65536);
    assert_int_equal(vg_link_parse(b, frame(b, VG_LINK_CREDIT, 9, p, 9), &f, &err), VG_ERR);
}

static void test_malformed(void **state)
{
    (void)state;
    unsigned char b[16] = {0};
    vg_link_frame f;
    vg_err err;
    assert_int_equal(vg_link_parse(b, 4, &f, &err), VG_ERR);
    b[0] = 0x0a;
    b[4] = 1;
    assert_int_equal(vg_link_parse(b, 5, &f, &err), VG_ERR);
    assert_non_null(strstr(err.msg, "unknown"));
    b[0] = VG_LINK_OUTPUT;
    assert_int_equal(vg_link_parse(b, 12, &f, &err), VG_ERR); /* offset cut short */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_layout), cmocka_unit_test(test_output_and_gap),
        cmocka_unit_test(test_channels),      cmocka_unit_test(test_close_and_credit),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
