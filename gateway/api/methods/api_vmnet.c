/* What a VM's NICs need on its hosts besides the domain (api_vm.h): the static DHCP leases of
 * their fixed addresses in every host of the network, and the nwfilters their security groups
 * compile to (gateway_secgroup_plan.lua) on the host the VM is defined on or migrates to. */
#include "api/methods/api_vm.h"

#include "api/api_json.h"
#include "api/methods/api_fanout.h"
#include "vg_netspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMNET_RPC_MS 30000L

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

/* Ends a step: on to next, or the saved error through undo. */
static void step_end(gw_vmcall *v, const vg_err *err)
{
    if (!err) {
        v->next(v);
        return;
    }
    v->err = *err;
    v->on_error(v);
}

static void fanned(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    step_end(gw_fanout_priv(f), err);
}

/* The network record of name in a gateway_network_get.lua list. */
static const cJSON *find_net(const cJSON *all, const char *name)
{
    const cJSON *nets = cJSON_GetObjectItemCaseSensitive(all, "networks");
    for (const cJSON *n = cJSON_IsArray(nets) ? nets->child : NULL; n; n = n->next)
        if (!strcmp(jstr(n, "name"), name))
            return n;
    return NULL;
}

/* 1 when the network has a subnet of the address's family: then it leases the address. */
static int leases(const cJSON *net, const char *ip)
{
    const char *fam = strchr(ip, ':') ? "ipv6" : "ipv4";
    return cJSON_IsObject(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(net, "spec"), fam));
}

/* The address must be a usable one of the network's subnet, as a static lease would be; in a
 * network without one (layer 2 only) the guest sets it itself and it is only kept unique. */
static int lease_ok(const cJSON *net, const vg_spec_nic *nic, vg_err *err)
{
    vg_netspec s;
    if (!leases(net, nic->ip))
        return VG_OK;
    if (vg_netspec_parse(cJSON_GetObjectItemCaseSensitive(net, "spec"), &s, err) != VG_OK)
        return VG_ERR;
    int rc = vg_netspec_lease_add(&s, nic->mac, nic->ip, NULL, err);
    vg_netspec_free(&s);
    if (rc != VG_OK) {
        char why[sizeof(err->msg)];
        snprintf(why, sizeof(why), "%s", err->msg);
        vg_fail(err, err->code, "spec.nics: fixed address %s in network %s: %s", nic->ip,
                nic->network, why);
    }
    return rc;
}

static void nets_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_vmcall *v = c->state;
    vg_err err;
    if (!gw_call_reply_ok(c, reply))
        return;
    if (strcmp(gw_reply_str(reply, 0), "ok") != 0) {
        step_end(v, (vg_fail(&err, VG_E_INTERNAL, "networks: %s", gw_reply_str(reply, 1)), &err));
        return;
    }
    cJSON *all = cJSON_Parse(gw_reply_str(reply, 1));
    if (!all) {
        step_end(v, (vg_fail(&err, VG_E_INTERNAL, "out of memory"), &err));
        return;
    }
    for (size_t i = 0; i < v->spec.nnics; i++) {
        const vg_spec_nic *nic = &v->spec.nics[i];
        const cJSON *net = nic->ip[0] ? find_net(all, nic->network) : NULL;
        /* gateway_vm_reserve.lua refused fixed addresses in networks it does not know */
        if (net && lease_ok(net, nic, &err) != VG_OK) {
            cJSON_Delete(all);
            step_end(v, &err);
            return;
        }
    }
    gw_fanout *f = gw_fanout_new(c, VMNET_RPC_MS);
    if (!f) {
        cJSON_Delete(all);
        return;
    }
    for (size_t i = 0; i < v->spec.nnics; i++) {
        const vg_spec_nic *nic = &v->spec.nics[i];
        const cJSON *net = nic->ip[0] ? find_net(all, nic->network) : NULL;
        const cJSON *hosts =
            net && leases(net, nic->ip) ? cJSON_GetObjectItemCaseSensitive(net, "hosts") : NULL;
        for (const cJSON *h = cJSON_IsArray(hosts) ? hosts->child : NULL; h; h = h->next) {
            cJSON *ps[2] = {cJSON_CreateObject(), cJSON_CreateObject()};
            for (int k = 0; k < 2; k++) {
                cJSON_AddStringToObject(ps[k], "name", nic->network);
                cJSON_AddStringToObject(ps[k], "op", k ? "delete" : "add");
                cJSON_AddStringToObject(ps[k], "mac", nic->mac);
                cJSON_AddStringToObject(ps[k], "ip", nic->ip);
                cJSON_AddStringToObject(ps[k], "host", v->vm);
            }
            gw_fanout_add(f, h->valuestring, "network.lease", ps[0], "network.lease", ps[1]);
        }
    }
    cJSON_Delete(all);
    gw_fanout_run(f, fanned, v);
}

