/* console: what a viewer is sent (hello, write lock, frames, gaps, refusals) for a console fed
 * from its log, without any socket or transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "console/console.h"
#include "console/state.h"
#include "vg_frame.h"

static char dir[] = "/tmp/vg-test-console-XXXXXX";
static char log_path[128];
static console_config cfg;
static unsigned char buf[32768];
static int wakes;

static void wake(console_viewer *v)
{
    (void)v;
    wakes++;
}

static void write_log(size_t n, char fill)
{
    FILE *f = fopen(log_path, "ab");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++)
        fputc(fill ? fill : 'a' + (int)(i % 26), f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/vg-test-console-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(log_path, sizeof(log_path), "%s/com-vm.log", dir);
    cfg = (console_config){.loop = ev_default_loop(0), .ring_size = 65536, .state_dir = dir};
    hd_console_configure(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static console *make(void)
{
    char sock[160];
    snprintf(sock, sizeof(sock), "%s/com-vm.sock", dir);
    vg_err err;
    console *c = hd_console_new("vm", "serial0", "serial", sock, log_path, &err);
    assert_non_null(c);
    return c;
}

/* Next message as text (JSON) or the binary opcode; returns the console_msg. */
static console_msg next(console_viewer *v)
{
    console_msg m;
    memset(buf, 0, sizeof(buf));
    assert_int_equal(hd_console_viewer_next(v, buf, sizeof(buf), &m), 1);
    return m;
}

static void expect_type(console_viewer *v, const char *type)
{
    console_msg m = next(v);
    assert_false(m.binary);
    char want[64];
    snprintf(want, sizeof(want), "\"type\":\"%s\"", type);
    if (!strstr((char *)buf, want))
        fail_msg("expected %s, got %s", type, buf);
}

static void test_replay_and_frames(void **state)
{
    (void)state;
    write_log(40000, 0);
    console *c = make();
    assert_int_equal(hd_console_start(c), 0);
    assert_int_equal(hd_console_end(c), 40000);
    console_viewer v = {.wake = wake};
    vg_err err;
    assert_int_equal(hd_console_attach(c, &v, "alice", 1, 0, NULL, &err), VG_OK);
    expect_type(&v, "hello");
    assert_non_null(strstr((char *)buf, "\"end\":40000"));
    assert_non_null(strstr((char *)buf, "\"writer\":true"));
    assert_non_null(strstr((char *)buf, "\"connected\":false"));
    expect_type(&v, "writer");
    expect_type(&v, "viewers");
    uint64_t off = 0;
    while (off < 40000) {
        console_msg m = next(&v);
        assert_true(m.binary);
        assert_int_equal(buf[0], VG_OP_OUTPUT);
        assert_int_equal(vg_frame_get_u64(buf + 1), off);
        size_t n = m.len - VG_FRAME_OUTPUT_HDR;
        assert_true(n > 0 && n <= 16384);
        assert_int_equal(buf[VG_FRAME_OUTPUT_HDR], 'a' + (int)(off % 26));
        off += n;
    }
    console_msg m;
    assert_int_equal(hd_console_viewer_next(&v, buf, sizeof(buf), &m), 0);

    /* New output in the log reaches the viewer through inotify. */
    wakes = 0;
    write_log(10, 'z');
    ev_run(cfg.loop, EVRUN_NOWAIT);
    assert_true(wakes > 0);
    m = next(&v);
    assert_int_equal(vg_frame_get_u64(buf + 1), 40000);
    assert_int_equal(m.len, VG_FRAME_OUTPUT_HDR + 10);
    hd_console_detach(&v);
    hd_console_free(c);
}

