/* The JSON API over the gateway's WebSocket /ws/api (docs/api.md): numbered requests, one
 * callback per answer. The connection is opened on the first call and reopened on the next
 * call after it dropped, authenticated by the bearer token once there is one. */
#ifndef CTL_API_H
#define CTL_API_H

#include "ctl_ws.h"
#include "vg.h"

#include <cjson/cJSON.h>

typedef struct ctl_api ctl_api;

/* result is the "result" member on success; on failure err->code holds the gateway's code and
 * err->msg reads "<code>: <message>". Both are only valid during the call. */
typedef void (*ctl_api_cb)(const cJSON *result, const vg_err *err, void *ud);

ctl_api *ctl_api_new(ctl_net *net, const char *token);
/* Fails the calls still waiting (without calling back) and closes the connection. */
void ctl_api_free(ctl_api *api);
int ctl_api_set_token(ctl_api *api, const char *token, vg_err *err);
/* The session token the calls carry (NULL before login). */
const char *ctl_api_token(const ctl_api *api);
/* Takes ownership of params (may be NULL for {}). */
int ctl_api_call(ctl_api *api, const char *method, cJSON *params, ctl_api_cb cb, void *ud,
                 vg_err *err);
/* Pushed events (events.subscribe): on_event gets each {"event", "data"} message; on_drop is
 * called once when the connection ends afterwards, unless ctl_api_free ended it. */
typedef struct ctl_api_events {
    void (*on_event)(const cJSON *msg, void *ud);
    void (*on_drop)(const vg_err *err, void *ud);
} ctl_api_events;
void ctl_api_watch(ctl_api *api, const ctl_api_events *h, void *ud);

#endif
