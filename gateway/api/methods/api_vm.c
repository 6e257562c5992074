/* VMs: the fleet's VMs as the registry shows them and the definitions of VMs in projects
 * (docs/api.md "VMs"): create, clone, edit, adopt, delete, get, xml. */
#include "api/methods/api_vm.h"

#include "core/auth.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A page is at most this many VMs; a caller that does not page gets the first VM_LIST_MAX. */
#define VM_LIST_MAX 1000

static const gw_field list_params[] = {
    {"limit", GW_F_INT, 0, 1, VM_LIST_MAX, NULL, "VMs per page (default 1000)"},
    {"cursor", GW_F_STRING, GW_F_NULLABLE, 0, 64, NULL,
     "the next of the previous page (absent or null: the first page)"},
    {"project", GW_F_NAME, 0, 0, 0, NULL, "only the VMs of this project"},
    {"host", GW_F_NAME, 0, 0, 0, NULL, "only the VMs on this host"},
    {"state", GW_F_ENUM, 0, 0, 0, "running|paused|shutoff|crashed|pmsuspended|blocked|unknown",
     "only the VMs in this state"},
    {"env", GW_F_NAME, 0, 0, 0, NULL, "only the VMs of this environment"},
    {"prefix", GW_F_STRING, 0, 1, 64, NULL, "only the VMs whose name starts so"},
    {NULL},
};

static void vm_list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    const redisReply *rows =
        reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 ? reply->element[0] : NULL;
    cJSON *res = cJSON_CreateObject();
    cJSON *vms = res ? cJSON_AddArrayToObject(res, "vms") : NULL;
    for (size_t i = 0; vms && rows && rows->type == REDIS_REPLY_ARRAY && i < rows->elements; i++) {
        const redisReply *v = rows->element[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(vms, o);
        cJSON_AddStringToObject(o, "name", gw_reply_str(v, 0));
        cJSON_AddStringToObject(o, "uuid", gw_reply_str(v, 1));
        cJSON_AddStringToObject(o, "host", gw_reply_str(v, 2));
        cJSON_AddStringToObject(o, "state", gw_reply_str(v, 3));
        cJSON_AddBoolToObject(o, "host_up", gw_reply_int(v, 4) == 1);
        cJSON *cons = cJSON_AddArrayToObject(o, "consoles");
        const redisReply *cl =
            v->type == REDIS_REPLY_ARRAY && v->elements > 5 ? v->element[5] : NULL;
        /* serial0 first: it is the console a client opens by default. */
        for (int pass = 0; cons && cl && cl->type == REDIS_REPLY_ARRAY && pass < 2; pass++)
            for (size_t k = 0; k < cl->elements; k++) {
                const char *d = gw_reply_str(cl, k);
                if ((strcmp(d, "serial0") == 0) == (pass == 0))
                    cJSON_AddItemToArray(cons, cJSON_CreateString(d));
            }
        cJSON_AddStringToObject(o, "project", gw_reply_str(v, 6));
    }
    const char *next = rows ? gw_reply_str(reply, 1) : "";
    if (res)
        cJSON_AddItemToObject(res, "next", next[0] ? cJSON_CreateString(next) : cJSON_CreateNull());
    gw_call_succeed(c, res);
}

static void run_vm_list(gw_call *c)
{
    char limit[24];
    snprintf(limit, sizeof(limit), "%lld", gw_param_int(c, "limit", VM_LIST_MAX));
    const char *argv[] = {c->user,
                          strcmp(c->role, "admin") == 0 ? "1" : "0",
                          limit,
                          gw_param_str(c, "cursor", ""),
                          gw_param_str(c, "project", ""),
                          gw_param_str(c, "host", ""),
                          gw_param_str(c, "state", ""),
                          gw_param_str(c, "env", ""),
                          gw_param_str(c, "prefix", "")};
    gw_call_eval(c, "vm_list", vm_list_cb, 9, argv);
}

/* ---- quota reservation (gateway_vm_reserve.lua / gateway_vm_release.lua) ---- */

static void reserve_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    const char *code = gw_reply_str(reply, 0);
    if (code[0]) {
        gw_call_fail(v->c, vg_err_code_from_name(code), "%s: %s", v->c->req.method,
                     gw_reply_str(reply, 1));
        return;
    }
    v->next(v);
}

