/* Calls from the gateway to one hostd's management endpoint (`GET /link/api`, docs/protocol.md
 * §4): a JSON request over the mutually authenticated link, one answer. The host's link URL comes
 * from vg:host:<id> in Redis. Each call has its own deadline; a host that cannot be reached or
 * does not answer in time ends the call with `unavailable`. */
#ifndef GW_HOSTRPC_H
#define GW_HOSTRPC_H

#include "gateway.h"

#include <cjson/cJSON.h>

typedef struct gw_hostrpc gw_hostrpc;

/* result is NULL exactly when err is set; neither is kept after the hook returns. */
typedef void gw_hostrpc_done(void *priv, const cJSON *result, const vg_err *err);

/* Sends {"id":..,"method":method,"params":params} to host (params is copied, may be NULL);
 * timeout_ms bounds the whole call. Returns a handle for gw_hostrpc_cancel, or NULL when the
 * call could not even start (done has then already run with the error). */
gw_hostrpc *gw_hostrpc_call(gw *g, const char *host, const char *method, const cJSON *params,
                            long timeout_ms, gw_hostrpc_done *done, void *priv);
/* The caller no longer wants the answer (its client went away): done will not run. */
void gw_hostrpc_cancel(gw_hostrpc *call);

struct lws_protocols;
/* The client side of /link/api, on the links vhost. */
extern const struct lws_protocols gw_hostrpc_protocol;

#endif
