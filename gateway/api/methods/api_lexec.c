/* console.exec on one VM, a list or an environment, and console.exec.cancel (C10, docs/api.md
 * "console.exec"). Each VM is authorized on its own (operator in its project), read from
 * Redis, and its hostd runs the command on the console (hostd/console/linemode.h); at most
 * `concurrency` VMs run at once. A VM that does not exist and one the caller may not see get
 * the same not_found result, word for word. Every VM's run is audited, and a progress event
 * about each VM the caller may see goes out as its result comes in.
 *
 * Runs are known by their exec_id to the gateway running them, which alone can cancel them. */
#include "api/api_json.h"
#include "api/methods/api_vm.h"

#include "core/audit.h"
#include "vg_util.h"
#include "vg_utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEXEC_VMS_MAX 256
#define LEXEC_CONCURRENCY 32
#define LEXEC_RPC_SLACK_MS 10000L

static const gw_field exec_params[] = {
    {"vm", GW_F_NAME, 0, 0, 0, NULL, "one VM, or"},
    {"vms", GW_F_NAMES, 0, 0, LEXEC_VMS_MAX, NULL, "several VMs, or"},
    {"env", GW_F_NAME, 0, 0, 0, NULL, "the VMs of an environment"},
    {"role", GW_F_NAME, 0, 0, 0, NULL, "with env: only its VMs of this role"},
    {"dev", GW_F_NAME, 0, 0, 0, NULL, "the console device (default serial0)"},
    {"command", GW_F_STRING, GW_F_REQUIRED, 1, 4096, NULL, "the command line to type"},
    {"prompt", GW_F_STRING, 0, 1, 256, NULL,
     "extended regex the last output line matches at the prompt (default \"[#$] $\")"},
    {"timeout_s", GW_F_INT, 0, 1, 3600, NULL, "seconds to wait for the prompt (default 30)"},
    {"strip_ansi", GW_F_BOOL, 0, 0, 0, NULL,
     "output without escape sequences and carriage returns (default true)"},
    {"exit_status", GW_F_BOOL, 0, 0, 0, NULL,
     "append `; echo __vg_rc=$?` to learn the exit status (POSIX shells; default false)"},
    {"take", GW_F_BOOL, 0, 0, 0, NULL, "take the write lock from another user's viewer"},
    {"concurrency", GW_F_INT, 0, 1, LEXEC_VMS_MAX, NULL, "VMs at once (default 32)"},
    {"exec_id", GW_F_NAME, 0, 0, 0, NULL,
     "a name for console.exec.cancel and the progress events (default: generated)"},
    {NULL},
};

static const gw_field cancel_params[] = {
    {"exec_id", GW_F_NAME, GW_F_REQUIRED, 0, 0, NULL, "the run to cancel"},
    {NULL},
};

static int check_exec(const cJSON *params, vg_err *err)
{
    int vm = gw_param(params, "vm") != NULL, env = gw_param(params, "env") != NULL;
    const cJSON *vms = gw_param(params, "vms");
    if (vm + env + (vms != NULL) != 1)
        return vg_fail(err, VG_E_BAD_REQUEST, "give exactly one of \"vm\", \"vms\" and \"env\"");
    if (vms && cJSON_GetArraySize(vms) == 0)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"vms\" is empty");
    if (gw_param(params, "role") && !env)
        return vg_fail(err, VG_E_BAD_REQUEST, "\"role\" goes with \"env\"");
    for (const unsigned char *p = (const unsigned char *)gw_param(params, "command")->valuestring;
         *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return vg_fail(err, VG_E_BAD_REQUEST,
                           "\"command\" must be one line without control characters");
    return VG_OK;
}

typedef struct lx_run lx_run;

typedef struct lx_item {
    lx_run *run;
    cJSON *res; /* its object in run->results */
    char vm[65];
    char project[65];
    char host[65];
    int visible;
    int running; /* hostd runs it now: a cancel goes there */
} lx_item;

struct lx_run {
    gw_call *c;
    char id[65];
    int single;
    lx_item *items;
    size_t n, next, done;
    int active, limit, pumping, cancelled;
    cJSON *results;
    lx_run *prev, *next_run;
};

static lx_run *runs; /* of this gateway, for console.exec.cancel */

