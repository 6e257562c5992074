/* vg_frame: console frames of docs/protocol.md §1, byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "vg_frame.h"
#include "vg_util.h"

#define U(s) ((const unsigned char *)(s))

static void test_u64_big_endian(void **state)
{
    (void)state;
    unsigned char b[8];
    vg_frame_put_u64(b, UINT64_C(0x0102030405060708));
    const unsigned char want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    assert_memory_equal(b, want, 8);
    assert_true(vg_frame_get_u64(b) == UINT64_C(0x0102030405060708));
    vg_frame_put_u64(b, UINT64_MAX);
    for (int i = 0; i < 8; i++)
        assert_int_equal(b[i], 0xff);
    assert_true(vg_frame_get_u64(b) == UINT64_MAX);
    vg_frame_put_u64(b, 0);
    assert_true(vg_frame_get_u64(b) == 0);
    vg_frame_put_u64(b, 0x1234);
    assert_int_equal(b[6], 0x12);
    assert_int_equal(b[7], 0x34);
}

static void test_output_header_layout(void **state)
{
    (void)state;
    unsigned char f[VG_FRAME_OUTPUT_HDR + 3];
    vg_frame_output_hdr(f, UINT64_C(0xa1b2c3d4e5f60718));
    memcpy(f + VG_FRAME_OUTPUT_HDR, "hi!", 3);
    const unsigned char want[] = {0x01, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5,
                                  0xf6, 0x07, 0x18, 'h',  'i',  '!'};
    assert_int_equal(VG_FRAME_OUTPUT_HDR, 9);
    assert_memory_equal(f, want, sizeof(want));

    vg_msg m;
    vg_err err = {0};
    assert_int_equal(vg_frame_parse_server(1, f, sizeof(f), &m, &err), VG_OK);
    assert_int_equal(m.kind, VG_MSG_OUTPUT);
    assert_true(m.offset == UINT64_C(0xa1b2c3d4e5f60718));
    assert_int_equal(m.len, 3);
    assert_ptr_equal(m.data, f + 9);
}

static void test_output_empty_payload(void **state)
{
    (void)state;
    unsigned char f[VG_FRAME_OUTPUT_HDR];
    vg_frame_output_hdr(f, 42);
    vg_msg m;
    assert_int_equal(vg_frame_parse_server(1, f, sizeof(f), &m, NULL), VG_OK);
    assert_int_equal(m.kind, VG_MSG_OUTPUT);
    assert_int_equal(m.offset, 42);
    assert_int_equal(m.len, 0);
}

static void test_output_binary_safe(void **state)
{
    (void)state;
    unsigned char f[VG_FRAME_OUTPUT_HDR + 256];
    vg_frame_output_hdr(f, 7);
    for (int i = 0; i < 256; i++)
        f[VG_FRAME_OUTPUT_HDR + i] = (unsigned char)i;
    vg_msg m;
    assert_int_equal(vg_frame_parse_server(1, f, sizeof(f), &m, NULL), VG_OK);
    assert_int_equal(m.len, 256);
    for (int i = 0; i < 256; i++)
        assert_int_equal(m.data[i], i);
}

static void test_gap_layout(void **state)
{
    (void)state;
    unsigned char f[VG_FRAME_GAP_LEN];
    vg_frame_gap(f, 0x10, UINT64_C(0x0100000000000020));
    const unsigned char want[17] = {0x02, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 0, 0, 0, 0x20};
    assert_memory_equal(f, want, 17);
    vg_msg m;
    assert_int_equal(vg_frame_parse_server(1, f, sizeof(f), &m, NULL), VG_OK);
    assert_int_equal(m.kind, VG_MSG_GAP);
    assert_int_equal(m.offset, 0x10);
    assert_true(m.to == UINT64_C(0x0100000000000020));
}

static void expect_server_err(const unsigned char *buf, size_t len, vg_err_code code)
{
    vg_msg m;
    vg_err err = {0};
    assert_int_equal(vg_frame_parse_server(1, buf, len, &m, &err), VG_ERR);
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
}

static void test_server_malformed(void **state)
{
    (void)state;
    unsigned char f[VG_FRAME_GAP_LEN + 1] = {0};
    expect_server_err(f, 0, VG_E_BAD_REQUEST); /* no opcode */
    f[0] = VG_OP_OUTPUT;
    expect_server_err(f, 1, VG_E_BAD_REQUEST);
    expect_server_err(f, 8, VG_E_BAD_REQUEST); /* header cut short */
    f[0] = VG_OP_GAP;
    expect_server_err(f, 16, VG_E_BAD_REQUEST);
    expect_server_err(f, 18, VG_E_BAD_REQUEST);
    vg_frame_gap(f, 10, 9); /* ends before it starts */
    expect_server_err(f, VG_FRAME_GAP_LEN, VG_E_BAD_REQUEST);
    f[0] = VG_OP_INPUT; /* a client opcode is unknown to a client */
    expect_server_err(f, 5, VG_E_UNKNOWN);
    f[0] = 0xff;
    expect_server_err(f, 1, VG_E_UNKNOWN);
    /* an empty gap is well-formed */
    vg_frame_gap(f, 9, 9);
    vg_msg m;
    assert_int_equal(vg_frame_parse_server(1, f, VG_FRAME_GAP_LEN, &m, NULL), VG_OK);
}

