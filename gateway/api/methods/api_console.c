/* Consoles (docs/api.md "console.ticket"): the one-time tickets a console WebSocket is opened
 * with (docs/protocol.md §2). */
#include "api/methods/api_vm.h"

#include "core/auth.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ticket {
    char dev[65];
    char token[GW_TOKEN_HEX + 1];
} ticket;

static const gw_field ticket_params[] = {
    {"vm", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the VM"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0, else the first)"},
    {"mode", GW_F_ENUM, 0, 0, 0, "rw|ro", "read-write (the default, operators) or read-only"},
    {NULL},
};

static void ticket_set_cb(vg_redis *r, redisReply *reply, void *priv)
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

static void ticket_consoles_cb(vg_redis *r, redisReply *reply, void *priv)
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
        /* The ticket is valid only while this session is, and the console it opens closes
         * when the session ends (C9, gateway/core/ticket.h). */
        cJSON_AddStringToObject(o, "session", c->token_hash);
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
    int rc = vg_redis_cmd(r, ticket_set_cb, c, "SET vg:ticket:%s %s EX %ld", hash, json,
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

const gw_method gw_api_console_methods[] = {
    {"console.ticket", GW_SCOPE_VM, GW_LEVEL_VIEWER, 0, ticket_params, NULL, run_ticket},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
