/* VM lifecycle, CD-ROM media and migration (docs/api.md "Lifecycle", "Migration"): each asks
 * the VM's hostd after checking the registry's view of the VM, so a wrong state is refused
 * with a clear message before any host is bothered. */
#include "api/methods/api_vm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_field shutdown_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"timeout_s", GW_F_INT, 0, 1, 3600, NULL,
     "seconds of ACPI shutdown before the VM is forced off (default 60)"},
    {NULL},
};

static long timeout_of(const char *method, long long shutdown_s)
{
    if (!strcmp(method, "vm.start"))
        return GW_VM_DEFINE_MS;
    if (!strcmp(method, "vm.shutdown"))
        return (long)(shutdown_s + GW_VM_SHUTDOWN_GRACE) * 1000L;
    if (!strcmp(method, "vm.save") || !strcmp(method, "vm.restore"))
        return GW_VM_LONG_MS;
    return GW_VM_RPC_MS;
}

static void acted(gw_vmcall *v)
{
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(v->answer, "state");
    const cJSON *forced = cJSON_GetObjectItemCaseSensitive(v->answer, "forced");
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "host", v->host);
        cJSON_AddStringToObject(res, "state", cJSON_IsString(state) ? state->valuestring : "");
        if (forced)
            cJSON_AddBoolToObject(res, "forced", cJSON_IsTrue(forced));
    }
    gw_call_succeed(v->c, res);
}

static void act(gw_vmcall *v)
{
    const char *m = v->c->req.method;
    long long t = gw_param_int(v->c, "timeout_s", 60);
    cJSON *p = gw_vmcall_params(v);
    if (p && !strcmp(m, "vm.shutdown"))
        cJSON_AddNumberToObject(p, "timeout_s", (double)t);
    gw_vmcall_rpc(v, v->host, m, p, timeout_of(m, t), acted);
}

/* ---- vm.start on another host: define there from the stored spec, forget the old one ---- */

static void replace_recorded(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    /* Shared storage: the old definition goes without its disks. */
    cJSON *p = gw_vmcall_params(v);
    if (p)
        cJSON_AddBoolToObject(p, "disks", 0);
    gw_vmcall_rpc(v, v->from, "vm.undefine", p, GW_VM_RPC_MS, act);
}

static void replace_defined(gw_vmcall *v)
{
    gw_call_sent(v->c, vg_redis_cmd(v->c->g->redis, replace_recorded, v->c,
                                    "HSET vg:vmdef:%s host %s", v->vm, v->host));
}

static void replace_placed(gw_vmcall *v)
{
    snprintf(v->from, sizeof(v->from), "%s", v->vi.host);
    cJSON *p = cJSON_CreateObject();
    if (p && (!cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(gw_vminfo_spec(&v->vi), 1)) ||
              (v->vi.uuid[0] && !cJSON_AddStringToObject(p, "uuid", v->vi.uuid)))) {
        cJSON_Delete(p);
        p = NULL;
    }
    gw_vmcall_rpc(v, v->host, "vm.define", p, GW_VM_DEFINE_MS, replace_defined);
}

static void start_elsewhere(vg_redis *r, redisReply *reply, void *priv);

static void start_checked(gw_vmcall *v)
{
    /* Can it start where it is? gateway_place.lua answers for that one host. */
    char cpu[16], mem[24];
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "vcpus");
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "memory_mib");
    snprintf(cpu, sizeof(cpu), "%lld",
             v->vi.vcpus          ? v->vi.vcpus
             : cJSON_IsString(rc) ? strtoll(rc->valuestring, NULL, 10)
                                  : 0);
    snprintf(mem, sizeof(mem), "%lld",
             v->vi.memory_mib     ? v->vi.memory_mib
             : cJSON_IsString(rm) ? strtoll(rm->valuestring, NULL, 10)
                                  : 0);
    snprintf(v->host, sizeof(v->host), "%s", v->vi.host);
    v->next = act;
    const char *argv[] = {v->vi.project, cpu, mem, v->vi.host, "", v->vm};
    gw_call_eval(v->c, "place", start_elsewhere, 6, argv);
}

