#include "api/api_int.h"

#include "core/audit.h"
#include "core/auth.h"
#include "core/apistats.h"
#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"
#include "vg_utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    cJSON *root = vg_json_parse(buf, len, err);
    if (!root)
        return VG_ERR;
    if (!cJSON_IsObject(root)) {
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
    cJSON *params = ws == len ? cJSON_CreateObject() : vg_json_parse(body, len, err);
    if (!params)
        return ws == len ? vg_fail(err, VG_E_INTERNAL, "out of memory") : VG_ERR;
    if (!cJSON_IsObject(params)) {
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

/* ---- the method tables ---- */

static const gw_method *const tables[] = {
    gw_api_session_methods, gw_api_vm_methods,       gw_api_console_methods,
    gw_api_vmlife_methods,  gw_api_snapshot_methods, gw_api_host_methods,
    gw_api_user_methods,    gw_api_project_methods,  gw_api_audit_methods,
    gw_api_env_methods,     gw_api_metrics_methods,  gw_api_alert_methods,
    gw_api_storage_methods, gw_api_secret_methods,   gw_api_volume_methods,
    gw_api_image_methods,   gw_api_timer_methods,    gw_api_settings_methods,
    gw_api_network_methods, gw_api_secgroup_methods, gw_api_filter_methods,
    gw_api_notice_methods,  gw_api_vmkeys_methods,   gw_api_recording_methods,
    gw_api_watch_methods,   gw_api_line_methods,     gw_api_lexec_methods,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

const gw_method *gw_api_next(const gw_method *prev)
{
    size_t t = 0;
    const gw_method *m = tables[0];
    if (prev) {
        for (t = 0; t < NTABLES; t++) {
            const gw_method *e = tables[t];
            while (e->name && e != prev)
                e++;
            if (e == prev)
                break;
        }
        if (t == NTABLES)
            return NULL;
        m = prev + 1;
    }
    while (!m->name) {
        if (++t >= NTABLES)
            return NULL;
        m = tables[t];
    }
    return m;
}

/* The method's place in gw_api_next's order, + 1 (core/apistats.h); 0 for none. */
static size_t method_index(const gw_method *m)
{
    size_t i = 1;
    for (const gw_method *e = gw_api_next(NULL); m && e; e = gw_api_next(e), i++)
        if (e == m)
            return i;
    return 0;
}

const gw_method *gw_api_find(const char *name)
{
    for (size_t t = 0; t < NTABLES; t++)
        for (const gw_method *m = tables[t]; m->name; m++)
            if (strcmp(m->name, name) == 0)
                return m;
    return NULL;
}

int gw_api_check(const gw_api_req *req, int websocket, vg_err *err)
{
    const gw_method *m = gw_api_find(req->method);
    if (!m)
        return vg_fail(err, VG_E_UNKNOWN, "unknown method \"%s\"", vg_name_shown(req->method));
    if ((m->flags & GW_M_WS_ONLY) && !websocket)
        return vg_fail(err, VG_E_BAD_REQUEST, "%s is only available on the WebSocket API", m->name);
    if (gw_schema_check(m->params, req->params, err) != VG_OK)
        return VG_ERR;
    return m->check ? m->check(req->params, err) : VG_OK;
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
    case VG_E_QUOTA:
        return 403;
    case VG_E_NOT_FOUND:
        return 404;
    case VG_E_CONFLICT:
        return 409;
    case VG_E_TOO_BIG:
        return 413;
    case VG_E_RATE_LIMITED:
        return 429;
    case VG_E_UNSUPPORTED:
        return 501;
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
    while (owner->streams) {
        gw_call_stream *s = owner->streams;
        owner->streams = s->next;
        s->next = NULL;
        s->stop(s);
    }
}

void gw_call_stream_add(gw_call_owner *owner, gw_call_stream *s)
{
    s->next = owner->streams;
    owner->streams = s;
}

void gw_call_stream_remove(gw_call_owner *owner, gw_call_stream *s)
{
    for (gw_call_stream **pp = &owner->streams; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            s->next = NULL;
            return;
        }
}

static void audit_call(gw_call *c, const vg_err *err)
{
    const cJSON *vm = cJSON_GetObjectItemCaseSensitive(c->req.params, "vm");
    if (!vm) /* vm.create names its VM inside the spec */
        vm = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(c->req.params, "spec"), "name");
    /* The record names what the call was about (the user frozen, the project created), not
     * only who made it. */
    static const char *const targets[] = {"name", "user", "env", "host", "id"};
    char detail[400] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->req.params, targets[i]);
        if (cJSON_IsString(v))
            n += (size_t)snprintf(detail + n, sizeof(detail) - n, "%s%s=%.64s", n ? " " : "",
                                  targets[i], v->valuestring);
    }
    /* 5 targets of at most 70 characters each always fit. */
    if (err)
        snprintf(detail + n, sizeof(detail) - n, "%s%s", n ? ": " : "", err->msg);
    vg_utf8_scrub(detail); /* a %.64s can cut inside a character; audit.list prints JSON */
    gw_audit_entry e = {
        .kind = "api",
        .user = c->user,
        .addr = c->addr,
        .method = c->req.method,
        .vm = cJSON_IsString(vm) ? vm->valuestring : NULL,
        .project = c->project,
        .result = err ? vg_err_code_name(err->code) : "ok",
        .detail = detail,
    };
    gw_audit(c->g, &e);
}

