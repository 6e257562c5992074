#include "api.h"

#include "auth.h"
#include "redis.h"
#include "vg_log.h"
#include "vg_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_MAX 1024

struct gw_call {
    gw *g;
    gw_call_owner *owner; /* NULL once the transport has gone */
    gw_call *next, *prev;
    gw_api_req req;
    int websocket;
    const struct method *m;
    char token_hash[65];
    char user[65];
    char role[16];
    char addr[64];
    char login_token[GW_TOKEN_HEX + 1];
    char dev[65];
};

typedef struct method {
    const char *name;
    int needs_session;
    int websocket_only;
    int (*check)(const cJSON *params, vg_err *err);
    void (*run)(gw_call *c);
} method;

/* ---- pure parsing and checking ---- */

void gw_api_req_free(gw_api_req *req)
{
    cJSON_Delete(req->root);
    memset(req, 0, sizeof(*req));
}

int gw_api_parse_ws(const char *buf, size_t len, gw_api_req *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > GW_API_MAX_BODY)
        return vg_fail(err, VG_E_TOO_BIG, "request of %zu bytes exceeds the %d byte limit", len,
                       GW_API_MAX_BODY);
    cJSON *root = cJSON_ParseWithLength(buf, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return vg_fail(err, VG_E_BAD_REQUEST, "request is not a JSON object");
    }
    out->root = root;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (id && !cJSON_IsNumber(id) && !cJSON_IsString(id))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"id\" must be a number or a string");
    out->id = id;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "method");
    if (!cJSON_IsString(m))
        return vg_fail(err, VG_E_BAD_REQUEST, "request needs a string \"method\"");
    out->method = m->valuestring;
    cJSON *params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (!params) {
        params = cJSON_AddObjectToObject(root, "params");
        if (!params)
            return vg_fail(err, VG_E_INTERNAL, "out of memory");
    } else if (!cJSON_IsObject(params)) {
        return vg_fail(err, VG_E_BAD_REQUEST, "\"params\" must be an object");
    }
    out->params = params;
    return VG_OK;
}

int gw_api_parse_http(const char *method_name, const char *body, size_t len, gw_api_req *out,
                      vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > GW_API_MAX_BODY)
        return vg_fail(err, VG_E_TOO_BIG, "request body of %zu bytes exceeds the %d byte limit",
                       len, GW_API_MAX_BODY);
    size_t ws = 0;
    while (ws < len &&
           (body[ws] == ' ' || body[ws] == '\t' || body[ws] == '\r' || body[ws] == '\n'))
        ws++;
    cJSON *params = ws == len ? cJSON_CreateObject() : cJSON_ParseWithLength(body, len);
    if (!params || !cJSON_IsObject(params)) {
        cJSON_Delete(params);
        return vg_fail(err, VG_E_BAD_REQUEST, "request body is not a JSON object");
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *m = root ? cJSON_AddStringToObject(root, "method", method_name) : NULL;
    if (!m) {
        cJSON_Delete(params);
        cJSON_Delete(root);
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    cJSON_AddItemToObject(root, "params", params);
    out->root = root;
    out->method = m->valuestring;
    out->params = params;
    return VG_OK;
}

static const cJSON *field(const cJSON *params, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(params, name);
}

static int need_name(const cJSON *params, const char *name, int optional, vg_err *err)
{
    const cJSON *v = field(params, name);
    if (!v && optional)
        return VG_OK;
    if (!cJSON_IsString(v))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"%s\" must be a string", name);
    if (!vg_valid_name(v->valuestring))
        return vg_fail(err, VG_E_BAD_REQUEST,
                       "\"%s\" must be 1-64 characters of A-Z a-z 0-9 . _ - (not starting with . "
                       "or -)",
                       name);
    return VG_OK;
}

static int check_none(const cJSON *params, vg_err *err)
{
    (void)params;
    (void)err;
    return VG_OK;
}

