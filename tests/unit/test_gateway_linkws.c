/* gateway link framing (backend/linkws.c): the answer to the upgrade and hostd's frames, parsed
 * in bulk, and the client frames the gateway writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/linkws.h"

typedef struct seen {
    int opened;
    int count;
    int binary;
    unsigned char last[70000];
    size_t last_len;
    const unsigned char *last_ptr;
} seen;

static void on_open(void *user)
{
    ((seen *)user)->opened++;
}

static void on_message(void *user, int binary, unsigned char *data, size_t len)
{
    seen *s = user;
    s->count++;
    s->binary = binary;
    s->last_ptr = data;
    s->last_len = len;
    memcpy(s->last, data, len);
}

static const gw_linkws_ops ops = {.open = on_open, .message = on_message};

/* Piece mode (the volume streams): binary data as it arrives, text whole. */
typedef struct pieces {
    unsigned char data[4096];
    size_t len;
    int calls, fins, texts;
} pieces;

static void on_text(void *user, int binary, unsigned char *data, size_t len)
{
    (void)data;
    (void)len;
    assert_false(binary);
    ((pieces *)user)->texts++;
}

static void on_piece(void *user, unsigned char *data, size_t len, int fin)
{
    pieces *p = user;
    assert_true(p->len + len <= sizeof(p->data));
    memcpy(p->data + p->len, data, len);
    p->len += len;
    p->calls++;
    p->fins += fin;
}

static const gw_linkws_ops piece_ops = {.message = on_text, .piece = on_piece};

/* Parses a private copy, so reads past the end are caught by ASan. */
static int feed(gw_linkws *l, seen *s, const void *data, size_t len, vg_err *err)
{
    unsigned char *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, data, len);
    int rc = gw_linkws_parse(l, buf, len, &ops, s, err);
    free(buf);
    return rc;
}

/* A link whose upgrade hostd accepted. */
static void open_link(gw_linkws *l, seen *s)
{
    vg_err err = {0};
    gw_linkws_init(l, 1 << 20);
    assert_int_equal(gw_linkws_prepare(l, "127.0.0.1:1", "/link/console?vm=a", "vmgate.console.v1",
                                       "s3cret", &err),
                     VG_OK);
    assert_non_null(strstr(l->request, "GET /link/console?vm=a HTTP/1.1\r\n"));
    assert_non_null(strstr(l->request, "\r\nX-Vmgate-Link: s3cret\r\n"));
    assert_non_null(strstr(l->request, "\r\nSec-WebSocket-Protocol: vmgate.console.v1\r\n"));
    l->state = GW_LINKWS_HANDSHAKE;
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: vmgate.console.v1\r\n\r\n",
                     l->accept);
    memset(s, 0, sizeof(*s));
    /* in two pieces, the second with the first frame behind the head */
    assert_int_equal(feed(l, s, head, 20, &err), VG_OK);
    assert_int_equal(s->opened, 0);
    unsigned char rest[600];
    memcpy(rest, head + 20, (size_t)n - 20);
    memcpy(rest + n - 20,
           "\x82\x03"
           "abc",
           5);
    assert_int_equal(feed(l, s, rest, (size_t)n - 20 + 5, &err), VG_OK);
    assert_int_equal(s->opened, 1);
    assert_int_equal(l->state, GW_LINKWS_OPEN);
    assert_int_equal(s->count, 1);
    assert_memory_equal(s->last, "abc", 3);
}

