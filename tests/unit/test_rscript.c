/* vg_rscript: reading scripts behind the shared prelude, and the EVALSHA / NOSCRIPT retry as it
 * goes over the wire. The wire part drives a hiredis async context by hand over a unix socket
 * pair, so no Redis and no event loop are needed (test_redis.c runs scripts on a real Redis). */
#include "vg_rscript.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#define REPO_SCRIPTS VG_TEST_DATA_DIR "/../../../redis-scripts"
/* Every script of tmpdir is loaded behind this prelude; one.lua is "return 1", so Redis gets
 * "-- p\nreturn 1" and the SHA1 is that text's. */
#define PRELUDE "-- p\n"
#define ONE_SHA "447fe8b9f0266380c79b2fd9d537b5e9ae83042d"

static char tmpdir[64];

static void write_file(const char *name, const char *data, size_t len)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/vg-rscript-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char lib[128];
    snprintf(lib, sizeof(lib), "%s/lib", tmpdir);
    if (mkdir(lib, 0700) != 0)
        return -1;
    write_file("lib/prelude.lua", PRELUDE, strlen(PRELUDE));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_open_computes_sha(void **state)
{
    (void)state;
    write_file("one.lua", "return 1", 8);
    vg_err err;
    vg_rscript *s = vg_rscript_open(tmpdir, "one.lua", &err);
    assert_non_null(s);
    assert_string_equal(vg_rscript_name(s), "one.lua");
    /* What SCRIPT LOAD of the prelude and 'return 1' answers. */
    assert_string_equal(vg_rscript_sha(s), ONE_SHA);
    vg_rscript_free(s);
}

/* The SHA1 covers the prelude: Redis must not keep running a script under its old prelude. */
static void test_sha_covers_prelude(void **state)
{
    (void)state;
    write_file("one.lua", "return 1", 8);
    write_file("lib/prelude.lua", "-- q\n", 5);
    vg_err err;
    vg_rscript *s = vg_rscript_open(tmpdir, "one.lua", &err);
    write_file("lib/prelude.lua", PRELUDE, strlen(PRELUDE));
    assert_non_null(s);
    assert_string_equal(vg_rscript_sha(s), "f1222a46799ba30a3ce1f3414a12403110f65e23");
    vg_rscript_free(s);
}

/* A scripts_dir without lib/prelude.lua stops the start like a missing script, naming it. */
static void test_missing_prelude_names_it(void **state)
{
    (void)state;
    char bare[128], cmd[160];
    snprintf(bare, sizeof(bare), "%s/bare", tmpdir);
    assert_int_equal(mkdir(bare, 0700), 0);
    write_file("bare/one.lua", "return 1", 8);
    vg_err err;
    assert_null(vg_rscript_open(bare, "one.lua", &err));
    assert_int_equal(err.code, VG_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "lib/prelude.lua"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", bare);
    assert_int_equal(system(cmd), 0);
}

static void test_missing_file_names_it(void **state)
{
    (void)state;
    vg_err err;
    assert_null(vg_rscript_open(tmpdir, "absent.lua", &err));
    assert_int_equal(err.code, VG_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "absent.lua"));
    assert_non_null(strstr(err.msg, tmpdir));
}