static void run_free(void *p)
{
    lx_run *r = p;
    if (r->prev)
        r->prev->next_run = r->next_run;
    else if (runs == r)
        runs = r->next_run;
    if (r->next_run)
        r->next_run->prev = r->prev;
    cJSON_Delete(r->results);
    free(r->items);
    free(r);
}

static void finish(lx_run *r)
{
    gw_call *c = r->c;
    if (r->single) {
        lx_item *it = &r->items[0];
        const char *res = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->res, "result"));
        if (res && (!strcmp(res, "ok") || !strcmp(res, "timed_out") || !strcmp(res, "cancelled"))) {
            cJSON *o = cJSON_Duplicate(it->res, 1);
            cJSON_AddStringToObject(o, "exec_id", r->id);
            gw_call_succeed(c, o);
        } else {
            const char *msg =
                cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it->res, "message"));
            gw_call_fail(c, vg_err_code_from_name(res ? res : "internal"), "%s",
                         msg ? msg : "console.exec failed");
        }
        return;
    }
    int ok = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *res =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->items[i].res, "result"));
        ok += res && !strcmp(res, "ok");
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "exec_id", r->id);
    cJSON_AddNumberToObject(o, "total", (double)r->n);
    cJSON_AddNumberToObject(o, "ok", ok);
    cJSON_AddNumberToObject(o, "failed", (double)r->n - ok);
    cJSON_AddItemToObject(o, "results", cJSON_Duplicate(r->results, 1));
    gw_call_succeed(c, o);
}

static void start_item(lx_item *it);

/* Starts VMs while fewer than `limit` run; ends the call after the last. */
static void pump(lx_run *r)
{
    if (r->pumping)
        return;
    r->pumping = 1;
    while (r->next < r->n && r->active < r->limit) {
        lx_item *it = &r->items[r->next++];
        r->active++;
        start_item(it);
    }
    r->pumping = 0;
    if (r->done == r->n)
        finish(r);
}

static void item_done(lx_item *it, const char *result, const char *message)
{
    lx_run *r = it->run;
    gw_call *c = r->c;
    cJSON_AddStringToObject(it->res, "result", result);
    if (message)
        cJSON_AddStringToObject(it->res, "message", message);
    it->running = 0;
    char detail[400];
    snprintf(detail, sizeof(detail), "exec=%s dev=%s%s%.300s", r->id,
             gw_param_str(c, "dev", "serial0"), message ? ": " : "", message ? message : "");
    vg_utf8_scrub(detail);
    gw_audit_entry e = {.kind = "api",
                        .user = c->user,
                        .addr = c->addr,
                        .method = "console.exec",
                        .vm = it->vm,
                        .project = it->project,
                        .result = result,
                        .detail = detail};
    gw_audit(c->g, &e);
    r->done++;
    r->active--;
    if (it->visible) {
        cJSON *ev = cJSON_CreateObject();
        cJSON_AddStringToObject(ev, "type", "console.exec.progress");
        cJSON_AddStringToObject(ev, "exec_id", r->id);
        cJSON_AddStringToObject(ev, "user", c->user);
        cJSON_AddStringToObject(ev, "vm", it->vm);
        cJSON_AddStringToObject(ev, "project", it->project);
        cJSON_AddStringToObject(ev, "result", result);
        cJSON_AddNumberToObject(ev, "done", (double)r->done);
        cJSON_AddNumberToObject(ev, "total", (double)r->n);
        cJSON_AddNumberToObject(ev, "ts", (double)vg_now_ms());
        char *json = cJSON_PrintUnformatted(ev);
        cJSON_Delete(ev);
        if (json) {
            const char *argv[] = {"PUBLISH", "vg:events", json};
            vg_redis_argv(c->g->redis, NULL, NULL, 3, argv, NULL);
            free(json);
        }
    }
    pump(r);
}

static void rpc_cb(void *priv, const cJSON *result, const vg_err *err)
{
    lx_item *it = priv;
    if (err) {
        item_done(it, vg_err_code_name(err->code), err->msg);
        return;
    }
    for (const cJSON *f = result->child; f; f = f->next)
        cJSON_AddItemToObject(it->res, f->string, cJSON_Duplicate(f, 1));
    const char *res =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "cancelled"))   ? "cancelled"
        : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "timed_out")) ? "timed_out"
                                                                              : "ok";
    item_done(it, res, NULL);
}

