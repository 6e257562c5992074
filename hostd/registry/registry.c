#include "registry/registry.h"

#include "vg_log.h"
#include "vg_redis.h"
#include "vg_rscript.h"
#include "vg_util.h"
#include "libvirt/vms.h"

#include "vg_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_SOON_S 0.01

static struct ev_loop *loop;
static const registry_config *cfg;
static vg_redis *redis;
static int ready; /* the last sync succeeded on this connection */
static vg_rscript *sync_script;
static ev_timer heartbeat;
static ev_timer soon;
static int64_t started_ms;
/* The heartbeat period in force: vg:settings heartbeat_ms when set (settings.set, applied at
 * the settings.changed event), else the configuration's. */
static long heartbeat_ms;
/* The VM list of the last full sync the registry answered, and the digest it answered. */
static char *sent_vms;
static char sent_digest[41];

static char *host_json(void)
{
    cJSON *o = cJSON_CreateObject();
    char buf[32];
    cJSON_AddStringToObject(o, "id", cfg->host_id);
    cJSON_AddStringToObject(o, "link", cfg->link_url);
    cJSON_AddStringToObject(o, "mgmt_addr", cfg->mgmt_addr);
    if (cfg->host_fields)
        cfg->host_fields(o);
    cJSON_AddStringToObject(o, "version", VG_VERSION);
    snprintf(buf, sizeof(buf), "%lld", (long long)started_ms);
    cJSON_AddStringToObject(o, "started_ms", buf);
    snprintf(buf, sizeof(buf), "%ld", heartbeat_ms);
    cJSON_AddStringToObject(o, "heartbeat_ms", buf);
    cJSON_AddStringToObject(o, "heartbeat_interval_ms", buf);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *vms_json(void)
{
    cJSON *arr = cJSON_CreateArray();
    for (vms_vm *v = hd_vms_first(); v; v = hd_vms_next(v)) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", hd_vms_name(v));
        cJSON_AddStringToObject(o, "uuid", hd_vms_uuid(v));
        cJSON_AddStringToObject(o, "state", hd_vms_state(v));
        cJSON_AddNumberToObject(o, "vcpus", hd_vms_vcpus(v));
        cJSON_AddNumberToObject(o, "memory_mib", (double)hd_vms_memory_mib(v));
        cJSON_AddNumberToObject(o, "autostart", hd_vms_autostart(v));
        cJSON *cons = cJSON_AddObjectToObject(o, "consoles");
        for (size_t i = 0; i < hd_vms_nconsoles(v); i++) {
            const console *c = hd_vms_console_at(v, i);
            cJSON_AddStringToObject(cons, hd_console_dev(c), hd_console_path(c));
        }
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

/* Forgets what the registry was last told, so the next sync sends the whole VM list. */
static void forget_sent(void)
{
    free(sent_vms);
    sent_vms = NULL;
    sent_digest[0] = '\0';
}

/* priv: the VM list a full sync sent (taken over as sent_vms once answered), NULL for a
 * heartbeat that sent only the digest. */
static void on_sync(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    char *vms = priv;
    if (!reply || reply->type != REDIS_REPLY_STRING) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            vg_warn("registry", "sync failed: %s", reply->str);
        forget_sent();
        free(vms);
        return;
    }
    if (!reply->len || reply->len >= sizeof(sent_digest)) {
        /* The record no longer matches the list it has: send the list now. */
        forget_sent();
        free(vms);
        hd_registry_changed();
        return;
    }
    if (vms) {
        free(sent_vms);
        sent_vms = vms;
    }
    memcpy(sent_digest, reply->str, reply->len);
    sent_digest[reply->len] = '\0';
    if (!ready)
        vg_info("registry", "registered as host %s", cfg->host_id);
    ready = 1;
}

/* A heartbeat whose VM list is the one the registry last answered for sends only that answer's
 * digest (hostd_sync.lua): 15 KB of JSON per 100 VMs less to send, decode and hash. */
static void sync_registry(void)
{
    if (!vg_redis_up(redis))
        return;
    char *host = host_json(), *vms = vms_json();
    if (!host || !vms) {
        vg_warn("registry", "out of memory building the registry sync");
        free(host);
        free(vms);
        return;
    }
    int light = sent_digest[0] && sent_vms && !strcmp(vms, sent_vms);
    char ttl[32], now[32];
    snprintf(ttl, sizeof(ttl), "%ld", heartbeat_ms * 3);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {cfg->host_id, host, light ? "" : vms, ttl, now, sent_digest};
    if (light) {
        free(vms);
        vms = NULL;
    }
    if (vg_redis_eval(redis, sync_script, on_sync, vms, 0, 6, argv, NULL) != VG_OK) {
        vg_warn("registry", "cannot queue the registry sync");
        free(vms);
    }
    free(host);
}

static void set_heartbeat(long ms)
{
    if (ms == heartbeat_ms)
        return;
    vg_info("registry", "heartbeat every %ld ms", ms);
    heartbeat_ms = ms;
    ev_timer_stop(loop, &heartbeat);
    ev_timer_set(&heartbeat, ms / 1000.0, ms / 1000.0);
    ev_timer_start(loop, &heartbeat);
    sync_registry(); /* the record says the new period (and its alive key's TTL) at once */
}

static void setting_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    if (!reply || (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL))
        return;
    long ms = cfg->heartbeat_ms;
    if (reply->type == REDIS_REPLY_STRING) {
        char *end;
        long v = strtol(reply->str, &end, 10);
        /* The range of settings.set (gateway/core/settings.c) and of the option. */
        if (*end || end == reply->str || v < 100 || v > 600000) {
            vg_warn("registry", "ignoring vg:settings heartbeat_ms \"%.32s\"", reply->str);
            return;
        }
        ms = v;
    }
    set_heartbeat(ms);
}

