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

/* ---- checks ---- */

/* The inside of "quotas" (the schema made it an object). */
static int check_quotas(const cJSON *params, vg_err *err)
{
    const cJSON *q = gw_param(params, "quotas");
    if (!q)
        return VG_OK;
    for (const cJSON *f = q->child; f; f = f->next) {
        size_t i = 0;
        while (i < NQUOTAS && strcmp(quotas[i], f->string) != 0)
            i++;
        if (i == NQUOTAS)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "unknown quota \"%.64s\" (instances, vcpus, memory_mib, disk_mib, "
                           "images, snapshots)",
                           f->string);
        const gw_field quota = {f->string, GW_F_INT, GW_F_REQUIRED, -1, 1LL << 40, NULL, NULL};
        if (gw_schema_check_field(&quota, q, err) != VG_OK)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "quota \"%s\" must be a whole number, -1 for unlimited", f->string);
    }
    return VG_OK;
}

static const gw_field definition_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "free text"},
    {"quotas", GW_F_OBJECT, 0, 0, 0, NULL,
     "{instances, vcpus, memory_mib, disk_mib, images, snapshots}: whole numbers, -1 unlimited"},
    {"hostgroups", GW_F_NAMES, 0, 0, LIST_MAX, NULL, "host groups it may use ([]: all)"},
    {"pools", GW_F_NAMES, 0, 0, LIST_MAX, NULL, "storage pools it may use ([]: all)"},
    {"networks", GW_F_NAMES, 0, 0, LIST_MAX, NULL, "networks it may use ([]: all)"},
    {NULL},
};

static const gw_field name_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {NULL},
};

static const gw_field delete_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    GW_ADMIN_PASSWORD_FIELD,
    {NULL},
};

static const gw_field project_params[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {NULL},
};

static const gw_field member_set_params[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {"user", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the member"},
    {"role", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "operator|viewer",
     "the role in the project (capped by the user's own role)"},
    {NULL},
};

static const gw_field member_remove_params[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {"user", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the member"},
    {NULL},
};

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
    {"project.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_project_list},
    {"project.get", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, project_params, NULL, run_project_get},
    {"project.usage", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, project_params, NULL, run_project_get},
    {"project.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, definition_params,
     check_quotas, run_define},
    {"project.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, definition_params, check_quotas,
     run_define},
    {"project.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES | GW_M_REAUTH, delete_params,
     NULL, run_change},
    {"project.activate", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_change},
    {"project.deactivate", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_params, NULL,
     run_change},
    {"project.member.set", GW_SCOPE_PROJECT, GW_LEVEL_ADMIN, GW_M_MUTATES, member_set_params, NULL,
     run_member},
    {"project.member.remove", GW_SCOPE_PROJECT, GW_LEVEL_ADMIN, GW_M_MUTATES, member_remove_params,
     NULL, run_member},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