static void test_write_lock_and_refusals(void **state)
{
    (void)state;
    write_log(100, 0);
    console *c = make();
    console_viewer a = {.wake = wake}, b = {.wake = wake}, r = {.wake = wake};
    vg_err err;
    assert_int_equal(hd_console_attach(c, &a, "alice", 1, 0, "end", &err), VG_OK);
    assert_int_equal(hd_console_attach(c, &b, "bob", 1, 0, "end", &err), VG_OK);
    assert_int_equal(hd_console_attach(c, &r, "carol", 0, 0, "50", &err), VG_OK);
    assert_int_equal(hd_console_attach(c, &r, "x y", 0, 0, NULL, &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    console_viewer bad = {.wake = wake};
    assert_int_equal(hd_console_attach(c, &bad, "dan", 0, 0, "12abc", &err), VG_ERR);
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    expect_type(&r, "hello");
    assert_non_null(strstr((char *)buf, "\"offset\":50"));
    expect_type(&r, "viewers");

    const unsigned char input[] = {VG_OP_INPUT, 'l', 's'};
    hd_console_viewer_recv(&r, 1, input, sizeof(input));
    expect_type(&r, "error");
    assert_non_null(strstr((char *)buf, "\"code\":\"read_only\""));
    expect_type(&b, "hello");
    hd_console_viewer_recv(&b, 1, input, sizeof(input));
    expect_type(&b, "error");
    assert_non_null(strstr((char *)buf, "\"code\":\"not_writer\""));
    /* the writer itself: the socket is not connected, so the input cannot reach the guest */
    hd_console_viewer_recv(&a, 1, input, sizeof(input));
    expect_type(&a, "error");
    assert_non_null(strstr((char *)buf, "\"code\":\"unavailable\""));

    /* take-over: everyone hears about it, the previous holder is named */
    const char take[] = "{\"type\":\"take\"}";
    hd_console_viewer_recv(&b, 0, (const unsigned char *)take, strlen(take));
    expect_type(&a, "hello");
    expect_type(&a, "writer");
    assert_non_null(strstr((char *)buf, "\"user\":\"bob\""));
    assert_non_null(strstr((char *)buf, "\"previous\":\"v1\""));
    hd_console_viewer_recv(&r, 0, (const unsigned char *)take, strlen(take));
    expect_type(&r, "error");
    assert_non_null(strstr((char *)buf, "read_only"));

    const char ping[] = "{\"type\":\"ping\",\"id\":7}";
    hd_console_viewer_recv(&r, 0, (const unsigned char *)ping, strlen(ping));
    const char junk[] = "{\"type\":\"dance\"}";
    hd_console_viewer_recv(&r, 0, (const unsigned char *)junk, strlen(junk));
    expect_type(&r, "error");
    assert_non_null(strstr((char *)buf, "\"code\":\"unknown\""));
    expect_type(&r, "writer");
    expect_type(&r, "pong");
    assert_non_null(strstr((char *)buf, "\"id\":7"));
    console_msg m = next(&r);
    assert_true(m.binary);
    assert_int_equal(vg_frame_get_u64(buf + 1), 50);

    /* the console goes away: viewers are told not_found and closed with 4004 */
    hd_console_free(c);
    expect_type(&a, "error");
    assert_non_null(strstr((char *)buf, "not_found"));
    m = next(&a);
    assert_int_equal(m.close_code, 4004);
    hd_console_detach(&a);
}

static void test_laggards(void **state)
{
    (void)state;
    cfg.ring_size = 4096;
    write_log(3000, 0);
    console *c = make();
    console_viewer v = {.wake = wake};
    vg_err err;
    assert_int_equal(hd_console_attach(c, &v, "alice", 0, 0, "ring", &err), VG_OK);
    expect_type(&v, "hello");
    expect_type(&v, "viewers");
    console_msg m = next(&v);
    assert_int_equal(m.len, VG_FRAME_OUTPUT_HDR + 3000);
    write_log(10000, 0);
    ev_run(cfg.loop, EVRUN_NOWAIT);
    assert_int_equal(hd_console_start(c), 13000 - 4096);
    m = next(&v); /* skip: a GAP, then the data that is left */
    assert_true(m.binary);
    assert_int_equal(buf[0], VG_OP_GAP);
    assert_int_equal(vg_frame_get_u64(buf + 1), 3000);
    assert_int_equal(vg_frame_get_u64(buf + 9), 13000 - 4096);
    m = next(&v);
    assert_int_equal(vg_frame_get_u64(buf + 1), 13000 - 4096);

    /* close policy: a viewer that fell behind is closed with 4408, but a resume from an old
     * offset still gets its GAP */
    cfg.laggard_close = 1;
    console_viewer old = {.wake = wake};
    assert_int_equal(hd_console_attach(c, &old, "bob", 0, 0, "10", &err), VG_OK);
    expect_type(&old, "hello");
    expect_type(&old, "viewers");
    expect_type(&v, "joined"); /* the others hear of a newcomer as one small delta */
    assert_non_null(strstr((char *)buf, "\"user\":\"bob\""));
    assert_non_null(strstr((char *)buf, "\"count\":2"));
    m = next(&old);
    assert_int_equal(buf[0], VG_OP_GAP);
    write_log(5000, 0);
    ev_run(cfg.loop, EVRUN_NOWAIT);
    m = next(&v);
    assert_int_equal(m.close_code, 4408);
    cfg.laggard_close = 0;
    cfg.ring_size = 65536;
    hd_console_detach(&old);
    hd_console_detach(&v);
    hd_console_free(c);
}

/* Who is attached, at scale: deltas to those attached, the list (summarised) to a newcomer,
 * and the list again to one that fell more than CONSOLE_EVENTS events behind. */
static void test_membership_deltas(void **state)
{
    (void)state;
    write_log(10, 0);
    console *c = make();
    enum { N = 120 };
    static console_viewer vs[N];
    vg_err err;
    char user[16];
    memset(vs, 0, sizeof(vs));
    for (int i = 0; i < N; i++) {
        vs[i].wake = wake;
        snprintf(user, sizeof(user), "u%d", i);
        wakes = 0;
        assert_int_equal(hd_console_attach(c, &vs[i], user, i == 0, 0, "end", &err), VG_OK);
        /* the newcomer (its hello), each one to tell, and for the first the new writer */
        assert_int_equal(wakes, i + 1 + (i == 0));
    }
    /* the newest gets hello and a list of at most 50 with the count of all and the writer */
    expect_type(&vs[N - 1], "hello");
    expect_type(&vs[N - 1], "viewers");
    assert_non_null(strstr((char *)buf, "\"count\":120"));
    assert_non_null(strstr((char *)buf, "\"truncated\":true"));
    assert_non_null(strstr((char *)buf, "\"user\":\"u0\",\"mode\":\"rw\",\"writer\":true"));
    size_t listed = 0;
    for (const char *p = (char *)buf; (p = strstr(p, "\"viewer\":")); p++)
        listed++;
    assert_int_equal(listed, 50);
    console_msg m;
    assert_int_equal(hd_console_viewer_next(&vs[N - 1], buf, sizeof(buf), &m), 0);
    /* one that read its list before the last 10 joined gets 10 deltas, then nothing */
    console_viewer *mid = &vs[N - 11];
    expect_type(mid, "hello");
    mid->pending = 0;                    /* as if it had read its list when it joined */
    uint64_t seq = vs[N - 1].event_next; /* the console's event count: the last joined is past it */
    mid->event_next = seq - 10;
    for (int i = 0; i < 10; i++) {
        expect_type(mid, "joined");
        snprintf(user, sizeof(user), "\"u%d\"", N - 10 + i);
        assert_non_null(strstr((char *)buf, user));
    }
    assert_int_equal(hd_console_viewer_next(mid, buf, sizeof(buf), &m), 0);
    /* a leaver: a delta with the new count */
    hd_console_detach(&vs[5]);
    expect_type(mid, "left");
    assert_non_null(strstr((char *)buf, "\"viewer\":\"v6\""));
    assert_non_null(strstr((char *)buf, "\"count\":119"));
    /* one more than CONSOLE_EVENTS behind: the list again, not the deltas */
    mid->event_next = seq + 1 - 33;
    expect_type(mid, "viewers");
    assert_non_null(strstr((char *)buf, "\"count\":119"));
    assert_int_equal(hd_console_viewer_next(mid, buf, sizeof(buf), &m), 0);
    for (int i = 0; i < N; i++)
        hd_console_detach(&vs[i]);
    hd_console_free(c);
}

/* Link v2: a channel reads the output and hears every notice once; its members are viewers
 * (listed, counted, may write) told only their hello and list; the console going away closes
 * the channel with 4004 and tells its members nothing (the gateway may follow the VM). */
static void test_channel_and_members(void **state)
{
    (void)state;
    write_log(20000, 0);
    console *c = make();
    console_viewer ch = {.wake = wake, .kind = CONSOLE_CHANNEL};
    console_viewer m1 = {.wake = wake, .kind = CONSOLE_MEMBER};
    console_viewer m2 = {.wake = wake, .kind = CONSOLE_MEMBER};
    vg_err err;
    assert_int_equal(hd_console_attach(c, &ch, NULL, 0, 0, "ring", &err), VG_OK);
    expect_type(&ch, "hello");
    assert_non_null(strstr((char *)buf, "\"version\":2"));
    assert_non_null(strstr((char *)buf, "\"ring_size\":65536"));
    assert_non_null(strstr((char *)buf, "\"laggard_policy\":\"skip\""));
    assert_int_equal(hd_console_attach(c, &m1, "alice", 1, 0, "end", &err), VG_OK);
    assert_int_equal(hd_console_attach(c, &m2, "bob", 0, 0, "end", &err), VG_OK);
    /* the members: hello and list, then nothing (no output, no notices) */
    expect_type(&m1, "hello");
    assert_non_null(strstr((char *)buf, "\"writer\":true"));
    expect_type(&m1, "viewers");
    assert_non_null(strstr((char *)buf, "\"count\":2"));
    console_msg m;
    assert_int_equal(hd_console_viewer_next(&m1, buf, sizeof(buf), &m), 0);
    expect_type(&m2, "hello");
    expect_type(&m2, "viewers");
    assert_int_equal(hd_console_viewer_next(&m2, buf, sizeof(buf), &m), 0);
    /* the channel: the writer and both joins once, before any output; no list of its own */
    assert_int_equal(hd_console_viewer_control(&ch, buf, sizeof(buf), &m), 1);
    assert_non_null(strstr((char *)buf, "\"type\":\"writer\""));
    expect_type(&ch, "joined");
    assert_non_null(strstr((char *)buf, "\"user\":\"alice\""));
    expect_type(&ch, "joined");
    assert_non_null(strstr((char *)buf, "\"count\":2"));
    assert_int_equal(hd_console_viewer_control(&ch, buf, sizeof(buf), &m), 0);
    uint64_t off = 0;
    while (off < 20000) {
        m = next(&ch);
        assert_true(m.binary);
        assert_int_equal(vg_frame_get_u64(buf + 1), off);
        off += m.len - VG_FRAME_OUTPUT_HDR;
    }
    /* a member's input is the writer's; a take by a member moves the lock */
    m2.rw = 1;
    hd_console_take(&m2);
    expect_type(&ch, "writer");
    assert_non_null(strstr((char *)buf, "\"user\":\"bob\""));
    assert_int_equal(hd_console_viewer_next(&m1, buf, sizeof(buf), &m), 0);
    hd_console_detach(&m2);
    expect_type(&ch, "writer");
    expect_type(&ch, "left");
    assert_non_null(strstr((char *)buf, "\"count\":1"));
    hd_console_free(c);
    assert_null(m1.con);
    assert_int_equal(hd_console_viewer_next(&m1, buf, sizeof(buf), &m), 1);
    m = next(&ch);
    assert_int_equal(m.close_code, 4004);
    assert_int_equal(m.len, 0);
}

/* A console fed by its socket alone (no log) saves its end a reserve ahead of what it has read,
 * and the reserve doubles while saves come fast: 5 MiB read at once cost three saves (reserves
 * of 1, 2 and 4 MiB), not five, and the saved end stays past every byte read. */
static void test_socket_console_reserve(void **state)
{
    (void)state;
    char sock[100], state_path[200];
    snprintf(sock, sizeof(sock), "%s/com-vm.sock", dir);
    snprintf(state_path, sizeof(state_path), "%s/vm-serial0.state", dir);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(srv >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    assert_int_equal(bind(srv, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(srv, 1), 0);
    vg_err err;
    console *c = hd_console_new("vm", "serial0", "serial", sock, "", &err);
    assert_non_null(c);
    int guest = accept(srv, NULL, NULL);
    assert_true(guest >= 0);
    static unsigned char chunk[65536];
    memset(chunk, 'x', sizeof(chunk));
    const uint64_t total = 60u << 20;
    for (uint64_t sent = 0; sent < total; sent += sizeof(chunk)) {
        assert_int_equal(write(guest, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
        while (hd_console_end(c) < sent + sizeof(chunk))
            ev_run(cfg.loop, EVRUN_NOWAIT);
    }
    console_state st;
    assert_int_equal(hd_state_load(state_path, &st, &err), VG_OK);
    assert_int_equal(hd_console_end(c), total);
    /* Saves at 0, 16 and 48 MiB, each reserving twice as far ahead (16, 32, 64 MiB) as they
     * come quickly: the end saved is 112 MiB. A fixed 16 MiB reserve would have saved four
     * times and end at 64 MiB, at most 16 MiB past the bytes. */
    assert_true(st.end >= total + (32u << 20));
    assert_true(st.end <= total + (64u << 20));
    hd_console_free(c);
    close(guest);
    close(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_and_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_lock_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_laggards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_membership_deltas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_and_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_console_reserve, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
