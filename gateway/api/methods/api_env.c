/* Environments (M11, docs/api.md "Environments"): VMs of one project grouped with a role each,
 * started, stopped and rebooted together, and a dashboard by role of how many run and how many
 * answer on their console. The records are Lua scripts; the batch actions call the hostd of
 * each VM (hostrpc.h) side by side and answer with one result per VM. */
#include "api/api_json.h"

#include "backend/hostrpc.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESCRIPTION_MAX 1024
#define ENV_VMS_MAX 256
/* hostd answers vm.shutdown when the VM is off: ACPI for timeout_s, then destroy; the call
 * gets that long and this much more. */
#define SHUTDOWN_TIMEOUT_S 60
#define SHUTDOWN_SLACK_MS 30000
#define ACTION_RPC_MS 30000
#define PROBE_MS 2000
#define PROBE_RPC_MS 5000

/* Lists in the scripts' JSON: env.list's envs (whose vms is a {vm: role} object) and one
 * environment's vms. */
static const char *const list_arrays[] = {"envs", NULL};
static const char *const env_arrays[] = {"vms", NULL};

/* ---- reading ---- */

static void read_env(gw_call *c, const char *env, vg_redis_cb *cb)
{
    const char *argv[] = {env, c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    gw_call_eval(c, "env_list", cb, 3, argv);
}

static void env_json_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, env_arrays);
    if (res)
        gw_call_succeed(c, res);
}

static void env_list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, list_arrays);
    if (res)
        gw_call_succeed(c, res);
}

static void run_env_list(gw_call *c)
{
    read_env(c, "", env_list_cb);
}

static const gw_field env_params[] = {
    {"env", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the environment"},
    {NULL},
};

static const gw_field stop_params[] = {
    {"env", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the environment"},
    {"timeout_s", GW_F_INT, 0, 1, 3600, NULL,
     "seconds of ACPI shutdown before a VM is forced off (default 60)"},
    {NULL},
};

static void run_env_get(gw_call *c)
{
    read_env(c, gw_param_str(c, "env", ""), env_json_cb);
}

/* ---- create, edit, delete ---- */

static const gw_field create_params[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project it belongs to"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new environment's name"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "free text"},
    {NULL},
};

static const gw_field edit_params[] = {
    {"env", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the environment"},
    {"description", GW_F_STRING, 0, 0, DESCRIPTION_MAX, NULL, "a new description"},
    {"vms", GW_F_OBJECT, 0, 0, 0, NULL,
     "{vm: role} of up to 256 VMs of the project: replaces the members ({} empties it)"},
    {NULL},
};

/* The inside of "vms" (the schema made it an object). */
static int check_edit(const cJSON *params, vg_err *err)
{
    const cJSON *vms = gw_param(params, "vms");
    if (!vms)
        return VG_OK;
    if (cJSON_GetArraySize(vms) > ENV_VMS_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"vms\" must be an object {vm: role} of at most %d VMs", ENV_VMS_MAX);
    for (const cJSON *v = vms->child; v; v = v->next) {
        if (!vg_valid_name(v->string))
            return vg_fail(err, VG_E_BAD_REQUEST, "\"vms\" holds \"%.64s\", which is no VM name",
                           v->string);
        if (!cJSON_IsString(v) || !vg_valid_name(v->valuestring))
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "the role of VM %s must be a name (web, db, ...: 1-64 characters of "
                           "A-Z a-z 0-9 . _ -)",
                           v->string);
    }
    return VG_OK;
}

/* After a write: the environment as env.get shows it. */
static void saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    const char *env = gw_param_str(c, "env", NULL);
    read_env(c, env ? env : gw_param_str(c, "name", ""), env_json_cb);
}

static void save(gw_call *c, const char *op, const char *env)
{
    const cJSON *vms = gw_param(c->req.params, "vms");
    char *members = vms ? cJSON_PrintUnformatted(vms) : NULL;
    if (vms && !members) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *desc = gw_param_str(c, "description", NULL);
    const char *argv[] = {op,
                          env,
                          gw_param_str(c, "project", ""),
                          desc ? "1" : "0",
                          desc ? desc : "",
                          members ? members : "",
                          now};
    gw_call_eval(c, "env_save", saved_cb, 7, argv);
    free(members);
}

static void run_env_create(gw_call *c)
{
    save(c, "create", gw_param_str(c, "name", ""));
}

static void run_env_edit(gw_call *c)
{
    save(c, "edit", gw_param_str(c, "env", ""));
}

static void run_env_delete(gw_call *c)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[] = {gw_param_str(c, "env", ""), now};
    gw_call_eval(c, "env_delete", gw_call_lua_empty_cb, 2, argv);
}

/* ---- batch: start, stop, reboot, status ---- */

