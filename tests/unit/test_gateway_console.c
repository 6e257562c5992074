/* gateway console: the /ws/console query string and the message queue/reassembly buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "console/console.h"
#include "net/wsq.h"

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int q(const char *s, gw_console_query *out, vg_err *err)
{
    return gw_console_parse_query(s, strlen(s), out, err);
}

static void test_query(void **state)
{
    (void)state;
    gw_console_query out;
    vg_err err = {0};
    assert_int_equal(q("ticket=" TOK, &out, &err), VG_OK);
    assert_string_equal(out.ticket, TOK);
    assert_string_equal(out.offset, "ring");
    assert_int_equal(out.take, 0);
    assert_int_equal(q("offset=end&take=1&ticket=" TOK "&other=x", &out, &err), VG_OK);
    assert_string_equal(out.offset, "end");
    assert_int_equal(out.take, 1);
    assert_int_equal(q("ticket=" TOK "&offset=18446744073709551615", &out, &err), VG_OK);
    assert_string_equal(out.offset, "18446744073709551615");
    assert_int_equal(q("ticket=" TOK "&offset=0", &out, &err), VG_OK);

    assert_int_equal(q("", &out, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNAUTHORIZED);
    assert_int_equal(q("ticket=abc", &out, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_UNAUTHORIZED);
    assert_int_equal(q("ticket", &out, &err), VG_ERR);
    static const char *const bad[] = {
        "ticket=" TOK "&offset=18446744073709551616",
        "ticket=" TOK "&offset=-1",
        "ticket=" TOK "&offset=",
        "ticket=" TOK "&offset=12a",
        "ticket=" TOK "&offset=123456789012345678901",
        "ticket=" TOK "&take=2",
        "ticket=" TOK "&take=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(q(bad[i], &out, &err), VG_ERR);
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
    }
}

static void test_queue(void **state)
{
    (void)state;
    gw_wsq wq = {0};
    assert_null(gw_wsq_head(&wq, &(size_t){0}, &(int){0}));
    assert_int_equal(gw_wsq_push(&wq, "abc", 3, 1), VG_OK);
    assert_int_equal(gw_wsq_push(&wq, "de", 2, 0), VG_OK);
    assert_int_equal(wq.bytes, 5);
    size_t len;
    int bin;
    unsigned char *p = gw_wsq_head(&wq, &len, &bin);
    assert_int_equal(len, 3);
    assert_int_equal(bin, 1);
    assert_memory_equal(p, "abc", 3);
    gw_wsq_pop(&wq);
    p = gw_wsq_head(&wq, &len, &bin);
    assert_int_equal(len, 2);
    assert_int_equal(bin, 0);
    assert_int_equal(wq.bytes, 2);
    gw_wsq_clear(&wq);
    assert_int_equal(wq.bytes, 0);
    assert_int_equal(wq.count, 0);
}

static void test_reassembly(void **state)
{
    (void)state;
    gw_wsbuf b = {.limit = 8};
    assert_int_equal(gw_wsbuf_add(&b, "abc", 3, 1, 0), 0);
    assert_int_equal(gw_wsbuf_add(&b, "de", 2, 0, 1), 1);
    assert_int_equal(b.msg_len, 5);
    assert_memory_equal(b.msg, "abcde", 5);
    gw_wsbuf_reset(&b);
    /* too big: refused once, the rest of that message is discarded, the next one works */
    assert_int_equal(gw_wsbuf_add(&b, "12345", 5, 1, 0), 0);
    assert_int_equal(gw_wsbuf_add(&b, "6789", 4, 0, 0), VG_ERR);
    assert_int_equal(gw_wsbuf_add(&b, "xx", 2, 0, 0), 0);
    assert_int_equal(gw_wsbuf_add(&b, "yy", 2, 0, 1), 0);
    assert_int_equal(gw_wsbuf_add(&b, "ok", 2, 1, 1), 1);
    assert_memory_equal(b.msg, "ok", 2);
    gw_wsbuf_reset(&b);
    assert_int_equal(gw_wsbuf_add(&b, "123456789", 9, 1, 1), VG_ERR);
    assert_int_equal(gw_wsbuf_add(&b, "", 0, 1, 1), 1);
    assert_int_equal(b.len, 0);
    gw_wsbuf_free(&b);
}

/* Issue 9: a 10 MB message ended with 1006: the close went out while the client was still
 * sending, and the reset that unread input causes destroyed the too_big answer. The close now
 * waits while the rest of the message arrives, up to GW_WSBUF_DRAIN_MAX. */
static void test_draining(void **state)
{
    (void)state;
    gw_wsbuf b = {.limit = 8};
    assert_false(gw_wsbuf_draining(&b));
    assert_int_equal(gw_wsbuf_add(&b, "123456789", 9, 1, 0), VG_ERR);
    assert_true(gw_wsbuf_draining(&b));
    assert_int_equal(gw_wsbuf_add(&b, "xx", 2, 0, 0), 0);
    assert_true(gw_wsbuf_draining(&b));
    assert_int_equal(gw_wsbuf_add(&b, "yy", 2, 0, 1), 0);
    assert_false(gw_wsbuf_draining(&b)); /* the message ended: the close may go */
    /* refused on its last fragment: nothing more to wait for */
    assert_int_equal(gw_wsbuf_add(&b, "123456789", 9, 1, 1), VG_ERR);
    assert_false(gw_wsbuf_draining(&b));
    /* a message that never ends is waited for only so long */
    static unsigned char chunk[1 << 20];
    assert_int_equal(gw_wsbuf_add(&b, chunk, 9, 1, 0), VG_ERR);
    for (size_t sent = 9; sent < GW_WSBUF_DRAIN_MAX; sent += sizeof(chunk)) {
        assert_true(gw_wsbuf_draining(&b));
        assert_int_equal(gw_wsbuf_add(&b, chunk, sizeof(chunk), 0, 0), 0);
    }
    assert_false(gw_wsbuf_draining(&b));
    gw_wsbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_reassembly),
        cmocka_unit_test(test_draining),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
