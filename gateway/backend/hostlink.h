/* Client connections from the gateway to a hostd link (docs/protocol.md §3, §4, §4.1): the
 * console relay (console/uplink.c), the management RPC (hostrpc.c) and the volume streams
 * (net/xfer.c) connect to the URL a host publishes in vg:host:<id> field `link`, as raw
 * connections of the links vhost carrying the gateway's own TLS and WebSocket client
 * (linktls.c, linkws.c: it verifies hostd against tls_ca, presents the gateway's certificate
 * and authenticates with X-Vmgate-Link). */
#ifndef GW_LINK_H
#define GW_LINK_H

#include "gateway.h"

#include <stddef.h>

struct lws;

/* The first protocol of the links vhost: it hands every client wsi's destruction to the wsi's
 * own protocol (console links, host RPCs, volume streams). */
extern const struct lws_protocols gw_links_protocol;

/* OpenSSL's verdict on each certificate of hostd's chain (x509_ctx: its X509_STORE_CTX), for
 * linktls.c's verification callback; 0 accepts. The leaf must also be of
 * role hostd (OU=hostd, tools/vmgate-ca), as hostd wants OU=gateway of its clients: every
 * gateway holds a certificate of the same CA, and one posing as a host would be sent the link
 * secret and the console input. */
int gw_link_verify_hostd(void *x509_ctx, int preverify_ok);

#endif