static void finish(gw_call *c, const cJSON *result, const vg_err *err)
{
    if (c->m && (c->m->flags & (GW_M_MUTATES | GW_M_AUDITED)))
        audit_call(c, err);
    gw_apistats_record(method_index(c->m), err ? err->code : VG_E_NONE,
                       (double)(vg_mono_ms() - c->started_ms) / 1000.0);
    gw_call_owner *o = c->owner;
    if (o && c->user[0])
        snprintf(o->user, sizeof(o->user), "%s", c->user);
    unlink_call(c);
    if (o)
        o->done(o->priv, c->req.method, c->req.id, result, err);
    if (c->state_free)
        c->state_free(c->state);
    gw_kdf_release(c->kdf);
    gw_api_req_free(&c->req);
    free(c);
}

void gw_call_fail_err(gw_call *c, const vg_err *err)
{
    finish(c, NULL, err);
}

void gw_call_fail(gw_call *c, vg_err_code code, const char *fmt, ...)
{
    vg_err err;
    va_list ap;
    va_start(ap, fmt);
    vg_failv(&err, code, fmt, ap);
    va_end(ap);
    finish(c, NULL, &err);
}

void gw_call_succeed(gw_call *c, cJSON *result)
{
    if (!result) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    finish(c, result, NULL);
    cJSON_Delete(result);
}

int gw_call_reply_ok(gw_call *c, redisReply *reply)
{
    if (!reply) {
        gw_call_fail(c, VG_E_UNAVAILABLE, "Redis connection lost");
        return 0;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        vg_error("api", "%s: Redis error: %s", c->req.method, reply->str);
        gw_call_fail(c, VG_E_INTERNAL, "Redis refused the request");
        return 0;
    }
    return 1;
}

int gw_call_lua_ok(gw_call *c, redisReply *reply)
{
    if (!gw_call_reply_ok(c, reply))
        return 0;
    const char *status = gw_reply_str(reply, 0);
    if (!strcmp(status, "ok"))
        return 1;
    vg_err_code code = vg_err_code_from_name(status);
    if (code != VG_E_INTERNAL || !strcmp(status, "internal")) {
        gw_call_fail(c, code, "%s", gw_reply_str(reply, 1));
        return 0;
    }
    vg_error("api", "%s: unexpected script answer \"%.32s\"", c->req.method, status);
    gw_call_fail(c, VG_E_INTERNAL, "unexpected answer from Redis");
    return 0;
}

int gw_call_reserve_check(gw_call *c)
{
    if (!c->kdf)
        c->kdf = gw_kdf_reserve(c->g->kdf);
    return c->kdf != NULL;
}