typedef enum batch_kind { B_START, B_STOP, B_REBOOT, B_STATUS } batch_kind;

/* One call fanned out to the VMs of an environment. The hostd answers land in the per-VM
 * objects of `env.vms`; the call ends when the last one is in. */
typedef struct batch {
    gw_call *c;
    batch_kind kind;
    cJSON *env; /* env.get's answer; vms[i] becomes the result for VM i */
    int pending;
} batch;

typedef struct batch_item {
    batch *b;
    cJSON *vm; /* inside b->env */
} batch_item;

static void batch_free(void *p)
{
    batch *b = p;
    cJSON_Delete(b->env);
    free(b);
}

static void set_error(cJSON *vm, const char *code, const char *message)
{
    cJSON_AddStringToObject(vm, "result", code);
    cJSON_AddStringToObject(vm, "message", message);
}

static void count_role(cJSON *roles, const cJSON *vm)
{
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(vm, "role");
    const char *name = cJSON_IsString(role) ? role->valuestring : "";
    cJSON *r = cJSON_GetObjectItemCaseSensitive(roles, name);
    if (!r) {
        r = cJSON_AddObjectToObject(roles, name);
        if (!r)
            return;
        cJSON_AddNumberToObject(r, "total", 0);
        cJSON_AddNumberToObject(r, "running", 0);
        cJSON_AddNumberToObject(r, "reachable", 0);
        cJSON_AddNumberToObject(r, "unreachable", 0);
    }
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(vm, "state");
    int running = cJSON_IsString(state) && !strcmp(state->valuestring, "running");
    int reachable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(vm, "reachable"));
    const char *keys[] = {"total", "running", "reachable", "unreachable"};
    int add[] = {1, running, running && reachable, running && !reachable};
    for (int i = 0; i < 4; i++) {
        cJSON *n = cJSON_GetObjectItemCaseSensitive(r, keys[i]);
        cJSON_SetNumberValue(n, n->valuedouble + add[i]);
    }
}

static void batch_finish(batch *b)
{
    gw_call *c = b->c;
    cJSON *res = cJSON_CreateObject();
    if (!res) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    cJSON *vms = cJSON_DetachItemFromObjectCaseSensitive(b->env, "vms");
    cJSON_AddStringToObject(res, "env", gw_param_str(c, "env", ""));
    if (b->kind == B_STATUS) {
        cJSON *roles = cJSON_AddObjectToObject(res, "roles");
        for (const cJSON *vm = vms ? vms->child : NULL; roles && vm; vm = vm->next)
            count_role(roles, vm);
    } else {
        int ok = 0, failed = 0;
        for (const cJSON *vm = vms ? vms->child : NULL; vm; vm = vm->next) {
            const cJSON *r = cJSON_GetObjectItemCaseSensitive(vm, "result");
            if (cJSON_IsString(r) && !strcmp(r->valuestring, "ok"))
                ok++;
            else
                failed++;
        }
        cJSON_AddNumberToObject(res, "ok", ok);
        cJSON_AddNumberToObject(res, "failed", failed);
    }
    cJSON_AddItemToObject(res, "vms", vms ? vms : cJSON_CreateArray());
    gw_call_succeed(c, res);
}

static void batch_done(batch *b)
{
    if (--b->pending == 0)
        batch_finish(b);
}

static void rpc_done(void *priv, const cJSON *result, const vg_err *err)
{
    batch_item *it = priv;
    batch *b = it->b;
    cJSON *vm = it->vm;
    free(it);
    if (b->kind == B_STATUS) {
        /* A console that cannot be probed does not answer: unreachable. */
        cJSON_AddBoolToObject(
            vm, "reachable",
            !err && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "reachable")));
    } else if (err) {
        set_error(vm, vg_err_code_name(err->code), err->msg);
    } else {
        cJSON_AddStringToObject(vm, "result", "ok");
        const cJSON *state = cJSON_GetObjectItemCaseSensitive(result, "state");
        if (cJSON_IsString(state))
            cJSON_ReplaceItemInObjectCaseSensitive(vm, "state",
                                                   cJSON_CreateString(state->valuestring));
        const cJSON *forced = cJSON_GetObjectItemCaseSensitive(result, "forced");
        if (cJSON_IsBool(forced))
            cJSON_AddBoolToObject(vm, "forced", cJSON_IsTrue(forced));
    }
    batch_done(b);
}

/* What the batch does to one VM: a hostd method, or nothing with the reason. */
static const char *vm_action(batch_kind kind, const char *state, const char **skip)
{
    int running = !strcmp(state, "running");
    *skip = NULL;
    switch (kind) {
    case B_START:
        if (running)
            *skip = "already running";
        return "vm.start";
    case B_STOP:
        if (!strcmp(state, "shutoff"))
            *skip = "already shut off";
        return "vm.shutdown";
    case B_REBOOT:
        return "vm.reboot";
    case B_STATUS:
        if (!running)
            *skip = "not running";
        return "vm.probe";
    }
    return NULL;
}

