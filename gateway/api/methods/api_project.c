/* Projects: create, edit, delete, activate/deactivate, members, quotas and usage (docs/api.md
 * "Projects"). The usage counters are kept by the scripts that create and delete what they
 * count (gateway_vm_reserve.lua and friends); this module reads them and sets the quotas. */
#include "api/api_int.h"

#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 256
#define LIST_MAX 64

/* In the order gateway_project_get.lua answers them. */
static const char *const quotas[] = {"instances", "vcpus",  "memory_mib",
                                     "disk_mib",  "images", "snapshots"};
#define NQUOTAS (sizeof(quotas) / sizeof(quotas[0]))

static const char *const lists[] = {"hostgroups", "pools", "networks"};

/* ---- checks ---- */

static int check_quotas(const cJSON *params, vg_err *err)
{
    const cJSON *q = gw_param(params, "quotas");
    if (!q)
        return VG_OK;
    if (!cJSON_IsObject(q))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"quotas\" must be an object");
    for (const cJSON *f = q->child; f; f = f->next) {
        size_t i = 0;
        while (i < NQUOTAS && strcmp(quotas[i], f->string) != 0)
            i++;
        if (i == NQUOTAS)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "unknown quota \"%.64s\" (instances, vcpus, memory_mib, disk_mib, "
                           "images, snapshots)",
                           f->string);
        if (gw_check_int(q, f->string, 0, -1, 1LL << 40, err) != VG_OK)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "quota \"%s\" must be a whole number, -1 for unlimited", f->string);
    }
    return VG_OK;
}

static int check_lists(const cJSON *params, vg_err *err)
{
    for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
        const cJSON *a = gw_param(params, lists[l]);
        if (!a)
            continue;
        if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) > LIST_MAX)
            return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be an array of at most %d names",
                           lists[l], LIST_MAX);
        for (const cJSON *v = a->child; v; v = v->next)
            if (!cJSON_IsString(v) || !vg_valid_name(v->valuestring))
                return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must hold valid names", lists[l]);
    }
    return VG_OK;
}

static int check_definition(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"name",  "description", "quotas", "hostgroups",
                                        "pools", "networks",    NULL};
    if (gw_check_known(params, known, err) != VG_OK ||
        gw_check_name(params, "name", 0, err) != VG_OK ||
        gw_check_string(params, "description", 1, DESCRIPTION_MAX, err) != VG_OK ||
        check_quotas(params, err) != VG_OK || check_lists(params, err) != VG_OK)
        return VG_ERR;
    return VG_OK;
}

static int check_name_only(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"name", NULL};
    if (gw_check_known(params, known, err) != VG_OK)
        return VG_ERR;
    return gw_check_name(params, "name", 0, err);
}

static int check_delete(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"name", "admin_password", NULL};
    if (gw_check_known(params, known, err) != VG_OK)
        return VG_ERR;
    return gw_check_name(params, "name", 0, err);
}

static int check_project_only(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"project", NULL};
    return gw_check_known(params, known, err);
}

static int check_member_set(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"project", "user", "role", NULL};
    if (gw_check_known(params, known, err) != VG_OK ||
        gw_check_name(params, "user", 0, err) != VG_OK)
        return VG_ERR;
    const cJSON *r = gw_param(params, "role");
    if (!cJSON_IsString(r) ||
        (strcmp(r->valuestring, "operator") != 0 && strcmp(r->valuestring, "viewer") != 0))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"role\" must be \"operator\" or \"viewer\"");
    return VG_OK;
}

static int check_member_remove(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"project", "user", NULL};
    if (gw_check_known(params, known, err) != VG_OK)
        return VG_ERR;
    return gw_check_name(params, "user", 0, err);
}

/* ---- reads ---- */

static cJSON *names_json(const redisReply *r)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(gw_reply_str(r, i)));
    return a;
}

static cJSON *counters_json(const redisReply *r)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < NQUOTAS; i++)
        cJSON_AddNumberToObject(o, quotas[i], (double)gw_reply_int(r, i));
    return o;
}

static const redisReply *part(const redisReply *p, size_t i)
{
    return p->type == REDIS_REPLY_ARRAY && i < p->elements ? p->element[i] : NULL;
}