static int check_login(const cJSON *params, vg_err *err)
{
    if (need_name(params, "user", 0, err) != VG_OK)
        return VG_ERR;
    const cJSON *pw = field(params, "password");
    if (!cJSON_IsString(pw))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"password\" must be a string");
    size_t n = strlen(pw->valuestring);
    if (n == 0 || n > PASSWORD_MAX)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"password\" must be 1-%d characters", PASSWORD_MAX);
    return VG_OK;
}

static int check_ticket(const cJSON *params, vg_err *err)
{
    if (need_name(params, "vm", 0, err) != VG_OK || need_name(params, "dev", 1, err) != VG_OK)
        return VG_ERR;
    const cJSON *mode = field(params, "mode");
    if (mode && (!cJSON_IsString(mode) ||
                 (strcmp(mode->valuestring, "rw") != 0 && strcmp(mode->valuestring, "ro") != 0)))
        return vg_fail(err, VG_E_BAD_REQUEST, "\"mode\" must be \"rw\" or \"ro\"");
    return VG_OK;
}

static void run_login(gw_call *c);
static void run_logout(gw_call *c);
static void run_whoami(gw_call *c);
static void run_vm_list(gw_call *c);
static void run_host_list(gw_call *c);
static void run_ticket(gw_call *c);
static void run_subscribe(gw_call *c);

static const method methods[] = {
    {"login", 0, 0, check_login, run_login},
    {"logout", 1, 0, check_none, run_logout},
    {"whoami", 1, 0, check_none, run_whoami},
    {"vm.list", 1, 0, check_none, run_vm_list},
    {"host.list", 1, 0, check_none, run_host_list},
    {"console.ticket", 1, 0, check_ticket, run_ticket},
    {"events.subscribe", 1, 1, check_none, run_subscribe},
    {NULL, 0, 0, NULL, NULL},
};