static void start_elsewhere(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    if (gw_reply_int(reply, 0) == 1) {
        v->next(v);
        return;
    }
    /* A host that stopped sending heartbeats may still run the VM on the shared disks, and it
     * would report the domain again when it is back: never start a second copy elsewhere. */
    if (!v->vi.host_up) {
        gw_call_fail(v->c, VG_E_UNAVAILABLE,
                     "vm.start: host %s of VM %s is down; it may still run the VM, so it is not "
                     "started elsewhere",
                     v->vi.host, v->vm);
        return;
    }
    const cJSON *spec = gw_vminfo_spec(&v->vi);
    if (!spec) {
        /* Nothing to define it elsewhere from: the one host's reason is the answer. */
        const char *why = gw_reply_str(reply, 1);
        const char *prefix = "no host fits: ";
        if (!strncmp(why, prefix, strlen(prefix)))
            why += strlen(prefix);
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.start: VM %s cannot start: %s", v->vm, why);
        return;
    }
    /* Another host, by the spec's own placement rules. */
    if (gw_vmcall_parse_spec(v, spec) != VG_OK)
        return;
    char what[sizeof(v->what)];
    snprintf(what, sizeof(what), "vm.start: VM %.64s cannot start on %.64s and ", v->vm,
             v->vi.host);
    gw_vmcall_place(v, v->vi.project, v->spec.vcpus, v->spec.memory_mib, v->spec.place_host,
                    v->spec.place_group, what, replace_placed);
}

static void life_checked(gw_vmcall *v)
{
    const char *m = v->c->req.method;
    if (v->vi.registered && !gw_vm_state_allows(m, v->vi.state)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "%s: VM %s is %s", m, v->vm, v->vi.state);
        return;
    }
    if (!strcmp(m, "vm.start")) {
        if (!v->vi.host[0]) {
            gw_call_fail(v->c, VG_E_CONFLICT, "vm.start: VM %s is defined on no host", v->vm);
            return;
        }
        start_checked(v);
        return;
    }
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    snprintf(v->host, sizeof(v->host), "%s", v->vi.host);
    act(v);
}

static void run_power(gw_call *c)
{
    gw_vmcall_run(c, life_checked);
}

/* ---- vm.cdrom ---- */

static const gw_field cdrom_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"media", GW_F_STRING, GW_F_REQUIRED | GW_F_NULLABLE, 0, 194, NULL,
     "the medium as \"pool/volume\", or null to eject"},
    {NULL},
};

static int check_cdrom(const cJSON *params, vg_err *err)
{
    const cJSON *m = gw_param(params, "media");
    if (cJSON_IsNull(m))
        return VG_OK;
    const char *slash = strchr(m->valuestring, '/');
    if (!slash || slash == m->valuestring || !slash[1] || strchr(slash + 1, '/'))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"media\" must be \"pool/volume\" or null");
    return VG_OK;
}

static void cdrom_answer(gw_vmcall *v)
{
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(v->answer, "media");
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddItemToObject(res, "media",
                              cJSON_IsString(media) ? cJSON_CreateString(media->valuestring)
                                                    : cJSON_CreateNull());
    }
    gw_call_succeed(v->c, res);
}

static void cdrom_recorded(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (gw_call_reply_ok(v->c, reply))
        cdrom_answer(v);
}

/* The stored spec follows, so a later definition elsewhere keeps the medium. */
static void cdrom_changed(gw_vmcall *v)
{
    const cJSON *spec = gw_vminfo_spec(&v->vi);
    cJSON *cd = spec ? cJSON_GetObjectItemCaseSensitive(spec, "cdrom") : NULL;
    if (!cJSON_IsObject(cd)) {
        cdrom_answer(v);
        return;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(cd, "media",
                                           cJSON_Duplicate(gw_param(v->c->req.params, "media"), 1));
    char *text = cJSON_PrintUnformatted(spec);
    if (!text) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    const char *argv[] = {"HSET", "", "spec", text};
    char key[80];
    snprintf(key, sizeof(key), "vg:vmdef:%s", v->vm);
    argv[1] = key;
    gw_call_sent(v->c, vg_redis_argv(v->c->g->redis, cdrom_recorded, v->c, 4, argv, NULL));
    free(text);
}

static void cdrom_change(gw_vmcall *v)
{
    cJSON *p = gw_vmcall_params(v);
    if (p)
        cJSON_AddItemToObject(p, "media", cJSON_Duplicate(gw_param(v->c->req.params, "media"), 1));
    gw_vmcall_rpc(v, v->vi.host, "vm.cdrom", p, GW_VM_RPC_MS, cdrom_changed);
}

static void cdrom_pool_allowed(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (gw_call_lua_ok(v->c, reply))
        cdrom_change(v);
}

/* The medium's pool must be one the VM's project may use. */
static void cdrom_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    const cJSON *m = gw_param(v->c->req.params, "media");
    if (!cJSON_IsString(m)) {
        cdrom_change(v);
        return;
    }
    char pool[200];
    snprintf(pool, sizeof(pool), "%.*s", (int)(strchr(m->valuestring, '/') - m->valuestring),
             m->valuestring);
    const char *argv[] = {v->c->project, "pools", pool};
    gw_call_eval(v->c, "project_may_use", cdrom_pool_allowed, 3, argv);
}

