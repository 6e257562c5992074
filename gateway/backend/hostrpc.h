/* Calls from the gateway to one hostd's management endpoint (`GET /link/api`, docs/protocol.md
 * §4): a JSON request over the mutually authenticated link, one answer. Each host has one
 * persistent link that carries every call to it, told apart by id, so a call costs no TLS
 * handshake; it is made at the first call and again, with backoff, when it drops (the calls
 * on it end `unavailable`). The host's link URL comes from vg:host:<id> in Redis at each call.
 * Each call has its own deadline; a host that cannot be reached or does not answer in time
 * ends the call with `unavailable`. */
#ifndef GW_HOSTRPC_H
#define GW_HOSTRPC_H

#include "gateway.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* result is NULL exactly when err is set; neither is kept after the hook returns. */
typedef void gw_hostrpc_done(void *priv, const cJSON *result, const vg_err *err);

/* Sends {"id":..,"method":method,"params":params} to host (params is copied, may be NULL);
 * timeout_ms bounds the whole call. done runs exactly once, also when the call cannot even
 * start. A call whose client went away still runs to its end, so its result is recorded. */
void gw_hostrpc_call(gw *g, const char *host, const char *method, const cJSON *params,
                     long timeout_ms, gw_hostrpc_done *done, void *priv);

/* From the process' keepalive timer: pings the links, drops silent ones. */
void gw_hostrpc_keepalive(gw *g, int64_t now_ms);

struct lws_protocols;
/* The client side of /link/api, on the links vhost. */
extern const struct lws_protocols gw_hostrpc_protocol;

#endif
