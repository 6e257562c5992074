#include "backend/timers.h"

#include "api/api.h"
#include "core/audit.h"
#include "core/auth.h"
#include "core/timersched.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_redis.h"
#include "vg_util.h"

#include <cjson/cJSON.h>
#include <ev.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_S 5.0
/* Claimed later than this after it fell due, an occurrence was missed: no gateway was up (a
 * live one claims it within a tick). */
#define GRACE_MS 60000
/* The run's session only has to outlive the call (vm.start may take minutes on a busy host). */
#define RUN_SESSION_S 900

static ev_timer tick;
static int pending; /* a list is in flight: a slow Redis gets no pile of them */

typedef struct run {
    gw_call_owner owner;
    gw *g;
    char name[65], method[32], vm[65], env[65], owner_user[65], hash[65], occ[24],
        token[GW_TOKEN_HEX + 1];
} run;

static const char *method_of(const char *action, int env)
{
    if (!strcmp(action, "start"))
        return env ? "env.start" : "vm.start";
    if (!strcmp(action, "stop"))
        return env ? "env.stop" : "vm.shutdown";
    return env ? "env.reboot" : "vm.reboot";
}

static void record(gw *g, const run *r, const char *result, const char *msg)
{
    char detail[400];
    snprintf(detail, sizeof(detail), "timer=%s occurrence_ms=%s action=%s%s%s%s%s", r->name, r->occ,
             r->method, r->env[0] ? " env=" : "", r->env, msg ? ": " : "", msg ? msg : "");
    gw_audit_entry e = {.kind = "timer",
                        .user = r->owner_user,
                        .addr = "timer",
                        .method = "timer.run",
                        .vm = r->vm,
                        .result = result,
                        .detail = detail};
    gw_audit(g, &e);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    char key[80];
    snprintf(key, sizeof(key), "vg:timer:%s", r->name);
    const char *argv[] = {"HSET", key, "last_result", result, "last_run_ms", now};
    vg_redis_argv(g->redis, NULL, NULL, 6, argv, NULL);
    if (strcmp(result, "skipped"))
        vg_redis_cmd(g->redis, NULL, NULL, "HINCRBY %s runs 1", key);
}

static void run_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                     const vg_err *err)
{
    (void)method;
    (void)id;
    (void)result;
    run *r = priv;
    vg_info("timers", "timer %s ran %s: %s", r->name, r->method, err ? err->msg : "ok");
    record(r->g, r, err ? vg_err_code_name(err->code) : "ok", err ? err->msg : NULL);
    /* The run's session ends with it. */
    vg_redis_cmd(r->g->redis, NULL, NULL, "DEL vg:session:%s", r->hash);
    vg_redis_cmd(r->g->redis, NULL, NULL, "SREM vg:user:%s:sessions %s", r->owner_user, r->hash);
    free(r);
}

static void start_run(run *r)
{
    cJSON *params = cJSON_CreateObject();
    if (!params ||
        !cJSON_AddStringToObject(params, r->env[0] ? "env" : "vm", r->env[0] ? r->env : r->vm)) {
        cJSON_Delete(params);
        vg_error("timers", "timer %s: out of memory", r->name);
        free(r);
        return;
    }
    gw_api_req req = {0};
    vg_err err;
    char *body = cJSON_PrintUnformatted(params);
    cJSON_Delete(params);
    if (!body || gw_api_parse_http(r->method, body, strlen(body), &req, &err) != VG_OK) {
        vg_error("timers", "timer %s: cannot build its call", r->name);
        free(body);
        free(r);
        return;
    }
    free(body);
    r->owner.done = run_done;
    r->owner.priv = r;
    char addr[80];
    snprintf(addr, sizeof(addr), "timer:%s", r->name);
    gw_api_start(r->g, &r->owner, &req, r->token, addr, 0);
}