static void password_checked(int match, void *priv)
{
    gw_call *c = priv;
    if (match < 0) {
        gw_call_fail(c, VG_E_UNAVAILABLE, "the gateway is stopping");
        return;
    }
    c->after_check(c, match);
}

void gw_call_check_password(gw_call *c, const char *encoded, const char *password,
                            void (*then)(gw_call *c, int match))
{
    gw_kdf_job *j = c->kdf;
    c->kdf = NULL;
    c->after_check = then;
    gw_kdf_verify(j, encoded, password, password_checked, c);
}

void gw_call_sent(gw_call *c, int rc)
{
    if (rc != VG_OK)
        gw_call_fail(c, VG_E_UNAVAILABLE, "Redis is not reachable");
}

void gw_call_eval(gw_call *c, const char *script, vg_redis_cb *cb, int argc, const char **argv)
{
    gw_call_sent(c, vg_redis_eval(c->g->redis, gw_lua(c->g, script), cb, c, 0, argc, argv, NULL));
}

int gw_call_level_at_least(const gw_call *c, gw_level level)
{
    return gw_level_of(c->prole) >= (int)level;
}

/* ---- parameters ---- */

const cJSON *gw_param(const cJSON *params, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(params, name);
}

const char *gw_param_str(const gw_call *c, const char *name, const char *def)
{
    const cJSON *v = gw_param(c->req.params, name);
    return cJSON_IsString(v) ? v->valuestring : def;
}

long long gw_param_int(const gw_call *c, const char *name, long long def)
{
    const cJSON *v = gw_param(c->req.params, name);
    return cJSON_IsNumber(v) ? (long long)v->valuedouble : def;
}

int gw_param_bool(const gw_call *c, const char *name, int def)
{
    const cJSON *v = gw_param(c->req.params, name);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

const char *gw_reply_str(const redisReply *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return "";
    const redisReply *e = r->element[i];
    return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS ? e->str : "";
}

long long gw_reply_int(const redisReply *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER)
        return e->integer;
    if (e->type == REDIS_REPLY_STRING)
        return strtoll(e->str, NULL, 10);
    return 0;
}

/* ---- dispatch: session, authorization, parameters, run ---- */

static const char *target_param(gw_scope scope)
{
    switch (scope) {
    case GW_SCOPE_PROJECT:
        return "project";
    case GW_SCOPE_VM:
        return "vm";
    case GW_SCOPE_ENV:
        return "env";
    default:
        return NULL;
    }
}

static void checked_run(gw_call *c)
{
    vg_err err;
    if (gw_api_check(&c->req, c->websocket, &err) != VG_OK) {
        finish(c, NULL, &err);
        return;
    }
    c->m->run(c);
}

static void reauth_checked(gw_call *c, int match)
{
    if (!match) {
        vg_warn("auth", "%s by %s from %s refused: wrong %s", c->req.method, c->user, c->addr,
                c->reauth_field);
        gw_call_fail(c, VG_E_FORBIDDEN, "\"%s\" is not your current password", c->reauth_field);
        return;
    }
    c->after_reauth(c);
}

static void reauth_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    gw_call_check_password(c, reply->type == REDIS_REPLY_STRING ? reply->str : "",
                           gw_param_str(c, c->reauth_field, ""), reauth_checked);
}

void gw_call_reauth(gw_call *c, const char *field, void (*then)(gw_call *c))
{
    /* The method's schema made the field a required string, or its check did. */
    if (!cJSON_IsString(gw_param(c->req.params, field))) {
        gw_call_fail(c, VG_E_BAD_REQUEST, "\"%s\" is required", field);
        return;
    }
    if (!gw_call_reserve_check(c)) {
        gw_call_fail(c, VG_E_UNAVAILABLE, GW_KDF_BUSY);
        return;
    }
    c->reauth_field = field;
    c->after_reauth = then;
    gw_call_sent(c, vg_redis_cmd(c->g->redis, reauth_cb, c, "HGET vg:user:%s pwhash", c->user));
}

