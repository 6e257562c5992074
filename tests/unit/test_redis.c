/* vg_redis against a real redis-server that the test starts, stops and starts again on one port:
 * connecting, AUTH, reconnection after a restart, pub/sub that subscribes again, and scripts
 * (with the shared prelude) loaded again after SCRIPT FLUSH and restarts. The repository's
 * scripts that use the prelude run on a small registry too. */
#include "vg_redis.h"
#include "vg_util.h"

#include <ev.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#define REPO_SCRIPTS VG_TEST_DATA_DIR "/../../../redis-scripts"
#define PASSWORD "test-password"

static char tmpdir[64];
static int port;
static pid_t server = -1;
static struct ev_loop *loop;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

/* A synchronous connection of the test's own, authenticated. */
static redisContext *admin(void)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        redisFree(c);
        return NULL;
    }
    redisReply *r = redisCommand(c, "AUTH %s", PASSWORD);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!ok) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static void admin_cmd(const char *fmt, ...)
{
    redisContext *c = admin();
    assert_non_null(c);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

static void server_start(void)
{
    char portarg[16];
    snprintf(portarg, sizeof(portarg), "%d", port);
    server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execlp("redis-server", "redis-server", "--port", portarg, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--requirepass", PASSWORD, "--dir", tmpdir, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        redisContext *c = admin();
        if (c) {
            redisFree(c);
            return;
        }
        usleep(10000);
    }
    fail_msg("redis-server did not start on port %d", port);
}

static void server_stop(void)
{
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
    }
    server = -1;
}

static void write_file(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/vg-redis-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    char lib[128];
    snprintf(lib, sizeof(lib), "%s/lib", tmpdir);
    if (mkdir(lib, 0700) != 0 || (port = free_port()) <= 0)
        return -1;
    loop = ev_loop_new(EVFLAG_AUTO);
    return loop ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    server_stop();
    ev_loop_destroy(loop);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int each_setup(void **state)
{
    (void)state;
    server_start();
    return 0;
}

static int each_teardown(void **state)
{
    (void)state;
    server_stop();
    return 0;
}

/* ---- driving the loop ---- */

static void tick_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

/* Runs the loop until *flag is set or ms pass; returns *flag. */
static int run_until(const int *flag, int ms)
{
    ev_timer tick;
    ev_timer_init(&tick, tick_cb, 0.01, 0.01);
    ev_timer_start(loop, &tick);
    int64_t end = vg_mono_ms() + ms;
    while (!*flag && vg_mono_ms() < end)
        ev_run(loop, EVRUN_ONCE);
    ev_timer_stop(loop, &tick);
    return *flag;
}

static void run_for(int ms)
{
    int never = 0;
    run_until(&never, ms);
}

/* What a command's callback saw. */
typedef struct answer {
    int done;
    int type;
    long long integer;
    char str[128];
} answer;

static void answer_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    answer *a = priv;
    a->done = 1;
    a->type = reply ? reply->type : -1;
    a->integer = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    a->str[0] = '\0';
    if (reply && reply->str)
        snprintf(a->str, sizeof(a->str), "%s", reply->str);
}

static int connects;

static void count_connect(vg_redis *r, void *priv)
{
    (void)r;
    (void)priv;
    connects++;
}

static vg_redis *client(const char *password, vg_rscript *const *scripts, size_t n)
{
    vg_redis_config cfg = {
        .name = "test",
        .host = "127.0.0.1",
        .port = port,
        .password = password,
        .scripts = scripts,
        .nscripts = n,
        .on_connect = count_connect,
    };
    vg_err err;
    connects = 0;
    vg_redis *r = vg_redis_new(loop, &cfg, &err);
    if (!r)
        fail_msg("vg_redis_new: %s", err.msg);
    return r;
}

/* Sends PING until it is answered (the client reconnects by itself), within ms. */
static int ping_until_answered(vg_redis *r, int ms)
{
    int64_t end = vg_mono_ms() + ms;
    while (vg_mono_ms() < end) {
        answer a = {0};
        if (vg_redis_cmd(r, answer_cb, &a, "PING") == VG_OK && run_until(&a.done, 1000) &&
            a.type == REDIS_REPLY_STATUS)
            return 1;
        run_for(20);
    }
    return 0;
}