static const method *find_method(const char *name)
{
    for (const method *m = methods; m->name; m++)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

int gw_api_check(const gw_api_req *req, int websocket, vg_err *err)
{
    const method *m = find_method(req->method);
    if (!m)
        return vg_fail(err, VG_E_UNKNOWN, "unknown method \"%.64s\"", req->method);
    if (m->websocket_only && !websocket)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s is only available on the WebSocket API", m->name);
    return m->check(req->params, err);
}

char *gw_api_response(const cJSON *id, int with_id, const cJSON *result, const vg_err *err)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    if (with_id)
        cJSON_AddItemToObject(root, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    if (err) {
        cJSON *e = cJSON_AddObjectToObject(root, "error");
        if (e) {
            cJSON_AddStringToObject(e, "code", vg_err_code_name(err->code));
            cJSON_AddStringToObject(e, "message", err->msg);
        }
    } else {
        cJSON_AddItemToObject(root, "result", cJSON_Duplicate(result, 1));
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

int gw_api_http_status(vg_err_code code)
{
    switch (code) {
    case VG_E_NONE:
        return 200;
    case VG_E_BAD_REQUEST:
    case VG_E_UNKNOWN:
    case VG_E_READ_ONLY:
    case VG_E_NOT_WRITER:
        return 400;
    case VG_E_UNAUTHORIZED:
        return 401;
    case VG_E_FORBIDDEN:
        return 403;
    case VG_E_NOT_FOUND:
        return 404;
    case VG_E_CONFLICT:
        return 409;
    case VG_E_TOO_BIG:
        return 413;
    case VG_E_RATE_LIMITED:
        return 429;
    case VG_E_UNAVAILABLE:
        return 503;
    case VG_E_INTERNAL:
        return 500;
    }
    return 500;
}

/* ---- calls in flight ---- */

static void unlink_call(gw_call *c)
{
    if (!c->owner)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->owner->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->owner = NULL;
    c->next = c->prev = NULL;
}

void gw_call_owner_detach(gw_call_owner *owner)
{
    while (owner->calls)
        unlink_call(owner->calls);
}

static void finish(gw_call *c, const cJSON *result, const vg_err *err)
{
    gw_call_owner *o = c->owner;
    unlink_call(c);
    if (o)
        o->done(o->priv, c->req.method, c->req.id, result, err);
    gw_api_req_free(&c->req);
    free(c);
}

static void fail(gw_call *c, vg_err_code code, const char *msg)
{
    vg_err err;
    vg_fail(&err, code, "%s", msg);
    finish(c, NULL, &err);
}

/* Finishes with result and frees it. */
static void succeed(gw_call *c, cJSON *result)
{
    if (!result) {
        fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    finish(c, result, NULL);
    cJSON_Delete(result);
}

/* Every Redis answer goes through here first: a lost connection or a Redis error ends the call. */
static int reply_ok(gw_call *c, redisReply *reply)
{
    if (!reply) {
        fail(c, VG_E_UNAVAILABLE, "Redis connection lost");
        return 0;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        vg_error("api", "%s: Redis error: %s", c->req.method, reply->str);
        fail(c, VG_E_INTERNAL, "Redis refused the request");
        return 0;
    }
    return 1;
}

static void send_or_fail(gw_call *c, int rc)
{
    if (rc != VG_OK)
        fail(c, VG_E_UNAVAILABLE, "Redis is not reachable");
}

static const char *param_str(gw_call *c, const char *name, const char *def)
{
    const cJSON *v = field(c->req.params, name);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static void session_user_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    /* HMGET role frozen */
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        fail(c, VG_E_UNAUTHORIZED, "the session's user no longer exists");
        return;
    }
    if (reply->element[1]->type == REDIS_REPLY_STRING && strcmp(reply->element[1]->str, "1") == 0) {
        fail(c, VG_E_FORBIDDEN, "this user is frozen");
        return;
    }
    snprintf(c->role, sizeof(c->role), "%s", reply->element[0]->str);
    vg_err err;
    if (gw_api_check(&c->req, c->websocket, &err) != VG_OK) {
        finish(c, NULL, &err);
        return;
    }
    c->m->run(c);
}

static void session_cb(gw_redis *r, redisReply *reply, void *priv)
{
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    if (reply->type != REDIS_REPLY_STRING || !vg_valid_name(reply->str)) {
        fail(c, VG_E_UNAUTHORIZED, "no valid session: log in first");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", reply->str);
    /* Sessions expire after session_ttl idle seconds: every use pushes the expiry out. */
    gw_redis_cmd(r, NULL, NULL, "EXPIRE vg:session:%s %ld", c->token_hash, c->g->cfg.session_ttl);
    send_or_fail(c, gw_redis_cmd(r, session_user_cb, c, "HMGET vg:user:%s role frozen", c->user));
}

void gw_api_start(gw *g, gw_call_owner *owner, gw_api_req *req, const char *token, const char *addr,
                  int websocket)
{
    vg_err err;
    const method *m = find_method(req->method);
    /* Without a session a client learns nothing but "log in": parameters are checked after
     * the session, except for the methods that need none. */
    if (!m || (!m->needs_session && gw_api_check(req, websocket, &err) != VG_OK)) {
        if (!m)
            vg_fail(&err, VG_E_UNKNOWN, "unknown method \"%.64s\"", req->method);
        owner->done(owner->priv, req->method, req->id, NULL, &err);
        gw_api_req_free(req);
        return;
    }
    gw_call *c = calloc(1, sizeof(*c));
    if (!c) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        owner->done(owner->priv, req->method, req->id, NULL, &err);
        gw_api_req_free(req);
        return;
    }
    c->g = g;
    c->req = *req;
    memset(req, 0, sizeof(*req));
    c->m = m;
    c->websocket = websocket;
    snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "");
    c->owner = owner;
    c->next = owner->calls;
    if (c->next)
        c->next->prev = c;
    owner->calls = c;

    if (!c->m->needs_session) {
        c->m->run(c);
        return;
    }
    if (!token) {
        fail(c, VG_E_UNAUTHORIZED, "no session: log in first");
        return;
    }
    gw_auth_sha256_hex(token, c->token_hash);
    send_or_fail(c,
                 gw_redis_cmd(g->redis, session_cb, c, "HGET vg:session:%s user", c->token_hash));
}

/* ---- methods ---- */

/* Failed logins are counted per user name and per client address for LOGIN_WINDOW_S seconds
 * from the first failure; past the limit, login answers rate_limited without looking at the
 * password, which also keeps argon2 from being used to load the gateway. */
#define LOGIN_WINDOW_S 300
#define LOGIN_FAILS_USER 10
#define LOGIN_FAILS_ADDR 50

static void login_failed(gw_call *c, const char *user)
{
    char window[16];
    snprintf(window, sizeof(window), "%d", LOGIN_WINDOW_S);
    const char *argv[] = {user, c->addr, window};
    gw_redis_eval(c->g->redis, c->g->lua[GW_LUA_LOGIN_FAIL], NULL, NULL, 0, 3, argv, NULL);
    vg_info("auth", "login failed for user %s from %s", user, c->addr);
    fail(c, VG_E_UNAUTHORIZED, "wrong user name or password");
}

static void login_user_cb(gw_redis *r, redisReply *reply, void *priv)
{
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    const char *user = param_str(c, "user", "");
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER && reply->element[0]->integer == 1) {
        vg_warn("auth", "login for user %s from %s refused: too many failures", user, c->addr);
        fail(c, VG_E_RATE_LIMITED, "too many failed logins: try again in a few minutes");
        return;
    }
    /* {0, pwhash, role, frozen} */
    int ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
             reply->element[1]->type == REDIS_REPLY_STRING &&
             reply->element[2]->type == REDIS_REPLY_STRING &&
             gw_auth_verify(reply->element[1]->str, param_str(c, "password", ""));
    if (!ok) {
        login_failed(c, user);
        return;
    }
    gw_redis_cmd(r, NULL, NULL, "DEL vg:loginfail:user:%s", user);
    if (reply->element[3]->type == REDIS_REPLY_STRING && strcmp(reply->element[3]->str, "1") == 0) {
        vg_info("auth", "login refused for frozen user %s from %s", user, c->addr);
        fail(c, VG_E_FORBIDDEN, "this user is frozen");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", user);
    snprintf(c->role, sizeof(c->role), "%s", reply->element[2]->str);
    if (gw_auth_new_token(c->login_token) != VG_OK) {
        fail(c, VG_E_INTERNAL, "no randomness for a session token");
        return;
    }
    char hash[65], now[24];
    gw_auth_sha256_hex(c->login_token, hash);
    snprintf(now, sizeof(now), "%lld", (long long)vg_now_ms());
    char key[80];
    snprintf(key, sizeof(key), "vg:session:%s", hash);
    const char *argv[] = {"HSET", key, "user", c->user, "created_ms", now, "addr", c->addr};
    if (gw_redis_argv(c->g->redis, NULL, NULL, 8, argv, NULL) != VG_OK ||
        gw_redis_cmd(c->g->redis, NULL, NULL, "EXPIRE %s %ld", key, c->g->cfg.session_ttl) !=
            VG_OK) {
        fail(c, VG_E_UNAVAILABLE, "Redis is not reachable");
        return;
    }
    vg_info("auth", "user %s logged in from %s", c->user, c->addr);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "token", c->login_token);
        cJSON_AddStringToObject(res, "user", c->user);
        cJSON_AddStringToObject(res, "role", c->role);
        cJSON_AddNumberToObject(res, "expires_in", (double)c->g->cfg.session_ttl);
    }
    succeed(c, res);
}

