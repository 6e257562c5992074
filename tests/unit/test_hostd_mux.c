/* hostd link v3 (link/mux.c) without a socket: what a gateway's OPEN, TEXT, CREDIT and CLOSE
 * get back on a fake connection, the credit that meters a channel's output, the channels'
 * turns, the RPC answers before them, and the id table (common/vg_idtab.c) they are kept in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/vms.h"
#include "vg_idtab.h"
#include "link/mux.h"
#include "vg_frame.h"
#include "vg_mux.h"

/* What the mux sent on the fake connection. */
typedef struct sent {
    unsigned char p[20000];
    size_t len;
    int binary;
} sent;

static sent *msgs;
static size_t nmsgs;
static int choked, wakes, conn;
static unsigned char txbuf[LWS_PRE + VG_MUX_HDR + 16384 + 64];
#define BUF (txbuf + LWS_PRE + VG_MUX_HDR)
#define CAP (sizeof(txbuf) - LWS_PRE - VG_MUX_HDR)

static char dir[] = "/tmp/vg-test-mux-XXXXXX";
static console_config ccfg;

static int out_send(void *ud, unsigned char *buf, size_t len, int binary)
{
    assert_ptr_equal(ud, &conn);
    assert_true(nmsgs < 64 && len <= sizeof(msgs[0].p));
    memcpy(msgs[nmsgs].p, buf, len);
    msgs[nmsgs].len = len;
    msgs[nmsgs++].binary = binary;
    return 0;
}

static int out_choked(void *ud)
{
    (void)ud;
    return choked;
}

static void out_wake(void *ud)
{
    (void)ud;
    wakes++;
}

static const hd_channel_out out = {out_send, out_choked, out_wake};

static void echo(rpc_call *call, const cJSON *params)
{
    hd_rpc_reply(call, cJSON_Duplicate(params, 1));
}

static const rpc_method methods[] = {{"t.echo", echo}, {NULL, NULL}};

static void write_log(const char *path, size_t n)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc('a' + (int)(i % 26), f);
    fclose(f);
}

/* vm1/serial0 with 40000 bytes in its log. */
static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vg-test-mux-XXXXXX");
    assert_non_null(mkdtemp(dir));
    ccfg = (console_config){.loop = ev_default_loop(0), .ring_size = 65536, .state_dir = dir};
    hd_console_configure(&ccfg);
    vm_entry e;
    memset(&e, 0, sizeof(e));
    snprintf(e.info.name, sizeof(e.info.name), "vm1");
    e.state = "running";
    domxml_console *c = &e.info.cons[e.info.ncons++];
    snprintf(c->dev, sizeof(c->dev), "serial0");
    snprintf(c->kind, sizeof(c->kind), "serial");
    snprintf(c->path, sizeof(c->path), "%s/com-vm1.sock", dir);
    snprintf(c->log, sizeof(c->log), "%s/com-vm1.log", dir);
    write_log(c->log, 40000);
    hd_vms_sync_virt(&e, 1);
    assert_non_null(hd_vms_console("vm1", "serial0"));
    msgs = calloc(64, sizeof(*msgs));
    nmsgs = 0;
    choked = wakes = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hd_vms_free_all();
    free(msgs);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static hd_mux *new_mux(int channels)
{
    vg_err err;
    hd_mux *m = hd_mux_new(methods, channels, &out, &conn, &err);
    assert_non_null(m);
    return m;
}

/* A binary message from the gateway; returns hd_mux_recv's verdict. */
static int gw(hd_mux *m, int op, uint32_t chan, const void *payload, size_t len)
{
    unsigned char b[600];
    vg_mux_put_hdr(b, op, chan);
    memcpy(b + VG_MUX_HDR, payload, len);
    return hd_mux_recv(m, 1, b, VG_MUX_HDR + len);
}

static int gw_open(hd_mux *m, uint32_t chan, const char *query)
{
    return gw(m, VG_MUX_OPEN, chan, query, strlen(query));
}

static int gw_credit(hd_mux *m, uint32_t chan, uint32_t bytes)
{
    unsigned char b[9];
    vg_mux_put_credit(b, chan, bytes);
    return hd_mux_recv(m, 1, b, sizeof(b));
}

/* One writable callback; what it sent is in msgs. */
static int flush(hd_mux *m)
{
    nmsgs = 0;
    return hd_mux_write(m, BUF, CAP);
}

/* msgs[i] as the gateway parses it. */
static vg_mux_msg got(size_t i)
{
    assert_true(i < nmsgs);
    assert_true(msgs[i].binary);
    vg_mux_msg msg;
    vg_err err;
    assert_int_equal(vg_mux_parse(msgs[i].p, msgs[i].len, 0, &msg, &err), VG_OK);
    return msg;
}

static void expect_text(size_t i, uint32_t chan, const char *has)
{
    vg_mux_msg msg = got(i);
    assert_int_equal(msg.op, VG_MUX_TEXT);
    assert_int_equal(msg.chan, chan);
    char text[2048];
    snprintf(text, sizeof(text), "%.*s", (int)msg.len, (const char *)msg.data);
    if (!strstr(text, has))
        fail_msg("expected %s in %s", has, text);
}