static void run_cdrom(gw_call *c)
{
    gw_vmcall_run(c, cdrom_checked);
}

/* ---- vm.migrate ---- */

static const gw_field migrate_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"host", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the destination host's id"},
    {NULL},
};

static void migrated_answer(gw_vmcall *v)
{
    cJSON *ev = cJSON_CreateObject();
    if (ev) {
        cJSON_AddStringToObject(ev, "from", v->from);
        cJSON_AddStringToObject(ev, "to", v->host);
    }
    gw_vmcall_event(v, "vm.migrated", ev);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "from", v->from);
        cJSON_AddStringToObject(res, "to", v->host);
    }
    gw_call_succeed(v->c, res);
}

static void migrated_recorded(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (gw_call_reply_ok(v->c, reply))
        migrated_answer(v);
}

static void migrated(gw_vmcall *v)
{
    if (!v->vi.defined) {
        migrated_answer(v);
        return;
    }
    gw_call_sent(v->c, vg_redis_cmd(v->c->g->redis, migrated_recorded, v->c,
                                    "HSET vg:vmdef:%s host %s", v->vm, v->host));
}

static void dest_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    const char *migrate_uri = gw_reply_str(reply, 0), *libvirt_uri = gw_reply_str(reply, 1);
    const char *dir = gw_reply_str(reply, 2);
    const char *uri = migrate_uri[0] ? migrate_uri : libvirt_uri;
    if (!uri[0] || !dir[0]) {
        gw_call_fail(v->c, VG_E_UNAVAILABLE,
                     "vm.migrate: host %s has not published its libvirt_uri and console_dir",
                     v->host);
        return;
    }
    snprintf(v->from, sizeof(v->from), "%s", v->vi.host);
    cJSON *p = gw_vmcall_params(v);
    if (p) {
        cJSON_AddStringToObject(p, "dest_uri", uri);
        cJSON_AddStringToObject(p, "dest_console_dir", dir);
    }
    gw_vmcall_rpc(v, v->vi.host, "vm.migrate", p, GW_VM_LONG_MS, migrated);
}

static void migrate_placed(gw_vmcall *v)
{
    gw_call_sent(v->c,
                 vg_redis_cmd(v->c->g->redis, dest_cb, v->c,
                              "HMGET vg:host:%s migrate_uri libvirt_uri console_dir", v->host));
}

static void migrate_checked(gw_vmcall *v)
{
    const char *dest = gw_param_str(v->c, "host", "");
    if (!v->vi.registered) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.migrate: no host reports VM %s", v->vm);
        return;
    }
    if (!gw_vm_state_allows("vm.migrate", v->vi.state)) {
        gw_call_fail(v->c, VG_E_CONFLICT,
                     "vm.migrate: VM %s is %s; only running or paused VMs migrate", v->vm,
                     v->vi.state);
        return;
    }
    if (!strcmp(dest, v->vi.host)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.migrate: VM %s is on host %s already", v->vm, dest);
        return;
    }
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    long long cpu = v->vi.vcpus, mem = v->vi.memory_mib;
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "vcpus");
    const cJSON *rm = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "memory_mib");
    if (cJSON_IsString(rc))
        cpu = strtoll(rc->valuestring, NULL, 10);
    if (cJSON_IsString(rm))
        mem = strtoll(rm->valuestring, NULL, 10);
    /* An administrator's explicit choice of host is not bound by the project's host groups. */
    gw_vmcall_place(v, "", (int)cpu, mem, dest, "", "vm.migrate: ", migrate_placed);
}

static void run_migrate(gw_call *c)
{
    gw_vmcall_run(c, migrate_checked);
}

#define VM_OP GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES

const gw_method gw_api_vmlife_methods[] = {
    {"vm.start", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.shutdown", VM_OP, shutdown_params, NULL, run_power},
    {"vm.destroy", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.reboot", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.reset", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.suspend", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.resume", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.save", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.restore", VM_OP, gw_vm_params, NULL, run_power},
    {"vm.cdrom", VM_OP, cdrom_params, check_cdrom, run_cdrom},
    {"vm.migrate", GW_SCOPE_VM, GW_LEVEL_ADMIN, GW_M_MUTATES, migrate_params, NULL, run_migrate},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