static void run_login(gw_call *c)
{
    char ulimit[16], alimit[16];
    snprintf(ulimit, sizeof(ulimit), "%d", LOGIN_FAILS_USER);
    snprintf(alimit, sizeof(alimit), "%d", LOGIN_FAILS_ADDR);
    const char *argv[] = {param_str(c, "user", ""), c->addr, ulimit, alimit};
    send_or_fail(
        c, gw_redis_eval(c->g->redis, c->g->lua[GW_LUA_LOGIN], login_user_cb, c, 0, 4, argv, NULL));
}

static void logout_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    vg_info("auth", "user %s logged out", c->user);
    /* Every gateway closes the consoles this session opened. */
    gw_redis_cmd(c->g->redis, NULL, NULL, "PUBLISH vg:sessions %s", c->token_hash);
    succeed(c, cJSON_CreateObject());
}

static void run_logout(gw_call *c)
{
    send_or_fail(c, gw_redis_cmd(c->g->redis, logout_cb, c, "DEL vg:session:%s", c->token_hash));
}

static void run_whoami(gw_call *c)
{
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "user", c->user);
        cJSON_AddStringToObject(res, "role", c->role);
    }
    succeed(c, res);
}

static void run_subscribe(gw_call *c)
{
    /* The WebSocket transport registers the subscription when it sees this answer. */
    succeed(c, cJSON_CreateObject());
}