static cJSON *project_json(const redisReply *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "name", gw_reply_str(p, 0));
    cJSON_AddStringToObject(o, "description", gw_reply_str(p, 1));
    cJSON_AddBoolToObject(o, "active", strcmp(gw_reply_str(p, 2), "0") != 0);
    cJSON_AddNumberToObject(o, "created_ms", (double)gw_reply_int(p, 3));
    cJSON_AddStringToObject(o, "role", gw_reply_str(p, 11));
    cJSON_AddItemToObject(o, "quota", counters_json(part(p, 4)));
    cJSON_AddItemToObject(o, "usage", counters_json(part(p, 5)));
    cJSON *members = cJSON_AddObjectToObject(o, "members");
    const redisReply *m = part(p, 6);
    for (size_t i = 0; members && m && m->type == REDIS_REPLY_ARRAY && i + 1 < m->elements; i += 2)
        cJSON_AddStringToObject(members, gw_reply_str(m, i), gw_reply_str(m, i + 1));
    cJSON_AddItemToObject(o, "hostgroups", names_json(part(p, 7)));
    cJSON_AddItemToObject(o, "pools", names_json(part(p, 8)));
    cJSON_AddItemToObject(o, "networks", names_json(part(p, 9)));
    cJSON_AddItemToObject(o, "vms", names_json(part(p, 10)));
    return o;
}

static void projects_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const redisReply *list = part(reply, 1);
    if (!list || list->type != REDIS_REPLY_ARRAY) {
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return;
    }
    if (!strcmp(c->m->name, "project.list")) {
        cJSON *res = cJSON_CreateObject();
        cJSON *a = res ? cJSON_AddArrayToObject(res, "projects") : NULL;
        for (size_t i = 0; a && i < list->elements; i++)
            cJSON_AddItemToArray(a, project_json(list->element[i]));
        gw_call_succeed(c, res);
        return;
    }
    if (list->elements != 1) {
        gw_call_fail(c, VG_E_NOT_FOUND, "no project named %s", c->target);
        return;
    }
    const redisReply *p = list->element[0];
    if (!strcmp(c->m->name, "project.get")) {
        gw_call_succeed(c, project_json(p));
        return;
    }
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "project", gw_reply_str(p, 0));
        cJSON_AddItemToObject(res, "quota", counters_json(part(p, 4)));
        cJSON_AddItemToObject(res, "usage", counters_json(part(p, 5)));
    }
    gw_call_succeed(c, res);
}

static void run_project_list(gw_call *c)
{
    const char *argv[] = {"", c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    gw_call_eval(c, "project_get", projects_cb, 3, argv);
}

static void run_project_get(gw_call *c)
{
    const char *argv[] = {c->target, c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    gw_call_eval(c, "project_get", projects_cb, 3, argv);
}

/* ---- changes ---- */

static void run_define(gw_call *c)
{
    static const char *const fields[] = {"description", "quotas", "hostgroups", "pools",
                                         "networks"};
    cJSON *ch = cJSON_CreateObject();
    for (size_t i = 0; ch && i < sizeof(fields) / sizeof(fields[0]); i++) {
        const cJSON *v = gw_param(c->req.params, fields[i]);
        if (v)
            cJSON_AddItemToObject(ch, fields[i], cJSON_Duplicate(v, 1));
    }
    char *json = ch ? cJSON_PrintUnformatted(ch) : NULL;
    cJSON_Delete(ch);
    if (!json) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    /* "project.create" → "create" */
    const char *argv[] = {strchr(c->m->name, '.') + 1, gw_param_str(c, "name", ""), json, now};
    gw_call_eval(c, "project_change", gw_call_lua_empty_cb, 4, argv);
    free(json);
}

static void run_change(gw_call *c)
{
    const char *argv[] = {strchr(c->m->name, '.') + 1, gw_param_str(c, "name", "")};
    gw_call_eval(c, "project_change", gw_call_lua_empty_cb, 2, argv);
}

static void member_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    if (res)
        cJSON_AddStringToObject(res, "previous_role", gw_reply_str(reply, 1));
    gw_call_succeed(c, res);
}

static void run_member(gw_call *c)
{
    const char *argv[] = {c->target, gw_param_str(c, "user", ""), gw_param_str(c, "role", "")};
    gw_call_eval(c, "project_member", member_cb, 3, argv);
}

const gw_method gw_api_project_methods[] = {
    {"project.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_check_none, run_project_list},
    {"project.get", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, check_project_only, run_project_get},
    {"project.usage", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, check_project_only, run_project_get},
    {"project.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, check_definition, run_define},
    {"project.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, check_definition, run_define},
    {"project.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES | GW_M_REAUTH, check_delete,
     run_change},
    {"project.activate", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, check_name_only, run_change},
    {"project.deactivate", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, check_name_only,
     run_change},
    {"project.member.set", GW_SCOPE_PROJECT, GW_LEVEL_ADMIN, GW_M_MUTATES, check_member_set,
     run_member},
    {"project.member.remove", GW_SCOPE_PROJECT, GW_LEVEL_ADMIN, GW_M_MUTATES, check_member_remove,
     run_member},
    {NULL, 0, 0, 0, NULL, NULL},
};
