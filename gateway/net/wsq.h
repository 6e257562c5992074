/* A FIFO of outgoing WebSocket messages, each stored with headroom for what goes in front of it
 * (lws_write's LWS_PRE; on a hostd link the frame header and the channel's header, hostmux.h),
 * and a byte count so callers can bound it. */
#ifndef GW_WSQ_H
#define GW_WSQ_H

#include "vg.h"

struct lws;

/* The bytes before each message a writer may use: at least LWS_PRE (16) and a link's frame
 * header and channel header (14 + 5). */
#define GW_WSQ_PRE 32

typedef struct gw_wsq_msg gw_wsq_msg;

typedef struct gw_wsq {
    gw_wsq_msg *head, *tail;
    size_t bytes;
    size_t count;
} gw_wsq;

int gw_wsq_push(gw_wsq *q, const void *data, size_t len, int binary);
/* As gw_wsq_push, marking the message with a number of the caller's (a stream offset). */
int gw_wsq_push_at(gw_wsq *q, const void *data, size_t len, int binary, uint64_t at);
/* The mark of the first message (0 for one pushed without); q must not be empty. */
uint64_t gw_wsq_head_at(const gw_wsq *q);
/* The first message, or NULL when empty. A writer may frame it in place: its bytes and the
 * GW_WSQ_PRE bytes before them may be rewritten until it is popped. */
unsigned char *gw_wsq_head(gw_wsq *q, size_t *len, int *binary);
void gw_wsq_pop(gw_wsq *q);
void gw_wsq_clear(gw_wsq *q);
/* Writes the first message to wsi and drops it; returns the lws_write result. */
int gw_wsq_write(gw_wsq *q, struct lws *wsi);

/* The receive buffer of a browser WebSocket (a protocol's rx_buffer_size): lws allocates it for
 * each connection's whole life, and a message larger than it arrives in pieces of this size that
 * gw_wsbuf puts back together up to the message limit. Small, so an idle connection does not hold
 * a mostly unused 64 KiB (docs/performance.md "Memory per idle viewer"). */
#define GW_WS_RX_PIECE 1024
/* What lws hands the socket of a browser WebSocket in one send (tx_packet_size): left 0 it
 * would be GW_WS_RX_PIECE, and a 16 KiB console frame would leave in 1 KiB pieces, one more at
 * each turn of the loop. */
#define GW_WS_TX_CHUNK (256 * 1024)

/* Reassembles a WebSocket message from the fragments lws delivers, up to a limit. */
typedef struct gw_wsbuf {
    unsigned char *data;
    size_t len, cap, limit;
    int overflow;   /* the current message grew past limit; its rest is being discarded */
    size_t skipped; /* bytes of that message discarded so far */
    /* The whole message once gw_wsbuf_add returned 1: the caller's own input when it came in
     * one piece (no copy on the console data path), else data/len. */
    const unsigned char *msg;
    size_t msg_len;
} gw_wsbuf;

/* Adds one fragment. Returns 1 when a whole message is in msg/msg_len (consume it before the
 * input buffer is reused, then call gw_wsbuf_reset), 0 when more is needed, VG_ERR when the message
 * is larger than limit (the caller answers too_big; fragments of that message keep being discarded
 * until its end). */
int gw_wsbuf_add(gw_wsbuf *b, const void *in, size_t len, int first, int final);
/* How much of the rest of a too big message (or HTTP body, http.c) is read and thrown away
 * before the close (64 MiB). */
#define GW_WSBUF_DRAIN_MAX (64u << 20)
/* 1 while the rest of a message refused as too big is still arriving, up to GW_WSBUF_DRAIN_MAX:
 * the close waits for its end. Closed earlier, the socket has unread input, the kernel answers it
 * with a reset, and the reset destroys the too_big answer and the close frame before the client
 * reads them (it sees 1006, not 1009). */
int gw_wsbuf_draining(const gw_wsbuf *b);
void gw_wsbuf_reset(gw_wsbuf *b);
void gw_wsbuf_free(gw_wsbuf *b);

#endif