void gw_vmnet_leases(gw_vmcall *v, gw_vmcall_step *next, gw_vmcall_step *undo)
{
    v->next = next;
    v->on_error = undo;
    size_t fixed = 0;
    for (size_t i = 0; i < v->spec.nnics; i++)
        fixed += v->spec.nics[i].ip[0] != '\0';
    if (!fixed) {
        v->on_error = NULL;
        next(v);
        return;
    }
    const char *argv[] = {""};
    gw_call_eval(v->c, "network_get", nets_cb, 1, argv);
}

/* ---- giving leases back (vm.delete) ---- */

/* Best effort: a lease left behind is replaced when its address is given out again. */
static void unleased(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    (void)err;
    gw_vmcall *v = gw_fanout_priv(f);
    v->next(v);
}

static const cJSON *fixed_nics(const gw_vmcall *v)
{
    const cJSON *nics = cJSON_GetObjectItemCaseSensitive(gw_vminfo_spec(&v->vi), "nics");
    for (const cJSON *n = cJSON_IsArray(nics) ? nics->child : NULL; n; n = n->next)
        if (jstr(n, "ip")[0])
            return nics;
    return NULL;
}

static void unlease_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_vmcall *v = c->state;
    if (!gw_call_reply_ok(c, reply))
        return;
    cJSON *all = !strcmp(gw_reply_str(reply, 0), "ok") ? cJSON_Parse(gw_reply_str(reply, 1)) : NULL;
    if (!all) {
        v->next(v);
        return;
    }
    gw_fanout *f = gw_fanout_new(c, VMNET_RPC_MS);
    if (!f) {
        cJSON_Delete(all);
        return;
    }
    for (const cJSON *n = fixed_nics(v)->child; n; n = n->next) {
        const cJSON *net = jstr(n, "ip")[0] ? find_net(all, jstr(n, "network")) : NULL;
        const cJSON *hosts = net && leases(net, jstr(n, "ip"))
                                 ? cJSON_GetObjectItemCaseSensitive(net, "hosts")
                                 : NULL;
        for (const cJSON *h = cJSON_IsArray(hosts) ? hosts->child : NULL; h; h = h->next) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "name", jstr(n, "network"));
            cJSON_AddStringToObject(p, "op", "delete");
            cJSON_AddStringToObject(p, "mac", jstr(n, "mac"));
            cJSON_AddStringToObject(p, "ip", jstr(n, "ip"));
            cJSON_AddStringToObject(p, "host", v->vm);
            gw_fanout_add(f, h->valuestring, "network.lease", p, NULL, NULL);
        }
    }
    cJSON_Delete(all);
    gw_fanout_run(f, unleased, v);
}

void gw_vmnet_unlease(gw_vmcall *v, gw_vmcall_step *next)
{
    v->next = next;
    if (!fixed_nics(v)) {
        next(v);
        return;
    }
    const char *argv[] = {""};
    gw_call_eval(v->c, "network_get", unlease_cb, 1, argv);
}

/* ---- security group filters ---- */

/* filter.define of every planned filter on its host. */
void gw_vmnet_define_filters(gw_call *c, const cJSON *plan, gw_fanout_done *done, void *priv)
{
    gw_fanout *f = gw_fanout_new(c, VMNET_RPC_MS);
    if (!f)
        return;
    const cJSON *fs = cJSON_GetObjectItemCaseSensitive(plan, "filters");
    for (const cJSON *e = cJSON_IsArray(fs) ? fs->child : NULL; e; e = e->next) {
        cJSON *p = cJSON_CreateObject();
        if (p)
            cJSON_AddItemToObject(p, "spec",
                                  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(e, "spec"), 1));
        gw_fanout_add(f, jstr(e, "host"), "filter.define", p, NULL, NULL);
    }
    gw_fanout_run(f, done, priv);
}

static void plan_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    gw_vmcall *v = c->state;
    vg_err err;
    if (!gw_call_reply_ok(c, reply))
        return;
    cJSON *plan =
        !strcmp(gw_reply_str(reply, 0), "ok") ? cJSON_Parse(gw_reply_str(reply, 1)) : NULL;
    if (!plan) {
        step_end(v, (vg_fail(&err, VG_E_INTERNAL, "security groups: unexpected answer"), &err));
        return;
    }
    gw_vmnet_define_filters(c, plan, fanned, v);
    cJSON_Delete(plan);
}

void gw_vmnet_filters(gw_vmcall *v, const char *host, gw_vmcall_step *next, gw_vmcall_step *undo)
{
    v->next = next;
    v->on_error = undo;
    int any = 0;
    for (size_t i = 0; i < v->spec.nnics; i++)
        any |= v->spec.nics[i].has_secgroups;
    if (v->spec_parsed && !any) {
        v->on_error = NULL;
        next(v);
        return;
    }
    /* A new or changed VM changes the remote_group rules of its groups' other members too; a
     * migrating one only needs its own filters where it goes. */
    const char *argv[] = {v->project[0] ? v->project : v->vi.project, "", v->vm, host,
                          v->spec_parsed ? "0" : "1"};
    gw_call_eval(v->c, "secgroup_plan", plan_cb, 5, argv);
}
