/* VMs: the fleet's VMs as the registry shows them, and console tickets (docs/api.md "VMs"). */
#include "api_int.h"

#include "auth.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vm_list_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    cJSON *vms = res ? cJSON_AddArrayToObject(res, "vms") : NULL;
    for (size_t i = 0; vms && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *v = reply->element[i];
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
    gw_call_succeed(c, res);
}

static void run_vm_list(gw_call *c)
{
    const char *argv[] = {c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    gw_call_eval(c, "vm_list", vm_list_cb, 2, argv);
}

/* ---- console.ticket ---- */

typedef struct ticket {
    char dev[65];
    char token[GW_TOKEN_HEX + 1];
} ticket;

static int check_ticket(const cJSON *params, vg_err *err)
{
    static const char *const known[] = {"vm", "dev", "mode", NULL};
    if (gw_check_known(params, known, err) != VG_OK ||
        gw_check_name(params, "vm", 0, err) != VG_OK ||
        gw_check_name(params, "dev", 1, err) != VG_OK)
        return VG_ERR;
    const cJSON *mode = gw_param(params, "mode");
    if (mode && (!cJSON_IsString(mode) ||
                 (strcmp(mode->valuestring, "rw") != 0 && strcmp(mode->valuestring, "ro") != 0)))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"mode\" must be \"rw\" or \"ro\"");
    return VG_OK;
}

static void ticket_set_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    ticket *t = c->state;
    char path[128];
    snprintf(path, sizeof(path), "/ws/console?ticket=%s", t->token);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "ticket", t->token);
        cJSON_AddNumberToObject(res, "expires_in", (double)c->g->cfg.ticket_ttl);
        cJSON_AddStringToObject(res, "path", path);
        cJSON_AddStringToObject(res, "vm", gw_param_str(c, "vm", ""));
        cJSON_AddStringToObject(res, "dev", t->dev);
        cJSON_AddStringToObject(res, "mode", gw_param_str(c, "mode", "rw"));
    }
    gw_call_succeed(c, res);
}

static void ticket_consoles_cb(gw_redis *r, redisReply *reply, void *priv)
{
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    ticket *t = c->state;
    const char *vm = gw_param_str(c, "vm", "");
    if (reply->type != REDIS_REPLY_ARRAY) {
        gw_call_fail(c, VG_E_NOT_FOUND, "VM %s is not running on any host", vm);
        return;
    }
    const char *want = gw_param_str(c, "dev", NULL);
    for (size_t i = 0; i < reply->elements; i++) {
        const char *d = gw_reply_str(reply, i);
        if (want ? strcmp(d, want) == 0 : strcmp(d, "serial0") == 0)
            snprintf(t->dev, sizeof(t->dev), "%s", d);
    }
    if (!want && !t->dev[0] && reply->elements > 0)
        snprintf(t->dev, sizeof(t->dev), "%s", gw_reply_str(reply, 0));
    if (!t->dev[0] || !vg_valid_name(t->dev)) {
        gw_call_fail(c, VG_E_NOT_FOUND, "VM %s has no console %s", vm, want ? want : "at all");
        return;
    }
    if (gw_auth_new_token(t->token) != VG_OK) {
        gw_call_fail(c, VG_E_INTERNAL, "no randomness for a ticket");
        return;
    }
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "user", c->user);
        cJSON_AddStringToObject(o, "vm", vm);
        cJSON_AddStringToObject(o, "dev", t->dev);
        cJSON_AddStringToObject(o, "mode", gw_param_str(c, "mode", "rw"));
        /* Lets the gateways close this console when that session ends (C9). */
        cJSON_AddStringToObject(o, "session", c->token_hash);
        cJSON_AddStringToObject(o, "project", c->project);
    }
    char *json = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!json) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char hash[65];
    gw_auth_sha256_hex(t->token, hash);
    long ttl = c->g->cfg.ticket_ttl;
    int rc = gw_redis_cmd(r, ticket_set_cb, c, "SET vg:ticket:%s %s EX %ld", hash, json,
                          ttl > 0 ? ttl : 1);
    free(json);
    gw_call_sent(c, rc);
}

static void run_ticket(gw_call *c)
{
    if (strcmp(gw_param_str(c, "mode", "rw"), "rw") == 0 &&
        !gw_call_level_at_least(c, GW_LEVEL_OPERATOR)) {
        gw_call_fail(c, VG_E_FORBIDDEN, "role %s may only open read-only consoles of VM %s",
                     c->prole, gw_param_str(c, "vm", ""));
        return;
    }
    if (!(c->state = calloc(1, sizeof(ticket)))) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    c->state_free = free;
    const char *argv[] = {gw_param_str(c, "vm", "")};
    gw_call_eval(c, "consoles", ticket_consoles_cb, 1, argv);
}

const gw_method gw_api_vm_methods[] = {
    {"vm.list", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, gw_check_none, run_vm_list},
    {"console.ticket", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, check_ticket, run_ticket},
    {NULL, 0, 0, 0, NULL, NULL},
};