static void read_settings(void)
{
    vg_redis_cmd(redis, setting_cb, NULL, "HGET vg:settings heartbeat_ms");
}

static void event_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    (void)priv;
    const char *payload;
    size_t len;
    if (!vg_redis_message(reply, "vg:hostd", &payload, &len))
        return;
    cJSON *ev = vg_json_parse(payload, len, NULL);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "settings.changed"))
        read_settings();
    cJSON_Delete(ev);
}

/* Commands queue until the connection is up and are sent in order: the first sync runs right
 * behind AUTH and SCRIPT LOAD, and an event is published only after it. */
static void on_connect(vg_redis *r, void *priv)
{
    (void)priv;
    redis = r; /* the first call comes from within vg_redis_new */
    ready = 0;
    forget_sent();
    sync_registry();
    read_settings();
}

static void on_heartbeat(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    sync_registry();
}

static void on_soon(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    sync_registry();
}

void hd_registry_changed(void)
{
    if (loop && !ev_is_active(&soon)) {
        ev_timer_set(&soon, REGISTRY_SOON_S, 0.);
        ev_timer_start(loop, &soon);
    }
}

void hd_registry_event(const char *type, const char *vm, const char *key, const char *value)
{
    if (!ready)
        return; /* the next sync re-asserts the state; this event is history */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "vm", vm);
    if (key)
        cJSON_AddStringToObject(o, key, value);
    cJSON_AddStringToObject(o, "host", cfg->host_id);
    cJSON_AddNumberToObject(o, "ts", (double)vg_now_ms());
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s)
        vg_redis_cmd(redis, NULL, NULL, "PUBLISH vg:events %s", s);
    free(s);
}

int hd_registry_start(struct ev_loop *l, const registry_config *c, vg_err *err)
{
    sync_script = vg_rscript_open(c->scripts_dir, "hostd_sync.lua", err);
    if (!sync_script)
        return VG_ERR;
    loop = l;
    cfg = c;
    started_ms = vg_now_ms();
    heartbeat_ms = c->heartbeat_ms;
    ev_timer_init(&heartbeat, on_heartbeat, c->heartbeat_ms / 1000.0, c->heartbeat_ms / 1000.0);
    ev_timer_start(loop, &heartbeat);
    ev_init(&soon, on_soon);
    vg_redis_config rcfg = {
        .name = "registry",
        .host = c->redis_host,
        .port = c->redis_port,
        .sentinels = c->redis_sentinels,
        .master_name = c->redis_master_name,
        .password = c->password,
        .scripts = &sync_script,
        .nscripts = 1,
        .on_connect = on_connect,
    };
    redis = vg_redis_new(loop, &rcfg, err);
    if (!redis) {
        ev_timer_stop(loop, &heartbeat);
        vg_rscript_free(sync_script);
        sync_script = NULL;
        loop = NULL;
        return VG_ERR;
    }
    /* vg:hostd, not vg:events: Redis would copy every event of the fleet to every host. */
    if (vg_redis_subscribe(redis, "vg:hostd", event_cb, NULL) != VG_OK)
        vg_warn("registry", "cannot subscribe to vg:hostd: settings apply at the next start");
    return VG_OK;
}

void hd_registry_stop(void)
{
    if (!loop)
        return;
    ev_timer_stop(loop, &heartbeat);
    ev_timer_stop(loop, &soon);
    vg_redis_free(redis); /* before the script: pending calls still refer to it */
    redis = NULL;
    forget_sent();
    vg_rscript_free(sync_script);
    sync_script = NULL;
}
