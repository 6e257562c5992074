/* Hosts as the registry shows them (docs/api.md "Hosts"). */
#include "api_int.h"

static void host_list_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    cJSON *hosts = res ? cJSON_AddArrayToObject(res, "hosts") : NULL;
    for (size_t i = 0; hosts && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *h = reply->element[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(hosts, o);
        cJSON_AddStringToObject(o, "id", gw_reply_str(h, 0));
        cJSON_AddStringToObject(o, "link", gw_reply_str(h, 1));
        cJSON_AddStringToObject(o, "mgmt_addr", gw_reply_str(h, 2));
        cJSON_AddBoolToObject(o, "up", gw_reply_int(h, 6) == 1);
        cJSON_AddNumberToObject(o, "cpus", (double)gw_reply_int(h, 3));
        cJSON_AddNumberToObject(o, "mem_mib", (double)gw_reply_int(h, 4));
        cJSON_AddNumberToObject(o, "heartbeat_ms", (double)gw_reply_int(h, 5));
    }
    gw_call_succeed(c, res);
}

static void run_host_list(gw_call *c)
{
    gw_call_eval(c, "host_list", host_list_cb, 0, NULL);
}

const gw_method gw_api_host_methods[] = {
    {"host.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_check_none, run_host_list},
    {NULL, 0, 0, 0, NULL, NULL},
};
