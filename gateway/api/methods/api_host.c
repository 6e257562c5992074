/* Hosts and host groups (docs/api.md "Hosts", "Host groups"): what the registry shows of every
 * host with its load, liveness, maintenance and limits, and the administrator's settings. Every
 * read and write is one Lua script, so a host is never shown half-updated. */
#include "api/api_json.h"

#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 1024
#define GROUP_HOSTS_MAX 1024
#define LIMIT_MAX 1000000000LL

static const char *const host_arrays[] = {"hosts", "groups", NULL};
static const char *const group_arrays[] = {"groups", "hosts", "projects", NULL};

/* ---- host.list, host.get ---- */

static void host_json_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, host_arrays);
    if (res)
        gw_call_succeed(c, res);
}

static void host_read(gw_call *c, const char *id)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {id, now};
    gw_call_eval(c, "host_list", host_json_cb, 2, argv);
}

static void run_host_list(gw_call *c)
{
    host_read(c, "");
}

static const gw_field host_params[] = {
    {"host", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the host id"},
    {NULL},
};

static void run_host_get(gw_call *c)
{
    host_read(c, gw_param_str(c, "host", ""));
}

/* ---- host.set ---- */

static const gw_field set_params[] = {
    {"host", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the host id"},
    {"maintenance", GW_F_BOOL, 0, 0, 0, NULL, "in maintenance: no new placements"},
    {"max_vcpus", GW_F_INT, 0, 0, LIMIT_MAX, NULL,
     "vCPUs placement may put on the host (0: its capacity)"},
    {"max_vm_memory_mib", GW_F_INT, 0, 0, LIMIT_MAX, NULL,
     "MiB of VM memory placement may put on the host (0: its capacity)"},
    {NULL},
};

static int check_host_set(const cJSON *params, vg_err *err)
{
    if (!gw_param(params, "maintenance") && !gw_param(params, "max_vcpus") &&
        !gw_param(params, "max_vm_memory_mib"))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "host.set needs at least one of maintenance, max_vcpus, max_vm_memory_mib");
    return VG_OK;
}

static void host_set_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        host_read(c, gw_param_str(c, "host", ""));
}

static void run_host_set(gw_call *c)
{
    char vcpus[24] = "", mem[24] = "", now[24];
    const char *maint = "";
    if (gw_param(c->req.params, "maintenance"))
        maint = gw_param_bool(c, "maintenance", 0) ? "1" : "0";
    if (gw_param(c->req.params, "max_vcpus"))
        snprintf(vcpus, sizeof(vcpus), "%lld", gw_param_int(c, "max_vcpus", 0));
    if (gw_param(c->req.params, "max_vm_memory_mib"))
        snprintf(mem, sizeof(mem), "%lld", gw_param_int(c, "max_vm_memory_mib", 0));
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {gw_param_str(c, "host", ""), maint, vcpus, mem, now};
    gw_call_eval(c, "host_set", host_set_cb, 5, argv);
}

/* ---- host groups ---- */

static void group_read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, group_arrays);
    if (res)
        gw_call_succeed(c, res);
}

static void group_read(gw_call *c, const char *name)
{
    const char *argv[] = {name};
    gw_call_eval(c, "hostgroup_list", group_read_cb, 1, argv);
}

static void run_group_list(gw_call *c)
{
    group_read(c, "");
}

static const gw_field group_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the group"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "free text"},
    {"hosts", GW_F_NAMES, 0, 0, GROUP_HOSTS_MAX, NULL,
     "the member hosts' ids (on edit: replaces them, [] empties the group)"},
    {NULL},
};

static void group_saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        group_read(c, gw_param_str(c, "name", ""));
}

static void group_save(gw_call *c, const char *op)
{
    const cJSON *hosts = gw_param(c->req.params, "hosts");
    char *members = hosts ? cJSON_PrintUnformatted(hosts) : NULL;
    if (hosts && !members) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *desc = gw_param_str(c, "description", NULL);
    const char *argv[] = {
        op, gw_param_str(c, "name", ""), desc ? "1" : "0", desc ? desc : "", members ? members : "",
        now};
    gw_call_eval(c, "hostgroup_save", group_saved_cb, 6, argv);
    free(members);
}

static void run_group_create(gw_call *c)
{
    group_save(c, "create");
}

static void run_group_edit(gw_call *c)
{
    group_save(c, "edit");
}

static const gw_field group_name_params[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the group"},
    {NULL},
};

static void run_group_delete(gw_call *c)
{
    const char *argv[] = {gw_param_str(c, "name", "")};
    gw_call_eval(c, "hostgroup_delete", gw_call_lua_empty_cb, 1, argv);
}

const gw_method gw_api_host_methods[] = {
    {"host.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_host_list},
    {"host.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, host_params, NULL, run_host_get},
    {"host.set", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, set_params, check_host_set,
     run_host_set},
    {"hostgroup.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_group_list},
    {"hostgroup.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, group_params, NULL,
     run_group_create},
    {"hostgroup.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, group_params, NULL,
     run_group_edit},
    {"hostgroup.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, group_name_params, NULL,
     run_group_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