/* mode create/edit/adopt; spec is the JSON text to store. */
static void reserve(gw_vmcall *v, const char *mode, long long vcpus, long long mem, long long disk,
                    const char *spec, const char *description, gw_vmcall_step *next)
{
    char cpu[24], memory[24], dsk[24], now[24];
    snprintf(cpu, sizeof(cpu), "%lld", vcpus);
    snprintf(memory, sizeof(memory), "%lld", mem);
    snprintf(dsk, sizeof(dsk), "%lld", disk);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    v->next = next;
    const char *argv[] = {mode, v->vm,   v->project, cpu, memory,     dsk,
                          spec, v->host, v->c->user, now, description};
    gw_call_eval(v->c, "vm_reserve", reserve_cb, 11, argv);
}

static void release_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    v->next(v);
}

static void release(gw_vmcall *v, gw_vmcall_step *next)
{
    v->next = next;
    const char *argv[] = {v->vm};
    gw_call_eval(v->c, "vm_release", release_cb, 1, argv);
}

static void fail_with_saved_error(gw_vmcall *v)
{
    gw_call_fail_err(v->c, &v->err);
}

/* ---- vm.create, vm.clone: place, reserve, define ---- */

static void created(gw_vmcall *v)
{
    const cJSON *uuid = cJSON_GetObjectItemCaseSensitive(v->answer, "uuid");
    cJSON *ev = cJSON_CreateObject();
    if (ev)
        cJSON_AddStringToObject(ev, "host", v->host);
    gw_vmcall_event(v, "vm.created", ev);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "project", v->project);
        cJSON_AddStringToObject(res, "host", v->host);
        cJSON_AddStringToObject(res, "uuid", cJSON_IsString(uuid) ? uuid->valuestring : "");
    }
    gw_call_succeed(v->c, res);
}

static void create_undo(gw_vmcall *v)
{
    release(v, fail_with_saved_error);
}

static void create_define(gw_vmcall *v)
{
    cJSON *p = cJSON_CreateObject();
    if (p && !cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(v->spec_json, 1))) {
        cJSON_Delete(p);
        p = NULL;
    }
    v->on_error = create_undo;
    gw_vmcall_rpc(v, v->host, "vm.define", p, GW_VM_DEFINE_MS, created);
}

/* The NICs' fixed addresses as static leases, their security groups as filters on the host:
 * before the domain that uses them. */
static void create_filters(gw_vmcall *v)
{
    gw_vmnet_filters(v, v->host, create_define, create_undo);
}

static void create_leases(gw_vmcall *v)
{
    gw_vmnet_leases(v, create_filters, create_undo);
}

static void create_reserve(gw_vmcall *v)
{
    char *text = cJSON_PrintUnformatted(v->spec_json);
    if (!text) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    reserve(v, "create", v->spec.vcpus, v->spec.memory_mib, vg_domspec_disk_mib(&v->spec), text,
            v->spec.description, create_leases);
    free(text);
}

/* Both create and clone land here with v->project set and the spec in hand. */
static void create_from(gw_vmcall *v, const cJSON *spec)
{
    if (gw_vmcall_parse_spec(v, spec) != VG_OK)
        return;
    snprintf(v->vm, sizeof(v->vm), "%s", v->spec.name);
    char what[96];
    snprintf(what, sizeof(what), "%s: ", v->c->req.method);
    gw_vmcall_place(v, v->project, v->spec.vcpus, v->spec.memory_mib, v->spec.place_host,
                    v->spec.place_group, what, create_reserve);
}

static const gw_field create_params[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project it belongs to"},
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL, "the VM spec (docs/vmspec.md)"},
    {NULL},
};

static void run_create(gw_call *c)
{
    gw_vmcall *v = gw_vmcall_new(c);
    if (!v)
        return;
    snprintf(v->project, sizeof(v->project), "%s", gw_param_str(c, "project", ""));
    create_from(v, gw_param(c->req.params, "spec"));
}

static const gw_field clone_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the source VM"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the new VM's name"},
    {NULL},
};

/* A clone is the source's spec under a new name: new empty volumes for NEW disks, new
 * overlays on the same images for IMAGE disks, new MAC addresses. Existing volumes cannot be
 * shared between two VMs, and disk contents are not copied. */
