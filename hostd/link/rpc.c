#include "link/rpc.h"

#include "vg_json.h"
#include "vg_log.h"
#include "vg_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rpc_answer {
    char *text;
    size_t len;
    struct rpc_answer *next;
} rpc_answer;

struct rpc_conn {
    const rpc_method *methods;
    void (*wake)(void *ud);
    void *ud;
    rpc_call *calls; /* running */
    rpc_answer *head, *tail;
};

struct rpc_call {
    rpc_conn *conn; /* NULL once the connection closed */
    double id;
    int has_id;
    char method[48];
    rpc_call *prev, *next;
};

int hd_rpc_parse(const char *buf, size_t len, rpc_request *out, vg_err *err)
{
    memset(out, 0, sizeof(*out));
    if (len > RPC_MAX_MESSAGE)
        return vg_fail(err, VG_E_TOO_BIG, "message larger than %d bytes", RPC_MAX_MESSAGE);
    cJSON *o = vg_json_parse(buf, len, err);
    if (!o)
        return VG_ERR;
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return vg_fail(err, VG_E_BAD_REQUEST, "a request is one JSON object");
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(o, "method");
    cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "params");
    int rc = VG_OK;
    /* Ids are whole numbers JSON and double agree on, so the echo is exact. */
    if (!cJSON_IsNumber(id) || id->valuedouble != floor(id->valuedouble) ||
        fabs(id->valuedouble) > 9007199254740992.0) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "id must be a whole number");
        goto out;
    }
    out->id = id->valuedouble;
    out->has_id = 1;
    if (!cJSON_IsString(method) || !method->valuestring[0] ||
        strlen(method->valuestring) >= sizeof(out->method)) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "method must be a non-empty string");
        goto out;
    }
    snprintf(out->method, sizeof(out->method), "%s", method->valuestring);
    if (params && !cJSON_IsObject(params) && !cJSON_IsNull(params)) {
        rc = vg_fail(err, VG_E_BAD_REQUEST, "params must be an object");
        goto out;
    }
    if (params && cJSON_IsObject(params))
        out->params = cJSON_DetachItemViaPointer(o, params);
    else
        out->params = cJSON_CreateObject();
    if (!out->params)
        rc = vg_fail(err, VG_E_INTERNAL, "out of memory");
out:
    cJSON_Delete(o);
    return rc;
}

void hd_rpc_request_free(rpc_request *req)
{
    cJSON_Delete(req->params);
    req->params = NULL;
}

rpc_conn *hd_rpc_conn_new(const rpc_method *methods, void (*wake)(void *ud), void *ud)
{
    rpc_conn *rc = calloc(1, sizeof(*rc));
    if (rc) {
        rc->methods = methods;
        rc->wake = wake;
        rc->ud = ud;
    }
    return rc;
}

void hd_rpc_conn_free(rpc_conn *rc)
{
    if (!rc)
        return;
    for (rpc_call *c = rc->calls; c; c = c->next)
        c->conn = NULL;
    while (rc->head) {
        rpc_answer *a = rc->head;
        rc->head = a->next;
        free(a->text);
        free(a);
    }
    free(rc);
}

char *hd_rpc_conn_next(rpc_conn *rc, size_t *len)
{
    rpc_answer *a = rc->head;
    if (!a)
        return NULL;
    rc->head = a->next;
    if (!rc->head)
        rc->tail = NULL;
    char *text = a->text;
    *len = a->len;
    free(a);
    return text;
}

static void queue(rpc_conn *rc, int has_id, double id, cJSON *result, const vg_err *err)
{
    cJSON *o = cJSON_CreateObject();
    if (has_id)
        cJSON_AddNumberToObject(o, "id", id);
    else
        cJSON_AddNullToObject(o, "id");
    if (err) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", vg_err_code_name(err->code));
        cJSON_AddStringToObject(e, "message", err->msg);
        cJSON_Delete(result);
    } else {
        cJSON_AddItemToObject(o, "result", result ? result : cJSON_CreateObject());
    }
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    rpc_answer *a = text ? calloc(1, sizeof(*a)) : NULL;
    if (!a) {
        free(text);
        vg_error("rpc", "out of memory: an answer is lost");
        return;
    }
    a->text = text;
    a->len = strlen(text);
    if (rc->tail)
        rc->tail->next = a;
    else
        rc->head = a;
    rc->tail = a;
    rc->wake(rc->ud);
}

