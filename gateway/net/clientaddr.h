/* The client's address as the audit trail and the logs show it: the TCP peer, or, when the peer
 * is a reverse proxy listed in trusted_proxies, the address that proxy forwarded (X-Real-IP,
 * else the last X-Forwarded-For entry, which is the one the proxy itself appended). Anyone else
 * sending those headers is ignored, so a client cannot choose the address it is logged under. */
#ifndef GW_CLIENTADDR_H
#define GW_CLIENTADDR_H

#include <stddef.h>

struct lws;

/* peer: the TCP peer; trusted: comma-separated addresses; real_ip, xff: the header values or
 * NULL. A forwarded value that is no IPv4/IPv6 address is ignored (the peer is used). */
void gw_clientaddr_pick(const char *peer, const char *trusted, const char *real_ip, const char *xff,
                        char *out, size_t n);
/* The client address of a request or WebSocket upgrade (headers still available). */
void gw_client_addr(struct lws *wsi, char *out, size_t n);

#endif
