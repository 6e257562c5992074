/* The HTTPS side: static UI files (mounts), `GET /healthz`, `POST /api/v1/<method>`, and the
 * checks every WebSocket upgrade passes (path, subprotocol, Origin). */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gateway.h"

#include <libwebsockets.h>

#define GW_HTTP_PROTOCOL "http"

/* Origin is acceptable when it is https://<host> (host as the client sent it in Host:) or is
 * listed in allowed (comma-separated, exact match). */
int gw_http_origin_ok(const char *origin, const char *host, const char *allowed);
/* The session token of a request: Authorization: Bearer first, then the vg_session cookie. */
int gw_http_token(struct lws *wsi, char *out /* GW_TOKEN_HEX + 1 */);
/* The upgrade checks shared by every protocol (LWS_CALLBACK_HTTP_CONFIRM_UPGRADE). */
int gw_http_confirm_upgrade(struct lws *wsi);

extern const struct lws_protocols gw_http_protocol;

#endif
