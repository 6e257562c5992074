/* A gateway's management link and, on link v3, its console channels (docs/protocol.md §3
 * "Link v3", §4). `GET /link/api` carries the management RPC alone: every message is a request
 * (rpc.c) and the answers go back as text. `GET /link/mux` carries the same RPC as its text
 * messages and any number of channels (channel.c) as binary messages framed by common/vg_mux.c:
 * the gateway OPENs a channel by id, its messages go both ways as TEXT and BINARY, either end
 * CLOSEs it, and CREDIT meters its output. Writing takes the RPC answers first, then the
 * channels in turn, HD_MUX_TURN bytes of one before the next, so a console printing at full
 * speed delays neither another console nor a call by more than a turn.
 *
 * The mux touches no socket: endpoint.c owns the connection, hands over whole messages and
 * supplies the output (hd_channel_out), so the mux is tested without one. */
#ifndef HD_MUX_H
#define HD_MUX_H

#include "link/channel.h"
#include "link/rpc.h"

#define HD_MUX_SUBPROTOCOL "vmgate.link.v3"
/* Bytes one channel writes before the next one's turn. */
#define HD_MUX_TURN 32768

typedef struct hd_mux hd_mux;

/* A link serving methods that writes through out with conn; channels: /link/mux (else
 * /link/api: every message is an RPC request, binary ones too). */
hd_mux *hd_mux_new(const rpc_method *methods, int channels, const hd_channel_out *out, void *conn,
                   vg_err *err);
/* The connection closed: every channel is freed; calls still running answer into nothing. */
void hd_mux_free(hd_mux *m);
/* The longest message the link takes; the owner closes it with 1009 on a longer one. */
size_t hd_mux_rx_max(const hd_mux *m, int binary);
/* One whole message from the gateway. Returns 0, or the code to close the link with (1008: a
 * broken gateway). */
int hd_mux_recv(hd_mux *m, int binary, const unsigned char *in, size_t len);
/* At the connection's writable callback: writes what is due, each channel's messages built in
 * buf (cap bytes, at least a full frame, LWS_PRE + VG_MUX_HDR bytes of headroom before it).
 * Returns 0, the code to close the link with (1001 once hostd stops and every channel went),
 * or -1 when the connection broke. */
int hd_mux_write(hd_mux *m, unsigned char *buf, size_t cap);
/* hostd stops: every channel is closed with 1001, then the link with 1001. VG_ERR for a
 * /link/api link, which has none: its owner refuses it as any other connection. */
int hd_mux_shutdown(hd_mux *m);
/* Channels open, and console viewers behind them (their members). */
size_t hd_mux_channels(const hd_mux *m);
unsigned hd_mux_members(const hd_mux *m);

#endif