static void clone_source(gw_vmcall *v)
{
    const cJSON *src = gw_vminfo_spec(&v->vi);
    if (!src) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.clone: VM %s has no spec to clone (%s)", v->vm,
                     v->vi.defined ? "it was adopted" : "it belongs to no project");
        return;
    }
    cJSON *spec = cJSON_Duplicate(src, 1);
    if (!spec) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(spec, "name",
                                           cJSON_CreateString(gw_param_str(v->c, "name", "")));
    const cJSON *disks = cJSON_GetObjectItemCaseSensitive(spec, "disks");
    int i = 0;
    for (const cJSON *d = disks ? disks->child : NULL; d; d = d->next, i++)
        if (cJSON_GetObjectItemCaseSensitive(d, "volume")) {
            gw_call_fail(v->c, VG_E_CONFLICT,
                         "vm.clone: disk %d of VM %s is an existing volume, which two VMs "
                         "cannot share",
                         i, v->vm);
            cJSON_Delete(spec);
            return;
        }
    cJSON *nics = cJSON_GetObjectItemCaseSensitive(spec, "nics");
    for (cJSON *n = nics ? nics->child : NULL; n; n = n->next)
        cJSON_DeleteItemFromObjectCaseSensitive(n, "mac");
    snprintf(v->project, sizeof(v->project), "%s", v->vi.project);
    create_from(v, spec);
    cJSON_Delete(spec);
}

static void run_clone(gw_call *c)
{
    gw_vmcall_run(c, clone_source);
}

/* ---- vm.edit ---- */

static const gw_field edit_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL,
     "the whole new spec (docs/vmspec.md); its name may be left out"},
    {NULL},
};

static int check_edit(const cJSON *params, vg_err *err)
{
    const cJSON *name = gw_param(gw_param(params, "spec"), "name");
    if (name && (!cJSON_IsString(name) ||
                 strcmp(name->valuestring, gw_param(params, "vm")->valuestring) != 0))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "spec.name must be the VM's own name (VMs cannot be renamed)");
    return VG_OK;
}

static void edited(gw_vmcall *v)
{
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "host", v->host);
        cJSON_AddItemToObject(res, "spec", cJSON_Duplicate(v->spec_json, 1));
    }
    gw_call_succeed(v->c, res);
}

/* hostd refused the new definition: the old one is still in libvirt, so the reservation goes
 * back to the old spec. */
static void edit_undo(gw_vmcall *v)
{
    char *old = cJSON_PrintUnformatted(gw_vminfo_spec(&v->vi));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(v->vi.def, "description");
    reserve(v, "edit", v->vi.vcpus, v->vi.memory_mib, v->vi.disk_mib, old ? old : "",
            cJSON_IsString(d) ? d->valuestring : "", fail_with_saved_error);
    free(old);
}

static void edit_define(gw_vmcall *v)
{
    cJSON *p = cJSON_CreateObject();
    if (p && (!cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(v->spec_json, 1)) ||
              (v->vi.uuid[0] && !cJSON_AddStringToObject(p, "uuid", v->vi.uuid)))) {
        cJSON_Delete(p);
        p = NULL;
    }
    v->on_error = edit_undo;
    gw_vmcall_rpc(v, v->host, "vm.define", p, GW_VM_DEFINE_MS, edited);
}

static void edit_filters(gw_vmcall *v)
{
    gw_vmnet_filters(v, v->host, edit_define, edit_undo);
}

static void edit_leases(gw_vmcall *v)
{
    gw_vmnet_leases(v, edit_filters, edit_undo);
}

static void edit_checked(gw_vmcall *v)
{
    if (!gw_vminfo_spec(&v->vi)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.edit: VM %s has no spec to edit (%s)", v->vm,
                     v->vi.defined ? "it was adopted" : "it belongs to no project");
        return;
    }
    if (!gw_vm_state_allows("vm.edit", v->vi.state)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.edit: VM %s is %s; shut it off first", v->vm,
                     v->vi.state);
        return;
    }
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *spec = cJSON_Duplicate(gw_param(v->c->req.params, "spec"), 1);
    if (spec && !cJSON_GetObjectItemCaseSensitive(spec, "name"))
        cJSON_AddStringToObject(spec, "name", v->vm);
    if (!spec) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    int rc = gw_vmcall_parse_spec(v, spec);
    cJSON_Delete(spec);
    if (rc != VG_OK)
        return;
    snprintf(v->host, sizeof(v->host), "%s", v->vi.host);
    snprintf(v->project, sizeof(v->project), "%s", v->vi.project);
    char *text = cJSON_PrintUnformatted(v->spec_json);
    if (!text) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    reserve(v, "edit", v->spec.vcpus, v->spec.memory_mib, vg_domspec_disk_mib(&v->spec), text,
            v->spec.description, edit_leases);
    free(text);
}

