/* libvirt secrets (docs/api.md "Secrets"): set on every host that is up, since any of them may
 * later define a pool that needs one. The value goes to the hosts' libvirt only: never stored in
 * Redis, returned or logged. */
#include "api/methods/api_storage.h"

#include "api/api_json.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_VALUE_MAX 1024

static const gw_field secret_set_params[] = {
    {"secret", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL,
     "the secret's name, as a pool's spec.source.auth.secret names it"},
    {"value", GW_F_STRING, GW_F_REQUIRED, 1, SECRET_VALUE_MAX, NULL,
     "the secret itself (a CHAP password); never returned, never logged"},
    {"description", GW_F_STRING, 0, 0, 256, NULL, "free text"},
    {NULL},
};

static const gw_field secret_params[] = {
    {"secret", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the secret"},
    {NULL},
};

static const char *const secret_arrays[] = {"secrets", "hosts", NULL};

static void secret_read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    cJSON *res;
    if (gw_call_lua_ok(c, reply) && (res = gw_call_json(c, reply, secret_arrays)))
        gw_call_succeed(c, res);
}

static void secret_read(gw_call *c, const char *name)
{
    const char *argv[] = {"list", name};
    gw_call_eval(c, "secret_save", secret_read_cb, 2, argv);
}

static void run_secret_list(gw_call *c)
{
    secret_read(c, "");
}

static void secret_saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        secret_read(c, gw_param_str(c, "secret", ""));
}

static void secret_defined(gw_st *s)
{
    char *hosts = cJSON_PrintUnformatted(s->hosts);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"set", gw_param_str(s->c, "secret", ""),
                          gw_param_str(s->c, "description", ""), hosts ? hosts : "[]", now};
    gw_call_eval(s->c, "secret_save", secret_saved_cb, 5, argv);
    free(hosts);
}

/* Every host that is up gets it: any of them may later define a pool that needs it. */
static void secret_loaded(gw_st *s)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "secret", gw_param_str(s->c, "secret", ""));
    cJSON_AddStringToObject(p, "value", gw_param_str(s->c, "value", ""));
    cJSON_AddStringToObject(p, "description", gw_param_str(s->c, "description", ""));
    gw_st_each(s, "secret.define", p, 0, GW_ST_RPC_MS, secret_defined);
}

static void run_secret_set(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, "", secret_loaded);
}

static void secret_undefined(gw_st *s)
{
    gw_call_succeed(s->c, cJSON_CreateObject());
}

static void secret_forgotten(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    gw_st *s = c->state;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "secret", gw_param_str(c, "secret", ""));
    gw_st_each(s, "secret.undefine", p, 0, GW_ST_RPC_MS, secret_undefined);
}

static void secret_delete_loaded(gw_st *s)
{
    const char *argv[] = {"delete", gw_param_str(s->c, "secret", "")};
    gw_call_eval(s->c, "secret_save", secret_forgotten, 2, argv);
}

static void run_secret_delete(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, "", secret_delete_loaded);
}

const gw_method gw_api_secret_methods[] = {
    {"secret.list", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, gw_no_fields, NULL, run_secret_list},
    {"secret.set", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, secret_set_params, NULL,
     run_secret_set},
    {"secret.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, secret_params, NULL,
     run_secret_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
