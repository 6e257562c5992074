/* Console WebSocket frames (docs/protocol.md), spoken browser <-> gateway and gateway <-> hostd.
 *
 * Binary frames carry console bytes and start with a one-byte opcode; text frames carry JSON
 * control messages with a "type". Offsets are absolute stream offsets, big-endian u64. */
#ifndef VG_FRAME_H
#define VG_FRAME_H

#include "vg.h"

#define VG_OP_OUTPUT 0x01 /* server->client: [op][u64 offset][bytes] */
#define VG_OP_GAP 0x02    /* server->client: [op][u64 from][u64 to], bytes [from,to) are lost */
#define VG_OP_INPUT 0x11  /* client->server: [op][bytes] */

/* Link v2 only (gateway <-> hostd channel, docs/protocol.md §3): frames of one browser viewer,
 * tagged with the gateway's u32 id of it (big-endian) right after the opcode. */
#define VG_OP_FOR_VIEWER 0x20    /* hostd->gateway: [op][u32 tag][JSON text for that viewer] */
#define VG_OP_VIEWER_CLOSED 0x21 /* hostd->gateway: [op][u32 tag][u16 close code] */
#define VG_OP_TO_BINARY 0x22     /* gateway->hostd: [op][u32 tag][the viewer's binary frame] */
#define VG_OP_TO_TEXT 0x23       /* gateway->hostd: [op][u32 tag][the viewer's text frame] */
#define VG_LINK_TAG_LEN 5

#define VG_FRAME_OUTPUT_HDR 9
#define VG_FRAME_GAP_LEN 17
/* Largest message a console endpoint accepts from a client; larger ones get too_big. */
#define VG_FRAME_MAX_CLIENT 65536

typedef enum vg_msg_kind {
    VG_MSG_INPUT = 1, /* client: bytes for the guest */
    VG_MSG_TAKE,      /* client: take the write lock */
    VG_MSG_RELEASE,   /* client: give the write lock up */
    VG_MSG_PING,      /* client: application ping, answered by a pong with the same id */
    VG_MSG_OUTPUT,    /* server: console bytes at an offset */
    VG_MSG_GAP,       /* server: bytes lost to this viewer */
    VG_MSG_CONTROL,   /* server: any JSON control message (hello, viewers, writer, ...) */
} vg_msg_kind;

typedef struct vg_msg {
    vg_msg_kind kind;
    const unsigned char *data; /* INPUT/OUTPUT: points into the parsed buffer */
    size_t len;
    uint64_t offset; /* OUTPUT: offset of data[0]; GAP: first lost byte */
    uint64_t to;     /* GAP: one past the last lost byte */
    int64_t id;      /* PING */
} vg_msg;

void vg_frame_put_u64(unsigned char *p, uint64_t v);
uint64_t vg_frame_get_u64(const unsigned char *p);
void vg_frame_put_u32(unsigned char *p, uint32_t v);
uint32_t vg_frame_get_u32(const unsigned char *p);
/* Writes the 9-byte OUTPUT header; the caller places the data right after it. */
void vg_frame_output_hdr(unsigned char *p, uint64_t offset);
void vg_frame_gap(unsigned char *p, uint64_t from, uint64_t to);

/* Parses a message a client sent to a console endpoint. */
int vg_frame_parse_client(int binary, const unsigned char *buf, size_t len, vg_msg *out,
                          vg_err *err);
/* Parses a message a console endpoint sent to a client (used by vmgatectl and tests). */
int vg_frame_parse_server(int binary, const unsigned char *buf, size_t len, vg_msg *out,
                          vg_err *err);

#endif