void gw_call_lua_empty_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (gw_call_lua_ok(c, reply))
        gw_call_succeed(c, cJSON_CreateObject());
}

int gw_authz_facts(const redisReply *reply, const char *target, gw_authz_subject *s)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 7)
        return VG_ERR;
    *s = (gw_authz_subject){
        .user = gw_reply_str(reply, 0),
        .role = gw_reply_str(reply, 1),
        .frozen = strcmp(gw_reply_str(reply, 2), "1") == 0,
        .target_exists = gw_reply_int(reply, 3) == 1,
        .target = target,
        .project = gw_reply_str(reply, 4),
        .member = gw_reply_str(reply, 5),
        .project_active = strcmp(gw_reply_str(reply, 6), "0") != 0,
    };
    return VG_OK;
}

static void authz_cb(vg_redis *r, redisReply *reply, void *priv)
{
    (void)r;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    gw_authz_subject s;
    if (gw_authz_facts(reply, c->target, &s) != VG_OK) {
        gw_call_fail(c, VG_E_UNAUTHORIZED, "no valid session: log in first");
        return;
    }
    snprintf(c->user, sizeof(c->user), "%s", s.user);
    snprintf(c->role, sizeof(c->role), "%s", s.role);
    snprintf(c->project, sizeof(c->project), "%s", s.project);
    if (!c->m) {
        gw_call_fail(c, VG_E_UNKNOWN, "unknown method \"%s\"", vg_name_shown(c->req.method));
        return;
    }
    snprintf(c->prole, sizeof(c->prole), "%s", gw_authz_effective(s.role, s.member));
    vg_err err;
    const char *tp = target_param(c->m->scope);
    const gw_field target = {tp, GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, NULL};
    if (tp && gw_schema_check_field(&target, c->req.params, &err) != VG_OK) {
        finish(c, NULL, &err);
        return;
    }
    if (gw_authz_check(c->m->name, c->m->scope, c->m->level, &s, &err) != VG_OK) {
        finish(c, NULL, &err);
        return;
    }
    if (gw_api_check(&c->req, c->websocket, &err) != VG_OK) {
        finish(c, NULL, &err);
        return;
    }
    if (c->m->flags & GW_M_REAUTH) {
        gw_call_reauth(c, "admin_password", c->m->run);
        return;
    }
    c->m->run(c);
}

void gw_api_start(gw *g, gw_call_owner *owner, gw_api_req *req, const char *token, const char *addr,
                  int websocket)
{
    vg_err err;
    /* An unknown method (m NULL) still passes the session check: without a session a client
     * learns nothing but "log in", not even which methods exist (authz_cb answers unknown). */
    const gw_method *m = gw_api_find(req->method);
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
    c->started_ms = vg_mono_ms();
    c->websocket = websocket;
    snprintf(c->addr, sizeof(c->addr), "%s", addr ? addr : "");
    c->owner = owner;
    c->next = owner->calls;
    if (c->next)
        c->next->prev = c;
    owner->calls = c;

    if (m && m->scope == GW_SCOPE_PUBLIC) {
        checked_run(c);
        return;
    }
    /* Without a session a client learns nothing but "log in": parameters are checked after
     * the session and the authorization. */
    if (!token) {
        gw_call_fail(c, VG_E_UNAUTHORIZED, "no session: log in first");
        return;
    }
    gw_auth_sha256_hex(token, c->token_hash);
    gw_scope scope = m ? m->scope : GW_SCOPE_SELF;
    const char *tp = target_param(scope);
    const cJSON *t = tp ? gw_param(c->req.params, tp) : NULL;
    snprintf(c->target, sizeof(c->target), "%s",
             cJSON_IsString(t) && vg_valid_name(t->valuestring) ? t->valuestring : "");
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%ld", g->cfg.session_ttl);
    const char *argv[] = {c->token_hash, gw_scope_name(scope), c->target, ttl};
    gw_call_eval(c, "authz", authz_cb, 4, argv);
}