static void expect_close(size_t i, uint32_t chan, int code)
{
    vg_mux_msg msg = got(i);
    assert_int_equal(msg.op, VG_MUX_CLOSE);
    assert_int_equal(msg.chan, chan);
    assert_int_equal(msg.code, code);
}

/* Bytes of output msgs[i] carries on chan (0: not an OUTPUT frame of chan). */
static size_t output_of(size_t i, uint32_t chan)
{
    vg_mux_msg msg = got(i);
    if (msg.op != VG_MUX_BINARY || msg.chan != chan || msg.data[0] != VG_OP_OUTPUT)
        return 0;
    return msg.len - VG_FRAME_OUTPUT_HDR;
}

static void test_idtab(void **state)
{
    (void)state;
    vg_idtab t = {0};
    vg_err err;
    int v[5];
    static const uint32_t ids[] = {7, 3, 4000000000u, 5, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(vg_idtab_add(&t, ids[i], &v[i], &err), VG_OK);
    assert_int_equal(vg_idtab_add(&t, 5, &v[0], &err), VG_ERR);
    assert_int_equal(err.code, VG_E_CONFLICT);
    for (size_t i = 1; i < t.n; i++)
        assert_true(t.e[i - 1].id < t.e[i].id);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(vg_idtab_get(&t, ids[i]), &v[i]);
    assert_null(vg_idtab_get(&t, 2));
    assert_ptr_equal(vg_idtab_del(&t, 3), &v[1]);
    assert_null(vg_idtab_del(&t, 3));
    assert_null(vg_idtab_get(&t, 3));
    assert_int_equal(t.n, 4);
    for (uint32_t id = 100; id < 3000; id++)
        assert_int_equal(vg_idtab_add(&t, id, &v[0], &err), VG_OK);
    assert_ptr_equal(vg_idtab_get(&t, 2999), &v[0]);
    assert_ptr_equal(vg_idtab_get(&t, 4000000000u), &v[2]);
    vg_idtab_clear(&t);
    assert_int_equal(t.n, 0);
    assert_null(vg_idtab_get(&t, 7));
}

/* The hello goes without credit; output only while the credit is above zero. */
static void test_credit(void **state)
{
    (void)state;
    hd_mux *m = new_mux(1);
    assert_int_equal(gw_open(m, 1, "vm=vm1&dev=serial0&offset=ring"), 0);
    assert_int_equal(hd_mux_channels(m), 1);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 1);
    expect_text(0, 1, "\"type\":\"hello\"");
    expect_text(0, 1, "\"end\":40000");
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 0);

    /* One frame may overdraw the credit; then nothing until it is above zero again. */
    wakes = 0;
    assert_int_equal(gw_credit(m, 1, 100), 0);
    assert_int_equal(wakes, 1);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 1);
    assert_int_equal(output_of(0, 1), 16384);
    assert_int_equal(gw_credit(m, 1, 16284), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 0);
    assert_int_equal(gw_credit(m, 1, 1), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 1);
    assert_int_equal(output_of(0, 1), 16384);

    /* A member's messages need no credit. */
    static const char join[] = "{\"type\":\"join\",\"tag\":9,\"user\":\"alice\",\"mode\":\"rw\"}";
    assert_int_equal(gw(m, VG_MUX_TEXT, 1, join, strlen(join)), 0);
    assert_int_equal(hd_mux_members(m), 1);
    assert_int_equal(flush(m), 0);
    assert_true(nmsgs >= 2);
    for (size_t i = 0; i < nmsgs; i++) {
        vg_mux_msg msg = got(i);
        assert_int_equal(msg.chan, 1);
        assert_int_not_equal(msg.op == VG_MUX_BINARY && msg.data[0] == VG_OP_OUTPUT, 1);
    }

    /* Credit beyond 2^30 is a broken gateway. */
    assert_int_equal(gw_credit(m, 1, VG_MUX_CREDIT_MAX), 0); /* the overdraft is paid first */
    assert_int_equal(gw_credit(m, 1, 16384), 1008);
    hd_mux_free(m);
}

/* Two channels at full speed take turns of 32 KiB; the RPC answers go before them. */
static void test_turns_and_answers(void **state)
{
    (void)state;
    hd_mux *m = new_mux(1);
    assert_int_equal(gw_open(m, 1, "vm=vm1"), 0);
    assert_int_equal(gw_open(m, 2, "vm=vm1&dev=serial0"), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 2);
    assert_int_equal(gw_credit(m, 1, 1u << 20), 0);
    assert_int_equal(gw_credit(m, 2, 1u << 20), 0);
    static const char req[] = "{\"id\":5,\"method\":\"t.echo\",\"params\":{\"x\":1}}";
    assert_int_equal(hd_mux_recv(m, 0, (const unsigned char *)req, strlen(req)), 0);
    assert_int_equal(flush(m), 0);
    assert_false(msgs[0].binary);
    assert_memory_equal(msgs[0].p, "{\"id\":5,\"result\":{\"x\":1}}", msgs[0].len);
    static const uint32_t order[] = {1, 1, 2, 2, 1, 2};
    static const size_t sizes[] = {16384, 16384, 16384, 16384, 7232, 7232};
    assert_int_equal(nmsgs, 7);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(output_of(i + 1, order[i]), sizes[i]);

    /* A choked connection is written later. */
    hd_mux_recv(m, 0, (const unsigned char *)req, strlen(req));
    choked = 1;
    wakes = 0;
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 0);
    assert_true(wakes > 0);
    choked = 0;
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 1);
    hd_mux_free(m);
}

