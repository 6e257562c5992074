/* A gateway's channel to one console (link v2, `GET /link/channel`, docs/protocol.md §3): the
 * output and the who-is-attached notices once per gateway, the gateway's browser viewers as
 * members tagged with its ids of them. endpoint.c owns the connection and calls these from its
 * lws callbacks. */
#ifndef HD_CHANNEL_H
#define HD_CHANNEL_H

#include "console/console.h"

struct lws;
typedef struct hd_channel hd_channel;

/* A channel to c for the connection wsi, starting at offset (as hd_console_attach takes it). */
hd_channel *hd_channel_new(console *c, struct lws *wsi, const char *offset, vg_err *err);
/* Detaches the channel and every member of it. */
void hd_channel_free(hd_channel *ch);
/* One whole message from the gateway: a join or leave (text) or a member's tagged frame. */
void hd_channel_recv(hd_channel *ch, int binary, const unsigned char *in, size_t len);
/* At the connection's writable callback: writes what is due into buf (LWS_PRE bytes of
 * headroom before it, cap bytes, at least a full frame). -1: close the connection. */
int hd_channel_write(hd_channel *ch, unsigned char *buf, size_t cap);
/* Closes the channel with code once what is due before it has gone out. */
void hd_channel_close(hd_channel *ch, int code);
unsigned hd_channel_members(const hd_channel *ch);

#endif