static void run_edit(gw_call *c)
{
    gw_vmcall_run(c, edit_checked);
}

/* ---- vm.adopt ---- */

static const gw_field adopt_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the unassigned VM"},
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project it joins"},
    {NULL},
};

static void adopted(gw_vmcall *v)
{
    gw_vmcall_event(v, "vm.adopted", NULL);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "project", v->project);
        cJSON_AddStringToObject(res, "host", v->host);
    }
    gw_call_succeed(v->c, res);
}

static void adopt_checked(gw_vmcall *v)
{
    if (!v->vi.registered) {
        gw_call_fail(v->c, VG_E_NOT_FOUND, "vm.adopt: no host reports VM %s", v->vm);
        return;
    }
    if (v->vi.defined) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.adopt: VM %s already belongs to project %s", v->vm,
                     v->vi.project);
        return;
    }
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "vcpus");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(v->vi.reg, "memory_mib");
    long long vcpus = cJSON_IsString(cpu) ? strtoll(cpu->valuestring, NULL, 10) : 0;
    long long mib = cJSON_IsString(mem) ? strtoll(mem->valuestring, NULL, 10) : 0;
    if (vcpus <= 0 || mib <= 0) {
        gw_call_fail(v->c, VG_E_CONFLICT,
                     "vm.adopt: host %s has not reported the size of VM %s yet", v->vi.host, v->vm);
        return;
    }
    cJSON *spec = cJSON_CreateObject();
    if (spec) {
        cJSON_AddStringToObject(spec, "name", v->vm);
        cJSON_AddNumberToObject(spec, "vcpus", (double)vcpus);
        cJSON_AddNumberToObject(spec, "memory_mib", (double)mib);
    }
    char *text = spec ? cJSON_PrintUnformatted(spec) : NULL;
    cJSON_Delete(spec);
    if (!text) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    snprintf(v->project, sizeof(v->project), "%s", gw_param_str(v->c, "project", ""));
    snprintf(v->host, sizeof(v->host), "%s", v->vi.host);
    reserve(v, "adopt", vcpus, mib, 0, text, "", adopted);
    free(text);
}

static void run_adopt(gw_call *c)
{
    gw_vmcall_run(c, adopt_checked);
}

/* ---- vm.delete ---- */

static const gw_field delete_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"disks", GW_F_BOOL, 0, 0, 0, NULL, "also delete its volumes"},
    {NULL},
};

static void deleted(gw_vmcall *v)
{
    gw_vmcall_event(v, "vm.deleted", NULL);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "project", v->vi.project);
        cJSON_AddBoolToObject(res, "disks", gw_param_bool(v->c, "disks", 0));
    }
    gw_call_succeed(v->c, res);
}

static void delete_unlease(gw_vmcall *v)
{
    gw_vmnet_unlease(v, deleted);
}

static void delete_release(gw_vmcall *v)
{
    release(v, delete_unlease);
}

/* A domain libvirt no longer knows is as good as undefined. */
static void undefine_refused(gw_vmcall *v)
{
    if (v->err.code == VG_E_NOT_FOUND)
        delete_release(v);
    else
        gw_call_fail_err(v->c, &v->err);
}

static void delete_checked(gw_vmcall *v)
{
    if (!v->vi.registered && (!v->vi.host[0] || v->vi.host_up)) {
        delete_release(v); /* defined here, but its host no longer has it */
        return;
    }
    if (!gw_vm_state_allows("vm.delete", v->vi.state)) {
        gw_call_fail(v->c, VG_E_CONFLICT, "vm.delete: VM %s is %s; shut it off first", v->vm,
                     v->vi.state);
        return;
    }
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *p = gw_vmcall_params(v);
    if (p)
        cJSON_AddBoolToObject(p, "disks", gw_param_bool(v->c, "disks", 0));
    v->on_error = undefine_refused;
    gw_vmcall_rpc(v, v->vi.host, "vm.undefine", p, GW_VM_RPC_MS, delete_release);
}

