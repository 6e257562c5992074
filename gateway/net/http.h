/* The HTTPS side: static UI files (mounts), `GET /healthz`, `POST /api/v1/<method>`, and the
 * checks every WebSocket upgrade passes (TLS, path, subprotocol, Origin). */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gateway.h"
#include "net/content_length.h"

#include <libwebsockets.h>

#define GW_HTTP_PROTOCOL "http"

/* Origin is acceptable when it is https://<host> (host as the client sent it in Host:) or is
 * listed in allowed (comma-separated, exact match). */
int gw_http_origin_ok(const char *origin, const char *host, const char *allowed);
/* Where a request's session token came from (gw_http_token). */
#define GW_TOKEN_NONE 0
#define GW_TOKEN_BEARER 1
#define GW_TOKEN_COOKIE 2
/* The header a non-browser client or the UI may send to vouch that a cookie-authenticated POST
 * without Origin is not cross-site (any value). */
#define GW_HTTP_REQUEST_HDR "x-vmgate-request:"

/* The session token of a request: Authorization: Bearer first, then the vg_session cookie.
 * Returns GW_TOKEN_BEARER, GW_TOKEN_COOKIE or GW_TOKEN_NONE (nothing in out). */
int gw_http_token(struct lws *wsi, char *out /* GW_TOKEN_HEX + 1 */);
/* Why a POST /api/v1 call may be a cross-site forgery, or NULL when it is fine: refused are a
 * foreign Origin (unless bearer-authenticated) and a cookie without Origin or custom header.
 * origin NULL: the request had none. */
const char *gw_http_cross_site(const char *origin, const char *host, const char *allowed,
                               int token_source, int custom_header);
/* The upgrade checks shared by every protocol (LWS_CALLBACK_HTTP_CONFIRM_UPGRADE). */
int gw_http_confirm_upgrade(struct lws *wsi);

extern const struct lws_protocols gw_http_protocol;

#endif
