/* Storage pools (docs/api.md "Storage pools"). A pool vmgate creates is one record in Redis
 * (vg:pool:<name>) and one libvirt pool on each of its hosts: a single host, or every member of
 * a host group for shared storage. Pools that libvirt has but vmgate did not create (the set-up's
 * own) are listed and usable as well. */
#include "api/methods/api_storage.h"

#include "api/api_json.h"
#include "vg_poolspec.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pool.list, pool.get ---- */

static cJSON *find_pool(cJSON *list, const char *name)
{
    cJSON *p;
    cJSON_ArrayForEach(p, list)
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return p;
    }
    return NULL;
}

static cJSON *new_pool(cJSON *list, const char *name, const char *type, int managed)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToArray(list, p);
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "type", type);
    cJSON_AddBoolToObject(p, "managed", managed);
    cJSON_AddStringToObject(p, "group", "");
    cJSON_AddArrayToObject(p, "hosts");
    return p;
}

static void copy_number(cJSON *to, const cJSON *from, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
    cJSON_AddNumberToObject(to, key, cJSON_IsNumber(v) ? v->valuedouble : 0);
}

/* The pools of the registry and of every host's answer, one entry per name, with each host's
 * state under "hosts" and the first running host's figures on top (a shared pool is the same
 * storage everywhere). */
static cJSON *merge_pools(gw_st *s, const char *only)
{
    int admin = !strcmp(s->c->role, "admin");
    cJSON *list = cJSON_CreateArray();
    const cJSON *reg;
    cJSON_ArrayForEach(reg, cJSON_GetObjectItemCaseSensitive(s->info, "pools"))
    {
        const char *name = cJSON_GetObjectItemCaseSensitive(reg, "name")->valuestring;
        cJSON *p =
            new_pool(list, name, cJSON_GetObjectItemCaseSensitive(reg, "type")->valuestring, 1);
        cJSON_ReplaceItemInObjectCaseSensitive(
            p, "group", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reg, "group"), 1));
        cJSON_AddItemToObject(p, "registry_state",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reg, "state"), 1));
        cJSON_AddItemToObject(
            p, "created_ms",
            cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reg, "created_ms"), 1));
        /* The source names storage servers and CHAP users: for administrators only. */
        if (admin)
            cJSON_AddItemToObject(
                p, "spec", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(reg, "spec"), 1));
    }
    const cJSON *row;
    cJSON_ArrayForEach(row, s->results)
    {
        const char *host = cJSON_GetObjectItemCaseSensitive(row, "host")->valuestring;
        const cJSON *hp;
        cJSON_ArrayForEach(hp, cJSON_GetObjectItemCaseSensitive(
                                   cJSON_GetObjectItemCaseSensitive(row, "result"), "pools"))
        {
            const cJSON *n = cJSON_GetObjectItemCaseSensitive(hp, "name");
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(hp, "type");
            if (!cJSON_IsString(n) || (only && strcmp(only, n->valuestring)))
                continue;
            cJSON *p = find_pool(list, n->valuestring);
            if (!p)
                p = new_pool(list, n->valuestring, cJSON_IsString(t) ? t->valuestring : "", 0);
            cJSON *h = cJSON_Duplicate(hp, 1);
            cJSON_DeleteItemFromObjectCaseSensitive(h, "name");
            cJSON_DeleteItemFromObjectCaseSensitive(h, "type");
            cJSON_AddStringToObject(h, "host", host);
            cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(p, "hosts"), h);
            const cJSON *st = cJSON_GetObjectItemCaseSensitive(hp, "state");
            if (!cJSON_GetObjectItemCaseSensitive(p, "capacity") && cJSON_IsString(st) &&
                !strcmp(st->valuestring, "running")) {
                copy_number(p, hp, "capacity");
                copy_number(p, hp, "allocation");
                copy_number(p, hp, "available");
            }
        }
    }
    cJSON *p;
    cJSON_ArrayForEach(p, list)
    {
        if (!cJSON_GetObjectItemCaseSensitive(p, "capacity")) {
            cJSON_AddNumberToObject(p, "capacity", 0);
            cJSON_AddNumberToObject(p, "allocation", 0);
            cJSON_AddNumberToObject(p, "available", 0);
        }
    }
    return list;
}

