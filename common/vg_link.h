/* The multiplexed gateway <-> hostd link, version 2 (docs/protocol.md §3): one WebSocket per
 * gateway-hostd pair carries every console channel and the management RPC. Each WebSocket
 * message is one binary link frame:
 *
 *   u8 type · u32 channel (big-endian) · payload
 *
 * Channel 0 carries RPC frames only; console channels are numbered by the gateway. The
 * payload depends on the type (VG_LINK_*). Pure functions, shared by both ends and fuzzed. */
#ifndef VG_LINK_H
#define VG_LINK_H

#include "vg.h"

#define VG_LINK_PROTOCOL "vmgate.link.v2"
#define VG_LINK_PATH "/link/v2"

enum {
    VG_LINK_OPEN = 0x01,    /* gw->hd: JSON {"vm","dev","offset"} */
    VG_LINK_OPENED = 0x02,  /* hd->gw: JSON {"start","end","offset","connected","writer"} */
    VG_LINK_CLOSE = 0x03,   /* both: u16 code · reason (UTF-8, at most 123 bytes) */
    VG_LINK_OUTPUT = 0x04,  /* hd->gw: u64 offset · bytes */
    VG_LINK_GAP = 0x05,     /* hd->gw: u64 from · u64 to */
    VG_LINK_INPUT = 0x06,   /* gw->hd: bytes for the guest */
    VG_LINK_CREDIT = 0x07,  /* gw->hd: u64 limit: hostd may send output below this offset */
    VG_LINK_CONTROL = 0x08, /* both: JSON object with a "type" */
    VG_LINK_RPC = 0x09,     /* both, channel 0: JSON request / answer (§4) */
};

#define VG_LINK_HDR 5
/* Bytes of console output an OUTPUT frame may carry. */
#define VG_LINK_OUTPUT_MAX 65536
/* What hostd puts in one: the frame and its WebSocket header (4 bytes) fill one TLS record
 * (16 KiB). lws runs OpenSSL in partial-write mode, where SSL_write stops after one record;
 * a larger frame leaves the rest buffered in lws, the socket counts as choked, and the write
 * loop waits for the next loop iteration: one frame per iteration (measured: 14-21 MB/s to
 * one viewer with 64 KiB frames). */
#define VG_LINK_OUTPUT_SEND (16384 - 4 - VG_LINK_HDR - 8)
/* Largest frame either end accepts: an RPC message (256 KiB) and its header. */
#define VG_LINK_FRAME_MAX (256 * 1024 + VG_LINK_HDR)
#define VG_LINK_REASON_MAX 123

typedef struct vg_link_frame {
    int type;
    uint32_t channel;
    const unsigned char *data; /* payload after the fixed fields (bytes, JSON, reason) */
    size_t len;
    uint64_t offset; /* OUTPUT: first byte; GAP: from; CREDIT: limit */
    uint64_t to;     /* GAP */
    int code;        /* CLOSE */
} vg_link_frame;

/* Writes the 5-byte header. */
void vg_link_hdr(unsigned char *p, int type, uint32_t channel);
/* Parses one frame; every malformed frame is bad_request with a message naming the fault
 * (unknown type, short payload, a console frame on channel 0 or RPC elsewhere, a GAP that
 * ends before it starts, a close code outside 1000-4999). */
int vg_link_parse(const unsigned char *buf, size_t len, vg_link_frame *out, vg_err *err);

#endif
