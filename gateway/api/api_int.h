/* What the API method modules (api_*.c) share with the dispatcher (api.c): the call in flight,
 * the method table entry with its parameter schema, and the helpers every method uses to read
 * parameters, talk to Redis and answer.
 *
 * The dispatcher authenticates the session, resolves the caller's role for the method's target
 * (authz.h) and refuses before a method runs; a method's run function therefore only does its
 * job. Every call ends exactly once through gw_call_succeed or gw_call_fail, which also write
 * the audit record of state-changing methods. */
#ifndef GW_API_INT_H
#define GW_API_INT_H

#include "api/api.h"
#include "api/schema.h"
#include "core/authz.h"
#include "core/kdf.h"
#include "vg_redis.h"

#include <cjson/cJSON.h>

#define GW_M_WS_ONLY 0x1 /* only on the WebSocket API (events.subscribe) */
#define GW_M_MUTATES 0x2 /* changes something: audited with its result */
#define GW_M_REAUTH 0x4  /* params.admin_password must be the caller's own password */
#define GW_M_AUDITED 0x8 /* audited although it changes nothing (reads of recordings) */

/* The field of GW_M_REAUTH methods, in their schema like any other. */
#define GW_ADMIN_PASSWORD_FIELD                                                                    \
    {                                                                                              \
        "admin_password", GW_F_STRING, GW_F_REQUIRED, 0, GW_KDF_PASSWORD_MAX, NULL,                \
            "the caller's own password (re-authentication)"                                        \
    }

typedef struct gw_method {
    const char *name;
    gw_scope scope;
    gw_level level; /* least role in the target's project (PROJECT, VM and ENV scopes) */
    unsigned flags;
    /* Every field the method takes (api/schema.h): the dispatcher checks params against it
     * after the authorization, so a client without access learns nothing from parameter
     * errors, and api.methods describes the method with it. */
    const gw_field *params;
    /* Pure, optional: what the table cannot say (one field required when another is given,
     * password strength, the inside of an object); runs once the table passed. */
    int (*check)(const cJSON *params, vg_err *err);
    void (*run)(gw_call *c);
} gw_method;

/* The method tables of the modules, each ending with a {NULL} entry. */
extern const gw_method gw_api_session_methods[];
extern const gw_method gw_api_vm_methods[];
extern const gw_method gw_api_vmlife_methods[];
extern const gw_method gw_api_snapshot_methods[];
extern const gw_method gw_api_console_methods[];
extern const gw_method gw_api_line_methods[];
extern const gw_method gw_api_lexec_methods[];
extern const gw_method gw_api_host_methods[];
extern const gw_method gw_api_user_methods[];
extern const gw_method gw_api_project_methods[];
extern const gw_method gw_api_audit_methods[];
extern const gw_method gw_api_env_methods[];
extern const gw_method gw_api_metrics_methods[];
extern const gw_method gw_api_alert_methods[];
extern const gw_method gw_api_storage_methods[];
extern const gw_method gw_api_volume_methods[];
extern const gw_method gw_api_secret_methods[];
extern const gw_method gw_api_image_methods[];
extern const gw_method gw_api_timer_methods[];
extern const gw_method gw_api_settings_methods[];
extern const gw_method gw_api_network_methods[];
extern const gw_method gw_api_secgroup_methods[];
extern const gw_method gw_api_filter_methods[];
extern const gw_method gw_api_notice_methods[];
extern const gw_method gw_api_vmkeys_methods[];
extern const gw_method gw_api_recording_methods[];
extern const gw_method gw_api_watch_methods[];

const gw_method *gw_api_find(const char *name);
/* Iterates every method of every table: pass NULL first, then the previous entry. */
const gw_method *gw_api_next(const gw_method *prev);

