/* The link endpoint gateways connect to (docs/protocol.md §3): a libwebsockets server on the
 * process's libev loop, mutual TLS (tls_cert/tls_key; the client must present a certificate of
 * role gateway signed by tls_ca: docs/security.md "Transport"), serving `GET /link/mux` (a
 * gateway's one link carrying its calls and all its channels, link v3: mux.c), `GET
 * /link/channel` (a gateway's channel to a console, link v2: channel.c), `GET /link/console` (a
 * console viewer per connection, link v1), `GET /link/api` (the calls alone: mux.c), all
 * authenticated by the X-Vmgate-Link shared secret, and `GET /healthz`. */
#ifndef LINK_H
#define LINK_H

#include "link/request.h"
#include "link/rpc.h"
#include "vg.h"

#include <ev.h>

typedef struct link_config {
    const char *bind;
    int port;
    const char *tls_cert; /* all three required unless insecure */
    const char *tls_key;
    const char *tls_ca;            /* CA that signs the gateways' client certificates */
    const char *secret;            /* shared with the gateways */
    int insecure;                  /* link_insecure = 1: plain ws without TLS, for tests only */
    const rpc_method *rpc_methods; /* what /link/api and /link/mux serve */
} link_config;

int hd_link_start(struct ev_loop *loop, const link_config *cfg, vg_err *err);
/* Asks every viewer to close with 1001 (hostd going away). */
void hd_link_shutdown(void);
/* Number of connections still open. */
int hd_link_count(void);
/* Of them, console viewers (v1 links and channels' members) and management connections
 * (/link/api and /link/mux) (for /metrics). */
void hd_link_census(int *viewers, int *api);
/* The link's lws context (NULL before hd_link_start), so the metrics listener (metrics/expo.c)
 * runs as another vhost of it on the same loop. */
struct lws_context *hd_link_context(void);
void hd_link_stop(void);

#endif
