/* Client connections from the gateway to a hostd link (docs/protocol.md §3, §4): the console
 * relay (console.c) and the management RPC (hostrpc.c) both connect to the URL a host publishes
 * in vg:host:<id> field `link`, on the links vhost (its TLS verifies hostd against tls_ca and
 * presents the gateway's certificate), and authenticate with X-Vmgate-Link. */
#ifndef GW_LINK_H
#define GW_LINK_H

#include "gateway.h"

#include <stddef.h>

struct lws;

/* The first protocol of the links vhost: it hands every client wsi's destruction to the wsi's
 * own protocol (console links, host RPCs, volume streams). */
extern const struct lws_protocols gw_links_protocol;

/* Connects to link_url (ws:// or wss://) at path with the WebSocket subprotocol; the client
 * connection is handled by the links vhost protocol named local_protocol and carries opaque as
 * its opaque user data. *pwsi is set to the connection and cleared by lws when it goes. */
int gw_link_connect(gw *g, const char *link_url, const char *path, const char *subprotocol,
                    const char *local_protocol, void *opaque, struct lws **pwsi);
/* Adds the X-Vmgate-Link header; for LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER (in, len as
 * lws passes them). Returns 0, or -1 when the header does not fit. */
int gw_link_add_secret(gw *g, struct lws *wsi, void *in, size_t len);
/* OpenSSL's verdict on each certificate of hostd's chain (x509_ctx: its X509_STORE_CTX), for
 * LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION; 0 accepts. The leaf must also be of
 * role hostd (OU=hostd, tools/vmgate-ca), as hostd wants OU=gateway of its clients: every
 * gateway holds a certificate of the same CA, and one posing as a host would be sent the link
 * secret and the console input. */
int gw_link_verify_hostd(void *x509_ctx, int preverify_ok);

#endif
