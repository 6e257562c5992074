/* Sessions: login, logout, whoami, events.subscribe and api.methods (docs/api.md "Sessions"). */
#include "api/api_int.h"

#include "core/audit.h"
#include "core/auth.h"
#include "vg_log.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const gw_field login_params[] = {
    {"user", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the user's name"},
    {"password", GW_F_STRING, GW_F_REQUIRED, 1, GW_KDF_PASSWORD_MAX, NULL, "the user's password"},
    {NULL},
};

static void audit_login(gw_call *c, const char *user, const char *result, const char *detail)
{
    gw_audit_entry e = {.kind = "login",
                        .user = user,
                        .addr = c->addr,
                        .method = "login",
                        .result = result,
                        .detail = detail};
    gw_audit(c->g, &e);
}

/* Failed logins are counted per user name and per client address for LOGIN_WINDOW_S seconds
 * from the first failure; past the limit, login answers rate_limited without looking at the
 * password, which also keeps argon2 from being used to load the gateway. gateway_login.lua
 * checks the limits and charges the attempt in one step, before the password is checked, so
 * parallel attempts cannot get past the limit; a success takes its charge back. */
#define LOGIN_WINDOW_S 300
#define LOGIN_FAILS_USER 10
#define LOGIN_FAILS_ADDR 50

/* What gateway_login.lua read about the user, kept while the password is checked. */
typedef struct login_user {
    int known; /* the user exists and has a password */
    int frozen;
    char role[16];
} login_user;

static void login_checked(gw_call *c, int match)
{
    const login_user *u = c->state;
    const char *user = gw_param_str(c, "user", "");
    if (!match || !u->known) {
        vg_info("auth", "login failed for user %s from %s", user, c->addr);
        audit_login(c, user, "unauthorized", "wrong user name or password");
        gw_call_fail(c, VG_E_UNAUTHORIZED, "wrong user name or password");
        return;
    }
    const char *ok_argv[] = {user, c->addr};
    vg_redis_eval(c->g->redis, gw_lua(c->g, "login_ok"), NULL, NULL, 0, 2, ok_argv, NULL);
    if (u->frozen) {
        vg_info("auth", "login refused for frozen user %s from %s", user, c->addr);
        audit_login(c, user, "forbidden", "user is frozen");
        gw_call_fail(c, VG_E_FORBIDDEN, "this user is frozen");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", user);
    snprintf(c->role, sizeof(c->role), "%s", u->role);
    char token[GW_TOKEN_HEX + 1];
    if (gw_auth_new_token(token) != VG_OK) {
        gw_call_fail(c, VG_E_INTERNAL, "no randomness for a session token");
        return;
    }
    char hash[65], now[24];
    gw_auth_sha256_hex(token, hash);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    char key[80];
    snprintf(key, sizeof(key), "vg:session:%s", hash);
    const char *argv[] = {"HSET", key, "user", c->user, "created_ms", now, "addr", c->addr};
    /* The user's set of sessions lets freezing or deleting the user end every one of them. */
    if (vg_redis_argv(c->g->redis, NULL, NULL, 8, argv, NULL) != VG_OK ||
        vg_redis_cmd(c->g->redis, NULL, NULL, "EXPIRE %s %ld", key, c->g->cfg.session_ttl) !=
            VG_OK ||
        vg_redis_cmd(c->g->redis, NULL, NULL, "SADD vg:user:%s:sessions %s", c->user, hash) !=
            VG_OK) {
        gw_call_fail(c, VG_E_UNAVAILABLE, "Redis is not reachable");
        return;
    }
    vg_info("auth", "user %s logged in from %s", c->user, c->addr);
    audit_login(c, c->user, "ok", NULL);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "token", token);
        cJSON_AddStringToObject(res, "user", c->user);
        cJSON_AddStringToObject(res, "role", c->role);
        cJSON_AddNumberToObject(res, "expires_in", (double)c->g->cfg.session_ttl);
    }
    gw_call_succeed(c, res);
}

static void login_user_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    const char *user = gw_param_str(c, "user", "");
    if (gw_reply_int(reply, 0) == 1) {
        vg_warn("auth", "login for user %s from %s refused: too many failures", user, c->addr);
        audit_login(c, user, "rate_limited", "too many failed logins");
        gw_call_fail(c, VG_E_RATE_LIMITED, "too many failed logins: try again in a few minutes");
        return;
    }
    /* {0, pwhash, role, frozen} */
    login_user *u = calloc(1, sizeof(*u));
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 || !u) {
        free(u);
        gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
        return;
    }
    c->state = u;
    c->state_free = free;
    const char *pwhash = gw_reply_str(reply, 1);
    u->known = pwhash[0] != '\0';
    u->frozen = strcmp(gw_reply_str(reply, 3), "1") == 0;
    snprintf(u->role, sizeof(u->role), "%s", gw_reply_str(reply, 2));
    /* An unknown user's password costs the same argon2 check (against gw.pw_dummy) as a known
     * user's, so the answer's timing does not tell which user names exist. */
    gw_call_check_password(c, u->known ? pwhash : c->g->pw_dummy, gw_param_str(c, "password", ""),
                           login_checked);
}

