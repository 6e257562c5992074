/* Network filters (docs/api.md "Network filters"): libvirt nwfilters on every live host. The
 * built-in ones (clean-traffic, no-ip-spoofing, ...) are listed from the hosts; an
 * administrator defines new ones from rules (vg_nwfilter.h) or replaces a vmgate one. A NIC uses
 * one with spec.nics[].filter and filter_params. */
#include "api/api_json.h"
#include "api/methods/api_fanout.h"

#include "vg_nwfilter.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_RPC_MS 30000L

static const char *const f_arrays[] = {"filters", "hosts", "rules", "include", NULL};

typedef struct fcall {
    cJSON *rec;
} fcall;

static void fcall_free(void *p)
{
    fcall *f = p;
    cJSON_Delete(f->rec);
    free(f);
}

static fcall *fcall_new(gw_call *c)
{
    fcall *f = calloc(1, sizeof(*f));
    if (!f)
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
    else {
        c->state = f;
        c->state_free = fcall_free;
    }
    return f;
}

/* ---- filter.list ---- */

static void listed(gw_fanout *fo, const cJSON *results, const vg_err *err)
{
    gw_call *c = gw_fanout_priv(fo);
    fcall *f = c->state;
    if (err) {
        gw_call_fail_err(c, err);
        return;
    }
    /* libvirt's filters by name, with the hosts that have each */
    cJSON *res = cJSON_CreateObject(), *all = cJSON_AddArrayToObject(res, "filters");
    const cJSON *ours = cJSON_GetObjectItemCaseSensitive(f->rec, "filters");
    for (const cJSON *r = results->child; r; r = r->next) {
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(r, "result"), "filters");
        for (const cJSON *n = cJSON_IsArray(names) ? names->child : NULL; n; n = n->next) {
            cJSON *e = NULL;
            for (cJSON *x = all->child; x && !e; x = x->next)
                if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(x, "name")), n->valuestring))
                    e = x;
            if (!e) {
                e = cJSON_CreateObject();
                cJSON_AddStringToObject(e, "name", n->valuestring);
                const cJSON *mine = NULL;
                for (const cJSON *o = cJSON_IsArray(ours) ? ours->child : NULL; o; o = o->next)
                    if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")),
                                n->valuestring))
                        mine = o;
                cJSON_AddBoolToObject(e, "vmgate", mine != NULL);
                cJSON_AddBoolToObject(e, "secgroup", !strncmp(n->valuestring, "vgsg-", 5));
                if (mine)
                    cJSON_AddItemToObject(e, "spec",
                                          cJSON_Duplicate(cJSON_GetObjectItem(mine, "spec"), 1));
                cJSON_AddArrayToObject(e, "hosts");
                cJSON_AddItemToArray(all, e);
            }
            cJSON_AddItemToArray(cJSON_GetObjectItem(e, "hosts"),
                                 cJSON_CreateString(cJSON_GetStringValue(
                                     cJSON_GetObjectItemCaseSensitive(r, "host"))));
        }
    }
    gw_call_succeed(c, res);
}

static void list_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    fcall *f = c->state;
    if (!gw_call_lua_ok(c, reply) || !(f->rec = gw_call_json(c, reply, f_arrays)))
        return;
    gw_fanout *fo = gw_fanout_new(c, FILTER_RPC_MS);
    if (!fo)
        return;
    const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(f->rec, "hosts");
    for (const cJSON *h = cJSON_IsArray(hosts) ? hosts->child : NULL; h; h = h->next)
        gw_fanout_add(fo, h->valuestring, "filter.list", cJSON_CreateObject(), NULL, NULL);
    gw_fanout_run(fo, listed, c);
}

static void run_list(gw_call *c)
{
    if (!fcall_new(c))
        return;
    const char *argv[] = {"list", ""};
    gw_call_eval(c, "filter_save", list_cb, 2, argv);
}

/* ---- filter.create, filter.delete ---- */

