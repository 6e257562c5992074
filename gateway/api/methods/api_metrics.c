/* Metrics (docs/api.md "Metrics", docs/monitoring.md): a target's history and the latest
 * values, read from the store hostd writes (redis-scripts/hostd_metrics_write.lua) by one Lua
 * script each. Hosts are visible to every session, as host.list shows them; a VM's metrics only
 * to those who may see the VM (the script answers not_found otherwise, as vm.get would). */
#include "api/api_json.h"
#include "core/metcodec.h"

#include "vg_log.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_MAX 4102444800000LL /* 2100-01-01, in milliseconds */
#define STEP_MAX 31536000        /* a year, in seconds */
#define LATEST_NAMES_MAX 1000

static const char *const no_arrays[] = {"targets", NULL};

static void json_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call_answer_json(priv, reply, no_arrays);
}

static const char *admin_flag(const gw_call *c)
{
    return strcmp(c->role, "admin") == 0 ? "1" : "0";
}

/* ---- metrics.query ---- */

/* The script answers the records as stored; the codec makes the series (metcodec.h). The
 * answer goes out as the codec printed it, never parsed again. */
static void query_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    if (reply->elements != 3 || reply->element[1]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_STRING) {
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return;
    }
    vg_err err;
    cJSON *head = cJSON_ParseWithLength(reply->element[1]->str, reply->element[1]->len);
    char *text = head ? gw_metcodec_answer(head, (const unsigned char *)reply->element[2]->str,
                                           reply->element[2]->len, &err)
                      : NULL;
    cJSON_Delete(head);
    if (!text) {
        vg_error("api", "metrics.query: %s", head ? err.msg : "a script answered without JSON");
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return;
    }
    cJSON *res = cJSON_CreateRaw(text);
    free(text);
    gw_call_succeed(c, res);
}

static const gw_field query_params[] = {
    {"target", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "vm|host", "a VM or a host"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM's name or the host's id"},
    {"metrics", GW_F_NAMES, 0, 0, 4, NULL, "series among cpu, mem, disk, net (default: all)"},
    {"from", GW_F_INT, GW_F_REQUIRED, 0, TIME_MAX, NULL, "start, milliseconds since the epoch"},
    {"to", GW_F_INT, GW_F_REQUIRED, 0, TIME_MAX, NULL, "end, milliseconds since the epoch"},
    {"step", GW_F_INT, 0, 1, STEP_MAX, NULL,
     "seconds between points (default: the finest tier that covers from)"},
    {NULL},
};

static void run_query(gw_call *c)
{
    char series[64] = "", from[24], to[24], step[24] = "", now[24];
    const cJSON *m = gw_param(c->req.params, "metrics"), *e;
    size_t n = 0;
    cJSON_ArrayForEach(e, m)
    {
        n += (size_t)snprintf(series + n, sizeof(series) - n, "%s%s", n ? "," : "", e->valuestring);
        if (n >= sizeof(series)) {
            gw_call_fail(c, VG_E_BAD_REQUEST, "metrics: unknown series");
            return;
        }
    }
    snprintf(from, sizeof(from), "%lld", gw_param_int(c, "from", 0));
    snprintf(to, sizeof(to), "%lld", gw_param_int(c, "to", 0));
    if (gw_param(c->req.params, "step"))
        snprintf(step, sizeof(step), "%lld", gw_param_int(c, "step", 0));
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {c->user,
                          admin_flag(c),
                          gw_param_str(c, "target", "vm"),
                          gw_param_str(c, "name", ""),
                          series,
                          from,
                          to,
                          step,
                          now};
    gw_call_eval(c, "metrics_query", query_cb, 9, argv);
}

/* ---- metrics.latest ---- */

static const gw_field latest_params[] = {
    {"target", GW_F_ENUM, 0, 0, 0, "vm|host", "VMs (the default) or hosts"},
    {"names", GW_F_NAMES, 0, 0, LATEST_NAMES_MAX, NULL, "only these (default: every visible one)"},
    {NULL},
};

static void run_latest(gw_call *c)
{
    const cJSON *names = gw_param(c->req.params, "names");
    char *list = names ? cJSON_PrintUnformatted(names) : NULL;
    if (names && !list) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    const char *argv[] = {c->user, admin_flag(c), gw_param_str(c, "target", "vm"),
                          list ? list : ""};
    gw_call_eval(c, "metrics_latest", json_cb, 4, argv);
    free(list);
}

const gw_method gw_api_metrics_methods[] = {
    {"metrics.query", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, query_params, NULL, run_query},
    {"metrics.latest", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, latest_params, NULL, run_latest},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