static void finish(rpc_call *c, cJSON *result, const vg_err *err)
{
    rpc_conn *rc = c->conn;
    if (err)
        vg_info("rpc", "%s failed: %s: %s", c->method, vg_err_code_name(err->code), err->msg);
    if (rc) {
        if (c->prev)
            c->prev->next = c->next;
        else
            rc->calls = c->next;
        if (c->next)
            c->next->prev = c->prev;
        queue(rc, c->has_id, c->id, result, err);
    } else {
        cJSON_Delete(result);
    }
    free(c);
}

void hd_rpc_reply(rpc_call *c, cJSON *result)
{
    finish(c, result, NULL);
}

void hd_rpc_fail(rpc_call *c, const vg_err *err)
{
    finish(c, NULL, err);
}

void hd_rpc_conn_recv(rpc_conn *rc, const char *buf, size_t len)
{
    rpc_request req;
    vg_err err;
    if (hd_rpc_parse(buf, len, &req, &err) != VG_OK) {
        queue(rc, req.has_id, req.id, NULL, &err);
        return;
    }
    rpc_method_fn *fn = NULL;
    for (const rpc_method *m = rc->methods; m->name && !fn; m++)
        if (strcmp(m->name, req.method) == 0)
            fn = m->fn;
    if (!fn) {
        vg_fail(&err, VG_E_UNKNOWN, "unknown method %s", vg_name_shown(req.method));
        queue(rc, 1, req.id, NULL, &err);
        hd_rpc_request_free(&req);
        return;
    }
    rpc_call *c = calloc(1, sizeof(*c));
    if (!c) {
        vg_fail(&err, VG_E_INTERNAL, "out of memory");
        queue(rc, 1, req.id, NULL, &err);
        hd_rpc_request_free(&req);
        return;
    }
    c->conn = rc;
    c->id = req.id;
    c->has_id = 1;
    snprintf(c->method, sizeof(c->method), "%s", req.method);
    c->next = rc->calls;
    if (rc->calls)
        rc->calls->prev = c;
    rc->calls = c;
    vg_debug("rpc", "%s", req.method);
    fn(c, req.params);
    hd_rpc_request_free(&req);
}

static const cJSON *field(const cJSON *params, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, key);
    return cJSON_IsNull(v) ? NULL : v;
}

int hd_rpc_string(const cJSON *params, const char *key, int required, size_t max, const char **out,
                  vg_err *err)
{
    const cJSON *v = field(params, key);
    *out = NULL;
    if (!v) {
        if (required)
            return vg_fail(err, VG_E_BAD_REQUEST, "params.%s is required", key);
        return VG_OK;
    }
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
        return vg_fail(err, VG_E_BAD_REQUEST, "params.%s must be a string of at most %zu bytes",
                       key, max);
    *out = v->valuestring;
    return VG_OK;
}

int hd_rpc_name(const cJSON *params, const char *key, int required, const char **out, vg_err *err)
{
    if (hd_rpc_string(params, key, required, 64, out, err) != VG_OK)
        return VG_ERR;
    if (*out && !vg_valid_name(*out))
        return vg_fail(err, VG_E_BAD_REQUEST, "params.%s must be a name of [A-Za-z0-9._-]", key);
    return VG_OK;
}

int hd_rpc_bool(const cJSON *params, const char *key, int def, int *out, vg_err *err)
{
    const cJSON *v = field(params, key);
    *out = def;
    if (!v)
        return VG_OK;
    if (!cJSON_IsBool(v))
        return vg_fail(err, VG_E_BAD_REQUEST, "params.%s must be true or false", key);
    *out = cJSON_IsTrue(v);
    return VG_OK;
}

int hd_rpc_int(const cJSON *params, const char *key, long long def, long long min, long long max,
               long long *out, vg_err *err)
{
    const cJSON *v = field(params, key);
    *out = def;
    if (!v)
        return VG_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < (double)min || v->valuedouble > (double)max)
        return vg_fail(err, VG_E_BAD_REQUEST, "params.%s must be a whole number %lld..%lld", key,
                       min, max);
    *out = (long long)v->valuedouble;
    return VG_OK;
}
