/* Operator notices (C11, docs/api.md "Notices"): text for everyone who may see a VM, a project
 * or everything, shown by the clients over the console and never written to a guest. Who may
 * send to which scope depends on the scope chosen in the parameters, so the methods are of
 * scope `any` and gateway_notice.lua decides, reads and writes in one step. */
#include "api/api_json.h"

#include "vg_util.h"

#include <stdio.h>
#include <string.h>

#define TEXT_MAX 1000
#define TTL_DEFAULT 3600
#define TTL_MAX (7 * 86400)
#define ID_MAX 9007199254740991LL
/* Live notices one user may have at a time: a project operator cannot bury the notices of
 * others under their own. */
#define PER_USER_MAX 20

static const char *const arrays[] = {"notices", "acks", NULL};

static void json_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call_answer_json(priv, reply, arrays);
}

/* op, caller, role, now, address, then the op's own arguments (gateway_notice.lua). */
static void eval(gw_call *c, const char *op, int argc, const char **args)
{
    char now[24];
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    const char *argv[12] = {op, c->user, c->role, now, c->addr};
    for (int i = 0; i < argc && i < 7; i++)
        argv[5 + i] = args[i];
    gw_call_eval(c, "notice", json_cb, 5 + argc, argv);
}

/* ---- notice.send ---- */

static const gw_field send_params[] = {
    {"scope", GW_F_ENUM, GW_F_REQUIRED, 0, 0, "vm|project|all", "who sees it"},
    {"target", GW_F_NAME, 0, 0, 0, NULL, "the VM or project (not with scope all)"},
    {"text", GW_F_STRING, GW_F_REQUIRED, 1, TEXT_MAX, NULL,
     "the message: printable text, line breaks allowed"},
    {"level", GW_F_ENUM, 0, 0, 0, "info|warn|critical", "its severity (default info)"},
    {"ttl_s", GW_F_INT, 0, 10, TTL_MAX, NULL, "seconds it lives (default 3600)"},
    {"require_ack", GW_F_BOOL, 0, 0, 0, NULL,
     "viewers are asked to acknowledge it (default false)"},
    {NULL},
};

/* The text is shown in browsers and printed on terminals (vmgatectl): no control character
 * other than a line break may ride in it, C1 controls (U+0080-U+009F) included. */
static int text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return 0;
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
            return 0;
    }
    return 1;
}

static int send_check(const cJSON *params, vg_err *err)
{
    const char *scope = gw_param(params, "scope")->valuestring;
    const cJSON *target = gw_param(params, "target");
    if (!strcmp(scope, "all") && target)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"target\" is not taken with scope all");
    if (strcmp(scope, "all") && !target)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"target\" names the %s of scope %s", scope, scope);
    if (!text_ok(gw_param(params, "text")->valuestring))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"text\" must not hold control characters other than line breaks");
    return VG_OK;
}

static void run_send(gw_call *c)
{
    char ttl[24], limit[24];
    snprintf(ttl, sizeof(ttl), "%lld", gw_param_int(c, "ttl_s", TTL_DEFAULT));
    snprintf(limit, sizeof(limit), "%d", PER_USER_MAX);
    const char *args[] = {gw_param_str(c, "scope", ""),
                          gw_param_str(c, "target", ""),
                          gw_param_str(c, "level", "info"),
                          gw_param_str(c, "text", ""),
                          ttl,
                          gw_param_bool(c, "require_ack", 0) ? "1" : "0",
                          limit};
    eval(c, "send", 7, args);
}

/* ---- notice.list ---- */

static const gw_field list_params[] = {
    {"vm", GW_F_NAME, 0, 0, 0, NULL,
     "only the notices a viewer of this VM sees (its own, its project's, everyone's)"},
    {"scope", GW_F_ENUM, 0, 0, 0, "vm|project|all", "only notices of this scope"},
    {NULL},
};

static void run_list(gw_call *c)
{
    const char *args[] = {gw_param_str(c, "vm", ""), gw_param_str(c, "scope", "")};
    eval(c, "list", 2, args);
}

/* ---- notice.get, notice.ack, notice.cancel ---- */

static const gw_field id_params[] = {
    {"id", GW_F_INT, GW_F_REQUIRED, 1, ID_MAX, NULL, "the notice (notice.send's id)"},
    {NULL},
};

static void run_by_id(gw_call *c)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", gw_param_int(c, "id", 0));
    const char *args[] = {id};
    /* "notice.get" -> "get" */
    eval(c, c->req.method + strlen("notice."), 1, args);
}

const gw_method gw_api_notice_methods[] = {
    {"notice.send", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_MUTATES, send_params, send_check, run_send},
    {"notice.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, list_params, NULL, run_list},
    {"notice.get", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, id_params, NULL, run_by_id},
    {"notice.ack", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_MUTATES, id_params, NULL, run_by_id},
    {"notice.cancel", GW_SCOPE_ANY, GW_LEVEL_VIEWER, GW_M_MUTATES, id_params, NULL, run_by_id},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
