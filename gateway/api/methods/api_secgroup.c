/* Security groups and network filters (docs/api.md "Security groups", "Network filters",
 * docs/networks.md). A project's security groups are rules kept in Redis
 * (gateway_secgroup_save.lua); every NIC that has a `secgroups` list gets the nwfilter its groups
 * compile to (gateway_secgroup_plan.lua), defined on the host the VM is on. After any change of
 * rules or membership every filter of the project is compiled and defined again; libvirt applies
 * a redefined filter to running VMs at once. Filters (filter.*) are libvirt nwfilters defined by
 * an administrator on every live host. */
#include "api/api_json.h"
#include "api/methods/api_fanout.h"
#include "api/methods/api_vm.h"

#include "vg_jfield.h"
#include "vg_nwfilter.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_RULES_MAX 64
#define SG_DESC_MAX 1024
#define SG_RPC_MS 30000L

static const char *const sg_arrays[] = {"groups", "rules", "nics", "filters", "hosts", NULL};

/* ---- rule checks (pure) ---- */

static int check_rule(const cJSON *r, size_t i, vg_err *err)
{
    static const char *const keys[] = {"direction",   "protocol",     "port_min", "port_max",
                                       "remote_cidr", "remote_group", NULL};
    static const char *const dirs[] = {"ingress", "egress", NULL};
    static const char *const protos[] = {"tcp", "udp", "icmp", "any", NULL};
    char at[24], dir[8] = "", proto[8] = "any";
    long long pmin = 0, pmax = 0;
    snprintf(at, sizeof(at), "rules[%zu]", i);
    if (!cJSON_IsObject(r))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s must be an object", at);
    if (vg_jf_known(r, at, keys, err) != VG_OK)
        return VG_ERR;
    if (!vg_jf_member(r, "direction"))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.direction is required", at);
    if (vg_jf_enum(r, at, "direction", dirs, dir, sizeof(dir), err) != VG_OK ||
        vg_jf_enum(r, at, "protocol", protos, proto, sizeof(proto), err) != VG_OK ||
        vg_jf_int(r, at, "port_min", 1, 65535, &pmin, err) != VG_OK ||
        vg_jf_int(r, at, "port_max", 1, 65535, &pmax, err) != VG_OK)
        return VG_ERR;
    if ((pmin || pmax) && strcmp(proto, "tcp") && strcmp(proto, "udp"))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s: ports need protocol tcp or udp", at);
    if (pmax && (!pmin || pmax < pmin))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.port_max needs a port_min not above it", at);
    const cJSON *cidr = vg_jf_member(r, "remote_cidr"), *group = vg_jf_member(r, "remote_group");
    vg_ip ip;
    int prefix;
    if (cidr && group)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s: remote_cidr and remote_group exclude each other",
                       at);
    if (cidr && (!cJSON_IsString(cidr) || !vg_cidr_parse(cidr->valuestring, &ip, &prefix)))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "%s.remote_cidr must be an address or CIDR like 10.0.0.0/24 or fd00::/64",
                       at);
    if (group && (!cJSON_IsString(group) || !vg_valid_name(group->valuestring)))
        return vg_fail(err, VG_E_BAD_REQUEST, "%s.remote_group must be a group name", at);
    return VG_OK;
}

static int check_rules(const cJSON *params, vg_err *err)
{
    const cJSON *rules = gw_param(params, "rules");
    size_t i = 0;
    for (const cJSON *r = rules ? rules->child : NULL; r; r = r->next, i++)
        if (check_rule(r, i, err) != VG_OK)
            return VG_ERR;
    return VG_OK;
}

/* ---- compiling and defining the project's filters ---- */

static void read_cb(vg_redis *r, redisReply *reply, void *priv);

static void filters_done(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    gw_call *c = gw_fanout_priv(f);
    if (err) {
        gw_call_fail_err(c, err);
        return;
    }
    /* answer with the group (or the NIC's VM) as it is now */
    const char *argv[] = {"list", c->project, gw_param_str(c, "name", "")};
    gw_call_eval(c, "secgroup_save", read_cb, 3, argv);
}

static void plan_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *plan = gw_call_json(c, reply, sg_arrays);
    if (!plan)
        return;
    gw_vmnet_define_filters(c, plan, filters_done, c);
    cJSON_Delete(plan);
}

static void recompile(gw_call *c)
{
    const char *argv[] = {c->project, "", "", "", "0"};
    gw_call_eval(c, "secgroup_plan", plan_cb, 5, argv);
}

/* ---- secgroup.* ---- */

static void read_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *res = gw_call_json(c, reply, sg_arrays);
    if (res)
        gw_call_succeed(c, res);
}

static const gw_field list_fields[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {NULL},
};

static const gw_field name_fields[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the security group"},
    {NULL},
};

static void run_list(gw_call *c)
{
    const char *argv[] = {"list", c->project, ""};
    gw_call_eval(c, "secgroup_save", read_cb, 3, argv);
}