static void claimed_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    (void)rd;
    run *r = priv;
    const char *what = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                               reply->element[0]->type == REDIS_REPLY_STRING
                           ? reply->element[0]->str
                           : "";
    if (!strcmp(what, "run")) {
        start_run(r);
        return;
    }
    if (!strcmp(what, "skip")) {
        vg_info("timers", "timer %s: occurrence %s was missed and is skipped", r->name, r->occ);
        record(r->g, r, "skipped", "missed while no gateway ran");
    } else if (reply && reply->type == REDIS_REPLY_ERROR) {
        vg_error("timers", "claiming timer %s failed: %s", r->name, reply->str);
    }
    free(r);
}

static void consider(gw *g, const cJSON *t, int64_t now)
{
    gw_sched s;
    vg_err err;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(t, "last_ms");
    if (!cJSON_IsString(name) || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "paused")))
        return;
    if (gw_sched_parse(t, &s, &err) != VG_OK) {
        vg_warn("timers", "timer %s: %s", name->valuestring, err.msg);
        return;
    }
    int64_t occ = gw_sched_prev(&s, now);
    if (occ < 0 || (cJSON_IsNumber(last) && occ <= (int64_t)last->valuedouble))
        return;
    run *r = calloc(1, sizeof(*r));
    if (!r || gw_auth_new_token(r->token) != VG_OK) {
        free(r);
        return;
    }
    r->g = g;
    const cJSON *vm = cJSON_GetObjectItemCaseSensitive(t, "vm");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(t, "env");
    const cJSON *action = cJSON_GetObjectItemCaseSensitive(t, "action");
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(t, "owner");
    snprintf(r->name, sizeof(r->name), "%s", name->valuestring);
    snprintf(r->vm, sizeof(r->vm), "%s", cJSON_IsString(vm) ? vm->valuestring : "");
    snprintf(r->env, sizeof(r->env), "%s", cJSON_IsString(env) ? env->valuestring : "");
    snprintf(r->owner_user, sizeof(r->owner_user), "%s",
             cJSON_IsString(owner) ? owner->valuestring : "");
    snprintf(r->method, sizeof(r->method), "%s",
             method_of(cJSON_IsString(action) ? action->valuestring : "", r->env[0] != 0));
    snprintf(r->occ, sizeof(r->occ), "%lld", (long long)occ);
    gw_auth_sha256_hex(r->token, r->hash);
    char nows[24], grace[24], ttl[24];
    snprintf(nows, sizeof(nows), "%lld", (long long)now);
    snprintf(grace, sizeof(grace), "%d", GRACE_MS);
    snprintf(ttl, sizeof(ttl), "%d", RUN_SESSION_S);
    const char *argv[] = {r->name, r->occ, nows, grace, r->hash, ttl};
    if (vg_redis_eval(g->redis, gw_lua(g, "timer_claim"), claimed_cb, r, 0, 6, argv, NULL) != VG_OK)
        free(r);
}

static void listed_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    (void)rd;
    gw *g = priv;
    pending = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return;
    cJSON *root = vg_json_parse(reply->element[1]->str, reply->element[1]->len, NULL);
    const cJSON *timers = cJSON_GetObjectItemCaseSensitive(root, "timers");
    int64_t now = vg_now_ms();
    const cJSON *t;
    cJSON_ArrayForEach(t, timers) consider(g, t, now);
    cJSON_Delete(root);
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)revents;
    gw *g = w->data;
    if (pending || g->stopping || !vg_redis_up(g->redis))
        return;
    const char *argv[] = {""};
    if (vg_redis_eval(g->redis, gw_lua(g, "timer_list"), listed_cb, g, 0, 1, argv, NULL) == VG_OK)
        pending = 1;
}

void gw_timers_start(gw *g)
{
    /* The first look comes soon after start: a gateway restarted right after an occurrence
     * claims it well within the grace. */
    ev_timer_init(&tick, on_tick, 1.0, TICK_S);
    tick.data = g;
    ev_timer_start(g->loop, &tick);
}

void gw_timers_stop(gw *g)
{
    ev_timer_stop(g->loop, &tick);
}
