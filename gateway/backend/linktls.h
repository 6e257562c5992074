/* TLS for a hostd link run by the gateway itself over an lws raw socket, through OpenSSL memory
 * BIOs: what lws reads goes into the session, what the session writes goes out with lws_write.
 *
 * lws 4.1 cannot start TLS on a raw client connection ("tls start fail" before the socket has
 * connected), and its WebSocket client costs a function call per received byte (linkws.h), so
 * the console link is a plain lws raw socket carrying this TLS session and linkws' framing. The
 * session checks what the links vhost checked: hostd's chain against tls_ca alone, its name (or
 * address) against the link URL's host, and its role (gw_link_verify_hostd); it presents the
 * gateway's certificate. */
#ifndef GW_LINKTLS_H
#define GW_LINKTLS_H

#include "gateway.h"

#include <stddef.h>

struct lws;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

/* The client context of every TLS link (ca, cert and key files); NULL with err on failure. */
SSL_CTX *gw_linktls_context(const char *ca, const char *cert, const char *key, vg_err *err);
/* Frees ctx and the sessions kept to resume. */
void gw_linktls_context_free(SSL_CTX *ctx);

typedef struct gw_linktls {
    SSL *ssl; /* NULL for a plain (ws://) link */
    int established;
    char peer[300]; /* host:port, whose TLS session a later link to it resumes */
} gw_linktls;

/* Handshakes of the links since the start, full and resumed (a session of the same hostd). */
typedef struct gw_linktls_stats {
    unsigned long long full, resumed;
} gw_linktls_stats;
extern gw_linktls_stats gw_linktls_handshakes;

/* Where the plaintext read goes; VG_ERR stops the reading. */
typedef int (*gw_linktls_sink)(void *user, unsigned char *data, size_t len, vg_err *err);

/* A session with host (a name or an address) to be verified, at peer (host:port): it resumes
 * the last session with that peer when there is one; ctx NULL makes a plain link. */
int gw_linktls_start(gw_linktls *t, SSL_CTX *ctx, const char *host, const char *peer, vg_err *err);
void gw_linktls_free(gw_linktls *t);
/* What lws read: handshake records, then plaintext handed to sink. Sets *established when
 * the handshake completed in this call. A plain link hands in on as it is. */
int gw_linktls_feed(gw_linktls *t, unsigned char *in, size_t len, int *established,
                    gw_linktls_sink sink, void *user, vg_err *err);
/* Encrypts data into the session's output; it leaves with gw_linktls_flush. A plain link
 * writes it at once (data then needs LWS_PRE bytes of headroom). */
int gw_linktls_write(gw_linktls *t, struct lws *wsi, unsigned char *data, size_t len);
/* 1 when encrypted output waits for the socket. */
int gw_linktls_pending(const gw_linktls *t);
/* In a writeable callback: writes waiting output while the socket takes it. Returns 1 when
 * some still waits (ask for another callback), 0 when none, -1 on error. */
int gw_linktls_flush(gw_linktls *t, struct lws *wsi);

#endif