static void run_get(gw_call *c)
{
    const char *argv[] = {"list", c->project, gw_param_str(c, "name", "")};
    gw_call_eval(c, "secgroup_save", read_cb, 3, argv);
}

static const gw_field save_fields[] = {
    {"project", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the project that owns it"},
    {"name", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the security group"},
    {"description", GW_F_STRING, 0, 0, SG_DESC_MAX, NULL, "free text"},
    {"rules", GW_F_ARRAY, 0, 0, SG_RULES_MAX, NULL,
     "what may reach the members: {direction, protocol?, port_min?, port_max?, remote_cidr? | "
     "remote_group?} (on edit: replaces them)"},
    {NULL},
};

static void saved_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        recompile(c);
}

static void save(gw_call *c, const char *op)
{
    const cJSON *rules = gw_param(c->req.params, "rules");
    char *text = rules ? cJSON_PrintUnformatted(rules) : NULL;
    const char *desc = gw_param_str(c, "description", NULL);
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    /* an empty list prints as [] and stays one */
    const char *argv[] = {op,
                          c->project,
                          gw_param_str(c, "name", ""),
                          desc ? desc : "",
                          text ? text : "",
                          desc ? "1" : "0",
                          now,
                          c->user};
    gw_call_eval(c, "secgroup_save", saved_cb, 8, argv);
    free(text);
}

static void run_create(gw_call *c)
{
    save(c, "create");
}

static void run_edit(gw_call *c)
{
    save(c, "edit");
}

static void deleted_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        gw_call_succeed(c, cJSON_CreateObject());
}

static void run_delete(gw_call *c)
{
    const char *argv[] = {"delete", c->project, gw_param_str(c, "name", "")};
    gw_call_eval(c, "secgroup_save", deleted_cb, 3, argv);
}

/* ---- secgroup.assign: one NIC's groups, on a running VM too ---- */

static const gw_field assign_fields[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"mac", GW_F_STRING, GW_F_REQUIRED, 17, 17, NULL, "the NIC, by its MAC address"},
    {"secgroups", GW_F_NAMES, GW_F_REQUIRED, 0, 8, NULL,
     "its security groups ([]: the project's default policy)"},
    {NULL},
};

static int check_assign(const cJSON *params, vg_err *err)
{
    unsigned char b[6];
    if (!vg_mac_parse(cJSON_GetStringValue(gw_param(params, "mac")), b))
        return vg_fail(err, VG_E_BAD_REQUEST, "mac must be a MAC address like 52:54:00:12:34:56");
    return VG_OK;
}

static void assigned_filters(gw_fanout *f, const cJSON *results, const vg_err *err)
{
    (void)results;
    gw_call *c = gw_fanout_priv(f);
    if (err)
        gw_call_fail_err(c, err);
    else
        gw_call_succeed(c, cJSON_CreateObject());
}

static void assign_plan_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    cJSON *plan = gw_call_json(c, reply, sg_arrays);
    if (!plan)
        return;
    gw_vmnet_define_filters(c, plan, assigned_filters, c);
    cJSON_Delete(plan);
}

static void assigned_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_lua_ok(c, reply))
        return;
    /* membership moves other NICs' remote_group rules too: the whole project */
    const char *argv[] = {c->project, "", "", "", "0"};
    gw_call_eval(c, "secgroup_plan", assign_plan_cb, 5, argv);
}

static void run_assign(gw_call *c)
{
    char mac[18];
    unsigned char b[6];
    vg_mac_parse(gw_param_str(c, "mac", ""), b);
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    char *groups = cJSON_PrintUnformatted(gw_param(c->req.params, "secgroups"));
    if (!groups) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    const char *argv[] = {"assign", c->project, gw_param_str(c, "vm", ""), mac, groups};
    gw_call_eval(c, "secgroup_save", assigned_cb, 5, argv);
    free(groups);
}

const gw_method gw_api_secgroup_methods[] = {
    {"secgroup.list", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, list_fields, NULL, run_list},
    {"secgroup.get", GW_SCOPE_PROJECT, GW_LEVEL_VIEWER, 0, name_fields, NULL, run_get},
    {"secgroup.create", GW_SCOPE_PROJECT, GW_LEVEL_OPERATOR, GW_M_MUTATES, save_fields, check_rules,
     run_create},
    {"secgroup.edit", GW_SCOPE_PROJECT, GW_LEVEL_OPERATOR, GW_M_MUTATES, save_fields, check_rules,
     run_edit},
    {"secgroup.delete", GW_SCOPE_PROJECT, GW_LEVEL_OPERATOR, GW_M_MUTATES, name_fields, NULL,
     run_delete},
    {"secgroup.assign", GW_SCOPE_VM, GW_LEVEL_OPERATOR, GW_M_MUTATES, assign_fields, check_assign,
     run_assign},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
