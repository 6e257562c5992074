/* Networks (docs/api.md "Networks", docs/networks.md): libvirt networks vmgate defines on one
 * host or on every host of a host group. Redis keeps each network's spec and where it lives
 * (gateway_network_*.lua); the hosts get the spec and generate the XML themselves (hostd
 * network.*). A create or edit is checked on every host before any host changes, and a host
 * that still refuses has the hosts before it put back (api_fanout.h). */
#include "api/api_json.h"
#include "api/methods/api_fanout.h"

#include "vg_netspec.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET_RPC_MS 30000L

static const char *const net_arrays[] = {"networks", "hosts",      "down",  "addresses", "leases",
                                         "vlans",    "forwarders", "names", NULL};

typedef struct netcall {
    gw_call *c;
    cJSON *rec;  /* the network as gateway_network_get.lua shows it */
    cJSON *spec; /* the new spec (create, edit) */
    char kind[16];
    cJSON *hosts; /* where it lives (borrowed from rec, or owned plan) */
    cJSON *plan;
    void (*next)(struct netcall *n);
} netcall;

static void netcall_free(void *p)
{
    netcall *n = p;
    cJSON_Delete(n->rec);
    cJSON_Delete(n->spec);
    cJSON_Delete(n->plan);
    free(n);
}

static netcall *netcall_new(gw_call *c)
{
    netcall *n = calloc(1, sizeof(*n));
    if (!n) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    n->c = c;
    c->state = n;
    c->state_free = netcall_free;
    return n;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
    return s ? s : "";
}

/* The registry's fixed addresses in the network, as hostd's params.leases. */
static cJSON *leases_of(const cJSON *rec)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(rec, "addresses");
    for (const cJSON *e = cJSON_IsArray(a) ? a->child : NULL; e && out; e = e->next) {
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "mac", jstr(e, "mac"));
        cJSON_AddStringToObject(l, "ip", jstr(e, "ip"));
        cJSON_AddStringToObject(l, "name", jstr(e, "vm"));
        cJSON_AddItemToArray(out, l);
    }
    return out;
}

static cJSON *define_params(const cJSON *spec, const cJSON *rec, int start)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(spec, 1));
    cJSON_AddItemToObject(p, "leases", leases_of(rec));
    cJSON_AddBoolToObject(p, "start", start);
    return p;
}

static cJSON *name_params(const char *name)
{
    cJSON *p = cJSON_CreateObject();
    if (p)
        cJSON_AddStringToObject(p, "name", name);
    return p;
}

/* Refuses while any of the network's hosts is down: it would miss the change. */
static int hosts_up(netcall *n)
{
    const cJSON *down = cJSON_GetObjectItemCaseSensitive(n->rec, "down");
    if (cJSON_GetArraySize(down) > 0) {
        gw_call_fail(n->c, VG_E_UNAVAILABLE, "host %s of network %s is down",
                     cJSON_GetStringValue(down->child), jstr(n->rec, "name"));
        return 0;
    }
    return 1;
}

/* Reads params.name's (or the spec's) network into n->rec, then next. */
static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    netcall *n = c->state;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON_Delete(n->rec);
    if (!(n->rec = gw_call_json(c, reply, net_arrays)))
        return;
    n->hosts = cJSON_GetObjectItemCaseSensitive(n->rec, "hosts");
    n->next(n);
}

static void read_network(netcall *n, const char *name, void (*next)(netcall *))
{
    n->next = next;
    const char *argv[] = {name};
    gw_call_eval(n->c, "network_get", read_cb, 1, argv);
}

/* ---- network.list, network.get ---- */

/* The fixed addresses name the VMs of every project: only administrators see them. */
static void hide_addresses(const gw_call *c, cJSON *net)
{
    if (strcmp(c->role, "admin") != 0)
        cJSON_DeleteItemFromObjectCaseSensitive(net, "addresses");
}

