/* WebSocket client connections to the gateway: libwebsockets on the process's libev loop.
 *
 * One ctl_net per process holds the lws context and the gateway's address. Each ctl_ws is one
 * connection; messages sent before it is established are queued. The owner learns about the
 * end of a connection exactly once through on_close, after which the ctl_ws is freed by this
 * module and must not be used again. */
#ifndef CTL_WS_H
#define CTL_WS_H

#include "ctl_args.h"
#include "vg.h"

struct ev_loop;
struct lws;
struct lws_protocols;
struct lws_client_connect_info;
typedef struct ctl_net ctl_net;
typedef struct ctl_ws ctl_ws;

typedef struct ctl_ws_handler {
    void (*on_open)(ctl_ws *ws, void *ud);
    void (*on_message)(ctl_ws *ws, int binary, const unsigned char *data, size_t len, void *ud);
    /* code: the peer's close code, 1006 when the connection failed or dropped without one;
     * reason: the close reason or lws' connection error text (never NULL). */
    void (*on_close)(ctl_ws *ws, int code, const char *reason, void *ud);
} ctl_ws_handler;

/* extra: one more lws protocol for the context (ctl_http's), or NULL. */
ctl_net *ctl_net_new(struct ev_loop *loop, const ctl_url *url, const char *ca, int insecure,
                     const struct lws_protocols *extra, vg_err *err);
/* Number of connections whose on_close has not run yet: the program may exit at 0. */
int ctl_net_live(const ctl_net *net);
/* Another module's connection counts as live from hold(+1) to hold(-1). */
void ctl_net_hold(ctl_net *net, int delta);
/* Connects ci (its protocol fields set by the caller) to the gateway's address, TLS as the URL
 * says; path includes the URL's prefix (ctl_net_prefix). */
struct lws *ctl_net_connect(ctl_net *net, struct lws_client_connect_info *ci, const char *path);
const char *ctl_net_prefix(const ctl_net *net);
/* 0 when the URL names an IP address the gateway's certificate does not cover (OpenSSL's
 * host name check ignores IP SANs): check before any header with a token goes out. */
int ctl_net_peer_ok(const ctl_net *net, struct lws *wsi);
void ctl_net_free(ctl_net *net);

/* path_and_query is appended to the URL's prefix, e.g. "/ws/api". bearer may be NULL. */
ctl_ws *ctl_ws_open(ctl_net *net, const char *path_and_query, const char *protocol,
                    const char *bearer, const ctl_ws_handler *h, void *ud, vg_err *err);
int ctl_ws_send(ctl_ws *ws, int binary, const void *data, size_t len, vg_err *err);
/* Closes with code after the queued messages are out; on_close follows. */
void ctl_ws_close(ctl_ws *ws, int code);

#endif