/* The hosts that could not be asked, for the answer's "unreachable". */
static cJSON *unreachable(const gw_st *s)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *row;
    cJSON_ArrayForEach(row, s->results)
    {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(row, "error");
        if (!e)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "host",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "host"), 1));
        cJSON_AddItemToObject(o, "message",
                              cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "message"), 1));
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

static void listed(gw_st *s)
{
    const char *only = gw_param_str(s->c, "pool", NULL);
    cJSON *list = merge_pools(s, only);
    if (!only) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddItemToObject(r, "pools", list);
        cJSON_AddItemToObject(r, "unreachable", unreachable(s));
        gw_call_succeed(s->c, r);
        return;
    }
    cJSON *p = cJSON_DetachItemFromArray(list, 0);
    cJSON_Delete(list);
    if (!p) {
        gw_call_fail(s->c, VG_E_NOT_FOUND, "unknown pool %s", only);
        return;
    }
    gw_call_succeed(s->c, p);
}

static void list_hosts(gw_st *s)
{
    /* Every host that is up, also for a registered pool: its hosts field says where it should be.
     */
    cJSON_Delete(s->hosts);
    s->hosts = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(s->info, "alive"), 1);
    gw_st_each(s, "pool.list", cJSON_CreateObject(), GW_ST_TOLERANT, GW_ST_RPC_MS, listed);
}

/* Answers with the pool as pool.get shows it (after a change) or every pool. */
static void answer_pools(gw_st *s)
{
    gw_st_load(s, gw_param_str(s->c, "pool", ""), list_hosts);
}

static void run_pool_list(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        answer_pools(s);
}

/* ---- pool.create ---- */

static const gw_field create_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new pool's name"},
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL,
     "{type, target?, source?}: dir|fs|netfs|logical|iscsi|iscsi-direct|disk (docs/storage.md)"},
    {"host", GW_F_NAME, 0, 0, 0, NULL, "the host to define it on"},
    {"group", GW_F_NAME, 0, 0, 0, NULL, "a host group: shared storage, defined on every member"},
    {"autostart", GW_F_BOOL, 0, 0, 0, NULL, "started with libvirt (default true)"},
    {NULL},
};

static int check_create(const cJSON *params, vg_err *err)
{
    vg_poolspec s;
    if (!gw_param(params, "host") == !gw_param(params, "group"))
        return vg_fail(err, VG_E_BAD_REQUEST, "pool.create needs exactly one of host, group");
    const cJSON *pool = gw_param(params, "pool");
    return vg_poolspec_parse(pool->valuestring, gw_param(params, "spec"), &s, err);
}

static void create_dropped(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    if (!gw_call_reply_ok(c, reply))
        return;
    gw_call_fail_err(c, (const vg_err *)s->data);
}

static void create_undone(gw_st *s)
{
    const char *argv[] = {"drop", gw_param_str(s->c, "pool", "")};
    gw_call_eval(s->c, "pool_save", create_dropped, 2, argv);
}

static void create_ready_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        answer_pools(c->state);
}

/* Every host defined it, or the ones that did undefine it again and the claim goes. */
static void create_defined(gw_st *s)
{
    const cJSON *row;
    cJSON *done = cJSON_CreateArray();
    vg_err *first = NULL;
    cJSON_ArrayForEach(row, s->results)
    {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(row, "error");
        if (!e) {
            cJSON_AddItemToArray(done,
                                 cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "host"), 1));
        } else if (!first && (first = calloc(1, sizeof(*first)))) {
            const cJSON *code = cJSON_GetObjectItemCaseSensitive(e, "code");
            first->code = vg_err_code_from_name(code->valuestring);
            snprintf(first->msg, sizeof(first->msg), "host %s: %s",
                     cJSON_GetObjectItemCaseSensitive(row, "host")->valuestring,
                     cJSON_GetObjectItemCaseSensitive(e, "message")->valuestring);
        }
    }
    if (!first) {
        cJSON_Delete(done);
        const char *argv[] = {"ready", gw_param_str(s->c, "pool", "")};
        gw_call_eval(s->c, "pool_save", create_ready_cb, 2, argv);
        return;
    }
    s->data = first;
    s->data_free = free;
    cJSON_Delete(s->hosts);
    s->hosts = done;
    gw_st_each(s, "pool.undefine", gw_st_params(gw_param_str(s->c, "pool", "")), GW_ST_TOLERANT,
               GW_ST_RPC_MS, create_undone);
}