static void list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, net_arrays);
    cJSON *nets = cJSON_GetObjectItemCaseSensitive(res, "networks");
    for (cJSON *n = cJSON_IsArray(nets) ? nets->child : NULL; n; n = n->next)
        hide_addresses(c, n);
    if (res)
        gw_call_succeed(c, res);
}

static void run_list(gw_call *c)
{
    const char *argv[] = {""};
    gw_call_eval(c, "network_get", list_cb, 1, argv);
}

static const gw_field name_fields[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the network"},
    {NULL},
};

/* The record plus, per host, what libvirt says of the network there (state, bridge). */
static void get_done(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    netcall *n = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(n->c, err);
        return;
    }
    cJSON *state = cJSON_AddArrayToObject(n->rec, "state");
    for (const cJSON *r = results->child; r && state; r = r->next) {
        const cJSON *nets = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "result"), "networks");
        cJSON *o = NULL;
        for (const cJSON *e = cJSON_IsArray(nets) ? nets->child : NULL; e; e = e->next)
            if (!strcmp(jstr(e, "name"), jstr(n->rec, "name")))
                o = cJSON_Duplicate(e, 1);
        if (!o) {
            o = cJSON_CreateObject();
            cJSON_AddBoolToObject(o, "defined", 0);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(o, "name");
            cJSON_AddBoolToObject(o, "defined", 1);
        }
        cJSON_AddStringToObject(o, "host", jstr(r, "host"));
        cJSON_AddItemToArray(state, o);
    }
    hide_addresses(n->c, n->rec);
    cJSON *res = n->rec; /* the call's state goes with the call */
    n->rec = NULL;
    n->hosts = NULL;
    gw_call_succeed(n->c, res);
}

static void get_read(netcall *n)
{
    gw_fanout *f = gw_fanout_new(n->c, NET_RPC_MS);
    if (!f)
        return;
    const cJSON *down = cJSON_GetObjectItemCaseSensitive(n->rec, "down");
    for (const cJSON *h = n->hosts ? n->hosts->child : NULL; h; h = h->next) {
        int is_down = 0;
        for (const cJSON *d = down ? down->child : NULL; d; d = d->next)
            is_down |= !strcmp(d->valuestring, h->valuestring);
        if (!is_down)
            gw_fanout_add(f, h->valuestring, "network.list", cJSON_CreateObject(), NULL, NULL);
    }
    gw_fanout_run(f, get_done, n);
}

static void run_get(gw_call *c)
{
    netcall *n = netcall_new(c);
    if (n)
        read_network(n, gw_param_str(c, "name", ""), get_read);
}

/* ---- network.create, network.edit ---- */

static const gw_field create_fields[] = {
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL, "the network spec (docs/networks.md)"},
    {"host", GW_F_NAME, 0, 0, 0, NULL, "the host to define it on, or"},
    {"group", GW_F_NAME, 0, 0, 0, NULL, "the host group on every host of which to define it"},
    {"start", GW_F_BOOL, 0, 0, 0, NULL, "start it now (default true)"},
    {NULL},
};

static int check_spec(const cJSON *params, vg_err *err)
{
    vg_netspec s;
    if (vg_netspec_parse(gw_param(params, "spec"), &s, err) != VG_OK)
        return VG_ERR;
    vg_netspec_free(&s);
    return VG_OK;
}

static int check_create(const cJSON *params, vg_err *err)
{
    if (!gw_param(params, "host") == !gw_param(params, "group"))
        return vg_fail(err, VG_E_BAD_REQUEST, "network.create needs exactly one of host, group");
    return check_spec(params, err);
}

static void saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    netcall *n = c->state;
    if (!gw_call_lua_ok(c, reply))
        return;
    read_network(n, jstr(n->spec, "name"), get_read);
}

static void save(netcall *n, const char *op)
{
    char *text = cJSON_PrintUnformatted(n->spec);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    if (!text) {
        gw_call_fail(n->c, VG_E_INTERNAL, "out of memory");
        return;
    }
    const char *argv[] = {op,
                          jstr(n->spec, "name"),
                          text,
                          n->kind,
                          gw_param_str(n->c, "host", ""),
                          gw_param_str(n->c, "group", ""),
                          n->c->user,
                          now};
    gw_call_eval(n->c, "network_save", saved_cb, 8, argv);
    free(text);
}

