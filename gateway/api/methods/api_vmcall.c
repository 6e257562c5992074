/* The steps VM methods are built from (api_vm.h). */
#include "api/methods/api_vm.h"

#include "vg_util.h"
#include "core/vmpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- pure ---- */

static cJSON *hash_object(const redisReply *r)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        cJSON_AddStringToObject(o, gw_reply_str(r, i), gw_reply_str(r, i + 1));
    return o;
}

static const char *field(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(f) ? f->valuestring : "";
}

int gw_vminfo_parse(const redisReply *reply, gw_vminfo *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 5)
        return vg_fail(err, VG_E_INTERNAL, "unexpected answer from gateway_vm_get.lua");
    const redisReply *def = reply->element[0], *reg = reply->element[1];
    out->defined = def->type == REDIS_REPLY_ARRAY && def->elements > 0;
    out->registered = reg->type == REDIS_REPLY_ARRAY && reg->elements > 0;
    out->def = hash_object(def);
    out->reg = hash_object(reg);
    out->consoles = cJSON_CreateArray();
    const redisReply *cl = reply->element[4];
    for (size_t i = 0; out->consoles && cl->type == REDIS_REPLY_ARRAY && i < cl->elements; i++)
        cJSON_AddItemToArray(out->consoles, cJSON_CreateString(gw_reply_str(cl, i)));
    if (!out->def || !out->reg || !out->consoles) {
        gw_vminfo_free(out);
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    snprintf(out->project, sizeof(out->project), "%s", field(out->def, "project"));
    snprintf(out->host, sizeof(out->host), "%s", gw_reply_str(reply, 2));
    snprintf(out->state, sizeof(out->state), "%s", field(out->reg, "state"));
    snprintf(out->uuid, sizeof(out->uuid), "%s", field(out->reg, "uuid"));
    out->host_up = gw_reply_int(reply, 3) == 1;
    out->adopted = strcmp(field(out->def, "adopted"), "1") == 0;
    out->vcpus = strtoll(field(out->def, "vcpus"), NULL, 10);
    out->memory_mib = strtoll(field(out->def, "memory_mib"), NULL, 10);
    out->disk_mib = strtoll(field(out->def, "disk_mib"), NULL, 10);
    /* The spec is stored as JSON text; the answer carries it as an object. */
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(out->def, "spec");
    if (spec) {
        cJSON *parsed = cJSON_Parse(spec->valuestring);
        cJSON_ReplaceItemInObjectCaseSensitive(out->def, "spec",
                                               parsed ? parsed : cJSON_CreateNull());
    }
    return VG_OK;
}

void gw_vminfo_free(gw_vminfo *vi)
{
    cJSON_Delete(vi->def);
    cJSON_Delete(vi->reg);
    cJSON_Delete(vi->consoles);
    vi->def = vi->reg = vi->consoles = NULL;
}

const cJSON *gw_vminfo_spec(const gw_vminfo *vi)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(vi->def, "spec");
    return cJSON_IsObject(s) && !vi->adopted ? s : NULL;
}

/* ---- steps ---- */

static void vmcall_free(void *p)
{
    gw_vmcall *v = p;
    gw_vminfo_free(&v->vi);
    cJSON_Delete(v->answer);
    cJSON_Delete(v->spec_json);
    if (v->spec_parsed)
        vg_domspec_free(&v->spec);
    free(v);
}

gw_vmcall *gw_vmcall_new(gw_call *c)
{
    gw_vmcall *v = calloc(1, sizeof(*v));
    if (!v) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    v->c = c;
    snprintf(v->vm, sizeof(v->vm), "%s", gw_param_str(c, "vm", ""));
    c->state = v;
    c->state_free = vmcall_free;
    return v;
}

static void lookup_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    vg_err err;
    gw_vminfo_free(&v->vi);
    if (gw_vminfo_parse(reply, &v->vi, &err) != VG_OK) {
        gw_call_fail_err(v->c, &err);
        return;
    }
    if (!v->vi.defined && !v->vi.registered) {
        gw_call_fail(v->c, VG_E_NOT_FOUND, "VM %s is not known", v->vm);
        return;
    }
    v->next(v);
}

void gw_vmcall_run(gw_call *c, gw_vmcall_step *next)
{
    gw_vmcall *v = gw_vmcall_new(c);
    if (!v)
        return;
    v->next = next;
    const char *argv[] = {v->vm};
    gw_call_eval(c, "vm_get", lookup_cb, 1, argv);
}