static void run_delete(gw_call *c)
{
    gw_vmcall_run(c, delete_checked);
}

/* ---- vm.get, vm.xml ---- */

const gw_field gw_vm_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {NULL},
};

static void get_done(gw_vmcall *v)
{
    gw_vminfo *vi = &v->vi;
    cJSON *res = cJSON_CreateObject();
    if (res) {
        static const char *const strs[] = {"description", "created_by", "env", "role", NULL};
        static const char *const nums[] = {"vcpus",      "memory_mib", "disk_mib",
                                           "created_ms", "snapshots",  NULL};
        cJSON_AddStringToObject(res, "name", v->vm);
        cJSON_AddStringToObject(res, "project", vi->project);
        cJSON_AddStringToObject(res, "host", vi->host);
        cJSON_AddBoolToObject(res, "host_up", vi->host_up);
        cJSON_AddStringToObject(res, "state", vi->registered ? vi->state : "unknown");
        cJSON_AddStringToObject(res, "uuid", vi->uuid);
        cJSON_AddBoolToObject(res, "adopted", vi->adopted);
        for (const char *const *s = strs; *s; s++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(vi->def, *s);
            cJSON_AddStringToObject(res, *s, cJSON_IsString(f) ? f->valuestring : "");
        }
        for (const char *const *s = nums; *s; s++) {
            const cJSON *f = cJSON_GetObjectItemCaseSensitive(vi->def, *s);
            if (!cJSON_IsString(f)) /* unassigned VMs: what hostd reports */
                f = cJSON_GetObjectItemCaseSensitive(vi->reg, *s);
            cJSON_AddNumberToObject(res, *s,
                                    cJSON_IsString(f) ? strtod(f->valuestring, NULL) : 0.0);
        }
        const cJSON *spec = gw_vminfo_spec(vi);
        cJSON_AddItemToObject(res, "spec", spec ? cJSON_Duplicate(spec, 1) : cJSON_CreateNull());
        cJSON_AddItemToObject(res, "consoles", cJSON_Duplicate(vi->consoles, 1));
    }
    gw_call_succeed(v->c, res);
}

static void run_get(gw_call *c)
{
    gw_vmcall_run(c, get_done);
}

static const gw_field xml_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"inactive", GW_F_BOOL, 0, 0, 0, NULL, "the persistent definition, not the running one"},
    {NULL},
};

static void xml_done(gw_vmcall *v)
{
    const cJSON *xml = cJSON_GetObjectItemCaseSensitive(v->answer, "xml");
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "vm", v->vm);
        cJSON_AddStringToObject(res, "xml", cJSON_IsString(xml) ? xml->valuestring : "");
    }
    gw_call_succeed(v->c, res);
}

static void xml_checked(gw_vmcall *v)
{
    if (gw_vmcall_need_host(v) != VG_OK)
        return;
    cJSON *p = gw_vmcall_params(v);
    if (p)
        cJSON_AddBoolToObject(p, "inactive", gw_param_bool(v->c, "inactive", 0));
    gw_vmcall_rpc(v, v->vi.host, "vm.xml", p, GW_VM_RPC_MS, xml_done);
}

static void run_xml(gw_call *c)
{
    gw_vmcall_run(c, xml_checked);
}

#define VM_OP GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES

const gw_method gw_api_vm_methods[] = {
    {"vm.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, list_params, NULL, run_vm_list},
    {"vm.create", GW_SCOPE_PROJECT, GW_LEVEL_OPERATOR, GW_M_MUTATES, create_params, NULL,
     run_create},
    {"vm.clone", VM_OP, clone_params, NULL, run_clone},
    {"vm.edit", VM_OP, edit_params, check_edit, run_edit},
    {"vm.adopt", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, adopt_params, NULL, run_adopt},
    {"vm.delete", VM_OP, delete_params, NULL, run_delete},
    {"vm.get", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, gw_vm_params, NULL, run_get},
    {"vm.xml", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, xml_params, NULL, run_xml},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