static void lookup_cb(void *priv, const gw_vmlookup_found *f, const vg_err *err)
{
    lx_item *it = priv;
    lx_run *r = it->run;
    it->visible = f->visible;
    snprintf(it->project, sizeof(it->project), "%s", f->project);
    if (err) {
        item_done(it, vg_err_code_name(err->code), err->msg);
        return;
    }
    const gw_vminfo *vi = f->vi;
    char msg[200];
    const char *result = NULL;
    if (r->cancelled) {
        result = "cancelled";
        snprintf(msg, sizeof(msg), "cancelled before it started");
    } else if (!vi->host[0]) {
        result = "unavailable";
        snprintf(msg, sizeof(msg), "VM %s is defined on no host", it->vm);
    } else if (!gw_line_state_ok(vi->state)) {
        result = strcmp(vi->state, "paused") == 0 ? "unavailable" : "stopped";
        snprintf(msg, sizeof(msg), "VM %s is %s", it->vm, vi->state[0] ? vi->state : "not running");
    } else if (!vi->host_up) {
        result = "unavailable";
        snprintf(msg, sizeof(msg), "host %s of VM %s is down", vi->host, it->vm);
    }
    snprintf(it->host, sizeof(it->host), "%s", vi->host);
    if (result) {
        item_done(it, result, msg);
        return;
    }
    gw_call *c = r->c;
    cJSON *p = cJSON_Duplicate(c->req.params, 1);
    if (!p) {
        item_done(it, "internal", "out of memory");
        return;
    }
    const char *drop[] = {"vms", "env", "role", "concurrency", "exec_id"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        cJSON_DeleteItemFromObjectCaseSensitive(p, drop[i]);
    cJSON_DeleteItemFromObjectCaseSensitive(p, "vm");
    cJSON_AddStringToObject(p, "vm", it->vm);
    cJSON_AddStringToObject(p, "user", c->user);
    long timeout = (long)gw_param_int(c, "timeout_s", 30) * 1000 + LEXEC_RPC_SLACK_MS;
    it->running = 1;
    gw_hostrpc_call(c->g, it->host, "console.exec", p, timeout, rpc_cb, it);
    cJSON_Delete(p);
}

static void start_item(lx_item *it)
{
    gw_call *c = it->run->c;
    if (it->run->cancelled) {
        item_done(it, "cancelled", "cancelled before it started");
        return;
    }
    gw_vmlookup(c->g, c->token_hash, it->vm, "console.exec", GW_LEVEL_OPERATOR, lookup_cb, it);
}

/* Sets the run's VMs from names (an array of strings, or of env members {vm, role}). */
static int set_items(lx_run *r, const cJSON *names, const char *role)
{
    size_t cap = (size_t)cJSON_GetArraySize(names);
    r->items = calloc(cap ? cap : 1, sizeof(*r->items));
    if (!r->items)
        return VG_ERR;
    for (const cJSON *e = names->child; e; e = e->next) {
        const char *vm = cJSON_IsString(e)
                             ? e->valuestring
                             : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "vm"));
        const char *er = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "role"));
        if (!vm || (role && (!er || strcmp(er, role) != 0)))
            continue;
        int dup = 0;
        for (size_t i = 0; i < r->n && !dup; i++)
            dup = !strcmp(r->items[i].vm, vm);
        if (dup)
            continue;
        lx_item *it = &r->items[r->n++];
        it->run = r;
        snprintf(it->vm, sizeof(it->vm), "%s", vm);
        it->res = cJSON_CreateObject();
        if (!it->res)
            return VG_ERR;
        cJSON_AddStringToObject(it->res, "vm", vm);
        cJSON_AddItemToArray(r->results, it->res);
    }
    return VG_OK;
}

static void env_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    (void)rd;
    gw_call *c = priv;
    lx_run *r = c->state;
    if (!gw_call_lua_ok(c, reply))
        return;
    static const char *const arrays[] = {"vms", NULL};
    cJSON *env = gw_call_json(c, reply, arrays);
    if (!env)
        return;
    int rc =
        set_items(r, cJSON_GetObjectItemCaseSensitive(env, "vms"), gw_param_str(c, "role", NULL));
    cJSON_Delete(env);
    if (rc != VG_OK) {
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    pump(r);
}

