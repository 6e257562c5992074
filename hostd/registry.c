#include "registry.h"

#include "vg_log.h"
#include "vg_util.h"
#include "vms.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REGISTRY_RETRY_S 1.0
#define REGISTRY_SOON_S 0.01

static struct ev_loop *loop;
static const registry_config *cfg;
static redisAsyncContext *ac;
static int ready; /* connected, authenticated, script loaded */
static char *script;
static char sha[41];
static ev_timer heartbeat;
static ev_timer soon;
static ev_timer retry;
static int64_t started_ms;

static void connect_redis(void);

static void schedule_retry(void)
{
    ready = 0;
    if (!ev_is_active(&retry)) {
        ev_timer_set(&retry, REGISTRY_RETRY_S, 0.);
        ev_timer_start(loop, &retry);
    }
}

static char *host_json(void)
{
    cJSON *o = cJSON_CreateObject();
    char buf[32];
    cJSON_AddStringToObject(o, "id", cfg->host_id);
    cJSON_AddStringToObject(o, "link", cfg->link_url);
    cJSON_AddStringToObject(o, "mgmt_addr", cfg->mgmt_addr);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long long mem = (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / (1024 * 1024);
    snprintf(buf, sizeof(buf), "%ld", cpus);
    cJSON_AddStringToObject(o, "cpus", buf);
    snprintf(buf, sizeof(buf), "%lld", mem);
    cJSON_AddStringToObject(o, "mem_mib", buf);
    cJSON_AddStringToObject(o, "version", VG_VERSION);
    snprintf(buf, sizeof(buf), "%lld", (long long)started_ms);
    cJSON_AddStringToObject(o, "started_ms", buf);
    snprintf(buf, sizeof(buf), "%ld", cfg->heartbeat_ms);
    cJSON_AddStringToObject(o, "heartbeat_ms", buf);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *vms_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (vms_vm *v = vms_first(); v; v = vms_next(v)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", vms_name(v));
        cJSON_AddStringToObject(o, "uuid", vms_uuid(v));
        cJSON_AddStringToObject(o, "state", vms_state(v));
        cJSON *cons = cJSON_AddObjectToObject(o, "consoles");
        for (size_t i = 0; i < vms_nconsoles(v); i++) {
            const console *c = vms_console_at(v, i);
            cJSON_AddStringToObject(cons, console_dev(c), console_path(c));
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static void on_loaded(redisAsyncContext *c, void *r, void *priv);

static void on_sync(redisAsyncContext *c, void *r, void *priv)
{
    (void)c;
    (void)priv;
    redisReply *reply = r;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        if (strncmp(reply->str, "NOSCRIPT", 8) == 0) {
            /* Redis restarted or flushed its script cache behind our back. */
            ready = 0;
            redisAsyncCommand(ac, on_loaded, NULL, "SCRIPT LOAD %s", script);
            return;
        }
        vg_warn("registry", "sync failed: %s", reply->str);
    }
}

static void sync_registry(void)
{
    if (!ready)
        return;
    char *host = host_json(), *vms = vms_json();
    char ttl[32], now[32];
    snprintf(ttl, sizeof(ttl), "%ld", cfg->heartbeat_ms * 3);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    if (host && vms)
        redisAsyncCommand(ac, on_sync, NULL, "EVALSHA %s 0 %s %s %s %s %s", sha, cfg->host_id, host,
                          vms, ttl, now);
    free(host);
    free(vms);
}

static void on_loaded(redisAsyncContext *c, void *r, void *priv)
{
    (void)c;
    (void)priv;
    redisReply *reply = r;
    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_STRING || reply->len != 40) {
        vg_error("registry", "SCRIPT LOAD failed: %s",
                 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        return;
    }
    memcpy(sha, reply->str, 40);
    sha[40] = '\0';
    ready = 1;
    vg_info("registry", "registered as host %s", cfg->host_id);
    sync_registry();
}

static void on_auth(redisAsyncContext *c, void *r, void *priv)
{
    (void)c;
    (void)priv;
    redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        vg_error("registry", "Redis AUTH failed: %s", reply->str);
}

static void on_connect(const redisAsyncContext *c, int status)
{
    if (status != REDIS_OK) {
        vg_warn("registry", "cannot connect to Redis %s:%d: %s", cfg->redis_host, cfg->redis_port,
                c->errstr);
        ac = NULL;
        schedule_retry();
        return;
    }
    vg_info("registry", "connected to Redis %s:%d", cfg->redis_host, cfg->redis_port);
}

static void on_disconnect(const redisAsyncContext *c, int status)
{
    (void)c;
    ac = NULL;
    ready = 0;
    if (status != REDIS_OK)
        vg_warn("registry", "Redis connection lost; reconnecting");
    if (loop && ev_is_active(&heartbeat))
        schedule_retry();
}

static void connect_redis(void)
{
    ac = redisAsyncConnect(cfg->redis_host, cfg->redis_port);
    if (!ac || ac->err) {
        vg_warn("registry", "Redis %s:%d: %s", cfg->redis_host, cfg->redis_port,
                ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        ac = NULL;
        schedule_retry();
        return;
    }
    redisLibevAttach(loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    /* Commands queue until the connection is up and are sent in order. */
    if (cfg->password)
        redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", cfg->password);
    redisAsyncCommand(ac, on_loaded, NULL, "SCRIPT LOAD %s", script);
}

static void on_retry(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    if (!ac)
        connect_redis();
}

static void on_heartbeat(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    if (!ac)
        connect_redis();
    else
        sync_registry();
}

static void on_soon(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    sync_registry();
}

void registry_changed(void)
{
    if (loop && !ev_is_active(&soon)) {
        ev_timer_set(&soon, REGISTRY_SOON_S, 0.);
        ev_timer_start(loop, &soon);
    }
}

void registry_event(const char *type, const char *vm, const char *dev)
{
    if (!ready)
        return; /* the next sync re-asserts the state; this event is history */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "vm", vm);
    if (dev)
        cJSON_AddStringToObject(o, "dev", dev);
    cJSON_AddStringToObject(o, "host", cfg->host_id);
    cJSON_AddNumberToObject(o, "ts", (double)vg_now_ms());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s)
        redisAsyncCommand(ac, NULL, NULL, "PUBLISH vg:events %s", s);
    free(s);
}

static char *read_file(const char *path, vg_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_fail(err, VG_E_INTERNAL, "%s: %s", path, strerror(errno)), NULL;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == 65535) {
        free(buf);
        return vg_fail(err, VG_E_INTERNAL, "%s: empty, unreadable or too large", path), NULL;
    }
    buf[n] = '\0';
    return buf;
}

int registry_start(struct ev_loop *l, const registry_config *c, vg_err *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/hostd_sync.lua", c->scripts_dir);
    script = read_file(path, err);
    if (!script)
        return VG_ERR;
    loop = l;
    cfg = c;
    started_ms = vg_now_ms();
    ev_timer_init(&heartbeat, on_heartbeat, c->heartbeat_ms / 1000.0, c->heartbeat_ms / 1000.0);
    ev_timer_start(loop, &heartbeat);
    ev_init(&soon, on_soon);
    ev_init(&retry, on_retry);
    connect_redis();
    return VG_OK;
}

void registry_stop(void)
{
    if (!loop)
        return;
    ev_timer_stop(loop, &heartbeat);
    ev_timer_stop(loop, &soon);
    ev_timer_stop(loop, &retry);
    if (ac)
        redisAsyncDisconnect(ac); /* sends what is queued, then closes */
    ac = NULL;
    free(script);
    script = NULL;
}