static const char *elem_str(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return "";
    const redisReply *e = r->element[i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : "";
}

static long long elem_int(const redisReply *r, size_t i)
{
    if (r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING)
        return strtoll(e->str, NULL, 10);
    return 0;
}

static void vm_list_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    cJSON *vms = res ? cJSON_AddArrayToObject(res, "vms") : NULL;
    for (size_t i = 0; vms && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *v = reply->element[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(vms, o);
        cJSON_AddStringToObject(o, "name", elem_str(v, 0));
        cJSON_AddStringToObject(o, "uuid", elem_str(v, 1));
        cJSON_AddStringToObject(o, "host", elem_str(v, 2));
        cJSON_AddStringToObject(o, "state", elem_str(v, 3));
        cJSON_AddBoolToObject(o, "host_up", elem_int(v, 4) == 1);
        cJSON *cons = cJSON_AddArrayToObject(o, "consoles");
        const redisReply *cl =
            v->type == REDIS_REPLY_ARRAY && v->elements > 5 ? v->element[5] : NULL;
        /* serial0 first: it is the console a client opens by default. */
        for (int pass = 0; cons && cl && cl->type == REDIS_REPLY_ARRAY && pass < 2; pass++)
            for (size_t k = 0; k < cl->elements; k++) {
                const char *d = elem_str(cl, k);
                if ((strcmp(d, "serial0") == 0) == (pass == 0))
                    cJSON_AddItemToArray(cons, cJSON_CreateString(d));
            }
    }
    succeed(c, res);
}

static void run_vm_list(gw_call *c)
{
    send_or_fail(
        c, gw_redis_eval(c->g->redis, c->g->lua[GW_LUA_VM_LIST], vm_list_cb, c, 0, 0, NULL, NULL));
}

static void host_list_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    cJSON *res = cJSON_CreateObject();
    cJSON *hosts = res ? cJSON_AddArrayToObject(res, "hosts") : NULL;
    for (size_t i = 0; hosts && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *h = reply->element[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(hosts, o);
        cJSON_AddStringToObject(o, "id", elem_str(h, 0));
        cJSON_AddStringToObject(o, "link", elem_str(h, 1));
        cJSON_AddStringToObject(o, "mgmt_addr", elem_str(h, 2));
        cJSON_AddBoolToObject(o, "up", elem_int(h, 6) == 1);
        cJSON_AddNumberToObject(o, "cpus", (double)elem_int(h, 3));
        cJSON_AddNumberToObject(o, "mem_mib", (double)elem_int(h, 4));
        cJSON_AddNumberToObject(o, "heartbeat_ms", (double)elem_int(h, 5));
    }
    succeed(c, res);
}

static void run_host_list(gw_call *c)
{
    send_or_fail(c, gw_redis_eval(c->g->redis, c->g->lua[GW_LUA_HOST_LIST], host_list_cb, c, 0, 0,
                                  NULL, NULL));
}

static void ticket_set_cb(gw_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    char path[128];
    snprintf(path, sizeof(path), "/ws/console?ticket=%s", c->login_token);
    cJSON *res = cJSON_CreateObject();
    if (res) {
        cJSON_AddStringToObject(res, "ticket", c->login_token);
        cJSON_AddNumberToObject(res, "expires_in", (double)c->g->cfg.ticket_ttl);
        cJSON_AddStringToObject(res, "path", path);
        cJSON_AddStringToObject(res, "vm", param_str(c, "vm", ""));
        cJSON_AddStringToObject(res, "dev", c->dev);
        cJSON_AddStringToObject(res, "mode", param_str(c, "mode", "rw"));
    }
    succeed(c, res);
}

static void ticket_consoles_cb(gw_redis *r, redisReply *reply, void *priv)
{
    gw_call *c = priv;
    if (!reply_ok(c, reply))
        return;
    const char *vm = param_str(c, "vm", "");
    if (reply->type != REDIS_REPLY_ARRAY) {
        char msg[96];
        snprintf(msg, sizeof(msg), "no VM named %s", vm);
        fail(c, VG_E_NOT_FOUND, msg);
        return;
    }
    const char *want = param_str(c, "dev", NULL);
    c->dev[0] = '\0';
    for (size_t i = 0; i < reply->elements; i++) {
        const char *d = elem_str(reply, i);
        if (want ? strcmp(d, want) == 0 : strcmp(d, "serial0") == 0)
            snprintf(c->dev, sizeof(c->dev), "%s", d);
    }
    if (!want && !c->dev[0] && reply->elements > 0)
        snprintf(c->dev, sizeof(c->dev), "%s", elem_str(reply, 0));
    if (!c->dev[0] || !vg_valid_name(c->dev)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "VM %s has no console %s", vm, want ? want : "at all");
        fail(c, VG_E_NOT_FOUND, msg);
        return;
    }
    if (gw_auth_new_token(c->login_token) != VG_OK) {
        fail(c, VG_E_INTERNAL, "no randomness for a ticket");
        return;
    }
    cJSON *t = cJSON_CreateObject();
    if (t) {
        cJSON_AddStringToObject(t, "user", c->user);
        cJSON_AddStringToObject(t, "vm", vm);
        cJSON_AddStringToObject(t, "dev", c->dev);
        cJSON_AddStringToObject(t, "mode", param_str(c, "mode", "rw"));
        /* Lets the gateways close this console when that session ends (C9). */
        cJSON_AddStringToObject(t, "session", c->token_hash);
    }
    char *json = t ? cJSON_PrintUnformatted(t) : NULL;
    cJSON_Delete(t);
    if (!json) {
        fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    char hash[65];
    gw_auth_sha256_hex(c->login_token, hash);
    long ttl = c->g->cfg.ticket_ttl;
    int rc = gw_redis_cmd(r, ticket_set_cb, c, "SET vg:ticket:%s %s EX %ld", hash, json,
                          ttl > 0 ? ttl : 1);
    free(json);
    send_or_fail(c, rc);
}

static void run_ticket(gw_call *c)
{
    const char *mode = param_str(c, "mode", "rw");
    if (strcmp(mode, "rw") == 0 && strcmp(c->role, "admin") != 0 &&
        strcmp(c->role, "operator") != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "role %s may only open read-only consoles", c->role);
        fail(c, VG_E_FORBIDDEN, msg);
        return;
    }
    const char *argv[] = {param_str(c, "vm", "")};
    send_or_fail(c, gw_redis_eval(c->g->redis, c->g->lua[GW_LUA_CONSOLES], ticket_consoles_cb, c, 0,
                                  1, argv, NULL));
}
