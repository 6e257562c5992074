/* The host steps every storage method is built from (api_storage.h): which hosts a pool lives
 * on (Redis), then each host's hostd in turn. */
#include "api/methods/api_storage.h"

#include "api/api_json.h"
#include "backend/hostrpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void st_free(void *p)
{
    gw_st *s = p;
    cJSON_Delete(s->info);
    cJSON_Delete(s->hosts);
    cJSON_Delete(s->params);
    cJSON_Delete(s->results);
    cJSON_Delete(s->answer);
    if (s->data_free)
        s->data_free(s->data);
    free(s);
}

gw_st *gw_st_new(gw_call *c)
{
    gw_st *s = calloc(1, sizeof(*s));
    if (!s) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    s->c = c;
    c->state = s;
    c->state_free = st_free;
    return s;
}

cJSON *gw_st_params(const char *pool)
{
    cJSON *p = cJSON_CreateObject();
    if (p && pool)
        cJSON_AddStringToObject(p, "pool", pool);
    return p;
}

cJSON *gw_st_vol_params(const char *pool, const char *volume)
{
    cJSON *p = gw_st_params(pool);
    if (p)
        cJSON_AddStringToObject(p, "volume", volume);
    return p;
}

const gw_field gw_st_pool_fields[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {NULL},
};

const gw_field gw_st_volume_fields[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"volume", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the volume"},
    {NULL},
};

const char *const gw_st_no_arrays[] = {NULL};
static const char *const info_arrays[] = {"alive", "pools", "hosts", "devices", NULL};

static void load_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    if (!gw_call_lua_ok(c, reply) || !(s->info = gw_call_json(c, reply, info_arrays)))
        return;
    const cJSON *pools = cJSON_GetObjectItemCaseSensitive(s->info, "pools");
    s->pool = cJSON_GetArraySize(pools) == 1 ? cJSON_GetArrayItem(pools, 0) : NULL;
    const cJSON *hosts = s->pool ? cJSON_GetObjectItemCaseSensitive(s->pool, "hosts")
                                 : cJSON_GetObjectItemCaseSensitive(s->info, "alive");
    cJSON_Delete(s->hosts);
    if (!(s->hosts = cJSON_Duplicate(hosts, 1))) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    s->next(s);
}

void gw_st_load(gw_st *s, const char *pool, gw_st_step *next)
{
    s->next = next;
    const char *argv[] = {pool};
    gw_call_eval(s->c, "pool_hosts", load_cb, 1, argv);
}

static void each_next(gw_st *s);

static void each_done(void *priv, const cJSON *result, const vg_err *err)
{
    gw_st *s = priv;
    const char *host = cJSON_GetArrayItem(s->hosts, (int)s->i)->valuestring;
    s->i++;
    if (err && err->code == VG_E_NOT_FOUND && (s->flags & GW_ST_SKIP_MISSING)) {
        s->missing = *err;
        each_next(s);
        return;
    }
    cJSON *row = cJSON_CreateObject();
    if (!row || !cJSON_AddStringToObject(row, "host", host)) {
        cJSON_Delete(row);
        gw_call_fail(s->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    cJSON_AddItemToArray(s->results, row);
    if (err) {
        if (!(s->flags & GW_ST_TOLERANT)) {
            gw_call_fail_err(s->c, err);
            return;
        }
        cJSON *e = cJSON_AddObjectToObject(row, "error");
        cJSON_AddStringToObject(e, "code", vg_err_code_name(err->code));
        cJSON_AddStringToObject(e, "message", err->msg);
    } else {
        s->answered++;
        cJSON_AddItemToObject(row, "result", cJSON_Duplicate(result, 1));
        cJSON_Delete(s->answer);
        s->answer = cJSON_Duplicate(result, 1);
        snprintf(s->host, sizeof(s->host), "%s", host);
        if (s->flags & GW_ST_FIRST)
            s->i = (size_t)cJSON_GetArraySize(s->hosts);
    }
    each_next(s);
}

static void each_next(gw_st *s)
{
    if (s->i < (size_t)cJSON_GetArraySize(s->hosts)) {
        const char *host = cJSON_GetArrayItem(s->hosts, (int)s->i)->valuestring;
        gw_hostrpc_call(s->c->g, host, s->method, s->params, s->timeout_ms, each_done, s);
        return;
    }
    if ((s->flags & GW_ST_SKIP_MISSING) && !s->answered && !(s->flags & GW_ST_TOLERANT)) {
        /* The hosts' own word (no such pool, or no such volume in it) says more than ours. */
        if (s->missing.code != VG_E_NONE)
            gw_call_fail_err(s->c, &s->missing);
        else
            gw_call_fail(s->c, VG_E_NOT_FOUND, "no host that is up has pool %s",
                         gw_param_str(s->c, "pool", ""));
        return;
    }
    s->next(s);
}

void gw_st_each(gw_st *s, const char *method, cJSON *params, unsigned flags, long timeout_ms,
                gw_st_step *next)
{
    s->timeout_ms = timeout_ms;
    cJSON_Delete(s->params);
    cJSON_Delete(s->results);
    s->params = params;
    s->results = cJSON_CreateArray();
    if (!params || !s->results) {
        gw_call_fail(s->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    snprintf(s->method, sizeof(s->method), "%s", method);
    s->flags = flags;
    s->i = 0;
    s->answered = 0;
    s->missing.code = VG_E_NONE;
    s->next = next;
    each_next(s);
}

static void checked_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    if (gw_call_lua_ok(c, reply))
        gw_st_load(s, s->load_pool, s->next);
}

void gw_st_check(gw_st *s, const char *script, int argc, const char **argv, const char *pool,
                 gw_st_step *next)
{
    snprintf(s->load_pool, sizeof(s->load_pool), "%s", pool);
    s->next = next;
    gw_call_eval(s->c, script, checked_cb, argc, argv);
}

void gw_st_each_alive(gw_st *s, const char *method, cJSON *params, gw_st_step *next)
{
    cJSON_Delete(s->hosts);
    s->hosts = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s->info, "alive"), 1);
    gw_st_each(s, method, params, GW_ST_SKIP_MISSING, GW_ST_RPC_MS, next);
}
