/* The JSON API method table shared by `POST /api/v1/<method>` and the `/ws/api` WebSocket.
 *
 * Parsing and parameter checks are pure (the fuzz target drives them). Running a method is
 * asynchronous: it talks to Redis and answers through the owner's done hook. The transport
 * that asked may close first; it then detaches and the call finishes silently. */
#ifndef GW_API_H
#define GW_API_H

#include "gateway.h"

#include <cjson/cJSON.h>

#define GW_API_MAX_BODY 65536

typedef struct gw_api_req {
    cJSON *root;         /* owned: the whole request */
    const cJSON *id;     /* number or string, NULL when absent */
    const char *method;  /* points into root */
    const cJSON *params; /* an object inside root */
} gw_api_req;

/* `{"id":..,"method":"..","params":{..}}` from a WebSocket text message. */
int gw_api_parse_ws(const char *buf, size_t len, gw_api_req *out, vg_err *err);
/* The params object of `POST /api/v1/<method>`; an empty body means {}. */
int gw_api_parse_http(const char *method, const char *body, size_t len, gw_api_req *out,
                      vg_err *err);
/* Method known and params of the documented types. */
int gw_api_check(const gw_api_req *req, int websocket, vg_err *err);
void gw_api_req_free(gw_api_req *req);

typedef struct gw_call gw_call;

/* result is NULL exactly when err is set. Neither is kept after the hook returns. */
typedef void gw_call_done(void *priv, const char *method, const cJSON *id, const cJSON *result,
                          const vg_err *err);

/* Something a method left running for its connection after answering (console.watch): it is
 * stopped, with no message, when the connection closes. */
typedef struct gw_call_stream gw_call_stream;
struct gw_call_stream {
    gw_call_stream *next;
    void (*stop)(gw_call_stream *s);
};

/* What a transport embeds to receive answers; calls in flight are linked here. */
typedef struct gw_call_owner {
    gw_call *calls;
    gw_call_done *done;
    void *priv;
    char user[65]; /* who the last authenticated call was from, so the user's access can end */
    /* WebSocket only (NULL over HTTP): queues {"event":event,"data":data} for the client
     * (data taken), and how many bytes wait unsent to it. */
    void (*push)(void *priv, const char *event, cJSON *data);
    size_t (*backlog)(void *priv);
    gw_call_stream *streams;
} gw_call_owner;

/* Takes req over (also on failure). token may be NULL; addr is the peer, for the session. */
void gw_api_start(gw *g, gw_call_owner *owner, gw_api_req *req, const char *token, const char *addr,
                  int websocket);
/* The transport is closing: its calls finish without answering, its streams stop. */
void gw_call_owner_detach(gw_call_owner *owner);
/* Links s to owner / unlinks it (the stream's own stop calls the latter). */
void gw_call_stream_add(gw_call_owner *owner, gw_call_stream *s);
void gw_call_stream_remove(gw_call_owner *owner, gw_call_stream *s);

/* The JSON text of a response: {"id":..,"result":..} or {"id":..,"error":{code,message}};
 * with_id = 0 leaves id out (HTTP). Caller frees. */
char *gw_api_response(const cJSON *id, int with_id, const cJSON *result, const vg_err *err);
/* HTTP status for an error code. */
int gw_api_http_status(vg_err_code code);

#endif
