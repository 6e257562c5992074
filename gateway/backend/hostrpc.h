/* Calls from the gateway to one hostd's management RPC (docs/protocol.md §3 "Link v3" and
 * §4): a JSON request over the mutually authenticated link, one answer. The calls to a host
 * go over the gateway's one link to it (hostmux.h), told apart by id, so a call costs no TLS
 * handshake; the calls waiting on a link that drops end `unavailable`. The host's link URL
 * comes from vg:host:<id> in Redis at each call.
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

#endif