static void created(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err)
        gw_call_fail_err(n->c, err);
    else
        save(n, "create");
}

/* Every host accepted the spec: define it on each, undefining it again where a later host
 * refuses. */
static void create_checked(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(n->c, err);
        return;
    }
    gw_fanout *d = gw_fanout_new(n->c, NET_RPC_MS);
    if (!d)
        return;
    int start = gw_param_bool(n->c, "start", 1);
    for (const cJSON *h = n->hosts->child; h; h = h->next)
        gw_fanout_add(d, h->valuestring, "network.define", define_params(n->spec, NULL, start),
                      "network.undefine", name_params(jstr(n->spec, "name")));
    gw_fanout_run(d, created, n);
}

static void check_on_hosts(netcall *n, const cJSON *rec, gw_fanout_done *then)
{
    gw_fanout *f = gw_fanout_new(n->c, NET_RPC_MS);
    if (!f)
        return;
    for (const cJSON *h = n->hosts->child; h; h = h->next)
        gw_fanout_add(f, h->valuestring, "network.check", define_params(n->spec, rec, 0), NULL,
                      NULL);
    gw_fanout_run(f, then, n);
}

static void plan_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    netcall *n = c->state;
    if (!gw_call_lua_ok(c, reply) || !(n->plan = gw_call_json(c, reply, net_arrays)))
        return;
    n->hosts = cJSON_GetObjectItemCaseSensitive(n->plan, "hosts");
    check_on_hosts(n, NULL, create_checked);
}

/* The spec as stored: what the caller sent, kind remembered for listing. */
static netcall *spec_call(gw_call *c)
{
    netcall *n = netcall_new(c);
    if (!n)
        return NULL;
    if (!(n->spec = cJSON_Duplicate(gw_param(c->req.params, "spec"), 1))) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(n->kind, sizeof(n->kind), "%s", jstr(n->spec, "kind"));
    return n;
}

static void run_create(gw_call *c)
{
    netcall *n = spec_call(c);
    if (!n)
        return;
    const char *argv[] = {"plan",
                          jstr(n->spec, "name"),
                          "",
                          "",
                          gw_param_str(c, "host", ""),
                          gw_param_str(c, "group", ""),
                          "",
                          ""};
    gw_call_eval(c, "network_save", plan_cb, 8, argv);
}

static const gw_field edit_fields[] = {
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL,
     "the network's new spec (spec.name names it; a running network keeps its old settings "
     "until it is stopped and started, static leases change at once)"},
    {NULL},
};

static void edited(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err)
        gw_call_fail_err(n->c, err);
    else
        save(n, "edit");
}

static void edit_checked(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(n->c, err);
        return;
    }
    gw_fanout *d = gw_fanout_new(n->c, NET_RPC_MS);
    if (!d)
        return;
    const cJSON *old = cJSON_GetObjectItemCaseSensitive(n->rec, "spec");
    for (const cJSON *h = n->hosts->child; h; h = h->next)
        gw_fanout_add(d, h->valuestring, "network.define", define_params(n->spec, n->rec, 0),
                      "network.define", define_params(old, n->rec, 0));
    gw_fanout_run(d, edited, n);
}

static void edit_read(netcall *n)
{
    if (strcmp(jstr(n->rec, "kind"), n->kind) != 0) {
        gw_call_fail(n->c, VG_E_BAD_REQUEST,
                     "spec.kind cannot change (%s is %s): delete and create the network",
                     jstr(n->rec, "name"), jstr(n->rec, "kind"));
        return;
    }
    if (hosts_up(n))
        check_on_hosts(n, n->rec, edit_checked);
}

static void run_edit(gw_call *c)
{
    netcall *n = spec_call(c);
    if (n)
        read_network(n, jstr(n->spec, "name"), edit_read);
}