static void rpc_done(void *priv, const cJSON *result, const vg_err *err)
{
    gw_vmcall *v = priv;
    if (err) {
        if (v->on_error) {
            v->err = *err;
            gw_vmcall_step *h = v->on_error;
            v->on_error = NULL;
            h(v);
        } else {
            gw_call_fail_err(v->c, err);
        }
        return;
    }
    v->on_error = NULL;
    cJSON_Delete(v->answer);
    v->answer = cJSON_Duplicate(result, 1);
    if (!v->answer) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    v->next(v);
}

void gw_vmcall_rpc(gw_vmcall *v, const char *host, const char *method, cJSON *params,
                   long timeout_ms, gw_vmcall_step *next)
{
    v->next = next;
    if (!params) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    /* The call outlives its client if need be: hostd's answer still lands in Redis and the
     * audit trail. */
    gw_hostrpc_call(v->c->g, host, method, params, timeout_ms, rpc_done, v);
    cJSON_Delete(params);
}

static void place_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_vmcall *v = ((gw_call *)priv)->state;
    if (!gw_call_reply_ok(v->c, reply))
        return;
    if (gw_reply_int(reply, 0) != 1) {
        gw_call_fail(v->c, VG_E_CONFLICT, "%s%s", v->what, gw_reply_str(reply, 1));
        return;
    }
    snprintf(v->host, sizeof(v->host), "%s", gw_reply_str(reply, 1));
    v->next(v);
}

void gw_vmcall_place(gw_vmcall *v, const char *project, int vcpus, long long memory_mib,
                     const char *host, const char *group, const char *what, gw_vmcall_step *next)
{
    char cpu[16], mem[24];
    snprintf(cpu, sizeof(cpu), "%d", vcpus);
    snprintf(mem, sizeof(mem), "%lld", memory_mib);
    snprintf(v->what, sizeof(v->what), "%s", what);
    v->next = next;
    const char *argv[] = {project, cpu, mem, host, group, v->vm};
    gw_call_eval(v->c, "place", place_cb, 6, argv);
}

int gw_vmcall_parse_spec(gw_vmcall *v, const cJSON *spec)
{
    vg_err err;
    if (v->spec_parsed) {
        vg_domspec_free(&v->spec);
        v->spec_parsed = 0;
    }
    cJSON_Delete(v->spec_json);
    v->spec_json = NULL;
    if (vg_domspec_parse(spec, &v->spec, 0, &err) != VG_OK) {
        gw_call_fail_err(v->c, &err);
        return VG_ERR;
    }
    v->spec_parsed = 1;
    if (gw_vmpolicy_check(&v->spec, strcmp(v->c->role, "admin") == 0, v->c->g->cfg.boot_dirs,
                          &err) != VG_OK) {
        gw_call_fail_err(v->c, &err);
        return VG_ERR;
    }
    if (!(v->spec_json = vg_domspec_to_json(&v->spec))) {
        gw_call_fail(v->c, VG_E_INTERNAL, "out of memory");
        return VG_ERR;
    }
    return VG_OK;
}

int gw_vmcall_need_host(gw_vmcall *v)
{
    if (!v->vi.host[0]) {
        gw_call_fail(v->c, VG_E_CONFLICT, "%s: VM %s is defined on no host", v->c->req.method,
                     v->vm);
        return VG_ERR;
    }
    if (!v->vi.host_up) {
        gw_call_fail(v->c, VG_E_UNAVAILABLE, "%s: host %s of VM %s is down", v->c->req.method,
                     v->vi.host, v->vm);
        return VG_ERR;
    }
    return VG_OK;
}

void gw_vmcall_event(gw_vmcall *v, const char *type, cJSON *extra)
{
    cJSON *o = extra ? extra : cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "vm", v->vm);
    if (v->project[0] || v->vi.project[0])
        cJSON_AddStringToObject(o, "project", v->project[0] ? v->project : v->vi.project);
    cJSON_AddNumberToObject(o, "ts", (double)vg_now_ms());
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json) {
        const char *argv[] = {"PUBLISH", "vg:events", json};
        vg_redis_argv(v->c->g->redis, NULL, NULL, 3, argv, NULL);
        free(json);
    }
}

cJSON *gw_vmcall_params(const gw_vmcall *v)
{
    cJSON *p = cJSON_CreateObject();
    if (p && !cJSON_AddStringToObject(p, "vm", v->vm)) {
        cJSON_Delete(p);
        return NULL;
    }
    return p;
}