static void env_authz_cb(vg_redis *rd, redisReply *reply, void *priv)
{
    (void)rd;
    gw_call *c = priv;
    if (!gw_call_reply_ok(c, reply))
        return;
    const char *env = gw_param_str(c, "env", "");
    gw_authz_subject s;
    vg_err err;
    if (gw_authz_facts(reply, env, &s) != VG_OK) {
        gw_call_fail(c, VG_E_UNAUTHORIZED, "the session ended");
        return;
    }
    if (gw_authz_check("console.exec", GW_SCOPE_ENV, GW_LEVEL_VIEWER, &s, &err) != VG_OK) {
        gw_call_fail(c, VG_E_NOT_FOUND, "no environment named %s that you may see", env);
        return;
    }
    const char *argv[] = {env, c->user, strcmp(c->role, "admin") == 0 ? "1" : "0"};
    gw_call_eval(c, "env_list", env_cb, 3, argv);
}

static void run_exec(gw_call *c)
{
    static unsigned seq;
    const char *id = gw_param_str(c, "exec_id", NULL);
    for (lx_run *o = runs; id && o; o = o->next_run)
        if (!strcmp(o->id, id)) {
            gw_call_fail(c, VG_E_CONFLICT, "exec %s is running already", id);
            return;
        }
    lx_run *r = calloc(1, sizeof(*r));
    if (!r || !(r->results = cJSON_CreateArray())) {
        free(r);
        gw_call_fail(c, VG_E_INTERNAL, "out of memory");
        return;
    }
    r->c = c;
    r->limit = (int)gw_param_int(c, "concurrency", LEXEC_CONCURRENCY);
    if (id)
        snprintf(r->id, sizeof(r->id), "%s", id);
    else
        snprintf(r->id, sizeof(r->id), "x%lld-%u", (long long)vg_now_ms(), ++seq);
    r->next_run = runs;
    if (runs)
        runs->prev = r;
    runs = r;
    c->state = r;
    c->state_free = run_free;
    const cJSON *vm = gw_param(c->req.params, "vm"), *vms = gw_param(c->req.params, "vms");
    if (vm || vms) {
        cJSON *one = vm ? cJSON_CreateArray() : NULL;
        if (one)
            cJSON_AddItemToArray(one, cJSON_CreateString(vm->valuestring));
        r->single = vm != NULL;
        int rc = (vm && !one) ? VG_ERR : set_items(r, vm ? one : vms, NULL);
        cJSON_Delete(one);
        if (rc != VG_OK) {
            gw_call_fail(c, VG_E_INTERNAL, "out of memory");
            return;
        }
        pump(r);
        return;
    }
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%ld", c->g->cfg.session_ttl);
    const char *argv[] = {c->token_hash, "env", gw_param_str(c, "env", ""), ttl};
    gw_call_eval(c, "authz", env_authz_cb, 4, argv);
}

static void cancel_cb(void *priv, const cJSON *result, const vg_err *err)
{
    (void)priv;
    (void)result;
    (void)err; /* the run's own answer tells how each VM ended */
}

static void run_cancel(gw_call *c)
{
    const char *id = gw_param_str(c, "exec_id", "");
    lx_run *r = runs;
    while (r && (strcmp(r->id, id) != 0 ||
                 (strcmp(r->c->user, c->user) != 0 && strcmp(c->role, "admin") != 0)))
        r = r->next_run;
    if (!r) {
        gw_call_fail(c, VG_E_NOT_FOUND, "no running exec %s of yours on this gateway", id);
        return;
    }
    r->cancelled = 1;
    int stopped = 0;
    for (size_t i = 0; i < r->n; i++) {
        lx_item *it = &r->items[i];
        if (!it->running)
            continue;
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "vm", it->vm);
        const char *dev = gw_param_str(r->c, "dev", NULL);
        if (dev)
            cJSON_AddStringToObject(p, "dev", dev);
        cJSON_AddStringToObject(p, "user", r->c->user);
        gw_hostrpc_call(c->g, it->host, "console.exec.cancel", p, 10000, cancel_cb, NULL);
        cJSON_Delete(p);
        stopped++;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "exec_id", id);
    cJSON_AddNumberToObject(o, "running", stopped);
    cJSON_AddNumberToObject(o, "not_started", (double)(r->n - r->next));
    gw_call_succeed(c, o);
}

const gw_method gw_api_lexec_methods[] = {
    {"console.exec", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, exec_params, check_exec, run_exec},
    {"console.exec.cancel", GW_SCOPE_ANY, GW_LEVEL_VIEWER, 0, cancel_params, NULL, run_cancel},
    {NULL, 0, 0, 0, NULL, NULL, NULL},
};
