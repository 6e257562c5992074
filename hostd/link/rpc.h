/* The management RPC gateways call on `GET /link/api` (docs/protocol.md §4, contract §3):
 * one JSON request per text message, `{"id":n,"method":"vm.start","params":{...}}`, answered
 * by `{"id":n,"result":{...}}` or `{"id":n,"error":{"code":..,"message":..}}`. Several
 * requests may be in flight on one connection and answers come in any order.
 *
 * Transport-neutral like console viewers: endpoint.c hands complete messages to hd_rpc_conn_recv
 * and pulls queued answers with hd_rpc_conn_next when the connection is writable. A call that is
 * still running when its connection closes finishes and drops its answer. */
#ifndef RPC_H
#define RPC_H

#include "vg.h"

#include <cjson/cJSON.h>

#define RPC_MAX_MESSAGE (256 * 1024)
#define RPC_SUBPROTOCOL "vmgate.link.api.v1"

typedef struct rpc_conn rpc_conn;
typedef struct rpc_call rpc_call;

/* A method runs with the call and its params object (always an object) and eventually
 * answers exactly once, now or later from the loop. */
typedef void rpc_method_fn(rpc_call *call, const cJSON *params);
/* The methods a connection serves, ended by {NULL, NULL}. The table comes from whoever makes
 * the connection (hostd: hd_vmops_methods), so this module calls no method module itself. */
typedef struct rpc_method {
    const char *name;
    rpc_method_fn *fn;
} rpc_method;

/* wake asks the transport for a writable callback. */
rpc_conn *hd_rpc_conn_new(const rpc_method *methods, void (*wake)(void *ud), void *ud);
/* The connection closed; calls still running answer into nothing. */
void hd_rpc_conn_free(rpc_conn *rc);
/* One complete text message from the gateway. */
void hd_rpc_conn_recv(rpc_conn *rc, const char *buf, size_t len);
/* The next answer to send (caller frees), or NULL when none is queued. */
char *hd_rpc_conn_next(rpc_conn *rc, size_t *len);

/* Takes result (an object; NULL = {}) and frees the call. */
void hd_rpc_reply(rpc_call *call, cJSON *result);
/* Answers with err and frees the call. */
void hd_rpc_fail(rpc_call *call, const vg_err *err);

/* A parsed request; params is an object owned by the request (or NULL before parsing). */
typedef struct rpc_request {
    double id;
    int has_id;
    char method[48];
    cJSON *params;
} rpc_request;

/* Pure: checks the envelope. On error out->has_id tells whether the answer can carry the id. */
int hd_rpc_parse(const char *buf, size_t len, rpc_request *out, vg_err *err);
void hd_rpc_request_free(rpc_request *req);

/* Field readers for methods; each failure is bad_request naming the field ("params.vm must be
 * a VM name"). A missing optional field leaves *out at def / NULL. */
int hd_rpc_name(const cJSON *params, const char *key, int required, const char **out, vg_err *err);
int hd_rpc_string(const cJSON *params, const char *key, int required, size_t max, const char **out,
                  vg_err *err);
int hd_rpc_bool(const cJSON *params, const char *key, int def, int *out, vg_err *err);
int hd_rpc_int(const cJSON *params, const char *key, long long def, long long min, long long max,
               long long *out, vg_err *err);

#endif