static void test_server_text_is_control(void **state)
{
    (void)state;
    const char *hello = "{\"type\":\"hello\",\"version\":1}";
    vg_msg m;
    assert_int_equal(vg_frame_parse_server(0, U(hello), strlen(hello), &m, NULL), VG_OK);
    assert_int_equal(m.kind, VG_MSG_CONTROL);
    assert_ptr_equal(m.data, U(hello));
    assert_int_equal(m.len, strlen(hello));
}

static void test_client_input(void **state)
{
    (void)state;
    const unsigned char f[] = {0x11, 'l', 's', '\r', 0x00, 0xff};
    vg_msg m;
    assert_int_equal(vg_frame_parse_client(1, f, sizeof(f), &m, NULL), VG_OK);
    assert_int_equal(m.kind, VG_MSG_INPUT);
    assert_int_equal(m.len, 5);
    assert_ptr_equal(m.data, f + 1);
    /* input with no bytes is allowed (a no-op) */
    assert_int_equal(vg_frame_parse_client(1, f, 1, &m, NULL), VG_OK);
    assert_int_equal(m.len, 0);
}

static void expect_client(int binary, const char *buf, size_t len, int rc, vg_err_code code,
                          vg_msg *m)
{
    vg_err err = {0};
    assert_int_equal(vg_frame_parse_client(binary, U(buf), len, m, &err), rc);
    if (rc == VG_ERR) {
        assert_int_equal(err.code, code);
        assert_true(err.msg[0] != '\0');
    }
}

#define CLIENT_TEXT(s, rc, code, m) expect_client(0, s, strlen(s), rc, code, m)

static void test_client_control(void **state)
{
    (void)state;
    vg_msg m;
    CLIENT_TEXT("{\"type\":\"take\"}", VG_OK, 0, &m);
    assert_int_equal(m.kind, VG_MSG_TAKE);
    CLIENT_TEXT("{\"type\":\"release\",\"extra\":[1,2]}", VG_OK, 0, &m);
    assert_int_equal(m.kind, VG_MSG_RELEASE);
    CLIENT_TEXT("{\"type\":\"ping\",\"id\":12345}", VG_OK, 0, &m);
    assert_int_equal(m.kind, VG_MSG_PING);
    assert_int_equal(m.id, 12345);
    CLIENT_TEXT("{\"type\":\"ping\"}", VG_OK, 0, &m);
    assert_int_equal(m.kind, VG_MSG_PING);
    assert_int_equal(m.id, 0);
    /* the length bounds the JSON, even without a terminating NUL */
    expect_client(0, "{\"type\":\"take\"}garbage", 15, VG_OK, 0, &m);
    assert_int_equal(m.kind, VG_MSG_TAKE);
}