static void run_login(gw_call *c)
{
    const char *user = gw_param_str(c, "user", "");
    /* A full pool is refused before anything is charged: it is the gateway's load, not this
     * user's attempt. */
    if (!gw_call_reserve_check(c)) {
        vg_warn("auth", "login for user %s from %s refused: password checks busy", user, c->addr);
        audit_login(c, user, "unavailable", "too many password checks in progress");
        gw_call_fail(c, VG_E_UNAVAILABLE, GW_KDF_BUSY);
        return;
    }
    char ulimit[16], alimit[16], window[16];
    snprintf(ulimit, sizeof(ulimit), "%d", LOGIN_FAILS_USER);
    snprintf(alimit, sizeof(alimit), "%d", LOGIN_FAILS_ADDR);
    snprintf(window, sizeof(window), "%d", LOGIN_WINDOW_S);
    const char *argv[] = {user, c->addr, ulimit, alimit, window};
    gw_call_eval(c, "login", login_user_cb, 5, argv);
}

static void logout_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    vg_info("auth", "user %s logged out", c->user);
    /* Every gateway closes the consoles this session opened. */
    vg_redis_cmd(c->g->redis, NULL, NULL, "PUBLISH vg:sessions %s", c->token_hash);
    gw_call_succeed(c, cJSON_CreateObject());
}

static void run_logout(gw_call *c)
{
    vg_redis_cmd(c->g->redis, NULL, NULL, "SREM vg:user:%s:sessions %s", c->user, c->token_hash);
    gw_call_sent(c, vg_redis_cmd(c->g->redis, logout_cb, c, "DEL vg:session:%s", c->token_hash));
}

static void run_whoami(gw_call *c)
{
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "user", c->user);
        cJSON_AddStringToObject(res, "role", c->role);
    }
    gw_call_succeed(c, res);
}

static void run_subscribe(gw_call *c)
{
    /* The WebSocket transport registers the subscription when it sees this answer. */
    gw_call_succeed(c, cJSON_CreateObject());
}

/* One method as api.methods lists it; 0 when out of memory (o is the caller's either way). */
static int describe(const gw_method *m, cJSON *o)
{
    if (!cJSON_AddStringToObject(o, "name", m->name) ||
        !cJSON_AddStringToObject(o, "scope", gw_scope_name(m->scope)) ||
        !cJSON_AddStringToObject(o, "level", gw_level_name(m->level)) ||
        !cJSON_AddBoolToObject(o, "mutates", (m->flags & GW_M_MUTATES) != 0) ||
        !cJSON_AddBoolToObject(o, "websocket_only", (m->flags & GW_M_WS_ONLY) != 0) ||
        !cJSON_AddBoolToObject(o, "reauth", (m->flags & GW_M_REAUTH) != 0))
        return 0;
    cJSON *params = gw_schema_describe(m->params);
    if (!params || !cJSON_AddItemToObject(o, "params", params)) {
        cJSON_Delete(params);
        return 0;
    }
    return 1;
}

static void run_methods(gw_call *c)
{
    cJSON *res = cJSON_CreateObject();
    cJSON *list = res ? cJSON_AddArrayToObject(res, "methods") : NULL;
    for (const gw_method *m = gw_api_next(NULL); list && m; m = gw_api_next(m)) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(list, o) || !describe(m, o))
            list = NULL;
    }
    if (!list) {
        cJSON_Delete(res);
        res = NULL; /* gw_call_succeed answers `internal` */
    }
    gw_call_succeed(c, res);
}

const gw_method gw_api_session_methods[] = {
    {"login", GW_SCOPE_PUBLIC, GW_LEVEL_VIEWER, 0, login_params, NULL, run_login},
    {"logout", GW_SCOPE_SELF, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_logout},
    {"whoami", GW_SCOPE_SELF, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_whoami},
    {"events.subscribe", GW_SCOPE_SELF, GW_LEVEL_VIEWER, GW_M_WS_ONLY, gw_no_fields, NULL,
     run_subscribe},
    {"api.methods", GW_SCOPE_SELF, GW_LEVEL_VIEWER, 0, gw_no_fields, NULL, run_methods},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
