/* Link v3 (docs/protocol.md §3 "Link v3"): one WebSocket between a gateway and a hostd carries
 * the management RPC as text messages and every console channel as binary messages that start
 * with an opcode and the channel's id (u32, big-endian). This module frames and parses those
 * binary messages; it touches no socket (both ends, unit tests, fuzz_mux). */
#ifndef VG_MUX_H
#define VG_MUX_H

#include "vg.h"

#include <stddef.h>
#include <stdint.h>

#define VG_MUX_OPEN 0x30   /* gateway->hostd: [op][u32 ch][query: vm=..&dev=..&offset=..] */
#define VG_MUX_TEXT 0x31   /* both: [op][u32 ch][a text message of the channel (v2's)] */
#define VG_MUX_BINARY 0x32 /* both: [op][u32 ch][a binary message of the channel (v2's)] */
#define VG_MUX_CLOSE 0x33  /* both: [op][u32 ch][u16 close code]: the channel ended */
#define VG_MUX_CREDIT 0x34 /* gateway->hostd: [op][u32 ch][u32 bytes of OUTPUT hostd may send] */

/* The header before a channel message's payload. */
#define VG_MUX_HDR 5
/* The longest OPEN query, as v2's request arguments. */
#define VG_MUX_QUERY_MAX 511
/* A channel's credit grows at most to this (a gateway granting more is broken). */
#define VG_MUX_CREDIT_MAX (1u << 30)

typedef struct vg_mux_msg {
    int op;                    /* one of VG_MUX_* */
    uint32_t chan;             /* never 0: id 0 names no channel */
    const unsigned char *data; /* OPEN, TEXT, BINARY: the payload, inside the parsed buffer */
    size_t len;
    int code;        /* CLOSE: 1000..4999 */
    uint32_t credit; /* CREDIT: 1..VG_MUX_CREDIT_MAX */
} vg_mux_msg;

/* Parses one binary message of the link. from_gateway says which end sent it (OPEN and CREDIT
 * come only from the gateway). VG_ERR (err: bad_request naming the fault) means a broken peer:
 * the link is closed with 1008. */
int vg_mux_parse(const unsigned char *in, size_t len, int from_gateway, vg_mux_msg *out,
                 vg_err *err);
/* Writes the 5-byte header of op on chan at p; the payload follows it. */
void vg_mux_put_hdr(unsigned char *p, int op, uint32_t chan);
/* Writes a whole CLOSE (7 bytes) or CREDIT (9 bytes) message at p; returns its length. */
size_t vg_mux_put_close(unsigned char *p, uint32_t chan, int code);
size_t vg_mux_put_credit(unsigned char *p, uint32_t chan, uint32_t bytes);

#endif