/* ---- tests ---- */

static void test_bad_config(void **state)
{
    (void)state;
    vg_redis_config cfg = {.name = "test", .host = "", .port = 6379};
    vg_err err;
    assert_null(vg_redis_new(loop, &cfg, &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
    cfg.host = "127.0.0.1";
    cfg.port = 70000;
    assert_null(vg_redis_new(loop, &cfg, &err));
    assert_int_equal(err.code, VG_E_BAD_REQUEST);
}

static void test_connect_auth_and_commands(void **state)
{
    (void)state;
    vg_redis *r = client(PASSWORD, NULL, 0);
    assert_true(vg_redis_up(r));
    /* Queued while connecting, sent behind AUTH. */
    answer set = {0}, get = {0};
    assert_int_equal(vg_redis_cmd(r, answer_cb, &set, "SET %s %s", "vg:test", "a b"), VG_OK);
    const char *argv[] = {"GET", "vg:test"};
    assert_int_equal(vg_redis_argv(r, answer_cb, &get, 2, argv, NULL), VG_OK);
    assert_true(run_until(&get.done, 2000));
    assert_int_equal(set.type, REDIS_REPLY_STATUS);
    assert_int_equal(get.type, REDIS_REPLY_STRING);
    assert_string_equal(get.str, "a b");
    assert_int_equal(connects, 1);

    /* Freeing answers what is still in flight with NULL. */
    answer late = {0};
    assert_int_equal(vg_redis_cmd(r, answer_cb, &late, "PING"), VG_OK);
    vg_redis_free(r);
    assert_true(late.done);
    assert_int_equal(late.type, -1);
}

static void test_auth_refused(void **state)
{
    (void)state;
    const char *passwords[] = {"wrong", NULL};
    for (size_t i = 0; i < 2; i++) {
        vg_redis *r = client(passwords[i], NULL, 0);
        answer a = {0};
        assert_int_equal(vg_redis_cmd(r, answer_cb, &a, "GET vg:test"), VG_OK);
        assert_true(run_until(&a.done, 2000));
        /* The command is refused, not answered, and the client stays usable. */
        assert_int_equal(a.type, REDIS_REPLY_ERROR);
        assert_non_null(strstr(a.str, "NOAUTH"));
        assert_true(vg_redis_up(r));
        vg_redis_free(r);
    }
}

static void test_reconnects_after_restart(void **state)
{
    (void)state;
    vg_redis *r = client(PASSWORD, NULL, 0);
    assert_true(ping_until_answered(r, 2000));

    answer lost = {0};
    assert_int_equal(vg_redis_cmd(r, answer_cb, &lost, "BLPOP vg:never 10"), VG_OK);
    run_for(50);
    server_stop();
    assert_true(run_until(&lost.done, 2000));
    assert_int_equal(lost.type, -1); /* in flight when the connection dropped */
    /* Down: commands fail at once and their callback never runs. */
    assert_false(vg_redis_up(r));
    answer refused = {0};
    assert_int_equal(vg_redis_cmd(r, answer_cb, &refused, "PING"), VG_ERR);

    /* Redis stays away long enough for the backoff to reach its cap, then comes back: the
     * client is back within the capped delay. */
    run_for(3000);
    server_start();
    int64_t t0 = vg_mono_ms();
    assert_true(ping_until_answered(r, 4000));
    assert_true(vg_mono_ms() - t0 < 3000);
    assert_false(refused.done);
    assert_true(connects >= 2);
    vg_redis_free(r);
}

typedef struct heard {
    int messages;
    char last[64];
} heard;

static void heard_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    heard *h = priv;
    const char *payload;
    size_t len;
    if (vg_redis_message(reply, "vg:test", &payload, &len)) {
        h->messages++;
        snprintf(h->last, sizeof(h->last), "%.*s", (int)len, payload);
    }
}

/* Publishes until the subscriber hears one, within ms. */
static int publish_until_heard(heard *h, const char *payload, int ms)
{
    int64_t end = vg_mono_ms() + ms;
    int before = h->messages;
    while (vg_mono_ms() < end && h->messages == before) {
        redisContext *c = admin();
        if (c) {
            freeReplyObject(redisCommand(c, "PUBLISH vg:test %s", payload));
            redisFree(c);
        }
        run_for(50);
    }
    return h->messages > before && strcmp(h->last, payload) == 0;
}

static void test_pubsub_resubscribes_after_restart(void **state)
{
    (void)state;
    vg_redis *r = client(PASSWORD, NULL, 0);
    heard h = {0};
    assert_int_equal(vg_redis_subscribe(r, "vg:test", heard_cb, &h), VG_OK);
    /* One callback per channel. */
    assert_int_equal(vg_redis_subscribe(r, "vg:test", heard_cb, &h), VG_ERR);
    assert_true(publish_until_heard(&h, "one", 3000));

    server_stop();
    run_for(300);
    server_start();
    assert_true(publish_until_heard(&h, "two", 4000));
    /* The command side came back too, and was never blocked by the subscription. */
    assert_true(ping_until_answered(r, 2000));
    vg_redis_free(r);
}

/* The prelude defines twice(); the script calls it. */
static vg_rscript *open_twice(void)
{
    write_file("lib/prelude.lua", "local function twice(x) return x * 2 end\n");
    write_file("twice.lua", "return twice(tonumber(ARGV[1]))\n");
    vg_err err;
    vg_rscript *s = vg_rscript_open(tmpdir, "twice.lua", &err);
    if (!s)
        fail_msg("%s", err.msg);
    return s;
}

static long long eval_twice(vg_redis *r, vg_rscript *s, const char *arg)
{
    answer a = {0};
    const char *argv[] = {arg};
    assert_int_equal(vg_redis_eval(r, s, answer_cb, &a, 0, 1, argv, NULL), VG_OK);
    assert_true(run_until(&a.done, 2000));
    if (a.type != REDIS_REPLY_INTEGER)
        fail_msg("EVALSHA answered type %d: %s", a.type, a.str);
    return a.integer;
}

static void test_scripts_reload_with_prelude(void **state)
{
    (void)state;
    vg_rscript *s = open_twice();
    vg_redis *r = client(PASSWORD, &s, 1);
    assert_int_equal(eval_twice(r, s, "21"), 42);

    /* Loaded on connecting, under the SHA1 of prelude and script together. */
    redisContext *c = admin();
    assert_non_null(c);
    redisReply *exists = redisCommand(c, "SCRIPT EXISTS %s", vg_rscript_sha(s));
    assert_non_null(exists);
    assert_int_equal(exists->type, REDIS_REPLY_ARRAY);
    assert_int_equal(exists->element[0]->integer, 1);
    freeReplyObject(exists);
    redisFree(c);

    /* SCRIPT FLUSH: the call meets NOSCRIPT, loads prelude and script again, and succeeds. */
    admin_cmd("SCRIPT FLUSH");
    assert_int_equal(eval_twice(r, s, "5"), 10);

    /* A restarted Redis has no scripts: the new connection loads them before the first call. */
    server_stop();
    run_for(200);
    server_start();
    assert_true(ping_until_answered(r, 4000));
    assert_int_equal(eval_twice(r, s, "-4"), -8);

    /* A missing script is an error, not a crash. */
    answer none = {0};
    assert_int_equal(vg_redis_eval(r, NULL, answer_cb, &none, 0, 0, NULL, NULL), VG_ERR);
    assert_false(none.done);
    vg_redis_free(r);
    vg_rscript_free(s);
}

/* ---- the repository's scripts on the prelude's user_active_projects ---- */

static redisReply *repo_eval(vg_redis *r, vg_rscript *s, int argc, const char **argv,
                             redisContext *check)
{
    answer a = {0};
    assert_int_equal(vg_redis_eval(r, s, answer_cb, &a, 0, argc, argv, NULL), VG_OK);
    assert_true(run_until(&a.done, 2000));
    if (a.type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", vg_rscript_name(s), a.str);
    /* The same call on the test's connection, to read the whole nested answer. */
    const char *full[16] = {"EVALSHA", vg_rscript_sha(s), "0"};
    for (int i = 0; i < argc; i++)
        full[3 + i] = argv[i];
    redisReply *reply = redisCommandArgv(check, argc + 3, full, NULL);
    assert_non_null(reply);
    return reply;
}

static vg_rscript *open_repo(const char *name)
{
    vg_err err;
    vg_rscript *s = vg_rscript_open(REPO_SCRIPTS, name, &err);
    if (!s)
        fail_msg("%s: %s", name, err.msg);
    return s;
}

static void test_repo_scripts_see_active_projects(void **state)
{
    (void)state;
    /* alice: member of active p1, of deactivated p2, and listed in p3 without membership. */
    admin_cmd("SADD vg:user:alice:projects p1 p2 p3");
    admin_cmd("HSET vg:user:alice role user");
    admin_cmd("HSET vg:project:p1 active 1");
    admin_cmd("HSET vg:project:p2 active 0");
    admin_cmd("HSET vg:project:p3 active 1");
    admin_cmd("HSET vg:project:p1:members alice user");
    admin_cmd("HSET vg:project:p2:members alice user");
    admin_cmd("SADD vg:vms v1 v2 v3");
    admin_cmd("SADD vg:project:p1:vms v1");
    admin_cmd("SADD vg:project:p2:vms v2");
    admin_cmd("SADD vg:project:p3:vms v3");
    for (int i = 1; i <= 3; i++) {
        admin_cmd("HSET vg:vmdef:v%d project p%d", i, i);
        admin_cmd("HSET vg:vm:v%d name v%d host h1 state running", i, i);
        admin_cmd("SADD vg:envs e%d", i);
        admin_cmd("HSET vg:env:e%d project p%d", i, i);
    }
    vg_rscript *scripts[] = {open_repo("gateway_vm_list.lua"), open_repo("gateway_env_list.lua"),
                             open_repo("gateway_events_scope.lua")};
    vg_redis *r = client(PASSWORD, scripts, 3);
    redisContext *check = admin();
    assert_non_null(check);

    const char *vm_args[] = {"alice", "0", "1000", "", "", "", "", "", ""};
    redisReply *vms = repo_eval(r, scripts[0], 9, vm_args, check);
    assert_int_equal(vms->type, REDIS_REPLY_ARRAY);
    assert_int_equal(vms->elements, 2);
    assert_int_equal(vms->element[0]->elements, 1);
    assert_string_equal(vms->element[0]->element[0]->element[0]->str, "v1");
    assert_int_equal(vms->element[1]->type, REDIS_REPLY_NIL);
    freeReplyObject(vms);

    const char *env_args[] = {"", "alice", "0"};
    redisReply *envs = repo_eval(r, scripts[1], 3, env_args, check);
    assert_int_equal(envs->elements, 2);
    assert_non_null(strstr(envs->element[1]->str, "\"e1\""));
    assert_null(strstr(envs->element[1]->str, "\"e2\""));
    assert_null(strstr(envs->element[1]->str, "\"e3\""));
    freeReplyObject(envs);

    const char *scope_args[] = {"alice"};
    redisReply *scope = repo_eval(r, scripts[2], 1, scope_args, check);
    const char *json = scope->element[1]->str;
    assert_non_null(strstr(json, "\"projects\":{\"p1\":true}"));
    assert_non_null(strstr(json, "\"vms\":{\"v1\":true}"));
    assert_non_null(strstr(json, "\"envs\":{\"e1\":true}"));
    freeReplyObject(scope);

    redisFree(check);
    vg_redis_free(r);
    for (size_t i = 0; i < 3; i++)
        vg_rscript_free(scripts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test_setup_teardown(test_connect_auth_and_commands, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_auth_refused, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_reconnects_after_restart, each_setup, each_teardown),
        cmocka_unit_test_setup_teardown(test_pubsub_resubscribes_after_restart, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_scripts_reload_with_prelude, each_setup,
                                        each_teardown),
        cmocka_unit_test_setup_teardown(test_repo_scripts_see_active_projects, each_setup,
                                        each_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