/* ---- network.delete ---- */

static void forgotten_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        gw_call_succeed(c, cJSON_CreateObject());
}

static void undefined(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(n->c, err);
        return;
    }
    const char *argv[] = {"delete", jstr(n->rec, "name")};
    gw_call_eval(n->c, "network_delete", forgotten_cb, 2, argv);
}

static void delete_read(netcall *n)
{
    if (!hosts_up(n))
        return;
    gw_fanout *f = gw_fanout_new(n->c, NET_RPC_MS);
    if (!f)
        return;
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(n->rec, "spec");
    for (const cJSON *h = n->hosts->child; h; h = h->next)
        gw_fanout_add(f, h->valuestring, "network.undefine", name_params(jstr(n->rec, "name")),
                      "network.define", define_params(spec, n->rec, 1));
    gw_fanout_run(f, undefined, n);
}

static void unused_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        read_network(c->state, gw_param_str(c, "name", ""), delete_read);
}

static void run_delete(gw_call *c)
{
    if (!netcall_new(c))
        return;
    const char *argv[] = {"check", gw_param_str(c, "name", "")};
    gw_call_eval(c, "network_delete", unused_cb, 2, argv);
}

/* ---- network.start, network.stop, network.leases ---- */

static void state_done(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    netcall *n = gw_fanout_priv(f);
    if (err)
        gw_call_fail_err(n->c, err);
    else
        get_read(n);
}

static void on_every_host(netcall *n, const char *method, const char *undo, gw_fanout_done *done)
{
    if (!hosts_up(n))
        return;
    gw_fanout *f = gw_fanout_new(n->c, NET_RPC_MS);
    if (!f)
        return;
    const char *name = jstr(n->rec, "name");
    for (const cJSON *h = n->hosts->child; h; h = h->next)
        gw_fanout_add(f, h->valuestring, method, name_params(name), undo,
                      undo ? name_params(name) : NULL);
    gw_fanout_run(f, done, n);
}

static void start_read(netcall *n)
{
    on_every_host(n, "network.start", "network.stop", state_done);
}

static void stop_read(netcall *n)
{
    on_every_host(n, "network.stop", "network.start", state_done);
}

static void run_start(gw_call *c)
{
    netcall *n = netcall_new(c);
    if (n)
        read_network(n, gw_param_str(c, "name", ""), start_read);
}

static void run_stop(gw_call *c)
{
    netcall *n = netcall_new(c);
    if (n)
        read_network(n, gw_param_str(c, "name", ""), stop_read);
}

static void leases_done(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    netcall *n = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(n->c, err);
        return;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON *all = cJSON_AddArrayToObject(res, "leases");
    for (const cJSON *r = results->child; r && all; r = r->next) {
        const cJSON *ls = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "result"), "leases");
        for (const cJSON *l = cJSON_IsArray(ls) ? ls->child : NULL; l; l = l->next) {
            cJSON *o = cJSON_Duplicate(l, 1);
            if (o) {
                cJSON_AddStringToObject(o, "host", jstr(r, "host"));
                cJSON_AddItemToArray(all, o);
            }
        }
    }
    gw_call_succeed(n->c, res);
}

static void leases_read(netcall *n)
{
    on_every_host(n, "network.leases", NULL, leases_done);
}

static void run_leases(gw_call *c)
{
    netcall *n = netcall_new(c);
    if (n)
        read_network(n, gw_param_str(c, "name", ""), leases_read);
}

const gw_method gw_api_network_methods[] = {
    {"network.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_list},
    {"network.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, name_fields, NULL, run_get},
    {"network.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_fields, check_create,
     run_create},
    {"network.edit", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, edit_fields, check_spec,
     run_edit},
    {"network.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_fields, NULL, run_delete},
    {"network.start", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_fields, NULL, run_start},
    {"network.stop", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_fields, NULL, run_stop},
    {"network.leases", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, 0, name_fields, NULL, run_leases},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
