#include "ctl_api.h"

#include "vg_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ctl_call {
    struct ctl_call *next;
    double id;
    char method[64];
    ctl_api_cb cb;
    void *ud;
} ctl_call;

struct ctl_api {
    ctl_net *net;
    ctl_ws *ws;
    char *token;
    double next_id;
    ctl_call *calls;
    int freed;       /* ctl_api_free ran while the connection was still closing */
    int dispatching; /* on_close is calling back: ctl_api_free must not free yet */
    const ctl_api_events *events;
    void *events_ud;
};

static ctl_call *take_call(ctl_api *api, double id)
{
    for (ctl_call **pp = &api->calls; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            ctl_call *c = *pp;
            *pp = c->next;
            return c;
        }
    }
    return NULL;
}

static void on_open(ctl_ws *ws, void *ud)
{
    (void)ws;
    (void)ud;
}

static void on_message(ctl_ws *ws, int binary, const unsigned char *data, size_t len, void *ud)
{
    (void)ws;
    ctl_api *api = ud;
    if (binary || api->freed)
        return;
    cJSON *root = vg_json_parse((const char *)data, len, NULL);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
    ctl_call *call = cJSON_IsNumber(id) ? take_call(api, id->valuedouble) : NULL;
    if (!call) { /* pushed events, and answers nobody waits for */
        if (api->events && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "event")))
            api->events->on_event(root, api->events_ud);
        cJSON_Delete(root);
        return;
    }
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *result = cJSON_GetObjectItemCaseSensitive(root, "result");
    vg_err err = {0};
    if (error) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(error, "code");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(error, "message");
        const char *cs = cJSON_IsString(code) ? code->valuestring : "internal";
        vg_fail(&err, vg_err_code_from_name(cs), "%.40s: %s", cs,
                cJSON_IsString(msg) ? msg->valuestring : "(no message)");
        call->cb(NULL, &err, call->ud);
    } else if (!result) {
        vg_fail(&err, VG_E_INTERNAL, "internal: the gateway's answer to %s has no result",
                call->method);
        call->cb(NULL, &err, call->ud);
    } else {
        call->cb(result, NULL, call->ud);
    }
    free(call);
    cJSON_Delete(root);
}

static void on_close(ctl_ws *ws, int code, const char *reason, void *ud)
{
    (void)ws;
    ctl_api *api = ud;
    api->ws = NULL;
    vg_err err;
    if (strstr(reason, "unauthorized") || code == 4001)
        vg_fail(&err, VG_E_UNAUTHORIZED, "unauthorized: the gateway refused the credentials (%s)",
                reason);
    else if (strstr(reason, "SSL"))
        vg_fail(&err, VG_E_UNAVAILABLE,
                "unavailable: TLS with the gateway failed; is --ca (VMGATE_CA) the CA that "
                "signed its certificate? (%s)",
                reason);
    else
        vg_fail(&err, VG_E_UNAVAILABLE, "unavailable: connection to the gateway closed (%d%s%s)",
                code, reason[0] ? ", " : "", reason);
    ctl_call *calls = api->calls;
    api->calls = NULL; /* callbacks may start new calls on a new connection */
    api->dispatching = 1;
    while (calls) {
        ctl_call *c = calls;
        calls = c->next;
        if (!api->freed)
            c->cb(NULL, &err, c->ud);
        free(c);
    }
    if (api->events && !api->freed)
        api->events->on_drop(&err, api->events_ud);
    api->events = NULL;
    api->dispatching = 0;
    if (api->freed)
        ctl_api_free(api);
}

static const ctl_ws_handler api_handler = {on_open, on_message, on_close};

ctl_api *ctl_api_new(ctl_net *net, const char *token)
{
    ctl_api *api = calloc(1, sizeof(*api));
    if (!api)
        return NULL;
    api->net = net;
    api->next_id = 1;
    if (token && ctl_api_set_token(api, token, NULL) != VG_OK) {
        free(api);
        return NULL;
    }
    return api;
}

void ctl_api_free(ctl_api *api)
{
    if (!api)
        return;
    api->freed = 1;
    if (api->ws) {
        ctl_ws_close(api->ws, 1000); /* on_close frees api */
        return;
    }
    if (api->dispatching)
        return;
    while (api->calls) {
        ctl_call *c = api->calls;
        api->calls = c->next;
        free(c);
    }
    free(api->token);
    free(api);
}

void ctl_api_watch(ctl_api *api, const ctl_api_events *h, void *ud)
{
    api->events = h;
    api->events_ud = ud;
}

const char *ctl_api_token(const ctl_api *api)
{
    return api->token;
}

int ctl_api_set_token(ctl_api *api, const char *token, vg_err *err)
{
    char *t = strdup(token);
    if (!t)
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    free(api->token);
    api->token = t;
    return VG_OK;
}

int ctl_api_call(ctl_api *api, const char *method, cJSON *params, ctl_api_cb cb, void *ud,
                 vg_err *err)
{
    if (!params)
        params = cJSON_CreateObject();
    cJSON *req = cJSON_CreateObject();
    ctl_call *call = calloc(1, sizeof(*call));
    char *text = NULL;
    if (params && req && call) {
        call->id = api->next_id++;
        snprintf(call->method, sizeof(call->method), "%s", method);
        call->cb = cb;
        call->ud = ud;
        cJSON_AddNumberToObject(req, "id", call->id);
        cJSON_AddStringToObject(req, "method", method);
        cJSON_AddItemToObject(req, "params", params);
        params = NULL;
        text = cJSON_PrintUnformatted(req);
    }
    cJSON_Delete(params);
    cJSON_Delete(req);
    if (!text) {
        free(call);
        return vg_fail(err, VG_E_INTERNAL, "out of memory");
    }
    if (!api->ws)
        api->ws =
            ctl_ws_open(api->net, "/ws/api", "vmgate.api.v1", api->token, &api_handler, api, err);
    int rc = api->ws ? ctl_ws_send(api->ws, 0, text, strlen(text), err) : VG_ERR;
    free(text);
    if (rc != VG_OK) {
        free(call);
        return VG_ERR;
    }
    call->next = api->calls;
    api->calls = call;
    return VG_OK;
}
