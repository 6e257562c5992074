/* A listening address (hostd's link_bind, the gateway's http_bind): an IPv4 or IPv6 address
 * literal, bound exactly. libwebsockets takes its `iface` for an interface name first and binds
 * an IPv4 address given to its IPv6 socket as the wildcard, so the daemons parse the address
 * themselves, pick the socket family for lws, and afterwards read back what the listening
 * socket really got. */
#ifndef VG_BINDADDR_H
#define VG_BINDADDR_H

#include "vg.h"

#include <stddef.h>
#include <sys/socket.h>

/* bind: "127.0.0.1", "0.0.0.0", "::1", "::", "10.1.2.3" ... never a host or interface name. */
int vg_bindaddr_parse(const char *bind, int port, struct sockaddr_storage *out, vg_err *err);
/* "127.0.0.1:7701", "[::1]:7701"; size 64 holds any. */
void vg_bindaddr_format(const struct sockaddr_storage *a, char *buf, size_t size);
/* Same family, address and port. */
int vg_bindaddr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b);
/* The listening TCP sockets of this process on port: their number (0 when none), the address
 * of the first in *out. */
int vg_bindaddr_listeners(int port, struct sockaddr_storage *out);

#endif