struct gw_call {
    gw *g;
    gw_call_owner *owner; /* NULL once the transport has gone */
    gw_call *next, *prev;
    gw_api_req req;
    int websocket;
    const gw_method *m;
    int64_t started_ms;  /* monotonic, for the latency histogram of /metrics */
    char token_hash[65]; /* sha256 of the session token ("" for login) */
    char user[65];
    char role[16];    /* the user's own role: admin, operator, viewer */
    char project[65]; /* the target's project ("" when none or unassigned) */
    char prole[16];   /* effective role in project: admin, operator, viewer or "" */
    char target[65];  /* the VM, env or project the scope names */
    char addr[64];    /* client address */
    /* Per-method state, freed with state_free when the call ends. */
    void *state;
    void (*state_free)(void *state);
    const char *reauth_field; /* see gw_call_reauth */
    void (*after_reauth)(gw_call *c);
    /* A password check reserved in the pool (kdf.h) and not queued yet: the call owns it, and
     * finish gives it back. Once queued, the pool owns it and the call waits for
     * after_check; a call whose client left meanwhile still waits, then ends unheard. */
    gw_kdf_job *kdf;
    void (*after_check)(gw_call *c, int match);
};

/* ---- answering ---- */
void gw_call_fail(gw_call *c, vg_err_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void gw_call_fail_err(gw_call *c, const vg_err *err);
/* Answers with result and frees it; NULL result answers `internal` (out of memory). */
void gw_call_succeed(gw_call *c, cJSON *result);
/* Every Redis answer passes here first: a lost connection or a Redis error ends the call
 * (returns 0). */
int gw_call_reply_ok(gw_call *c, redisReply *reply);
/* For scripts that answer {'ok', ...} or {'<stable code>', '<message>'}: a refusal ends the
 * call with that code and message (returns 0), like gw_call_reply_ok does for Redis errors. */
int gw_call_lua_ok(gw_call *c, redisReply *reply);
/* A Redis callback for scripts answering {'ok'}: the call ends with {} (or the script's refusal).
 */
void gw_call_lua_empty_cb(vg_redis *r, redisReply *reply, void *priv);
/* Checks params.<field> (a static string) against the caller's own password hash, then runs
 * then(c); a wrong password ends the call with `forbidden`, a missing one with `bad_request`.
 * For GW_M_REAUTH methods the dispatcher does this with admin_password itself; user.edit
 * (only sometimes sensitive) and user.password (old_password) call it. */
void gw_call_reauth(gw_call *c, const char *field, void (*then)(gw_call *c));
/* Reserves a password check for this call (c->kdf), to be queued later with
 * gw_call_check_password; returns 0 when the pool is full. */
int gw_call_reserve_check(gw_call *c);
/* Checks password against the argon2id hash encoded off the event loop, with the check
 * reserved before, then runs then(c, match) on the loop. A pool stopped meanwhile ends the
 * call with `unavailable`. */
void gw_call_check_password(gw_call *c, const char *encoded, const char *password,
                            void (*then)(gw_call *c, int match));
/* Ends the call with `unavailable` when a command could not be sent (rc != VG_OK). */
void gw_call_sent(gw_call *c, int rc);
/* Runs a gateway Lua script (redis-scripts/gateway_<name>.lua) for this call. */
void gw_call_eval(gw_call *c, const char *script, vg_redis_cb *cb, int argc, const char **argv);
/* 1 when the caller's effective role in the target's project is at least level. */
int gw_call_level_at_least(const gw_call *c, gw_level level);

/* ---- parameters (the getters assume the method's schema passed) ---- */
const cJSON *gw_param(const cJSON *params, const char *name);
const char *gw_param_str(const gw_call *c, const char *name, const char *def);
long long gw_param_int(const gw_call *c, const char *name, long long def);
int gw_param_bool(const gw_call *c, const char *name, int def);

/* ---- Redis replies ---- */
const char *gw_reply_str(const redisReply *r, size_t i);
long long gw_reply_int(const redisReply *r, size_t i);
/* The facts in a gateway_authz.lua answer about target, for gw_authz_check; the strings point
 * into reply. VG_ERR for {} (no session, or its user is gone) and anything malformed. */
int gw_authz_facts(const redisReply *reply, const char *target, gw_authz_subject *s);

#endif