static void test_client_malformed(void **state)
{
    (void)state;
    vg_msg m;
    expect_client(1, "", 0, VG_ERR, VG_E_BAD_REQUEST, &m);
    expect_client(1, "\x01\0\0\0\0\0\0\0\0", 9, VG_ERR, VG_E_UNKNOWN,
                  &m); /* OUTPUT from a client */
    expect_client(1, "\x02", 1, VG_ERR, VG_E_UNKNOWN, &m);
    expect_client(1, "\x7f", 1, VG_ERR, VG_E_UNKNOWN, &m);
    expect_client(0, "", 0, VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("not json", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("[\"take\"]", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("\"take\"", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"take\"", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":7}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":null}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"ping\",\"id\":\"7\"}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"ping\",\"id\":1.5}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"ping\",\"id\":1e300}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"ping\",\"id\":-1e19}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"TAKE\"}", VG_ERR, VG_E_UNKNOWN, &m);
    CLIENT_TEXT("{\"type\":\"hello\"}", VG_ERR, VG_E_UNKNOWN, &m);
    /* issue 9: lenient JSON, which hostd and the gateway could read differently */
    CLIENT_TEXT("{\"type\":\"take\"} xx", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"ping\",\"type\":\"take\"}", VG_ERR, VG_E_BAD_REQUEST, &m);
    CLIENT_TEXT("{\"type\":\"take\\u0000x\"}", VG_ERR, VG_E_BAD_REQUEST, &m);
    expect_client(0, "{\"type\":\"take\"}\0", 16, VG_ERR, VG_E_BAD_REQUEST, &m);
}

static void test_client_size_limit(void **state)
{
    (void)state;
    size_t n = VG_FRAME_MAX_CLIENT + 1;
    unsigned char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    big[0] = VG_OP_INPUT;
    vg_msg m;
    vg_err err = {0};
    assert_int_equal(vg_frame_parse_client(1, big, n, &m, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    assert_int_equal(vg_frame_parse_client(0, big, n, &m, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    /* exactly the limit is accepted */
    assert_int_equal(vg_frame_parse_client(1, big, n - 1, &m, &err), VG_OK);
    assert_int_equal(m.len, VG_FRAME_MAX_CLIENT - 1);
    free(big);
}

static void test_err_code_names(void **state)
{
    (void)state;
    assert_string_equal(vg_err_code_name(VG_E_BAD_REQUEST), "bad_request");
    assert_string_equal(vg_err_code_name(VG_E_TOO_BIG), "too_big");
    assert_string_equal(vg_err_code_name(VG_E_UNKNOWN), "unknown");
    assert_string_equal(vg_err_code_name(VG_E_UNAUTHORIZED), "unauthorized");
    assert_string_equal(vg_err_code_name(VG_E_FORBIDDEN), "forbidden");
    assert_string_equal(vg_err_code_name(VG_E_NOT_FOUND), "not_found");
    assert_string_equal(vg_err_code_name(VG_E_READ_ONLY), "read_only");
    assert_string_equal(vg_err_code_name(VG_E_NOT_WRITER), "not_writer");
    assert_string_equal(vg_err_code_name(VG_E_UNAVAILABLE), "unavailable");
    assert_string_equal(vg_err_code_name(VG_E_INTERNAL), "internal");
    assert_string_equal(vg_err_code_name(VG_E_RATE_LIMITED), "rate_limited");
    assert_string_equal(vg_err_code_name(VG_E_CONFLICT), "conflict");
    assert_int_equal(vg_fail(NULL, VG_E_INTERNAL, "no context"), VG_ERR);
}

/* A message cut to its buffer never ends in half a UTF-8 character: answers are strict JSON. */
static void test_err_cut_whole_characters(void **state)
{
    (void)state;
    vg_err err;
    char text[600];
    for (size_t pad = 0; pad < 4; pad++) {
        memset(text, 'x', pad);
        size_t n = pad;
        while (n + 9 < sizeof(text)) {
            memcpy(text + n, "\xc3\xbb\xe1\x96\xbb\xf0\x9f\x98\x80", 9);
            n += 9;
        }
        text[n] = '\0';
        vg_fail(&err, VG_E_BAD_REQUEST, "%s", text);
        size_t len = strlen(err.msg);
        assert_true(len > sizeof(err.msg) - 5);
        assert_memory_equal(err.msg, text, len);
        /* The next byte of the text starts a character: nothing was cut inside one. */
        assert_int_not_equal((unsigned char)text[len] & 0xC0, 0x80);
    }
    /* a precision cut inside the message (a client's field name as %.4s) is no valid UTF-8 */
    vg_fail(&err, VG_E_BAD_REQUEST, "%.4s is not a known field", "ab\xe1\x96\xbb");
    assert_string_equal(err.msg, "ab?? is not a known field");
    assert_string_equal(vg_name_shown("vm.start"), "vm.start");
    assert_string_equal(vg_name_shown("vm\xc3\xbb"), "(not a name)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64_big_endian),
        cmocka_unit_test(test_output_header_layout),
        cmocka_unit_test(test_output_empty_payload),
        cmocka_unit_test(test_output_binary_safe),
        cmocka_unit_test(test_gap_layout),
        cmocka_unit_test(test_server_malformed),
        cmocka_unit_test(test_server_text_is_control),
        cmocka_unit_test(test_client_input),
        cmocka_unit_test(test_client_control),
        cmocka_unit_test(test_client_malformed),
        cmocka_unit_test(test_client_size_limit),
        cmocka_unit_test(test_err_code_names),
        cmocka_unit_test(test_err_cut_whole_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