static void test_handshake_and_frames(void **state)
{
    (void)state;
    gw_linkws l;
    seen s;
    vg_err err = {0};
    open_link(&l, &s);

    /* a text frame whole in one read is handed on in place */
    unsigned char buf[] = "\x81\x05hello";
    assert_int_equal(gw_linkws_parse(&l, buf, 7, &ops, &s, &err), VG_OK);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.binary, 0);
    assert_ptr_equal(s.last_ptr, buf + 2);

    /* a 16-bit length frame split across three reads, byte by byte in the header */
    unsigned char big[2 + 2 + 300];
    big[0] = 0x82;
    big[1] = 126;
    big[2] = 300 >> 8;
    big[3] = 300 & 0xff;
    for (int i = 0; i < 300; i++)
        big[4 + i] = (unsigned char)i;
    assert_int_equal(feed(&l, &s, big, 1, &err), VG_OK);
    assert_int_equal(feed(&l, &s, big + 1, 2, &err), VG_OK);
    assert_int_equal(feed(&l, &s, big + 3, 100, &err), VG_OK);
    assert_int_equal(s.count, 2);
    assert_int_equal(feed(&l, &s, big + 103, sizeof(big) - 103, &err), VG_OK);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.last_len, 300);
    assert_memory_equal(s.last, big + 4, 300);

    /* a 64-bit length frame */
    static unsigned char huge[10 + 70000];
    memset(huge, 'x', sizeof(huge));
    huge[0] = 0x82;
    huge[1] = 127;
    memset(huge + 2, 0, 8);
    huge[7] = (70000 >> 16) & 0xff;
    huge[8] = (70000 >> 8) & 0xff;
    huge[9] = 70000 & 0xff;
    assert_int_equal(feed(&l, &s, huge, sizeof(huge), &err), VG_OK);
    assert_int_equal(s.count, 4);
    assert_int_equal(s.last_len, 70000);

    /* a fragmented message with a ping between its fragments */
    assert_int_equal(feed(&l, &s,
                          "\x02\x02"
                          "ab"
                          "\x89\x02"
                          "pq"
                          "\x80\x01"
                          "c",
                          11, &err),
                     VG_OK);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.binary, 1);
    assert_int_equal(s.last_len, 3);
    assert_memory_equal(s.last, "abc", 3);
    assert_true(l.pong_due);
    assert_int_equal(l.pong_len, 2);
    assert_memory_equal(l.pong, "pq", 2);
    assert_true(gw_linkws_wants_write(&l));

    /* an empty message */
    assert_int_equal(feed(&l, &s, "\x82\x00", 2, &err), VG_OK);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.last_len, 0);

    /* hostd's close: answered with its code, nothing after it is read */
    assert_int_equal(feed(&l, &s,
                          "\x88\x02\x0f\xa4"
                          "\x82\x01z",
                          7, &err),
                     VG_OK);
    assert_int_equal(l.peer_close_code, 4004);
    assert_true(l.close_due);
    assert_int_equal(l.close_code, 4004);
    assert_int_equal(s.count, 6);
    gw_linkws_free(&l);
}

