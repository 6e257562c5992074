/* Volume uploads and downloads over HTTP (docs/api.md "Volumes"): `POST
 * /api/v1/volume.upload?pool=…&volume=…[&offset=…]` with the bytes as the body, `GET
 * /api/v1/volume.download?pool=…&volume=…[&offset=…]` answered with the bytes. The call is
 * authorised like any other (the dispatcher, with the query as params); the method then has
 * this module stream between the HTTP connection and hostd's `/link/volume` (docs/protocol.md
 * §4.1). At most a bounded queue (GW_XFER_QUEUE_MAX) is held: the side that is ahead is paused
 * with lws' flow control until the other has caught up. */
#ifndef GW_XFER_H
#define GW_XFER_H

#include "api/api_int.h"

#include <cjson/cJSON.h>

#define GW_XFER_QUEUE_MAX (2 * 1024 * 1024)
#define GW_XFER_LOCAL "vg-xfer"

typedef struct gw_xfer gw_xfer;
struct lws;

/* ---- for http.c ---- */
/* 1 for a request of an API method that streams, with its parameters in the query (its body
 * is the data, not JSON); without a query it is an ordinary call, which the method refuses. */
int gw_xfer_wanted(struct lws *wsi, const char *method);
/* 1 for the methods that answer with a stream (called with GET): volume.download,
 * recording.download. */
int gw_xfer_download(const char *method);
/* Starts the call of method (params from the URL's query); the body is held until hostd is
 * ready. NULL with err when the request cannot be one (no Content-Length on an upload, a bad
 * query); the caller answers err. */
gw_xfer *gw_xfer_http_start(struct lws *wsi, const char *method, const char *token,
                            const char *addr, vg_err *err);
void gw_xfer_http_body(gw_xfer *x, const void *in, size_t len);
/* -1: close the connection (the answer went out already). */
int gw_xfer_http_body_done(gw_xfer *x);
/* -1: close the connection. */
int gw_xfer_http_writable(gw_xfer *x);
void gw_xfer_http_closed(gw_xfer *x);

/* ---- for the methods (api_volume.c) ---- */
/* The transfer the call came with, or NULL when it came as JSON (the WebSocket API, a POST
 * without the query). */
gw_xfer *gw_xfer_of_call(const gw_call *c);
/* The upload body's length (Content-Length); 0 for a download. */
long long gw_xfer_length(const gw_xfer *x);
typedef void gw_xfer_progress(void *priv, long long bytes);
typedef void gw_xfer_end(void *priv, long long bytes, const vg_err *err);
/* Streams with host's /link/volume; header is the first message (docs/protocol.md §4.1).
 * progress runs about once a second, end exactly once (err NULL: hostd confirmed the whole
 * transfer). */
void gw_xfer_run(gw_xfer *x, const char *host, const cJSON *header, gw_xfer_progress *progress,
                 gw_xfer_end *end, void *priv);

/* From the process' keepalive timer: pings the volume streams' links, drops silent ones. */
void gw_xfer_keepalive(gw *g, int64_t now_ms);

extern const struct lws_protocols gw_xfer_protocol;

#endif