static void batch_vm(batch *b, cJSON *vm)
{
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vm, "vm"));
    const char *host = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vm, "host"));
    const char *state = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vm, "state"));
    const char *skip;
    const char *method = vm_action(b->kind, state ? state : "", &skip);
    if (skip) {
        if (b->kind == B_STATUS) {
            cJSON_AddBoolToObject(vm, "reachable", 0);
        } else {
            cJSON_AddStringToObject(vm, "result", "ok");
            cJSON_AddStringToObject(vm, "message", skip);
        }
        return;
    }
    if (!name || !host || !host[0]) {
        if (b->kind == B_STATUS)
            cJSON_AddBoolToObject(vm, "reachable", 0);
        else
            set_error(vm, "not_found", "the VM is not defined on any host");
        return;
    }
    cJSON *params = cJSON_CreateObject();
    batch_item *it = calloc(1, sizeof(*it));
    if (!params || !it || !cJSON_AddStringToObject(params, "vm", name)) {
        cJSON_Delete(params);
        free(it);
        set_error(vm, "internal", "out of memory");
        return;
    }
    long long shutdown_s = gw_param_int(b->c, "timeout_s", SHUTDOWN_TIMEOUT_S);
    if (b->kind == B_STATUS)
        cJSON_AddNumberToObject(params, "timeout_ms", PROBE_MS);
    if (b->kind == B_STOP)
        cJSON_AddNumberToObject(params, "timeout_s", (double)shutdown_s);
    it->b = b;
    it->vm = vm;
    b->pending++;
    long timeout = b->kind == B_STOP     ? (long)shutdown_s * 1000 + SHUTDOWN_SLACK_MS
                   : b->kind == B_STATUS ? PROBE_RPC_MS
                                         : ACTION_RPC_MS;
    /* rpc_done may run before this returns (a host that is not even known). */
    gw_hostrpc_call(b->c->g, host, method, params, timeout, rpc_done, it);
    cJSON_Delete(params);
}

static void batch_env_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    batch *b = c->state;
    if (!(b->env = gw_call_json(c, reply, env_arrays)))
        return;
    cJSON *vms = cJSON_GetObjectItemCaseSensitive(b->env, "vms");
    /* Held at one while the calls go out, so an answer that comes at once ends nothing early. */
    b->pending = 1;
    for (cJSON *vm = cJSON_IsArray(vms) ? vms->child : NULL; vm; vm = vm->next)
        batch_vm(b, vm);
    batch_done(b);
}

static void run_batch(gw_call *c, batch_kind kind)
{
    batch *b = calloc(1, sizeof(*b));
    if (!b) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    b->c = c;
    b->kind = kind;
    c->state = b;
    c->state_free = batch_free;
    read_env(c, gw_param_str(c, "env", ""), batch_env_cb);
}

static void run_env_start(gw_call *c)
{
    run_batch(c, B_START);
}

static void run_env_stop(gw_call *c)
{
    run_batch(c, B_STOP);
}

static void run_env_reboot(gw_call *c)
{
    run_batch(c, B_REBOOT);
}

static void run_env_status(gw_call *c)
{
    run_batch(c, B_STATUS);
}

const gw_method gw_api_env_methods[] = {
    {"env.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_env_list},
    {"env.get", GW_SCOPE_ENV, GW_LEVEL_VIEWER, 0, env_params, NULL, run_env_get},
    {"env.create", GW_SCOPE_PROJECT, GW_LEVEL_OPERATOR, GW_M_MUTATES, create_params, NULL,
     run_env_create},
    {"env.edit", GW_SCOPE_ENV, GW_LEVEL_OPERATOR, GW_M_MUTATES, edit_params, check_edit,
     run_env_edit},
    {"env.delete", GW_SCOPE_ENV, GW_LEVEL_OPERATOR, GW_M_MUTATES, env_params, NULL, run_env_delete},
    {"env.start", GW_SCOPE_ENV, GW_LEVEL_OPERATOR, GW_M_MUTATES, env_params, NULL, run_env_start},
    {"env.stop", GW_SCOPE_ENV, GW_LEVEL_OPERATOR, GW_M_MUTATES, stop_params, NULL, run_env_stop},
    {"env.reboot", GW_SCOPE_ENV, GW_LEVEL_OPERATOR, GW_M_MUTATES, env_params, NULL, run_env_reboot},
    {"env.status", GW_SCOPE_ENV, GW_LEVEL_VIEWER, 0, env_params, NULL, run_env_status},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
