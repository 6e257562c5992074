/* The link endpoint gateways connect to (docs/protocol.md §3): a libwebsockets server on the
 * process's libev loop, TLS with tls_cert/tls_key, serving `GET /link/console` (a console
 * viewer per connection, authenticated by the X-Vmgate-Link shared secret) and `GET /healthz`. */
#ifndef LINK_H
#define LINK_H

#include "vg.h"

#include <ev.h>

typedef struct link_config {
    const char *bind;
    int port;
    const char *tls_cert; /* NULL: plain ws (tests only) */
    const char *tls_key;
    const char *tls_ca; /* CA for gateway client certificates, when they present one */
    const char *secret; /* shared with the gateways */
} link_config;

int link_start(struct ev_loop *loop, const link_config *cfg, vg_err *err);
/* Asks every viewer to close with 1001 (hostd going away). */
void link_shutdown(void);
/* Number of connections still open. */
int link_count(void);
void link_stop(void);

#endif