/* Refused OPENs are answered on the channel and the link stays; broken messages end it. */
static void test_refusals_and_errors(void **state)
{
    (void)state;
    hd_mux *m = new_mux(1);
    assert_int_equal(gw_open(m, 1, "vm=nope"), 0);
    assert_int_equal(gw_open(m, 2, "dev=serial0"), 0);
    assert_int_equal(gw_open(m, 3, "vm=vm1&offset=x"), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 6);
    expect_text(0, 1, "\"code\":\"not_found\"");
    expect_close(1, 1, 4004);
    expect_text(2, 2, "\"code\":\"bad_request\"");
    expect_close(3, 2, 1008);
    expect_text(4, 3, "\"code\":\"bad_request\"");
    expect_close(5, 3, 1008);
    assert_int_equal(hd_mux_channels(m), 0);

    /* Messages for channels not open are dropped; so is a CLOSE of one. */
    assert_int_equal(gw(m, VG_MUX_TEXT, 1, "{}", 2), 0);
    assert_int_equal(gw_credit(m, 77, 10), 0);
    assert_int_equal(gw(m, VG_MUX_CLOSE, 77, "\x03\xe8", 2), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 0);

    /* A broken message on a channel closes that channel only. */
    assert_int_equal(gw_open(m, 4, "vm=vm1"), 0);
    assert_int_equal(gw(m, VG_MUX_TEXT, 4, "{\"type\":\"kick\"}", 15), 0);
    assert_int_equal(flush(m), 0);
    expect_close(nmsgs - 1, 4, 1008);
    assert_int_equal(hd_mux_channels(m), 0);

    assert_int_equal(gw_open(m, 5, "vm=vm1"), 0);
    assert_int_equal(gw_open(m, 5, "vm=vm1"), 1008);
    assert_int_equal(gw(m, 0x35, 6, "x", 1), 1008);
    assert_int_equal(gw(m, VG_MUX_TEXT, 0, "x", 1), 1008);
    assert_int_equal(hd_mux_recv(m, 1, (const unsigned char *)"\x31\0\0", 3), 1008);
    assert_int_equal(hd_mux_rx_max(m, 1), VG_MUX_HDR + VG_LINK_TAG_LEN + VG_FRAME_MAX_CLIENT);
    assert_int_equal(hd_mux_rx_max(m, 0), RPC_MAX_MESSAGE);
    hd_mux_free(m);
}

/* The gateway's CLOSE is not answered; a console that goes, or hostd stopping, closes. */
static void test_closes(void **state)
{
    (void)state;
    hd_mux *m = new_mux(1);
    assert_int_equal(gw_open(m, 1, "vm=vm1"), 0);
    assert_int_equal(gw_open(m, 2, "vm=vm1"), 0);
    assert_int_equal(gw_open(m, 3, "vm=vm1"), 0);
    assert_int_equal(gw_credit(m, 2, 10), 0);
    assert_int_equal(gw(m, VG_MUX_CLOSE, 2, "\x03\xe8", 2), 0);
    assert_int_equal(hd_mux_channels(m), 2);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 2);
    expect_text(0, 1, "hello");
    expect_text(1, 3, "hello");

    assert_int_equal(hd_mux_shutdown(m), VG_OK);
    assert_int_equal(gw_open(m, 4, "vm=vm1"), 0);
    assert_int_equal(flush(m), 1001);
    assert_int_equal(nmsgs, 4);
    expect_close(0, 1, 1001);
    expect_close(1, 3, 1001);
    expect_text(2, 4, "\"code\":\"unavailable\"");
    expect_close(3, 4, 1001);
    hd_mux_free(m);

    m = new_mux(1);
    assert_int_equal(gw_open(m, 1, "vm=vm1"), 0);
    hd_vms_sync_virt(NULL, 0);
    assert_int_equal(flush(m), 0);
    expect_close(nmsgs - 1, 1, 4004);
    assert_int_equal(hd_mux_channels(m), 0);
    hd_mux_free(m);

    /* /link/api has no channels: a binary message is a request as well. */
    m = new_mux(0);
    assert_int_equal(hd_mux_shutdown(m), VG_ERR);
    assert_int_equal(hd_mux_rx_max(m, 1), RPC_MAX_MESSAGE);
    static const char req[] = "{\"id\":1,\"method\":\"t.echo\"}";
    assert_int_equal(hd_mux_recv(m, 1, (const unsigned char *)req, strlen(req)), 0);
    assert_int_equal(flush(m), 0);
    assert_int_equal(nmsgs, 1);
    assert_false(msgs[0].binary);
    hd_mux_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idtab),
        cmocka_unit_test_setup_teardown(test_credit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_turns_and_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