static void create_claimed(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_st *s = c->state;
    cJSON *hosts;
    if (!gw_call_lua_ok(c, reply) || !(hosts = gw_call_json(c, reply, gw_st_no_arrays)))
        return;
    s->hosts = hosts;
    cJSON *p = gw_st_params(gw_param_str(c, "pool", ""));
    cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(gw_param(c->req.params, "spec"), 1));
    cJSON_AddBoolToObject(p, "autostart", gw_param_bool(c, "autostart", 1));
    gw_st_each(s, "pool.define", p, GW_ST_TOLERANT, GW_ST_RPC_MS, create_defined);
}

static void run_pool_create(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (!s)
        return;
    vg_poolspec ps;
    vg_err err;
    vg_poolspec_parse(gw_param_str(c, "pool", ""), gw_param(c->req.params, "spec"), &ps, &err);
    char *spec = cJSON_PrintUnformatted(gw_param(c->req.params, "spec"));
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {"claim",
                          gw_param_str(c, "pool", ""),
                          vg_pool_type_name(ps.type),
                          spec ? spec : "{}",
                          gw_param_str(c, "host", ""),
                          gw_param_str(c, "group", ""),
                          now};
    gw_call_eval(c, "pool_save", create_claimed, 7, argv);
    free(spec);
}

/* ---- pool.start, pool.stop, pool.refresh, pool.edit ---- */

static void pool_act(gw_st *s)
{
    const char *m = s->c->req.method;
    const char *hm = !strcmp(m, "pool.edit") ? "pool.autostart" : m;
    cJSON *p = gw_st_params(gw_param_str(s->c, "pool", ""));
    if (!strcmp(m, "pool.edit"))
        cJSON_AddBoolToObject(p, "autostart", gw_param_bool(s->c, "autostart", 1));
    gw_st_each(s, hm, p, GW_ST_SKIP_MISSING, GW_ST_RPC_MS, answer_pools);
}

static void run_pool_act(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (s)
        gw_st_load(s, gw_param_str(c, "pool", ""), pool_act);
}

static const gw_field edit_params[] = {
    {"pool", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the pool"},
    {"autostart", GW_F_BOOL, GW_F_REQUIRED, 0, 0, NULL, "started with libvirt"},
    {NULL},
};

/* ---- pool.delete ---- */

static void delete_done(gw_st *s)
{
    if (!s->pool) {
        gw_call_succeed(s->c, cJSON_CreateObject());
        return;
    }
    const char *argv[] = {"drop", gw_param_str(s->c, "pool", "")};
    gw_call_eval(s->c, "pool_save", gw_call_lua_empty_cb, 2, argv);
}

static void delete_loaded(gw_st *s)
{
    gw_st_each(s, "pool.undefine", gw_st_params(gw_param_str(s->c, "pool", "")), GW_ST_SKIP_MISSING,
               GW_ST_RPC_MS, delete_done);
}

static void run_pool_delete(gw_call *c)
{
    gw_st *s = gw_st_new(c);
    if (!s)
        return;
    const char *argv[] = {"in_use", gw_param_str(c, "pool", "")};
    gw_st_check(s, "pool_save", 2, argv, gw_param_str(c, "pool", ""), delete_loaded);
}

const gw_method gw_api_storage_methods[] = {
    {"pool.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_pool_list},
    {"pool.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_st_pool_fields, NULL, run_pool_list},
    {"pool.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_params, check_create,
     run_pool_create},
    {"pool.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, edit_params, NULL, run_pool_act},
    {"pool.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, gw_st_pool_fields, NULL,
     run_pool_delete},
    {"pool.start", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, gw_st_pool_fields, NULL,
     run_pool_act},
    {"pool.stop", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, gw_st_pool_fields, NULL,
     run_pool_act},
    {"pool.refresh", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, gw_st_pool_fields, NULL,
     run_pool_act},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
