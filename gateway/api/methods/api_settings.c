/* Runtime settings (M15, docs/api.md "Settings"): read and change vg:settings within the
 * ranges of core/settings.c; a change is published so every gateway and hostd applies it
 * without a restart (backend/livesettings.c, hostd/registry/registry.c). */
#include "api/api_int.h"

#include "core/settings.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_field get_params[] = {
    {"name", GW_F_STRING, GW_F_REQUIRED, 1, 64, NULL, "the setting"},
    {NULL},
};

static const gw_field set_params[] = {
    {"name", GW_F_STRING, GW_F_REQUIRED, 1, 64, NULL, "the setting"},
    {"value", GW_F_INT, GW_F_REQUIRED | GW_F_NULLABLE, -1000000000000LL, 1000000000000LL, NULL,
     "the new value within the setting's range, or null for its default"},
    {NULL},
};

static int check_set(const cJSON *params, vg_err *err)
{
    const cJSON *v = gw_param(params, "value");
    const char *name = gw_param(params, "name")->valuestring;
    if (cJSON_IsNull(v))
        return gw_setting_find(name)
                   ? VG_OK
                   : vg_fail(err, VG_E_NOT_FOUND, "unknown setting \"%.64s\"", name);
    return gw_setting_check(name, (long long)v->valuedouble, err);
}

static cJSON *describe(const gw_setting *s, const char *stored)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddNumberToObject(o, "value",
                            stored ? (double)strtoll(stored, NULL, 10) : (double)s->def);
    cJSON_AddBoolToObject(o, "default", stored == NULL);
    cJSON_AddNumberToObject(o, "min", (double)s->min);
    cJSON_AddNumberToObject(o, "max", (double)s->max);
    cJSON_AddNumberToObject(o, "default_value", (double)s->def);
    cJSON_AddStringToObject(o, "applies", s->applies);
    cJSON_AddStringToObject(o, "doc", s->doc);
    return o;
}

static const char *stored_of(const redisReply *reply, const char *name)
{
    for (size_t i = 0; i + 1 < reply->elements; i += 2)
        if (!strcmp(gw_reply_str(reply, i), name))
            return gw_reply_str(reply, i + 1);
    return NULL;
}

static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    const char *one = gw_param_str(c, "name", NULL);
    if (one) {
        const gw_setting *s = gw_setting_find(one);
        if (!s) {
            gw_call_fail(c, VG_E_NOT_FOUND, "unknown setting \"%.64s\"", one);
            return;
        }
        gw_call_succeed(c, describe(s, stored_of(reply, one)));
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *arr = res ? cJSON_AddArrayToObject(res, "settings") : NULL;
    for (const gw_setting *s = gw_settings; arr && s->name; s++)
        cJSON_AddItemToArray(arr, describe(s, stored_of(reply, s->name)));
    gw_call_succeed(c, arr ? res : (cJSON_Delete(res), NULL));
}

static void run_read(gw_call *c)
{
    gw_call_sent(c, vg_redis_cmd(c->g->redis, read_cb, c, "HGETALL vg:settings"));
}

static void set_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const gw_setting *s = gw_setting_find(gw_param_str(c, "name", ""));
    const cJSON *v = gw_param(c->req.params, "value");
    char buf[24];
    if (!cJSON_IsNull(v))
        snprintf(buf, sizeof(buf), "%lld", (long long)v->valuedouble);
    cJSON *res = describe(s, cJSON_IsNull(v) ? NULL : buf);
    const char *was = gw_reply_str(reply, 1);
    if (res)
        cJSON_AddItemToObject(res, "previous",
                              was[0] ? cJSON_CreateNumber((double)strtoll(was, NULL, 10))
                                     : cJSON_CreateNull());
    gw_call_succeed(c, res);
}

static void run_set(gw_call *c)
{
    const cJSON *v = gw_param(c->req.params, "value");
    char value[24] = "", now[24];
    if (!cJSON_IsNull(v))
        snprintf(value, sizeof(value), "%lld", (long long)v->valuedouble);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {gw_param_str(c, "name", ""), value, now};
    gw_call_eval(c, "settings_set", set_cb, 3, argv);
}

const gw_method gw_api_settings_methods[] = {
    {"settings.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_no_fields, NULL, run_read},
    {"settings.get", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, get_params, NULL, run_read},
    {"settings.set", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, set_params, check_set, run_set},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
