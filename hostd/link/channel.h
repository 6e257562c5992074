/* A gateway's channel to one console (docs/protocol.md §3): the output and the who-is-attached
 * notices once per gateway, the gateway's browser viewers as members tagged with its ids of
 * them. A v2 channel is a connection of its own (`GET /link/channel`, endpoint.c); a v3 channel
 * is one of many on a link v3 connection (mux.c), which frames its messages and meters its
 * output by the gateway's credit. The owner hands over whole messages and calls
 * hd_channel_write when the connection is writable; the channel writes through hd_channel_out. */
#ifndef HD_CHANNEL_H
#define HD_CHANNEL_H

#include "console/console.h"

#include <stddef.h>
#include <stdint.h>

/* Where a channel's messages go: its own connection (v2) or the mux, which puts the channel's
 * header in front (v3). The mux writes its connection through the same operations. */
typedef struct hd_channel_out {
    /* Sends one whole message at buf, which has LWS_PRE bytes of headroom before it, and a
     * channel's messages LWS_PRE + VG_MUX_HDR (the mux writes its header there, no copy).
     * <0: the connection broke. */
    int (*send)(void *ud, unsigned char *buf, size_t len, int binary);
    /* Whether the connection takes nothing more now. */
    int (*choked)(void *ud);
    /* Asks for a writable callback: something is due. */
    void (*wake)(void *ud);
} hd_channel_out;

typedef struct hd_channel hd_channel;

/* A channel to c, starting at offset (as hd_console_attach takes it), writing through out with
 * ud. metered (v3): console output goes only while the gateway's credit lasts, which starts at
 * none; unmetered (v2) it goes as fast as the connection takes it. */
hd_channel *hd_channel_new(console *c, const char *offset, const hd_channel_out *out, void *ud,
                           int metered, vg_err *err);
/* Detaches the channel and every member of it. */
void hd_channel_free(hd_channel *ch);
/* One whole message from the gateway: a join or leave (text) or a member's tagged frame. */
void hd_channel_recv(hd_channel *ch, int binary, const unsigned char *in, size_t len);
/* The gateway lets a metered channel send bytes more of output. VG_ERR (bad_request): the
 * credit would pass VG_MUX_CREDIT_MAX, a broken gateway. */
int hd_channel_credit(hd_channel *ch, uint32_t bytes, vg_err *err);
/* At the connection's writable callback: writes what is due, built in buf (cap bytes, at least
 * a full frame; headroom as hd_channel_out.send says), until the connection chokes or budget
 * bytes went out, and wakes out for the rest. Returns 0, or a close code (1000..4999) when the
 * channel ended after its last message (v2: close the connection with it; v3: CLOSE the
 * channel), or -1 when the connection broke. */
int hd_channel_write(hd_channel *ch, unsigned char *buf, size_t cap, size_t budget);
/* Closes the channel with code once what is due before it has gone out. */
void hd_channel_close(hd_channel *ch, int code);
unsigned hd_channel_members(const hd_channel *ch);

#endif
