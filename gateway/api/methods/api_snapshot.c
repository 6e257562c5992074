/* Snapshots (docs/api.md "Snapshots"): hostd takes, lists, reverts and deletes them; the
 * gateway keeps the project's snapshot count exact (gateway_snapshot_count.lua) so q_snapshots
 * holds. */
#include "api/methods/api_vm.h"

#include <stdio.h>
#include <string.h>

static const gw_field create_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new snapshot's name"},
    {"description", GW_F_STRING, 0, 0, 1024, NULL, "free text"},
    {"disk_only", GW_F_BOOL, 0, 0, 0, NULL, "external, of the disks only (no memory)"},
    {NULL},
};

static const gw_field name_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the snapshot"},
    {NULL},
};

static const gw_field delete_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the snapshot"},
    {"children", GW_F_BOOL, 0, 0, 0, NULL, "also its whole subtree"},
    {NULL},
};

/* {"vm":..,"name":..} answers of create, revert and delete. */
static cJSON *named_result(gw_vmcall *v)
{
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "name", gw_param_str(v->c, "name", ""));
    }
    return res;
}

/* ---- the count: gateway_snapshot_count.lua ---- */

static void count_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    if (gw_reply_str(reply, 0)[0]) {
        gw_call_fail(v->c, VG_E_QUOTA, "%s: %s", v->c->req.method, gw_reply_str(reply, 1));
        return;
    }
    v->next(v);
}

static void count(gw_vmcall *v, const char *mode, long long n, gw_vmcall_step *next)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", n);
    v->next = next;
    const char *argv[] = {v->vm, mode, num};
    gw_call_eval(v->c, "snapshot_count", count_cb, 3, argv);
}

static long long listed(const gw_vmcall *v)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(v->answer, "snapshots");
    return cJSON_IsArray(s) ? cJSON_GetArraySize(s) : 0;
}

/* ---- snapshot.list ---- */

static void list_done(gw_vmcall *v)
{
    cJSON *res = cJSON_CreateObject();
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(v->answer, "snapshots");
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddItemToObject(res, "snapshots",
                              cJSON_IsArray(s) ? cJSON_Duplicate(s, 1) : cJSON_CreateArray());
    }
    gw_call_succeed(v->c, res);
}

static void list_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) == VG_OK)
        gw_vmcall_rpc(v, v->vi.host, "snapshot.list", gw_vmcall_params(v), GW_VM_RPC_MS, list_done);
}

static void run_list(gw_call *c)
{
    gw_vmcall_run(c, list_checked);
}

/* ---- snapshot.create: reserve one, take it, give it back if hostd refused ---- */

static void create_done(gw_vmcall *v)
{
    const cJSON *parent = cJSON_GetObjectItemCaseSensitive(v->answer, "parent");
    cJSON *res = named_result(v);
    if (res)
        cJSON_AddItemToObject(res, "parent",
                              cJSON_IsString(parent) ? cJSON_CreateString(parent->valuestring)
                                                     : cJSON_CreateNull());
    gw_call_succeed(v->c, res);
}

static void fail_saved(gw_vmcall *v)
{
    gw_call_fail_err(v->c, &v->err);
}

static void create_undo(gw_vmcall *v)
{
    count(v, "add", -1, fail_saved);
}

static void create_reserved(gw_vmcall *v)
{
    cJSON *p = gw_vmcall_params(v);
    if (p) {
        cJSON_AddStringToObject(p, "name", gw_param_str(v->c, "name", ""));
        cJSON_AddStringToObject(p, "description", gw_param_str(v->c, "description", ""));
        cJSON_AddBoolToObject(p, "disk_only", gw_param_bool(v->c, "disk_only", 0));
    }
    v->on_error = create_undo;
    gw_vmcall_rpc(v, v->vi.host, "snapshot.create", p, GW_VM_LONG_MS, create_done);
}

static void create_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) == VG_OK)
        count(v, "add", 1, create_reserved);
}

static void run_create(gw_call *c)
{
    gw_vmcall_run(c, create_checked);
}

/* ---- snapshot.revert ---- */

static void revert_done(gw_vmcall *v)
{
    gw_call_succeed(v->c, named_result(v));
}

static void revert_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *p = gw_vmcall_params(v);
    if (p)
        cJSON_AddStringToObject(p, "name", gw_param_str(v->c, "name", ""));
    gw_vmcall_rpc(v, v->vi.host, "snapshot.revert", p, GW_VM_LONG_MS, revert_done);
}

static void run_revert(gw_call *c)
{
    gw_vmcall_run(c, revert_checked);
}

/* ---- snapshot.delete: a subtree may go, so the count is what hostd lists afterwards ---- */

static void delete_done(gw_vmcall *v)
{
    gw_call_succeed(v->c, named_result(v));
}

static void delete_counted(gw_vmcall *v)
{
    count(v, "set", listed(v), delete_done);
}

static void delete_listed(gw_vmcall *v)
{
    gw_vmcall_rpc(v, v->vi.host, "snapshot.list", gw_vmcall_params(v), GW_VM_RPC_MS,
                  delete_counted);
}

static void delete_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *p = gw_vmcall_params(v);
    if (p) {
        cJSON_AddStringToObject(p, "name", gw_param_str(v->c, "name", ""));
        cJSON_AddBoolToObject(p, "children", gw_param_bool(v->c, "children", 0));
    }
    gw_vmcall_rpc(v, v->vi.host, "snapshot.delete", p, GW_VM_LONG_MS, delete_listed);
}

static void run_delete(gw_call *c)
{
    gw_vmcall_run(c, delete_checked);
}

#define VM_OP GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES

const gw_method gw_api_snapshot_methods[] = {
    {"snapshot.list", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, gw_vm_params, NULL, run_list},
    {"snapshot.create", VM_OP, create_params, NULL, run_create},
    {"snapshot.revert", VM_OP, name_params, NULL, run_revert},
    {"snapshot.delete", VM_OP, delete_params, NULL, run_delete},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
