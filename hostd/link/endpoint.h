/* The link endpoint gateways connect to (docs/protocol.md §3): a libwebsockets server on the
 * process's libev loop, mutual TLS (tls_cert/tls_key; the client must present a certificate of
 * role gateway signed by tls_ca: docs/security.md "Transport"), serving `GET /link/channel` (a
 * gateway's channel to a console, link v2: channel.c), `GET /link/console` (a console viewer per
 * connection, link v1), both authenticated by the X-Vmgate-Link shared secret, `GET /link/api`
 * and `GET /healthz`. */
#ifndef LINK_H
#define LINK_H

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
    const rpc_method *rpc_methods; /* what /link/api serves */
} link_config;

/* The arguments of GET /link/console, checked: vm (required), dev (default serial0), user,
 * offset (as hd_console_attach takes it; empty = ring), mode rw/ro, take 0/1. /link/channel
 * takes vm, dev and offset of them. */
typedef struct link_console_req {
    char vm[65], dev[65], user[65], offset[24];
    int rw, take;
    int rec_input; /* rec_input=1: the recording of this writer keeps its input */
} link_console_req;

/* query: the URL arguments as lws decodes them, joined by '&'. Unknown arguments are ignored. */
int hd_link_console_req_parse(const char *query, size_t len, link_console_req *out, vg_err *err);

int hd_link_start(struct ev_loop *loop, const link_config *cfg, vg_err *err);
/* Asks every viewer to close with 1001 (hostd going away). */
void hd_link_shutdown(void);
/* Number of connections still open. */
int hd_link_count(void);
/* Of them, console viewers (v1 links and channels' members) and /link/api connections (for
 * /metrics). */
void hd_link_census(int *viewers, int *api);
/* The link's lws context (NULL before hd_link_start), so the metrics listener (metrics/expo.c)
 * runs as another vhost of it on the same loop. */
struct lws_context *hd_link_context(void);
void hd_link_stop(void);

#endif