static void test_bad_files(void **state)
{
    (void)state;
    vg_err err;
    write_file("empty.lua", "", 0);
    assert_null(vg_rscript_open(tmpdir, "empty.lua", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "empty.lua"));

    char *big = malloc(VG_RSCRIPT_MAX + 1);
    assert_non_null(big);
    memset(big, '-', VG_RSCRIPT_MAX + 1);
    write_file("big.lua", big, VG_RSCRIPT_MAX + 1);
    free(big);
    assert_null(vg_rscript_open(tmpdir, "big.lua", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);

    /* A directory opens but does not read. */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/dir.lua", tmpdir);
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_null(vg_rscript_open(tmpdir, "dir.lua", &err));
    assert_int_not_equal(err.code, VG_E_NONE);
}

static void test_bad_names_and_dirs(void **state)
{
    (void)state;
    vg_err err;
    const char *names[] = {"", ".hidden.lua", "../x.lua", "a/b.lua"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_null(vg_rscript_open(tmpdir, names[i], &err));
        assert_int_equal(err.code, VG_E_BAD_REQUEST);
    }
    assert_null(vg_rscript_open(NULL, "x.lua", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    assert_null(vg_rscript_open("", "x.lua", &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

/* Every script the daemons load parses as a file here; Redis compiles them in the integration
 * tests. */
static void test_repo_scripts_open(void **state)
{
    (void)state;
    const char *names[] = {"hostd_sync.lua",       "gateway_login.lua",
                           "gateway_login_ok.lua", "gateway_bootstrap.lua",
                           "gateway_vm_list.lua",  "gateway_host_list.lua",
                           "gateway_consoles.lua", "gateway_console_lookup.lua",
                           "gateway_env_list.lua", "gateway_events_scope.lua"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        vg_err err;
        vg_rscript *s = vg_rscript_open(REPO_SCRIPTS, names[i], &err);
        if (!s)
            fail_msg("%s: %s", names[i], err.msg);
        vg_rscript_free(s);
    }
}

/* ---- over the wire ---- */

typedef struct wire {
    int server;
    redisAsyncContext *ac;
    int calls;
    long long last;
    int last_type;
} wire;

static void wire_open(wire *w)
{
    memset(w, 0, sizeof(*w));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "%s/redis.sock", tmpdir);
    const char *path = a.sun_path;
    unlink(path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l, 1), 0);
    w->ac = redisAsyncConnectUnix(path);
    assert_non_null(w->ac);
    assert_int_equal(w->ac->err, 0);
    w->server = accept(l, NULL, NULL);
    assert_true(w->server >= 0);
    close(l);
    w->ac->data = w;
}

/* Flushes what hiredis queued and returns what the server side received. */
static char *wire_sent(wire *w)
{
    redisAsyncHandleWrite(w->ac);
    static char buf[4096];
    int flags = fcntl(w->server, F_GETFL);
    fcntl(w->server, F_SETFL, flags | O_NONBLOCK);
    ssize_t n = read(w->server, buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void wire_answer(wire *w, const char *resp)
{
    assert_int_equal(write(w->server, resp, strlen(resp)), (ssize_t)strlen(resp));
    redisAsyncHandleRead(w->ac);
}

static void wire_close(wire *w)
{
    redisAsyncFree(w->ac);
    close(w->server);
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    wire *w = priv;
    redisReply *reply = r;
    w->calls++;
    w->last_type = reply ? reply->type : -1;
    w->last = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* The script one.lua ("return 1") and a fresh connection for it. */
static vg_rscript *open_one(wire *w)
{
    write_file("one.lua", "return 1", 8);
    vg_err err;
    vg_rscript *s = vg_rscript_open(tmpdir, "one.lua", &err);
    assert_non_null(s);
    wire_open(w);
    return s;
}

static void test_call_sends_evalsha(void **state)
{
    (void)state;
    wire w;
    vg_rscript *s = open_one(&w);
    assert_int_equal(vg_rscript_load(s, w.ac), VG_OK);
    const char *argv[] = {"k", "a b"};
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 1, 2, argv, NULL), VG_OK);
    const char *sent = wire_sent(&w);
    assert_non_null(strstr(sent, "*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$13\r\n-- p\nreturn 1\r\n"));
    assert_non_null(strstr(sent, "*5\r\n$7\r\nEVALSHA\r\n$40\r\n" ONE_SHA "\r\n$1\r\n1\r\n"
                                 "$1\r\nk\r\n$3\r\na b\r\n"));
    wire_answer(&w, "$40\r\n" ONE_SHA "\r\n:1\r\n");
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.last, 1);
    wire_close(&w);
    vg_rscript_free(s);
}

static void test_noscript_reloads_and_retries_once(void **state)
{
    (void)state;
    wire w;
    vg_rscript *s = open_one(&w);
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 0, 0, NULL, NULL), VG_OK);
    assert_int_equal(count(wire_sent(&w), "EVALSHA"), 1);

    /* Redis flushed its scripts: the call is not answered yet but loaded and sent again. */
    wire_answer(&w, "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    assert_int_equal(w.calls, 0);
    const char *again = wire_sent(&w);
    assert_non_null(strstr(again, "SCRIPT\r\n$4\r\nLOAD"));
    assert_int_equal(count(again, "EVALSHA"), 1);
    assert_true(strstr(again, "LOAD") < strstr(again, "EVALSHA"));

    /* A second NOSCRIPT is the caller's answer: no endless reloading. */
    wire_answer(&w, "$40\r\n" ONE_SHA "\r\n-NOSCRIPT again\r\n");
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.last_type, REDIS_REPLY_ERROR);
    assert_int_equal(count(wire_sent(&w), "EVALSHA"), 0);

    /* Other errors are answered at once. */
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 0, 0, NULL, NULL), VG_OK);
    wire_sent(&w);
    wire_answer(&w, "-ERR boom\r\n");
    assert_int_equal(w.calls, 2);
    assert_int_equal(w.last_type, REDIS_REPLY_ERROR);

    /* A call still pending when the connection is freed gets NULL. */
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 0, 0, NULL, NULL), VG_OK);
    wire_close(&w);
    assert_int_equal(w.calls, 3);
    assert_int_equal(w.last_type, -1);
    vg_rscript_free(s);
}

static void test_call_rejects_bad_counts(void **state)
{
    (void)state;
    wire w;
    vg_rscript *s = open_one(&w);
    const char *argv[VG_RSCRIPT_MAX_ARGS + 1] = {0};
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 2, 1, argv, NULL), VG_ERR);
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, -1, 0, argv, NULL), VG_ERR);
    assert_int_equal(vg_rscript_call(s, w.ac, on_reply, &w, 0, VG_RSCRIPT_MAX_ARGS + 1, argv, NULL),
                     VG_ERR);
    wire_close(&w);
    assert_int_equal(w.calls, 0);
    vg_rscript_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_computes_sha),
        cmocka_unit_test(test_sha_covers_prelude),
        cmocka_unit_test(test_missing_prelude_names_it),
        cmocka_unit_test(test_missing_file_names_it),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_names_and_dirs),
        cmocka_unit_test(test_repo_scripts_open),
        cmocka_unit_test(test_call_sends_evalsha),
        cmocka_unit_test(test_noscript_reloads_and_retries_once),
        cmocka_unit_test(test_call_rejects_bad_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
