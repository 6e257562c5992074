/* Console recordings (C12, docs/api.md "Recordings"): the index in Redis (gateway_recording.lua
 * decides who sees what), the file on the host that recorded it. recording.download streams the
 * file over HTTP through the volume stream of the link (net/xfer.h, op "recording"), so no
 * recording is ever held whole in memory; recording.delete asks that host to delete it. Every
 * call is audited, reads included: a recording may hold what someone typed. */
#include "api/api_int.h"
#include "backend/hostrpc.h"
#include "net/xfer.h"
#include "vg_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_TIME_MAX 32503680000000LL /* year 3000, in ms */
#define REC_LIST_MAX 1000
#define REC_RPC_MS 10000

static const gw_field list_params[] = {
    {"vm", GW_F_NAME, 0, 0, 0, NULL, "only this VM's recordings"},
    {"user", GW_F_NAME, 0, 0, 0, NULL, "only the recordings of this user's sessions"},
    {"since", GW_F_INT, 0, 0, REC_TIME_MAX, NULL, "started at or after (ms since the epoch)"},
    {"until", GW_F_INT, 0, 0, REC_TIME_MAX, NULL, "started at or before (ms since the epoch)"},
    {"limit", GW_F_INT, 0, 1, REC_LIST_MAX, NULL, "at most this many, newest first (default 100)"},
    {NULL},
};

static const gw_field id_params[] = {
    {"id", GW_F_STRING, GW_F_REQUIRED, 1, 40, NULL, "the recording (rec-<ms>-<hex>)"},
    {NULL},
};

static void eval(gw_call *c, int nargs, const char **args, vg_redis_cb *cb)
{
    const char *argv[8] = {c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    for (int i = 0; i < nargs; i++)
        argv[2 + i] = args[i];
    gw_call_eval(c, "recording", cb, 2 + nargs, argv);
}

static void list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(res, "recordings");
    for (size_t i = 1; i < reply->elements; i++) {
        const char *s = gw_reply_str(reply, i);
        cJSON *o = vg_json_parse(s, strlen(s), NULL);
        if (o)
            cJSON_AddItemToArray(arr, o);
    }
    gw_call_succeed(c, res);
}

static void run_list(gw_call *c)
{
    char since[24], until[24], limit[24];
    snprintf(since, sizeof(since), "%lld", gw_param_int(c, "since", 0));
    snprintf(until, sizeof(until), "%lld", gw_param_int(c, "until", REC_TIME_MAX));
    snprintf(limit, sizeof(limit), "%lld", gw_param_int(c, "limit", 100));
    const char *args[] = {
        "list", gw_param_str(c, "vm", ""), gw_param_str(c, "user", ""), since, until, limit};
    eval(c, 6, args, list_cb);
}

/* The recording as the script answered it, or NULL (the call has ended). */
static cJSON *got(gw_call *c, redisReply *reply)
{
    if (!gw_call_lua_ok(c, reply))
        return NULL;
    const char *s = gw_reply_str(reply, 1);
    cJSON *o = vg_json_parse(s, strlen(s), NULL);
    if (!o)
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
    return o;
}

static void get_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *o = got(c, reply);
    if (o)
        gw_call_succeed(c, o);
}

static void run_get(gw_call *c)
{
    const char *args[] = {"get", gw_param_str(c, "id", "")};
    eval(c, 2, args, get_cb);
}

/* ---- recording.delete ---- */

static void delete_done(void *priv, const cJSON *result, const vg_err *err)
{
    (void)result;
    gw_call *c = priv;
    if (err) {
        gw_call_fail_err(c, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", gw_param_str(c, "id", ""));
    gw_call_succeed(c, o);
}

static void delete_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *o = got(c, reply);
    if (!o)
        return;
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(o, "host");
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "id", gw_param_str(c, "id", ""));
    gw_hostrpc_call(c->g, cJSON_IsString(host) ? host->valuestring : "", "recording.delete", params,
                    REC_RPC_MS, delete_done, c);
    cJSON_Delete(params);
    cJSON_Delete(o);
}

static void run_delete(gw_call *c)
{
    const char *args[] = {"get", gw_param_str(c, "id", "")};
    eval(c, 2, args, delete_cb);
}

/* ---- recording.download ---- */

static void download_ended(void *priv, long long bytes, const vg_err *err)
{
    gw_call *c = priv;
    if (err) {
        gw_call_fail_err(c, err);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", gw_param_str(c, "id", ""));
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    gw_call_succeed(c, o);
}

static void download_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *o = got(c, reply);
    if (!o)
        return;
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(o, "host");
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "op", "recording");
    cJSON_AddStringToObject(h, "id", gw_param_str(c, "id", ""));
    gw_xfer_run(gw_xfer_of_call(c), cJSON_IsString(host) ? host->valuestring : "", h, NULL,
                download_ended, c);
    cJSON_Delete(h);
    cJSON_Delete(o);
}

static void run_download(gw_call *c)
{
    if (!gw_xfer_of_call(c)) {
        gw_call_fail(c, VG_E_BAD_REQUEST,
                     "recording.download streams the file over HTTP: GET "
                     "/api/v1/recording.download?id=… (docs/api.md \"Recordings\")");
        return;
    }
    const char *args[] = {"get", gw_param_str(c, "id", "")};
    eval(c, 2, args, download_cb);
}

const gw_method gw_api_recording_methods[] = {
    {"recording.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_AUDITED, list_params, NULL, run_list},
    {"recording.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_AUDITED, id_params, NULL, run_get},
    {"recording.download", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_AUDITED, id_params, NULL,
     run_download},
    {"recording.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, id_params, NULL, run_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