static void test_pieces(void **state)
{
    (void)state;
    gw_linkws l;
    pieces p = {0};
    vg_err err = {0};
    /* a limit of 16 bounds text only: binary messages go on in pieces, however long */
    gw_linkws_init(&l, 16);
    l.state = GW_LINKWS_OPEN;
    unsigned char msg[4 + 1000];
    msg[0] = 0x82;
    msg[1] = 126;
    msg[2] = 1000 >> 8;
    msg[3] = 1000 & 0xff;
    for (int i = 0; i < 1000; i++)
        msg[4 + i] = (unsigned char)(i * 7);
    assert_int_equal(gw_linkws_parse(&l, msg, 300, &piece_ops, &p, &err), VG_OK);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.fins, 0);
    assert_int_equal(p.len, 296);
    assert_int_equal(gw_linkws_parse(&l, msg + 300, sizeof(msg) - 300, &piece_ops, &p, &err),
                     VG_OK);
    assert_int_equal(p.fins, 1);
    assert_int_equal(p.len, 1000);
    assert_memory_equal(p.data, msg + 4, 1000);
    assert_null(l.msg); /* nothing was copied into the link's buffer */

    /* fragments, an empty last one, a text between two binary messages */
    unsigned char frags[] = "\x02\x02"
                            "ab"
                            "\x00\x01"
                            "c"
                            "\x80\x00"
                            "\x81\x02"
                            "{}"
                            "\x82\x00";
    p.len = 0;
    p.fins = 0;
    assert_int_equal(gw_linkws_parse(&l, frags, sizeof(frags) - 1, &piece_ops, &p, &err), VG_OK);
    assert_int_equal(p.len, 3);
    assert_memory_equal(p.data, "abc", 3);
    assert_int_equal(p.fins, 2);
    assert_int_equal(p.texts, 1);

    /* a text over the limit is still refused */
    unsigned char text[2 + 17] = {0x81, 17};
    memset(text + 2, 'a', 17);
    assert_int_equal(gw_linkws_parse(&l, text, sizeof(text), &piece_ops, &p, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    gw_linkws_free(&l);
}

static void refused(const char *frames, size_t len, vg_err_code code)
{
    gw_linkws l;
    seen s;
    vg_err err = {0};
    open_link(&l, &s);
    assert_int_equal(feed(&l, &s, frames, len, &err), VG_ERR);
    assert_int_equal(err.code, code);
    assert_true(err.msg[0] != '\0');
    gw_linkws_free(&l);
}

static void test_bad_frames(void **state)
{
    (void)state;
    refused("\x82\x83"
            "abcdxyz",
            9, VG_E_UNAVAILABLE); /* masked by the server */
    refused("\xc2\x01"
            "a",
            3, VG_E_UNAVAILABLE); /* reserved bit */
    refused("\x83\x01"
            "a",
            3, VG_E_UNAVAILABLE); /* opcode 3 */
    refused("\x80\x01"
            "a",
            3, VG_E_UNAVAILABLE); /* continuation of nothing */
    refused("\x02\x01"
            "a"
            "\x82\x01"
            "b",
            6, VG_E_UNAVAILABLE);                     /* a message inside another */
    refused("\x09\x00", 2, VG_E_UNAVAILABLE);         /* fragmented ping */
    refused("\x89\x7e\x00\x80", 4, VG_E_UNAVAILABLE); /* long ping */
    refused("\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x00", 10, VG_E_UNAVAILABLE); /* bit 63 */
    refused("\x82\x7f\x00\x00\x00\x00\x00\x20\x00\x00", 10, VG_E_TOO_BIG);     /* 2 MiB > 1 MiB */
    /* fragments that together pass the limit */
    static unsigned char two[2 * (4 + 60000)];
    for (int i = 0; i < 2; i++) {
        unsigned char *f = two + i * (4 + 60000);
        f[0] = i ? 0x80 : 0x02;
        f[1] = 126;
        f[2] = 60000 >> 8;
        f[3] = 60000 & 0xff;
    }
    gw_linkws l;
    seen s;
    vg_err err = {0};
    open_link(&l, &s);
    l.msg_limit = 100000;
    assert_int_equal(feed(&l, &s, two, sizeof(two), &err), VG_ERR);
    assert_int_equal(err.code, VG_E_TOO_BIG);
    gw_linkws_free(&l);
}

/* hostd's answer: before, the expected Sec-WebSocket-Accept value, after. */
static void answer(const char *before, const char *after, vg_err_code code)
{
    gw_linkws l;
    seen s = {0};
    vg_err err = {0};
    gw_linkws_init(&l, 1 << 20);
    assert_int_equal(gw_linkws_prepare(&l, "h:1", "/p", "sub", "", &err), VG_OK);
    l.state = GW_LINKWS_HANDSHAKE;
    char buf[600];
    snprintf(buf, sizeof(buf), "%s%s%s", before, l.accept, after);
    assert_int_equal(feed(&l, &s, buf, strlen(buf), &err), VG_ERR);
    assert_int_equal(err.code, code);
    assert_int_equal(s.opened, 0);
    gw_linkws_free(&l);
}

static void test_bad_answers(void **state)
{
    (void)state;
    answer("HTTP/1.1 403 Forbidden\r\nX-A: ", "\r\n\r\n", VG_E_UNAUTHORIZED);
    answer("HTTP/1.1 404 Not Found\r\nX-A: ", "\r\n\r\n", VG_E_UNAVAILABLE);
    answer("HTTP/1.0 101 Switching\r\nX-A: ", "\r\n\r\n", VG_E_UNAVAILABLE);
    answer("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x",
           "\r\nSec-WebSocket-Protocol: sub\r\n\r\n", VG_E_UNAVAILABLE);
    answer("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ", "\r\n\r\n",
           VG_E_UNAVAILABLE);
    answer("HTTP/1.1 101 S\r\nSec-WebSocket-Accept: ", "\r\nSec-WebSocket-Protocol: sub\r\n\r\n",
           VG_E_UNAVAILABLE);
    /* a head that never ends */
    gw_linkws l;
    seen s = {0};
    vg_err err = {0};
    gw_linkws_init(&l, 1 << 20);
    l.state = GW_LINKWS_HANDSHAKE;
    char junk[GW_LINKWS_HEAD_MAX + 10];
    memset(junk, 'a', sizeof(junk));
    assert_int_equal(feed(&l, &s, junk, sizeof(junk), &err), VG_ERR);
    gw_linkws_free(&l);
}

static void test_client_frames(void **state)
{
    (void)state;
    const unsigned char mask[4] = {1, 2, 3, 4};
    unsigned char hdr[GW_LINKWS_HDR_MAX];
    assert_int_equal(gw_linkws_frame_header(hdr, 2, 125, mask), 6);
    assert_int_equal(hdr[0], 0x82);
    assert_int_equal(hdr[1], 0x80 | 125);
    assert_memory_equal(hdr + 2, mask, 4);
    assert_int_equal(gw_linkws_frame_header(hdr, 1, 126, mask), 8);
    assert_int_equal(hdr[1], 0x80 | 126);
    assert_int_equal(hdr[2] << 8 | hdr[3], 126);
    assert_int_equal(gw_linkws_frame_header(hdr, 2, 65535, mask), 8);
    assert_int_equal(gw_linkws_frame_header(hdr, 2, 65536, mask), 14);
    assert_int_equal(hdr[1], 0x80 | 127);
    assert_int_equal(hdr[7], 1);
    assert_int_equal(hdr[8], 0);
    unsigned char data[7] = "abcdefg";
    gw_linkws_mask(data, 7, mask);
    assert_int_equal(data[0], 'a' ^ 1);
    assert_int_equal(data[4], 'e' ^ 1);
    assert_int_equal(data[6], 'g' ^ 3);
    gw_linkws_mask(data, 7, mask);
    assert_memory_equal(data, "abcdefg", 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_frames), cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_bad_frames),           cmocka_unit_test(test_bad_answers),
        cmocka_unit_test(test_client_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