static const gw_field create_fields[] = {
    {"spec", GW_F_OBJECT, GW_F_REQUIRED, 0, 0, NULL,
     "the filter: {name, chain?, include?, rules} (docs/networks.md)"},
    {NULL},
};

static const gw_field name_fields[] = {
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the filter"},
    {NULL},
};

static int check_create(const cJSON *params, vg_err *err)
{
    static vg_nwfilter f; /* one loop: a large struct off the stack */
    if (vg_nwfilter_parse(gw_param(params, "spec"), &f, err) != VG_OK)
        return VG_ERR;
    if (!strncmp(f.name, "vgsg-", 5))
        return vg_fail(err, VG_E_BAD_REQUEST, "filter.name: vgsg- names belong to security groups");
    return VG_OK;
}

static const char *spec_name(const gw_call *c)
{
    const char *n = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(gw_param(c->req.params, "spec"), "name"));
    return n ? n : gw_param_str(c, "name", "");
}

static void stored_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    if (res && !strcmp(c->req.method, "filter.create"))
        cJSON_AddStringToObject(res, "name", spec_name(c));
    gw_call_succeed(c, res);
}

static void changed(gw_fanout *fo, const cJSON *results, const vg_err *err)
{
    (void)results;
    gw_call *c = gw_fanout_priv(fo);
    if (err) {
        gw_call_fail_err(c, err);
        return;
    }
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    char *text = cJSON_PrintUnformatted(gw_param(c->req.params, "spec"));
    int create = !strcmp(c->req.method, "filter.create");
    const char *argv[] = {create ? "create" : "delete", spec_name(c), text ? text : "{}", now,
                          c->user};
    gw_call_eval(c, "filter_save", stored_cb, 5, argv);
    free(text);
}

static void plan_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    fcall *f = c->state;
    if (!gw_call_lua_ok(c, reply) || !(f->rec = gw_call_json(c, reply, f_arrays)))
        return;
    int create = !strcmp(c->req.method, "filter.create");
    const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(f->rec, "hosts");
    if (create && !cJSON_IsTrue(cJSON_GetObjectItem(f->rec, "known")) &&
        cJSON_GetArraySize(hosts) == 0) {
        gw_call_fail(c, VG_E_UNAVAILABLE, "no host is up");
        return;
    }
    gw_fanout *fo = gw_fanout_new(c, FILTER_RPC_MS);
    if (!fo)
        return;
    for (const cJSON *h = cJSON_IsArray(hosts) ? hosts->child : NULL; h; h = h->next) {
        cJSON *p = cJSON_CreateObject();
        if (create) {
            cJSON_AddItemToObject(p, "spec", cJSON_Duplicate(gw_param(c->req.params, "spec"), 1));
            /* a new filter is taken back where a later host refuses it */
            cJSON *u = NULL;
            if (!cJSON_IsTrue(cJSON_GetObjectItem(f->rec, "known")) && (u = cJSON_CreateObject()))
                cJSON_AddStringToObject(u, "name", spec_name(c));
            gw_fanout_add(fo, h->valuestring, "filter.define", p, u ? "filter.undefine" : NULL, u);
        } else {
            cJSON_AddStringToObject(p, "name", spec_name(c));
            gw_fanout_add(fo, h->valuestring, "filter.undefine", p, NULL, NULL);
        }
    }
    gw_fanout_run(fo, changed, c);
}

static void run_change(gw_call *c)
{
    if (!fcall_new(c))
        return;
    int create = !strcmp(c->req.method, "filter.create");
    const char *argv[] = {"plan", spec_name(c), create ? "create" : "delete"};
    gw_call_eval(c, "filter_save", plan_cb, 3, argv);
}

const gw_method gw_api_filter_methods[] = {
    {"filter.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_list},
    {"filter.create", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, create_fields, check_create,
     run_change},
    {"filter.delete", GW_SCOPE_ADMIN, GW_LEVEL_ADMIN, GW_M_MUTATES, name_fields, NULL, run_change},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
